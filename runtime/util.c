/*
 * util.c - allocation wrappers (out of memory aborts: decided once, here),
 * clocks, error strings, and a small open-addressing string map.
 */
#include "runtime/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *
ar_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL) {
		fprintf(stderr, "ar: out of memory (%zu bytes)\n", n);
		abort();
	}
	return (p);
}

void *
ar_xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (p == NULL) {
		fprintf(stderr, "ar: out of memory (%zu x %zu bytes)\n", n, m);
		abort();
	}
	return (p);
}

void *
ar_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL) {
		fprintf(stderr, "ar: out of memory (%zu bytes)\n", n);
		abort();
	}
	return (p);
}

/* NULL copies as "" */
char *
ar_xstrdup(const char *s)
{
	return (ar_xstrndup(s ? s : "", s ? strlen(s) : 0));
}

void
ar_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

/* Copies exactly n bytes (a value with a known length) and terminates. */
char *
ar_xstrndup(const char *s, size_t n)
{
	char *p = ar_xmalloc(n + 1);
	if (n > 0) {
		memcpy(p, s, n);
	}
	p[n] = '\0';
	return (p);
}

int64_t
ar_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int64_t
ar_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

const char *
ar_strerror(int err)
{
	switch (err) {
	case AR_OK:
		return ("ok");
	case AR_EINVAL:
		return ("invalid argument");
	case AR_ENOENT:
		return ("no such actor, type or timer");
	case AR_ESTOPPED:
		return ("actor or system stopped");
	case AR_EFULL:
		return ("mailbox or outbound queue full");
	case AR_ETIMEDOUT:
		return ("timed out");
	case AR_ETOOBIG:
		return ("message over the size limit");
	case AR_EDECODE:
		return ("bytes do not decode");
	case AR_ETYPE:
		return ("unknown or unexpected message type");
	case AR_EEXIST:
		return ("name already taken");
	case AR_ENNG:
		return ("transport (nng) failure");
	case AR_EFAILED:
		return ("the replier answered with a failure");
	case AR_EPENDING:
		return ("not completed yet");
	case AR_EAUTH:
		return ("the peer did not prove the cluster key");
	}
	return ("unknown error");
}

/* ---- strmap: open addressing, linear probing, FNV-1a ------------------- */
#define TOMB ((char *) 1)

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s) {
		h ^= (unsigned char) *s++;
		h *= 1099511628211ull;
	}
	return (h);
}

void
strmap_init(strmap *m)
{
	memset(m, 0, sizeof(*m));
}

void
strmap_fini(strmap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		if (m->ents[i].key != NULL && m->ents[i].key != TOMB) {
			free(m->ents[i].key);
		}
	}
	free(m->ents);
	memset(m, 0, sizeof(*m));
}

static strmap_ent *
find(const strmap *m, const char *key)
{
	if (m->cap == 0) {
		return (NULL);
	}
	size_t i = hash_str(key) & (m->cap - 1);
	for (;;) {
		strmap_ent *e = &m->ents[i];
		if (e->key == NULL) {
			return (NULL);
		}
		if (e->key != TOMB && strcmp(e->key, key) == 0) {
			return (e);
		}
		i = (i + 1) & (m->cap - 1);
	}
}

bool
strmap_get(const strmap *m, const char *key, uint64_t *valp)
{
	strmap_ent *e = find(m, key);
	if (e == NULL) {
		return (false);
	}
	*valp = e->val;
	return (true);
}

static void
insert_new(strmap *m, char *key, uint64_t val)
{
	size_t i = hash_str(key) & (m->cap - 1);
	while (m->ents[i].key != NULL && m->ents[i].key != TOMB) {
		i = (i + 1) & (m->cap - 1);
	}
	if (m->ents[i].key == TOMB) {
		m->tomb--;
	}
	m->ents[i].key = key;
	m->ents[i].val = val;
	m->n++;
}

void
strmap_put(strmap *m, const char *key, uint64_t val)
{
	strmap_ent *e = find(m, key);
	if (e != NULL) {
		e->val = val;
		return;
	}
	if ((m->n + m->tomb + 1) * 2 > m->cap) {
		strmap_ent *old  = m->ents;
		size_t      ocap = m->cap;
		/* sized from the live entries, not the old size: a map
		 * with churn (remote refs come and go) must not double on
		 * every rehash that only clears tombstones */
		m->cap = 16;
		while ((m->n + 1) * 4 > m->cap) {
			m->cap *= 2;
		}
		m->ents = ar_xcalloc(m->cap, sizeof(strmap_ent));
		m->n = m->tomb = 0;
		for (size_t i = 0; i < ocap; i++) {
			if (old[i].key != NULL && old[i].key != TOMB) {
				insert_new(m, old[i].key, old[i].val);
			}
		}
		free(old);
	}
	insert_new(m, ar_xstrdup(key), val);
}

bool
strmap_del(strmap *m, const char *key)
{
	strmap_ent *e = find(m, key);
	if (e == NULL) {
		return (false);
	}
	free(e->key);
	e->key = TOMB;
	m->n--;
	m->tomb++;
	return (true);
}
