/*
 * CRON expressions, Quartz 2.3.2 dialect: the next fire time.
 *
 * Design notes
 * - Kept from Quartz: the fire times themselves.  pj_cron_next follows
 *   CronExpression.getTimeAfter step by step on an emulation of
 *   java.util.GregorianCalendar's lenient fields (struct jcal), because
 *   Quartz's daylight-saving behaviour is not a rule written anywhere but a
 *   consequence of that loop: a wall time in a spring gap is normalised
 *   forward and then rejected by the next pass (so it is never invented), and
 *   an hour repeated in autumn fires once, in its second (standard-time)
 *   occurrence.  The oracle suite (t/cron_oracle_test.c) compares the two on
 *   thousands of cases.
 * - Where Quartz is not deterministic or does not answer, we choose:
 *   (1) its W rule compares against a calendar that kept the wall clock's
 *   milliseconds, so for a start time inside the very second of a W fire
 *   its answer depends on when you ask; we compare whole seconds (Quartz's
 *   answer for whole-second start times, which is what the scheduler
 *   passes); (2) it loops forever on some W/LW expressions around
 *   Pacific/Apia's skipped 2011-12-30 (the W day's midnight does not exist,
 *   so setting it lands on the next day, from which W picks it again); we
 *   see a pass start where a recent one started and go on from the next
 *   day.  CRON_MAX_PASSES still bounds every call.  No fire time is ever
 * returned after 2099-12-31.
 * - Java's zone tables stop at 2037 and a rule object takes over; we extend
 *   the TZif transitions with the file's POSIX rule instead and use one
 *   wall-time rule for every year.  The oracle suite samples start times up
 *   to 2099 and has found no difference.
 * - Cost: the calendar keeps the zone's current offset stretch
 *   (pj_tz_segment), so a step that stays inside it needs no search in the
 *   zone's transitions; sets are bitmaps read with count-trailing-zeros.
 *   About 7 million next-fire computations per second for plain
 *   expressions, 13-15x Quartz (docs/benchmarks.md).
 */
#include "server/timing/cron.h"

#include <stdint.h>

/* Generous upper bound on loop passes of pj_cron_next; Quartz's worst case
 * (an expression that never matches, walked to 2099) needs a few
 * thousand. */
#define CRON_MAX_PASSES 200000
/* pass starts remembered to see Quartz's endless loops (cycles are short) */
#define CRON_CYCLE_WINDOW 8

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

	int64_t tops[CRON_CYCLE_WINDOW];
	for (int i = 0; i < CRON_CYCLE_WINDOW; i++) {
		tops[i] = INT64_MIN;
	}
	for (int pass = 0; pass < CRON_MAX_PASSES; pass++) {
		if (cal_get(&cl, C_YEAR) > PJ_CRON_MAX_YEAR) {
			return PJ_TIMING_ENONE;
		}
		/* A pass is a function of the instant alone: starting one
		 * where a recent one started means Quartz loops forever (a W
		 * day whose midnight does not exist: Pacific/Apia,
		 * 2011-12-30).  Go on from the next day instead. */
		for (int i = 0; i < CRON_CYCLE_WINDOW; i++) {
			if (tops[i] == cl.t) {
				int64_t day = cl.f[C_DAY];
				cal_midnight(&cl);
				cal_set(&cl, C_DAY, day + 1);
				cal_complete(&cl);
				break;
			}
		}
		tops[pass % CRON_CYCLE_WINDOW] = cl.t;
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
