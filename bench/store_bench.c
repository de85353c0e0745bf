/*
 * bench/store_bench.c - instance lifecycles per second through the store:
 * create -> WAITING_WORKER_RECEIVE (dispatched) -> RUNNING -> SUCCEED, each
 * step one store call, either one instance per call ("single") or BATCH
 * instances per call ("batch": one multi-row INSERT, then three
 * `... WHERE status = ? AND instance_id IN (...)` transitions).
 *
 *   store_bench URL single|batch N [BATCH]
 * prints: "mode N seconds lifecycles_per_second"
 *
 * Design notes: PowerJob does these steps one row at a time through JPA;
 * the batch mode shows what the store's batched calls buy. The database
 * must be empty and is migrated here. OOM policy: abort (pj_store_x*).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/store/store.h"

#define BENCH_T0 1700000000000LL

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
die(struct pj_store *s, const char *what, int rv)
{
	fprintf(stderr, "store_bench: %s: %s (%s)\n", what, pj_store_errmsg(s),
	    pj_store_strerror(rv));
	return 1;
}

int
main(int argc, char **argv)
{
	struct pj_store *s;
	int              rv;
	if (argc < 4
	    || (strcmp(argv[2], "single") != 0
	        && strcmp(argv[2], "batch") != 0)) {
		fprintf(
		    stderr, "usage: store_bench URL single|batch N [BATCH]\n");
		return 2;
	}
	long n      = strtol(argv[3], NULL, 10);
	long batch  = argc > 4 ? strtol(argv[4], NULL, 10) : 100;
	int  single = strcmp(argv[2], "single") == 0;
	if (n < 1 || batch < 1 || batch > 10000) {
		fprintf(stderr, "store_bench: N >= 1, 1 <= BATCH <= 10000\n");
		return 2;
	}
	if (single)
		batch = 1;
	if ((rv = pj_store_open(argv[1], &s)) != 0)
		return die(NULL, "open", rv);
	if ((rv = pj_store_migrate(s, NULL, NULL)) != 0)
		return die(s, "migrate", rv);

	struct pj_instance *v   = calloc((size_t) batch, sizeof(*v));
	int64_t            *ids = calloc((size_t) batch, sizeof(*ids));
	if (v == NULL || ids == NULL)
		abort();
	struct pj_instance set
	    = { .task_tracker_address = "10.0.0.1:27777", .result = "ok" };
	int64_t next = 1;
	double  t0   = now_s();
	for (long done = 0; done < n; done += batch) {
		long m = n - done < batch ? n - done : batch;
		for (long k = 0; k < m; k++) {
			memset(&v[k], 0, sizeof(v[k]));
			v[k].instance_id           = next;
			v[k].job_id                = 1 + next % 50;
			v[k].app_id                = 1;
			v[k].fire_time             = BENCH_T0 + next;
			v[k].expected_trigger_time = BENCH_T0 + next;
			ids[k]                     = next++;
		}
		int64_t t = BENCH_T0 + done;
		if ((rv = pj_store_instances_create(s, v, (size_t) m, t)) != 0)
			return die(s, "create", rv);
		set.actual_trigger_time = t;
		set.finished_time       = t + 1;
		if (single) {
			if ((rv = pj_store_instance_transition(s, ids[0], 1, 2,
			         &set,
			         PJ_SET_ACTUAL_TRIGGER | PJ_SET_TT_ADDRESS, t))
			        != 0
			    || (rv = pj_store_instance_transition(
			            s, ids[0], 2, 3, &set, 0, t))
			        != 0
			    || (rv = pj_store_instance_transition(s, ids[0], 3,
			            5, &set, PJ_SET_FINISHED | PJ_SET_RESULT,
			            t))
			        != 0)
				return die(s, "transition", rv);
		} else {
			int64_t c1 = 0, c2 = 0, c3 = 0;
			if ((rv = pj_store_instances_transition(s, ids,
			         (size_t) m, 1, 2, &set,
			         PJ_SET_ACTUAL_TRIGGER | PJ_SET_TT_ADDRESS, t,
			         &c1))
			        != 0
			    || (rv = pj_store_instances_transition(
			            s, ids, (size_t) m, 2, 3, &set, 0, t, &c2))
			        != 0
			    || (rv = pj_store_instances_transition(s, ids,
			            (size_t) m, 3, 5, &set,
			            PJ_SET_FINISHED | PJ_SET_RESULT, t, &c3))
			        != 0)
				return die(s, "transition", rv);
			if (c1 != m || c2 != m || c3 != m) {
				fprintf(stderr,
				    "store_bench: batch moved %lld/%lld/"
				    "%lld of %ld\n",
				    (long long) c1, (long long) c2,
				    (long long) c3, m);
				return 1;
			}
		}
	}
	double secs = now_s() - t0;
	printf("%s %ld %.3f %.0f\n", argv[2], n, secs, (double) n / secs);
	free(v);
	free(ids);
	pj_store_close(s);
	return 0;
}
