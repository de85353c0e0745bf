/*
 * task_store.h - the worker's task table (PowerJob's task_info on H2,
 * powerjob-design.md §6.7) on SQLite: the work queue and result store of
 * a heavy TaskTracker, keyed by (instance_id, task_id).
 *
 * Every task has an integer key, seq, handed out at insert; updates go by
 * seq (the dispatch and the status reports carry it), lookups by task id
 * exist too.  One store per TaskTracker: in memory (path NULL) or a file that
 * is removed first (wiped at start, removed at close).  Every call is a
 * prepared statement; batch inserts run in one transaction; callers that
 * apply many updates wrap them in pj_task_store_begin / _commit.
 *
 * Threads: a store has no lock of its own (SQLite opened NOMUTEX); it
 * belongs to one thread at a time, its TaskTracker actor.  Separate
 * stores are independent.
 *
 * Beyond PowerJob: a `pinned` column marks tasks whose address must not
 * change on a re-route (the root task, broadcast tasks: they run on a
 * given node).
 */
#ifndef PJ_WORKER_TASK_STORE_H
#define PJ_WORKER_TASK_STORE_H

#include <stddef.h>
#include <stdint.h>

/* Task statuses (PowerJob's TaskStatus codes); final = 5, 6. */
enum pj_task_status {
	PJ_TASK_WAITING_DISPATCH = 1,
	PJ_TASK_DISPATCHED       = 2, /* sent, not acknowledged */
	PJ_TASK_RECEIVED         = 3,
	PJ_TASK_PROCESSING       = 4,
	PJ_TASK_FAILED           = 5,
	PJ_TASK_SUCCEED          = 6,
};
#define PJ_TASK_STATUS_MAX 6
static inline int
pj_task_final(int status)
{
	return status == PJ_TASK_FAILED || status == PJ_TASK_SUCCEED;
}

/* A row as inserted or read back; strings are borrowed (valid during the
 * call or callback). */
struct pj_task {
	int64_t     seq; /* the store's key, set by the store (read back) */
	int64_t     instance_id, sub_instance_id;
	const char *task_id, *task_name;
	const void *content;
	size_t      content_len;
	const char *address; /* "" = any ProcessorTracker */
	int         pinned;  /* keep the address on a re-route */
	int         status;
	const char *result;
	int         failed_cnt;
	int64_t     created_time, last_modified_time, last_report_time;
};

struct pj_task_store;

/* Opens a store: path NULL = in memory; otherwise the file is removed
 * first.  0, or -1 with the reason in err. */
int pj_task_store_open(
    const char *path, struct pj_task_store **sp, char *err, size_t errlen);
void pj_task_store_close(struct pj_task_store *s);
/* The last SQLite error message. */
const char *pj_task_store_error(struct pj_task_store *s);

int pj_task_store_begin(struct pj_task_store *s);
int pj_task_store_commit(struct pj_task_store *s);
int pj_task_store_rollback(struct pj_task_store *s);

/* Inserts n tasks in one transaction (status, failed_cnt and times from
 * each row; created/modified 0 are set to now).  A duplicate (instance,
 * task id) fails the whole batch: -1, nothing stored. */
int pj_task_store_insert(
    struct pj_task_store *s, const struct pj_task *t, size_t n, int64_t now);

/* Forward-only status change: applied when the stored status is lower
 * and not final (a non-final one only to a task already dispatched);
 * result kept for final statuses.  *changed = 1 when a
 * row changed. */
int pj_task_store_set_status(struct pj_task_store *s, int64_t instance_id,
    int64_t seq, int status, const char *result, int64_t report_time,
    int64_t now, int *changed);

/* A task was sent to address: status 2, address, modified = now. */
int pj_task_store_dispatched(struct pj_task_store *s, int64_t instance_id,
    int64_t seq, const char *address, int64_t now);

/* Back to waiting dispatch with failed_cnt + 1; the address becomes ""
 * unless the task is pinned.  *changed = 1 when a non-final row changed. */
int pj_task_store_retry(struct pj_task_store *s, int64_t instance_id,
    int64_t seq, const char *result, int64_t now, int *changed);

/* What the status rules need to know about one task; found = 0 when the
 * task is unknown. */
struct pj_task_brief {
	int     found;
	int64_t seq;
	int     status, failed_cnt, pinned;
	int64_t sub_instance_id;
	char    task_name[128];
	char    address[320];
};
int pj_task_store_get(struct pj_task_store *s, int64_t instance_id,
    const char *task_id, struct pj_task_brief *b);
int pj_task_store_get_seq(struct pj_task_store *s, int64_t instance_id,
    int64_t seq, struct pj_task_brief *b);
/* The key of the last row inserted. */
int64_t pj_task_store_last_seq(struct pj_task_store *s);

/* Up to limit tasks waiting dispatch (status 1), in insertion order of
 * the index; cb returns non-zero to stop early. */
typedef int (*pj_task_cb)(const struct pj_task *t, void *arg);
int pj_task_store_pending(struct pj_task_store *s, int64_t instance_id,
    size_t limit, pj_task_cb cb, void *arg);

/* Lost tasks: every unfinished task at address becomes `status`: 1 (re-run
 * elsewhere: address "" unless pinned) or 5 (failed with result).  *n =
 * tasks changed. */
int pj_task_store_lost(struct pj_task_store *s, int64_t instance_id,
    const char *address, int status, const char *result, int64_t now,
    int64_t *n);

/* Dispatched (status 2) and not acknowledged since older_than: back to 1,
 * failed_cnt + 1, address "" unless pinned.  *n = tasks changed. */
int pj_task_store_unacked(struct pj_task_store *s, int64_t instance_id,
    int64_t older_than, int64_t now, int64_t *n);

/* counts[status] for status 1..6 (counts[0] unused); sub_instance_id < 0
 * = every sub-instance. */
int pj_task_store_histogram(struct pj_task_store *s, int64_t instance_id,
    int64_t sub_instance_id, int64_t counts[PJ_TASK_STATUS_MAX + 1]);

/* Tasks in flight (status 2..4) per address. */
typedef void (*pj_task_addr_cb)(const char *address, int64_t n, void *arg);
int pj_task_store_inflight(struct pj_task_store *s, int64_t instance_id,
    pj_task_addr_cb cb, void *arg);

/* The task named task_name of a sub-instance (the last task). */
int pj_task_store_find_named(struct pj_task_store *s, int64_t instance_id,
    int64_t sub_instance_id, const char *task_name, struct pj_task_brief *b);

/* Every finished task (status 5, 6) of a sub-instance, except those named
 * `except` (may be NULL), in no particular order. */
int pj_task_store_results(struct pj_task_store *s, int64_t instance_id,
    int64_t sub_instance_id, const char *except, pj_task_cb cb, void *arg);

/* Deletes the tasks of an instance (sub_instance_id < 0) or of one
 * sub-instance. */
int pj_task_store_delete(
    struct pj_task_store *s, int64_t instance_id, int64_t sub_instance_id);

/* Number of tasks of an instance. */
int64_t pj_task_store_count(struct pj_task_store *s, int64_t instance_id);

#endif
