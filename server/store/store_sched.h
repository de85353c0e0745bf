/*
 * server/store/store_sched.h - store queries of the scheduler (issue 10),
 * kept apart from store.h so the store's own files stay untouched
 * (store_sched.c).
 */
#ifndef PJ_SERVER_STORE_SCHED_H
#define PJ_SERVER_STORE_SCHED_H

#include "server/store/store.h"

/* In one transaction, for each k: next[k] >= 0 sets job ids[k]'s
 * next_trigger_time (0 = NULL); next[k] < 0 disables the job (status
 * DISABLE, next_trigger_time NULL) if it is still enabled. */
int pj_store_jobs_advance(struct pj_store *s, const int64_t *ids,
    const int64_t *next, size_t n, int64_t now_ms);

/* Deletes finished instances (FAILED, SUCCEED, CANCELED, STOPPED) last
 * modified before before_ms, and their log lines, at most limit rows per
 * call; *deleted = instances removed. */
int pj_store_instances_clean(
    struct pj_store *s, int64_t before_ms, int limit, int64_t *deleted);

#endif
