/*
 * server/store.c - store handle: URL parsing, the connection pool, the one
 * statement runner (retry after a lost connection), per-thread error text.
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
#define PJ_STORE_POOL_DEFAULT 4

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

/* ---- URL ---------------------------------------------------------------- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* percent-decodes [p, p+n) into a new string; NULL on a bad escape */
static char *
pct_decode(const char *p, size_t n)
{
	char  *o = ar_xmalloc(n + 1);
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '%') {
			int h, l;
			if (i + 2 >= n + 0 || (h = hexval(p[i + 1])) < 0
			    || (l = hexval(p[i + 2])) < 0
			    || (h == 0 && l == 0)) {
				free(o);
				return NULL;
			}
			o[j++] = (char) (h * 16 + l);
			i += 2;
		} else {
			o[j++] = p[i];
		}
	}
	o[j] = 0;
	return o;
}

void
pj_store_url_fini(struct pj_store_url *u)
{
	free(u->backend);
	free(u->path);
	free(u->user);
	free(u->pass);
	free(u->host);
	free(u->db);
	free(u->socket);
	memset(u, 0, sizeof(*u));
}

void
pj_store_url_redact(const char *url, char *out, size_t n)
{
	/* The password runs from the first ':' after "mysql://" to the last
	 * '@' of the whole URL: that covers passwords holding an unencoded
	 * '/', '?', ':' or '@' (which the parser then misreads), at the cost
	 * of hiding more than the password when a socket path holds an '@'.
	 * Never printing it matters more. */
	const char *at, *colon;
	snprintf(out, n, "%s", url ? url : "");
	if (url == NULL || strncmp(url, "mysql://", 8) != 0
	    || (at = strrchr(url, '@')) == NULL)
		return;
	colon = memchr(url + 8, ':', (size_t) (at - (url + 8)));
	if (colon == NULL)
		return;
	snprintf(out, n, "%.*s***%s", (int) (colon + 1 - url), url, at);
}

/* "1".."65535", digits only (no sign, no spaces); -1 otherwise */
static int
parse_port(const char *p, const char *end)
{
	long v = 0;
	if (p == end || end - p > 5)
		return -1;
	for (const char *x = p; x < end; x++) {
		if (*x < '0' || *x > '9')
			return -1;
		v = v * 10 + (*x - '0');
	}
	return v >= 1 && v <= 65535 ? (int) v : -1;
}

static int
parse_query(struct pj_store_url *u, const char *q, const char *shown,
    char *err, size_t errlen)
{
	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t      n   = amp ? (size_t) (amp - q) : strlen(q);
		const char *eq  = memchr(q, '=', n);
		if (eq == NULL) {
			snprintf(err, errlen,
			    "'%s': a URL option has no '=' (a password "
			    "holding '/', '?', '@' or ':' must be "
			    "%%-encoded)",
			    shown);
			return PJ_STORE_EINVAL;
		}
		size_t kn = (size_t) (eq - q);
		char  *v  = pct_decode(eq + 1, n - kn - 1);
		if (v == NULL) {
			snprintf(err, errlen,
			    "'%s': bad %%-escape in a URL option", shown);
			return PJ_STORE_EINVAL;
		}
		if (kn == 6 && strncmp(q, "socket", 6) == 0) {
			free(u->socket);
			u->socket = v;
			if (strcmp(u->backend, "mysql") != 0 || v[0] == 0) {
				snprintf(err, errlen,
				    "'%s': socket= needs a path and is a "
				    "mysql:// option",
				    shown);
				return PJ_STORE_EINVAL;
			}
		} else if (kn == 4 && strncmp(q, "pool", 4) == 0) {
			char *end;
			long  p   = strtol(v, &end, 10);
			int   bad = *end != 0 || end == v || v[0] < '0'
			    || v[0] > '9';
			free(v);
			if (bad || p < 1 || p > PJ_STORE_POOL_MAX) {
				snprintf(err, errlen,
				    "'%s': URL option pool must be 1..%d",
				    shown, PJ_STORE_POOL_MAX);
				return PJ_STORE_EINVAL;
			}
			u->pool = (int) p;
		} else {
			free(v);
			snprintf(err, errlen,
			    "'%s': unknown URL option (known: socket, pool)",
			    shown);
			return PJ_STORE_EINVAL;
		}
		q = amp ? amp + 1 : NULL;
	}
	return 0;
}

/* sqlite:// paths SQLite would not treat as one shared file */
static int
sqlite_path_ok(const char *path)
{
	return path[0] != 0 && strcmp(path, ":memory:") != 0
	    && strncmp(path, "file:", 5) != 0;
}

int
pj_store_url_parse(
    const char *url, struct pj_store_url *u, char *err, size_t errlen)
{
	static const char usage[]
	    = "expected sqlite:///path/file.db or "
	      "mysql://user:pass@host:port/db[?socket=/path]";
	char shown[PJ_STORE_ERRLEN];
	memset(u, 0, sizeof(*u));
	u->pool = PJ_STORE_POOL_DEFAULT;
	if (url == NULL || *url == 0) {
		snprintf(err, errlen, "empty database URL; %s", usage);
		return PJ_STORE_EINVAL;
	}
	pj_store_url_redact(url, shown, sizeof(shown));
	const char *q       = strchr(url, '?');
	size_t      mainlen = q ? (size_t) (q - url) : strlen(url);
	if (strncmp(url, "sqlite://", 9) == 0) {
		u->backend = ar_xstrdup("sqlite");
		u->path    = pct_decode(url + 9, mainlen - 9);
		if (u->path == NULL) {
			snprintf(err, errlen, "'%s': bad %%-escape", shown);
			goto fail;
		}
		if (!sqlite_path_ok(u->path)) {
			snprintf(err, errlen,
			    "'%s' names no database file (':memory:' and "
			    "'file:' URIs are refused: every pooled "
			    "connection would get its own database); %s",
			    shown, usage);
			goto fail;
		}
	} else if (strncmp(url, "mysql://", 8) == 0) {
		u->backend        = ar_xstrdup("mysql");
		const char *p     = url + 8;
		const char *end   = url + mainlen;
		const char *slash = memchr(p, '/', (size_t) (end - p));
		const char *hend  = slash ? slash : end;
		const char *at    = NULL;
		for (const char *x = p; x < hend; x++)
			if (*x == '@')
				at = x;
		if (at) {
			const char *colon = memchr(p, ':', (size_t) (at - p));
			u->user           = pct_decode(
			              p, (size_t) ((colon ? colon : at) - p));
			if (colon)
				u->pass = pct_decode(
				    colon + 1, (size_t) (at - colon - 1));
			if (u->user == NULL || (colon && u->pass == NULL)) {
				snprintf(err, errlen,
				    "'%s': bad %%-escape in the user or "
				    "password",
				    shown);
				goto fail;
			}
			p = at + 1;
		}
		if (u->user == NULL || u->user[0] == 0) {
			/* the client library would log in as the OS user */
			snprintf(err, errlen, "'%s' names no user; %s", shown,
			    usage);
			goto fail;
		}
		const char *colon;
		if (*p == '[') { /* [IPv6 literal] */
			const char *rb = memchr(p, ']', (size_t) (hend - p));
			if (rb == NULL || (rb + 1 < hend && rb[1] != ':')) {
				snprintf(err, errlen,
				    "'%s': an IPv6 host is [address] or "
				    "[address]:port; %s",
				    shown, usage);
				goto fail;
			}
			u->host = ar_xstrndup(p + 1, (size_t) (rb - p - 1));
			colon   = rb + 1 < hend ? rb + 1 : NULL;
		} else {
			colon   = memchr(p, ':', (size_t) (hend - p));
			u->host = ar_xstrndup(
			    p, (size_t) ((colon ? colon : hend) - p));
		}
		if (colon && (u->port = parse_port(colon + 1, hend)) < 0) {
			snprintf(err, errlen,
			    "'%s': port must be 1..65535 (digits only); %s",
			    shown, usage);
			goto fail;
		}
		if (u->host[0] == 0) {
			snprintf(err, errlen, "'%s' names no host; %s", shown,
			    usage);
			goto fail;
		}
		if (slash)
			u->db = pct_decode(
			    slash + 1, (size_t) (end - slash - 1));
		else
			u->db = ar_xstrdup("");
		if (u->db == NULL) {
			snprintf(err, errlen, "'%s': bad %%-escape", shown);
			goto fail;
		}
		if (u->db[0] == 0) {
			snprintf(err, errlen,
			    "'%s' names no database "
			    "(mysql://user@host:port/DB)",
			    shown);
			goto fail;
		}
	} else {
		snprintf(err, errlen, "unknown database URL '%s'; %s", shown,
		    usage);
		goto fail;
	}
	if (q && parse_query(u, q + 1, shown, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	pj_store_url_fini(u);
	return PJ_STORE_EINVAL;
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
pj_sql_marks(struct pj_sql *q, size_t n)
{
	pj_sql_add(q, "(");
	for (size_t i = 0; i < n; i++)
		pj_sql_add(q, i ? ",?" : "?");
	pj_sql_add(q, ")");
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
