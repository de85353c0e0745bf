/*
 * msgpool.c - recycles small nng_msgs between threads.
 *
 * Design notes: on the local tell path a message is allocated on the
 * sender's thread and freed on a dispatcher thread.  glibc's per-thread
 * caches do not help with that pattern (the freeing thread is never the
 * allocating one), so malloc/free were a third of a local tell.  Here a
 * freeing thread collects messages in a thread-local batch and hands full
 * batches to a global stack under one lock; an allocating thread takes a
 * whole batch at a time.  The lock is taken once per POOL_BATCH messages.
 * Only small messages are kept (body up to POOL_BODY_MAX bytes) and the
 * global stack is bounded, so the pool never holds more than about
 * POOL_MAX_BATCHES * POOL_BATCH * (POOL_BODY_MAX + nng's overhead).
 * Thread-local batches are flushed by a pthread key destructor when a
 * thread exits.  Locks: pool_mtx only (a leaf).
 */
#include "runtime/internal.h"

#include <stdlib.h>

#define POOL_BATCH 64
#define POOL_MAX_BATCHES 64
#define POOL_BODY_MAX 512

typedef struct batch {
	nng_msg *m[POOL_BATCH];
	int      n;
} batch;

typedef struct tl_pool {
	batch get, put;
} tl_pool;

static pthread_mutex_t        pool_mtx = PTHREAD_MUTEX_INITIALIZER;
static batch                  stack[POOL_MAX_BATCHES];
static int                    nstack;
static pthread_key_t          pool_key;
static pthread_once_t         pool_once = PTHREAD_ONCE_INIT;
static _Thread_local tl_pool *tl;

static void
flush(void *arg)
{
	tl_pool *p = arg;
	for (int i = 0; i < p->get.n; i++) {
		nng_msg_free(p->get.m[i]);
	}
	for (int i = 0; i < p->put.n; i++) {
		nng_msg_free(p->put.m[i]);
	}
	free(p);
}

static void
make_key(void)
{
	pthread_key_create(&pool_key, flush);
}

static tl_pool *
my_pool(void)
{
	if (tl == NULL) {
		pthread_once(&pool_once, make_key);
		tl = ar_xcalloc(1, sizeof(*tl));
		pthread_setspecific(pool_key, tl);
	}
	return (tl);
}

nng_msg *
msgpool_get(size_t size)
{
	tl_pool *p = my_pool();
	nng_msg *m;
	if (size <= POOL_BODY_MAX) {
		if (p->get.n == 0) {
			pthread_mutex_lock(&pool_mtx);
			if (nstack > 0) {
				p->get = stack[--nstack];
			}
			pthread_mutex_unlock(&pool_mtx);
		}
		if (p->get.n > 0) {
			m = p->get.m[--p->get.n];
			nng_msg_header_clear(m);
			if (nng_msg_realloc(m, size) == 0) {
				return (m);
			}
			nng_msg_free(m);
		}
	}
	if (nng_msg_alloc(&m, size) != 0) {
		abort(); /* out of memory: see ar_xmalloc */
	}
	return (m);
}

void
msgpool_put(nng_msg *m)
{
	tl_pool *p = my_pool();
	if (nng_msg_len(m) > POOL_BODY_MAX) {
		nng_msg_free(m);
		return;
	}
	p->put.m[p->put.n++] = m;
	if (p->put.n < POOL_BATCH) {
		return;
	}
	pthread_mutex_lock(&pool_mtx);
	if (nstack < POOL_MAX_BATCHES) {
		stack[nstack++] = p->put;
		p->put.n        = 0;
	}
	pthread_mutex_unlock(&pool_mtx);
	if (p->put.n > 0) { /* the pool is full: give them back */
		for (int i = 0; i < p->put.n; i++) {
			nng_msg_free(p->put.m[i]);
		}
		p->put.n = 0;
	}
}
