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
 * pt->mu with stopping and sys_gone checked (map: the ask is made under
 * it, the wait is not): a destroyed PT's threads never send again, and
 * the manager's post_stop sets sys_gone and waits (bounded) for the
 * threads of the PTs it still runs before the system goes away.  Lock order:
 * pt->mu only; no runtime call made under it blocks.
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

int
pj_processor_tracker_count(void)
{
	return atomic_load(&live_pts);
}

struct mgr {
	struct pj_worker_env *env;
	struct pt            *pts;
	ar_timer_id           tick;
};

/* per task run: the context the processor sees plus what we need */
/* ---- manager side --------------------------------------------------------
 */

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
	struct pt_batch **bp     = &p->pending;
	int               failed = 0;

	while (*bp != NULL) {
		struct pt_batch        *b = *bp;
		const ProtobufCMessage *reply;
		int rv = b->f ? ar_future_wait(b->f, 0, &reply) : AR_ETIMEDOUT;

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

	for (pp = &m->pts; *pp != NULL && *pp != p; pp = &(*pp)->next) { }
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
		if (p->instance_id == instance_id
		    && (tt == NULL || strcmp(p->tt_addr, tt) == 0)) {
			return p;
		}
	}
	return NULL;
}

static int
pool_size(const Pj__Tracker__InstanceInfo *i, int exec)
{
	int n = i->thread_concurrency > 0 ? i->thread_concurrency : 1;

	if (strcmp(i->processor_type, "SHELL") == 0
	    || strcmp(i->processor_type, "PYTHON") == 0) {
		return 1;
	}
	if (exec == PJ_EXEC_MAP || exec == PJ_EXEC_MAP_REDUCE
	    || pj_time_kind_parse(i->time_expression_type) != PJ_TIME_OTHER) {
		return n > 256 ? 256 : n;
	}
	return 2;
}

static struct pt *
pt_create(
    ar_ctx *actx, struct mgr *m, const Pj__Tracker__TaskTrackerStartTaskReq *q)
{
	const struct pj_heavy_settings *s = pj_tracker_settings();
	struct pt                      *p = ar_xcalloc(1, sizeof(*p));
	size_t n = protobuf_c_message_get_packed_size(&q->instance_info->base);
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
	snprintf(
	    p->tt_addr, sizeof(p->tt_addr), "%s", q->task_tracker_address);
	if (ar_ref_resolve(m->env->sys, p->tt_addr, &p->tt) != 0) {
		p->tt = ar_ctx_sender(actx);
	}
	snprintf(own, sizeof(own), "%s/", m->env->address);
	p->tt_local     = strncmp(p->tt_addr, own, strlen(own)) == 0;
	p->exec         = pj_exec_parse(p->info->execute_type);
	p->qcap         = (size_t) s->pt_queue_max;
	p->q            = ar_xcalloc(p->qcap, sizeof(*p->q));
	p->pending_tail = &p->pending;
	p->created      = ar_mono_ms();
	p->last_done    = p->created;
	if (p->info->instance_timeout_ms > 0
	    && pj_time_kind_parse(p->info->time_expression_type)
	        == PJ_TIME_OTHER) {
		p->deadline = p->created + p->info->instance_timeout_ms;
	}
	if (s->load(&m->env->proc, p->info->processor_type,
	        p->info->processor_info, &p->proc, p->reason,
	        sizeof(p->reason))
	    != 0) {
		p->lethal = true;
		ar_log(AR_LOG_WARN, "processor",
		    "instance=%lld processor %s/%s did not load: %s; its "
		    "tasks fail",
		    (long long) p->instance_id, p->info->processor_type,
		    p->info->processor_info, p->reason);
	} else {
		nthreads = pool_size(p->info, p->exec);
		for (int i = 0; i < nthreads; i++) {
			pthread_t      th;
			pthread_attr_t a;

			pthread_attr_init(&a);
			pthread_attr_setdetachstate(
			    &a, PTHREAD_CREATE_DETACHED);
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
on_start(
    ar_ctx *actx, struct mgr *m, const Pj__Tracker__TaskTrackerStartTaskReq *q)
{
	Pj__Tracker__ProcessorReportTaskStatusReq r
	    = PJ__TRACKER__PROCESSOR_REPORT_TASK_STATUS_REQ__INIT;
	Pj__Tracker__TaskStatus  *st;
	Pj__Tracker__TaskStatus **sp;
	struct pt                *p;
	size_t                    took  = 0;
	int64_t                   now   = ar_now_ms();
	bool                      fresh = false;

	if (q->instance_info == NULL || q->task_tracker_address == NULL
	    || q->task_tracker_address[0] == '\0' || q->n_tasks == 0) {
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
			    q->tasks[i]->sub_instance_id, PJ_TASK_FAILED,
			    p->reason);
		}
		pthread_mutex_unlock(&p->mu);
	} else {
		pthread_mutex_lock(&p->mu);
		for (size_t i = 0; i < q->n_tasks && p->qlen < p->qcap; i++) {
			const Pj__Tracker__StartTask *x = q->tasks[i];
			struct pt_task *t = ar_xcalloc(1, sizeof(*t));

			t->seq       = x->seq;
			t->task_id   = ar_xstrdup(x->task_id);
			t->task_name = ar_xstrdup(x->task_name);
			t->len       = x->task_content.len;
			if (t->len > 0) {
				t->content = ar_xmalloc(t->len);
				memcpy(
				    t->content, x->task_content.data, t->len);
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
			    "instance=%lld queue full (%zu): %zu tasks "
			    "dropped, the "
			    "TaskTracker re-sends them",
			    (long long) p->instance_id, p->qcap,
			    q->n_tasks - took);
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
			    "instance=%lld past its timeout: ProcessorTracker "
			    "stops",
			    (long long) p->instance_id);
			pt_destroy(m, p, false);
			continue;
		}
		pthread_mutex_lock(&p->mu);
		idle = p->active == 0 && p->qlen == 0 && p->nout == 0
		    && now - p->last_done > s->pt_idle_ms;
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
	struct mgr              *m = state;
	Pj__Tracker__TrackerTick k = PJ__TRACKER__TRACKER_TICK__INIT;

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
		on_start(ctx, m,
		    (const Pj__Tracker__TaskTrackerStartTaskReq *) msg);
	} else if (type
	    == &pj__tracker__task_tracker_stop_instance_req__descriptor) {
		const Pj__Tracker__TaskTrackerStopInstanceReq *q
		    = (const void *) msg;
		struct pt *p;

		while (
		    (p = pt_find(m, q->instance_id,
		         q->task_tracker_address && q->task_tracker_address[0]
		             ? q->task_tracker_address
		             : NULL))
		    != NULL) {
			ar_log(AR_LOG_INFO, "processor",
			    "instance=%lld stopped by its TaskTracker (%s)",
			    (long long) q->instance_id,
			    q->reason ? q->reason : "");
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
		ar_log(AR_LOG_WARN, "processor",
		    "unexpected message %s: dropped", type->name);
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
