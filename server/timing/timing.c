/*
 * PowerJob's time expressions, lifecycle windows and misfire policies.
 *
 * Design notes
 * - Kept from PowerJob (TimingStrategyService and its handlers, §5.2): the
 *   type codes; FIXED_RATE/FIXED_DELAY intervals are whole milliseconds in
 *   1..120000 (the maximum is configurable, like
 *   powerjob.server.frequency-job.max-interval); a previous fire time that is
 *   missing or in the past is replaced by "now"; a lifecycle start in the
 *   future makes the first fire the first one >= start; nothing fires after
 *   the lifecycle end; DAILY_TIME_INTERVAL keeps PowerJob's JSON
 *   ({interval, intervalUnit, startTimeOfDay, endTimeOfDay, daysOfWeek with
 *   1 = Monday}) and its inRange() walk; API, WORKFLOW and FIXED_DELAY have
 *   no time-driven fire (FIXED_DELAY is run by the worker's frequent
 *   tracker).
 * - Changed: "now" is an argument, never read here, so every rule is a pure
 *   function and testable; every job has a zone instead of the server's
 *   default; misfires are a decision of their own (pj_timing_misfire) with
 *   three policies: fire once now (PowerJob's behaviour: the schedule loop
 *   fires the overdue instance immediately and computes the next time from
 *   now), skip, or fire every missed time within a window, capped so that a
 *   server that was down for a week does not flood the workers.
 * - Files: timing.c (this: types, next fire times, daily windows),
 *   timing_json.c (the DAILY_TIME_INTERVAL and lifecycle JSON, a small strict
 *   reader so that no JSON library is needed, fed by the fuzz target with the
 *   CRON parser), misfire.c (pj_timing_misfire).  No allocation in any.
 */
#include "server/timing/timing_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>

int
pj_timing_errf(char *err, size_t errlen, const char *fmt, ...)
{
	if (err != NULL && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return PJ_TIMING_EINVAL;
}

static int64_t
floordiv64(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static void
local_day(const pj_tz *tz, int64_t ms, int64_t *day, int32_t *sod, int *isodow)
{
	int64_t s   = floordiv64(ms, 1000);
	int64_t loc = s + pj_tz_offset_at(tz, s);
	*day        = floordiv64(loc, 86400);
	*sod        = (int32_t) (loc - *day * 86400);
	*isodow     = (int) (((*day + 3) % 7 + 7) % 7) + 1; /* 1 = Monday */
}

/* PowerJob's calculateInRangeTime: T if allowed, else the next allowed
 * start of a time window. */
static int64_t
daily_in_range(const pj_daily *d, const pj_tz *tz, int64_t t)
{
	for (int i = 0; i < 8; i++) {
		int64_t day;
		int32_t sod;
		int     dow;
		local_day(tz, t, &day, &sod, &dow);
		int ok_day = d->days == 0 || (d->days & (1U << dow));
		if (ok_day && sod < d->start_sod) {
			return pj_tz_wall_to_utc(
			           tz, day * 86400 + d->start_sod)
			    * 1000;
		}
		if (ok_day && sod <= d->end_sod) {
			return t;
		}
		t = pj_tz_wall_to_utc(tz, (day + 1) * 86400) * 1000;
	}
	return t; /* unreachable: within 8 days some weekday is allowed */
}

/* ---- init and next ------------------------------------------------------ */

static int
parse_interval(const char *expr, const char *what, int64_t max_ms,
    int64_t *out, char *err, size_t errlen)
{
	int64_t v = 0;
	size_t  i = 0;
	if (expr == NULL || expr[0] == '\0') {
		return pj_timing_errf(
		    err, errlen, "%s interval is missing", what);
	}
	for (; expr[i] != '\0'; i++) {
		if (!isdigit((unsigned char) expr[i]) || i >= 15) {
			return pj_timing_errf(err, errlen,
			    "%s interval '%.32s' is not a whole number of "
			    "milliseconds",
			    what, expr);
		}
		v = v * 10 + (expr[i] - '0');
	}
	if (v < PJ_FREQUENT_MIN_INTERVAL_MS || v > max_ms) {
		return pj_timing_errf(err, errlen,
		    "%s interval %lld is out of range %d-%lld ms", what,
		    (long long) v, PJ_FREQUENT_MIN_INTERVAL_MS,
		    (long long) max_ms);
	}
	*out = v;
	return 0;
}

int
pj_timing_init(pj_timing *t, pj_time_type type, const char *expr,
    const char *zone, int64_t max_interval_ms, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->type = type;
	if (max_interval_ms <= 0) {
		max_interval_ms = PJ_FREQUENT_MAX_INTERVAL_MS_DEFAULT;
	}
	if (expr != NULL && strlen(expr) > PJ_TIME_EXPRESSION_MAX_LEN) {
		return pj_timing_errf(err, errlen,
		    "time expression is longer than %d characters",
		    PJ_TIME_EXPRESSION_MAX_LEN);
	}
	if (pj_tz_get(zone, &t->tz, err, errlen) != 0) {
		return PJ_TIMING_EINVAL;
	}
	switch (type) {
	case PJ_TIME_API:
	case PJ_TIME_WORKFLOW:
		return 0;
	case PJ_TIME_CRON:
		return pj_cron_parse(expr, &t->cron, err, errlen);
	case PJ_TIME_FIXED_RATE:
		return parse_interval(expr, "fixed-rate", max_interval_ms,
		    &t->interval_ms, err, errlen);
	case PJ_TIME_FIXED_DELAY:
		return parse_interval(expr, "fixed-delay", max_interval_ms,
		    &t->interval_ms, err, errlen);
	case PJ_TIME_DAILY_TIME_INTERVAL:
		return pj_daily_parse(expr, &t->daily, err, errlen);
	}
	return pj_timing_errf(err, errlen,
	    "time expression type %d is unknown (1 API, 2 CRON, 3 FIXED_RATE, "
	    "4 FIXED_DELAY, 5 WORKFLOW, 11 DAILY_TIME_INTERVAL)",
	    (int) type);
}

int
pj_timing_next_after(
    const pj_timing *t, const pj_lifecycle *lc, int64_t x, int64_t *out)
{
	int64_t start = lc ? lc->start_ms : 0, end = lc ? lc->end_ms : 0;
	int64_t n;
	switch (t->type) {
	case PJ_TIME_CRON:
		if (start && x < start) {
			x = start - 1; /* first fire >= start */
		}
		if (pj_cron_next(&t->cron, t->tz, x, &n) != 0) {
			return PJ_TIMING_ENONE;
		}
		break;
	case PJ_TIME_FIXED_RATE:
		n = start && start > x ? start : x + t->interval_ms;
		break;
	case PJ_TIME_DAILY_TIME_INTERVAL:
		n = start && start > x
		    ? daily_in_range(&t->daily, t->tz, start)
		    : daily_in_range(
		        &t->daily, t->tz, x + t->daily.interval_ms);
		break;
	default:
		return PJ_TIMING_ENONE;
	}
	if (end && n > end) {
		return PJ_TIMING_ENONE;
	}
	*out = n;
	return 0;
}

int
pj_timing_next(const pj_timing *t, const pj_lifecycle *lc, int64_t prev_ms,
    int64_t now_ms, int64_t *next_ms)
{
	if (prev_ms <= 0 || prev_ms < now_ms) {
		prev_ms = now_ms;
	}
	/* PowerJob moves to the lifecycle start only while it is ahead */
	pj_lifecycle eff = { 0, 0 };
	if (lc != NULL) {
		eff.end_ms   = lc->end_ms;
		eff.start_ms = lc->start_ms > now_ms ? lc->start_ms : 0;
	}
	if (t->type == PJ_TIME_CRON && eff.start_ms
	    && prev_ms >= eff.start_ms) {
		eff.start_ms = 0;
	}
	return pj_timing_next_after(t, &eff, prev_ms, next_ms);
}

/* ---- cron-next ---------------------------------------------------------- */

int
pj_timing_cron_preview(const char *expr, const char *zone, int64_t from_ms,
    int count, FILE *out, char *err, size_t errlen)
{
	pj_cron      c;
	const pj_tz *tz;
	int64_t      t = from_ms;
	if (pj_cron_parse(expr, &c, err, errlen) != 0
	    || pj_tz_get(zone, &tz, err, errlen) != 0) {
		return PJ_TIMING_EINVAL;
	}
	for (int i = 0; i < count; i++) {
		char iso[64];
		if (pj_cron_next(&c, tz, t, &t) != 0) {
			break;
		}
		pj_tz_format_iso(tz, t, iso, sizeof(iso));
		fprintf(out, "%lld %s\n", (long long) t, iso);
	}
	return 0;
}
