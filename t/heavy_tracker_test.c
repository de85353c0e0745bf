/*
 * heavy_tracker_test.c - the heavy TaskTrackers and the ProcessorTracker
 * on real actor systems over 127.0.0.1: a test "server" system whose
 * /user/server records every InstanceStatusReport (and acknowledges the
 * final ones), and two worker systems A and B, each with /user/processor.
 * The TaskTracker always runs on A.
 *
 * Design notes (threads): the server actor writes the report log under
 * log_mu; the test thread reads it under the same lock.  The test
 * processors (t/heavy_procs.h) keep their counters in atomics or under
 * proc_mu; they run on the ProcessorTrackers' pool threads.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "actors/heavy_tracker.h"
#include "actors/tracker_int.h"
#include "runtime/ar.h"
#include "t/heavy_procs.h"
#include "worker/heavy.h"

#define WAIT_UNTIL(cond, ms)                                                  \
	({                                                                    \
		int64_t _dl = ar_mono_ms() + (ms);                            \
		bool    _ok;                                                  \
		while (!(_ok = (cond)) && ar_mono_ms() < _dl) {               \
			usleep(2000);                                         \
		}                                                             \
		_ok;                                                          \
	})

/* ---- the report log ------------------------------------------------------
 */

struct rep {
	int64_t instance_id;
	int     status;
	char    result[256];
	int64_t total, ok, failed;
	char    source[128];
};
static pthread_mutex_t      log_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int           executor_queries;
static struct pj_worker_env ea, eb;
static struct rep           reps[4096];
static int                  nreps;

static int
srv_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *type,
    const ProtobufCMessage *msg)
{
	(void) state;
	if (type == &pj__cluster__executor_query__descriptor) {
		/* the job's workers: B (the worker detector's question) */
		Pj__Cluster__WorkerList  l  = PJ__CLUSTER__WORKER_LIST__INIT;
		Pj__Cluster__WorkerInfo  w  = PJ__CLUSTER__WORKER_INFO__INIT;
		Pj__Cluster__WorkerInfo *wp = &w;

		atomic_fetch_add(&executor_queries, 1);
		w.address   = eb.address;
		w.alive     = true;
		l.workers   = &wp;
		l.n_workers = 1;
		ar_reply(ctx, &l.base);
		return 0;
	}
	if (type == &pj__cluster__instance_status_report__descriptor) {
		const Pj__Cluster__InstanceStatusReport *r
		    = (const void *) msg;

		pthread_mutex_lock(&log_mu);
		if (nreps < (int) (sizeof(reps) / sizeof(reps[0]))) {
			struct rep *x  = &reps[nreps++];
			x->instance_id = r->instance_id;
			x->status      = r->instance_status;
			snprintf(
			    x->result, sizeof(x->result), "%s", r->result);
			x->total  = r->total_task_num;
			x->ok     = r->succeed_task_num;
			x->failed = r->failed_task_num;
			snprintf(x->source, sizeof(x->source), "%s",
			    r->source_address);
		}
		pthread_mutex_unlock(&log_mu);
		if (r->instance_status != 3
		    && !ar_ref_is_none(ar_ctx_sender(ctx))) {
			Pj__Cluster__Ack a = PJ__CLUSTER__ACK__INIT;
			ar_reply(ctx, &a.base);
		}
	}
	return 0;
}

/* the final report of an instance, if any (copied into *out) */
static bool
final_of(int64_t inst, struct rep *out)
{
	bool found = false;

	pthread_mutex_lock(&log_mu);
	for (int i = 0; i < nreps; i++) {
		if (reps[i].instance_id == inst && reps[i].status != 3) {
			*out  = reps[i];
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&log_mu);
	return found;
}

/* the latest RUNNING report of an instance */
static bool
running_of(int64_t inst, struct rep *out)
{
	bool found = false;

	pthread_mutex_lock(&log_mu);
	for (int i = nreps - 1; i >= 0; i--) {
		if (reps[i].instance_id == inst && reps[i].status == 3) {
			*out  = reps[i];
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&log_mu);
	return found;
}

/* ---- systems -------------------------------------------------------------
 */

static ar_system *srv, *wa, *wb;

static ar_system *
start_sys(const char *name)
{
	ar_config  c;
	ar_system *s = NULL;

	ar_config_init(&c);
	c.name             = name;
	c.listen_url       = "tcp://127.0.0.1:0";
	c.log_dead_letters = 0;
	c.stop_drain_ms    = 500;
	ck_assert_int_eq(ar_system_start(&c, &s), 0);
	return s;
}

static void
env_init(struct pj_worker_env *e, ar_system *s)
{
	char server[64];

	memset(e, 0, sizeof(*e));
	e->sys                  = s;
	e->cfg.max_heavy        = 64;
	e->cfg.report_ms        = 300;
	e->cfg.max_result_bytes = 8096;
	pj_processor_config_init(&e->proc);
	e->proc.data_dir = "/tmp";
	snprintf(e->address, sizeof(e->address), "%s", ar_system_address(s));
	pthread_mutex_init(&e->mu, NULL);
	snprintf(server, sizeof(server), "127.0.0.1:%d", ar_system_port(srv));
	pj_worker_set_server(e, server, ar_system_address(srv));
	ck_assert_int_eq(pj_processor_tracker_spawn(e), 0);
}

static int small_queue; /* the "unacked" case: PT queues of 50 tasks */

static void
setup_settings(void)
{
	struct pj_heavy_settings s;

	pj_heavy_settings_init(&s);
	s.check_ms        = 200;
	s.detect_ms       = 300;
	s.report_ms       = 300;
	s.unacked_ms      = 3000;
	s.pt_timeout_ms   = 2000;
	s.pt_heartbeat_ms = 250;
	s.max_tasks       = 20000;
	s.dispatch_batch  = 100;
	s.pt_window       = 400;
	s.load            = test_load;
	if (small_queue) {
		/* windows of 400 into queues of 50: the PTs drop most of
		 * each batch, the TT sends them again after unacked_ms */
		s.pt_queue_max = 50;
		s.unacked_ms   = 1000;
	}
	pj_heavy_tracker_configure(&s);
}

static void
setup(void)
{
	static const ar_behavior b = { .receive = srv_receive };
	ar_props                 p = { 0 };
	ar_ref                   r;

	setup_settings();
	ck_assert_int_eq(pj_tracker_messages_register(), 0);
	srv        = start_sys("pjserver");
	p.behavior = &b;
	ck_assert_int_eq(ar_spawn(srv, AR_REF_NONE, "server", &p, &r), 0);
	wa = start_sys(PJ_WORKER_SYSTEM);
	wb = start_sys(PJ_WORKER_SYSTEM);
	env_init(&ea, wa);
	env_init(&eb, wb);
	/* A's TaskTrackers keep their tasks in a file of its data dir */
	snprintf(ea.cfg.data_dir, sizeof(ea.cfg.data_dir), "/tmp");
}

static void
teardown(void)
{
	if (wb != NULL) {
		ar_system_stop(wb);
	}
	ar_system_stop(wa);
	ar_system_stop(srv);
	wb = NULL;
}

/* a job: defaults plus what the test says */
static void
job(Pj__Worker__ServerScheduleJobReq *q, int64_t inst, const char *exec,
    const char *info, const char *params, bool both)
{
	static char *addrs[2];

	pj__worker__server_schedule_job_req__init(q);
	addrs[0]                = ea.address;
	addrs[1]                = eb.address;
	q->all_worker_address   = addrs;
	q->n_all_worker_address = both ? 2 : 1;
	q->job_id               = 1;
	q->instance_id          = inst;
	q->app_id               = 1;
	q->execute_type         = (char *) exec;
	q->processor_type       = "BUILT_IN";
	q->processor_info       = (char *) info;
	q->job_params           = (char *) params;
	q->instance_params      = "";
	q->thread_concurrency   = 4;
	q->time_expression_type = "API";
	q->time_expression      = "";
	q->task_tracker_address = ea.address;
}

static void
start(const Pj__Worker__ServerScheduleJobReq *q)
{
	char err[512] = "";
	int  rv       = pj_heavy_tracker_start(&ea, q, err, sizeof(err));

	ck_assert_msg(rv == 0, "start: %s", err);
}

/* ---- tests
 * ------------------------------------------------------------------- */

START_TEST(map_reduce_10k)
{
	Pj__Worker__ServerScheduleJobReq q;
	struct rep                       r;
	int64_t                          t0 = ar_mono_ms();

	job(&q, 101, "MAP_REDUCE", "verify",
	    "{\"mode\":\"MR\",\"batchSize\":1000,\"batchNum\":10}", true);
	start(&q);
	/* a second start for the same instance is a no-op */
	start(&q);
	ck_assert(WAIT_UNTIL(final_of(101, &r), 25000));
	ck_assert_int_eq(r.status, 5);
	ck_assert_str_eq(
	    r.result, "verify: reduce total=10001 succeed=10001 failed=0");
	ck_assert_int_eq(r.total, 10002); /* root, 10,000 sub-tasks, reduce */
	ck_assert_int_eq(r.ok, 10002);
	ck_assert_str_eq(r.source, ea.address);
	fprintf(stderr, "map_reduce_10k: %lld ms\n",
	    (long long) (ar_mono_ms() - t0));
	/* the tracker and every ProcessorTracker go away */
	ck_assert(WAIT_UNTIL(atomic_load(&ea.heavy) == 0, 3000));
	ck_assert(WAIT_UNTIL(pj_processor_tracker_count() == 0, 3000));
}
END_TEST

START_TEST(map_with_failures_and_retries)
{
	Pj__Worker__ServerScheduleJobReq q;
	struct rep                       r;

	/* 10% of 1,000 sub-tasks always fail: 2 retries each, then failed */
	job(&q, 102, "MAP", "verify",
	    "{\"mode\":\"MR\",\"batchSize\":100,\"batchNum\":10,"
	    "\"subTaskSuccessRate\":0.9}",
	    true);
	q.task_retry_num = 2;
	start(&q);
	ck_assert(WAIT_UNTIL(final_of(102, &r), 20000));
	ck_assert_int_eq(r.status, 4);
	ck_assert_str_eq(r.result, "total:1001,succeed:901,failed:100");
	/* RETRY mode: the root fails twice, then succeeds on the last try */
	job(&q, 103, "MAP", "verify", "{\"mode\":\"RETRY\"}", true);
	q.task_retry_num = 2;
	start(&q);
	ck_assert(WAIT_UNTIL(final_of(103, &r), 10000));
	ck_assert_int_eq(r.status, 5);
	ck_assert_str_eq(r.result, "total:1,succeed:1,failed:0");
}
END_TEST

START_TEST(broadcast_pre_post)
{
	Pj__Worker__ServerScheduleJobReq q;
	struct rep                       r;

	job(&q, 104, "BROADCAST", "bcast", "", true);
	start(&q);
	ck_assert(WAIT_UNTIL(final_of(104, &r), 10000));
	ck_assert_int_eq(r.status, 5);
	ck_assert_str_eq(r.result, "post n=2 ok=2");
	ck_assert_int_eq(atomic_load(&bc_pre), 1);
	ck_assert_int_eq(atomic_load(&bc_process), 2);
	ck_assert_int_eq(atomic_load(&bc_post), 1);
}
END_TEST

START_TEST(fixed_rate_sub_instances)
{
	Pj__Worker__ServerScheduleJobReq  q;
	Pj__Worker__ServerStopInstanceReq s
	    = PJ__WORKER__SERVER_STOP_INSTANCE_REQ__INIT;
	struct rep r;
	char       err[256];

	/* a run lasts 350 ms, one starts every 100 ms, at most 2 at once */
	job(&q, 105, "STANDALONE", "freq", "350", false);
	q.time_expression_type = "FIXED_RATE";
	q.time_expression      = "100";
	q.max_instance_num     = 2;
	start(&q);
	ck_assert(WAIT_UNTIL(running_of(105, &r) && r.ok >= 3, 8000));
	ck_assert_int_gt(r.failed, 0); /* TOO_MUCH_INSTANCE */
	pthread_mutex_lock(&proc_mu);
	ck_assert_int_le(running_max, 2);
	ck_assert_int_ge(running_max, 2);
	pthread_mutex_unlock(&proc_mu);
	s.instance_id = 105;
	s.reason      = "test stop";
	ck_assert_int_eq(pj_heavy_tracker_stop(&ea, &s), 0);
	ck_assert(WAIT_UNTIL(atomic_load(&ea.heavy) == 0, 3000));
	ck_assert_int_eq(pj_heavy_tracker_stop(&ea, &s), AR_ENOENT);
	ck_assert(!final_of(105, &r)); /* frequent: never a final report */
	/* bad intervals are refused with a reason */
	job(&q, 106, "STANDALONE", "freq", "1", false);
	q.time_expression_type = "FIXED_RATE";
	q.time_expression      = "10";
	ck_assert_int_eq(
	    pj_heavy_tracker_start(&ea, &q, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "minimum"));
	/* STANDALONE that is not frequent belongs to the light tracker */
	job(&q, 107, "STANDALONE", "freq", "1", false);
	ck_assert_int_eq(
	    pj_heavy_tracker_start(&ea, &q, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not run by a heavy"));
}
END_TEST

START_TEST(fixed_delay_no_overlap)
{
	Pj__Worker__ServerScheduleJobReq  q;
	Pj__Worker__ServerStopInstanceReq s
	    = PJ__WORKER__SERVER_STOP_INSTANCE_REQ__INIT;
	int n;

	job(&q, 108, "STANDALONE", "freq", "120", false);
	q.time_expression_type = "FIXED_DELAY";
	q.time_expression      = "100";
	start(&q);
	ck_assert(WAIT_UNTIL(({
		pthread_mutex_lock(&proc_mu);
		n = nruns;
		pthread_mutex_unlock(&proc_mu);
		n >= 4;
	}),
	    8000));
	s.instance_id = 108;
	ck_assert_int_eq(pj_heavy_tracker_stop(&ea, &s), 0);
	ck_assert(WAIT_UNTIL(atomic_load(&ea.heavy) == 0, 3000));
	usleep(300000);
	pthread_mutex_lock(&proc_mu);
	ck_assert_int_eq(running_max, 1);
	for (int i = 1; i < nruns && runs[i][1] > 0; i++) {
		/* each run starts at least the delay after the previous ended
		 */
		ck_assert_msg(runs[i][0] - runs[i - 1][1] >= 95,
		    "run %d started %lld ms after run %d ended", i,
		    (long long) (runs[i][0] - runs[i - 1][1]), i - 1);
	}
	pthread_mutex_unlock(&proc_mu);
}
END_TEST

START_TEST(stop_instance)
{
	Pj__Worker__ServerScheduleJobReq  q;
	Pj__Worker__ServerStopInstanceReq s
	    = PJ__WORKER__SERVER_STOP_INSTANCE_REQ__INIT;
	struct rep r;

	/* the root runs until it is stopped */
	job(&q, 109, "MAP", "verify", "{\"mode\":\"TIMEOUT\"}", true);
	start(&q);
	ck_assert(WAIT_UNTIL(pj_processor_tracker_count() == 1, 5000));
	usleep(200000);
	s.instance_id = 109;
	s.reason      = "user stop";
	ck_assert_int_eq(pj_heavy_tracker_stop(&ea, &s), 0);
	ck_assert(WAIT_UNTIL(atomic_load(&ea.heavy) == 0, 3000));
	/* the processor saw stopping() and its ProcessorTracker went away */
	ck_assert(WAIT_UNTIL(pj_processor_tracker_count() == 0, 3000));
	usleep(300000);
	ck_assert(!final_of(109, &r)); /* the server recorded STOPPED itself */
}
END_TEST

START_TEST(instance_timeout)
{
	Pj__Worker__ServerScheduleJobReq q;
	struct rep                       r;
	int64_t                          t0 = ar_mono_ms();

	job(&q, 110, "MAP_REDUCE", "verify", "{\"mode\":\"TIMEOUT\"}", true);
	q.instance_timeout_ms = 800;
	start(&q);
	ck_assert(WAIT_UNTIL(final_of(110, &r), 5000));
	ck_assert_int_eq(r.status, 4);
	ck_assert_str_eq(r.result, "instance execute timeout");
	ck_assert_int_ge(ar_mono_ms() - t0, 800);
	ck_assert(WAIT_UNTIL(pj_processor_tracker_count() == 0, 3000));
}
END_TEST

START_TEST(bad_processor_and_huge_map)
{
	Pj__Worker__ServerScheduleJobReq q;
	struct rep                       r;

	job(&q, 111, "MAP", "no-such-processor", "", true);
	start(&q);
	ck_assert(WAIT_UNTIL(final_of(111, &r), 5000));
	ck_assert_int_eq(r.status, 4);
	ck_assert_msg(strstr(r.result, "unknown built-in processor") != NULL,
	    "result: %s", r.result);
	/* 100,000 sub-tasks over the (test) limit of 20,000 tasks */
	job(&q, 112, "MAP_REDUCE", "verify",
	    "{\"mode\":\"MR\",\"batchSize\":100000,\"batchNum\":1}", true);
	start(&q);
	ck_assert(WAIT_UNTIL(final_of(112, &r), 20000));
	ck_assert_int_eq(r.status, 4);
	ck_assert_msg(strstr(r.result, "root task (map) failed: map refused")
	        && strstr(r.result, "more than the limit of 20000"),
	    "result: %s", r.result);
	/* 60 sub-tasks of 100 KB: several map and start messages */
	job(&q, 116, "MAP", "bigmap", "", true);
	start(&q);
	ck_assert(WAIT_UNTIL(final_of(116, &r), 10000));
	ck_assert_int_eq(r.status, 5);
	ck_assert_str_eq(r.result, "total:61,succeed:61,failed:0");
	/* one sub-task too large to send: a clear reason */
	job(&q, 117, "MAP", "bigmap", "huge", true);
	start(&q);
	ck_assert(WAIT_UNTIL(final_of(117, &r), 10000));
	ck_assert_int_eq(r.status, 4);
	ck_assert_msg(strstr(r.result,
	                  "root task (map) failed: map: sub-task 0 "
	                  "is 3145728 bytes, more than the limit"),
	    "result: %s", r.result);
	/* the worker still runs jobs, also when its data dir is unusable (the
	 * tasks stay in memory) */
	snprintf(ea.cfg.data_dir, sizeof(ea.cfg.data_dir), "/nonexistent/dir");
	job(&q, 113, "MAP", "verify",
	    "{\"mode\":\"MR\",\"batchSize\":10,\"batchNum\":2}", true);
	start(&q);
	ck_assert(WAIT_UNTIL(final_of(113, &r), 10000));
	ck_assert_int_eq(r.status, 5);
	ck_assert_str_eq(r.result, "total:21,succeed:21,failed:0");
}
END_TEST

START_TEST(pt_system_dies)
{
	Pj__Worker__ServerScheduleJobReq q;
	struct rep                       r;

	/* 2,000 sub-tasks of 5 ms each over A and B (4 threads each) */
	job(&q, 114, "MAP_REDUCE", "verify",
	    "{\"mode\":\"MR\",\"batchSize\":200,\"batchNum\":10,\"sleepMs\":"
	    "5}",
	    true);
	start(&q);
	ck_assert(WAIT_UNTIL(running_of(114, &r) && r.ok >= 200, 10000));
	ar_system_stop(wb); /* B goes away mid-run */
	wb = NULL;
	ck_assert(WAIT_UNTIL(final_of(114, &r), 25000));
	ck_assert_int_eq(r.status, 5);
	ck_assert_str_eq(
	    r.result, "verify: reduce total=2001 succeed=2001 failed=0");
}
END_TEST

/* worker B in a process of its own (forked before any thread), killed
 * with SIGKILL mid-run: its tasks run again on A */
START_TEST(pt_process_killed)
{
	Pj__Worker__ServerScheduleJobReq q;
	struct rep                       r;
	int                              fds[2];
	pid_t                            pid;
	char                             baddr[400] = "";
	FILE                            *fp;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct pj_worker_env e;
		ar_system           *b;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(fds[0]);
		setup_settings();
		pj_tracker_messages_register();
		b = start_sys(PJ_WORKER_SYSTEM);
		memset(&e, 0, sizeof(e));
		e.sys                  = b;
		e.cfg.max_result_bytes = 8096;
		pj_processor_config_init(&e.proc);
		snprintf(
		    e.address, sizeof(e.address), "%s", ar_system_address(b));
		pthread_mutex_init(&e.mu, NULL);
		pj_processor_tracker_spawn(&e);
		dprintf(fds[1], "%s\n", e.address);
		close(fds[1]);
		for (;;) {
			pause();
		}
	}
	close(fds[1]);
	fp = fdopen(fds[0], "r");
	ck_assert_ptr_nonnull(fgets(baddr, sizeof(baddr), fp));
	fclose(fp);
	baddr[strcspn(baddr, "\n")] = '\0';
	setup();
	job(&q, 115, "MAP_REDUCE", "verify",
	    "{\"mode\":\"MR\",\"batchSize\":200,\"batchNum\":10,\"sleepMs\":"
	    "5}",
	    true);
	q.all_worker_address[1] = baddr;
	start(&q);
	ck_assert(WAIT_UNTIL(running_of(115, &r) && r.ok >= 200, 10000));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert(WAIT_UNTIL(final_of(115, &r), 25000));
	ck_assert_int_eq(r.status, 5);
	ck_assert_str_eq(
	    r.result, "verify: reduce total=2001 succeed=2001 failed=0");
	teardown();
}
END_TEST

static void
setup_small(void)
{
	small_queue = 1;
	setup();
}

START_TEST(unacknowledged_tasks_sent_again)
{
	Pj__Worker__ServerScheduleJobReq q;
	struct rep                       r;

	job(&q, 118, "MAP", "verify",
	    "{\"mode\":\"MR\",\"batchSize\":100,\"batchNum\":6,"
	    "\"sleepMs\":2}",
	    true);
	start(&q);
	ck_assert(WAIT_UNTIL(final_of(118, &r), 30000));
	ck_assert_int_eq(r.status, 5);
	ck_assert_str_eq(r.result, "total:601,succeed:601,failed:0");
}
END_TEST

/* a MAP_REDUCE dispatched to A alone: the worker detector asks the
 * server for the job's workers and B joins */
START_TEST(worker_detector_adds_workers)
{
	Pj__Worker__ServerScheduleJobReq q;
	struct rep                       r;

	job(&q, 119, "MAP_REDUCE", "verify",
	    "{\"mode\":\"MR\",\"batchSize\":200,\"batchNum\":10,"
	    "\"sleepMs\":5}",
	    false);
	start(&q);
	ck_assert(WAIT_UNTIL(pj_processor_tracker_count() == 2, 10000));
	ck_assert_int_gt(atomic_load(&executor_queries), 0);
	ck_assert(WAIT_UNTIL(final_of(119, &r), 25000));
	ck_assert_int_eq(r.status, 5);
	ck_assert_str_eq(
	    r.result, "verify: reduce total=2001 succeed=2001 failed=0");
}
END_TEST

int
main(void)
{
	Suite   *s  = suite_create("heavy_tracker");
	TCase   *tc = tcase_create("heavy");
	TCase   *tk = tcase_create("kill");
	TCase   *tu = tcase_create("unacked");
	SRunner *sr;
	int      failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 40);
	tcase_add_test(tc, map_reduce_10k);
	tcase_add_test(tc, map_with_failures_and_retries);
	tcase_add_test(tc, broadcast_pre_post);
	tcase_add_test(tc, fixed_rate_sub_instances);
	tcase_add_test(tc, fixed_delay_no_overlap);
	tcase_add_test(tc, stop_instance);
	tcase_add_test(tc, instance_timeout);
	tcase_add_test(tc, bad_processor_and_huge_map);
	tcase_add_test(tc, pt_system_dies);
	tcase_add_test(tc, worker_detector_adds_workers);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tu, setup_small, teardown);
	tcase_set_timeout(tu, 40);
	tcase_add_test(tu, unacknowledged_tasks_sent_again);
	suite_add_tcase(s, tu);
	tcase_set_timeout(tk, 40);
	tcase_add_test(tk, pt_process_killed);
	suite_add_tcase(s, tk);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
