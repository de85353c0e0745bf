/*
 * server/gateway/convert.h - between the store's rows (server/store/
 * store.h) and the OpenAPI's messages (proto/openapi.proto), and the
 * OpenAPI's queries (§9.4) to the store's.  Messages are built in the
 * request's arena; a store row converted to a message is copied, a message
 * converted to a row is borrowed (valid while the message lives).
 *
 * Threads: pure functions.
 */
#ifndef PJ_SERVER_GATEWAY_CONVERT_H
#define PJ_SERVER_GATEWAY_CONVERT_H

#include "proto/openapi.pb-c.h"
#include "server/gateway/request.h"
#include "server/store/store.h"

Pj__Openapi__JobInfo *pj_gw_job_to_pb(
    struct pj_gw_arena *a, const struct pj_job *j);
/* Borrows m's strings; applies PowerJob's save defaults (concurrency 0 ->
 * 5, dispatch strategy 0 -> HEALTH_FIRST). */
void pj_gw_job_from_pb(const Pj__Openapi__JobInfo *m, struct pj_job *j);

Pj__Openapi__InstanceInfo *pj_gw_instance_to_pb(
    struct pj_gw_arena *a, const struct pj_instance *i);

/* JobInfoQuery -> pj_job_query for app_id (borrows q's strings). */
void pj_gw_job_query_from_pb(
    const Pj__Openapi__JobQuery *q, int64_t app_id, struct pj_job_query *out);

/* InstancePageQuery -> pj_instance_query for app_id. */
void pj_gw_instance_query_from_pb(const Pj__Openapi__InstanceQuery *q,
    int64_t app_id, struct pj_instance_query *out);

#endif
