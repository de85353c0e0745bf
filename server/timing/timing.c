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
 *   server that was down for a week does not flood the workers; a fire at
 *   most a threshold late (Quartz's misfireThreshold, 60 s by default) is
 *   on time and fired whatever the policy (misfire.c's notes).
 * - DAILY_TIME_INTERVAL on DST days (issue 14): PowerJob's rule, which is
 *   also Quartz's DailyTimeIntervalTrigger's.  A window is wall-clock time on
 *   each allowed date; its start and end are turned into instants the way a
 *   CRON fire time is (java.util.Calendar's rule, pj_tz_wall_to_utc): a time
 *   in a spring gap moves forward by the gap, a time repeated in autumn is
 *   its later occurrence; fires are the instants between the two, compared
 *   to the millisecond (the end is HH:mm:ss.000).  So a window inside the
 *   gap is shifted whole (Berlin 2024-03-31 02:00-02:30 every 10 min fires
 *   03:00, 03:10, 03:20, 03:30 CEST), a window across the autumn repeat is
 *   longer in real time (Berlin 2024-10-27 01:00-02:30 every 20 min runs
 *   from 01:00 CEST to 02:30 CET: 8 fires, 02:40 CEST among them), and a
 *   date never loses its window (Cairo 2024-04-26, clocks jump 00:00 ->
 *   01:00: 00:00-00:30 fires 01:00-01:30).  A skipped day would surprise
 *   more than a shifted one, and the fire times match PowerJob's (checked
 *   against a Java port of calculateInRangeTime), with one difference: after
 *   a midnight gap PowerJob's "next day at 00:00" starts from the shifted
 *   01:00 and so skips the next date's window if it ends before 01:00
 *   (Cairo 2024-04-27); here the walk goes by dates and fires it.  The
 *   in-range walk looks at a time's own date and the next seven (every
 *   weekday) and returns only a time it checked against an allowed window,
 *   else "no fire" (daily_in_range says why eight dates are enough).
 * - Year bound (issue 14): no fire of any type falls on a local date after
 *   2099-12-31 (PJ_TIMING_LAST_YEAR, CRON's limit and Quartz's); tz.c
 *   expands zone rules to 2101, so every fire that can happen is computed
 *   with the right offset.  Lifecycle times must be before the year 10000
 *   (PJ_LIFECYCLE_MAX_MS), when parsed and validated; pj_timing_next and
 *   pj_timing_misfire treat any time at or after PJ_TIMING_NEVER_MS
 *   (2100-01-02Z) as "no fire" before doing arithmetic with it, so a prev,
 *   start or now anywhere in int64_t cannot overflow.
 * - JSON leniency (issue 14): accepted as PowerJob (Jackson) accepts them:
 *   whole numbers written as 5, 5.0, 2e6 or "5" (interval, daysOfWeek items,
 *   lifecycle start/end); times of day with one or two digits per field
 *   ("9:00:00"); intervalUnit "" or null (SECONDS), NANOSECONDS and
 *   MICROSECONDS; a lifecycle start of 0 (the epoch: no start).  Refused,
 *   where PowerJob accepts or misbehaves: an interval <= 0 or over a year,
 *   or not a whole number of milliseconds (5.5, 1500 MICROSECONDS: PowerJob
 *   truncates, 500 MICROSECONDS would be 0 ms); daysOfWeek outside 1-7
 *   (PowerJob never fires on them); signs or 3 digits in a time ("+1:00:00",
 *   "009:00:00") and extra separators ("9:00:00:"); lifecycle times that are
 *   negative or not before 10000; a lifecycle end of 0 (PowerJob: out of
 *   date; here 0 would mean "no end", which the user did not write).  Every
 *   message names the field.  The text is read with jansson, so it must be
 *   strict JSON (RFC 8259): UTF-8, no leading zeros in numbers, integers
 *   within int64; a syntax error is jansson's message with its character
 *   position and the last key before it ("(field interval)").
 * - Files: timing.c (this: types, next fire times, daily windows),
 *   timing_json.c (the DAILY_TIME_INTERVAL and lifecycle JSON, read with
 *   jansson, fed by the fuzz target with the CRON parser), misfire.c
 *   (pj_timing_misfire).  Only the JSON reader allocates (jansson's values,
 *   freed before it returns).
 */
#include "server/timing/timing_int.h"

#include <ctype.h>
#include <limits.h>
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

/* ---- the year bound and DAILY_TIME_INTERVAL's windows ------------------- */

int64_t
pj_timing_sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b) {
		return INT64_MAX;
	}
	if (b < 0 && a < INT64_MIN - b) {
		return INT64_MIN;
	}
	return a + b;
}

/* local date (days since 1970-01-01) of instant ms */
static int64_t
local_date(const pj_tz *tz, int64_t ms)
{
	int64_t s = floordiv64(ms, 1000);
	return floordiv64(s + pj_tz_offset_at(tz, s), 86400);
}

/* the instant of wall time SOD on local date DAY, resolved as Java's
 * calendar (and so PowerJob and Quartz) resolves it: a time in a spring gap
 * moves forward by the gap, a repeated time is its later occurrence */
static int64_t
wall_ms(const pj_tz *tz, int64_t day, int32_t sod)
{
	return pj_tz_wall_to_utc(tz, day * 86400 + sod) * 1000;
}

int64_t
pj_timing_last_ms(const pj_tz *tz)
{
	static const int64_t first_2100
	    = 4102444800LL / 86400; /* 2100-01-01 */
	return wall_ms(tz, first_2100, 0) - 1;
}

/* date DAY's window [*s, *e] in instants, if its weekday is allowed */
static int
daily_window(
    const pj_daily *d, const pj_tz *tz, int64_t day, int64_t *s, int64_t *e)
{
	int isodow = (int) (((day + 3) % 7 + 7) % 7) + 1; /* 1 = Monday */
	if (d->days != 0 && !(d->days & (1U << isodow))) {
		return 0;
	}
	*s = wall_ms(tz, day, d->start_sod);
	*e = wall_ms(tz, day, d->end_sod);
	return 1;
}

/*
 * PowerJob's calculateInRangeTime: T if it is inside the window of its own
 * local date and that date's weekday is allowed, else the start of the next
 * allowed window.  Windows are compared as instants, to the millisecond.
 * Every answer is checked against a window before it is returned; the dates
 * looked at are T's and the next seven, which hold every weekday, and the
 * first allowed one after T's date starts after T (wall_to_utc never goes
 * back), so DAILY_MAX_DATES is enough and ENONE is never reached in
 * practice (it stands for "no checked answer", never a guess).
 */
#define DAILY_MAX_DATES 8

static int
daily_in_range(const pj_daily *d, const pj_tz *tz, int64_t t, int64_t *out)
{
	int64_t day = local_date(tz, t);
	for (int i = 0; i < DAILY_MAX_DATES; i++, day++) {
		int64_t s, e;
		if (!daily_window(d, tz, day, &s, &e)) {
			continue;
		}
		if (t < s) {
			*out = s;
			return 0;
		}
		if (t <= e) {
			*out = t;
			return 0;
		}
	}
	return PJ_TIMING_ENONE;
}

void
pj_timing_daily_run_end(const pj_timing *t, int64_t f, int64_t *last_in_window)
{
	int64_t day     = local_date(t->tz, f), s, e;
	*last_in_window = f;
	if (daily_window(&t->daily, t->tz, day, &s, &e) && s <= f && f <= e) {
		int64_t day_end = wall_ms(t->tz, day + 1, 0) - 1;
		*last_in_window = e < day_end ? e : day_end;
	}
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
	/* nothing fires at or after PJ_TIMING_NEVER_MS, in any zone: no
	 * arithmetic below sees a larger time */
	if (x >= PJ_TIMING_NEVER_MS || start >= PJ_TIMING_NEVER_MS) {
		return PJ_TIMING_ENONE;
	}
	if (x < -PJ_TIMING_NEVER_MS) {
		x = -PJ_TIMING_NEVER_MS; /* 1840: nothing fires before it */
	}
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
		if (daily_in_range(&t->daily, t->tz,
		        start && start > x ? start : x + t->daily.interval_ms,
		        &n)
		    != 0) {
			return PJ_TIMING_ENONE;
		}
		break;
	default:
		return PJ_TIMING_ENONE;
	}
	if ((end && n > end)
	    || (t->type != PJ_TIME_CRON && n > pj_timing_last_ms(t->tz))) {
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
