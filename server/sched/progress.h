/*
 * server/sched/progress.h - the owner's latest task counts of its running
 * instances (issue 12: instance detail with task counts), from the
 * TaskTrackers' periodic status reports; memory only, bounded.
 *
 * PowerJob asks the TaskTracker's worker for an InstanceDetail on every
 * detail request of a running instance.  Here the owner keeps what the
 * reports already carry (total / succeeded / failed), so a detail request
 * costs no worker round trip and a report costs one hash update under a
 * mutex; the counts are as fresh as the last report (the worker's
 * report-ms).  See docs/server.md "Task counts".
 */
#ifndef PJ_SCHED_PROGRESS_H
#define PJ_SCHED_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* running instances kept (a new one past this is not kept: its detail has
 * no counts), recently finished ones kept with their final counts, and the
 * age after which a running entry nobody reported on may be dropped */
#define PJ_PROGRESS_RUNNING_MAX 65536
#define PJ_PROGRESS_FINISHED_MAX 4096
#define PJ_PROGRESS_STALE_MS (10 * 60 * 1000)

struct pj_task_counts {
	int64_t total, succeeded, failed;
	int64_t report_time; /* the report's time; 0 = no counts known */
	bool    finished; /* the instance ended: these are its last counts */
};

struct pj_progress;

/* 0 for a default bound. */
struct pj_progress *pj_progress_new(size_t running_max, size_t finished_max);
void                pj_progress_free(struct pj_progress *p);

/* A report's counts (p may be NULL: nothing kept).  An older report
 * (report_time below the kept one) changes nothing. */
void pj_progress_update(struct pj_progress *p, int64_t instance_id,
    int64_t total, int64_t succeeded, int64_t failed, int64_t report_time,
    int64_t now_ms);
/* The instance ended: its entry (if any) moves to the finished ones, which
 * keep their last counts until PJ_PROGRESS_FINISHED_MAX later endings. */
void pj_progress_finish(struct pj_progress *p, int64_t instance_id);
/* Forgets the instance (a failed attempt that will be retried). */
void pj_progress_drop(struct pj_progress *p, int64_t instance_id);
/* true and *c when counts are known. */
bool pj_progress_get(
    struct pj_progress *p, int64_t instance_id, struct pj_task_counts *c);
/* Entries held: running, finished. */
void pj_progress_size(
    struct pj_progress *p, size_t *running, size_t *finished);

#endif
