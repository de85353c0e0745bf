/*
 * t/sched_failover_multiprocess_test.c - the scheduler's timing end to end
 * (fixture: t/schedutil.h): a CRON of every second fires every second at
 * exactly the timing module's (Quartz's) times; the owner killed with
 * SIGKILL five times during such a run loses nothing with the fire-all
 * policy and records nothing twice with the default one, each outage
 * giving exactly one late fire.  Each on SQLite with the test worker and
 * on MariaDB with pj-worker.
 */
#include "t/schedutil.h"

START_TEST(cron_every_second_fires_at_quartz_times)
{
	setup(_i);
	start_server();
	start_worker("--quiet", NULL);
	wait_owned_with_worker();
	const int n   = 30;
	int64_t   t0  = second_after(1500);
	int64_t   job = save_job(
	      PJ_TIME_CRON, "* * * * * ?", 0, t0, t0 + (n - 1) * 1000, 0);
	usleep((useconds_t) (t0 + n * 1000 + 2500 - ar_now_ms()) * 1000);
	/* the timing module's chain (it agrees with Quartz: cron_oracle) */
	pj_timing t;
	char      err[PJ_TIMING_ERR_MAX];
	ck_assert_int_eq(pj_timing_init(&t, PJ_TIME_CRON, "* * * * * ?",
	                     "Europe/Berlin", 0, err, sizeof(err)),
	    0);
	int64_t want[32], x = t0 - 1;
	for (int k = 0; k < n; k++) {
		pj_lifecycle lc = { 0, 0 };
		ck_assert_int_eq(pj_timing_next(&t, &lc, x, x, &want[k]), 0);
		x = want[k];
	}
	struct pj_instance_list l;
	int64_t                 lag_max = 0;
	list_job(job, &l);
	ck_assert_uint_eq(l.n, (size_t) n);
	for (size_t k = 0; k < l.n; k++) {
		ck_assert_int_eq(l.v[k].fire_time, want[k]);
		ck_assert_int_eq(l.v[k].status, PJ_INST_SUCCEED);
		int64_t lag = l.v[k].actual_trigger_time - l.v[k].fire_time;
		ck_assert_int_ge(lag, 0);
		lag_max = lag > lag_max ? lag : lag_max;
	}
	pj_instance_list_fini(&l);
	/* on time: a generous bound (sanitizer builds, a shared machine) */
	ck_assert_int_lt(lag_max, 500);
	struct pj_job j;
	ck_assert_int_eq(pj_store_job_get(store, job, &j), 0);
	ck_assert_int_eq(j.status, 2); /* lifecycle over: disabled */
	pj_job_fini(&j);
	teardown();
}
END_TEST

/* Checks job's rows: the fire times are distinct seconds; with `all`
 * every second from the first to the last is there; every row finished
 * SUCCEED.  Returns the number of rows. */
static size_t
check_run(int64_t job, bool all, int64_t first, int64_t last)
{
	struct pj_instance_list l;
	list_job(job, &l);
	ck_assert_uint_gt(l.n, 0);
	for (size_t k = 0; k < l.n; k++) {
		ck_assert_int_eq(l.v[k].fire_time % 1000, 0);
		ck_assert_int_ge(l.v[k].fire_time, first);
		ck_assert_int_le(l.v[k].fire_time, last);
		for (size_t m = 0; m < k; m++) {
			ck_assert_int_ne(l.v[k].fire_time, l.v[m].fire_time);
		}
		ck_assert_msg(l.v[k].status == PJ_INST_SUCCEED,
		    "fire %lld: status %d", (long long) l.v[k].fire_time,
		    l.v[k].status);
	}
	if (all) {
		ck_assert_uint_eq(l.n, (size_t) ((last - first) / 1000 + 1));
	}
	size_t n = l.n;
	pj_instance_list_fini(&l);
	return n;
}

START_TEST(owner_killed_fire_all_loses_nothing_default_repeats_nothing)
{
	setup(_i);
	/* two servers; a killed one is started again on its address after
	 * the other took over, so the worker always knows a live one */
	start_server_short_window();
	start_server_short_window();
	start_worker("--quiet", NULL);
	int     owner = wait_owned_with_worker();
	int64_t t0 = second_after(1000), end = t0 + 32000;
	int64_t all = save_job(PJ_TIME_CRON, "* * * * * ?", 2, t0, end, 0);
	int64_t one = save_job(PJ_TIME_CRON, "* * * * * ?", 0, t0, end, 0);
	int64_t kills[5];
	for (int k = 0; k < 5; k++) {
		/* at x.300: the fire at x is done, the next one not recorded
		 * yet (window 500 ms) */
		int64_t at = second_after(k == 0 ? 2700 : 1700) - 700;
		usleep((useconds_t) (at - ar_now_ms()) * 1000);
		/* a sleep that overran past x.450 (a loaded machine) may
		 * let a pass at x.550 record x+1 before the kill: then the
		 * outage's first missed fire is not x+1; wait for the next
		 * second's x.300 instead */
		while (ar_now_ms() % 1000 > 450 || ar_now_ms() % 1000 < 250) {
			at = second_after(0) + 300;
			usleep((useconds_t) (at - ar_now_ms()) * 1000);
		}
		/* the owner now: on a loaded machine a restarted server's
		 * first ping of the owner can time out (1 s), and it takes
		 * the app over from a live owner - legal, and no fire is
		 * lost or doubled by it, but then killing the old one is no
		 * outage */
		int now_owner = owner_index();
		if (now_owner != owner) {
			fprintf(stderr,
			    "kill %d: the app moved from live server %d to %d\n",
			    k + 1, owner, now_owner);
			owner = now_owner;
		}
		kills[k] = at = ar_now_ms();
		kill_proc(&srv[owner]);
		int s = wait_owned_with_worker();
		ck_assert_int_ne(s, owner);
		fprintf(stderr,
		    "kill %d at +%lld ms: server %d owns after %lld ms\n",
		    k + 1, (long long) (at - t0), s,
		    (long long) (ar_now_ms() - at));
		restart_server_short_window(owner);
		owner = s;
	}
	ck_assert_int_lt(ar_now_ms(), end - 3000); /* kills inside the run */
	/* let the last fires finish; rows the dead owners dispatched but
	 * never heard back about are re-dispatched after 2 s */
	int64_t dl = ar_mono_ms() + 20000;
	while (ar_mono_ms() < dl) {
		struct pj_instance_list l;
		size_t                  done = 0, n;
		list_job(all, &l);
		n = l.n;
		for (size_t k = 0; k < l.n; k++) {
			done += l.v[k].status == PJ_INST_SUCCEED;
		}
		pj_instance_list_fini(&l);
		if (n == 33 && done == n && ar_now_ms() > end + 1500) {
			break;
		}
		usleep(200000);
	}
	usleep(1500000); /* and the default job's last ones */
	/* fire-all: every second of the window exactly once */
	check_run(all, true, t0, end);
	/* default: none twice; each outage gives one late fire: the first
	 * fire it missed, recorded (by the next owner) more than the 200 ms
	 * threshold after its time - the timing module's misfire; on-time
	 * fires are recorded ahead, by the passes' look-ahead */
	check_run(one, false, t0, end);
	struct pj_instance_list l;
	int                     late[5] = { 0 }, nlate = 0;
	list_job(one, &l);
	for (size_t k = 0; k < l.n; k++) {
		struct pj_instance_query q = { .job_id = one,
			.gmt_create_gt = l.v[k].fire_time + 200,
			.limit         = 1000 };
		struct pj_instance_list  c;
		bool                     was_late = false;
		ck_assert_int_eq(pj_store_instance_list(store, &q, &c), 0);
		for (size_t m = 0; m < c.n; m++) {
			was_late |= c.v[m].instance_id == l.v[k].instance_id;
		}
		pj_instance_list_fini(&c);
		if (!was_late) {
			continue;
		}
		nlate++;
		for (int o = 0; o < 5; o++) {
			/* its outage: the first fire after that kill */
			late[o] += l.v[k].fire_time == (kills[o] / 1000 + 1) * 1000;
		}
	}
	pj_instance_list_fini(&l);
	ck_assert_int_eq(nlate, 5);
	for (int o = 0; o < 5; o++) {
		ck_assert_msg(late[o] == 1, "outage %d: %d late fires", o + 1,
		    late[o]);
	}
	teardown();
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("sched_failover_multiprocess");
	TCase *tc = tcase_create("sched_failover_multiprocess");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, cron_every_second_fires_at_quartz_times, 0, 2);
	tcase_add_loop_test(tc,
	    owner_killed_fire_all_loses_nothing_default_repeats_nothing, 0, 2);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
