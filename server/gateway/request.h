/*
 * server/gateway/request.h - the OpenAPI request path before any store
 * call: bytes -> pj.openapi.Request (proto/openapi.proto) -> checked
 * fields, and the per-request arena the replies are built in.
 *
 * Every refusal is a code of pj.openapi.Code and a message that names the
 * field and the problem ("job_save.job.job_name: required").  Nothing here
 * touches the store or the clock (now is an argument), so the fuzz target
 * (t/fuzz/gateway_fuzz.c) drives exactly this.
 *
 * Threads: pure functions; an arena belongs to one request.
 */
#ifndef PJ_SERVER_GATEWAY_REQUEST_H
#define PJ_SERVER_GATEWAY_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "proto/openapi.pb-c.h"

/* The largest request accepted (bytes); nng drops what is over twice
 * this before we see it (PJ_GW_RECV_MAX). */
#define PJ_GW_REQUEST_MAX (3u << 20)
#define PJ_GW_RECV_MAX (6u << 20)
#define PJ_GW_SECRET_MAX 1024 /* bytes of an app secret */
#define PJ_GW_PAGE_MAX 1000
#define PJ_GW_PAGE_DEFAULT 10
#define PJ_GW_LOG_PAGE_DEFAULT 100
#define PJ_GW_PREVIEW_MAX 100
#define PJ_GW_PREVIEW_DEFAULT 5
#define PJ_GW_DELAY_MAX_MS (366LL * 24 * 3600 * 1000) /* a year */
#define PJ_GW_CONCURRENCY_DEFAULT 5                   /* PowerJob's */
#define PJ_GW_ERR_MAX 512

/* A bump allocator for one reply: everything is freed at once. */
struct pj_gw_arena {
	struct pj_gw_blk *head;
};
void *pj_gw_alloc(struct pj_gw_arena *a, size_t n); /* zeroed */
char *pj_gw_strdup(struct pj_gw_arena *a, const char *s);
void  pj_gw_arena_fini(struct pj_gw_arena *a);

/* "job_save", "instance_log", ... ("none" for an unset oneof). */
const char *pj_gw_op_name(int op_case);

/* Decodes len bytes.  NULL with a message in err for bytes over
 * PJ_GW_REQUEST_MAX, bytes that are not a Request, or no operation. */
Pj__Openapi__Request *pj_gw_request_decode(
    const uint8_t *buf, size_t len, char *err, size_t errlen);
void pj_gw_request_free(Pj__Openapi__Request *r);

/* Checks the operation's fields (ranges, required values, lengths, the
 * time expression and lifecycle of a saved job or a preview).  0 or a
 * pj.openapi.Code with err naming the field. */
int pj_gw_request_validate(
    const Pj__Openapi__Request *r, int64_t now_ms, char *err, size_t errlen);

/* The job checks of job_save alone (prefix names the message, e.g.
 * "job_save.job"). */
int pj_gw_job_validate(const Pj__Openapi__JobInfo *j, const char *prefix,
    int64_t now_ms, char *err, size_t errlen);

#endif
