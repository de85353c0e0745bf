/*
 * server_env.h - what ServerActor and FriendActor share inside one
 * pj-server process: the store, the cluster view, the secret cache, the
 * owned-app set, the id generator and this server's identity.  The program
 * builds it before spawning the actors and frees it after the system
 * stopped.  Every member is either immutable after start or guards itself
 * (see the server/cluster/ headers); the counters are atomics.
 *
 * A server is known as "host:port" (app_info.current_server, server_info
 * ip) and its actors live at pj://pjserver@host:port/user/{server,friend}.
 */
#ifndef PJ_ACTORS_SERVER_ENV_H
#define PJ_ACTORS_SERVER_ENV_H

#include <stdatomic.h>

#include "actors/messages.h"
#include "runtime/ar.h"
#include "server/cluster/auth.h"
#include "server/cluster/ids.h"
#include "server/cluster/owner.h"
#include "server/cluster/view.h"
#include "server/logstore/logstore.h"
#include "server/logstore/writer.h"
#include "server/sched/progress.h"
#include "server/sched/sched.h"
#include "server/store/store.h"

#define PJ_SERVER_SYSTEM "pjserver"
#define PJ_SERVER_ACTOR "server"
#define PJ_FRIEND_ACTOR "friend"
#define PJ_SCHED_ACTOR "scheduler"
#define PJ_SERVER_TICK_MS 15000    /* PowerJob's server_info heartbeat */
#define PJ_FORWARD_TIMEOUT_MS 5000 /* PowerJob's /friend/process ask */
#define PJ_SERVER_ELECTORS 2       /* blocking children for discovery */
#define PJ_FRIEND_RELAYS 2 /* blocking children for forwarded operations */
/* ServerActor's mailbox: past this, heartbeats and reports become dead
 * letters (reason FULL) instead of memory; 100 workers send 10 a second */
#define PJ_SERVER_MAILBOX_BOUND 50000

/* The scheduler's numbers (docs/scheduler.md); pj_sched_settings_init
 * gives PowerJob's (server/sched/sched.h) and ours. */
struct pj_sched_settings {
	int64_t pass_ms;           /* schedule pass period */
	int64_t window_ms;         /* look-ahead */
	int64_t check_ms;          /* status checks period */
	int64_t wait_receive_ms;   /* WAITING_WORKER_RECEIVE stale */
	int64_t running_silent_ms; /* RUNNING without a report */
	int64_t retry_delay_ms;
	int64_t retention_ms; /* finished instances kept */
	int64_t clean_ms;     /* cleanup period */
	int64_t misfire_threshold_ms;
};
void pj_sched_settings_init(struct pj_sched_settings *s);

/* The completion hook: called once for every instance that finishes
 * (workflows and alarms will hang here); may be NULL. */
typedef void (*pj_sched_done_fn)(
    void *arg, const struct pj_instance *i, int status, const char *result);

struct pj_server_env {
	ar_system               *sys;
	struct pj_store         *store;
	/* instance logs: where they live and the thread that writes them
	 * (NULL: ServerActor appends to the SQL store itself, as tests that
	 * build an env by hand do) */
	struct pj_logstore      *logstore;
	struct pj_logwriter     *logwriter;
	struct pj_view          *view;
	struct pj_auth          *auth;
	struct pj_owned         *owned;
	/* task counts of the instances' last reports (NULL: none kept) */
	struct pj_progress      *progress;
	struct pj_ids            ids;
	int                      server_id;
	char                     self[256];    /* host:port */
	char                     address[320]; /* pj://pjserver@host:port */
	atomic_uint_fast64_t     heartbeats, refused, reports;
	struct pj_sched_settings sched;
	ar_ref                   scheduler; /* /user/scheduler */
	pj_sched_done_fn         done;
	void                    *done_arg;
};

/* Spawns /user/server (and its elector children). */
int pj_server_actor_spawn(struct pj_server_env *env, ar_ref *refp);
/* Spawns /user/friend (and its relay child). */
int pj_friend_actor_spawn(struct pj_server_env *env, ar_ref *refp);
/* Spawns /user/scheduler and sets env->scheduler. */
int pj_scheduler_actor_spawn(struct pj_server_env *env);

/* Tells the WorkerActor of TaskTracker `tt` (a worker address) to stop an
 * instance. */
void pj_sched_tell_stop(struct pj_server_env *env, ar_ref sender,
    const char *tt, int64_t app_id, int64_t instance_id, const char *reason);
/* The completion hook for an instance that just finished. */
void pj_sched_finished(struct pj_server_env *env, const struct pj_instance *i,
    int status, const char *result);

/* pj_ping_fn for server/cluster/owner.c: asks `server`'s FriendActor
 * (blocks up to timeout_ms); 0 when it answered as that server. */
int pj_server_ping(void *env, const char *server, int timeout_ms);
/* "pj://pjserver@<server>/user/<actor>" into buf. */
void pj_server_actor_address(
    const char *server, const char *actor, char *buf, size_t n);
/* 1 when this server owns app_id (memory, then the store), 0 when not,
 * -1 when the store failed. */
int pj_server_owns(struct pj_server_env *env, int64_t app_id);
/* The owner environment for pj_owner_resolve with PowerJob's numbers. */
void pj_server_owner_env(struct pj_server_env *env, struct pj_owner_env *o);

/* Workers as protobuf (for WorkerList / OpReply); free with
 * pj_worker_infos_free. */
Pj__Cluster__WorkerInfo **pj_worker_infos(const struct pj_worker *w, size_t n);
void pj_worker_infos_free(Pj__Cluster__WorkerInfo **v, size_t n);

#endif
