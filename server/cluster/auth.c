/*
 * server/cluster/auth.c - cached app secret checks with a failure limit
 * (see auth.h).
 *
 * Design notes
 * - Three fixed tables under one mutex, searched linearly (apps per server
 *   are few): right pairs (PJ_AUTH_CACHE_MAX), wrong pairs
 *   (PJ_AUTH_NEG_MAX) and the failure buckets of app names
 *   (PJ_AUTH_NAMES_MAX).  When a table is full the entry that expires
 *   first (a bucket: the fullest) is replaced, so memory is bounded
 *   whatever the callers send.
 * - The keyed hash of a pair is HMAC(HMAC(key, name), secret): the name and
 *   the secret cannot run into each other, and no copy of the secret is
 *   made.  The key is 32 random bytes per process; tags are compared with
 *   CRYPTO_memcmp.
 * - The mutex is never held across the store read or PBKDF2.  Two threads
 *   may check the same new pair at once (both run PBKDF2); the bucket's
 *   token is taken before PBKDF2, so concurrent failures cannot overrun the
 *   limit.
 * - A wrong-pair entry carries SHA-256 of the stored secret hash it was
 *   checked against; a lookup reads the stored hash first, so an entry made
 *   before the secret changed never answers after it.
 */
#include "server/cluster/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/alloc.h"

#define TAG_LEN 32

struct pos {
	char         *name;
	unsigned char tag[TAG_LEN];
	int64_t       app_id;
	int64_t       expires;
};

struct neg {
	unsigned char tag[TAG_LEN];
	unsigned char fp[SHA256_DIGEST_LENGTH]; /* of the stored hash */
	int64_t       expires;
};

struct bucket {
	char   *name;
	int64_t credit; /* ms; a check costs PJ_AUTH_FAIL_EVERY_MS */
	int64_t last;   /* credit is as of this time */
};

#define CREDIT_MAX ((int64_t) PJ_AUTH_FAIL_BURST * PJ_AUTH_FAIL_EVERY_MS)

struct pj_auth {
	pthread_mutex_t      mtx;
	struct pj_store     *store;
	unsigned char        key[32];
	struct pos           pos[PJ_AUTH_CACHE_MAX];
	int                  npos;
	struct neg           neg[PJ_AUTH_NEG_MAX];
	int                  nneg;
	struct bucket        b[PJ_AUTH_NAMES_MAX];
	int                  nb;
	struct pj_auth_stats st;
};

struct pj_auth *
pj_auth_new(struct pj_store *s)
{
	struct pj_auth *a = ar_xcalloc(1, sizeof(*a));
	pthread_mutex_init(&a->mtx, NULL);
	a->store = s;
	if (RAND_bytes(a->key, sizeof(a->key)) != 1) {
		fprintf(stderr, "pj_auth_new: no random bytes for the key\n");
		abort();
	}
	return (a);
}

void
pj_auth_free(struct pj_auth *a)
{
	if (a == NULL) {
		return;
	}
	for (int i = 0; i < a->npos; i++) {
		free(a->pos[i].name);
	}
	for (int i = 0; i < a->nb; i++) {
		free(a->b[i].name);
	}
	pthread_mutex_destroy(&a->mtx);
	OPENSSL_cleanse(a->key, sizeof(a->key));
	free(a);
}

static void
tag_of(const struct pj_auth *a, const char *name, const char *secret,
    unsigned char *tag)
{
	unsigned char k[EVP_MAX_MD_SIZE];
	unsigned int  klen = 0, tlen = 0;
	HMAC(EVP_sha256(), a->key, sizeof(a->key),
	    (const unsigned char *) name, strlen(name), k, &klen);
	HMAC(EVP_sha256(), k, (int) klen, (const unsigned char *) secret,
	    strlen(secret), tag, &tlen);
	OPENSSL_cleanse(k, sizeof(k));
}

/* ---- the tables (the mutex held) ---------------------------------------- */

static struct pos *
pos_find(struct pj_auth *a, const char *name, const unsigned char *tag)
{
	for (int i = 0; i < a->npos; i++) {
		if (CRYPTO_memcmp(a->pos[i].tag, tag, TAG_LEN) == 0
		    && strcmp(a->pos[i].name, name) == 0) {
			return (&a->pos[i]);
		}
	}
	return (NULL);
}

static void
pos_put(struct pj_auth *a, const char *name, const unsigned char *tag,
    int64_t id, int64_t expires)
{
	struct pos *slot = pos_find(a, name, tag);
	if (slot == NULL && a->npos < PJ_AUTH_CACHE_MAX) {
		slot       = &a->pos[a->npos++];
		slot->name = ar_xstrdup(name);
	} else if (slot == NULL) {
		slot = &a->pos[0];
		for (int i = 1; i < a->npos; i++) {
			if (a->pos[i].expires < slot->expires) {
				slot = &a->pos[i];
			}
		}
		free(slot->name);
		slot->name = ar_xstrdup(name);
	}
	memcpy(slot->tag, tag, TAG_LEN);
	slot->app_id  = id;
	slot->expires = expires;
}

static void
pos_drop(struct pj_auth *a, const char *name, const unsigned char *tag)
{
	struct pos *p = pos_find(a, name, tag);
	if (p != NULL) {
		free(p->name);
		*p = a->pos[--a->npos];
	}
}

static struct neg *
neg_find(struct pj_auth *a, const unsigned char *tag)
{
	for (int i = 0; i < a->nneg; i++) {
		if (CRYPTO_memcmp(a->neg[i].tag, tag, TAG_LEN) == 0) {
			return (&a->neg[i]);
		}
	}
	return (NULL);
}

static void
neg_put(struct pj_auth *a, const unsigned char *tag, const unsigned char *fp,
    int64_t expires)
{
	struct neg *slot = neg_find(a, tag);
	if (slot == NULL && a->nneg < PJ_AUTH_NEG_MAX) {
		slot = &a->neg[a->nneg++];
	} else if (slot == NULL) {
		slot = &a->neg[0];
		for (int i = 1; i < a->nneg; i++) {
			if (a->neg[i].expires < slot->expires) {
				slot = &a->neg[i];
			}
		}
	}
	memcpy(slot->tag, tag, TAG_LEN);
	memcpy(slot->fp, fp, SHA256_DIGEST_LENGTH);
	slot->expires = expires;
}

static void
neg_drop(struct pj_auth *a, const unsigned char *tag)
{
	struct neg *n = neg_find(a, tag);
	if (n != NULL) {
		*n = a->neg[--a->nneg];
	}
}

static void
refill(struct bucket *b, int64_t now)
{
	if (now > b->last) {
		b->credit += now - b->last;
		if (b->credit > CREDIT_MAX) {
			b->credit = CREDIT_MAX;
		}
	}
	b->last = now;
}

/* NAME's bucket, refilled to NOW; NULL when it has none and !make */
static struct bucket *
bucket_of(struct pj_auth *a, const char *name, int64_t now, int make)
{
	for (int i = 0; i < a->nb; i++) {
		if (strcmp(a->b[i].name, name) == 0) {
			refill(&a->b[i], now);
			return (&a->b[i]);
		}
	}
	if (!make) {
		return (NULL);
	}
	struct bucket *slot;
	if (a->nb < PJ_AUTH_NAMES_MAX) {
		slot = &a->b[a->nb++];
	} else {
		/* the fullest bucket: a full one says nothing a new one
		 * would not */
		slot = &a->b[0];
		for (int i = 0; i < a->nb; i++) {
			refill(&a->b[i], now);
			if (a->b[i].credit > slot->credit) {
				slot = &a->b[i];
			}
		}
		free(slot->name);
	}
	slot->name   = ar_xstrdup(name);
	slot->credit = CREDIT_MAX;
	slot->last   = now;
	return (slot);
}

/* ---- checks ------------------------------------------------------------- */

int
pj_auth_check_info(struct pj_auth *a, const char *app_name, const char *secret,
    int64_t now_ms, int64_t *app_id, struct pj_auth_info *info)
{
	unsigned char tag[TAG_LEN], fp[SHA256_DIGEST_LENGTH];
	int64_t       id   = 0;
	char         *hash = NULL;
	int           rv, known = 0, took = 0;

	struct pj_auth_info dummy;
	if (info == NULL) {
		info = &dummy;
	}
	memset(info, 0, sizeof(*info));
	if (app_name == NULL || app_name[0] == 0) {
		return (PJ_STORE_EINVAL);
	}
	if (secret == NULL) {
		secret = "";
	}
	tag_of(a, app_name, secret, tag);
	pthread_mutex_lock(&a->mtx);
	struct pos *p = pos_find(a, app_name, tag);
	if (p != NULL && p->expires > now_ms) {
		*app_id = p->app_id;
		pthread_mutex_unlock(&a->mtx);
		info->cached = 1;
		return (0);
	}
	known = p != NULL; /* right before: not held back by the limit */
	pthread_mutex_unlock(&a->mtx);

	rv = pj_store_app_secret_hash(a->store, app_name, &id, &hash);
	if (rv != 0) {
		return (rv);
	}
	SHA256((const unsigned char *) hash, strlen(hash), fp);

	pthread_mutex_lock(&a->mtx);
	struct neg *n = neg_find(a, tag);
	if (n != NULL && n->expires > now_ms
	    && CRYPTO_memcmp(n->fp, fp, sizeof(fp)) == 0) {
		a->st.neg_hits++;
		pthread_mutex_unlock(&a->mtx);
		free(hash);
		info->cached = 1;
		return (PJ_STORE_EAUTH);
	}
	if (!known) {
		struct bucket *b = bucket_of(a, app_name, now_ms, 1);
		if (b->credit < PJ_AUTH_FAIL_EVERY_MS) {
			a->st.throttled++;
			info->throttled = 1;
			info->retry_ms  = PJ_AUTH_FAIL_EVERY_MS - b->credit;
			pthread_mutex_unlock(&a->mtx);
			free(hash);
			return (PJ_STORE_EAUTH);
		}
		b->credit -= PJ_AUTH_FAIL_EVERY_MS;
		took = 1;
	}
	a->st.pbkdf2++;
	pthread_mutex_unlock(&a->mtx);

	int ok = pj_store_secret_check(secret, hash) == 0;
	free(hash);

	pthread_mutex_lock(&a->mtx);
	if (ok) {
		pos_put(a, app_name, tag, id, now_ms + PJ_AUTH_TTL_MS);
		neg_drop(a, tag);
		struct bucket *b
		    = took ? bucket_of(a, app_name, now_ms, 0) : NULL;
		if (b != NULL) { /* a right secret gives its token back */
			b->credit += PJ_AUTH_FAIL_EVERY_MS;
			if (b->credit > CREDIT_MAX) {
				b->credit = CREDIT_MAX;
			}
		}
	} else {
		neg_put(a, tag, fp, now_ms + PJ_AUTH_NEG_TTL_MS);
		pos_drop(a, app_name, tag); /* the secret changed */
	}
	pthread_mutex_unlock(&a->mtx);
	if (!ok) {
		return (PJ_STORE_EAUTH);
	}
	*app_id = id;
	return (0);
}

int
pj_auth_check(struct pj_auth *a, const char *app_name, const char *secret,
    int64_t now_ms, int64_t *app_id, int *cached)
{
	struct pj_auth_info info;
	int                 rv
	    = pj_auth_check_info(a, app_name, secret, now_ms, app_id, &info);
	if (cached != NULL) {
		*cached = info.cached;
	}
	return (rv);
}

int
pj_auth_cached(struct pj_auth *a)
{
	pthread_mutex_lock(&a->mtx);
	int n = a->npos;
	pthread_mutex_unlock(&a->mtx);
	return (n);
}

void
pj_auth_get_stats(struct pj_auth *a, struct pj_auth_stats *st)
{
	pthread_mutex_lock(&a->mtx);
	*st          = a->st;
	st->negative = a->nneg;
	pthread_mutex_unlock(&a->mtx);
}
