/*
 * gateway_actor.c - the OpenAPI gateway (actors/gateway.h, docs/gateway.md):
 * nng REP contexts in front, /user/gateway/hN handler actors behind.
 *
 * Design notes
 * ------------
 * The socket has PJ_GATEWAY_CONTEXTS contexts, each with one aio that goes
 * round a little state machine: RECV (waiting for a request) -> WORK (a
 * handler has it) -> SEND (the reply is going out) -> RECV.  nng's
 * callbacks never block and never touch the store: a received request is
 * copied into a pj.openapi.Work message and told to handler slot %
 * PJ_GATEWAY_HANDLERS; a request over PJ_GW_REQUEST_MAX is answered from
 * the callback itself (a few bytes, no store).  So many clients wait at
 * once and none waits behind another's slow store call beyond the handler
 * pool's width.
 *
 * Handlers run on the blocking dispatcher: decode, validate, authenticate
 * and run the operation (server/gateway/ops.c, store calls), then send the
 * reply through the context (nng_ctx_send: asynchronous).  Operations that
 * need the app's owner (run, stop, cancel, retry, instance detail, workers)
 * are asked of /user/friend, which runs them or forwards them to the owner;
 * the handler does not wait: the future's completion callback (any thread,
 * never blocks) finishes the reply and sends it.  A run with a delay is
 * an owner operation like the others: the owner records the instance at
 * once (WAITING_DISPATCH, due after the delay) and answers its id.
 * Enable, disable and delete are the owner's too (its scheduler cancels
 * pending fires at once).
 *
 * Shutdown: pj_gateway_close sets `closed`, takes and releases every
 * slot's mutex (a send in progress finishes) and stops every aio (waiting
 * for callbacks in progress); a reply sent later (a handler or an ask
 * completing during ar_system_stop) sees `closed` under its slot's mutex
 * and is dropped.  Contexts are closed before the socket (nng_close blocks
 * while contexts are open); aios are freed last, after the system stopped.
 *
 * Locks: a slot's mtx only around `closed` + nng_ctx_send of that slot
 * (one per slot: handlers never contend; nng never calls our callback with
 * it held, completions run on nng's task threads).  Counters are atomics.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "actors/gateway.h"
#include "proto/openapi.pb-c.h"
#include "runtime/log.h"
#include "server/gateway/ops.h"

enum { SLOT_RECV = 0, SLOT_WORK, SLOT_SEND };

struct slot {
	struct pj_gateway *gw;
	uint32_t           idx;
	nng_ctx            ctx;
	nng_aio           *aio;
	atomic_int         state;
	pthread_mutex_t    mtx; /* closed check + nng_ctx_send */
};

struct pj_gateway {
	struct pj_server_env *env;
	struct pj_gw          dom;
	nng_socket            sock;
	int                   sock_open;
	int                   port;
	struct slot           slots[PJ_GATEWAY_CONTEXTS];
	int                   nslots; /* with an aio and a context */
	ar_ref                handler[PJ_GATEWAY_HANDLERS];
	ar_ref                friend_ref;
	atomic_bool           closed; /* set under every slot's mtx */
	atomic_uint_fast64_t  requests, refused;
};

/* ---- replies through the context ---------------------------------------- */

static void
slot_send(struct pj_gateway *gw, uint32_t idx, const uint8_t *buf, size_t n)
{
	struct slot *s = &gw->slots[idx];
	nng_msg     *m;
	if (nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, buf, n) != 0) {
		abort(); /* out of memory: decided once (runtime/alloc.h) */
	}
	pthread_mutex_lock(&s->mtx);
	if (atomic_load(&gw->closed)) {
		pthread_mutex_unlock(&s->mtx);
		nng_msg_free(m);
		return;
	}
	atomic_store(&s->state, SLOT_SEND);
	nng_aio_set_msg(s->aio, m);
	nng_ctx_send(s->ctx, s->aio);
	pthread_mutex_unlock(&s->mtx);
}

static void
call_send(struct pj_gateway *gw, uint32_t idx, struct pj_gw_call *c)
{
	uint8_t *buf;
	size_t   n = pj_gw_call_pack(c, &buf);
	if (!c->reply.success) {
		atomic_fetch_add(&gw->refused, 1);
	}
	slot_send(gw, idx, buf, n);
}

/* A reply built on nng's callback thread: no store, a few bytes. */
static void
refuse(
    struct pj_gateway *gw, uint32_t idx, int code, const char *fmt, size_t n)
{
	struct pj_gw_call c;
	pj_gw_call_init(&c);
	pj_gw_fail(&c, code, fmt, n, (unsigned) PJ_GW_REQUEST_MAX);
	call_send(gw, idx, &c);
	pj_gw_call_fini(&c);
}

/* ---- nng's callback (never blocks) -----------------------------------------
 */

static void
slot_cb(void *arg)
{
	struct slot       *s  = arg;
	struct pj_gateway *gw = s->gw;
	int                rv = nng_aio_result(s->aio);
	nng_msg           *m;

	if (atomic_load(&s->state) == SLOT_SEND) {
		if (rv != 0 && (m = nng_aio_get_msg(s->aio)) != NULL) {
			nng_msg_free(m); /* not sent: still ours */
		}
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
			return;
		}
		atomic_store(&s->state, SLOT_RECV);
		nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	if (rv != 0) {
		if (rv != NNG_ECLOSED && rv != NNG_ECANCELED) {
			nng_ctx_recv(s->ctx, s->aio);
		}
		return;
	}
	m = nng_aio_get_msg(s->aio);
	atomic_fetch_add(&gw->requests, 1);
	atomic_store(&s->state, SLOT_WORK);
	size_t n = nng_msg_len(m);
	if (n > PJ_GW_REQUEST_MAX) {
		nng_msg_free(m);
		refuse(gw, s->idx, PJ__OPENAPI__CODE__INVALID_REQUEST,
		    "request: %zu bytes is over the limit of %u bytes", n);
		return;
	}
	Pj__Openapi__Work w = PJ__OPENAPI__WORK__INIT;
	w.slot              = s->idx;
	w.request.data      = nng_msg_body(m);
	w.request.len       = n;
	rv = ar_tell(gw->env->sys, gw->handler[s->idx % PJ_GATEWAY_HANDLERS],
	    &w.base, AR_REF_NONE);
	nng_msg_free(m);
	if (rv != 0) {
		refuse(gw, s->idx, PJ__OPENAPI__CODE__SYSTEM_ERROR,
		    "gateway: the server is stopping or overloaded (%zu bytes "
		    "not handled; limit %u); try again",
		    n);
	}
}

/* ---- owner operations ------------------------------------------------------
 */

struct pending {
	struct pj_gateway *gw;
	uint32_t           idx;
	struct pj_gw_call  call;
};

static void
owner_cb(ar_future *f, int result, const ProtobufCMessage *reply, void *arg)
{
	struct pending            *p = arg;
	const Pj__Friend__OpReply *r = NULL;
	if (result == 0
	    && reply->descriptor == &pj__friend__op_reply__descriptor) {
		r = (const Pj__Friend__OpReply *) reply;
	} else if (result == 0) {
		result = AR_ETYPE;
	}
	pj_gw_owner_done(&p->call, result, ar_strerror(result), r);
	call_send(p->gw, p->idx, &p->call);
	ar_future_free(f); /* r (workers) was packed above */
	pj_gw_call_fini(&p->call);
	free(p);
}

static void
ask_owner(ar_ctx *ctx, struct pending *p)
{
	struct pj_gateway *gw = p->gw;
	ar_future         *f;
	int                rv = ar_ask(ar_ctx_system(ctx), gw->friend_ref,
	                   &p->call.owner.base, PJ_GATEWAY_OWNER_TIMEOUT_MS, &f);
	if (rv != 0) {
		pj_gw_owner_done(&p->call, rv, ar_strerror(rv), NULL);
		call_send(gw, p->idx, &p->call);
		pj_gw_call_fini(&p->call);
		free(p);
		return;
	}
	ar_future_on_complete(f, owner_cb, p);
}

/* ---- handlers (blocking dispatcher)
 * ----------------------------------------- */

static void
handle_work(ar_ctx *ctx, struct pj_gateway *gw, const Pj__Openapi__Work *w)
{
	struct pending *p;
	if (w->slot >= (uint32_t) gw->nslots
	    || atomic_load(&gw->slots[w->slot].state) != SLOT_WORK) {
		return; /* not from our callback: never touch a busy context */
	}
	p      = ar_xcalloc(1, sizeof(*p));
	p->gw  = gw;
	p->idx = w->slot;
	pj_gw_call_init(&p->call);
	pj_gw_handle(
	    &gw->dom, w->request.data, w->request.len, ar_now_ms(), &p->call);
	if (!p->call.needs_owner) {
		call_send(gw, p->idx, &p->call);
		pj_gw_call_fini(&p->call);
		free(p);
		return;
	}
	ask_owner(ctx, p);
}

static int
handler_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *msg)
{
	struct pj_gateway *gw = *(struct pj_gateway **) state;
	if (t == &pj__openapi__work__descriptor
	    && ar_ref_is_none(ar_ctx_sender(ctx))) {
		handle_work(ctx, gw, (const Pj__Openapi__Work *) msg);
	} else {
		ar_reply_failure(ctx, AR_ETYPE,
		    "gateway: unexpected message (clients use the gateway's "
		    "REQ/REP port)");
	}
	return (0);
}

static int
handler_pre_start(ar_ctx *ctx, void *state)
{
	*(struct pj_gateway **) state
	    = (struct pj_gateway *) ar_ctx_init_arg(ctx);
	return (0);
}

static const ar_behavior handler_behavior
    = { handler_pre_start, handler_receive, NULL, NULL };

/* ---- /user/gateway
 * ------------------------------------------------------------ */

static int
gateway_pre_start(ar_ctx *ctx, void *state)
{
	*(struct pj_gateway **) state
	    = (struct pj_gateway *) ar_ctx_init_arg(ctx);
	return (0);
}

static int
gateway_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *msg)
{
	(void) state;
	(void) t;
	(void) msg;
	ar_reply_failure(ctx, AR_ETYPE,
	    "gateway: unexpected message (clients use the gateway's REQ/REP "
	    "port)");
	return (0);
}

static const ar_behavior gateway_behavior
    = { gateway_pre_start, gateway_receive, NULL, NULL };

/* ---- start / close / free
 * ------------------------------------------------------ */

int
pj_gateway_start(struct pj_server_env *env,
    const struct pj_gateway_config *cfg, struct pj_gateway **gwp)
{
	struct pj_gateway *gw = ar_xcalloc(1, sizeof(*gw));
	nng_listener       l;
	nng_sockaddr       sa;
	ar_props           p = { 0 };
	ar_ref             parent;
	int                rv;

	*gwp                 = NULL;
	gw->env              = env;
	gw->dom.store        = env->store;
	gw->dom.auth         = env->auth;
	gw->dom.token_ttl_ms = cfg->token_ttl_ms > 0
	    ? cfg->token_ttl_ms
	    : PJ_GW_TOKEN_TTL_MS_DEFAULT;
	for (int i = 0; i < PJ_GATEWAY_CONTEXTS; i++) {
		pthread_mutex_init(&gw->slots[i].mtx, NULL);
	}
	if (pj_gw_token_key_derive(cfg->key, cfg->key_len, gw->dom.key) != 0) {
		ar_log(AR_LOG_ERROR, "gateway", "no random bytes for the key");
		rv = AR_EINVAL;
		goto fail;
	}
	if ((rv = ar_registry_add(&pj__openapi__work__descriptor)) != 0
	    && rv != AR_EEXIST) {
		goto fail;
	}
	if ((rv = ar_lookup(
	         env->sys, "/user/" PJ_FRIEND_ACTOR, &gw->friend_ref))
	    != 0) {
		ar_log(AR_LOG_ERROR, "gateway",
		    "no /user/friend: start it first");
		goto fail;
	}
	p.behavior   = &gateway_behavior;
	p.state_size = sizeof(struct pj_gateway *);
	p.init_arg   = gw;
	if ((rv = ar_spawn(
	         env->sys, AR_REF_NONE, PJ_GATEWAY_ACTOR, &p, &parent))
	    != 0) {
		goto fail;
	}
	p.behavior   = &handler_behavior;
	p.dispatcher = AR_DISPATCHER_BLOCKING;
	for (int i = 0; i < PJ_GATEWAY_HANDLERS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "h%d", i);
		if ((rv = ar_spawn(
		         env->sys, parent, name, &p, &gw->handler[i]))
		    != 0) {
			goto fail;
		}
	}
	if ((rv = nng_rep0_open(&gw->sock)) != 0) {
		goto nng_fail;
	}
	gw->sock_open = 1;
	nng_socket_set_size(gw->sock, NNG_OPT_RECVMAXSZ, PJ_GW_RECV_MAX);
	for (int i = 0; i < PJ_GATEWAY_CONTEXTS; i++) {
		struct slot *s = &gw->slots[i];
		s->gw          = gw;
		s->idx         = (uint32_t) i;
		if ((rv = nng_aio_alloc(&s->aio, slot_cb, s)) != 0) {
			goto nng_fail;
		}
		if ((rv = nng_ctx_open(&s->ctx, gw->sock)) != 0) {
			nng_aio_free(s->aio);
			s->aio = NULL;
			goto nng_fail;
		}
		gw->nslots = i + 1;
	}
	if ((rv = nng_listen(gw->sock, cfg->url, &l, 0)) != 0) {
		ar_log(AR_LOG_ERROR, "gateway", "cannot listen on %s: %s",
		    cfg->url, nng_strerror(rv));
		goto nng_fail;
	}
	if (nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa) == 0
	    && sa.s_family == NNG_AF_INET) {
		gw->port = ntohs(sa.s_in.sa_port);
	}
	for (int i = 0; i < gw->nslots; i++) {
		nng_ctx_recv(gw->slots[i].ctx, gw->slots[i].aio);
	}
	*gwp = gw;
	return (0);
nng_fail:
	if (rv != 0 && rv < 0x1000) {
		ar_log(AR_LOG_ERROR, "gateway", "nng: %s", nng_strerror(rv));
	}
	rv = AR_ENNG;
fail:
	*gwp = gw; /* closed and freed by the caller's usual path */
	pj_gateway_close(gw);
	return (rv);
}

int
pj_gateway_port(const struct pj_gateway *gw)
{
	return (gw->port);
}

void
pj_gateway_close(struct pj_gateway *gw)
{
	if (gw == NULL) {
		return;
	}
	if (atomic_exchange(&gw->closed, true)) {
		return;
	}
	/* a send in progress finishes; every later one sees closed */
	for (int i = 0; i < PJ_GATEWAY_CONTEXTS; i++) {
		pthread_mutex_lock(&gw->slots[i].mtx);
		pthread_mutex_unlock(&gw->slots[i].mtx);
	}
	for (int i = 0; i < gw->nslots; i++) {
		nng_aio_stop(gw->slots[i].aio);
	}
	for (int i = 0; i < gw->nslots; i++) {
		nng_ctx_close(gw->slots[i].ctx);
	}
	if (gw->sock_open) {
		nng_close(gw->sock);
	}
	ar_log(AR_LOG_INFO, "gateway",
	    "closed after %llu requests (%llu refused)",
	    (unsigned long long) atomic_load(&gw->requests),
	    (unsigned long long) atomic_load(&gw->refused));
}

void
pj_gateway_free(struct pj_gateway *gw)
{
	if (gw == NULL) {
		return;
	}
	pj_gateway_close(gw);
	for (int i = 0; i < gw->nslots; i++) {
		nng_aio_free(gw->slots[i].aio);
	}
	for (int i = 0; i < PJ_GATEWAY_CONTEXTS; i++) {
		pthread_mutex_destroy(&gw->slots[i].mtx);
	}
	free(gw);
}
