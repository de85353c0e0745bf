/*
 * The JSON of DAILY_TIME_INTERVAL expressions and lifecycle windows, read
 * with jansson (the project's JSON library): the text is parsed into a
 * jansson value, then the known keys of the flat object are checked one by
 * one (unknown keys are ignored, as Jackson's FAIL_ON_UNKNOWN_PROPERTIES =
 * false does).  What is accepted and refused is in timing.c's design notes;
 * every message about a value names its field.  Syntax errors are
 * jansson's own text with the character position.  Fed by the same fuzz
 * target as the CRON parser.
 */
#include "server/timing/timing_int.h"

#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct jctx {
	char       *err;
	size_t      errlen;
	const char *what; /* "daily time interval", "lifecycle" */
	const char *sep;  /* between what and a key: "lifecycle start" */
};

/* "WHAT: MSG" */
static int
jfail(struct jctx *j, const char *msg)
{
	return pj_timing_errf(j->err, j->errlen, "%s: %s", j->what, msg);
}

/*
 * The last key ("KEY" followed by ':') that starts before byte END of
 * TEXT, so that a syntax error can name the field it is in or after;
 * *len 0 when there is none.  Only for messages: the text is not read for
 * its values here.
 */
static const char *
last_key(const char *text, size_t end, int *len)
{
	const char *key = NULL;
	*len            = 0;
	for (size_t i = 0; i < end && text[i] != '\0'; i++) {
		if (text[i] != '"') {
			continue;
		}
		size_t s = ++i;
		while (i < end && text[i] != '\0' && text[i] != '"') {
			i += text[i] == '\\' && text[i + 1] != '\0' ? 2 : 1;
		}
		if (i >= end || text[i] != '"') {
			break; /* the error is inside this string */
		}
		size_t k = i + 1;
		while (text[k] == ' ' || text[k] == '\t' || text[k] == '\n'
		    || text[k] == '\r') {
			k++;
		}
		if (text[k] == ':') {
			key  = text + s;
			*len = (int) (i - s < 32 ? i - s : 32);
		}
	}
	return key;
}

/*
 * TEXT parsed as one JSON object with nothing but white space after it;
 * NULL with the message set otherwise.  The caller json_decref()s it.
 */
static json_t *
jload(struct jctx *j, const char *text)
{
	json_error_t e;
	json_t      *v;
	const char  *p = text;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
		p++;
	}
	if (*p == '\0') {
		jfail(j, "expected a JSON object");
		return NULL;
	}
	/* DISABLE_EOF_CHECK: e.position is then where the value ended */
	v = json_loads(text, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &e);
	if (v == NULL) {
		int         klen;
		const char *key = last_key(text, (size_t) e.position, &klen);
		if (key != NULL) {
			pj_timing_errf(j->err, j->errlen,
			    "%s: invalid JSON at character %d (field %.*s): "
			    "%s",
			    j->what, e.position, klen, key, e.text);
		} else {
			pj_timing_errf(j->err, j->errlen,
			    "%s: invalid JSON at character %d: %s", j->what,
			    e.position, e.text);
		}
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		jfail(j, "expected a JSON object");
		return NULL;
	}
	for (p = text + e.position; *p != '\0'; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			json_decref(v);
			jfail(j, "unexpected text after the object");
			return NULL;
		}
	}
	return v;
}

/* D in the fewest significant digits that read back as D ("1.5", not
 * "1.5000000000000000") */
static void
real_text(double d, char *buf, size_t len)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, d);
		if (strtod(buf, NULL) == d) {
			return;
		}
	}
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
 * V (the value of KEY) as a whole number, read as Jackson reads a Long:
 * a JSON number with an integral value (5, 5.0, 2e6) or a string holding
 * one ("5", spaces around it allowed).  null, a fraction and anything else
 * are refused with the key named.
 */
static int
jwhole(struct jctx *j, const char *key, const json_t *v, int64_t *out)
{
	if (json_is_null(v)) {
		return pj_timing_errf(j->err, j->errlen,
		    "%s%s%s must be a whole number, not null", j->what, j->sep,
		    key);
	}
	if (json_is_integer(v)) {
		*out = (int64_t) json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		char   text[40];
		/* [-2^63, 2^63): exactly representable bounds */
		if (d == trunc(d) && d >= -9223372036854775808.0
		    && d < 9223372036854775808.0) {
			*out = (int64_t) d;
			return 0;
		}
		real_text(d, text, sizeof(text));
		return pj_timing_errf(j->err, j->errlen,
		    "%s%s%s %s is not a whole number", j->what, j->sep, key,
		    text);
	}
	if (!json_is_string(v)) {
		return pj_timing_errf(j->err, j->errlen,
		    "%s%s%s must be a whole number", j->what, j->sep, key);
	}
	const char *text = json_string_value(v);
	char        trimmed[48];
	if (json_string_length(v) + 1 >= sizeof(trimmed)) {
		return pj_timing_errf(j->err, j->errlen,
		    "%s%s%s is too long for a number", j->what, j->sep, key);
	}
	const char *s = text;
	while (*s == ' ') {
		s++;
	}
	snprintf(trimmed, sizeof(trimmed), "%s", s);
	for (size_t n = strlen(trimmed); n > 0 && trimmed[n - 1] == ' ';) {
		trimmed[--n] = '\0';
	}
	if (whole_number(trimmed, out) != 0) {
		return pj_timing_errf(j->err, j->errlen,
		    "%s%s%s '%.32s' is not a whole number", j->what, j->sep,
		    key, text);
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
lc_key(struct jctx *j, const char *key, const json_t *v, int64_t *dst)
{
	if (v == NULL || json_is_null(v)) {
		*dst = 0;
		return 0;
	}
	if (jwhole(j, key, v, dst) != 0) {
		return PJ_TIMING_EINVAL;
	}
	if (strcmp(key, "end") == 0 && *dst == 0) {
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
	struct jctx j = {
		.err = err, .errlen = errlen, .what = "lifecycle", .sep = " "
	};
	json_t *o;
	int     rv;
	memset(lc, 0, sizeof(*lc));
	if (json == NULL || *json == '\0') {
		return 0;
	}
	if ((o = jload(&j, json)) == NULL) {
		return PJ_TIMING_EINVAL;
	}
	/* in the order written, as a streaming reader meets them */
	const char *key;
	json_t     *v;
	rv = 0;
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "start") == 0) {
			rv = lc_key(&j, "start", v, &lc->start_ms);
		} else if (strcmp(key, "end") == 0) {
			rv = lc_key(&j, "end", v, &lc->end_ms);
		}
		if (rv != 0) {
			break;
		}
	}
	json_decref(o);
	return rv;
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
time_of_day(struct jctx *j, const char *key, const json_t *v, int32_t *sod)
{
	int         h, m, sec;
	const char *p, *s;
	if (!json_is_string(v)) {
		return pj_timing_errf(j->err, j->errlen,
		    "%s%s%s must be a string \"HH:mm:ss\"", j->what, j->sep,
		    key);
	}
	s = json_string_value(v);
	if ((p = tod_field(s, &h, ':')) == NULL
	    || (p = tod_field(p, &m, ':')) == NULL
	    || tod_field(p, &sec, '\0') == NULL) {
		return pj_timing_errf(j->err, j->errlen,
		    "daily time interval: %s '%.32s' is not HH:mm:ss", key, s);
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
days_of_week(struct jctx *j, const json_t *v, uint8_t *days)
{
	size_t  i;
	json_t *item;
	if (json_is_null(v)) {
		return 0;
	}
	if (!json_is_array(v)) {
		return jfail(j, "daysOfWeek: must be a list of 1-7");
	}
	json_array_foreach(v, i, item)
	{
		int64_t d;
		if (jwhole(j, "daysOfWeek", item, &d) != 0) {
			return PJ_TIMING_EINVAL;
		}
		if (d < 1 || d > 7) {
			return pj_timing_errf(j->err, j->errlen,
			    "daily time interval: daysOfWeek %lld is "
			    "out of range 1-7 (1 = Monday)",
			    (long long) d);
		}
		*days |= (uint8_t) (1U << d);
	}
	return 0;
}

static int
interval_unit(struct jctx *j, const json_t *v, struct daily_parse *dp)
{
	static const struct {
		const char *name;
		int64_t     ms, per_ms;
	} units[] = { { "NANOSECONDS", 1, 1000000 },
		{ "MICROSECONDS", 1, 1000 }, { "MILLISECONDS", 1, 1 },
		{ "SECONDS", 1000, 1 }, { "MINUTES", 60000, 1 },
		{ "HOURS", 3600000, 1 }, { "DAYS", MS_PER_DAY, 1 } };
	const char *u;
	if (json_is_null(v)) {
		return 0;
	}
	if (!json_is_string(v)) {
		return pj_timing_errf(j->err, j->errlen,
		    "daily time interval: intervalUnit must be a string");
	}
	u = json_string_value(v);
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
	    "daily time interval: intervalUnit '%.32s' is not one of "
	    "NANOSECONDS, MICROSECONDS, MILLISECONDS, SECONDS, MINUTES, "
	    "HOURS, DAYS",
	    u);
}

static int
daily_key(
    struct jctx *j, const char *key, const json_t *v, struct daily_parse *dp)
{
	if (strcmp(key, "interval") == 0) {
		dp->have_interval = 1;
		return jwhole(j, key, v, &dp->interval);
	}
	if (strcmp(key, "startTimeOfDay") == 0) {
		dp->have_start = 1;
		return time_of_day(j, key, v, &dp->d.start_sod);
	}
	if (strcmp(key, "endTimeOfDay") == 0) {
		dp->have_end = 1;
		return time_of_day(j, key, v, &dp->d.end_sod);
	}
	if (strcmp(key, "intervalUnit") == 0) {
		return interval_unit(j, v, dp);
	}
	if (strcmp(key, "daysOfWeek") == 0) {
		return days_of_week(j, v, &dp->d.days);
	}
	return 0; /* unknown keys are ignored */
}

int
pj_daily_parse(const char *json, pj_daily *d, char *err, size_t errlen)
{
	struct daily_parse dp
	    = { .unit_ms = 1000, .unit_per_ms = 1, .unit = "SECONDS" };
	struct jctx j = { .err = err,
		.errlen        = errlen,
		.what          = "daily time interval",
		.sep           = ": " };
	json_t     *o;
	const char *key;
	json_t     *v;
	int         rv = 0;
	memset(d, 0, sizeof(*d));
	if ((o = jload(&j, json ? json : "")) == NULL) {
		return PJ_TIMING_EINVAL;
	}
	json_object_foreach(o, key, v)
	{
		if ((rv = daily_key(&j, key, v, &dp)) != 0) {
			break;
		}
	}
	json_decref(o);
	if (rv != 0) {
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
