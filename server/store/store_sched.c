/*
 * server/store/store_sched.c - the scheduler's own store queries (issue
 * 10): next_trigger_time of many jobs in one transaction, and the daily
 * cleanup of finished instances with their log lines.
 *
 * Design notes
 * ------------
 * A separate file so the store's files (store_job.c, store_instance.c) stay
 * with the store's own work; written on the same helpers (store_impl.h), so
 * both backends run the same SQL.  Advancing many jobs is one transaction:
 * one commit (one fsync on SQLite) per pass instead of one per job.
 * Cleanup (powerjob-design.md §5.11) deletes in pages: the ids first
 * (LIMIT works on both backends in a SELECT), then the logs and the rows of
 * those ids in one transaction, so a page is all or nothing.
 * (Status reports' batched transitions: store_apply.c.)
 * Reports are read in batches too (pj_store_report_rows): the rows of a
 * mailbox's worth of reports with their jobs' two fields in one statement,
 * where one instance read and one job read per report were two round
 * trips each on MariaDB.
 * Threads: like every store call, any thread (the pool lends a connection).
 * OOM policy: ar_xmalloc aborts.
 */
#include <stdlib.h>
#include <string.h>

#include "server/store/store_impl.h"
#include "server/store/store_sched.h"

struct advance {
	int64_t next, id;
};

static int
by_next(const void *a, const void *b)
{
	const struct advance *x = a, *y = b;
	if (x->next != y->next) {
		return x->next < y->next ? -1 : 1;
	}
	return x->id < y->id ? -1 : x->id > y->id;
}

#define ADVANCE_CHUNK 500

/* Jobs that share a next fire time (many CRON jobs of one expression)
 * are moved by one UPDATE ... WHERE id IN (...) per ADVANCE_CHUNK: one
 * round trip for a thousand jobs instead of a thousand. */
int
pj_store_jobs_advance(struct pj_store *s, const int64_t *ids,
    const int64_t *next, size_t n, int64_t now_ms)
{
	struct pj_conn  c;
	struct advance *v;
	int             rv;
	if (n == 0) {
		return 0;
	}
	v = ar_xmalloc(n * sizeof(*v));
	for (size_t k = 0; k < n; k++) {
		v[k] = (struct advance) { next[k], ids[k] };
	}
	qsort(v, n, sizeof(*v), by_next);
	if ((rv = pj_sq_begin(s, &c)) != 0) {
		free(v);
		return rv;
	}
	for (size_t a = 0, b; a < n && rv == 0; a = b) {
		for (b = a + 1;
		     b < n && v[b].next == v[a].next && b - a < ADVANCE_CHUNK;
		     b++) { }
		struct pj_sql    q  = { 0 };
		struct pj_params pp = { 0 };
		if (v[a].next >= 0) {
			pj_sql_add(&q,
			    "UPDATE job_info SET next_trigger_time = "
			    "?, gmt_modified = ? WHERE id IN ");
			pj_params_add(&pp, pj_p_int_or_null(v[a].next));
			pj_params_add(&pp, pj_p_int(now_ms));
		} else {
			pj_sql_add(&q,
			    "UPDATE job_info SET status = ?, "
			    "next_trigger_time = NULL, gmt_modified "
			    "= ? WHERE status = ? AND id IN ");
			pj_params_add(&pp, pj_p_int(PJ_STATUS_DISABLE));
			pj_params_add(&pp, pj_p_int(now_ms));
			pj_params_add(&pp, pj_p_int(PJ_STATUS_ENABLE));
		}
		pj_sql_marks(&q, b - a);
		for (size_t k = a; k < b; k++) {
			pj_params_add(&pp, pj_p_int(v[k].id));
		}
		rv = pj_sq_exec(s, &c, 0, "job_info", v[a].id, q.b, pp.v, pp.n,
		    NULL, NULL, NULL);
		pj_sql_fini(&q);
		pj_params_fini(&pp);
	}
	free(v);
	if (rv != 0) {
		pj_sq_rollback(s, &c);
		return rv;
	}
	return pj_sq_commit(s, &c);
}

struct ids {
	int64_t *v;
	size_t   n, cap;
};

static int
ids_row(void *arg, const struct pj_val *cols, int ncols)
{
	struct ids *l = arg;
	if (ncols < 1) {
		return 0;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v   = ar_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = pj_c_i64(&cols[0]);
	return 0;
}

static int
delete_in(struct pj_store *s, struct pj_conn *c, const char *table,
    const struct ids *l, int64_t *affected)
{
	struct pj_sql    q  = { 0 };
	struct pj_params pp = { 0 };
	pj_sql_addf(&q, "DELETE FROM %s WHERE instance_id IN ", table);
	pj_sql_marks(&q, l->n);
	for (size_t k = 0; k < l->n; k++) {
		pj_params_add(&pp, pj_p_int(l->v[k]));
	}
	int rv = pj_sq_exec(
	    s, c, 0, table, -1, q.b, pp.v, pp.n, NULL, NULL, affected);
	pj_sql_fini(&q);
	pj_params_fini(&pp);
	return rv;
}

int
pj_store_instances_clean(
    struct pj_store *s, int64_t before_ms, int limit, int64_t *deleted)
{
	struct ids     l = { 0 };
	struct pj_conn c;
	int64_t        n = 0;
	*deleted         = 0;
	if (limit < 1 || limit > 5000) {
		return pj_store_fail(s, PJ_STORE_EINVAL,
		    "instance_info clean: limit must be 1..5000");
	}
	struct pj_val p[6] = { pj_p_int(before_ms), pj_p_int(PJ_INST_FAILED),
		pj_p_int(PJ_INST_SUCCEED), pj_p_int(PJ_INST_CANCELED),
		pj_p_int(PJ_INST_STOPPED), pj_p_int(limit) };
	int           rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "instance_info", -1,
	              "SELECT instance_id FROM instance_info WHERE gmt_modified < ? "
	                        "AND status IN (?, ?, ?, ?) ORDER BY id LIMIT ?",
	              p, 6, ids_row, &l, NULL);
	if (rv != 0 || l.n == 0) {
		free(l.v);
		return rv;
	}
	if ((rv = pj_sq_begin(s, &c)) != 0) {
		free(l.v);
		return rv;
	}
	rv = delete_in(s, &c, "local_instance_log", &l, NULL);
	if (rv == 0) {
		rv = delete_in(s, &c, "instance_info", &l, &n);
	}
	free(l.v);
	if (rv != 0) {
		pj_sq_rollback(s, &c);
		return rv;
	}
	if ((rv = pj_sq_commit(s, &c)) == 0) {
		*deleted = n;
	}
	return rv;
}

/* "+i.status < 4" is the live partial index's condition on SQLite, word
 * for word, so that it is used (PJ_INST_LIVE, migration 0008) */
int
pj_store_frequent_idle(struct pj_store *s, const int64_t *app_ids,
    size_t n_apps, int limit, int64_t **ids, size_t *n)
{
	struct ids       l  = { 0 };
	struct pj_sql    q  = { 0 };
	struct pj_params pp = { 0 };
	*ids                = NULL;
	*n                  = 0;
	if (n_apps == 0) {
		return 0;
	}
	pj_sql_add(&q, "SELECT j.id FROM job_info j WHERE j.app_id IN ");
	pj_sql_marks(&q, n_apps);
	for (size_t k = 0; k < n_apps; k++) {
		pj_params_add(&pp, pj_p_int(app_ids[k]));
	}
	pj_sql_add(&q,
	    " AND j.status = ? AND j.time_expression_type IN (?, ?) AND NOT "
	    "EXISTS (SELECT 1 FROM instance_info i WHERE i.job_id = j.id "
	    "AND +i.status < 4 AND i.status IN (?, ?, ?)) "
	    "ORDER BY j.id LIMIT ?");
	pj_params_add(&pp, pj_p_int(PJ_STATUS_ENABLE));
	pj_params_add(&pp, pj_p_int(3)); /* FIXED_RATE */
	pj_params_add(&pp, pj_p_int(4)); /* FIXED_DELAY */
	pj_params_add(&pp, pj_p_int(PJ_INST_WAITING_DISPATCH));
	pj_params_add(&pp, pj_p_int(PJ_INST_WAITING_WORKER_RECEIVE));
	pj_params_add(&pp, pj_p_int(PJ_INST_RUNNING));
	pj_params_add(&pp, pj_p_int(limit));
	int rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "job_info", -1, q.b, pp.v,
	    pp.n, ids_row, &l, NULL);
	pj_sql_fini(&q);
	pj_params_fini(&pp);
	if (rv != 0) {
		free(l.v);
		return rv;
	}
	*ids = l.v;
	*n   = l.n;
	return 0;
}

/* ---- batched dispatch ------------------------------------------------- */

struct dispatch {
	struct pj_dispatch_group *g;
	size_t                    n;
	int64_t                   now_ms;
};

static int
dispatch_run(struct pj_store *s, struct pj_conn *c, void *arg)
{
	struct dispatch *d  = arg;
	int              rv = 0;
	for (size_t k = 0; k < d->n; k++) {
		d->g[k].moved = 0;
	}
	for (size_t k = 0; k < d->n && rv == 0; k++) {
		struct pj_dispatch_group *g = &d->g[k];
		for (size_t a = 0; a < g->n && rv == 0; a += ADVANCE_CHUNK) {
			size_t        m = g->n - a < ADVANCE_CHUNK ? g->n - a
			                                           : ADVANCE_CHUNK;
			struct pj_sql q = { 0 };
			struct pj_params pp    = { 0 };
			int64_t          moved = 0;
			pj_sql_add(&q,
			    "UPDATE instance_info SET status = ?, "
			    "gmt_modified "
			    "= ?, actual_trigger_time = ?, "
			    "task_tracker_address "
			    "= ? WHERE status = ? AND instance_id IN ");
			pj_params_add(
			    &pp, pj_p_int(PJ_INST_WAITING_WORKER_RECEIVE));
			pj_params_add(&pp, pj_p_int(d->now_ms));
			pj_params_add(&pp, pj_p_int(d->now_ms));
			pj_params_add(&pp, pj_p_text(g->tt));
			pj_params_add(&pp, pj_p_int(PJ_INST_WAITING_DISPATCH));
			pj_sql_marks(&q, m);
			for (size_t i = 0; i < m; i++) {
				pj_params_add(&pp, pj_p_int(g->ids[a + i]));
			}
			rv = pj_sq_exec(s, c, 0, "instance_info", g->ids[a],
			    q.b, pp.v, pp.n, NULL, NULL, &moved);
			g->moved += moved;
			pj_sql_fini(&q);
			pj_params_fini(&pp);
		}
	}
	return rv;
}

int
pj_store_instances_dispatch(
    struct pj_store *s, struct pj_dispatch_group *g, size_t n, int64_t now_ms)
{
	struct dispatch    d   = { g, n, now_ms };
	struct pj_instance set = { 0 };
	int                rv;
	if (n == 0) {
		return 0;
	}
	for (size_t k = 0; k < n; k++) {
		set.task_tracker_address = (char *) g[k].tt;
		if (g[k].n == 0
		    || (rv = pj_check_transition(
		            s, g[k].ids[0], &set, PJ_SET_TT_ADDRESS))
		        != 0) {
			return g[k].n == 0 ? PJ_STORE_EINVAL : rv;
		}
	}
	rv = pj_sq_txn(s, dispatch_run, &d);
	if (rv != 0) {
		for (size_t k = 0; k < n; k++) {
			g[k].moved = 0;
		}
	}
	return rv;
}

/* ---- what status reports are decided on -------------------------------- */

void
pj_report_rows_fini(struct pj_report_rows *r)
{
	pj_instance_list_fini(&r->rows);
	free(r->job);
	memset(r, 0, sizeof(*r));
}

/* "SELECT t.*" is id + PJ_INST_COLS (19 columns), then the job's two */
#define REPORT_NCOLS 21

static int
report_row(void *arg, const struct pj_val *c, int n)
{
	struct pj_report_rows *r = arg;
	size_t                 k = r->rows.n;
	if (n < REPORT_NCOLS) {
		return 0;
	}
	pj_inst_list_row(&r->rows, c, n);
	if (k == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->job = ar_xrealloc(r->job, r->cap * sizeof(*r->job));
	}
	r->job[k].job_found = c[19].type != PJ_VAL_NULL;
	r->job[k].retry_num = (int) pj_c_i64(&c[19]);
	r->job[k].time_type = (int) pj_c_i64(&c[20]);
	return 0;
}

int
pj_store_report_rows(struct pj_store *s, const int64_t *in, size_t n_in,
    struct pj_report_rows *out)
{
	int      rv  = 0;
	int64_t *ids = ar_xmalloc((n_in ? n_in : 1) * sizeof(*ids));
	size_t   n   = 0;
	memset(out, 0, sizeof(*out));
	memcpy(ids, in, n_in * sizeof(*ids));
	qsort(ids, n_in, sizeof(*ids), pj_cmp_i64); /* each id once */
	for (size_t k = 0; k < n_in; k++) {
		if (n == 0 || ids[k] != ids[n - 1]) {
			ids[n++] = ids[k];
		}
	}
	for (size_t a = 0; a < n && rv == 0; a += PJ_REPORT_READ_CHUNK) {
		size_t           m  = n - a < PJ_REPORT_READ_CHUNK ? n - a
		                                                   : PJ_REPORT_READ_CHUNK;
		struct pj_sql    q  = { 0 };
		struct pj_params pp = { 0 };
		pj_sql_add(&q,
		    "SELECT t.*, j.instance_retry_num, j.time_expression_type "
		    "FROM (SELECT id, " PJ_INST_COLS " FROM instance_info "
		    "WHERE instance_id IN ");
		pj_sql_ids_padded(&q, &pp, &ids[a], m);
		pj_sql_add(&q,
		    ") AS t LEFT JOIN job_info AS j ON j.id = "
		    "t.job_id");
		rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "instance_info", ids[a],
		    q.b, pp.v, pp.n, report_row, out, NULL);
		pj_sql_fini(&q);
		pj_params_fini(&pp);
	}
	free(ids);
	if (rv != 0) {
		pj_report_rows_fini(out);
	}
	return rv;
}
