/*
 * t/gatewayutil.h - the gateway end-to-end fixture shared by the gateway
 * suites: a store (SQLite or the private MariaDB) with an app "orders",
 * real pj-server processes with their gateways on free ports, test workers
 * (build/t/pj-testworker) or real pj-worker processes, and pjctl
 * (build/bin/pjctl) as a child process for every command.
 *
 * Design notes (threads): everything runs on the test's thread; children
 * are reaped in teardown whatever happened.  A header of static functions
 * and variables (one suite per binary), like t/workerutil.h.
 */
#ifndef PJ_T_GATEWAYUTIL_H
#define PJ_T_GATEWAYUTIL_H

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t/serverutil.h"

#define MAXPROC 4
#define KEY "gateway-test-cluster-key"
static struct tu_srv_proc srv[MAXPROC], wrk[MAXPROC];
static char               gwurl[MAXPROC][256];
static int                nsrv, nwrk;
static char               dburl[512], tmpdir[256], dbname[64];
static struct pj_store   *store;
static int64_t            app_id;

/* ---- processes
 * ------------------------------------------------------------------ */

static inline void
setup(int mysql)
{
	tu_srv_store_open(mysql, "/tmp/pjgw.XXXXXX", "pjgw", 4, tmpdir, dbname,
	    dburl, &store, &app_id);
	nsrv = nwrk = 0;
}

static inline void
teardown(void)
{
	tu_srv_reap(wrk, nwrk);
	tu_srv_reap(srv, nsrv);
	tu_srv_store_close(store, dbname, tmpdir);
}

/* A server with its gateway on a free port (URL in gwurl[i]). */
static inline int
start_server(void)
{
	static const char *const env[] = { "PJ_CLUSTER_KEY", KEY, "PJ_GATEWAY",
		"tcp://127.0.0.1:0", NULL };
	char                     ready[400], line[200];
	int                      i = nsrv++;
	FILE                    *f;
	tu_srv_start(&srv[i], i, tmpdir, dburl, env, NULL);
	snprintf(ready, sizeof(ready), "%s/ready.%d", tmpdir, i);
	ck_assert_ptr_nonnull(f = fopen(ready, "r"));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	line[strcspn(line, "\n")] = 0;
	ck_assert_msg(strncmp(line, "tcp://127.0.0.1:", 16) == 0, "%s", line);
	snprintf(gwurl[i], sizeof(gwurl[i]), "%s", line);
	return i;
}

/* A test worker of app "orders" that knows only server s. */
static inline void
start_worker(int s)
{
	char exe[600], out[400];
	int  i = nwrk++;
	snprintf(exe, sizeof(exe), "%s/pj-testworker",
	    getenv("PJ_TEST_BIN") ? getenv("PJ_TEST_BIN") : "build/t");
	snprintf(out, sizeof(out), "%s/worker.%d.out", tmpdir, i);
	const char *argv[] = { exe, "--server", srv[s].self, "--app",
		"orders", "--secret", "s3cret", "--interval-ms", "200",
		"--discover-ms", "300", "--quiet", NULL };
	const char *env[]  = { "PJ_CLUSTER_KEY", KEY, NULL };
	struct tu_spawn_opts o = TU_SPAWN_OPTS_INIT;
	o.out                  = out;
	o.env                  = env;
	wrk[i].pid             = tu_proc_spawn((char *const *) argv, &o);
	ck_assert_int_gt(wrk[i].pid, 0);
}

/* A real pj-worker of app "orders" that knows only server s, with the
 * test plugins (build/t/plugins) and RUNNING reports every 100 ms. */
static inline void
start_pj_worker(int s)
{
	char        exe[600], plugins[600], log[400], data[400], ready[400];
	const char *bin = getenv("PJ_BIN") ? getenv("PJ_BIN") : "build/bin";
	int         i   = nwrk++;
	snprintf(exe, sizeof(exe), "%s/pj-worker", bin);
	snprintf(plugins, sizeof(plugins), "%s/plugins",
	    getenv("PJ_TEST_BIN") ? getenv("PJ_TEST_BIN") : "build/t");
	snprintf(log, sizeof(log), "%s/pjworker.%d.log", tmpdir, i);
	snprintf(data, sizeof(data), "%s/pjworker.%d", tmpdir, i);
	snprintf(ready, sizeof(ready), "%s/pjworker.%d.ready", tmpdir, i);
	const char *argv[] = { exe, "--server", srv[s].self, "--app",
		"orders", "--secret", "s3cret", "--listen", "tcp://127.0.0.1:0",
		"--data-dir", data, "--plugin-dir", plugins, "--ready-file",
		ready, "--heartbeat-ms", "200", "--discover-ms", "500",
		"--report-ms", "100", NULL };
	const char *env[]  = { "PJ_CLUSTER_KEY", KEY, NULL };
	struct tu_spawn_opts o = TU_SPAWN_OPTS_INIT;
	o.out                  = "/dev/null";
	o.err                  = log;
	o.env                  = env;
	wrk[i].pid             = tu_proc_spawn((char *const *) argv, &o);
	ck_assert_int_gt(wrk[i].pid, 0);
	int64_t dl = ar_mono_ms() + 30000; /* sanitizers, a loaded machine */
	while (access(ready, F_OK) != 0 && ar_mono_ms() < dl) {
		usleep(10000);
	}
	ck_assert_msg(access(ready, F_OK) == 0, "pj-worker did not start");
}

/* ---- pjctl
 * ---------------------------------------------------------------------- */

static char out[1 << 20];

/* Runs pjctl against gateway g as app/secret (NULL = the environment
 * left out) with the arguments (NULL-ended); stdout + stderr in out;
 * returns the exit status. */
static inline int
pjctl_as(int g, const char *app, const char *secret, ...)
{
	char        exe[600];
	const char *argv[40];
	int         n   = 0, fd[2], st;
	size_t      len = 0;
	va_list     ap;
	ssize_t     k;
	pid_t       pid;
	snprintf(exe, sizeof(exe), "%s/pjctl",
	    getenv("PJ_BIN") ? getenv("PJ_BIN") : "build/bin");
	argv[n++] = exe;
	va_start(ap, secret);
	for (const char *a;
	     (a = va_arg(ap, const char *)) != NULL && n < 39;) {
		argv[n++] = a;
	}
	va_end(ap);
	argv[n] = NULL;
	ck_assert_int_eq(pipe(fd), 0);
	/* HOME: no ~/.config/pjctl.conf; the key: runtime commands; a NULL
	 * app or secret leaves it out of the environment */
	const char *env[] = { "PJ_GATEWAY", gwurl[g], "HOME", tmpdir,
		"PJ_CLUSTER_KEY", KEY, "PJ_TOKEN", NULL, "PJ_APP", app,
		"PJ_APP_SECRET", secret, NULL };
	struct tu_spawn_opts o = TU_SPAWN_OPTS_INIT;
	o.fd                   = fd[1];
	o.close_fd             = fd[0];
	o.env                  = env;
	pid                    = tu_proc_spawn((char *const *) argv, &o);
	ck_assert_int_gt(pid, 0);
	close(fd[1]);
	while ((k = read(fd[0], out + len, sizeof(out) - 1 - len)) > 0) {
		len += (size_t) k;
	}
	out[len] = 0;
	close(fd[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* Starts pjctl against gateway 0 as orders/s3cret in the background with
 * stdout + stderr into the file `path` (not a terminal). */
static inline pid_t
pjctl_spawn(const char *path, const char *a1, const char *a2,
    const char *a3, const char *a4, const char *a5)
{
	char  exe[600];
	pid_t pid;
	snprintf(exe, sizeof(exe), "%s/pjctl",
	    getenv("PJ_BIN") ? getenv("PJ_BIN") : "build/bin");
	const char *argv[] = { exe, a1, a2, a3, a4, a5, NULL };
	const char *env[]  = { "PJ_GATEWAY", gwurl[0], "HOME", tmpdir,
		 "PJ_APP", "orders", "PJ_APP_SECRET", "s3cret", "PJ_TOKEN", NULL,
		 NULL };
	struct tu_spawn_opts o = TU_SPAWN_OPTS_INIT;
	o.out                  = path;
	o.err_to_out           = 1;
	o.env                  = env;
	pid                    = tu_proc_spawn((char *const *) argv, &o);
	ck_assert_int_gt(pid, 0);
	return pid;
}

/* The file's contents in out. */
static inline void
slurp(const char *path)
{
	FILE  *f = fopen(path, "r");
	size_t n = f ? fread(out, 1, sizeof(out) - 1, f) : 0;
	out[n]   = 0;
	if (f != NULL) {
		fclose(f);
	}
}

#define PJCTL(...) pjctl_as(0, "orders", "s3cret", __VA_ARGS__, (char *) NULL)
#define PJCTL_AT(g, ...)                                                      \
	pjctl_as(g, "orders", "s3cret", __VA_ARGS__, (char *) NULL)
#define OK(call)                                                              \
	do {                                                                  \
		int _rv = (call);                                             \
		ck_assert_msg(_rv == 0, "%s: exit %d: %s", #call, _rv, out);  \
	} while (0)
#define HAS(s) ck_assert_msg(strstr(out, s) != NULL, "'%s' not in: %s", s, out)

/* The first number after `prefix` in out. */
static inline long long
number_after(const char *prefix)
{
	const char *p = strstr(out, prefix);
	ck_assert_msg(p != NULL, "'%s' not in: %s", prefix, out);
	return strtoll(p + strlen(prefix), NULL, 10);
}

/* Waits until `worker list` at gateway g lists a worker (discovery done). */
static inline void
wait_worker(int g)
{
	for (int k = 0; k < 100; k++) {
		if (PJCTL_AT(g, "worker", "list") == 0
		    && strstr(out, "testworker") != NULL) {
			return;
		}
		usleep(100000);
	}
	ck_abort_msg("no worker listed: %s", out);
}

#endif
