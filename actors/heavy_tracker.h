/*
 * heavy_tracker.h - the heavy TaskTrackers (BROADCAST, MAP, MAP_REDUCE and
 * the frequent FIXED_RATE / FIXED_DELAY tracker, powerjob-design.md §6.5)
 * and the ProcessorTracker (§6.6), as the WorkerActor sees them.
 *
 * The WorkerActor (actors/worker_actor.c) calls these from its own
 * receive; each tracker is its own actor under the worker system.
 */
#ifndef PJ_ACTORS_HEAVY_TRACKER_H
#define PJ_ACTORS_HEAVY_TRACKER_H

#include "actors/worker_env.h"

struct pj_heavy_settings; /* worker/heavy.h */

/* Sets the tracker settings of the process (worker/heavy.h; defaults
 * from pj_heavy_settings_init).  Call before any tracker starts. */
void pj_heavy_tracker_configure(const struct pj_heavy_settings *s);

/* Spawns /user/processor (sets env->processor).  0 or an AR_E* code. */
int pj_processor_tracker_spawn(struct pj_worker_env *env);

/* Starts a heavy TaskTracker for req unless one runs for the instance
 * (then 0 and nothing happens).  Refused (the heavy count is at
 * cfg.max_heavy, a bad request): -1 with the reason in err; the
 * WorkerActor then reports FAILED "init TaskTracker failed, reason: ...". */
int pj_heavy_tracker_start(struct pj_worker_env *env,
    const Pj__Worker__ServerScheduleJobReq *req, char *err, size_t errlen);

/* Stops the heavy TaskTracker of an instance: 0, or AR_ENOENT when this
 * worker has none for it. */
int pj_heavy_tracker_stop(
    struct pj_worker_env *env, const Pj__Worker__ServerStopInstanceReq *req);

/* SIGTERM (pj-worker's drain): every heavy TaskTracker of the worker
 * ends its instance FAILED "worker stopped (SIGTERM)", reported through
 * the reporter (counted in finals_pending before its tracker stops), and
 * stops its ProcessorTrackers; env->heavy falls to 0 as they stop.
 * Returns how many were told. */
int pj_heavy_tracker_shutdown_all(struct pj_worker_env *env);

#endif
