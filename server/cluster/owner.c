/*
 * server/cluster/owner.c - ownership resolution and the owned-app set
 * (see owner.h).
 */
#include "server/cluster/owner.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/alloc.h"

#define DOWN_MAX 16 /* distinct owners seen down in one resolution */

struct down {
	char   v[DOWN_MAX][256];
	size_t n;
};

static bool
down_has(const struct down *d, const char *s)
{
	for (size_t i = 0; i < d->n; i++) {
		if (strcmp(d->v[i], s) == 0) {
			return (true);
		}
	}
	return (false);
}

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* 1 when `cur` is a live owner other than self (pinged now), else 0. */
static int
alive_elsewhere(const struct pj_owner_env *e, const char *cur,
    struct down *down, int timeout)
{
	if (cur[0] == 0 || down_has(down, cur)) {
		return (0);
	}
	if (e->ping(e->ping_arg, cur, timeout) == 0) {
		return (1);
	}
	if (down->n < DOWN_MAX) {
		snprintf(down->v[down->n++], sizeof(down->v[0]), "%s", cur);
	}
	return (0);
}

int
pj_owner_resolve(
    const struct pj_owner_env *e, int64_t app_id, struct pj_owner_result *r)
{
	int     attempts = e->attempts > 0 ? e->attempts : PJ_ELECT_ATTEMPTS;
	int64_t lock_ms  = e->lock_ms > 0 ? e->lock_ms : PJ_ELECT_LOCK_MS;
	int backoff = e->backoff_ms > 0 ? e->backoff_ms : PJ_ELECT_BACKOFF_MS;
	int timeout = e->ping_timeout_ms > 0 ? e->ping_timeout_ms
	                                     : PJ_ELECT_PING_TIMEOUT_MS;
	struct down down = { .n = 0 };
	char        lock[64];
	char       *cur = NULL;
	int         rv;

	memset(r, 0, sizeof(*r));
	snprintf(lock, sizeof(lock), PJ_ELECT_LOCK_PREFIX "%lld",
	    (long long) app_id);
	for (int i = 0; i < attempts; i++) {
		r->attempts = i + 1;
		if ((rv = pj_store_app_owner(e->store, app_id, &cur)) != 0) {
			return (rv);
		}
		if (strcmp(cur, e->self) == 0) {
			goto answer; /* already ours: no ping, no lock */
		}
		if (alive_elsewhere(e, cur, &down, timeout)) {
			r->pinged = true;
			goto answer;
		}
		free(cur);
		cur = NULL;
		rv  = pj_store_lock_try(
		     e->store, lock, e->self, lock_ms, now_ms());
		if (rv == PJ_STORE_EDUP) {
			sleep_ms(backoff);
			continue;
		}
		if (rv != 0) {
			return (rv);
		}
		/* under the lock: read again, somebody may have won meanwhile
		 */
		if ((rv = pj_store_app_owner(e->store, app_id, &cur)) != 0) {
			pj_store_lock_unlock(e->store, lock);
			return (rv);
		}
		if (strcmp(cur, e->self) != 0
		    && alive_elsewhere(e, cur, &down, timeout)) {
			r->pinged = true;
		} else if (strcmp(cur, e->self) != 0) {
			rv = pj_store_app_owner_cas(
			    e->store, app_id, cur, e->self, now_ms());
			if (rv == PJ_STORE_ECONFLICT) {
				/* changed between our read and the update */
				pj_store_lock_unlock(e->store, lock);
				free(cur);
				cur = NULL;
				continue;
			}
			if (rv != 0) {
				pj_store_lock_unlock(e->store, lock);
				free(cur);
				return (rv);
			}
			free(cur);
			cur          = ar_xstrdup(e->self);
			r->took_over = true;
		}
		pj_store_lock_unlock(e->store, lock);
		goto answer;
	}
	return (PJ_OWNER_EBUSY);
answer:
	snprintf(r->owner, sizeof(r->owner), "%s", cur);
	free(cur);
	return (0);
}

/* ---- owned set ---------------------------------------------------------- */
struct pj_owned {
	pthread_mutex_t mtx;
	int64_t        *ids;
	size_t          n, cap;
};

struct pj_owned *
pj_owned_new(void)
{
	struct pj_owned *o = ar_xcalloc(1, sizeof(*o));
	pthread_mutex_init(&o->mtx, NULL);
	return (o);
}

void
pj_owned_free(struct pj_owned *o)
{
	if (o != NULL) {
		pthread_mutex_destroy(&o->mtx);
		free(o->ids);
		free(o);
	}
}

static ssize_t
owned_find(struct pj_owned *o, int64_t id)
{
	for (size_t i = 0; i < o->n; i++) {
		if (o->ids[i] == id) {
			return ((ssize_t) i);
		}
	}
	return (-1);
}

void
pj_owned_add(struct pj_owned *o, int64_t app_id)
{
	pthread_mutex_lock(&o->mtx);
	if (owned_find(o, app_id) < 0) {
		if (o->n == o->cap) {
			o->cap = o->cap ? o->cap * 2 : 8;
			o->ids = ar_xrealloc(o->ids, o->cap * sizeof(*o->ids));
		}
		o->ids[o->n++] = app_id;
	}
	pthread_mutex_unlock(&o->mtx);
}

bool
pj_owned_remove(struct pj_owned *o, int64_t app_id)
{
	pthread_mutex_lock(&o->mtx);
	ssize_t i = owned_find(o, app_id);
	if (i >= 0) {
		o->ids[i] = o->ids[--o->n];
	}
	pthread_mutex_unlock(&o->mtx);
	return (i >= 0);
}

bool
pj_owned_has(struct pj_owned *o, int64_t app_id)
{
	pthread_mutex_lock(&o->mtx);
	bool has = owned_find(o, app_id) >= 0;
	pthread_mutex_unlock(&o->mtx);
	return (has);
}

size_t
pj_owned_list(struct pj_owned *o, int64_t *ids, size_t max)
{
	pthread_mutex_lock(&o->mtx);
	size_t n = o->n;
	for (size_t i = 0; i < n && i < max; i++) {
		ids[i] = o->ids[i];
	}
	pthread_mutex_unlock(&o->mtx);
	return (n);
}
