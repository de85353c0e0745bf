/*
 * bench/logstore_bench.c - the log store's two figures (issue 13):
 *
 *   logstore_bench ingest SQL_URL LOG_STORE LINES BATCH
 *       8 threads, standing for 8 workers' LogReports as ServerActor
 *       hands them over, submit batches of BATCH lines (100 bytes of text
 *       each, every worker its own instance) to one server's log writer
 *       (server/logstore/writer.h) until LINES lines were accepted; the
 *       clock stops when the writer has stored them all. Prints
 *       "ingest LINES SECONDS LINES_PER_S REFUSED".
 *   logstore_bench stream SQL_URL LOG_STORE MB
 *       appends MB MiB of 1 KiB lines to one instance, then streams the
 *       whole log (pj_logstore_stream, what a download does) and samples
 *       the resident set size every 10,000 lines. Prints
 *       "stream MB LINES SECONDS RSS_BEFORE_KB RSS_MAX_KB RSS_AFTER_KB".
 *
 * LOG_STORE is "sql" (the store at SQL_URL) or a mongodb:// URI.
 * Design notes (threads): the submitting threads share nothing but the
 * writer, which is thread-safe; counters are atomics.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/ar.h"
#include "server/logstore/logstore.h"
#include "server/logstore/writer.h"
#include "server/store/migrate.h"

#define WORKERS 8
#define LINE_TEXT 100

static struct pj_logwriter *W;
static long long            per_worker, batch;
static atomic_llong         refused;

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static long
rss_kb(void)
{
	long  pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void *
worker(void *arg)
{
	long long          id = (long long) (intptr_t) arg;
	struct pj_logline *v  = calloc((size_t) batch, sizeof(*v));
	char               text[LINE_TEXT + 1], err[256];
	memset(text, 'x', LINE_TEXT);
	text[LINE_TEXT] = 0;
	for (long long seq = 1; seq <= per_worker;) {
		long long n = per_worker - seq + 1 < batch
		    ? per_worker - seq + 1
		    : batch;
		for (long long k = 0; k < n; k++) {
			v[k] = (struct pj_logline) { .instance_id = 1000 + id,
				.seq                              = seq + k,
				.app_id                           = 1,
				.log_time  = 1700000000000LL + (seq + k) / 10,
				.log_level = 2,
				.content   = text,
				.worker_address
				= "pj://worker@127.0.0.1:27777" };
		}
		if (pj_logwriter_submit(W, v, (size_t) n, err, sizeof(err))
		    != 0) {
			atomic_fetch_add(&refused, 1); /* back-pressure */
			usleep(1000);
			continue;
		}
		seq += n;
	}
	free(v);
	return NULL;
}

static int
ingest(struct pj_logstore *ls, long long lines, const char *dir)
{
	struct pj_logwriter_config c = { .spool_dir = dir };
	pthread_t                  th[WORKERS];
	char                       err[256];
	if (pj_logwriter_start(ls, &c, &W, err, sizeof(err)) != 0) {
		fprintf(stderr, "logstore_bench: %s\n", err);
		return 1;
	}
	per_worker = lines / WORKERS;
	double t0  = now_s();
	for (int i = 0; i < WORKERS; i++)
		pthread_create(&th[i], NULL, worker, (void *) (intptr_t) i);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(th[i], NULL);
	if (pj_logwriter_flush(W, 600000) != 0) {
		fprintf(stderr, "logstore_bench: the writer did not finish\n");
		return 1;
	}
	double                    dt = now_s() - t0;
	struct pj_logwriter_stats st;
	pj_logwriter_stats(W, &st);
	pj_logwriter_stop(W);
	if (st.written_lines != (uint64_t) (per_worker * WORKERS)) {
		fprintf(stderr, "logstore_bench: %llu of %lld lines written\n",
		    (unsigned long long) st.written_lines,
		    per_worker * WORKERS);
		return 1;
	}
	printf("ingest %lld %.2f %.0f %lld\n", per_worker * WORKERS, dt,
	    (double) (per_worker * WORKERS) / dt, (long long) refused);
	return 0;
}

struct rss {
	long long lines;
	long      max;
};

static int
sample(void *arg, const struct pj_log_line *l)
{
	struct rss *r = arg;
	(void) l;
	if (++r->lines % 10000 == 0) {
		long k = rss_kb();
		if (k > r->max)
			r->max = k;
	}
	return 0;
}

static int
stream(struct pj_logstore *ls, long long mb)
{
	enum { TEXT = 1000, CHUNK = 2000 };
	long long          lines = mb * 1024 * 1024 / (TEXT + 24);
	struct pj_logline *v     = calloc(CHUNK, sizeof(*v));
	char              *text  = malloc(TEXT + 1);
	memset(text, 'y', TEXT);
	text[TEXT] = 0;
	for (long long s = 1; s <= lines; s += CHUNK) {
		int n = 0;
		for (; n < CHUNK && s + n <= lines; n++)
			v[n] = (struct pj_logline) { .instance_id = 77,
				.seq                              = s + n,
				.log_time  = 1700000000000LL + (s + n) / 100,
				.log_level = 2,
				.content   = text,
				.worker_address
				= "pj://worker@127.0.0.1:27777" };
		if (pj_logstore_append(ls, v, (size_t) n) != 0) {
			fprintf(stderr, "logstore_bench: %s\n",
			    pj_logstore_errmsg());
			return 1;
		}
	}
	free(v);
	free(text);
	struct rss r      = { 0, 0 };
	long       before = rss_kb();
	double     t0     = now_s();
	if (pj_logstore_stream(ls, 77, 1000, sample, &r) != 0) {
		fprintf(stderr, "logstore_bench: %s\n", pj_logstore_errmsg());
		return 1;
	}
	double dt = now_s() - t0;
	if (r.lines != lines) {
		fprintf(stderr,
		    "logstore_bench: streamed %lld of %lld lines\n", r.lines,
		    lines);
		return 1;
	}
	printf("stream %lld %lld %.2f %ld %ld %ld\n", mb, lines, dt, before,
	    r.max, rss_kb());
	return 0;
}

int
main(int argc, char **argv)
{
	struct pj_store    *s;
	struct pj_logstore *ls;
	char                dir[64];
	int                 rv;
	if (argc < 5 || (strcmp(argv[1], "ingest") == 0 && argc < 6)) {
		fprintf(stderr,
		    "usage: logstore_bench ingest SQL_URL LOG_STORE LINES "
		    "BATCH\n       logstore_bench stream SQL_URL LOG_STORE "
		    "MB\n");
		return 2;
	}
	if (pj_store_open(argv[2], &s) != 0
	    || pj_store_migrate(s, NULL, NULL) != 0) {
		fprintf(stderr, "logstore_bench: %s\n", pj_store_errmsg(s));
		return 1;
	}
	if (pj_logstore_open(argv[3], s, &ls) != 0) {
		fprintf(stderr, "logstore_bench: %s\n", pj_logstore_errmsg());
		return 1;
	}
	snprintf(dir, sizeof(dir), "/tmp/pjlogbench.%d", (int) getpid());
	if (strcmp(argv[1], "ingest") == 0) {
		batch = atoll(argv[5]) > 0 ? atoll(argv[5]) : 100;
		rv    = ingest(ls, atoll(argv[4]), dir);
	} else {
		rv = stream(ls, atoll(argv[4]));
	}
	pj_logstore_close(ls);
	pj_store_close(s);
	return rv;
}
