/*
 * light_tracker.h - the light TaskTracker (powerjob-design.md §6.4
 * LightTaskTracker): a STANDALONE, not frequent instance run on a thread
 * of its own, without a task table or a ProcessorTracker.  The WorkerActor
 * (actors/worker_actor.c) starts and stops them and drives their
 * watchdog; pj-worker stops them all on SIGTERM.
 */
#ifndef PJ_ACTORS_LIGHT_TRACKER_H
#define PJ_ACTORS_LIGHT_TRACKER_H

#include "actors/worker_env.h"

struct pj_light_set *pj_light_set_new(void);
void                 pj_light_set_free(struct pj_light_set *s);

/* PowerJob drops a light instance past 1.3 x max_light (the server
 * dispatches it again after its receive timeout). */
#define PJ_LIGHT_DROP_FACTOR 1.3

enum pj_light_start {
	PJ_LIGHT_STARTED   = 0,
	PJ_LIGHT_DUPLICATE = 1, /* one runs for the instance: ignored */
	PJ_LIGHT_DROPPED   = 2, /* over capacity: dropped */
	PJ_LIGHT_ERROR     = -1 /* no thread; err says why */
};
/* Starts a light TaskTracker for req (copied). */
int pj_light_start(struct pj_worker_env    *env,
    const Pj__Worker__ServerScheduleJobReq *req, char *err, size_t errlen);
/* The server stopped the instance: its processor is asked to stop and no
 * final report follows (the server already recorded the end).  0, or
 * AR_ENOENT when no light tracker runs it. */
int pj_light_stop(struct pj_worker_env *env, int64_t instance_id);
/* 1 while a light tracker runs instance_id. */
int pj_light_has(struct pj_worker_env *env, int64_t instance_id);
/* Watchdog, from the WorkerActor's tick: RUNNING reports every
 * report_ms, instance timeouts, processors that do not return. */
void pj_light_tick(struct pj_worker_env *env);
/* SIGTERM: every processor is asked to stop; their final reports say
 * the worker stopped them. */
void pj_light_stop_all(struct pj_worker_env *env);
/* Processors that still run after stop_all and the wait: reported FAILED
 * now (their threads are abandoned).  Returns how many. */
int pj_light_abandon_all(struct pj_worker_env *env);

#endif
