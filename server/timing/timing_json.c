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
	const char *key;  /* the key whose value is being read, or NULL */
	const char *sep;  /* between what and key: "lifecycle start" */
};

static void
ws(struct json *j)
{
	while (
	    *j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r') {
		j->p++;
	}
}

/* "WHAT: KEY: MSG", so that every message names its field */
static int
jfail(struct json *j, const char *msg)
{
	if (j->key != NULL) {
		return pj_timing_errf(j->err, j->errlen, "%s%s%s: %s", j->what,
		    j->sep, j->key, msg);
	}
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

/* A JSON number token at j->p: skipped, its first len-1 characters copied
 * into buf; returns its length (0 if there is none). */
static size_t
jnumber_token(struct json *j, char *buf, size_t len)
{
	size_t n = 0;
	while (j->p[n] != '\0'
	    && (isdigit((unsigned char) j->p[n])
	        || strchr("+-.eE", j->p[n]))) {
		n++;
	}
	size_t c = n < len ? n : len - 1;
	memcpy(buf, j->p, c);
	buf[c] = '\0';
	j->p += n;
	return n;
}

/*
 * S as a whole number: JSON number syntax whose value is an integer ("5",
 * "-5", "5.0", "2e6", "50e-1") that fits an int64_t (-INT64_MAX at the
 * least).  Returns 0 or -1.
 */
static int
whole_number(const char *s, int64_t *out)
{
	char digits[40];
	int  nd = 0, neg = 0, exp = 0, point = -1;
	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (!isdigit((unsigned char) *s)) {
		return -1;
	}
	for (; isdigit((unsigned char) *s) || (*s == '.' && point < 0); s++) {
		if (*s == '.') {
			point = nd;
			if (!isdigit((unsigned char) s[1])) {
				return -1;
			}
			continue;
		}
		if (nd == 0 && *s == '0' && point < 0) {
			continue; /* leading zeros */
		}
		if (nd >= (int) sizeof(digits)) {
			return -1;
		}
		digits[nd++] = *s;
	}
	if (point < 0) {
		point = nd;
	}
	if (*s == 'e' || *s == 'E') {
		int esign = 1, e = 0;
		s++;
		if (*s == '+' || *s == '-') {
			esign = *s++ == '-' ? -1 : 1;
		}
		if (!isdigit((unsigned char) *s)) {
			return -1;
		}
		for (; isdigit((unsigned char) *s); s++) {
			if (e < 1000) {
				e = e * 10 + (*s - '0');
			}
		}
		exp = esign * e;
	}
	if (*s != '\0') {
		return -1;
	}
	/* value = digits[0..nd) * 10^(exp - (nd - point)) */
	int     scale = exp - (nd - point);
	int64_t v     = 0;
	for (int i = 0; i < nd; i++) {
		if (i >= nd + scale) { /* a digit after the decimal point */
			if (digits[i] != '0') {
				return -1;
			}
			continue;
		}
		if (v > (INT64_MAX - (digits[i] - '0')) / 10) {
			return -1;
		}
		v = v * 10 + (digits[i] - '0');
	}
	for (int i = 0; i < scale; i++) {
		if (v > INT64_MAX / 10) {
			return -1;
		}
		v *= 10;
	}
	*out = neg ? -v : v;
	return 0;
}

/*
 * The value at j->p as a whole number, read as Jackson reads a Long:
 * a JSON number with an integral value (5, 5.0, 2e6) or a string holding
 * one ("5", spaces around it allowed).  null, a fraction and anything else
 * are refused with the key named.
 */
static int
jwhole(struct json *j, int64_t *out)
{
	char text[48];
	int  quoted = *j->p == '"';
	if (jliteral(j, "null") == 0) {
		return pj_timing_errf(j->err, j->errlen,
		    "%s%s%s must be a whole number, not null", j->what, j->sep,
		    j->key);
	}
	if (quoted) {
		if (jstring(j, text, sizeof(text)) != 0) {
			return PJ_TIMING_EINVAL;
		}
	} else if (jnumber_token(j, text, sizeof(text)) == 0) {
		return pj_timing_errf(j->err, j->errlen,
		    "%s%s%s must be a whole number", j->what, j->sep, j->key);
	}
	if (strlen(text) + 1 >= sizeof(text)) {
		return pj_timing_errf(j->err, j->errlen,
		    "%s%s%s is too long for a number", j->what, j->sep,
		    j->key);
	}
	const char *s = text;
	char        trimmed[48];
	while (*s == ' ') {
		s++;
	}
	snprintf(trimmed, sizeof(trimmed), "%s", s);
	for (size_t n = strlen(trimmed); n > 0 && trimmed[n - 1] == ' ';) {
		trimmed[--n] = '\0';
	}
	if (whole_number(trimmed, out) != 0) {
		return pj_timing_errf(j->err, j->errlen,
		    quoted ? "%s%s%s '%.32s' is not a whole number"
		           : "%s%s%s %.32s is not a whole number",
		    j->what, j->sep, j->key, text);
	}
	return 0;
}

static int
jskip(struct json *j, int depth)
{
	char tmp[48];
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
	if (jnumber_token(j, tmp, sizeof(tmp)) > 0) {
		return 0;
	}
	return jfail(j, "expected a JSON value");
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
			j->key = key;
			if (fn(j, key, arg) != 0) {
				return PJ_TIMING_EINVAL;
			}
			j->key = NULL;
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
lc_bound(const char *key, int64_t v, char *err, size_t errlen)
{
	if (v < 0) {
		return pj_timing_errf(err, errlen,
		    "lifecycle %s %lld is negative (epoch milliseconds)", key,
		    (long long) v);
	}
	if (v >= PJ_LIFECYCLE_MAX_MS) {
		return pj_timing_errf(err, errlen,
		    "lifecycle %s %lld is not before the year 10000 (epoch "
		    "milliseconds)",
		    key, (long long) v);
	}
	return 0;
}

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
	if (jwhole(j, dst) != 0) {
		return PJ_TIMING_EINVAL;
	}
	if (dst == &lc->end_ms && *dst == 0) {
		/* PowerJob refuses it as out of date; 0 here means "no end",
		 * which the user did not ask for */
		return pj_timing_errf(j->err, j->errlen,
		    "lifecycle end 0 is 1970-01-01T00:00:00Z, long past: "
		    "leave "
		    "end out or null for no end");
	}
	return lc_bound(key, *dst, j->err, j->errlen);
}

int
pj_lifecycle_parse(
    const char *json, pj_lifecycle *lc, char *err, size_t errlen)
{
	struct json j = { .p = json,
		.err         = err,
		.errlen      = errlen,
		.what        = "lifecycle",
		.sep         = " " };
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
	if (lc_bound("start", lc->start_ms, err, errlen) != 0
	    || lc_bound("end", lc->end_ms, err, errlen) != 0) {
		return PJ_TIMING_EINVAL;
	}
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
	int64_t  unit_ms,
	    unit_per_ms; /* ms = interval * unit_ms / unit_per_ms */
	const char *unit;
	int         have_interval, have_start, have_end;
};

/* 1 or 2 digits, then STOP; returns the position after them or NULL */
static const char *
tod_field(const char *s, int *v, char stop)
{
	if (!isdigit((unsigned char) s[0])) {
		return NULL;
	}
	*v = s[0] - '0';
	s++;
	if (isdigit((unsigned char) s[0])) {
		*v = *v * 10 + (s[0] - '0');
		s++;
	}
	return *s == stop ? s + (stop != '\0') : NULL;
}

/* "H:m:s" with one or two digits each (PowerJob's TimeOfDay.from takes
 * "9:00:00" too); signs, longer fields and other shapes are refused */
static int
time_of_day(struct json *j, const char *key, int32_t *sod)
{
	char        s[16];
	int         h, m, sec;
	const char *p;
	if (*j->p != '"') {
		return pj_timing_errf(j->err, j->errlen,
		    "%s%s%s must be a string \"HH:mm:ss\"", j->what, j->sep,
		    key);
	}
	if (jstring(j, s, sizeof(s)) != 0) {
		return PJ_TIMING_EINVAL;
	}
	if ((p = tod_field(s, &h, ':')) == NULL
	    || (p = tod_field(p, &m, ':')) == NULL
	    || tod_field(p, &sec, '\0') == NULL) {
		return pj_timing_errf(j->err, j->errlen,
		    "daily time interval: %s '%s' is not HH:mm:ss", key, s);
	}
	if (h > 23 || m > 59 || sec > 59) {
		return pj_timing_errf(j->err, j->errlen,
		    "daily time interval: %s '%s' is not a time of day", key,
		    s);
	}
	*sod = h * 3600 + m * 60 + sec;
	return 0;
}

static int
days_of_week(struct json *j, uint8_t *days)
{
	if (jliteral(j, "null") == 0) {
		return 0;
	}
	if (*j->p != '[') {
		return jfail(j, "must be a list of 1-7");
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
		if (jwhole(j, &v) != 0) {
			return PJ_TIMING_EINVAL;
		}
		if (v < 1 || v > 7) {
			return pj_timing_errf(j->err, j->errlen,
			    "daily time interval: daysOfWeek %lld is "
			    "out of range 1-7 (1 = Monday)",
			    (long long) v);
		}
		*days |= (uint8_t) (1U << v);
		ws(j);
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p == ']') {
			j->p++;
			return 0;
		}
		return jfail(j, "expected ',' or ']'");
	}
}

static int
interval_unit(struct json *j, struct daily_parse *dp)
{
	static const struct {
		const char *name;
		int64_t     ms, per_ms;
	} units[] = { { "NANOSECONDS", 1, 1000000 },
		{ "MICROSECONDS", 1, 1000 }, { "MILLISECONDS", 1, 1 },
		{ "SECONDS", 1000, 1 }, { "MINUTES", 60000, 1 },
		{ "HOURS", 3600000, 1 }, { "DAYS", MS_PER_DAY, 1 } };
	char u[16];
	if (jliteral(j, "null") == 0) {
		return 0;
	}
	if (*j->p != '"') {
		return pj_timing_errf(j->err, j->errlen,
		    "daily time interval: intervalUnit must be a string");
	}
	if (jstring(j, u, sizeof(u)) != 0) {
		return PJ_TIMING_EINVAL;
	}
	if (u[0] == '\0') {
		return 0; /* PowerJob: an empty unit is SECONDS */
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(u, units[i].name) == 0) {
			dp->unit_ms     = units[i].ms;
			dp->unit_per_ms = units[i].per_ms;
			dp->unit        = units[i].name;
			return 0;
		}
	}
	return pj_timing_errf(j->err, j->errlen,
	    "daily time interval: intervalUnit '%s' is not one of "
	    "NANOSECONDS, MICROSECONDS, MILLISECONDS, SECONDS, MINUTES, "
	    "HOURS, DAYS",
	    u);
}

static int
daily_key(struct json *j, const char *key, void *arg)
{
	struct daily_parse *dp = arg;
	if (strcmp(key, "interval") == 0) {
		dp->have_interval = 1;
		return jwhole(j, &dp->interval);
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
		return interval_unit(j, dp);
	}
	if (strcmp(key, "daysOfWeek") == 0) {
		return days_of_week(j, &dp->d.days);
	}
	return jskip(j, 0);
}

int
pj_daily_parse(const char *json, pj_daily *d, char *err, size_t errlen)
{
	struct daily_parse dp
	    = { .unit_ms = 1000, .unit_per_ms = 1, .unit = "SECONDS" };
	struct json j = { .p = json ? json : "",
		.err         = err,
		.errlen      = errlen,
		.what        = "daily time interval",
		.sep         = ": " };
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
	/* interval / unit_per_ms is at most a year of ms here, so the product
	 * fits */
	if (dp.interval <= 0 || dp.interval / dp.unit_per_ms > 366 * MS_PER_DAY
	    || dp.interval / dp.unit_per_ms * dp.unit_ms > 366 * MS_PER_DAY) {
		return pj_timing_errf(err, errlen,
		    "daily time interval: interval %lld is out of range "
		    "(more than 0, at most a year)",
		    (long long) dp.interval);
	}
	if (dp.interval % dp.unit_per_ms != 0) {
		return pj_timing_errf(err, errlen,
		    "daily time interval: interval %lld %s is not a whole "
		    "number of milliseconds",
		    (long long) dp.interval, dp.unit);
	}
	if (dp.d.end_sod < dp.d.start_sod) {
		return pj_timing_errf(err, errlen,
		    "daily time interval: endTimeOfDay is before "
		    "startTimeOfDay");
	}
	dp.d.interval_ms = dp.interval / dp.unit_per_ms * dp.unit_ms;
	*d               = dp.d;
	return 0;
}
