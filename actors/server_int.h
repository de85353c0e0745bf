/*
 * server_int.h - what ServerActor's two files share (server_actor.c: the
 * actor, discovery, heartbeats, queries; server_reports.c: status reports
 * in batches).  Threads: the ServerActor's turn only.
 */
#ifndef PJ_ACTORS_SERVER_INT_H
#define PJ_ACTORS_SERVER_INT_H

#include "actors/server_env.h"

/* Reports applied at most this many to a transaction. */
#define PJ_REPORT_BATCH_MAX 512

struct report_pending; /* server_reports.c */
struct report_batch {
	struct report_pending *v;
	size_t                 n, cap;
	uint64_t               flushes; /* transactions, for the bench */
};

/* Answers a refused tell (or ask) with an Ack, if it has a sender. */
void server_refuse(ar_ctx *ctx, struct pj_server_env *env,
    Pj__Cluster__Code code, const char *msg);
void server_ack_ok(ar_ctx *ctx);
/* 1 when the app is ours; else refuses and returns 0. */
int server_require_owned(ar_ctx *ctx, struct pj_server_env *env,
    int64_t app_id, const char *what);

/* A status report: decided now, written with the batch.  The first report
 * of a batch tells the actor a ReportFlush, which comes after every report
 * already queued: those are the batch. */
void server_report(ar_ctx *ctx, struct pj_server_env *env,
    struct report_batch *b, const Pj__Cluster__InstanceStatusReport *r);
/* Writes the batch in one transaction, then acts and answers each. */
void server_reports_flush(
    ar_ctx *ctx, struct pj_server_env *env, struct report_batch *b);

#endif
