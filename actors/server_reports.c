/*
 * server_reports.c - ServerActor's instance status reports (§5.7), written
 * in batches.
 *
 * Design notes
 * ------------
 * The rules are pj_sched_report's, unchanged: a report is read against the
 * instance's row and decided at once (stale, foreign, finished, invalid are
 * answered at once and write nothing; a foreign sender is told to stop).
 * Only APPLY waits: its conditional transition joins the batch, and the
 * first report of a batch tells the actor a ReportFlush.  The mailbox is
 * FIFO, so the flush comes after every report already queued: under load
 * a batch is whatever arrived meanwhile (up to PJ_REPORT_BATCH_MAX, then
 * it is flushed at once), idle it is one report and costs one message.
 * The flush runs the batch in one transaction (pj_store_instances_apply:
 * one commit, one fsync on SQLite, for many reports), then for each
 * report that moved calls the completion hook or arms the retry, and only
 * then answers the worker (ar_reply_later): a final report is
 * acknowledged once it is durable, as before.  A conditional update that
 * lost (somebody moved the row meanwhile) is answered INTERNAL as the
 * single update was; a failed transaction answers every report DB_DOWN
 * and the workers report again.
 * A report for an instance that already has a decided report in the batch
 * flushes the batch first, so it is decided against the row as written
 * (attempt counting, staleness and RUNNING -> final in one batch stay
 * exactly as one by one).
 * Threads: the ServerActor's turn only (blocking dispatcher).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/server_int.h"
#include "runtime/alloc.h"
#include "runtime/log.h"
#include "server/store/store_sched.h"

struct report_pending {
	struct pj_transition t;
	struct pj_instance   cur; /* the row as read (owned) */
	ar_return            ret;
	bool                 finished, retry;
	int                  retry_num;
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
		if (b->v[k].t.instance_id == id) {
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
}

void
server_reports_flush(
    ar_ctx *ctx, struct pj_server_env *env, struct report_batch *b)
{
	size_t                n = b->n;
	int64_t               now = ar_now_ms();
	struct pj_transition *t;
	if (n == 0) {
		return;
	}
	t = ar_xmalloc(n * sizeof(*t));
	for (size_t k = 0; k < n; k++) {
		t[k] = b->v[k].t;
	}
	pj_store_instances_apply(env->store, t, n, now);
	b->flushes++;
	for (size_t k = 0; k < n; k++) {
		struct report_pending *p = &b->v[k];
		if (t[k].rv != 0) {
			answer(ctx, env, &p->ret,
			    t[k].rv == PJ_STORE_ECONFLICT
			        ? PJ__CLUSTER__CODE__INTERNAL
			        : PJ__CLUSTER__CODE__DB_DOWN,
			    pj_store_errmsg(env->store));
			pending_fini(p);
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
		pending_fini(p);
	}
	free(t);
	b->n = 0;
	if (b->cap > 4 * PJ_REPORT_BATCH_MAX) {
		free(b->v);
		b->v   = NULL;
		b->cap = 0;
	}
}

static char *
dup_or_null(const char *s)
{
	return s ? ar_xstrdup(s) : NULL;
}

/* Adds an APPLY to the batch (cur moved in). */
static void
enqueue(ar_ctx *ctx, struct pj_server_env *env, struct report_batch *b,
    const Pj__Cluster__InstanceStatusReport *r, struct pj_instance *cur,
    const struct pj_report_action *a, int retry_num)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->v   = ar_xrealloc(b->v, b->cap * sizeof(*b->v));
	}
	struct report_pending *p = &b->v[b->n++];
	memset(p, 0, sizeof(*p));
	p->t.instance_id = r->instance_id;
	p->t.from        = a->from;
	p->t.to          = a->to;
	p->t.mask        = a->mask;
	p->t.set         = a->set;
	p->result        = dup_or_null(a->set.result);
	p->tt            = dup_or_null(a->set.task_tracker_address);
	p->t.set.result  = p->result;
	p->t.set.task_tracker_address = p->tt;
	p->cur                        = *cur;
	memset(cur, 0, sizeof(*cur));
	p->ret       = ar_ctx_return(ctx);
	p->finished  = a->finished;
	p->retry     = a->retry;
	p->retry_num = retry_num;
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

/* A TaskTracker's report (§5.7): the rules are pj_sched_report's; a
 * report from a worker that is not the recorded TaskTracker is refused and
 * that worker told to stop the instance; a retry is armed on the
 * scheduler for its delay; a finished instance calls the completion hook.
 * Final states are answered once written. */
void
server_report(ar_ctx *ctx, struct pj_server_env *env, struct report_batch *b,
    const Pj__Cluster__InstanceStatusReport *r)
{
	struct pj_instance      cur = { 0 };
	struct pj_job           job;
	struct pj_report_action a;
	char                    buf[300];
	int                     rv, retry_num = 0;
	bool                    frequent = false;
	int64_t                 now;

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
	rv = pj_store_instance_get(env->store, r->instance_id, &cur);
	if (rv != 0 || cur.app_id != r->app_id) {
		snprintf(buf, sizeof(buf), "instance %lld of app %lld: %s",
		    (long long) r->instance_id, (long long) r->app_id,
		    rv == 0 || rv == PJ_STORE_ENOTFOUND
		        ? "no such instance"
		        : "database unavailable");
		server_refuse(ctx, env,
		    rv == 0 || rv == PJ_STORE_ENOTFOUND
		        ? PJ__CLUSTER__CODE__NOT_FOUND
		        : PJ__CLUSTER__CODE__DB_DOWN,
		    buf);
		if (rv == 0) {
			pj_instance_fini(&cur);
		}
		return;
	}
	if (pj_store_job_get(env->store, cur.job_id, &job) == 0) {
		retry_num = job.instance_retry_num;
		frequent  = pj_sched_frequent(job.time_expression_type);
		pj_job_fini(&job);
	}
	struct pj_report rep = { .status = r->instance_status,
		.source                  = r->source_address,
		.report_time             = r->report_time,
		.end_time                = r->end_time,
		.result                  = r->result,
		.launches                = r->total_task_num };
	now                  = ar_now_ms();
	pj_sched_report(&cur, &rep, retry_num, frequent, now,
	    env->sched.retry_delay_ms, &a);
	switch (a.verdict) {
	case PJ_REPORT_INVALID:
		snprintf(buf, sizeof(buf),
		    "instance %lld is in status %d: a report of status %d "
		    "cannot apply",
		    (long long) r->instance_id, cur.status,
		    r->instance_status);
		server_refuse(ctx, env, PJ__CLUSTER__CODE__BAD_REQUEST, buf);
		break;
	case PJ_REPORT_FOREIGN:
		ar_log(AR_LOG_WARN, "server",
		    "app=%lld instance=%lld report from %s, whose TaskTracker "
		    "is '%s': dropped, the sender told to stop it",
		    (long long) r->app_id, (long long) r->instance_id,
		    r->source_address, cur.task_tracker_address);
		pj_sched_tell_stop(env, ar_ctx_self(ctx), r->source_address,
		    r->app_id, r->instance_id,
		    "not this instance's TaskTracker");
		snprintf(buf, sizeof(buf),
		    "instance %lld: %s is not its TaskTracker; stop it",
		    (long long) r->instance_id, r->source_address);
		server_refuse(ctx, env, PJ__CLUSTER__CODE__BAD_REQUEST, buf);
		break;
	case PJ_REPORT_FINISHED:
		if (frequent && cur.status == PJ_INST_FAILED) {
			pj_sched_tell_stop(env, ar_ctx_self(ctx),
			    r->source_address, r->app_id, r->instance_id,
			    "instance failed over");
		}
		server_ack_ok(ctx); /* a late or repeated report */
		break;
	case PJ_REPORT_STALE:
		server_ack_ok(ctx);
		break;
	case PJ_REPORT_APPLY:
		/* the task counts, for instance detail (memory only) */
		if (a.retry) {
			pj_progress_drop(env->progress, r->instance_id);
		} else {
			pj_progress_update(env->progress, r->instance_id,
			    r->total_task_num, r->succeed_task_num,
			    r->failed_task_num, r->report_time, now);
		}
		enqueue(ctx, env, b, r, &cur, &a, retry_num);
		break;
	}
	pj_instance_fini(&cur);
}
