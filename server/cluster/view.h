/*
 * server/cluster/view.h - the owner's in-memory view of its apps' workers
 * (powerjob-design.md §5.12, §6.3), fed by heartbeats.
 *
 * Design notes
 * ------------
 * Map app id -> (worker address -> worker).  A worker is alive while its
 * last heartbeat is at most PJ_WORKER_DEAD_MS old; pj_view_age() removes
 * workers silent for PJ_WORKER_DROP_MS (PowerJob keeps them until the app
 * moves).  Health score is PowerJob's (§6.3), computed here from the
 * metrics rather than trusted from the worker.
 *
 * Threads: a view is used by ServerActor (heartbeats, ageing) and
 * FriendActor (worker lists) on different dispatcher threads; one mutex
 * guards it, held only for in-memory work.  Every time is passed in (ms),
 * so tests drive the clock.
 */
#ifndef PJ_SERVER_CLUSTER_VIEW_H
#define PJ_SERVER_CLUSTER_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PJ_WORKER_DEAD_MS 60000  /* PowerJob: 60 s without a heartbeat */
#define PJ_WORKER_DROP_MS 600000 /* ours: forget after 10 min */
#define PJ_VIEW_STR_MAX 128      /* tag / version / address bytes kept */

struct pj_metrics {
	int    cpu_processors;
	double cpu_load;              /* negative = unknown */
	double mem_used, mem_max;     /* GB */
	double disk_used, disk_total; /* GB */
};

struct pj_heartbeat {
	const char       *address; /* worker's system address */
	int64_t           heartbeat_time;
	const char       *version;
	const char       *tag;
	bool              overload;
	int               light_tt, heavy_tt;
	struct pj_metrics metrics;
};

struct pj_worker {
	char              address[256];
	char              version[PJ_VIEW_STR_MAX];
	char              tag[PJ_VIEW_STR_MAX];
	int64_t           last_active; /* heartbeat_time of the newest */
	bool              overload;
	int64_t           last_overload;
	int               light_tt, heavy_tt;
	struct pj_metrics metrics;
	int               score;
	bool              alive;
	bool              dead_reported; /* pj_view_age told about it */
};

/* The dispatch filters of a job (§4, §5.6). */
struct pj_executor_filter {
	const char *designated; /* CSV of addresses or tags; NULL/"" = any */
	double      min_cpu;    /* 0 = none */
	double      min_mem;    /* GB, 0 = none */
	double      min_disk;   /* GB, 0 = none */
	int         max_count;  /* 0 = unlimited */
	bool        include_overloaded;
};

struct pj_view;

struct pj_view *pj_view_new(void);
void            pj_view_free(struct pj_view *v);

/* PowerJob's health score of a worker's metrics. */
int pj_health_score(const struct pj_metrics *m);

/* Does the comma-separated `list` name worker w, by its address, the
 * address's "host:port" part, or its tag?  Tokens are compared whole,
 * spaces around them ignored. */
bool pj_worker_listed(const char *list, const struct pj_worker *w);
/* Whether a worker's metrics meet the filter's minimums. */
bool pj_metrics_available(
    const struct pj_metrics *m, const struct pj_executor_filter *f);

/* Records a heartbeat.  Returns 1 when it created the worker, 0 when it
 * refreshed it, -1 when it was older than the stored one (ignored). */
int pj_view_heartbeat(
    struct pj_view *v, int64_t app_id, const struct pj_heartbeat *hb);

/* Called once per worker when it is first seen dead (silent for more than
 * PJ_WORKER_DEAD_MS), under the view's lock: must not block or call back
 * into the view. */
typedef void (*pj_view_dead_fn)(
    void *arg, int64_t app_id, const struct pj_worker *w);

/* Reports newly dead workers to dead (may be NULL), drops workers silent
 * for more than PJ_WORKER_DROP_MS and apps left without workers; returns
 * how many workers were dropped. */
size_t pj_view_age(
    struct pj_view *v, int64_t now_ms, pj_view_dead_fn dead, void *arg);

/* Workers of an app into *out (malloc'd array, caller frees), best score
 * first.  filter NULL = every worker, alive or not, flagged; otherwise only
 * live workers passing the filter, at most max_count. */
size_t pj_view_query(struct pj_view *v, int64_t app_id, int64_t now_ms,
    const struct pj_executor_filter *filter, struct pj_worker **out);

/* Number of apps and workers held (tests, admin). */
void pj_view_counts(struct pj_view *v, size_t *apps, size_t *workers);

/* Forgets an app (ownership lost). */
void pj_view_forget_app(struct pj_view *v, int64_t app_id);

#endif
