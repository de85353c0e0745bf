/*
 * server/store/store_apply.c - status reports' transitions in batches
 * (pj_store_instances_apply, store_sched.h).
 *
 * Design notes
 * ------------
 * A batch is one transaction, so one commit for many reports.  Inside it,
 * transitions that share (from, to, mask) - a second's worth of SUCCEED
 * reports - are one UPDATE per APPLY_CHUNK rows: each set column is a
 * `CASE instance_id WHEN ? THEN ? ... END` and the condition `status =
 * from AND instance_id IN (...)`, where it was one UPDATE (one round trip
 * on MariaDB) per report.  Affected rows count matched rows on both
 * backends (CLIENT_FOUND_ROWS on MariaDB), so a group that moves all its
 * rows moved each of them.  When one moved fewer (somebody changed a row
 * since the reports were decided: a cancel, a status check) the whole
 * transaction is rolled back and run again one statement per transition,
 * which tells each its own outcome; so is a batch naming one instance
 * twice (order would matter).  Chunks are padded to a power of two (the
 * last row repeated: the same CASE arm, the same IN member) so a
 * connection prepares few shapes.
 * Threads: like every store call, any thread.
 * OOM policy: ar_xmalloc aborts.
 */
#include <stdlib.h>
#include <string.h>

#include "server/store/store_impl.h"
#include "server/store/store_sched.h"

#define APPLY_CHUNK 128

struct apply {
	struct pj_transition *v;
	size_t                n;
	int64_t               now_ms;
	bool                  partial; /* a group moved fewer rows than named */
};

/* the columns a transition may set (PJ_SET_*) and their values */
static const struct {
	unsigned    bit;
	const char *col;
} set_cols[] = {
	{ PJ_SET_ACTUAL_TRIGGER, "actual_trigger_time" },
	{ PJ_SET_FINISHED, "finished_time" },
	{ PJ_SET_LAST_REPORT, "last_report_time" },
	{ PJ_SET_TT_ADDRESS, "task_tracker_address" },
	{ PJ_SET_RUNNING_TIMES, "running_times" },
	{ PJ_SET_RESULT, "result" },
	{ PJ_SET_EXPECTED, "expected_trigger_time" },
};

static struct pj_val
set_val(const struct pj_instance *set, unsigned bit)
{
	switch (bit) {
	case PJ_SET_ACTUAL_TRIGGER:
		return pj_p_int(set->actual_trigger_time);
	case PJ_SET_FINISHED:
		return pj_p_int(set->finished_time);
	case PJ_SET_LAST_REPORT:
		return pj_p_int(set->last_report_time);
	case PJ_SET_TT_ADDRESS:
		return pj_p_text(set->task_tracker_address);
	case PJ_SET_RUNNING_TIMES:
		return pj_p_int(set->running_times);
	case PJ_SET_RESULT:
		return pj_p_text(set->result);
	default:
		return pj_p_int(set->expected_trigger_time);
	}
}

static void
apply_sql(struct pj_sql *q, struct pj_params *pp, const struct pj_transition *t,
    int64_t now_ms)
{
	pj_sql_add(q, "UPDATE instance_info SET status = ?, gmt_modified = ?");
	pj_params_add(pp, pj_p_int(t->to));
	pj_params_add(pp, pj_p_int(now_ms));
	for (size_t b = 0; b < sizeof(set_cols) / sizeof(set_cols[0]); b++) {
		if (t->mask & set_cols[b].bit) {
			pj_sql_addf(q, ", %s = ?", set_cols[b].col);
			pj_params_add(pp, set_val(&t->set, set_cols[b].bit));
		}
	}
	pj_sql_add(q, " WHERE instance_id = ? AND status = ?");
	pj_params_add(pp, pj_p_int(t->instance_id));
	pj_params_add(pp, pj_p_int(t->from));
}

/* one statement per transition */
static int
apply_rows(struct pj_store *s, struct pj_conn *c, void *arg)
{
	struct apply *a  = arg;
	int           rv = 0;
	for (size_t k = 0; k < a->n && rv == 0; k++) {
		struct pj_sql    q  = { 0 };
		struct pj_params pp = { 0 };
		int64_t          n  = 0;
		if (a->v[k].from < 0) {
			continue; /* refused by the checks: rv kept */
		}
		apply_sql(&q, &pp, &a->v[k], a->now_ms);
		rv = pj_sq_exec(s, c, 0, "instance_info", a->v[k].instance_id,
		    q.b, pp.v, pp.n, NULL, NULL, &n);
		a->v[k].rv = rv == 0 && n == 0 ? PJ_STORE_ECONFLICT : rv;
		pj_sql_fini(&q);
		pj_params_fini(&pp);
	}
	return rv;
}

/* ---- grouped ----------------------------------------------------------- */

/* a transition's group key, sorted (from, to, mask, instance_id) */
struct gkey {
	int      from, to;
	unsigned mask;
	int64_t  id;
	size_t   k; /* index in the batch */
};

static int
by_group(const void *a, const void *b)
{
	const struct gkey *x = a, *y = b;
	if (x->from != y->from) {
		return x->from < y->from ? -1 : 1;
	}
	if (x->to != y->to) {
		return x->to < y->to ? -1 : 1;
	}
	if (x->mask != y->mask) {
		return x->mask < y->mask ? -1 : 1;
	}
	return x->id < y->id ? -1 : x->id > y->id;
}

static bool
same_group(const struct gkey *x, const struct gkey *y)
{
	return x->from == y->from && x->to == y->to && x->mask == y->mask;
}

/* One UPDATE for rows ix[0..m) of one group; *moved = rows matched. */
static int
group_chunk(struct pj_store *s, struct pj_conn *c, const struct apply *a,
    const struct gkey *ix, size_t m, int64_t *moved)
{
	const struct pj_transition *t0 = &a->v[ix[0].k];
	struct pj_sql               q  = { 0 };
	struct pj_params            pp = { 0 };
	size_t                      marks = pj_pad_pow2(m);
	int                         rv;
#define ROW(i) (&a->v[ix[(i) < m ? (i) : m - 1].k])
	pj_sql_add(&q, "UPDATE instance_info SET status = ?, gmt_modified = ?");
	pj_params_add(&pp, pj_p_int(t0->to));
	pj_params_add(&pp, pj_p_int(a->now_ms));
	for (size_t b = 0; b < sizeof(set_cols) / sizeof(set_cols[0]); b++) {
		if (!(t0->mask & set_cols[b].bit)) {
			continue;
		}
		pj_sql_addf(&q, ", %s = CASE instance_id", set_cols[b].col);
		for (size_t k = 0; k < marks; k++) {
			pj_sql_add(&q, " WHEN ? THEN ?");
			pj_params_add(&pp, pj_p_int(ROW(k)->instance_id));
			pj_params_add(&pp, set_val(&ROW(k)->set, set_cols[b].bit));
		}
		pj_sql_add(&q, " END");
	}
	pj_sql_add(&q, " WHERE status = ? AND instance_id IN ");
	pj_params_add(&pp, pj_p_int(t0->from));
	pj_sql_marks(&q, marks);
	for (size_t k = 0; k < marks; k++) {
		pj_params_add(&pp, pj_p_int(ROW(k)->instance_id));
	}
#undef ROW
	*moved = 0;
	rv = pj_sq_exec(s, c, 0, "instance_info", t0->instance_id, q.b, pp.v,
	    pp.n, NULL, NULL, moved);
	pj_sql_fini(&q);
	pj_params_fini(&pp);
	return rv;
}

static int
apply_grouped(struct pj_store *s, struct pj_conn *c, void *arg)
{
	struct apply *a  = arg;
	struct gkey  *ix = ar_xmalloc(a->n * sizeof(*ix));
	size_t        n  = 0;
	int           rv = 0;
	for (size_t k = 0; k < a->n; k++) {
		const struct pj_transition *t = &a->v[k];
		if (t->from >= 0) { /* not refused by the checks */
			ix[n++] = (struct gkey) { t->from, t->to, t->mask,
				t->instance_id, k };
		}
	}
	qsort(ix, n, sizeof(*ix), by_group);
	for (size_t g = 0, e; g < n && rv == 0; g = e) {
		for (e = g + 1; e < n && e - g < APPLY_CHUNK
		     && same_group(&ix[g], &ix[e]);
		     e++) { }
		int64_t moved;
		rv = group_chunk(s, c, a, &ix[g], e - g, &moved);
		if (rv == 0 && moved != (int64_t) (e - g)) {
			a->partial = true;
			rv         = PJ_STORE_ECONFLICT; /* rolled back */
		}
	}
	free(ix);
	return rv;
}

/* one instance named twice: its transitions must run in order */
static bool
has_repeat(const struct pj_transition *v, size_t n)
{
	int64_t *ids = ar_xmalloc(n * sizeof(*ids));
	bool     rep = false;
	for (size_t k = 0; k < n; k++) {
		ids[k] = v[k].instance_id;
	}
	qsort(ids, n, sizeof(*ids), pj_cmp_i64);
	for (size_t k = 1; k < n && !rep; k++) {
		rep = ids[k] == ids[k - 1];
	}
	free(ids);
	return rep;
}

int
pj_store_instances_apply(
    struct pj_store *s, struct pj_transition *v, size_t n, int64_t now_ms)
{
	struct apply a = { v, n, now_ms, false };
	int          rv;
	if (n == 0) {
		return 0;
	}
	for (size_t k = 0; k < n; k++) {
		if ((rv = pj_check_transition(
		         s, v[k].instance_id, &v[k].set, v[k].mask))
		    != 0) {
			v[k].rv   = rv; /* refused before the transaction */
			v[k].from = -1;
		} else {
			v[k].rv = 0;
		}
	}
	if (n == 1) {
		rv = apply_rows(s, NULL, &a);
	} else if (has_repeat(v, n)) {
		rv = pj_sq_txn(s, apply_rows, &a);
	} else {
		rv = pj_sq_txn(s, apply_grouped, &a);
		if (rv == PJ_STORE_ECONFLICT && a.partial) {
			rv = pj_sq_txn(s, apply_rows, &a);
		}
	}
	if (rv != 0) {
		for (size_t k = 0; k < n; k++) {
			v[k].rv = rv;
		}
	}
	return rv;
}

