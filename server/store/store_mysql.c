/*
 * server/store_mysql.c - the MySQL/MariaDB backend of struct pj_store_ops
 * (libmysqlclient / MariaDB Connector/C, binary protocol only).
 *
 * Design notes
 * ------------
 * PowerJob talks to MySQL through JDBC + Hikari; here each pooled
 * connection is one MYSQL handle with its own LRU cache of prepared
 * statements keyed by SQL text (the protocol's COM_STMT_PREPARE is done
 * once per connection and shape). Every user value is bound; no statement
 * text ever holds user text.
 * Connection options: utf8mb4, a strict sql_mode set on every session
 * (MY_SESSION_SQL), CLIENT_FOUND_ROWS (affected rows = matched
 * rows, as on SQLite, so a conditional update that rewrites the same value
 * still counts), client-side auto-reconnect OFF (it would silently drop
 * prepared statements; the pool reconnects instead), connect/read/write
 * timeouts so a dead server cannot hang a caller forever.
 * Liveness: an idle connection never has bytes to read, so a socket that
 * polls readable (or hung up) means the server closed it (restart, kill,
 * wait_timeout); the pool then replaces it before sending anything.
 * Errors: 1062 (duplicate key) -> PJ_STORE_EDUP; client errors 2006/2013
 * and server shutdown/kill codes -> PJ_STORE_ECONN with *sent set when
 * the statement may have reached the server; a lost deadlock (1213) ->
 * PJ_STORE_XRETRY (store.c runs the statement or transaction again).
 * Threads: mysql_library_init runs once (pthread_once) before any thread
 * opens a connection; a connection is used by one thread at a time.
 * OOM policy: ar_xmalloc aborts.
 */
#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/store_impl.h"

#define MY_STMT_CACHE 48
#define MY_CONNECT_TIMEOUT_S 5
#define MY_IO_TIMEOUT_S 60
#define MY_DEFAULT_PORT 3306
#define MY_MAX_COLS 64
/* every session strict, whatever the server's global sql_mode: a value
 * that does not fit fails instead of being truncated or rewritten (the
 * store checks its limits first; this is the second line).
 * max_length_for_sort_data: a sort of rows up to 4 KiB (the status
 * checks' columns, task_tracker_address alone is 1,020 bytes) keeps the
 * columns in the sort buffer; at the default 1,024 MariaDB sorts row ids
 * and reads every row twice (the RUNNING check of 1,000 rows: 6,050
 * pages and 5.8 ms against 3,030 and 4.0 ms, ANALYZE at 10,000,000 rows) */
#define MY_SESSION_SQL                                                        \
	"SET SESSION sql_mode = "                                             \
	"'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,"                      \
	"NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION', "              \
	"max_length_for_sort_data = 4096"

struct my_stmt {
	char       *sql;
	MYSQL_STMT *st;
	uint64_t    used;
};

struct my_conn {
	MYSQL         *db;
	struct my_stmt cache[MY_STMT_CACHE];
	uint64_t       tick;
};

static pthread_once_t my_once = PTHREAD_ONCE_INIT;

static void
my_init(void)
{
	mysql_library_init(0, NULL, NULL);
}

static int
is_conn_error(unsigned e)
{
	switch (e) {
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_LOST_EXTENDED:
	case CR_COMMANDS_OUT_OF_SYNC:
	case ER_SERVER_SHUTDOWN:
	case ER_CONNECTION_KILLED:
	case ER_NET_READ_ERROR:
	case ER_NET_ERROR_ON_WRITE:
	case 4031: /* ER_CLIENT_INTERACTION_TIMEOUT */
		return 1;
	}
	return 0;
}

static int
classify(unsigned e)
{
	if (e == ER_DUP_ENTRY || e == ER_DUP_KEY
	    || e == ER_DUP_ENTRY_WITH_KEY_NAME)
		return PJ_STORE_EDUP;
	if (is_conn_error(e))
		return PJ_STORE_ECONN;
	/* a lost deadlock rolled the whole transaction back; a lock wait
	 * timeout (1205) did not, and already waited innodb_lock_wait_timeout,
	 * so it stays an error */
	if (e == ER_LOCK_DEADLOCK)
		return PJ_STORE_XRETRY;
	return PJ_STORE_EBACKEND;
}

static void
my_close(void *p)
{
	struct my_conn *c = p;
	for (int i = 0; i < MY_STMT_CACHE; i++) {
		if (c->cache[i].st)
			mysql_stmt_close(c->cache[i].st);
		free(c->cache[i].sql);
	}
	if (c->db)
		mysql_close(c->db);
	free(c);
}

static int
my_open(const struct pj_store_url *u, void **out, char *err, size_t errlen)
{
	struct my_conn *c  = ar_xcalloc(1, sizeof(*c));
	unsigned        ct = MY_CONNECT_TIMEOUT_S, io = MY_IO_TIMEOUT_S;
	my_bool         off = 0;
	int             rv;

	pthread_once(&my_once, my_init);
	if ((c->db = mysql_init(NULL)) == NULL)
		abort(); /* OOM policy */
	mysql_options(c->db, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(c->db, MYSQL_OPT_READ_TIMEOUT, &io);
	mysql_options(c->db, MYSQL_OPT_WRITE_TIMEOUT, &io);
	mysql_options(c->db, MYSQL_OPT_RECONNECT, &off);
	mysql_options(c->db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(c->db, MYSQL_INIT_COMMAND, MY_SESSION_SQL);
	if (u->socket) {
		unsigned proto = MYSQL_PROTOCOL_SOCKET;
		mysql_options(c->db, MYSQL_OPT_PROTOCOL, &proto);
	}
	if (!mysql_real_connect(c->db, u->socket ? "localhost" : u->host,
	        u->user, u->pass, u->db,
	        (unsigned) (u->port ? u->port : MY_DEFAULT_PORT), u->socket,
	        CLIENT_FOUND_ROWS)) {
		unsigned e = mysql_errno(c->db);
		snprintf(err, errlen, "connect to %s%s%s db '%s' as '%s': %s",
		    u->socket ? "socket " : "",
		    u->socket ? u->socket : u->host, "", u->db,
		    u->user ? u->user : "", mysql_error(c->db));
		/* a refused/unreachable server may come back; bad credentials
		 * or an unknown database will not */
		rv = (e == CR_CONNECTION_ERROR || e == CR_CONN_HOST_ERROR
		         || e == CR_SERVER_LOST || e == CR_SERVER_GONE_ERROR
		         || e == ER_SERVER_SHUTDOWN)
		    ? PJ_STORE_ECONN
		    : PJ_STORE_EBACKEND;
		my_close(c);
		return rv;
	}
	*out = c;
	return 0;
}

static int
my_alive(void *p)
{
	struct my_conn *c  = p;
	struct pollfd   pf = { .fd = (int) mysql_get_socket(c->db),
		  .events          = POLLIN | POLLRDHUP };
	if (pf.fd < 0)
		return 0;
	/* idle connections have nothing to read: readable = closed */
	return poll(&pf, 1, 0) == 0;
}

static MYSQL_STMT *
my_prepare(struct my_conn *c, const char *sql, unsigned *eno, char *err,
    size_t errlen)
{
	int victim = 0;
	c->tick++;
	for (int i = 0; i < MY_STMT_CACHE; i++) {
		if (c->cache[i].sql && strcmp(c->cache[i].sql, sql) == 0) {
			c->cache[i].used = c->tick;
			return c->cache[i].st;
		}
		if (c->cache[i].used < c->cache[victim].used)
			victim = i;
	}
	MYSQL_STMT *st = mysql_stmt_init(c->db);
	if (st == NULL)
		abort(); /* OOM policy */
	my_bool on = 1;  /* max_length after store_result sizes buffers */
	mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		*eno = mysql_stmt_errno(st);
		snprintf(err, errlen, "%s", mysql_stmt_error(st));
		mysql_stmt_close(st);
		return NULL;
	}
	struct my_stmt *e = &c->cache[victim];
	if (e->st)
		mysql_stmt_close(e->st);
	free(e->sql);
	e->sql  = ar_xstrdup(sql);
	e->st   = st;
	e->used = c->tick;
	return st;
}

/* drops a cached statement after an error so it is prepared afresh */
static void
my_forget(struct my_conn *c, MYSQL_STMT *st)
{
	for (int i = 0; i < MY_STMT_CACHE; i++)
		if (c->cache[i].st == st) {
			mysql_stmt_close(st);
			free(c->cache[i].sql);
			memset(&c->cache[i], 0, sizeof(c->cache[i]));
		}
}

static int
is_int_type(enum enum_field_types t)
{
	return t == MYSQL_TYPE_TINY || t == MYSQL_TYPE_SHORT
	    || t == MYSQL_TYPE_LONG || t == MYSQL_TYPE_LONGLONG
	    || t == MYSQL_TYPE_INT24 || t == MYSQL_TYPE_YEAR
	    || t == MYSQL_TYPE_BIT;
}

static int
is_dbl_type(enum enum_field_types t)
{
	return t == MYSQL_TYPE_FLOAT || t == MYSQL_TYPE_DOUBLE
	    || t == MYSQL_TYPE_DECIMAL || t == MYSQL_TYPE_NEWDECIMAL;
}

static int
fetch_rows(MYSQL_STMT *st, MYSQL_RES *meta, pj_row_fn fn, void *arg,
    unsigned *eno, char *err, size_t errlen)
{
	unsigned      n = mysql_num_fields(meta);
	MYSQL_FIELD  *f = mysql_fetch_fields(meta);
	MYSQL_BIND    b[MY_MAX_COLS];
	unsigned long len[MY_MAX_COLS];
	my_bool       isnull[MY_MAX_COLS];
	int64_t       iv[MY_MAX_COLS];
	double        dv[MY_MAX_COLS];
	char         *sv[MY_MAX_COLS];
	struct pj_val cols[MY_MAX_COLS];
	int           rv = 0, code;

	if (n > MY_MAX_COLS) {
		snprintf(err, errlen, "result has %u columns (max %d)", n,
		    MY_MAX_COLS);
		return PJ_STORE_EBACKEND;
	}
	if (mysql_stmt_store_result(st) != 0) {
		*eno = mysql_stmt_errno(st);
		snprintf(err, errlen, "%s", mysql_stmt_error(st));
		return classify(*eno);
	}
	memset(b, 0, sizeof(b));
	memset(sv, 0, sizeof(sv));
	for (unsigned i = 0; i < n; i++) {
		b[i].is_null = &isnull[i];
		b[i].length  = &len[i];
		if (is_int_type(f[i].type)) {
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer      = &iv[i];
			b[i].is_unsigned = 0;
		} else if (is_dbl_type(f[i].type)) {
			b[i].buffer_type = MYSQL_TYPE_DOUBLE;
			b[i].buffer      = &dv[i];
		} else {
			/* max_length is known after store_result */
			b[i].buffer_type   = MYSQL_TYPE_STRING;
			b[i].buffer_length = f[i].max_length + 1;
			sv[i]              = ar_xmalloc(b[i].buffer_length);
			b[i].buffer        = sv[i];
		}
	}
	if (mysql_stmt_bind_result(st, b) != 0) {
		*eno = mysql_stmt_errno(st);
		snprintf(err, errlen, "%s", mysql_stmt_error(st));
		rv = PJ_STORE_EBACKEND;
		goto done;
	}
	while ((code = mysql_stmt_fetch(st)) == 0
	    || code == MYSQL_DATA_TRUNCATED) {
		if (code == MYSQL_DATA_TRUNCATED) {
			snprintf(err, errlen, "result column truncated");
			rv = PJ_STORE_EBACKEND;
			goto done;
		}
		for (unsigned i = 0; i < n; i++) {
			struct pj_val *v = &cols[i];
			memset(v, 0, sizeof(*v));
			if (isnull[i]) {
				v->type = PJ_VAL_NULL;
			} else if (b[i].buffer_type == MYSQL_TYPE_LONGLONG) {
				v->type = PJ_VAL_INT;
				v->i    = iv[i];
			} else if (b[i].buffer_type == MYSQL_TYPE_DOUBLE) {
				v->type = PJ_VAL_DBL;
				v->d    = dv[i];
			} else {
				v->type       = PJ_VAL_TEXT;
				v->s          = sv[i];
				v->len        = len[i];
				sv[i][len[i]] = 0;
			}
		}
		if (fn && (rv = fn(arg, cols, (int) n)) != 0)
			goto done;
	}
	if (code != MYSQL_NO_DATA) {
		*eno = mysql_stmt_errno(st);
		snprintf(err, errlen, "%s", mysql_stmt_error(st));
		rv = classify(*eno);
	}
done:
	mysql_stmt_free_result(st);
	for (unsigned i = 0; i < n; i++)
		free(sv[i]);
	return rv;
}

static int
my_exec(void *p, const char *sql, const struct pj_val *params, int np,
    pj_row_fn fn, void *arg, int64_t *affected, int *sent, char *err,
    size_t errlen)
{
	struct my_conn *c    = p;
	unsigned        eno  = 0;
	MYSQL_BIND     *b    = NULL;
	unsigned long  *lens = NULL;
	int             rv   = 0;

	*sent          = 0;
	MYSQL_STMT *st = my_prepare(c, sql, &eno, err, errlen);
	if (st == NULL)
		return classify(eno);
	if (np > 0) {
		b    = ar_xcalloc((size_t) np, sizeof(*b));
		lens = ar_xcalloc((size_t) np, sizeof(*lens));
		for (int i = 0; i < np; i++) {
			const struct pj_val *v = &params[i];
			switch (v->type) {
			case PJ_VAL_INT:
				b[i].buffer_type = MYSQL_TYPE_LONGLONG;
				b[i].buffer      = (void *) &v->i;
				break;
			case PJ_VAL_DBL:
				b[i].buffer_type = MYSQL_TYPE_DOUBLE;
				b[i].buffer      = (void *) &v->d;
				break;
			case PJ_VAL_TEXT:
				b[i].buffer_type   = MYSQL_TYPE_STRING;
				b[i].buffer        = (void *) v->s;
				b[i].buffer_length = v->len;
				lens[i]            = v->len;
				b[i].length        = &lens[i];
				break;
			default:
				b[i].buffer_type = MYSQL_TYPE_NULL;
			}
		}
		if (mysql_stmt_bind_param(st, b) != 0) {
			eno = mysql_stmt_errno(st);
			snprintf(
			    err, errlen, "bind: %s", mysql_stmt_error(st));
			rv = classify(eno);
			goto done;
		}
	}
	*sent = 1;
	if (mysql_stmt_execute(st) != 0) {
		eno = mysql_stmt_errno(st);
		snprintf(err, errlen, "%s", mysql_stmt_error(st));
		rv = classify(eno);
		goto done;
	}
	MYSQL_RES *meta = mysql_stmt_result_metadata(st);
	if (meta) {
		rv = fetch_rows(st, meta, fn, arg, &eno, err, errlen);
		mysql_free_result(meta);
		if (rv != 0)
			goto done;
	}
	*affected = (int64_t) mysql_stmt_affected_rows(st);
done:
	free(b);
	free(lens);
	if (rv == PJ_STORE_ECONN
	    || (rv == PJ_STORE_EBACKEND && eno != 0 && eno >= CR_MIN_ERROR))
		my_forget(c, st);
	return rv;
}

const struct pj_store_ops pj_store_mysql_ops = {
	.name       = "mysql",
	.conn_open  = my_open,
	.conn_close = my_close,
	.conn_alive = my_alive,
	.exec       = my_exec,
	.begin_sql  = "START TRANSACTION",
	.has_schema_sql
	= "SELECT COUNT(*) FROM information_schema.tables WHERE "
	  "table_schema = DATABASE() AND table_name = 'schema_version'",
	.last_id_sql = "SELECT LAST_INSERT_ID()",
	.index_hint  = " FORCE INDEX (%s)",
};
