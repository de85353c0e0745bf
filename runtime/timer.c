/*
 * timer.c - the system's timers: one thread, an indexed binary min-heap
 * ordered by due time (monotonic ms), and an id -> entry map for cancel.
 *
 * Design notes: ARCHITECTURE.md sketches a wheel; a heap is kept instead
 * because it holds hundreds of thousands of timers at exact millisecond
 * resolution with O(log n) insert and cancel, and, unlike a wheel ticking
 * every millisecond, it costs nothing while idle (the thread sleeps until
 * the earliest due time).  Callbacks run on the timer thread with no lock
 * held and must not block (they tell, or complete a future).  A periodic
 * entry is re-armed from its previous due time, so it does not drift.
 *
 * Lock: t->mtx only, and a leaf: nothing else is taken while it is held.
 * Entries are unlinked under it and their free functions (which may take
 * other locks, or wait: conn_free's nng_aio_free) run after it is released.
 *
 * Cancel: a periodic entry whose callback is running is marked cancelled
 * and timers_cancel waits until that callback has returned (unless it is
 * called from the callback's own thread), so once it returns 0 no tick of
 * that timer is delivered any more.  A one-shot entry firing now is not
 * waited for: cancel says AR_ENOENT (it fired).
 *
 * Stop (system.c): timers_stop ends the thread (no callback runs after it
 * returns; adds are refused with AR_ESTOPPED, cancels still work) but keeps
 * the heap, the id map and the lock; timers_fini frees them once nothing
 * can call in any more (dispatchers and nng callbacks stopped).
 */
#include "runtime/internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct timer_ent {
	int64_t  due;
	int64_t  interval; /* 0 = once */
	uint64_t id;
	size_t   hidx;
	bool     running, cancelled;
	timer_fn fn;
	void (*free_arg)(void *);
	void *arg;
};

/* ---- id map (open addressing on u64 ids; 0 = empty, 1 = tombstone) ---- */
static size_t
slot_of(struct timer_idmap *m, uint64_t id)
{
	return ((size_t) (id * 11400714819323198485ull) & (m->cap - 1));
}

static void idmap_put(struct timer_idmap *m, uint64_t id, timer_ent *e);

static void
idmap_grow(struct timer_idmap *m)
{
	uint64_t   *ok = m->keys;
	timer_ent **ov = m->vals;
	size_t      oc = m->cap;
	m->cap         = oc ? oc * 2 : 64;
	m->keys        = ar_xcalloc(m->cap, sizeof(uint64_t));
	m->vals        = ar_xcalloc(m->cap, sizeof(timer_ent *));
	m->n           = 0;
	for (size_t i = 0; i < oc; i++) {
		if (ok[i] > 1) {
			idmap_put(m, ok[i], ov[i]);
		}
	}
	free(ok);
	free(ov);
}

static void
idmap_put(struct timer_idmap *m, uint64_t id, timer_ent *e)
{
	if ((m->n + 1) * 2 > m->cap) {
		idmap_grow(m);
	}
	size_t i = slot_of(m, id);
	while (m->keys[i] > 1) {
		i = (i + 1) & (m->cap - 1);
	}
	m->keys[i] = id;
	m->vals[i] = e;
	m->n++;
}

static timer_ent *
idmap_get(struct timer_idmap *m, uint64_t id, bool del)
{
	if (m->cap == 0) {
		return (NULL);
	}
	size_t i = slot_of(m, id);
	while (m->keys[i] != 0) {
		if (m->keys[i] == id) {
			timer_ent *e = m->vals[i];
			if (del) {
				/* rehash the cluster after i to drop
				 * tombstones */
				m->keys[i] = 0;
				m->n--;
				size_t j = (i + 1) & (m->cap - 1);
				while (m->keys[j] != 0) {
					uint64_t   k = m->keys[j];
					timer_ent *v = m->vals[j];
					m->keys[j]   = 0;
					m->n--;
					idmap_put(m, k, v);
					j = (j + 1) & (m->cap - 1);
				}
			}
			return (e);
		}
		i = (i + 1) & (m->cap - 1);
	}
	return (NULL);
}

/* ---- heap -------------------------------------------------------------- */
static void
heap_set(timer_wheel *t, size_t i, timer_ent *e)
{
	t->heap[i] = e;
	e->hidx    = i;
}

static void
sift_up(timer_wheel *t, size_t i)
{
	timer_ent *e = t->heap[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (t->heap[p]->due <= e->due) {
			break;
		}
		heap_set(t, i, t->heap[p]);
		i = p;
	}
	heap_set(t, i, e);
}

static void
sift_down(timer_wheel *t, size_t i)
{
	timer_ent *e = t->heap[i];
	for (;;) {
		size_t  l = 2 * i + 1, r = l + 1, m = i;
		int64_t md = e->due;
		if (l < t->n && t->heap[l]->due < md) {
			m  = l;
			md = t->heap[l]->due;
		}
		if (r < t->n && t->heap[r]->due < md) {
			m = r;
		}
		if (m == i) {
			break;
		}
		heap_set(t, i, t->heap[m]);
		i = m;
	}
	heap_set(t, i, e);
}

static void
heap_push(timer_wheel *t, timer_ent *e)
{
	if (t->n == t->cap) {
		t->cap  = t->cap ? t->cap * 2 : 64;
		t->heap = ar_xrealloc(t->heap, t->cap * sizeof(timer_ent *));
	}
	heap_set(t, t->n++, e);
	sift_up(t, t->n - 1);
}

static void
heap_remove(timer_wheel *t, size_t i)
{
	t->n--;
	if (i != t->n) {
		timer_ent *last = t->heap[t->n];
		heap_set(t, i, last);
		sift_down(t, i);
		sift_up(t, last->hidx);
	}
}

static void
ent_free(timer_ent *e)
{
	if (e->free_arg != NULL) {
		e->free_arg(e->arg);
	}
	free(e);
}

static void
abs_deadline(int64_t mono_ms, struct timespec *ts)
{
	ts->tv_sec  = mono_ms / 1000;
	ts->tv_nsec = (mono_ms % 1000) * 1000000;
}

static void *
timer_main(void *arg)
{
	timer_wheel *t    = arg;
	int64_t      last = 0; /* the last deadline slept toward */
	pthread_setname_np(pthread_self(), "ar:timer");
	pthread_mutex_lock(&t->mtx);
	while (!t->stop) {
		int64_t         now = ar_mono_ms();
		struct timespec ts;
		if (t->n == 0 || t->heap[0]->due > now) {
			/*
			 * Sleep toward the top's due time.  With nothing
			 * queued, keep the last deadline while it is ahead, so
			 * timers added later than it (the next ask's timeout)
			 * need no wake-up: timers_add signals only for an
			 * earlier due.
			 */
			int64_t due = t->n > 0 ? t->heap[0]->due : last;
			if (due > now) {
				last         = due;
				t->sleep_due = due;
				abs_deadline(due, &ts);
				pthread_cond_timedwait(&t->cv, &t->mtx, &ts);
			} else {
				t->sleep_due = INT64_MAX;
				pthread_cond_wait(&t->cv, &t->mtx);
			}
			t->sleep_due = 0; /* awake: adds need no signal */
			continue;
		}
		timer_ent *e = t->heap[0];
		heap_remove(t, 0);
		e->running = true;
		t->current = e;
		pthread_mutex_unlock(&t->mtx);
		e->fn(e->arg);
		pthread_mutex_lock(&t->mtx);
		e->running = false;
		t->current = NULL;
		if (e->cancelled) {
			pthread_cond_broadcast(&t->idle_cv); /* cancel waits */
		}
		if (e->interval > 0 && !e->cancelled) {
			e->due += e->interval;
			if (e->due < now) { /* fell behind: do not burst */
				e->due = now + e->interval;
			}
			heap_push(t, e); /* at stop, timers_fini frees it */
		} else {
			idmap_get(&t->ids, e->id, true);
			pthread_mutex_unlock(&t->mtx);
			ent_free(e); /* the lock is a leaf */
			pthread_mutex_lock(&t->mtx);
		}
	}
	pthread_mutex_unlock(&t->mtx);
	return (NULL);
}

int
timers_start(timer_wheel *t, ar_system *sys)
{
	pthread_condattr_t ca;
	memset(t, 0, sizeof(*t));
	t->sys     = sys;
	t->next_id = 1;
	pthread_mutex_init(&t->mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&t->idle_cv, NULL);
	if (pthread_create(&t->thread, NULL, timer_main, t) != 0) {
		return (AR_ENNG);
	}
	return (0);
}

/* Ends the thread; the entries, the map and the lock stay (timers_fini). */
void
timers_stop(timer_wheel *t)
{
	pthread_mutex_lock(&t->mtx);
	if (t->stop) {
		pthread_mutex_unlock(&t->mtx);
		return;
	}
	t->stop = true;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mtx);
	pthread_join(t->thread, NULL);
}

/* After timers_stop, once no other thread can call in. */
void
timers_fini(timer_wheel *t)
{
	for (size_t i = 0; i < t->n; i++) {
		ent_free(t->heap[i]);
	}
	free(t->heap);
	free(t->ids.keys);
	free(t->ids.vals);
	t->heap     = NULL;
	t->ids.keys = NULL;
	t->ids.vals = NULL;
	t->n = t->cap = t->ids.n = t->ids.cap = 0;
	pthread_mutex_destroy(&t->mtx);
	pthread_cond_destroy(&t->cv);
	pthread_cond_destroy(&t->idle_cv);
}

int
timers_add(timer_wheel *t, int64_t delay_ms, int64_t interval_ms, timer_fn fn,
    void (*free_arg)(void *), void *arg, ar_timer_id *idp)
{
	timer_ent *e = ar_xcalloc(1, sizeof(*e));
	e->interval  = interval_ms > 0 ? interval_ms : 0;
	e->fn        = fn;
	e->free_arg  = free_arg;
	e->arg       = arg;
	e->due       = ar_mono_ms() + (delay_ms > 0 ? delay_ms : 0);
	pthread_mutex_lock(&t->mtx);
	if (t->stop) {
		pthread_mutex_unlock(&t->mtx);
		ent_free(e);
		return (AR_ESTOPPED);
	}
	e->id = ++t->next_id; /* ids start at 2: 0 and 1 mark the map */
	idmap_put(&t->ids, e->id, e);
	heap_push(t, e);
	if (e->due < t->sleep_due) {
		/* the thread sleeps toward a later deadline (or forever) */
		t->sleep_due = e->due;
		pthread_cond_signal(&t->cv);
	}
	if (idp != NULL) {
		*idp = e->id;
	}
	pthread_mutex_unlock(&t->mtx);
	return (0);
}

int
timers_cancel(timer_wheel *t, ar_timer_id id)
{
	int        rv   = 0;
	timer_ent *gone = NULL;
	pthread_mutex_lock(&t->mtx);
	timer_ent *e = idmap_get(&t->ids, id, false);
	if (e == NULL || e->cancelled) {
		rv = AR_ENOENT;
	} else if (e->running) {
		e->cancelled = true; /* the thread frees it after the call */
		if (e->interval == 0) {
			rv = AR_ENOENT; /* a one-shot that is firing now */
		} else if (!pthread_equal(pthread_self(), t->thread)) {
			/* no tick after we return 0: wait for this one (e may
			 * be freed meanwhile: only its address is compared) */
			while (t->current == e) {
				pthread_cond_wait(&t->idle_cv, &t->mtx);
			}
		}
	} else {
		idmap_get(&t->ids, id, true);
		heap_remove(t, e->hidx);
		gone = e;
	}
	pthread_mutex_unlock(&t->mtx);
	if (gone != NULL) {
		ent_free(gone); /* the lock is a leaf */
	}
	return (rv);
}
