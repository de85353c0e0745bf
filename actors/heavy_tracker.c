/*
 * heavy_tracker.c - the heavy TaskTracker actor (powerjob-design.md §6.5):
 * one per BROADCAST / MAP / MAP_REDUCE instance (PowerJob's
 * CommonTaskTracker) and per FIXED_RATE / FIXED_DELAY instance (its
 * FrequentTaskTracker), at <worker system>/user/tt-<instanceId>.
 *
 * Design notes
 * ------------
 * - Start: the WorkerActor calls pj_heavy_tracker_start, which spawns the
 *   actor (the unique name makes a second start for the instance a no-op).
 *   pre_start opens the instance's task store, seeds the PTs with the
 *   request's worker addresses plus this worker, starts the checker and
 *   the RUNNING reports, and starts the first (sub-)instance: the root
 *   task pinned to this worker's PT, or for BROADCAST the pre_process on a
 *   local thread followed by one task per worker.
 * - Common: one sub-instance (id = instance id).  Completion (event driven
 *   in task_tracker.c) sends the final report through pj_worker_report
 *   (delivered reliably by the reporter), tells every PT to stop and
 *   stops the actor.  Timeout: FAILED "instance execute timeout".  A stop
 *   from the server ends it without a report (the server already
 *   recorded STOPPED), like PowerJob.
 * - Frequent: sub-instances 1, 2, ...; FIXED_RATE launches every interval
 *   (too many running => counted as failed, TOO_MUCH_INSTANCE), FIXED_DELAY
 *   launches the next one interval after the previous ended.  No task
 *   retries; a sub-instance past the instance timeout fails
 *   (RUNNING_TIMEOUT); its rows are deleted when it ends.  Reports are
 *   RUNNING with launches / succeeded / failed, never final.
 *
 * Threads: the actor runs on the blocking dispatcher (its store) one
 * message at a time and owns its state; pre/post/reduce run on threads of
 * their own (tracker_local.c).  The settings are written once before any
 * tracker starts (pj_heavy_tracker_configure) and only read afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors/tracker_int2.h"
#include "runtime/alloc.h"
#include "runtime/log.h"

/* ---- settings, messages, addresses ------------------------------------- */

static struct pj_heavy_settings settings;
static pthread_once_t           settings_once = PTHREAD_ONCE_INIT;
static bool                     settings_set;

static void
settings_default(void)
{
	if (!settings_set) {
		pj_heavy_settings_init(&settings);
	}
}

void
pj_heavy_tracker_configure(const struct pj_heavy_settings *s)
{
	settings     = *s;
	settings_set = true;
	pthread_once(&settings_once, settings_default);
}

const struct pj_heavy_settings *
pj_tracker_settings(void)
{
	pthread_once(&settings_once, settings_default);
	return &settings;
}

int
pj_tracker_messages_register(void)
{
	static const ProtobufCMessageDescriptor *const all[] = {
		&pj__tracker__task_tracker_start_task_req__descriptor,
		&pj__tracker__processor_report_task_status_req__descriptor,
		&pj__tracker__processor_tracker_status_report_req__descriptor,
		&pj__tracker__processor_map_task_request__descriptor,
		&pj__tracker__task_tracker_stop_instance_req__descriptor,
		&pj__tracker__tracker_tick__descriptor,
	};
	int rv = pj_messages_register();

	for (size_t i = 0; rv == 0 && i < sizeof(all) / sizeof(all[0]); i++) {
		rv = ar_registry_add(all[i]);
		rv = rv == AR_EEXIST ? 0 : rv;
	}
	return rv;
}

int
pj_tracker_actor_address(const char *a, const char *actor, char *buf, size_t n)
{
	const char *at  = strchr(a, '@');
	const char *sl  = at ? strchr(at, '/') : NULL;
	size_t      len = sl ? (size_t) (sl - a) : strlen(a);

	if (at == NULL || len > 300 || strncmp(a, "pj://", 5) != 0) {
		return AR_EINVAL;
	}
	snprintf(buf, n, "%.*s/user/%s", (int) len, a, actor);
	return 0;
}

/* ---- reports ---------------------------------------------------------------
 */

static void
report(struct tt *t, int status, const char *result, int64_t total, int64_t ok,
    int64_t failed, bool final)
{
	Pj__Cluster__InstanceStatusReport r
	    = PJ__CLUSTER__INSTANCE_STATUS_REPORT__INIT;
	int64_t now = ar_now_ms();

	r.app_id           = t->req->app_id;
	r.job_id           = t->req->job_id;
	r.instance_id      = t->instance_id;
	r.wf_instance_id   = t->req->wf_instance_id;
	r.instance_status  = status;
	r.result           = (char *) (result ? result : "");
	r.total_task_num   = total;
	r.succeed_task_num = ok;
	r.failed_task_num  = failed;
	r.start_time       = t->start;
	r.end_time         = final ? now : 0;
	/* a final report sorts after any RUNNING one sent the same ms */
	r.report_time = final ? now + 1 : now;
	pj_worker_report(t->env, &r);
}

static void
report_running(struct tt *t)
{
	if (t->frequent) {
		report(t, 3, t->f_last_result, t->launches, t->f_succeeded,
		    t->f_failed, false);
		return;
	}
	if (t->subs != NULL) {
		report(t, 3, "", t->subs->c.total, t->subs->c.succeeded,
		    t->subs->c.failed, false);
	}
}

/* ---- sub-instances
 * ---------------------------------------------------------- */

void
tt_sub_start(struct tt *t, int64_t sub_id)
{
	struct sub    *s    = ar_xcalloc(1, sizeof(*s));
	struct pj_task root = { 0 };
	char           id[32], err[300];

	s->id    = sub_id;
	s->start = ar_now_ms();
	s->next  = t->subs;
	t->subs  = s;
	pj_root_task_id(t->frequent, sub_id, id, sizeof(id));
	root.instance_id     = t->instance_id;
	root.sub_instance_id = sub_id;
	root.task_id         = id;
	root.task_name       = PJ_TASK_ROOT;
	root.pinned          = 1;
	if (t->exec == PJ_EXEC_BROADCAST) {
		root.address = PJ_LOCAL_ADDRESS;
		root.status  = PJ_TASK_PROCESSING;
	} else {
		root.address = t->env->address;
	}
	if (tt_add_tasks(t, s, &root, 1, err, sizeof(err)) != 0) {
		ar_log(AR_LOG_WARN, "tracker", "instance=%lld root task: %s",
		    (long long) t->instance_id, err);
		tt_sub_done(t, s, false, "create root task failed");
		return;
	}
	if (t->exec == PJ_EXEC_BROADCAST) {
		s->root_local = true;
		tt_local_start(
		    t, s, PJ_LOCAL_PRE, id, pj_task_store_last_seq(t->store));
	} else {
		tt_dispatch(t);
	}
}

static void
sub_free(struct tt *t, struct sub *s)
{
	struct sub **sp;

	for (sp = &t->subs; *sp != NULL && *sp != s; sp = &(*sp)->next) { }
	if (*sp == s) {
		*sp = s->next;
	}
	if (s->job != NULL) {
		tt_local_release(s->job);
	}
	free(s);
}

static void launch(struct tt *t);

void
tt_sub_done(struct tt *t, struct sub *s, bool success, const char *result)
{
	if (!t->frequent) {
		ar_log(success ? AR_LOG_INFO : AR_LOG_WARN, "tracker",
		    "instance=%lld %s: %s (tasks %lld, succeeded %lld, failed "
		    "%lld)",
		    (long long) t->instance_id,
		    success ? "succeeded" : "failed", result,
		    (long long) s->c.total, (long long) s->c.succeeded,
		    (long long) s->c.failed);
		report(t, success ? 5 : 4, result, s->c.total, s->c.succeeded,
		    s->c.failed, true);
		tt_finish(t, success ? 5 : 4, result, false);
		return;
	}
	if (success) {
		t->f_succeeded++;
	} else {
		t->f_failed++;
	}
	snprintf(t->f_last_result, sizeof(t->f_last_result), "%s", result);
	ar_log(AR_LOG_DEBUG, "tracker",
	    "instance=%lld sub-instance %lld %s: %s",
	    (long long) t->instance_id, (long long) s->id,
	    success ? "succeeded" : "failed", result);
	pj_task_store_delete(t->store, t->instance_id, s->id);
	t->ntasks -= s->c.total;
	sub_free(t, s);
	if (t->time_kind == PJ_TIME_FIXED_DELAY) {
		Pj__Tracker__TrackerTick k = PJ__TRACKER__TRACKER_TICK__INIT;
		k.kind                     = PJ_TICK_LAUNCH;
		ar_timer_once(
		    t->sys, t->self, &k.base, t->interval_ms, &t->t_launch);
	}
}

static void
launch(struct tt *t)
{
	int running = 0;

	if (t->finished) {
		return;
	}
	for (struct sub *s = t->subs; s != NULL; s = s->next) {
		running++;
	}
	switch (
	    pj_freq_launch(t->time_kind, running, t->req->max_instance_num)) {
	case PJ_LAUNCH_WAIT:
		return;
	case PJ_LAUNCH_TOO_MANY:
		t->launches++;
		t->f_failed++;
		snprintf(t->f_last_result, sizeof(t->f_last_result),
		    "TOO_MUCH_INSTANCE: %d sub-instances still run", running);
		return;
	default:
		t->launches++;
		tt_sub_start(t, ++t->next_sub);
	}
}

void
tt_finish(struct tt *t, int status, const char *result, bool send)
{
	if (t->finished) {
		return;
	}
	if (send) {
		int64_t total = 0, ok = 0, failed = 0;

		if (t->subs != NULL && !t->frequent) {
			total  = t->subs->c.total;
			ok     = t->subs->c.succeeded;
			failed = t->subs->c.failed;
		}
		ar_log(AR_LOG_WARN, "tracker", "instance=%lld failed: %s",
		    (long long) t->instance_id, result);
		report(t, status, result, total, ok, failed, true);
	}
	t->finished = true;
	for (size_t i = 0; i < t->npts; i++) {
		Pj__Tracker__TaskTrackerStopInstanceReq q
		    = PJ__TRACKER__TASK_TRACKER_STOP_INSTANCE_REQ__INIT;
		char   addr[400];
		ar_ref to;

		if (!t->pts[i].dispatched
		    || pj_tracker_actor_address(t->pts[i].address,
		           PJ_PROCESSOR_ACTOR, addr, sizeof(addr))
		        != 0
		    || ar_ref_resolve(t->sys, addr, &to) != 0) {
			continue;
		}
		q.instance_id          = t->instance_id;
		q.reason               = (char *) result;
		q.task_tracker_address = t->self_addr;
		ar_tell(t->sys, to, &q.base, t->self);
	}
	ar_stop(t->sys, t->self);
}

/* ---- the actor
 * -------------------------------------------------------------- */

struct start_arg {
	struct pj_worker_env             *env;
	Pj__Worker__ServerScheduleJobReq *req;
};

static int
tt_start(ar_ctx *ctx, void *state)
{
	struct tt                        *t = state;
	struct start_arg                 *a = (void *) ar_ctx_init_arg(ctx);
	const struct pj_heavy_settings   *s = pj_tracker_settings();
	Pj__Worker__ServerScheduleJobReq *q;
	Pj__Tracker__TrackerTick          k = PJ__TRACKER__TRACKER_TICK__INIT;
	char                              path[1200], err[512];
	int64_t                           report_ms;

	t->env = a->env;
	t->req = q = a->req;
	free(a);
	t->sys         = ar_ctx_system(ctx);
	t->self        = ar_ctx_self(ctx);
	t->instance_id = q->instance_id;
	t->start       = ar_now_ms();
	t->exec        = pj_exec_parse(q->execute_type);
	t->time_kind   = pj_time_kind_parse(q->time_expression_type);
	t->frequent    = t->time_kind != PJ_TIME_OTHER;
	snprintf(t->self_addr, sizeof(t->self_addr), "%s/user/tt-%lld",
	    t->env->address, (long long) t->instance_id);
	pj__tracker__instance_info__init(&t->info);
	t->info.job_id                  = q->job_id;
	t->info.instance_id             = q->instance_id;
	t->info.wf_instance_id          = q->wf_instance_id;
	t->info.execute_type            = q->execute_type;
	t->info.processor_type          = q->processor_type;
	t->info.processor_info          = q->processor_info;
	t->info.time_expression_type    = q->time_expression_type;
	t->info.instance_timeout_ms     = q->instance_timeout_ms;
	t->info.job_params              = q->job_params;
	t->info.instance_params         = q->instance_params;
	t->info.thread_concurrency      = q->thread_concurrency;
	t->info.task_retry_num          = q->task_retry_num;
	t->info.log_config              = q->log_config;
	t->info.advanced_runtime_config = q->advanced_runtime_config;
	if (t->frequent) {
		pj_freq_interval(t->time_kind, q->time_expression,
		    &t->interval_ms, err, sizeof(err));
	}
	path[0] = '\0';
	if (s->store_in_file && t->env->cfg.data_dir[0] != '\0') {
		/* pid and port: several workers may share a data dir */
		snprintf(path, sizeof(path), "%s/tasks-%d-%d-%lld.db",
		    t->env->cfg.data_dir, (int) getpid(),
		    ar_system_port(t->sys), (long long) t->instance_id);
		if (pj_task_store_open(path, &t->store, err, sizeof(err))
		    != 0) {
			ar_log(AR_LOG_WARN, "tracker",
			    "instance=%lld task store file: %s; the tasks "
			    "stay in "
			    "memory",
			    (long long) t->instance_id, err);
		}
	}
	if (t->store == NULL
	    && pj_task_store_open(NULL, &t->store, err, sizeof(err)) != 0) {
		char why[600];
		snprintf(why, sizeof(why),
		    "init TaskTracker failed, reason: %s", err);
		tt_finish(t, 4, why, true);
		return 0;
	}
	/* the PTs: this worker first (root, reduce side), then the others */
	tt_pt_find(t, t->env->address, true);
	for (size_t i = 0; i < q->n_all_worker_address; i++) {
		if (strncmp(q->all_worker_address[i], "pj://", 5) == 0) {
			tt_pt_find(t, q->all_worker_address[i], true);
		}
	}
	k.kind = PJ_TICK_CHECK;
	ar_timer_every(t->sys, t->self, &k.base, s->check_ms, &t->t_check);
	report_ms
	    = t->env->cfg.report_ms > 0 ? t->env->cfg.report_ms : s->report_ms;
	k.kind = PJ_TICK_REPORT;
	ar_timer_every(t->sys, t->self, &k.base, report_ms, &t->t_report);
	ar_log(AR_LOG_INFO, "tracker",
	    "app=%lld job=%lld instance=%lld heavy TaskTracker started: %s "
	    "%s, %zu "
	    "workers, concurrency %d",
	    (long long) q->app_id, (long long) q->job_id,
	    (long long) t->instance_id, q->execute_type,
	    q->time_expression_type, t->npts, q->thread_concurrency);
	if (t->exec == PJ_EXEC_MAP || t->exec == PJ_EXEC_MAP_REDUCE) {
		k.kind = PJ_TICK_DETECT;
		ar_timer_every(
		    t->sys, t->self, &k.base, s->detect_ms, &t->t_detect);
	}
	if (t->time_kind == PJ_TIME_FIXED_RATE) {
		k.kind = PJ_TICK_LAUNCH;
		ar_timer_every(
		    t->sys, t->self, &k.base, t->interval_ms, &t->t_launch);
	}
	if (t->frequent) {
		launch(t);
	} else {
		tt_sub_start(t, t->instance_id);
	}
	return 0;
}

static void
tt_stop(ar_ctx *ctx, void *state)
{
	struct tt *t = state;

	(void) ctx;
	ar_timer_cancel(t->sys, t->t_check);
	ar_timer_cancel(t->sys, t->t_report);
	if (t->t_detect != 0) {
		ar_timer_cancel(t->sys, t->t_detect);
	}
	if (t->detect != NULL) {
		ar_future_free(t->detect);
	}
	if (t->t_launch != 0) {
		ar_timer_cancel(t->sys, t->t_launch);
	}
	while (t->subs != NULL) {
		sub_free(t, t->subs);
	}
	pj_task_store_close(t->store);
	free(t->pts);
	if (t->req != NULL) {
		pj__worker__server_schedule_job_req__free_unpacked(
		    t->req, NULL);
	}
	atomic_fetch_sub(&t->env->heavy, 1);
}

static int
tt_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *type,
    const ProtobufCMessage *msg)
{
	struct tt *t = state;

	if (type
	    == &pj__tracker__processor_report_task_status_req__descriptor) {
		tt_on_report(ctx, t, (const void *) msg);
	} else if (type
	    == &pj__tracker__processor_map_task_request__descriptor) {
		tt_on_map(ctx, t, (const void *) msg);
	} else if (type
	    == &pj__tracker__processor_tracker_status_report_req__descriptor) {
		tt_on_pt_status(t, (const void *) msg);
	} else if (type == &pj__tracker__tracker_tick__descriptor) {
		const Pj__Tracker__TrackerTick *k = (const void *) msg;

		switch (k->kind) {
		case PJ_TICK_CHECK:
			tt_check(t);
			break;
		case PJ_TICK_DETECT:
			tt_detect(t);
			break;
		case PJ_TICK_REPORT:
			if (!t->finished) {
				report_running(t);
			}
			break;
		case PJ_TICK_LAUNCH:
			launch(t);
			break;
		case PJ_TICK_SHUTDOWN:
			tt_finish(t, 4, PJ_TT_SHUTDOWN, true);
			break;
		case PJ_TICK_DISPATCH:
			t->dispatch_told = false;
			tt_dispatch(t);
			break;
		}
	} else if (type == &pj__worker__server_stop_instance_req__descriptor) {
		const Pj__Worker__ServerStopInstanceReq *q
		    = (const void *) msg;

		ar_log(AR_LOG_INFO, "tracker", "instance=%lld stopped: %s",
		    (long long) t->instance_id, q->reason ? q->reason : "");
		tt_finish(t, 10, q->reason, false);
	} else {
		ar_log(AR_LOG_WARN, "tracker",
		    "instance=%lld unexpected message %s: dropped",
		    (long long) t->instance_id, type->name);
	}
	return 0;
}

static const ar_behavior tt_behavior = {
	.pre_start = tt_start,
	.receive   = tt_receive,
	.post_stop = tt_stop,
};

/* ---- the WorkerActor's entry points
 * ------------------------------------------ */

int
pj_heavy_tracker_start(struct pj_worker_env *env,
    const Pj__Worker__ServerScheduleJobReq *req, char *err, size_t errlen)
{
	int               exec = pj_exec_parse(req->execute_type);
	int               kind = pj_time_kind_parse(req->time_expression_type);
	struct start_arg *a;
	ar_props          p = { 0 };
	char              name[64];
	int64_t           ms;
	size_t            n;
	uint8_t          *buf;
	ar_ref            ref;
	int               rv;

	if ((rv = pj_tracker_messages_register()) != 0) {
		snprintf(err, errlen, "message registry: %s", ar_strerror(rv));
		return -1;
	}
	if (req->instance_id <= 0) {
		snprintf(err, errlen, "instance id %lld is not valid",
		    (long long) req->instance_id);
		return -1;
	}
	if (exec == 0
	    || (exec == PJ_EXEC_STANDALONE && kind == PJ_TIME_OTHER)) {
		snprintf(err, errlen,
		    "execute type '%.64s' (%.32s) is not run by a heavy "
		    "TaskTracker",
		    req->execute_type ? req->execute_type : "",
		    req->time_expression_type ? req->time_expression_type
		                              : "");
		return -1;
	}
	if (kind != PJ_TIME_OTHER
	    && pj_freq_interval(kind, req->time_expression, &ms, err, errlen)
	        != 0) {
		return -1;
	}
	snprintf(
	    name, sizeof(name), "/user/tt-%lld", (long long) req->instance_id);
	if (ar_lookup(env->sys, name, &ref) == 0) {
		return 0; /* already runs here */
	}
	snprintf(name, sizeof(name), "tt-%lld", (long long) req->instance_id);
	if (env->cfg.max_heavy > 0
	    && atomic_fetch_add(&env->heavy, 1) >= env->cfg.max_heavy) {
		atomic_fetch_sub(&env->heavy, 1);
		snprintf(err, errlen,
		    "this worker already runs %d heavy TaskTrackers "
		    "(max_heavy)",
		    env->cfg.max_heavy);
		return -1;
	} else if (env->cfg.max_heavy <= 0) {
		atomic_fetch_add(&env->heavy, 1);
	}
	a      = ar_xcalloc(1, sizeof(*a));
	a->env = env;
	n      = protobuf_c_message_get_packed_size(&req->base);
	buf    = ar_xmalloc(n + 1);
	protobuf_c_message_pack(&req->base, buf);
	a->req = pj__worker__server_schedule_job_req__unpack(NULL, n, buf);
	free(buf);
	p.behavior   = &tt_behavior;
	p.state_size = sizeof(struct tt);
	p.init_arg   = a;
	p.dispatcher = AR_DISPATCHER_BLOCKING;
	rv           = ar_spawn(env->sys, AR_REF_NONE, name, &p, &ref);
	if (rv != 0) {
		atomic_fetch_sub(&env->heavy, 1);
		pj__worker__server_schedule_job_req__free_unpacked(
		    a->req, NULL);
		free(a);
		if (rv == AR_EEXIST) {
			return 0;
		}
		snprintf(err, errlen, "spawn: %s", ar_strerror(rv));
		return -1;
	}
	return 0;
}

int
pj_heavy_tracker_shutdown_all(struct pj_worker_env *env)
{
	Pj__Tracker__TrackerTick k    = PJ__TRACKER__TRACKER_TICK__INIT;
	ar_actor_info           *v    = NULL;
	size_t                   cap  = 64, n = 0;
	int                      told = 0;

	k.kind = PJ_TICK_SHUTDOWN;
	for (;;) {
		v = ar_xrealloc(v, cap * sizeof(*v));
		if (ar_system_actors(env->sys, v, cap, &n) != 0) {
			free(v);
			return 0;
		}
		if (n <= cap) {
			break;
		}
		cap = n + 16; /* more started meanwhile: look again */
	}
	for (size_t i = 0; i < n; i++) {
		const char *p = strstr(v[i].path, "/user/tt-");
		ar_ref      ref;

		if (p != NULL && strchr(p + 9, '/') == NULL
		    && ar_lookup(env->sys, p, &ref) == 0
		    && ar_tell(env->sys, ref, &k.base, AR_REF_NONE) == 0) {
			told++;
		}
	}
	free(v);
	return told;
}

int
pj_heavy_tracker_stop(
    struct pj_worker_env *env, const Pj__Worker__ServerStopInstanceReq *req)
{
	char   path[80];
	ar_ref ref;

	snprintf(
	    path, sizeof(path), "/user/tt-%lld", (long long) req->instance_id);
	if (ar_lookup(env->sys, path, &ref) != 0) {
		return AR_ENOENT;
	}
	return ar_tell(env->sys, ref, &req->base, AR_REF_NONE);
}
