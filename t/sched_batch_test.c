/*
 * t/sched_batch_test.c - the store's batched calls of the scheduler's hot
 * paths, on a real SQLite file and on the private MariaDB: the rows of a
 * batch of status reports with their jobs' fields (pj_store_report_rows),
 * a Fire's stale jobs (pj_store_jobs_get), and a batch of report
 * transitions grouped into one UPDATE per (from, to, mask) with a
 * conflict falling back to one statement each (pj_store_instances_apply).
 *
 * Design notes (threads): none started; each test runs in its own Check
 * fork.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2023-11-14T22:13:20Z, a whole second */
#define NOW 1700000000000LL
#include "t/schedstore.h"
#include "server/store/store_sched.h"

#define N_ROWS 600 /* past two read chunks of 256 */

/* N_ROWS WAITING_DISPATCH rows, job a for even k and job b for odd;
 * ids[k] their instance ids. */
static void
make_rows(struct pj_store *s, int64_t app, int64_t a, int64_t b,
    int64_t *ids)
{
	struct pj_instance *v = calloc(N_ROWS, sizeof(*v));
	for (int k = 0; k < N_ROWS; k++) {
		ids[k]                   = 1000000 + 7 * k;
		v[k].instance_id         = ids[k];
		v[k].job_id              = k % 2 ? b : a;
		v[k].app_id              = app;
		v[k].status              = PJ_INST_WAITING_DISPATCH;
		v[k].fire_time           = NOW + k;
		v[k].expected_trigger_time = NOW + k;
		v[k].last_report_time    = -1;
	}
	ck_assert_int_eq(pj_store_instances_create(s, v, N_ROWS, NOW), 0);
	free(v);
}

static int64_t
frequent_job(struct pj_store *s, int64_t app)
{
	struct pj_job j        = { 0 };
	int64_t       id       = 0;
	j.app_id               = app;
	j.job_name             = "f";
	j.time_expression_type = 3; /* FIXED_RATE */
	j.time_expression      = "1000";
	j.time_zone            = "UTC";
	j.status               = PJ_STATUS_ENABLE;
	j.execute_type         = 1;
	j.processor_type       = 1;
	j.instance_retry_num   = 2;
	ck_assert_int_eq(pj_store_job_save(s, &j, NOW, &id), 0);
	return id;
}

static void
report_rows_body(bool mysql)
{
	struct pj_store *s = open_store(mysql);
	int64_t          app = 0, ids[N_ROWS + 2];
	ck_assert_int_eq(pj_store_app_create(s, "a", "pw", "", NOW, &app), 0);
	int64_t cron = save_job(s, app, "* * * * * ?", 0, NOW);
	int64_t freq = frequent_job(s, app);
	make_rows(s, app, cron, freq, ids);
	ids[N_ROWS]     = 42;      /* no such instance */
	ids[N_ROWS + 1] = ids[17]; /* named twice */
	struct pj_report_rows r;
	ck_assert_int_eq(pj_store_report_rows(s, ids, N_ROWS + 2, &r), 0);
	ck_assert_uint_eq(r.rows.n, N_ROWS);
	int seen[N_ROWS] = { 0 };
	for (size_t k = 0; k < r.rows.n; k++) {
		const struct pj_instance *i = &r.rows.v[k];
		int at = (int) (i->instance_id - 1000000) / 7;
		ck_assert(at >= 0 && at < N_ROWS && ids[at] == i->instance_id);
		seen[at]++;
		ck_assert_int_eq(i->status, PJ_INST_WAITING_DISPATCH);
		ck_assert_int_eq(i->fire_time, NOW + at);
		ck_assert(r.job[k].job_found);
		if (i->job_id == freq) {
			ck_assert_int_eq(r.job[k].retry_num, 2);
			ck_assert_int_eq(r.job[k].time_type, 3);
		} else {
			ck_assert_int_eq(i->job_id, cron);
			ck_assert_int_eq(r.job[k].retry_num, 0);
			ck_assert_int_eq(r.job[k].time_type, PJ_TIME_CRON);
		}
	}
	for (int k = 0; k < N_ROWS; k++) {
		ck_assert_int_eq(seen[k], 1);
	}
	pj_report_rows_fini(&r);
	/* a deleted job: the row comes back, job_found false */
	ck_assert_int_eq(pj_store_job_set_status(s, freq, PJ_STATUS_DELETED, NOW), 0);
	int64_t one = ids[1];
	ck_assert_int_eq(pj_store_report_rows(s, &one, 1, &r), 0);
	ck_assert_uint_eq(r.rows.n, 1);
	ck_assert(r.job[0].job_found); /* deleted is a status: still a row */
	pj_report_rows_fini(&r);
	/* jobs in one call: the ones that exist */
	int64_t          jids[] = { cron, 99999, freq, cron };
	struct pj_job_list jl;
	ck_assert_int_eq(pj_store_jobs_get(s, jids, 4, &jl), 0);
	ck_assert_uint_eq(jl.n, 2);
	ck_assert(jl.v[0].id == cron || jl.v[1].id == cron);
	ck_assert(jl.v[0].id == freq || jl.v[1].id == freq);
	pj_job_list_fini(&jl);
	close_store(s, mysql);
}

START_TEST(report_rows_sqlite)
{
	report_rows_body(false);
}
END_TEST

START_TEST(report_rows_mariadb)
{
	report_rows_body(true);
}
END_TEST

/* 2 -> 5 (SUCCEED with per-row values) for k % 3 != 0, 2 -> 3 (RUNNING)
 * for k % 3 == 0: two groups, each more than one UPDATE chunk. */
static void
fill(struct pj_transition *t, const int64_t *ids, int n)
{
	memset(t, 0, n * sizeof(*t));
	for (int k = 0; k < n; k++) {
		t[k].instance_id = ids[k];
		t[k].from        = PJ_INST_WAITING_WORKER_RECEIVE;
		t[k].set.last_report_time = NOW + 100 + k;
		t[k].set.running_times    = 1 + k % 4;
		t[k].mask = PJ_SET_LAST_REPORT | PJ_SET_RUNNING_TIMES;
		if (k % 3 != 0) {
			t[k].to = PJ_INST_SUCCEED;
			t[k].set.result        = k % 2 ? "odd" : "even";
			t[k].set.finished_time = NOW + 200 + k;
			t[k].mask |= PJ_SET_RESULT | PJ_SET_FINISHED;
		} else {
			t[k].to = PJ_INST_RUNNING;
		}
	}
}

static void
check_rows(struct pj_store *s, const int64_t *ids, int n, int skip)
{
	for (int k = 0; k < n; k++) {
		struct pj_instance i;
		ck_assert_int_eq(pj_store_instance_get(s, ids[k], &i), 0);
		if (k == skip) {
			ck_assert_int_eq(i.status, PJ_INST_FAILED);
			pj_instance_fini(&i);
			continue;
		}
		ck_assert_int_eq(i.last_report_time, NOW + 100 + k);
		ck_assert_int_eq(i.running_times, 1 + k % 4);
		if (k % 3 != 0) {
			ck_assert_int_eq(i.status, PJ_INST_SUCCEED);
			ck_assert_str_eq(i.result, k % 2 ? "odd" : "even");
			ck_assert_int_eq(i.finished_time, NOW + 200 + k);
		} else {
			ck_assert_int_eq(i.status, PJ_INST_RUNNING);
			ck_assert_str_eq(i.result, "");
		}
		pj_instance_fini(&i);
	}
}

static void
apply_body(bool mysql)
{
	struct pj_store *s = open_store(mysql);
	int64_t          app = 0, ids[N_ROWS], moved = 0;
	ck_assert_int_eq(pj_store_app_create(s, "a", "pw", "", NOW, &app), 0);
	int64_t job = save_job(s, app, "* * * * * ?", 0, NOW);
	make_rows(s, app, job, job, ids);
	struct pj_instance set   = { 0 };
	set.task_tracker_address = "pj://w@h:1";
	ck_assert_int_eq(pj_store_instances_transition(s, ids, N_ROWS, 1, 2,
	                     &set, PJ_SET_TT_ADDRESS, NOW, &moved),
	    0);
	ck_assert_int_eq(moved, N_ROWS);
	/* the first half: every transition moves */
	enum { H = N_ROWS / 2 };
	struct pj_transition *t = calloc(H, sizeof(*t));
	fill(t, ids, H);
	ck_assert_int_eq(pj_store_instances_apply(s, t, H, NOW + 300), 0);
	for (int k = 0; k < H; k++) {
		ck_assert_int_eq(t[k].rv, 0);
	}
	check_rows(s, ids, H, -1);
	/* the second half, one row moved meanwhile (a status check failed
	 * it): that one conflicts, every other one moves with its values */
	ck_assert_int_eq(pj_store_instance_transition(s, ids[H + 5], 2, 4,
	                     &set, 0, NOW + 250),
	    0);
	fill(t, &ids[H], H);
	ck_assert_int_eq(pj_store_instances_apply(s, t, H, NOW + 300), 0);
	for (int k = 0; k < H; k++) {
		ck_assert_int_eq(t[k].rv, k == 5 ? PJ_STORE_ECONFLICT : 0);
	}
	check_rows(s, &ids[H], H, 5);
	free(t);
	close_store(s, mysql);
}

START_TEST(apply_sqlite)
{
	apply_body(false);
}
END_TEST

START_TEST(apply_mariadb)
{
	apply_body(true);
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("sched_batch");
	TCase *tc = tcase_create("sched_batch");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, report_rows_sqlite);
	tcase_add_test(tc, report_rows_mariadb);
	tcase_add_test(tc, apply_sqlite);
	tcase_add_test(tc, apply_mariadb);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
