/*
 * logger_actor.c - /user/logger: ships the online log lines of running
 * instances (worker/logq.h) to the owner server as pj.cluster.LogReport
 * (powerjob-design.md §6.8).
 *
 * Design notes
 * ------------
 * Every log_flush_ms (PowerJob: 5 s), or at once when told KICK (the queue
 * grew past a threshold, the owner changed, SIGTERM drains), the oldest
 * log_batch lines (PowerJob: 20) are asked to the owner's /user/server.
 * One batch is in flight at a time, so lines arrive in order.  The lines
 * leave the queue only when the server acknowledged them (Ack OK); then
 * the next batch goes at once until the queue is empty.  A batch that was
 * not acknowledged (no owner, ask timeout, NOT_OWNER, DB_DOWN) stays and
 * is sent again at the next tick to whoever owns the app then: lines
 * survive a server switch (PowerJob discards the queue when it has no
 * server).  A refusal that cannot change (BAD_REQUEST) drops the batch
 * with a warning, so one bad batch cannot block the queue.  Lines dropped
 * because the queue was full are counted by the queue and reported here
 * once per tick in which the count grew.
 *
 * Threads: default dispatcher, one message at a time, never blocks; the
 * ask completes on a runtime thread whose callback only tells a Done back.
 */
#include <stdlib.h>
#include <string.h>

#include "actors/worker_env.h"
#include "runtime/log.h"

struct logger {
	struct pj_worker_env *env;
	int                   in_flight;
	size_t                n_in_flight;
	uint64_t              seq, dropped_seen;
	ar_timer_id           tick;
	int                   warned;
};

struct done_arg {
	ar_system *sys;
	ar_ref     self;
	uint64_t   seq;
};

static void
on_done(ar_future *f, int result, const ProtobufCMessage *reply, void *arg)
{
	struct done_arg *a = arg;
	Pj__Wlocal__Done d = PJ__WLOCAL__DONE__INIT;

	d.seq    = a->seq;
	d.result = result;
	if (result == 0 && reply != NULL
	    && reply->descriptor == &pj__cluster__ack__descriptor) {
		d.code    = ((const Pj__Cluster__Ack *) reply)->code;
		d.message = ((const Pj__Cluster__Ack *) reply)->message;
	} else if (result == 0) {
		d.result = AR_ETYPE;
	}
	ar_tell(a->sys, a->self, &d.base, AR_REF_NONE);
	ar_future_free(f);
	free(a);
}

static void
send_batch(ar_ctx *ctx, struct logger *s)
{
	struct pj_worker_env  *env = s->env;
	size_t                 max = (size_t) env->cfg.log_batch, n;
	struct pj_logq_line   *l;
	Pj__Cluster__LogLine  *lines, **pl;
	Pj__Cluster__LogReport r = PJ__CLUSTER__LOG_REPORT__INIT;
	ar_ref                 to;
	ar_future             *f;
	struct done_arg       *a;

	atomic_store(&env->log_kicked, 0);
	if (s->in_flight || pj_worker_server_ref(env, &to) != 0) {
		return;
	}
	l = ar_xcalloc(max, sizeof(*l));
	if ((n = pj_logq_peek(env->logq, l, max)) == 0) {
		free(l);
		return;
	}
	lines = ar_xcalloc(n, sizeof(*lines));
	pl    = ar_xcalloc(n, sizeof(*pl));
	for (size_t i = 0; i < n; i++) {
		pj__cluster__log_line__init(&lines[i]);
		lines[i].instance_id = l[i].instance_id;
		lines[i].seq         = l[i].seq;
		lines[i].log_time    = l[i].log_time;
		lines[i].log_level   = l[i].level;
		lines[i].content     = l[i].content;
		pl[i]                = &lines[i];
	}
	r.worker_address = env->address;
	r.app_id         = atomic_load(&env->app_id);
	r.lines          = pl;
	r.n_lines        = n;
	if (ar_ask(ar_ctx_system(ctx), to, &r.base,
	        (int) env->cfg.ask_timeout_ms, &f)
	    == 0) {
		s->in_flight   = 1;
		s->n_in_flight = n;
		a              = ar_xmalloc(sizeof(*a));
		a->sys         = ar_ctx_system(ctx);
		a->self        = ar_ctx_self(ctx);
		a->seq         = ++s->seq;
		ar_future_on_complete(f, on_done, a);
	}
	free(pl);
	free(lines);
	free(l);
}

static void
on_done_msg(ar_ctx *ctx, struct logger *s, const Pj__Wlocal__Done *d)
{
	if (!s->in_flight || d->seq != s->seq) {
		return;
	}
	s->in_flight = 0;
	if (d->result == 0
	    && (d->code == PJ__CLUSTER__CODE__OK
	        || d->code == PJ__CLUSTER__CODE__BAD_REQUEST)) {
		if (d->code != PJ__CLUSTER__CODE__OK) {
			ar_log(AR_LOG_WARN, "logger",
			    "%zu online log lines refused by the server (%s); "
			    "dropped",
			    s->n_in_flight, d->message);
		}
		pj_logq_commit(s->env->logq, s->n_in_flight);
		s->warned = 0;
		send_batch(ctx, s); /* drain */
		return;
	}
	if (!s->warned) {
		s->warned = 1;
		ar_log(AR_LOG_WARN, "logger",
		    "online log lines not accepted (%s); kept (%zu queued) "
		    "and sent again",
		    d->result ? ar_strerror(d->result) : d->message,
		    pj_logq_len(s->env->logq));
	}
}

static void
on_tick(ar_ctx *ctx, struct logger *s)
{
	uint64_t dropped = pj_logq_dropped(s->env->logq);

	if (dropped > s->dropped_seen) {
		ar_log(AR_LOG_WARN, "logger",
		    "%llu online log lines dropped (queue full at %d lines; "
		    "%llu since start)",
		    (unsigned long long) (dropped - s->dropped_seen),
		    s->env->cfg.log_queue_max, (unsigned long long) dropped);
		s->dropped_seen = dropped;
	}
	send_batch(ctx, s);
}

static int
logger_pre_start(ar_ctx *ctx, void *state)
{
	struct logger   *s = state;
	Pj__Wlocal__Tick t = PJ__WLOCAL__TICK__INIT;

	s->env = (struct pj_worker_env *) ar_ctx_init_arg(ctx);
	t.kind = PJ__WLOCAL__TICK_KIND__LOGGER;
	return ar_timer_every(ar_ctx_system(ctx), ar_ctx_self(ctx), &t.base,
	    s->env->cfg.log_flush_ms, &s->tick);
}

static void
logger_post_stop(ar_ctx *ctx, void *state)
{
	struct logger *s = state;
	size_t         n = pj_logq_len(s->env->logq);

	ar_timer_cancel(ar_ctx_system(ctx), s->tick);
	if (n > 0) {
		ar_log(AR_LOG_WARN, "logger",
		    "stopping with %zu online log lines not shipped", n);
	}
}

static int
logger_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *msg)
{
	struct logger *s = state;

	if (t == &pj__wlocal__done__descriptor) {
		on_done_msg(ctx, s, (const Pj__Wlocal__Done *) msg);
	} else if (t == &pj__wlocal__tick__descriptor) {
		on_tick(ctx, s);
	}
	return 0;
}

static const ar_behavior logger_behavior
    = { logger_pre_start, logger_receive, logger_post_stop, NULL };

int
pj_logger_actor_spawn(struct pj_worker_env *env)
{
	ar_props p   = { 0 };
	p.behavior   = &logger_behavior;
	p.state_size = sizeof(struct logger);
	p.init_arg   = env;
	return ar_spawn(
	    env->sys, AR_REF_NONE, PJ_LOGGER_ACTOR, &p, &env->logger);
}
