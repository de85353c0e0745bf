/*
 * t/schedutil.h - the fixture of the scheduler's end-to-end suites
 * (t/sched_multiprocess_test.c, t/sched_failover_multiprocess_test.c): real
 * pj-server processes (build/bin) and a worker on 127.0.0.1, this process
 * as a client (the tester's actor system) and as the one who writes jobs
 * into the store.  Every test runs twice (tcase_add_loop_test 0..2): loop
 * index 0 on SQLite with the test worker (build/t/pj-testworker), 1 on the
 * private MariaDB (PJ_TEST_MYSQL_URL, started by t/run.sh) with the real
 * worker, build/bin/pj-worker, whose jobs are the built-in verify
 * processor: {"mode":"BASE"} where the test worker answers at once,
 * {"mode":"TIMEOUT"} (runs until stopped) where it is told --job-ms -1.
 * Its state is the including suite's own (static).
 *
 * Design notes (threads): the runtime's threads deliver replies; the test
 * waits on futures and polls the store.  Children are killed in teardown
 * whatever happened.
 */
#ifndef PJ_T_SCHEDUTIL_H
#define PJ_T_SCHEDUTIL_H

#include <check.h>
#include <mysql.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t/serverutil.h"
#include "t/mysqlutil.h"
#include "actors/messages.h"
#include "runtime/ar.h"
#include "server/store/store.h"
#include "server/timing/timing.h"

#define MAXPROC 8
static struct tu_srv_proc srv[MAXPROC], wrk[MAXPROC];
static int                nsrv, nwrk;
static char               dburl[512], tmpdir[256], dbname[64];
static ar_system         *sys;
static struct pj_store   *store;
static int64_t            app_id;
static int  real; /* loop index 1: MariaDB and pj-worker */
static bool hold; /* the worker was told --job-ms: jobs run until stopped */

/* ---- backends and processes (t/serverutil.h) --------------------------- */

static inline void
setup(int mysql)
{
	tu_srv_store_open(mysql, "/tmp/pjsched.XXXXXX", "pjsch", 4, tmpdir,
	    dbname, dburl, &store, &app_id);
	sys  = tu_srv_tester();
	nsrv = nwrk = 0;
	real        = mysql;
	hold        = false;
}

static inline void
teardown(void)
{
	tu_srv_reap(wrk, nwrk);
	tu_srv_reap(srv, nsrv);
	ar_system_stop(sys);
	tu_srv_store_close(store, dbname, tmpdir);
}

/* Fast checks for the tests: every 300 ms, receive timeout receive_ms
 * (start_server: 2 s), report timeout 2 s, a 1 s misfire threshold. */
static inline int
start_server_receive(const char *receive_ms)
{
	const char *const env[] = { "PJ_CHECK_INTERVAL_MS", "300",
		"PJ_WAIT_RECEIVE_MS", receive_ms, "PJ_RUNNING_TIMEOUT_MS",
		"2000", "PJ_MISFIRE_THRESHOLD_MS", "1000",
		"PJ_SCHED_WINDOW_MS", "2000", NULL };
	int               i     = nsrv++;
	tu_srv_start(&srv[i], i, tmpdir, dburl, env, NULL);
	return i;
}

static inline int
start_server(void)
{
	return start_server_receive("2000");
}

/* The same with a short look-ahead (500 ms, passes every 100 ms) and a
 * misfire threshold of 200 ms: an owner killed 700 ms before a fire has
 * not recorded it, and the next owner (about 1.2 s later) finds it
 * missed. */
#define SHORT_WINDOW_ENV                                                      \
	(const char *const[])                                                 \
	{                                                                     \
		"PJ_CHECK_INTERVAL_MS", "300", "PJ_WAIT_RECEIVE_MS", "2000",  \
		    "PJ_RUNNING_TIMEOUT_MS", "2000", "PJ_MISFIRE_THRESHOLD_MS", \
		    "200", "PJ_SCHED_WINDOW_MS", "500", "PJ_SCHED_PASS_MS",   \
		    "100", NULL                                               \
	}

static inline int
start_server_short_window(void)
{
	int i = nsrv++;
	tu_srv_start(&srv[i], i, tmpdir, dburl, SHORT_WINDOW_ENV, NULL);
	return i;
}

/* Starts server i again on its old address (the worker knows it). */
static inline void
restart_server_short_window(int i)
{
	char ready[400], listen[100];
	snprintf(ready, sizeof(ready), "%s/ready.%d", tmpdir, i);
	unlink(ready);
	snprintf(listen, sizeof(listen), "tcp://%s", srv[i].self);
	const char *const args[] = { "--listen", listen, NULL };
	tu_srv_start(&srv[i], i, tmpdir, dburl, SHORT_WINDOW_ENV, args);
}

/* A worker for every server so far: pj-worker on loop index 1, else the
 * test worker with options a1 a2 (either NULL). */
static inline int
start_worker(const char *a1, const char *a2)
{
	char exe[600], servers[400] = "", out[400];
	int  i = nwrk++;
	hold   = a1 != NULL && strcmp(a1, "--job-ms") == 0;
	if (real) {
		tu_srv_start_pjworker(&wrk[i], i, tmpdir, srv, nsrv, NULL);
		return i;
	}
	for (int k = 0; k < nsrv; k++) {
		snprintf(servers + strlen(servers),
		    sizeof(servers) - strlen(servers), "%s%s", k ? "," : "",
		    srv[k].self);
	}
	snprintf(exe, sizeof(exe), "%s/pj-testworker",
	    getenv("PJ_TEST_BIN") ? getenv("PJ_TEST_BIN") : "build/t");
	snprintf(out, sizeof(out), "%s/worker.%d.out", tmpdir, i);
	const char *argv[] = { exe, "--server", servers, "--app", "orders",
		"--secret", "s3cret", "--interval-ms", "200", "--discover-ms",
		"500", a1, a2, NULL };
	struct tu_spawn_opts o = TU_SPAWN_OPTS_INIT;
	o.out                  = out;
	wrk[i].pid             = tu_proc_spawn((char *const *) argv, &o);
	ck_assert_int_gt(wrk[i].pid, 0);
	return i;
}

static inline void
kill_proc(struct tu_srv_proc *p)
{
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
	p->pid = 0;
}

static inline ar_ref
actor(int i, const char *name)
{
	return tu_srv_actor(sys, srv[i].self, name);
}

static inline Pj__Friend__OpReply *
op_delay(int i, Pj__Friend__Op o, int64_t job_id, int64_t instance_id,
    const char *params, int64_t delay_ms)
{
	Pj__Friend__OpRequest q = PJ__FRIEND__OP_REQUEST__INIT;
	q.delay_ms              = delay_ms;
	q.op          = o;
	q.app_id      = app_id;
	q.job_id      = job_id;
	q.instance_id = instance_id;
	q.params      = (char *) (params ? params : "");
	return tu_srv_friend_op(sys, srv[i].self, &q);
}

static inline Pj__Friend__OpReply *
op(int i, Pj__Friend__Op o, int64_t job_id, int64_t instance_id,
    const char *params)
{
	return op_delay(i, o, job_id, instance_id, params, 0);
}

/* The index of the live server the store names as the app's owner. */
static inline int
owner_index(void)
{
	char *o = NULL;
	int   k = -1;
	ck_assert_int_eq(pj_store_app_owner(store, app_id, &o), 0);
	for (int i = 0; i < nsrv; i++) {
		if (srv[i].pid > 0 && strcmp(srv[i].self, o) == 0) {
			k = i;
		}
	}
	ck_assert_msg(k >= 0, "the owner %s is not a live server", o);
	free(o);
	return k;
}

/* Waits until the app's owner has a live worker in its view. */
static inline int
wait_owned_with_worker(void)
{
	int64_t dl = ar_mono_ms() + 15000;
	while (ar_mono_ms() < dl) {
		char *o = NULL;
		if (pj_store_app_owner(store, app_id, &o) == 0 && o[0]) {
			for (int i = 0; i < nsrv; i++) {
				if (srv[i].pid > 0
				    && strcmp(srv[i].self, o) == 0) {
					Pj__Friend__OpReply *r = op(i,
					    PJ__FRIEND__OP__WORKER_LIST, 0, 0,
					    NULL);
					int                  ok
					    = r->code == 0 && r->n_workers > 0;
					pj__friend__op_reply__free_unpacked(
					    r, NULL);
					if (ok) {
						free(o);
						return i;
					}
				}
			}
		}
		free(o);
		usleep(100000);
	}
	ck_abort_msg("no server owns the app with a worker in its view");
	return -1;
}

static inline int64_t
save_job(int type, const char *expr, int policy, int64_t next, int64_t lc_end,
    int retries)
{
	struct pj_job j        = { 0 };
	char          lc[100]  = "";
	int64_t       id       = 0;
	j.app_id               = app_id;
	j.job_name             = "j";
	j.job_params           = !real ? "jp=1"
	              : hold       ? "{\"mode\":\"TIMEOUT\"}"
	                           : "{\"mode\":\"BASE\"}";
	j.processor_info       = "verify"; /* pj-worker's; pj-testworker: any */
	j.time_expression_type = type;
	j.time_expression      = (char *) expr;
	j.time_zone            = "Europe/Berlin";
	j.misfire_policy       = policy;
	j.status               = 1;
	j.next_trigger_time    = next;
	j.execute_type         = 1;
	j.processor_type       = 1;
	j.concurrency          = 5;
	j.instance_retry_num   = retries;
	if (lc_end > 0) {
		snprintf(lc, sizeof(lc), "{\"end\":%lld}", (long long) lc_end);
	}
	j.lifecycle = lc;
	ck_assert_int_eq(pj_store_job_save(store, &j, ar_now_ms(), &id), 0);
	return id;
}

static inline void
list_job(int64_t job, struct pj_instance_list *l)
{
	struct pj_instance_query q = { .job_id = job, .limit = 1000 };
	ck_assert_int_eq(pj_store_instance_list(store, &q, l), 0);
}

static inline int
instance_status(int64_t id)
{
	return tu_srv_instance_status(store, id);
}

#define WAIT_STATUS(id, st, ms) TU_SRV_WAIT_STATUS(store, id, st, ms)

/* The worker's output (test worker) or log (pj-worker) contains needle. */
static inline bool
worker_said(int w, const char *needle)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/worker.%d.out", tmpdir, w);
	return tu_file_says(real ? wrk[w].log : path, needle);
}

/* Instance parameters: the test worker's text, none for pj-worker (its
 * job's verify parameters decide). */
#define IP(x) (real ? "" : (x))


/* The next whole second at least `ahead` ms away. */
static inline int64_t
second_after(int64_t ahead)
{
	int64_t t = ar_now_ms() + ahead;
	return (t / 1000 + 1) * 1000;
}

#endif
