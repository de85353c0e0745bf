/*
 * server/sched/sched.h - the scheduler's domain code (powerjob-design.md
 * §5.3-5.10): the instance state machine, status reports, dispatch choices,
 * the fires of one job inside the look-ahead window, status-check
 * decisions and the retry delay.  docs/scheduler.md has the design.
 *
 * Design notes
 * ------------
 * Pure functions: no store, no clock, no randomness of their own (every
 * time and every random number is an argument), so tests drive them and
 * the SchedulerActor only moves values between the store, the cluster view
 * and the network.  Every fire time comes from the timing module
 * (pj_timing_next, pj_timing_misfire); nothing here computes one.
 * The one exception is pass.c (pj_sched_pass), which runs a schedule pass
 * against the store; the store is thread-safe, and pass.c keeps no state.
 */
#ifndef PJ_SERVER_SCHED_H
#define PJ_SERVER_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/cluster/view.h"
#include "server/store/store.h"
#include "server/timing/timing.h"

/* ---- PowerJob's numbers (§12), named ----------------------------------- */
#define PJ_SCHED_CHECK_INTERVAL_MS 10000 /* status checks */
#define PJ_SCHED_WAIT_DISPATCH_MS 30000  /* WAITING_DISPATCH stale */
#define PJ_SCHED_WAIT_RECEIVE_MS 60000   /* WAITING_WORKER_RECEIVE stale */
#define PJ_SCHED_RUNNING_SILENT_MS 60000 /* RUNNING without a report */
#define PJ_SCHED_RETRY_DELAY_MS 10000    /* PowerJob's intended delay */
#define PJ_SCHED_RETENTION_MS (7LL * 86400000) /* product profile: 7 days */
/* ours: the schedule pass and its look-ahead window */
#define PJ_SCHED_PASS_INTERVAL_MS 1000
#define PJ_SCHED_WINDOW_MS 5000
/* at most this many fires of one job are planned in one pass */
#define PJ_SCHED_PLAN_MAX 4096

/* DispatchStrategy codes (§3) */
enum pj_dispatch_strategy {
	PJ_DISPATCH_HEALTH_FIRST = 1,
	PJ_DISPATCH_RANDOM       = 2,
	PJ_DISPATCH_SPECIFY      = 11,
};

/* SystemInstanceResult strings (§3), byte for byte */
#define PJ_RESULT_NO_WORKER "no worker available"
#define PJ_RESULT_TOO_MANY "too many instances(%lld>%d)"
#define PJ_RESULT_TIMEOUT "instance execute timeout"
#define PJ_RESULT_REPORT_TIMEOUT                                              \
	"worker report timeout, maybe TaskTracker down"
#define PJ_RESULT_NO_JOB "can't find job info"
#define PJ_RESULT_STOPPED "stopped by user"
#define PJ_RESULT_CANCELED "canceled by user"
#define PJ_RESULT_JOB_DISABLED "canceled: job disabled"
#define PJ_RESULT_FREQUENT_OFF "stopped: job disabled or deleted"
#define PJ_RESULT_MAX 256

/* ---- state machine ------------------------------------------------------ */

bool pj_inst_finished(int status); /* FAILED, SUCCEED, CANCELED, STOPPED */
bool pj_inst_live(int status);     /* WAITING_DISPATCH .. RUNNING */
bool pj_inst_status_valid(int status);
/* Whether the scheduler may move an instance from `from` to `to`:
 *   1 -> 2 (dispatched), 1 -> 4 (no worker, too many), 1 -> 9 (cancel),
 *   2 -> 1 (receive timeout), 2 -> 3/4/5 (first report),
 *   3 -> 3 (report), 3 -> 1 (retry), 3 -> 4/5 (final report, timeout)
 *   1/2/3 -> 10 (stop), 4/5/9/10 -> 1 (manual retry),
 * and nothing else (a finished instance never moves but by retry). */
bool pj_inst_can_move(int from, int to);

/* ---- status reports (§5.7) --------------------------------------------- */

enum pj_report_verdict {
	PJ_REPORT_APPLY = 0, /* write `to` and `mask` fields conditionally */
	PJ_REPORT_STALE,     /* older than the last one: drop */
	PJ_REPORT_FOREIGN,   /* not the recorded TaskTracker: drop, tell it
	                        to stop the instance */
	PJ_REPORT_FINISHED,  /* the instance is already finished: drop (and
	                        tell a frequent job's TaskTracker to stop) */
	PJ_REPORT_INVALID,   /* unknown status code */
};

struct pj_report {
	int         status; /* reported instance status */
	const char *source; /* the TaskTracker's address */
	int64_t     report_time;
	int64_t     end_time; /* 0 = not given */
	const char *result;
	int64_t     launches; /* frequent: sub-instances launched so far (the
	                         report's total_task_num) */
};

struct pj_report_action {
	enum pj_report_verdict verdict;
	int                    from, to;
	unsigned mask;          /* PJ_SET_* for pj_store_instance_transition */
	struct pj_instance set; /* values for mask (strings borrowed) */
	bool               retry;    /* FAILED with attempts left */
	bool               finished; /* `to` is final: completion hook */
	bool               ack;      /* answer the worker (final states) */
};

/* What a report does to instance `cur` of a job allowed `retry_num` retries
 * (frequent jobs: is_frequent, no retries, no attempt counting; instead
 * running_times mirrors the TaskTracker's launches and every report writes
 * the result, the last sub-instance's, like PowerJob §5.9).  A retry
 * goes back to WAITING_DISPATCH with expected_trigger_time = now_ms +
 * retry_delay_ms. */
void pj_sched_report(const struct pj_instance *cur, const struct pj_report *r,
    int retry_num, bool is_frequent, int64_t now_ms, int64_t retry_delay_ms,
    struct pj_report_action *a);

/* ---- dispatch (§5.6) ---------------------------------------------------- */

enum pj_dispatch_verdict {
	PJ_DISPATCH_GO = 0,     /* tell worker `chosen` */
	PJ_DISPATCH_TOO_MANY,   /* fail the instance with result */
	PJ_DISPATCH_NO_WORKER,  /* fail the instance with result */
	PJ_DISPATCH_OVERLOADED, /* leave it WAITING_DISPATCH; back off */
};

struct pj_dispatch_choice {
	enum pj_dispatch_verdict verdict;
	size_t                   chosen; /* index into the workers */
	char                     result[PJ_RESULT_MAX];
};

/* The job's worker filter (borrows the job's strings); overloaded workers
 * are included so that dispatch can tell "none" from "all overloaded". */
void pj_sched_filter(const struct pj_job *j, struct pj_executor_filter *f);
/* Frequent = FIXED_RATE or FIXED_DELAY. */
bool pj_sched_frequent(int time_expression_type);
/* The max live instances of a job (frequent: 1; 0 = unlimited). */
int pj_sched_max_live(const struct pj_job *j);
/* Whether ServerScheduleJobReq carries every candidate worker's address
 * (all_worker_address): only where the worker starts a heavy TaskTracker
 * that spreads tasks over them (BROADCAST, MAP, MAP_REDUCE, and frequent
 * jobs).  A STANDALONE CRON / API instance runs on a light tracker that
 * never reads the list; PowerJob sends it anyway, 100 workers' addresses
 * made each tell ~1.6 KB instead of ~0.3 KB (docs/benchmarks.md). */
bool pj_sched_tells_all_workers(const struct pj_job *j);

/* Decides one dispatch: `live` = the job's instances in
 * WAITING_WORKER_RECEIVE or RUNNING, `w[0..n)` the workers that passed the
 * filter (best score first, overloaded ones included), `rnd` a random
 * number.  GO fills chosen. */
void pj_sched_dispatch(const struct pj_job *j, int64_t live,
    const struct pj_worker *w, size_t n, uint64_t rnd,
    struct pj_dispatch_choice *c);
/* The same for a re-dispatch: the worker whose address is `avoid` (the
 * instance's last TaskTracker; NULL or "" = none) is chosen only when no
 * other worker can take the instance. */
void pj_sched_dispatch_avoid(const struct pj_job *j, int64_t live,
    const struct pj_worker *w, size_t n, uint64_t rnd, const char *avoid,
    struct pj_dispatch_choice *c);

/* ---- the schedule pass (§5.3, without the 15 s floor) ------------------- */

struct pj_plan {
	int64_t *fire_ms; /* caller's array of `cap` entries, ascending */
	size_t   n_fire;
	size_t   n_missed;  /* due fires handled by the misfire policy */
	size_t   n_dropped; /* missed fires not recorded (policy, window) */
	bool     has_next;  /* false: nothing left, disable the job */
	int64_t  next_ms;   /* first fire after the window: new
	                       next_trigger_time */
	bool truncated;     /* cap reached inside the window */
};

/*
 * Every fire of a CRON / DAILY_TIME_INTERVAL job due up to now_ms +
 * window_ms.  next_ms_in is the job's next_trigger_time (0 = never
 * computed: the first fire is pj_timing_next from now).  Fires already due
 * (<= now_ms) are decided by pj_timing_misfire with last = next_ms_in - 1;
 * the rest of the window is pj_timing_next's chain.  Returns 0, or a
 * PJ_TIMING_* code for a bad policy.
 */
int pj_sched_plan(const pj_timing *t, const pj_lifecycle *lc,
    int64_t next_ms_in, int64_t now_ms, int64_t window_ms,
    const pj_misfire_opts *mo, size_t cap, struct pj_plan *p);

/* ---- status checks (§5.8) ----------------------------------------------- */

enum pj_check_verdict {
	PJ_CHECK_REDISPATCH = 0, /* back to WAITING_DISPATCH */
	PJ_CHECK_FAIL,           /* FAILED with result */
	PJ_CHECK_DISPATCH,       /* dispatch it now (WAITING_DISPATCH) */
	PJ_CHECK_TIMEOUT,        /* FAILED: instance execute timeout */
	PJ_CHECK_KEEP,
};

/* A RUNNING instance without a report for PJ_SCHED_RUNNING_SILENT_MS.
 * job NULL = the job is gone. */
enum pj_check_verdict pj_sched_check_running(
    const struct pj_instance *i, const struct pj_job *j, const char **result);

/* Whether a live instance ran longer than the job's instance_time_limit
 * (0 = no limit). */
bool pj_sched_timed_out(
    const struct pj_instance *i, const struct pj_job *j, int64_t now_ms);

/* ---- retry ---------------------------------------------------------------
 */

/* When a retried instance is dispatched again: now + delay (a negative
 * delay is PJ_SCHED_RETRY_DELAY_MS, 0 is at once). */
int64_t pj_sched_retry_at(int64_t now_ms, int64_t delay_ms);

/* ---- stop / cancel / retry by an operator (§5.10) ------------------------
 */

/* 0 when allowed, else a message for the operator in msg. */
int pj_sched_can_stop(const struct pj_instance *i, char *msg, size_t len);
int pj_sched_can_cancel(const struct pj_instance *i, char *msg, size_t len);
int pj_sched_can_retry(const struct pj_instance *i, char *msg, size_t len);

#endif
