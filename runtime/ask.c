/*
 * ask.c - ask = tell + correlation id + timer; futures.
 *
 * Design notes
 * ------------
 * Akka backs an ask with a short-lived actor under /temp; here a slot in
 * the system's ask table stands in for it.  The correlation id *is* the
 * temp ref (kind TEMP, slot, generation), so a reply finds its slot in
 * O(1) and a reply for a slot that has moved on (timed out, freed) fails
 * the generation check and becomes a dead letter (ASK_EXPIRED).
 *
 * Whoever removes the future from the table (the reply, the timeout, the
 * user's free, or system stop) completes it; the table lock makes that
 * exactly one party.  A future has two references: the table's and the
 * user's; the last one frees it.
 *
 * A late reply (its ask timed out, was freed or failed) is the asker's
 * problem: it becomes a dead letter (ASK_EXPIRED) and ar_reply returns 0,
 * as it does for a remote reply, so a replier is never failed (restarted)
 * for it.
 *
 * Callbacks and ar_future_free: the callback runs outside every lock, so
 * a completer that took the future from the table may be about to call it
 * when the user frees the future.  ar_future_free therefore marks the
 * future abandoned under f->mtx (a completer that has not read the callback
 * yet skips it) and waits while a callback runs on another thread (one
 * running on its own thread is the callback freeing its own future).  After
 * ar_future_free returns, the callback never runs.
 * Locks: ask_mtx and f->mtx are never held together (both are leaves);
 * callbacks run with no lock held.
 */
#include "runtime/internal.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ar_future {
	pthread_mutex_t   mtx;
	pthread_cond_t    cv;
	ar_system        *sys;
	uint64_t          corr;
	ar_timer_id       timer;
	atomic_int        refs;
	bool              done;
	bool              abandoned;  /* ar_future_free was called */
	bool              cb_running; /* on cb_thread, f->mtx released */
	pthread_t         cb_thread;
	int               result;
	ProtobufCMessage *reply;
	ar_future_cb      cb;
	void             *cbarg;
};

typedef struct ask_timeout_arg {
	ar_system *sys;
	uint64_t   corr;
} ask_timeout_arg;

static void
future_unref(ar_future *f)
{
	if (atomic_fetch_sub(&f->refs, 1) == 1) {
		if (f->reply != NULL) {
			protobuf_c_message_free_unpacked(f->reply, NULL);
		}
		pthread_mutex_destroy(&f->mtx);
		pthread_cond_destroy(&f->cv);
		free(f);
	}
}

/* Removes and returns the future for corr, or NULL. */
static ar_future *
ask_take(ar_system *sys, uint64_t corr)
{
	ar_ref     r = { corr };
	ar_future *f = NULL;
	uint32_t   s = ref_slot(r);
	if (ref_kind(r) != REF_TEMP) {
		return (NULL);
	}
	pthread_mutex_lock(&sys->ask_mtx);
	if (s < sys->nasks && sys->asks[s].fut != NULL
	    && sys->asks[s].gen == ref_gen(r)) {
		f                      = sys->asks[s].fut;
		sys->asks[s].fut       = NULL;
		sys->asks[s].next_free = sys->ask_free;
		sys->ask_free          = s + 1; /* 0 = empty list */
	}
	pthread_mutex_unlock(&sys->ask_mtx);
	return (f);
}

/* Completes f (taken from the table) and drops the table's reference. */
static void
finish(ar_future *f, int result, ProtobufCMessage *reply)
{
	ar_future_cb cb;
	void        *arg;
	if (result != AR_ETIMEDOUT && f->timer != 0) {
		timers_cancel(&f->sys->timers, f->timer);
	}
	pthread_mutex_lock(&f->mtx);
	f->result = result;
	f->reply  = reply;
	/* ar_future_wait's spin reads it without the lock */
	__atomic_store_n(&f->done, true, __ATOMIC_RELEASE);
	cb  = f->abandoned ? NULL : f->cb;
	arg = f->cbarg;
	if (cb != NULL) {
		f->cb_running = true;
		f->cb_thread  = pthread_self();
	}
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mtx);
	if (cb != NULL) {
		cb(f, result, reply, arg);
		/* the callback may have freed f (the table's reference keeps
		 * it alive until the unref below) */
		pthread_mutex_lock(&f->mtx);
		f->cb_running = false;
		pthread_cond_broadcast(&f->cv);
		pthread_mutex_unlock(&f->mtx);
	}
	future_unref(f);
}

static void
ask_timeout(void *arg)
{
	ask_timeout_arg *a = arg;
	ar_future       *f = ask_take(a->sys, a->corr);
	if (f != NULL) {
		finish(f, AR_ETIMEDOUT, NULL);
	}
}

int
ask_complete(ar_system *sys, uint64_t corr, nng_msg *m)
{
	msg_hdr                           h;
	const ProtobufCMessageDescriptor *desc;
	ProtobufCMessage                 *reply;
	ar_future                        *f;
	ar_ref                            temp = { corr };

	if ((f = ask_take(sys, corr)) == NULL) {
		/* the asker's problem, not the replier's: 0, as remotely */
		dead_letter(sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_ASK_EXPIRED, temp,
		    "/temp", m, "reply after its ask completed or timed out");
		nng_msg_free(m);
		return (0);
	}
	h     = hdr_of(m);
	desc  = registry_at(h.type);
	reply = desc == NULL ? NULL
	                     : protobuf_c_message_unpack(
	                         desc, NULL, nng_msg_len(m), nng_msg_body(m));
	if (reply == NULL) {
		dead_letter(sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_UNDECODABLE, temp,
		    "/temp", m, "ask reply does not decode");
		nng_msg_free(m);
		finish(f, AR_EDECODE, NULL);
		return (0); /* the asker's future says it; as remotely */
	}
	nng_msg_free(m);
	finish(
	    f, desc == &ar__ask_failure__descriptor ? AR_EFAILED : 0, reply);
	return (0);
}

int
ar_ask(ar_system *sys, ar_ref to, const ProtobufCMessage *msg, int timeout_ms,
    ar_future **futp)
{
	ar_future       *f;
	ask_timeout_arg *ta;
	nng_msg         *m;
	uint32_t         s;
	ar_ref           temp;
	int              rv;

	if (sys == NULL || msg == NULL || futp == NULL) {
		return (AR_EINVAL);
	}
	if (timeout_ms <= 0) {
		timeout_ms = sys->cfg.ask_timeout_ms;
	}
	f = ar_xcalloc(1, sizeof(*f));
	pthread_mutex_init(&f->mtx, NULL);
	pthread_cond_init(&f->cv, NULL);
	f->sys = sys;
	atomic_init(&f->refs, 2);

	pthread_mutex_lock(&sys->ask_mtx);
	if (sys->ask_free != 0) {
		s             = sys->ask_free - 1;
		sys->ask_free = sys->asks[s].next_free;
	} else {
		if (sys->nasks == sys->capasks) {
			sys->capasks = sys->capasks ? sys->capasks * 2 : 64;
			sys->asks    = ar_xrealloc(
			       sys->asks, sys->capasks * sizeof(ask_slot));
		}
		s                = sys->nasks++;
		sys->asks[s].gen = 0;
	}
	if (++sys->asks[s].gen == 0) {
		sys->asks[s].gen = 1;
	}
	sys->asks[s].fut = f;
	temp             = ref_make(REF_TEMP, s, sys->asks[s].gen);
	f->corr          = temp.id;
	pthread_mutex_unlock(&sys->ask_mtx);

	*futp    = f;
	ta       = ar_xmalloc(sizeof(*ta));
	ta->sys  = sys;
	ta->corr = f->corr;
	if ((rv = timers_add(&sys->timers, timeout_ms, 0, ask_timeout, free,
	         ta, &f->timer))
	    != 0) {
		if ((f = ask_take(sys, temp.id)) != NULL) {
			finish(f, rv, NULL);
		}
		return (0);
	}
	if ((rv = pack_msg(sys, msg, temp, temp.id, 0, &m)) == 0) {
		rv = deliver(sys, to, m);
	}
	if (rv != 0 && (f = ask_take(sys, temp.id)) != NULL) {
		/* undeliverable: fail at once (already a dead letter) */
		finish(f, rv, NULL);
	}
	return (0);
}

int
ar_future_wait(ar_future *f, int wait_ms, const ProtobufCMessage **replyp)
{
	struct timespec dl;
	int             rv;
	if (wait_ms >= 0) {
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += wait_ms / 1000;
		dl.tv_nsec += (long) (wait_ms % 1000) * 1000000;
		if (dl.tv_nsec >= 1000000000) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000;
		}
	}
	/* a reply usually comes within tens (local) or a couple of hundred
	 * (remote) microseconds: look for it before paying for a futex sleep
	 * and wake-up (~20 us each here) */
	if (wait_ms != 0) {
		int64_t until = ar_mono_ms() + 1;
		while (!__atomic_load_n(&f->done, __ATOMIC_ACQUIRE)
		    && ar_mono_ms() <= until) {
			sched_yield();
		}
	}
	pthread_mutex_lock(&f->mtx);
	while (!f->done) {
		if (wait_ms < 0) {
			pthread_cond_wait(&f->cv, &f->mtx);
		} else if (pthread_cond_timedwait(&f->cv, &f->mtx, &dl)
		    == ETIMEDOUT) {
			break;
		}
	}
	rv = f->done ? f->result : AR_EPENDING;
	if (replyp != NULL) {
		*replyp = f->done ? f->reply : NULL;
	}
	pthread_mutex_unlock(&f->mtx);
	return (rv);
}

void
ar_future_on_complete(ar_future *f, ar_future_cb cb, void *arg)
{
	bool done;
	pthread_mutex_lock(&f->mtx);
	done = f->done;
	if (!done) {
		f->cb    = cb;
		f->cbarg = arg;
	}
	pthread_mutex_unlock(&f->mtx);
	if (done) {
		cb(f, f->result, f->reply, arg);
	}
}

void
ar_future_free(ar_future *f)
{
	if (f == NULL) {
		return;
	}
	pthread_mutex_lock(&f->mtx);
	f->abandoned = true; /* a completer that has not called back won't */
	while (f->cb_running && !pthread_equal(f->cb_thread, pthread_self())) {
		pthread_cond_wait(&f->cv, &f->mtx); /* one that has: wait */
	}
	bool done = f->done; /* a completed future left the table already */
	pthread_mutex_unlock(&f->mtx);
	ar_future *t = done ? NULL : ask_take(f->sys, f->corr);
	if (t != NULL) {
		/* still pending: a later reply becomes a dead letter */
		if (f->timer != 0) {
			timers_cancel(&f->sys->timers, f->timer);
		}
		future_unref(t);
	}
	future_unref(f);
}

/* At stop: one pass over the table takes every pending future, then each
 * fails with AR_ESTOPPED outside the lock (callbacks may run). */
void
asks_fail_all(ar_system *sys)
{
	ar_future **taken = NULL;
	uint32_t    n     = 0;
	pthread_mutex_lock(&sys->ask_mtx);
	if (sys->nasks > 0) {
		taken = ar_xmalloc(sys->nasks * sizeof(*taken));
	}
	for (uint32_t s = 0; s < sys->nasks; s++) {
		if (sys->asks[s].fut != NULL) {
			taken[n++]             = sys->asks[s].fut;
			sys->asks[s].fut       = NULL;
			sys->asks[s].next_free = sys->ask_free;
			sys->ask_free          = s + 1;
		}
	}
	pthread_mutex_unlock(&sys->ask_mtx);
	for (uint32_t i = 0; i < n; i++) {
		finish(taken[i], AR_ESTOPPED, NULL);
	}
	free(taken);
}
