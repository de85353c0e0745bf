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
 * - The JSON readers here are small and strict (a flat object, known keys,
 *   unknown keys skipped) so that no JSON library is needed; they are fed
 *   by the same fuzz target as the CRON parser.
 * - No allocation anywhere in this file.
 */
#include "server/timing/timing.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

/* FIRE_ALL never walks more than this many fire times for one decision. */
#define PJ_MISFIRE_SCAN_MAX 1000000
#define JSON_MAX_DEPTH 16
#define MS_PER_DAY 86400000LL

static int errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
errf(char *err, size_t errlen, const char *fmt, ...)
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

/* ---- a small strict JSON reader ------------------------------------------
 */

struct json {
	const char *p;
	char       *err;
	size_t      errlen;
	const char *what; /* "daily time interval", "lifecycle" */
};

static void
ws(struct json *j)
{
	while (
	    *j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r') {
		j->p++;
	}
}

static int
jfail(struct json *j, const char *msg)
{
	return errf(j->err, j->errlen, "%s: %s", j->what, msg);
}

/* a string into buf; a \u escape becomes "?" and other escapes keep their
 * letter: the strings parsed here are times of day and unit names */
static int
jstring(struct json *j, char *buf, size_t len)
{
	size_t n = 0;
	if (*j->p != '"') {
		return jfail(j, "expected a string");
	}
	j->p++;
	while (*j->p != '"') {
		char c = *j->p;
		if (c == '\0' || (unsigned char) c < 0x20) {
			return jfail(j, "unterminated string");
		}
		if (c == '\\') {
			j->p++;
			c = *j->p;
			if (c == 'u') {
				for (int i = 1; i <= 4; i++) {
					if (!isxdigit(
					        (unsigned char) j->p[i])) {
						return jfail(j,
						    "bad \\u escape in a "
						    "string");
					}
				}
				j->p += 4;
				c = '?';
			} else if (strchr("\"\\/bfnrt", c) == NULL
			    || c == '\0') {
				return jfail(j, "bad escape in a string");
			}
		}
		if (n + 1 < len) {
			buf[n++] = c;
		}
		j->p++;
	}
	j->p++;
	if (len > 0) {
		buf[n] = '\0';
	}
	return 0;
}

/* an integer; a fraction or exponent is refused */
static int
jint(struct json *j, int64_t *out)
{
	int      neg = 0;
	uint64_t v   = 0;
	if (*j->p == '-') {
		neg = 1;
		j->p++;
	}
	if (!isdigit((unsigned char) *j->p)) {
		return jfail(j, "expected a number");
	}
	while (isdigit((unsigned char) *j->p)) {
		if (v > (uint64_t) INT64_MAX / 10) {
			return jfail(j, "number is too large");
		}
		v = v * 10 + (uint64_t) (*j->p++ - '0');
		if (v > (uint64_t) INT64_MAX) {
			return jfail(j, "number is too large");
		}
	}
	if (*j->p == '.' || *j->p == 'e' || *j->p == 'E') {
		return jfail(j, "expected a whole number");
	}
	*out = neg ? -(int64_t) v : (int64_t) v;
	return 0;
}

static int
jliteral(struct json *j, const char *lit)
{
	size_t n = strlen(lit);
	if (strncmp(j->p, lit, n) != 0) {
		return -1;
	}
	j->p += n;
	return 0;
}

static int
jskip(struct json *j, int depth)
{
	char    tmp[2];
	int64_t v;
	if (depth > JSON_MAX_DEPTH) {
		return jfail(j, "nested too deeply");
	}
	ws(j);
	if (*j->p == '"') {
		return jstring(j, tmp, sizeof(tmp));
	}
	if (*j->p == '{' || *j->p == '[') {
		char close = *j->p == '{' ? '}' : ']';
		int  obj   = *j->p == '{';
		j->p++;
		ws(j);
		if (*j->p == close) {
			j->p++;
			return 0;
		}
		for (;;) {
			ws(j);
			if (obj) {
				if (jstring(j, tmp, sizeof(tmp)) != 0) {
					return PJ_TIMING_EINVAL;
				}
				ws(j);
				if (*j->p++ != ':') {
					return jfail(j, "expected ':'");
				}
			}
			if (jskip(j, depth + 1) != 0) {
				return PJ_TIMING_EINVAL;
			}
			ws(j);
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			if (*j->p == close) {
				j->p++;
				return 0;
			}
			return jfail(j, "expected ',' or the end of a list");
		}
	}
	if (jliteral(j, "null") == 0 || jliteral(j, "true") == 0
	    || jliteral(j, "false") == 0) {
		return 0;
	}
	if (jint(j, &v) == 0) {
		return 0;
	}
	if (*j->p == '.' || *j->p == 'e' || *j->p == 'E') {
		j->p++;
		while (isdigit((unsigned char) *j->p) || *j->p == '+'
		    || *j->p == '-' || *j->p == 'e' || *j->p == 'E') {
			j->p++;
		}
		return 0;
	}
	return PJ_TIMING_EINVAL;
}

/* Walks a flat object and calls FN for each key with j->p at its value. */
static int
jobject(
    struct json *j, int (*fn)(struct json *, const char *, void *), void *arg)
{
	char key[32];
	ws(j);
	if (*j->p != '{') {
		return jfail(j, "expected a JSON object");
	}
	j->p++;
	ws(j);
	if (*j->p == '}') {
		j->p++;
	} else {
		for (;;) {
			ws(j);
			if (jstring(j, key, sizeof(key)) != 0) {
				return PJ_TIMING_EINVAL;
			}
			ws(j);
			if (*j->p++ != ':') {
				return jfail(j, "expected ':' after a key");
			}
			ws(j);
			if (fn(j, key, arg) != 0) {
				return PJ_TIMING_EINVAL;
			}
			ws(j);
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			if (*j->p == '}') {
				j->p++;
				break;
			}
			return jfail(j, "expected ',' or '}'");
		}
	}
	ws(j);
	if (*j->p != '\0') {
		return jfail(j, "unexpected text after the object");
	}
	return 0;
}

/* ---- lifecycle ---------------------------------------------------------- */

static int
lc_key(struct json *j, const char *key, void *arg)
{
	pj_lifecycle *lc = arg;
	int64_t      *dst;
	if (strcmp(key, "start") == 0) {
		dst = &lc->start_ms;
	} else if (strcmp(key, "end") == 0) {
		dst = &lc->end_ms;
	} else {
		return jskip(j, 0);
	}
	if (jliteral(j, "null") == 0) {
		*dst = 0;
		return 0;
	}
	if (jint(j, dst) != 0) {
		return PJ_TIMING_EINVAL;
	}
	if (*dst < 0) {
		return errf(j->err, j->errlen,
		    "lifecycle %s %lld is negative (epoch milliseconds)", key,
		    (long long) *dst);
	}
	return 0;
}

int
pj_lifecycle_parse(
    const char *json, pj_lifecycle *lc, char *err, size_t errlen)
{
	struct json j
	    = { .p = json, .err = err, .errlen = errlen, .what = "lifecycle" };
	memset(lc, 0, sizeof(*lc));
	if (json == NULL || *json == '\0') {
		return 0;
	}
	return jobject(&j, lc_key, lc);
}

int
pj_lifecycle_validate(
    const pj_lifecycle *lc, int64_t now_ms, char *err, size_t errlen)
{
	if (lc->start_ms && lc->end_ms && lc->start_ms > lc->end_ms) {
		return errf(err, errlen,
		    "lifecycle start %lld is after end %lld",
		    (long long) lc->start_ms, (long long) lc->end_ms);
	}
	if (lc->end_ms && lc->end_ms <= now_ms) {
		return errf(err, errlen,
		    "lifecycle end %lld is not in the future (now %lld)",
		    (long long) lc->end_ms, (long long) now_ms);
	}
	return 0;
}

/* ---- DAILY_TIME_INTERVAL ------------------------------------------------ */

struct daily_parse {
	pj_daily d;
	int64_t  interval;
	int64_t  unit_ms;
	int      have_interval, have_start, have_end;
};

static int
time_of_day(struct json *j, const char *key, int32_t *sod)
{
	char s[16];
	int  h, m, sec, n = 0;
	if (jstring(j, s, sizeof(s)) != 0) {
		return PJ_TIMING_EINVAL;
	}
	for (n = 0; n < 8; n++) {
		int colon = n == 2 || n == 5;
		if (colon ? s[n] != ':' : !isdigit((unsigned char) s[n])) {
			break;
		}
	}
	if (n != 8 || s[8] != '\0'
	    || sscanf(s, "%2d:%2d:%2d", &h, &m, &sec) != 3) {
		return errf(j->err, j->errlen,
		    "daily time interval: %s '%s' is not HH:mm:ss", key, s);
	}
	if (h > 23 || m > 59 || sec > 59 || h < 0 || m < 0 || sec < 0) {
		return errf(j->err, j->errlen,
		    "daily time interval: %s '%s' is not a time of day", key,
		    s);
	}
	*sod = h * 3600 + m * 60 + sec;
	return 0;
}

static int
daily_key(struct json *j, const char *key, void *arg)
{
	struct daily_parse *dp = arg;
	if (strcmp(key, "interval") == 0) {
		dp->have_interval = 1;
		return jint(j, &dp->interval);
	}
	if (strcmp(key, "startTimeOfDay") == 0) {
		dp->have_start = 1;
		return time_of_day(j, key, &dp->d.start_sod);
	}
	if (strcmp(key, "endTimeOfDay") == 0) {
		dp->have_end = 1;
		return time_of_day(j, key, &dp->d.end_sod);
	}
	if (strcmp(key, "intervalUnit") == 0) {
		static const struct {
			const char *name;
			int64_t     ms; /* 0: below a millisecond */
		} units[] = { { "NANOSECONDS", 0 }, { "MICROSECONDS", 0 },
			{ "MILLISECONDS", 1 }, { "SECONDS", 1000 },
			{ "MINUTES", 60000 }, { "HOURS", 3600000 },
			{ "DAYS", MS_PER_DAY } };
		char u[16];
		if (jliteral(j, "null") == 0) {
			return 0;
		}
		if (jstring(j, u, sizeof(u)) != 0) {
			return PJ_TIMING_EINVAL;
		}
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strcmp(u, units[i].name) == 0) {
				if (units[i].ms == 0) {
					return errf(j->err, j->errlen,
					    "daily time interval: "
					    "intervalUnit "
					    "%s is below a millisecond",
					    u);
				}
				dp->unit_ms = units[i].ms;
				return 0;
			}
		}
		return errf(j->err, j->errlen,
		    "daily time interval: intervalUnit '%s' is not one of "
		    "MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS",
		    u);
	}
	if (strcmp(key, "daysOfWeek") == 0) {
		if (jliteral(j, "null") == 0) {
			return 0;
		}
		if (*j->p != '[') {
			return jfail(j, "daysOfWeek must be a list of 1-7");
		}
		j->p++;
		ws(j);
		if (*j->p == ']') {
			j->p++;
			return 0;
		}
		for (;;) {
			int64_t v;
			ws(j);
			if (jint(j, &v) != 0) {
				return PJ_TIMING_EINVAL;
			}
			if (v < 1 || v > 7) {
				return errf(j->err, j->errlen,
				    "daily time interval: daysOfWeek %lld is "
				    "out of range 1-7 (1 = Monday)",
				    (long long) v);
			}
			dp->d.days |= (uint8_t) (1U << v);
			ws(j);
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			if (*j->p == ']') {
				j->p++;
				return 0;
			}
			return jfail(j, "expected ',' or ']' in daysOfWeek");
		}
	}
	return jskip(j, 0);
}

int
pj_daily_parse(const char *json, pj_daily *d, char *err, size_t errlen)
{
	struct daily_parse dp = { .unit_ms = 1000 };
	struct json        j  = { .p = json ? json : "",
		        .err         = err,
		        .errlen      = errlen,
		        .what        = "daily time interval" };
	memset(d, 0, sizeof(*d));
	if (jobject(&j, daily_key, &dp) != 0) {
		return PJ_TIMING_EINVAL;
	}
	if (!dp.have_interval || !dp.have_start || !dp.have_end) {
		return errf(err, errlen, "daily time interval: %s is missing",
		    !dp.have_interval    ? "interval"
		        : !dp.have_start ? "startTimeOfDay"
		                         : "endTimeOfDay");
	}
	if (dp.interval <= 0 || dp.interval > INT64_MAX / dp.unit_ms
	    || dp.interval * dp.unit_ms > 366 * MS_PER_DAY) {
		return errf(err, errlen,
		    "daily time interval: interval %lld is out of range "
		    "(more than 0, at most a year)",
		    (long long) dp.interval);
	}
	if (dp.d.end_sod < dp.d.start_sod) {
		return errf(err, errlen,
		    "daily time interval: endTimeOfDay is before "
		    "startTimeOfDay");
	}
	dp.d.interval_ms = dp.interval * dp.unit_ms;
	*d               = dp.d;
	return 0;
}

/* local date/second-of-day/ISO weekday of instant ms */
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
		return errf(err, errlen, "%s interval is missing", what);
	}
	for (; expr[i] != '\0'; i++) {
		if (!isdigit((unsigned char) expr[i]) || i >= 15) {
			return errf(err, errlen,
			    "%s interval '%.32s' is not a whole number of "
			    "milliseconds",
			    what, expr);
		}
		v = v * 10 + (expr[i] - '0');
	}
	if (v < PJ_FREQUENT_MIN_INTERVAL_MS || v > max_ms) {
		return errf(err, errlen,
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
		return errf(err, errlen,
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
	return errf(err, errlen,
	    "time expression type %d is unknown (1 API, 2 CRON, 3 FIXED_RATE, "
	    "4 FIXED_DELAY, 5 WORKFLOW, 11 DAILY_TIME_INTERVAL)",
	    (int) type);
}

/* The raw next fire strictly after X, honouring the lifecycle but not
 * PowerJob's "past means now" rule.  FIXED_RATE steps from X. */
static int
next_after(const pj_timing *t, const pj_lifecycle *lc, int64_t x, int64_t *out)
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
	return next_after(t, &eff, prev_ms, next_ms);
}

/* ---- misfire ------------------------------------------------------------ */

static void
reverse(int64_t *a, size_t lo, size_t hi)
{
	while (lo + 1 < hi) {
		int64_t x = a[lo];
		a[lo++]   = a[--hi];
		a[hi]     = x;
	}
}

int
pj_timing_misfire(const pj_timing *t, const pj_lifecycle *lc, int64_t last_ms,
    int64_t now_ms, const pj_misfire_opts *opts, pj_misfire_result *res)
{
	int64_t f;
	size_t  cap = opts->cap ? opts->cap : 1;
	res->n_fire = res->n_missed = res->n_dropped = 0;
	res->has_next                                = 0;
	if (t->type != PJ_TIME_CRON && t->type != PJ_TIME_FIXED_RATE
	    && t->type != PJ_TIME_DAILY_TIME_INTERVAL) {
		return 0; /* nothing is fired by time */
	}
	/* next fire after now: phase-preserving for a fixed rate */
	if (t->type == PJ_TIME_FIXED_RATE && last_ms < now_ms) {
		int64_t k = (now_ms - last_ms) / t->interval_ms + 1;
		f         = last_ms + k * t->interval_ms;
		if (!(lc && lc->end_ms && f > lc->end_ms)) {
			res->has_next = 1;
			res->next_ms  = f;
		}
	} else if (next_after(t, lc, now_ms > last_ms ? now_ms : last_ms, &f)
	    == 0) {
		res->has_next = 1;
		res->next_ms  = f;
	}
	if (next_after(t, lc, last_ms, &f) != 0 || f > now_ms) {
		return 0; /* nothing was missed */
	}
	switch (opts->policy) {
	case PJ_MISFIRE_SKIP:
		res->n_missed  = 1;
		res->n_dropped = 1;
		return 0;
	case PJ_MISFIRE_FIRE_ONCE_NOW:
		res->n_missed   = 1;
		res->n_fire     = 1;
		res->fire_ms[0] = f;
		return 0;
	case PJ_MISFIRE_FIRE_ALL:
		break;
	default:
		return PJ_TIMING_EINVAL;
	}
	/* FIRE_ALL: walk the missed fires inside [now - window, now], keep the
	 * latest CAP of them in a ring, count the rest as dropped. */
	int64_t from
	    = opts->window_ms > 0 && now_ms - opts->window_ms > last_ms
	    ? now_ms - opts->window_ms
	    : last_ms + 1;
	if (t->type == PJ_TIME_FIXED_RATE) {
		int64_t k = from > last_ms + t->interval_ms
		    ? (from - last_ms + t->interval_ms - 1) / t->interval_ms
		    : 1;
		f         = last_ms + k * t->interval_ms;
	} else if (next_after(t, lc, from - 1, &f) != 0) {
		return 0;
	}
	size_t head = 0, seen = 0;
	while (f <= now_ms && seen < PJ_MISFIRE_SCAN_MAX) {
		res->fire_ms[head] = f;
		head               = (head + 1) % cap;
		seen++;
		if (t->type == PJ_TIME_FIXED_RATE) {
			f += t->interval_ms;
			if (lc && lc->end_ms && f > lc->end_ms) {
				break;
			}
		} else if (next_after(t, lc, f, &f) != 0) {
			break;
		}
	}
	res->n_missed  = seen;
	res->n_fire    = seen < cap ? seen : cap;
	res->n_dropped = seen - res->n_fire;
	if (seen > cap && head != 0) {
		/* oldest entry is at head: rotate left by head */
		reverse(res->fire_ms, 0, head);
		reverse(res->fire_ms, head, cap);
		reverse(res->fire_ms, 0, cap);
	}
	return 0;
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
