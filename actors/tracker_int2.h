/*
 * tracker_int2.h - the heavy TaskTracker's state, shared by its files:
 * heavy_tracker.c (lifecycle, the WorkerActor's entry points, reports to
 * the server, the frequent launcher), task_tracker.c (dispatch, task
 * status reports, map requests, the status checker) and tracker_local.c
 * (pre-process, post-process and reduce on a thread of the TT's node).
 *
 * Threads: a struct tt belongs to its actor (one message at a time); the
 * local job is shared with its thread as described in tracker_local.c.
 */
#ifndef PJ_ACTORS_TRACKER_INT2_H
#define PJ_ACTORS_TRACKER_INT2_H

#include "actors/tracker_int.h"
#include "worker/task_store.h"

/* address of tasks that run on the TT's own thread, never dispatched */
#define PJ_LOCAL_ADDRESS "local"
/* the result of an instance whose worker stopped (SIGTERM) */
#define PJ_TT_SHUTDOWN "worker stopped (SIGTERM)"

struct local_job;

/* one running (sub-)instance */
struct sub {
	int64_t              id;
	int64_t              start; /* wall ms */
	struct pj_sub_counts c;
	int                  root_status; /* 0 = not final yet */
	char                 root_result[256];
	int                  last_status; /* 0 = no last task yet */
	char                 last_result[256];
	bool                 root_local; /* broadcast pre-process running */
	struct local_job    *job;
	struct sub          *next;
};

struct tt {
	struct pj_worker_env             *env;
	ar_system                        *sys;
	ar_ref                            self;
	Pj__Worker__ServerScheduleJobReq *req;  /* own copy */
	Pj__Tracker__InstanceInfo         info; /* strings point into req */
	int                               exec, time_kind;
	bool                              frequent;
	int64_t                           interval_ms;
	int64_t                           instance_id;
	int64_t                           start; /* wall ms */
	char                              self_addr[400];
	struct pj_task_store             *store;
	struct pj_pt                     *pts;
	size_t                            npts, cappts, rr;
	struct sub                       *subs;
	ar_timer_id                       t_check, t_report, t_launch;
	ar_timer_id                       t_detect;
	ar_future                        *detect; /* ExecutorQuery in flight */
	bool                              finished;
	bool                              dispatch_told;
	int64_t                           ntasks; /* stored, all subs */
	/* frequent */
	int64_t launches, f_succeeded, f_failed, next_sub;
	char    f_last_result[256];
};

/* task_tracker.c */
void tt_dispatch(struct tt *t);
void tt_on_report(ar_ctx *ctx, struct tt *t,
    const Pj__Tracker__ProcessorReportTaskStatusReq *r);
void tt_on_pt_status(
    struct tt *t, const Pj__Tracker__ProcessorTrackerStatusReportReq *h);
void tt_on_map(
    ar_ctx *ctx, struct tt *t, const Pj__Tracker__ProcessorMapTaskRequest *q);
void tt_check(struct tt *t);
/* checks one sub-instance for completion and acts on it */
void          tt_sub_check(struct tt *t, struct sub *s);
struct sub   *tt_sub_find(struct tt *t, int64_t id);
struct pj_pt *tt_pt_find(struct tt *t, const char *address, bool add);
/* stores tasks of sub s (counted); 0 or -1 with the reason in err */
int tt_add_tasks(struct tt *t, struct sub *s, const struct pj_task *tasks,
    size_t n, char *err, size_t errlen);

/* worker detector (MAP / MAP_REDUCE): asks the owner for the job's
 * workers and adds the new ones; collects the answer on the next tick */
void tt_detect(struct tt *t);

/* heavy_tracker.c */
/* a sub-instance ended: final report (common) or counters (frequent) */
void tt_sub_done(
    struct tt *t, struct sub *s, bool success, const char *result);
/* starts a sub-instance: the root task (or the broadcast pre-process) */
void tt_sub_start(struct tt *t, int64_t sub_id);
void tt_finish(struct tt *t, int status, const char *result, bool report);

/* tracker_local.c: runs pre_process (kind 1), post_process (2) or reduce
 * (3) of sub s on a thread; its outcome comes back to the TT as a
 * ProcessorReportTaskStatusReq from address PJ_LOCAL_ADDRESS for task_id */
enum { PJ_LOCAL_PRE = 1, PJ_LOCAL_POST, PJ_LOCAL_REDUCE };
void tt_local_start(
    struct tt *t, struct sub *s, int kind, const char *task_id, int64_t seq);
/* the TT goes away: the thread may finish but talks to nobody */
void tt_local_release(struct local_job *j);

#endif
