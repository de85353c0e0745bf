/*
 * wordcount.c - example plugin: a MAP_REDUCE word count.  It is the
 * tutorial for the plugin ABI (docs/processors.md walks through it).
 *
 * Build (the Makefile does it into build/plugins/wordcount.so):
 *
 *     cc -std=c11 -fPIC -shared -DPJ_PROCESSOR_PLUGIN_ONLY -I. \
 *        worker/plugins/wordcount.c -o wordcount.so
 *
 * Job: processor type EXTERNAL, processor info "wordcount" or
 * "wordcount:chunk=BYTES,top=N,pace=MS" (the part after ':' is handed to
 * init; pace makes every chunk take at least MS ms, so that a demo has a
 * progress line to watch), execute type MAP_REDUCE.  Parameters (instance params when not empty,
 * else job params): the text itself, or "file:PATH" to read a file on the
 * tracker's node.
 *
 * What happens:
 *   1. The root task (ctx->sub_task == NULL) reads the input, cuts it
 *      into chunks of about `chunk` bytes at spaces and hands them to
 *      ctx->map: each chunk becomes a sub-task, possibly on another node.
 *   2. Every sub-task counts the words of its chunk and returns them in
 *      its result text: "words=N;word=count word=count ...".
 *   3. reduce, on the tracker's node, gets every task's result, adds the
 *      counts up and reports the total and the top words:
 *      "words=12 distinct=5 chunks=3 failed=0 top: the=4, a=3, ...".
 *   Run as STANDALONE (no map), the root counts everything itself.
 *
 * Design notes (threads): the worker may run many tasks of one loaded
 * plugin at once, so the only shared state (the config made by init) is
 * read-only after init; everything else lives on the task's stack or
 * heap.  A plugin links nothing from the worker: it includes only
 * worker/processor.h (with PJ_PROCESSOR_PLUGIN_ONLY) and calls the
 * worker through the function pointers in the context.
 */
#define _POSIX_C_SOURCE 200809L
#define PJ_PROCESSOR_PLUGIN_ONLY 1
#include "worker/processor.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WC_CHUNK_DEFAULT 4096 /* bytes per sub-task */
#define WC_TOP_DEFAULT 10     /* words named in the final result */
#define WC_WORD_MAX 64        /* longer words are cut */
#define WC_FILE_MAX (64L << 20)
#define WC_MAP_BATCH 200 /* PowerJob's recommended batch per map call */

/* ---- init / fini: the per-job configuration ------------------------- */

struct wc_conf {
	size_t chunk;
	int    top;
	long   pace_ms; /* every chunk takes at least this long */
};

/* config is what follows "wordcount:" in the processor info ("" when
 * nothing does): "chunk=BYTES,top=N,pace=MS".  Returning nonzero refuses the job
 * with the message written into err. */
static int
wc_init(void **state, const char *config, char *err, size_t errlen)
{
	struct wc_conf *c = calloc(1, sizeof(*c));
	char           *copy, *tok, *save = NULL;

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->chunk = WC_CHUNK_DEFAULT;
	c->top   = WC_TOP_DEFAULT;
	copy     = strdup(config);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		long v;

		if (sscanf(tok, "chunk=%ld", &v) == 1 && v >= 16
		    && v <= (1 << 20)) {
			c->chunk = (size_t) v;
		} else if (sscanf(tok, "top=%ld", &v) == 1 && v >= 1
		    && v <= 1000) {
			c->top = (int) v;
		} else if (sscanf(tok, "pace=%ld", &v) == 1 && v >= 0
		    && v <= 60000) {
			c->pace_ms = v;
		} else {
			snprintf(err, errlen,
			    "wordcount: bad config \"%s\" (use "
			    "chunk=16..1048576, "
			    "top=1..1000, pace=0..60000)",
			    tok);
			free(copy);
			free(c);
			return -1;
		}
	}
	free(copy);
	*state = c;
	return 0;
}

static void
wc_fini(void *state)
{
	free(state);
}

/* ---- a small word -> count table ---------------------------------------- */

struct wc_item {
	char *word;
	long  count;
};

struct wc_table {
	struct wc_item *slots;
	size_t          cap, n;
	long            words;
};

static unsigned long
hash(const char *s)
{
	unsigned long h = 5381;

	while (*s != '\0') {
		h = h * 33 + (unsigned char) *s++;
	}
	return h;
}

static void wc_add(struct wc_table *t, const char *w, long count);

static void
wc_grow(struct wc_table *t)
{
	struct wc_table old = *t;

	t->cap   = t->cap ? t->cap * 2 : 256;
	t->slots = calloc(t->cap, sizeof(*t->slots));
	t->n     = 0;
	if (t->slots == NULL) {
		abort();
	}
	for (size_t i = 0; i < old.cap; i++) {
		if (old.slots[i].word != NULL) {
			size_t j = hash(old.slots[i].word) & (t->cap - 1);

			while (t->slots[j].word != NULL) {
				j = (j + 1) & (t->cap - 1);
			}
			t->slots[j] = old.slots[i];
			t->n++;
		}
	}
	free(old.slots);
}

static void
wc_add(struct wc_table *t, const char *w, long count)
{
	size_t j;

	if ((t->n + 1) * 2 > t->cap) {
		wc_grow(t);
	}
	t->words += count;
	for (j = hash(w) & (t->cap - 1); t->slots[j].word != NULL;
	     j = (j + 1) & (t->cap - 1)) {
		if (strcmp(t->slots[j].word, w) == 0) {
			t->slots[j].count += count;
			return;
		}
	}
	t->slots[j].word  = strdup(w);
	t->slots[j].count = count;
	t->n++;
}

static void
wc_free(struct wc_table *t)
{
	for (size_t i = 0; i < t->cap; i++) {
		free(t->slots[i].word);
	}
	free(t->slots);
}

static int
by_count(const void *a, const void *b)
{
	const struct wc_item *x = a, *y = b;

	if (x->count != y->count) {
		return x->count > y->count ? -1 : 1;
	}
	return strcmp(x->word, y->word);
}

/* the items sorted by count (descending), then word; free() it */
static struct wc_item *
wc_sorted(const struct wc_table *t)
{
	struct wc_item *v = calloc(t->n + 1, sizeof(*v));
	size_t          k = 0;

	for (size_t i = 0; i < t->cap; i++) {
		if (t->slots[i].word != NULL) {
			v[k++] = t->slots[i];
		}
	}
	qsort(v, k, sizeof(*v), by_count);
	return v;
}

/* letters, digits, apostrophes and any non-ASCII byte make words */
static int
is_word(unsigned char c)
{
	return isalnum(c) || c == '\'' || c >= 0x80;
}

static void
wc_count(struct wc_table *t, const char *p, size_t len)
{
	char   w[WC_WORD_MAX + 1];
	size_t n = 0;

	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char) p[i] : ' ';

		if (is_word(c)) {
			if (n < WC_WORD_MAX) {
				w[n++] = (char) tolower(c);
			}
		} else if (n > 0) {
			w[n] = '\0';
			wc_add(t, w, 1);
			n = 0;
		}
	}
}

/* ---- the processor ---------------------------------------------------- */

static const char *
params(pj_task_ctx *ctx)
{
	if (ctx->instance_params != NULL && ctx->instance_params[0] != '\0') {
		return ctx->instance_params;
	}
	return ctx->job_params != NULL ? ctx->job_params : "";
}

/* the input: the text, or the contents of "file:PATH"; free() it */
static char *
read_input(pj_task_ctx *ctx, size_t *len)
{
	const char *p = params(ctx);
	FILE       *f;
	char       *buf;

	if (strncmp(p, "file:", 5) != 0) {
		*len = strlen(p);
		return strdup(p);
	}
	if ((f = fopen(p + 5, "rb")) == NULL) {
		ctx->set_result(ctx, "wordcount: cannot open %s", p + 5);
		return NULL;
	}
	buf  = malloc(WC_FILE_MAX + 1);
	*len = buf != NULL ? fread(buf, 1, WC_FILE_MAX + 1, f) : 0;
	fclose(f);
	if (buf == NULL || *len > WC_FILE_MAX) {
		ctx->set_result(ctx, "wordcount: %s is larger than %ld bytes",
		    p + 5, WC_FILE_MAX);
		free(buf);
		return NULL;
	}
	buf[*len] = '\0';
	return buf;
}

/* "words=N;w=c w=c ..." for the sub-task's result */
static void
report_counts(pj_task_ctx *ctx, const struct wc_table *t)
{
	struct wc_item *v   = wc_sorted(t);
	size_t          cap = 32, len = 0;
	char           *out;

	for (size_t i = 0; i < t->n; i++) {
		cap += strlen(v[i].word) + 24;
	}
	out = malloc(cap);
	len = (size_t) snprintf(out, cap, "words=%ld;", t->words);
	for (size_t i = 0; i < t->n; i++) {
		len += (size_t) snprintf(out + len, cap - len, "%s%s=%ld",
		    i ? " " : "", v[i].word, v[i].count);
	}
	ctx->set_result(ctx, "%s", out);
	free(out);
	free(v);
}

/* "words=12 distinct=5 chunks=3 failed=0 top: the=4, a=3" */
static void
report_total(pj_task_ctx *ctx, const struct wc_table *t, int top,
    size_t chunks, size_t failed)
{
	struct wc_item *v = wc_sorted(t);
	char            out[8192];
	size_t          len;

	len = (size_t) snprintf(out, sizeof(out),
	    "words=%ld distinct=%zu chunks=%zu failed=%zu top:", t->words,
	    t->n, chunks, failed);
	for (size_t i = 0; i < t->n && i < (size_t) top && len < sizeof(out);
	     i++) {
		len += (size_t) snprintf(out + len, sizeof(out) - len,
		    "%s %s=%ld", i ? "," : "", v[i].word, v[i].count);
	}
	ctx->set_result(ctx, "%s", out);
	free(v);
}

/* The root: cut the input into chunks at spaces and map them. */
static int
map_chunks(
    const struct wc_conf *c, pj_task_ctx *ctx, const char *text, size_t len)
{
	struct pj_subtask batch[WC_MAP_BATCH];
	size_t            n = 0, chunks = 0, off = 0;

	while (off < len) {
		size_t end = off + c->chunk < len ? off + c->chunk : len;

		/* end the chunk after a space, never inside a word */
		while (end < len && is_word((unsigned char) text[end])) {
			end++;
		}
		batch[n].content = text + off;
		batch[n].len     = end - off;
		n++;
		chunks++;
		off = end;
		if (n == WC_MAP_BATCH || off >= len) {
			/* map copies the sub-tasks before it returns; it may
			 * refuse (then it has set the task's result) */
			if (ctx->map(ctx, "WORDCOUNT_CHUNK", batch, n) != 0) {
				return 0;
			}
			n = 0;
		}
		if (ctx->stopping(ctx)) {
			ctx->set_result(
			    ctx, "wordcount: stopped while mapping");
			return 0;
		}
	}
	ctx->log(ctx, PJ_LOG_INFO, "wordcount: mapped %zu chunks of %zu bytes",
	    chunks, len);
	ctx->set_result(ctx, "mapped %zu chunks (%zu bytes)", chunks, len);
	return 1;
}

static int
wc_process(void *state, pj_task_ctx *ctx)
{
	const struct wc_conf *c = state;
	struct wc_table       t = { 0 };
	char                 *text;
	size_t                len;
	int                   ok;

	if (ctx->sub_task != NULL) { /* a chunk: count it */
		/* pace: wait in steps of 10 ms, returning early when the
		 * instance is stopped */
		for (long w = 0; w < c->pace_ms && !ctx->stopping(ctx);
		     w += 10) {
			struct timespec ts = { 0, 10 * 1000000L };
			nanosleep(&ts, NULL);
		}
		wc_count(&t, ctx->sub_task, ctx->sub_task_len);
		report_counts(ctx, &t);
		wc_free(&t);
		return 1;
	}
	if ((text = read_input(ctx, &len)) == NULL) {
		return 0; /* read_input said why */
	}
	if (strcmp(ctx->execute_type, "MAP_REDUCE") == 0
	    || strcmp(ctx->execute_type, "MAP") == 0) {
		ok = map_chunks(c, ctx, text, len);
	} else { /* STANDALONE or BROADCAST: count it all here */
		wc_count(&t, text, len);
		report_total(ctx, &t, c->top, 1, 0);
		wc_free(&t);
		ok = 1;
	}
	free(text);
	return ok;
}

/* On the tracker's node, with the result of every task (the root's
 * "mapped ..." included): add up the sub-tasks' counts. */
static int
wc_reduce(
    void *state, pj_task_ctx *ctx, const struct pj_task_outcome *r, size_t n)
{
	const struct wc_conf *c      = state;
	struct wc_table       t      = { 0 };
	size_t                chunks = 0, failed = 0;

	for (size_t i = 0; i < n; i++) {
		const char *p = r[i].result != NULL ? r[i].result : "";
		long        words;
		int         used;

		if (!r[i].success) {
			failed++;
			continue;
		}
		if (sscanf(p, "words=%ld;%n", &words, &used) != 1) {
			continue; /* the root's own result */
		}
		chunks++;
		p += used;
		while (*p != '\0') { /* "word=count word=count" */
			const char *eq = strchr(p, '=');
			const char *sp;
			char        w[WC_WORD_MAX + 1];
			size_t      wl;

			if (eq == NULL) {
				break;
			}
			wl = (size_t) (eq - p) < WC_WORD_MAX
			    ? (size_t) (eq - p)
			    : WC_WORD_MAX;
			memcpy(w, p, wl);
			w[wl] = '\0';
			wc_add(&t, w, strtol(eq + 1, NULL, 10));
			sp = strchr(eq, ' ');
			p  = sp != NULL ? sp + 1 : eq + strlen(eq);
		}
	}
	report_total(ctx, &t, c->top, chunks, failed);
	ctx->log(ctx, failed ? PJ_LOG_WARN : PJ_LOG_INFO,
	    "wordcount: reduced %zu chunks, %zu failed, %ld words", chunks,
	    failed, t.words);
	wc_free(&t);
	return failed == 0;
}

/* The one symbol the worker looks for.  `abi` must be PJ_PROCESSOR_ABI
 * of the header the plugin was built with; the worker refuses others. */
const struct pj_processor_ops pj_processor_v1 = {
	.abi     = PJ_PROCESSOR_ABI,
	.name    = "wordcount",
	.init    = wc_init,
	.fini    = wc_fini,
	.process = wc_process,
	.reduce  = wc_reduce,
};
