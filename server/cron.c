/*
 * CRON expressions, Quartz 2.3.2 dialect.
 *
 * Design notes
 * - Kept from PowerJob/Quartz: the grammar (seconds, minutes, hours,
 *   day-of-month with L, L-n, W, LW, ?; month 1-12 or JAN-DEC; day-of-week
 *   1-7 with Sunday = 1 or SUN-SAT with #, L, ?; optional year; '*', ranges
 *   that may wrap ("22-2"), lists, steps), exactly one of day-of-month and
 *   day-of-week must be '?', and above all the fire times: pj_cron_next
 *   follows CronExpression.getTimeAfter step by step on an emulation of
 *   java.util.GregorianCalendar's lenient fields (struct jcal), because
 *   Quartz's daylight-saving behaviour is not a rule written anywhere but a
 *   consequence of that loop: a wall time in a spring gap is normalised
 *   forward and then rejected by the next pass (so it is never invented), and
 *   an hour repeated in autumn fires once, in its second (standard-time)
 *   occurrence.  The oracle test (t/cron_oracle_test.c) compares the two.
 * - Changed: sets are bitmaps (no TreeSet, no heap: a pj_cron is a plain
 *   value); the parser is strict where Quartz silently ignores text (extra
 *   fields, text after a name, empty list items, a step of 0, 'W' or '#' in a
 *   list), and every error names the field and the problem.  Years end at
 *   2099 (Quartz: the current year + 100, so its answer depends on the day
 *   you ask); no fire time is ever returned after 2099-12-31.
 * - Where Quartz is not deterministic or does not answer, we choose:
 *   (1) its W rule compares against a calendar that kept the wall clock's
 *   milliseconds, so for a start time inside the very second of a W fire
 *   its answer depends on when you ask; we compare whole seconds (Quartz's
 *   answer for whole-second start times, which is what the scheduler
 *   passes); (2) it loops forever on some W/LW expressions around Pacific/
 *   Apia's skipped 2011-12-30 and on "0W"; we refuse "0W" and stop after
 *   CRON_MAX_PASSES passes with "no next fire".
 * - Java's zone tables stop at 2037 and a rule object takes over; we extend
 *   the TZif transitions with the file's POSIX rule instead and use one
 *   wall-time rule for every year.  The oracle suite samples start times up
 *   to 2099 and has found no difference.
 * - Cost: each pass reads or writes the emulated calendar; a read after a
 *   write converts wall time to an instant and back (two binary searches in
 *   the zone's transitions).  About 1.8 million next-fire computations per
 *   second for plain expressions, about 9x Quartz (docs/benchmarks.md).
 */
#include "server/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_YEAR, F_COUNT };

static const char *const field_name[F_COUNT] = { "second", "minute", "hour",
	"day-of-month", "month", "day-of-week", "year" };
static const int field_min[F_COUNT] = { 0, 0, 0, 1, 1, 1, PJ_CRON_MIN_YEAR };
static const int field_max[F_COUNT]
    = { 59, 59, 23, 31, 12, 7, PJ_CRON_MAX_YEAR };

/* Quartz's largest steps (checkIncrementRange) */
static const int step_max[F_COUNT]
    = { 59, 59, 23, 31, 12, 7, PJ_CRON_MAX_YEAR - PJ_CRON_MIN_YEAR + 1 };

static const char *const month_names[12] = { "JAN", "FEB", "MAR", "APR", "MAY",
	"JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC" };
static const char *const day_names[7]
    = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT" };

/* Generous upper bound on loop passes of pj_cron_next; Quartz's worst case
 * (an expression that never matches, walked to 2099) needs a few
 * thousand. */
#define CRON_MAX_PASSES 200000

struct parser {
	pj_cron *c;
	char    *err;
	size_t   errlen;
	int      field;
	char     item[64]; /* the list item being parsed, for messages */
};

static int fail(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#include <stdarg.h>

static int
fail(struct parser *p, const char *fmt, ...)
{
	if (p->err != NULL && p->errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
	return PJ_TIMING_EINVAL;
}

static void
set_bit(pj_cron *c, int field, int v)
{
	switch (field) {
	case F_SEC:
		c->seconds |= 1ULL << v;
		break;
	case F_MIN:
		c->minutes |= 1ULL << v;
		break;
	case F_HOUR:
		c->hours |= 1U << v;
		break;
	case F_DOM:
		c->days |= 1U << v;
		break;
	case F_MON:
		c->months |= (uint16_t) (1U << v);
		break;
	case F_DOW:
		c->weekdays |= (uint8_t) (1U << v);
		break;
	default:
		v -= PJ_CRON_MIN_YEAR;
		c->years[v / 64] |= 1ULL << (v % 64);
		break;
	}
}

static int
is_empty(const pj_cron *c, int field)
{
	switch (field) {
	case F_SEC:
		return c->seconds == 0;
	case F_MIN:
		return c->minutes == 0;
	case F_HOUR:
		return c->hours == 0;
	case F_DOM:
		return c->days == 0;
	case F_MON:
		return c->months == 0;
	case F_DOW:
		return c->weekdays == 0;
	default:
		return (c->years[0] | c->years[1] | c->years[2]) == 0;
	}
}

/* A number (at most 4 digits) or, in month and day-of-week, a name.
 * Returns characters consumed, 0 if none, -1 on error (message set). */
static int
parse_value(struct parser *p, const char *s, int *out, int *named)
{
	int n = 0, v = 0;
	*named = 0;
	if (isdigit((unsigned char) s[0])) {
		while (isdigit((unsigned char) s[n])) {
			if (n == 4) {
				return fail(p, "%s value '%s' is too long",
				           field_name[p->field], p->item),
				       -1;
			}
			v = v * 10 + (s[n] - '0');
			n++;
		}
		*out = v;
		return n;
	}
	if (!isalpha((unsigned char) s[0])) {
		return 0;
	}
	const char *const *names = NULL;
	int                count = 0, base = 0;
	if (p->field == F_MON) {
		names = month_names, count = 12, base = 1;
	} else if (p->field == F_DOW) {
		names = day_names, count = 7, base = 1;
	}
	for (int i = 0; i < count; i++) {
		if (strncmp(s, names[i], 3) == 0) {
			*out   = i + base;
			*named = 1;
			return 3;
		}
	}
	if (p->field == F_MON || p->field == F_DOW) {
		return fail(p, "%s name '%.3s' is unknown (use %s)",
		           field_name[p->field], s,
		           p->field == F_MON ? "JAN-DEC" : "SUN-SAT"),
		       -1;
	}
	return fail(p, "%s does not accept '%c' in '%s'", field_name[p->field],
	           s[0], p->item),
	       -1;
}

static int
check_range(struct parser *p, int v)
{
	int f = p->field;
	if (v < field_min[f] || v > field_max[f]) {
		return fail(p, "%s %d is out of range %d-%d", field_name[f], v,
		    field_min[f], field_max[f]);
	}
	return 0;
}

static int
add_range(struct parser *p, int lo, int hi, int step)
{
	int f = p->field, span = field_max[f] - field_min[f] + 1;
	if (hi < lo) {
		if (f == F_YEAR) {
			return fail(p, "year range %d-%d is reversed", lo, hi);
		}
		hi += span; /* wraps, as Quartz's "22-2" */
	}
	for (int v = lo; v <= hi; v += step) {
		int x = v > field_max[f] ? v - span : v;
		set_bit(p->c, f, x);
	}
	return 0;
}

/* day-of-month specials: L, L-n, LW, L-nW, nW */
static int
parse_dom_special(struct parser *p, const char *s, int *handled)
{
	pj_cron *c = p->c;
	*handled   = 1;
	if (s[0] == 'L') {
		int i = 1, off = 0;
		if (s[i] == '-') {
			i++;
			if (!isdigit((unsigned char) s[i])) {
				return fail(p,
				    "day-of-month 'L-' must be followed by a "
				    "number of days");
			}
			while (isdigit((unsigned char) s[i]) && off <= 30) {
				off = off * 10 + (s[i++] - '0');
			}
			if (off > 30) {
				return fail(p,
				    "day-of-month offset from the last day %s "
				    "is out of range 0-30",
				    s + 2);
			}
		}
		if (s[i] == 'W') {
			c->nearest_weekday = 1;
			i++;
		}
		if (s[i] != '\0') {
			return fail(p,
			    "day-of-month '%s' is not valid (L, "
			    "L-n, LW or L-nW)",
			    s);
		}
		c->last_dom        = 1;
		c->last_dom_offset = (uint8_t) off;
		return 0;
	}
	size_t n = strlen(s);
	if (n >= 2 && s[n - 1] == 'W') {
		int v = 0;
		for (size_t i = 0; i + 1 < n; i++) {
			if (!isdigit((unsigned char) s[i]) || i >= 4) {
				return fail(p,
				    "day-of-month '%s' is not valid (nW "
				    "wants a day number)",
				    s);
			}
			v = v * 10 + (s[i] - '0');
		}
		if (check_range(p, v) != 0) {
			return PJ_TIMING_EINVAL;
		}
		c->nearest_weekday = 1;
		set_bit(c, F_DOM, v);
		return 0;
	}
	*handled = 0;
	return 0;
}

/* day-of-week specials: L, nL, n#k (n a number or a name) */
static int
parse_dow_special(struct parser *p, const char *s, int *handled)
{
	pj_cron *c = p->c;
	int      v, named, k;
	*handled = 1;
	if (strcmp(s, "L") == 0) {
		set_bit(c, F_DOW, 7); /* Quartz: a lone L is Saturday */
		return 0;
	}
	if (strchr(s, 'L') == NULL && strchr(s, '#') == NULL) {
		*handled = 0;
		return 0;
	}
	if ((k = parse_value(p, s, &v, &named)) <= 0) {
		return k < 0 ? PJ_TIMING_EINVAL
		             : fail(p, "day-of-week '%s' is not valid", s);
	}
	if (check_range(p, v) != 0) {
		return PJ_TIMING_EINVAL;
	}
	if (strcmp(s + k, "L") == 0) {
		c->last_dow = 1;
		set_bit(c, F_DOW, v);
		return 0;
	}
	if (s[k] == '#') {
		const char *q = s + k + 1;
		if (!isdigit((unsigned char) q[0]) || q[1] != '\0'
		    || q[0] < '1' || q[0] > '5') {
			return fail(p,
			    "day-of-week '%s': '#' must be followed by a "
			    "number 1-5",
			    s);
		}
		c->nth_dow = (uint8_t) (q[0] - '0');
		set_bit(c, F_DOW, v);
		return 0;
	}
	return fail(p, "day-of-week '%s' is not valid (nL or n#k)", s);
}

/* Does S contain CH outside a month or day name ("JUL" has no 'L')? */
static int
has_special(const char *s, char ch)
{
	for (size_t i = 0; s[i] != '\0';) {
		int skip = 0;
		for (int k = 0; k < 12 && !skip; k++) {
			skip = strncmp(s + i, month_names[k], 3) == 0
			    || (k < 7 && strncmp(s + i, day_names[k], 3) == 0);
		}
		if (skip) {
			i += 3;
			continue;
		}
		if (s[i] == ch) {
			return 1;
		}
		i++;
	}
	return 0;
}

static int
parse_item(struct parser *p, const char *s)
{
	int f = p->field, lo, hi, step = 0, k, named = 0, named2 = 0, handled;
	if (strchr(s, '?') != NULL) {
		if (f != F_DOM && f != F_DOW) {
			return fail(p,
			    "'?' is allowed only in day-of-month "
			    "or day-of-week");
		}
		if (strcmp(s, "?") != 0) {
			return fail(p, "%s '%s': '?' must stand alone",
			    field_name[f], s);
		}
		if (f == F_DOM) {
			p->c->dom_any = 1;
		} else {
			p->c->dow_any = 1;
		}
		return 0;
	}
	if (f == F_DOM) {
		if (has_special(s, '#')) {
			return fail(p, "'#' is allowed only in day-of-week");
		}
		int rv = parse_dom_special(p, s, &handled);
		if (rv != 0 || handled) {
			return rv;
		}
	} else if (f == F_DOW) {
		if (has_special(s, 'W')) {
			return fail(p, "'W' is allowed only in day-of-month");
		}
		if (parse_dow_special(p, s, &handled) != 0) {
			return PJ_TIMING_EINVAL;
		}
		if (handled) {
			return 0;
		}
	} else {
		/* special characters that belong to other fields */
		if (has_special(s, 'L')) {
			return fail(p,
			    "'L' is allowed only in day-of-month "
			    "or day-of-week");
		}
		if (has_special(s, 'W')) {
			return fail(p, "'W' is allowed only in day-of-month");
		}
		if (has_special(s, '#')) {
			return fail(p, "'#' is allowed only in day-of-week");
		}
	}
	const char *q = s;
	if (*q == '*') {
		lo = field_min[f], hi = field_max[f];
		q++;
		if (*q != '\0' && *q != '/') {
			return fail(p,
			    "%s '%s': '*' may be followed only by "
			    "'/step'",
			    field_name[f], s);
		}
	} else {
		if ((k = parse_value(p, q, &lo, &named)) <= 0) {
			return k < 0 ? PJ_TIMING_EINVAL
			             : fail(p, "%s '%s' is not a number",
			                 field_name[f], s);
		}
		if (check_range(p, lo) != 0) {
			return PJ_TIMING_EINVAL;
		}
		q += k;
		hi = lo;
		if (*q == '-') {
			q++;
			if ((k = parse_value(p, q, &hi, &named2)) <= 0) {
				return k < 0
				    ? PJ_TIMING_EINVAL
				    : fail(p, "%s range '%s' has no end",
				        field_name[f], s);
			}
			if (named != named2) {
				return fail(p,
				    "%s range '%s' mixes a name and a number",
				    field_name[f], s);
			}
			if (check_range(p, hi) != 0) {
				return PJ_TIMING_EINVAL;
			}
			q += k;
		} else if (*q == '/') {
			hi = field_max[f]; /* "a/b" runs to the end */
		}
	}
	if (*q == '/') {
		if (named || named2) {
			return fail(p,
			    "%s '%s': a step after a name is not supported "
			    "(Quartz ignores it); use numbers",
			    field_name[f], s);
		}
		q++;
		int dummy;
		if ((k = parse_value(p, q, &step, &dummy)) <= 0 || dummy) {
			return k < 0 ? PJ_TIMING_EINVAL
			             : fail(p,
			                 "%s '%s': '/' must be followed "
			                 "by a number",
			                 field_name[f], s);
		}
		q += k;
		if (step < 1 || step > step_max[f]) {
			return fail(p, "%s step %d is out of range 1-%d",
			    field_name[f], step, step_max[f]);
		}
	} else {
		step = 1;
	}
	if (*q != '\0') {
		return fail(p, "%s '%s' has unexpected text '%s'",
		    field_name[f], s, q);
	}
	return add_range(p, lo, hi, step);
}

static int
parse_field(struct parser *p, const char *tok)
{
	char item[64];
	int  items = 0, special = 0;
	for (const char *s = tok;;) {
		const char *e = strchr(s, ',');
		size_t      n = e ? (size_t) (e - s) : strlen(s);
		if (n == 0) {
			return fail(p, "%s has an empty list item in '%s'",
			    field_name[p->field], tok);
		}
		if (n >= sizeof(item)) {
			return fail(
			    p, "%s item is too long", field_name[p->field]);
		}
		memcpy(item, s, n);
		item[n] = '\0';
		memcpy(p->item, item, n + 1);
		if (parse_item(p, item) != 0) {
			return PJ_TIMING_EINVAL;
		}
		items++;
		if (p->field == F_DOM
		    && (strchr(item, 'L') != NULL
		        || strchr(item, 'W') != NULL)) {
			special = 1;
		}
		if (p->field == F_DOW
		    && (strchr(item, '#') != NULL
		        || (strchr(item, 'L') != NULL))) {
			special = 1;
		}
		if (strcmp(item, "?") == 0) {
			special = 2;
		}
		if (e == NULL) {
			break;
		}
		s = e + 1;
	}
	if (items > 1 && special == 2) {
		return fail(p, "%s: '?' cannot be combined with other values",
		    field_name[p->field]);
	}
	if (items > 1 && special) {
		return fail(p, "%s: %s cannot be combined with other values",
		    field_name[p->field],
		    p->field == F_DOM ? "'L' and 'W'" : "'L' and '#'");
	}
	return 0;
}

int
pj_cron_parse(const char *expr, pj_cron *c, char *err, size_t errlen)
{
	struct parser p = { .c = c, .err = err, .errlen = errlen };
	char          buf[PJ_CRON_MAX_LEN + 1];
	char         *tok[F_COUNT + 1];
	int           ntok = 0;
	memset(c, 0, sizeof(*c));
	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	if (expr == NULL) {
		return fail(&p, "expression is missing");
	}
	size_t len = strlen(expr);
	if (len > PJ_CRON_MAX_LEN) {
		return fail(&p, "expression is longer than %d characters",
		    PJ_CRON_MAX_LEN);
	}
	for (size_t i = 0; i <= len; i++) {
		buf[i] = (char) toupper((unsigned char) expr[i]);
	}
	for (char *s = buf; *s;) {
		while (*s == ' ' || *s == '\t') {
			s++;
		}
		if (*s == '\0') {
			break;
		}
		if (ntok == F_COUNT) {
			ntok++;
			break;
		}
		tok[ntok++] = s;
		while (*s && *s != ' ' && *s != '\t') {
			s++;
		}
		if (*s) {
			*s++ = '\0';
		}
	}
	if (ntok < 6 || ntok > 7) {
		if (ntok > 7) {
			return fail(&p,
			    "expected 6 or 7 fields (second minute "
			    "hour day-of-month month day-of-week "
			    "[year]), got more than 7");
		}
		return fail(&p,
		    "expected 6 or 7 fields (second minute hour "
		    "day-of-month month day-of-week [year]), got %d",
		    ntok);
	}
	for (int f = 0; f < ntok; f++) {
		p.field = f;
		for (const char *q = tok[f]; *q; q++) {
			if (!isalnum((unsigned char) *q)
			    && strchr("*?,-/#", *q) == NULL) {
				return fail(&p,
				    "%s '%s' has an unexpected "
				    "character '%c'",
				    field_name[f], tok[f], *q);
			}
		}
		if (parse_field(&p, tok[f]) != 0) {
			return PJ_TIMING_EINVAL;
		}
	}
	if (ntok == 6) {
		p.field = F_YEAR;
		add_range(&p, PJ_CRON_MIN_YEAR, PJ_CRON_MAX_YEAR, 1);
	}
	if (c->dom_any == c->dow_any) {
		return fail(&p,
		    c->dom_any ? "day-of-month and day-of-week are both "
		                 "'?'; set one of them"
		               : "exactly one of day-of-month and "
		                 "day-of-week must be '?' (Quartz does "
		                 "not support both)");
	}
	for (int f = 0; f < F_COUNT; f++) {
		if ((f == F_DOM && (c->dom_any || c->last_dom))
		    || (f == F_DOW && c->dow_any)) {
			continue;
		}
		if (is_empty(c, f)) {
			p.field = f;
			return fail(&p, "%s has no value", field_name[f]);
		}
	}
	return 0;
}

/* ---- next fire time: CronExpression.getTimeAfter on a lenient calendar -- */

/* java.util.GregorianCalendar's fields, set leniently and normalised on the
 * next read, as Calendar.set()/get() do. */
enum { C_YEAR, C_MON0, C_DAY, C_HOUR, C_MIN, C_SEC, C_NFIELDS };

struct jcal {
	const pj_tz *tz;
	int64_t      f[C_NFIELDS];
	int64_t      t;   /* epoch seconds, valid when !dirty */
	int          dow; /* 1 = Sunday */
	int          dirty;
	/* the zone's segment around t (pj_tz_segment): walls inside it map to
	 * wall - off without a search */
	int64_t seg_lo, seg_hi;
	int32_t seg_off;
};

static int64_t
floordiv(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/* local wall seconds of possibly denormalised fields */
static int64_t
wall_of(int64_t y, int64_t mon0, int64_t d, int64_t h, int64_t mi, int64_t s)
{
	y += floordiv(mon0, 12);
	mon0 -= floordiv(mon0, 12) * 12;
	int64_t days = pj_days_from_civil(y, (int) mon0 + 1, 1) + d - 1;
	return days * 86400 + h * 3600 + mi * 60 + s;
}

static void
cal_fields(struct jcal *c, int64_t t, int64_t loc)
{
	int64_t days = floordiv(loc, 86400);
	int64_t sod  = loc - days * 86400;
	int     m, d;
	pj_civil_from_days(days, &c->f[C_YEAR], &m, &d);
	c->f[C_MON0] = m - 1;
	c->f[C_DAY]  = d;
	c->f[C_HOUR] = sod / 3600;
	c->f[C_MIN]  = sod / 60 % 60;
	c->f[C_SEC]  = sod % 60;
	c->dow       = (int) ((days + 4) % 7 + 7) % 7 + 1;
	c->t         = t;
	c->dirty     = 0;
}

static void
cal_set_time(struct jcal *c, int64_t t)
{
	pj_tz_segment(c->tz, t, &c->seg_lo, &c->seg_hi, &c->seg_off);
	cal_fields(c, t, t + c->seg_off);
}

static void
cal_complete(struct jcal *c)
{
	if (!c->dirty) {
		return;
	}
	int64_t *f = c->f;
	if (f[C_MON0] >= 0 && f[C_MON0] <= 11 && f[C_DAY] >= 1
	    && f[C_DAY] <= 28 && f[C_HOUR] >= 0 && f[C_HOUR] <= 23
	    && f[C_MIN] >= 0 && f[C_MIN] <= 59 && f[C_SEC] >= 0
	    && f[C_SEC] <= 59) {
		/* fields already normal: only the instant and weekday change
		 */
		int64_t days = pj_days_from_civil(
		    f[C_YEAR], (int) f[C_MON0] + 1, (int) f[C_DAY]);
		int64_t w = days * 86400 + f[C_HOUR] * 3600 + f[C_MIN] * 60
		    + f[C_SEC];
		if (w >= c->seg_lo && w < c->seg_hi) {
			c->t     = w - c->seg_off;
			c->dow   = (int) ((days + 4) % 7 + 7) % 7 + 1;
			c->dirty = 0;
			return;
		}
	}
	int64_t w = wall_of(
	    f[C_YEAR], f[C_MON0], f[C_DAY], f[C_HOUR], f[C_MIN], f[C_SEC]);
	if (w >= c->seg_lo && w < c->seg_hi) {
		cal_fields(c, w - c->seg_off, w);
	} else {
		cal_set_time(c, pj_tz_wall_to_utc(c->tz, w));
	}
}

static int64_t
cal_get(struct jcal *c, int field)
{
	cal_complete(c);
	return c->f[field];
}

static void
cal_set(struct jcal *c, int field, int64_t v)
{
	c->f[field] = v;
	c->dirty    = 1;
}

/* Calendar.add(YEAR, n): normalise, move the year, pin the day. */
static void
cal_add_year(struct jcal *c, int n)
{
	cal_complete(c);
	c->f[C_YEAR] += n;
	int dim = pj_days_in_month(c->f[C_YEAR], (int) c->f[C_MON0] + 1);
	if (c->f[C_DAY] > dim) {
		c->f[C_DAY] = dim;
	}
	c->dirty = 1;
}

/* Quartz's setCalendarHour: an hour skipped by DST moves to the next one */
static void
cal_set_hour(struct jcal *c, int64_t hour)
{
	cal_set(c, C_HOUR, hour);
	if (cal_get(c, C_HOUR) != hour && hour != 24) {
		cal_set(c, C_HOUR, hour + 1);
	}
}

static void
cal_midnight(struct jcal *c)
{
	cal_set(c, C_SEC, 0);
	cal_set(c, C_MIN, 0);
	cal_set(c, C_HOUR, 0);
}

/* smallest member >= from of a bitmap of up to 64 values, or -1 */
static int
next64(uint64_t set, int64_t from)
{
	if (from < 0) {
		from = 0;
	}
	if (from > 63) {
		return -1;
	}
	uint64_t m = set >> from;
	return m ? (int) from + __builtin_ctzll(m) : -1;
}

static int
first64(uint64_t set)
{
	return __builtin_ctzll(set);
}

static int
next_year(const pj_cron *c, int64_t from)
{
	if (from < PJ_CRON_MIN_YEAR) {
		from = PJ_CRON_MIN_YEAR;
	}
	for (int64_t y = from; y <= PJ_CRON_MAX_YEAR; y++) {
		int i = (int) (y - PJ_CRON_MIN_YEAR);
		if (c->years[i / 64] & (1ULL << (i % 64))) {
			return (int) y;
		}
	}
	return -1;
}

/* Day of week (1 = Sunday) of 00:00 on day D (may be denormalised) of a
 * month, read like Quartz reads it: through a calendar in the zone, so a
 * midnight that does not exist (Pacific/Apia skipped 2011-12-30) lands on
 * the next day. */
static int
dow_of(const pj_tz *tz, int64_t y, int mon, int64_t d)
{
	int64_t t    = pj_tz_wall_to_utc(tz, wall_of(y, mon - 1, d, 0, 0, 0));
	int64_t days = floordiv(t + pj_tz_offset_at(tz, t), 86400);
	return (int) (((days + 4) % 7 + 7) % 7) + 1;
}

/* Quartz's W rule: the weekday nearest to DAY within its month */
static int64_t
nearest_weekday(const pj_tz *tz, int64_t y, int mon, int64_t day)
{
	int dow  = dow_of(tz, y, mon, day);
	int ldom = pj_days_in_month(y, mon);
	if (dow == 7 && day == 1) {
		day += 2;
	} else if (dow == 7) {
		day -= 1;
	} else if (dow == 1 && day == ldom) {
		day -= 2;
	} else if (dow == 1) {
		day += 1;
	}
	return day;
}

int
pj_cron_next(
    const pj_cron *c, const pj_tz *tz, int64_t after_ms, int64_t *next_ms)
{
	/* 1970-01-01 .. 2100-01-01: beyond, there is nothing to find */
	if (after_ms < -1000 || after_ms >= 4102444800000LL) {
		return PJ_TIMING_ENONE;
	}
	int64_t     base_ms = after_ms + 1000; /* Quartz: one second later */
	struct jcal cl      = { .tz = tz };
	cal_set_time(&cl, floordiv(base_ms, 1000));

	for (int pass = 0; pass < CRON_MAX_PASSES; pass++) {
		if (cal_get(&cl, C_YEAR) > PJ_CRON_MAX_YEAR) {
			return PJ_TIMING_ENONE;
		}
		int64_t sec = cal_get(&cl, C_SEC), min = cal_get(&cl, C_MIN);
		int64_t t, hr, day, mon, tmon, year;
		int     n;

		/* second */
		if ((n = next64(c->seconds, sec)) >= 0) {
			sec = n;
		} else {
			sec = first64(c->seconds);
			cal_set(&cl, C_MIN, ++min);
		}
		cal_set(&cl, C_SEC, sec);

		/* minute */
		min = cal_get(&cl, C_MIN);
		hr  = cal_get(&cl, C_HOUR);
		t   = -1;
		if ((n = next64(c->minutes, min)) >= 0) {
			t   = min;
			min = n;
		} else {
			min = first64(c->minutes);
			hr++;
		}
		if (min != t) {
			cal_set(&cl, C_SEC, 0);
			cal_set(&cl, C_MIN, min);
			cal_set_hour(&cl, hr);
			continue;
		}
		cal_set(&cl, C_MIN, min);

		/* hour */
		hr  = cal_get(&cl, C_HOUR);
		day = cal_get(&cl, C_DAY);
		t   = -1;
		if ((n = next64(c->hours, hr)) >= 0) {
			t  = hr;
			hr = n;
		} else {
			hr = first64(c->hours);
			day++;
		}
		if (hr != t) {
			cal_set(&cl, C_SEC, 0);
			cal_set(&cl, C_MIN, 0);
			cal_set(&cl, C_DAY, day);
			cal_set_hour(&cl, hr);
			continue;
		}
		cal_set(&cl, C_HOUR, hr);

		/* day */
		day  = cal_get(&cl, C_DAY);
		mon  = cal_get(&cl, C_MON0) + 1;
		t    = -1;
		tmon = mon;
		if (c->dow_any) { /* by day-of-month */
			year = cal_get(&cl, C_YEAR);
			if (c->last_dom && !c->nearest_weekday) {
				t   = day;
				day = pj_days_in_month(year, (int) mon)
				    - c->last_dom_offset;
				if (t > day) {
					if (++mon > 12) {
						mon  = 1;
						tmon = 3333; /* force the jump
						              */
						cal_add_year(&cl, 1);
					}
					day = 1;
				}
			} else if (c->nearest_weekday) {
				t = day;
				if (c->last_dom) {
					day = pj_days_in_month(year, (int) mon)
					    - c->last_dom_offset;
				} else {
					day = first64(c->days);
				}
				day = nearest_weekday(
				    tz, year, (int) mon, day);
				int64_t nt = pj_tz_wall_to_utc(tz,
				    wall_of(year, mon - 1, day, hr, min, sec));
				/* Quartz compares with a calendar that kept
				 * the wall clock's milliseconds, so within the
				 * same second its answer is random; we compare
				 * seconds (what Quartz answers for
				 * whole-second start times, the scheduler's
				 * case). */
				if (nt < floordiv(base_ms, 1000)) {
					day = c->last_dom ? 1
					                  : first64(c->days);
					mon++;
				}
			} else if ((n = next64(c->days, day)) >= 0) {
				t   = day;
				day = n;
				if (day > pj_days_in_month(year, (int) mon)) {
					day = first64(c->days);
					mon++;
				}
			} else {
				day = first64(c->days);
				mon++;
			}
			if (day != t || mon != tmon) {
				cal_midnight(&cl);
				cal_set(&cl, C_DAY, day);
				cal_set(&cl, C_MON0, mon - 1);
				continue;
			}
		} else { /* by day-of-week */
			int     cdow = (cal_complete(&cl), cl.dow);
			int     dow  = first64(c->weekdays);
			int64_t add  = 0;
			year         = cal_get(&cl, C_YEAR);
			int ldom     = pj_days_in_month(year, (int) mon);
			if (!c->last_dow && !c->nth_dow
			    && (n = next64(c->weekdays, cdow)) >= 0) {
				dow = n;
			}
			if (cdow < dow) {
				add = dow - cdow;
			} else if (cdow > dow) {
				add = dow + (7 - cdow);
			}
			if (c->last_dow) {
				if (day + add > ldom) {
					cal_midnight(&cl);
					cal_set(&cl, C_DAY, 1);
					cal_set(&cl, C_MON0, mon);
					continue;
				}
				while (day + add + 7 <= ldom) {
					add += 7;
				}
				day += add;
				if (add > 0) {
					cal_midnight(&cl);
					cal_set(&cl, C_DAY, day);
					cal_set(&cl, C_MON0, mon - 1);
					continue;
				}
			} else if (c->nth_dow) {
				int shifted = add > 0;
				day += add;
				int64_t week = day / 7 + (day % 7 > 0);
				add          = (c->nth_dow - week) * 7;
				day += add;
				if (add < 0 || day > ldom) {
					cal_midnight(&cl);
					cal_set(&cl, C_DAY, 1);
					cal_set(&cl, C_MON0, mon);
					continue;
				}
				if (add > 0 || shifted) {
					cal_midnight(&cl);
					cal_set(&cl, C_DAY, day);
					cal_set(&cl, C_MON0, mon - 1);
					continue;
				}
			} else {
				if (day + add > ldom) {
					cal_midnight(&cl);
					cal_set(&cl, C_DAY, 1);
					cal_set(&cl, C_MON0, mon);
					continue;
				}
				if (add > 0) {
					cal_midnight(&cl);
					cal_set(&cl, C_DAY, day + add);
					cal_set(&cl, C_MON0, mon - 1);
					continue;
				}
			}
		}
		cal_set(&cl, C_DAY, day);

		/* month */
		mon  = cal_get(&cl, C_MON0) + 1;
		year = cal_get(&cl, C_YEAR);
		t    = -1;
		if (year > PJ_CRON_MAX_YEAR || year < PJ_CRON_MIN_YEAR) {
			return PJ_TIMING_ENONE;
		}
		if ((n = next64(c->months, mon)) >= 0) {
			t   = mon;
			mon = n;
		} else {
			mon = first64(c->months);
			year++;
		}
		if (mon != t) {
			cal_midnight(&cl);
			cal_set(&cl, C_DAY, 1);
			cal_set(&cl, C_MON0, mon - 1);
			cal_set(&cl, C_YEAR, year);
			continue;
		}
		cal_set(&cl, C_MON0, mon - 1);

		/* year */
		year = cal_get(&cl, C_YEAR);
		if ((n = next_year(c, year)) < 0) {
			return PJ_TIMING_ENONE;
		}
		if (n != year) {
			cal_midnight(&cl);
			cal_set(&cl, C_DAY, 1);
			cal_set(&cl, C_MON0, 0);
			cal_set(&cl, C_YEAR, n);
			continue;
		}
		cal_complete(&cl);
		*next_ms = cl.t * 1000;
		return 0;
	}
	return PJ_TIMING_ENONE;
}
