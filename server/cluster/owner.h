/*
 * server/cluster/owner.h - app ownership without a registry
 * (powerjob-design.md §1.4-1.5), and the set of apps this server owns.
 *
 * pj_owner_resolve() is PowerJob's ServerElectionService.getServer0 with
 * two changes: a server that is the recorded owner answers at once (no
 * ping, no lock), and the take-over is a compare-and-set on
 * app_info.current_server against the value read under the lock, so two
 * servers can never both win even if the lock expired under one of them.
 *
 * Liveness of the recorded owner is a ping through a callback (FriendActor
 * in the server, a plain function in the tests), so the logic runs without
 * actors.  The callback and the back-off sleep block the calling thread:
 * call it from a blocking-dispatcher actor.
 *
 * Threads: pj_owner_resolve is reentrant; struct pj_owned has a mutex.
 */
#ifndef PJ_SERVER_CLUSTER_OWNER_H
#define PJ_SERVER_CLUSTER_OWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store/store.h"

/* PowerJob's election numbers (§12) */
#define PJ_ELECT_ATTEMPTS 10
#define PJ_ELECT_LOCK_MS 30000
#define PJ_ELECT_BACKOFF_MS 500
#define PJ_ELECT_PING_TIMEOUT_MS 1000
#define PJ_ELECT_LOCK_PREFIX "server_elect_"

/* No server could take the app over within the attempts (lock busy). */
#define PJ_OWNER_EBUSY 100

/* 0 when `server` (host:port) answered a ping within timeout_ms. */
typedef int (*pj_ping_fn)(void *arg, const char *server, int timeout_ms);

struct pj_owner_env {
	struct pj_store *store;
	const char      *self; /* this server, host:port */
	pj_ping_fn       ping;
	void            *ping_arg;
	int              attempts;        /* 0 = PJ_ELECT_ATTEMPTS */
	int64_t          lock_ms;         /* 0 = PJ_ELECT_LOCK_MS */
	int              backoff_ms;      /* 0 = PJ_ELECT_BACKOFF_MS */
	int              ping_timeout_ms; /* 0 = PJ_ELECT_PING_TIMEOUT_MS */
};

struct pj_owner_result {
	char owner[256]; /* host:port */
	bool took_over;  /* this call made self the owner */
	bool pinged;     /* a ping answered (owner alive elsewhere) */
	int  attempts;   /* lock attempts used */
};

/* 0 and *r on success; PJ_STORE_ENOTFOUND for an unknown app,
 * PJ_OWNER_EBUSY, or a store error (message in pj_store_errmsg). */
int pj_owner_resolve(
    const struct pj_owner_env *e, int64_t app_id, struct pj_owner_result *r);

/* ---- the apps this server owns (in memory) --------------------------- */
struct pj_owned;
struct pj_owned *pj_owned_new(void);
void             pj_owned_free(struct pj_owned *o);
void             pj_owned_add(struct pj_owned *o, int64_t app_id);
bool             pj_owned_remove(struct pj_owned *o, int64_t app_id);
bool             pj_owned_has(struct pj_owned *o, int64_t app_id);
/* Copies up to max ids; returns how many are held. */
size_t pj_owned_list(struct pj_owned *o, int64_t *ids, size_t max);

#endif
