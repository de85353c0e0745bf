/*
 * Misfires: which of the fires missed while the server was away are fired
 * now, and when is the next.  The policies are in timing.c's design notes.
 * No allocation.
 */
#include "server/timing/timing_int.h"

#include <string.h>

/* FIRE_ALL never walks more than this many fire times for one decision. */
#define PJ_MISFIRE_SCAN_MAX 1000000

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
	} else if (pj_timing_next_after(
	               t, lc, now_ms > last_ms ? now_ms : last_ms, &f)
	    == 0) {
		res->has_next = 1;
		res->next_ms  = f;
	}
	if (pj_timing_next_after(t, lc, last_ms, &f) != 0 || f > now_ms) {
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
	} else if (pj_timing_next_after(t, lc, from - 1, &f) != 0) {
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
		} else if (pj_timing_next_after(t, lc, f, &f) != 0) {
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
