/*
 * scheduler_int.h - what the SchedulerActor's two files share
 * (scheduler_actor.c: passes, fires, dispatch; scheduler_ops.c: checks,
 * cleanup, operators' requests, the actor itself).  Threads: everything
 * here runs on the actor's turn only.
 */
#ifndef PJ_ACTORS_SCHEDULER_INT_H
#define PJ_ACTORS_SCHEDULER_INT_H

#include "actors/server_env.h"
#include "server/sched/pass.h"

#define OWNED_MAX 1024
#define CHECK_LIMIT 3000
#define CLEAN_LIMIT 1000
#define CLEAN_LOCK "history_delete_lock"
#define CLEAN_LOCK_MS 600000 /* PowerJob: 10 min */
#define JOBS_PER_PASS 10000
/* A pass reads and records at most this many due jobs per turn, then
 * tells itself PASS_MORE: a Fire queued meanwhile waits one chunk, not the
 * whole pass (10,000 jobs took 0.5-0.8 s on MariaDB). */
#define PASS_CHUNK 1000
/* A chunk's fires due within this are armed at once; later ones when the
 * pass ends, so a fire time recorded by several chunks is one Fire. */
#define PASS_ARM_NOW_MS 1000
/* An app taken over less than this ago: its workers may not have sent the
 * new owner a heartbeat yet, so "no worker available" waits (the instance
 * is tried again every NEW_OWNER_RETRY_MS) instead of failing. */
#define NEW_OWNER_GRACE_MS 15000
#define NEW_OWNER_RETRY_MS 500

/* Open addressing, 0 = empty, -1 = deleted (a tombstone).  `used` counts
 * live and deleted slots: a probe ends only at an empty one, so the set
 * is rebuilt (bigger only when live ids need it) before used passes half
 * of cap. */
struct idset {
	int64_t *k;
	size_t   cap, n, used;
};

/* Jobs by id, from the passes (and read on a miss), for dispatch. */
#define JOB_CACHE_MS 2000 /* older entries are read again */
struct jcache_ent {
	int64_t        id, at;
	struct pj_job *job; /* one allocation with its strings (jpack) */
};
struct jcache {
	struct jcache_ent *v;
	size_t             cap, n;
};

struct sched_state {
	struct pj_server_env *env;
	ar_timer_id           pass_timer, check_timer, clean_timer;
	struct idset          armed;
	int64_t               owned[OWNED_MAX];
	int64_t               owned_at[OWNED_MAX]; /* first pass that saw it */
	size_t                n_owned;
	uint64_t              rnd;
	Pj__Sched__Stats      st;
	struct jcache         jobs;
	size_t                pass_jobs; /* jobs of the pass under way */
	struct pj_sched_fires pass_fires; /* its fires armed at its end */
};

bool sched_idset_add(struct idset *s, int64_t id);
bool sched_idset_del(struct idset *s, int64_t id);
bool sched_idset_has(const struct idset *s, int64_t id);

/* Moves live instance i to final status `to` with result (FAILED,
 * CANCELED, STOPPED) and calls the completion hook; 0 when it moved. */
int sched_finish(struct sched_state *s, const struct pj_instance *i, int to,
    const char *result, const char *tt);
/* Loads and dispatches one instance if it is WAITING_DISPATCH. */
void sched_dispatch_id(ar_ctx *ctx, struct sched_state *s, int64_t id);
/* Arms f[0..n) (sorted in place), one timer per fire time. */
void sched_arm(
    ar_ctx *ctx, struct sched_state *s, struct pj_sched_fire *f, size_t n);
/* Arms the pending WAITING_DISPATCH rows of apps[] due within the window. */
void sched_arm_pending(
    ar_ctx *ctx, struct sched_state *s, const int64_t *apps, size_t n);
/* Tells the chosen worker w[chosen] of w[0..n) ServerScheduleJobReq. */
void     sched_tell_job(ar_ctx *ctx, struct sched_state *s,
        const struct pj_instance *i, const struct pj_job *j,
        const struct pj_worker *w, size_t n, size_t chosen);
uint64_t sched_rnd(struct sched_state *s);
/* "No worker available" for instance i of app app_id: true when it waits
 * (app taken over within NEW_OWNER_GRACE_MS; re-armed), false = fail. */
bool sched_no_worker_waits(ar_ctx *ctx, struct sched_state *s,
    int64_t app_id, int64_t instance_id, int64_t job_id);
/* scheduler_batch.c: the job cache and the batched dispatch of a Fire
 * whose job ids are known (fires of the passes and frequent jobs). */
void sched_jobs_cache(struct sched_state *s, struct pj_job_list *jobs);
void sched_jobs_clear(struct sched_state *s);
/* The cached copy of job id (if any) is read again before its next use. */
void sched_jobs_stale(struct sched_state *s, int64_t id);
void sched_dispatch_fire(
    ar_ctx *ctx, struct sched_state *s, const Pj__Sched__Fire *f);
/* Message handlers of scheduler_actor.c. */
/* A pass's first chunk / next chunk: true when more jobs may be due (the
 * caller tells PASS_MORE), false when the pass is done. */
bool sched_on_pass(ar_ctx *ctx, struct sched_state *s);
bool sched_on_pass_more(ar_ctx *ctx, struct sched_state *s);
/* The pass is over: arms the fires its chunks kept. */
void sched_pass_done(ar_ctx *ctx, struct sched_state *s);
void sched_on_fire(
    ar_ctx *ctx, struct sched_state *s, const Pj__Sched__Fire *f);
void sched_on_arm(ar_ctx *ctx, struct sched_state *s, const Pj__Sched__Arm *a);

#endif
