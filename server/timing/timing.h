/*
 * PowerJob's time expressions: what to fire and when, as pure functions
 * (no store, no clock: "now" is always an argument).  See timing.c.
 */
#ifndef PJ_SERVER_TIMING_H
#define PJ_SERVER_TIMING_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "server/timing/cron.h"
#include "server/timing/tz.h"

/* TimeExpressionType codes (powerjob-design.md §3) */
typedef enum pj_time_type {
	PJ_TIME_API                 = 1,
	PJ_TIME_CRON                = 2,
	PJ_TIME_FIXED_RATE          = 3,
	PJ_TIME_FIXED_DELAY         = 4,
	PJ_TIME_WORKFLOW            = 5,
	PJ_TIME_DAILY_TIME_INTERVAL = 11,
} pj_time_type;

/* PowerJob's bounds for frequent jobs: 1..120000 ms at save
 * (powerjob.server.frequency-job.max-interval overrides the maximum). */
#define PJ_FREQUENT_MIN_INTERVAL_MS 1
#define PJ_FREQUENT_MAX_INTERVAL_MS_DEFAULT 120000
/* Longest time expression accepted (JSON for daily intervals included). */
#define PJ_TIME_EXPRESSION_MAX_LEN 1024
/* Lifecycle times are before 10000-01-01T00:00:00Z (epoch ms), when parsed
 * and when validated. */
#define PJ_LIFECYCLE_MAX_MS 253402300800000LL
/* No fire of any type falls on a local date after this year (CRON's own
 * bound, Quartz's). */
#define PJ_TIMING_LAST_YEAR PJ_CRON_MAX_YEAR
/* Message buffer size that always holds a whole validation message. */
#define PJ_TIMING_ERR_MAX 256

/* DAILY_TIME_INTERVAL's JSON, parsed */
typedef struct pj_daily {
	int64_t interval_ms;
	int32_t start_sod, end_sod; /* seconds of the day, inclusive */
	uint8_t days;               /* bit d = ISO weekday d (1 = Monday) */
} pj_daily;

/* A validated time expression with its zone: a plain value. */
typedef struct pj_timing {
	pj_time_type type;
	const pj_tz *tz;
	int64_t      interval_ms; /* FIXED_RATE / FIXED_DELAY */
	pj_cron      cron;
	pj_daily     daily;
} pj_timing;

/* The lifecycle window {start, end} in epoch ms, inclusive; 0 = open. */
typedef struct pj_lifecycle {
	int64_t start_ms;
	int64_t end_ms;
} pj_lifecycle;

/*
 * Validates EXPR for TYPE in zone ZONE (NULL/"" = the server's) and fills
 * *t.  max_interval_ms bounds FIXED_RATE/FIXED_DELAY (0 = PowerJob's
 * default).  On error returns PJ_TIMING_EINVAL with a message naming the
 * field and the problem in err.
 */
int pj_timing_init(pj_timing *t, pj_time_type type, const char *expr,
    const char *zone, int64_t max_interval_ms, char *err, size_t errlen);

/*
 * The next fire time after PREV_MS, PowerJob's
 * TimingStrategyService.calculateNextTriggerTime: a PREV_MS that is 0 or in
 * the past (< now_ms) is replaced by now_ms; a lifecycle start still in the
 * future moves the first fire to the first time >= start; a fire after the
 * lifecycle end is none, and so is one after the local date 2099-12-31.
 * DAILY_TIME_INTERVAL's windows on DST days: timing.c's design notes.
 * Returns 0 with *next_ms, or PJ_TIMING_ENONE (API, WORKFLOW, FIXED_DELAY,
 * or nothing left).
 */
int pj_timing_next(const pj_timing *t, const pj_lifecycle *lc, int64_t prev_ms,
    int64_t now_ms, int64_t *next_ms);

/* Parses PowerJob's lifeCycle JSON {"start": ms, "end": ms} (either may be
 * missing or null; "" or NULL = no window).  Times are whole numbers (5,
 * 5.0 or "5") in 0..PJ_LIFECYCLE_MAX_MS-1; an end of 0 is refused (see
 * timing.c's notes). */
int pj_lifecycle_parse(
    const char *json, pj_lifecycle *lc, char *err, size_t errlen);

/* PowerJob's save-time rules: start <= end, and end in the future; and the
 * parser's bounds, for a window built by hand. */
int pj_lifecycle_validate(
    const pj_lifecycle *lc, int64_t now_ms, char *err, size_t errlen);

/* Parses and validates DAILY_TIME_INTERVAL's JSON (what is accepted and
 * refused: timing.c's design notes). */
int pj_daily_parse(const char *json, pj_daily *d, char *err, size_t errlen);

/* ---- misfire ------------------------------------------------------------ */

typedef enum pj_misfire_policy {
	PJ_MISFIRE_FIRE_ONCE_NOW = 0, /* PowerJob's behaviour, the default */
	PJ_MISFIRE_SKIP          = 1, /* fire nothing, go to the next time */
	PJ_MISFIRE_FIRE_ALL      = 2, /* every missed fire within a window */
} pj_misfire_policy;

/* Quartz's default misfireThreshold. */
#define PJ_MISFIRE_THRESHOLD_MS_DEFAULT 60000

typedef struct pj_misfire_opts {
	pj_misfire_policy policy;
	int64_t           window_ms; /* FIRE_ALL: only fires >= now - window
	                                (0 = every missed fire) */
	size_t cap;                  /* at most this many fires, the latest,
	                                for every policy (0 = 1) */
	/* A due fire at most this late is on time: fired whatever the policy.
	 * 0 = PJ_MISFIRE_THRESHOLD_MS_DEFAULT (Quartz too refuses 0).  The job
	 * row has no column for it yet: the scheduler passes it here. */
	int64_t threshold_ms;
} pj_misfire_opts;

typedef struct pj_misfire_result {
	size_t   n_fire;  /* expected trigger times to fire now */
	int64_t *fire_ms; /* caller's array of max(cap, 1) entries, in order */
	size_t   n_due;   /* fires due in (last_ms, now_ms] */
	size_t   n_missed;  /* of those, more than the threshold late */
	size_t   n_dropped; /* due but not fired (policy, window or cap):
	                       n_due - n_fire */
	int partial;        /* CRON only: over 1,000,000 fires were due; the
	                       three counts stop there (fire_ms is still exact) */
	int     has_next;
	int64_t next_ms; /* the first fire after now_ms */
} pj_misfire_result;

/*
 * A server that recorded its last fire at LAST_MS finds at NOW_MS that
 * fires were due in between: which does it fire now, and when is the next?
 * The due fires are those of the normal schedule after LAST_MS up to and
 * including NOW_MS, inside the lifecycle.  On-time ones (at most
 * threshold_ms late) are fired; of the missed ones, SKIP fires none,
 * FIRE_ONCE_NOW the first (PowerJob's expected trigger time) and FIRE_ALL
 * those >= now - window.  If that is more than cap, the latest cap are kept.
 * LAST_MS <= 0 means "never fired", as for pj_timing_next: nothing is due,
 * and the next fire is pj_timing_next's.  The next fire is the first after
 * NOW_MS (FIXED_RATE keeping its phase from LAST_MS; DAILY_TIME_INTERVAL and
 * CRON as pj_timing_next from now).  Returns PJ_TIMING_EINVAL for an unknown
 * policy or a negative window or threshold.
 */
int pj_timing_misfire(const pj_timing *t, const pj_lifecycle *lc,
    int64_t last_ms, int64_t now_ms, const pj_misfire_opts *opts,
    pj_misfire_result *res);

/*
 * The `pj-server cron-next` command: validates EXPR and ZONE and prints the
 * next COUNT fire times after FROM_MS to OUT, one per line:
 * "EPOCH_MS ISO-8601-local-time-with-offset".  Returns PJ_TIMING_EINVAL
 * with the reason in err for a bad expression or zone.
 */
int pj_timing_cron_preview(const char *expr, const char *zone, int64_t from_ms,
    int count, FILE *out, char *err, size_t errlen);

#endif
