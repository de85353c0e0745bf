/*
 * server/gateway/ops.h - the OpenAPI operations (powerjob-design.md §9.3)
 * on the store, and the hand-off of those that need the app's owner.
 *
 * pj_gw_handle() runs one request: decode, validate, authenticate (a token:
 * one HMAC; app name + secret: the auth cache of server/cluster/auth.h,
 * PBKDF2 on a miss; a wrong secret is cached too, and PBKDF2 checks after
 * failures are limited per app name: a refused check answers
 * INCORRECT_PASSWORD "too many wrong secrets ...; try again in N ms"), the
 * ownership check (the job or instance must belong to the authenticated
 * app, PowerJob's OpenApiInterceptor), then the operation.  Operations
 * that only read or write the store finish there.  run, stop, cancel,
 * retry, instance detail and the worker list need the owner's memory: the
 * call comes back with needs_owner and a pj.friend.OpRequest for the
 * FriendActor (which forwards it to the owner); pj_gw_owner_done() turns
 * the owner's OpReply into the OpenAPI reply.
 *
 * Job status changes (enable / disable / delete) and runs with a delay
 * are owner operations too (ENABLE_JOB / DISABLE_JOB / DELETE_JOB, RUN_JOB
 * with delay_ms): the owner's scheduler sets the next trigger time from
 * now, cancels pending fires at once, records a delayed run's instance.
 *
 * Threads: any thread (the store and the auth cache guard themselves);
 * a call belongs to one thread at a time.  Every function may block on
 * the store: never on nng's callback threads.
 */
#ifndef PJ_SERVER_GATEWAY_OPS_H
#define PJ_SERVER_GATEWAY_OPS_H

#include <stdint.h>

#include "proto/friend.pb-c.h"
#include "proto/openapi.pb-c.h"
#include "server/cluster/auth.h"
#include "server/gateway/request.h"
#include "server/gateway/token.h"
#include "server/store/store.h"

/* The whole log is sent in chunks of about this many bytes of text. */
#define PJ_GW_LOG_CHUNK 262144
/* fetch all: at most this many jobs in one reply */
#define PJ_GW_FETCH_ALL_MAX 10000

struct pj_gw {
	struct pj_store *store;
	struct pj_auth  *auth;
	uint8_t          key[PJ_GW_TOKEN_KEY_LEN];
	int64_t          token_ttl_ms; /* longest token life */
};

struct pj_gw_call {
	struct pj_gw_arena    arena;
	Pj__Openapi__Reply    reply;
	int                   op;     /* Request's op_case */
	int64_t               app_id; /* authenticated (0 before) */
	int                   needs_owner;
	Pj__Friend__OpRequest owner;    /* when needs_owner */
};

void pj_gw_call_init(struct pj_gw_call *c);
void pj_gw_call_fini(struct pj_gw_call *c);

/* Runs the request in buf; c->reply is complete unless c->needs_owner. */
void pj_gw_handle(struct pj_gw *g, const uint8_t *buf, size_t len,
    int64_t now_ms, struct pj_gw_call *c);

/* Completes a needs_owner call: rv 0 with the owner's reply, or an AR_E*
 * code (text in why) when no reply came. */
void pj_gw_owner_done(struct pj_gw_call *c, int rv, const char *why,
    const Pj__Friend__OpReply *r);

/* Sets c->reply to a failure. */
void pj_gw_fail(struct pj_gw_call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The reply's bytes, in the call's arena. */
size_t pj_gw_call_pack(struct pj_gw_call *c, uint8_t **out);

/* The next trigger time of a job as saved now (0 = none), or a
 * pj.openapi.Code with err ("time expression is out of date"). */
int pj_gw_job_next_trigger(const struct pj_job *j, int64_t now_ms,
    int64_t *next, char *err, size_t errlen);

#endif
