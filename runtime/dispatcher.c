/*
 * dispatcher.c - a pool of threads running actor turns.
 *
 * Design notes: one FIFO run queue of cells per dispatcher, guarded by
 * d->mtx; a cell is in the queue at most once (only whoever raises its
 * `pending` count from 0 queues it, and the thread holding its turn
 * re-queues it; see internal.h).  Threads sleep on d->cv only when the
 * queue is empty; schedule() signals only when a thread is idle, so a busy
 * pool pays no wake-up.  Before sleeping a thread of the default pool looks
 * for work for up to spin_ns (300 us, yielding the CPU between looks): on
 * this machine a cross-CPU wake-up costs about 20 us, far more than a
 * message, and a remote ask's request often arrives within that window.
 * The blocking pool does not spin.  An idle system spins not at all.
 * `len` and `stop` change only under d->mtx, but the idle look above and
 * cell_run read them without it: they are written with atomic stores and
 * read with atomic loads outside the lock (a stale value costs one more look
 * or one re-queue, never a lost cell).
 * Lock order: cell->mtx may be held while calling dispatcher_schedule.
 */
#include "runtime/internal.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static ar_cell *
take(dispatcher *d)
{
	ar_cell *c = d->q[d->head];
	d->head    = (d->head + 1) & (d->cap - 1);
	__atomic_store_n(&d->len, d->len - 1, __ATOMIC_RELAXED);
	return (c);
}

static void *
worker(void *arg)
{
	dispatcher *d = arg;
	char        name[16];
	snprintf(name, sizeof(name), "ar:%s", d->name);
	pthread_setname_np(pthread_self(), name);

	pthread_mutex_lock(&d->mtx);
	for (;;) {
		if (d->len == 0 && !d->stop && d->spin_ns > 0) {
			/* look for work a little before paying for a futex
			 * sleep: the next message often comes within tens of
			 * microseconds, and a wake-up costs about 20 us here.
			 * (Letting only one thread per pool spin was tried:
			 * the remote ask p99 got worse.) */
			struct timespec t0, t1;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			pthread_mutex_unlock(&d->mtx);
			/* look without the lock: schedulers take it */
			do {
				sched_yield();
				clock_gettime(CLOCK_MONOTONIC, &t1);
			} while (
			    __atomic_load_n(&d->len, __ATOMIC_RELAXED) == 0
			    && !__atomic_load_n(&d->stop, __ATOMIC_RELAXED)
			    && (t1.tv_sec - t0.tv_sec) * 1000000000L
			            + (t1.tv_nsec - t0.tv_nsec)
			        < d->spin_ns);
			pthread_mutex_lock(&d->mtx);
		}
		while (d->len == 0 && !d->stop) {
			d->idle++;
			pthread_cond_wait(&d->cv, &d->mtx);
			d->idle--;
		}
		if (d->len == 0 && d->stop) {
			break;
		}
		ar_cell *c = take(d);
		pthread_mutex_unlock(&d->mtx);
		cell_run(c, d);
		pthread_mutex_lock(&d->mtx);
	}
	pthread_mutex_unlock(&d->mtx);
	arena_thread_fini();
	return (NULL);
}

int
dispatcher_start(dispatcher *d, ar_system *sys, const char *name, int nthreads,
    long spin_ns)
{
	memset(d, 0, sizeof(*d));
	d->name     = name;
	d->sys      = sys;
	d->nthreads = nthreads < 1 ? 1 : nthreads;
	d->spin_ns  = spin_ns;
	d->cap      = 64;
	d->q        = ar_xmalloc(d->cap * sizeof(ar_cell *));
	d->threads  = ar_xcalloc((size_t) d->nthreads, sizeof(pthread_t));
	ar_mutex_init(&d->mtx);
	pthread_cond_init(&d->cv, NULL);
	for (int i = 0; i < d->nthreads; i++) {
		if (pthread_create(&d->threads[i], NULL, worker, d) != 0) {
			d->nthreads = i;
			dispatcher_stop(d);
			dispatcher_fini(d);
			return (AR_ENNG);
		}
	}
	return (0);
}

/*
 * Runs what is queued, then joins the threads.  The queue and the lock
 * stay until dispatcher_fini: a cell scheduled after the threads are gone
 * (a dead letter published while the system stops) is not queued and never
 * runs again; system stop frees its mailbox.
 */
void
dispatcher_stop(dispatcher *d)
{
	pthread_mutex_lock(&d->mtx);
	__atomic_store_n(&d->stop, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mtx);
	for (int i = 0; i < d->nthreads; i++) {
		pthread_join(d->threads[i], NULL);
	}
	pthread_mutex_lock(&d->mtx);
	d->joined = true;
	pthread_mutex_unlock(&d->mtx);
}

/* After dispatcher_stop, once no other thread can schedule on it. */
void
dispatcher_fini(dispatcher *d)
{
	free(d->threads);
	free(d->q);
	pthread_mutex_destroy(&d->mtx);
	pthread_cond_destroy(&d->cv);
	d->threads  = NULL;
	d->q        = NULL;
	d->cap      = 0;
	d->len      = 0;
	d->nthreads = 0;
}

void
dispatcher_schedule(dispatcher *d, ar_cell *c)
{
	pthread_mutex_lock(&d->mtx);
	if (d->joined) { /* stopped: nothing would run it */
		pthread_mutex_unlock(&d->mtx);
		return;
	}
	if (d->len == d->cap) {
		uint32_t  ncap = d->cap * 2;
		ar_cell **nq   = ar_xmalloc(ncap * sizeof(ar_cell *));
		for (uint32_t i = 0; i < d->len; i++) {
			nq[i] = d->q[(d->head + i) & (d->cap - 1)];
		}
		free(d->q);
		d->q    = nq;
		d->cap  = ncap;
		d->head = 0;
	}
	d->q[(d->head + d->len) & (d->cap - 1)] = c;
	__atomic_store_n(&d->len, d->len + 1, __ATOMIC_RELAXED);
	if (d->idle > 0) {
		pthread_cond_signal(&d->cv);
	}
	pthread_mutex_unlock(&d->mtx);
}
