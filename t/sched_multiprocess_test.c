/*
 * t/sched_multiprocess_test.c - the scheduler end to end: real pj-server
 * processes (build/bin) and the test worker (build/t/pj-testworker) on
 * 127.0.0.1, this process as a client and as the one who writes jobs into
 * the store.  A CRON of every second fires every second at exactly the
 * timing module's (Quartz's) times; the owner killed with SIGKILL during
 * such a run loses nothing with the fire-all policy and records nothing
 * twice with the default one; a worker killed mid-instance is failed by
 * the status check, never left RUNNING; run, stop, cancel and retry go
 * through a server that does not own the app.  Every test runs twice
 * (tcase_add_loop_test 0..2): loop index 0 on SQLite with the test worker,
 * 1 on the private MariaDB (PJ_TEST_MYSQL_URL, started by t/run.sh) with
 * the real worker, build/bin/pj-worker, whose jobs are the built-in verify
 * processor: {"mode":"BASE"} where the test worker answers at once,
 * {"mode":"TIMEOUT"} (runs until stopped) where it is told --job-ms -1.
 * So every case meets both workers at no extra run time; the frequent
 * job's case gets the real frequent TaskTracker on MariaDB (its rate, delay
 * and fail-over are t/frequent_multiprocess_test.c).
 *
 * Design notes (threads): the runtime's threads deliver replies; the test
 * waits on futures and polls the store.  Children are killed in teardown
 * whatever happened.
 */
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

static void
setup(int mysql)
{
	tu_srv_store_open(mysql, "/tmp/pjsched.XXXXXX", "pjsch", 4, tmpdir,
	    dbname, dburl, &store, &app_id);
	sys  = tu_srv_tester();
	nsrv = nwrk = 0;
	real        = mysql;
	hold        = false;
}

static void
teardown(void)
{
	tu_srv_reap(wrk, nwrk);
	tu_srv_reap(srv, nsrv);
	ar_system_stop(sys);
	tu_srv_store_close(store, dbname, tmpdir);
}

/* Fast checks for the tests: every 300 ms, receive timeout receive_ms
 * (start_server: 2 s), report timeout 2 s, a 1 s misfire threshold. */
static int
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

static int
start_server(void)
{
	return start_server_receive("2000");
}

/* The same with a short look-ahead (500 ms, passes every 100 ms) and a
 * misfire threshold of 200 ms: an owner killed 700 ms before a fire has
 * not recorded it, and the next owner (about 1.2 s later) finds it
 * missed. */
static const char *const short_window_env[] = { "PJ_CHECK_INTERVAL_MS",
	"300", "PJ_WAIT_RECEIVE_MS", "2000", "PJ_RUNNING_TIMEOUT_MS", "2000",
	"PJ_MISFIRE_THRESHOLD_MS", "200", "PJ_SCHED_WINDOW_MS", "500",
	"PJ_SCHED_PASS_MS", "100", NULL };

static int
start_server_short_window(void)
{
	int i = nsrv++;
	tu_srv_start(&srv[i], i, tmpdir, dburl, short_window_env, NULL);
	return i;
}

/* Starts server i again on its old address (the worker knows it). */
static void
restart_server_short_window(int i)
{
	char ready[400], listen[100];
	snprintf(ready, sizeof(ready), "%s/ready.%d", tmpdir, i);
	unlink(ready);
	snprintf(listen, sizeof(listen), "tcp://%s", srv[i].self);
	const char *const args[] = { "--listen", listen, NULL };
	tu_srv_start(&srv[i], i, tmpdir, dburl, short_window_env, args);
}

/* A worker for every server so far: pj-worker on loop index 1, else the
 * test worker with options a1 a2 (either NULL). */
static int
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

static void
kill_proc(struct tu_srv_proc *p)
{
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
	p->pid = 0;
}

static ar_ref
actor(int i, const char *name)
{
	char   addr[300];
	ar_ref r;
	snprintf(
	    addr, sizeof(addr), "pj://pjserver@%s/user/%s", srv[i].self, name);
	ck_assert_int_eq(ar_ref_resolve(sys, addr, &r), 0);
	return r;
}

static Pj__Friend__OpReply *
op_delay(int i, Pj__Friend__Op o, int64_t job_id, int64_t instance_id,
    const char *params, int64_t delay_ms)
{
	Pj__Friend__OpRequest   q = PJ__FRIEND__OP_REQUEST__INIT;
	q.delay_ms                = delay_ms;
	ar_future              *f;
	const ProtobufCMessage *r;
	q.op          = o;
	q.app_id      = app_id;
	q.job_id      = job_id;
	q.instance_id = instance_id;
	q.params      = (char *) (params ? params : "");
	ck_assert_int_eq(
	    ar_ask(sys, actor(i, "friend"), &q.base, 15000, &f), 0);
	ck_assert_int_eq(ar_future_wait(f, -1, &r), 0);
	ck_assert_ptr_eq(r->descriptor, &pj__friend__op_reply__descriptor);
	size_t   n   = protobuf_c_message_get_packed_size(r);
	uint8_t *buf = malloc(n + 1);
	protobuf_c_message_pack(r, buf);
	Pj__Friend__OpReply *c = pj__friend__op_reply__unpack(NULL, n, buf);
	free(buf);
	ar_future_free(f);
	return c;
}

static Pj__Friend__OpReply *
op(int i, Pj__Friend__Op o, int64_t job_id, int64_t instance_id,
    const char *params)
{
	return op_delay(i, o, job_id, instance_id, params, 0);
}

/* The index of the live server the store names as the app's owner. */
static int
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
static int
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

static int64_t
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

static void
list_job(int64_t job, struct pj_instance_list *l)
{
	struct pj_instance_query q = { .job_id = job, .limit = 1000 };
	ck_assert_int_eq(pj_store_instance_list(store, &q, l), 0);
}

static int
instance_status(int64_t id)
{
	return tu_srv_instance_status(store, id);
}

#define WAIT_STATUS(id, st, ms) TU_SRV_WAIT_STATUS(store, id, st, ms)

/* The worker's output (test worker) or log (pj-worker) contains needle. */
static bool
worker_said(int w, const char *needle)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/worker.%d.out", tmpdir, w);
	return tu_file_says(real ? wrk[w].log : path, needle);
}

/* Instance parameters: the test worker's text, none for pj-worker (its
 * job's verify parameters decide). */
#define IP(x) (real ? "" : (x))

/* ---- tests
 * ------------------------------------------------------------------ */

/* The next whole second at least `ahead` ms away. */
static int64_t
second_after(int64_t ahead)
{
	int64_t t = ar_now_ms() + ahead;
	return (t / 1000 + 1) * 1000;
}

START_TEST(cron_every_second_fires_at_quartz_times)
{
	setup(_i);
	start_server();
	start_worker("--quiet", NULL);
	wait_owned_with_worker();
	const int n   = 30;
	int64_t   t0  = second_after(1500);
	int64_t   job = save_job(
	      PJ_TIME_CRON, "* * * * * ?", 0, t0, t0 + (n - 1) * 1000, 0);
	usleep((useconds_t) (t0 + n * 1000 + 2500 - ar_now_ms()) * 1000);
	/* the timing module's chain (it agrees with Quartz: cron_oracle) */
	pj_timing t;
	char      err[PJ_TIMING_ERR_MAX];
	ck_assert_int_eq(pj_timing_init(&t, PJ_TIME_CRON, "* * * * * ?",
	                     "Europe/Berlin", 0, err, sizeof(err)),
	    0);
	int64_t want[32], x = t0 - 1;
	for (int k = 0; k < n; k++) {
		pj_lifecycle lc = { 0, 0 };
		ck_assert_int_eq(pj_timing_next(&t, &lc, x, x, &want[k]), 0);
		x = want[k];
	}
	struct pj_instance_list l;
	int64_t                 lag_max = 0;
	list_job(job, &l);
	ck_assert_uint_eq(l.n, (size_t) n);
	for (size_t k = 0; k < l.n; k++) {
		ck_assert_int_eq(l.v[k].fire_time, want[k]);
		ck_assert_int_eq(l.v[k].status, PJ_INST_SUCCEED);
		int64_t lag = l.v[k].actual_trigger_time - l.v[k].fire_time;
		ck_assert_int_ge(lag, 0);
		lag_max = lag > lag_max ? lag : lag_max;
	}
	pj_instance_list_fini(&l);
	/* on time: a generous bound (sanitizer builds, a shared machine) */
	ck_assert_int_lt(lag_max, 500);
	struct pj_job j;
	ck_assert_int_eq(pj_store_job_get(store, job, &j), 0);
	ck_assert_int_eq(j.status, 2); /* lifecycle over: disabled */
	pj_job_fini(&j);
	teardown();
}
END_TEST

/* Checks job's rows: the fire times are distinct seconds; with `all`
 * every second from the first to the last is there; every row finished
 * SUCCEED.  Returns the number of rows. */
static size_t
check_run(int64_t job, bool all, int64_t first, int64_t last)
{
	struct pj_instance_list l;
	list_job(job, &l);
	ck_assert_uint_gt(l.n, 0);
	for (size_t k = 0; k < l.n; k++) {
		ck_assert_int_eq(l.v[k].fire_time % 1000, 0);
		ck_assert_int_ge(l.v[k].fire_time, first);
		ck_assert_int_le(l.v[k].fire_time, last);
		for (size_t m = 0; m < k; m++) {
			ck_assert_int_ne(l.v[k].fire_time, l.v[m].fire_time);
		}
		ck_assert_msg(l.v[k].status == PJ_INST_SUCCEED,
		    "fire %lld: status %d", (long long) l.v[k].fire_time,
		    l.v[k].status);
	}
	if (all) {
		ck_assert_uint_eq(l.n, (size_t) ((last - first) / 1000 + 1));
	}
	size_t n = l.n;
	pj_instance_list_fini(&l);
	return n;
}

START_TEST(owner_killed_fire_all_loses_nothing_default_repeats_nothing)
{
	setup(_i);
	/* two servers; a killed one is started again on its address after
	 * the other took over, so the worker always knows a live one */
	start_server_short_window();
	start_server_short_window();
	start_worker("--quiet", NULL);
	int     owner = wait_owned_with_worker();
	int64_t t0 = second_after(1000), end = t0 + 32000;
	int64_t all = save_job(PJ_TIME_CRON, "* * * * * ?", 2, t0, end, 0);
	int64_t one = save_job(PJ_TIME_CRON, "* * * * * ?", 0, t0, end, 0);
	int64_t kills[5];
	for (int k = 0; k < 5; k++) {
		/* at x.300: the fire at x is done, the next one not recorded
		 * yet (window 500 ms) */
		int64_t at = second_after(k == 0 ? 2700 : 1700) - 700;
		usleep((useconds_t) (at - ar_now_ms()) * 1000);
		/* a sleep that overran past x.450 (a loaded machine) may
		 * let a pass at x.550 record x+1 before the kill: then the
		 * outage's first missed fire is not x+1; wait for the next
		 * second's x.300 instead */
		while (ar_now_ms() % 1000 > 450 || ar_now_ms() % 1000 < 250) {
			at = second_after(0) + 300;
			usleep((useconds_t) (at - ar_now_ms()) * 1000);
		}
		/* the owner now: on a loaded machine a restarted server's
		 * first ping of the owner can time out (1 s), and it takes
		 * the app over from a live owner - legal, and no fire is
		 * lost or doubled by it, but then killing the old one is no
		 * outage */
		int now_owner = owner_index();
		if (now_owner != owner) {
			fprintf(stderr,
			    "kill %d: the app moved from live server %d to %d\n",
			    k + 1, owner, now_owner);
			owner = now_owner;
		}
		kills[k] = at = ar_now_ms();
		kill_proc(&srv[owner]);
		int s = wait_owned_with_worker();
		ck_assert_int_ne(s, owner);
		fprintf(stderr,
		    "kill %d at +%lld ms: server %d owns after %lld ms\n",
		    k + 1, (long long) (at - t0), s,
		    (long long) (ar_now_ms() - at));
		restart_server_short_window(owner);
		owner = s;
	}
	ck_assert_int_lt(ar_now_ms(), end - 3000); /* kills inside the run */
	/* let the last fires finish; rows the dead owners dispatched but
	 * never heard back about are re-dispatched after 2 s */
	int64_t dl = ar_mono_ms() + 20000;
	while (ar_mono_ms() < dl) {
		struct pj_instance_list l;
		size_t                  done = 0, n;
		list_job(all, &l);
		n = l.n;
		for (size_t k = 0; k < l.n; k++) {
			done += l.v[k].status == PJ_INST_SUCCEED;
		}
		pj_instance_list_fini(&l);
		if (n == 33 && done == n && ar_now_ms() > end + 1500) {
			break;
		}
		usleep(200000);
	}
	usleep(1500000); /* and the default job's last ones */
	/* fire-all: every second of the window exactly once */
	check_run(all, true, t0, end);
	/* default: none twice; each outage gives one late fire: the first
	 * fire it missed, recorded (by the next owner) more than the 200 ms
	 * threshold after its time - the timing module's misfire; on-time
	 * fires are recorded ahead, by the passes' look-ahead */
	check_run(one, false, t0, end);
	struct pj_instance_list l;
	int                     late[5] = { 0 }, nlate = 0;
	list_job(one, &l);
	for (size_t k = 0; k < l.n; k++) {
		struct pj_instance_query q = { .job_id = one,
			.gmt_create_gt = l.v[k].fire_time + 200,
			.limit         = 1000 };
		struct pj_instance_list  c;
		bool                     was_late = false;
		ck_assert_int_eq(pj_store_instance_list(store, &q, &c), 0);
		for (size_t m = 0; m < c.n; m++) {
			was_late |= c.v[m].instance_id == l.v[k].instance_id;
		}
		pj_instance_list_fini(&c);
		if (!was_late) {
			continue;
		}
		nlate++;
		for (int o = 0; o < 5; o++) {
			/* its outage: the first fire after that kill */
			late[o] += l.v[k].fire_time == (kills[o] / 1000 + 1) * 1000;
		}
	}
	pj_instance_list_fini(&l);
	ck_assert_int_eq(nlate, 5);
	for (int o = 0; o < 5; o++) {
		ck_assert_msg(late[o] == 1, "outage %d: %d late fires", o + 1,
		    late[o]);
	}
	teardown();
}
END_TEST

START_TEST(worker_killed_mid_instance_is_failed)
{
	setup(_i);
	start_server();
	int     w = start_worker("--job-ms", "-1"); /* RUNNING, then silence */
	int     s = wait_owned_with_worker();
	int64_t job = save_job(PJ_TIME_API, "", 0, 0, 0, 0);
	Pj__Friend__OpReply *r
	    = op(s, PJ__FRIEND__OP__RUN_JOB, job, 0, IP("ip=9"));
	ck_assert_int_eq(r->code, 0);
	int64_t id = r->instance_id;
	pj__friend__op_reply__free_unpacked(r, NULL);
	WAIT_STATUS(id, PJ_INST_RUNNING, 5000);
	kill_proc(&wrk[w]);
	/* 2 s without a report, no retry left: FAILED, never left RUNNING */
	WAIT_STATUS(id, PJ_INST_FAILED, 8000);
	struct pj_instance i;
	ck_assert_int_eq(pj_store_instance_get(store, id, &i), 0);
	ck_assert_str_eq(
	    i.result, "worker report timeout, maybe TaskTracker down");
	ck_assert_int_gt(i.finished_time, 0);
	pj_instance_fini(&i);
	teardown();
}
END_TEST

/* FIXED_RATE: one live instance, whatever the passes; its TaskTracker
 * killed, the instance fails after the report timeout and a new one
 * starts */
START_TEST(frequent_job_keeps_one_live_instance)
{
	setup(_i);
	start_server();
	int w = start_worker("--job-ms", "-1");
	wait_owned_with_worker();
	int64_t job = save_job(PJ_TIME_FIXED_RATE, "1000", 0, 0, 0, 3);
	struct pj_instance_list l;
	int64_t                 dl = ar_mono_ms() + 5000;
	do {
		usleep(100000);
		list_job(job, &l);
		bool running = l.n == 1 && l.v[0].status == PJ_INST_RUNNING;
		pj_instance_list_fini(&l);
		if (running) {
			break;
		}
	} while (ar_mono_ms() < dl);
	usleep(2500000); /* more passes: still one */
	list_job(job, &l);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_int_eq(l.v[0].status, PJ_INST_RUNNING);
	int64_t first = l.v[0].instance_id;
	pj_instance_list_fini(&l);
	kill_proc(&wrk[w]);
	WAIT_STATUS(first, PJ_INST_FAILED, 8000); /* no retry: frequent */
	dl = ar_mono_ms() + 5000;
	do {
		usleep(100000);
		list_job(job, &l);
		size_t n = l.n;
		pj_instance_list_fini(&l);
		if (n >= 2) {
			break;
		}
	} while (ar_mono_ms() < dl);
	list_job(job, &l);
	ck_assert_uint_ge(l.n, 2);
	size_t live = 0;
	for (size_t k = 0; k < l.n; k++) {
		live += l.v[k].status <= PJ_INST_RUNNING;
	}
	ck_assert_uint_le(live, 1);
	pj_instance_list_fini(&l);
	teardown();
}
END_TEST

/* A receive timeout of 60 s: the retry right after the stop must reach
 * the worker's processor at once, not after a re-dispatch (pj-worker
 * ignored it while the stopped run was still winding down). */
START_TEST(stop_cancel_retry_through_a_non_owner)
{
	setup(_i);
	start_server_receive("60000");
	start_server_receive("60000");
	int     w     = start_worker("--job-ms", "-1");
	int     owner = wait_owned_with_worker(), other = 1 - owner;
	hold          = false; /* pj-worker: the instance's parameters hold */
	int64_t job   = save_job(PJ_TIME_API, "", 0, 0, 0, 0);
	/* run through the other server: both parameters reach the worker
	 * (pj-worker: the instance's TIMEOUT beats the job's BASE) */
	const char *ip = real ? "{\"mode\":\"TIMEOUT\"}" : "ip=9";
	Pj__Friend__OpReply *r
	    = op(other, PJ__FRIEND__OP__RUN_JOB, job, 0, ip);
	ck_assert_int_eq(r->code, 0);
	ck_assert_str_eq(r->served_by, srv[owner].self);
	int64_t id = r->instance_id;
	pj__friend__op_reply__free_unpacked(r, NULL);
	WAIT_STATUS(id, PJ_INST_RUNNING, 10000);
	ck_assert(real || worker_said(w, "params=jp=1|ip=9"));
	/* cancel is for instances not dispatched yet */
	r = op(other, PJ__FRIEND__OP__CANCEL_INSTANCE, 0, id, NULL);
	ck_assert_int_eq(r->code, PJ__CLUSTER__CODE__BAD_REQUEST);
	ck_assert_ptr_nonnull(strstr(r->message, "RUNNING"));
	pj__friend__op_reply__free_unpacked(r, NULL);
	/* stop: STOPPED, and the TaskTracker is told */
	r = op(other, PJ__FRIEND__OP__STOP_INSTANCE, 0, id, NULL);
	ck_assert_int_eq(r->code, 0);
	pj__friend__op_reply__free_unpacked(r, NULL);
	ck_assert_int_eq(instance_status(id), PJ_INST_STOPPED);
	char stop[100];
	snprintf(stop, sizeof(stop),
	    real ? "instance=%lld: stop asked by the server"
	         : "stop instance=%lld",
	    (long long) id);
	int64_t dl = ar_mono_ms() + 5000;
	while (!worker_said(w, stop) && ar_mono_ms() < dl) {
		usleep(50000);
	}
	ck_assert(worker_said(w, stop));
	/* retry: the same instance runs again */
	r = op(other, PJ__FRIEND__OP__RETRY_INSTANCE, 0, id, NULL);
	ck_assert_int_eq(r->code, 0);
	pj__friend__op_reply__free_unpacked(r, NULL);
	WAIT_STATUS(id, PJ_INST_RUNNING, 15000);
	r = op(other, PJ__FRIEND__OP__RETRY_INSTANCE, 0, id, NULL);
	ck_assert_int_eq(r->code, PJ__CLUSTER__CODE__BAD_REQUEST);
	pj__friend__op_reply__free_unpacked(r, NULL);
	/* cancel a delayed run that has not fired */
	struct pj_instance d    = { 0 };
	d.instance_id           = 4242;
	d.job_id                = job;
	d.app_id                = app_id;
	d.type                  = 1;
	d.status                = PJ_INST_WAITING_DISPATCH;
	d.expected_trigger_time = ar_now_ms() + 600000;
	ck_assert_int_eq(
	    pj_store_instances_create(store, &d, 1, ar_now_ms()), 0);
	r = op(other, PJ__FRIEND__OP__CANCEL_INSTANCE, 0, 4242, NULL);
	ck_assert_int_eq(r->code, 0);
	pj__friend__op_reply__free_unpacked(r, NULL);
	ck_assert_int_eq(instance_status(4242), PJ_INST_CANCELED);
	/* an unknown instance */
	r = op(other, PJ__FRIEND__OP__STOP_INSTANCE, 0, 99, NULL);
	ck_assert_int_eq(r->code, PJ__CLUSTER__CODE__NOT_FOUND);
	pj__friend__op_reply__free_unpacked(r, NULL);
	teardown();
}
END_TEST


/* RUN_JOB with a delay: the row is written at once, WAITING_DISPATCH, due
 * at now + delay, and fires then, not before; a second delayed run whose
 * owner is killed before it fires is fired by the server that takes the
 * app over (its check / take-over arms the row). */
START_TEST(run_with_delay_fires_then_also_after_the_owner_dies)
{
	setup(_i);
	start_server();
	start_server();
	start_worker("--quiet", NULL);
	int     s   = wait_owned_with_worker();
	int64_t job = save_job(PJ_TIME_API, "", 0, 0, 0, 0);
	const char *ip = real ? "{}" : "ip=1"; /* verify: {} is BASE */
	int64_t before = ar_now_ms();
	Pj__Friend__OpReply *r
	    = op_delay(1 - s, PJ__FRIEND__OP__RUN_JOB, job, 0, ip, 2500);
	int64_t after = ar_now_ms();
	ck_assert_int_eq(r->code, 0);
	int64_t id = r->instance_id;
	pj__friend__op_reply__free_unpacked(r, NULL);
	struct pj_instance i;
	ck_assert_int_eq(pj_store_instance_get(store, id, &i), 0);
	ck_assert_int_eq(i.status, PJ_INST_WAITING_DISPATCH);
	ck_assert_int_ge(i.expected_trigger_time, before + 2500);
	ck_assert_int_le(i.expected_trigger_time, after + 2500);
	int64_t due = i.expected_trigger_time;
	pj_instance_fini(&i);
	usleep(1500000);
	ck_assert_int_eq(instance_status(id), PJ_INST_WAITING_DISPATCH);
	WAIT_STATUS(id, PJ_INST_SUCCEED, 5000);
	ck_assert_int_eq(pj_store_instance_get(store, id, &i), 0);
	ck_assert_int_ge(i.actual_trigger_time, due);
	ck_assert_int_lt(i.actual_trigger_time, due + 500);
	ck_assert_str_eq(i.instance_params, ip);
	pj_instance_fini(&i);
	/* the owner dies before the fire; the survivor fires it */
	r = op_delay(s, PJ__FRIEND__OP__RUN_JOB, job, 0, "", 9000);
	ck_assert_int_eq(r->code, 0);
	id = r->instance_id;
	pj__friend__op_reply__free_unpacked(r, NULL);
	ck_assert_int_eq(pj_store_instance_get(store, id, &i), 0);
	due = i.expected_trigger_time;
	pj_instance_fini(&i);
	kill_proc(&srv[s]);
	ck_assert_int_eq(wait_owned_with_worker(), 1 - s);
	ck_assert_int_lt(ar_now_ms(), due); /* taken over before it fires */
	ck_assert_int_eq(instance_status(id), PJ_INST_WAITING_DISPATCH);
	WAIT_STATUS(id, PJ_INST_SUCCEED, (due - ar_now_ms()) + 5000);
	ck_assert_int_eq(pj_store_instance_get(store, id, &i), 0);
	ck_assert_int_ge(i.actual_trigger_time, due);
	ck_assert_int_lt(i.actual_trigger_time, due + 500);
	pj_instance_fini(&i);
	teardown();
}
END_TEST

/* Counts job's rows: n = all, *pending WAITING_DISPATCH, *canceled
 * CANCELED with the disabled result, *fired_after those dispatched at or
 * after t (actual_trigger_time >= t), *early fire times before e. */
static size_t
count_rows(int64_t job, int64_t t, int64_t e, size_t *pending,
    size_t *canceled, size_t *fired_after, size_t *early)
{
	struct pj_instance_list l;
	list_job(job, &l);
	*pending = *canceled = *fired_after = *early = 0;
	for (size_t k = 0; k < l.n; k++) {
		*pending += l.v[k].status == PJ_INST_WAITING_DISPATCH;
		*canceled += l.v[k].status == PJ_INST_CANCELED
		    && strcmp(l.v[k].result, "canceled: job disabled") == 0;
		*fired_after += l.v[k].status != PJ_INST_CANCELED
		    && l.v[k].actual_trigger_time >= t;
		*early += l.v[k].fire_time < e;
	}
	size_t n = l.n;
	pj_instance_list_fini(&l);
	return n;
}

/* Enable / disable / delete through a non-owner: enabling a job disabled
 * for a minute replays nothing (fire-all policy: a replay would show) and
 * fires from now; disabling cancels the pending fires at once (the window
 * holds ~2 s of them) and nothing fires after; deleting likewise. */
START_TEST(enable_disable_delete_take_effect_at_once)
{
	setup(_i);
	start_server();
	start_server();
	start_worker("--quiet", NULL);
	int     owner = wait_owned_with_worker(), other = 1 - owner;
	int64_t job   = save_job(PJ_TIME_CRON, "* * * * * ?", 2,
	      ar_now_ms() - 60000, 0, 0);
	ck_assert_int_eq(
	    pj_store_job_set_status(store, job, 2, ar_now_ms()), 0);
	usleep(1500000); /* passes: a disabled job is not scheduled */
	size_t  pending, canceled, after, early;
	ck_assert_uint_eq(
	    count_rows(job, 0, 0, &pending, &canceled, &after, &early), 0);
	int64_t              t_on = ar_now_ms();
	Pj__Friend__OpReply *r
	    = op(other, PJ__FRIEND__OP__ENABLE_JOB, job, 0, NULL);
	ck_assert_int_eq(r->code, 0);
	ck_assert_str_eq(r->served_by, srv[owner].self);
	pj__friend__op_reply__free_unpacked(r, NULL);
	struct pj_job j;
	ck_assert_int_eq(pj_store_job_get(store, job, &j), 0);
	ck_assert_int_eq(j.status, 1);
	ck_assert_int_gt(j.next_trigger_time, t_on);
	ck_assert_int_le(j.next_trigger_time, ar_now_ms() + 1000);
	pj_job_fini(&j);
	usleep(3000000);
	ck_assert_uint_ge(
	    count_rows(job, 0, t_on, &pending, &canceled, &after, &early), 3);
	ck_assert_uint_eq(early, 0); /* nothing from the disabled minute */
	ck_assert_uint_gt(pending, 0); /* the window's fires wait */
	/* disable: the pending fires are canceled before the reply */
	r = op(other, PJ__FRIEND__OP__DISABLE_JOB, job, 0, NULL);
	int64_t t_off = ar_now_ms();
	ck_assert_int_eq(r->code, 0);
	pj__friend__op_reply__free_unpacked(r, NULL);
	count_rows(job, t_off, 0, &pending, &canceled, &after, &early);
	ck_assert_uint_eq(pending, 0);
	ck_assert_uint_gt(canceled, 0);
	usleep(3000000);
	size_t n = count_rows(job, t_off, 0, &pending, &canceled, &after,
	    &early);
	ck_assert_uint_eq(pending, 0);
	ck_assert_uint_eq(after, 0); /* nothing dispatched after disable */
	/* enable again, then delete: same */
	r = op(owner, PJ__FRIEND__OP__ENABLE_JOB, job, 0, NULL);
	ck_assert_int_eq(r->code, 0);
	pj__friend__op_reply__free_unpacked(r, NULL);
	usleep(2500000);
	ck_assert_uint_gt(
	    count_rows(job, 0, 0, &pending, &canceled, &after, &early), n);
	ck_assert_uint_gt(pending, 0);
	r = op(other, PJ__FRIEND__OP__DELETE_JOB, job, 0, NULL);
	int64_t t_del = ar_now_ms();
	ck_assert_int_eq(r->code, 0);
	pj__friend__op_reply__free_unpacked(r, NULL);
	count_rows(job, t_del, 0, &pending, &canceled, &after, &early);
	ck_assert_uint_eq(pending, 0);
	usleep(2500000);
	count_rows(job, t_del, 0, &pending, &canceled, &after, &early);
	ck_assert_uint_eq(pending, 0);
	ck_assert_uint_eq(after, 0);
	ck_assert_int_eq(pj_store_job_get(store, job, &j), 0);
	ck_assert_int_eq(j.status, 99);
	pj_job_fini(&j);
	/* a deleted job cannot be enabled */
	r = op(other, PJ__FRIEND__OP__ENABLE_JOB, job, 0, NULL);
	ck_assert_int_eq(r->code, PJ__CLUSTER__CODE__NOT_FOUND);
	pj__friend__op_reply__free_unpacked(r, NULL);
	teardown();
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("sched_multiprocess");
	TCase *tc = tcase_create("sched_multiprocess");
	TCase *lc = tcase_create("long"); /* CK_RUN_CASE=long runs these */
	tcase_set_timeout(tc, 60);
	tcase_set_timeout(lc, 120);
	tcase_add_loop_test(lc, cron_every_second_fires_at_quartz_times, 0, 2);
	tcase_add_loop_test(lc,
	    owner_killed_fire_all_loses_nothing_default_repeats_nothing, 0, 2);
	tcase_add_loop_test(tc, worker_killed_mid_instance_is_failed, 0, 2);
	tcase_add_loop_test(tc, stop_cancel_retry_through_a_non_owner, 0, 2);
	tcase_add_loop_test(tc, frequent_job_keeps_one_live_instance, 0, 2);
	tcase_add_loop_test(
	    tc, run_with_delay_fires_then_also_after_the_owner_dies, 0, 2);
	tcase_add_loop_test(tc, enable_disable_delete_take_effect_at_once, 0, 2);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, lc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
