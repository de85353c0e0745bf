/*
 * worker_actor.c - WorkerActor, /user/worker: what the server tells a
 * worker (powerjob-design.md §2.5, §6.4): run an instance, stop it, ask
 * about it; plus the Acks of refused heartbeats and its watchdog tick.
 *
 * Design notes
 * ------------
 * ServerScheduleJobReq: STANDALONE and not frequent (FIXED_RATE /
 * FIXED_DELAY) -> a light TaskTracker (actors/light_tracker.h), ignored
 * when one already runs the instance, dropped past 1.3 x max_light
 * (PowerJob's; the server dispatches it again after its receive timeout);
 * everything else -> pj_heavy_tracker_start (actors/heavy_tracker.h),
 * whose refusal becomes a FAILED report "init TaskTracker failed, reason:
 * ...".  After SIGTERM (env->draining) new instances are dropped with a
 * log line; the server dispatches them elsewhere.
 * ServerStopInstanceReq: the light tracker's processor is asked to stop
 * (no final report follows), else the heavy tracker is stopped.
 * ServerQueryInstanceStatusReq: an Ack, OK with "RUNNING" when a light
 * tracker runs the instance (PowerJob's light answer), NOT_FOUND else.
 * An Ack told to us is a server's refusal of a heartbeat or a RUNNING
 * report: NOT_OWNER makes the program run discovery at once.
 *
 * Threads: default dispatcher; never blocks (a tracker's thread is
 * started, not joined).  State: the timer id only; the rest is the env's.
 */
#include <string.h>

#include "actors/heavy_tracker.h"
#include "actors/light_tracker.h"
#include "runtime/log.h"

struct worker_state {
	struct pj_worker_env *env;
	ar_timer_id           tick;
	int                   last_refusal;
	int64_t               dropped;
};

static int
is_light(const Pj__Worker__ServerScheduleJobReq *q)
{
	return strcmp(q->execute_type, "STANDALONE") == 0
	    && strcmp(q->time_expression_type, "FIXED_RATE") != 0
	    && strcmp(q->time_expression_type, "FIXED_DELAY") != 0;
}

static void
report_failed(struct pj_worker_env         *env,
    const Pj__Worker__ServerScheduleJobReq *q, const char *why)
{
	Pj__Cluster__InstanceStatusReport r
	    = PJ__CLUSTER__INSTANCE_STATUS_REPORT__INIT;
	char result[700];

	snprintf(result, sizeof(result), "init TaskTracker failed, reason: %s",
	    why);
	r.app_id          = q->app_id;
	r.job_id          = q->job_id;
	r.instance_id     = q->instance_id;
	r.wf_instance_id  = q->wf_instance_id;
	r.instance_status = 4;
	r.result          = result;
	r.total_task_num  = 1;
	r.failed_task_num = 1;
	r.start_time      = ar_now_ms();
	r.end_time        = r.start_time;
	r.report_time     = r.start_time + 1;
	pj_worker_report(env, &r);
	ar_log(AR_LOG_WARN, "worker", "app=%lld job=%lld instance=%lld: %s",
	    (long long) q->app_id, (long long) q->job_id,
	    (long long) q->instance_id, result);
}

static void
on_job(struct worker_state *s, const Pj__Worker__ServerScheduleJobReq *q)
{
	struct pj_worker_env *env      = s->env;
	char                  err[512] = "";
	int                   rv;

	if (atomic_load(&env->draining)) {
		ar_log(AR_LOG_INFO, "worker",
		    "app=%lld job=%lld instance=%lld dropped: the worker is "
		    "stopping (the server dispatches it again)",
		    (long long) q->app_id, (long long) q->job_id,
		    (long long) q->instance_id);
		return;
	}
	if (q->app_id != 0) {
		atomic_store(&env->app_id, q->app_id);
	}
	if (!is_light(q)) {
		if (pj_heavy_tracker_start(env, q, err, sizeof(err)) != 0) {
			report_failed(env, q, err[0] ? err : "refused");
		}
		return;
	}
	switch ((rv = pj_light_start(env, q, err, sizeof(err)))) {
	case PJ_LIGHT_STARTED:
		ar_log(AR_LOG_DEBUG, "worker",
		    "app=%lld job=%lld instance=%lld started (light, "
		    "processor %s %s)",
		    (long long) q->app_id, (long long) q->job_id,
		    (long long) q->instance_id, q->processor_type,
		    q->processor_info);
		break;
	case PJ_LIGHT_DUPLICATE:
		ar_log(AR_LOG_DEBUG, "worker",
		    "instance=%lld runs already: request ignored",
		    (long long) q->instance_id);
		break;
	case PJ_LIGHT_DROPPED:
		if (s->dropped++ % 100 == 0) {
			ar_log(AR_LOG_WARN, "worker",
			    "app=%lld instance=%lld dropped: %d light "
			    "TaskTrackers run (max %d x %.1f); the server "
			    "dispatches it again (%lld dropped so far)",
			    (long long) q->app_id, (long long) q->instance_id,
			    atomic_load(&env->light), env->cfg.max_light,
			    PJ_LIGHT_DROP_FACTOR, (long long) s->dropped);
		}
		break;
	default:
		report_failed(env, q, err);
	}
}

static void
on_stop(struct worker_state *s, const Pj__Worker__ServerStopInstanceReq *q)
{
	int rv = pj_light_stop(s->env, q->instance_id);

	if (rv == AR_ENOENT) {
		rv = pj_heavy_tracker_stop(s->env, q);
	}
	ar_log(rv == 0 ? AR_LOG_INFO : AR_LOG_DEBUG, "worker",
	    "app=%lld instance=%lld: stop asked by the server (%s)%s",
	    (long long) q->app_id, (long long) q->instance_id, q->reason,
	    rv == 0 ? "" : "; not running here");
}

static void
on_query(ar_ctx *ctx, struct worker_state *s,
    const Pj__Worker__ServerQueryInstanceStatusReq *q)
{
	Pj__Cluster__Ack a = PJ__CLUSTER__ACK__INIT;

	if (pj_light_has(s->env, q->instance_id)) {
		a.message = "RUNNING";
	} else {
		a.code    = PJ__CLUSTER__CODE__NOT_FOUND;
		a.message = "can't find TaskTracker";
	}
	ar_reply(ctx, &a.base);
}

static void
on_ack(struct worker_state *s, const Pj__Cluster__Ack *a)
{
	if (a->code == PJ__CLUSTER__CODE__OK) {
		return;
	}
	if (a->code == PJ__CLUSTER__CODE__NOT_OWNER
	    || a->code == PJ__CLUSTER__CODE__DB_DOWN) {
		atomic_store(&s->env->rediscover, 1);
	}
	if ((int) a->code != s->last_refusal) {
		ar_log(a->code == PJ__CLUSTER__CODE__NOT_OWNER ? AR_LOG_INFO
		                                               : AR_LOG_WARN,
		    "worker", "server refused: %s (code %d)", a->message,
		    a->code);
	}
	s->last_refusal = (int) a->code;
}

static int
worker_pre_start(ar_ctx *ctx, void *state)
{
	struct worker_state *s = state;
	Pj__Wlocal__Tick     t = PJ__WLOCAL__TICK__INIT;

	s->env = (struct pj_worker_env *) ar_ctx_init_arg(ctx);
	t.kind = PJ__WLOCAL__TICK_KIND__WORKER;
	return ar_timer_every(ar_ctx_system(ctx), ar_ctx_self(ctx), &t.base,
	    s->env->cfg.tick_ms, &s->tick);
}

static void
worker_post_stop(ar_ctx *ctx, void *state)
{
	struct worker_state *s = state;
	ar_timer_cancel(ar_ctx_system(ctx), s->tick);
}

static int
worker_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *msg)
{
	struct worker_state *s = state;

	if (t == &pj__worker__server_schedule_job_req__descriptor) {
		on_job(s, (const Pj__Worker__ServerScheduleJobReq *) msg);
	} else if (t == &pj__worker__server_stop_instance_req__descriptor) {
		on_stop(s, (const Pj__Worker__ServerStopInstanceReq *) msg);
	} else if (t
	    == &pj__worker__server_query_instance_status_req__descriptor) {
		on_query(ctx, s,
		    (const Pj__Worker__ServerQueryInstanceStatusReq *) msg);
	} else if (t == &pj__wlocal__tick__descriptor) {
		pj_light_tick(s->env);
	} else if (t == &pj__cluster__ack__descriptor) {
		on_ack(s, (const Pj__Cluster__Ack *) msg);
	} else {
		ar_reply_failure(ctx, AR_ETYPE,
		    "worker: unexpected message type (see "
		    "proto/worker.proto)");
	}
	return 0;
}

static const ar_behavior worker_behavior
    = { worker_pre_start, worker_receive, worker_post_stop, NULL };

int
pj_worker_actor_spawn(struct pj_worker_env *env)
{
	ar_props p   = { 0 };
	p.behavior   = &worker_behavior;
	p.state_size = sizeof(struct worker_state);
	p.init_arg   = env;
	return ar_spawn(
	    env->sys, AR_REF_NONE, PJ_WORKER_ACTOR, &p, &env->worker);
}
