/*
 * server/timing.c: the time expression types and their validation,
 * lifecycle windows, daily time intervals (across midnight and weekdays),
 * every misfire policy, and the `pj-server cron-next` command as operators
 * run it (the real program, from PJ_BIN).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "server/timing/timing.h"
#include "t/timing_util.h"

START_TEST(test_validation)
{
	pj_timing t;
	char      err[PJ_TIMING_ERR_MAX];
	init_bad(PJ_TIME_FIXED_RATE, "0",
	    "fixed-rate interval 0 is out of range 1-120000 ms");
	init_bad(PJ_TIME_FIXED_RATE, "120001",
	    "fixed-rate interval 120001 is out of range 1-120000 ms");
	init_bad(PJ_TIME_FIXED_DELAY, "1.5s",
	    "fixed-delay interval '1.5s' is not a whole number of "
	    "milliseconds");
	init_bad(PJ_TIME_FIXED_DELAY, "", "fixed-delay interval is missing");
	init_bad(PJ_TIME_FIXED_RATE, NULL, "fixed-rate interval is missing");
	init_bad(PJ_TIME_CRON, "0 0 0 32 * ?",
	    "day-of-month 32 is out of range 1-31");
	init_bad((pj_time_type) 7, "x",
	    "time expression type 7 is unknown (1 API, 2 CRON, 3 FIXED_RATE, "
	    "4 FIXED_DELAY, 5 WORKFLOW, 11 DAILY_TIME_INTERVAL)");
	ck_assert_int_eq(pj_timing_init(&t, PJ_TIME_CRON, "0 0 3 * * ?",
	                     "Nowhere/City", 0, err, sizeof(err)),
	    PJ_TIMING_EINVAL);
	ck_assert_str_eq(err, "time zone 'Nowhere/City' is unknown");
	/* the maximum is configurable, as in PowerJob */
	ck_assert_int_eq(pj_timing_init(&t, PJ_TIME_FIXED_RATE, "150000",
	                     "UTC", 200000, err, sizeof(err)),
	    0);
	ck_assert_int_eq(t.interval_ms, 150000);
	init_ok(&t, PJ_TIME_FIXED_RATE, "1", "UTC");
	init_ok(&t, PJ_TIME_FIXED_DELAY, "120000", "UTC");
	/* API and WORKFLOW ignore their expression */
	init_ok(&t, PJ_TIME_API, "whatever", "UTC");
	init_ok(&t, PJ_TIME_WORKFLOW, NULL, NULL);
	pj_tz_cache_fini();
}
END_TEST

START_TEST(test_next_types)
{
	pj_timing t;
	int64_t   n, now = utc(2024, 5, 1, 10, 0, 0);
	/* CRON: next after prev; a prev in the past is replaced by now */
	init_ok(&t, PJ_TIME_CRON, "0 0 * * * ?", "Europe/Berlin");
	ck_assert_int_eq(pj_timing_next(&t, NULL, now + 3600000, now, &n), 0);
	ck_assert_str_eq(iso(&t, n), "2024-05-01T14:00:00+02:00");
	ck_assert_int_eq(pj_timing_next(&t, NULL, now - 86400000, now, &n), 0);
	ck_assert_str_eq(iso(&t, n), "2024-05-01T13:00:00+02:00");
	ck_assert_int_eq(pj_timing_next(&t, NULL, 0, now, &n), 0);
	ck_assert_str_eq(iso(&t, n), "2024-05-01T13:00:00+02:00");
	/* FIXED_RATE: prev + rate */
	init_ok(&t, PJ_TIME_FIXED_RATE, "5000", "UTC");
	ck_assert_int_eq(pj_timing_next(&t, NULL, now + 1, now, &n), 0);
	ck_assert_int_eq(n, now + 5001);
	/* FIXED_DELAY, API, WORKFLOW: never fired by time */
	init_ok(&t, PJ_TIME_FIXED_DELAY, "5000", "UTC");
	ck_assert_int_eq(
	    pj_timing_next(&t, NULL, now, now, &n), PJ_TIMING_ENONE);
	init_ok(&t, PJ_TIME_API, NULL, "UTC");
	ck_assert_int_eq(
	    pj_timing_next(&t, NULL, now, now, &n), PJ_TIMING_ENONE);
	init_ok(&t, PJ_TIME_WORKFLOW, NULL, "UTC");
	ck_assert_int_eq(
	    pj_timing_next(&t, NULL, now, now, &n), PJ_TIMING_ENONE);
	/* an expression whose years are over */
	init_ok(&t, PJ_TIME_CRON, "0 0 0 1 1 ? 2020", "UTC");
	ck_assert_int_eq(
	    pj_timing_next(&t, NULL, 0, now, &n), PJ_TIMING_ENONE);
	pj_tz_cache_fini();
}
END_TEST

START_TEST(test_lifecycle)
{
	pj_timing    t;
	pj_lifecycle lc;
	char         err[PJ_TIMING_ERR_MAX];
	int64_t      n, now = utc(2024, 5, 1, 10, 0, 0);

	ck_assert_int_eq(pj_lifecycle_parse("{\"start\": 1714600000000, "
	                                    "\"end\": 1714700000000}",
	                     &lc, err, sizeof(err)),
	    0);
	ck_assert(
	    lc.start_ms == 1714600000000LL && lc.end_ms == 1714700000000LL);
	ck_assert_int_eq(pj_lifecycle_parse("{\"start\":null,\"x\":[1,{}]}",
	                     &lc, err, sizeof(err)),
	    0);
	ck_assert(lc.start_ms == 0 && lc.end_ms == 0);
	ck_assert_int_eq(pj_lifecycle_parse("", &lc, err, sizeof(err)), 0);
	ck_assert_int_eq(pj_lifecycle_parse(NULL, &lc, err, sizeof(err)), 0);
	ck_assert_int_eq(
	    pj_lifecycle_parse("{\"start\":\"soon\"}", &lc, err, sizeof(err)),
	    PJ_TIMING_EINVAL);
	ck_assert_str_eq(err, "lifecycle start 'soon' is not a whole number");
	ck_assert_int_eq(
	    pj_lifecycle_parse("{\"end\":-5}", &lc, err, sizeof(err)),
	    PJ_TIMING_EINVAL);
	ck_assert_str_eq(
	    err, "lifecycle end -5 is negative (epoch milliseconds)");
	ck_assert_int_eq(
	    pj_lifecycle_parse("{\"start\":1} x", &lc, err, sizeof(err)),
	    PJ_TIMING_EINVAL);
	ck_assert_str_eq(err, "lifecycle: unexpected text after the object");

	lc = (pj_lifecycle) { now + 10, now + 5 };
	ck_assert_int_eq(pj_lifecycle_validate(&lc, now, err, sizeof(err)),
	    PJ_TIMING_EINVAL);
	ck_assert_str_eq(err,
	    "lifecycle start 1714557600010 is after end "
	    "1714557600005");
	lc = (pj_lifecycle) { 0, now };
	ck_assert_int_eq(pj_lifecycle_validate(&lc, now, err, sizeof(err)),
	    PJ_TIMING_EINVAL);
	ck_assert_str_eq(err,
	    "lifecycle end 1714557600000 is not in the "
	    "future (now 1714557600000)");
	lc = (pj_lifecycle) { now, now + 1 };
	ck_assert_int_eq(pj_lifecycle_validate(&lc, now, err, sizeof(err)), 0);

	/* CRON: a start still ahead gives the first fire >= start ... */
	init_ok(&t, PJ_TIME_CRON, "0 0/15 * * * ?", "UTC");
	lc = (pj_lifecycle) { utc(2024, 5, 3, 8, 7, 0),
		utc(2024, 5, 3, 9, 0, 0) };
	ck_assert_int_eq(pj_timing_next(&t, &lc, 0, now, &n), 0);
	ck_assert_str_eq(iso(&t, n), "2024-05-03T08:15:00+00:00");
	/* ... and a start exactly on a fire time fires at start */
	lc.start_ms = utc(2024, 5, 3, 8, 0, 0);
	ck_assert_int_eq(pj_timing_next(&t, &lc, 0, now, &n), 0);
	ck_assert_str_eq(iso(&t, n), "2024-05-03T08:00:00+00:00");
	/* the end is inclusive; nothing after it */
	ck_assert_int_eq(
	    pj_timing_next(&t, &lc, utc(2024, 5, 3, 8, 45, 0), now, &n), 0);
	ck_assert_str_eq(iso(&t, n), "2024-05-03T09:00:00+00:00");
	ck_assert_int_eq(
	    pj_timing_next(&t, &lc, utc(2024, 5, 3, 9, 0, 0), now, &n),
	    PJ_TIMING_ENONE);
	/* a start in the past no longer matters */
	lc = (pj_lifecycle) { now - 3600000, 0 };
	ck_assert_int_eq(pj_timing_next(&t, &lc, 0, now, &n), 0);
	ck_assert_str_eq(iso(&t, n), "2024-05-01T10:15:00+00:00");

	/* FIXED_RATE: start if ahead, else prev + rate; null beyond end */
	init_ok(&t, PJ_TIME_FIXED_RATE, "60000", "UTC");
	lc = (pj_lifecycle) { now + 3600000, now + 3660000 };
	ck_assert_int_eq(pj_timing_next(&t, &lc, 0, now, &n), 0);
	ck_assert_int_eq(n, now + 3600000);
	ck_assert_int_eq(pj_timing_next(&t, &lc, now + 3600000, now, &n), 0);
	ck_assert_int_eq(n, now + 3660000);
	ck_assert_int_eq(
	    pj_timing_next(&t, &lc, now + 3660000, now, &n), PJ_TIMING_ENONE);
	pj_tz_cache_fini();
}
END_TEST

START_TEST(test_daily)
{
	pj_timing t;
	pj_daily  d;
	char      err[PJ_TIMING_ERR_MAX];
	int64_t   n, now;

	/* every 30 minutes from 22:00 to 23:59:59, Mon/Wed/Fri (1 = Monday) */
	init_ok(&t, PJ_TIME_DAILY_TIME_INTERVAL,
	    "{\"interval\": 30, \"intervalUnit\": \"MINUTES\", "
	    "\"startTimeOfDay\": \"22:00:00\", \"endTimeOfDay\": "
	    "\"23:59:59\", "
	    "\"daysOfWeek\": [1, 3, 5]}",
	    "Europe/Berlin");
	ck_assert_int_eq(t.daily.interval_ms, 1800000);
	/* 2024-05-03 is a Friday */
	now = utc(2024, 5, 3, 8, 0, 0);
	ck_assert_int_eq(pj_timing_next(&t, NULL, 0, now, &n), 0);
	ck_assert_str_eq(iso(&t, n), "2024-05-03T22:00:00+02:00");
	ck_assert_int_eq(pj_timing_next(&t, NULL, n, now, &n), 0);
	ck_assert_str_eq(iso(&t, n), "2024-05-03T22:30:00+02:00");
	/* 23:30 + 30 min crosses midnight into Saturday: on to Monday 22:00 */
	int64_t last = utc(2024, 5, 3, 21, 30, 0); /* 23:30 local */
	ck_assert_int_eq(pj_timing_next(&t, NULL, last, now, &n), 0);
	ck_assert_str_eq(iso(&t, n), "2024-05-06T22:00:00+02:00");

	/* every 2 hours all day, every day, across midnight */
	init_ok(&t, PJ_TIME_DAILY_TIME_INTERVAL,
	    "{\"interval\":7200,\"startTimeOfDay\":\"00:00:00\","
	    "\"endTimeOfDay\":\"23:59:59\",\"daysOfWeek\":[]}",
	    "UTC");
	now = utc(2024, 5, 3, 23, 0, 0);
	ck_assert_int_eq(pj_timing_next(&t, NULL, now, now, &n), 0);
	ck_assert_str_eq(iso(&t, n), "2024-05-04T01:00:00+00:00");

	/* a window inside the day: 09:00-17:00, hourly; after 17:00 next day
	 */
	init_ok(&t, PJ_TIME_DAILY_TIME_INTERVAL,
	    "{\"interval\":1,\"intervalUnit\":\"HOURS\","
	    "\"startTimeOfDay\":\"09:00:00\",\"endTimeOfDay\":\"17:00:00\"}",
	    "America/New_York");
	now = utc(2024, 5, 3, 20, 30, 0); /* 16:30 local */
	ck_assert_int_eq(pj_timing_next(&t, NULL, now, now, &n), 0);
	ck_assert_str_eq(iso(&t, n), "2024-05-04T09:00:00-04:00");
	now = utc(2024, 5, 3, 20, 0, 0); /* 16:00 local: 17:00 is inside */
	ck_assert_int_eq(pj_timing_next(&t, NULL, now, now, &n), 0);
	ck_assert_str_eq(iso(&t, n), "2024-05-03T17:00:00-04:00");
	/* lifecycle start ahead: inRange(start) */
	pj_lifecycle lc = { utc(2024, 6, 1, 3, 0, 0), 0 }; /* 23:00 May 31 */
	ck_assert_int_eq(pj_timing_next(&t, &lc, 0, now, &n), 0);
	ck_assert_str_eq(iso(&t, n), "2024-06-01T09:00:00-04:00");

	/* validation */
	static const struct {
		const char *json, *msg;
	} bad[] = {
		{ "{\"startTimeOfDay\":\"09:00:00\",\"endTimeOfDay\":"
		  "\"17:00:00\"}",
		    "daily time interval: interval is missing" },
		{ "{\"interval\":5,\"endTimeOfDay\":\"17:00:00\"}",
		    "daily time interval: startTimeOfDay is missing" },
		{ "{\"interval\":5,\"startTimeOfDay\":\"18:00:00\","
		  "\"endTimeOfDay\":\"17:00:00\"}",
		    "daily time interval: endTimeOfDay is before "
		    "startTimeOfDay" },
		{ "{\"interval\":0,\"startTimeOfDay\":\"09:00:00\","
		  "\"endTimeOfDay\":\"17:00:00\"}",
		    "daily time interval: interval 0 is out of range (more "
		    "than 0, at most a year)" },
		{ "{\"interval\":5,\"intervalUnit\":\"WEEKS\"}",
		    "daily time interval: intervalUnit 'WEEKS' is not one of "
		    "NANOSECONDS, MICROSECONDS, MILLISECONDS, SECONDS, "
		    "MINUTES, HOURS, DAYS" },
		{ "{\"interval\":5,\"intervalUnit\":\"NANOSECONDS\","
		  "\"startTimeOfDay\":\"09:00:00\",\"endTimeOfDay\":"
		  "\"17:00:00\"}",
		    "daily time interval: interval 5 NANOSECONDS is not a "
		    "whole number of milliseconds" },
		{ "{\"interval\":5,\"daysOfWeek\":[0]}",
		    "daily time interval: daysOfWeek 0 is out of range 1-7 (1 "
		    "= Monday)" },
		{ "{\"interval\":5,\"startTimeOfDay\":\"9:00\"}",
		    "daily time interval: startTimeOfDay '9:00' is not "
		    "HH:mm:ss" },
		{ "{\"interval\":5,\"startTimeOfDay\":\"+1:00:00\"}",
		    "daily time interval: startTimeOfDay '+1:00:00' is not "
		    "HH:mm:ss" },
		{ "{\"interval\":5,\"startTimeOfDay\":\"24:00:00\"}",
		    "daily time interval: startTimeOfDay '24:00:00' is not a "
		    "time of day" },
		{ "[1]", "daily time interval: expected a JSON object" },
		{ "{\"interval\":1.5}",
		    "daily time interval: interval 1.5 is not a whole "
		    "number" },
		{ "{\"interval\":5",
		    "daily time interval: invalid JSON at character 13 (field "
		    "interval): '}' expected near end of file" },
		{ "{\"interval\":1e30}",
		    "daily time interval: interval 1e+30 is not a whole "
		    "number" },
		{ "{\"interval\":99999999999999999999}",
		    "daily time interval: invalid JSON at character 32 (field "
		    "interval): too big integer near '99999999999999999999'" },
		{ "{\"interval\":5} x",
		    "daily time interval: unexpected text after the object" },
		{ "{\"daysOfWeek\":5}",
		    "daily time interval: daysOfWeek: must be a list of 1-7" },
		{ "{\"x\":\"\\u00e9\",\"interval\":\"\xff\"}",
		    "daily time interval: invalid JSON at character 26 (field "
		    "interval): unable to decode byte 0xff near '\"'" },
		{ "", "daily time interval: expected a JSON object" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(
		    pj_daily_parse(bad[i].json, &d, err, sizeof(err)),
		    PJ_TIMING_EINVAL);
		ck_assert_str_eq(err, bad[i].msg);
	}
	ck_assert_int_eq(
	    pj_daily_parse(NULL, &d, err, sizeof(err)), PJ_TIMING_EINVAL);
	pj_tz_cache_fini();
}
END_TEST

/* ---- issue 14 ----------------------------------------------------------- */

/* the ISO local times of the next N fires from prev, each the previous fire */
static void
chain(const pj_timing *t, int64_t prev, int64_t now, int n,
    const char *const *want)
{
	for (int i = 0; i < n; i++) {
		int64_t next;
		ck_assert_msg(pj_timing_next(t, NULL, prev, now, &next) == 0,
		    "fire %d: none, want %s", i, want[i]);
		ck_assert_str_eq(iso(t, next), want[i]);
		prev = next;
	}
}

/* item 8: lifecycle times are bounded when parsed; no overflow */
START_TEST(test_lifecycle_bound)
{
	pj_lifecycle lc;
	pj_timing    t;
	char         err[PJ_TIMING_ERR_MAX];
	int64_t      n, now = utc(2024, 5, 1, 10, 0, 0);

	ck_assert_int_eq(pj_lifecycle_parse("{\"start\": 9223372036854775000}",
	                     &lc, err, sizeof(err)),
	    PJ_TIMING_EINVAL);
	ck_assert_str_eq(err,
	    "lifecycle start 9223372036854775000 is not before the year "
	    "10000 (epoch milliseconds)");
	/* 253402300800000 is 10000-01-01T00:00:00Z */
	ck_assert_int_eq(pj_lifecycle_parse("{\"end\": 253402300800000}", &lc,
	                     err, sizeof(err)),
	    PJ_TIMING_EINVAL);
	ck_assert_str_eq(err,
	    "lifecycle end 253402300800000 is not before the year 10000 "
	    "(epoch milliseconds)");
	ck_assert_int_eq(pj_lifecycle_parse("{\"end\": 253402300799999}", &lc,
	                     err, sizeof(err)),
	    0);
	ck_assert(lc.end_ms == 253402300799999LL);
	/* a window built by hand is held to the same bound */
	lc = (pj_lifecycle) { 9223372036854775000LL, 0 };
	ck_assert_int_eq(pj_lifecycle_validate(&lc, now, err, sizeof(err)),
	    PJ_TIMING_EINVAL);
	ck_assert_str_eq(err,
	    "lifecycle start 9223372036854775000 is not before the year "
	    "10000 (epoch milliseconds)");

	/* such a start is never reached: no fire, not "due at once" */
	init_ok(&t, PJ_TIME_DAILY_TIME_INTERVAL,
	    "{\"interval\":1,\"intervalUnit\":\"HOURS\","
	    "\"startTimeOfDay\":\"09:00:00\",\"endTimeOfDay\":\"17:00:00\"}",
	    "UTC");
	ck_assert_int_eq(pj_timing_next(&t, &lc, 0, now, &n), PJ_TIMING_ENONE);
	ck_assert_int_eq(pj_timing_next(&t, NULL, INT64_MAX - 10, now, &n),
	    PJ_TIMING_ENONE);
	/* and a "now" at the other end is held, not wrapped around */
	ck_assert_int_eq(pj_timing_next(&t, NULL, 0, INT64_MIN, &n), 0);
	ck_assert(n < 0);
	init_ok(&t, PJ_TIME_FIXED_RATE, "120000", "UTC");
	ck_assert_int_eq(pj_timing_next(&t, &lc, 0, now, &n), PJ_TIMING_ENONE);
	ck_assert_int_eq(pj_timing_next(&t, NULL, INT64_MAX - 10, now, &n),
	    PJ_TIMING_ENONE);
	init_ok(&t, PJ_TIME_CRON, "0 0 * * * ?", "UTC");
	ck_assert_int_eq(pj_timing_next(&t, &lc, 0, now, &n), PJ_TIMING_ENONE);
	pj_tz_cache_fini();
}
END_TEST

/* item 9: Cairo's DST starts at midnight; a Friday-only window is never
 * moved to a Saturday */
START_TEST(test_daily_weekday_gap)
{
	pj_timing t;
	init_ok(&t, PJ_TIME_DAILY_TIME_INTERVAL,
	    "{\"interval\":10,\"intervalUnit\":\"MINUTES\","
	    "\"startTimeOfDay\":\"00:00:00\",\"endTimeOfDay\":\"00:30:00\","
	    "\"daysOfWeek\":[5]}",
	    "Africa/Cairo");
	/* Friday 2024-04-19 00:30 +02:00, the last fire of that Friday */
	int64_t                  prev   = utc(2024, 4, 18, 22, 30, 0);
	static const char *const want[] = {
		"2024-04-26T01:00:00+03:00", /* 00:00 is in the gap */
		"2024-04-26T01:10:00+03:00",
		"2024-04-26T01:20:00+03:00",
		"2024-04-26T01:30:00+03:00",
		"2024-05-03T00:00:00+03:00",
	};
	chain(&t, prev, prev, 5, want);
	pj_tz_cache_fini();
}
END_TEST

/* item 10: the three DST days of the issue, with PowerJob's fire times */
START_TEST(test_daily_dst_days)
{
	pj_timing t;
	/* Berlin 2024-03-31: 02:00-02:30 is in the gap, shifted to 03:00-03:30
	 */
	init_ok(&t, PJ_TIME_DAILY_TIME_INTERVAL,
	    "{\"interval\":10,\"intervalUnit\":\"MINUTES\","
	    "\"startTimeOfDay\":\"02:00:00\",\"endTimeOfDay\":\"02:30:00\"}",
	    "Europe/Berlin");
	static const char *const spring[] = {
		"2024-03-30T02:00:00+01:00",
		"2024-03-30T02:10:00+01:00",
		"2024-03-30T02:20:00+01:00",
		"2024-03-30T02:30:00+01:00",
		"2024-03-31T03:00:00+02:00",
		"2024-03-31T03:10:00+02:00",
		"2024-03-31T03:20:00+02:00",
		"2024-03-31T03:30:00+02:00",
		"2024-04-01T02:00:00+02:00",
	};
	int64_t now = utc(2024, 3, 29, 12, 0, 0);
	chain(&t, now, now, 9, spring);

	/* Berlin 2024-10-27: 01:00-02:30 runs from 01:00 CEST to 02:30 CET,
	 * 2.5 hours: eight fires every 20 minutes */
	init_ok(&t, PJ_TIME_DAILY_TIME_INTERVAL,
	    "{\"interval\":20,\"intervalUnit\":\"MINUTES\","
	    "\"startTimeOfDay\":\"01:00:00\",\"endTimeOfDay\":\"02:30:00\"}",
	    "Europe/Berlin");
	static const char *const autumn[] = {
		"2024-10-27T01:00:00+02:00",
		"2024-10-27T01:20:00+02:00",
		"2024-10-27T01:40:00+02:00",
		"2024-10-27T02:00:00+02:00",
		"2024-10-27T02:20:00+02:00",
		"2024-10-27T02:40:00+02:00",
		"2024-10-27T02:00:00+01:00",
		"2024-10-27T02:20:00+01:00",
		"2024-10-28T01:00:00+01:00",
	};
	now = utc(2024, 10, 26, 12, 0, 0);
	chain(&t, now, now, 9, autumn);

	/* Cairo 2024-04-26: 00:00-00:30 is in the midnight gap: 01:00-01:30 */
	init_ok(&t, PJ_TIME_DAILY_TIME_INTERVAL,
	    "{\"interval\":10,\"intervalUnit\":\"MINUTES\","
	    "\"startTimeOfDay\":\"00:00:00\",\"endTimeOfDay\":\"00:30:00\"}",
	    "Africa/Cairo");
	static const char *const cairo[] = {
		"2024-04-26T01:00:00+03:00",
		"2024-04-26T01:10:00+03:00",
		"2024-04-26T01:20:00+03:00",
		"2024-04-26T01:30:00+03:00",
		/* PowerJob goes on to 04-28: its "next day 00:00" is taken
		 * from the gap-shifted 01:00, so Saturday's 00:00-00:30 is
		 * already over; here dates are dates */
		"2024-04-27T00:00:00+03:00",
	};
	now = utc(2024, 4, 25, 12, 0, 0); /* Thursday 14:00 */
	chain(&t, now, now, 5, cairo);
	pj_tz_cache_fini();
}
END_TEST

/* item 11: the window's end is 17:00:00.000 */
START_TEST(test_daily_end_ms)
{
	pj_timing t;
	int64_t   n;
	init_ok(&t, PJ_TIME_DAILY_TIME_INTERVAL,
	    "{\"interval\":1,\"startTimeOfDay\":\"09:00:00\","
	    "\"endTimeOfDay\":\"17:00:00\"}",
	    "UTC");
	int64_t prev = utc(2024, 5, 3, 16, 59, 59) + 400;
	ck_assert_int_eq(pj_timing_next(&t, NULL, prev, prev, &n), 0);
	ck_assert_int_eq(n, utc(2024, 5, 4, 9, 0, 0));
	prev = utc(2024, 5, 3, 16, 59, 59);
	ck_assert_int_eq(pj_timing_next(&t, NULL, prev, prev, &n), 0);
	ck_assert_int_eq(n, utc(2024, 5, 3, 17, 0, 0));
	pj_tz_cache_fini();
}
END_TEST

/* item 12: no fire after the local date 2099-12-31, as for CRON */
START_TEST(test_year_bound)
{
	pj_timing t;
	int64_t   n, now;
	init_ok(&t, PJ_TIME_DAILY_TIME_INTERVAL,
	    "{\"interval\":1,\"intervalUnit\":\"HOURS\","
	    "\"startTimeOfDay\":\"09:00:00\",\"endTimeOfDay\":\"17:00:00\"}",
	    "Europe/Berlin");
	now = utc(2102, 7, 1, 8, 0, 0);
	ck_assert_int_eq(
	    pj_timing_next(&t, NULL, now, now, &n), PJ_TIMING_ENONE);
	now = utc(2099, 7, 1, 8, 0, 0); /* 10:00 CEST */
	ck_assert_int_eq(pj_timing_next(&t, NULL, now, now, &n), 0);
	ck_assert_str_eq(iso(&t, n), "2099-07-01T11:00:00+02:00");
	now = utc(2099, 12, 31, 15, 0, 0); /* 16:00 CET */
	ck_assert_int_eq(pj_timing_next(&t, NULL, now, now, &n), 0);
	ck_assert_str_eq(iso(&t, n), "2099-12-31T17:00:00+01:00");
	ck_assert_int_eq(
	    pj_timing_next(&t, NULL, n, now, &n), PJ_TIMING_ENONE);
	/* FIXED_RATE: its zone's year 2099 too */
	init_ok(&t, PJ_TIME_FIXED_RATE, "1000", "UTC");
	now = utc(2099, 12, 31, 23, 59, 58);
	ck_assert_int_eq(pj_timing_next(&t, NULL, now, now, &n), 0);
	ck_assert_int_eq(n, utc(2099, 12, 31, 23, 59, 59));
	ck_assert_int_eq(
	    pj_timing_next(&t, NULL, n, now, &n), PJ_TIMING_ENONE);
	pj_tz_cache_fini();
}
END_TEST

/* item 13: what PowerJob accepts and is harmless is accepted; the rest is
 * refused with the field named */
START_TEST(test_parse_lenient)
{
	pj_daily     d;
	pj_lifecycle lc;
	char         err[PJ_TIMING_ERR_MAX];
	ck_assert_int_eq(
	    pj_daily_parse(
	        "{\"interval\":\"5\",\"startTimeOfDay\":\"9:00:00\","
	        "\"endTimeOfDay\":\"9:5:7\",\"daysOfWeek\":[\"1\","
	        "\"5\"]}",
	        &d, err, sizeof(err)),
	    0);
	ck_assert_int_eq(d.interval_ms, 5000);
	ck_assert_int_eq(d.start_sod, 9 * 3600);
	ck_assert_int_eq(d.end_sod, 9 * 3600 + 5 * 60 + 7);
	ck_assert_int_eq(d.days, (1 << 1) | (1 << 5));
	ck_assert_int_eq(
	    pj_daily_parse("{\"interval\":5.0,\"intervalUnit\":\"\","
	                   "\"startTimeOfDay\":\"09:00:00\","
	                   "\"endTimeOfDay\":\"17:00:00\"}",
	        &d, err, sizeof(err)),
	    0);
	ck_assert_int_eq(d.interval_ms, 5000);
	ck_assert_int_eq(
	    pj_daily_parse("{\"interval\":5000,\"intervalUnit\":"
	                   "\"MICROSECONDS\",\"startTimeOfDay\":\"09:00:00\","
	                   "\"endTimeOfDay\":\"17:00:00\"}",
	        &d, err, sizeof(err)),
	    0);
	ck_assert_int_eq(d.interval_ms, 5);
	ck_assert_int_eq(
	    pj_daily_parse("{\"interval\":2e6,\"intervalUnit\":"
	                   "\"NANOSECONDS\",\"startTimeOfDay\":\"09:00:00\","
	                   "\"endTimeOfDay\":\"17:00:00\"}",
	        &d, err, sizeof(err)),
	    0);
	ck_assert_int_eq(d.interval_ms, 2);
	ck_assert_int_eq(pj_lifecycle_parse("{\"start\":\"1714600000000\","
	                                    "\"end\":1714700000000.0}",
	                     &lc, err, sizeof(err)),
	    0);
	ck_assert(
	    lc.start_ms == 1714600000000LL && lc.end_ms == 1714700000000LL);

	static const struct {
		const char *json, *msg;
	} bad[] = {
		{ "{\"interval\":null}",
		    "daily time interval: interval must be a whole number, "
		    "not null" },
		{ "{\"interval\":5.5}",
		    "daily time interval: interval 5.5 is not a whole "
		    "number" },
		{ "{\"interval\":\"5s\"}",
		    "daily time interval: interval '5s' is not a whole "
		    "number" },
		{ "{\"interval\":true}",
		    "daily time interval: interval must be a whole number" },
		{ "{\"interval\":1500,\"intervalUnit\":\"MICROSECONDS\","
		  "\"startTimeOfDay\":\"09:00:00\",\"endTimeOfDay\":"
		  "\"17:00:00\"}",
		    "daily time interval: interval 1500 MICROSECONDS is not "
		    "a whole number of milliseconds" },
		{ "{\"interval\":-5,\"startTimeOfDay\":\"09:00:00\","
		  "\"endTimeOfDay\":\"17:00:00\"}",
		    "daily time interval: interval -5 is out of range (more "
		    "than 0, at most a year)" },
		{ "{\"startTimeOfDay\":9}",
		    "daily time interval: startTimeOfDay must be a string "
		    "\"HH:mm:ss\"" },
		{ "{\"endTimeOfDay\":\"009:00:00\"}",
		    "daily time interval: endTimeOfDay '009:00:00' is not "
		    "HH:mm:ss" },
		{ "{\"startTimeOfDay\":\"9:00:00:\"}",
		    "daily time interval: startTimeOfDay '9:00:00:' is not "
		    "HH:mm:ss" },
		{ "{\"daysOfWeek\":[\"8\"]}",
		    "daily time interval: daysOfWeek 8 is out of range 1-7 (1 "
		    "= Monday)" },
		{ "{\"daysOfWeek\":[null]}",
		    "daily time interval: daysOfWeek must be a whole number, "
		    "not null" },
		{ "{\"intervalUnit\":5}",
		    "daily time interval: intervalUnit must be a string" },
		{ "{\"startTimeOfDay\":\"09:00:00",
		    "daily time interval: invalid JSON at character 27 (field "
		    "startTimeOfDay): premature end of input near "
		    "'\"09:00:00'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(
		    pj_daily_parse(bad[i].json, &d, err, sizeof(err)),
		    PJ_TIMING_EINVAL);
		ck_assert_str_eq(err, bad[i].msg);
	}
	static const struct {
		const char *json, *msg;
	} lbad[] = {
		{ "{\"end\":0}",
		    "lifecycle end 0 is 1970-01-01T00:00:00Z, long past: "
		    "leave "
		    "end out or null for no end" },
		{ "{\"end\":\"0\"}",
		    "lifecycle end 0 is 1970-01-01T00:00:00Z, long past: "
		    "leave "
		    "end out or null for no end" },
		{ "{\"start\":\"soon\"}",
		    "lifecycle start 'soon' is not a whole number" },
		{ "{\"start\":[1]}",
		    "lifecycle start must be a whole number" },
	};
	for (size_t i = 0; i < sizeof(lbad) / sizeof(lbad[0]); i++) {
		ck_assert_int_eq(
		    pj_lifecycle_parse(lbad[i].json, &lc, err, sizeof(err)),
		    PJ_TIMING_EINVAL);
		ck_assert_str_eq(err, lbad[i].msg);
	}
	/* a start of 0 is the epoch, long past: the same as no start */
	ck_assert_int_eq(
	    pj_lifecycle_parse("{\"start\":0}", &lc, err, sizeof(err)), 0);
	ck_assert(lc.start_ms == 0);
}
END_TEST

/* ---- the program -------------------------------------------------------- */

static int
run(const char *args, char *out, size_t outlen, char *err, size_t errlen)
{
	const char *bin = getenv("PJ_BIN") ? getenv("PJ_BIN") : "build/bin";
	char        cmd[2048], ef[] = "/tmp/pjcronerr.XXXXXX";
	int         fd = mkstemp(ef);
	ck_assert_int_ge(fd, 0);
	snprintf(cmd, sizeof(cmd), "%s/pj-server %s 2>%s", bin, args, ef);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, outlen - 1, p);
	out[n]   = '\0';
	int   st = pclose(p);
	FILE *e  = fdopen(fd, "r");
	n        = fread(err, 1, errlen - 1, e);
	err[n]   = '\0';
	fclose(e);
	unlink(ef);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(test_program)
{
	char out[4096], err[1024];
	ck_assert_int_eq(run("cron-next '0 30 2 * * ?' --tz Europe/Berlin "
	                     "--from 1711796400000 --count 3",
	                     out, sizeof(out), err, sizeof(err)),
	    0);
	ck_assert_str_eq(out,
	    "1711931400000 2024-04-01T02:30:00+02:00\n"
	    "1712017800000 2024-04-02T02:30:00+02:00\n"
	    "1712104200000 2024-04-03T02:30:00+02:00\n");
	/* default count 5, default zone and start: five lines */
	ck_assert_int_eq(
	    run("cron-next '0 0 3 * * ?'", out, sizeof(out), err, sizeof(err)),
	    0);
	int lines = 0;
	for (char *c = out; *c; c++) {
		lines += *c == '\n';
	}
	ck_assert_int_eq(lines, 5);
	/* no more fires: fewer lines, still success */
	ck_assert_int_eq(run("cron-next '0 0 0 1 1 ? 2099' --from 0", out,
	                     sizeof(out), err, sizeof(err)),
	    0);
	ck_assert_str_eq(out, "4070908800000 2099-01-01T00:00:00+00:00\n");
	/* invalid expression, zone, options: status 2 and the reason */
	ck_assert_int_eq(run("cron-next '0 0 0 32 * ?'", out, sizeof(out), err,
	                     sizeof(err)),
	    2);
	ck_assert_str_eq(out, "");
	ck_assert_str_eq(err,
	    "pj-server cron-next: day-of-month 32 is out of "
	    "range 1-31\n");
	ck_assert_int_eq(run("cron-next '0 0 0 * * ?' --tz Mars/Base", out,
	                     sizeof(out), err, sizeof(err)),
	    2);
	ck_assert_str_eq(
	    err, "pj-server cron-next: time zone 'Mars/Base' is unknown\n");
	ck_assert_int_eq(run("cron-next '0 0 0 * * ?' --count 0", out,
	                     sizeof(out), err, sizeof(err)),
	    2);
	ck_assert_int_eq(run("cron-next '0 0 0 * * ?' --from soon", out,
	                     sizeof(out), err, sizeof(err)),
	    2);
	ck_assert_int_eq(run("cron-next '0 0 0 * * ?' --tz", out, sizeof(out),
	                     err, sizeof(err)),
	    2);
	ck_assert_int_eq(
	    run("cron-next", out, sizeof(out), err, sizeof(err)), 2);
	ck_assert_int_eq(
	    run("no-such-command", out, sizeof(out), err, sizeof(err)), 2);
	ck_assert_int_eq(run("--help", out, sizeof(out), err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(out, "cron-next EXPR"));
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("timing");
	TCase *tc = tcase_create("timing");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_validation);
	tcase_add_test(tc, test_next_types);
	tcase_add_test(tc, test_lifecycle);
	tcase_add_test(tc, test_daily);
	tcase_add_test(tc, test_program);
	tcase_add_test(tc, test_lifecycle_bound);
	tcase_add_test(tc, test_daily_weekday_gap);
	tcase_add_test(tc, test_daily_dst_days);
	tcase_add_test(tc, test_daily_end_ms);
	tcase_add_test(tc, test_year_bound);
	tcase_add_test(tc, test_parse_lenient);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
