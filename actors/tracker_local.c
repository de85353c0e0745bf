/*
 * tracker_local.c - the parts of a heavy instance that run on the
 * TaskTracker's node (powerjob-design.md §6.5-6.6): BROADCAST's
 * pre_process before the fan-out and post_process after it, MAP_REDUCE's
 * reduce over every result.  They run on a thread of their own, never on
 * the actor dispatcher.
 *
 * Design notes
 * ------------
 * The TT actor reads what the job needs (the finished results) from its
 * task store into the job, then starts a detached thread that loads the
 * processor, calls it and tells the TT the outcome as a one-entry
 * ProcessorReportTaskStatusReq from address "local".
 *
 * Threads: the job is shared by the TT actor and the thread; `refs`
 * counts both, the last one frees it.  The thread tells the TT only under
 * j->mu with `gone` false; the TT sets `gone` (and `stop`, which the
 * processor polls) under j->mu when it stops, so the thread never touches
 * a system or actor that went away.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/tracker_int2.h"
#include "runtime/alloc.h"
#include "runtime/log.h"

struct local_job {
	atomic_int            refs;
	pthread_mutex_t       mu;
	bool                  gone;
	atomic_bool           stop;
	struct pj_worker_env *env;
	ar_system            *sys;
	ar_ref                tt;
	int                   kind;
	int64_t               job_id, instance_id, sub, wf_instance_id;
	int64_t               deadline; /* mono ms, 0 = none */
	int32_t               retry;
	int64_t               seq;
	char                  task_id[64];
	char *type, *info, *job_params, *instance_params, *exec_name;
	/* the results (reduce / post) */
	struct pj_task_outcome *r;
	size_t                  n, cap;
	char                   *arena; /* ids and results, NUL separated */
	size_t                  alen, acap;
	char                   *result;
	size_t                  result_max;
};

static void
job_unref(struct local_job *j)
{
	if (atomic_fetch_sub(&j->refs, 1) != 1) {
		return;
	}
	free(j->type), free(j->info), free(j->job_params);
	free(j->instance_params), free(j->exec_name);
	free(j->r), free(j->arena), free(j->result);
	pthread_mutex_destroy(&j->mu);
	free(j);
}

void
tt_local_release(struct local_job *j)
{
	pthread_mutex_lock(&j->mu);
	j->gone = true;
	atomic_store(&j->stop, true);
	pthread_mutex_unlock(&j->mu);
	job_unref(j);
}

static void
job_log(pj_task_ctx *ctx, int level, const char *fmt, ...)
{
	struct local_job *j = ctx->worker_data;
	va_list           ap;

	va_start(ap, fmt);
	pj_worker_logv(j->env, ctx->instance_id, level, fmt, ap);
	va_end(ap);
}

static void
job_set_result(pj_task_ctx *ctx, const char *fmt, ...)
{
	struct local_job *j = ctx->worker_data;
	va_list           ap;

	va_start(ap, fmt);
	vsnprintf(j->result, j->result_max + 1, fmt, ap);
	va_end(ap);
}

static int
job_stopping(pj_task_ctx *ctx)
{
	struct local_job *j = ctx->worker_data;

	return atomic_load(&j->stop)
	    || (j->deadline > 0 && ar_mono_ms() > j->deadline);
}

static int
job_map(
    pj_task_ctx *ctx, const char *name, const struct pj_subtask *s, size_t n)
{
	(void) name, (void) s, (void) n;
	ctx->set_result(ctx, "map is not available in %s",
	    ((struct local_job *) ctx->worker_data)->kind == PJ_LOCAL_PRE
	        ? "pre_process"
	        : "reduce / post_process");
	return -1;
}

static int
run(struct local_job *j)
{
	const struct pj_heavy_settings *s = pj_tracker_settings();
	struct pj_processor             p;
	pj_task_ctx                     c;
	char                            err[512];
	int                             ok = 0;

	memset(&c, 0, sizeof(c));
	c.abi             = PJ_PROCESSOR_ABI;
	c.job_id          = j->job_id;
	c.instance_id     = j->instance_id;
	c.sub_instance_id = j->sub;
	c.wf_instance_id  = j->wf_instance_id;
	c.task_id         = j->task_id;
	c.task_name  = j->kind == PJ_LOCAL_PRE ? PJ_TASK_ROOT : PJ_TASK_LAST;
	c.job_params = j->job_params;
	c.instance_params = j->instance_params;
	c.processor_info  = j->info;
	c.execute_type    = j->exec_name;
	c.max_retry_times = j->retry;
	c.deadline_ms     = j->deadline;
	c.workspace       = j->env->proc.data_dir;
	c.log             = job_log;
	c.map             = job_map;
	c.stopping        = job_stopping;
	c.set_result      = job_set_result;
	c.worker_data     = j;
	if (s->load(&j->env->proc, j->type, j->info, &p, err, sizeof(err))
	    != 0) {
		snprintf(j->result, j->result_max + 1,
		    "processor did not load: %s", err);
		return 0;
	}
	switch (j->kind) {
	case PJ_LOCAL_PRE:
		ok = p.ops->pre_process ? p.ops->pre_process(p.state, &c) : 1;
		if (p.ops->pre_process == NULL) {
			snprintf(
			    j->result, j->result_max + 1, "NO_PREPOST_TASK");
		}
		break;
	case PJ_LOCAL_POST:
		if (p.ops->post_process != NULL) {
			ok = p.ops->post_process(p.state, &c, j->r, j->n);
		} else {
			size_t good = 0;
			for (size_t i = 0; i < j->n; i++) {
				good += j->r[i].success != 0;
			}
			ok = good == j->n;
			snprintf(j->result, j->result_max + 1,
			    "succeed:%zu, failed:%zu", good, j->n - good);
		}
		break;
	case PJ_LOCAL_REDUCE:
		if (p.ops->reduce == NULL) {
			snprintf(j->result, j->result_max + 1,
			    "processor %s has no reduce: a MAP_REDUCE job "
			    "needs one",
			    p.ops->name ? p.ops->name : "?");
		} else {
			ok = p.ops->reduce(p.state, &c, j->r, j->n);
		}
		break;
	}
	if (ok != 1 && j->result[0] == '\0') {
		snprintf(j->result, j->result_max + 1, "%s",
		    job_stopping(&c) ? "stopped or timed out"
		                     : "processor returned failure");
	}
	pj_processor_unload(&p);
	return ok == 1;
}

static void *
job_main(void *arg)
{
	struct local_job *j  = arg;
	int               ok = run(j);

	pthread_mutex_lock(&j->mu);
	if (!j->gone) {
		Pj__Tracker__ProcessorReportTaskStatusReq r
		    = PJ__TRACKER__PROCESSOR_REPORT_TASK_STATUS_REQ__INIT;
		Pj__Tracker__TaskStatus  e  = PJ__TRACKER__TASK_STATUS__INIT;
		Pj__Tracker__TaskStatus *ep = &e;

		e.task_id         = j->task_id;
		e.status          = ok ? PJ_TASK_SUCCEED : PJ_TASK_FAILED;
		e.result          = j->result;
		e.sub_instance_id = j->sub;
		e.seq             = j->seq;
		e.report_time     = ar_now_ms();
		r.instance_id     = j->instance_id;
		r.address         = PJ_LOCAL_ADDRESS;
		r.n_tasks         = 1;
		r.tasks           = &ep;
		ar_tell(j->sys, j->tt, &r.base, AR_REF_NONE);
	}
	pthread_mutex_unlock(&j->mu);
	job_unref(j);
	return NULL;
}

static int
collect(const struct pj_task *t, void *arg)
{
	struct local_job *j  = arg;
	size_t            li = strlen(t->task_id) + 1;
	size_t            lr = strlen(t->result) + 1;

	if (j->n == j->cap) {
		j->cap = j->cap ? 2 * j->cap : 1024;
		j->r   = ar_xrealloc(j->r, j->cap * sizeof(*j->r));
	}
	if (j->alen + li + lr > j->acap) {
		while (j->alen + li + lr > j->acap) {
			j->acap = j->acap ? 2 * j->acap : 65536;
		}
		j->arena = ar_xrealloc(j->arena, j->acap);
	}
	/* offsets now, pointers once the arena stops moving */
	j->r[j->n].task_id = (const char *) (uintptr_t) j->alen;
	memcpy(j->arena + j->alen, t->task_id, li);
	j->alen += li;
	j->r[j->n].result = (const char *) (uintptr_t) j->alen;
	memcpy(j->arena + j->alen, t->result, lr);
	j->alen += lr;
	j->r[j->n].success = t->status == PJ_TASK_SUCCEED;
	j->n++;
	return 0;
}

void
tt_local_start(
    struct tt *t, struct sub *s, int kind, const char *task_id, int64_t seq)
{
	struct local_job *j = ar_xcalloc(1, sizeof(*j));
	pthread_attr_t    a;
	pthread_t         th;

	atomic_init(&j->refs, 2);
	pthread_mutex_init(&j->mu, NULL);
	j->env             = t->env;
	j->sys             = t->sys;
	j->tt              = t->self;
	j->kind            = kind;
	j->seq             = seq;
	j->job_id          = t->info.job_id;
	j->instance_id     = t->instance_id;
	j->wf_instance_id  = t->info.wf_instance_id;
	j->sub             = s->id;
	j->retry           = t->info.task_retry_num;
	j->type            = ar_xstrdup(t->info.processor_type);
	j->info            = ar_xstrdup(t->info.processor_info);
	j->job_params      = ar_xstrdup(t->info.job_params);
	j->instance_params = ar_xstrdup(t->info.instance_params);
	j->exec_name       = ar_xstrdup(t->info.execute_type);
	j->result_max      = t->env->cfg.max_result_bytes > 0
	         ? (size_t) t->env->cfg.max_result_bytes
	         : 8096;
	j->result          = ar_xcalloc(1, j->result_max + 1);
	if (t->info.instance_timeout_ms > 0 && !t->frequent) {
		j->deadline = ar_mono_ms() + t->info.instance_timeout_ms
		    - (ar_now_ms() - t->start);
	}
	snprintf(j->task_id, sizeof(j->task_id), "%s", task_id);
	if (kind != PJ_LOCAL_PRE) {
		/* reduce gets every finished task but the last one (PowerJob:
		 * root and intermediate tasks included); post_process only the
		 * broadcast tasks */
		int64_t t0 = ar_mono_ms();
		if (pj_task_store_results(t->store, t->instance_id, s->id,
		        PJ_TASK_LAST, collect, j)
		    != 0) {
			ar_log(AR_LOG_WARN, "tracker",
			    "instance=%lld reading results: %s",
			    (long long) t->instance_id,
			    pj_task_store_error(t->store));
		}
		if (kind == PJ_LOCAL_POST) {
			size_t k = 0;
			for (size_t i = 0; i < j->n; i++) {
				const char *id
				    = j->arena + (uintptr_t) j->r[i].task_id;
				char root[32];
				pj_root_task_id(
				    t->frequent, s->id, root, sizeof(root));
				if (strcmp(id, root) != 0) {
					j->r[k++] = j->r[i];
				}
			}
			j->n = k;
		}
		for (size_t i = 0; i < j->n; i++) {
			j->r[i].task_id
			    = j->arena + (uintptr_t) j->r[i].task_id;
			j->r[i].result = j->arena + (uintptr_t) j->r[i].result;
		}
		ar_log(AR_LOG_DEBUG, "tracker",
		    "instance=%lld %zu results read in %lld ms",
		    (long long) t->instance_id, j->n,
		    (long long) (ar_mono_ms() - t0));
	}
	s->job = j;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &a, job_main, j) != 0) {
		/* no thread to spare: run it here rather than lose it */
		ar_log(AR_LOG_WARN, "tracker",
		    "instance=%lld no thread for the local job: runs inline",
		    (long long) t->instance_id);
		job_main(j);
	}
	pthread_attr_destroy(&a);
}
