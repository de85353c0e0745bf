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
 * (guarded by mu), the counters and flags (atomics), the log queue and
 * the light set (each guards itself).  Every function below is safe from
 * any thread and never blocks on the network.
 */
#ifndef PJ_ACTORS_WORKER_ENV_H
#define PJ_ACTORS_WORKER_ENV_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "actors/messages.h"
#include "proto/wlocal.pb-c.h"
#include "runtime/ar.h"
#include "worker/logq.h"
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
	/* ours (pj-worker's options, pj_worker_config_load) */
	int64_t tick_ms;        /* light trackers' watchdog period */
	int64_t stop_wait_ms;   /* a stopped processor gets this long */
	int64_t start_wait_ms;  /* first discovery keeps trying this long */
	int64_t ask_timeout_ms; /* reports, logs and discovery asks */
	char    listen[256];    /* tcp://HOST:PORT */
	char    advertise[256]; /* "" = the listen host */
	char    log_level[16];
	char    ready_file[1024];
	char    cluster_key[1024]; /* "" = none (loopback only) */
	int     shuffle;           /* shuffle the server list once */
};

/* Exit codes of pj-worker (docs/worker.md). */
#define PJ_WORKER_EXIT_FAILURE 1   /* cannot start (listen, data dir) */
#define PJ_WORKER_EXIT_USAGE 2     /* bad option or config file */
#define PJ_WORKER_EXIT_REFUSED 3   /* wrong secret, unknown app */
#define PJ_WORKER_EXIT_NO_SERVER 4 /* no server answered at start */

/* Fills c from flags, PJ_* environment and the config file (the option
 * engine of server/cluster/config.h).  0, 1 when --help was printed to
 * out, or 2 with the reason in err. */
int  pj_worker_config_load(struct pj_worker_config *c, int argc, char **argv,
     FILE *out, char *err, size_t errlen);
void pj_worker_config_help(FILE *out);

struct pj_light_set; /* actors/light_tracker.h */

struct pj_worker_env {
	ar_system                 *sys;
	struct pj_worker_config    cfg;
	struct pj_processor_config proc;
	char                       address[320]; /* pj://pjworker@host:port */
	atomic_int_fast64_t        app_id;       /* from discovery */

	pthread_mutex_t mu;                  /* guards the owner */
	char            server[256];         /* owner host:port, "" = none */
	char            server_address[320]; /* pj://pjserver@host:port */

	atomic_int light, heavy; /* live TaskTrackers */
	ar_ref     worker, processor, reporter, logger;

	/* ours */
	struct pj_logq      *logq;   /* online log lines not yet acked */
	struct pj_light_set *lights; /* light TaskTrackers */
	atomic_int           finals_pending; /* final reports not yet acked */
	atomic_int log_kicked; /* a KICK is on its way to the logger */
	atomic_int rediscover; /* a server said it is not the owner */
	atomic_int draining;   /* SIGTERM: no new instances */
};

/* Registers the worker's own message types (proto/wlocal.proto) besides
 * pj_messages_register's.  Idempotent. */
int pj_worker_messages_register(void);
/* Sets up what pj_worker_env needs besides the system: mutex, log queue,
 * light set.  cfg must be filled. */
void pj_worker_env_init(struct pj_worker_env *env, ar_system *sys);
void pj_worker_env_fini(struct pj_worker_env *env);
/* Spawns /user/reporter and /user/logger (sets env->reporter, logger). */
int pj_worker_services_spawn(struct pj_worker_env *env);
/* Spawns /user/worker (actors/worker_actor.c; sets env->worker). */
int pj_worker_actor_spawn(struct pj_worker_env *env);
/* Spawns /user/reporter (actors/reporter_actor.c). */
int pj_reporter_actor_spawn(struct pj_worker_env *env);
/* Spawns /user/logger (actors/logger_actor.c). */
int pj_logger_actor_spawn(struct pj_worker_env *env);
/* The owner changed or a flush is wanted: the reporter and the logger
 * send what they hold now instead of at their next tick. */
void pj_worker_kick(struct pj_worker_env *env);

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
void pj_worker_logv(struct pj_worker_env *env, int64_t instance_id, int level,
    const char *fmt, va_list ap);

#endif
