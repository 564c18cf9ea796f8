/* The HTML report: one self-contained page.  Chart.js (Debian's
 * libjs-chart.js) is read from disk and inlined, the figures go in as one
 * JSON block, and a small script draws them, with tooltips and drag-to-zoom:
 * no network, no CDN, and the page works from a disk or an attachment.
 *
 * Every string that came from a server or a user reaches the page through
 * render_html_text() (markup) or render_js_string() (the JSON block). */
#include "render_table.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "jdoc.h"

#ifndef CHARTJS_PATH
#define CHARTJS_PATH "/usr/share/javascript/chart.js/chart.min.js"
#endif

/* Chart.js, whole, or NULL with err naming the package. */
static char *read_chartjs(char *err, size_t errcap)
{
    const char *path = getenv("LLMLOAD_CHARTJS");
    if (!path || !*path)
        path = CHARTJS_PATH;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errcap, "Chart.js not found at %s (%s): install Debian's libjs-chart.js "
                 "(apt-get install libjs-chart.js), or set LLMLOAD_CHARTJS to its chart.min.js",
                 path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len == cap) {
            char *nb = cap < (64u << 20) ? realloc(buf, cap ? cap * 2 : 1 << 18) : NULL;
            if (!nb) {
                snprintf(err, errcap, "%s: out of memory or too large", path);
                goto fail;
            }
            buf = nb;
            cap = cap ? cap * 2 : 1 << 18;
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    if (ferror(f)) {
        snprintf(err, errcap, "%s: read error", path);
        goto fail;
    }
    fclose(f);
    buf[len] = '\0';
    /* Inlined as it is: a "</script" inside would end the element early. */
    for (const char *p = buf; (p = strchr(p, '<')); p++)
        if (!strncasecmp(p, "</script", 8)) {
            snprintf(err, errcap, "%s: holds \"</script\" and cannot be inlined", path);
            free(buf);
            return NULL;
        }
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

/* ---- the figures as JSON ---- */

static void jnum(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

static void jcolor(FILE *f, unsigned c)
{
    fprintf(f, "\"#%06x\"", c & 0xffffff);
}

static const char *style_name(enum fig_style s)
{
    static const char *const n[] = { "line", "step", "points", "segments" };
    return n[s];
}

static const char *mark_name(enum fig_mark_kind k)
{
    static const char *const n[] = { "x", "y", "band", "point" };
    return n[k];
}

/* key is the separator and the quoted name: ",\"min\":". */
static void jkey_num(FILE *f, const char *key, double v)
{
    fputs(key, f);
    jnum(f, v);
}

static void jkey_str(FILE *f, const char *key, const char *s)
{
    fputs(key, f);
    if (s)
        render_js_string(f, s);
    else
        fputs("null", f);
}

static void json_axis(FILE *f, const struct fig_axis *a)
{
    jkey_str(f, "{\"label\":", a->label);
    jkey_num(f, ",\"min\":", a->min);
    jkey_num(f, ",\"max\":", a->max);
    jkey_num(f, ",\"step\":", a->step);
    for (size_t i = 0; i < a->ncats; i++)
        jkey_str(f, i ? "," : ",\"cats\":[", a->cats[i]);
    fputs(a->ncats ? "]}" : "}", f);
}

static void json_figure(FILE *f, const struct figure *g, const char *key)
{
    jkey_str(f, "{\"key\":", key);
    jkey_str(f, ",\"title\":", g->title);
    jkey_str(f, ",\"note\":", g->note);
    fputs(",\"x\":", f);
    json_axis(f, &g->x);
    fputs(",\"y\":", f);
    json_axis(f, &g->y);
    fputs(",\"series\":[", f);
    for (size_t i = 0; i < g->nseries; i++) {
        const struct fig_series *s = &g->series[i];
        jkey_str(f, i ? ",{\"label\":" : "{\"label\":", s->label);
        fprintf(f, ",\"style\":\"%s\",\"dash\":%d,\"color\":", style_name(s->style), s->dashed);
        jcolor(f, s->color);
        fputs(",\"data\":[", f);
        for (size_t k = 0; k < s->n; k++) {
            jkey_num(f, k ? "," : "", s->x[k]);
            jkey_num(f, ",", s->y[k]);
        }
        fputs("]}", f);
    }
    fputs("],\"marks\":[", f);
    for (size_t i = 0; i < g->nmarks; i++) {
        const struct fig_mark *m = &g->marks[i];
        fprintf(f, "%s{\"kind\":\"%s\"", i ? "," : "", mark_name(m->kind));
        jkey_num(f, ",\"v\":", m->v);
        jkey_num(f, ",\"v2\":", m->v2);
        fputs(",\"color\":", f);
        jcolor(f, m->color);
        jkey_str(f, ",\"label\":", m->label ? m->label : "");
        fputc('}', f);
    }
    fputs("]}", f);
}

/* ---- the page ---- */

static const char page_style[] =
    "body{font-family:'DejaVu Sans',system-ui,sans-serif;margin:0 auto;max-width:1400px;padding:0 18px 40px;"
    "color:#1a1a1a;background:#fff}\n"
    "h1{font-size:1.5em;margin:18px 0 4px}h2{font-size:1.25em;margin:28px 0 4px;border-bottom:1px solid #ddd;"
    "padding-bottom:4px}h3{font-size:1.05em;margin:18px 0 6px}\n"
    ".sub,.foot{color:#555;font-size:.85em;margin:2px 0 10px}\n"
    "nav a{margin-right:14px;font-size:.9em}\n"
    "table{border-collapse:collapse;font-size:.85em;margin:4px 0 14px}\n"
    "th,td{padding:3px 10px;border-bottom:1px solid #e5e5e5;text-align:left;vertical-align:top}\n"
    "th{background:#f5f5f5}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    ".reading li{margin:3px 0}\n"
    ".figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:16px}\n"
    ".fig{position:relative;height:400px;border:1px solid #e5e5e5;border-radius:4px;padding:6px}\n"
    ".hint{color:#777;font-size:.8em}\n"
    "pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:.85em}\n"
    "details{margin:6px 0}\n";

/* The script that draws the figures: Chart.js scatter charts with the
 * figure's own ranges and ticks, the marks drawn by a plugin, and zoom by
 * dragging across a chart (double-click resets). */
static const char *const page_script[] = {
    "(function(){'use strict';\n"
    "var figs=JSON.parse(document.getElementById('llmload-figures').textContent);\n"
    "function rgba(h,a){var n=parseInt(h.slice(1),16);return 'rgba('+(n>>16&255)+','+(n>>8&255)+','+(n&255)+','+a+')';}\n"
    "function dash(d){return d===1?[6,4]:d===2?[2,3]:[];}\n"
    "function fmt(v){return Math.abs(v)>=100?v.toFixed(0):Math.abs(v)>=1?v.toFixed(2):v.toPrecision(3);}\n"
    "var marks={id:'llmloadMarks',afterDatasetsDraw:function(c){\n"
    " var ms=c.options.plugins.llmloadMarks.marks,x=c.scales.x,y=c.scales.y,a=c.chartArea,g=c.ctx;\n"
    " g.save();g.beginPath();g.rect(a.left,a.top,a.right-a.left,a.bottom-a.top);g.clip();g.font='10px sans-serif';\n"
    " ms.forEach(function(m){g.strokeStyle=m.color;g.fillStyle=m.color;g.lineWidth=1.2;\n"
    "  if(m.kind==='x'){var px=x.getPixelForValue(m.v);g.setLineDash([6,4]);g.beginPath();g.moveTo(px,a.top);g.lineTo(px,a.bottom);g.stroke();\n"
    "   g.setLineDash([]);g.save();g.translate(px-3,a.top+4);g.rotate(-Math.PI/2);g.textAlign='right';g.fillText(m.label,0,0);g.restore();}\n"
    "  else if(m.kind==='y'){var py=y.getPixelForValue(m.v);g.setLineDash([6,4]);g.beginPath();g.moveTo(a.left,py);g.lineTo(a.right,py);g.stroke();\n"
    "   g.setLineDash([]);g.textAlign='right';g.fillText(m.label,a.right-4,py-4);}\n"
    "  else if(m.kind==='band'){var p1=y.getPixelForValue(m.v),p2=y.getPixelForValue(m.v2);g.fillStyle=rgba(m.color,0.15);\n"
    "   g.fillRect(a.left,Math.min(p1,p2),a.right-a.left,Math.abs(p2-p1));g.fillStyle=m.color;g.textAlign='left';g.fillText(m.label,a.left+4,Math.min(p1,p2)-4);}\n"
    " });\n"
    " var z=c.$llmloadDrag;if(z&&z.now!==undefined){g.fillStyle='rgba(0,114,178,0.12)';g.fillRect(Math.min(z.from,z.now),a.top,Math.abs(z.now-z.from),a.bottom-a.top);}\n"
    " g.restore();}};\n",
    "function zoomable(c,f){var cv=c.canvas;\n"
    " cv.addEventListener('mousedown',function(e){c.$llmloadDrag={from:e.offsetX};});\n"
    " cv.addEventListener('mousemove',function(e){var z=c.$llmloadDrag;if(z){z.now=e.offsetX;c.draw();}});\n"
    " cv.addEventListener('mouseup',function(e){var z=c.$llmloadDrag;c.$llmloadDrag=null;if(!z)return;\n"
    "  if(Math.abs(e.offsetX-z.from)>5){var s=c.options.scales.x,a=c.scales.x.getValueForPixel(z.from),b=c.scales.x.getValueForPixel(e.offsetX);\n"
    "   s.min=Math.min(a,b);s.max=Math.max(a,b);s.ticks.stepSize=undefined;}\n"
    "  c.update('none');});\n"
    " cv.addEventListener('dblclick',function(){var s=c.options.scales.x;s.min=f.x.min;s.max=f.x.max;s.ticks.stepSize=f.x.step;c.update('none');});}\n"
    "function axis(a,isx){var o={type:'linear',min:a.min,max:a.max,title:{display:true,text:a.label},\n"
    " ticks:{stepSize:a.step}};if(isx&&a.cats){o.ticks.callback=function(v){return a.cats[v]!==undefined?a.cats[v]:'';};o.grid={display:false};}\n"
    " return o;}\n",
    "figs.forEach(function(f){\n"
    " var cv=document.getElementById('c-'+f.key);if(!cv)return;\n"
    " var rows=Math.max(1,f.y.max-f.y.min);\n"
    " var ds=f.series.map(function(s){var d=s.data,p=[];\n"
    "  for(var i=0;i+1<d.length;i+=2){p.push({x:d[i],y:d[i+1]});if(s.style==='segments'&&i%4===2)p.push({x:d[i],y:null});}\n"
    "  if(s.style==='step'&&p.length>1&&p[p.length-1].y===null)p[p.length-1].y=p[p.length-2].y;\n"
    "  return {label:s.label,data:p,borderColor:s.color,backgroundColor:s.style==='step'?rgba(s.color,0.25):s.color,\n"
    "   showLine:s.style!=='points',stepped:s.style==='step'?'after':false,fill:s.style==='step'?'origin':false,\n"
    "   pointRadius:s.style==='points'?4.5:(s.style==='line'&&p.length<=40?3:0),pointHitRadius:4,\n"
    "   borderWidth:s.style==='segments'?Math.max(1,Math.min(3,300/rows)):s.style==='step'?1.5:2,\n"
    "   borderDash:dash(s.dash),spanGaps:false};});\n"
    " f.marks.forEach(function(m){if(m.kind==='point')ds.push({label:m.label,data:[{x:m.v,y:m.v2}],pointStyle:'star',\n"
    "  pointRadius:9,borderWidth:2,borderColor:m.color,backgroundColor:m.color,showLine:false});});\n"
    " var c=new Chart(cv,{type:'scatter',data:{datasets:ds},options:{animation:false,responsive:true,maintainAspectRatio:false,\n"
    "  parsing:false,normalized:true,interaction:{mode:'nearest',intersect:false},\n"
    "  scales:{x:axis(f.x,true),y:axis(f.y,false)},\n"
    "  plugins:{title:{display:true,text:f.title,font:{size:15}},subtitle:{display:!!f.note,text:f.note||''},\n"
    "   legend:{position:'bottom'},llmloadMarks:{marks:f.marks.filter(function(m){return m.kind!=='point';})},\n"
    "   tooltip:{callbacks:{label:function(t){var xs=f.x.cats?f.x.cats[t.parsed.x]:fmt(t.parsed.x);\n"
    "    return t.dataset.label+': '+fmt(t.parsed.y)+' at '+xs;}}}}},plugins:[marks]});\n"
    " zoomable(c,f);});\n"
    "document.body.setAttribute('data-charts',String(figs.length));\n"
    "})();\n",
};

static void table_html(FILE *f, const struct rtable *t)
{
    fputs("<h3>", f);
    render_html_text(f, t->title);
    fputs("</h3>\n<table>\n<tr>", f);
    for (size_t c = 0; c < t->ncols; c++) {
        fputs("<th>", f);
        render_html_text(f, rtable_at(t, 0, c));
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
    for (size_t r = 1; r <= t->nrows; r++) {
        fputs("<tr>", f);
        for (size_t c = 0; c < t->ncols; c++) {
            int num = (int)c >= t->numeric_from && !(t->text_last && c + 1 == t->ncols);
            fputs(num ? "<td class=\"n\">" : "<td>", f);
            render_html_text(f, rtable_at(t, r, c));
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

static int kv_html(FILE *f, const cJSON *obj, const char *title)
{
    if (!cJSON_IsObject(obj))
        return 0;
    struct rtable *t = rtable_kv(obj, title);
    if (!t)
        return -1;
    fputs("<details><summary>", f);
    render_html_text(f, title);
    fputs("</summary>\n", f);
    table_html(f, t);
    fputs("</details>\n", f);
    rtable_free(t);
    return 0;
}

static int section_html(FILE *f, const struct rsec *s, const struct fig_section *fs, size_t si)
{
    struct rtables ts;
    char footer[1024];
    if (rtables_build(s, &ts) < 0)
        return -1;
    fprintf(f, "<section id=\"s%zu\">\n<h2>", si + 1);
    render_html_text(f, s->title);
    fputs("</h2>\n<p class=\"foot\">", f);
    render_html_text(f, fig_footer_of(s, footer, sizeof footer));
    fputs("</p>\n", f);
    if (ts.nlines) {
        fputs("<div class=\"reading\"><h3>Reading</h3><ul>\n", f);
        for (size_t i = 0; i < ts.nlines; i++) {
            fputs("<li>", f);
            render_html_text(f, ts.lines[i]);
            fputs("</li>\n", f);
        }
        fputs("</ul></div>\n", f);
    }
    if (fs->nfigs) {
        fputs("<h3>Figures</h3><p class=\"hint\">Drag across a chart to zoom in, double-click to zoom "
              "out; hover for values.</p>\n<div class=\"figs\">\n", f);
        for (size_t k = 0; k < fs->nfigs; k++)
            fprintf(f, "<div class=\"fig\"><canvas id=\"c-%zu-%zu\" role=\"img\"></canvas></div>\n", si + 1, k + 1);
        fputs("</div>\n", f);
    }
    for (size_t i = 0; i < ts.n; i++)
        table_html(f, &ts.t[i]);
    rtables_free(&ts);
    for (size_t k = 0; k < s->nsrc; k++) {
        char title[300];
        snprintf(title, sizeof title, "Configuration%s%s", s->nsrc > 1 ? ": " : "", s->nsrc > 1 ? s->src[k].name : "");
        if (kv_html(f, s->src[k].config, title) < 0)
            return -1;
        snprintf(title, sizeof title, "Environment%s%s", s->nsrc > 1 ? ": " : "", s->nsrc > 1 ? s->src[k].name : "");
        if (kv_html(f, s->src[k].env, title) < 0)
            return -1;
    }
    fputs("</section>\n", f);
    return 0;
}

int render_html(FILE *f, const struct rreport *r, char *err, size_t errcap)
{
    char *chartjs = read_chartjs(err, errcap);
    if (!chartjs)
        return -1;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"llmload report\">\n<title>llmload report: ", f);
    for (size_t i = 0; i < r->nsec; i++) {
        if (i)
            fputs("; ", f);
        render_html_text(f, r->sec[i].title);
    }
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>llmload report</h1>\n", page_style);
    if (r->nsec > 1) {
        fputs("<nav>", f);
        for (size_t i = 0; i < r->nsec; i++) {
            fprintf(f, "<a href=\"#s%zu\">", i + 1);
            render_html_text(f, r->sec[i].title);
            fputs("</a>", f);
        }
        fputs("</nav>\n", f);
    }
    for (size_t i = 0; i < r->nsec; i++)
        if (section_html(f, &r->sec[i], &r->figs.sec[i], i) < 0) {
            free(chartjs);
            snprintf(err, errcap, "out of memory");
            return -1;
        }
    if (r->nsec && r->sec[0].gate_text) {
        fputs("<section id=\"gate\"><h2>Gate</h2>\n<pre>", f);
        render_html_text(f, r->sec[0].gate_text);
        fputs("</pre></section>\n", f);
    }
    /* The figures: JSON whose every "<", ">" and "&" is a \u escape, so it
     * cannot end the element it sits in. */
    fputs("<script type=\"application/json\" id=\"llmload-figures\">[", f);
    size_t nfig = 0;
    for (size_t i = 0; i < r->figs.nsec; i++)
        for (size_t k = 0; k < r->figs.sec[i].nfigs; k++) {
            char key[48];
            snprintf(key, sizeof key, "%zu-%zu", i + 1, k + 1);
            if (nfig++)
                fputs(",\n", f);
            json_figure(f, r->figs.sec[i].figs[k], key);
        }
    fputs("]</script>\n<script>\n", f);
    fputs(chartjs, f);
    fputs("\n</script>\n<script>\n", f);
    for (size_t i = 0; i < sizeof page_script / sizeof page_script[0]; i++)
        fputs(page_script[i], f);
    fputs("</script>\n</body>\n</html>\n", f);
    free(chartjs);
    return 0;
}
