/*
 * light_tracker.c - light TaskTrackers (powerjob-design.md §6.4): one
 * STANDALONE instance each, run on a thread of its own.
 *
 * Design notes
 * ------------
 * A processor may run for hours, so it never runs on a dispatcher thread:
 * pj_light_start (called by the WorkerActor) copies the request and starts
 * a detached thread that loads the processor, sends RUNNING, calls process
 * (retrying in place while it fails and task_retry_num allows, §6.4 step
 * 4), and hands the final report to the reporter (reliable, report_time =
 * now + 1 so it sorts after any RUNNING report).  The task context follows
 * §7.2: task id "<jobId>#<instanceId>", task name OMS_ROOT_TASK, the log
 * config of the job (worker/logq.h) applied in ctx->log.
 *
 * The WorkerActor's tick calls pj_light_tick: RUNNING reports every
 * report_ms; an instance past instance_timeout_ms is asked to stop
 * (ctx->stopping becomes 1, result "instance execute timeout,interrupted
 * success" when the processor gives up); a processor that has not
 * returned stop_wait_ms after it was asked to stop is reported FAILED
 * ("...,interrupt failed") and its thread abandoned (C cannot kill a
 * thread; PowerJob's Thread.stop is optional there too).  A stop from the
 * server (ServerStopInstanceReq) sets the stop flag and `silent`: the
 * server already recorded the end, so no final report follows (PowerJob),
 * and the run no longer counts as the instance's: a retry sent right
 * after the stop starts a new run at once.
 *
 * Threads and locks: the set's mutex guards the list and each tracker's
 * `reported` and `next`; stop, silent and done are atomics, so a
 * processor polls ctx->stopping without a lock; a tracker's result has its
 * own mutex.  The set lock is never held while a processor runs; the
 * tracker thread takes it only to leave the list.  A tracker is freed by
 * its own thread after it left the list, so the tick (holding the lock)
 * never sees freed memory.
 */
#include "actors/light_tracker.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/log.h"

enum stop_reason { STOP_NONE, STOP_TIMEOUT, STOP_SERVER, STOP_SHUTDOWN };

#define R_TIMEOUT "instance execute timeout,interrupted success"
#define R_TIMEOUT_STUCK                                                       \
	"instance execute timeout,interrupt failed (the processor did not "   \
	"return)"
#define R_SHUTDOWN "worker stopped (SIGTERM),interrupted success"
#define R_SHUTDOWN_STUCK                                                      \
	"worker stopped (SIGTERM),interrupt failed (the processor did not "   \
	"return)"

struct light {
	struct light                     *next;
	struct pj_worker_env             *env;
	Pj__Worker__ServerScheduleJobReq *req;
	char                              task_id[64];
	char                              workspace[1200];
	struct pj_log_config              logc;
	int64_t         start_ms, start_mono, deadline_mono, last_report_mono;
	int64_t         stop_mono;
	atomic_int      stop, silent, done;
	int             reported; /* under the set lock */
	pthread_mutex_t rmu;      /* guards result */
	char           *result;
};

struct pj_light_set {
	pthread_mutex_t mu;
	struct light   *head;
};

struct pj_light_set *
pj_light_set_new(void)
{
	struct pj_light_set *s = ar_xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	return s;
}

void
pj_light_set_free(struct pj_light_set *s)
{
	if (s == NULL) {
		return;
	}
	/* trackers still listed belong to abandoned threads: not freed */
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* ---- reports --------------------------------------------------------------
 */

static void
report(struct light *l, int status, const char *result)
{
	Pj__Cluster__InstanceStatusReport r
	    = PJ__CLUSTER__INSTANCE_STATUS_REPORT__INIT;
	int64_t now = ar_now_ms();

	r.app_id          = l->req->app_id;
	r.job_id          = l->req->job_id;
	r.instance_id     = l->req->instance_id;
	r.wf_instance_id  = l->req->wf_instance_id;
	r.instance_status = status;
	r.result          = (char *) (result ? result : "");
	r.total_task_num  = 1;
	r.start_time      = l->start_ms;
	if (status == 3) {
		r.report_time = now;
	} else {
		r.succeed_task_num = status == 5;
		r.failed_task_num  = status == 4;
		r.end_time         = now;
		r.report_time      = now + 1; /* after any RUNNING report */
	}
	pj_worker_report(l->env, &r);
}

/* result cut to max bytes (not inside a UTF-8 sequence) plus "..." */
static char *
truncated(const char *s, int64_t max)
{
	size_t n = strlen(s);
	char  *c;

	if ((int64_t) n <= max) {
		return ar_xstrdup(s);
	}
	n = (size_t) max;
	while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80) {
		n--;
	}
	c = ar_xmalloc(n + 4);
	memcpy(c, s, n);
	memcpy(c + n, "...", 4);
	return c;
}

/* ---- the task context's services -----------------------------------------
 */

static const char *
level_name(int level)
{
	switch (level) {
	case PJ_LOG_DEBUG:
		return "DEBUG";
	case PJ_LOG_INFO:
		return "INFO";
	case PJ_LOG_WARN:
		return "WARN";
	default:
		return "ERROR";
	}
}

static void
vlog_line(struct light *l, int level, const char *fmt, va_list ap)
{
	char line[PJ_LOGQ_LINE_MAX + 1];
	int  t = l->logc.type;

	if (t == PJ_LOGT_NULL || l->logc.level == PJ_LOG_OFF
	    || level < l->logc.level) {
		return;
	}
	vsnprintf(line, sizeof(line), fmt, ap);
	if (t == PJ_LOGT_ONLINE || t == PJ_LOGT_LOCAL_AND_ONLINE) {
		pj_worker_log(l->env, l->req->instance_id, level, "%s", line);
	}
	if (t == PJ_LOGT_LOCAL || t == PJ_LOGT_LOCAL_AND_ONLINE) {
		ar_log(level >= PJ_LOG_ERROR   ? AR_LOG_ERROR
		        : level >= PJ_LOG_WARN ? AR_LOG_WARN
		        : level >= PJ_LOG_INFO ? AR_LOG_INFO
		                               : AR_LOG_DEBUG,
		    "job", "job=%lld instance=%lld %s",
		    (long long) l->req->job_id,
		    (long long) l->req->instance_id, line);
	}
	if (t == PJ_LOGT_STDOUT) {
		flockfile(stdout);
		printf("%lld %s job=%lld instance=%lld %s\n",
		    (long long) ar_now_ms(), level_name(level),
		    (long long) l->req->job_id,
		    (long long) l->req->instance_id, line);
		fflush(stdout);
		funlockfile(stdout);
	}
}

static void log_line(struct light *l, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
log_line(struct light *l, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog_line(l, level, fmt, ap);
	va_end(ap);
}

static void
ctx_log(pj_task_ctx *ctx, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog_line(ctx->worker_data, level, fmt, ap);
	va_end(ap);
}

static int
ctx_map(pj_task_ctx *ctx, const char *task_name, const struct pj_subtask *subs,
    size_t n)
{
	(void) task_name;
	(void) subs;
	(void) n;
	ctx->set_result(ctx,
	    "map is for MAP and MAP_REDUCE jobs; this is a "
	    "STANDALONE job");
	return -1;
}

static int
ctx_stopping(pj_task_ctx *ctx)
{
	struct light *l = ctx->worker_data;
	return atomic_load(&l->stop) != STOP_NONE;
}

static void
ctx_set_result(pj_task_ctx *ctx, const char *fmt, ...)
{
	struct light *l = ctx->worker_data;
	char         *s = NULL;
	va_list       ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		abort(); /* out of memory: decided once (runtime/alloc.h) */
	}
	va_end(ap);
	pthread_mutex_lock(&l->rmu);
	free(l->result);
	l->result = s;
	pthread_mutex_unlock(&l->rmu);
}

/* ---- the tracker's thread -------------------------------------------------
 */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void) st;
	(void) flag;
	(void) f;
	remove(path);
	return 0;
}

static void
light_free(struct light *l)
{
	pj__worker__server_schedule_job_req__free_unpacked(l->req, NULL);
	pthread_mutex_destroy(&l->rmu);
	free(l->result);
	free(l);
}

/* Leaves the set; sends the final report unless the server stopped the
 * instance or a watchdog already reported it. */
static void
finish(struct light *l, int status, const char *result)
{
	struct pj_worker_env *env = l->env;
	struct light        **p;
	int                   send;

	pthread_mutex_lock(&env->lights->mu);
	for (p = &env->lights->head; *p != NULL && *p != l; p = &(*p)->next) {
	}
	if (*p == l) {
		*p = l->next;
	}
	send        = !l->reported && !atomic_load(&l->silent);
	l->reported = 1;
	pthread_mutex_unlock(&env->lights->mu);
	if (send) {
		char *r = truncated(result, env->cfg.max_result_bytes);
		report(l, status, r);
		free(r);
	}
	ar_log(status == 5 ? AR_LOG_DEBUG : AR_LOG_INFO, "worker",
	    "app=%lld job=%lld instance=%lld %s%s: %s",
	    (long long) l->req->app_id, (long long) l->req->job_id,
	    (long long) l->req->instance_id,
	    status == 5 ? "succeeded" : "failed",
	    send ? ""
	         : " (not reported: stopped by the server or reported "
	           "already)",
	    result);
	atomic_fetch_sub(&env->light, 1);
}

static void *
run(void *arg)
{
	struct light       *l = arg;
	struct pj_processor p;
	pj_task_ctx         ctx;
	char                err[512];
	int                 ok = 0, status;
	const char         *result;
	char               *own = NULL;

	report(l, 3, ""); /* RUNNING: the server counts the attempt */
	mkdir(l->workspace, 0750);
	memset(&ctx, 0, sizeof(ctx));
	ctx.abi             = PJ_PROCESSOR_ABI;
	ctx.job_id          = l->req->job_id;
	ctx.instance_id     = l->req->instance_id;
	ctx.sub_instance_id = l->req->instance_id;
	ctx.wf_instance_id  = l->req->wf_instance_id;
	ctx.task_id         = l->task_id;
	ctx.task_name       = PJ_TASK_ROOT;
	ctx.job_params      = l->req->job_params;
	ctx.instance_params = l->req->instance_params;
	ctx.processor_info  = l->req->processor_info;
	ctx.execute_type    = l->req->execute_type;
	ctx.max_retry_times = l->req->task_retry_num;
	ctx.deadline_ms     = l->deadline_mono;
	ctx.workspace       = l->workspace;
	ctx.log             = ctx_log;
	ctx.map             = ctx_map;
	ctx.stopping        = ctx_stopping;
	ctx.set_result      = ctx_set_result;
	ctx.worker_data     = l;
	if (pj_processor_load(&l->env->proc, l->req->processor_type,
	        l->req->processor_info, &p, err, sizeof(err))
	    != 0) {
		own = ar_xmalloc(strlen(err) + 64);
		sprintf(own, "load processor failed: %s", err);
		log_line(l, PJ_LOG_ERROR, "%s", own);
		finish(l, 4, own);
		goto out;
	}
	for (int retry = 0;; retry++) {
		ctx.current_retry_times = retry;
		pthread_mutex_lock(&l->rmu);
		free(l->result);
		l->result = NULL;
		pthread_mutex_unlock(&l->rmu);
		ok = p.ops->process(p.state, &ctx) == 1;
		if (ok || atomic_load(&l->stop) != STOP_NONE
		    || retry >= l->req->task_retry_num) {
			break;
		}
		log_line(l, PJ_LOG_WARN,
		    "task %s failed (try %d of %d): %s; retried in place",
		    l->task_id, retry + 1, l->req->task_retry_num + 1,
		    l->result ? l->result : "");
	}
	pj_processor_unload(&p);
	atomic_store(&l->done, 1);
	pthread_mutex_lock(&l->rmu);
	own       = l->result;
	l->result = NULL;
	pthread_mutex_unlock(&l->rmu);
	status = ok ? 5 : 4;
	result = own ? own : ok ? "" : "processor failed without a result";
	if (!ok) {
		switch (atomic_load(&l->stop)) {
		case STOP_TIMEOUT:
			result = R_TIMEOUT;
			break;
		case STOP_SHUTDOWN:
			result = R_SHUTDOWN;
			break;
		default:
			break;
		}
	}
	finish(l, status, result);
out:
	free(own);
	nftw(l->workspace, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	light_free(l);
	return NULL;
}

/* ---- the WorkerActor's calls ----------------------------------------------
 */

static Pj__Worker__ServerScheduleJobReq *
copy_req(const Pj__Worker__ServerScheduleJobReq *r)
{
	size_t   n   = protobuf_c_message_get_packed_size(&r->base);
	uint8_t *buf = ar_xmalloc(n ? n : 1);
	Pj__Worker__ServerScheduleJobReq *c;

	protobuf_c_message_pack(&r->base, buf);
	c = pj__worker__server_schedule_job_req__unpack(NULL, n, buf);
	free(buf);
	return c;
}

/* The run of the instance that still counts: a run the server stopped
 * (silent) is over for the server, which may already have sent the same
 * instance again (a retry); that new run starts beside the old one while
 * the old one winds down, instead of being ignored as a duplicate. */
static struct light *
find(struct pj_light_set *s, int64_t instance_id)
{
	struct light *l;
	for (l = s->head; l != NULL
	     && (l->req->instance_id != instance_id
	         || atomic_load(&l->silent));
	     l = l->next) { }
	return l;
}

int
pj_light_start(struct pj_worker_env        *env,
    const Pj__Worker__ServerScheduleJobReq *req, char *err, size_t errlen)
{
	struct pj_light_set *s = env->lights;
	struct light        *l;
	pthread_attr_t       attr;
	pthread_t            th;
	char                 lerr[256];
	int                  rv;

	pthread_mutex_lock(&s->mu);
	if (find(s, req->instance_id) != NULL) {
		pthread_mutex_unlock(&s->mu);
		return PJ_LIGHT_DUPLICATE;
	}
	if (atomic_load(&env->light)
	    >= (int) (env->cfg.max_light * PJ_LIGHT_DROP_FACTOR)) {
		pthread_mutex_unlock(&s->mu);
		return PJ_LIGHT_DROPPED;
	}
	l = ar_xcalloc(1, sizeof(*l));
	if ((l->req = copy_req(req)) == NULL) {
		pthread_mutex_unlock(&s->mu);
		free(l);
		snprintf(err, errlen, "request does not copy");
		return PJ_LIGHT_ERROR;
	}
	l->env = env;
	pthread_mutex_init(&l->rmu, NULL);
	snprintf(l->task_id, sizeof(l->task_id), "%lld#%lld",
	    (long long) req->job_id, (long long) req->instance_id);
	/* a run of its own: a retry of the instance may start while the
	 * previous run's thread still removes its workspace */
	static atomic_uint runs;
	snprintf(l->workspace, sizeof(l->workspace), "%s/instances/%lld.%u",
	    env->cfg.data_dir, (long long) req->instance_id,
	    atomic_fetch_add(&runs, 1));
	if (pj_log_config_parse(req->log_config, &l->logc, lerr, sizeof(lerr))
	    != 0) {
		ar_log(AR_LOG_WARN, "worker",
		    "job=%lld instance=%lld: %s; using what parsed "
		    "(default ONLINE, INFO)",
		    (long long) req->job_id, (long long) req->instance_id,
		    lerr);
	}
	l->start_ms         = ar_now_ms();
	l->start_mono       = ar_mono_ms();
	l->last_report_mono = l->start_mono;
	l->deadline_mono    = req->instance_timeout_ms > 0
	       ? l->start_mono + req->instance_timeout_ms
	       : 0;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	atomic_fetch_add(&env->light, 1);
	l->next = s->head;
	s->head = l;
	rv      = pthread_create(&th, &attr, run, l);
	pthread_attr_destroy(&attr);
	if (rv != 0) {
		s->head = l->next;
		atomic_fetch_sub(&env->light, 1);
		pthread_mutex_unlock(&s->mu);
		light_free(l);
		snprintf(
		    err, errlen, "cannot start a thread: %s", strerror(rv));
		return PJ_LIGHT_ERROR;
	}
	pthread_mutex_unlock(&s->mu);
	return PJ_LIGHT_STARTED;
}

int
pj_light_stop(struct pj_worker_env *env, int64_t instance_id)
{
	struct light *l;
	int           none = STOP_NONE;

	pthread_mutex_lock(&env->lights->mu);
	if ((l = find(env->lights, instance_id)) == NULL) {
		pthread_mutex_unlock(&env->lights->mu);
		return AR_ENOENT;
	}
	atomic_store(&l->silent, 1);
	if (atomic_compare_exchange_strong(&l->stop, &none, STOP_SERVER)) {
		l->stop_mono = ar_mono_ms();
	}
	pthread_mutex_unlock(&env->lights->mu);
	return 0;
}

int
pj_light_has(struct pj_worker_env *env, int64_t instance_id)
{
	int has;
	pthread_mutex_lock(&env->lights->mu);
	has = find(env->lights, instance_id) != NULL;
	pthread_mutex_unlock(&env->lights->mu);
	return has;
}

void
pj_light_tick(struct pj_worker_env *env)
{
	int64_t       now = ar_mono_ms();
	struct light *l;

	pthread_mutex_lock(&env->lights->mu);
	for (l = env->lights->head; l != NULL; l = l->next) {
		int none = STOP_NONE, stop;
		if (atomic_load(&l->done) || l->reported) {
			continue;
		}
		if (l->deadline_mono > 0 && now >= l->deadline_mono
		    && atomic_compare_exchange_strong(
		        &l->stop, &none, STOP_TIMEOUT)) {
			l->stop_mono = now;
			ar_log(AR_LOG_INFO, "worker",
			    "app=%lld job=%lld instance=%lld: over its "
			    "timeout of %lld ms; the processor is asked to "
			    "stop",
			    (long long) l->req->app_id,
			    (long long) l->req->job_id,
			    (long long) l->req->instance_id,
			    (long long) l->req->instance_timeout_ms);
		}
		stop = atomic_load(&l->stop);
		if ((stop == STOP_TIMEOUT || stop == STOP_SHUTDOWN)
		    && now - l->stop_mono >= l->env->cfg.stop_wait_ms) {
			l->reported = 1;
			report(l, 4,
			    stop == STOP_TIMEOUT ? R_TIMEOUT_STUCK
			                         : R_SHUTDOWN_STUCK);
			ar_log(AR_LOG_WARN, "worker",
			    "app=%lld job=%lld instance=%lld: the processor "
			    "did not return %lld ms after it was asked to "
			    "stop; reported FAILED, its thread abandoned",
			    (long long) l->req->app_id,
			    (long long) l->req->job_id,
			    (long long) l->req->instance_id,
			    (long long) l->env->cfg.stop_wait_ms);
			continue;
		}
		if (stop != STOP_SERVER
		    && now - l->last_report_mono >= env->cfg.report_ms) {
			l->last_report_mono = now;
			report(l, 3, "");
		}
	}
	pthread_mutex_unlock(&env->lights->mu);
}

void
pj_light_stop_all(struct pj_worker_env *env)
{
	struct light *l;
	int64_t       now = ar_mono_ms();

	pthread_mutex_lock(&env->lights->mu);
	for (l = env->lights->head; l != NULL; l = l->next) {
		int none = STOP_NONE;
		if (atomic_compare_exchange_strong(
		        &l->stop, &none, STOP_SHUTDOWN)) {
			l->stop_mono = now;
		}
	}
	pthread_mutex_unlock(&env->lights->mu);
}

int
pj_light_abandon_all(struct pj_worker_env *env)
{
	struct light *l;
	int           n = 0;

	pthread_mutex_lock(&env->lights->mu);
	for (l = env->lights->head; l != NULL; l = l->next) {
		if (!l->reported && !atomic_load(&l->silent)
		    && !atomic_load(&l->done)) {
			l->reported = 1;
			report(l, 4,
			    atomic_load(&l->stop) == STOP_TIMEOUT
			        ? R_TIMEOUT_STUCK
			        : R_SHUTDOWN_STUCK);
			n++;
		}
	}
	pthread_mutex_unlock(&env->lights->mu);
	return n;
}
