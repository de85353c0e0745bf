/*
 * worker_env.h - what the worker-side actors share inside one pj-worker
 * process (powerjob-design.md §6): configuration, identity, the current
 * owner server, tracker counts, and the services every tracker uses
 * (status reports to the owner, online log lines, processors).
 *
 * Actors of a worker system (pj://pjworker@host:port):
 *   /user/worker     WorkerActor: the server's runJob / stopInstance /
 *                    queryInstanceStatus; routes STANDALONE (not frequent)
 *                    to a light TaskTracker, everything else to
 *                    pj_heavy_tracker_start (actors/heavy_tracker.h)
 *   /user/processor  ProcessorTracker manager (actors/heavy_tracker.h):
 *                    TaskTrackerStartTaskReq / TaskTrackerStopInstanceReq
 *                    from any TaskTracker of the cluster
 *   /user/reporter   reliable delivery of final status reports
 *   /user/logger     batches online log lines to the owner
 *
 * The worker's address (heartbeat worker_address, the TaskTracker address
 * the server records) is the system address, pj://pjworker@host:port.
 *
 * Threads: every member is immutable after start except the owner
 * (guarded by mu) and the counters (atomics).  Every function below is
 * safe from any thread and never blocks on the network.
 */
#ifndef PJ_ACTORS_WORKER_ENV_H
#define PJ_ACTORS_WORKER_ENV_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

#include "actors/messages.h"
#include "runtime/ar.h"
#include "worker/processor.h"

#define PJ_WORKER_SYSTEM "pjworker"
#define PJ_WORKER_ACTOR "worker"
#define PJ_PROCESSOR_ACTOR "processor"
#define PJ_REPORTER_ACTOR "reporter"
#define PJ_LOGGER_ACTOR "logger"
#define PJ_WORKER_MAX_SERVERS 16

struct pj_worker_config {
	char    app_name[256];
	char    secret[256];
	char    servers[PJ_WORKER_MAX_SERVERS][256]; /* host:port */
	int     n_servers;
	char    tag[256];
	char    data_dir[1024];
	char    plugin_dir[1024];
	int     max_light;        /* PowerJob 1024 */
	int     max_heavy;        /* PowerJob 64 */
	int64_t heartbeat_ms;     /* 10000 */
	int64_t discover_ms;      /* 10000 */
	int64_t report_ms;        /* RUNNING reports, a few seconds */
	int64_t log_flush_ms;     /* online log batch period (PowerJob 5000) */
	int     log_batch;        /* lines per LogReport (PowerJob 20) */
	int     log_queue_max;    /* bound of queued lines (PowerJob 10240) */
	int64_t max_result_bytes; /* PowerJob 8096 */
};

struct pj_worker_env {
	ar_system                 *sys;
	struct pj_worker_config    cfg;
	struct pj_processor_config proc;
	char                       address[320]; /* pj://pjworker@host:port */
	atomic_int_fast64_t        app_id;       /* from discovery */

	pthread_mutex_t mu; /* guards the owner */
	char            server[256];         /* owner host:port, "" = none */
	char            server_address[320]; /* pj://pjserver@host:port */

	atomic_int light, heavy; /* live TaskTrackers */
	ar_ref     worker, processor, reporter, logger;
};

/* The owner's /user/server as a ref; AR_ENOENT when no owner is known. */
int pj_worker_server_ref(struct pj_worker_env *env, ar_ref *ref);
/* Copies the owner host:port ("" when none). */
void pj_worker_server(struct pj_worker_env *env, char *buf, size_t n);
/* Sets the owner (discovery). */
void pj_worker_set_server(
    struct pj_worker_env *env, const char *server, const char *address);

/* Sends an instance status report to the owner.  Not final (RUNNING):
 * tell, best effort.  Final (FAILED / SUCCEED / STOPPED): handed to the
 * reporter, which asks the owner and retries (following owner changes)
 * until an Ack says it is recorded or the report is refused.  The
 * report's source_address is set to env->address; the message is copied. */
void pj_worker_report(
    struct pj_worker_env *env, const Pj__Cluster__InstanceStatusReport *r);

/* An online log line of an instance (copied; queued for the logger; when
 * the queue is full the line is counted as dropped, never blocks). */
void pj_worker_log(struct pj_worker_env *env, int64_t instance_id, int level,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void pj_worker_logv(struct pj_worker_env *env, int64_t instance_id,
    int level, const char *fmt, va_list ap);

#endif
