/*
 * server/gateway/ops_int.h - what ops.c and ops_instance.c share.
 */
#ifndef PJ_SERVER_GATEWAY_OPS_INT_H
#define PJ_SERVER_GATEWAY_OPS_INT_H

#include <stdlib.h>

#include "runtime/alloc.h"
#include "server/gateway/ops.h"

void gw_ok(struct pj_gw_call *c);
void gw_store_fail(
    struct pj_gw_call *c, struct pj_gw *g, int rv, const char *what);
/* Loads job id for the call's app: 0, or the reply set to the failure. */
int gw_own_job(
    struct pj_gw *g, struct pj_gw_call *c, int64_t id, struct pj_job *j);
/* The instance, log, preview and worker operations. */
void gw_instance_op(struct pj_gw *g, struct pj_gw_call *c,
    const Pj__Openapi__Request *r, int64_t now);

#endif
