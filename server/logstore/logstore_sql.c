/*
 * server/logstore/logstore_sql.c - the log store on the SQL store's
 * local_instance_log table (SQLite or MySQL/MariaDB): the embedded default.
 *
 * Design notes: every statement goes through the store's runner
 * (server/store/store_impl.h), so the pool, reconnection, deadlock retries
 * and error text are the store's. Appends are multi-row INSERTs of at most
 * CHUNK_LINES lines / CHUNK_BYTES of text, in one transaction when a batch
 * needs several; a line whose (instance_id, seq) is already there is
 * skipped by the backend (SQLite ON CONFLICT DO NOTHING, MariaDB ON
 * DUPLICATE KEY UPDATE of nothing), and seq 0 is stored as NULL, which
 * never collides. Deletion by age reads ids of old lines in bounded
 * batches (log_time has no index of its own: the table's writes pay for
 * two indexes already, and the daily cleanup can afford a scan).
 * Threads: no state beyond the store handle, which is thread-safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/logstore/logstore.h"
#include "server/store/store_impl.h"

#define CHUNK_LINES 2000
#define CHUNK_BYTES (4u << 20)
#define DELETE_BATCH 5000
#define TABLE "local_instance_log"

struct sqlls {
	struct pj_store *s;
	const char      *dup_clause;
};

static int
code(int rv)
{
	switch (rv) {
	case 0:
		return 0;
	case PJ_STORE_EINVAL:
		return PJ_LOG_EINVAL;
	case PJ_STORE_ECONN:
		return PJ_LOG_EDOWN;
	default:
		return PJ_LOG_EBACKEND;
	}
}

static int
sfail(struct sqlls *q, int rv, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", pj_store_errmsg(q->s));
	return code(rv);
}

int
pj_logstore_sql_new(struct pj_store *sql, void **impl)
{
	struct sqlls *q = ar_xcalloc(1, sizeof(*q));
	q->s            = sql;
	q->dup_clause   = sql->ops == &pj_store_sqlite_ops
	      ? " ON CONFLICT DO NOTHING"
	      : " ON DUPLICATE KEY UPDATE seq = seq";
	*impl           = q;
	return 0;
}

static void
sql_close(void *impl)
{
	free(impl);
}

static int
check_line(struct sqlls *q, const struct pj_logline *l)
{
	struct pj_log_line x = { .content = (char *) l->content,
		.worker_address           = (char *) l->worker_address };
	return pj_check_log(q->s, &x);
}

static int
insert_chunk(
    struct sqlls *q, struct pj_conn *c, const struct pj_logline *v, size_t n)
{
	struct pj_sql    sql = { 0 };
	struct pj_params pp  = { 0 };
	unsigned         fl  = PJ_Q_SAFE;
	int              rv;
	pj_sql_add(&sql,
	    "INSERT INTO " TABLE " (instance_id, seq, log_time, log_level, "
	    "log_content, worker_address) VALUES ");
	for (size_t k = 0; k < n; k++) {
		if (k)
			pj_sql_add(&sql, ",");
		pj_sql_marks(&sql, 6);
		pj_params_add(&pp, pj_p_int(v[k].instance_id));
		pj_params_add(&pp, pj_p_int_or_null(v[k].seq));
		pj_params_add(&pp, pj_p_int(v[k].log_time));
		pj_params_add(&pp, pj_p_int(v[k].log_level));
		pj_params_add(&pp, pj_p_text(v[k].content));
		pj_params_add(&pp, pj_p_text(v[k].worker_address));
		if (v[k].seq == 0)
			fl = 0; /* unnumbered: a lost reply cannot be retried
			         */
	}
	pj_sql_add(&sql, q->dup_clause);
	rv = pj_sq_exec(q->s, c, fl, TABLE, v[0].instance_id, sql.b, pp.v,
	    pp.n, NULL, NULL, NULL);
	pj_sql_fini(&sql);
	pj_params_fini(&pp);
	return rv;
}

static size_t
chunk_len(const struct pj_logline *v, size_t k, size_t n)
{
	size_t m = 0, bytes = 0;
	for (; k + m < n && m < CHUNK_LINES; m++) {
		size_t b = pj_text_len(v[k + m].content)
		    + pj_text_len(v[k + m].worker_address);
		if (m > 0 && bytes + b > CHUNK_BYTES)
			break;
		bytes += b;
	}
	return m;
}

struct batch {
	struct sqlls            *q;
	const struct pj_logline *v;
	size_t                   n;
};

static int
batch_run(struct pj_store *s, struct pj_conn *c, void *arg)
{
	struct batch *b  = arg;
	int           rv = 0;
	(void) s;
	for (size_t k = 0, m; k < b->n && rv == 0; k += m) {
		m  = chunk_len(b->v, k, b->n);
		rv = insert_chunk(b->q, c, b->v + k, m);
	}
	return rv;
}

static int
sql_append(
    void *impl, const struct pj_logline *v, size_t n, char *err, size_t errlen)
{
	struct sqlls *q = impl;
	struct batch  b = { q, v, n };
	int           rv;
	for (size_t k = 0; k < n; k++)
		if ((rv = check_line(q, &v[k])) != 0)
			return sfail(q, rv, err, errlen);
	if (chunk_len(v, 0, n) == n)
		rv = insert_chunk(q, NULL, v, n);
	else
		rv = pj_sq_txn(q->s, batch_run, &b);
	return rv ? sfail(q, rv, err, errlen) : 0;
}

/* The statement of a read, naming its index (as the store's own
 * pj_store_logs_read does): with two indexes that start with instance_id,
 * MariaDB may pick the unique one and sort every line of the instance for
 * each page. */
static void
select_lines(struct sqlls *q, struct pj_sql *sql, const char *rest)
{
	pj_sql_add(sql,
	    "SELECT id, instance_id, log_time, log_level, "
	    "log_content, worker_address");
	pj_sql_from(sql, q->s, TABLE, "idx01_local_instance_log");
	pj_sql_add(sql, " WHERE instance_id = ? ");
	pj_sql_add(sql, rest);
}

static int
sql_read(void *impl, int64_t instance_id, int64_t after_time,
    int64_t after_key, int limit, struct pj_log_list *out, char *err,
    size_t errlen)
{
	struct sqlls *q = impl;
	/* "log_time >= ?" makes the index range start at the cursor; the OR
	 * alone made both backends walk the instance's lines from its first
	 * at every page (a 1 GiB download took minutes, not seconds) */
	struct pj_val p[5] = { pj_p_int(instance_id), pj_p_int(after_time),
		pj_p_int(after_time), pj_p_int(after_key), pj_p_int(limit) };
	struct pj_sql sql  = { 0 };
	select_lines(q, &sql,
	    "AND log_time >= ? AND (log_time > ? OR id > ?) ORDER BY "
	    "log_time, id LIMIT ?");
	int rv = pj_sq_exec(q->s, NULL, PJ_Q_SAFE, TABLE, instance_id, sql.b,
	    p, 5, pj_log_row, out, NULL);
	pj_sql_fini(&sql);
	if (rv != 0) {
		pj_log_list_fini(out);
		return sfail(q, rv, err, errlen);
	}
	return 0;
}

static int
sql_page(void *impl, int64_t instance_id, int64_t first, int limit,
    struct pj_log_list *out, char *err, size_t errlen)
{
	struct sqlls *q = impl;
	struct pj_val p[3]
	    = { pj_p_int(instance_id), pj_p_int(limit), pj_p_int(first) };
	struct pj_sql sql = { 0 };
	select_lines(q, &sql, "ORDER BY log_time, id LIMIT ? OFFSET ?");
	int rv = pj_sq_exec(q->s, NULL, PJ_Q_SAFE, TABLE, instance_id, sql.b,
	    p, 3, pj_log_row, out, NULL);
	pj_sql_fini(&sql);
	if (rv != 0) {
		pj_log_list_fini(out);
		return sfail(q, rv, err, errlen);
	}
	return 0;
}

static int
sql_count(
    void *impl, int64_t instance_id, int64_t *n, char *err, size_t errlen)
{
	struct sqlls *q = impl;
	struct pj_val p = pj_p_int(instance_id);
	int rv          = pj_sq_exec(q->s, NULL, PJ_Q_SAFE, TABLE, instance_id,
	             "SELECT COUNT(*) FROM " TABLE " WHERE instance_id = ?", &p, 1,
	             pj_row_i64, n, NULL);
	return rv ? sfail(q, rv, err, errlen) : 0;
}

static int
sql_delete_instance(void *impl, int64_t instance_id, int64_t *deleted,
    char *err, size_t errlen)
{
	struct sqlls *q = impl;
	struct pj_val p = pj_p_int(instance_id);
	int rv          = pj_sq_exec(q->s, NULL, PJ_Q_SAFE, TABLE, instance_id,
	             "DELETE FROM " TABLE " WHERE instance_id = ?", &p, 1, NULL, NULL,
	             deleted);
	return rv ? sfail(q, rv, err, errlen) : 0;
}

struct ids {
	int64_t *v;
	size_t   n;
};

static int
id_row(void *arg, const struct pj_val *c, int n)
{
	struct ids *l = arg;
	(void) n;
	l->v         = ar_xrealloc(l->v, sizeof(*l->v) * (l->n + 1));
	l->v[l->n++] = pj_c_i64(&c[0]);
	return 0;
}

static int
sql_delete_before(
    void *impl, int64_t before_ms, int64_t *deleted, char *err, size_t errlen)
{
	struct sqlls *q = impl;
	for (;;) {
		struct ids    l = { 0 };
		struct pj_val p[2]
		    = { pj_p_int(before_ms), pj_p_int(DELETE_BATCH) };
		int rv = pj_sq_exec(q->s, NULL, PJ_Q_SAFE, TABLE, -1,
		    "SELECT id FROM " TABLE " WHERE log_time < ? LIMIT ?", p,
		    2, id_row, &l, NULL);
		if (rv == 0 && l.n > 0) {
			struct pj_sql    sql = { 0 };
			struct pj_params pp  = { 0 };
			int64_t          n   = 0;
			pj_sql_add(&sql, "DELETE FROM " TABLE " WHERE id IN ");
			pj_sql_marks(&sql, l.n);
			for (size_t k = 0; k < l.n; k++)
				pj_params_add(&pp, pj_p_int(l.v[k]));
			rv = pj_sq_exec(q->s, NULL, PJ_Q_SAFE, TABLE, -1,
			    sql.b, pp.v, pp.n, NULL, NULL, &n);
			*deleted += n;
			pj_sql_fini(&sql);
			pj_params_fini(&pp);
		}
		size_t got = l.n;
		free(l.v);
		if (rv != 0)
			return sfail(q, rv, err, errlen);
		if (got < DELETE_BATCH)
			return 0;
	}
}

const struct pj_logstore_ops pj_logstore_sql_ops = {
	.name            = "sql",
	.append          = sql_append,
	.read            = sql_read,
	.page            = sql_page,
	.count           = sql_count,
	.delete_instance = sql_delete_instance,
	.delete_before   = sql_delete_before,
	.close           = sql_close,
};
