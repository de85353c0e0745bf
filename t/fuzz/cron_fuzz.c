/*
 * libFuzzer target for everything in timing that parses user text: CRON
 * expressions (and the next-fire walk over what parses), DAILY_TIME_INTERVAL
 * JSON, lifecycle JSON and time expression types.  The first byte picks the
 * parser, the rest is the text.  Corpus: t/fuzz/cron/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/timing/timing.h"

static const char *const zones[]
    = { "UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney",
	      "Pacific/Apia", "Australia/Lord_Howe" };

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
		pj_daily d;
		(void) pj_daily_parse(text, &d, err, sizeof(err));
		break;
	}
	case 2: {
		pj_lifecycle lc;
		(void) pj_lifecycle_parse(text, &lc, err, sizeof(err));
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
