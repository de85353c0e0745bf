/*
 * server/store_sqlite.c - the SQLite backend of struct pj_store_ops.
 *
 * Design notes
 * ------------
 * PowerJob has no SQLite store (its embedded default is H2); this is the
 * one-file embedded default. Every connection opens the same file in WAL
 * mode with synchronous=NORMAL (a commit is durable across a process crash,
 * and across power loss up to the last checkpoint - the trade SQLite
 * documents for WAL), a busy timeout so concurrent writers wait instead of
 * failing, foreign keys off (the server keeps references itself), and
 * case_sensitive_like so LIKE behaves like MySQL's utf8mb4_bin.
 * Prepared statements are kept per connection in a small LRU cache keyed by
 * the SQL text (prepared once, reset and rebound per call).
 * Opening checks first that this process can write the file and the
 * -wal/-shm files beside it (or create them), so a read-only file or
 * folder is reported at open, naming what is not writable, instead of at
 * the first write.
 * Threads: a connection is used by one thread at a time (the pool hands it
 * out); SQLite runs in its default serialized mode anyway.
 * OOM policy: ar_xmalloc aborts.
 */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/store/store_impl.h"

#define SQLITE_BUSY_TIMEOUT_MS 10000
#define SQLITE_STMT_CACHE 48

struct sl_stmt {
	char         *sql;
	sqlite3_stmt *st;
	uint64_t      used;
};

struct sl_conn {
	sqlite3       *db;
	struct sl_stmt cache[SQLITE_STMT_CACHE];
	uint64_t       tick;
};

static void
sl_close(void *p)
{
	struct sl_conn *c = p;
	for (int i = 0; i < SQLITE_STMT_CACHE; i++) {
		if (c->cache[i].st)
			sqlite3_finalize(c->cache[i].st);
		free(c->cache[i].sql);
	}
	sqlite3_close(c->db);
	free(c);
}

/* Says at open what would make the first write fail: the database file,
 * or the -wal and -shm files that WAL mode keeps beside it, not writable
 * by this process (effective ids, as the kernel checks them), or a
 * directory where they cannot be created. 0 or PJ_STORE_EBACKEND. */
static int
sl_check_files(const char *path, char *err, size_t errlen)
{
	static const char *const side[] = { "-wal", "-shm" };
	char                     dir[PATH_MAX], f[PATH_MAX + 8];
	const char              *slash = strrchr(path, '/');
	struct stat              st;
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int) (slash - path), path);
	int dir_ok  = euidaccess(dir, W_OK | X_OK) == 0;
	int dir_err = dir_ok ? 0 : errno;
	if (stat(path, &st) != 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "cannot open '%s': %s", path,
			    strerror(errno));
			return PJ_STORE_EBACKEND;
		}
		if (!dir_ok) {
			snprintf(err, errlen,
			    "cannot create '%s': directory '%s' is not "
			    "writable by this process (uid %d): %s",
			    path, dir, (int) geteuid(), strerror(dir_err));
			return PJ_STORE_EBACKEND;
		}
		return 0;
	}
	if (euidaccess(path, R_OK | W_OK) != 0) {
		snprintf(err, errlen,
		    "'%s' is not writable by this process (uid %d; the file "
		    "belongs to uid %d, mode %03o): the store writes to it",
		    path, (int) geteuid(), (int) st.st_uid,
		    (unsigned) (st.st_mode & 0777));
		return PJ_STORE_EBACKEND;
	}
	for (size_t i = 0; i < 2; i++) {
		snprintf(f, sizeof(f), "%s%s", path, side[i]);
		if (stat(f, &st) == 0) {
			if (euidaccess(f, R_OK | W_OK) == 0)
				continue;
			snprintf(err, errlen,
			    "'%s' (SQLite's WAL file beside the database) is "
			    "not writable by this process (uid %d; it belongs "
			    "to uid %d)",
			    f, (int) geteuid(), (int) st.st_uid);
			return PJ_STORE_EBACKEND;
		}
		if (!dir_ok) {
			snprintf(err, errlen,
			    "directory '%s' is not writable by this process "
			    "(uid %d: %s): SQLite's WAL mode creates '%s-wal' "
			    "and '%s-shm' beside the database",
			    dir, (int) geteuid(), strerror(dir_err), path,
			    path);
			return PJ_STORE_EBACKEND;
		}
	}
	return 0;
}

static int
sl_open(const struct pj_store_url *u, void **out, char *err, size_t errlen)
{
	static const char *pragmas[] = {
		"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
		"PRAGMA foreign_keys=OFF", "PRAGMA case_sensitive_like=ON",
		/* checkpoint (and fsync) every ~40 MB of WAL instead of ~4 MB:
		 * status transitions touch several index pages each */
		"PRAGMA wal_autocheckpoint=10000",
	};
	struct sl_conn *c = ar_xcalloc(1, sizeof(*c));
	int             rv;

	if (sl_check_files(u->path, err, errlen) != 0)
		goto fail;
	rv = sqlite3_open_v2(u->path, &c->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rv != SQLITE_OK) {
		snprintf(err, errlen, "cannot open '%s': %s", u->path,
		    c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rv));
		goto fail;
	}
	if (sqlite3_db_readonly(c->db, "main") == 1) {
		snprintf(err, errlen,
		    "'%s' opened read-only (read-only file system?): the "
		    "store writes to it",
		    u->path);
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, SQLITE_BUSY_TIMEOUT_MS);
	for (size_t i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
		char *msg = NULL;
		if (sqlite3_exec(c->db, pragmas[i], NULL, NULL, &msg)
		    != SQLITE_OK) {
			snprintf(err, errlen, "'%s' on '%s': %s", pragmas[i],
			    u->path, msg ? msg : sqlite3_errmsg(c->db));
			sqlite3_free(msg);
			goto fail;
		}
	}
	/* the page cache: cache_mb per connection (URL option, default 2),
	 * so the pool's share of RSS is pool x cache_mb at most */
	char cache[64];
	snprintf(cache, sizeof(cache), "PRAGMA cache_size=-%d",
	    (u->cache_mb > 0 ? u->cache_mb : 2) * 1024);
	if (sqlite3_exec(c->db, cache, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "'%s' on '%s': %s", cache, u->path,
		    sqlite3_errmsg(c->db));
		goto fail;
	}
	*out = c;
	return 0;
fail:
	sl_close(c);
	return PJ_STORE_EBACKEND;
}

static int
sl_alive(void *p)
{
	(void) p;
	return 1;
}

static sqlite3_stmt *
sl_prepare(struct sl_conn *c, const char *sql, char *err, size_t errlen)
{
	int victim = 0;
	c->tick++;
	for (int i = 0; i < SQLITE_STMT_CACHE; i++) {
		if (c->cache[i].sql && strcmp(c->cache[i].sql, sql) == 0) {
			c->cache[i].used = c->tick;
			return c->cache[i].st;
		}
		if (c->cache[i].used < c->cache[victim].used)
			victim = i;
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(
	        c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL)
	    != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(c->db));
		return NULL;
	}
	struct sl_stmt *e = &c->cache[victim];
	if (e->st)
		sqlite3_finalize(e->st);
	free(e->sql);
	e->sql  = ar_xstrdup(sql);
	e->st   = st;
	e->used = c->tick;
	return st;
}

static int
classify(int code)
{
	switch (code) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return PJ_STORE_EDUP;
	default:
		return PJ_STORE_EBACKEND;
	}
}

static int
sl_exec(void *p, const char *sql, const struct pj_val *params, int np,
    pj_row_fn fn, void *arg, int64_t *affected, int *sent, char *err,
    size_t errlen)
{
	struct sl_conn *c  = p;
	sqlite3_stmt   *st = sl_prepare(c, sql, err, errlen);
	int             rv = 0, code;
	struct pj_val   cols[64];

	*sent = 0;
	if (st == NULL)
		return PJ_STORE_EBACKEND;
	for (int i = 0; i < np; i++) {
		const struct pj_val *v = &params[i];
		switch (v->type) {
		case PJ_VAL_INT:
			code = sqlite3_bind_int64(st, i + 1, v->i);
			break;
		case PJ_VAL_DBL:
			code = sqlite3_bind_double(st, i + 1, v->d);
			break;
		case PJ_VAL_TEXT:
			code = sqlite3_bind_text(
			    st, i + 1, v->s, (int) v->len, SQLITE_STATIC);
			break;
		default:
			code = sqlite3_bind_null(st, i + 1);
		}
		if (code != SQLITE_OK) {
			snprintf(err, errlen, "bind %d: %s", i + 1,
			    sqlite3_errmsg(c->db));
			rv = PJ_STORE_EBACKEND;
			goto done;
		}
	}
	*sent = 1;
	while ((code = sqlite3_step(st)) == SQLITE_ROW) {
		int n = sqlite3_column_count(st);
		if (n > 64)
			n = 64;
		for (int i = 0; i < n; i++) {
			struct pj_val *v = &cols[i];
			memset(v, 0, sizeof(*v));
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_INTEGER:
				v->type = PJ_VAL_INT;
				v->i    = sqlite3_column_int64(st, i);
				break;
			case SQLITE_FLOAT:
				v->type = PJ_VAL_DBL;
				v->d    = sqlite3_column_double(st, i);
				break;
			case SQLITE_NULL:
				v->type = PJ_VAL_NULL;
				break;
			default:
				v->type = PJ_VAL_TEXT;
				v->s    = (const char *) sqlite3_column_text(
				       st, i);
				v->len = (size_t) sqlite3_column_bytes(st, i);
				if (v->s == NULL)
					v->s = "";
			}
		}
		if (fn && (rv = fn(arg, cols, n)) != 0)
			goto done;
	}
	if (code != SQLITE_DONE) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(c->db));
		rv = classify(sqlite3_extended_errcode(c->db));
		goto done;
	}
	*affected = sqlite3_changes64(c->db);
done:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rv;
}

const struct pj_store_ops pj_store_sqlite_ops = {
	.name       = "sqlite",
	.conn_open  = sl_open,
	.conn_close = sl_close,
	.conn_alive = sl_alive,
	.exec       = sl_exec,
	.begin_sql  = "BEGIN IMMEDIATE",
	.has_schema_sql
	= "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' "
	  "AND name = 'schema_version'",
	.last_id_sql = "SELECT last_insert_rowid()",
	.index_hint  = " INDEXED BY %s",
};
