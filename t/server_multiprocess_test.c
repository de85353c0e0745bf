/*
 * t/server_multiprocess_test.c - real pj-server processes on 127.0.0.1
 * (build/bin), a worker process, and this process's own actor system as a
 * client: a worker joins, heartbeats and shows in the
 * cluster view; wrong secrets and other bad input are refused; status and
 * log reports reach the store; the executor query applies a job's filters;
 * a database newer than the binary is refused; a worker follows its app
 * to a survivor when its owner is killed; three
 * servers, the owner killed with SIGKILL five times, the app owned by
 * exactly one survivor each time; a forwarded operation reaches the owner,
 * and is re-resolved when the owner died; SIGTERM exits 0 and leaves no
 * lock behind.  Every test runs twice (tcase_add_loop_test 0..2): loop
 * index 0 on SQLite, 1 on the private MariaDB (PJ_TEST_MYSQL_URL, started
 * by t/run.sh).  The two cases with a worker process start the test
 * worker (build/t/pj-testworker) on index 0 and the real one
 * (build/bin/pj-worker) on index 1: both workers meet the server at no
 * extra run time.  The test worker's fixed metrics give a known score;
 * pj-worker's are the machine's, so that check is on index 0 only.
 *
 * Design notes (threads): the runtime's threads deliver replies; the test
 * waits on futures.  Children are killed in teardown whatever happened.
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
#include "t/mongoutil.h"
#include "t/mysqlutil.h"
#include "server/logstore/logstore.h"
#include "actors/messages.h"
#include "runtime/ar.h"
#include "server/store/store.h"

#define MAXSRV 8
static struct tu_srv_proc srv[MAXSRV];
static int                nsrv;
static char               dburl[512], tmpdir[256], dbname[64];
static ar_system         *sys;
static struct pj_store   *store;
static int64_t            app_id;
static int                real; /* loop index 1: MariaDB and pj-worker */
static pid_t              wpid; /* the worker, reaped in teardown */

/* ---- backends and processes (t/serverutil.h) --------------------------- */

static void
setup(int mysql)
{
	tu_srv_store_open(mysql, "/tmp/pjsrv.XXXXXX", "pjsrv", 2, tmpdir,
	    dbname, dburl, &store, &app_id);
	sys  = tu_srv_tester();
	nsrv = 0;
	real = mysql;
	wpid = 0;
}

static void
teardown(void)
{
	if (wpid > 0) {
		kill(wpid, SIGKILL);
		waitpid(wpid, NULL, 0);
	}
	tu_srv_reap(srv, nsrv);
	ar_system_stop(sys);
	tu_srv_store_close(store, dbname, tmpdir);
}

static int
start_server(void)
{
	int i = nsrv++;
	tu_srv_start(&srv[i], i, tmpdir, dburl, NULL, NULL);
	return (i);
}

static ar_ref
actor(int i, const char *name)
{
	return tu_srv_actor(sys, srv[i].self, name);
}

/* Asks and copies the reply out (protobuf pack / unpack). */
static ProtobufCMessage *
ask(ar_ref to, const ProtobufCMessage *m, int timeout_ms, int *rvp)
{
	ar_future              *f;
	const ProtobufCMessage *r;
	ProtobufCMessage       *copy = NULL;
	ck_assert_int_eq(ar_ask(sys, to, m, timeout_ms, &f), 0);
	*rvp = ar_future_wait(f, -1, &r);
	if (*rvp == 0) {
		size_t   n   = protobuf_c_message_get_packed_size(r);
		uint8_t *buf = malloc(n + 1);
		protobuf_c_message_pack(r, buf);
		copy = protobuf_c_message_unpack(r->descriptor, NULL, n, buf);
		free(buf);
	}
	ar_future_free(f);
	return (copy);
}

static Pj__Cluster__DiscoverReply *
discover(int i, const char *app, const char *secret)
{
	Pj__Cluster__Discover d = PJ__CLUSTER__DISCOVER__INIT;
	int                   rv;
	d.app_name          = (char *) app;
	d.secret            = (char *) secret;
	d.worker_address    = "pj://test@127.0.0.1:1";
	ProtobufCMessage *r = ask(actor(i, "server"), &d.base, 20000, &rv);
	ck_assert_int_eq(rv, 0);
	ck_assert_ptr_eq(
	    r->descriptor, &pj__cluster__discover_reply__descriptor);
	return ((Pj__Cluster__DiscoverReply *) r);
}

static Pj__Cluster__Ack *
heartbeat_tag(int i, const char *secret, const char *worker, const char *tag)
{
	Pj__Cluster__WorkerHeartbeat h = PJ__CLUSTER__WORKER_HEARTBEAT__INIT;
	int                          rv;
	h.tag               = (char *) tag;
	h.worker_address    = (char *) worker;
	h.app_name          = "orders";
	h.secret            = (char *) secret;
	h.heartbeat_time    = ar_now_ms();
	ProtobufCMessage *r = ask(actor(i, "server"), &h.base, 5000, &rv);
	ck_assert_int_eq(rv, 0);
	ck_assert_ptr_eq(r->descriptor, &pj__cluster__ack__descriptor);
	return ((Pj__Cluster__Ack *) r);
}

static Pj__Cluster__Ack *
heartbeat(int i, const char *secret, const char *worker)
{
	return (heartbeat_tag(i, secret, worker, ""));
}

/* Asks /user/server and expects an Ack; returns its code. */
static int
ask_ack(int i, const ProtobufCMessage *m)
{
	int               rv;
	Pj__Cluster__Ack *a
	    = (Pj__Cluster__Ack *) ask(actor(i, "server"), m, 5000, &rv);
	ck_assert_int_eq(rv, 0);
	ck_assert_ptr_eq(a->base.descriptor, &pj__cluster__ack__descriptor);
	int code = a->code;
	pj__cluster__ack__free_unpacked(a, NULL);
	return (code);
}

static Pj__Friend__OpReply *
worker_list_via(int i, int timeout_ms)
{
	Pj__Friend__OpRequest q = PJ__FRIEND__OP_REQUEST__INIT;
	int                   rv;
	q.op     = PJ__FRIEND__OP__WORKER_LIST;
	q.app_id = app_id;
	ProtobufCMessage *r
	    = ask(actor(i, "friend"), &q.base, timeout_ms, &rv);
	ck_assert_int_eq(rv, 0);
	ck_assert_ptr_eq(r->descriptor, &pj__friend__op_reply__descriptor);
	return ((Pj__Friend__OpReply *) r);
}

static char *
db_owner(void)
{
	char *o = NULL;
	ck_assert_int_eq(pj_store_app_owner(store, app_id, &o), 0);
	return (o);
}

static int
stop_server(int i, int sig)
{
	int st;
	kill(srv[i].pid, sig);
	ck_assert_int_eq(waitpid(srv[i].pid, &st, 0), srv[i].pid);
	srv[i].pid = 0;
	return (st);
}

/* ---- tests
 * -------------------------------------------------------------------- */

START_TEST(worker_joins_and_bad_input_is_refused)
{
	setup(_i);
	int s = start_server();

	/* the worker joins through discovery and heartbeats */
	char exe[600], servers[100], out[400], cmd[1400];
	snprintf(exe, sizeof(exe), "%s/pj-testworker",
	    getenv("PJ_TEST_BIN") ? getenv("PJ_TEST_BIN") : "build/t");
	snprintf(servers, sizeof(servers), "%s", srv[s].self);
	snprintf(out, sizeof(out), "%s/worker.out", tmpdir);
	struct tu_srv_proc rw = { 0 };
	pid_t              w;
	if (real) {
		const char *const args[]
		    = { "--tag", "blue", "--heartbeat-ms", "100", NULL };
		tu_srv_start_pjworker(&rw, 0, tmpdir, srv, nsrv, args);
		w = rw.pid;
	} else {
		const char *argv[] = { exe, "--server", servers, "--app",
			"orders", "--secret", "s3cret", "--tag", "blue",
			"--interval-ms", "100", NULL };
		struct tu_spawn_opts so = TU_SPAWN_OPTS_INIT;
		so.out                  = out;
		w = tu_proc_spawn((char *const *) argv, &so);
	}
	wpid = w;
	ck_assert_int_gt(w, 0);
	Pj__Friend__OpReply *l  = NULL;
	int64_t              dl = ar_mono_ms() + 10000;
	while (ar_mono_ms() < dl) {
		l = worker_list_via(s, 3000);
		if (l->n_workers == 1) {
			break;
		}
		pj__friend__op_reply__free_unpacked(l, NULL);
		l = NULL;
		usleep(50000);
	}
	ck_assert_msg(
	    l != NULL, "the worker never showed in the cluster view");
	ck_assert_int_eq(l->code, 0);
	ck_assert_str_eq(l->served_by, srv[s].self);
	ck_assert_str_eq(l->workers[0]->tag, "blue");
	ck_assert(l->workers[0]->alive);
	if (real) { /* the machine's metrics */
		ck_assert_str_eq(l->workers[0]->address, rw.self);
		ck_assert_ptr_nonnull(l->workers[0]->metrics);
		ck_assert_int_gt(l->workers[0]->metrics->cpu_processors, 0);
	} else {
		ck_assert_int_eq(
		    l->workers[0]->score, (int) ((4 - 1) * 2 + (4 - 0.5)));
	}
	pj__friend__op_reply__free_unpacked(l, NULL);
	char *o = db_owner();
	ck_assert_str_eq(o, srv[s].self);
	free(o);
	/* heartbeats keep arriving */
	Pj__Cluster__StatsQuery sq = PJ__CLUSTER__STATS_QUERY__INIT;
	int                     rv;
	Pj__Cluster__Stats     *st;
	ck_assert(({
		int ok = 0;
		for (int k = 0; k < 100 && !ok; k++) {
			st = (Pj__Cluster__Stats *) ask(
			    actor(s, "server"), &sq.base, 3000, &rv);
			ok = rv == 0 && st->heartbeats >= 5;
			pj__cluster__stats__free_unpacked(st, NULL);
			usleep(50000);
		}
		ok;
	}));
	kill(w, SIGTERM);
	int wst;
	waitpid(w, &wst, 0);
	wpid = 0;
	ck_assert(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);

	/* a worker with a wrong secret is refused, with its code (pj-worker:
	 * exit 3 and the server's reason on stderr) */
	if (real) {
		snprintf(cmd, sizeof(cmd),
		    "'%s/pj-worker' --server %s --app orders --secret nope "
		    "--listen tcp://127.0.0.1:0 --data-dir '%s/wbad' "
		    "--start-wait-ms 10000 >/dev/null 2>'%s'",
		    getenv("PJ_BIN") ? getenv("PJ_BIN") : "build/bin", servers,
		    tmpdir, out);
	} else {
		snprintf(cmd, sizeof(cmd),
		    "'%s' --server %s --app orders --secret nope --run-ms 0 "
		    "> %s",
		    exe, servers, out);
	}
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 3);
	ck_assert_msg(tu_file_says(out,
	                  real ? "wrong secret for app 'orders'" : "code=3 "),
	    "not said in %s", out);

	/* the same through this process: discovery and heartbeats */
	Pj__Cluster__DiscoverReply *d = discover(s, "orders", "wrong");
	ck_assert_int_eq(d->code, PJ__CLUSTER__CODE__WRONG_SECRET);
	ck_assert_ptr_nonnull(strstr(d->message, "wrong secret"));
	pj__cluster__discover_reply__free_unpacked(d, NULL);
	d = discover(s, "nosuchapp", "x");
	ck_assert_int_eq(d->code, PJ__CLUSTER__CODE__UNKNOWN_APP);
	pj__cluster__discover_reply__free_unpacked(d, NULL);
	Pj__Cluster__Ack *a = heartbeat(s, "wrong", "pj://intruder@1.2.3.4:5");
	ck_assert_int_eq(a->code, PJ__CLUSTER__CODE__WRONG_SECRET);
	pj__cluster__ack__free_unpacked(a, NULL);
	/* guesses: after a few PBKDF2s the rest are held back, and told to
	 * try again (DB_DOWN), not that the secret is wrong (auth.h) */
	int held = 0;
	for (int k = 0; k < 20; k++) {
		char guess[32];
		snprintf(guess, sizeof(guess), "guess%d", k);
		d = discover(s, "orders", guess);
		ck_assert_msg(d->code == PJ__CLUSTER__CODE__WRONG_SECRET
		        || (d->code == PJ__CLUSTER__CODE__DB_DOWN
		            && strstr(d->message, "too many wrong secrets")),
		    "%d %s", d->code, d->message);
		held += d->code == PJ__CLUSTER__CODE__DB_DOWN;
		pj__cluster__discover_reply__free_unpacked(d, NULL);
	}
	ck_assert_int_gt(held, 0);
	a = heartbeat(s, "s3cret", "pj://w2@127.0.0.1:2");
	ck_assert_int_eq(a->code, 0);
	pj__cluster__ack__free_unpacked(a, NULL);
	l = worker_list_via(s, 3000);
	ck_assert_int_eq(l->n_workers, 2); /* not the intruder */
	pj__friend__op_reply__free_unpacked(l, NULL);

	/* a report for an instance that does not exist */
	Pj__Cluster__InstanceStatusReport r
	    = PJ__CLUSTER__INSTANCE_STATUS_REPORT__INIT;
	r.app_id          = app_id;
	r.instance_id     = 424242;
	r.instance_status = PJ_INST_SUCCEED;
	a = (Pj__Cluster__Ack *) ask(actor(s, "server"), &r.base, 3000, &rv);
	ck_assert_int_eq(rv, 0);
	ck_assert_int_eq(a->code, PJ__CLUSTER__CODE__NOT_FOUND);
	pj__cluster__ack__free_unpacked(a, NULL);
	struct pj_instance inst;
	ck_assert_int_eq(
	    pj_store_instance_get(store, 424242, &inst), PJ_STORE_ENOTFOUND);
	/* a message of the wrong type: a failure, and the server goes on */
	Pj__Friend__Ping  p = PJ__FRIEND__PING__INIT;
	ProtobufCMessage *x = ask(actor(s, "server"), &p.base, 3000, &rv);
	ck_assert_int_eq(rv, AR_EFAILED);
	ck_assert_ptr_null(x);
	d = discover(s, "orders", "s3cret");
	ck_assert_int_eq(d->code, 0);
	ck_assert_str_eq(d->server, srv[s].self);
	pj__cluster__discover_reply__free_unpacked(d, NULL);

	/* SIGTERM: exit 0, ownership stays recorded, no lock left behind */
	int st2 = stop_server(s, SIGTERM);
	ck_assert_msg(
	    WIFEXITED(st2) && WEXITSTATUS(st2) == 0, "status %d", st2);
	o = db_owner();
	ck_assert_str_eq(o, srv[s].self);
	free(o);
	char lock[64];
	snprintf(lock, sizeof(lock), "server_elect_%lld", (long long) app_id);
	ck_assert_int_eq(
	    pj_store_lock_try(store, lock, "test", 30000, ar_now_ms()), 0);
	teardown();
}
END_TEST

/* three servers; the owner killed with SIGKILL five times; every survivor
 * is asked at once and all name the same survivor, which the row holds */
START_TEST(owner_killed_one_survivor_takes_over)
{
	setup(_i);
	for (int i = 0; i < 3; i++) {
		start_server();
	}
	Pj__Cluster__DiscoverReply *d = discover(0, "orders", "s3cret");
	ck_assert_int_eq(d->code, 0);
	pj__cluster__discover_reply__free_unpacked(d, NULL);
	for (int round = 0; round < 5; round++) {
		char *owner  = db_owner();
		int   victim = -1, alive[MAXSRV], nalive = 0;
		for (int i = 0; i < nsrv; i++) {
			if (srv[i].pid > 0
			    && strcmp(srv[i].self, owner) == 0) {
				victim = i;
			}
		}
		ck_assert_msg(
		    victim >= 0, "owner %s is not a live server", owner);
		free(owner);
		stop_server(victim, SIGKILL);
		for (int i = 0; i < nsrv; i++) {
			if (srv[i].pid > 0) {
				alive[nalive++] = i;
			}
		}
		int64_t    t0 = ar_mono_ms();
		ar_future *f[MAXSRV];
		for (int k = 0; k < nalive; k++) {
			Pj__Cluster__Discover q = PJ__CLUSTER__DISCOVER__INIT;
			q.app_name              = "orders";
			q.secret                = "s3cret";
			q.worker_address        = "pj://test@127.0.0.1:1";
			ck_assert_int_eq(ar_ask(sys, actor(alive[k], "server"),
			                     &q.base, 15000, &f[k]),
			    0);
		}
		char first[64] = "";
		for (int k = 0; k < nalive; k++) {
			const ProtobufCMessage *r;
			ck_assert_int_eq(ar_future_wait(f[k], -1, &r), 0);
			const Pj__Cluster__DiscoverReply *dr
			    = (const Pj__Cluster__DiscoverReply *) r;
			ck_assert_msg(dr->code == 0, "round %d: code %d %s",
			    round, dr->code, dr->message);
			if (k == 0) {
				snprintf(
				    first, sizeof(first), "%s", dr->server);
			}
			ck_assert_str_eq(dr->server, first);
			ar_future_free(f[k]);
		}
		ck_assert_int_lt(ar_mono_ms() - t0, 15000);
		owner     = db_owner();
		int found = 0;
		for (int k = 0; k < nalive; k++) {
			found += strcmp(srv[alive[k]].self, owner) == 0;
		}
		ck_assert_str_eq(owner, first);
		ck_assert_int_eq(found, 1);
		free(owner);
		if (nsrv < MAXSRV) {
			start_server(); /* back to three */
		}
	}
	teardown();
}
END_TEST

/* an operation asked of a non-owner reaches the owner; with the owner
 * dead it is re-resolved once and served by the new owner */
START_TEST(forwarded_operation_reaches_the_owner)
{
	setup(_i);
	int                         a = start_server(), b = start_server();
	Pj__Cluster__DiscoverReply *d = discover(a, "orders", "s3cret");
	ck_assert_int_eq(d->code, 0);
	ck_assert_str_eq(d->server, srv[a].self);
	pj__cluster__discover_reply__free_unpacked(d, NULL);
	Pj__Cluster__Ack *k = heartbeat(a, "s3cret", "pj://w@127.0.0.1:9");
	ck_assert_int_eq(k->code, 0);
	pj__cluster__ack__free_unpacked(k, NULL);
	/* b does not own the app: a heartbeat there is refused */
	k = heartbeat(b, "s3cret", "pj://w@127.0.0.1:9");
	ck_assert_int_eq(k->code, PJ__CLUSTER__CODE__NOT_OWNER);
	pj__cluster__ack__free_unpacked(k, NULL);

	Pj__Friend__OpReply *l = worker_list_via(b, 5000);
	ck_assert_int_eq(l->code, 0);
	ck_assert_str_eq(l->served_by, srv[a].self);
	ck_assert_int_eq(l->n_workers, 1);
	ck_assert_str_eq(l->workers[0]->address, "pj://w@127.0.0.1:9");
	pj__friend__op_reply__free_unpacked(l, NULL);

	/* the owner dies: b re-resolves, takes over, answers itself */
	stop_server(a, SIGKILL);
	l = worker_list_via(b, 20000);
	ck_assert_msg(l->code == 0, "code %d: %s", l->code, l->message);
	ck_assert_str_eq(l->served_by, srv[b].self);
	pj__friend__op_reply__free_unpacked(l, NULL);
	char *o = db_owner();
	ck_assert_str_eq(o, srv[b].self);
	free(o);
	teardown();
}
END_TEST

/* status and log reports reach the store; the executor query applies the
 * job's filters; bad reports change nothing */
/* An enabled API job of the app, designated to `workers` ("" = any). */
static int64_t
save_api_job(const char *workers)
{
	struct pj_job job        = { 0 };
	int64_t       job_id     = 0;
	job.app_id               = app_id;
	job.job_name             = "j";
	job.time_expression_type = 1;
	job.execute_type         = 1;
	job.processor_type       = 1;
	job.designated_workers   = (char *) workers;
	job.status               = PJ_STATUS_ENABLE;
	ck_assert_int_eq(
	    pj_store_job_save(store, &job, ar_now_ms(), &job_id), 0);
	return job_id;
}

START_TEST(reports_and_executor_query)
{
	setup(_i);
	int                         s = start_server();
	Pj__Cluster__DiscoverReply *d = discover(s, "orders", "s3cret");
	ck_assert_int_eq(d->code, 0);
	pj__cluster__discover_reply__free_unpacked(d, NULL);

	int64_t job_id = save_api_job("blue");
	struct pj_instance inst   = { 0 };
	inst.instance_id          = 777;
	inst.job_id               = job_id;
	inst.app_id               = app_id;
	inst.type                 = 1;
	inst.status               = PJ_INST_WAITING_WORKER_RECEIVE;
	inst.task_tracker_address = "pj://tt@127.0.0.1:5"; /* dispatched */
	ck_assert_int_eq(
	    pj_store_instances_create(store, &inst, 1, ar_now_ms()), 0);

	Pj__Cluster__InstanceStatusReport r
	    = PJ__CLUSTER__INSTANCE_STATUS_REPORT__INIT;
	r.app_id          = app_id;
	r.job_id          = job_id;
	r.instance_id     = 777;
	r.instance_status = PJ_INST_RUNNING;
	r.source_address  = "pj://other@127.0.0.1:6"; /* not its TT */
	r.report_time     = ar_now_ms();
	ck_assert_int_eq(ask_ack(s, &r.base), PJ__CLUSTER__CODE__BAD_REQUEST);
	ck_assert_int_eq(pj_store_instance_get(store, 777, &inst), 0);
	ck_assert_int_eq(inst.status, PJ_INST_WAITING_WORKER_RECEIVE);
	pj_instance_fini(&inst);
	r.source_address = "pj://tt@127.0.0.1:5";
	ck_assert_int_eq(ask_ack(s, &r.base), 0);
	ck_assert_int_eq(pj_store_instance_get(store, 777, &inst), 0);
	ck_assert_int_eq(inst.status, PJ_INST_RUNNING);
	ck_assert_str_eq(inst.task_tracker_address, "pj://tt@127.0.0.1:5");
	pj_instance_fini(&inst);
	r.instance_status = PJ_INST_SUCCEED;
	r.result          = "done";
	r.report_time++; /* a later report (an equal time is stale) */
	ck_assert_int_eq(ask_ack(s, &r.base), 0);
	ck_assert_int_eq(ask_ack(s, &r.base), 0); /* repeated: no change */
	ck_assert_int_eq(pj_store_instance_get(store, 777, &inst), 0);
	ck_assert_int_eq(inst.status, PJ_INST_SUCCEED);
	ck_assert_str_eq(inst.result, "done");
	ck_assert_int_gt(inst.finished_time, 0);
	pj_instance_fini(&inst);
	/* the instance under another app id, an unknown status */
	r.app_id = app_id + 1;
	ck_assert_int_eq(ask_ack(s, &r.base), PJ__CLUSTER__CODE__NOT_OWNER);
	r.app_id          = app_id;
	r.instance_status = 42;
	ck_assert_int_eq(ask_ack(s, &r.base), PJ__CLUSTER__CODE__BAD_REQUEST);

	Pj__Cluster__LogLine   l1       = PJ__CLUSTER__LOG_LINE__INIT;
	Pj__Cluster__LogLine  *lines[1] = { &l1 };
	Pj__Cluster__LogReport lr       = PJ__CLUSTER__LOG_REPORT__INIT;
	l1.instance_id                  = 777;
	l1.log_time                     = ar_now_ms();
	l1.log_level                    = 2;
	l1.content                      = "hello from the worker";
	lr.worker_address               = "pj://tt@127.0.0.1:5";
	lr.app_id                       = app_id;
	lr.n_lines                      = 1;
	lr.lines                        = lines;
	ck_assert_int_eq(ask_ack(s, &lr.base), 0);
	struct pj_log_list logs; /* the server's log writer is asynchronous */
	for (int k = 0; k < 500; k++) {
		ck_assert_int_eq(
		    pj_store_logs_read(store, 777, 0, 0, 10, &logs), 0);
		if (logs.n > 0)
			break;
		pj_log_list_fini(&logs);
		usleep(10000);
	}
	ck_assert_uint_eq(logs.n, 1);
	ck_assert_str_eq(logs.v[0].content, "hello from the worker");
	pj_log_list_fini(&logs);

	/* the executor query applies the job's designated workers */
	Pj__Cluster__Ack *a
	    = heartbeat_tag(s, "s3cret", "pj://a@127.0.0.1:1", "blue");
	pj__cluster__ack__free_unpacked(a, NULL);
	a = heartbeat_tag(s, "s3cret", "pj://b@127.0.0.1:1", "green");
	pj__cluster__ack__free_unpacked(a, NULL);
	Pj__Cluster__ExecutorQuery q = PJ__CLUSTER__EXECUTOR_QUERY__INIT;
	int                        rv;
	q.app_id                    = app_id;
	q.job_id                    = job_id;
	Pj__Cluster__WorkerList *wl = (Pj__Cluster__WorkerList *) ask(
	    actor(s, "server"), &q.base, 5000, &rv);
	ck_assert_int_eq(rv, 0);
	ck_assert_int_eq(wl->code, 0);
	ck_assert_uint_eq(wl->n_workers, 1);
	ck_assert_str_eq(wl->workers[0]->address, "pj://a@127.0.0.1:1");
	pj__cluster__worker_list__free_unpacked(wl, NULL);
	q.job_id = 0; /* every live worker */
	wl       = (Pj__Cluster__WorkerList *) ask(
	          actor(s, "server"), &q.base, 5000, &rv);
	ck_assert_uint_eq(wl->n_workers, 2);
	pj__cluster__worker_list__free_unpacked(wl, NULL);
	q.job_id = job_id + 100;
	wl       = (Pj__Cluster__WorkerList *) ask(
	          actor(s, "server"), &q.base, 5000, &rv);
	ck_assert_int_eq(wl->code, PJ__CLUSTER__CODE__NOT_FOUND);
	pj__cluster__worker_list__free_unpacked(wl, NULL);
	teardown();
}
END_TEST

/* A burst of final reports is decided in batches (one read of their rows,
 * one grouped transition): every report answered OK and every row moved,
 * whatever order the reports come in (a flush that emptied the rows it
 * had decided lost the later ones' lookups: "no such instance"). */
#define BURST 400
START_TEST(report_burst_is_decided_in_batches)
{
	setup(_i);
	int                         s = start_server();
	Pj__Cluster__DiscoverReply *d = discover(s, "orders", "s3cret");
	ck_assert_int_eq(d->code, 0);
	pj__cluster__discover_reply__free_unpacked(d, NULL);
	int64_t job_id = save_api_job("");
	struct pj_instance *v = calloc(BURST, sizeof(*v));
	for (int k = 0; k < BURST; k++) {
		v[k].instance_id          = 5000 + k;
		v[k].job_id               = job_id;
		v[k].app_id               = app_id;
		v[k].type                 = 1;
		v[k].status               = PJ_INST_WAITING_WORKER_RECEIVE;
		v[k].task_tracker_address = "pj://tt@127.0.0.1:5";
	}
	ck_assert_int_eq(
	    pj_store_instances_create(store, v, BURST, ar_now_ms()), 0);
	free(v);
	ar_future *f[BURST];
	ar_ref     to = actor(s, "server");
	for (int k = 0; k < BURST; k++) {
		Pj__Cluster__InstanceStatusReport r
		    = PJ__CLUSTER__INSTANCE_STATUS_REPORT__INIT;
		r.app_id = app_id;
		r.job_id = job_id;
		/* interleaved from both ends: not in id order */
		r.instance_id = 5000 + (k % 2 ? k / 2 : BURST - 1 - k / 2);
		r.instance_status = k % 3 ? PJ_INST_SUCCEED : PJ_INST_RUNNING;
		r.result          = "ok";
		r.source_address  = "pj://tt@127.0.0.1:5";
		r.report_time     = ar_now_ms();
		ck_assert_int_eq(ar_ask(sys, to, &r.base, 20000, &f[k]), 0);
	}
	int running = 0, succeed = 0;
	for (int k = 0; k < BURST; k++) {
		const ProtobufCMessage *m;
		ck_assert_int_eq(ar_future_wait(f[k], -1, &m), 0);
		const Pj__Cluster__Ack *a = (const Pj__Cluster__Ack *) m;
		ck_assert_msg(a->code == 0, "report %d: code %d %s", k,
		    a->code, a->message);
		ar_future_free(f[k]);
	}
	for (int k = 0; k < BURST; k++) {
		struct pj_instance i;
		ck_assert_int_eq(pj_store_instance_get(store, 5000 + k, &i), 0);
		running += i.status == PJ_INST_RUNNING;
		succeed += i.status == PJ_INST_SUCCEED;
		ck_assert_int_eq(i.running_times, 1);
		pj_instance_fini(&i);
	}
	ck_assert_int_eq(succeed, BURST - BURST / 3 - 1);
	ck_assert_int_eq(running, BURST / 3 + 1);
	teardown();
}
END_TEST

/* a database newer than the binary is refused with the store's message */
START_TEST(newer_schema_is_refused)
{
	char exe[600], log[400], cmd[1600], sql[200];
	setup(_i);
	/* a version row no binary has, written with the database's own
	 * client (the store has no call for it, on purpose) */
	snprintf(sql, sizeof(sql),
	    "INSERT INTO schema_version VALUES (9999, '9999_future', 0)");
	if (dbname[0]) {
		MYSQL *m = tu_mysql_admin();
		ck_assert_int_eq(mysql_select_db(m, dbname), 0);
		ck_assert_int_eq(mysql_query(m, sql), 0);
		mysql_close(m);
	} else {
		snprintf(cmd, sizeof(cmd), "sqlite3 '%s/pj.db' \"%s\"", tmpdir,
		    sql);
		ck_assert_int_eq(system(cmd), 0);
	}
	snprintf(exe, sizeof(exe), "%s/pj-server",
	    getenv("PJ_BIN") ? getenv("PJ_BIN") : "build/bin");
	snprintf(log, sizeof(log), "%s/refused.log", tmpdir);
	snprintf(cmd, sizeof(cmd),
	    "'%s' serve --listen tcp://127.0.0.1:0 --db '%s' >/dev/null "
	    "2>'%s'",
	    exe, dburl, log);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 1);
	FILE *f         = fopen(log, "r");
	char  line[600] = "";
	bool  said      = false;
	while (!said && fgets(line, sizeof(line), f) != NULL) {
		said = strstr(line, "newer than this binary") != NULL;
	}
	fclose(f);
	ck_assert_msg(said, "not said; last line: %s", line);
	teardown();
}
END_TEST

/* the worker lists two servers; its owner is killed; on its next
 * discovery (every second here) the other one takes the app over and the
 * worker's heartbeats show there, within 15 s */
START_TEST(worker_follows_the_app_to_a_survivor)
{
	setup(_i);
	int  a = start_server(), b = start_server();
	char exe[600], servers[200];
	snprintf(exe, sizeof(exe), "%s/pj-testworker",
	    getenv("PJ_TEST_BIN") ? getenv("PJ_TEST_BIN") : "build/t");
	snprintf(servers, sizeof(servers), "%s,%s", srv[a].self, srv[b].self);
	struct tu_srv_proc rw = { 0 };
	pid_t              w;
	if (real) { /* servers in the listed order: a first */
		const char *const args[]
		    = { "--discover-ms", "1000", "--shuffle", "0", NULL };
		tu_srv_start_pjworker(&rw, 0, tmpdir, srv, nsrv, args);
		w = rw.pid;
	} else {
		const char *argv[] = { exe, "--server", servers, "--app",
			"orders", "--secret", "s3cret", "--interval-ms", "200",
			"--discover-ms", "1000", NULL };
		struct tu_spawn_opts so = TU_SPAWN_OPTS_INIT;
		so.out                  = "/dev/null";
		w = tu_proc_spawn((char *const *) argv, &so);
	}
	wpid = w;
	ck_assert_int_gt(w, 0);
	/* it joins a (first listed, nobody owned the app) */
	Pj__Friend__OpReply *l  = NULL;
	int64_t              dl = ar_mono_ms() + 10000;
	while (ar_mono_ms() < dl) {
		l = worker_list_via(a, 3000);
		if (l->n_workers == 1) {
			break;
		}
		pj__friend__op_reply__free_unpacked(l, NULL);
		l = NULL;
		usleep(50000);
	}
	ck_assert_msg(l != NULL, "the worker never joined");
	pj__friend__op_reply__free_unpacked(l, NULL);
	stop_server(a, SIGKILL);
	int64_t t0 = ar_mono_ms();
	int     ok = 0;
	/* b's own view (no forwarding): NOT_OWNER until b owns the app */
	Pj__Cluster__ExecutorQuery q = PJ__CLUSTER__EXECUTOR_QUERY__INIT;
	q.app_id                     = app_id;
	while (!ok && ar_mono_ms() - t0 < 15000) {
		int                      rv;
		Pj__Cluster__WorkerList *wl = (Pj__Cluster__WorkerList *) ask(
		    actor(b, "server"), &q.base, 5000, &rv);
		ck_assert_int_eq(rv, 0);
		ok = wl->code == 0 && wl->n_workers == 1;
		pj__cluster__worker_list__free_unpacked(wl, NULL);
		usleep(100000);
	}
	ck_assert_msg(ok, "the worker did not reach the survivor in 15 s");
	char *o = db_owner();
	ck_assert_str_eq(o, srv[b].self);
	free(o);
	kill(w, SIGTERM);
	int wst;
	waitpid(w, &wst, 0);
	wpid = 0;
	ck_assert(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
	teardown();
}
END_TEST

/* a server started with --log-store mongodb://... (the stand-in) takes
 * worker LogReports into MongoDB, where any process reads them; the same
 * report twice leaves one copy of each line */
START_TEST(log_reports_reach_mongodb)
{
	struct tu_mongo     m;
	struct pj_logstore *ls;
	struct pj_log_list  l = { 0 };
	setup(0);
	tu_mongo_setup(&m);
	const char *args[] = { "--log-store", m.uri, "--data-dir", tmpdir,
		NULL };
	int         s      = nsrv++;
	tu_srv_start(&srv[s], s, tmpdir, dburl, NULL, args);
	Pj__Cluster__DiscoverReply *d = discover(s, "orders", "s3cret");
	ck_assert_int_eq(d->code, 0);
	pj__cluster__discover_reply__free_unpacked(d, NULL);

	Pj__Cluster__LogLine   l1 = PJ__CLUSTER__LOG_LINE__INIT;
	Pj__Cluster__LogLine   l2 = PJ__CLUSTER__LOG_LINE__INIT;
	Pj__Cluster__LogLine  *lines[2] = { &l1, &l2 };
	Pj__Cluster__LogReport lr       = PJ__CLUSTER__LOG_REPORT__INIT;
	l1.instance_id = l2.instance_id = 4242;
	l1.log_time = l2.log_time = ar_now_ms();
	l1.log_level = l2.log_level = 2;
	l1.seq                      = 1;
	l2.seq                      = 2;
	l1.content                  = "hello from the worker";
	l2.content                  = "second \xC3\x28 line"; /* bad UTF-8 */
	lr.worker_address           = "pj://w@127.0.0.1:5";
	lr.app_id                   = app_id;
	lr.n_lines                  = 2;
	lr.lines                    = lines;
	ck_assert_int_eq(ask_ack(s, &lr.base), 0);
	ck_assert_int_eq(ask_ack(s, &lr.base), 0); /* a retry */
	ck_assert_int_eq(pj_logstore_open(m.uri, NULL, &ls), 0);
	for (int k = 0; k < 500; k++) {
		ck_assert_int_eq(pj_logstore_read(ls, 4242, 0, 0, 10, &l), 0);
		if (l.n >= 2)
			break;
		pj_log_list_fini(&l);
		usleep(10000);
	}
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.v[0].content, "hello from the worker");
	ck_assert_str_eq(l.v[1].content, "second \xEF\xBF\xBD( line");
	ck_assert_str_eq(l.v[0].worker_address, "pj://w@127.0.0.1:5");
	pj_log_list_fini(&l);
	usleep(200000); /* the retry had time to land too: still 2 */
	int64_t n;
	ck_assert_int_eq(pj_logstore_count(ls, 4242, &n), 0);
	ck_assert_int_eq(n, 2);
	pj_logstore_close(ls);
	/* the SQL table got nothing */
	ck_assert_int_eq(pj_store_logs_read(store, 4242, 0, 0, 10, &l), 0);
	ck_assert_uint_eq(l.n, 0);
	pj_log_list_fini(&l);
	tu_mongo_teardown(&m);
	teardown();
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("server_multiprocess");
	TCase *tc = tcase_create("server");
	tcase_set_timeout(tc, 180);
	/* loop index 0 = SQLite, 1 = MariaDB */
	tcase_add_loop_test(tc, worker_joins_and_bad_input_is_refused, 0, 2);
	tcase_add_loop_test(tc, owner_killed_one_survivor_takes_over, 0, 2);
	tcase_add_loop_test(tc, forwarded_operation_reaches_the_owner, 0, 2);
	tcase_add_loop_test(tc, reports_and_executor_query, 0, 2);
	tcase_add_loop_test(tc, report_burst_is_decided_in_batches, 0, 2);
	tcase_add_loop_test(tc, worker_follows_the_app_to_a_survivor, 0, 2);
	tcase_add_loop_test(tc, newer_schema_is_refused, 0, 2);
	tcase_add_test(tc, log_reports_reach_mongodb);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
