/*
 * scheduler_ops.c - the SchedulerActor's status checks, instance
 * timeouts, cleanup, operators' requests (run job, stop, cancel, retry,
 * forwarded by FriendActor), the job operations (enable, disable,
 * delete) and the actor itself.  Passes, fires and
 * dispatch: scheduler_actor.c (its design notes cover both files).
 *
 * Threads: the actor's turn only (blocking dispatcher).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/scheduler_int.h"
#include "runtime/log.h"
#include "server/store/store_sched.h"

/* ---- status checks (§5.8) ------------------------------------------------
 */

static void
check_receive(ar_ctx *ctx, struct sched_state *s, const int64_t *apps,
    size_t n, int64_t now)
{
	struct pj_server_env   *env = s->env;
	struct pj_instance_list l   = { 0 };
	if (pj_store_instances_check(env->store, PJ_CHECK_WAITING_RECEIVE,
	        apps, n, now - env->sched.wait_receive_ms, CHECK_LIMIT, &l)
	        != 0
	    || l.n == 0) {
		pj_instance_list_fini(&l);
		return;
	}
	int64_t *ids = ar_xmalloc(l.n * sizeof(*ids)), moved = 0;
	for (size_t k = 0; k < l.n; k++) {
		ids[k] = l.v[k].instance_id;
	}
	struct pj_instance set = { 0 };
	if (pj_store_instances_transition(env->store, ids, l.n,
	        PJ_INST_WAITING_WORKER_RECEIVE, PJ_INST_WAITING_DISPATCH, &set,
	        0, now, &moved)
	    == 0) {
		ar_log(AR_LOG_INFO, "sched",
		    "%lld instances not received within %lld ms: dispatched "
		    "again",
		    (long long) moved, (long long) env->sched.wait_receive_ms);
		s->st.redispatched += (uint64_t) moved;
		for (size_t k = 0; k < l.n; k++) {
			sched_dispatch_id(ctx, s, ids[k]);
		}
	}
	free(ids);
	pj_instance_list_fini(&l);
}

static void
check_running(ar_ctx *ctx, struct sched_state *s, const int64_t *apps,
    size_t n, int64_t now)
{
	struct pj_server_env   *env = s->env;
	struct pj_instance_list l   = { 0 };
	if (pj_store_instances_check(env->store, PJ_CHECK_RUNNING, apps, n,
	        now - env->sched.running_silent_ms, CHECK_LIMIT, &l)
	    != 0) {
		return;
	}
	for (size_t k = 0; k < l.n; k++) {
		struct pj_instance *i = &l.v[k];
		struct pj_job       j;
		const char         *result;
		int rv = pj_store_job_get(env->store, i->job_id, &j);
		if (rv != 0 && rv != PJ_STORE_ENOTFOUND) {
			continue;
		}
		enum pj_check_verdict v
		    = pj_sched_check_running(i, rv == 0 ? &j : NULL, &result);
		if (rv == 0) {
			pj_job_fini(&j);
		}
		ar_log(AR_LOG_WARN, "sched",
		    "app=%lld job=%lld instance=%lld: no report from %s for "
		    "%lld ms; %s",
		    (long long) i->app_id, (long long) i->job_id,
		    (long long) i->instance_id, i->task_tracker_address,
		    (long long) env->sched.running_silent_ms,
		    v == PJ_CHECK_REDISPATCH ? "dispatched again" : "failed");
		pj_sched_tell_stop(env, ar_ctx_self(ctx),
		    i->task_tracker_address, i->app_id, i->instance_id,
		    PJ_RESULT_REPORT_TIMEOUT);
		if (v == PJ_CHECK_REDISPATCH) {
			struct pj_instance set = { 0 };
			if (pj_store_instance_transition(env->store,
			        i->instance_id, PJ_INST_RUNNING,
			        PJ_INST_WAITING_DISPATCH, &set, 0, now)
			    == 0) {
				s->st.redispatched++;
				/* the lost attempt's task counts go */
				pj_progress_drop(env->progress, i->instance_id);
				sched_dispatch_id(ctx, s, i->instance_id);
			}
		} else {
			sched_finish(s, i, PJ_INST_FAILED, result, NULL);
		}
	}
	pj_instance_list_fini(&l);
}

/* Instances past their job's instance_time_limit. */
static void
check_timeouts(ar_ctx *ctx, struct sched_state *s, const int64_t *apps,
    size_t n, int64_t now)
{
	struct pj_server_env *env = s->env;
	for (size_t a = 0; a < n; a++) {
		struct pj_instance_query q = { .app_id = apps[a],
			.status_in
			= { PJ_INST_WAITING_WORKER_RECEIVE, PJ_INST_RUNNING },
			.n_status_in = 2,
			.limit       = 1000 };
		struct pj_instance_list  l;
		if (pj_store_instance_list(env->store, &q, &l) != 0) {
			continue;
		}
		int64_t       job_id = 0;
		struct pj_job j      = { 0 };
		bool          have   = false;
		for (size_t k = 0; k < l.n; k++) {
			struct pj_instance *i = &l.v[k];
			if (i->job_id != job_id) {
				if (have) {
					pj_job_fini(&j);
				}
				job_id = i->job_id;
				have = pj_store_job_get(env->store, job_id, &j)
				    == 0;
			}
			if (!have || !pj_sched_timed_out(i, &j, now)) {
				continue;
			}
			ar_log(AR_LOG_WARN, "sched",
			    "app=%lld job=%lld instance=%lld ran over %lld "
			    "ms: failed, TaskTracker told to stop",
			    (long long) i->app_id, (long long) i->job_id,
			    (long long) i->instance_id,
			    (long long) j.instance_time_limit);
			pj_sched_tell_stop(env, ar_ctx_self(ctx),
			    i->task_tracker_address, i->app_id, i->instance_id,
			    PJ_RESULT_TIMEOUT);
			sched_finish(
			    s, i, PJ_INST_FAILED, PJ_RESULT_TIMEOUT, NULL);
		}
		if (have) {
			pj_job_fini(&j);
		}
		pj_instance_list_fini(&l);
	}
}

static void
on_check(ar_ctx *ctx, struct sched_state *s)
{
	int64_t apps[OWNED_MAX], now = ar_now_ms();
	size_t  n = pj_owned_list(s->env->owned, apps, OWNED_MAX);
	if (n > OWNED_MAX) {
		n = OWNED_MAX;
	}
	sched_jobs_clear(s); /* bounded: the next pass fills it again */
	if (n == 0) {
		return;
	}
	/* WAITING_DISPATCH not armed here: lost timers, a lost Arm, the
	 * overload back-off (PowerJob's 30 s check, without the wait: the
	 * armed set says what is still pending) */
	sched_arm_pending(ctx, s, apps, n);
	check_receive(ctx, s, apps, n, now);
	check_running(ctx, s, apps, n, now);
	check_timeouts(ctx, s, apps, n, now);
}

/* ---- cleanup (§5.11) ------------------------------------------------------
 */

static void
on_clean(struct sched_state *s)
{
	struct pj_server_env *env = s->env;
	int64_t               now = ar_now_ms(), gone = 0, total = 0;
	if (pj_store_lock_try(
	        env->store, CLEAN_LOCK, env->self, CLEAN_LOCK_MS, now)
	    != 0) {
		return; /* another server cleans */
	}
	do {
		if (pj_store_instances_clean(env->store,
		        now - env->sched.retention_ms, CLEAN_LIMIT, &gone)
		    != 0) {
			ar_log(AR_LOG_WARN, "sched", "cleanup failed: %s",
			    pj_store_errmsg(env->store));
			break;
		}
		total += gone;
	} while (gone == CLEAN_LIMIT && ar_now_ms() - now < CLEAN_LOCK_MS / 2);
	/* logs kept outside the SQL store go by age, with the same retention
	 * (docs/logstore.md: the cleanup job, not a TTL index) */
	if (env->logstore != NULL
	    && strcmp(pj_logstore_name(env->logstore), "sql") != 0) {
		int64_t lines = 0;
		if (pj_logstore_delete_before(env->logstore,
		        now - env->sched.retention_ms, &lines)
		    != 0) {
			ar_log(AR_LOG_WARN, "sched", "log cleanup failed: %s",
			    pj_logstore_errmsg());
		} else {
			ar_log(AR_LOG_INFO, "sched",
			    "cleanup: %lld log lines older than %lld days "
			    "removed from %s",
			    (long long) lines,
			    (long long) (env->sched.retention_ms / 86400000),
			    pj_logstore_name(env->logstore));
		}
	}
	pj_store_lock_unlock(env->store, CLEAN_LOCK);
	ar_log(AR_LOG_INFO, "sched",
	    "cleanup: %lld finished instances older than %lld days removed "
	    "with their logs",
	    (long long) total,
	    (long long) (env->sched.retention_ms / 86400000));
}

/* ---- operators (§5.10, §5.5) ---------------------------------------------
 */

static void
op_reply(ar_ctx *ctx, struct sched_state *s, Pj__Cluster__Code code,
    const char *msg, int64_t instance_id)
{
	Pj__Friend__OpReply r = PJ__FRIEND__OP_REPLY__INIT;
	r.code                = code;
	r.message             = (char *) msg;
	r.served_by           = s->env->self;
	r.instance_id         = instance_id;
	ar_reply(ctx, &r.base);
}

/* The operation's job, when it exists, is the request's app's and is not
 * deleted: true with *j filled (pj_job_fini it); false when the request
 * was answered (NOT_FOUND, or DB_DOWN when the store failed). */
static bool
op_job_load(ar_ctx *ctx, struct sched_state *s,
    const Pj__Friend__OpRequest *q, struct pj_job *j)
{
	char buf[200];
	int  rv = pj_store_job_get(s->env->store, q->job_id, j);
	if (rv == 0 && j->app_id == q->app_id
	    && j->status != PJ_STATUS_DELETED) {
		return true;
	}
	snprintf(buf, sizeof(buf), "job %lld of app %lld: %s",
	    (long long) q->job_id, (long long) q->app_id,
	    rv == 0 || rv == PJ_STORE_ENOTFOUND ? "no such job"
	                                        : "database unavailable");
	op_reply(ctx, s,
	    rv == 0 || rv == PJ_STORE_ENOTFOUND ? PJ__CLUSTER__CODE__NOT_FOUND
	                                        : PJ__CLUSTER__CODE__DB_DOWN,
	    buf, 0);
	if (rv == 0) {
		pj_job_fini(j);
	}
	return false;
}

static void
op_run_job(ar_ctx *ctx, struct sched_state *s, const Pj__Friend__OpRequest *q)
{
	struct pj_server_env *env = s->env;
	struct pj_job         j;
	int64_t               now = ar_now_ms();
	int                   rv;
	if (!op_job_load(ctx, s, q, &j)) {
		return;
	}
	struct pj_instance i    = { 0 };
	i.instance_id           = pj_ids_next(&env->ids);
	i.job_id                = j.id;
	i.app_id                = j.app_id;
	i.type                  = 1;
	i.status                = PJ_INST_WAITING_DISPATCH;
	i.job_params            = j.job_params;
	i.instance_params       = q->params;
	i.result                = "";
	i.task_tracker_address  = "";
	/* a delayed run is a WAITING_DISPATCH row now, armed for its time;
	 * a restarted or new owner arms it through the check / take-over */
	i.expected_trigger_time = now + (q->delay_ms > 0 ? q->delay_ms : 0);
	i.last_report_time      = -1;
	rv = pj_store_instances_create(env->store, &i, 1, now);
	pj_job_fini(&j);
	if (rv != 0) {
		op_reply(ctx, s, PJ__CLUSTER__CODE__DB_DOWN,
		    pj_store_errmsg(env->store), 0);
		return;
	}
	op_reply(ctx, s, PJ__CLUSTER__CODE__OK, "", i.instance_id);
	if (q->delay_ms <= 0) {
		sched_dispatch_id(ctx, s, i.instance_id);
		return;
	}
	/* job id 0: the Fire reads the row (it has instance parameters) */
	struct pj_sched_fire f = { .instance_id = i.instance_id,
		.app_id  = i.app_id,
		.fire_ms = i.expected_trigger_time };
	sched_arm(ctx, s, &f, 1);
}

/* Cancels job's WAITING_DISPATCH rows: its scheduled fires, and with
 * `all` its delayed runs too; returns how many. */
static int64_t
cancel_pending(struct sched_state *s, int64_t job_id, bool all)
{
	struct pj_instance_query q = { .job_id = job_id,
		.status_in                     = { PJ_INST_WAITING_DISPATCH },
		.n_status_in                   = 1,
		.limit                         = 1000 };
	struct pj_instance_list  l;
	int64_t                  n = 0;
	for (;;) {
		if (pj_store_instance_list(s->env->store, &q, &l) != 0) {
			return n; /* the dispatch-time rule stays the backstop */
		}
		for (size_t k = 0; k < l.n; k++) {
			if ((all || l.v[k].fire_time != 0)
			    && sched_finish(s, &l.v[k], PJ_INST_CANCELED,
			           PJ_RESULT_JOB_DISABLED, NULL)
			        == 0) {
				n++;
			}
		}
		size_t got = l.n;
		if (got > 0) {
			q.after_id = l.v[got - 1].id;
		}
		pj_instance_list_fini(&l);
		if (got < (size_t) q.limit) {
			return n;
		}
	}
}

/* A frequent job's live instances (its one long-lived instance, §5.9)
 * are STOPPED and their TaskTrackers told, as PowerJob's disableJob /
 * deleteJob do: else the TaskTracker would launch sub-instances of a
 * disabled job forever.  Returns how many. */
static int64_t
stop_frequent(ar_ctx *ctx, struct sched_state *s, int64_t job_id)
{
	struct pj_instance_query q = { .job_id = job_id,
		.status_in = { PJ_INST_WAITING_DISPATCH,
		    PJ_INST_WAITING_WORKER_RECEIVE, PJ_INST_RUNNING },
		.n_status_in = 3,
		.limit       = 100 };
	struct pj_instance_list  l;
	int64_t                  n = 0;
	if (pj_store_instance_list(s->env->store, &q, &l) != 0) {
		return 0; /* its reports find the job disabled: next check */
	}
	for (size_t k = 0; k < l.n; k++) {
		const struct pj_instance *i = &l.v[k];
		if (sched_finish(s, i, PJ_INST_STOPPED, PJ_RESULT_FREQUENT_OFF,
		        NULL)
		    != 0) {
			continue;
		}
		n++;
		if (i->task_tracker_address != NULL
		    && i->task_tracker_address[0]) {
			pj_sched_tell_stop(s->env, ar_ctx_self(ctx),
			    i->task_tracker_address, i->app_id,
			    i->instance_id, PJ_RESULT_FREQUENT_OFF);
		}
	}
	pj_instance_list_fini(&l);
	return n;
}

/* ENABLE_JOB / DISABLE_JOB / DELETE_JOB (the OpenAPI's enable, disable and
 * delete call this through FriendActor).  Enabling a disabled job sets
 * next_trigger_time from now (nothing missed while it was off is
 * replayed); the next pass schedules it.  Disabling or deleting cancels
 * its pending fires now, stops a frequent job's live instance, and marks
 * the job cache's copy stale. */
static void
op_job(ar_ctx *ctx, struct sched_state *s, const Pj__Friend__OpRequest *q)
{
	struct pj_server_env *env = s->env;
	struct pj_job         j;
	char                  msg[200] = "";
	int64_t               now      = ar_now_ms();
	int                   rv       = 0;
	if (!op_job_load(ctx, s, q, &j)) {
		return;
	}
	if (q->op == PJ__FRIEND__OP__ENABLE_JOB) {
		if (j.status != PJ_STATUS_ENABLE) {
			int64_t next = pj_sched_enable_next(&j, now);
			rv = pj_store_job_set_next_trigger(
			    env->store, j.id, next, now);
			if (rv == 0) {
				rv = pj_store_job_set_status(
				    env->store, j.id, PJ_STATUS_ENABLE, now);
			}
			snprintf(msg, sizeof(msg), "next fire at %lld",
			    (long long) next);
		}
	} else {
		bool del = q->op == PJ__FRIEND__OP__DELETE_JOB;
		rv       = pj_store_job_set_status(env->store, j.id,
		          del ? PJ_STATUS_DELETED : PJ_STATUS_DISABLE, now);
		if (rv == 0) {
			int64_t n = cancel_pending(s, j.id, del), f = 0;
			if (pj_sched_frequent(j.time_expression_type)) {
				f = stop_frequent(ctx, s, j.id);
			}
			snprintf(msg, sizeof(msg),
			    "%lld pending fires canceled, %lld instances "
			    "stopped",
			    (long long) n, (long long) f);
			ar_log(AR_LOG_INFO, "sched",
			    "app=%lld job=%lld %s: %s", (long long) j.app_id,
			    (long long) j.id, del ? "deleted" : "disabled",
			    msg);
		}
	}
	sched_jobs_stale(s, j.id);
	pj_job_fini(&j);
	op_reply(ctx, s,
	    rv == 0 ? PJ__CLUSTER__CODE__OK : PJ__CLUSTER__CODE__DB_DOWN,
	    rv == 0 ? msg : pj_store_errmsg(env->store), 0);
}

static void
op_instance(ar_ctx *ctx, struct sched_state *s, const Pj__Friend__OpRequest *q)
{
	struct pj_server_env *env = s->env;
	struct pj_instance    i;
	char                  msg[300];
	int                   rv;
	if ((rv = pj_store_instance_get(env->store, q->instance_id, &i)) != 0
	    || i.app_id != q->app_id) {
		snprintf(msg, sizeof(msg), "instance %lld of app %lld: %s",
		    (long long) q->instance_id, (long long) q->app_id,
		    rv == 0 || rv == PJ_STORE_ENOTFOUND
		        ? "no such instance"
		        : "database unavailable");
		op_reply(ctx, s,
		    rv == 0 || rv == PJ_STORE_ENOTFOUND
		        ? PJ__CLUSTER__CODE__NOT_FOUND
		        : PJ__CLUSTER__CODE__DB_DOWN,
		    msg, q->instance_id);
		if (rv == 0) {
			pj_instance_fini(&i);
		}
		return;
	}
	switch (q->op) {
	case PJ__FRIEND__OP__STOP_INSTANCE:
		if ((rv = pj_sched_can_stop(&i, msg, sizeof(msg))) == 0) {
			rv = sched_finish(
			    s, &i, PJ_INST_STOPPED, PJ_RESULT_STOPPED, NULL);
			if (rv == 0) {
				pj_sched_tell_stop(env, ar_ctx_self(ctx),
				    i.task_tracker_address, i.app_id,
				    i.instance_id, PJ_RESULT_STOPPED);
			}
		}
		break;
	case PJ__FRIEND__OP__CANCEL_INSTANCE:
		if ((rv = pj_sched_can_cancel(&i, msg, sizeof(msg))) == 0) {
			/* an armed timer finds it CANCELED and skips it */
			rv = sched_finish(
			    s, &i, PJ_INST_CANCELED, PJ_RESULT_CANCELED, NULL);
		}
		break;
	case PJ__FRIEND__OP__RETRY_INSTANCE:
		if ((rv = pj_sched_can_retry(&i, msg, sizeof(msg))) == 0) {
			struct pj_instance set    = { 0 };
			int64_t            now    = ar_now_ms();
			set.expected_trigger_time = now;
			set.result                = "";
			set.task_tracker_address  = "";
			rv = pj_store_instance_transition(env->store,
			    i.instance_id, i.status, PJ_INST_WAITING_DISPATCH,
			    &set,
			    PJ_SET_EXPECTED | PJ_SET_RESULT | PJ_SET_TT_ADDRESS
			        | PJ_SET_ACTUAL_TRIGGER | PJ_SET_FINISHED,
			    now);
			if (rv == 0) {
				/* the last run's task counts go */
				pj_progress_drop(env->progress, i.instance_id);
				sched_dispatch_id(ctx, s, i.instance_id);
			}
		}
		break;
	default:
		rv = -1;
		snprintf(msg, sizeof(msg), "unknown operation");
	}
	if (rv == PJ_STORE_ECONFLICT) {
		snprintf(msg, sizeof(msg),
		    "instance %lld changed meanwhile; look at it again",
		    (long long) i.instance_id);
	}
	op_reply(ctx, s,
	    rv == 0                        ? PJ__CLUSTER__CODE__OK
	        : rv < 0                   ? PJ__CLUSTER__CODE__BAD_REQUEST
	        : rv == PJ_STORE_ECONFLICT ? PJ__CLUSTER__CODE__BAD_REQUEST
	                                   : PJ__CLUSTER__CODE__DB_DOWN,
	    rv == 0 ? "" : msg, i.instance_id);
	pj_instance_fini(&i);
}

/* ---- the actor ------------------------------------------------------------
 */

/* Arms the next PASS or CHECK tick in the middle between whole seconds
 * (x.500; a period under a second: half way between its multiples):
 * most fires fall on whole seconds, and a pass or a check (tens of ms of
 * store calls on this one actor) must not hold them up. */
static int
arm_tick(ar_ctx *ctx, Pj__Sched__TickKind kind, int64_t period,
    ar_timer_id *id)
{
	Pj__Sched__Tick t = PJ__SCHED__TICK__INIT;
	int64_t         now = ar_now_ms(), at;
	t.kind              = kind;
	if (period >= 1000) {
		at = (now + period) / 1000 * 1000 + 500;
		if (at - now > period + 500) {
			at -= 1000;
		}
	} else {
		at = (now / period + 1) * period + period / 2;
		if (at - now > period) {
			at -= period;
		}
	}
	return ar_timer_once(ar_ctx_system(ctx), ar_ctx_self(ctx), &t.base,
	    at > now ? at - now : 0, id);
}

static int
sched_pre_start(ar_ctx *ctx, void *state)
{
	struct sched_state *s  = state;
	Pj__Sched__Tick     t  = PJ__SCHED__TICK__INIT;
	ar_system          *sy = ar_ctx_system(ctx);
	int                 rv;
	s->env = (struct pj_server_env *) ar_ctx_init_arg(ctx);
	s->st  = (Pj__Sched__Stats) PJ__SCHED__STATS__INIT;
	s->rnd = (uint64_t) ar_now_ms() * 2654435761u | 1;
	if ((rv = arm_tick(ctx, PJ__SCHED__TICK_KIND__PASS,
	         s->env->sched.pass_ms, &s->pass_timer))
	        != 0
	    || (rv = arm_tick(ctx, PJ__SCHED__TICK_KIND__CHECK,
	            s->env->sched.check_ms, &s->check_timer))
	        != 0) {
		return rv;
	}
	t.kind = PJ__SCHED__TICK_KIND__CLEAN;
	return ar_timer_every(sy, ar_ctx_self(ctx), &t.base,
	    s->env->sched.clean_ms, &s->clean_timer);
}

static void
sched_post_stop(ar_ctx *ctx, void *state)
{
	struct sched_state *s = state;
	ar_timer_cancel(ar_ctx_system(ctx), s->pass_timer);
	ar_timer_cancel(ar_ctx_system(ctx), s->check_timer);
	ar_timer_cancel(ar_ctx_system(ctx), s->clean_timer);
	free(s->armed.k);
	memset(&s->armed, 0, sizeof(s->armed));
	sched_jobs_clear(s);
	pj_sched_fires_fini(&s->pass_fires);
}

static int
sched_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *msg)
{
	struct sched_state *s = state;
	if (t == &pj__sched__fire__descriptor) {
		sched_on_fire(ctx, s, (const Pj__Sched__Fire *) msg);
	} else if (t == &pj__sched__tick__descriptor) {
		switch (((const Pj__Sched__Tick *) msg)->kind) {
		case PJ__SCHED__TICK_KIND__PASS:
		case PJ__SCHED__TICK_KIND__PASS_MORE: {
			bool more = ((const Pj__Sched__Tick *) msg)->kind
			        == PJ__SCHED__TICK_KIND__PASS
			    ? sched_on_pass(ctx, s)
			    : sched_on_pass_more(ctx, s);
			Pj__Sched__Tick m = PJ__SCHED__TICK__INIT;
			m.kind            = PJ__SCHED__TICK_KIND__PASS_MORE;
			if (!more
			    || ar_tell(ar_ctx_system(ctx), ar_ctx_self(ctx),
			           &m.base, ar_ctx_self(ctx))
			        != 0) {
				sched_pass_done(ctx, s);
				arm_tick(ctx, PJ__SCHED__TICK_KIND__PASS,
				    s->env->sched.pass_ms, &s->pass_timer);
			}
			break;
		}
		case PJ__SCHED__TICK_KIND__CHECK:
			on_check(ctx, s);
			arm_tick(ctx, PJ__SCHED__TICK_KIND__CHECK,
			    s->env->sched.check_ms, &s->check_timer);
			break;
		case PJ__SCHED__TICK_KIND__CLEAN:
			on_clean(s);
			break;
		default:
			break;
		}
	} else if (t == &pj__sched__arm__descriptor) {
		sched_on_arm(ctx, s, (const Pj__Sched__Arm *) msg);
	} else if (t == &pj__friend__op_request__descriptor) {
		const Pj__Friend__OpRequest *q
		    = (const Pj__Friend__OpRequest *) msg;
		if (q->op == PJ__FRIEND__OP__RUN_JOB) {
			op_run_job(ctx, s, q);
		} else if (q->op == PJ__FRIEND__OP__ENABLE_JOB
		    || q->op == PJ__FRIEND__OP__DISABLE_JOB
		    || q->op == PJ__FRIEND__OP__DELETE_JOB) {
			op_job(ctx, s, q);
		} else {
			op_instance(ctx, s, q);
		}
	} else if (t == &pj__sched__stats_query__descriptor) {
		s->st.armed = (uint32_t) s->armed.n;
		ar_reply(ctx, &s->st.base);
	} else {
		ar_reply_failure(ctx, AR_ETYPE,
		    "scheduler: unexpected message type (see "
		    "proto/sched.proto)");
	}
	return 0;
}

static const ar_behavior sched_behavior
    = { sched_pre_start, sched_receive, sched_post_stop, NULL };

int
pj_scheduler_actor_spawn(struct pj_server_env *env)
{
	ar_props p   = { 0 };
	p.behavior   = &sched_behavior;
	p.state_size = sizeof(struct sched_state);
	p.init_arg   = env;
	p.dispatcher = AR_DISPATCHER_BLOCKING;
	return ar_spawn(
	    env->sys, AR_REF_NONE, PJ_SCHED_ACTOR, &p, &env->scheduler);
}
