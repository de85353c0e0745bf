/*
 * server/store/store_sched.h - store queries of the scheduler (issue 10),
 * kept apart from store.h so the store's own files stay untouched
 * (store_sched.c).
 */
#ifndef PJ_SERVER_STORE_SCHED_H
#define PJ_SERVER_STORE_SCHED_H

#include <stdbool.h>

#include "server/store/store.h"

/* In one transaction, for each k: next[k] >= 0 sets job ids[k]'s
 * next_trigger_time (0 = NULL); next[k] < 0 disables the job (status
 * DISABLE, next_trigger_time NULL) if it is still enabled. */
int pj_store_jobs_advance(struct pj_store *s, const int64_t *ids,
    const int64_t *next, size_t n, int64_t now_ms);

/* Deletes finished instances (FAILED, SUCCEED, CANCELED, STOPPED) last
 * modified before before_ms, and their log lines, at most limit rows per
 * call; *deleted = instances removed. */
int pj_store_instances_clean(
    struct pj_store *s, int64_t before_ms, int limit, int64_t *deleted);

/* Ids of the enabled FIXED_RATE / FIXED_DELAY jobs of the given apps that
 * have no live instance (WAITING_DISPATCH, WAITING_WORKER_RECEIVE or
 * RUNNING), at most limit, into *ids (malloc'd, caller frees). */
int pj_store_frequent_idle(struct pj_store *s, const int64_t *app_ids,
    size_t n_apps, int limit, int64_t **ids, size_t *n);

/* One conditional transition of a batch (pj_store_instances_apply). */
struct pj_transition {
	int64_t            instance_id;
	int                from, to;
	unsigned           mask; /* PJ_SET_* */
	struct pj_instance set;  /* values for mask (strings borrowed) */
	int                rv;   /* out: 0 moved, PJ_STORE_ECONFLICT not in
	                            `from` (or missing) */
};

/* Runs v[0..n) in one transaction, each as pj_store_instance_transition
 * would (WHERE instance_id = ? AND status = from), in order; a conflict of
 * one does not stop the others (its rv says so).  0, or a PJ_STORE_* code
 * when the transaction failed (nothing applied; every rv is that code). */
int pj_store_instances_apply(
    struct pj_store *s, struct pj_transition *v, size_t n, int64_t now_ms);

/* One worker's share of a dispatch: ids WAITING_DISPATCH -> WAITING_
 * WORKER_RECEIVE with actual_trigger_time = now_ms and the TaskTracker's
 * address; moved = rows that were still WAITING_DISPATCH. */
struct pj_dispatch_group {
	const int64_t *ids;
	size_t         n;
	const char    *tt;
	int64_t        moved; /* out */
};

/* Every group in one transaction (one commit for a fire time's whole
 * dispatch); 0 or a PJ_STORE_* code (nothing moved). */
int pj_store_instances_dispatch(struct pj_store *s,
    struct pj_dispatch_group *g, size_t n, int64_t now_ms);

/* What a batch of status reports is decided on: the rows of ids[0..n)
 * (in no particular order, each once; an id with no row is absent) and, per row,
 * its job's instance_retry_num and time_expression_type (job_found false
 * when the job is gone).  One statement per PJ_REPORT_READ_CHUNK ids,
 * padded to a power of two so a connection prepares few shapes. */
#define PJ_REPORT_READ_CHUNK 256
struct pj_report_job {
	bool job_found;
	int  retry_num, time_type;
};
struct pj_report_rows {
	struct pj_instance_list rows;
	struct pj_report_job   *job; /* job[k] belongs to rows.v[k] */
	size_t                  cap;
};
int  pj_store_report_rows(struct pj_store *s, const int64_t *ids, size_t n,
     struct pj_report_rows *out);
void pj_report_rows_fini(struct pj_report_rows *r);

#endif
