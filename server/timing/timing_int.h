/*
 * Internal to server/timing: what timing.c, timing_json.c and misfire.c
 * share.  Not for other modules (they use timing.h).
 */
#ifndef PJ_SERVER_TIMING_INT_H
#define PJ_SERVER_TIMING_INT_H

#include "server/timing/timing.h"

#define MS_PER_DAY 86400000LL
/* 2100-01-02T00:00:00Z: after the local date 2099-12-31 in every zone
 * (offsets are within -12 h..+14 h), so nothing fires at or after it */
#define PJ_TIMING_NEVER_MS 4102531200000LL

int pj_timing_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The raw next fire strictly after X, honouring the lifecycle but not
 * PowerJob's "past means now" rule.  FIXED_RATE steps from X. */
int pj_timing_next_after(
    const pj_timing *t, const pj_lifecycle *lc, int64_t x, int64_t *out);

/* a + b, held at INT64_MIN/INT64_MAX instead of overflowing */
int64_t pj_timing_sat_add(int64_t a, int64_t b);

/* The last instant whose local date in TZ is in PJ_TIMING_LAST_YEAR. */
int64_t pj_timing_last_ms(const pj_tz *tz);

/* For a DAILY_TIME_INTERVAL fire F: the last instant up to which F, F +
 * interval, ... stay in F's window and on F's local date, so that each of
 * them is the next fire of the one before (F itself if F is not inside its
 * date's window, which pj_timing_next_after never returns). */
void pj_timing_daily_run_end(
    const pj_timing *t, int64_t f, int64_t *last_in_window);

#endif
