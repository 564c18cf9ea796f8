/* Per-request outputs: the CSV (one row per measured request) and the raw
 * JSONL (one line per request with every event's time).  Both are written
 * as requests finish, so their writers are cheap and never allocate. */
#include "escape.h"
#include "fileio.h"
#include "util.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct report_csv {
    FILE *f;
    int err;        /* first write error (errno), 0 none */
    char *path;     /* for the messages of report_csv_finish */
    struct slo_spec slo;    /* per-request limits: the slo_good column (n 0: empty) */
};

struct report_raw {
    FILE *f;
    int err;
    char *path;
    /* Event times of long requests in flight (report_raw_events): chunks
     * of struct spill_chunk + deltas, linked per request. */
    int spill;                  /* unlinked temporary file, -1 until needed */
    uint64_t spill_end;         /* its size */
    uint64_t spill_live;        /* requests with chunks not yet written */
};

struct spill_chunk {
    uint64_t next;              /* offset + 1 of the request's next chunk, 0 last */
    uint64_t n;                 /* deltas that follow */
};

/* Reads the first line of fd (without its CR LF) into buf.  -1 on error. */
static int first_line(int fd, char *buf, size_t cap)
{
    ssize_t n;
    do
        n = pread(fd, buf, cap - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}


/* The message of an output file that could not be opened (errno). */
static void stdout_taken_err(const char *path, const char *what, char *err, size_t errcap)
{
    if (errno == EBUSY && !strcmp(path, "-"))
        snprintf(err, errcap, "cannot write -: another output already goes to standard output (-)");
    else
        snprintf(err, errcap, "cannot open %s file %s: %s", what, path, strerror(errno));
}

struct report_csv *report_csv_open(const char *path, char *err, size_t errcap)
{
    struct stat st;
    char line[1024];
    struct report_csv *w = NULL;
    /* "-": the standard output, a new table whatever it is connected to. */
    int dash = !strcmp(path, "-");
    int fd = dash ? out_open_fd(path, O_WRONLY, 0) : open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) {
        stdout_taken_err(path, "csv", err, errcap);
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        snprintf(err, errcap, "cannot open csv file %s: %s", path, strerror(errno));
        goto fail;
    }
    if (dash || st.st_size == 0) {
        /* New (or empty): the header goes in now, so a full disk or a
         * read-only mount shows before the run rather than after it. */
        if (util_write_all(fd, REPORT_CSV_HEADER "\n", strlen(REPORT_CSV_HEADER) + 1) < 0) {
            snprintf(err, errcap, "cannot write csv file %s: %s", path, strerror(errno));
            goto fail;
        }
    } else {
        if (first_line(fd, line, sizeof line) < 0) {
            snprintf(err, errcap, "cannot read csv file %s: %s", path, strerror(errno));
            goto fail;
        }
        if (strcmp(line, REPORT_CSV_HEADER) != 0) {
            snprintf(err, errcap, "csv file %s exists with a different header; refusing to "
                     "append (expected \"%.40s...\"): choose another file", path,
                     REPORT_CSV_HEADER);
            goto fail;
        }
        /* A previous writer killed mid-row leaves no final LF: end that
         * line so our first row does not glue onto it. */
        char last;
        if (pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n' &&
            util_write_all(fd, "\n", 1) < 0) {
            snprintf(err, errcap, "cannot write csv file %s: %s", path, strerror(errno));
            goto fail;
        }
    }
    if (!(w = calloc(1, sizeof *w)) || !(w->path = strdup(path)) || !(w->f = fdopen(fd, "a"))) {
        snprintf(err, errcap, "cannot open csv file %s: %s", path, strerror(errno));
        if (w)
            free(w->path);
        free(w);
        goto fail;
    }
    return w;
fail:
    close(fd);
    return NULL;
}


static double ns_s(uint64_t ns) { return (double)ns / 1e9; }

/* ",N" or "," when unknown (< 0). */
static void csv_count(FILE *f, int64_t v)
{
    if (v >= 0)
        fprintf(f, ",%" PRId64, v);
    else
        fputc(',', f);
}

/* ",S" (seconds of ns, digits after the point) or "," when unknown. */
static void csv_secs(FILE *f, int64_t ns, int digits)
{
    if (ns >= 0)
        fprintf(f, ",%.*f", digits, (double)ns / 1e9);
    else
        fputc(',', f);
}

void report_csv_slo(struct report_csv *w, const struct slo_spec *spec)
{
    if (w)
        w->slo = *spec;
}

void report_csv_row(struct report_csv *w, const struct req_record *r)
{
    if (!w || r->warmup)
        return;
    FILE *f = w->f;
    int ok = r->err == ERR_NONE;
    int have_e2e = r->end_ns >= r->start_ns;
    /* The run's id: rows of runs appended to one file stay apart. */
    if (r->run_id)
        esc_csv(r->run_id, esc_sink_file, f);
    fprintf(f, ",%" PRIu64 ",%.6f,", r->index, ns_s(r->start_ns));
    if (r->status)
        fprintf(f, "%d", r->status);
    fprintf(f, ",%d,", ok);
    if (!ok)
        esc_csv(err_class_name(r->err), esc_sink_file, f);
    fputc(',', f);
    if (r->first_ns && r->first_ns >= r->start_ns)
        fprintf(f, "%.6f", ns_s(r->first_ns - r->start_ns));
    fputc(',', f);
    if (have_e2e)
        fprintf(f, "%.6f", ns_s(r->end_ns - r->start_ns));
    fputc(',', f);
    if (r->out_tokens >= 0)
        fprintf(f, "%" PRId64, r->out_tokens);
    fputc(',', f);
    if (r->in_tokens >= 0)
        fprintf(f, "%" PRId64, r->in_tokens);
    fputc(',', f);
    if (ok && r->out_tokens >= 0 && have_e2e && r->end_ns > r->start_ns)
        fprintf(f, "%.3f", (double)r->out_tokens / ns_s(r->end_ns - r->start_ns));
    fputc(',', f);
    if (r->total_duration_ns >= 0)
        fprintf(f, "%.6f", (double)r->total_duration_ns / 1e9);
    fprintf(f, ",%" PRIu64, r->events);
    /* The server's own timings, as it reported them. */
    csv_secs(f, r->prompt_eval_duration_ns, 6);
    csv_secs(f, req_decode_per_token_ns(r), 9);
    csv_secs(f, r->load_duration_ns, 6);
    csv_count(f, r->cached_tokens);
    csv_secs(f, req_ttft_minus_prefill_ns(r), 6);
    csv_count(f, r->server_tokens);
    csv_count(f, r->local_tokens);
    /* Reasoning and tool calls; the TTFT split by the server's clock. */
    csv_secs(f, req_ttft_reasoning_ns(r), 6);
    csv_secs(f, req_ttft_output_ns(r), 6);
    csv_count(f, r->reasoning_tokens);
    csv_count(f, req_answer_tokens(r));
    fprintf(f, ",%" PRIu64, r->tool_calls);
    csv_secs(f, req_ttft_server_ns(r), 6);
    csv_secs(f, req_ttft_rest_ns(r), 6);
    csv_secs(f, ok && r->events > 1 ? (int64_t)r->itl_max_ns : -1, 6);
    /* Good under --slo, and the limits it missed ("error" for a failure);
     * empty without an SLO, or for a request cut off in flight. */
    fputc(',', f);
    if (w->slo.n && r->err != ERR_ABORTED) {
        unsigned miss = ok ? slo_eval(&w->slo, r) : 0;
        fprintf(f, "%d,", ok && !miss);
        if (!ok)
            fputs("error", f);
        for (int k = 0, first = 1; k < SLO__N; k++)
            if ((miss >> k) & 1u) {
                fprintf(f, "%s%s", first ? "" : "|", slo_kind_name(k));
                first = 0;
            }
    } else {
        fputc(',', f);
    }
    if (fputc('\n', f) == EOF && !w->err)
        w->err = errno ? errno : EIO;
}

static int close_file(FILE *f, int err)
{
    if (fflush(f) != 0 && !err)
        err = errno ? errno : EIO;
    if (ferror(f) && !err)
        err = EIO;
    if (fclose(f) != 0 && !err)
        err = errno ? errno : EIO;
    return err ? -err : 0;
}

/* Closes f and frees path; a write error is also a line naming the file
 * (err may be NULL). */
static int finish(FILE *f, int werr, char *path, const char *what, char *err, size_t errcap)
{
    int rc = close_file(f, werr);
    if (rc < 0 && err)
        snprintf(err, errcap, "cannot write %s file %s: %s", what, path, strerror(-rc));
    free(path);
    return rc;
}

int report_csv_close(struct report_csv *w)
{
    return report_csv_finish(w, NULL, 0);
}

int report_csv_finish(struct report_csv *w, char *err, size_t errcap)
{
    if (!w)
        return 0;
    int rc = finish(w->f, w->err, w->path, "csv", err, errcap);
    free(w);
    return rc;
}

/* --- raw JSONL ----------------------------------------------------------- */

struct report_raw *report_raw_open(const char *path, char *err, size_t errcap)
{
    struct report_raw *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errcap, "cannot open raw file %s: out of memory", path);
        return NULL;
    }
    w->spill = -1;
    int fd = out_open_fd(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0 || !(w->path = strdup(path)) || !(w->f = fdopen(fd, "w"))) {
        stdout_taken_err(path, "raw", err, errcap);
        if (fd >= 0)
            close(fd);
        free(w->path);
        free(w);
        return NULL;
    }
    return w;
}

static void json_str(FILE *f, const char *s)
{
    esc_json(s, strlen(s), esc_sink_file, f);
}

/* An offset in seconds, or null when the event did not happen. */
static void json_offset(FILE *f, const char *key, int have, uint64_t ns)
{
    if (have)
        fprintf(f, ",\"%s\":%.9f", key, ns_s(ns));
    else
        fprintf(f, ",\"%s\":null", key);
}

static void json_i64(FILE *f, const char *key, int64_t v)
{
    if (v >= 0)
        fprintf(f, ",\"%s\":%" PRId64, key, v);
    else
        fprintf(f, ",\"%s\":null", key);
}

static int spill_io(struct report_raw *w, int wr, void *buf, size_t n, uint64_t off)
{
    for (size_t done = 0; done < n;) {
        ssize_t k = wr ? pwrite(w->spill, (char *)buf + done, n - done, (off_t)(off + done))
                       : pread(w->spill, (char *)buf + done, n - done, (off_t)(off + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (!w->err)
                w->err = k < 0 ? errno : EIO;
            return -1;
        }
        done += (size_t)k;
    }
    return 0;
}

/* The temporary file: beside the raw file when that is a regular file
 * (it holds the same data, so it belongs on the same disk), else in
 * $TMPDIR; unlinked at once. */
static int spill_open(struct report_raw *w)
{
    struct stat st;
    char tmpl[4096];
    const char *dir = getenv("TMPDIR");
    int dlen = (int)strlen(dir && *dir ? dir : (dir = "/tmp"));
    const char *slash = strrchr(w->path, '/');
    if (fstat(fileno(w->f), &st) == 0 && S_ISREG(st.st_mode)) {
        dir = slash ? w->path : ".";
        dlen = slash ? (int)(slash - w->path) + (slash == w->path) : 1;
    }
    if (snprintf(tmpl, sizeof tmpl, "%.*s/.llmload-raw-XXXXXX", dlen, dir) >= (int)sizeof tmpl ||
        (w->spill = mkostemp(tmpl, O_CLOEXEC)) < 0) {
        if (!w->err)
            w->err = errno ? errno : ENAMETOOLONG;
        return -1;
    }
    unlink(tmpl);
    return 0;
}

void report_raw_events(struct report_raw *w, struct req_record *r)
{
    if (!w || r->ev_n == 0 || w->err || (w->spill < 0 && spill_open(w) < 0))
        return;
    struct spill_chunk h = { 0, r->ev_n };
    uint64_t off = w->spill_end, link = off + 1;
    if (spill_io(w, 1, &h, sizeof h, off) < 0 ||
        spill_io(w, 1, r->ev_us, r->ev_n * sizeof r->ev_us[0], off + sizeof h) < 0)
        return;
    w->spill_end += sizeof h + r->ev_n * sizeof r->ev_us[0];
    if (r->spill_tail && spill_io(w, 1, &link, sizeof link, r->spill_tail - 1) < 0)
        return;
    if (!r->spill_head) {
        r->spill_head = link;
        w->spill_live++;
    }
    r->spill_tail = link;
}

/* Writes the event times of r's chunks, adding each delta to *us; the
 * number written.  The file is emptied when no request has chunks left. */
static size_t raw_spilled_times(struct report_raw *w, const struct req_record *r, uint64_t *us)
{
    size_t k = 0;
    uint32_t buf[1024];
    if (!r->spill_head || w->spill < 0)
        return 0;
    for (uint64_t at = r->spill_head; at && !w->err;) {
        struct spill_chunk h;
        if (spill_io(w, 0, &h, sizeof h, at - 1) < 0)
            break;
        for (uint64_t i = 0; i < h.n && !w->err;) {
            size_t m = h.n - i < 1024 ? (size_t)(h.n - i) : 1024;
            if (spill_io(w, 0, buf, m * sizeof buf[0], at - 1 + sizeof h + i * sizeof buf[0]) < 0)
                break;
            for (size_t j = 0; j < m; j++, k++) {
                *us += buf[j];
                fprintf(w->f, k ? ",%.6f" : "%.6f", (double)*us / 1e6);
            }
            i += m;
        }
        at = h.next;
    }
    if (--w->spill_live == 0 && ftruncate(w->spill, 0) == 0)
        w->spill_end = 0;
    return k;
}

void report_raw_row(struct report_raw *w, const struct req_record *r, uint64_t t0_abs_ns)
{
    if (!w)
        return;
    FILE *f = w->f;
    int ok = r->err == ERR_NONE;
    char msg[sizeof r->errmsg + 1];
    fprintf(f, "{\"index\":%" PRIu64 ",\"warmup\":%s", r->index, r->warmup ? "true" : "false");
    if (r->run_id) {
        fputs(",\"run_id\":", f);
        json_str(f, r->run_id);
    }
    json_offset(f, "scheduled_s", 1, r->sched_ns);
    json_offset(f, "start_s", 1, r->start_ns);
    json_offset(f, "first_token_s", r->first_ns != 0, r->first_ns);
    json_offset(f, "last_token_s", r->first_ns != 0, r->last_ns);
    json_offset(f, "first_reasoning_s", r->t_first_reasoning != 0, r->t_first_reasoning);
    json_offset(f, "first_output_s", r->t_first_output != 0, r->t_first_output);
    json_offset(f, "end_s", 1, r->end_ns);
    json_offset(f, "first_byte_s", r->byte_ns != 0, r->byte_ns);
    /* The connection this request opened, if it opened one. */
    json_offset(f, "connect_s", r->new_conn, r->connect_ns);
    json_offset(f, "tls_handshake_s", r->tls_ns != 0, r->tls_ns);
    fprintf(f, ",\"tls_resumed\":%s", r->tls_resumed ? "true" : "false");
    fprintf(f, ",\"status\":%d,\"ok\":%s,\"error\":", r->status, ok ? "true" : "false");
    if (ok) {
        fputs("null,\"error_message\":null", f);
    } else {
        json_str(f, err_class_name(r->err));
        size_t n = strnlen(r->errmsg, sizeof r->errmsg);
        memcpy(msg, r->errmsg, n);
        msg[n] = '\0';
        result_text_clean(msg, sizeof msg, msg);
        fputs(",\"error_message\":", f);
        json_str(f, msg);
    }
    json_i64(f, "output_tokens", r->out_tokens);
    fputs(",\"token_source\":", f);
    if (r->tok_src != TOK_NONE)
        json_str(f, tok_source_name(r->tok_src));
    else
        fputs("null", f);
    json_i64(f, "input_tokens", r->in_tokens);
    json_i64(f, "server_tokens", r->server_tokens);
    json_i64(f, "local_tokens", r->local_tokens);
    json_i64(f, "total_duration_ns", r->total_duration_ns);
    json_i64(f, "eval_count", r->eval_count);
    json_i64(f, "eval_duration_ns", r->eval_duration_ns);
    json_i64(f, "prompt_eval_count", r->prompt_eval_count);
    json_i64(f, "prompt_eval_duration_ns", r->prompt_eval_duration_ns);
    json_i64(f, "cached_tokens", r->cached_tokens);
    json_i64(f, "load_duration_ns", r->load_duration_ns);
    json_i64(f, "reasoning_tokens", r->reasoning_tokens);
    fputs(",\"reasoning_token_source\":", f);
    if (r->reasoning_tokens >= 0 && r->reasoning_src != TOK_NONE)
        json_str(f, tok_source_name(r->reasoning_src));
    else
        fputs("null", f);
    json_i64(f, "answer_tokens", req_answer_tokens(r));
    fprintf(f, ",\"reasoning_events\":%" PRIu64 ",\"tool_events\":%" PRIu64 ",\"tool_calls\":%" PRIu64,
            r->reasoning_events, r->tool_events, r->tool_calls);
    json_i64(f, "ttft_server_ns", req_ttft_server_ns(r));
    json_i64(f, "ttft_rest_ns", req_ttft_rest_ns(r));
    fprintf(f, ",\"retried\":%s,\"events\":%" PRIu64 ",\"t0_mono_ns\":%" PRIu64
            ",\"events_s\":[", r->retried ? "true" : "false", r->events, t0_abs_ns);
    /* ev_us holds deltas (first from start, then from the previous event);
     * the sum restores each event's offset from the request's start.  The
     * chunks moved out of memory come first. */
    uint64_t us = 0;
    size_t k = raw_spilled_times(w, r, &us);
    for (size_t i = 0; i < r->ev_n; i++, k++) {
        us += r->ev_us[i];
        fprintf(f, k ? ",%.6f" : "%.6f", (double)us / 1e6);
    }
    if (fputs("]}\n", f) < 0 && !w->err)
        w->err = errno ? errno : EIO;
}

int report_raw_close(struct report_raw *w)
{
    return report_raw_finish(w, NULL, 0);
}

int report_raw_finish(struct report_raw *w, char *err, size_t errcap)
{
    if (!w)
        return 0;
    int rc = finish(w->f, w->err, w->path, "raw", err, errcap);
    if (w->spill >= 0)
        close(w->spill);
    free(w);
    return rc;
}

/* --- the files of several processes joined ----------------------------- */

/* Appends the bytes of path after its first `skip_lines` lines to f; a
 * failure is kept in *werr as for the rows. */
static void splice_file(FILE *f, int *werr, const char *path, int skip_lines)
{
    char buf[65536];
    size_t n;
    FILE *in = fopen(path, "re");
    if (!in) {
        if (!*werr)
            *werr = errno;
        return;
    }
    for (int c; skip_lines > 0 && (c = getc(in)) != EOF;)
        skip_lines -= c == '\n';
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, f) != n && !*werr)
            *werr = errno ? errno : EIO;
    if (ferror(in) && !*werr)
        *werr = EIO;
    fclose(in);
}

void report_csv_splice(struct report_csv *w, const char *path)
{
    splice_file(w->f, &w->err, path, 1);
}

void report_raw_splice(struct report_raw *w, const char *path)
{
    splice_file(w->f, &w->err, path, 0);
}
