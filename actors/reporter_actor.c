/*
 * reporter_actor.c - /user/reporter: the worker's reliable delivery of
 * final instance status reports (FAILED, SUCCEED, STOPPED) to the owner
 * server (powerjob-design.md §6.4 step 5; §2.3: a final report is an ask
 * answered with an Ack).
 *
 * Design notes
 * ------------
 * pj_worker_report tells the report here.  Each report is kept until a
 * server answered it: an Ack with OK, or a refusal that will not change
 * (BAD_REQUEST: not this instance's TaskTracker or a transition that
 * cannot apply; NOT_FOUND; UNKNOWN_APP) - those are logged and dropped.
 * No answer (ask timeout, no owner known yet) or NOT_OWNER / DB_DOWN /
 * INTERNAL: sent again after a back-off (500 ms doubling to 5 s), each
 * time to the owner pj_worker_server_ref names then, so a report follows
 * the app to a new owner.  PowerJob gives up after 5 failed final reports;
 * here a report is kept until answered (the queue is bounded at
 * MAX_PENDING; past it the oldest is dropped with an error line).
 *
 * The asks are asynchronous: ar_future_on_complete's callback (on the
 * runtime's thread that completes the future; it must not block) tells a
 * pj.wlocal.Done back here.  env->finals_pending counts reports told here
 * and not yet answered (SIGTERM waits for it to reach 0).
 *
 * Threads: the actor runs on the default dispatcher, one message at a
 * time, and never blocks; its state is its own.
 */
#include <stdlib.h>
#include <string.h>

#include "actors/worker_env.h"
#include "runtime/log.h"

#define MAX_PENDING 100000
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 5000
#define TICK_MS 250

struct entry {
	uint64_t                           seq;
	Pj__Cluster__InstanceStatusReport *r; /* own copy */
	int                                in_flight, attempts;
	int64_t                            next_ms; /* monotonic */
};

struct reporter {
	struct pj_worker_env *env;
	struct entry         *v;
	size_t                n, cap;
	uint64_t              seq;
	ar_timer_id           tick;
};

struct done_arg {
	ar_system *sys;
	ar_ref     self;
	uint64_t   seq;
};

static Pj__Cluster__InstanceStatusReport *
copy_report(const Pj__Cluster__InstanceStatusReport *r)
{
	size_t   n   = protobuf_c_message_get_packed_size(&r->base);
	uint8_t *buf = ar_xmalloc(n ? n : 1);
	Pj__Cluster__InstanceStatusReport *c;

	protobuf_c_message_pack(&r->base, buf);
	c = pj__cluster__instance_status_report__unpack(NULL, n, buf);
	free(buf);
	return c;
}

/* The future's callback: hand the outcome back to the actor. */
static void
on_done(ar_future *f, int result, const ProtobufCMessage *reply, void *arg)
{
	struct done_arg *a = arg;
	Pj__Wlocal__Done d = PJ__WLOCAL__DONE__INIT;

	d.seq    = a->seq;
	d.result = result;
	if (result == 0 && reply != NULL
	    && reply->descriptor == &pj__cluster__ack__descriptor) {
		const Pj__Cluster__Ack *ack = (const Pj__Cluster__Ack *) reply;
		d.code                      = ack->code;
		d.message                   = ack->message;
	} else if (result == 0) {
		d.result  = AR_ETYPE;
		d.message = "the server answered with another message";
	}
	ar_tell(a->sys, a->self, &d.base, AR_REF_NONE);
	ar_future_free(f);
	free(a);
}

static void
send_one(ar_ctx *ctx, struct reporter *s, struct entry *e)
{
	ar_ref           to;
	ar_future       *f;
	struct done_arg *a;
	int              rv;

	if (pj_worker_server_ref(s->env, &to) != 0) {
		e->next_ms = ar_mono_ms() + BACKOFF_MIN_MS; /* no owner yet */
		return;
	}
	if ((rv = ar_ask(ar_ctx_system(ctx), to, &e->r->base,
	         (int) s->env->cfg.ask_timeout_ms, &f))
	    != 0) {
		e->attempts++;
		e->next_ms = ar_mono_ms() + BACKOFF_MIN_MS;
		return;
	}
	e->in_flight = 1;
	a            = ar_xmalloc(sizeof(*a));
	a->sys       = ar_ctx_system(ctx);
	a->self      = ar_ctx_self(ctx);
	a->seq       = e->seq;
	ar_future_on_complete(f, on_done, a);
}

static void
drop_at(struct reporter *s, size_t i)
{
	pj__cluster__instance_status_report__free_unpacked(s->v[i].r, NULL);
	memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(s->v[0]));
	s->n--;
	atomic_fetch_sub(&s->env->finals_pending, 1);
}

static void
on_report(ar_ctx *ctx, struct reporter *s,
    const Pj__Cluster__InstanceStatusReport *r)
{
	if (s->n == MAX_PENDING) {
		ar_log(AR_LOG_ERROR, "reporter",
		    "instance=%lld: %d final reports wait for an answer; the "
		    "oldest is dropped (the server's status check will fail "
		    "or retry it)",
		    (long long) s->v[0].r->instance_id, MAX_PENDING);
		drop_at(s, 0);
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v   = realloc(s->v, s->cap * sizeof(*s->v));
		if (s->v == NULL) {
			abort();
		}
	}
	struct entry *e = &s->v[s->n++];
	memset(e, 0, sizeof(*e));
	e->seq = ++s->seq;
	e->r   = copy_report(r);
	if (e->r == NULL) { /* cannot happen: we packed it ourselves */
		s->n--;
		atomic_fetch_sub(&s->env->finals_pending, 1);
		return;
	}
	send_one(ctx, s, e);
}

/* Codes that will not change however often the report is sent. */
static int
final_answer(int code)
{
	return code == PJ__CLUSTER__CODE__OK
	    || code == PJ__CLUSTER__CODE__BAD_REQUEST
	    || code == PJ__CLUSTER__CODE__NOT_FOUND
	    || code == PJ__CLUSTER__CODE__UNKNOWN_APP
	    || code == PJ__CLUSTER__CODE__WRONG_SECRET;
}

static void
on_done_msg(struct reporter *s, const Pj__Wlocal__Done *d)
{
	size_t i;

	for (i = 0; i < s->n && s->v[i].seq != d->seq; i++) { }
	if (i == s->n) {
		return;
	}
	struct entry *e = &s->v[i];
	e->in_flight    = 0;
	if (d->result == 0 && final_answer(d->code)) {
		if (d->code != PJ__CLUSTER__CODE__OK) {
			ar_log(AR_LOG_WARN, "reporter",
			    "app=%lld job=%lld instance=%lld: final report "
			    "(status %d) refused: %s; dropped",
			    (long long) e->r->app_id, (long long) e->r->job_id,
			    (long long) e->r->instance_id,
			    e->r->instance_status, d->message);
		} else {
			ar_log(AR_LOG_DEBUG, "reporter",
			    "instance=%lld: final status %d recorded",
			    (long long) e->r->instance_id,
			    e->r->instance_status);
		}
		drop_at(s, i);
		return;
	}
	e->attempts++;
	int64_t back = BACKOFF_MIN_MS;
	for (int k = 1; k < e->attempts && back < BACKOFF_MAX_MS; k++) {
		back *= 2;
	}
	back       = back > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : back;
	e->next_ms = ar_mono_ms() + back;
	if (e->attempts == 1 || e->attempts % 10 == 0) {
		ar_log(AR_LOG_WARN, "reporter",
		    "app=%lld job=%lld instance=%lld: final report (status "
		    "%d) not recorded yet (%s); attempt %d, again in %lld ms",
		    (long long) e->r->app_id, (long long) e->r->job_id,
		    (long long) e->r->instance_id, e->r->instance_status,
		    d->result != 0 ? ar_strerror(d->result) : d->message,
		    e->attempts, (long long) back);
	}
}

static void
on_tick(ar_ctx *ctx, struct reporter *s, int kick)
{
	int64_t now = ar_mono_ms();

	for (size_t i = 0; i < s->n; i++) {
		struct entry *e = &s->v[i];
		if (!e->in_flight && (kick || e->next_ms <= now)) {
			send_one(ctx, s, e);
		}
	}
}

static int
reporter_pre_start(ar_ctx *ctx, void *state)
{
	struct reporter *s = state;
	Pj__Wlocal__Tick t = PJ__WLOCAL__TICK__INIT;

	s->env = (struct pj_worker_env *) ar_ctx_init_arg(ctx);
	t.kind = PJ__WLOCAL__TICK_KIND__REPORTER;
	return ar_timer_every(
	    ar_ctx_system(ctx), ar_ctx_self(ctx), &t.base, TICK_MS, &s->tick);
}

static void
reporter_post_stop(ar_ctx *ctx, void *state)
{
	struct reporter *s = state;

	ar_timer_cancel(ar_ctx_system(ctx), s->tick);
	if (s->n > 0) {
		ar_log(AR_LOG_WARN, "reporter",
		    "stopping with %zu final reports not acknowledged "
		    "(the server's status check will retry or fail them)",
		    s->n);
	}
	while (s->n > 0) {
		drop_at(s, s->n - 1);
	}
	free(s->v);
}

static int
reporter_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *msg)
{
	struct reporter *s = state;

	if (t == &pj__cluster__instance_status_report__descriptor) {
		on_report(
		    ctx, s, (const Pj__Cluster__InstanceStatusReport *) msg);
	} else if (t == &pj__wlocal__done__descriptor) {
		on_done_msg(s, (const Pj__Wlocal__Done *) msg);
	} else if (t == &pj__wlocal__tick__descriptor) {
		on_tick(ctx, s,
		    ((const Pj__Wlocal__Tick *) msg)->kind
		        == PJ__WLOCAL__TICK_KIND__KICK);
	}
	return 0;
}

static const ar_behavior reporter_behavior
    = { reporter_pre_start, reporter_receive, reporter_post_stop, NULL };

int
pj_reporter_actor_spawn(struct pj_worker_env *env)
{
	ar_props p   = { 0 };
	p.behavior   = &reporter_behavior;
	p.state_size = sizeof(struct reporter);
	p.init_arg   = env;
	return ar_spawn(
	    env->sys, AR_REF_NONE, PJ_REPORTER_ACTOR, &p, &env->reporter);
}
