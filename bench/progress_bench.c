/*
 * progress_bench.c - what keeping task counts adds to the owner's report
 * path (issue 12, server/sched/progress.c), next to one of the store reads
 * that path already does per report (pj_store_instance_get on SQLite).
 *
 *     build/bench/progress_bench [N_OPS]      (default 2,000,000)
 *
 * Rows: one pj_progress_update of an instance already kept, with 1,000 and
 * 65,536 running instances in the table, alone and while another thread
 * reads counts (pj_progress_get) in a loop as detail requests would; then
 * pj_store_instance_get of one row of a SQLite store in a temporary file.
 * Prints a markdown table (ns per operation).
 *
 * Design notes (threads): one reader thread in the "with a reader" rows;
 * it stops when the writer is done (an atomic flag).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/sched/progress.h"
#include "server/store/store.h"

static double
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static struct pj_progress *tab;
static atomic_int          stop;
static long                nent;

static void *
reader(void *arg)
{
	struct pj_task_counts c;
	long                  k = 0, hits = 0;
	(void) arg;
	while (!atomic_load(&stop)) {
		hits += pj_progress_get(tab, 1 + (k++ % nent) * 7919, &c);
	}
	return (void *) hits;
}

static double
updates(long n_ops, long entries, int with_reader)
{
	pthread_t th;
	double    t0, t1;
	tab  = pj_progress_new((size_t) entries, 0);
	nent = entries;
	for (long k = 0; k < entries; k++) {
		pj_progress_update(tab, 1 + k * 7919, 10, 0, 0, 1, 1);
	}
	atomic_store(&stop, 0);
	if (with_reader) {
		pthread_create(&th, NULL, reader, NULL);
	}
	t0 = now_ns();
	for (long k = 0; k < n_ops; k++) {
		pj_progress_update(
		    tab, 1 + (k % entries) * 7919, 10, k & 7, 0, 2 + k, 2 + k);
	}
	t1 = now_ns();
	atomic_store(&stop, 1);
	if (with_reader) {
		pthread_join(th, NULL);
	}
	pj_progress_free(tab);
	return (t1 - t0) / (double) n_ops;
}

static double
store_gets(long n_ops)
{
	char               dir[] = "/tmp/pjprogbench.XXXXXX", url[300];
	struct pj_store   *s;
	struct pj_instance i = { 0 }, got;
	double             t0, t1;
	if (mkdtemp(dir) == NULL) {
		return -1;
	}
	snprintf(url, sizeof(url), "sqlite://%s/b.db", dir);
	if (pj_store_open(url, &s) != 0
	    || pj_store_migrate(s, NULL, NULL) != 0) {
		fprintf(stderr, "progress_bench: cannot open %s\n", url);
		return -1;
	}
	i.instance_id           = 42;
	i.job_id                = 1;
	i.app_id                = 1;
	i.status                = 3;
	i.fire_time             = 1700000000000LL;
	i.expected_trigger_time = 1700000000000LL;
	i.task_tracker_address  = "pj://pjworker@127.0.0.1:1";
	if (pj_store_instances_create(s, &i, 1, 1700000000000LL) != 0) {
		fprintf(stderr, "progress_bench: insert failed\n");
		return -1;
	}
	t0 = now_ns();
	for (long k = 0; k < n_ops; k++) {
		if (pj_store_instance_get(s, 42, &got) == 0) {
			pj_instance_fini(&got);
		}
	}
	t1 = now_ns();
	pj_store_close(s);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "progress_bench: %s failed\n", cmd);
	}
	return (t1 - t0) / (double) n_ops;
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000000;
	if (n < 1000) {
		fprintf(stderr, "usage: progress_bench [N_OPS >= 1000]\n");
		return 2;
	}
	printf("| operation (per report unless said) | ns/op |\n");
	printf("|---|---:|\n");
	printf("| progress update, 1,000 running instances | %.0f |\n",
	    updates(n, 1000, 0));
	printf("| progress update, 65,536 running instances | %.0f |\n",
	    updates(n, 65536, 0));
	printf("| progress update, 1,000 running, a reader thread meanwhile "
	       "| %.0f |\n",
	    updates(n, 1000, 1));
	printf("| progress update, 65,536 running, a reader thread "
	       "meanwhile | %.0f |\n",
	    updates(n, 65536, 1));
	printf("| pj_store_instance_get, SQLite (the report path's own read, "
	       "for scale) | %.0f |\n",
	    store_gets(n / 20));
	return 0;
}
