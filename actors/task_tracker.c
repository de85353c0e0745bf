/*
 * task_tracker.c - the heavy TaskTracker's work on its tasks
 * (powerjob-design.md §6.5): dispatch, task status reports, map requests
 * and the status checker.  The actor itself is in heavy_tracker.c.
 *
 * Design notes
 * ------------
 * - Dispatch is event driven (beyond PowerJob's 5 s poll): after a map is
 *   stored, after statuses free room at a PT, after the checker.  Each
 *   PT has a window of pt_window tasks in flight; tasks go out in batches
 *   of dispatch_batch per TaskTrackerStartTaskReq, round robin over the
 *   available PTs (§6.5.1); pinned tasks only to their own PT.  A pass
 *   handles at most a few windows and tells the actor to continue, so
 *   reports and map requests are never starved.
 * - Counters per sub-instance (total, unfinished, succeeded, failed) are
 *   kept in memory as statuses change; bulk changes (lost PTs, unacked
 *   re-sends) re-read them from the store's histogram.  Completion is
 *   checked whenever a sub-instance's unfinished count reaches zero.
 * - In-flight counts per PT are re-read from the store at every check.
 *
 * Threads: runs on the TT actor only (tracker_int2.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/tracker_int2.h"
#include "runtime/alloc.h"
#include "runtime/log.h"

/* ---- PTs ------------------------------------------------------------------
 */

struct pj_pt *
tt_pt_find(struct tt *t, const char *address, bool add)
{
	for (size_t i = 0; i < t->npts; i++) {
		if (strcmp(t->pts[i].address, address) == 0) {
			return &t->pts[i];
		}
	}
	if (!add || address[0] == '\0'
	    || strcmp(address, PJ_LOCAL_ADDRESS) == 0) {
		return NULL;
	}
	if (t->npts == t->cappts) {
		t->cappts = t->cappts ? 2 * t->cappts : 8;
		t->pts    = ar_xrealloc(t->pts, t->cappts * sizeof(*t->pts));
	}
	pj_pt_init(&t->pts[t->npts], address);
	return &t->pts[t->npts++];
}

struct sub *
tt_sub_find(struct tt *t, int64_t id)
{
	for (struct sub *s = t->subs; s != NULL; s = s->next) {
		if (s->id == id) {
			return s;
		}
	}
	return NULL;
}

int
tt_add_tasks(struct tt *t, struct sub *s, const struct pj_task *tasks,
    size_t n, char *err, size_t errlen)
{
	const struct pj_heavy_settings *st = pj_tracker_settings();

	if (t->ntasks + (int64_t) n > st->max_tasks) {
		snprintf(err, errlen,
		    "the instance would hold %lld tasks, more than the limit "
		    "of "
		    "%lld; map fewer, larger sub-tasks",
		    (long long) (t->ntasks + (int64_t) n),
		    (long long) st->max_tasks);
		return -1;
	}
	if (pj_task_store_insert(t->store, tasks, n, ar_now_ms()) != 0) {
		snprintf(err, errlen, "the task store refused them: %s",
		    pj_task_store_error(t->store));
		return -1;
	}
	t->ntasks += (int64_t) n;
	s->c.total += (int64_t) n;
	s->c.unfinished += (int64_t) n;
	return 0;
}

/* ---- dispatch -------------------------------------------------------------
 */

struct pick {
	int64_t seq;
	char   *id, *name;
	void   *content;
	size_t  len;
	int     retry;
	int64_t sub;
	size_t  pt;
};

struct dpass {
	struct tt   *t;
	struct pick *v;
	size_t       n, limit;
	int64_t      now;
};

static int
pick_one(const struct pj_task *row, void *arg)
{
	struct dpass                   *d = arg;
	struct tt                      *t = d->t;
	const struct pj_heavy_settings *s = pj_tracker_settings();
	struct pj_pt                   *p;
	int                             i;

	if (row->address[0] != '\0') {
		p = tt_pt_find(t, row->address, true);
		if (p == NULL || !pj_pt_available(p, d->now, s)
		    || pj_pt_room(p, s) <= 0) {
			return 0; /* its node is busy or gone: later */
		}
		i = (int) (p - t->pts);
	} else if ((i = pj_pt_pick(t->pts, t->npts, &t->rr, d->now, s)) < 0) {
		return 1; /* no room anywhere */
	}
	t->pts[i].inflight++;
	d->v[d->n].seq     = row->seq;
	d->v[d->n].id      = ar_xstrdup(row->task_id);
	d->v[d->n].name    = ar_xstrdup(row->task_name);
	d->v[d->n].len     = row->content_len;
	d->v[d->n].content = NULL;
	if (row->content_len > 0) {
		d->v[d->n].content = ar_xmalloc(row->content_len);
		memcpy(d->v[d->n].content, row->content, row->content_len);
	}
	d->v[d->n].retry = row->failed_cnt;
	d->v[d->n].sub   = row->sub_instance_id;
	d->v[d->n].pt    = (size_t) i;
	d->n++;
	return d->n >= d->limit;
}

static void
send_picks(struct tt *t, struct dpass *d)
{
	const struct pj_heavy_settings *s = pj_tracker_settings();
	Pj__Tracker__StartTask         *st;
	Pj__Tracker__StartTask        **sp;
	size_t budget = ar_system_config(t->sys)->max_message_bytes / 4;

	st = ar_xcalloc((size_t) s->dispatch_batch, sizeof(*st));
	sp = ar_xcalloc((size_t) s->dispatch_batch, sizeof(*sp));
	pj_task_store_begin(t->store);
	for (size_t k = 0; k < d->n; k++) {
		pj_task_store_dispatched(t->store, t->instance_id, d->v[k].seq,
		    t->pts[d->v[k].pt].address, d->now);
	}
	pj_task_store_commit(t->store);
	for (size_t i = 0; i < t->npts; i++) {
		char   addr[400];
		ar_ref to;
		size_t m = 0, sent = 0, bytes = 0;

		if (pj_tracker_actor_address(t->pts[i].address,
		        PJ_PROCESSOR_ACTOR, addr, sizeof(addr))
		        != 0
		    || ar_ref_resolve(t->sys, addr, &to) != 0) {
			to = AR_REF_NONE;
		}
		for (size_t k = 0; k <= d->n; k++) {
			if (k < d->n && d->v[k].pt == i) {
				pj__tracker__start_task__init(&st[m]);
				st[m].task_id           = d->v[k].id;
				st[m].task_name         = d->v[k].name;
				st[m].task_content.data = d->v[k].content;
				st[m].task_content.len  = d->v[k].len;
				st[m].current_retry_num = d->v[k].retry;
				st[m].sub_instance_id   = d->v[k].sub;
				st[m].seq               = d->v[k].seq;
				sp[m]                   = &st[m];
				bytes += d->v[k].len + strlen(d->v[k].id) + 64;
				m++;
			}
			/* a message holds dispatch_batch tasks or a quarter of
			 * the message size (map keeps each task under half of
			 * it) */
			if (m > 0
			    && (m == (size_t) s->dispatch_batch || k == d->n
			        || bytes >= budget)) {
				Pj__Tracker__TaskTrackerStartTaskReq q
				    = PJ__TRACKER__TASK_TRACKER_START_TASK_REQ__INIT;

				q.task_tracker_address = t->self_addr;
				q.instance_info        = &t->info;
				q.n_tasks              = m;
				q.tasks                = sp;
				if (!ar_ref_is_none(to)) {
					ar_tell(t->sys, to, &q.base, t->self);
				}
				sent += m;
				m     = 0;
				bytes = 0;
			}
		}
		if (sent > 0) {
			pj_pt_sent(&t->pts[i], ar_now_ms(), 0);
		}
	}
	for (size_t k = 0; k < d->n; k++) {
		free(d->v[k].id), free(d->v[k].name), free(d->v[k].content);
	}
	free(st);
	free(sp);
}

void
tt_dispatch(struct tt *t)
{
	const struct pj_heavy_settings *s      = pj_tracker_settings();
	struct dpass                    d      = { .t = t };
	int                             rounds = 0;

	if (t->finished || t->npts == 0) {
		return;
	}
	d.limit = (size_t) s->dispatch_batch * 4;
	d.v     = ar_xcalloc(d.limit, sizeof(*d.v));
	for (;;) {
		d.n   = 0;
		d.now = ar_now_ms();
		pj_task_store_pending(
		    t->store, t->instance_id, d.limit, pick_one, &d);
		if (d.n == 0) {
			break;
		}
		send_picks(t, &d);
		if (d.n < d.limit) {
			break;
		}
		if (++rounds == 4) {
			/* more waits: continue after the messages queued so
			 * far */
			if (!t->dispatch_told) {
				Pj__Tracker__TrackerTick k
				    = PJ__TRACKER__TRACKER_TICK__INIT;
				k.kind           = PJ_TICK_DISPATCH;
				t->dispatch_told = true;
				ar_tell(t->sys, t->self, &k.base, AR_REF_NONE);
			}
			break;
		}
	}
	free(d.v);
}

/* ---- status reports
 * --------------------------------------------------------- */

static void resync(struct tt *t);

static void
counted_final(struct sub *s, int status)
{
	s->c.unfinished--;
	if (status == PJ_TASK_SUCCEED) {
		s->c.succeeded++;
	} else {
		s->c.failed++;
	}
}

void
tt_on_report(ar_ctx *ctx, struct tt *t,
    const Pj__Tracker__ProcessorReportTaskStatusReq *r)
{
	bool local = r->address && strcmp(r->address, PJ_LOCAL_ADDRESS) == 0;
	struct pj_pt *p     = local || r->address == NULL
	        ? NULL
	        : tt_pt_find(t, r->address, false);
	int64_t       now   = ar_now_ms();
	bool          final = false;
	int           retry = t->frequent ? 0 : t->info.task_retry_num;

	if (p != NULL && !p->lost) {
		pj_pt_heard(p, now, 0, false);
	}
	if (t->finished) {
		goto reply;
	}
	pj_task_store_begin(t->store);
	for (size_t i = 0; i < r->n_tasks; i++) {
		const Pj__Tracker__TaskStatus *e = r->tasks[i];
		struct sub          *s = tt_sub_find(t, e->sub_instance_id);
		struct pj_task_brief b;
		int                  changed = 0;
		char                 root[32], last[32];

		if (pj_task_final(e->status)) {
			final = true;
			if (p != NULL && p->inflight > 0) {
				p->inflight--;
			}
		}
		if (s == NULL || e->task_id == NULL || e->seq <= 0) {
			continue; /* a sub-instance that ended */
		}
		if (!pj_task_final(e->status)) {
			pj_task_store_set_status(t->store, t->instance_id,
			    e->seq, e->status, NULL, e->report_time, now,
			    &changed);
			continue;
		}
		if (e->status == PJ_TASK_FAILED && retry > 0) {
			pj_task_store_get_seq(
			    t->store, t->instance_id, e->seq, &b);
			if (b.found
			    && pj_status_decide(
			           b.status, e->status, b.failed_cnt, retry)
			        == PJ_ST_RETRY) {
				pj_task_store_retry(t->store, t->instance_id,
				    e->seq, e->result, now, &changed);
				ar_log(AR_LOG_DEBUG, "tracker",
				    "instance=%lld task %s failed (%d of %d "
				    "tries): "
				    "runs again",
				    (long long) t->instance_id, e->task_id,
				    b.failed_cnt + 1, retry + 1);
				continue;
			}
		}
		if (local && s->job != NULL) {
			/* the local job is over whatever the store says */
			tt_local_release(s->job);
			s->job = NULL;
		}
		pj_task_store_set_status(t->store, t->instance_id, e->seq,
		    e->status, e->result, e->report_time, now, &changed);
		if (!changed) {
			continue;
		}
		counted_final(s, e->status);
		pj_root_task_id(t->frequent, s->id, root, sizeof(root));
		pj_last_task_id(t->frequent, s->id, last, sizeof(last));
		if (strcmp(e->task_id, root) == 0) {
			s->root_status = e->status;
			snprintf(s->root_result, sizeof(s->root_result), "%s",
			    e->result ? e->result : "");
		}
		if (strcmp(e->task_id, last) == 0 && local) {
			s->last_status = e->status;
			snprintf(s->last_result, sizeof(s->last_result), "%s",
			    e->result ? e->result : "");
		}
		if (local && s->root_local && strcmp(e->task_id, root) == 0) {
			/* pre_process done: one task per known node */
			s->root_local = false;
			if (e->status == PJ_TASK_SUCCEED) {
				struct pj_task *bt
				    = ar_xcalloc(t->npts, sizeof(*bt));
				char  *ids = ar_xcalloc(t->npts, 48);
				size_t k   = 0;
				char   err[256];

				for (size_t j = 0; j < t->npts; j++) {
					if (t->pts[j].lost) {
						continue;
					}
					snprintf(ids + k * 48, 48, "%s.%zu",
					    root, k);
					bt[k].instance_id     = t->instance_id;
					bt[k].sub_instance_id = s->id;
					bt[k].task_id         = ids + k * 48;
					bt[k].task_name = PJ_TASK_BROADCAST;
					bt[k].address   = t->pts[j].address;
					bt[k].pinned    = 1;
					k++;
				}
				if (tt_add_tasks(t, s, bt, k, err, sizeof(err))
				    != 0) {
					ar_log(AR_LOG_WARN, "tracker",
					    "instance=%lld broadcast tasks: "
					    "%s",
					    (long long) t->instance_id, err);
				}
				free(bt);
				free(ids);
			}
		}
	}
	pj_task_store_commit(t->store);
	for (struct sub *s = t->subs, *next; s != NULL && !t->finished;
	     s             = next) {
		next = s->next;
		tt_sub_check(t, s);
	}
	tt_dispatch(t);
reply:
	if (final && !local) {
		Pj__Cluster__Ack a = PJ__CLUSTER__ACK__INIT;
		ar_reply(ctx, &a.base);
	}
}

void
tt_on_pt_status(
    struct tt *t, const Pj__Tracker__ProcessorTrackerStatusReportReq *h)
{
	struct pj_pt *p;
	int64_t       n = 0;

	if (h->address == NULL
	    || (p = tt_pt_find(t, h->address, false)) == NULL || p->lost
	    || t->finished) {
		return;
	}
	if (h->type == PJ_PT_IDLE) {
		/* it stopped on its own: what it still had runs elsewhere */
		pj_task_store_lost(t->store, t->instance_id, p->address,
		    PJ_TASK_WAITING_DISPATCH, NULL, ar_now_ms(), &n);
		p->dispatched = p->connected = false;
		p->inflight                  = 0;
		if (n > 0) {
			resync(t);
			tt_dispatch(t);
		}
		return;
	}
	pj_pt_heard(p, ar_now_ms(), h->remain_task_num, true);
	if (h->queue_capacity > 0) {
		p->capacity = h->queue_capacity;
	}
	tt_dispatch(t);
}

/* ---- map -------------------------------------------------------------------
 */

void
tt_on_map(
    ar_ctx *ctx, struct tt *t, const Pj__Tracker__ProcessorMapTaskRequest *q)
{
	Pj__Cluster__Ack a = PJ__CLUSTER__ACK__INIT;
	struct sub      *s = tt_sub_find(t, q->sub_instance_id);
	char             err[300];
	struct pj_task  *v;

	if (t->finished || s == NULL) {
		a.code    = PJ__CLUSTER__CODE__NOT_FOUND;
		a.message = "the instance (or sub-instance) already ended";
		ar_reply(ctx, &a.base);
		return;
	}
	if (q->task_name == NULL || q->task_name[0] == '\0') {
		a.code    = PJ__CLUSTER__CODE__BAD_REQUEST;
		a.message = "map: sub-tasks need a task name";
		ar_reply(ctx, &a.base);
		return;
	}
	v = ar_xcalloc(q->n_sub_tasks ? q->n_sub_tasks : 1, sizeof(*v));
	for (size_t i = 0; i < q->n_sub_tasks; i++) {
		v[i].instance_id     = t->instance_id;
		v[i].sub_instance_id = s->id;
		v[i].task_id         = q->sub_tasks[i]->task_id;
		v[i].task_name       = q->task_name;
		v[i].content         = q->sub_tasks[i]->task_content.data;
		v[i].content_len     = q->sub_tasks[i]->task_content.len;
		if (v[i].task_id == NULL || v[i].task_id[0] == '\0') {
			snprintf(err, sizeof(err),
			    "map: sub-task %zu has no id", i);
			goto refuse;
		}
		if (v[i].content_len
		    > ar_system_config(t->sys)->max_message_bytes / 2) {
			snprintf(err, sizeof(err),
			    "map: sub-task %zu is %zu bytes, more than half "
			    "the "
			    "message size",
			    i, v[i].content_len);
			goto refuse;
		}
	}
	if (tt_add_tasks(t, s, v, q->n_sub_tasks, err, sizeof(err)) != 0) {
		goto refuse;
	}
	free(v);
	ar_reply(ctx, &a.base);
	tt_dispatch(t);
	return;
refuse:
	free(v);
	ar_log(AR_LOG_WARN, "tracker", "instance=%lld map of %zu refused: %s",
	    (long long) t->instance_id, q->n_sub_tasks, err);
	a.code    = PJ__CLUSTER__CODE__BAD_REQUEST;
	a.message = err;
	ar_reply(ctx, &a.base);
}

/* ---- worker detector (§6.5 WorkerDetector) ---- */

static size_t
usable_pts(struct tt *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->npts; i++) {
		n += !t->pts[i].lost;
	}
	return n;
}

void
tt_detect(struct tt *t)
{
	int                     max = t->req->max_worker_count;
	const ProtobufCMessage *reply;
	ar_ref                  server;

	if (t->finished) {
		return;
	}
	if (t->detect != NULL) {
		/* the previous question: its answer, if any */
		int rv = ar_future_wait(t->detect, 0, &reply);

		if (rv == AR_EPENDING) {
			return;
		}
		if (rv == 0
		    && reply->descriptor
		        == &pj__cluster__worker_list__descriptor) {
			const Pj__Cluster__WorkerList *l
			    = (const void *) reply;
			size_t before = t->npts;

			for (size_t i = 0; l->code == PJ__CLUSTER__CODE__OK
			     && i < l->n_workers
			     && (max <= 0 || usable_pts(t) < (size_t) max);
			     i++) {
				const Pj__Cluster__WorkerInfo *w
				    = l->workers[i];

				if (w->alive && !w->overload
				    && strncmp(w->address, "pj://", 5) == 0) {
					tt_pt_find(t, w->address, true);
				}
			}
			if (t->npts > before) {
				ar_log(AR_LOG_INFO, "tracker",
				    "instance=%lld %zu more workers join the "
				    "job",
				    (long long) t->instance_id,
				    t->npts - before);
				tt_dispatch(t);
			}
		}
		ar_future_free(t->detect);
		t->detect = NULL;
		return;
	}
	if ((max <= 0 || usable_pts(t) < (size_t) max)
	    && pj_worker_server_ref(t->env, &server) == 0) {
		Pj__Cluster__ExecutorQuery q
		    = PJ__CLUSTER__EXECUTOR_QUERY__INIT;

		q.app_id = t->req->app_id;
		q.job_id = t->req->job_id;
		if (ar_ask(t->sys, server, &q.base, 0, &t->detect) != 0) {
			t->detect = NULL;
		}
	}
}

/* ---- checker --------------------------------------------------------------
 */

static void
inflight_cb(const char *address, int64_t n, void *arg)
{
	struct pj_pt *p = tt_pt_find(arg, address, false);

	if (p != NULL) {
		p->inflight = n;
	}
}

static void
resync(struct tt *t)
{
	for (struct sub *s = t->subs; s != NULL; s = s->next) {
		int64_t h[PJ_TASK_STATUS_MAX + 1];

		if (pj_task_store_histogram(t->store, t->instance_id, s->id, h)
		    != 0) {
			continue;
		}
		s->c.unfinished = h[1] + h[2] + h[3] + h[4];
		s->c.failed     = h[5];
		s->c.succeeded  = h[6];
		s->c.total      = s->c.unfinished + h[5] + h[6];
	}
}

void
tt_sub_check(struct tt *t, struct sub *s)
{
	struct pj_outcome o;
	char              id[32];

	if (t->finished || s->c.unfinished > 0 || s->job != NULL) {
		return;
	}
	if (!t->frequent
	    && pj_timed_out(
	        t->start, ar_now_ms(), t->info.instance_timeout_ms)) {
		/* tasks that ended because time ran out: say so */
		tt_finish(t, 4, "instance execute timeout", true);
		return;
	}
	pj_sub_outcome(t->exec, &s->c, s->root_status, s->root_result,
	    s->last_status, s->last_result, &o);
	if (o.kind == PJ_OUT_CREATE_LAST) {
		struct pj_task last = { 0 };
		char           err[300];

		pj_last_task_id(t->frequent, s->id, id, sizeof(id));
		last.instance_id     = t->instance_id;
		last.sub_instance_id = s->id;
		last.task_id         = id;
		last.task_name       = PJ_TASK_LAST;
		last.address         = PJ_LOCAL_ADDRESS;
		last.pinned          = 1;
		last.status          = PJ_TASK_PROCESSING;
		if (tt_add_tasks(t, s, &last, 1, err, sizeof(err)) != 0) {
			tt_sub_done(t, s, false, err);
			return;
		}
		s->last_status = PJ_TASK_PROCESSING;
		tt_local_start(t, s,
		    t->exec == PJ_EXEC_MAP_REDUCE ? PJ_LOCAL_REDUCE
		                                  : PJ_LOCAL_POST,
		    id, pj_task_store_last_seq(t->store));
	} else if (o.kind == PJ_OUT_DONE) {
		tt_sub_done(t, s, o.success != 0, o.result);
	}
}

void
tt_check(struct tt *t)
{
	const struct pj_heavy_settings *st   = pj_tracker_settings();
	int64_t                         now  = ar_now_ms();
	bool                            bulk = false;
	int64_t                         n    = 0;

	if (t->finished) {
		return;
	}
	if (!t->frequent
	    && pj_timed_out(t->start, now, t->info.instance_timeout_ms)) {
		tt_finish(t, 4, "instance execute timeout", true);
		return;
	}
	if (t->frequent) {
		for (struct sub *s = t->subs, *next; s != NULL; s = next) {
			next = s->next;
			if (pj_timed_out(
			        s->start, now, t->info.instance_timeout_ms)) {
				tt_sub_done(t, s, false, "RUNNING_TIMEOUT");
			}
		}
	}
	if (pj_task_store_unacked(
	        t->store, t->instance_id, now - st->unacked_ms, now, &n)
	        == 0
	    && n > 0) {
		ar_log(AR_LOG_INFO, "tracker",
		    "instance=%lld %lld tasks sent %lld ms ago were never "
		    "acknowledged: sent again",
		    (long long) t->instance_id, (long long) n,
		    (long long) st->unacked_ms);
		bulk = true;
	}
	for (size_t i = 0; i < t->npts; i++) {
		struct pj_pt *p = &t->pts[i];
		bool fail       = t->exec == PJ_EXEC_BROADCAST || t->frequent;

		if (!pj_pt_timed_out(p, now, st)) {
			continue;
		}
		p->lost     = true;
		p->inflight = 0;
		pj_task_store_lost(t->store, t->instance_id, p->address,
		    fail ? PJ_TASK_FAILED : PJ_TASK_WAITING_DISPATCH,
		    "maybe worker down", now, &n);
		ar_log(AR_LOG_WARN, "tracker",
		    "instance=%lld ProcessorTracker %s silent for %lld ms: "
		    "its %lld "
		    "unfinished tasks %s",
		    (long long) t->instance_id, p->address,
		    (long long) (now - p->last_active), (long long) n,
		    fail ? "failed" : "run elsewhere");
		bulk = true;
	}
	if (bulk) {
		resync(t);
	}
	for (size_t i = 0; i < t->npts; i++) {
		t->pts[i].inflight = 0;
	}
	pj_task_store_inflight(t->store, t->instance_id, inflight_cb, t);
	if (t->detect != NULL) {
		tt_detect(t); /* collects the answer */
	}
	for (struct sub *s = t->subs, *next; s != NULL && !t->finished;
	     s             = next) {
		next = s->next;
		tt_sub_check(t, s);
	}
	tt_dispatch(t);
}
