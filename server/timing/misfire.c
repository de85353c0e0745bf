/*
 * Misfires: which of the fires due while the server was away are fired now,
 * and when is the next one.
 *
 * Design notes
 * - One sequence of fire times, the one pj_timing_next_after walks from the
 *   last recorded fire: lifecycle start and end, the year bound and (for
 *   DAILY_TIME_INTERVAL) the chain of prev + interval are those of the
 *   normal schedule, so every time reported here is one the scheduler could
 *   have fired (the (job_id, fire_time) key never sees an invented time).
 * - The sequence is read as runs: arithmetic stretches first, first + step,
 *   ..., last.  FIXED_RATE is one run; DAILY_TIME_INTERVAL one run per date
 *   (its window); CRON one run per fire.  Counting and picking the latest
 *   fires is arithmetic on runs, so a FIXED_RATE of 1 ms down for a day costs
 *   one step, not 86,400,000.
 * - CRON has no such shortcut: counting walks the fires, at most
 *   PJ_MISFIRE_SCAN_MAX of them (then the counts are lower bounds and
 *   `partial` says so).  The latest fires are found from now backwards
 *   without walking the rest: walk [now - span, now] with span doubling from
 *   1 s until it holds `cap` fires (or reaches the first due fire), halving
 *   back when a span holds more than the walk budget.  Fire times are whole,
 *   distinct milliseconds, so the count changes by at most one per
 *   millisecond of span and the search always ends.
 * - Threshold (Quartz's misfireThreshold, default 60 s): a due fire at most
 *   threshold_ms late is on time and fired whatever the policy; only later
 *   ones are missed and handled by the policy.  The job row has no column for
 *   it yet: the scheduler passes it in pj_misfire_opts.
 * - No allocation: fires go into the caller's array of `cap` entries.
 */
#include "server/timing/timing_int.h"

#include <string.h>

/* CRON: at most this many fires are counted for one decision. */
#define PJ_MISFIRE_SCAN_MAX 1000000
/* CRON's backward search walks at most max(2 * cap, this) fires per try. */
#define CRON_WALK_MIN 4096

struct run {
	int64_t first, step, last; /* step 0: the single fire first */
};

/* The run of fires after X up to LIMIT, or PJ_TIMING_ENONE. */
static int
run_after(const pj_timing *t, const pj_lifecycle *lc, int64_t x, int64_t limit,
    struct run *r)
{
	int64_t f, bound = limit;
	if (pj_timing_next_after(t, lc, x, &f) != 0 || f > limit) {
		return PJ_TIMING_ENONE;
	}
	r->first = r->last = f;
	r->step            = 0;
	if (t->type == PJ_TIME_FIXED_RATE) {
		int64_t y = pj_timing_last_ms(t->tz);
		r->step   = t->interval_ms;
		bound     = y < bound ? y : bound;
	} else if (t->type == PJ_TIME_DAILY_TIME_INTERVAL) {
		int64_t y;
		pj_timing_daily_run_end(t, f, &y);
		r->step = t->daily.interval_ms;
		bound   = y < bound ? y : bound;
	} else {
		return 0;
	}
	if (lc != NULL && lc->end_ms && lc->end_ms < bound) {
		bound = lc->end_ms;
	}
	/* f <= bound: next_after checked f against the end and the year */
	r->last = f + (bound - f) / r->step * r->step;
	return 0;
}

static size_t
run_len(const struct run *r)
{
	return r->step == 0 ? 1
	                    : (size_t) ((r->last - r->first) / r->step) + 1;
}

/* how many of the run's fires are < y */
static size_t
run_before(const struct run *r, int64_t y)
{
	if (y <= r->first) {
		return 0;
	}
	if (y > r->last) {
		return run_len(r);
	}
	return (size_t) ((y - 1 - r->first) / r->step) + 1;
}

/* ring a[0..cap) whose next slot is head and that saw n entries: in order */
static void
reverse(int64_t *a, size_t lo, size_t hi)
{
	while (lo + 1 < hi) {
		int64_t x = a[lo];
		a[lo++]   = a[--hi];
		a[hi]     = x;
	}
}

static size_t
ring_unroll(int64_t *a, size_t cap, size_t head, size_t n)
{
	if (n > cap && head != 0) {
		/* oldest entry is at head: rotate left by head */
		reverse(a, 0, head);
		reverse(a, head, cap);
		reverse(a, 0, cap);
	}
	return n < cap ? n : cap;
}

/* CRON: the latest CAP fires in [lo, now] into out, in order, without
 * walking every fire in between (see the notes). */
static size_t
cron_latest(const pj_timing *t, const pj_lifecycle *lc, int64_t lo,
    int64_t now, size_t cap, int64_t *out)
{
	size_t  budget = cap < CRON_WALK_MIN / 2 ? CRON_WALK_MIN : 2 * cap;
	int64_t small = 0, big = -1, span = 1000;
	for (int tries = 0; tries < 256; tries++) {
		int64_t s    = now - lo <= span ? lo : now - span;
		int64_t x    = s - 1, f;
		size_t  head = 0, n = 0;
		int     over = 0;
		while (pj_timing_next_after(t, lc, x, &f) == 0 && f <= now) {
			if (n == budget) {
				over = 1;
				break;
			}
			out[head] = f;
			head      = (head + 1) % cap;
			n++;
			x = f;
		}
		if (!over && (n >= cap || s == lo)) {
			return ring_unroll(out, cap, head, n);
		}
		if (over) {
			big = span;
		} else {
			small = span;
		}
		if (big < 0) {
			span = span > INT64_MAX / 2 ? INT64_MAX : span * 2;
		} else if (big - small > 1) {
			span = small + (big - small) / 2;
		} else {
			break; /* cannot happen: budget >= cap */
		}
	}
	return 0;
}

/* FIXED_RATE and DAILY_TIME_INTERVAL: the selected fires (those >= sel_lo)
 * after the first SKIP of them, at most CAP, into out. */
static size_t
runs_pick(const pj_timing *t, const pj_lifecycle *lc, int64_t last,
    int64_t now, int64_t sel_lo, size_t skip, size_t cap, int64_t *out)
{
	struct run r;
	size_t     n = 0;
	int64_t    x = last;
	while (n < cap && run_after(t, lc, x, now, &r) == 0) {
		size_t k0 = run_before(&r, sel_lo), kn = run_len(&r);
		if (kn - k0 <= skip) {
			skip -= kn - k0;
		} else {
			for (size_t k = k0 + skip; k < kn && n < cap; k++) {
				out[n++] = r.first + (int64_t) k * r.step;
			}
			skip = 0;
		}
		x = r.last;
	}
	return n;
}

/* the first fire after now: FIXED_RATE keeps its phase from last */
static void
misfire_next(const pj_timing *t, const pj_lifecycle *lc, int64_t last_ms,
    int64_t now_ms, pj_misfire_result *res)
{
	int64_t f;
	if (t->type != PJ_TIME_FIXED_RATE) {
		if (pj_timing_next_after(
		        t, lc, now_ms > last_ms ? now_ms : last_ms, &f)
		    == 0) {
			res->has_next = 1;
			res->next_ms  = f;
		}
		return;
	}
	if (pj_timing_next_after(t, lc, last_ms, &f) != 0) {
		return;
	}
	if (f <= now_ms) {
		if (now_ms >= PJ_TIMING_NEVER_MS) {
			return;
		}
		f += ((now_ms - f) / t->interval_ms + 1) * t->interval_ms;
		if ((lc != NULL && lc->end_ms && f > lc->end_ms)
		    || f > pj_timing_last_ms(t->tz)) {
			return;
		}
	}
	res->has_next = 1;
	res->next_ms  = f;
}

int
pj_timing_misfire(const pj_timing *t, const pj_lifecycle *lc, int64_t last_ms,
    int64_t now_ms, const pj_misfire_opts *opts, pj_misfire_result *res)
{
	size_t  cap = opts->cap ? opts->cap : 1;
	int64_t thr = opts->threshold_ms ? opts->threshold_ms
	                                 : PJ_MISFIRE_THRESHOLD_MS_DEFAULT;
	if ((opts->policy != PJ_MISFIRE_FIRE_ONCE_NOW
	        && opts->policy != PJ_MISFIRE_SKIP
	        && opts->policy != PJ_MISFIRE_FIRE_ALL)
	    || opts->threshold_ms < 0 || opts->window_ms < 0) {
		return PJ_TIMING_EINVAL;
	}
	res->n_fire = res->n_due = res->n_missed = res->n_dropped = 0;
	res->partial = res->has_next = 0;
	if (t->type != PJ_TIME_CRON && t->type != PJ_TIME_FIXED_RATE
	    && t->type != PJ_TIME_DAILY_TIME_INTERVAL) {
		return 0; /* nothing is fired by time */
	}
	if (last_ms <= 0) {
		/* never fired (as for pj_timing_next): nothing was missed */
		int64_t f;
		if (pj_timing_next(t, lc, 0, now_ms, &f) == 0) {
			res->has_next = 1;
			res->next_ms  = f;
		}
		return 0;
	}
	misfire_next(t, lc, last_ms, now_ms, res);
	if (last_ms >= now_ms) {
		return 0;
	}

	/* fires >= ontime_lo are on time; the policy picks from the rest */
	int64_t ontime_lo = pj_timing_sat_add(now_ms, -thr);
	int64_t sel_lo    = ontime_lo;
	if (opts->policy == PJ_MISFIRE_FIRE_ALL) {
		int64_t w = opts->window_ms > 0
		    ? pj_timing_sat_add(now_ms, -opts->window_ms)
		    : INT64_MIN;
		sel_lo    = w < ontime_lo ? w : ontime_lo;
	}

	/* count every due fire; CRON keeps the latest selected in a ring */
	struct run r;
	int64_t    x = last_ms, first_due = 0;
	size_t     n_sel = 0, head = 0, steps = 0;
	int        complete = 0;
	while (steps < PJ_MISFIRE_SCAN_MAX) {
		if (run_after(t, lc, x, now_ms, &r) != 0) {
			complete = 1;
			break;
		}
		if (steps++ == 0) {
			first_due = r.first;
		}
		size_t len = run_len(&r), sel = len - run_before(&r, sel_lo);
		res->n_due += len;
		res->n_missed += run_before(&r, ontime_lo);
		n_sel += sel;
		if (r.step == 0 && sel > 0) {
			res->fire_ms[head] = r.first;
			head               = (head + 1) % cap;
		}
		x = r.last;
	}
	if (res->n_due == 0) {
		return 0;
	}
	res->partial = !complete;
	if (t->type == PJ_TIME_CRON) {
		res->n_fire = complete
		    ? ring_unroll(res->fire_ms, cap, head, n_sel)
		    : cron_latest(t, lc,
		        sel_lo > first_due ? sel_lo : first_due, now_ms, cap,
		        res->fire_ms);
	} else {
		res->n_fire = runs_pick(t, lc, last_ms, now_ms, sel_lo,
		    n_sel > cap ? n_sel - cap : 0, cap, res->fire_ms);
	}
	/* fire once now: the first missed fire, if the on-time ones leave
	 * room (PowerJob fires the overdue instance with its expected time) */
	if (opts->policy == PJ_MISFIRE_FIRE_ONCE_NOW && first_due < ontime_lo
	    && res->n_fire < cap) {
		memmove(res->fire_ms + 1, res->fire_ms,
		    res->n_fire * sizeof(res->fire_ms[0]));
		res->fire_ms[0] = first_due;
		res->n_fire++;
	}
	res->n_dropped
	    = res->n_due > res->n_fire ? res->n_due - res->n_fire : 0;
	return 0;
}
