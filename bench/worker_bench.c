/*
 * worker_bench.c - the worker process's numbers (issue 11):
 *
 *   worker_bench PJ_BIN WORKDIR
 *
 *   latency        a STANDALONE instance of the built-in "verify"
 *                  processor (mode BASE, one online log line) from its
 *                  dispatch to SUCCEED recorded: the instance row's
 *                  gmt_modified (written with the final report) minus its
 *                  actual_trigger_time (written at dispatch), both the
 *                  server's clock; N instances (env N, default 300) run
 *                  one after the other through FriendActor's RUN_JOB, each
 *                  waited for; p50, p99, max
 *   RSS idle       the pj-worker's VmRSS 2 s after it joined, and after
 *                  the run
 *
 * One pj-server on SQLite in WORKDIR and one pj-worker, real processes on
 * 127.0.0.1.  Prints a markdown table.  Design notes (threads): this
 * process runs one actor system for the RUN_JOB asks and polls the store;
 * nothing else.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "actors/messages.h"
#include "runtime/ar.h"
#include "server/store/store.h"

static const char *pj_bin, *work;

static int
wait_file(const char *path, char *out, size_t n)
{
	FILE *f = NULL;
	char  fmt[16];
	for (int k = 0; k < 20000 && f == NULL; k++) {
		if ((f = fopen(path, "r")) == NULL) {
			usleep(1000);
		}
	}
	if (f == NULL) {
		return -1;
	}
	snprintf(fmt, sizeof(fmt), "%%%zus", n - 1);
	int ok = fscanf(f, fmt, out) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

static double
rss_mb(pid_t pid)
{
	char  path[64], line[256];
	FILE *f;
	long  kb = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	if ((f = fopen(path, "r")) == NULL) {
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = atol(line + 6);
		}
	}
	fclose(f);
	return kb / 1024.0;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return x < y ? -1 : x > y;
}

/* the p-th percentile of the sorted v[0..n) */
static long long
pct(const int64_t *v, int n, int p)
{
	int k = (n * p) / 100;
	return (long long) v[k >= n ? n - 1 : k];
}

int
main(int argc, char **argv)
{
	char db[600], ready[600], wready[600], self[64], wself[300];
	char exe[600], wexe[600], data[600], addr[400];
	struct pj_store *store;
	int64_t          app_id, job_id;
	pid_t            srv, wrk;
	int              n = getenv("N") ? atoi(getenv("N")) : 300;

	if (argc != 3 || n < 1) {
		fprintf(
		    stderr, "usage: worker_bench PJ_BIN WORKDIR (N=...)\n");
		return 2;
	}
	pj_bin = argv[1];
	work   = argv[2];
	snprintf(db, sizeof(db), "sqlite://%s/pj.db", work);
	snprintf(ready, sizeof(ready), "%s/ready", work);
	snprintf(wready, sizeof(wready), "%s/wready", work);
	snprintf(data, sizeof(data), "%s/wdata", work);
	snprintf(exe, sizeof(exe), "%s/pj-server", pj_bin);
	snprintf(wexe, sizeof(wexe), "%s/pj-worker", pj_bin);
	if (pj_store_open(db, &store) != 0
	    || pj_store_migrate(store, NULL, NULL) != 0
	    || pj_store_app_create(
	           store, "bench", "s3cret", "", ar_now_ms(), &app_id)
	        != 0) {
		fprintf(stderr, "worker_bench: store: %s\n",
		    pj_store_errmsg(store));
		return 1;
	}
	struct pj_job j        = { 0 };
	j.app_id               = app_id;
	j.job_name             = "latency";
	j.job_params           = "{\"mode\":\"BASE\"}";
	j.time_expression_type = 1; /* API */
	j.time_expression      = "";
	j.status               = 1;
	j.execute_type         = 1; /* STANDALONE */
	j.processor_type       = 1; /* BUILT_IN */
	j.processor_info       = "verify";
	j.concurrency          = 1;
	if (pj_store_job_save(store, &j, ar_now_ms(), &job_id) != 0) {
		fprintf(
		    stderr, "worker_bench: job: %s\n", pj_store_errmsg(store));
		return 1;
	}
	if ((srv = fork()) == 0) {
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		execl(exe, exe, "serve", "--listen", "tcp://127.0.0.1:0",
		    "--gateway", "tcp://127.0.0.1:0", "--db", db,
		    "--ready-file", ready, "--log-level", "warn",
		    (char *) NULL);
		_exit(127);
	}
	if (wait_file(ready, self, sizeof(self)) != 0) {
		fprintf(stderr, "worker_bench: pj-server did not start\n");
		kill(srv, SIGKILL);
		return 1;
	}
	if ((wrk = fork()) == 0) {
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		setenv("PJ_APP_SECRET", "s3cret", 1);
		execl(wexe, wexe, "--app", "bench", "--server", self,
		    "--listen", "tcp://127.0.0.1:0", "--data-dir", data,
		    "--ready-file", wready, "--heartbeat-ms", "500",
		    "--log-level", "warn", (char *) NULL);
		_exit(127);
	}
	if (wait_file(wready, wself, sizeof(wself)) != 0) {
		fprintf(stderr, "worker_bench: pj-worker did not join\n");
		kill(wrk, SIGKILL);
		kill(srv, SIGKILL);
		return 1;
	}
	sleep(2);
	double rss_idle = rss_mb(wrk);

	/* the tester's system, for RUN_JOB through FriendActor */
	ar_config  c;
	ar_system *sys;
	ar_ref     friend_ref;
	ar_config_init(&c);
	c.name             = "bench";
	c.listen_url       = "tcp://127.0.0.1:0";
	c.log_dead_letters = 0;
	pj_messages_register();
	if (ar_system_start(&c, &sys) != 0) {
		return 1;
	}
	snprintf(addr, sizeof(addr), "pj://pjserver@%s/user/friend", self);
	ar_ref_resolve(sys, addr, &friend_ref);
	int64_t *lat = calloc((size_t) n, sizeof(*lat));
	int64_t *wl  = calloc((size_t) n, sizeof(*wl));
	int      got = 0, failed = 0;
	int64_t  t0 = ar_mono_ms();
	for (int k = 0; k < n; k++) {
		Pj__Friend__OpRequest   q = PJ__FRIEND__OP_REQUEST__INIT;
		ar_future              *f;
		const ProtobufCMessage *r;
		int64_t                 id = 0;
		q.op                       = PJ__FRIEND__OP__RUN_JOB;
		q.app_id                   = app_id;
		q.job_id                   = job_id;
		q.params                   = "";
		if (ar_ask(sys, friend_ref, &q.base, 10000, &f) != 0) {
			failed++;
			continue;
		}
		if (ar_future_wait(f, -1, &r) == 0
		    && r->descriptor == &pj__friend__op_reply__descriptor
		    && ((const Pj__Friend__OpReply *) r)->code == 0) {
			id = ((const Pj__Friend__OpReply *) r)->instance_id;
		}
		ar_future_free(f);
		if (id == 0) {
			failed++;
			usleep(100000); /* the worker not in the view yet */
			continue;
		}
		int64_t dl = ar_mono_ms() + 10000;
		for (;;) {
			struct pj_instance i;
			if (pj_store_instance_get(store, id, &i) == 0) {
				int st = i.status;
				if (st == PJ_INST_SUCCEED) {
					wl[got] = i.finished_time
					    - i.actual_trigger_time;
					lat[got++] = i.gmt_modified
					    - i.actual_trigger_time;
				}
				pj_instance_fini(&i);
				if (st >= PJ_INST_FAILED) {
					failed += st != PJ_INST_SUCCEED;
					break;
				}
			}
			if (ar_mono_ms() > dl) {
				failed++;
				break;
			}
			usleep(500);
		}
	}
	int64_t secs_ms   = ar_mono_ms() - t0;
	double  rss_after = rss_mb(wrk);
	qsort(lat, (size_t) got, sizeof(*lat), cmp64);
	qsort(wl, (size_t) got, sizeof(*wl), cmp64);
	printf("| measure | value | goal |\n|---|---:|---:|\n");
	if (got > 0) {
#define PCT(v, p) pct((v), got, (p))
		printf("| STANDALONE dispatch to SUCCEED recorded, p50 (%d "
		       "instances) | %lld ms | |\n",
		    got, PCT(lat, 50));
		printf("| same, p90 / p99 | %lld / %lld ms | p99 < 20 ms |\n",
		    PCT(lat, 90), PCT(lat, 99));
		printf(
		    "| same, max | %lld ms | |\n", (long long) lat[got - 1]);
		printf(
		    "| dispatch to the worker's end time, p50 / p99 | %lld / "
		    "%lld ms | |\n",
		    PCT(wl, 50), PCT(wl, 99));
#undef PCT
	}
	printf("| instances failed or lost | %d | 0 |\n", failed);
	printf("| run time of the %d instances | %.1f s | |\n", n,
	    secs_ms / 1000.0);
	printf("| pj-worker RSS idle (2 s after joining) | %.1f MB | < 8 MB "
	       "|\n",
	    rss_idle);
	printf("| pj-worker RSS after the run | %.1f MB | |\n", rss_after);
	kill(wrk, SIGTERM);
	waitpid(wrk, NULL, 0);
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	ar_system_stop(sys);
	pj_store_close(store);
	free(lat);
	free(wl);
	return failed > 0;
}
