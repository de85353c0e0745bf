/*
 * server_bench.c - the server process's numbers (issue 9):
 *
 *   server_bench PJ_BIN PJ_TEST_BIN WORKDIR
 *
 *   start to ready   fork+exec of `pj-server serve` until its ready file
 *                    exists (the store opened and migrated, server_info
 *                    row, actors spawned), on a fresh SQLite database and
 *                    on an existing one; median of RUNS (env, default 5)
 *   RSS              the server's VmRSS idle, and with 100 test workers
 *                    (one pj-testworker process, --workers 100) heartbeating
 *                    every second for 5 s
 *   heartbeats/s     one pj-testworker floods heartbeats of 100 workers for
 *                    FLOOD_MS (default 5000); the rate is the server's own
 *                    accepted-heartbeat counter (pj.cluster.Stats) from the
 *                    first to the last one it processed
 *
 * Prints a markdown table.  Design notes (threads): this process runs one
 * actor system to ask the server for its counters; nothing else.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "actors/messages.h"
#include "runtime/ar.h"
#include "server/store/store.h"

static const char *pj_bin, *t_bin, *work;

static pid_t
start_server(
    const char *db, const char *ready, char *self, size_t n, int64_t *ready_us)
{
	char            exe[600];
	struct timespec a, b;
	snprintf(exe, sizeof(exe), "%s/pj-server", pj_bin);
	unlink(ready);
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid_t pid = fork();
	if (pid == 0) {
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		execl(exe, exe, "serve", "--listen", "tcp://127.0.0.1:0",
		    "--gateway", "tcp://127.0.0.1:0", "--db", db,
		    "--ready-file", ready, "--log-level", "warn",
		    (char *) NULL);
		_exit(127);
	}
	FILE *f = NULL;
	for (int k = 0; k < 200000 && f == NULL; k++) {
		if ((f = fopen(ready, "r")) == NULL) {
			usleep(100);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (f == NULL || fscanf(f, "%63s", self) != 1) {
		fprintf(stderr, "server did not start\n");
		exit(1);
	}
	(void) n;
	fclose(f);
	*ready_us = (b.tv_sec - a.tv_sec) * 1000000LL
	    + (b.tv_nsec - a.tv_nsec) / 1000;
	return (pid);
}

static void
stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static long
rss_kb(pid_t pid)
{
	char  path[64], line[256];
	long  kb = -1;
	FILE *f;
	snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	if ((f = fopen(path, "r")) == NULL) {
		return (-1);
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %ld", &kb) == 1) {
			break;
		}
	}
	fclose(f);
	return (kb);
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return (x < y ? -1 : x > y);
}

/* The server's accepted-heartbeat counter, or 0 when it did not answer
 * (the caller keeps its previous sample). */
static uint64_t
heartbeats(ar_system *sys, ar_ref server)
{
	Pj__Cluster__StatsQuery q = PJ__CLUSTER__STATS_QUERY__INIT;
	ar_future              *f;
	const ProtobufCMessage *r;
	uint64_t                n = 0;
	ar_ask(sys, server, &q.base, 5000, &f);
	if (ar_future_wait(f, -1, &r) == 0
	    && r->descriptor == &pj__cluster__stats__descriptor) {
		n = ((const Pj__Cluster__Stats *) r)->heartbeats;
	}
	ar_future_free(f);
	return (n);
}

static pid_t
run_worker(
    const char *self, const char *extra1, const char *extra2, const char *out)
{
	char exe[600];
	snprintf(exe, sizeof(exe), "%s/pj-testworker", t_bin);
	pid_t pid = fork();
	if (pid == 0) {
		freopen(out, "w", stdout);
		freopen("/dev/null", "w", stderr);
		execl(exe, exe, "--server", self, "--app", "bench", "--secret",
		    "pw", "--workers", "100", extra1, extra2, (char *) NULL);
		_exit(127);
	}
	return (pid);
}

int
main(int argc, char **argv)
{
	char db[600], ready[600], self[64], out[600];
	int  runs     = getenv("RUNS") ? atoi(getenv("RUNS")) : 5;
	long flood_ms = getenv("FLOOD_MS") ? atol(getenv("FLOOD_MS")) : 5000;
	int64_t          fresh[32], warm[32], us;
	struct pj_store *s;
	int64_t          app;
	pid_t            pid;

	if (argc != 4) {
		fprintf(stderr,
		    "usage: server_bench PJ_BIN PJ_TEST_BIN WORKDIR\n");
		return (2);
	}
	pj_bin = argv[1];
	t_bin  = argv[2];
	work   = argv[3];
	runs   = runs < 1 ? 1 : runs > 32 ? 32 : runs;
	snprintf(ready, sizeof(ready), "%s/ready", work);
	for (int i = 0; i < runs; i++) {
		snprintf(db, sizeof(db), "sqlite://%s/fresh%d.db", work, i);
		pid = start_server(db, ready, self, sizeof(self), &fresh[i]);
		stop(pid);
		pid = start_server(db, ready, self, sizeof(self), &warm[i]);
		stop(pid);
	}
	qsort(fresh, (size_t) runs, sizeof(int64_t), cmp64);
	qsort(warm, (size_t) runs, sizeof(int64_t), cmp64);

	/* one server, one app, 100 workers */
	snprintf(db, sizeof(db), "sqlite://%s/load.db", work);
	if (pj_store_open(db, &s) != 0 || pj_store_migrate(s, NULL, NULL) != 0
	    || pj_store_app_create(s, "bench", "pw", "", ar_now_ms(), &app)
	        != 0) {
		fprintf(stderr, "cannot prepare %s\n", db);
		return (1);
	}
	pj_store_close(s);
	pid = start_server(db, ready, self, sizeof(self), &us);
	usleep(1000000);
	long idle = rss_kb(pid);

	ar_config  c;
	ar_system *sys;
	ar_ref     server;
	char       addr[200];
	ar_config_init(&c);
	c.name       = "bench";
	c.listen_url = "tcp://127.0.0.1:0";
	pj_messages_register();
	ar_system_start(&c, &sys);
	snprintf(addr, sizeof(addr), "pj://pjserver@%s/user/server", self);
	ar_ref_resolve(sys, addr, &server);

	snprintf(out, sizeof(out), "%s/worker.out", work);
	pid_t w = run_worker(self, "--interval-ms", "1000", out);
	usleep(5000000);
	long loaded = rss_kb(pid);
	kill(w, SIGTERM);
	waitpid(w, NULL, 0);

	/* flood: the server's counter from its first to its last heartbeat */
	char flood[32];
	snprintf(flood, sizeof(flood), "%ld", flood_ms);
	uint64_t h0 = heartbeats(sys, server), h1 = h0, prev;
	w          = run_worker(self, "--flood-ms", flood, out);
	int64_t t0 = 0, t1 = 0;
	for (;;) {
		usleep(20000);
		prev         = h1;
		uint64_t now = heartbeats(sys, server);
		h1           = now > h1 ? now : h1;
		if (t0 == 0 && h1 > h0) {
			t0 = ar_mono_ms();
			h0 = h1; /* count from here */
			continue;
		}
		if (h1 > prev) {
			t1 = ar_mono_ms();
		} else if (t0 != 0 && ar_mono_ms() - t1 > 1000) {
			break; /* no progress for a second: drained */
		}
	}
	waitpid(w, NULL, 0);
	long   peak = rss_kb(pid);
	double rate
	    = t1 > t0 ? (double) (h1 - h0) * 1000.0 / (double) (t1 - t0) : 0;
	ar_system_stop(sys);
	stop(pid);

	printf("| measure | value | goal |\n|---|---:|---:|\n");
	printf(
	    "| start to ready, fresh SQLite (migrations applied), median of "
	    "%d | %.1f ms | < 100 ms |\n",
	    runs, (double) fresh[runs / 2] / 1000.0);
	printf("| start to ready, existing SQLite, median of %d | %.1f ms | "
	       "< 100 ms |\n",
	    runs, (double) warm[runs / 2] / 1000.0);
	printf("| server RSS idle | %.1f MB | |\n", (double) idle / 1024.0);
	printf("| server RSS, 100 workers heartbeating every 1 s | %.1f MB | "
	       "< 30 "
	       "MB |\n",
	    (double) loaded / 1024.0);
	printf("| heartbeats/s absorbed, 100 workers flooding %ld ms | %.0f | "
	       "≥ 20,000 |\n",
	    flood_ms, rate);
	printf("| server RSS after the flood | %.1f MB | |\n",
	    (double) peak / 1024.0);
	return (0);
}
