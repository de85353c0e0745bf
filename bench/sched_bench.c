/*
 * sched_bench.c - the scheduler end to end (issue 10):
 *
 *   sched_bench PJ_BIN PJ_TEST_BIN WORKDIR [DB_URL]
 *
 * One pj-server on DB_URL (default: SQLite in WORKDIR), one pj-testworker
 * process simulating WORKERS workers (default 100) that answer every
 * ServerScheduleJobReq with SUCCEED at once, and JOBS CRON jobs (default
 * 1000) of "* * * * * ?" whose lifecycle gives each exactly SECS fires
 * (default 20): JOBS triggers per second for SECS seconds.  Afterwards,
 * from instance_info:
 *   recorded / succeeded   rows written, rows finished SUCCEED
 *   triggers/s             succeeded / (last finished_time - first fire)
 *   lag p50 / p99 / max    actual_trigger_time - fire_time (dispatch lag)
 *   done p99               finished_time - fire_time (report recorded)
 *   RSS, peak              the server's VmRSS 1 s after the last fire,
 *                          and its VmHWM (the highest RSS of the run)
 * SMAPS_OUT=FILE copies the server's /proc/PID/smaps there at that moment;
 * TW_OUT=FILE keeps the test worker's output (its refused reports).
 * Prints one markdown table row (the store's name, then $LABEL).  Design notes (threads): none of its
 * own; the store handle is used from this thread only.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/ar.h"
#include "server/store/store.h"
#include "server/store/store_sched.h"

static long
env_num(const char *name, long def)
{
	const char *v = getenv(name);
	return v && *v ? atol(v) : def;
}

/* VmRSS or VmHWM (the peak) of pid, kB */
static long
rss_kb(pid_t pid, const char *field)
{
	char  path[64], line[256];
	long  kb = -1;
	FILE *f;
	snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	if ((f = fopen(path, "r")) == NULL) {
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, field, strlen(field)) == 0
		    && sscanf(line + strlen(field), ": %ld kB", &kb) == 1) {
			break;
		}
	}
	fclose(f);
	return kb;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr,
		    "usage: sched_bench PJ_BIN PJ_TEST_BIN WORKDIR "
		    "[DB_URL]\n");
		return 2;
	}
	const char *pj_bin = argv[1], *t_bin = argv[2], *work = argv[3];
	long        jobs = env_num("JOBS", 1000), secs = env_num("SECS", 20);
	long        workers = env_num("WORKERS", 100);
	char        db[600], ready[600], exe[600], self[64] = "", wn[16];
	struct pj_store *s;
	int64_t          app = 0;
	if (argc > 4) {
		snprintf(db, sizeof(db), "%s", argv[4]);
	} else {
		snprintf(db, sizeof(db), "sqlite://%s/pj.db", work);
	}
	if (pj_store_open(db, &s) != 0 || pj_store_migrate(s, NULL, NULL) != 0
	    || pj_store_app_create(s, "bench", "pw", "", ar_now_ms(), &app)
	        != 0) {
		fprintf(
		    stderr, "sched_bench: %s: %s\n", db, pj_store_errmsg(s));
		return 1;
	}
	snprintf(ready, sizeof(ready), "%s/ready", work);
	snprintf(exe, sizeof(exe), "%s/pj-server", pj_bin);
	pid_t srv = fork();
	if (srv == 0) {
		freopen("/dev/null", "w", stdout);
		execl(exe, exe, "serve", "--listen", "tcp://127.0.0.1:0",
		    "--gateway", "tcp://127.0.0.1:0", "--db", db,
		    "--ready-file", ready, "--log-level", "warn",
		    (char *) NULL);
		_exit(127);
	}
	FILE *f = NULL;
	for (int k = 0; k < 3000 && f == NULL; k++) {
		if ((f = fopen(ready, "r")) == NULL) {
			usleep(10000);
		}
	}
	if (f == NULL || fscanf(f, "%63s", self) != 1) {
		fprintf(stderr, "sched_bench: pj-server did not start\n");
		kill(srv, SIGKILL);
		return 1;
	}
	fclose(f);
	snprintf(exe, sizeof(exe), "%s/pj-testworker", t_bin);
	snprintf(wn, sizeof(wn), "%ld", workers);
	pid_t wrk = fork();
	if (wrk == 0) {
		freopen(getenv("TW_OUT") ? getenv("TW_OUT") : "/dev/null", "w",
		    stdout);
		execl(exe, exe, "--server", self, "--app", "bench", "--secret",
		    "pw", "--workers", wn, "--interval-ms", "1000", "--quiet",
		    (char *) NULL);
		_exit(127);
	}
	/* owned once the worker discovered it */
	for (int k = 0; k < 300; k++) {
		char *o  = NULL;
		int   ok = pj_store_app_owner(s, app, &o) == 0 && o[0];
		free(o);
		if (ok) {
			break;
		}
		usleep(50000);
	}
	sleep(2); /* heartbeats of every simulated worker */
	/* the jobs are saved not due (next fire an hour on), then all made
	 * due at t0 in one transaction, so saving many jobs one by one (a
	 * commit each) does not eat into the run */
	bool    mysql = strncmp(db, "mysql:", 6) == 0;
	int64_t t0 = (ar_now_ms() + 3000 + jobs * (mysql ? 3 : 1)) / 1000 * 1000
	    + 1000;
	int64_t *ids = calloc((size_t) jobs + 1, sizeof(*ids)), *next
	    = calloc((size_t) jobs + 1, sizeof(*next));
	char     lc[100];
	snprintf(lc, sizeof(lc), "{\"end\":%lld}",
	    (long long) (t0 + (secs - 1) * 1000));
	for (long k = 0; k < jobs; k++) {
		struct pj_job j        = { 0 };
		j.app_id               = app;
		j.job_name             = "b";
		j.time_expression_type = 2;
		j.time_expression      = "* * * * * ?";
		j.time_zone            = "UTC";
		j.status               = 1;
		j.next_trigger_time    = t0 + 3600000;
		j.execute_type         = 1;
		j.processor_type       = 1;
		j.lifecycle            = lc;
		if (pj_store_job_save(s, &j, ar_now_ms(), &ids[k]) != 0) {
			fprintf(stderr, "sched_bench: job: %s\n",
			    pj_store_errmsg(s));
			break;
		}
		next[k] = t0;
	}
	if (pj_store_jobs_advance(s, ids, next, (size_t) jobs, ar_now_ms())
	    != 0) {
		fprintf(stderr, "sched_bench: advance: %s\n",
		    pj_store_errmsg(s));
	}
	free(ids);
	free(next);
	if (ar_now_ms() > t0 - 1000) {
		fprintf(stderr,
		    "sched_bench: jobs due %lld ms before t0 (wanted >= "
		    "1000); fires may be late\n",
		    (long long) (t0 - ar_now_ms()));
	}
	/* run, then read until every fire finished (up to 30 s more) */
	int64_t end = t0 + secs * 1000, want = jobs * secs, done = 0;
	while (ar_now_ms() < end + 1000) {
		usleep(200000);
	}
	long rss = rss_kb(srv, "VmRSS"), hwm = rss_kb(srv, "VmHWM");
	if (getenv("SMAPS_OUT") && *getenv("SMAPS_OUT")) {
		/* where the memory is (docs/benchmarks.md) */
		char cmd[800];
		snprintf(cmd, sizeof(cmd),
		    "cat /proc/%d/smaps > '%s' 2>/dev/null", (int) srv,
		    getenv("SMAPS_OUT"));
		if (system(cmd) != 0) {
			fprintf(stderr, "sched_bench: no smaps\n");
		}
	}
	/* read every row (keyset pages) */
	int64_t *lag   = malloc(sizeof(*lag) * (size_t) (want + 1));
	int64_t *fin   = malloc(sizeof(*fin) * (size_t) (want + 1));
	int64_t  after = 0, recorded = 0, last_fin = 0, first_fire = INT64_MAX;
	for (int pass = 0; pass < 60; pass++) {
		recorded = done = 0;
		after           = 0;
		last_fin        = 0;
		for (;;) {
			struct pj_instance_query q = {
				.app_id = app, .after_id = after, .limit = 1000
			};
			struct pj_instance_list l;
			if (pj_store_instance_list(s, &q, &l) != 0
			    || l.n == 0) {
				break;
			}
			for (size_t k = 0; k < l.n; k++) {
				struct pj_instance *i = &l.v[k];
				recorded++;
				if (i->status == PJ_INST_SUCCEED
				    && done < want) {
					lag[done] = i->actual_trigger_time
					    - i->fire_time;
					fin[done++]
					    = i->finished_time - i->fire_time;
					if (i->finished_time > last_fin) {
						last_fin = i->finished_time;
					}
					if (i->fire_time < first_fire) {
						first_fire = i->fire_time;
					}
				}
			}
			after = l.v[l.n - 1].id;
			pj_instance_list_fini(&l);
		}
		if (done >= want || ar_now_ms() > end + 30000) {
			break;
		}
		usleep(500000);
	}
	kill(wrk, SIGKILL);
	kill(srv, SIGTERM);
	waitpid(wrk, NULL, 0);
	waitpid(srv, NULL, 0);
	char store[80];
	snprintf(store, sizeof(store), "%s%s%s", pj_store_backend(s),
	    getenv("LABEL") && *getenv("LABEL") ? " " : "",
	    getenv("LABEL") ? getenv("LABEL") : "");
	if (done == 0) {
		printf("| %s | %ld | %ld | %lld | 0 | - | - | - | - | - | %.1f "
		       "| %.1f |\n",
		    store, jobs, secs, (long long) recorded, rss / 1024.0,
		    hwm / 1024.0);
		return 1;
	}
	qsort(lag, (size_t) done, sizeof(*lag), cmp64);
	qsort(fin, (size_t) done, sizeof(*fin), cmp64);
	double span = (double) (last_fin - first_fire) / 1000.0;
	printf("| %s | %ld | %ld | %lld | %lld | %.0f | %lld | %lld | %lld | "
	       "%lld | %.1f | %.1f |\n",
	    store, jobs, secs, (long long) recorded, (long long) done, span > 0 ? (double) done / span : 0,
	    (long long) lag[done / 2], (long long) lag[done * 99 / 100],
	    (long long) lag[done - 1], (long long) fin[done * 99 / 100],
	    rss / 1024.0, hwm / 1024.0);
	free(lag);
	free(fin);
	pj_store_close(s);
	return 0;
}
