/*
 * scheduler_actor.c - SchedulerActor, /user/scheduler: schedule passes,
 * fire timers and dispatch, status checks, instance timeouts, daily
 * cleanup, and the owner's side of run / stop / cancel / retry
 * (powerjob-design.md §5; docs/scheduler.md).
 *
 * Design notes
 * ------------
 * The rules live in server/sched/; this actor moves values between the
 * store, the cluster view, the runtime's timers and the workers.
 * - Pass (every pass_ms): pj_sched_pass over the owned apps records every
 *   fire up to now + window_ms as a WAITING_DISPATCH row, then each distinct
 *   fire time is armed on one runtime timer (ar_timer_once) carrying the
 *   instance ids due then.  An app that became ours since the last pass
 *   has its pending WAITING_DISPATCH rows (the previous owner's) armed too.
 * - Fire: each instance is dispatched: a conditional 1 -> 2 transition
 *   that records the TaskTracker first, then ServerScheduleJobReq is told
 *   to <worker system>/user/worker (so a report can never arrive before
 *   the row names its TaskTracker).
 * - Check (every check_ms): WAITING_DISPATCH rows not armed here and due
 *   within the window are armed (lost timers, a retry whose Arm was lost,
 *   overload back-off); WAITING_WORKER_RECEIVE older than wait_receive_ms
 *   goes back to 1 and is dispatched again; RUNNING silent for
 *   running_silent_ms is retried or failed (pj_sched_check_running);
 *   instances past the job's instance_time_limit are failed and their
 *   TaskTracker told to stop.
 * - Clean (every clean_ms, first after one period): finished instances
 *   older than retention_ms and their logs, under the lock
 *   history_delete_lock so one server does it.
 * - Ops (RUN_JOB, STOP, CANCEL, RETRY) arrive forwarded from FriendActor
 *   with the asker kept; the reply goes to the asker.
 * The armed set (instance ids waiting on a timer) keeps one instance from
 * being armed twice; a Fire removes its ids before dispatching them.
 *
 * Threads: runs on the blocking dispatcher (every step waits on the
 * store), one message at a time; the state is the actor's own.  The shared
 * env's parts guard themselves.  Receive returns 0 on bad input (non-zero
 * would restart the actor).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/server_env.h"
#include "runtime/alloc.h"
#include "runtime/log.h"
#include "server/sched/pass.h"
#include "server/store/store_sched.h"
#include "actors/scheduler_int.h"

/* ---- the armed set (open addressing, 0 = empty, tombstone -1) ---------- */

static size_t
slot_of(int64_t id, size_t cap)
{
	uint64_t h = (uint64_t) id * 0x9E3779B97F4A7C15ULL;
	return (size_t) (h >> 17) & (cap - 1);
}

/* Rebuilds without tombstones; doubles cap when live ids fill a quarter
 * of it.  (Sized on live ids alone, churn - each second's fires armed and
 * fired - filled every empty slot with tombstones, and a probe for a new
 * id never ended: the server hung.) */
static void
sched_idset_grow(struct idset *s)
{
	struct idset o = *s;
	s->cap         = o.cap == 0 ? 1024
	            : 4 * (o.n + 1) > o.cap ? 2 * o.cap
	                                    : o.cap;
	s->k           = ar_xcalloc(s->cap, sizeof(*s->k));
	s->n           = 0;
	s->used        = 0;
	for (size_t i = 0; i < o.cap; i++) {
		if (o.k[i] > 0) {
			sched_idset_add(s, o.k[i]);
		}
	}
	free(o.k);
}

bool
sched_idset_add(struct idset *s, int64_t id)
{
	if (2 * (s->used + 1) > s->cap) {
		sched_idset_grow(s);
	}
	size_t i = slot_of(id, s->cap), tomb = s->cap;
	for (; s->k[i] != 0; i = (i + 1) & (s->cap - 1)) {
		if (s->k[i] == id) {
			return false;
		}
		if (s->k[i] < 0 && tomb == s->cap) {
			tomb = i;
		}
	}
	if (tomb < s->cap) {
		s->k[tomb] = id; /* reuses a deleted slot */
	} else {
		s->k[i] = id;
		s->used++;
	}
	s->n++;
	return true;
}

bool
sched_idset_del(struct idset *s, int64_t id)
{
	if (s->cap == 0) {
		return false;
	}
	for (size_t i = slot_of(id, s->cap); s->k[i] != 0;
	     i        = (i + 1) & (s->cap - 1)) {
		if (s->k[i] == id) {
			s->k[i] = -1;
			s->n--;
			return true;
		}
	}
	return false;
}

bool
sched_idset_has(const struct idset *s, int64_t id)
{
	if (s->cap == 0) {
		return false;
	}
	for (size_t i = slot_of(id, s->cap); s->k[i] != 0;
	     i        = (i + 1) & (s->cap - 1)) {
		if (s->k[i] == id) {
			return true;
		}
	}
	return false;
}

/* ---- helpers shared with ServerActor ------------------------------------ */

void
pj_sched_settings_init(struct pj_sched_settings *s)
{
	s->pass_ms              = PJ_SCHED_PASS_INTERVAL_MS;
	s->window_ms            = PJ_SCHED_WINDOW_MS;
	s->check_ms             = PJ_SCHED_CHECK_INTERVAL_MS;
	s->wait_receive_ms      = PJ_SCHED_WAIT_RECEIVE_MS;
	s->running_silent_ms    = PJ_SCHED_RUNNING_SILENT_MS;
	s->retry_delay_ms       = PJ_SCHED_RETRY_DELAY_MS;
	s->retention_ms         = PJ_SCHED_RETENTION_MS;
	s->clean_ms             = 86400000;
	s->misfire_threshold_ms = PJ_MISFIRE_THRESHOLD_MS_DEFAULT;
}

/* <system address of worker address w>/user/worker */
static int
worker_ref(struct pj_server_env *env, const char *w, ar_ref *to)
{
	char        addr[400];
	const char *at = strchr(w, '@');
	const char *sl = at ? strchr(at, '/') : NULL;
	size_t      n  = sl ? (size_t) (sl - w) : strlen(w);
	if (at == NULL || n > 300) {
		return AR_EINVAL;
	}
	snprintf(addr, sizeof(addr), "%.*s/user/worker", (int) n, w);
	return ar_ref_resolve(env->sys, addr, to);
}

void
pj_sched_tell_stop(struct pj_server_env *env, ar_ref sender, const char *tt,
    int64_t app_id, int64_t instance_id, const char *reason)
{
	Pj__Worker__ServerStopInstanceReq q
	    = PJ__WORKER__SERVER_STOP_INSTANCE_REQ__INIT;
	ar_ref to;
	if (tt == NULL || tt[0] == 0 || worker_ref(env, tt, &to) != 0) {
		return;
	}
	q.instance_id          = instance_id;
	q.app_id               = app_id;
	q.reason               = (char *) reason;
	q.task_tracker_address = (char *) tt;
	ar_tell(env->sys, to, &q.base, sender);
}

void
pj_sched_finished(struct pj_server_env *env, const struct pj_instance *i,
    int status, const char *result)
{
	ar_log(status == PJ_INST_SUCCEED ? AR_LOG_DEBUG : AR_LOG_INFO, "sched",
	    "app=%lld job=%lld instance=%lld finished status=%d %s",
	    (long long) i->app_id, (long long) i->job_id,
	    (long long) i->instance_id, status, result ? result : "");
	pj_progress_finish(env->progress, i->instance_id);
	if (env->done != NULL) {
		env->done(env->done_arg, i, status, result);
	}
}

static const char *
name_of(int v, const char *const *names, size_t n)
{
	return v >= 0 && (size_t) v < n && names[v] ? names[v] : "";
}

static const char *const exec_names[]
    = { NULL, "STANDALONE", "BROADCAST", "MAP_REDUCE", "MAP" };
static const char *const proc_names[]
    = { NULL, "BUILT_IN", "SHELL", "PYTHON", "EXTERNAL" };
static const char *const time_names[]
    = { NULL, "API", "CRON", "FIXED_RATE", "FIXED_DELAY", "WORKFLOW", NULL,
	      NULL, NULL, NULL, NULL, "DAILY_TIME_INTERVAL" };
#define NAMES(a) a, sizeof(a) / sizeof(a[0])

/* ---- dispatch ----------------------------------------------------------- */

/* Finishes a live instance `from` -> `to` with result; 0 when it moved. */
int
sched_finish(struct sched_state *s, const struct pj_instance *i, int to,
    const char *result, const char *tt)
{
	struct pj_server_env *env  = s->env;
	struct pj_instance    set  = { 0 };
	int64_t               now  = ar_now_ms();
	unsigned              mask = PJ_SET_FINISHED | PJ_SET_RESULT;
	set.finished_time          = now;
	set.result                 = (char *) result;
	if (i->status == PJ_INST_WAITING_DISPATCH) {
		set.actual_trigger_time  = now;
		set.task_tracker_address = (char *) (tt ? tt : "N/A");
		mask |= PJ_SET_ACTUAL_TRIGGER | PJ_SET_TT_ADDRESS;
	}
	int rv = pj_store_instance_transition(
	    env->store, i->instance_id, i->status, to, &set, mask, now);
	if (rv == 0) {
		if (to == PJ_INST_FAILED) {
			s->st.failed++;
		}
		pj_sched_finished(env, i, to, result);
	}
	return rv;
}

void
sched_tell_job(ar_ctx *ctx, struct sched_state *s, const struct pj_instance *i,
    const struct pj_job *j, const struct pj_worker *w, size_t n, size_t chosen)
{
	struct pj_server_env            *env = s->env;
	Pj__Worker__ServerScheduleJobReq q
	    = PJ__WORKER__SERVER_SCHEDULE_JOB_REQ__INIT;
	char **all = ar_xcalloc(n ? n : 1, sizeof(*all));
	ar_ref to;
	if (!pj_sched_tells_all_workers(j)) {
		n = 0; /* a light tracker: the list is never read */
	}
	for (size_t k = 0; k < n; k++) {
		all[k] = (char *) w[k].address;
	}
	q.n_all_worker_address = n;
	q.all_worker_address   = all;
	q.max_worker_count     = j->max_worker_count;
	q.job_id               = j->id;
	q.wf_instance_id       = i->wf_instance_id;
	q.instance_id          = i->instance_id;
	q.execute_type = (char *) name_of(j->execute_type, NAMES(exec_names));
	q.processor_type
	    = (char *) name_of(j->processor_type, NAMES(proc_names));
	q.processor_info      = j->processor_info;
	q.instance_timeout_ms = j->instance_time_limit;
	q.job_params      = i->job_params && i->job_params[0] ? i->job_params
	                                                      : j->job_params;
	q.instance_params = i->instance_params;
	q.thread_concurrency = j->concurrency;
	q.task_retry_num     = j->task_retry_num;
	q.time_expression_type
	    = (char *) name_of(j->time_expression_type, NAMES(time_names));
	q.time_expression         = j->time_expression;
	q.max_instance_num        = j->max_instance_num;
	q.alarm_config            = j->alarm_config;
	q.log_config              = j->log_config;
	q.advanced_runtime_config = j->advanced_runtime_config;
	q.task_tracker_address    = (char *) w[chosen].address;
	q.app_id                  = i->app_id;
	q.server                  = env->self;
	q.expected_trigger_time   = i->expected_trigger_time;
	if (worker_ref(env, w[chosen].address, &to) == 0) {
		ar_tell(env->sys, to, &q.base, ar_ctx_self(ctx));
	}
	free(all);
}

uint64_t
sched_rnd(struct sched_state *s)
{
	s->rnd ^= s->rnd << 13;
	s->rnd ^= s->rnd >> 7;
	s->rnd ^= s->rnd << 17;
	return s->rnd;
}

/* Dispatches instance i (loaded, WAITING_DISPATCH). */
static void
dispatch_inst(ar_ctx *ctx, struct sched_state *s, const struct pj_instance *i)
{
	struct pj_server_env     *env = s->env;
	struct pj_job             j;
	struct pj_executor_filter f;
	struct pj_dispatch_choice c;
	struct pj_worker         *w    = NULL;
	int64_t                   live = 0, now = ar_now_ms();
	int rv = pj_store_job_get(env->store, i->job_id, &j);
	if (rv == PJ_STORE_ENOTFOUND) {
		sched_finish(s, i, PJ_INST_FAILED, PJ_RESULT_NO_JOB, NULL);
		return;
	}
	if (rv != 0) {
		return; /* the check tries again */
	}
	if (j.status == PJ_STATUS_DELETED
	    || (j.status != PJ_STATUS_ENABLE && i->fire_time != 0
	        && j.next_trigger_time != 0)) {
		/* deleted, or disabled by a user (a job whose schedule ended
		 * is disabled with no next fire, and its last recorded fires
		 * still run): its scheduled fires stop at once */
		sched_finish(
		    s, i, PJ_INST_CANCELED, PJ_RESULT_JOB_DISABLED, NULL);
		goto out;
	}
	if (pj_sched_max_live(&j) > 0) {
		static const int st[]
		    = { PJ_INST_WAITING_WORKER_RECEIVE, PJ_INST_RUNNING };
		if (pj_store_instance_count_live(
		        env->store, j.id, st, 2, &live)
		    != 0) {
			goto out;
		}
	}
	pj_sched_filter(&j, &f);
	size_t n = pj_view_query(env->view, i->app_id, now, &f, &w);
	/* a re-dispatch (retry, receive timeout) prefers another worker
	 * than the last TaskTracker: a killed one stays listed for 60 s */
	pj_sched_dispatch_avoid(&j, live, w, n, sched_rnd(s),
	    i->task_tracker_address, &c);
	if (c.verdict == PJ_DISPATCH_NO_WORKER
	    && sched_no_worker_waits(ctx, s, i->app_id, i->instance_id, 0)) {
		goto out_w;
	}
	switch (c.verdict) {
	case PJ_DISPATCH_TOO_MANY:
	case PJ_DISPATCH_NO_WORKER:
		ar_log(AR_LOG_WARN, "sched",
		    "app=%lld job=%lld instance=%lld failed: %s",
		    (long long) i->app_id, (long long) j.id,
		    (long long) i->instance_id, c.result);
		sched_finish(s, i, PJ_INST_FAILED, c.result, NULL);
		break;
	case PJ_DISPATCH_OVERLOADED:
		ar_log(AR_LOG_INFO, "sched",
		    "app=%lld job=%lld instance=%lld waits: %s; next check "
		    "tries again",
		    (long long) i->app_id, (long long) j.id,
		    (long long) i->instance_id, c.result);
		break;
	case PJ_DISPATCH_GO: {
		struct pj_instance set   = { 0 };
		set.actual_trigger_time  = now;
		set.task_tracker_address = w[c.chosen].address;
		if (pj_store_instance_transition(env->store, i->instance_id,
		        PJ_INST_WAITING_DISPATCH,
		        PJ_INST_WAITING_WORKER_RECEIVE, &set,
		        PJ_SET_ACTUAL_TRIGGER | PJ_SET_TT_ADDRESS, now)
		    != 0) {
			break; /* canceled or dispatched meanwhile */
		}
		sched_tell_job(ctx, s, i, &j, w, n, c.chosen);
		s->st.dispatched++;
		int64_t lag = now - i->expected_trigger_time;
		if (lag > 0 && (uint64_t) lag > s->st.lag_max_ms) {
			s->st.lag_max_ms = (uint64_t) lag;
		}
		break;
	}
	}
out_w:
	free(w);
out:
	pj_job_fini(&j);
}

bool
sched_no_worker_waits(ar_ctx *ctx, struct sched_state *s, int64_t app_id,
    int64_t instance_id, int64_t job_id)
{
	int64_t now = ar_now_ms();
	for (size_t m = 0; m < s->n_owned; m++) {
		if (s->owned[m] == app_id) {
			if (now - s->owned_at[m] >= NEW_OWNER_GRACE_MS) {
				return false;
			}
			struct pj_sched_fire f = { .instance_id = instance_id,
				.job_id  = job_id,
				.app_id  = app_id,
				.fire_ms = now + NEW_OWNER_RETRY_MS };
			sched_arm(ctx, s, &f, 1);
			return true;
		}
	}
	return false;
}

void
sched_dispatch_id(ar_ctx *ctx, struct sched_state *s, int64_t id)
{
	struct pj_instance i;
	if (pj_store_instance_get(s->env->store, id, &i) != 0) {
		return;
	}
	if (i.status == PJ_INST_WAITING_DISPATCH) {
		dispatch_inst(ctx, s, &i);
	}
	pj_instance_fini(&i);
}

/* ---- arming ------------------------------------------------------------- */

static int
by_fire(const void *a, const void *b)
{
	const struct pj_sched_fire *x = a, *y = b;
	return x->fire_ms < y->fire_ms ? -1 : x->fire_ms > y->fire_ms;
}

/* One timer per distinct fire time of f[0..n) (sorted here). */
void
sched_arm(
    ar_ctx *ctx, struct sched_state *s, struct pj_sched_fire *f, size_t n)
{
	if (n == 0) {
		return; /* f may be NULL: qsort's argument must not be */
	}
	int64_t *ids  = ar_xmalloc(n * sizeof(*ids));
	int64_t *jobs = ar_xmalloc(n * sizeof(*jobs));
	int64_t  now  = ar_now_ms();
	qsort(f, n, sizeof(*f), by_fire);
	for (size_t a = 0, b; a < n; a = b) {
		size_t m = 0;
		for (b = a; b < n && f[b].fire_ms == f[a].fire_ms; b++) {
			if (sched_idset_add(&s->armed, f[b].instance_id)) {
				jobs[m]  = f[b].job_id;
				ids[m++] = f[b].instance_id;
			}
		}
		if (m == 0) {
			continue;
		}
		Pj__Sched__Fire fire = PJ__SCHED__FIRE__INIT;
		fire.fire_ms         = f[a].fire_ms;
		fire.n_instance_ids  = m;
		fire.instance_ids    = ids;
		fire.n_job_ids       = m;
		fire.job_ids         = jobs;
		int64_t d            = f[a].fire_ms - now;
		if (ar_timer_once(ar_ctx_system(ctx), ar_ctx_self(ctx),
		        &fire.base, d > 0 ? d : 0, NULL)
		    != 0) {
			for (size_t k = 0; k < m; k++) {
				sched_idset_del(
				    &s->armed, ids[k]); /* the check */
			}
		}
	}
	s->st.armed = (uint32_t) s->armed.n;
	free(ids);
	free(jobs);
}

/* Arms the WAITING_DISPATCH rows of apps[] due before now + window that
 * are not armed yet. */
void
sched_arm_pending(
    ar_ctx *ctx, struct sched_state *s, const int64_t *apps, size_t n)
{
	struct pj_instance_list l = { 0 };
	struct pj_sched_fires   f = { 0 };
	if (n == 0
	    || pj_store_instances_check(s->env->store,
	           PJ_CHECK_WAITING_DISPATCH, apps, n,
	           ar_now_ms() + s->env->sched.window_ms, CHECK_LIMIT, &l)
	        != 0) {
		return;
	}
	f.v = ar_xcalloc(l.n ? l.n : 1, sizeof(*f.v));
	for (size_t k = 0; k < l.n; k++) {
		if (!sched_idset_has(&s->armed, l.v[k].instance_id)) {
			/* job id 0 for a row without a scheduled fire (an
			 * API run with a delay, a retry): the Fire reads the
			 * row, which has its instance parameters */
			f.v[f.n++] = (struct pj_sched_fire) { .instance_id
				= l.v[k].instance_id,
				.job_id  = l.v[k].fire_time != 0 ? l.v[k].job_id : 0,
				.app_id  = l.v[k].app_id,
				.fire_ms = l.v[k].expected_trigger_time };
		}
	}
	sched_arm(ctx, s, f.v, f.n);
	pj_sched_fires_fini(&f);
	pj_instance_list_fini(&l);
}

/* ---- pass ----------------------------------------------------------------
 */

/* Frequent jobs (§5.9): one live instance each.  An enabled FIXED_RATE /
 * FIXED_DELAY job without one gets a new instance (its TaskTracker runs
 * the job's rate or delay); its lifecycle end disables it; a start more
 * than a window away waits. */
static void
frequent(ar_ctx *ctx, struct sched_state *s, const int64_t *apps, size_t n)
{
	struct pj_server_env *env = s->env;
	int64_t              *ids = NULL, now = ar_now_ms();
	size_t                m = 0;
	if (pj_store_frequent_idle(
	        env->store, apps, n, JOBS_PER_PASS, &ids, &m)
	    != 0) {
		return;
	}
	for (size_t k = 0; k < m; k++) {
		struct pj_job j;
		pj_lifecycle  lc;
		char          err[PJ_TIMING_ERR_MAX];
		if (pj_store_job_get(env->store, ids[k], &j) != 0) {
			continue;
		}
		if (pj_lifecycle_parse(j.lifecycle, &lc, err, sizeof(err)) != 0
		    || (lc.end_ms && lc.end_ms < now)) {
			ar_log(AR_LOG_INFO, "sched",
			    "app=%lld job=%lld: frequent job's lifecycle is "
			    "over (or invalid): disabled",
			    (long long) j.app_id, (long long) j.id);
			pj_store_job_set_status(
			    env->store, j.id, PJ_STATUS_DISABLE, now);
		} else if (lc.start_ms <= now + env->sched.window_ms) {
			struct pj_instance i   = { 0 };
			i.instance_id          = pj_ids_next(&env->ids);
			i.job_id               = j.id;
			i.app_id               = j.app_id;
			i.type                 = 1;
			i.status               = PJ_INST_WAITING_DISPATCH;
			i.job_params           = j.job_params;
			i.instance_params      = "";
			i.result               = "";
			i.task_tracker_address = "";
			i.expected_trigger_time
			    = lc.start_ms > now ? lc.start_ms : now;
			i.last_report_time = -1;
			if (pj_store_instances_create(env->store, &i, 1, now)
			    == 0) {
				struct pj_sched_fire f = { .instance_id
					= i.instance_id,
					.job_id  = j.id,
					.app_id  = j.app_id,
					.fire_ms = i.expected_trigger_time };
				sched_arm(ctx, s, &f, 1);
			}
		}
		pj_job_fini(&j);
	}
	free(ids);
}

/* One chunk of the pass over the apps owned at its start: at most
 * PASS_CHUNK due jobs (the most overdue first), their fires recorded and
 * armed (those due within PASS_ARM_NOW_MS now, the rest by
 * sched_pass_done).  A full chunk means more may be due, up to JOBS_PER_PASS a pass;
 * jobs of a chunk leave the due set (next_trigger_time moves past the
 * window), so the next chunk reads the next ones. */
static bool
pass_chunk(ar_ctx *ctx, struct sched_state *s)
{
	struct pj_server_env      *env = s->env;
	struct pj_sched_fires      f   = { 0 };
	struct pj_sched_pass_stats st;
	struct pj_sched_pass_opts  o = {
		 .window_ms            = env->sched.window_ms,
		 .misfire_threshold_ms = env->sched.misfire_threshold_ms,
		 .plan_cap             = PJ_SCHED_PLAN_MAX,
		 .job_limit            = PASS_CHUNK,
	};
	int rv = pj_sched_pass(env->store, &env->ids, s->owned, s->n_owned,
	    ar_now_ms(), &o, &f, &st);
	if (s->pass_jobs == 0) {
		s->st.passes++;
	}
	s->pass_jobs += st.jobs;
	s->st.recorded += st.recorded;
	s->st.duplicates += st.duplicates;
	if (rv != 0) {
		ar_log(AR_LOG_WARN, "sched",
		    "schedule pass failed: %s; the next pass tries again",
		    pj_store_errmsg(env->store));
	}
	if (st.missed > 0 || st.invalid > 0 || st.disabled > 0) {
		ar_log(AR_LOG_INFO, "sched",
		    "pass: %zu fires recorded, %zu missed (%zu dropped by "
		    "policy), %zu jobs invalid, %zu disabled (nothing left)",
		    st.recorded, st.missed, st.dropped, st.invalid,
		    st.disabled);
	}
	sched_jobs_cache(s, &f.jobs);
	/* near fires now; the rest with the other chunks' at the end */
	int64_t                soon = ar_now_ms() + PASS_ARM_NOW_MS;
	struct pj_sched_fires *pf   = &s->pass_fires;
	size_t                 m    = 0;
	for (size_t k = 0; k < f.n; k++) {
		if (f.v[k].fire_ms <= soon) {
			f.v[m++] = f.v[k];
			continue;
		}
		if (pf->n == pf->cap) {
			pf->cap = pf->cap ? 2 * pf->cap : 1024;
			pf->v   = ar_xrealloc(pf->v, pf->cap * sizeof(*pf->v));
		}
		pf->v[pf->n++] = f.v[k];
	}
	sched_arm(ctx, s, f.v, m);
	pj_sched_fires_fini(&f);
	return rv == 0 && st.jobs >= PASS_CHUNK
	    && s->pass_jobs < JOBS_PER_PASS;
}

void
sched_pass_done(ar_ctx *ctx, struct sched_state *s)
{
	sched_arm(ctx, s, s->pass_fires.v, s->pass_fires.n);
	pj_sched_fires_fini(&s->pass_fires);
}

bool
sched_on_pass(ar_ctx *ctx, struct sched_state *s)
{
	struct pj_server_env *env = s->env;
	int64_t               apps[OWNED_MAX], fresh[OWNED_MAX];
	size_t                n  = pj_owned_list(env->owned, apps, OWNED_MAX);
	size_t                nf = 0;
	if (n > OWNED_MAX) {
		n = OWNED_MAX;
	}
	/* apps that became ours: the previous owner's pending rows */
	int64_t at[OWNED_MAX], now = ar_now_ms();
	for (size_t k = 0; k < n; k++) {
		bool had = false;
		for (size_t m = 0; m < s->n_owned && !had; m++) {
			if (s->owned[m] == apps[k]) {
				had   = true;
				at[k] = s->owned_at[m];
			}
		}
		if (!had) {
			fresh[nf++] = apps[k];
			at[k]       = now;
		}
	}
	memcpy(s->owned, apps, n * sizeof(*apps));
	memcpy(s->owned_at, at, n * sizeof(*at));
	s->n_owned = n;
	sched_arm_pending(ctx, s, fresh, nf);
	frequent(ctx, s, apps, n);
	s->pass_jobs = 0;
	return pass_chunk(ctx, s);
}

bool
sched_on_pass_more(ar_ctx *ctx, struct sched_state *s)
{
	return pass_chunk(ctx, s);
}

void
sched_on_fire(ar_ctx *ctx, struct sched_state *s, const Pj__Sched__Fire *f)
{
	int64_t early = f->fire_ms - ar_now_ms();
	if (early > 0) {
		/* the timer heap runs on the monotonic clock: a fire time on
		 * the wall clock can come a millisecond early; never fire
		 * before the fire time (Quartz does not) */
		if (ar_timer_once(ar_ctx_system(ctx), ar_ctx_self(ctx),
		        &f->base, early, NULL)
		    == 0) {
			return;
		}
	}
	for (size_t k = 0; k < f->n_instance_ids; k++) {
		sched_idset_del(&s->armed, f->instance_ids[k]);
	}
	s->st.armed = (uint32_t) s->armed.n;
	if (f->n_job_ids == f->n_instance_ids) {
		sched_dispatch_fire(ctx, s, f);
		return;
	}
	for (size_t k = 0; k < f->n_instance_ids; k++) {
		sched_dispatch_id(ctx, s, f->instance_ids[k]);
	}
}

void
sched_on_arm(ar_ctx *ctx, struct sched_state *s, const Pj__Sched__Arm *a)
{
	struct pj_sched_fire f
	    = { .instance_id = a->instance_id, .fire_ms = a->fire_ms };
	sched_arm(ctx, s, &f, 1);
}
