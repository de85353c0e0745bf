/*
 * processor_pool.c - a ProcessorTracker's pool threads and the services a
 * processor calls while it runs a task (log, map, stopping, set_result);
 * the manager actor is processor_tracker.c, whose design notes describe
 * the threads and the locking.
 *
 * Design notes (threads): pool threads take tasks from the PT's queue and
 * push statuses into its outbox under pt->mu; map asks the TaskTracker
 * from the pool thread (the ask under pt->mu with sys_gone checked, the
 * wait outside it).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/processor_int.h"
#include "runtime/alloc.h"
#include "runtime/log.h"
#include "worker/task_store.h"

atomic_int live_pts;

struct run {
	pj_task_ctx     ctx;
	struct pt      *pt;
	struct pt_task *t;
	char           *result;
	size_t          result_max;
	int64_t         map_seq;
};

void
pt_unref(struct pt *p)
{
	if (atomic_fetch_sub(&p->refs, 1) != 1) {
		return;
	}
	pj_processor_unload(&p->proc);
	for (size_t i = 0; i < p->qlen; i++) {
		struct pt_task *t = p->q[(p->qhead + i) % p->qcap];
		free(t->task_id), free(t->task_name), free(t->content),
		    free(t);
	}
	for (size_t i = 0; i < p->nout; i++) {
		free(p->out[i].task_id), free(p->out[i].result);
	}
	free(p->out);
	free(p->q);
	if (p->info != NULL) {
		pj__tracker__instance_info__free_unpacked(p->info, NULL);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
	atomic_fetch_sub(&live_pts, 1);
}

/* ---- the processor's services ------------------------------------------ */

static void
ctx_log(pj_task_ctx *ctx, int level, const char *fmt, ...)
{
	struct run *r = ctx->worker_data;
	va_list     ap;

	va_start(ap, fmt);
	pj_worker_logv(r->pt->env, ctx->instance_id, level, fmt, ap);
	va_end(ap);
}

static void
ctx_set_result(pj_task_ctx *ctx, const char *fmt, ...)
{
	struct run *r = ctx->worker_data;
	va_list     ap;

	va_start(ap, fmt);
	vsnprintf(r->result, r->result_max + 1, fmt, ap);
	va_end(ap);
}

static int
ctx_stopping(pj_task_ctx *ctx)
{
	struct run *r = ctx->worker_data;

	return atomic_load(&r->pt->stop_flag)
	    || (ctx->deadline_ms > 0 && ar_mono_ms() > ctx->deadline_ms);
}

static int
ctx_map(pj_task_ctx *ctx, const char *task_name, const struct pj_subtask *subs,
    size_t n)
{
	struct run                     *r = ctx->worker_data;
	struct pt                      *p = r->pt;
	const struct pj_heavy_settings *s = pj_tracker_settings();
	char                            name[160];
	size_t                          chunk = (size_t) s->map_chunk;
	size_t budget = ar_system_config(p->env->sys)->max_message_bytes / 2;
	Pj__Tracker__SubTask  *st;
	Pj__Tracker__SubTask **sp;
	char                  *ids;
	int                    rv = 0;

	if (p->exec != PJ_EXEC_MAP && p->exec != PJ_EXEC_MAP_REDUCE) {
		ctx->set_result(
		    ctx, "map is only for MAP and MAP_REDUCE jobs");
		return -1;
	}
	if (n == 0) {
		return 0;
	}
	if (subs == NULL) {
		ctx->set_result(ctx, "map: no sub-tasks given");
		return -1;
	}
	if (task_name == NULL || task_name[0] == '\0') {
		task_name = "MAP_TASK";
	}
	if (strcmp(task_name, PJ_TASK_ROOT) == 0
	    || strcmp(task_name, PJ_TASK_LAST) == 0) {
		snprintf(name, sizeof(name), "X-%s", task_name);
	} else {
		snprintf(name, sizeof(name), "%.150s", task_name);
	}
	st  = ar_xcalloc(chunk, sizeof(*st));
	sp  = ar_xcalloc(chunk, sizeof(*sp));
	ids = ar_xcalloc(chunk, 160);
	for (size_t off = 0, m = 0; off < n && rv == 0; off += m) {
		Pj__Tracker__ProcessorMapTaskRequest q
		    = PJ__TRACKER__PROCESSOR_MAP_TASK_REQUEST__INIT;
		ar_future              *f = NULL;
		const ProtobufCMessage *reply;
		int                     err;
		size_t                  bytes = 0;

		/* a chunk: at most map_chunk sub-tasks and half a message */
		for (m = 0; off + m < n && m < chunk; m++) {
			size_t len = subs[off + m].len + 128;

			if (len > budget) {
				ctx->set_result(ctx,
				    "map: sub-task %zu is %zu bytes, more "
				    "than the "
				    "limit of %zu (half the message size); "
				    "store "
				    "large inputs elsewhere and map "
				    "references",
				    off + m, subs[off + m].len, budget - 128);
				rv = -1;
				break;
			}
			if (bytes + len > budget) {
				break;
			}
			bytes += len;
		}
		if (rv != 0) {
			break;
		}

		if (ctx->stopping(ctx)) {
			ctx->set_result(ctx, "map: the instance is stopping");
			rv = -1;
			break;
		}
		for (size_t i = 0; i < m; i++) {
			char *id = ids + i * 160;

			pj__tracker__sub_task__init(&st[i]);
			snprintf(id, 160, "%.100s.%lld", ctx->task_id,
			    (long long) ++r->map_seq);
			st[i].task_id = id;
			st[i].task_content.data
			    = (uint8_t *) subs[off + i].content;
			st[i].task_content.len = subs[off + i].len;
			sp[i]                  = &st[i];
		}
		q.instance_id     = ctx->instance_id;
		q.sub_instance_id = ctx->sub_instance_id;
		q.task_name       = name;
		q.parent_task_id  = (char *) ctx->task_id;
		q.n_sub_tasks     = m;
		q.sub_tasks       = sp;
		pthread_mutex_lock(&p->mu);
		err = p->sys_gone || p->stopping
		    ? AR_ESTOPPED
		    : ar_ask(p->env->sys, p->tt, &q.base,
		        (int) s->map_timeout_ms, &f);
		pthread_mutex_unlock(&p->mu);
		if (err == 0) {
			err = ar_future_wait(f, -1, &reply);
		}
		if (err != 0) {
			ctx->set_result(ctx,
			    "map of %zu sub-tasks failed: the TaskTracker did "
			    "not "
			    "store them (%s)",
			    n, ar_strerror(err));
			rv = -1;
		} else if (reply->descriptor == &pj__cluster__ack__descriptor
		    && ((const Pj__Cluster__Ack *) reply)->code
		        != PJ__CLUSTER__CODE__OK) {
			ctx->set_result(ctx, "map refused: %s",
			    ((const Pj__Cluster__Ack *) reply)->message);
			rv = -1;
		}
		if (f != NULL) {
			ar_future_free(f);
		}
	}
	free(st);
	free(sp);
	free(ids);
	return rv;
}

/* ---- pool threads ------------------------------------------------------- */

void
push_status(struct pt *p, int64_t seq, const char *task_id, int64_t sub,
    int status, const char *result)
{
	const struct pj_heavy_settings *s = pj_tracker_settings();

	if (p->nout == p->capout) {
		p->capout = p->capout ? 2 * p->capout : 64;
		p->out    = ar_xrealloc(p->out, p->capout * sizeof(*p->out));
	}
	p->out[p->nout].seq     = seq;
	p->out[p->nout].task_id = ar_xstrdup(task_id);
	p->out[p->nout].result  = ar_xstrdup(result);
	p->out[p->nout].status  = status;
	p->out[p->nout].sub     = sub;
	p->out[p->nout].time    = ar_now_ms();
	p->nout++;
	if (!p->flush_told && !p->sys_gone && !p->stopping
	    && (p->qlen == 0 || p->nout >= (size_t) s->report_batch
	        || p->nout == 1)) {
		Pj__Tracker__TrackerTick k = PJ__TRACKER__TRACKER_TICK__INIT;

		k.kind        = PJ_TICK_FLUSH;
		k.instance_id = p->instance_id;
		p->flush_told = true;
		ar_tell(p->env->sys, p->manager, &k.base, AR_REF_NONE);
	}
}

static void
run_task(struct pt *p, struct pt_task *t, char *result, size_t result_max)
{
	struct run                       r;
	const Pj__Tracker__InstanceInfo *i = p->info;
	int                              ok;

	memset(&r, 0, sizeof(r));
	r.pt                      = p;
	r.t                       = t;
	r.result                  = result;
	r.result_max              = result_max;
	result[0]                 = '\0';
	r.ctx.abi                 = PJ_PROCESSOR_ABI;
	r.ctx.job_id              = i->job_id;
	r.ctx.instance_id         = i->instance_id;
	r.ctx.sub_instance_id     = t->sub;
	r.ctx.wf_instance_id      = i->wf_instance_id;
	r.ctx.task_id             = t->task_id;
	r.ctx.task_name           = t->task_name;
	r.ctx.job_params          = i->job_params;
	r.ctx.instance_params     = i->instance_params;
	r.ctx.processor_info      = i->processor_info;
	r.ctx.execute_type        = i->execute_type;
	r.ctx.max_retry_times     = i->task_retry_num;
	r.ctx.current_retry_times = t->retry;
	r.ctx.sub_task            = t->len > 0 ? t->content : NULL;
	r.ctx.sub_task_len        = t->len;
	r.ctx.deadline_ms         = p->deadline;
	r.ctx.workspace           = p->env->proc.data_dir;
	r.ctx.log                 = ctx_log;
	r.ctx.map                 = ctx_map;
	r.ctx.stopping            = ctx_stopping;
	r.ctx.set_result          = ctx_set_result;
	r.ctx.worker_data         = &r;
	ok = p->proc.ops->process(p->proc.state, &r.ctx);
	if (ok != 1 && result[0] == '\0') {
		snprintf(result, result_max + 1, "%s",
		    ctx_stopping(&r.ctx) ? "stopped or timed out"
		                         : "processor returned failure");
	}
	pthread_mutex_lock(&p->mu);
	push_status(p, t->seq, t->task_id, t->sub,
	    ok == 1 ? PJ_TASK_SUCCEED : PJ_TASK_FAILED, result);
	pthread_mutex_unlock(&p->mu);
}

void *
pool_main(void *arg)
{
	struct pt *p      = arg;
	size_t     max    = p->env->cfg.max_result_bytes > 0
	           ? (size_t) p->env->cfg.max_result_bytes
	           : 8096;
	char      *result = ar_xmalloc(max + 1);

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct pt_task *t;

		while (!p->stopping && p->qlen == 0) {
			pthread_cond_wait(&p->cv, &p->mu);
		}
		if (p->stopping) {
			break;
		}
		t        = p->q[p->qhead];
		p->qhead = (p->qhead + 1) % p->qcap;
		p->qlen--;
		p->active++;
		pthread_mutex_unlock(&p->mu);
		run_task(p, t, result, max);
		free(t->task_id), free(t->task_name), free(t->content),
		    free(t);
		pthread_mutex_lock(&p->mu);
		p->active--;
		p->last_done = ar_mono_ms();
	}
	p->alive--;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	free(result);
	pt_unref(p);
	return NULL;
}
