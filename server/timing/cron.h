/*
 * CRON expressions in PowerJob's dialect, which is Quartz 2.3.2's
 * CronExpression: "sec min hour day-of-month month day-of-week [year]".
 * See cron.c for the design notes.
 */
#ifndef PJ_SERVER_CRON_H
#define PJ_SERVER_CRON_H

#include <stddef.h>
#include <stdint.h>

#include "server/timing/tz.h"

#define PJ_CRON_MIN_YEAR 1970
#define PJ_CRON_MAX_YEAR 2099
#define PJ_CRON_YEAR_WORDS 3 /* 130 years as a bitmap */
/* Longest expression accepted (Quartz has no limit; ours keeps fuzzers and
 * database columns sane). */
#define PJ_CRON_MAX_LEN 1024

/* A parsed expression: plain value, no heap, cheap to copy. */
typedef struct pj_cron {
	uint64_t seconds; /* bit n = second n */
	uint64_t minutes;
	uint32_t hours;
	uint32_t days;     /* day-of-month, bits 1..31 */
	uint16_t months;   /* bits 1..12 */
	uint8_t  weekdays; /* bits 1..7, Sunday = 1 */
	uint8_t  dom_any;  /* day-of-month is '?' */
	uint8_t  dow_any;  /* day-of-week is '?' */
	uint8_t  last_dom; /* L, L-n, LW */
	uint8_t  last_dom_offset;
	uint8_t  nearest_weekday;           /* W */
	uint8_t  last_dow;                  /* nL */
	uint8_t  nth_dow;                   /* n#k: k, 0 = none */
	uint64_t years[PJ_CRON_YEAR_WORDS]; /* bit y-1970 */
} pj_cron;

/*
 * Parses EXPR.  Returns 0, or PJ_TIMING_EINVAL with a message that names
 * the field and the problem in err ("day-of-month 32 is out of range
 * 1-31").  Never reads past the terminating NUL; never allocates.
 */
int pj_cron_parse(const char *expr, pj_cron *cron, char *err, size_t errlen);

/*
 * The first fire time strictly after AFTER_MS (epoch milliseconds) in zone
 * TZ, exactly as Quartz's CronExpression.getTimeAfter computes it.
 * Returns 0 and *next_ms, or PJ_TIMING_ENONE when there is none (the
 * expression's years are over, or no time up to 2099 matches).
 */
int pj_cron_next(
    const pj_cron *cron, const pj_tz *tz, int64_t after_ms, int64_t *next_ms);

#endif
