/*
 * heavy.h - the rules of the heavy TaskTrackers (powerjob-design.md §6.5),
 * as pure functions over plain values so that they are tested without
 * actors: ProcessorTracker availability (§6.5.1), the dispatch choice,
 * task status updates (forward only, retries and re-routing), the status
 * checker's decisions (completion of MAP / MAP_REDUCE / BROADCAST,
 * instance timeout) and the frequent tracker's launch rules (§6.5.3).
 *
 * Threads: none; every function works on the caller's values.
 */
#ifndef PJ_WORKER_HEAVY_H
#define PJ_WORKER_HEAVY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- settings (PowerJob's numbers, §12, as defaults) -------------------- */
struct pj_heavy_settings {
	int64_t check_ms;   /* status checker period (PowerJob 13000) */
	int64_t detect_ms;  /* MAP / MAP_REDUCE: ask for more workers (60000) */
	int64_t report_ms;  /* RUNNING report period (PowerJob 13000) */
	int64_t unacked_ms; /* dispatched, unacknowledged: re-send (15000) */
	int64_t pt_timeout_ms;   /* PT silent this long: lost (60000) */
	int64_t pt_heartbeat_ms; /* PT load heartbeat (10000) */
	int64_t pt_idle_ms;      /* PT idle self-destroy (120000) */
	int     pt_queue_max;    /* PT task queue bound (PowerJob 128; ours is
	                            larger because tasks come in batches) */
	int pt_busy;             /* available while remain < this (PowerJob 20
	                            tasks; here a fraction of the queue) */
	int     dispatch_batch;  /* tasks per TaskTrackerStartTaskReq */
	int     pt_window;       /* tasks in flight per PT */
	int     report_batch;    /* task statuses per report message */
	int     map_chunk;       /* sub-tasks per ProcessorMapTaskRequest */
	int64_t max_tasks;       /* tasks per instance (a map past it fails) */
	int64_t map_timeout_ms;  /* how long map waits for the TT */
	int     store_in_file;   /* task store in a file of the worker's data
	                            dir (default; memory when it has none or
	                            the file does not open): faster and a
	                            fraction of the memory at 1M tasks */
	/* the processor loader (pj_processor_load); tests may replace it */
	int (*load)(const void *proc_config, const char *type,
	    const char *info, void *processor, char *err, size_t errlen);
};
void pj_heavy_settings_init(struct pj_heavy_settings *s);

/* ---- execution kinds --------------------------------------------------- */
enum pj_exec {
	PJ_EXEC_STANDALONE = 1,
	PJ_EXEC_BROADCAST  = 2,
	PJ_EXEC_MAP_REDUCE = 3,
	PJ_EXEC_MAP        = 4,
};
enum pj_time_kind {
	PJ_TIME_OTHER       = 0,
	PJ_TIME_FIXED_RATE  = 3,
	PJ_TIME_FIXED_DELAY = 4,
};
/* "MAP_REDUCE" -> 3 ...; 0 when unknown. */
int pj_exec_parse(const char *name);
/* "FIXED_RATE" -> 3, "FIXED_DELAY" -> 4, anything else 0. */
int pj_time_kind_parse(const char *name);

/* Root / last task ids (PowerJob's TaskConstant): the common tracker uses
 * "0" and "9999"; the frequent one "<sub>" and "L<sub>". */
void pj_root_task_id(bool frequent, int64_t sub, char *buf, size_t n);
void pj_last_task_id(bool frequent, int64_t sub, char *buf, size_t n);

/* ---- ProcessorTracker status as the TT sees it (§6.5.1) ---------------- */
struct pj_pt {
	char    address[320]; /* worker system address */
	int64_t last_active;  /* ms of the last heartbeat or report; -1 */
	int64_t remain;       /* queued tasks it reported */
	int64_t inflight;     /* tasks dispatched to it, not final */
	int64_t capacity;     /* its queue bound (heartbeat); 0 = unknown */
	bool    dispatched;   /* ever sent a task */
	bool    connected;    /* heard from since the first dispatch */
	bool    lost;         /* timed out: never used again */
};
void pj_pt_init(struct pj_pt *p, const char *address);
/* Available: never dispatched, or connected, heard within pt_timeout_ms
 * and remain < pt_busy; never when lost. */
bool pj_pt_available(
    const struct pj_pt *p, int64_t now, const struct pj_heavy_settings *s);
/* Timed out: dispatched and silent for pt_timeout_ms. */
bool pj_pt_timed_out(
    const struct pj_pt *p, int64_t now, const struct pj_heavy_settings *s);
/* A heartbeat or report from the PT at `time`: older ones are ignored. */
void pj_pt_heard(
    struct pj_pt *p, int64_t time, int64_t remain, bool has_remain);
/* Sent n tasks. */
void pj_pt_sent(struct pj_pt *p, int64_t now, int64_t n);

/* Tasks it may still be sent: its window (pt_window, or its queue bound
 * when smaller) minus those in flight. */
int64_t pj_pt_room(const struct pj_pt *p, const struct pj_heavy_settings *s);
/* The next PT for an unpinned task: round robin from *rr over the PTs
 * that are available and have room in their window; -1 when none. */
int pj_pt_pick(struct pj_pt *pts, size_t n, size_t *rr, int64_t now,
    const struct pj_heavy_settings *s);

/* ---- task status rules (§6.5 updateTaskStatus) ------------------------- */
enum pj_status_action {
	PJ_ST_IGNORE = 0, /* stale or unknown: nothing */
	PJ_ST_APPLY,      /* store the new status (and result) */
	PJ_ST_RETRY,      /* failed with retries left: back to 1 */
};
/* What to do with a report `status` for a task now at `current` with
 * `failed_cnt` failures.  Retry iff the report is FAILED, task_retry_num
 * > failed_cnt; a pinned task (root, broadcast, last) keeps its node. */
int pj_status_decide(
    int current, int status, int failed_cnt, int task_retry_num);

/* ---- completion (§6.5.2 status checker) -------------------------------- */
struct pj_sub_counts {
	int64_t total, unfinished, succeeded, failed;
};
enum pj_outcome_kind {
	PJ_OUT_RUNNING = 0,
	PJ_OUT_CREATE_LAST, /* MAP_REDUCE / BROADCAST: run reduce/post */
	PJ_OUT_DONE,
};
struct pj_outcome {
	int  kind;
	int  success; /* DONE: 1 succeed, 0 failed */
	char result[256];
};
/* root_status / last_status: 0 when that task does not exist (yet), else
 * its status; *_result their results.  STANDALONE takes the root's
 * outcome; MAP succeeds iff no task failed; MAP_REDUCE / BROADCAST need
 * the last task (reduce / post_process) and take its outcome.  Beyond
 * PowerJob: a MAP or MAP_REDUCE whose root task (the map) failed, or a
 * BROADCAST whose pre_process failed, fails at once (no reduce over partial
 * results, no post_process of a fan-out that never happened). */
void pj_sub_outcome(int exec, const struct pj_sub_counts *c, int root_status,
    const char *root_result, int last_status, const char *last_result,
    struct pj_outcome *o);
/* Instance timeout: timeout_ms > 0 and now - start > timeout_ms. */
bool pj_timed_out(int64_t start, int64_t now, int64_t timeout_ms);

/* ---- frequent tracker (§6.5.3) ----------------------------------------- */
#define PJ_FIXED_RATE_MIN_MS 50
/* Parses the frequent interval (ms): 0, or -1 with the reason in err. */
int pj_freq_interval(
    int time_kind, const char *expr, int64_t *ms, char *err, size_t errlen);
enum pj_launch {
	PJ_LAUNCH_NOW = 0,
	PJ_LAUNCH_TOO_MANY, /* FIXED_RATE: max_instance_num running */
	PJ_LAUNCH_WAIT,     /* FIXED_DELAY: the previous one still runs */
};
int pj_freq_launch(int time_kind, int running, int max_instance_num);

#endif
