/*
 * tracker_int.h - what the heavy TaskTracker (heavy_tracker.c) and the
 * ProcessorTracker manager (processor_tracker.c) share: the process-wide
 * tracker settings, the tracker messages, and small address helpers.
 */
#ifndef PJ_ACTORS_TRACKER_INT_H
#define PJ_ACTORS_TRACKER_INT_H

#include "actors/heavy_tracker.h"
#include "proto/tracker.pb-c.h"
#include "worker/heavy.h"

/* Tick kinds of pj.tracker.TrackerTick. */
enum {
	PJ_TICK_CHECK = 1,  /* TT status checker */
	PJ_TICK_REPORT,     /* TT RUNNING report */
	PJ_TICK_LAUNCH,     /* frequent TT: launch a sub-instance */
	PJ_TICK_DISPATCH,   /* TT: dispatch what is waiting */
	PJ_TICK_HEARTBEAT,  /* PT manager: heartbeats, retries, timeouts */
	PJ_TICK_FLUSH,      /* PT manager: send a PT's finished statuses */
	PJ_TICK_DETECT,     /* TT: ask the server for more workers */
	PJ_TICK_SHUTDOWN,   /* TT: the worker stops (SIGTERM): fail, report */
};

/* PowerJob's ProcessorTrackerStatusReportReq.type */
enum { PJ_PT_IDLE = 1, PJ_PT_LOAD = 2 };

/* The settings every tracker of the process reads (set before spawn). */
const struct pj_heavy_settings *pj_tracker_settings(void);

/* Registers pj.tracker.* and the cluster / worker messages; idempotent. */
int pj_tracker_messages_register(void);

/* "<system address of a>/user/<actor>" into buf: a is a worker address
 * (pj://sys@host:port, with or without a path).  0 or AR_EINVAL. */
int pj_tracker_actor_address(
    const char *a, const char *actor, char *buf, size_t n);

/* The PT manager's pending work when the process stops (tests). */
int pj_processor_tracker_count(void);

#endif
