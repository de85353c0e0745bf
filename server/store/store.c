/*
 * server/store/store.c - store handle: open and close, the connection pool,
 * the one statement runner (retry after a lost connection), per-thread error
 * text.
 *
 * Design notes
 * ------------
 * PowerJob uses a Hikari pool (max 20) and Spring's retry; here the pool is
 * a fixed array of slots guarded by one mutex and a condition variable. A
 * caller borrows a slot for one statement (or one transaction); opening a
 * connection happens outside the mutex. Lock order: only s->mtx, never held
 * across a backend call. A slot whose connection fails the backend's cheap
 * liveness check (MySQL: the socket shows a hang-up) is reopened before use,
 * so a server restart costs nothing but the reconnect; reconnects are
 * retried for up to PJ_STORE_RECONNECT_MS while the server comes back.
 * Errors live in a thread-local buffer tagged with the store they belong to.
 * OOM policy: the x* wrappers abort.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/store/store_impl.h"

#define PJ_STORE_RECONNECT_MS 10000
#define PJ_STORE_RECONNECT_STEP_MS 100

static __thread const struct pj_store *err_store;
static __thread char                   err_buf[PJ_STORE_ERRLEN];

/* Formats into a local buffer first: callers may pass the previous message
 * (pj_store_errmsg) as an argument to wrap it in more context. */
int
pj_store_fail(struct pj_store *s, int rv, const char *fmt, ...)
{
	char    msg[PJ_STORE_ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(err_buf, msg, sizeof(err_buf));
	err_store = s;
	return rv;
}

const char *
pj_store_errmsg(struct pj_store *s)
{
	if (err_store != s || (s == NULL && err_buf[0] == 0))
		return "no error";
	return err_buf;
}

const char *
pj_store_strerror(int rv)
{
	switch (rv) {
	case PJ_STORE_OK:
		return "ok";
	case PJ_STORE_EINVAL:
		return "invalid argument";
	case PJ_STORE_ENOTFOUND:
		return "not found";
	case PJ_STORE_EDUP:
		return "duplicate key";
	case PJ_STORE_ECONFLICT:
		return "row changed by somebody else";
	case PJ_STORE_ECONN:
		return "database connection lost";
	case PJ_STORE_EBACKEND:
		return "database error";
	case PJ_STORE_ESCHEMA:
		return "schema version mismatch";
	case PJ_STORE_EFULL:
		return "no free server id";
	case PJ_STORE_EAUTH:
		return "wrong secret";
	}
	return "unknown store error";
}

const char *
pj_store_backend(struct pj_store *s)
{
	return s->ops->name;
}

/* ---- open / close ----------------------------------------------------------
 */

int
pj_store_open(const char *url, struct pj_store **out)
{
	char             err[PJ_STORE_ERRLEN] = "";
	struct pj_store *s                    = ar_xcalloc(1, sizeof(*s));
	int              rv;

	*out = NULL;
	if ((rv = pj_store_url_parse(url, &s->url, err, sizeof(err))) != 0)
		goto fail;
	if (strcmp(s->url.backend, "sqlite") == 0)
		s->ops = &pj_store_sqlite_ops;
	else
		s->ops = &pj_store_mysql_ops;
	s->nslots = s->url.pool;
	pthread_mutex_init(&s->mtx, NULL);
	pthread_cond_init(&s->cv, NULL);
	/* the first connection proves the URL and credentials now */
	if ((rv = s->ops->conn_open(
	         &s->url, &s->slots[0].conn, err, sizeof(err)))
	    != 0) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mtx);
		goto fail;
	}
	/* an old binary must not write into a schema it does not know: a
	 * read-only look at schema_version (0 = empty database) */
	int version = 0, latest = pj_store_migrations_latest(s->ops->name);
	if ((rv = pj_store_schema_version(s, &version)) != 0
	    || version > latest) {
		if (rv == 0) {
			rv = PJ_STORE_ESCHEMA;
			snprintf(err, sizeof(err),
			    "database schema version %d is newer than this "
			    "binary's (%d): refusing to touch it; run a "
			    "pj-server built from the same or a newer release",
			    version, latest);
		} else {
			snprintf(err, sizeof(err), "%s", pj_store_errmsg(s));
		}
		for (int i = 0; i < s->nslots; i++)
			if (s->slots[i].conn)
				s->ops->conn_close(s->slots[i].conn);
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mtx);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (err_store == s)
		err_store = NULL;
	pj_store_fail(NULL, rv, "store open: %s", err);
	pj_store_url_fini(&s->url);
	free(s);
	return rv;
}

void
pj_store_close(struct pj_store *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->nslots; i++)
		if (s->slots[i].conn)
			s->ops->conn_close(s->slots[i].conn);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mtx);
	pj_store_url_fini(&s->url);
	if (err_store == s)
		err_store = NULL;
	free(s);
}

/* ---- pool ------------------------------------------------------------------
 */

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int
pj_conn_get(struct pj_store *s, struct pj_conn *c)
{
	int slot = -1;
	pthread_mutex_lock(&s->mtx);
	for (;;) {
		/* prefer an open idle connection, then any idle slot */
		for (int i = 0; i < s->nslots && slot < 0; i++)
			if (!s->slots[i].busy && s->slots[i].conn)
				slot = i;
		for (int i = 0; i < s->nslots && slot < 0; i++)
			if (!s->slots[i].busy)
				slot = i;
		if (slot >= 0)
			break;
		pthread_cond_wait(&s->cv, &s->mtx);
	}
	s->slots[slot].busy = 1;
	pthread_mutex_unlock(&s->mtx);

	c->s        = s;
	c->retry    = 0;
	c->slot     = slot;
	void **conn = &s->slots[slot].conn;
	if (*conn && !s->ops->conn_alive(*conn)) {
		s->ops->conn_close(*conn);
		*conn = NULL;
	}
	if (*conn == NULL) {
		char err[PJ_STORE_ERRLEN] = "";
		int  rv                   = 0;
		for (int waited = 0;; waited += PJ_STORE_RECONNECT_STEP_MS) {
			rv = s->ops->conn_open(
			    &s->url, conn, err, sizeof(err));
			if (rv == 0 || rv != PJ_STORE_ECONN
			    || waited >= PJ_STORE_RECONNECT_MS)
				break;
			sleep_ms(PJ_STORE_RECONNECT_STEP_MS);
		}
		if (rv != 0) {
			pj_conn_put(c, 1);
			return pj_store_fail(s, rv, "%s: reconnect failed: %s",
			    s->ops->name, err);
		}
	}
	return 0;
}

void
pj_conn_put(struct pj_conn *c, int broken)
{
	struct pj_store *s = c->s;
	if (broken && s->slots[c->slot].conn) {
		s->ops->conn_close(s->slots[c->slot].conn);
		s->slots[c->slot].conn = NULL;
	}
	pthread_mutex_lock(&s->mtx);
	s->slots[c->slot].busy = 0;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mtx);
}

/* ---- statements ------------------------------------------------------------
 */

static int
report(
    struct pj_store *s, int rv, const char *table, int64_t id, const char *err)
{
	if (id >= 0)
		return pj_store_fail(s, rv, "%s (id %lld): %s: %s: %s", table,
		    (long long) id, s->ops->name, pj_store_strerror(rv), err);
	return pj_store_fail(s, rv, "%s: %s: %s: %s", table, s->ops->name,
	    pj_store_strerror(rv), err);
}

/* a short random pause before a lost deadlock is run again, growing with
 * the attempt, so the contenders do not collide the same way twice */
static void
deadlock_pause(int attempt)
{
	static __thread unsigned seed;
	if (seed == 0)
		seed = (unsigned) time(NULL) ^ (unsigned) (uintptr_t) &seed;
	seed                = seed * 1103515245u + 12345u;
	int             max = attempt < 5 ? 1 << attempt : 32; /* ms */
	struct timespec ts
	    = { 0, (long) ((seed >> 8) % (unsigned) (max * 1000)) * 1000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static __thread char  *explain_buf;
static __thread size_t explain_len;

void
pj_store_explain_to(char *buf, size_t len)
{
	explain_buf = len > 0 ? buf : NULL;
	explain_len = len > 0 ? len : 0;
	if (explain_buf)
		explain_buf[0] = 0;
}

struct explain_out {
	char  *buf;
	size_t len;
};

static int
explain_row(void *arg, const struct pj_val *cols, int ncols)
{
	struct explain_out *o           = arg;
	char               *explain_buf = o->buf;
	size_t              explain_len = o->len;
	size_t              used        = strlen(explain_buf);
	for (int k = 0; k < ncols && used + 1 < explain_len; k++) {
		const struct pj_val *v   = &cols[k];
		const char          *sep = k ? "|" : "";
		int                  n;
		if (v->type == PJ_VAL_INT)
			n = snprintf(explain_buf + used, explain_len - used,
			    "%s%lld", sep, (long long) v->i);
		else if (v->type == PJ_VAL_DBL)
			n = snprintf(explain_buf + used, explain_len - used,
			    "%s%g", sep, v->d);
		else if (v->type == PJ_VAL_TEXT)
			n = snprintf(explain_buf + used, explain_len - used,
			    "%s%.*s", sep, (int) v->len, v->s);
		else
			n = snprintf(explain_buf + used, explain_len - used,
			    "%sNULL", sep);
		if (n < 0)
			break;
		used += (size_t) n;
		if (used >= explain_len)
			used = explain_len - 1;
	}
	if (used + 1 < explain_len) {
		explain_buf[used++] = '\n';
		explain_buf[used]   = 0;
	}
	return 0;
}

int
pj_sq_exec(struct pj_store *s, struct pj_conn *c, unsigned flags,
    const char *table, int64_t id, const char *sql,
    const struct pj_val *params, int np, pj_row_fn fn, void *arg,
    int64_t *affected)
{
	char    err[PJ_STORE_ERRLEN];
	int64_t aff      = 0;
	int     lost     = 0; /* connections lost so far */
	int     deadlock = 0; /* deadlocks lost so far */
	int     rv;

	if (explain_buf) {
		/* plan capture (tests, benches): run the plan instead */
		char *x = ar_xmalloc(strlen(sql) + 32);
		strcpy(x,
		    strcmp(s->ops->name, "sqlite") == 0 ? "EXPLAIN QUERY PLAN "
		                                        : "EXPLAIN ");
		strcat(x, sql);
		struct explain_out o = { explain_buf, explain_len };
		explain_buf = NULL; /* the plan itself runs normally */
		rv = pj_sq_exec(s, c, flags | PJ_Q_SAFE, table, id, x, params,
		    np, explain_row, &o, NULL);
		explain_buf = o.buf;
		explain_len = o.len;
		free(x);
		if (affected)
			*affected = 0;
		return rv;
	}

	for (;;) {
		struct pj_conn  own;
		struct pj_conn *cc   = c;
		int             sent = 0;
		err[0]               = 0;
		if (cc == NULL) {
			if ((rv = pj_conn_get(s, &own)) != 0)
				return rv;
			cc = &own;
		}
		rv = s->ops->exec(s->slots[cc->slot].conn, sql, params, np, fn,
		    arg, &aff, &sent, err, sizeof(err));
		if (rv == PJ_STORE_ECONN) {
			if (c != NULL) {
				/* inside a transaction: the caller decides */
				s->ops->conn_close(s->slots[c->slot].conn);
				s->slots[c->slot].conn = NULL;
				return report(s, rv, table, id, err);
			}
			pj_conn_put(cc, 1);
			if (lost++ == 0 && (!sent || (flags & PJ_Q_SAFE)))
				continue;
			return report(s, rv, table, id, err);
		}
		if (c == NULL)
			pj_conn_put(cc, 0);
		if (rv == PJ_STORE_XRETRY) {
			if (c != NULL) {
				/* the transaction is void: pj_sq_txn reruns it
				 */
				c->retry = 1;
				return report(
				    s, PJ_STORE_EBACKEND, table, id, err);
			}
			if (++deadlock < PJ_STORE_DEADLOCK_ATTEMPTS) {
				deadlock_pause(deadlock);
				continue;
			}
			return report(s, PJ_STORE_EBACKEND, table, id, err);
		}
		break;
	}
	if (rv == PJ_STORE_EDUP || rv == PJ_STORE_EBACKEND)
		return report(s, rv, table, id, err);
	if (rv != 0)
		return rv; /* from the row callback, message already set */
	if (affected)
		*affected = aff;
	return 0;
}

int
pj_sq_insert_id(struct pj_store *s, const char *table, const char *sql,
    const struct pj_val *params, int np, int64_t *id)
{
	for (int attempt = 1;; attempt++) {
		struct pj_conn c;
		int            rv;
		if ((rv = pj_conn_get(s, &c)) != 0)
			return rv;
		rv = pj_sq_exec(
		    s, &c, 0, table, -1, sql, params, np, NULL, NULL, NULL);
		if (rv == 0)
			rv = pj_sq_exec(s, &c, 0, table, -1,
			    s->ops->last_id_sql, NULL, 0, pj_row_i64, id,
			    NULL);
		pj_conn_put(&c, s->slots[c.slot].conn == NULL);
		/* an autocommitted INSERT that lost a deadlock left nothing */
		if (rv == 0 || !c.retry
		    || attempt >= PJ_STORE_DEADLOCK_ATTEMPTS)
			return rv;
		deadlock_pause(attempt);
	}
}

int
pj_sq_txn(struct pj_store *s, pj_txn_fn body, void *arg)
{
	int rv = 0;
	for (int attempt = 1;; attempt++) {
		struct pj_conn c;
		if ((rv = pj_sq_begin(s, &c)) != 0)
			return rv;
		if ((rv = body(s, &c, arg)) == 0)
			return pj_sq_commit(s, &c);
		pj_sq_rollback(s, &c);
		if (!c.retry || attempt >= PJ_STORE_DEADLOCK_ATTEMPTS)
			return rv;
		deadlock_pause(attempt);
	}
}

int
pj_sq_begin(struct pj_store *s, struct pj_conn *c)
{
	int rv;
	c->retry = 0;
	if ((rv = pj_conn_get(s, c)) != 0)
		return rv;
	rv = pj_sq_exec(s, c, 0, "transaction", -1, s->ops->begin_sql, NULL, 0,
	    NULL, NULL, NULL);
	if (rv != 0)
		pj_conn_put(c, s->slots[c->slot].conn == NULL);
	return rv;
}

int
pj_sq_commit(struct pj_store *s, struct pj_conn *c)
{
	int rv = pj_sq_exec(
	    s, c, 0, "transaction", -1, "COMMIT", NULL, 0, NULL, NULL, NULL);
	if (rv != 0 && s->slots[c->slot].conn) {
		/* a failed COMMIT leaves nothing open that we want */
		pj_sq_exec(s, c, 0, "transaction", -1, "ROLLBACK", NULL, 0,
		    NULL, NULL, NULL);
	}
	pj_conn_put(c, s->slots[c->slot].conn == NULL);
	return rv;
}

void
pj_sq_rollback(struct pj_store *s, struct pj_conn *c)
{
	if (s->slots[c->slot].conn) {
		/* keep the caller's error message: save and restore it */
		char saved[PJ_STORE_ERRLEN];
		memcpy(saved, err_buf, sizeof(saved));
		const struct pj_store *saved_s = err_store;
		if (pj_sq_exec(s, c, 0, "transaction", -1, "ROLLBACK", NULL, 0,
		        NULL, NULL, NULL)
		        != 0
		    && s->slots[c->slot].conn) {
			s->ops->conn_close(s->slots[c->slot].conn);
			s->slots[c->slot].conn = NULL;
		}
		memcpy(err_buf, saved, sizeof(saved));
		err_store = saved_s;
	}
	pj_conn_put(c, s->slots[c->slot].conn == NULL);
}

int
pj_row_i64(void *arg, const struct pj_val *cols, int ncols)
{
	if (ncols > 0)
		*(int64_t *) arg = pj_c_i64(&cols[0]);
	return 0;
}

struct pj_val
pj_p_text(const char *v)
{
	struct pj_val p = { .type = PJ_VAL_TEXT };
	p.s             = v ? v : "";
	p.len           = strlen(p.s);
	return p;
}

char *
pj_c_str(const struct pj_val *c)
{
	if (c->type == PJ_VAL_TEXT)
		return ar_xstrndup(c->s, c->len);
	if (c->type == PJ_VAL_INT) {
		char b[32];
		snprintf(b, sizeof(b), "%lld", (long long) c->i);
		return ar_xstrdup(b);
	}
	return ar_xstrdup("");
}

/* ---- SQL text and parameter builders
 * ---------------------------------------- */

void
pj_sql_add(struct pj_sql *q, const char *frag)
{
	size_t n = strlen(frag);
	if (q->n + n + 1 > q->cap) {
		q->cap = (q->n + n + 1) * 2;
		q->b   = ar_xrealloc(q->b, q->cap);
	}
	memcpy(q->b + q->n, frag, n + 1);
	q->n += n;
}

void
pj_sql_addf(struct pj_sql *q, const char *fmt, ...)
{
	char    buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pj_sql_add(q, buf);
}

void
pj_sql_from(
    struct pj_sql *q, struct pj_store *s, const char *table, const char *index)
{
	pj_sql_addf(q, " FROM %s", table);
	if (index)
		pj_sql_addf(q, s->ops->index_hint, index);
}

void
pj_sql_marks(struct pj_sql *q, size_t n)
{
	pj_sql_add(q, "(");
	for (size_t i = 0; i < n; i++)
		pj_sql_add(q, i ? ",?" : "?");
	pj_sql_add(q, ")");
}

size_t
pj_pad_pow2(size_t m)
{
	size_t marks = 1;
	while (marks < m)
		marks *= 2;
	return marks;
}

void
pj_sql_ids_padded(
    struct pj_sql *q, struct pj_params *pp, const int64_t *ids, size_t m)
{
	size_t marks = pj_pad_pow2(m);
	pj_sql_marks(q, marks);
	for (size_t k = 0; k < marks; k++)
		pj_params_add(pp, pj_p_int(ids[k < m ? k : m - 1]));
}

int
pj_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return x < y ? -1 : x > y;
}

void
pj_sql_fini(struct pj_sql *q)
{
	free(q->b);
	memset(q, 0, sizeof(*q));
}

void
pj_params_add(struct pj_params *p, struct pj_val v)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->v   = ar_xrealloc(p->v, sizeof(*p->v) * (size_t) p->cap);
	}
	p->v[p->n++] = v;
}

void
pj_params_fini(struct pj_params *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}
