/*
 * server/logstore/logstore.c - the log store's front (logstore.h): picks
 * the backend from the URL, dispatches, keeps each thread's last error and
 * implements what does not depend on the backend (streaming, line
 * cleaning).
 *
 * Design notes: the handle is immutable after open, so any thread may call
 * it; the backends guard their own state (see their files). Errors go to
 * a thread-local buffer, so two threads never see each other's message.
 * OOM policy: ar_xmalloc and friends abort.
 */
#include "server/logstore/logstore.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/alloc.h"
#include "runtime/ar.h"

#define ERRLEN 512
#define STREAM_PAGE_DEFAULT 1000

struct pj_logstore {
	const struct pj_logstore_ops *ops;
	void                         *impl;
};

static _Thread_local char last_err[ERRLEN];
static uint32_t           counter_start;

static void
seed_counter(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	counter_start = (uint32_t) ts.tv_nsec ^ (uint32_t) getpid() << 8;
}

static int
fail(int rv, const char *msg)
{
	snprintf(last_err, sizeof(last_err), "%s", msg);
	return rv;
}

const char *
pj_logstore_errmsg(void)
{
	return last_err;
}

void
pj_logstore_url_redact(const char *url, char *out, size_t n)
{
	const char *s = strstr(url, "://"), *at, *colon;
	if (s == NULL || (at = strchr(s + 3, '@')) == NULL
	    || (colon = memchr(s + 3, ':', (size_t) (at - s - 3))) == NULL) {
		snprintf(out, n, "%s", url);
		return;
	}
	snprintf(out, n, "%.*s:***%s", (int) (colon - url), url, at);
}

int
pj_logstore_open(
    const char *url, struct pj_store *sql, struct pj_logstore **out)
{
	struct pj_logstore *ls;
	char                err[ERRLEN] = "";
	void               *impl        = NULL;
	int                 rv;
	*out = NULL;
	if (url == NULL || url[0] == 0 || strcmp(url, "sql") == 0) {
		if (sql == NULL)
			return fail(PJ_LOG_EINVAL, "log store: no SQL store");
		pj_logstore_sql_new(sql, &impl);
		ls       = ar_xcalloc(1, sizeof(*ls));
		ls->ops  = &pj_logstore_sql_ops;
		ls->impl = impl;
		*out     = ls;
		return 0;
	}
	if (strncmp(url, "mongodb://", 10) != 0
	    && strncmp(url, "mongodb+srv://", 14) != 0) {
		char shown[ERRLEN / 2];
		pj_logstore_url_redact(url, shown, sizeof(shown));
		snprintf(err, sizeof(err),
		    "log store URL '%s': expected \"sql\" or "
		    "mongodb://host:port/db",
		    shown);
		return fail(PJ_LOG_EINVAL, err);
	}
	if ((rv = pj_logstore_mongo_new(url, &impl, err, sizeof(err))) != 0)
		return fail(rv, err);
	ls       = ar_xcalloc(1, sizeof(*ls));
	ls->ops  = &pj_logstore_mongo_ops;
	ls->impl = impl;
	*out     = ls;
	return 0;
}

void
pj_logstore_close(struct pj_logstore *ls)
{
	if (ls == NULL)
		return;
	ls->ops->close(ls->impl);
	free(ls);
}

const char *
pj_logstore_name(const struct pj_logstore *ls)
{
	return ls->ops->name;
}

#define CALL(expr)                                                            \
	do {                                                                  \
		char err[ERRLEN] = "";                                        \
		int  rv_         = (expr);                                    \
		return rv_ ? fail(rv_, err) : 0;                              \
	} while (0)

int
pj_logstore_append(
    struct pj_logstore *ls, const struct pj_logline *v, size_t n)
{
	if (n == 0)
		return 0;
	CALL(ls->ops->append(ls->impl, v, n, err, sizeof(err)));
}

static int
check_limit(int limit, struct pj_log_list *out)
{
	memset(out, 0, sizeof(*out));
	if (limit < 1 || limit > PJ_LOG_READ_MAX) {
		char m[128];
		snprintf(m, sizeof(m), "log store: limit %d is not 1..%d",
		    limit, PJ_LOG_READ_MAX);
		return fail(PJ_LOG_EINVAL, m);
	}
	return 0;
}

int
pj_logstore_read(struct pj_logstore *ls, int64_t instance_id,
    int64_t after_time, int64_t after_key, int limit, struct pj_log_list *out)
{
	if (check_limit(limit, out) != 0)
		return PJ_LOG_EINVAL;
	CALL(ls->ops->read(ls->impl, instance_id, after_time, after_key, limit,
	    out, err, sizeof(err)));
}

int
pj_logstore_page(struct pj_logstore *ls, int64_t instance_id, int64_t first,
    int limit, struct pj_log_list *out)
{
	if (check_limit(limit, out) != 0)
		return PJ_LOG_EINVAL;
	if (first < 0)
		return fail(PJ_LOG_EINVAL, "log store: negative line index");
	CALL(ls->ops->page(
	    ls->impl, instance_id, first, limit, out, err, sizeof(err)));
}

int
pj_logstore_count(struct pj_logstore *ls, int64_t instance_id, int64_t *n)
{
	*n = 0;
	CALL(ls->ops->count(ls->impl, instance_id, n, err, sizeof(err)));
}

int
pj_logstore_delete_instance(
    struct pj_logstore *ls, int64_t instance_id, int64_t *deleted)
{
	int64_t d = 0;
	if (deleted == NULL)
		deleted = &d;
	*deleted = 0;
	CALL(ls->ops->delete_instance(
	    ls->impl, instance_id, deleted, err, sizeof(err)));
}

int
pj_logstore_delete_before(
    struct pj_logstore *ls, int64_t before_ms, int64_t *deleted)
{
	int64_t d = 0;
	if (deleted == NULL)
		deleted = &d;
	*deleted = 0;
	CALL(ls->ops->delete_before(
	    ls->impl, before_ms, deleted, err, sizeof(err)));
}

int
pj_logstore_stream(struct pj_logstore *ls, int64_t instance_id, int page,
    pj_logline_fn fn, void *arg)
{
	struct pj_log_list l;
	int64_t            at = 0, key = 0;
	int                rv;
	if (page == 0)
		page = STREAM_PAGE_DEFAULT;
	for (;;) {
		rv = pj_logstore_read(ls, instance_id, at, key, page, &l);
		if (rv != 0)
			return rv;
		for (size_t i = 0; i < l.n && rv == 0; i++)
			rv = fn(arg, &l.v[i]);
		if (l.n > 0) {
			at  = l.v[l.n - 1].log_time;
			key = l.v[l.n - 1].id;
		}
		size_t got = l.n;
		pj_log_list_fini(&l);
		if (rv != 0 || got < (size_t) page)
			return rv;
	}
}

int64_t
pj_logseq_unnumbered(void)
{
	static atomic_uint_fast32_t ctr;
	static pthread_once_t       once = PTHREAD_ONCE_INIT;
	pthread_once(&once, seed_counter);
	uint32_t c = (uint32_t) atomic_fetch_add(&ctr, 1) + counter_start;
	return (INT64_C(1) << 62)
	    | ((ar_now_ms() & ((INT64_C(1) << 41) - 1)) << 20)
	    | (int64_t) (c & 0xFFFFF);
}

/* ---- line cleaning -------------------------------------------------------
 */

/* length of the valid UTF-8 sequence at p (1..4), 0 when invalid */
static size_t
utf8_len(const unsigned char *p, size_t left)
{
	unsigned c = p[0];
	size_t   n;
	unsigned min;
	if (c < 0x80)
		return c ? 1 : 0;
	if ((c & 0xE0) == 0xC0) {
		n = 2, min = 0x80, c &= 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		n = 3, min = 0x800, c &= 0x0F;
	} else if ((c & 0xF8) == 0xF0) {
		n = 4, min = 0x10000, c &= 0x07;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	return n;
}

char *
pj_logline_clean(const char *s, size_t max_bytes)
{
	const unsigned char *p = (const unsigned char *) (s ? s : "");
	size_t len = strlen((const char *) p), i = 0, k, w = 0, clean = 0;
	int    bad = 0;
	for (i = 0; i < len; i += k ? k : 1) {
		if (p[i] < 0x80) { /* the common case: runs of ASCII */
			size_t j = i + 1;
			while (j < len && p[j] < 0x80)
				j++;
			clean += j - i;
			k = j - i;
			continue;
		}
		k = utf8_len(p + i, len - i);
		clean += k ? k : 3;
		bad |= k == 0;
	}
	if (!bad && len <= max_bytes)
		return NULL;
	/* worst case: every byte becomes the 3 bytes of U+FFFD */
	size_t keep = max_bytes > 128 ? max_bytes - 64 : max_bytes / 2;
	char  *out  = ar_xmalloc(len * 3 + 80);
	for (i = 0; i < len;) {
		k          = utf8_len(p + i, len - i);
		size_t add = k ? k : 3;
		if (clean > max_bytes && w + add > keep) {
			w += (size_t) snprintf(out + w, 80,
			    " [... cut at %zu of %zu bytes]", i, len);
			break;
		}
		memcpy(
		    out + w, k ? (const char *) p + i : "\xEF\xBF\xBD", add);
		i += k ? k : 1;
		w += add;
	}
	out[w] = 0;
	return out;
}
