/*
 * Next-fire computations per second of server/timing/cron.c, over the mix in
 * bench/timing_mix.tsv (the same mix bench/TimingBench.java runs on
 * Quartz 2.3.2).  Each row walks N fire times of one expression in one
 * zone (restarting every WALK fires).  Prints "C mix <per-second>",
 * "C plain <per-second>" (plain: the rows in UTC without L, W or #) and a
 * checksum of the fire times, which must equal Quartz's.
 *
 *   timing_bench MIX_FILE [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/timing/cron.h"

#define MAX_ROWS 64
#define START_MS 1700000000000LL /* 2023-11-14 */
/* walks restart every WALK fires, so that no row reaches 2099 (where our
 * years end and Quartz's do not) and both programs' checksums agree */
#define WALK 500
#define PASSES 4 /* the same in TimingBench.java */

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	pj_cron      crons[MAX_ROWS];
	const pj_tz *tzs[MAX_ROWS];
	int          plain[MAX_ROWS], rows = 0;
	char         line[512], err[256];
	long         n = argc > 2 ? atol(argv[2]) : 200000;
	FILE        *f = argc > 1 ? fopen(argv[1], "r") : NULL;
	if (f == NULL || n <= 0) {
		fprintf(stderr, "usage: timing_bench MIX_FILE [N]\n");
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL && rows < MAX_ROWS) {
		line[strcspn(line, "\n")] = '\0';
		char *tab                 = strchr(line, '\t');
		if (line[0] == '#' || tab == NULL) {
			continue;
		}
		*tab = '\0';
		if (pj_cron_parse(line, &crons[rows], err, sizeof(err)) != 0
		    || pj_tz_get(tab + 1, &tzs[rows], err, sizeof(err)) != 0) {
			fprintf(stderr, "timing_bench: %s\n", err);
			return 1;
		}
		plain[rows] = strcmp(tab + 1, "UTC") == 0
		    && strpbrk(line, "LW#") == NULL;
		rows++;
	}
	fclose(f);
	double  best_mix = 0, best_plain = 0;
	int64_t sink = 0;
	/* pass 0 warms up; the best of the measured passes is reported */
	for (int pass = 0; pass < PASSES; pass++) {
		double mix_calls = 0, mix_s = 0, plain_calls = 0, plain_s = 0;
		for (int r = 0; r < rows; r++) {
			int64_t t  = START_MS;
			long    k  = pass == 0 ? n / 10 : n;
			double  t0 = now_s();
			for (long i = 0; i < k; i++) {
				if (i % WALK == 0) {
					sink += t;
					t = START_MS;
				}
				if (pj_cron_next(&crons[r], tzs[r], t, &t)
				    != 0) {
					t = START_MS;
				}
			}
			double dt = now_s() - t0;
			sink += t;
			mix_calls += (double) k;
			mix_s += dt;
			if (plain[r]) {
				plain_calls += (double) k;
				plain_s += dt;
			}
		}
		if (pass > 0 && mix_calls / mix_s > best_mix) {
			best_mix = mix_calls / mix_s;
		}
		if (pass > 0 && plain_calls / plain_s > best_plain) {
			best_plain = plain_calls / plain_s;
		}
	}
	printf("C mix %.0f\n", best_mix);
	printf("C plain %.0f\n", best_plain);
	printf("C checksum %lld\n", (long long) sink);
	pj_tz_cache_fini();
	return 0;
}
