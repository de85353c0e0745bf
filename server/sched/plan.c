/*
 * server/sched/plan.c - the fires of one CRON / DAILY_TIME_INTERVAL job
 * inside the look-ahead window (powerjob-design.md §5.3, without its
 * one-fire-per-15-s-pass limit).
 *
 * Design notes
 * ------------
 * The job's next_trigger_time is its first fire not yet recorded.  Fires
 * already due (next_trigger_time <= now: a slow pass, a restarted server, a
 * new owner, a resumed job) are the timing module's misfire decision with
 * last = next_trigger_time - 1, so the due fires it walks are exactly the
 * normal schedule's from next_trigger_time on; the rest of the window is
 * pj_timing_next's chain from there.  Nothing here computes a time.
 * The misfire cap defaults to the caller's array, so a pass that runs a
 * little late still records every on-time fire; the policy's own cap (when
 * set) bounds FIRE_ALL.
 * Pure function; no threads.
 */
#include <string.h>

#include "server/sched/sched.h"

int
pj_sched_plan(const pj_timing *t, const pj_lifecycle *lc, int64_t next_in,
    int64_t now_ms, int64_t window_ms, const pj_misfire_opts *mo, size_t cap,
    struct pj_plan *p)
{
	int64_t *fires = p->fire_ms;
	memset(p, 0, sizeof(*p));
	p->fire_ms      = fires;
	int64_t horizon = now_ms + (window_ms > 0 ? window_ms : 0);
	int64_t cursor  = 0;
	bool    has;
	if (cap == 0) {
		return PJ_TIMING_EINVAL;
	}
	if (next_in <= 0) {
		has = pj_timing_next(t, lc, 0, now_ms, &cursor) == 0;
	} else if (next_in <= now_ms) {
		pj_misfire_opts   o   = *mo;
		pj_misfire_result res = { 0 };
		o.cap                 = o.cap > 0 && o.cap < cap ? o.cap : cap;
		res.fire_ms           = fires;
		int rv
		    = pj_timing_misfire(t, lc, next_in - 1, now_ms, &o, &res);
		if (rv != 0) {
			return rv;
		}
		p->n_fire    = res.n_fire;
		p->n_missed  = res.n_missed;
		p->n_dropped = res.n_dropped;
		has          = res.has_next;
		cursor       = res.next_ms;
	} else {
		has    = true;
		cursor = next_in;
	}
	while (has && cursor <= horizon) {
		if (p->n_fire == cap) {
			p->truncated = true;
			break;
		}
		fires[p->n_fire++] = cursor;
		has = pj_timing_next(t, lc, cursor, now_ms, &cursor) == 0;
	}
	p->has_next = has;
	p->next_ms  = has ? cursor : 0;
	return 0;
}
