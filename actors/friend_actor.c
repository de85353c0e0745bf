/*
 * friend_actor.c - FriendActor, /user/friend: what servers send each other
 * (powerjob-design.md §2.4, §1.7): pings, and operations that need the
 * owner's memory, from an explicit list (pj.friend.Op) instead of
 * PowerJob's reflection.
 *
 * Design notes
 * ------------
 * FriendActor runs on the default dispatcher and never blocks: a ping is
 * answered at once (other servers decide whether we are alive from it, so
 * it must not wait behind anything slow), and an operation for an app this
 * server owns runs at once.  An operation for any other app is forwarded
 * (sender and correlation kept) to one of PJ_FRIEND_RELAYS children
 * /user/friend/relayN on the blocking dispatcher, round robin (one owner
 * that does not answer holds up one relay for seconds, not every forward),
 * which looks the owner up, asks the owner's FriendActor
 * (PJ_FORWARD_TIMEOUT_MS) with forwarded = true, and answers the original
 * asker.  When the owner does not answer, the relay re-resolves ownership once
 * (ping, take-over under the lock) and tries the new owner, or runs the
 * operation itself if it became the owner; a second failure is answered with
 * OWNER_UNREACHABLE.  A forwarded request is never forwarded again: an owner
 * that is not the owner any more says NOT_OWNER.
 *
 * Threads: one message at a time per actor; shared env parts guard
 * themselves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/server_env.h"
#include "runtime/log.h"

struct friend_state {
	struct pj_server_env *env;
	ar_ref                relay[PJ_FRIEND_RELAYS];
	unsigned              next;
};

static void
op_reply(ar_ctx *ctx, struct pj_server_env *env, Pj__Cluster__Code code,
    const char *msg)
{
	Pj__Friend__OpReply r = PJ__FRIEND__OP_REPLY__INIT;
	r.code                = code;
	r.message             = (char *) msg;
	r.served_by           = env->self;
	ar_reply(ctx, &r.base);
}

/* Runs an operation for an app this server owns. */
static void
run_op(ar_ctx *ctx, struct pj_server_env *env, const Pj__Friend__OpRequest *q)
{
	Pj__Friend__OpReply r = PJ__FRIEND__OP_REPLY__INIT;
	struct pj_worker   *w = NULL;
	struct pj_instance  inst;
	char                buf[200];
	size_t              n;
	int                 rv;

	r.served_by = env->self;
	switch (q->op) {
	case PJ__FRIEND__OP__WORKER_LIST:
		n = pj_view_query(env->view, q->app_id, ar_now_ms(), NULL, &w);
		r.workers   = pj_worker_infos(w, n);
		r.n_workers = n;
		ar_reply(ctx, &r.base);
		pj_worker_infos_free(r.workers, n);
		free(w);
		return;
	case PJ__FRIEND__OP__INSTANCE_DETAIL:
		rv = pj_store_instance_get(env->store, q->instance_id, &inst);
		if (rv != 0 || inst.app_id != q->app_id) {
			snprintf(buf, sizeof(buf),
			    "instance %lld of app %lld: %s",
			    (long long) q->instance_id, (long long) q->app_id,
			    rv == 0 || rv == PJ_STORE_ENOTFOUND
			        ? "no such instance"
			        : "database unavailable");
			op_reply(ctx, env,
			    rv == 0 || rv == PJ_STORE_ENOTFOUND
			        ? PJ__CLUSTER__CODE__NOT_FOUND
			        : PJ__CLUSTER__CODE__DB_DOWN,
			    buf);
			if (rv == 0) {
				pj_instance_fini(&inst);
			}
			return;
		}
		r.instance_id     = inst.instance_id;
		r.instance_status = inst.status;
		r.result          = inst.result;
		struct pj_task_counts tc;
		if (pj_progress_get(env->progress, q->instance_id, &tc)) {
			r.total_task_num   = tc.total;
			r.succeed_task_num = tc.succeeded;
			r.failed_task_num  = tc.failed;
			r.counts_time      = tc.report_time;
		}
		ar_reply(ctx, &r.base);
		pj_instance_fini(&inst);
		return;
	case PJ__FRIEND__OP__RUN_JOB:
	case PJ__FRIEND__OP__STOP_INSTANCE:
	case PJ__FRIEND__OP__CANCEL_INSTANCE:
	case PJ__FRIEND__OP__RETRY_INSTANCE:
	case PJ__FRIEND__OP__ENABLE_JOB:
	case PJ__FRIEND__OP__DISABLE_JOB:
	case PJ__FRIEND__OP__DELETE_JOB:
		/* the scheduler owns instance state; it answers the asker */
		ar_forward(ctx, env->scheduler);
		return;
	default:
		op_reply(ctx, env, PJ__CLUSTER__CODE__BAD_REQUEST,
		    "unknown operation");
	}
}

/* ---- relay (blocking) ------------------------------------------------------
 */

/* Asks `owner` to run q; 0 and the reply sent on to our asker, or an AR_E*
 * code when the owner did not answer. */
static int
ask_owner(ar_ctx *ctx, struct pj_server_env *env, const char *owner,
    const Pj__Friend__OpRequest *q)
{
	Pj__Friend__OpRequest   fq = *q;
	char                    addr[512];
	ar_ref                  to;
	ar_future              *f;
	const ProtobufCMessage *r;
	int                     rv;

	fq.forwarded = 1;
	pj_server_actor_address(owner, PJ_FRIEND_ACTOR, addr, sizeof(addr));
	if ((rv = ar_ref_resolve(env->sys, addr, &to)) != 0
	    || (rv = ar_ask(env->sys, to, &fq.base, PJ_FORWARD_TIMEOUT_MS, &f))
	        != 0) {
		return (rv);
	}
	rv = ar_future_wait(f, -1, &r);
	if (rv == 0 && r->descriptor == &pj__friend__op_reply__descriptor) {
		ar_reply(ctx, r);
	} else if (rv == 0) {
		rv = AR_ETYPE;
	}
	ar_future_free(f);
	return (rv);
}

static int
relay_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *msg)
{
	struct pj_server_env        *env = *(struct pj_server_env **) state;
	const Pj__Friend__OpRequest *q   = (const Pj__Friend__OpRequest *) msg;
	struct pj_owner_env          oe;
	struct pj_owner_result       res;
	char                        *owner = NULL, buf[600];
	int                          rv;

	if (t != &pj__friend__op_request__descriptor) {
		ar_reply_failure(ctx, AR_ETYPE, "relay: unexpected message");
		return (0);
	}
	if ((rv = pj_store_app_owner(env->store, q->app_id, &owner)) != 0) {
		op_reply(ctx, env,
		    rv == PJ_STORE_ENOTFOUND ? PJ__CLUSTER__CODE__UNKNOWN_APP
		                             : PJ__CLUSTER__CODE__DB_DOWN,
		    rv == PJ_STORE_ENOTFOUND ? "unknown app"
		                             : "database unavailable");
		return (0);
	}
	if (owner[0] == 0) {
		op_reply(ctx, env, PJ__CLUSTER__CODE__NOT_OWNER,
		    "no server owns the app yet (a worker's discovery assigns "
		    "one)");
	} else if (strcmp(owner, env->self) == 0) {
		pj_owned_add(env->owned, q->app_id);
		run_op(ctx, env, q);
	} else if ((rv = ask_owner(ctx, env, owner, q)) != 0) {
		ar_log(AR_LOG_WARN, "friend",
		    "app=%lld op=%d owner=%s did not answer (%s); "
		    "re-resolving",
		    (long long) q->app_id, q->op, owner, ar_strerror(rv));
		pj_server_owner_env(env, &oe);
		rv = pj_owner_resolve(&oe, q->app_id, &res);
		if (rv == 0 && strcmp(res.owner, env->self) == 0) {
			pj_owned_add(env->owned, q->app_id);
			run_op(ctx, env, q);
		} else if (rv == 0 && strcmp(res.owner, owner) != 0
		    && ask_owner(ctx, env, res.owner, q) == 0) {
			/* answered by the new owner */
		} else {
			snprintf(buf, sizeof(buf),
			    "app %lld: owner %s did not answer, also after "
			    "re-resolving",
			    (long long) q->app_id,
			    rv == 0 ? res.owner : owner);
			op_reply(ctx, env,
			    PJ__CLUSTER__CODE__OWNER_UNREACHABLE, buf);
		}
	}
	free(owner);
	return (0);
}

static int
relay_pre_start(ar_ctx *ctx, void *state)
{
	*(struct pj_server_env **) state
	    = (struct pj_server_env *) ar_ctx_init_arg(ctx);
	return (0);
}

static const ar_behavior relay_behavior
    = { relay_pre_start, relay_receive, NULL, NULL };

/* ---- FriendActor
 * ------------------------------------------------------------ */

static int
friend_pre_start(ar_ctx *ctx, void *state)
{
	struct friend_state *s = state;
	ar_props             p = { 0 };
	s->env                 = (struct pj_server_env *) ar_ctx_init_arg(ctx);
	p.behavior             = &relay_behavior;
	p.state_size           = sizeof(struct pj_server_env *);
	p.dispatcher           = AR_DISPATCHER_BLOCKING;
	p.init_arg             = s->env;
	for (int i = 0; i < PJ_FRIEND_RELAYS; i++) {
		char name[32];
		int  rv;
		snprintf(name, sizeof(name), "relay%d", i);
		if ((rv = ar_spawn(ar_ctx_system(ctx), ar_ctx_self(ctx), name,
		         &p, &s->relay[i]))
		    != 0) {
			return (rv);
		}
	}
	return (0);
}

static int
friend_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *msg)
{
	struct friend_state  *s   = state;
	struct pj_server_env *env = s->env;
	if (t == &pj__friend__ping__descriptor) {
		Pj__Friend__Pong p = PJ__FRIEND__PONG__INIT;
		p.sent_ms          = ((const Pj__Friend__Ping *) msg)->sent_ms;
		p.now_ms           = ar_now_ms();
		p.server_id        = env->server_id;
		p.server           = env->self;
		p.server_address   = env->address;
		ar_reply(ctx, &p.base);
	} else if (t == &pj__friend__op_request__descriptor) {
		const Pj__Friend__OpRequest *q
		    = (const Pj__Friend__OpRequest *) msg;
		if (pj_owned_has(env->owned, q->app_id)) {
			run_op(ctx, env, q);
		} else if (q->forwarded) {
			/* a one-row read; never forwarded a second time */
			int own = pj_server_owns(env, q->app_id);
			if (own == 1) {
				run_op(ctx, env, q);
			} else {
				op_reply(ctx, env,
				    own < 0 ? PJ__CLUSTER__CODE__DB_DOWN
				            : PJ__CLUSTER__CODE__NOT_OWNER,
				    "forwarded to a server that does not own "
				    "the app");
			}
		} else {
			ar_forward(
			    ctx, s->relay[s->next++ % PJ_FRIEND_RELAYS]);
		}
	} else {
		ar_reply_failure(ctx, AR_ETYPE,
		    "friend: unexpected message type (see "
		    "proto/friend.proto)");
	}
	return (0);
}

static const ar_behavior friend_behavior
    = { friend_pre_start, friend_receive, NULL, NULL };

int
pj_friend_actor_spawn(struct pj_server_env *env, ar_ref *refp)
{
	ar_props p   = { 0 };
	p.behavior   = &friend_behavior;
	p.state_size = sizeof(struct friend_state);
	p.init_arg   = env;
	return (ar_spawn(env->sys, AR_REF_NONE, PJ_FRIEND_ACTOR, &p, refp));
}
