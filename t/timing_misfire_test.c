/*
 * server/timing/misfire.c: every misfire policy (fire once now, skip, fire
 * all within a window), the per-job threshold, the counts, the latest
 * fires past the scan, lifecycle windows and daily intervals' real fire
 * times (issue 14 items 1-7). Expected times are written out by hand.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/timing/timing.h"
#include "t/timing_util.h"

START_TEST(test_misfire)
{
	pj_timing         t;
	int64_t           buf[16];
	pj_misfire_result r      = { .fire_ms = buf };
	int64_t           last   = utc(2024, 5, 1, 10, 0, 0);
	int64_t           now    = utc(2024, 5, 1, 10, 5, 30);
	int64_t           minute = 60000;
	/* threshold 1 s: 10:01 ... 10:05 are all missed */
	pj_misfire_opts o = { PJ_MISFIRE_FIRE_ONCE_NOW, 0, 16, 1000 };

	init_ok(&t, PJ_TIME_CRON, "0 * * * * ?", "UTC");
	/* fire once now: the first missed time, then the next after now */
	ck_assert_int_eq(pj_timing_misfire(&t, NULL, last, now, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 1);
	ck_assert_int_eq(buf[0], last + minute);
	ck_assert(r.has_next && r.next_ms == last + 6 * minute);
	/* skip */
	o.policy = PJ_MISFIRE_SKIP;
	ck_assert_int_eq(pj_timing_misfire(&t, NULL, last, now, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 0);
	ck_assert_uint_eq(r.n_dropped, 5);
	ck_assert(r.has_next && r.next_ms == last + 6 * minute);
	/* every missed fire inside a 3-minute window */
	o = (pj_misfire_opts) { PJ_MISFIRE_FIRE_ALL, 3 * minute, 16, 1000 };
	ck_assert_int_eq(pj_timing_misfire(&t, NULL, last, now, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 3);
	ck_assert_int_eq(buf[0], last + 3 * minute);
	ck_assert_int_eq(buf[1], last + 4 * minute);
	ck_assert_int_eq(buf[2], last + 5 * minute);
	ck_assert_uint_eq(r.n_dropped, 2);
	/* no window, cap 2: the latest two, in order, three dropped */
	o = (pj_misfire_opts) { PJ_MISFIRE_FIRE_ALL, 0, 2, 1000 };
	ck_assert_int_eq(pj_timing_misfire(&t, NULL, last, now, &o, &r), 0);
	ck_assert_uint_eq(r.n_missed, 5);
	ck_assert_uint_eq(r.n_fire, 2);
	ck_assert_uint_eq(r.n_dropped, 3);
	ck_assert_int_eq(buf[0], last + 4 * minute);
	ck_assert_int_eq(buf[1], last + 5 * minute);
	/* a week down, every second: capped, never a flood */
	init_ok(&t, PJ_TIME_CRON, "* * * * * ?", "UTC");
	o = (pj_misfire_opts) { PJ_MISFIRE_FIRE_ALL, 3600000, 10, 1000 };
	ck_assert_int_eq(
	    pj_timing_misfire(&t, NULL, last, last + 7 * 86400000LL, &o, &r),
	    0);
	ck_assert_uint_eq(r.n_fire, 10);
	ck_assert_uint_eq(r.n_due, 604800);
	ck_assert_uint_eq(r.n_missed, 604798); /* all but now - 1 s and now */
	ck_assert_uint_eq(r.n_dropped, 604790);
	ck_assert(!r.partial);
	ck_assert_int_eq(buf[9], last + 7 * 86400000LL);
	ck_assert_int_eq(buf[0], last + 7 * 86400000LL - 9000);
	/* a fire exactly at now is due, and on time */
	init_ok(&t, PJ_TIME_CRON, "0 * * * * ?", "UTC");
	o = (pj_misfire_opts) { PJ_MISFIRE_FIRE_ONCE_NOW, 0, 1, 1000 };
	ck_assert_int_eq(
	    pj_timing_misfire(&t, NULL, last, last + minute, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 1);
	ck_assert_int_eq(buf[0], last + minute);
	/* nothing missed */
	ck_assert_int_eq(
	    pj_timing_misfire(&t, NULL, last, last + 30000, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 0);
	ck_assert(r.has_next && r.next_ms == last + minute);
	/* the lifecycle end cuts missed fires and the next one */
	pj_lifecycle lc = { 0, last + 2 * minute };
	o = (pj_misfire_opts) { PJ_MISFIRE_FIRE_ALL, 0, 16, 1000 };
	ck_assert_int_eq(pj_timing_misfire(&t, &lc, last, now, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 2);
	ck_assert(!r.has_next);
	/* fixed rate keeps its phase: 8000, 15000, ..., 99000 are due */
	init_ok(&t, PJ_TIME_FIXED_RATE, "7000", "UTC");
	o = (pj_misfire_opts) { PJ_MISFIRE_FIRE_ALL, 20000, 16, 1000 };
	ck_assert_int_eq(pj_timing_misfire(&t, NULL, 1000, 100000, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 3); /* 85000, 92000, 99000 */
	ck_assert_int_eq(buf[0], 85000);
	ck_assert_int_eq(buf[2], 99000);
	ck_assert_uint_eq(r.n_due, 14);
	ck_assert(r.has_next && r.next_ms == 106000);
	/* once now: the first missed (8000) and the on-time 99000 (1 s late)
	 */
	o.policy = PJ_MISFIRE_FIRE_ONCE_NOW;
	ck_assert_int_eq(pj_timing_misfire(&t, NULL, 1000, 100000, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 2);
	ck_assert_int_eq(buf[0], 8000);
	ck_assert_int_eq(buf[1], 99000);
	ck_assert_uint_eq(r.n_missed, 13);
	/* daily interval */
	init_ok(&t, PJ_TIME_DAILY_TIME_INTERVAL,
	    "{\"interval\":1,\"intervalUnit\":\"HOURS\","
	    "\"startTimeOfDay\":\"09:00:00\",\"endTimeOfDay\":\"11:00:00\"}",
	    "UTC");
	o = (pj_misfire_opts) { PJ_MISFIRE_FIRE_ALL, 0, 16, 1000 };
	ck_assert_int_eq(pj_timing_misfire(&t, NULL, utc(2024, 5, 1, 8, 0, 0),
	                     utc(2024, 5, 2, 10, 30, 0), &o, &r),
	    0);
	ck_assert_uint_eq(r.n_fire, 5); /* 9, 10, 11 on the 1st; 9, 10 */
	ck_assert_str_eq(iso(&t, buf[0]), "2024-05-01T09:00:00+00:00");
	ck_assert_str_eq(iso(&t, buf[2]), "2024-05-01T11:00:00+00:00");
	ck_assert_str_eq(iso(&t, buf[3]), "2024-05-02T09:00:00+00:00");
	ck_assert_str_eq(iso(&t, buf[4]), "2024-05-02T10:00:00+00:00");
	/* PowerJob steps from now: 10:30 + 1 h is past 11:00, so tomorrow */
	ck_assert_str_eq(iso(&t, r.next_ms), "2024-05-03T09:00:00+00:00");
	/* API: nothing is ever missed */
	init_ok(&t, PJ_TIME_API, NULL, "UTC");
	ck_assert_int_eq(pj_timing_misfire(&t, NULL, last, now, &o, &r), 0);
	ck_assert(r.n_fire == 0 && !r.has_next);
	/* bad options */
	init_ok(&t, PJ_TIME_CRON, "0 * * * * ?", "UTC");
	o = (pj_misfire_opts) { PJ_MISFIRE_SKIP, 0, 1, -1 };
	ck_assert_int_eq(
	    pj_timing_misfire(&t, NULL, last, now, &o, &r), PJ_TIMING_EINVAL);
	o = (pj_misfire_opts) { (pj_misfire_policy) 7, 0, 1, 0 };
	ck_assert_int_eq(
	    pj_timing_misfire(&t, NULL, last, now, &o, &r), PJ_TIMING_EINVAL);
	pj_tz_cache_fini();
}
END_TEST

/* items 1 and 2: FIXED_RATE's missed fires and next respect the lifecycle */
START_TEST(test_misfire_rate_lifecycle)
{
	pj_timing         t;
	int64_t           buf[16];
	pj_misfire_result r = { .fire_ms = buf };
	pj_misfire_opts   o = { PJ_MISFIRE_FIRE_ALL, 10000, 16, 1000 };
	int64_t           L = utc(2024, 5, 1, 10, 0, 0);
	init_ok(&t, PJ_TIME_FIXED_RATE, "1000", "UTC");
	/* end = L + 5 s: L+1 s ... L+5 s were due, none is in the window */
	pj_lifecycle lc = { 0, L + 5000 };
	ck_assert_int_eq(pj_timing_misfire(&t, &lc, L, L + 60000, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 0);
	ck_assert_uint_eq(r.n_due, 5);
	ck_assert_uint_eq(r.n_missed, 5);
	ck_assert_uint_eq(r.n_dropped, 5);
	ck_assert(!r.has_next);
	/* start = L + 30.5 s: the fires are start, start + 1 s, ...  */
	lc = (pj_lifecycle) { L + 30500, 0 };
	ck_assert_int_eq(pj_timing_misfire(&t, &lc, L, L + 35000, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 5);
	ck_assert_int_eq(buf[0], L + 30500);
	ck_assert_int_eq(buf[1], L + 31500);
	ck_assert_int_eq(buf[4], L + 34500);
	ck_assert_uint_eq(r.n_due, 5);
	ck_assert_uint_eq(r.n_missed, 4); /* L + 34.5 s is 0.5 s late */
	ck_assert_uint_eq(r.n_dropped, 0);
	ck_assert(r.has_next && r.next_ms == L + 35500);
	/* item 2: a start still ahead is the next fire */
	lc       = (pj_lifecycle) { L + 100000, 0 };
	o.policy = PJ_MISFIRE_FIRE_ONCE_NOW;
	ck_assert_int_eq(pj_timing_misfire(&t, &lc, L, L + 35000, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 0);
	ck_assert_uint_eq(r.n_due, 0);
	ck_assert(r.has_next && r.next_ms == L + 100000);
	pj_tz_cache_fini();
}
END_TEST

/* item 3: DAILY_TIME_INTERVAL's missed fires are its own times */
START_TEST(test_misfire_daily_times)
{
	pj_timing         t;
	int64_t           buf[16];
	pj_misfire_result r = { .fire_ms = buf };
	pj_misfire_opts   o = { PJ_MISFIRE_FIRE_ALL, 180000, 16, 1000 };
	init_ok(&t, PJ_TIME_DAILY_TIME_INTERVAL,
	    "{\"interval\":1,\"intervalUnit\":\"MINUTES\","
	    "\"startTimeOfDay\":\"09:00:00\",\"endTimeOfDay\":\"17:00:00\"}",
	    "UTC");
	ck_assert_int_eq(pj_timing_misfire(&t, NULL, utc(2024, 5, 1, 10, 0, 0),
	                     utc(2024, 5, 1, 10, 10, 30), &o, &r),
	    0);
	ck_assert_uint_eq(r.n_fire, 3);
	ck_assert_int_eq(buf[0], utc(2024, 5, 1, 10, 8, 0));
	ck_assert_int_eq(buf[1], utc(2024, 5, 1, 10, 9, 0));
	ck_assert_int_eq(buf[2], utc(2024, 5, 1, 10, 10, 0));
	ck_assert_uint_eq(r.n_due, 10);
	ck_assert_uint_eq(r.n_dropped, 7);
	/* PowerJob's next: inRange(now + interval) */
	ck_assert(r.has_next && r.next_ms == utc(2024, 5, 1, 10, 11, 30));

	/* Berlin's autumn day: the eight fires of test_daily_dst_days */
	init_ok(&t, PJ_TIME_DAILY_TIME_INTERVAL,
	    "{\"interval\":20,\"intervalUnit\":\"MINUTES\","
	    "\"startTimeOfDay\":\"01:00:00\",\"endTimeOfDay\":\"02:30:00\"}",
	    "Europe/Berlin");
	o = (pj_misfire_opts) { PJ_MISFIRE_FIRE_ALL, 0, 16, 1000 };
	ck_assert_int_eq(
	    pj_timing_misfire(&t, NULL, utc(2024, 10, 26, 12, 0, 0),
	        utc(2024, 10, 27, 3, 0, 0), &o, &r),
	    0);
	ck_assert_uint_eq(r.n_fire, 8);
	ck_assert_str_eq(iso(&t, buf[0]), "2024-10-27T01:00:00+02:00");
	ck_assert_str_eq(iso(&t, buf[5]), "2024-10-27T02:40:00+02:00");
	ck_assert_str_eq(iso(&t, buf[6]), "2024-10-27T02:00:00+01:00");
	ck_assert_str_eq(iso(&t, buf[7]), "2024-10-27T02:20:00+01:00");
	pj_tz_cache_fini();
}
END_TEST

/* misfire's runs and pj_timing_next's chain are the same fire times, for
 * daily intervals across DST days, weekdays and the lifecycle */
START_TEST(test_misfire_runs_match_chain)
{
	static const char *const exprs[] = {
		"{\"interval\":7,\"intervalUnit\":\"MINUTES\","
		"\"startTimeOfDay\":\"00:00:00\",\"endTimeOfDay\":\"02:59:"
		"59\"}",
		"{\"interval\":25,\"intervalUnit\":\"HOURS\","
		"\"startTimeOfDay\":\"01:30:00\",\"endTimeOfDay\":\"23:00:"
		"00\"}",
		"{\"interval\":10,\"startTimeOfDay\":\"02:00:00\","
		"\"endTimeOfDay\":\"02:59:59\",\"daysOfWeek\":[5,7]}",
	};
	static const char *const zones[]
	    = { "Europe/Berlin", "Africa/Cairo", "America/New_York" };
	static int64_t buf[4096];
	for (size_t e = 0; e < 3; e++) {
		for (size_t z = 0; z < 3; z++) {
			pj_timing         t;
			pj_misfire_result r = { .fire_ms = buf };
			pj_misfire_opts   o
			    = { PJ_MISFIRE_FIRE_ALL, 0, 4096, 1 };
			pj_lifecycle lc   = { utc(2024, 3, 29, 5, 0, 0),
				  utc(2024, 4, 27, 0, 0, 0) };
			int64_t      last = utc(2024, 3, 28, 0, 0, 0);
			int64_t      now  = utc(2024, 4, 28, 0, 0, 0);
			init_ok(&t, PJ_TIME_DAILY_TIME_INTERVAL, exprs[e],
			    zones[z]);
			ck_assert_int_eq(
			    pj_timing_misfire(&t, &lc, last, now, &o, &r), 0);
			ck_assert_uint_lt(r.n_fire, 4096);
			/* the chain as the scheduler would walk it */
			int64_t      prev  = last, next;
			size_t       n     = 0;
			pj_lifecycle ahead = lc;
			while (
			    pj_timing_next(&t, &ahead, prev, prev, &next) == 0
			    && next <= now) {
				ck_assert_uint_lt(n, r.n_fire);
				ck_assert_int_eq(buf[n], next);
				n++;
				prev = next;
			}
			ck_assert_uint_eq(n, r.n_fire);
			ck_assert_uint_eq(n, r.n_due);
		}
	}
	pj_tz_cache_fini();
}
END_TEST

/* item 4: a fire at most the threshold late is fired, whatever the policy */
START_TEST(test_misfire_threshold)
{
	pj_timing         t;
	int64_t           buf[4];
	pj_misfire_result r    = { .fire_ms = buf };
	pj_misfire_opts   o    = { PJ_MISFIRE_SKIP, 0, 4, 0 }; /* 60 s */
	int64_t           last = utc(2024, 5, 1, 10, 0, 0);
	init_ok(&t, PJ_TIME_CRON, "0 * * * * ?", "UTC");
	ck_assert_int_eq(
	    pj_timing_misfire(&t, NULL, last, last + 60000, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 1);
	ck_assert_int_eq(buf[0], last + 60000);
	ck_assert_uint_eq(r.n_missed, 0);
	ck_assert_uint_eq(r.n_dropped, 0);
	ck_assert_int_eq(
	    pj_timing_misfire(&t, NULL, last, last + 60005, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 1);
	ck_assert_int_eq(buf[0], last + 60000);
	/* at 10:02:01, 10:01 is 61 s late (missed), 10:02 is on time */
	ck_assert_int_eq(
	    pj_timing_misfire(&t, NULL, last, last + 121000, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 1);
	ck_assert_int_eq(buf[0], last + 120000);
	ck_assert_uint_eq(r.n_missed, 1);
	ck_assert_uint_eq(r.n_dropped, 1);
	/* configurable: 1 s */
	o.threshold_ms = 1000;
	ck_assert_int_eq(
	    pj_timing_misfire(&t, NULL, last, last + 60005, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 1);
	ck_assert_int_eq(
	    pj_timing_misfire(&t, NULL, last, last + 62000, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 0);
	ck_assert_uint_eq(r.n_missed, 1);
	ck_assert_uint_eq(r.n_dropped, 1);
	pj_tz_cache_fini();
}
END_TEST

/* item 5: due, missed and dropped for ten missed fires */
START_TEST(test_misfire_counts)
{
	pj_timing         t;
	int64_t           buf[16];
	pj_misfire_result r    = { .fire_ms = buf };
	int64_t           last = utc(2024, 5, 1, 10, 0, 0);
	int64_t           now  = utc(2024, 5, 1, 10, 10, 30);
	pj_misfire_opts   o    = { PJ_MISFIRE_SKIP, 0, 16, 1000 };
	init_ok(&t, PJ_TIME_CRON, "0 * * * * ?", "UTC");
	ck_assert_int_eq(pj_timing_misfire(&t, NULL, last, now, &o, &r), 0);
	ck_assert(r.n_due == 10 && r.n_missed == 10 && r.n_dropped == 10
	    && r.n_fire == 0);
	o.policy = PJ_MISFIRE_FIRE_ONCE_NOW;
	ck_assert_int_eq(pj_timing_misfire(&t, NULL, last, now, &o, &r), 0);
	ck_assert(r.n_due == 10 && r.n_missed == 10 && r.n_dropped == 9
	    && r.n_fire == 1);
	ck_assert_int_eq(buf[0], utc(2024, 5, 1, 10, 1, 0));
	o = (pj_misfire_opts) { PJ_MISFIRE_FIRE_ALL, 180000, 16, 1000 };
	ck_assert_int_eq(pj_timing_misfire(&t, NULL, last, now, &o, &r), 0);
	ck_assert(r.n_due == 10 && r.n_missed == 10 && r.n_dropped == 7
	    && r.n_fire == 3);
	/* the lifecycle ends at 10:05, before the window: 5 due, 5 dropped */
	pj_lifecycle lc = { 0, utc(2024, 5, 1, 10, 5, 0) };
	ck_assert_int_eq(pj_timing_misfire(&t, &lc, last, now, &o, &r), 0);
	ck_assert(r.n_due == 5 && r.n_missed == 5 && r.n_dropped == 5
	    && r.n_fire == 0 && !r.has_next);
	pj_tz_cache_fini();
}
END_TEST

/* item 6: the latest CAP fires, however many were due */
START_TEST(test_misfire_latest)
{
	pj_timing         t;
	int64_t           buf[3];
	pj_misfire_result r = { .fire_ms = buf };
	pj_misfire_opts   o = { PJ_MISFIRE_FIRE_ALL, 0, 3, 0 };
	int64_t           L = utc(2024, 5, 1, 10, 0, 0);
	/* FIXED_RATE 1 ms, 20 minutes down: 1,200,000 fires */
	int64_t now = L + 1200000;
	init_ok(&t, PJ_TIME_FIXED_RATE, "1", "UTC");
	ck_assert_int_eq(pj_timing_misfire(&t, NULL, L, now, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 3);
	ck_assert_int_eq(buf[0], now - 2);
	ck_assert_int_eq(buf[1], now - 1);
	ck_assert_int_eq(buf[2], now);
	ck_assert_uint_eq(r.n_due, 1200000);
	ck_assert_uint_eq(r.n_missed, 1139999); /* older than now - 60 s */
	ck_assert_uint_eq(r.n_dropped, 1199997);
	ck_assert(!r.partial);
	ck_assert(r.has_next && r.next_ms == now + 1);
	/* CRON every second, 14 days down: 1,209,600 fires, counted to a
	 * million; the latest three are still exact */
	init_ok(&t, PJ_TIME_CRON, "* * * * * ?", "UTC");
	now = L + 14 * 86400000LL;
	ck_assert_int_eq(pj_timing_misfire(&t, NULL, L, now, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 3);
	ck_assert_int_eq(buf[0], now - 2000);
	ck_assert_int_eq(buf[1], now - 1000);
	ck_assert_int_eq(buf[2], now);
	ck_assert(r.partial);
	ck_assert_uint_eq(r.n_due, 1000000);
	pj_tz_cache_fini();
}
END_TEST

/* item 7: last_ms = 0 is "never fired", as for pj_timing_next */
START_TEST(test_misfire_never_fired)
{
	pj_timing         t;
	int64_t           buf[4];
	pj_misfire_result r   = { .fire_ms = buf };
	pj_misfire_opts   o   = { PJ_MISFIRE_FIRE_ONCE_NOW, 0, 4, 0 };
	int64_t           now = utc(2024, 5, 1, 10, 5, 30);
	init_ok(&t, PJ_TIME_CRON, "0 * * * * ?", "UTC");
	ck_assert_int_eq(pj_timing_misfire(&t, NULL, 0, now, &o, &r), 0);
	ck_assert_uint_eq(r.n_fire, 0);
	ck_assert_uint_eq(r.n_due, 0);
	ck_assert(r.has_next && r.next_ms == utc(2024, 5, 1, 10, 6, 0));
	pj_tz_cache_fini();
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("timing_misfire");
	TCase *tc = tcase_create("misfire");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_misfire);
	tcase_add_test(tc, test_misfire_rate_lifecycle);
	tcase_add_test(tc, test_misfire_daily_times);
	tcase_add_test(tc, test_misfire_runs_match_chain);
	tcase_add_test(tc, test_misfire_threshold);
	tcase_add_test(tc, test_misfire_counts);
	tcase_add_test(tc, test_misfire_latest);
	tcase_add_test(tc, test_misfire_never_fired);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
