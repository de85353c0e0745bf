/*
 * server/cluster/auth.c - cached app secret checks (see auth.h).
 *
 * Design notes: a fixed array of PJ_AUTH_CACHE_MAX entries, searched
 * linearly (apps per server are few); when full, the entry that expires
 * first is replaced.  Digests are compared with CRYPTO_memcmp.
 */
#include "server/cluster/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/alloc.h"

struct entry {
	char         *name;
	unsigned char digest[SHA256_DIGEST_LENGTH];
	int64_t       app_id;
	int64_t       expires;
};

struct pj_auth {
	pthread_mutex_t  mtx;
	struct pj_store *store;
	struct entry     e[PJ_AUTH_CACHE_MAX];
	int              n;
};

struct pj_auth *
pj_auth_new(struct pj_store *s)
{
	struct pj_auth *a = ar_xcalloc(1, sizeof(*a));
	pthread_mutex_init(&a->mtx, NULL);
	a->store = s;
	return (a);
}

void
pj_auth_free(struct pj_auth *a)
{
	if (a == NULL) {
		return;
	}
	for (int i = 0; i < a->n; i++) {
		free(a->e[i].name);
	}
	pthread_mutex_destroy(&a->mtx);
	free(a);
}

static void
digest_of(const char *secret, unsigned char *d)
{
	SHA256((const unsigned char *) secret, strlen(secret), d);
}

int
pj_auth_check(struct pj_auth *a, const char *app_name, const char *secret,
    int64_t now_ms, int64_t *app_id, int *cached)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	int64_t       id = 0;
	int           rv;

	if (cached != NULL) {
		*cached = 0;
	}
	if (app_name == NULL || app_name[0] == 0) {
		return (PJ_STORE_EINVAL);
	}
	if (secret == NULL) {
		secret = "";
	}
	digest_of(secret, d);
	pthread_mutex_lock(&a->mtx);
	for (int i = 0; i < a->n; i++) {
		struct entry *e = &a->e[i];
		if (strcmp(e->name, app_name) == 0 && e->expires > now_ms
		    && CRYPTO_memcmp(e->digest, d, sizeof(d)) == 0) {
			*app_id = e->app_id;
			pthread_mutex_unlock(&a->mtx);
			if (cached != NULL) {
				*cached = 1;
			}
			return (0);
		}
	}
	pthread_mutex_unlock(&a->mtx);

	if ((rv = pj_store_app_verify(a->store, app_name, secret, &id)) != 0) {
		return (rv);
	}
	pthread_mutex_lock(&a->mtx);
	struct entry *slot = NULL;
	for (int i = 0; i < a->n && slot == NULL; i++) {
		if (strcmp(a->e[i].name, app_name) == 0
		    && CRYPTO_memcmp(a->e[i].digest, d, sizeof(d)) == 0) {
			slot
			    = &a->e[i]; /* an expired entry of the same pair */
		}
	}
	if (slot == NULL && a->n < PJ_AUTH_CACHE_MAX) {
		slot       = &a->e[a->n++];
		slot->name = ar_xstrdup(app_name);
	} else if (slot == NULL) {
		slot = &a->e[0];
		for (int i = 1; i < a->n; i++) {
			if (a->e[i].expires < slot->expires) {
				slot = &a->e[i];
			}
		}
		free(slot->name);
		slot->name = ar_xstrdup(app_name);
	}
	memcpy(slot->digest, d, sizeof(d));
	slot->app_id  = id;
	slot->expires = now_ms + PJ_AUTH_TTL_MS;
	pthread_mutex_unlock(&a->mtx);
	*app_id = id;
	return (0);
}

int
pj_auth_cached(struct pj_auth *a)
{
	pthread_mutex_lock(&a->mtx);
	int n = a->n;
	pthread_mutex_unlock(&a->mtx);
	return (n);
}
