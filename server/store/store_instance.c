/*
 * server/store_instance.c - instance_info (batched creation, conditional
 * transitions, live counts, the status-check selections, paged lists) and
 * the local instance-log table.
 *
 * Design notes
 * ------------
 * Kept from PowerJob (§5.5-5.8, §10.2): the columns, status codes, the
 * conditional update `... WHERE instance_id = ? AND status = ?` that makes
 * dispatch and status reports race-safe, the live count over {2,3}, the
 * status checker's three selections (WAITING_DISPATCH by expected trigger
 * time, WAITING_WORKER_RECEIVE by actual trigger time, RUNNING by
 * gmt_modified), its batch move back to WAITING_DISPATCH, and the local log
 * table read in log_time order.
 * Changed: instances and log lines are inserted as multi-row INSERTs (one
 * round trip per INSERT_CHUNK rows; several chunks share one transaction so
 * a batch is all or nothing); fire_time + UNIQUE (job_id, fire_time) makes a
 * second record of one fire time fail with PJ_STORE_EDUP; lists page by
 * keyset on id (logs on (log_time, id)) so they neither skip nor repeat
 * while rows are added.
 * OOM policy: ar_xmalloc aborts.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/store_impl.h"

#define INSERT_CHUNK 100
#define LOG_CHUNK 200
#define TRANSITION_CHUNK 500
/* text per multi-row INSERT, well below MariaDB's max_allowed_packet
 * (16 MiB by default) even with every field at its limit */
#define CHUNK_BYTES (4u << 20)
#define LIST_LIMIT_MAX PJ_INST_LIMIT_MAX
#define INST_COLS PJ_INST_COLS
#define INST_NCOLS 18
#define INST_SELECT "SELECT id, " INST_COLS " FROM instance_info "

static void
inst_read(struct pj_instance *i, const struct pj_val *c)
{
	int k                    = 0;
	i->id                    = pj_c_i64(&c[k++]);
	i->instance_id           = pj_c_i64(&c[k++]);
	i->job_id                = pj_c_i64(&c[k++]);
	i->app_id                = pj_c_i64(&c[k++]);
	i->type                  = (int) pj_c_i64(&c[k++]);
	i->wf_instance_id        = pj_c_i64(&c[k++]);
	i->status                = (int) pj_c_i64(&c[k++]);
	i->job_params            = pj_c_str(&c[k++]);
	i->instance_params       = pj_c_str(&c[k++]);
	i->result                = pj_c_str(&c[k++]);
	i->fire_time             = pj_c_i64(&c[k++]);
	i->expected_trigger_time = pj_c_i64(&c[k++]);
	i->actual_trigger_time   = pj_c_i64(&c[k++]);
	i->finished_time         = pj_c_i64(&c[k++]);
	i->last_report_time      = pj_c_i64(&c[k++]);
	i->task_tracker_address  = pj_c_str(&c[k++]);
	i->running_times         = pj_c_i64(&c[k++]);
	i->gmt_create            = pj_c_i64(&c[k++]);
	i->gmt_modified          = pj_c_i64(&c[k++]);
}

void
pj_instance_fini(struct pj_instance *i)
{
	free(i->job_params);
	free(i->instance_params);
	free(i->result);
	free(i->task_tracker_address);
	memset(i, 0, sizeof(*i));
}

void
pj_instance_list_fini(struct pj_instance_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		pj_instance_fini(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int
pj_inst_list_row(void *arg, const struct pj_val *c, int n)
{
	struct pj_instance_list *l = arg;
	(void) n;
	/* capacity doubles at each power of two: n realloc calls become
	 * log2(n) for a page of rows */
	if ((l->n & (l->n - 1)) == 0)
		l->v
		    = ar_xrealloc(l->v, sizeof(*l->v) * (l->n ? 2 * l->n : 1));
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	inst_read(&l->v[l->n++], c);
	return 0;
}

int
pj_inst_list_run(struct pj_store *s, struct pj_sql *q, struct pj_params *pp,
    struct pj_instance_list *out)
{
	int rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "instance_info", -1, q->b,
	    pp->v, pp->n, pj_inst_list_row, out, NULL);
	pj_sql_fini(q);
	pj_params_fini(pp);
	if (rv != 0)
		pj_instance_list_fini(out);
	return rv;
}

static int
insert_chunk(struct pj_store *s, struct pj_conn *c,
    const struct pj_instance *const *v, size_t n, int64_t now_ms)
{
	struct pj_sql    q  = { 0 };
	struct pj_params pp = { 0 };
	int              rv;
	pj_sql_add(&q, "INSERT INTO instance_info (" INST_COLS ") VALUES ");
	for (size_t k = 0; k < n; k++) {
		const struct pj_instance *i = v[k];
		if (k)
			pj_sql_add(&q, ",");
		pj_sql_marks(&q, INST_NCOLS);
		pj_params_add(&pp, pj_p_int(i->instance_id));
		pj_params_add(&pp, pj_p_int(i->job_id));
		pj_params_add(&pp, pj_p_int(i->app_id));
		pj_params_add(&pp, pj_p_int(i->type ? i->type : 1));
		pj_params_add(&pp, pj_p_int_or_null(i->wf_instance_id));
		pj_params_add(&pp,
		    pj_p_int(
		        i->status ? i->status : PJ_INST_WAITING_DISPATCH));
		pj_params_add(&pp, pj_p_text(i->job_params));
		pj_params_add(&pp, pj_p_text(i->instance_params));
		pj_params_add(&pp, pj_p_text(i->result));
		pj_params_add(&pp, pj_p_int_or_null(i->fire_time));
		pj_params_add(&pp, pj_p_int(i->expected_trigger_time));
		pj_params_add(&pp, pj_p_int(i->actual_trigger_time));
		pj_params_add(&pp, pj_p_int(i->finished_time));
		pj_params_add(&pp,
		    pj_p_int(i->last_report_time ? i->last_report_time : -1));
		pj_params_add(&pp, pj_p_text(i->task_tracker_address));
		pj_params_add(&pp, pj_p_int(i->running_times));
		pj_params_add(&pp, pj_p_int(now_ms));
		pj_params_add(&pp, pj_p_int(now_ms));
	}
	rv = pj_sq_exec(s, c, 0, "instance_info", v[0]->instance_id, q.b, pp.v,
	    pp.n, NULL, NULL, NULL);
	if (rv == PJ_STORE_EDUP)
		rv = pj_store_fail(s, rv,
		    "instance_info (batch of %zu from instance_id %lld): an "
		    "instance_id or a (job_id, fire_time) is already "
		    "recorded: %s",
		    n, (long long) v[0]->instance_id, pj_store_errmsg(s));
	pj_sql_fini(&q);
	pj_params_fini(&pp);
	return rv;
}

/* Rows go in (job_id, fire_time, instance_id) order whatever the caller's
 * order: two servers recording overlapping fire times then take the
 * unique key's row locks in the same order, so the second waits for the
 * first and gets a duplicate instead of a deadlock (MariaDB). */
static int
inst_order(const void *a, const void *b)
{
	const struct pj_instance *x = *(const struct pj_instance *const *) a;
	const struct pj_instance *y = *(const struct pj_instance *const *) b;
	if (x->job_id != y->job_id)
		return x->job_id < y->job_id ? -1 : 1;
	if (x->fire_time != y->fire_time)
		return x->fire_time < y->fire_time ? -1 : 1;
	if (x->instance_id != y->instance_id)
		return x->instance_id < y->instance_id ? -1 : 1;
	return 0;
}

/* rows in the chunk starting at v[k]: at most INSERT_CHUNK rows and
 * CHUNK_BYTES of text (at least one row) */
static size_t
inst_chunk_len(const struct pj_instance *const *v, size_t k, size_t n)
{
	size_t m = 0, bytes = 0;
	for (; k + m < n && m < INSERT_CHUNK; m++) {
		const struct pj_instance *i = v[k + m];
		size_t b = pj_text_len(i->job_params) + pj_text_len(i->result)
		    + pj_text_len(i->instance_params)
		    + pj_text_len(i->task_tracker_address);
		if (m > 0 && bytes + b > CHUNK_BYTES)
			break;
		bytes += b;
	}
	return m;
}

struct inst_batch {
	const struct pj_instance **v;
	size_t                     n;
	int64_t                    now_ms;
};

static int
inst_batch_run(struct pj_store *s, struct pj_conn *c, void *arg)
{
	struct inst_batch *b  = arg;
	int                rv = 0;
	for (size_t k = 0, m; k < b->n && rv == 0; k += m) {
		m  = inst_chunk_len(b->v, k, b->n);
		rv = insert_chunk(s, c, b->v + k, m, b->now_ms);
	}
	return rv;
}

int
pj_store_instances_create(
    struct pj_store *s, const struct pj_instance *v, size_t n, int64_t now_ms)
{
	int rv;
	if (n == 0)
		return 0;
	for (size_t k = 0; k < n; k++)
		if ((rv = pj_check_instance(s, &v[k])) != 0)
			return rv;
	struct inst_batch b = { ar_xmalloc(n * sizeof(*b.v)), n, now_ms };
	for (size_t k = 0; k < n; k++)
		b.v[k] = &v[k];
	qsort(b.v, n, sizeof(*b.v), inst_order);
	if (inst_chunk_len(b.v, 0, n) == n)
		rv = insert_chunk(s, NULL, b.v, n, now_ms);
	else
		rv = pj_sq_txn(s, inst_batch_run, &b);
	free(b.v);
	return rv;
}

int
pj_store_instance_get(
    struct pj_store *s, int64_t instance_id, struct pj_instance *i)
{
	struct pj_instance_list l = { 0 };
	struct pj_val           p = pj_p_int(instance_id);
	int rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "instance_info", instance_id,
	    INST_SELECT "WHERE instance_id = ?", &p, 1, pj_inst_list_row, &l,
	    NULL);
	memset(i, 0, sizeof(*i));
	if (rv == 0 && l.n == 0)
		rv = pj_store_fail(s, PJ_STORE_ENOTFOUND,
		    "instance_info (instance_id %lld): no such instance",
		    (long long) instance_id);
	if (rv == 0) {
		*i  = l.v[0];
		l.n = 0;
	}
	pj_instance_list_fini(&l);
	return rv;
}

/* "UPDATE instance_info SET status = ?, gmt_modified = ?, ..." */
static void
transition_set(struct pj_sql *q, struct pj_params *pp, int to,
    const struct pj_instance *set, unsigned mask, int64_t now_ms)
{
	static const struct {
		unsigned    bit;
		const char *frag;
	} cols[] = {
		{ PJ_SET_ACTUAL_TRIGGER, ", actual_trigger_time = ?" },
		{ PJ_SET_FINISHED, ", finished_time = ?" },
		{ PJ_SET_LAST_REPORT, ", last_report_time = ?" },
		{ PJ_SET_TT_ADDRESS, ", task_tracker_address = ?" },
		{ PJ_SET_RUNNING_TIMES, ", running_times = ?" },
		{ PJ_SET_RESULT, ", result = ?" },
		{ PJ_SET_EXPECTED, ", expected_trigger_time = ?" },
	};
	pj_sql_add(q, "UPDATE instance_info SET status = ?, gmt_modified = ?");
	pj_params_add(pp, pj_p_int(to));
	pj_params_add(pp, pj_p_int(now_ms));
	for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
		if (!(mask & cols[k].bit) || set == NULL)
			continue;
		pj_sql_add(q, cols[k].frag);
		switch (cols[k].bit) {
		case PJ_SET_ACTUAL_TRIGGER:
			pj_params_add(pp, pj_p_int(set->actual_trigger_time));
			break;
		case PJ_SET_FINISHED:
			pj_params_add(pp, pj_p_int(set->finished_time));
			break;
		case PJ_SET_LAST_REPORT:
			pj_params_add(pp, pj_p_int(set->last_report_time));
			break;
		case PJ_SET_TT_ADDRESS:
			pj_params_add(
			    pp, pj_p_text(set->task_tracker_address));
			break;
		case PJ_SET_RUNNING_TIMES:
			pj_params_add(pp, pj_p_int(set->running_times));
			break;
		case PJ_SET_RESULT:
			pj_params_add(pp, pj_p_text(set->result));
			break;
		default:
			pj_params_add(
			    pp, pj_p_int(set->expected_trigger_time));
		}
	}
}

int
pj_store_instance_transition(struct pj_store *s, int64_t instance_id, int from,
    int to, const struct pj_instance *set, unsigned mask, int64_t now_ms)
{
	struct pj_sql    q  = { 0 };
	struct pj_params pp = { 0 };
	int64_t          n  = 0;
	int              rv = pj_check_transition(s, instance_id, set, mask);
	if (rv != 0)
		return rv;
	transition_set(&q, &pp, to, set, mask, now_ms);
	pj_sql_add(&q, " WHERE instance_id = ? AND status = ?");
	pj_params_add(&pp, pj_p_int(instance_id));
	pj_params_add(&pp, pj_p_int(from));
	rv = pj_sq_exec(s, NULL, 0, "instance_info", instance_id, q.b, pp.v,
	    pp.n, NULL, NULL, &n);
	pj_sql_fini(&q);
	pj_params_fini(&pp);
	if (rv != 0 || n > 0)
		return rv;
	/* lost: say whether the row is missing or in another state */
	int64_t       st = -1;
	struct pj_val p  = pj_p_int(instance_id);
	rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "instance_info", instance_id,
	    "SELECT status FROM instance_info WHERE instance_id = ?", &p, 1,
	    pj_row_i64, &st, NULL);
	if (rv != 0)
		return rv;
	if (st < 0)
		return pj_store_fail(s, PJ_STORE_ENOTFOUND,
		    "instance_info (instance_id %lld): no such instance",
		    (long long) instance_id);
	return pj_store_fail(s, PJ_STORE_ECONFLICT,
	    "instance_info (instance_id %lld): status is %lld, not %d; "
	    "transition to %d not applied",
	    (long long) instance_id, (long long) st, from, to);
}

struct inst_move {
	const int64_t            *ids;
	size_t                    n;
	int                       from, to;
	const struct pj_instance *set;
	unsigned                  mask;
	int64_t                   now_ms;
	int64_t                   changed;
};

static int
inst_move_run(struct pj_store *s, struct pj_conn *c, void *arg)
{
	struct inst_move *mv = arg;
	int               rv = 0;
	mv->changed          = 0;
	for (size_t k = 0; k < mv->n && rv == 0; k += TRANSITION_CHUNK) {
		size_t           m  = mv->n - k < TRANSITION_CHUNK ? mv->n - k
		                                                   : TRANSITION_CHUNK;
		struct pj_sql    q  = { 0 };
		struct pj_params pp = { 0 };
		int64_t          n  = 0;
		transition_set(&q, &pp, mv->to, mv->set, mv->mask, mv->now_ms);
		pj_sql_add(&q, " WHERE status = ? AND instance_id IN ");
		pj_params_add(&pp, pj_p_int(mv->from));
		pj_sql_marks(&q, m);
		for (size_t i = 0; i < m; i++)
			pj_params_add(&pp, pj_p_int(mv->ids[k + i]));
		rv = pj_sq_exec(s, c, 0, "instance_info", mv->ids[k], q.b,
		    pp.v, pp.n, NULL, NULL, &n);
		mv->changed += n;
		pj_sql_fini(&q);
		pj_params_fini(&pp);
	}
	return rv;
}

int
pj_store_instances_transition(struct pj_store *s, const int64_t *ids, size_t n,
    int from, int to, const struct pj_instance *set, unsigned mask,
    int64_t now_ms, int64_t *changed)
{
	struct inst_move mv = { ids, n, from, to, set, mask, now_ms, 0 };
	int              rv;
	if (changed)
		*changed = 0;
	if (n == 0)
		return 0;
	if ((rv = pj_check_transition(s, ids[0], set, mask)) != 0)
		return rv;
	/* one statement, or one transaction of several: all or nothing */
	rv = n <= TRANSITION_CHUNK ? inst_move_run(s, NULL, &mv)
	                           : pj_sq_txn(s, inst_move_run, &mv);
	if (rv == 0 && changed)
		*changed = mv.changed;
	return rv;
}

/* COUNT(*) of a job's rows in the statuses v[0..n), all below 4 or none
 * (so that one status index holds them: pj_job_status_index) */
static int
count_job_statuses(struct pj_store *s, int64_t job_id, const int *v, size_t n,
    int live, int64_t *count)
{
	struct pj_sql    q  = { 0 };
	struct pj_params pp = { 0 };
	const char      *cond;
	const char      *idx = live
	         ? pj_job_status_index(s, INT_MIN, PJ_INST_LIVE_BELOW - 1, &cond)
	         : pj_job_status_index(s, PJ_INST_LIVE_BELOW, INT_MAX, &cond);
	pj_sql_add(&q, "SELECT COUNT(*)");
	pj_sql_from(&q, s, "instance_info", idx);
	pj_sql_addf(&q, " WHERE job_id = ?%s AND status IN ", cond);
	pj_params_add(&pp, pj_p_int(job_id));
	pj_sql_marks(&q, n);
	for (size_t i = 0; i < n; i++)
		pj_params_add(&pp, pj_p_int(v[i]));
	int rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "instance_info", -1, q.b, pp.v,
	    pp.n, pj_row_i64, count, NULL);
	pj_sql_fini(&q);
	pj_params_fini(&pp);
	return rv;
}

int
pj_store_instance_count_live(struct pj_store *s, int64_t job_id,
    const int *statuses, size_t n_statuses, int64_t *count)
{
	int    *part[2];
	size_t  np[2] = { 0, 0 };
	int64_t c     = 0;
	int     rv    = 0;
	*count        = 0;
	if (n_statuses == 0)
		return 0;
	/* the live statuses and the others: one index each on SQLite */
	part[0] = ar_xmalloc(2 * n_statuses * sizeof(int));
	part[1] = part[0] + n_statuses;
	for (size_t i = 0; i < n_statuses; i++) {
		int other                = statuses[i] >= PJ_INST_LIVE_BELOW;
		part[other][np[other]++] = statuses[i];
	}
	for (int other = 0; other < 2 && rv == 0; other++) {
		if (np[other] == 0)
			continue;
		rv = count_job_statuses(
		    s, job_id, part[other], np[other], !other, &c);
		*count += c;
	}
	free(part[0]);
	if (rv != 0)
		*count = 0;
	return rv;
}

/* ---- instance logs
 * ---------------------------------------------------------- */

void
pj_log_list_fini(struct pj_log_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].content);
		free(l->v[i].worker_address);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int
pj_log_row(void *arg, const struct pj_val *c, int n)
{
	struct pj_log_list *l = arg;
	(void) n;
	/* doubling: the array grows when its length is 0 or a power of 2 */
	if ((l->n & (l->n - 1)) == 0) {
		size_t cap = l->n ? 2 * l->n : 1;
		l->v       = ar_xrealloc(l->v, sizeof(*l->v) * cap);
	}
	struct pj_log_line *x = &l->v[l->n++];
	x->id                 = pj_c_i64(&c[0]);
	x->instance_id        = pj_c_i64(&c[1]);
	x->log_time           = pj_c_i64(&c[2]);
	x->log_level          = (int) pj_c_i64(&c[3]);
	x->content            = pj_c_str(&c[4]);
	x->worker_address     = pj_c_str(&c[5]);
	return 0;
}

static int
log_chunk(struct pj_store *s, struct pj_conn *c, const struct pj_log_line *v,
    size_t n)
{
	struct pj_sql    q  = { 0 };
	struct pj_params pp = { 0 };
	int              rv;
	pj_sql_add(&q,
	    "INSERT INTO local_instance_log (instance_id, log_time, "
	    "log_level, log_content, worker_address) VALUES ");
	for (size_t k = 0; k < n; k++) {
		if (k)
			pj_sql_add(&q, ",");
		pj_sql_marks(&q, 5);
		pj_params_add(&pp, pj_p_int(v[k].instance_id));
		pj_params_add(&pp, pj_p_int(v[k].log_time));
		pj_params_add(&pp, pj_p_int(v[k].log_level));
		pj_params_add(&pp, pj_p_text(v[k].content));
		pj_params_add(&pp, pj_p_text(v[k].worker_address));
	}
	rv = pj_sq_exec(s, c, 0, "local_instance_log", v[0].instance_id, q.b,
	    pp.v, pp.n, NULL, NULL, NULL);
	pj_sql_fini(&q);
	pj_params_fini(&pp);
	return rv;
}

struct log_batch {
	const struct pj_log_line *v;
	size_t                    n;
};

/* lines in the chunk starting at v[k]: LOG_CHUNK lines, CHUNK_BYTES */
static size_t
log_chunk_len(const struct pj_log_line *v, size_t k, size_t n)
{
	size_t m = 0, bytes = 0;
	for (; k + m < n && m < LOG_CHUNK; m++) {
		size_t b = pj_text_len(v[k + m].content)
		    + pj_text_len(v[k + m].worker_address);
		if (m > 0 && bytes + b > CHUNK_BYTES)
			break;
		bytes += b;
	}
	return m;
}

static int
log_batch_run(struct pj_store *s, struct pj_conn *c, void *arg)
{
	struct log_batch *b  = arg;
	int               rv = 0;
	for (size_t k = 0, m; k < b->n && rv == 0; k += m) {
		m  = log_chunk_len(b->v, k, b->n);
		rv = log_chunk(s, c, b->v + k, m);
	}
	return rv;
}

int
pj_store_logs_append(struct pj_store *s, const struct pj_log_line *v, size_t n)
{
	struct log_batch b = { v, n };
	int              rv;
	if (n == 0)
		return 0;
	for (size_t k = 0; k < n; k++)
		if ((rv = pj_check_log(s, &v[k])) != 0)
			return rv;
	if (log_chunk_len(v, 0, n) == n)
		return log_chunk(s, NULL, v, n);
	return pj_sq_txn(s, log_batch_run, &b);
}

int
pj_store_logs_read(struct pj_store *s, int64_t instance_id, int64_t after_time,
    int64_t after_id, int limit, struct pj_log_list *out)
{
	memset(out, 0, sizeof(*out));
	if (limit < 1 || limit > LIST_LIMIT_MAX)
		return pj_store_fail(s, PJ_STORE_EINVAL,
		    "local_instance_log: limit must be 1..%d", LIST_LIMIT_MAX);
	struct pj_val p[5] = { pj_p_int(instance_id), pj_p_int(after_time),
		pj_p_int(after_time), pj_p_int(after_id), pj_p_int(limit) };
	int           rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "local_instance_log",
	              instance_id,
	              "SELECT id, instance_id, log_time, log_level, log_content, "
	                        "worker_address FROM local_instance_log WHERE instance_id = ? AND "
	                        "(log_time > ? OR (log_time = ? AND id > ?)) ORDER BY log_time, "
	                        "id LIMIT ?",
	              p, 5, pj_log_row, out, NULL);
	if (rv != 0)
		pj_log_list_fini(out);
	return rv;
}

int
pj_store_logs_delete(struct pj_store *s, int64_t instance_id, int64_t *deleted)
{
	int64_t       n = 0;
	struct pj_val p = pj_p_int(instance_id);
	int           rv
	    = pj_sq_exec(s, NULL, PJ_Q_SAFE, "local_instance_log", instance_id,
	        "DELETE FROM local_instance_log WHERE instance_id = ?", &p, 1,
	        NULL, NULL, &n);
	if (rv == 0 && deleted)
		*deleted = n;
	return rv;
}
