/*
 * t/worker_multiprocess_test.c - pj-worker end to end: real pj-server and
 * pj-worker processes (build/bin) on 127.0.0.1, this process as the
 * client that writes jobs into the store and asks a server to run them
 * (FriendActor's RUN_JOB / STOP_INSTANCE).  The jobs use the built-in
 * "verify" processor (worker/verify.c).  Every test runs on SQLite and on
 * the private MariaDB (PJ_TEST_MYSQL_URL, started by t/run.sh).
 *
 * Covered: a STANDALONE job succeeds with its result (cut to the max
 * result length) and its online log lines in the server's log table;
 * ERROR mode is retried per instance_retry_num, then FAILED; a processor
 * that does not load fails with the reason; RETRY mode succeeds on the last
 * in-place task retry; a stop from the server ends the processor with no
 * final report (STOPPED stays), and a duplicate request runs nothing;
 * with max-light 1 a second instance waits for room; the instance timeout
 * interrupts the processor; a wrong secret makes pj-worker exit 3 with the
 * server's reason; kill -9 of the worker running an instance leaves it FAILED,
 * not RUNNING; kill -9 of the owner server: the worker follows its app to the
 * survivor and later instances run; SIGTERM during a long instance
 * reports it before the worker exits 0.
 *
 * Design notes (threads): the runtime's threads deliver replies; the test
 * waits on futures and polls the store.  Children are killed in teardown
 * whatever happened.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t/workerutil.h"
#include "actors/messages.h"
#include "runtime/ar.h"
#include "server/store/store.h"
#include "server/timing/timing.h"

/* ---- tests ---------------------------------------------------------------
 */

START_TEST(standalone_succeeds_with_result_and_online_logs)
{
	setup(_i);
	int s        = start_server();
	extra_arg[0] = "--tag";
	extra_arg[1] = "blue";
	start_worker();
	wait_owned_with_workers(1);
	/* the heartbeat's metrics and tag reached the cluster view */
	Pj__Friend__OpReply *w = op(s, PJ__FRIEND__OP__WORKER_LIST, 0, 0);
	ck_assert_uint_eq(w->n_workers, 1);
	ck_assert_str_eq(w->workers[0]->address, wrk[0].self);
	ck_assert_str_eq(w->workers[0]->tag, "blue");
	ck_assert(!w->workers[0]->overload);
	ck_assert_ptr_nonnull(w->workers[0]->metrics);
	ck_assert_int_ge(w->workers[0]->metrics->cpu_processors, 1);
	ck_assert(w->workers[0]->metrics->mem_max > 0);
	ck_assert(w->workers[0]->metrics->disk_total > 0);
	pj__friend__op_reply__free_unpacked(w, NULL);
	int64_t job = save_job("{\"mode\":\"BASE\"}", 0, 0, 0, "");
	int64_t id  = run_job(s, job);
	WAIT_STATUS(id, PJ_INST_SUCCEED, 5000);
	struct pj_instance i;
	get_instance(id, &i);
	ck_assert_str_eq(i.result, "verify: ok");
	ck_assert_int_eq(i.running_times, 1);
	ck_assert_int_gt(i.finished_time, 0);
	ck_assert_str_eq(i.task_tracker_address, wrk[0].self);
	pj_instance_fini(&i);
	/* the processor's log line reaches the log table */
	struct pj_log_list l     = { 0 };
	bool               found = false;
	int64_t            dl    = ar_mono_ms() + 5000;
	while (!found && ar_mono_ms() < dl) {
		pj_log_list_fini(&l);
		ck_assert_int_eq(
		    pj_store_logs_read(store, id, 0, 0, 100, &l), 0);
		for (size_t k = 0; k < l.n; k++) {
			found |= strstr(
			             l.v[k].content, "verify: mode=BASE task=")
			    != NULL;
		}
		if (!found) {
			usleep(50000);
		}
	}
	ck_assert_msg(
	    found, "no online log line of instance %lld", (long long) id);
	char task[64];
	snprintf(task, sizeof(task), "task=%lld#%lld", (long long) job,
	    (long long) id);
	found = false;
	for (size_t k = 0; k < l.n; k++) {
		found |= strstr(l.v[k].content, task) != NULL;
		ck_assert_str_eq(l.v[k].worker_address, wrk[0].self);
		ck_assert_int_eq(l.v[k].log_level, 2);
	}
	ck_assert_msg(found, "task id is not <job>#<instance>");
	pj_log_list_fini(&l);
	/* a long result is cut to max-result-bytes (8096) plus "..." */
	int64_t big = save_job(
	    "{\"mode\":\"BASE\",\"responseSize\":20000}", 0, 0, 0, "");
	id = run_job(s, big);
	WAIT_STATUS(id, PJ_INST_SUCCEED, 5000);
	get_instance(id, &i);
	ck_assert_uint_eq(strlen(i.result), 8096 + 3);
	ck_assert_str_eq(i.result + 8096, "...");
	pj_instance_fini(&i);
	/* log type NULL: nothing reaches the table */
	int64_t quiet = save_job("", 0, 0, 0, "{\"type\":999}");
	id            = run_job(s, quiet);
	WAIT_STATUS(id, PJ_INST_SUCCEED, 5000);
	usleep(400000);
	ck_assert_int_eq(pj_store_logs_read(store, id, 0, 0, 100, &l), 0);
	ck_assert_uint_eq(l.n, 0);
	pj_log_list_fini(&l);
	teardown();
}
END_TEST

START_TEST(error_mode_is_retried_then_failed)
{
	setup(_i);
	int s = start_server();
	start_worker();
	wait_owned_with_workers(1);
	int64_t job = save_job("{\"mode\":\"ERROR\"}", 1, 0, 0, "");
	int64_t id  = run_job(s, job);
	WAIT_STATUS(id, PJ_INST_FAILED, 8000);
	struct pj_instance i;
	get_instance(id, &i);
	ck_assert_str_eq(i.result, "verify: ERROR mode");
	ck_assert_int_eq(i.running_times, 2); /* one retry */
	pj_instance_fini(&i);
	/* a processor that does not load: FAILED with the loader's reason */
	struct pj_job j;
	ck_assert_int_eq(pj_store_job_get(store, job, &j), 0);
	free(j.processor_info);
	j.processor_info     = strdup("no-such-processor");
	j.instance_retry_num = 0;
	ck_assert_int_eq(pj_store_job_save(store, &j, ar_now_ms(), NULL), 0);
	pj_job_fini(&j);
	id = run_job(s, job);
	WAIT_STATUS(id, PJ_INST_FAILED, 5000);
	get_instance(id, &i);
	ck_assert_msg(strncmp(i.result, "load processor failed: ", 23) == 0
	        && strstr(i.result, "no-such-processor") != NULL,
	    "result %s", i.result);
	pj_instance_fini(&i);
	teardown();
}
END_TEST

START_TEST(task_retry_succeeds_on_the_last_retry)
{
	setup(_i);
	int s = start_server();
	start_worker();
	wait_owned_with_workers(1);
	int64_t job = save_job("{\"mode\":\"RETRY\"}", 0, 2, 0, "");
	int64_t id  = run_job(s, job);
	WAIT_STATUS(id, PJ_INST_SUCCEED, 5000);
	struct pj_instance i;
	get_instance(id, &i);
	ck_assert_str_eq(i.result, "verify: succeeded on the last retry");
	ck_assert_int_eq(i.running_times, 1); /* retried in place */
	pj_instance_fini(&i);
	/* ERROR fails every try: three tries in place, one attempt, and the
	 * retries are in the instance's online log */
	job = save_job("{\"mode\":\"ERROR\"}", 0, 2, 0, "");
	id  = run_job(s, job);
	WAIT_STATUS(id, PJ_INST_FAILED, 5000);
	get_instance(id, &i);
	ck_assert_int_eq(i.running_times, 1);
	pj_instance_fini(&i);
	struct pj_log_list l     = { 0 };
	int                tries = 0;
	int64_t            dl    = ar_mono_ms() + 3000;
	while (tries < 3 && ar_mono_ms() < dl) {
		pj_log_list_fini(&l);
		ck_assert_int_eq(
		    pj_store_logs_read(store, id, 0, 0, 100, &l), 0);
		tries = 0;
		for (size_t k = 0; k < l.n; k++) {
			tries += strstr(l.v[k].content, "verify: mode=ERROR")
			    != NULL;
		}
		usleep(50000);
	}
	ck_assert_int_eq(tries, 3);
	bool second = false;
	for (size_t k = 0; k < l.n; k++) {
		second
		    |= strstr(l.v[k].content, "failed (try 2 of 3)") != NULL;
	}
	ck_assert(second);
	pj_log_list_fini(&l);
	teardown();
}
END_TEST

START_TEST(stop_from_the_server_stops_the_processor)
{
	setup(_i);
	int s = start_server();
	start_worker();
	wait_owned_with_workers(1);
	int64_t job = save_job("{\"mode\":\"TIMEOUT\"}", 0, 0, 0, "");
	int64_t id  = run_job(s, job);
	WAIT_STATUS(id, PJ_INST_RUNNING, 5000);
	/* the same instance sent again (a redispatch) is ignored: one run,
	 * one log line */
	Pj__Worker__ServerScheduleJobReq q
	    = PJ__WORKER__SERVER_SCHEDULE_JOB_REQ__INIT;
	char   waddr[400];
	ar_ref wref;
	q.job_id               = job;
	q.instance_id          = id;
	q.app_id               = app_id;
	q.execute_type         = "STANDALONE";
	q.processor_type       = "BUILT_IN";
	q.processor_info       = "verify";
	q.job_params           = "{\"mode\":\"TIMEOUT\"}";
	q.time_expression_type = "API";
	q.task_tracker_address = wrk[0].self;
	q.server               = srv[s].self;
	snprintf(waddr, sizeof(waddr), "%s/user/worker", wrk[0].self);
	ck_assert_int_eq(ar_ref_resolve(sys, waddr, &wref), 0);
	ck_assert_int_eq(ar_tell(sys, wref, &q.base, AR_REF_NONE), 0);
	usleep(600000);
	struct pj_log_list l    = { 0 };
	int                runs = 0;
	ck_assert_int_eq(pj_store_logs_read(store, id, 0, 0, 100, &l), 0);
	for (size_t k = 0; k < l.n; k++) {
		runs += strstr(l.v[k].content, "verify: mode=TIMEOUT") != NULL;
	}
	pj_log_list_fini(&l);
	ck_assert_int_eq(runs, 1);
	Pj__Friend__OpReply *r = op(s, PJ__FRIEND__OP__STOP_INSTANCE, 0, id);
	ck_assert_int_eq(r->code, 0);
	pj__friend__op_reply__free_unpacked(r, NULL);
	ck_assert_int_eq(instance_status(id), PJ_INST_STOPPED);
	/* the processor returned, and no final report followed */
	char needle[100];
	snprintf(needle, sizeof(needle), "instance=%lld failed (not reported",
	    (long long) id);
	ck_assert_msg(wait_file_says(wrk[0].log, needle, 3000),
	    "the processor did not stop (see %s)", wrk[0].log);
	usleep(300000);
	ck_assert_int_eq(instance_status(id), PJ_INST_STOPPED);
	teardown();
}
END_TEST

START_TEST(instance_timeout_interrupts_the_processor)
{
	setup(_i);
	/* the server's own timeout check would come after 10 s: the
	 * worker's watchdog ends it */
	int s = start_server_checking("10000");
	start_worker();
	wait_owned_with_workers(1);
	int64_t job = save_job("{\"mode\":\"TIMEOUT\"}", 0, 0, 500, "");
	int64_t id  = run_job(s, job);
	WAIT_STATUS(id, PJ_INST_FAILED, 5000);
	struct pj_instance i;
	get_instance(id, &i);
	ck_assert_str_eq(
	    i.result, "instance execute timeout,interrupted success");
	ck_assert_int_lt(i.finished_time - i.actual_trigger_time, 2000);
	pj_instance_fini(&i);
	char needle[100];
	snprintf(needle, sizeof(needle), "instance=%lld: over its timeout",
	    (long long) id);
	ck_assert(wait_file_says(wrk[0].log, needle, 3000));
	teardown();
}
END_TEST

START_TEST(wrong_secret_exits_3_with_the_reason)
{
	setup(_i);
	start_server();
	int w = start_worker_secret("nope", 0);
	int st;
	ck_assert_int_eq(waitpid(wrk[w].pid, &st, 0), wrk[w].pid);
	wrk[w].pid = 0;
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 3);
	ck_assert_msg(file_says(wrk[w].log, "wrong secret for app 'orders'"),
	    "no reason in %s", wrk[w].log);
	teardown();
}
END_TEST

START_TEST(worker_killed_mid_instance_is_failed)
{
	setup(_i);
	int s = start_server();
	int w = start_worker();
	wait_owned_with_workers(1);
	int64_t job = save_job("{\"mode\":\"TIMEOUT\"}", 0, 0, 0, "");
	int64_t id  = run_job(s, job);
	WAIT_STATUS(id, PJ_INST_RUNNING, 5000);
	kill_proc(&wrk[w], SIGKILL);
	WAIT_STATUS(id, PJ_INST_FAILED, 8000);
	struct pj_instance i;
	get_instance(id, &i);
	ck_assert_str_eq(
	    i.result, "worker report timeout, maybe TaskTracker down");
	pj_instance_fini(&i);
	teardown();
}
END_TEST

START_TEST(worker_follows_its_app_to_the_new_owner)
{
	setup(_i);
	start_server();
	start_server();
	start_worker();
	int     owner = wait_owned_with_workers(1);
	int64_t job   = save_job("", 0, 0, 0, "");
	int64_t id    = run_job(owner, job);
	WAIT_STATUS(id, PJ_INST_SUCCEED, 5000);
	kill_proc(&srv[owner], SIGKILL);
	int s = wait_owned_with_workers(1);
	ck_assert_int_ne(s, owner);
	for (int k = 0; k < 3; k++) {
		id = run_job(s, job);
		WAIT_STATUS(id, PJ_INST_SUCCEED, 5000);
	}
	char needle[100];
	snprintf(
	    needle, sizeof(needle), "owner is now server=%s", srv[s].self);
	ck_assert(file_says(wrk[0].log, needle));
	teardown();
}
END_TEST

START_TEST(sigterm_reports_the_running_instance)
{
	setup(_i);
	int s = start_server();
	int w = start_worker();
	wait_owned_with_workers(1);
	int64_t job = save_job("{\"mode\":\"TIMEOUT\"}", 0, 0, 0, "");
	int64_t id  = run_job(s, job);
	WAIT_STATUS(id, PJ_INST_RUNNING, 5000);
	int64_t t0 = ar_mono_ms();
	int     st;
	kill(wrk[w].pid, SIGTERM);
	ck_assert_int_eq(waitpid(wrk[w].pid, &st, 0), wrk[w].pid);
	wrk[w].pid = 0;
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_int_lt(ar_mono_ms() - t0, 5000);
	/* reported before the exit: no waiting for the server's check */
	ck_assert_int_eq(instance_status(id), PJ_INST_FAILED);
	struct pj_instance i;
	get_instance(id, &i);
	ck_assert_str_eq(
	    i.result, "worker stopped (SIGTERM),interrupted success");
	pj_instance_fini(&i);
	teardown();
}
END_TEST

/* max-light 1: a second instance while one runs is not run beside it
 * (the worker is overloaded in its heartbeats, and drops what comes
 * past 1.3 x max-light); it runs once the first finished */
START_TEST(over_capacity_waits_for_room)
{
	setup(_i);
	int s        = start_server();
	extra_arg[0] = "--max-light";
	extra_arg[1] = "1";
	start_worker();
	wait_owned_with_workers(1);
	int64_t slow
	    = save_job("{\"mode\":\"BASE\",\"sleepMs\":1000}", 0, 0, 0, "");
	int64_t fast = save_job("", 0, 0, 0, "");
	int64_t a    = run_job(s, slow);
	WAIT_STATUS(a, PJ_INST_RUNNING, 5000);
	usleep(300000); /* a heartbeat says overloaded */
	int64_t b = run_job(s, fast);
	WAIT_STATUS(a, PJ_INST_SUCCEED, 5000);
	WAIT_STATUS(b, PJ_INST_SUCCEED, 8000);
	struct pj_instance ia, ib;
	get_instance(a, &ia);
	get_instance(b, &ib);
	ck_assert_int_ge(ib.actual_trigger_time, ia.finished_time - 50);
	pj_instance_fini(&ia);
	pj_instance_fini(&ib);
	teardown();
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("worker_multiprocess");
	TCase *tc = tcase_create("worker_multiprocess");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(
	    tc, standalone_succeeds_with_result_and_online_logs, 0, 2);
	tcase_add_loop_test(tc, error_mode_is_retried_then_failed, 0, 2);
	tcase_add_loop_test(tc, task_retry_succeeds_on_the_last_retry, 0, 2);
	tcase_add_loop_test(
	    tc, stop_from_the_server_stops_the_processor, 0, 2);
	tcase_add_loop_test(
	    tc, instance_timeout_interrupts_the_processor, 0, 2);
	tcase_add_loop_test(tc, wrong_secret_exits_3_with_the_reason, 0, 2);
	tcase_add_loop_test(tc, worker_killed_mid_instance_is_failed, 0, 2);
	tcase_add_loop_test(tc, worker_follows_its_app_to_the_new_owner, 0, 2);
	tcase_add_loop_test(tc, sigterm_reports_the_running_instance, 0, 2);
	tcase_add_loop_test(tc, over_capacity_waits_for_room, 0, 2);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
