/*
 * processor_tracker.c - the ProcessorTracker manager, /user/processor
 * (powerjob-design.md §6.6): one ProcessorTracker (PT) per instance and
 * TaskTracker, each a pool of threads that run the instance's tasks with
 * its processor, fed by a bounded queue.
 *
 * Design notes
 * ------------
 * - TaskTrackerStartTaskReq (a batch of tasks) creates the PT on first use
 *   (loads the processor, starts the threads, heartbeats at once so the TT
 *   sees it connected), queues the tasks and answers RECEIVED (3) for the
 *   batch with one tell.  A full queue drops the rest: they stay
 *   "dispatched" at the TT, which re-sends them after unacked_ms.
 * - A processor that does not load makes the PT lethal: every task is
 *   reported FAILED at once with the reason.
 * - Threads push final statuses into the PT's outbox; the thread that
 *   finds it empty tells the manager FLUSH, and the manager sends the
 *   whole outbox as one ProcessorReportTaskStatusReq, by ask.  Unanswered
 *   or failed asks are re-sent on the heartbeat tick; while one is
 *   outstanding failed, the PT skips its heartbeat, so the TT considers it
 *   lost and re-runs its tasks elsewhere (PowerJob's rule).
 * - map from a processor: the thread asks the TT (ProcessorMapTaskRequest,
 *   chunks of map_chunk sub-tasks) and waits for the Ack: the sub-tasks are
 *   stored when map returns.
 * - Heartbeat tick: LOAD heartbeat with the queue length; a PT older than
 *   the instance timeout, or idle for pt_idle_ms on a node that is not the
 *   TT's, destroys itself (the latter after an IDLE report).
 *
 * Threads: the manager's state (the PT list, pending asks) is touched only
 * by the manager actor.  A PT is shared by the manager and its pool
 * threads: its queue, outbox and counters are guarded by pt->mu; it is
 * reference counted (manager + each thread); the last one frees it and
 * unloads the processor.  Pool threads call ar_tell / ar_ask only under
 * pt->mu with sys_gone checked (map: the ask is made under it, the wait is
 * not), and the manager's post_stop sets sys_gone and waits (bounded) for
 * the threads to leave before the system goes away.  Lock order: pt->mu
 * only; no runtime call made under it blocks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/tracker_int.h"
#include "runtime/alloc.h"
#include "runtime/log.h"
#include "worker/task_store.h"

static atomic_int live_pts;

int
pj_processor_tracker_count(void)
{
	return atomic_load(&live_pts);
}

struct pt_task {
	int64_t seq;
	char   *task_id, *task_name;
	void   *content;
	size_t  len;
	int     retry;
	int64_t sub;
};

struct pt_status {
	int64_t seq;
	char   *task_id;
	char   *result;
	int     status;
	int64_t sub, time;
};

struct pt_batch {
	struct pt_status *e;
	size_t            n;
	ar_future        *f;
	struct pt_batch  *next;
};

struct pt {
	atomic_int            refs;
	pthread_mutex_t       mu;
	pthread_cond_t        cv;
	struct pj_worker_env *env;
	ar_ref                manager;
	int64_t               instance_id;
	char                  tt_addr[400];
	ar_ref                tt;
	bool                  tt_local; /* the TT runs on this worker */
	Pj__Tracker__InstanceInfo *info; /* own copy (unpacked) */
	int                   exec;
	struct pj_processor   proc;
	bool                  lethal;
	char                  reason[512];
	/* under mu */
	struct pt_task **q;
	size_t           qcap, qhead, qlen;
	struct pt_status *out;
	size_t            nout, capout;
	bool              flush_told;
	bool              stopping, sys_gone;
	int               alive, active;
	int64_t           last_done; /* mono ms */
	atomic_bool       stop_flag;
	/* manager only */
	int64_t          created; /* mono ms */
	int64_t          deadline; /* mono ms; 0 = none */
	struct pt_batch *pending, **pending_tail; /* FIFO of report asks */
	struct pt       *next;
};

struct mgr {
	struct pj_worker_env *env;
	struct pt            *pts;
	ar_timer_id           tick;
};

/* per task run: the context the processor sees plus what we need */
struct run {
	pj_task_ctx     ctx;
	struct pt      *pt;
	struct pt_task *t;
	char           *result;
	size_t          result_max;
	int64_t         map_seq;
};

static void
pt_unref(struct pt *p)
{
	if (atomic_fetch_sub(&p->refs, 1) != 1) {
		return;
	}
	pj_processor_unload(&p->proc);
	for (size_t i = 0; i < p->qlen; i++) {
		struct pt_task *t = p->q[(p->qhead + i) % p->qcap];
		free(t->task_id), free(t->task_name), free(t->content), free(t);
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

	return atomic_load(&r->pt->stop_flag) ||
	       (ctx->deadline_ms > 0 && ar_mono_ms() > ctx->deadline_ms);
}

static int
ctx_map(pj_task_ctx *ctx, const char *task_name, const struct pj_subtask *subs,
    size_t n)
{
	struct run                         *r = ctx->worker_data;
	struct pt                          *p = r->pt;
	const struct pj_heavy_settings     *s = pj_tracker_settings();
	char                                name[160];
	size_t                              chunk = (size_t) s->map_chunk;
	Pj__Tracker__SubTask               *st;
	Pj__Tracker__SubTask              **sp;
	char                               *ids;
	int                                 rv = 0;

	if (p->exec != PJ_EXEC_MAP && p->exec != PJ_EXEC_MAP_REDUCE) {
		ctx->set_result(ctx, "map is only for MAP and MAP_REDUCE jobs");
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
	if (strcmp(task_name, PJ_TASK_ROOT) == 0 ||
	    strcmp(task_name, PJ_TASK_LAST) == 0) {
		snprintf(name, sizeof(name), "X-%s", task_name);
	} else {
		snprintf(name, sizeof(name), "%.150s", task_name);
	}
	st  = ar_xcalloc(chunk, sizeof(*st));
	sp  = ar_xcalloc(chunk, sizeof(*sp));
	ids = ar_xcalloc(chunk, 160);
	for (size_t off = 0; off < n && rv == 0; off += chunk) {
		Pj__Tracker__ProcessorMapTaskRequest q
		    = PJ__TRACKER__PROCESSOR_MAP_TASK_REQUEST__INIT;
		size_t                  m = n - off < chunk ? n - off : chunk;
		ar_future              *f = NULL;
		const ProtobufCMessage *reply;
		int                     err;

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
			st[i].task_id           = id;
			st[i].task_content.data = (uint8_t *) subs[off + i].content;
			st[i].task_content.len  = subs[off + i].len;
			sp[i]                   = &st[i];
		}
		q.instance_id     = ctx->instance_id;
		q.sub_instance_id = ctx->sub_instance_id;
		q.task_name       = name;
		q.parent_task_id  = (char *) ctx->task_id;
		q.n_sub_tasks     = m;
		q.sub_tasks       = sp;
		pthread_mutex_lock(&p->mu);
		err = p->sys_gone ? AR_ESTOPPED
		                  : ar_ask(p->env->sys, p->tt, &q.base,
		                        (int) s->map_timeout_ms, &f);
		pthread_mutex_unlock(&p->mu);
		if (err == 0) {
			err = ar_future_wait(f, -1, &reply);
		}
		if (err != 0) {
			ctx->set_result(ctx,
			    "map of %zu sub-tasks failed: the TaskTracker did not "
			    "store them (%s)",
			    n, ar_strerror(err));
			rv = -1;
		} else if (reply->descriptor == &pj__cluster__ack__descriptor &&
		           ((const Pj__Cluster__Ack *) reply)->code !=
		               PJ__CLUSTER__CODE__OK) {
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

/* under p->mu: queue a final status; tells the manager when it must flush */
static void
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
	if (!p->flush_told && !p->sys_gone &&
	    (p->qlen == 0 || p->nout >= (size_t) s->report_batch ||
	        p->nout == 1)) {
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

static void *
pool_main(void *arg)
{
	struct pt *p   = arg;
	size_t     max = p->env->cfg.max_result_bytes > 0
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
		free(t->task_id), free(t->task_name), free(t->content), free(t);
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

/* ---- manager side -------------------------------------------------------- */

static void
heartbeat(struct pt *p, int type)
{
	Pj__Tracker__ProcessorTrackerStatusReportReq h
	    = PJ__TRACKER__PROCESSOR_TRACKER_STATUS_REPORT_REQ__INIT;

	pthread_mutex_lock(&p->mu);
	h.remain_task_num = (int64_t) p->qlen;
	pthread_mutex_unlock(&p->mu);
	h.type           = type;
	h.instance_id    = p->instance_id;
	h.time           = ar_now_ms();
	h.address        = p->env->address;
	h.queue_capacity = (int32_t) p->qcap;
	ar_tell(p->env->sys, p->tt, &h.base, p->manager);
}

static int
send_batch(struct pt *p, struct pt_batch *b)
{
	Pj__Tracker__ProcessorReportTaskStatusReq r
	    = PJ__TRACKER__PROCESSOR_REPORT_TASK_STATUS_REQ__INIT;
	Pj__Tracker__TaskStatus  *st = ar_xcalloc(b->n, sizeof(*st));
	Pj__Tracker__TaskStatus **sp = ar_xcalloc(b->n, sizeof(*sp));
	int                       rv;

	for (size_t i = 0; i < b->n; i++) {
		pj__tracker__task_status__init(&st[i]);
		st[i].seq             = b->e[i].seq;
		st[i].task_id         = b->e[i].task_id;
		st[i].result          = b->e[i].result ? b->e[i].result : "";
		st[i].status          = b->e[i].status;
		st[i].sub_instance_id = b->e[i].sub;
		st[i].report_time     = b->e[i].time;
		sp[i]                 = &st[i];
	}
	r.instance_id = p->instance_id;
	r.address     = p->env->address;
	r.n_tasks     = b->n;
	r.tasks       = sp;
	if (b->f != NULL) {
		ar_future_free(b->f);
		b->f = NULL;
	}
	rv = ar_ask(p->env->sys, p->tt, &r.base, 0, &b->f);
	free(st);
	free(sp);
	return rv;
}

static void
batch_free(struct pt_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->e[i].task_id), free(b->e[i].result);
	}
	if (b->f != NULL) {
		ar_future_free(b->f);
	}
	free(b->e);
	free(b);
}

static void
flush(struct pt *p)
{
	struct pt_batch *b = ar_xcalloc(1, sizeof(*b));

	pthread_mutex_lock(&p->mu);
	b->e          = p->out;
	b->n          = p->nout;
	p->out        = NULL;
	p->nout       = 0;
	p->capout     = 0;
	p->flush_told = false;
	pthread_mutex_unlock(&p->mu);
	if (b->n == 0) {
		free(b);
		return;
	}
	/* the answered ones at the head go first (they complete in order) */
	while (p->pending != NULL && p->pending->f != NULL) {
		const ProtobufCMessage *reply;
		struct pt_batch        *h = p->pending;

		if (ar_future_wait(h->f, 0, &reply) != 0) {
			break;
		}
		p->pending = h->next;
		batch_free(h);
	}
	if (p->pending == NULL) {
		p->pending_tail = &p->pending;
	}
	send_batch(p, b);
	*p->pending_tail = b;
	p->pending_tail  = &b->next;
}

/* checks the outstanding report asks: frees the answered ones, re-sends
 * the failed ones; returns how many failed */
static int
pending_check(struct pt *p)
{
	struct pt_batch **bp = &p->pending;
	int               failed = 0;

	while (*bp != NULL) {
		struct pt_batch        *b = *bp;
		const ProtobufCMessage *reply;
		int                     rv = b->f ? ar_future_wait(b->f, 0, &reply)
		                                  : AR_ETIMEDOUT;

		if (rv == AR_EPENDING) {
			bp = &b->next;
			continue;
		}
		if (rv == 0) {
			*bp = b->next;
			batch_free(b);
			continue;
		}
		failed++;
		send_batch(p, b);
		bp = &b->next;
	}
	p->pending_tail = bp;
	return failed;
}

static void
pt_destroy(struct mgr *m, struct pt *p, bool wait)
{
	struct pt **pp;

	for (pp = &m->pts; *pp != NULL && *pp != p; pp = &(*pp)->next) {
	}
	if (*pp == p) {
		*pp = p->next;
	}
	while (p->pending != NULL) {
		struct pt_batch *b = p->pending;
		p->pending         = b->next;
		batch_free(b);
	}
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	atomic_store(&p->stop_flag, true);
	pthread_cond_broadcast(&p->cv);
	if (wait) {
		/* the system goes away: wait (bounded) for the threads */
		int64_t dl = ar_mono_ms() + 3000;
		while (p->alive > 0 && ar_mono_ms() < dl) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 20 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++, ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		}
		p->sys_gone = true;
	}
	pthread_mutex_unlock(&p->mu);
	pt_unref(p);
}

static struct pt *
pt_find(struct mgr *m, int64_t instance_id, const char *tt)
{
	for (struct pt *p = m->pts; p != NULL; p = p->next) {
		if (p->instance_id == instance_id &&
		    (tt == NULL || strcmp(p->tt_addr, tt) == 0)) {
			return p;
		}
	}
	return NULL;
}

static int
pool_size(const Pj__Tracker__InstanceInfo *i, int exec)
{
	int n = i->thread_concurrency > 0 ? i->thread_concurrency : 1;

	if (strcmp(i->processor_type, "SHELL") == 0 ||
	    strcmp(i->processor_type, "PYTHON") == 0) {
		return 1;
	}
	if (exec == PJ_EXEC_MAP || exec == PJ_EXEC_MAP_REDUCE ||
	    pj_time_kind_parse(i->time_expression_type) != PJ_TIME_OTHER) {
		return n > 256 ? 256 : n;
	}
	return 2;
}

static struct pt *
pt_create(ar_ctx *actx, struct mgr *m, const Pj__Tracker__TaskTrackerStartTaskReq *q)
{
	const struct pj_heavy_settings *s = pj_tracker_settings();
	struct pt                      *p = ar_xcalloc(1, sizeof(*p));
	size_t                          n = protobuf_c_message_get_packed_size(
            &q->instance_info->base);
	uint8_t *buf = ar_xmalloc(n + 1);
	char     own[400];
	int      nthreads;

	protobuf_c_message_pack(&q->instance_info->base, buf);
	p->info = pj__tracker__instance_info__unpack(NULL, n, buf);
	free(buf);
	atomic_init(&p->refs, 1);
	atomic_fetch_add(&live_pts, 1);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->env         = m->env;
	p->manager     = ar_ctx_self(actx);
	p->instance_id = p->info->instance_id;
	snprintf(p->tt_addr, sizeof(p->tt_addr), "%s", q->task_tracker_address);
	if (ar_ref_resolve(m->env->sys, p->tt_addr, &p->tt) != 0) {
		p->tt = ar_ctx_sender(actx);
	}
	snprintf(own, sizeof(own), "%s/", m->env->address);
	p->tt_local  = strncmp(p->tt_addr, own, strlen(own)) == 0;
	p->exec      = pj_exec_parse(p->info->execute_type);
	p->qcap      = (size_t) s->pt_queue_max;
	p->q         = ar_xcalloc(p->qcap, sizeof(*p->q));
	p->pending_tail = &p->pending;
	p->created   = ar_mono_ms();
	p->last_done = p->created;
	if (p->info->instance_timeout_ms > 0 &&
	    pj_time_kind_parse(p->info->time_expression_type) == PJ_TIME_OTHER) {
		p->deadline = p->created + p->info->instance_timeout_ms;
	}
	if (s->load(&m->env->proc, p->info->processor_type,
	        p->info->processor_info, &p->proc, p->reason,
	        sizeof(p->reason)) != 0) {
		p->lethal = true;
		ar_log(AR_LOG_WARN, "processor",
		    "instance=%lld processor %s/%s did not load: %s; its tasks fail",
		    (long long) p->instance_id, p->info->processor_type,
		    p->info->processor_info, p->reason);
	} else {
		nthreads = pool_size(p->info, p->exec);
		for (int i = 0; i < nthreads; i++) {
			pthread_t      th;
			pthread_attr_t a;

			pthread_attr_init(&a);
			pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
			atomic_fetch_add(&p->refs, 1);
			pthread_mutex_lock(&p->mu);
			p->alive++;
			pthread_mutex_unlock(&p->mu);
			if (pthread_create(&th, &a, pool_main, p) != 0) {
				pthread_mutex_lock(&p->mu);
				p->alive--;
				pthread_mutex_unlock(&p->mu);
				atomic_fetch_sub(&p->refs, 1);
			}
			pthread_attr_destroy(&a);
		}
	}
	p->next = m->pts;
	m->pts  = p;
	return p;
}

static void
on_start(ar_ctx *actx, struct mgr *m, const Pj__Tracker__TaskTrackerStartTaskReq *q)
{
	Pj__Tracker__ProcessorReportTaskStatusReq r
	    = PJ__TRACKER__PROCESSOR_REPORT_TASK_STATUS_REQ__INIT;
	Pj__Tracker__TaskStatus  *st;
	Pj__Tracker__TaskStatus **sp;
	struct pt                *p;
	size_t                    took = 0;
	int64_t                   now  = ar_now_ms();
	bool                      fresh = false;

	if (q->instance_info == NULL || q->task_tracker_address == NULL ||
	    q->task_tracker_address[0] == '\0' || q->n_tasks == 0) {
		ar_log(AR_LOG_WARN, "processor",
		    "a start-task request without instance, tracker or tasks: "
		    "dropped");
		return;
	}
	p = pt_find(m, q->instance_info->instance_id, q->task_tracker_address);
	if (p == NULL) {
		p     = pt_create(actx, m, q);
		fresh = true;
	}
	st = ar_xcalloc(q->n_tasks, sizeof(*st));
	sp = ar_xcalloc(q->n_tasks, sizeof(*sp));
	if (p->lethal) {
		pthread_mutex_lock(&p->mu);
		for (size_t i = 0; i < q->n_tasks; i++) {
			push_status(p, q->tasks[i]->seq, q->tasks[i]->task_id,
			    q->tasks[i]->sub_instance_id, PJ_TASK_FAILED, p->reason);
		}
		pthread_mutex_unlock(&p->mu);
	} else {
		pthread_mutex_lock(&p->mu);
		for (size_t i = 0; i < q->n_tasks && p->qlen < p->qcap; i++) {
			const Pj__Tracker__StartTask *x = q->tasks[i];
			struct pt_task               *t = ar_xcalloc(1, sizeof(*t));

			t->seq       = x->seq;
			t->task_id   = ar_xstrdup(x->task_id);
			t->task_name = ar_xstrdup(x->task_name);
			t->len       = x->task_content.len;
			if (t->len > 0) {
				t->content = ar_xmalloc(t->len);
				memcpy(t->content, x->task_content.data, t->len);
			}
			t->retry = x->current_retry_num;
			t->sub   = x->sub_instance_id;
			p->q[(p->qhead + p->qlen) % p->qcap] = t;
			p->qlen++;
			pj__tracker__task_status__init(&st[took]);
			st[took].seq             = x->seq;
			st[took].task_id         = x->task_id;
			st[took].status          = PJ_TASK_RECEIVED;
			st[took].sub_instance_id = x->sub_instance_id;
			st[took].report_time     = now;
			sp[took]                 = &st[took];
			took++;
		}
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (took < q->n_tasks) {
			ar_log(AR_LOG_WARN, "processor",
			    "instance=%lld queue full (%zu): %zu tasks dropped, the "
			    "TaskTracker re-sends them",
			    (long long) p->instance_id, p->qcap, q->n_tasks - took);
		}
	}
	if (fresh) {
		heartbeat(p, PJ_PT_LOAD);
	}
	if (took > 0) {
		r.instance_id = p->instance_id;
		r.address     = m->env->address;
		r.n_tasks     = took;
		r.tasks       = sp;
		ar_tell(m->env->sys, p->tt, &r.base, ar_ctx_self(actx));
	}
	free(st);
	free(sp);
}

static void
on_heartbeat(struct mgr *m)
{
	const struct pj_heavy_settings *s   = pj_tracker_settings();
	int64_t                         now = ar_mono_ms();
	struct pt                      *p, *next;

	for (p = m->pts; p != NULL; p = next) {
		bool idle;

		next = p->next;
		if (p->deadline > 0 && now > p->deadline) {
			ar_log(AR_LOG_INFO, "processor",
			    "instance=%lld past its timeout: ProcessorTracker stops",
			    (long long) p->instance_id);
			pt_destroy(m, p, false);
			continue;
		}
		pthread_mutex_lock(&p->mu);
		idle = p->active == 0 && p->qlen == 0 && p->nout == 0 &&
		       now - p->last_done > s->pt_idle_ms;
		pthread_mutex_unlock(&p->mu);
		if (pending_check(p) > 0) {
			continue; /* no heartbeat: the TT re-runs our tasks */
		}
		if (idle && !p->tt_local && p->pending == NULL) {
			heartbeat(p, PJ_PT_IDLE);
			pt_destroy(m, p, false);
			continue;
		}
		heartbeat(p, PJ_PT_LOAD);
	}
}

static int
mgr_start(ar_ctx *ctx, void *state)
{
	struct mgr                *m = state;
	Pj__Tracker__TrackerTick   k = PJ__TRACKER__TRACKER_TICK__INIT;

	m->env = (struct pj_worker_env *) ar_ctx_init_arg(ctx);
	k.kind = PJ_TICK_HEARTBEAT;
	return ar_timer_every(ar_ctx_system(ctx), ar_ctx_self(ctx), &k.base,
	    pj_tracker_settings()->pt_heartbeat_ms, &m->tick);
}

static void
mgr_stop(ar_ctx *ctx, void *state)
{
	struct mgr *m = state;

	ar_timer_cancel(ar_ctx_system(ctx), m->tick);
	while (m->pts != NULL) {
		pt_destroy(m, m->pts, true);
	}
}

static int
mgr_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *type,
    const ProtobufCMessage *msg)
{
	struct mgr *m = state;

	if (type == &pj__tracker__task_tracker_start_task_req__descriptor) {
		on_start(ctx, m, (const Pj__Tracker__TaskTrackerStartTaskReq *) msg);
	} else if (type == &pj__tracker__task_tracker_stop_instance_req__descriptor) {
		const Pj__Tracker__TaskTrackerStopInstanceReq *q = (const void *) msg;
		struct pt *p;

		while ((p = pt_find(m, q->instance_id,
		            q->task_tracker_address && q->task_tracker_address[0]
		                ? q->task_tracker_address
		                : NULL)) != NULL) {
			ar_log(AR_LOG_INFO, "processor",
			    "instance=%lld stopped by its TaskTracker (%s)",
			    (long long) q->instance_id, q->reason ? q->reason : "");
			pt_destroy(m, p, false);
		}
	} else if (type == &pj__tracker__tracker_tick__descriptor) {
		const Pj__Tracker__TrackerTick *k = (const void *) msg;

		if (k->kind == PJ_TICK_HEARTBEAT) {
			on_heartbeat(m);
		} else if (k->kind == PJ_TICK_FLUSH) {
			for (struct pt *p = m->pts; p != NULL; p = p->next) {
				if (p->instance_id == k->instance_id) {
					flush(p);
				}
			}
		}
	} else if (type == &pj__cluster__ack__descriptor) {
		/* a late answer to nothing we wait for */
	} else {
		ar_log(AR_LOG_WARN, "processor", "unexpected message %s: dropped",
		    type->name);
	}
	return 0;
}

static const ar_behavior mgr_behavior = {
	.pre_start = mgr_start,
	.receive   = mgr_receive,
	.post_stop = mgr_stop,
};

int
pj_processor_tracker_spawn(struct pj_worker_env *env)
{
	ar_props p = { 0 };
	int      rv;

	if ((rv = pj_tracker_messages_register()) != 0) {
		return rv;
	}
	p.behavior   = &mgr_behavior;
	p.state_size = sizeof(struct mgr);
	p.init_arg   = env;
	return ar_spawn(
	    env->sys, AR_REF_NONE, PJ_PROCESSOR_ACTOR, &p, &env->processor);
}
