/* Built-in prompt sets: fixed English texts, so that every machine sends
 * the same prompts.  The longer sets are an instruction plus a document of
 * numbered notes drawn from the paragraphs below in a fixed order per
 * prompt; the note numbers keep repeated paragraphs from being identical
 * text.  Lengths in cl100k_base tokens are in docs/workloads.md. */
#include "prompts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const tiny[PROMPTS_PER_SET] = {
    "What is the capital of France? Answer in one word.",
    "Name three primary colors and nothing else, please.",
    "Write one sentence about the ocean at night.",
    "How many legs does a spider have? Reply briefly.",
    "Give me a short synonym for the word happy.",
    "What is twelve times twelve? Reply with the number.",
    "Describe a cat in exactly five words, please.",
    "Which planet is closest to the sun? Be brief.",
};

static const char *const tasks[PROMPTS_PER_SET] = {
    "summarize the notes in three bullet points",
    "list the main topics of the notes, one per line",
    "write a short title for each note",
    "explain which note you found the most surprising and why",
    "turn the notes into five quiz questions with answers",
    "rewrite the first note for a ten year old reader",
    "find two notes that share an idea and describe the link",
    "write a one paragraph abstract of the notes",
};

static const char *const paragraphs[] = {
    "Lighthouses were once kept by families who lived at the foot of the tower. Every evening "
    "the keeper climbed the stairs, trimmed the wick and polished the lens, because a smoky "
    "flame could not be seen from far out at sea. Logs from the nineteenth century record "
    "storms, shipwrecks and the slow arrival of electricity, which finally made the keepers "
    "unnecessary and turned many towers into museums.",
    "Bread is one of the oldest prepared foods. Flour, water, salt and yeast are enough, yet the "
    "result depends on time and temperature more than on the recipe. A cool, slow rise lets "
    "enzymes break starch into sugars that brown in the oven, while a fast, warm rise gives a "
    "paler crust and a milder taste. Bakers adjust the water to the flour of each harvest.",
    "Honey bees share the location of flowers through a dance. A forager returning to the hive "
    "walks in a figure of eight, and the angle of the straight run tells the others the direction "
    "of the food relative to the sun. The length of the run tells the distance. Other bees follow "
    "the dancer closely, then leave the hive and search the area she described.",
    "Early computers were programmed by setting switches and plugging cables into boards. Changing "
    "the program could take days, so engineers looked for ways to store instructions in memory "
    "next to the data. The stored program design made software possible as we know it today: a "
    "machine could load a new program in seconds and even write programs for itself.",
    "Glaciers move slowly, but they shape entire landscapes. As ice flows downhill it carries "
    "rocks that grind the valley floor and walls, carving the typical U shape. When the climate "
    "warms and the glacier retreats, it leaves piles of gravel called moraines and long lakes that "
    "fill the deepest parts of the valley. Many alpine towns are built on these old deposits.",
    "A sourdough starter is a small ecosystem of wild yeasts and lactic acid bacteria. Fed with "
    "flour and water every day, it settles into a stable balance that can last for decades. The "
    "bacteria make the dough sour and help it keep longer, while the yeasts produce the gas that "
    "lifts the loaf. Some bakeries claim their starters are more than a century old.",
    "Maps always distort something. A globe keeps areas, angles and distances in proportion, but a "
    "flat map cannot keep all three at once. The familiar Mercator projection keeps angles, which "
    "made it useful for sailors, yet it makes countries near the poles look far larger than they "
    "are. Equal area projections fix the sizes at the cost of bending the shapes.",
    "Trains changed the way people measured time. Before railways, each town kept its own local "
    "time based on the position of the sun, so noon in one city came a few minutes before noon in "
    "the next. Timetables became confusing, and railway companies pushed for standard time zones. "
    "Within a few decades most of the world had adopted them.",
    "Octopuses are clever animals with short lives. They can open jars, escape from tanks and "
    "recognize individual people, yet most species live only one or two years. Much of their "
    "nervous system sits in the arms rather than in the brain, and each arm can taste and touch on "
    "its own. Researchers still debate how such a mind is organized.",
    "Libraries have lent books for centuries, but the idea of open shelves is fairly recent. In "
    "many older libraries readers wrote a request on a slip, and a clerk fetched the volume from "
    "closed stacks. Open shelves let people browse, find books they did not know they wanted, and "
    "discover neighbors of the book they came for. Catalogs then became guides rather than gates.",
    "Volcanic soil is often very fertile. Ash and broken rock weather quickly and release minerals "
    "that plants need, which is why farms climb the slopes of active volcanoes despite the danger. "
    "Families who have worked the same fields for generations know the warning signs of an eruption "
    "and keep routes for leaving in a hurry, but they return as soon as the ground cools.",
    "The first bicycles had no pedals. Riders pushed against the ground with their feet, much like "
    "a child on a balance bike. Pedals on the front wheel came next, and wheels grew very large to "
    "go faster with each turn. The chain drive and two wheels of the same size finally produced the "
    "safe and efficient design that has barely changed in more than a century.",
    "Coral reefs cover a tiny part of the ocean floor but shelter a large share of marine species. "
    "The corals themselves are colonies of small animals that live with algae inside their tissues. "
    "The algae provide food from sunlight, and the corals provide shelter. When the water becomes "
    "too warm the partnership breaks down, and the reef turns white and may die.",
    "Paper money began as a receipt. Merchants who deposited coins with a trusted house received a "
    "note that promised to return them, and the notes started to change hands in place of the "
    "heavy coins. Over time banks and then governments issued notes directly, and the link to metal "
    "was loosened and finally cut. Today most money exists only as records in computers.",
    "Migrating birds use several compasses at once. They read the position of the sun during the "
    "day and the pattern of stars at night, and many species can sense the magnetic field of the "
    "earth. Young birds on their first journey often follow an inherited direction, while older "
    "birds correct their course using landmarks they learned on earlier trips.",
    "Tea was first drunk as medicine before it became an everyday drink. Leaves were pressed into "
    "bricks that could travel long distances by caravan, and pieces were broken off and boiled. "
    "Loose leaf tea and the teapot came much later. Each region that adopted tea shaped its own "
    "customs, from quiet ceremonies to strong sweet tea served to every guest.",
};

#define NPARA (sizeof paragraphs / sizeof paragraphs[0])

/* Paragraphs in the document of each set (the tiny set has none).  Chosen
 * so the cl100k_base lengths land near the nominal values. */
static const unsigned set_paras[PROMPT_SET__COUNT] = { 0, 1, 6, 26, 105 };
static const uint32_t set_tokens[PROMPT_SET__COUNT] = { 10, 100, 500, 2000, 8000 };
static const char *const set_names[PROMPT_SET__COUNT] = { "tiny", "short", "medium", "long", "very_long" };

static const char *const words[] = {
    "about", "after", "against", "all", "along", "also", "although", "an", "and", "any", "are",
    "area", "around", "as", "at", "away", "back", "be", "because", "become", "been", "before",
    "being", "between", "both", "but", "by", "called", "can", "children", "city", "could",
    "country", "different", "down", "during", "each", "early", "end", "even", "family", "first",
    "following", "for", "found", "from", "given", "good", "government", "great", "group", "has",
    "have", "he", "her", "here", "high", "his", "house", "however", "if", "important", "in",
    "into", "is", "it", "its", "known", "large", "last", "later", "less", "life", "like",
    "little", "local", "long", "made", "make", "many", "may", "might", "more", "most", "much",
    "must", "national", "never", "new", "next", "no", "not", "number", "of", "often", "on",
    "one", "only", "or", "order", "other", "out", "over", "own", "part", "people", "place",
    "point", "power", "public", "right", "same", "school", "second", "series", "several", "she",
    "should", "since", "small", "so", "some", "state", "still", "such", "system", "take",
    "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those",
    "three", "through", "time", "to", "two", "under", "up", "was", "water", "way", "we", "well",
    "were", "when", "where", "which", "while", "who", "will", "with", "within", "without",
    "work", "world", "would", "year", "years", "you"
};

int prompts_set_from_name(const char *name, enum prompt_set *out)
{
    for (int i = 0; i < PROMPT_SET__COUNT; i++)
        if (!strcmp(name, set_names[i])) {
            *out = (enum prompt_set)i;
            return 0;
        }
    if (!strcmp(name, "very-long")) {
        *out = PROMPT_SET_VERY_LONG;
        return 0;
    }
    return -1;
}

const char *prompts_set_name(enum prompt_set s)
{
    return (unsigned)s < PROMPT_SET__COUNT ? set_names[s] : "?";
}

uint32_t prompts_set_tokens(enum prompt_set s)
{
    return (unsigned)s < PROMPT_SET__COUNT ? set_tokens[s] : 0;
}

size_t prompts_words(const char *const **w)
{
    *w = words;
    return sizeof words / sizeof words[0];
}

char *prompts_build(enum prompt_set s, size_t i)
{
    if ((unsigned)s >= PROMPT_SET__COUNT || i >= PROMPTS_PER_SET)
        return NULL;
    if (s == PROMPT_SET_TINY)
        return strdup(tiny[i]);
    unsigned np = set_paras[s];
    size_t cap = 256;
    for (unsigned k = 0; k < np; k++)
        cap += strlen(paragraphs[(k * 7 + i * 3) % NPARA]) + 32;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    size_t n = (size_t)snprintf(b, cap, "Read the following notes, then %s.\n\n", tasks[i]);
    for (unsigned k = 0; k < np; k++) {
        /* Stepping by 7 (coprime with 16) visits every paragraph before
         * any repeats; the offset by prompt makes the prompts differ. */
        const char *p = paragraphs[(k * 7 + i * 3) % NPARA];
        n += (size_t)snprintf(b + n, cap - n, "Note %u. %s\n\n", k + 1, p);
    }
    snprintf(b + n, cap - n, "Now %s.", tasks[i]);
    return b;
}
