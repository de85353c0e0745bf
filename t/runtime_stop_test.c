/*
 * runtime_stop_test.c - ar_system_stop's order: nothing that still runs
 * while the system stops reaches a part that is already freed (issue 7,
 * finding 5).  Run under ASan and TSan these fail loudly when it does.
 */
#include <pthread.h>

#include "t/testutil.h"

/* An actor whose receive does not return until the test lets it: the
 * system's stop gives up waiting for it (stop_drain_ms + 5 s), stops the
 * timer thread, and waits for the dispatchers while it still runs. */
static atomic_int  in_receive, release, after_rv[4];
static ar_ref      peer_ref;
static ar_timer_id far_timer; /* made before the stop, cancelled after */

static int
stuck_receive(ar_ctx *ctx, void *st, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *m)
{
	ar_system  *sys = ar_ctx_system(ctx);
	ar_timer_id id;
	ar_future  *f;
	Artest__Num n = ARTEST__NUM__INIT;
	(void) st;
	(void) t;
	(void) m;
	atomic_store(&in_receive, 1);
	while (!atomic_load(&release)) {
		usleep(1000);
	}
	/* the system is stopping: every call is refused or dropped, none
	 * touches freed memory */
	atomic_store(&after_rv[0],
	    ar_timer_once(sys, ar_ctx_self(ctx), &n.base, 5, &id));
	atomic_store(&after_rv[1],
	    ar_timer_every(sys, ar_ctx_self(ctx), &n.base, 5, &id));
	ar_timer_cancel(sys, id);
	atomic_store(&after_rv[3], ar_timer_cancel(sys, far_timer));
	atomic_store(
	    &after_rv[2], ar_ask(sys, ar_ctx_self(ctx), &n.base, 50, &f));
	if (atomic_load(&after_rv[2]) == 0) {
		ar_future_wait(f, 0, NULL);
		ar_future_free(f);
	}
	atomic_store(
	    &after_rv[3], ar_tell(sys, peer_ref, &n.base, AR_REF_NONE));
	return (0);
}
static const ar_behavior stuck = { NULL, stuck_receive, NULL, NULL };

typedef struct helper_arg {
	ar_system *peer;
} helper_arg;

static void *
helper(void *arg)
{
	helper_arg *h = arg;
	/* past the stop's wait for live actors (0 + 5000 ms): the timer
	 * thread is stopped now */
	usleep(5400000);
	/* the peer goes away: the stopping system's association loses its
	 * connection and wants to schedule a redial */
	ar_system_stop(h->peer);
	usleep(200000);
	atomic_store(&release, 1);
	return (NULL);
}

START_TEST(a_receive_running_through_the_stop_reaches_no_freed_part)
{
	ar_config   c;
	ar_system  *a, *b;
	ar_ref      s;
	char        addr[300];
	pthread_t   th;
	helper_arg  h;
	Artest__Num far = ARTEST__NUM__INIT;

	ar_config_init(&c);
	c.name             = "stopa";
	c.listen_url       = "tcp://127.0.0.1:0";
	c.log_dead_letters = 0;
	c.stop_drain_ms    = 0;
	a                  = tu_start_cfg(&c);
	b                  = tu_start("stopb", 1);
	s                  = tu_spawn(a, "stuck", &stuck, 0);
	/* a connection from a to b */
	snprintf(addr, sizeof(addr), "%s/user/nobody", ar_system_address(b));
	ck_assert_int_eq(ar_ref_resolve(a, addr, &peer_ref), 0);
	ck_assert_int_eq(tu_tell_num(a, peer_ref, 1, 0), 0);
	ck_assert(WAIT_UNTIL(ar_dead_letter_total(b) == 1, 3000));
	ck_assert_int_eq(ar_timer_once(a, s, &far.base, 60000, &far_timer), 0);
	ck_assert_int_eq(tu_tell_num(a, s, 1, 0), 0);
	ck_assert(WAIT_UNTIL(atomic_load(&in_receive) == 1, 1000));

	h.peer = b;
	ck_assert_int_eq(pthread_create(&th, NULL, helper, &h), 0);
	ar_system_stop(a); /* returns once the receive does */
	pthread_join(th, NULL);
	ck_assert_int_eq(atomic_load(&after_rv[0]), AR_ESTOPPED);
	ck_assert_int_eq(atomic_load(&after_rv[1]), AR_ESTOPPED);
	ck_assert_int_eq(atomic_load(&after_rv[2]), 0); /* failed at once */
	ck_assert_int_eq(atomic_load(&after_rv[3]), 0); /* still cancels */
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("runtime_stop");
	TCase *tc = tcase_create("stop");
	tcase_set_timeout(tc, 60);
	tcase_add_test(
	    tc, a_receive_running_through_the_stop_reaches_no_freed_part);
	suite_add_tcase(s, tc);
	return (tu_run(s));
}
