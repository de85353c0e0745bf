/*
 * server/cluster/auth.h - app secret checks for workers, with a cache.
 *
 * The store keeps each app secret as a PBKDF2 hash (20 000 rounds, several
 * milliseconds a check).  A worker presents its secret at discovery and in
 * every heartbeat; successful checks are cached keyed by (app name,
 * SHA-256 of the secret) for PJ_AUTH_TTL_MS, so a heartbeat costs a hash
 * and a lookup.  Failures are never cached: a wrong secret pays PBKDF2
 * every time, which also slows guessing.  A changed secret takes effect
 * for already-cached workers when their entry expires.
 *
 * Threads: any thread (one mutex; the PBKDF2 check runs outside it).
 */
#ifndef PJ_SERVER_CLUSTER_AUTH_H
#define PJ_SERVER_CLUSTER_AUTH_H

#include <stdint.h>

#include "server/store/store.h"

#define PJ_AUTH_TTL_MS 180000 /* PowerJob's app-info cache: 3 min */
#define PJ_AUTH_CACHE_MAX 1024

struct pj_auth;

struct pj_auth *pj_auth_new(struct pj_store *s);
void            pj_auth_free(struct pj_auth *a);

/* 0 and *app_id when the secret matches; PJ_STORE_EAUTH (wrong secret),
 * PJ_STORE_ENOTFOUND (no such app), PJ_STORE_EINVAL (empty name) or a
 * store error.  *cached (may be NULL) says whether the cache answered. */
int pj_auth_check(struct pj_auth *a, const char *app_name, const char *secret,
    int64_t now_ms, int64_t *app_id, int *cached);

/* Entries held now. */
int pj_auth_cached(struct pj_auth *a);

#endif
