/*
 * gateway_tasks_multiprocess_test.c - instance detail with task counts and
 * the progress of `pjctl instance wait` (issue 12), end to end: a real
 * pj-server with its gateway, a real pj-worker with the test plugins, and
 * pjctl as a child process (t/gatewayutil.h).
 *
 *  - a MAP_REDUCE instance (the test plugin gatedmap, whose sub-tasks wait
 *    for a file, so the test sees the middle of the run without sleeping):
 *    its detail carries the task counts while it runs (table and --json)
 *    and at the end (succeeded == total > 1), and `pjctl instance wait`
 *    with stdout not a terminal prints one progress line per change, then
 *    the result, exit 0.
 *
 * Design notes (threads): the test's thread only; the waiting pjctl is a
 * child process writing into a file.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t/gatewayutil.h"

/* ---- task counts
 * ------------------------------------------------------------------ */

/* The instance's detail as JSON (the "instance" object; json_decref the
 * returned reply). */
static json_t *
detail_json(const char *inst, json_t **reply)
{
	OK(PJCTL("instance", "detail", inst, "--json"));
	ck_assert_ptr_nonnull(*reply = json_loads(out, 0, NULL));
	return json_object_get(*reply, "instance");
}

static long long
jnum(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

START_TEST(map_reduce_task_counts_and_wait_progress)
{
	char      id[32], inst[32], gatef[400], waitf[400];
	long long total = 0, ok = 0, done, all;
	json_t   *r, *i;
	pid_t     waiter;
	int       st;
	setup(_i);
	start_server();
	start_pj_worker(0);
	for (int k = 0; k < 100; k++) {
		if (PJCTL("worker", "list") == 0
		    && strstr(out, "pjworker") != NULL) {
			break;
		}
		usleep(100000);
	}
	HAS("pjworker");
	snprintf(gatef, sizeof(gatef), "%s/gate", tmpdir);
	snprintf(waitf, sizeof(waitf), "%s/wait.out", tmpdir);
	OK(PJCTL("job", "save", "--name", "gated", "--execute", "map-reduce",
	    "--processor", "external", "--processor-info", "gatedmap:n=4",
	    "--params", gatef, "--concurrency", "8")); /* none queued */
	snprintf(id, sizeof(id), "%lld", number_after("job "));
	OK(PJCTL("job", "run", id));
	snprintf(inst, sizeof(inst), "%lld", number_after("instance "));
	waiter = pjctl_spawn(
	    waitf, "instance", "wait", inst, "--timeout-s", "120");

	/* running: the root and sub-task 0 done, three sub-tasks at the
	 * gate (counts come with the tracker's next report) */
	for (int k = 0; k < 600; k++) {
		i     = detail_json(inst, &r);
		total = jnum(i, "total_task_num");
		ok    = jnum(i, "succeed_task_num");
		if (total >= 5 && ok >= 2) {
			break;
		}
		json_decref(r);
		usleep(50000);
	}
	ck_assert_int_eq(total, 5);
	ck_assert_int_eq(ok, 2);
	ck_assert_int_eq(jnum(i, "status"), 3); /* RUNNING */
	ck_assert_int_eq(jnum(i, "execute_type"), 3);
	ck_assert_int_eq(jnum(i, "failed_task_num"), 0);
	ck_assert_int_gt(jnum(i, "task_counts_time"), 0);
	json_decref(r);
	OK(PJCTL("instance", "detail", inst));
	HAS("execute         MAP_REDUCE");
	HAS("tasks           5 total, 2 succeeded, 0 failed, 3 unfinished");
	/* the waiter's progress line for it */
	for (int k = 0; k < 600; k++) {
		slurp(waitf);
		if (strstr(out, "running  tasks 2/5") != NULL) {
			break;
		}
		usleep(50000);
	}
	HAS("running  tasks 2/5\n");

	/* open the gate: the instance ends, every task succeeded */
	fclose(fopen(gatef, "w"));
	ck_assert_int_eq(waitpid(waiter, &st, 0), waiter);
	slurp(waitf);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
	const char *fin = strstr(out, "succeed  tasks ");
	ck_assert_msg(fin != NULL, "%s", out);
	ck_assert_int_eq(sscanf(fin + 15, "%lld/%lld", &done, &all), 2);
	ck_assert_int_gt(all, 1);
	ck_assert_int_eq(done, all);
	ck_assert_ptr_null(strchr(out, '\r')); /* not a terminal */
	HAS("result: gatedmap: ");
	i = detail_json(inst, &r);
	ck_assert_int_eq(jnum(i, "status"), 5);
	ck_assert_int_eq(jnum(i, "total_task_num"), all);
	ck_assert_int_eq(jnum(i, "succeed_task_num"), all);
	ck_assert_int_eq(jnum(i, "failed_task_num"), 0);
	json_decref(r);

	/* retried (the gate shut again): the last run's counts are gone at
	 * once, the new run's come with its reports */
	ck_assert_int_eq(unlink(gatef), 0);
	OK(PJCTL("instance", "retry", inst));
	i = detail_json(inst, &r);
	ck_assert_msg(jnum(i, "task_counts_time") == 0
	        || jnum(i, "succeed_task_num") < all,
	    "the last run's counts after a retry: %s", out);
	json_decref(r);
	fclose(fopen(gatef, "w"));
	OK(PJCTL("instance", "wait", inst, "--timeout-s", "120"));
	HAS("succeed  tasks ");
	teardown();
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("gateway_tasks_multiprocess");
	TCase *tc = tcase_create("gateway_tasks_multiprocess");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(
	    tc, map_reduce_task_counts_and_wait_progress, 0, 2);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
