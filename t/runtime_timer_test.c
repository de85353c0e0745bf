/*
 * runtime_timer_test.c - the timer wheel (runtime/timer.c) through its
 * internal interface: its lock is a leaf, cancel waits for a periodic tick
 * in flight, and a stopped wheel stays safe to call until it is freed.
 */
#include <errno.h>
#include <pthread.h>

#include "runtime/internal.h"
#include "t/testutil.h"

static timer_wheel wheel;

static void
nothing(void *arg)
{
	(void) arg;
}

/* ---- the lock is a leaf (issue 7, finding 6) --------------------------- */
static atomic_int frees, frees_under_lock;

/* A free function that would deadlock (or wait with the lock held, like
 * conn_free's nng_aio_free) if the wheel's lock were held around it. */
static void
free_probe(void *arg)
{
	(void) arg;
	if (pthread_mutex_trylock(&wheel.mtx) == 0) {
		pthread_mutex_unlock(&wheel.mtx);
	} else {
		atomic_fetch_add(&frees_under_lock, 1);
	}
	atomic_fetch_add(&frees, 1);
}

START_TEST(free_functions_run_without_the_timer_lock)
{
	ar_timer_id id;
	ck_assert_int_eq(timers_start(&wheel, NULL), 0);
	/* freed by the timer thread after firing */
	ck_assert_int_eq(
	    timers_add(&wheel, 0, 0, nothing, free_probe, NULL, NULL), 0);
	ck_assert(WAIT_UNTIL(atomic_load(&frees) == 1, 1000));
	/* freed by a cancel */
	ck_assert_int_eq(
	    timers_add(&wheel, 60000, 0, nothing, free_probe, NULL, &id), 0);
	ck_assert_int_eq(timers_cancel(&wheel, id), 0);
	ck_assert_int_eq(atomic_load(&frees), 2);
	timers_stop(&wheel);
	/* refused after stop: freed by the caller */
	ck_assert_int_eq(
	    timers_add(&wheel, 0, 0, nothing, free_probe, NULL, NULL),
	    AR_ESTOPPED);
	ck_assert_int_eq(atomic_load(&frees), 3);
	/* left at fini */
	timers_fini(&wheel);
	ck_assert_int_eq(atomic_load(&frees_under_lock), 0);
}
END_TEST

/* ---- no tick after cancel returned 0 (finding 8) ----------------------- */
static atomic_int in_tick, ticks_done;

static void
slow_tick(void *arg)
{
	(void) arg;
	atomic_store(&in_tick, 1);
	usleep(30000);
	atomic_fetch_add(&ticks_done, 1);
	atomic_store(&in_tick, 0);
}

START_TEST(cancel_of_a_periodic_timer_waits_for_its_tick)
{
	ar_timer_id id;
	ck_assert_int_eq(timers_start(&wheel, NULL), 0);
	ck_assert_int_eq(
	    timers_add(&wheel, 1, 1, slow_tick, NULL, NULL, &id), 0);
	ck_assert(WAIT_UNTIL(atomic_load(&in_tick) == 1, 1000));
	ck_assert_int_eq(timers_cancel(&wheel, id), 0);
	/* the tick that was running has returned, and none follows */
	ck_assert_int_eq(atomic_load(&in_tick), 0);
	int n = atomic_load(&ticks_done);
	usleep(100000);
	ck_assert_int_eq(atomic_load(&ticks_done), n);
	ck_assert_int_eq(timers_cancel(&wheel, id), AR_ENOENT);
	timers_stop(&wheel);
	timers_fini(&wheel);
}
END_TEST

/* A periodic callback may cancel itself (no wait for its own return). */
static ar_timer_id self_id; /* set under the wheel's lock before it fires */
static atomic_int  self_ticks, self_rv = -1;
static void
self_cancel(void *arg)
{
	(void) arg;
	if (atomic_fetch_add(&self_ticks, 1) == 2) {
		atomic_store(&self_rv, timers_cancel(&wheel, self_id));
	}
}

START_TEST(a_periodic_callback_may_cancel_itself)
{
	ck_assert_int_eq(timers_start(&wheel, NULL), 0);
	ck_assert_int_eq(
	    timers_add(&wheel, 50, 5, self_cancel, NULL, NULL, &self_id), 0);
	ck_assert(WAIT_UNTIL(atomic_load(&self_ticks) == 3, 2000));
	usleep(50000);
	ck_assert_int_eq(atomic_load(&self_ticks), 3);
	ck_assert_int_eq(atomic_load(&self_rv), 0);
	timers_stop(&wheel);
	timers_fini(&wheel);
}
END_TEST

/* ---- stop, then free (finding 5) --------------------------------------- */
START_TEST(a_stopped_wheel_refuses_adds_and_still_cancels)
{
	ar_timer_id ids[100];
	ck_assert_int_eq(timers_start(&wheel, NULL), 0);
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(timers_add(&wheel, 60000, i % 2, nothing,
		                     free_probe, NULL, &ids[i]),
		    0);
	}
	timers_stop(&wheel);
	timers_stop(&wheel); /* twice is fine */
	for (int i = 0; i < 50; i++) {
		ck_assert_int_eq(timers_cancel(&wheel, ids[i]), 0);
	}
	ck_assert_int_eq(atomic_load(&frees), 50);
	ck_assert_int_eq(
	    timers_add(&wheel, 1, 0, nothing, NULL, NULL, NULL), AR_ESTOPPED);
	timers_fini(&wheel);
	ck_assert_int_eq(atomic_load(&frees), 100);
}
END_TEST

/* ---- a stopped dispatcher (finding 5) ---------------------------------- */
START_TEST(a_stopped_dispatcher_queues_nothing)
{
	dispatcher d;
	ar_cell    c; /* never run: the pool is stopped before it could */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(dispatcher_start(&d, NULL, "t", 2, 0), 0);
	dispatcher_stop(&d);
	for (int i = 0; i < 1000; i++) {
		dispatcher_schedule(&d, &c); /* no queue growth, no crash */
	}
	ck_assert_uint_eq(d.len, 0);
	dispatcher_fini(&d);
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("runtime_timer");
	TCase *tc = tcase_create("timer");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, free_functions_run_without_the_timer_lock);
	tcase_add_test(tc, cancel_of_a_periodic_timer_waits_for_its_tick);
	tcase_add_test(tc, a_periodic_callback_may_cancel_itself);
	tcase_add_test(tc, a_stopped_wheel_refuses_adds_and_still_cancels);
	tcase_add_test(tc, a_stopped_dispatcher_queues_nothing);
	suite_add_tcase(s, tc);
	return (tu_run(s));
}
