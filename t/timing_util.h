/*
 * t/timing_util.h - helpers shared by the timing suites (timing_test.c,
 * timing_misfire_test.c): UTC wall times, ISO formatting in the job's
 * zone, and pj_timing_init that must succeed or fail with a message.
 */
#ifndef PJ_T_TIMING_UTIL_H
#define PJ_T_TIMING_UTIL_H

#include <check.h>

#include "server/timing/timing.h"
/* epoch ms of a UTC wall time */
static inline int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	return (pj_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s)
	    * 1000;
}

static inline const char *
iso(const pj_timing *t, int64_t ms)
{
	static char buf[64];
	pj_tz_format_iso(t->tz, ms, buf, sizeof(buf));
	return buf;
}

static inline void
init_ok(pj_timing *t, pj_time_type type, const char *expr, const char *zone)
{
	char err[PJ_TIMING_ERR_MAX];
	ck_assert_msg(
	    pj_timing_init(t, type, expr, zone, 0, err, sizeof(err)) == 0,
	    "%s: %s", expr ? expr : "(no expression)", err);
}

static inline void
init_bad(pj_time_type type, const char *expr, const char *msg)
{
	pj_timing t;
	char      err[PJ_TIMING_ERR_MAX];
	ck_assert_int_eq(
	    pj_timing_init(&t, type, expr, "UTC", 0, err, sizeof(err)),
	    PJ_TIMING_EINVAL);
	ck_assert_str_eq(err, msg);
}

#endif
