/*
 * t/worker_exec_multiprocess_test.c - every execution type end to end
 * through real pj-server and pj-worker processes on 127.0.0.1 (the
 * fixture of t/workerutil.h), on SQLite and on the private MariaDB:
 *
 *   - SHELL and PYTHON scripts: the parameters reach the script, its
 *     output is the result and the online log, the exit code decides;
 *   - MAP_REDUCE with the example plugin wordcount (build/plugins) over
 *     two workers;
 *   - MAP with the built-in verify processor: the sub-tasks run on both
 *     workers (their online log lines name both);
 *   - BROADCAST with the example plugin broadcast_hello: one run per
 *     worker, pre- and post-processing on the tracker's;
 *   - kill -9 of the worker that runs ProcessorTracker tasks during a
 *     map-reduce: the TaskTracker gives its tasks to the other worker and
 *     the instance still succeeds;
 *   - kill -9 of the TaskTracker's worker: the server retries the
 *     instance per instance_retry_num on the survivor; never left
 *     RUNNING.
 *
 * Design notes (threads): as t/workerutil.h; the test waits on the store.
 */
#include "t/workerutil.h"

static char plugin_dir[512];

/* Servers and two workers with the plugins and fast heavy-tracker
 * checks; returns the owner's index. */
static int
cluster(int mysql, int workers)
{
	const char *bin = getenv("PJ_BIN") ? getenv("PJ_BIN") : "build/bin";

	setup(mysql);
	snprintf(plugin_dir, sizeof(plugin_dir), "%s/../plugins", bin);
	suite_args[0] = "--plugin-dir";
	suite_args[1] = plugin_dir;
	suite_args[2] = "--tracker-check-ms";
	suite_args[3] = "300";
	suite_args[4] = "--pt-timeout-ms";
	suite_args[5] = "2000";
	suite_args[6] = "--pt-heartbeat-ms";
	suite_args[7] = "200";
	suite_args[8] = NULL;
	start_server();
	for (int i = 0; i < workers; i++) {
		start_worker();
	}
	return wait_owned_with_workers((size_t) workers);
}

static void
get_result(int64_t id, char *buf, size_t n)
{
	struct pj_instance i;

	get_instance(id, &i);
	snprintf(buf, n, "%s", i.result ? i.result : "");
	pj_instance_fini(&i);
}

/* Distinct worker addresses on the instance's online log lines, and
 * whether some line contains needle. */
static int
log_workers(int64_t id, const char *needle, bool *found)
{
	struct pj_log_list l = { 0 };
	char               seen[4][320];
	int                n = 0;

	*found = needle == NULL;
	ck_assert_int_eq(pj_store_logs_read(store, id, 0, 0, 5000, &l), 0);
	for (size_t k = 0; k < l.n; k++) {
		const char *w   = l.v[k].worker_address;
		bool        dup = false;

		if (needle != NULL && strstr(l.v[k].content, needle) != NULL) {
			*found = true;
		}
		for (int j = 0; j < n; j++) {
			dup = dup || strcmp(seen[j], w) == 0;
		}
		if (!dup && n < 4) {
			snprintf(seen[n++], sizeof(seen[0]), "%s", w);
		}
	}
	pj_log_list_fini(&l);
	return n;
}

static void
scripts(int mysql)
{
	char    res[4096];
	bool    found;
	int     s = cluster(mysql, 1);
	int64_t sh, py, id;

	sh = save_job_as(1, 2,
	    "echo \"hello $PJ_JOB_PARAMS from job $PJ_JOB_ID\"; "
	    "echo warned >&2; exit 0",
	    "world", 0, 0, 0, "");
	id = run_job(s, sh);
	WAIT_STATUS(id, 5, 15000);
	get_result(id, res, sizeof(res));
	ck_assert_msg(strstr(res, "hello world from job") != NULL, "%s", res);
	ck_assert_msg(strstr(res, "[ERROR]: warned") != NULL, "%s", res);
	/* stdout reached the online log */
	int64_t dl = ar_mono_ms() + 5000;
	do {
		log_workers(id, "hello world", &found);
	} while (!found && ar_mono_ms() < dl && usleep(50000) == 0);
	ck_assert(found);

	/* python: the exit code decides */
	py = save_job_as(1, 3,
	    "import os, sys\nprint('params', os.environ['PJ_JOB_PARAMS'])\n"
	    "sys.exit(3)\n",
	    "p1", 0, 0, 0, "");
	id = run_job(s, py);
	WAIT_STATUS(id, 4, 15000);
	get_result(id, res, sizeof(res));
	ck_assert_msg(strstr(res, "params p1") != NULL, "%s", res);
	ck_assert_msg(strstr(res, "3") != NULL, "%s", res);
}

START_TEST(shell_and_python_scripts)
{
	scripts(_i);
	teardown();
}
END_TEST

static void
wordcount(int mysql)
{
	char    text[8192] = "", res[4096];
	int     s          = cluster(mysql, 2);
	int64_t job, id;

	/* 600 words: "the" 300 times, "cat" 200, "dog" 100 */
	for (int i = 0; i < 100; i++) {
		strcat(text, "the cat the dog the cat ");
	}
	job = save_job_as(
	    3, 4, "wordcount:chunk=64,top=3", text, 0, 0, 0, "");
	id = run_job(s, job);
	WAIT_STATUS(id, 5, 30000);
	get_result(id, res, sizeof(res));
	ck_assert_msg(strstr(res, "words=600") != NULL, "%s", res);
	ck_assert_msg(strstr(res, "the=300") != NULL, "%s", res);
	ck_assert_msg(strstr(res, "cat=200") != NULL, "%s", res);
}

START_TEST(map_reduce_wordcount_plugin_on_two_workers)
{
	wordcount(_i);
	teardown();
}
END_TEST

static void
map_on_both(int mysql)
{
	char    res[4096];
	bool    found;
	int     s = cluster(mysql, 2);
	int64_t job, id;

	job = save_job_as(4, 1, "verify",
	    "{\"mode\":\"MR\",\"batchSize\":50,\"batchNum\":4,\"sleepMs\":5}",
	    0, 0, 0, "");
	id = run_job(s, job);
	WAIT_STATUS(id, 5, 30000);
	get_result(id, res, sizeof(res));
	ck_assert_msg(
	    strstr(res, "total:201,succeed:201,failed:0") != NULL, "%s", res);
	/* the sub-tasks' log lines come from both workers */
	int64_t dl = ar_mono_ms() + 5000;
	while (log_workers(id, NULL, &found) < 2 && ar_mono_ms() < dl) {
		usleep(50000);
	}
	ck_assert_int_eq(log_workers(id, NULL, &found), 2);
}

START_TEST(map_runs_on_both_workers)
{
	map_on_both(_i);
	teardown();
}
END_TEST

static void
broadcast(int mysql)
{
	char    params[600], path[512], res[4096], line[512];
	int     s = cluster(mysql, 2), lines = 0;
	int64_t job, id;
	FILE   *f;

	snprintf(path, sizeof(path), "%s/broadcast.txt", tmpdir);
	snprintf(params, sizeof(params), "file:%s", path);
	job = save_job_as(2, 4, "broadcast_hello", params, 0, 0, 0, "");
	id  = run_job(s, job);
	WAIT_STATUS(id, 5, 30000);
	get_result(id, res, sizeof(res));
	ck_assert_msg(strstr(res, "0 failed") != NULL, "%s", res);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		lines++;
	}
	fclose(f);
	ck_assert_int_eq(lines, 2); /* one run on each worker */
}

START_TEST(broadcast_plugin_runs_once_per_worker)
{
	broadcast(_i);
	teardown();
}
END_TEST

/* the index of the worker whose address the instance recorded as its
 * TaskTracker, or -1 */
static int
tracker_of(int64_t id)
{
	struct pj_instance i;
	int                w = -1;

	get_instance(id, &i);
	for (int k = 0; k < nwrk; k++) {
		if (i.task_tracker_address != NULL
		    && strstr(i.task_tracker_address, wrk[k].self) != NULL) {
			w = k;
		}
	}
	pj_instance_fini(&i);
	return w;
}

static int64_t
long_map_reduce(int s, int retries)
{
	int64_t job = save_job_as(3, 1, "verify",
	    "{\"mode\":\"MR\",\"batchSize\":100,\"batchNum\":8,"
	    "\"sleepMs\":15}",
	    retries, 0, 0, "");
	int64_t id = run_job(s, job);

	WAIT_STATUS(id, 3, 15000);
	return id;
}

static void
pt_killed(int mysql)
{
	char    res[4096];
	int     s = cluster(mysql, 2), tt;
	int64_t id;

	id = long_map_reduce(s, 0);
	ck_assert_int_ge(tt = tracker_of(id), 0);
	usleep(500000); /* the other worker holds tasks now */
	kill_proc(&wrk[1 - tt], SIGKILL);
	WAIT_STATUS(id, 5, 40000);
	get_result(id, res, sizeof(res));
	ck_assert_msg(
	    strstr(res, "reduce total=801 succeed=801 failed=0") != NULL,
	    "%s", res);
}

START_TEST(processor_worker_killed_mid_map_reduce_still_succeeds)
{
	pt_killed(_i);
	teardown();
}
END_TEST

static void
tt_killed(int mysql)
{
	struct pj_instance i;
	int                s = cluster(mysql, 2), tt;
	int64_t            id;

	id = long_map_reduce(s, 1);
	ck_assert_int_ge(tt = tracker_of(id), 0);
	kill_proc(&wrk[tt], SIGKILL);
	/* the server's RUNNING check (2 s here) retries it on the survivor */
	WAIT_STATUS(id, 5, 45000);
	get_instance(id, &i);
	ck_assert_int_eq(i.running_times, 2);
	ck_assert_int_eq(tracker_of(id), 1 - tt);
	pj_instance_fini(&i);
}

START_TEST(tracker_worker_killed_mid_map_reduce_is_retried)
{
	tt_killed(_i);
	teardown();
}
END_TEST

static Suite *
suite(void)
{
	Suite *su = suite_create("worker_exec_multiprocess");
	TCase *tc = tcase_create("exec");

	tcase_set_timeout(tc, 120);
	/* _i: 0 SQLite, 1 MariaDB */
	tcase_add_loop_test(tc, shell_and_python_scripts, 0, 2);
	tcase_add_loop_test(tc, map_reduce_wordcount_plugin_on_two_workers, 0, 2);
	tcase_add_loop_test(tc, map_runs_on_both_workers, 0, 2);
	tcase_add_loop_test(tc, broadcast_plugin_runs_once_per_worker, 0, 2);
	tcase_add_loop_test(
	    tc, processor_worker_killed_mid_map_reduce_still_succeeds, 0, 2);
	tcase_add_loop_test(
	    tc, tracker_worker_killed_mid_map_reduce_is_retried, 0, 2);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int      failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
