/*
 * Internal to server/timing: what timing.c, timing_json.c and misfire.c
 * share.  Not for other modules (they use timing.h).
 */
#ifndef PJ_SERVER_TIMING_INT_H
#define PJ_SERVER_TIMING_INT_H

#include "server/timing/timing.h"

#define MS_PER_DAY 86400000LL

int pj_timing_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The raw next fire strictly after X, honouring the lifecycle but not
 * PowerJob's "past means now" rule.  FIXED_RATE steps from X. */
int pj_timing_next_after(
    const pj_timing *t, const pj_lifecycle *lc, int64_t x, int64_t *out);

#endif
