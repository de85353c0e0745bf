/*
 * server/sched/pass.h - one schedule pass on the store (pass.c).
 *
 * Threads: none of its own; call it from one thread at a time per set of
 * apps (the SchedulerActor).  The store and the id generator are
 * thread-safe.
 */
#ifndef PJ_SERVER_SCHED_PASS_H
#define PJ_SERVER_SCHED_PASS_H

#include "server/cluster/ids.h"
#include "server/sched/sched.h"

struct pj_sched_pass_opts {
	int64_t window_ms;            /* look-ahead (PJ_SCHED_WINDOW_MS) */
	int64_t misfire_threshold_ms; /* 0 = Quartz's 60 s */
	int64_t fire_all_window_ms;   /* FIRE_ALL: 0 = every missed fire */
	size_t  misfire_cap;          /* 0 = plan_cap */
	size_t  plan_cap;             /* fires of one job per pass, >= 1 */
	int     job_limit;            /* due jobs per pass, >= 1 */
};

/* A recorded fire, for the caller to arm at fire_ms. */
struct pj_sched_fire {
	int64_t instance_id, job_id, app_id, fire_ms;
};
struct pj_sched_fires {
	struct pj_sched_fire *v;
	size_t                n, cap;
	/* the pass's due jobs as read (the last pass's are replaced), for
	 * the caller's job cache; freed by pj_sched_fires_fini */
	struct pj_job_list jobs;
};
void pj_sched_fires_fini(struct pj_sched_fires *f);

struct pj_sched_pass_stats {
	size_t jobs;       /* due jobs read */
	size_t recorded;   /* instance rows written */
	size_t duplicates; /* fires somebody else had recorded */
	size_t missed;     /* due fires more than the threshold late */
	size_t dropped;    /* missed fires not recorded (policy) */
	size_t invalid;    /* jobs whose timing no longer validates */
	size_t disabled;   /* jobs disabled: nothing left to fire */
};

/* Plans and records every fire up to now + window of the apps' due jobs;
 * appends the fires it recorded to *out.  0 or a PJ_STORE_* code. */
int pj_sched_pass(struct pj_store *s, struct pj_ids *ids, const int64_t *apps,
    size_t n_apps, int64_t now_ms, const struct pj_sched_pass_opts *o,
    struct pj_sched_fires *out, struct pj_sched_pass_stats *st);

/* A job enabled (or saved enabled) at now_ms: its next fire from now, so
 * nothing missed while it was disabled is replayed (pj_timing_next from
 * now; 0 = none or not a CRON / DAILY_TIME_INTERVAL job, which the pass
 * then computes from now too). */
int64_t pj_sched_enable_next(const struct pj_job *j, int64_t now_ms);

#endif
