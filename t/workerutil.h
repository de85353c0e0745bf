/*
 * t/workerutil.h - the pj-worker end-to-end fixture shared by the worker
 * suites: a store (SQLite or the private MariaDB) with an app "orders",
 * real pj-server and pj-worker processes on 127.0.0.1, this process as
 * the client that writes jobs into the store and asks a server's
 * FriendActor to run or stop them, and waits on the store.
 *
 * Design notes (threads): the runtime's threads deliver replies; the
 * tests wait on futures and poll the store.  Children are reaped in
 * teardown whatever happened.  A header of static functions (one suite
 * per binary), like t/serverutil.h.
 */
#ifndef PJ_T_WORKERUTIL_H
#define PJ_T_WORKERUTIL_H

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t/serverutil.h"
#include "actors/messages.h"
#include "runtime/ar.h"
#include "server/store/store.h"
#include "server/timing/timing.h"

#define MAXPROC 6
static struct tu_srv_proc srv[MAXPROC], wrk[MAXPROC];
static int                nsrv, nwrk;
static char               dburl[512], tmpdir[256], dbname[64];
static ar_system         *sys;
static struct pj_store   *store;
static int64_t            app_id;

static inline void
setup(int mysql)
{
	tu_srv_store_open(mysql, "/tmp/pjwork.XXXXXX", "pjwrk", 4, tmpdir,
	    dbname, dburl, &store, &app_id);
	sys  = tu_srv_tester();
	nsrv = nwrk = 0;
}

static inline void
teardown(void)
{
	tu_srv_reap(wrk, nwrk);
	tu_srv_reap(srv, nsrv);
	ar_system_stop(sys);
	tu_srv_store_close(store, dbname, tmpdir);
}

/* Fast checks: every 300 ms, receive and report timeouts of 2 s, retries
 * after 200 ms. */
static inline int
start_server_checking(const char *check_ms)
{
	const char *const env[] = { "PJ_CHECK_INTERVAL_MS", check_ms,
		"PJ_WAIT_RECEIVE_MS", "2000", "PJ_RUNNING_TIMEOUT_MS", "2000",
		"PJ_RETRY_DELAY_MS", "200", NULL };
	int               i     = nsrv++;
	tu_srv_start(&srv[i], i, tmpdir, dburl, env, NULL);
	return i;
}

static inline int
start_server(void)
{
	return start_server_checking("300");
}

static const char *extra_arg[2]; /* one more option for the next worker */
static const char *suite_args[16]; /* more options for every worker (NULL
                                      ends them) */

static inline void
worker_argv(int i, const char *secret, const char **argv, char *buf, size_t n)
{
	char *p = buf;
	int   k = 0;
#define ADD(...)                                                              \
	do {                                                                  \
		argv[k++] = p;                                                \
		p += snprintf(p, n - (size_t) (p - buf), __VA_ARGS__) + 1;    \
	} while (0)
	ADD("%s/pj-worker", getenv("PJ_BIN") ? getenv("PJ_BIN") : "build/bin");
	ADD("--server");
	ADD("%s", "");
	p--;
	for (int s = 0; s < nsrv; s++) {
		p += snprintf(p, n - (size_t) (p - buf), "%s%s", s ? "," : "",
		    srv[s].self);
	}
	p++;
	ADD("--app");
	ADD("orders");
	ADD("--secret");
	ADD("%s", secret);
	ADD("--listen");
	ADD("tcp://127.0.0.1:0");
	ADD("--data-dir");
	ADD("%s/w%d", tmpdir, i);
	ADD("--ready-file");
	ADD("%s/wready.%d", tmpdir, i);
	ADD("--heartbeat-ms");
	ADD("200");
	ADD("--discover-ms");
	ADD("500");
	ADD("--report-ms");
	ADD("300");
	ADD("--log-flush-ms");
	ADD("100");
	ADD("--stop-wait-ms");
	ADD("2000");
	ADD("--start-wait-ms");
	ADD("3000");
	ADD("--log-level");
	ADD("info");
	for (int a = 0; suite_args[a] != NULL; a++) {
		ADD("%s", suite_args[a]);
	}
	if (extra_arg[0] != NULL) {
		ADD("%s", extra_arg[0]);
		ADD("%s", extra_arg[1]);
		extra_arg[0] = extra_arg[1] = NULL;
	}
	argv[k] = NULL;
#undef ADD
}

/* Starts pj-worker number i; with wait, until its ready file exists. */
static inline int
start_worker_secret(const char *secret, int wait)
{
	const char *argv[64];
	char        buf[4096], ready[400];
	int         i = nwrk++;

	worker_argv(i, secret, argv, buf, sizeof(buf));
	snprintf(
	    wrk[i].log, sizeof(wrk[i].log), "%s/worker.%d.log", tmpdir, i);
	snprintf(ready, sizeof(ready), "%s/wready.%d", tmpdir, i);
	struct tu_spawn_opts o = TU_SPAWN_OPTS_INIT;
	o.out                  = "/dev/null";
	o.err                  = wrk[i].log;
	wrk[i].pid             = tu_proc_spawn((char *const *) argv, &o);
	ck_assert_msg(wrk[i].pid > 0, "cannot start %s: %s", argv[0],
	    strerror(errno));
	if (!wait) {
		return i;
	}
	tu_srv_wait_ready(&wrk[i], ready, "pj-worker");
	return i;
}

static inline int
start_worker(void)
{
	return start_worker_secret("s3cret", 1);
}

static inline void
kill_proc(struct tu_srv_proc *p, int sig)
{
	kill(p->pid, sig);
	waitpid(p->pid, NULL, 0);
	p->pid = 0;
}

static inline bool
file_says(const char *path, const char *needle)
{
	return tu_file_says(path, needle);
}

static inline bool
wait_file_says(const char *path, const char *needle, int ms)
{
	int64_t dl = ar_mono_ms() + ms;
	while (!file_says(path, needle) && ar_mono_ms() < dl) {
		usleep(50000);
	}
	return file_says(path, needle);
}

static inline ar_ref
actor(int i, const char *name)
{
	return tu_srv_actor(sys, srv[i].self, name);
}

static inline Pj__Friend__OpReply *
op(int i, Pj__Friend__Op o, int64_t job_id, int64_t instance_id)
{
	Pj__Friend__OpRequest q = PJ__FRIEND__OP_REQUEST__INIT;
	q.op          = o;
	q.app_id      = app_id;
	q.job_id      = job_id;
	q.instance_id = instance_id;
	q.params      = "";
	return tu_srv_friend_op(sys, srv[i].self, &q);
}

/* Waits until the app's owner lists `want` live workers; its index. */
static inline int
wait_owned_with_workers(size_t want)
{
	int64_t dl = ar_mono_ms() + 15000;
	while (ar_mono_ms() < dl) {
		char *o = NULL;
		if (pj_store_app_owner(store, app_id, &o) == 0 && o[0]) {
			for (int i = 0; i < nsrv; i++) {
				if (srv[i].pid > 0
				    && strcmp(srv[i].self, o) == 0) {
					Pj__Friend__OpReply *r  = op(i,
					     PJ__FRIEND__OP__WORKER_LIST, 0, 0);
					int                  ok = r->code == 0
					    && r->n_workers >= want;
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

/* An API job of the app: execute type (1 STANDALONE, 2 BROADCAST,
 * 3 MAP_REDUCE, 4 MAP), processor type (1 BUILT_IN, 2 SHELL, 3 PYTHON,
 * 4 EXTERNAL) and info, parameters, retries, time limit, log config. */
static inline int64_t
save_job_as(int execute_type, int processor_type, const char *info,
    const char *params, int instance_retry, int task_retry,
    int64_t time_limit_ms, const char *log_config)
{
	struct pj_job j        = { 0 };
	int64_t       id       = 0;
	j.app_id               = app_id;
	j.job_name             = "w";
	j.job_params           = (char *) params;
	j.time_expression_type = PJ_TIME_API;
	j.time_expression      = "";
	j.status               = 1;
	j.execute_type         = execute_type;
	j.processor_type       = processor_type;
	j.processor_info       = (char *) info;
	j.concurrency          = 5;
	j.instance_retry_num   = instance_retry;
	j.task_retry_num       = task_retry;
	j.instance_time_limit  = time_limit_ms;
	j.log_config           = (char *) log_config;
	ck_assert_int_eq(pj_store_job_save(store, &j, ar_now_ms(), &id), 0);
	return id;
}

/* A STANDALONE job of the built-in verify processor. */
static inline int64_t
save_job(const char *params, int instance_retry, int task_retry,
    int64_t time_limit_ms, const char *log_config)
{
	return save_job_as(1, 1, "verify", params, instance_retry, task_retry,
	    time_limit_ms, log_config);
}

static inline int64_t
run_job(int s, int64_t job)
{
	Pj__Friend__OpReply *r = op(s, PJ__FRIEND__OP__RUN_JOB, job, 0);
	ck_assert_msg(r->code == 0, "run job: %s", r->message);
	int64_t id = r->instance_id;
	pj__friend__op_reply__free_unpacked(r, NULL);
	return id;
}

static inline int
instance_status(int64_t id)
{
	return tu_srv_instance_status(store, id);
}

#define WAIT_STATUS(id, st, ms) TU_SRV_WAIT_STATUS(store, id, st, ms)

static inline void
get_instance(int64_t id, struct pj_instance *i)
{
	ck_assert_int_eq(pj_store_instance_get(store, id, i), 0);
}

#endif
