/*
 * t/frequent_multiprocess_test.c - FIXED_RATE and FIXED_DELAY jobs end to
 * end (powerjob-design.md §5.9, §6.5): a real pj-server and real pj-worker
 * processes (build/bin) on 127.0.0.1, this process writing the jobs into
 * the store and reading what happened there.
 *
 * The server keeps one live instance per frequent job; the worker's
 * frequent TaskTracker launches its sub-instances at the rate (FIXED_RATE)
 * or the delay after the previous one ended (FIXED_DELAY, never two at
 * once).  What the tests read from the store: the instance rows (exactly
 * one live, RUNNING, its running_times = the TaskTracker's launches, its
 * result the last sub-instance's) and the online log table (one line per
 * sub-instance run: the verify processor's "task=<sub-instance>", or the
 * shell script's own start / end times in ms).  Rates are checked as
 * counts in a window of a few seconds with tolerant bounds (a loaded
 * machine under a sanitizer runs late, never early); the fixed delay's
 * "no overlap, at least the delay between runs" is exact, from the
 * script's own clock readings.  Killing the worker that runs the
 * TaskTracker (kill -9): the instance is failed after the report timeout
 * (2 s here) and a new one runs on the other worker.
 *
 * Disabling the job (through a server, like the OpenAPI) stops its
 * instance and its TaskTracker; SIGTERM to the worker reports the instance
 * FAILED before the worker exits, and a new one runs elsewhere.
 *
 * Loop index 0 = SQLite, 1 = MariaDB (PJ_TEST_MYSQL_URL, t/run.sh): the
 * rate and delay cases on both, the three others on one each (time).
 *
 * Design notes (threads): the runtime's threads deliver replies; the test
 * polls the store.  Children are killed in teardown whatever happened.
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

#define WINDOW_MS 4000 /* the rate is measured over this long */

static int64_t
save_frequent(int type, const char *every_ms, int processor_type,
    const char *info, const char *params)
{
	struct pj_job j        = { 0 };
	int64_t       id       = 0;
	j.app_id               = app_id;
	j.job_name             = "f";
	j.job_params           = (char *) params;
	j.time_expression_type = type;
	j.time_expression      = (char *) every_ms;
	j.time_zone            = "";
	j.lifecycle            = "";
	j.status               = 1;
	j.execute_type         = 1; /* STANDALONE: a heavy tracker anyway */
	j.processor_type       = processor_type;
	j.processor_info       = (char *) info;
	j.concurrency          = 5;
	ck_assert_int_eq(pj_store_job_save(store, &j, ar_now_ms(), &id), 0);
	return id;
}

/* One look at the job's instances: none or one live (asserted), its id,
 * status, running_times and TaskTracker (into tt, 64 bytes) when there is
 * one; returns the number of rows. */
struct look {
	size_t  rows;
	int64_t id; /* the live instance, 0 = none */
	int     status;
	int64_t runs;
	char    tt[64];
	char    result[256];
};

static struct look
look(int64_t job)
{
	struct pj_instance_query q = { .job_id = job, .limit = 1000 };
	struct pj_instance_list  l;
	struct look              k = { 0 };
	size_t                   live = 0;
	ck_assert_int_eq(pj_store_instance_list(store, &q, &l), 0);
	k.rows = l.n;
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].status > PJ_INST_RUNNING) {
			continue;
		}
		live++;
		k.id     = l.v[i].instance_id;
		k.status = l.v[i].status;
		k.runs   = l.v[i].running_times;
		snprintf(k.tt, sizeof(k.tt), "%s",
		    l.v[i].task_tracker_address ? l.v[i].task_tracker_address
		                                : "");
		snprintf(k.result, sizeof(k.result), "%s",
		    l.v[i].result ? l.v[i].result : "");
	}
	pj_instance_list_fini(&l);
	ck_assert_msg(live <= 1, "job %lld: %zu live instances",
	    (long long) job, live);
	return k;
}

/* Waits up to ms for the job's live instance to be RUNNING with at least
 * `runs` launches (other than `not`), checking at every look that there is
 * never more than one live; returns the look. */
static struct look
wait_running(int64_t job, int64_t not, int64_t runs, int ms)
{
	int64_t     dl = ar_mono_ms() + ms;
	struct look k;
	while ((k = look(job)).id == 0 || k.id == not
	    || k.status != PJ_INST_RUNNING || k.runs < runs) {
		ck_assert_msg(ar_mono_ms() < dl,
		    "job %lld: no RUNNING instance with %lld launches in %d "
		    "ms (live %lld status %d runs %lld)",
		    (long long) job, (long long) runs, ms, (long long) k.id,
		    k.status, (long long) k.runs);
		usleep(50000);
	}
	return k;
}

/* Watches the job for ms: one live instance all along, the same one
 * (id), RUNNING.  Returns the last look. */
static struct look
watch(int64_t job, int64_t id, int ms)
{
	int64_t     dl = ar_mono_ms() + ms;
	struct look k;
	do {
		usleep(100000);
		k = look(job);
		ck_assert_msg(k.id == id && k.status == PJ_INST_RUNNING,
		    "job %lld: live instance %lld status %d, not %lld RUNNING",
		    (long long) job, (long long) k.id, k.status,
		    (long long) id);
	} while (ar_mono_ms() < dl);
	return k;
}

/* The instance's online log lines (all of them). */
static void
read_logs(int64_t id, struct pj_log_list *all)
{
	struct pj_log_list page;
	int64_t            t = 0, lid = 0;
	memset(all, 0, sizeof(*all));
	for (;;) {
		ck_assert_int_eq(
		    pj_store_logs_read(store, id, t, lid, 1000, &page), 0);
		if (page.n == 0) {
			pj_log_list_fini(&page);
			return;
		}
		all->v = realloc(all->v, (all->n + page.n) * sizeof(*all->v));
		memcpy(all->v + all->n, page.v, page.n * sizeof(*page.v));
		all->n += page.n;
		t   = page.v[page.n - 1].log_time;
		lid = page.v[page.n - 1].id;
		free(page.v); /* the strings moved to all */
	}
}

/* verify's sub-instance runs among the lines: the highest sub-instance
 * seen (*max_sub); how many started in [t1, t2] (log time); asserts that
 * no sub-instance ran twice. */
static int
verify_runs(const struct pj_log_list *l, int64_t t1, int64_t t2,
    int64_t *max_sub)
{
	static char seen[100000];
	int         n = 0;
	memset(seen, 0, sizeof(seen));
	*max_sub = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *p = strstr(l->v[i].content, "mode=BASE task=");
		long long   sub;
		if (p == NULL || sscanf(p, "mode=BASE task=%lld", &sub) != 1
		    || sub <= 0 || sub >= (long long) sizeof(seen)) {
			continue;
		}
		ck_assert_msg(!seen[sub], "sub-instance %lld ran twice", sub);
		seen[sub] = 1;
		*max_sub  = sub > *max_sub ? sub : *max_sub;
		n += l->v[i].log_time >= t1 && l->v[i].log_time <= t2;
	}
	return n;
}

/* Waits up to ms until the instance's log holds verify runs of
 * sub-instance `sub` or later; returns the runs in [t1, t2]. */
static int
wait_verify_runs(int64_t id, int64_t sub, int64_t t1, int64_t t2, int ms)
{
	int64_t dl = ar_mono_ms() + ms, max = 0;
	int     n;
	for (;;) {
		struct pj_log_list l;
		read_logs(id, &l);
		n = verify_runs(&l, t1, t2, &max);
		pj_log_list_fini(&l);
		if (max >= sub || ar_mono_ms() >= dl) {
			break;
		}
		usleep(100000);
	}
	ck_assert_msg(max >= sub,
	    "instance %lld: sub-instance %lld never logged (last %lld)",
	    (long long) id, (long long) sub, (long long) max);
	return n;
}

/* ---- tests ---------------------------------------------------------------
 */

/* FIXED_RATE every 500 ms: one live instance, RUNNING all along; over a
 * window of WINDOW_MS about WINDOW_MS / 500 launches (running_times) and
 * as many verify runs in the log, each sub-instance once; the row's result
 * is the last sub-instance's. */
START_TEST(fixed_rate_runs_at_the_rate_with_one_live_instance)
{
	setup(_i);
	start_server();
	start_worker();
	wait_owned_with_workers(1);
	int64_t job = save_frequent(
	    PJ_TIME_FIXED_RATE, "500", 1, "verify", "{\"mode\":\"BASE\"}");
	struct look a  = wait_running(job, 0, 2, 20000);
	int64_t     t1 = ar_now_ms(), r1 = a.runs;
	struct look b  = watch(job, a.id, WINDOW_MS);
	int64_t     t2 = ar_now_ms(), r2 = b.runs;
	int64_t     want = (t2 - t1) / 500;
	fprintf(stderr, "fixed rate 500 ms: %lld launches in %lld ms\n",
	    (long long) (r2 - r1), (long long) (t2 - t1));
	/* late is possible, early is not (+3: the reports' lag at both
	 * ends, launch ticks queued behind a busy tracker; twice the rate
	 * would be 2 * want) */
	ck_assert_int_ge(r2 - r1, want / 2);
	ck_assert_int_le(r2 - r1, want + 3);
	int n = wait_verify_runs(a.id, r2, t1, t2, 20000);
	ck_assert_int_ge(n, want / 2);
	ck_assert_int_le(n, want + 3);
	ck_assert_msg(strstr(b.result, "verify") != NULL,
	    "result '%s' is not the last sub-instance's", b.result);
	teardown();
}
END_TEST

/* Parses the script's "run start MS" / "run end MS" lines into s[] / e[]
 * (sorted: one clock, and the runs are sequential); returns the number of
 * starts, *ne the ends. */
static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return x < y ? -1 : x > y;
}

static int
script_runs(int64_t id, int64_t *s, int64_t *e, int max, int *ne)
{
	struct pj_log_list l;
	int                ns = 0;
	*ne                   = 0;
	read_logs(id, &l);
	for (size_t i = 0; i < l.n; i++) {
		long long t;
		if (sscanf(l.v[i].content, "run start %lld", &t) == 1
		    && ns < max) {
			s[ns++] = t;
		} else if (sscanf(l.v[i].content, "run end %lld", &t) == 1
		    && *ne < max) {
			e[(*ne)++] = t;
		}
	}
	pj_log_list_fini(&l);
	qsort(s, (size_t) ns, sizeof(*s), cmp64);
	qsort(e, (size_t) *ne, sizeof(*e), cmp64);
	return ns;
}

/* FIXED_DELAY of 300 ms with a shell script that runs 400 ms: never two
 * runs at once, and each starts at least the delay after the previous one
 * ended (the script's own clock); about WINDOW_MS / 700 runs in the
 * window, no more than the delay allows. */
START_TEST(fixed_delay_never_overlaps)
{
	setup(_i);
	start_server();
	start_worker();
	wait_owned_with_workers(1);
	int64_t job = save_frequent(PJ_TIME_FIXED_DELAY, "300", 2,
	    "echo \"run start $(date +%s%3N)\"; sleep 0.4; "
	    "echo \"run end $(date +%s%3N)\"",
	    "");
	struct look a  = wait_running(job, 0, 1, 20000);
	int64_t     t1 = ar_now_ms(), r1 = a.runs;
	struct look b  = watch(job, a.id, WINDOW_MS);
	int64_t     t2 = ar_now_ms(), r2 = b.runs;
	/* every run that started in the window has ended and its lines are
	 * in: a run started after t2 is logged */
	int64_t s[200], e[200], dl = ar_mono_ms() + 20000;
	int     ns, ne;
	while ((ns = script_runs(a.id, s, e, 200, &ne)) == 0
	    || s[ns - 1] <= t2 || ne < ns - 1) {
		ck_assert_msg(ar_mono_ms() < dl, "no run after the window");
		usleep(100000);
	}
	int in = 0;
	for (int k = 0; k < ns; k++) {
		in += s[k] >= t1 && s[k] <= t2;
		if (k < ne) {
			ck_assert_msg(e[k] - s[k] >= 390, "run %d: %lld ms", k,
			    (long long) (e[k] - s[k]));
		}
		if (k + 1 < ns) { /* the next one after the end + the delay */
			ck_assert_msg(k < ne && s[k + 1] - e[k] >= 290,
			    "run %d started %lld ms after run %d ended", k + 1,
			    (long long) (k < ne ? s[k + 1] - e[k] : -1), k);
		}
	}
	fprintf(stderr,
	    "fixed delay 300 ms, runs of 400 ms: %d runs (%lld launches) in "
	    "%lld ms\n",
	    in, (long long) (r2 - r1), (long long) (t2 - t1));
	ck_assert_int_ge(in, (int) ((t2 - t1) / 700 / 3));
	ck_assert_int_le(in, (int) ((t2 - t1) / 700 + 1));
	ck_assert_int_le(r2 - r1, (t2 - t1) / 700 + 2);
	teardown();
}
END_TEST

/* Two workers; the one running the frequent TaskTracker is killed (-9):
 * the instance is FAILED after the report timeout (2 s) with the timeout
 * result, never more than one live instance, and a new instance runs on
 * the other worker at the rate. */
START_TEST(killed_worker_frequent_instance_runs_elsewhere)
{
	setup(_i);
	start_server();
	start_worker();
	start_worker();
	wait_owned_with_workers(2);
	int64_t job = save_frequent(
	    PJ_TIME_FIXED_RATE, "500", 1, "verify", "{\"mode\":\"BASE\"}");
	struct look a = wait_running(job, 0, 2, 20000);
	int         v = strcmp(a.tt, wrk[0].self) == 0 ? 0 : 1;
	ck_assert_str_eq(a.tt, wrk[v].self);
	kill_proc(&wrk[v], SIGKILL);
	int64_t dl = ar_mono_ms() + 20000;
	while (instance_status(a.id) != PJ_INST_FAILED) {
		ck_assert_msg(ar_mono_ms() < dl, "instance %lld not FAILED",
		    (long long) a.id);
		look(job); /* never two live */
		usleep(50000);
	}
	struct pj_instance i;
	get_instance(a.id, &i);
	ck_assert_str_eq(
	    i.result, "worker report timeout, maybe TaskTracker down");
	pj_instance_fini(&i);
	struct look b = wait_running(job, a.id, 3, 30000);
	ck_assert_str_eq(b.tt, wrk[1 - v].self);
	int64_t t1 = ar_now_ms(), r1 = b.runs;
	b          = watch(job, b.id, 2000);
	int64_t t2 = ar_now_ms();
	ck_assert_int_ge(b.runs - r1, (t2 - t1) / 500 / 2);
	wait_verify_runs(b.id, b.runs, 0, 0, 20000);
	teardown();
}
END_TEST


/* How many verify runs the instance logged after t (log time). */
static int64_t
runs_after(int64_t id, int64_t t)
{
	struct pj_log_list l;
	int64_t            n = 0;
	read_logs(id, &l);
	for (size_t i = 0; i < l.n; i++) {
		n += l.v[i].log_time > t
		    && strstr(l.v[i].content, "mode=BASE task=") != NULL;
	}
	pj_log_list_fini(&l);
	return n;
}

/* A frequent job disabled through a server (the OpenAPI's disable): its
 * live instance is STOPPED and its TaskTracker stops launching, and no new
 * instance is made (PowerJob's disableJob stops a frequent job's
 * instances). */
START_TEST(disabling_the_job_stops_its_instance)
{
	setup(_i);
	int s = start_server();
	start_worker();
	wait_owned_with_workers(1);
	int64_t job = save_frequent(
	    PJ_TIME_FIXED_RATE, "500", 1, "verify", "{\"mode\":\"BASE\"}");
	struct look          a = wait_running(job, 0, 2, 20000);
	Pj__Friend__OpReply *r = op(s, PJ__FRIEND__OP__DISABLE_JOB, job, 0);
	ck_assert_msg(r->code == 0, "disable: %s", r->message);
	pj__friend__op_reply__free_unpacked(r, NULL);
	WAIT_STATUS(a.id, PJ_INST_STOPPED, 10000);
	char stopped[100];
	snprintf(stopped, sizeof(stopped), "instance=%lld stopped:",
	    (long long) a.id);
	ck_assert_msg(wait_file_says(wrk[0].log, stopped, 10000),
	    "the TaskTracker was not stopped (%s)", wrk[0].log);
	int64_t t_stop = ar_now_ms();
	/* three launches' time: none, and no new instance */
	struct look k;
	int64_t     dl = ar_mono_ms() + 1500;
	do {
		usleep(100000);
		k = look(job);
		ck_assert_int_eq(k.id, 0);
		ck_assert_uint_eq(k.rows, 1);
	} while (ar_mono_ms() < dl);
	ck_assert_int_eq(runs_after(a.id, t_stop + 300), 0);
	teardown();
}
END_TEST

/* SIGTERM to the worker running a frequent TaskTracker: the instance is
 * reported FAILED before the worker exits 0 (the server's running timeout
 * is 60 s here, so nothing else ends it), and a new instance runs on the
 * other worker. */
START_TEST(sigterm_reports_the_frequent_instance)
{
	setup(_i);
	const char *const env[] = { "PJ_CHECK_INTERVAL_MS", "300",
		"PJ_WAIT_RECEIVE_MS", "2000", "PJ_RUNNING_TIMEOUT_MS", "60000",
		NULL };
	tu_srv_start(&srv[0], 0, tmpdir, dburl, env, NULL);
	nsrv = 1;
	start_worker();
	start_worker();
	wait_owned_with_workers(2);
	int64_t job = save_frequent(
	    PJ_TIME_FIXED_RATE, "500", 1, "verify", "{\"mode\":\"BASE\"}");
	struct look a = wait_running(job, 0, 2, 20000);
	int         v = strcmp(a.tt, wrk[0].self) == 0 ? 0 : 1, st;
	ck_assert_str_eq(a.tt, wrk[v].self);
	kill(wrk[v].pid, SIGTERM);
	ck_assert_int_eq(waitpid(wrk[v].pid, &st, 0), wrk[v].pid);
	wrk[v].pid = 0;
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	WAIT_STATUS(a.id, PJ_INST_FAILED, 5000);
	struct pj_instance i;
	get_instance(a.id, &i);
	ck_assert_msg(strstr(i.result, "SIGTERM") != NULL, "result '%s'",
	    i.result);
	pj_instance_fini(&i);
	struct look b = wait_running(job, a.id, 2, 30000);
	ck_assert_str_eq(b.tt, wrk[1 - v].self);
	teardown();
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("frequent_multiprocess");
	TCase *tc = tcase_create("frequent");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(
	    tc, fixed_rate_runs_at_the_rate_with_one_live_instance, 0, 2);
	tcase_add_loop_test(tc, fixed_delay_never_overlaps, 0, 2);
	/* the worker-side cases on one backend each (time) */
	tcase_add_loop_test(
	    tc, killed_worker_frequent_instance_runs_elsewhere, 1, 2);
	tcase_add_loop_test(tc, disabling_the_job_stops_its_instance, 0, 1);
	tcase_add_loop_test(tc, sigterm_reports_the_frequent_instance, 0, 1);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
