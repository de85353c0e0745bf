/*
 * The JSON of DAILY_TIME_INTERVAL expressions and lifecycle windows: a small
 * strict reader (a flat object, known keys, unknown keys skipped) so that no
 * JSON library is needed; fed by the same fuzz target as the CRON parser.
 * No allocation.  The rules are in timing.c's design notes.
 */
#include "server/timing/timing_int.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#define JSON_MAX_DEPTH 16

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
	return pj_timing_errf(j->err, j->errlen, "%s: %s", j->what, msg);
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
		return pj_timing_errf(j->err, j->errlen,
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
		return pj_timing_errf(err, errlen,
		    "lifecycle start %lld is after end %lld",
		    (long long) lc->start_ms, (long long) lc->end_ms);
	}
	if (lc->end_ms && lc->end_ms <= now_ms) {
		return pj_timing_errf(err, errlen,
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
		return pj_timing_errf(j->err, j->errlen,
		    "daily time interval: %s '%s' is not HH:mm:ss", key, s);
	}
	if (h > 23 || m > 59 || sec > 59 || h < 0 || m < 0 || sec < 0) {
		return pj_timing_errf(j->err, j->errlen,
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
					return pj_timing_errf(j->err,
					    j->errlen,
					    "daily time interval: "
					    "intervalUnit "
					    "%s is below a millisecond",
					    u);
				}
				dp->unit_ms = units[i].ms;
				return 0;
			}
		}
		return pj_timing_errf(j->err, j->errlen,
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
				return pj_timing_errf(j->err, j->errlen,
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
		return pj_timing_errf(err, errlen,
		    "daily time interval: %s is missing",
		    !dp.have_interval    ? "interval"
		        : !dp.have_start ? "startTimeOfDay"
		                         : "endTimeOfDay");
	}
	if (dp.interval <= 0 || dp.interval > INT64_MAX / dp.unit_ms
	    || dp.interval * dp.unit_ms > 366 * MS_PER_DAY) {
		return pj_timing_errf(err, errlen,
		    "daily time interval: interval %lld is out of range "
		    "(more than 0, at most a year)",
		    (long long) dp.interval);
	}
	if (dp.d.end_sod < dp.d.start_sod) {
		return pj_timing_errf(err, errlen,
		    "daily time interval: endTimeOfDay is before "
		    "startTimeOfDay");
	}
	dp.d.interval_ms = dp.interval * dp.unit_ms;
	*d               = dp.d;
	return 0;
}
