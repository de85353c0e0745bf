/*
 * libFuzzer target for everything in timing that parses user text: CRON
 * expressions (and the next-fire walk over what parses), DAILY_TIME_INTERVAL
 * JSON (with next fires and a misfire decision in a DST zone), lifecycle JSON
 * (with a FIXED_RATE or CRON job inside the window) and time expression
 * types.  The first byte picks the parser, the rest is the text.  Corpus:
 * t/fuzz/cron/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/timing/timing.h"

static const char *const zones[]
    = { "UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney",
	      "Pacific/Apia", "Australia/Lord_Howe" };

/* a misfire decision keeps its promises: fires in order, due, inside the
 * lifecycle, at most cap of them, and counts that add up */
static void
check_misfire(const pj_timing *t, const pj_lifecycle *lc, int64_t last,
    int64_t now, uint8_t sel)
{
	int64_t           buf[8];
	pj_misfire_result r = { .fire_ms = buf };
	pj_misfire_opts   o
	    = { (pj_misfire_policy) (sel % 3), (sel & 0x10) ? 600000 : 0,
		      1 + (sel >> 5), (sel & 0x08) ? 1000 : 0 };
	if (pj_timing_misfire(t, lc, last, now, &o, &r) != 0
	    || r.n_fire > o.cap || r.n_fire > r.n_due
	    || r.n_dropped != r.n_due - r.n_fire || r.n_missed > r.n_due
	    || (r.has_next && r.next_ms <= now)) {
		abort();
	}
	for (size_t i = 0; i < r.n_fire; i++) {
		if (buf[i] <= last || buf[i] > now
		    || (i > 0 && buf[i] <= buf[i - 1])
		    || (lc && lc->end_ms && buf[i] > lc->end_ms)
		    || (lc && buf[i] < lc->start_ms)) {
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char         text[PJ_TIME_EXPRESSION_MAX_LEN + 2];
	char         err[PJ_TIMING_ERR_MAX];
	const pj_tz *tz;
	if (size < 1) {
		return 0;
	}
	uint8_t sel = data[0];
	size_t  n = size - 1 < sizeof(text) - 1 ? size - 1 : sizeof(text) - 1;
	memcpy(text, data + 1, n);
	text[n] = '\0';
	switch (sel % 4) {
	case 0: {
		pj_cron c;
		if (pj_cron_parse(text, &c, err, sizeof(err)) != 0) {
			if (err[0] == '\0') {
				abort(); /* every refusal has a reason */
			}
			break;
		}
		if (pj_tz_get(zones[(sel >> 2) % 6], &tz, err, sizeof(err))
		    != 0) {
			abort();
		}
		int64_t t = 1300000000000LL + (int64_t) (sel >> 5) * 9e10;
		for (int i = 0; i < 3; i++) {
			int64_t prev = t;
			if (pj_cron_next(&c, tz, t, &t) != 0) {
				break;
			}
			if (t <= prev) {
				abort(); /* fire times only move forward */
			}
		}
		break;
	}
	case 1: {
		pj_timing t;
		if (pj_timing_init(&t, PJ_TIME_DAILY_TIME_INTERVAL, text,
		        zones[(sel >> 2) % 6], 0, err, sizeof(err))
		    != 0) {
			if (err[0] == '\0') {
				abort();
			}
			break;
		}
		int64_t now  = 1300000000000LL + (int64_t) (sel >> 5) * 9e10;
		int64_t prev = now;
		for (int i = 0; i < 3; i++) {
			int64_t next;
			if (pj_timing_next(&t, NULL, prev, now, &next) != 0) {
				break;
			}
			if (next <= prev) {
				abort(); /* fire times only move forward */
			}
			prev = next;
		}
		check_misfire(&t, NULL, now - 3 * 86400000LL, now, sel);
		break;
	}
	case 2: {
		pj_lifecycle lc;
		pj_timing    t;
		if (pj_lifecycle_parse(text, &lc, err, sizeof(err)) != 0) {
			break;
		}
		if (pj_timing_init(&t,
		        (sel >> 2) & 1 ? PJ_TIME_CRON : PJ_TIME_FIXED_RATE,
		        (sel >> 2) & 1 ? "*/7 * * * * ?" : "7000", "UTC", 0,
		        err, sizeof(err))
		    != 0) {
			abort();
		}
		int64_t now = 1700000000000LL, next;
		if (pj_timing_next(&t, &lc, 0, now, &next) == 0
		    && ((lc.end_ms && next > lc.end_ms)
		        || (lc.start_ms > now && next < lc.start_ms))) {
			abort();
		}
		check_misfire(&t, &lc, now - 3600000, now, sel);
		break;
	}
	default: {
		static const pj_time_type types[] = { PJ_TIME_API,
			PJ_TIME_CRON, PJ_TIME_FIXED_RATE, PJ_TIME_FIXED_DELAY,
			PJ_TIME_WORKFLOW, PJ_TIME_DAILY_TIME_INTERVAL };
		pj_timing                 t;
		int64_t                   next;
		if (pj_timing_init(&t, types[(sel >> 2) % 6], text, "UTC", 0,
		        err, sizeof(err))
		    == 0) {
			(void) pj_timing_next(
			    &t, NULL, 0, 1700000000000LL, &next);
		}
		break;
	}
	}
	return 0;
}
