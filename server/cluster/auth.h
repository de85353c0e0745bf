/*
 * server/cluster/auth.h - app secret checks for workers and the gateway,
 * with a cache of answers and a limit on failed checks.
 *
 * The store keeps each app secret as a PBKDF2 hash (PJ_STORE_PBKDF2_ITER
 * rounds, milliseconds a check).  A worker presents its secret at discovery
 * and in every heartbeat, a gateway client with every request that has no
 * token.  Answers are cached under a keyed hash of (app name, secret):
 * HMAC-SHA256 with a key drawn at random by pj_auth_new, so neither the
 * secret nor an unkeyed hash of it is kept.
 *  - A right secret is cached for PJ_AUTH_TTL_MS: a check costs an HMAC and
 *    a lookup.  A changed secret takes effect for an already-cached pair
 *    when its entry expires.
 *  - A wrong secret is cached for PJ_AUTH_NEG_TTL_MS together with a digest
 *    of the app's stored hash: the same wrong secret again costs one store
 *    read (the stored hash) and no PBKDF2, and the entry is void as soon as
 *    the stored hash differs (the secret changed, on any server).
 *  - Failed PBKDF2 checks are limited per app name (a token bucket of
 *    PJ_AUTH_FAIL_BURST checks, one more every PJ_AUTH_FAIL_EVERY_MS): every
 *    uncached check takes a token and a right secret gives it back, so a
 *    flood of distinct wrong secrets for one app costs at most
 *    PJ_AUTH_FAIL_BURST PBKDF2s and then 1000 / PJ_AUTH_FAIL_EVERY_MS a
 *    second.  A check refused by the limit answers PJ_STORE_EAUTH (the same
 *    as a wrong secret: the caller says "try again later", info->throttled)
 *    without looking at the secret.  A pair that was verified right before
 *    (its cache entry expired but not yet evicted) is checked anyway, so
 *    workers and clients that were in before a flood stay in.
 *  - Unknown apps are not cached (a store read each, no PBKDF2).
 *
 * Secrets are never logged or kept; keyed hashes are compared with
 * CRYPTO_memcmp.
 *
 * Threads: any thread (one mutex; the store read and PBKDF2 run outside
 * it).
 */
#ifndef PJ_SERVER_CLUSTER_AUTH_H
#define PJ_SERVER_CLUSTER_AUTH_H

#include <stdint.h>

#include "server/store/store.h"

#define PJ_AUTH_TTL_MS 180000 /* PowerJob's app-info cache: 3 min */
#define PJ_AUTH_CACHE_MAX 1024
#define PJ_AUTH_NEG_TTL_MS 10000 /* a wrong secret's answer */
#define PJ_AUTH_NEG_MAX 256
#define PJ_AUTH_FAIL_BURST 5
#define PJ_AUTH_FAIL_EVERY_MS 250
#define PJ_AUTH_NAMES_MAX 256 /* app names with a limited bucket */

struct pj_auth;

struct pj_auth *pj_auth_new(struct pj_store *s);
void            pj_auth_free(struct pj_auth *a);

struct pj_auth_info {
	int     cached;    /* the cache answered (right or wrong) */
	int     throttled; /* refused by the failure limit, not checked */
	int64_t retry_ms;  /* when throttled: the next check is possible in */
};

/* 0 and *app_id when the secret matches; PJ_STORE_EAUTH (wrong secret, or
 * throttled), PJ_STORE_ENOTFOUND (no such app), PJ_STORE_EINVAL (empty
 * name) or a store error.  info may be NULL. */
int pj_auth_check_info(struct pj_auth *a, const char *app_name,
    const char *secret, int64_t now_ms, int64_t *app_id,
    struct pj_auth_info *info);

/* The same; *cached (may be NULL) says whether the cache answered. */
int pj_auth_check(struct pj_auth *a, const char *app_name, const char *secret,
    int64_t now_ms, int64_t *app_id, int *cached);

/* Right-secret entries held now. */
int pj_auth_cached(struct pj_auth *a);

struct pj_auth_stats {
	int64_t pbkdf2;    /* PBKDF2 checks run */
	int64_t neg_hits;  /* wrong secrets answered by the cache */
	int64_t throttled; /* checks refused by the failure limit */
	int     negative;  /* wrong-secret entries held now */
};
void pj_auth_get_stats(struct pj_auth *a, struct pj_auth_stats *st);

#endif
