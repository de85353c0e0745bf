/*
 * server_reports.c - ServerActor's instance status reports (§5.7), read,
 * decided and written in batches.
 *
 * Design notes
 * ------------
 * The rules are pj_sched_report's, unchanged.  A report is checked at once
 * for what needs no database (the app is ours, the status is one a worker
 * may report) and queued; the first report of a batch tells the actor a
 * ReportFlush.  The mailbox is FIFO, so the flush comes after every report
 * already queued: under load a batch is whatever arrived meanwhile (up to
 * PJ_REPORT_BATCH_MAX, then it is flushed at once), idle it is one report
 * and costs one message.
 * The flush reads the batch's rows and their jobs' retry count and time
 * type in one statement (pj_store_report_rows: it was one instance read
 * and one job read per report, two round trips each on MariaDB, two
 * thirds of the statements a fire cost), decides each report against its
 * row (stale, foreign, finished, invalid are answered and write nothing;
 * a foreign sender is told to stop), runs the APPLY verdicts' conditional
 * transitions in one transaction (pj_store_instances_apply: one commit
 * for many reports), then for each report that moved calls the completion
 * hook or arms the retry, and only then answers the worker
 * (ar_reply_later): a final report is acknowledged once it is durable.
 * A conditional update that lost (somebody moved the row meanwhile) is
 * answered INTERNAL; a failed read or transaction answers DB_DOWN and the
 * workers report again.
 * A report for an instance already in the batch flushes the batch first,
 * so it is decided against the row as written (attempt counting,
 * staleness and RUNNING -> final in one batch stay exactly as one by one).
 * Threads: the ServerActor's turn only (blocking dispatcher).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/server_int.h"
#include "runtime/alloc.h"
#include "runtime/log.h"
#include "server/store/store_sched.h"

/* A queued report: the message's fields (copied), then what the flush
 * decided. */
struct report_pending {
	int64_t   instance_id, app_id, report_time, end_time;
	int64_t   total, succeed, failed; /* task counts */
	int       status;
	char     *source, *in_result; /* copies of the message's */
	ar_return ret;
	/* decided at the flush, APPLY only */
	bool                 apply, finished, retry;
	int                  retry_num;
	struct pj_transition t;
	struct pj_instance   cur;          /* the row as read (owned) */
	char                *result, *tt; /* copies for t.set */
};

static void
answer(ar_ctx *ctx, struct pj_server_env *env, const ar_return *ret,
    Pj__Cluster__Code code, const char *msg)
{
	Pj__Cluster__Ack a = PJ__CLUSTER__ACK__INIT;
	if (code != PJ__CLUSTER__CODE__OK) {
		atomic_fetch_add(&env->refused, 1);
	}
	a.code    = code;
	a.message = (char *) (msg ? msg : "");
	if (!ar_ref_is_none(ret->sender)) {
		ar_reply_later(
		    ar_ctx_system(ctx), ar_ctx_self(ctx), ret, &a.base);
	}
}

static bool
in_batch(const struct report_batch *b, int64_t id)
{
	for (size_t k = 0; k < b->n; k++) {
		if (b->v[k].instance_id == id) {
			return true;
		}
	}
	return false;
}

static void
pending_fini(struct report_pending *p)
{
	pj_instance_fini(&p->cur);
	free(p->result);
	free(p->tt);
	free(p->source);
	free(p->in_result);
}

static char *
dup_or_null(const char *s)
{
	return s ? ar_xstrdup(s) : NULL;
}

/* rows sorted by instance_id, for the lookup */
static int
by_instance(const void *a, const void *b)
{
	const struct pj_instance *x = *(struct pj_instance *const *) a;
	const struct pj_instance *y = *(struct pj_instance *const *) b;
	return x->instance_id < y->instance_id ? -1
	                                       : x->instance_id > y->instance_id;
}

static size_t
find_row(struct pj_instance **idx, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;
		if (idx[m]->instance_id < id) {
			lo = m + 1;
		} else {
			hi = m;
		}
	}
	return lo < n && idx[lo]->instance_id == id ? lo : n;
}

/* Decides p against its row (moved into p->cur when it applies) and
 * answers every verdict but APPLY now. */
static void
decide(ar_ctx *ctx, struct pj_server_env *env, struct report_pending *p,
    struct pj_instance *cur, const struct pj_report_job *job, int64_t now)
{
	struct pj_report_action a;
	char                    buf[300];
	int                     retry_num = job->job_found ? job->retry_num : 0;
	bool frequent = job->job_found && pj_sched_frequent(job->time_type);
	struct pj_report rep = { .status = p->status,
		.source                  = p->source,
		.report_time             = p->report_time,
		.end_time                = p->end_time,
		.result                  = p->in_result,
		.launches                = p->total };
	pj_sched_report(cur, &rep, retry_num, frequent, now,
	    env->sched.retry_delay_ms, &a);
	switch (a.verdict) {
	case PJ_REPORT_INVALID:
		snprintf(buf, sizeof(buf),
		    "instance %lld is in status %d: a report of status %d "
		    "cannot apply",
		    (long long) p->instance_id, cur->status, p->status);
		answer(ctx, env, &p->ret, PJ__CLUSTER__CODE__BAD_REQUEST, buf);
		break;
	case PJ_REPORT_FOREIGN:
		ar_log(AR_LOG_WARN, "server",
		    "app=%lld instance=%lld report from %s, whose TaskTracker "
		    "is '%s': dropped, the sender told to stop it",
		    (long long) p->app_id, (long long) p->instance_id,
		    p->source ? p->source : "", cur->task_tracker_address);
		pj_sched_tell_stop(env, ar_ctx_self(ctx), p->source, p->app_id,
		    p->instance_id, "not this instance's TaskTracker");
		snprintf(buf, sizeof(buf),
		    "instance %lld: %s is not its TaskTracker; stop it",
		    (long long) p->instance_id, p->source ? p->source : "");
		answer(ctx, env, &p->ret, PJ__CLUSTER__CODE__BAD_REQUEST, buf);
		break;
	case PJ_REPORT_FINISHED:
		if (frequent && cur->status == PJ_INST_FAILED) {
			pj_sched_tell_stop(env, ar_ctx_self(ctx), p->source,
			    p->app_id, p->instance_id, "instance failed over");
		}
		answer(ctx, env, &p->ret, PJ__CLUSTER__CODE__OK, NULL);
		break; /* a late or repeated report */
	case PJ_REPORT_STALE:
		answer(ctx, env, &p->ret, PJ__CLUSTER__CODE__OK, NULL);
		break;
	case PJ_REPORT_APPLY:
		/* the task counts, for instance detail (memory only) */
		if (a.retry) {
			pj_progress_drop(env->progress, p->instance_id);
		} else {
			pj_progress_update(env->progress, p->instance_id,
			    p->total, p->succeed, p->failed, p->report_time, now);
		}
		p->apply         = true;
		p->t.instance_id = p->instance_id;
		p->t.from        = a.from;
		p->t.to          = a.to;
		p->t.mask        = a.mask;
		p->t.set         = a.set;
		p->result        = dup_or_null(a.set.result);
		p->tt            = dup_or_null(a.set.task_tracker_address);
		p->t.set.result  = p->result;
		p->t.set.task_tracker_address = p->tt;
		p->cur                        = *cur;
		memset(cur, 0, sizeof(*cur));
		p->finished  = a.finished;
		p->retry     = a.retry;
		p->retry_num = retry_num;
		break;
	}
}

/* Writes the APPLY verdicts of the batch in one transaction, then acts
 * and answers each. */
static void
apply_batch(ar_ctx *ctx, struct pj_server_env *env, struct report_batch *b,
    int64_t now)
{
	struct pj_transition *t = ar_xmalloc(b->n * sizeof(*t));
	size_t                n = 0;
	for (size_t k = 0; k < b->n; k++) {
		if (b->v[k].apply) {
			t[n++] = b->v[k].t;
		}
	}
	if (n > 0) {
		pj_store_instances_apply(env->store, t, n, now);
	}
	n = 0;
	for (size_t k = 0; k < b->n; k++) {
		struct report_pending *p = &b->v[k];
		if (!p->apply) {
			continue;
		}
		int rv = t[n++].rv;
		if (rv != 0) {
			answer(ctx, env, &p->ret,
			    rv == PJ_STORE_ECONFLICT
			        ? PJ__CLUSTER__CODE__INTERNAL
			        : PJ__CLUSTER__CODE__DB_DOWN,
			    pj_store_errmsg(env->store));
			continue;
		}
		atomic_fetch_add(&env->reports, 1);
		if (p->finished) {
			pj_sched_finished(env, &p->cur, p->t.to, p->t.set.result);
		} else if (p->retry) {
			Pj__Sched__Arm arm = PJ__SCHED__ARM__INIT;
			arm.instance_id    = p->t.instance_id;
			arm.fire_ms        = p->t.set.expected_trigger_time;
			ar_tell(env->sys, env->scheduler, &arm.base,
			    ar_ctx_self(ctx));
			ar_log(AR_LOG_INFO, "server",
			    "app=%lld job=%lld instance=%lld failed (%s); "
			    "attempt %lld of %d, runs again in %lld ms",
			    (long long) p->cur.app_id,
			    (long long) p->cur.job_id,
			    (long long) p->t.instance_id,
			    p->result ? p->result : "",
			    (long long) p->t.set.running_times,
			    p->retry_num + 1,
			    (long long) env->sched.retry_delay_ms);
		}
		answer(ctx, env, &p->ret, PJ__CLUSTER__CODE__OK, NULL);
	}
	free(t);
}

void
server_reports_flush(
    ar_ctx *ctx, struct pj_server_env *env, struct report_batch *b)
{
	size_t                n   = b->n;
	int64_t              *ids = NULL;
	struct pj_report_rows rows;
	struct pj_instance  **idx = NULL;
	char                  buf[300];
	int                   rv;
	if (n == 0) {
		return;
	}
	ids = ar_xmalloc(n * sizeof(*ids));
	for (size_t k = 0; k < n; k++) {
		ids[k] = b->v[k].instance_id;
	}
	rv = pj_store_report_rows(env->store, ids, n, &rows);
	free(ids);
	b->flushes++;
	if (rv != 0) {
		snprintf(buf, sizeof(buf), "database unavailable: %s",
		    pj_store_errmsg(env->store));
		for (size_t k = 0; k < n; k++) {
			answer(ctx, env, &b->v[k].ret,
			    PJ__CLUSTER__CODE__DB_DOWN, buf);
		}
		goto done;
	}
	idx = ar_xmalloc((rows.rows.n + 1) * sizeof(*idx));
	for (size_t k = 0; k < rows.rows.n; k++) {
		idx[k] = &rows.rows.v[k];
	}
	qsort(idx, rows.rows.n, sizeof(*idx), by_instance);
	/* each report's row, found before any is moved out (decide empties
	 * the row it takes; a batch names an instance once) */
	size_t *at = ar_xmalloc(n * sizeof(*at));
	for (size_t k = 0; k < n; k++) {
		at[k] = find_row(idx, rows.rows.n, b->v[k].instance_id);
	}
	int64_t now = ar_now_ms();
	for (size_t k = 0; k < n; k++) {
		struct report_pending *p = &b->v[k];
		size_t                 r = at[k];
		if (r == rows.rows.n || idx[r]->app_id != p->app_id) {
			snprintf(buf, sizeof(buf),
			    "instance %lld of app %lld: no such instance",
			    (long long) p->instance_id, (long long) p->app_id);
			answer(ctx, env, &p->ret, PJ__CLUSTER__CODE__NOT_FOUND,
			    buf);
			continue;
		}
		decide(ctx, env, p, idx[r],
		    &rows.job[idx[r] - rows.rows.v], now);
	}
	free(at);
	apply_batch(ctx, env, b, now);
	free(idx);
	pj_report_rows_fini(&rows);
done:
	for (size_t k = 0; k < n; k++) {
		pending_fini(&b->v[k]);
	}
	b->n = 0;
	if (b->cap > 4 * PJ_REPORT_BATCH_MAX) {
		free(b->v);
		b->v   = NULL;
		b->cap = 0;
	}
}

/* A TaskTracker's report (§5.7): what needs no database is checked now,
 * the rest is decided with the batch (server_reports_flush). */
void
server_report(ar_ctx *ctx, struct pj_server_env *env, struct report_batch *b,
    const Pj__Cluster__InstanceStatusReport *r)
{
	if (!server_require_owned(ctx, env, r->app_id, "status report")) {
		return;
	}
	if (!pj_inst_status_valid(r->instance_status)) {
		server_refuse(ctx, env, PJ__CLUSTER__CODE__BAD_REQUEST,
		    "status report with an unknown instance status");
		return;
	}
	if (in_batch(b, r->instance_id)) {
		server_reports_flush(ctx, env, b); /* decide on the new row */
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->v   = ar_xrealloc(b->v, b->cap * sizeof(*b->v));
	}
	struct report_pending *p = &b->v[b->n++];
	memset(p, 0, sizeof(*p));
	p->instance_id = r->instance_id;
	p->app_id      = r->app_id;
	p->status      = r->instance_status;
	p->report_time = r->report_time;
	p->end_time    = r->end_time;
	p->total       = r->total_task_num;
	p->succeed     = r->succeed_task_num;
	p->failed      = r->failed_task_num;
	p->source      = dup_or_null(r->source_address);
	p->in_result   = dup_or_null(r->result);
	p->ret         = ar_ctx_return(ctx);
	if (b->n == 1) {
		Pj__Sched__ReportFlush f = PJ__SCHED__REPORT_FLUSH__INIT;
		if (ar_tell(env->sys, ar_ctx_self(ctx), &f.base,
		        ar_ctx_self(ctx))
		    != 0) {
			server_reports_flush(ctx, env, b);
		}
	} else if (b->n >= PJ_REPORT_BATCH_MAX) {
		server_reports_flush(ctx, env, b);
	}
}
