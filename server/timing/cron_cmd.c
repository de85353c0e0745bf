/*
 * `pj-server cron-next`: operators check a CRON expression before saving a
 * job.
 *
 * Design notes
 * - PowerJob's console previews the next 5 trigger times
 *   (calculateNextTriggerTimes); this is the same preview on the command
 *   line, with the zone and start time as options and the UTC offset
 *   printed, so daylight-saving changes are visible.
 * - Defaults: zone = the server's (tz.c), start = now, count = 5.  Bad
 *   input exits with status 2 and one line that says what was wrong.
 */
#include "server/timing/cron_cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/timing/timing.h"

#define USAGE "cron-next EXPR [--tz ZONE] [--from EPOCH_MS] [--count N]"
/* --from bounds: years 1 to 9999 */
#define FROM_MIN_MS (-62135596800000LL)
#define FROM_MAX_MS 253402300799999LL

static int
parse_ll(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	errno       = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		return -1;
	}
	*out = v;
	return 0;
}

int
pj_cron_next_cmd(int argc, char **argv, FILE *out, FILE *err)
{
	const char     *expr = NULL, *zone = NULL;
	long long       from, count        = PJ_CRON_NEXT_DEFAULT_COUNT;
	char            msg[PJ_TIMING_ERR_MAX];
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	from = (long long) now.tv_sec * 1000 + now.tv_nsec / 1000000;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--tz") == 0 || strcmp(a, "--from") == 0
		    || strcmp(a, "--count") == 0) {
			if (i + 1 >= argc) {
				fprintf(err,
				    "pj-server cron-next: %s needs a "
				    "value\n",
				    a);
				return 2;
			}
			const char *v = argv[++i];
			if (strcmp(a, "--tz") == 0) {
				zone = v;
			} else if (strcmp(a, "--from") == 0) {
				if (parse_ll(
				        v, FROM_MIN_MS, FROM_MAX_MS, &from)
				    != 0) {
					fprintf(err,
					    "pj-server cron-next: --from '%s' "
					    "is not epoch milliseconds\n",
					    v);
					return 2;
				}
			} else if (parse_ll(
			               v, 1, PJ_CRON_NEXT_MAX_COUNT, &count)
			    != 0) {
				fprintf(err,
				    "pj-server cron-next: --count '%s' is "
				    "not a number in 1-%d\n",
				    v, PJ_CRON_NEXT_MAX_COUNT);
				return 2;
			}
		} else if (a[0] == '-' && a[1] == '-') {
			fprintf(err,
			    "pj-server cron-next: unknown option "
			    "'%s'\n",
			    a);
			return 2;
		} else if (expr == NULL) {
			expr = a;
		} else {
			fprintf(err,
			    "pj-server cron-next: one expression expected; "
			    "quote it (\"0 0 3 * * ?\")\n");
			return 2;
		}
	}
	if (expr == NULL) {
		fprintf(err, "usage: pj-server " USAGE "\n");
		return 2;
	}
	if (pj_timing_cron_preview(
	        expr, zone, from, (int) count, out, msg, sizeof(msg))
	    != 0) {
		fprintf(err, "pj-server cron-next: %s\n", msg);
		return 2;
	}
	return fflush(out) == 0 ? 0 : 1;
}
