/*
 * CRON expressions, Quartz 2.3.2 dialect: the parser.
 *
 * Design notes
 * - Kept from PowerJob/Quartz: the grammar (seconds, minutes, hours,
 *   day-of-month with L, L-n, W, LW, ?; month 1-12 or JAN-DEC; day-of-week
 *   1-7 with Sunday = 1 or SUN-SAT with #, L, ?; optional year; '*', ranges
 *   that may wrap ("22-2"), lists, steps ("a/b", "a-b/c", and "/b" after
 *   '*'; bounded as Quartz's checkIncrementRange bounds them), upper and
 *   lower case, and
 *   the rule that exactly one of day-of-month and day-of-week is '?'.  The
 *   sets built are the sets Quartz builds (a lone 'L' in day-of-week is
 *   Saturday, as in Quartz).
 * - Changed: sets are bitmaps (no TreeSet, no heap: a pj_cron is a plain
 *   value); the parser is strict where Quartz silently ignores text (extra
 *   fields, text after '*' or after a name, empty list items, a step of 0,
 *   'W' or '#' in a list, "0W") and every error names the field and the
 *   problem ("day-of-month 32 is out of range 1-31").  Years are 1970-2099
 *   (Quartz: up to the current year + 100, so its answer depends on the day
 *   you ask).  The oracle suite counts the expressions Quartz accepts and
 *   we refuse; it fails if we accept one that Quartz refuses.
 * - The next-fire computation is in cron.c.
 */
#include "server/timing/cron.h"

#include <ctype.h>
#include <stdarg.h>
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

struct parser {
	pj_cron *c;
	char    *err;
	size_t   errlen;
	int      field;
	char     item[64]; /* the list item being parsed, for messages */
};

static int fail(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

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
