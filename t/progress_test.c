/*
 * t/progress_test.c - the owner's task counts table (server/sched/
 * progress.c): latest report wins, older ones change nothing, the finished
 * ring keeps the last counts of recent endings and forgets the oldest, an
 * instance run again is not forgotten by its old ending, the running bound
 * and the sweep of entries nobody reported on, and writers and readers on
 * several threads at once.
 *
 * Design notes (threads): the last test starts plain pthreads; each test
 * runs in its own Check fork.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>

#include "server/sched/progress.h"

static struct pj_task_counts
get(struct pj_progress *p, int64_t id, bool *found)
{
	struct pj_task_counts c = { 0 };
	*found                  = pj_progress_get(p, id, &c);
	return c;
}

START_TEST(latest_report_wins)
{
	struct pj_progress   *p = pj_progress_new(0, 0);
	struct pj_task_counts c;
	bool                  found;
	size_t                run, fin;

	c = get(p, 7, &found);
	ck_assert(!found);
	pj_progress_update(p, 7, 10, 2, 1, 1000, 1000);
	c = get(p, 7, &found);
	ck_assert(found);
	ck_assert_int_eq(c.total, 10);
	ck_assert_int_eq(c.succeeded, 2);
	ck_assert_int_eq(c.failed, 1);
	ck_assert_int_eq(c.report_time, 1000);
	ck_assert(!c.finished);
	pj_progress_update(p, 7, 10, 1, 0, 900, 1001); /* older: ignored */
	c = get(p, 7, &found);
	ck_assert_int_eq(c.succeeded, 2);
	pj_progress_update(p, 7, 12, 12, 0, 1100, 1100);
	pj_progress_finish(p, 7);
	c = get(p, 7, &found);
	ck_assert(found && c.finished);
	ck_assert_int_eq(c.total, 12);
	ck_assert_int_eq(c.succeeded, 12);
	pj_progress_size(p, &run, &fin);
	ck_assert_int_eq(run, 0);
	ck_assert_int_eq(fin, 1);
	pj_progress_finish(p, 8); /* never reported: nothing */
	pj_progress_drop(p, 7);
	c = get(p, 7, &found);
	ck_assert(!found);
	/* none kept: every call is harmless */
	pj_progress_update(NULL, 1, 1, 1, 1, 1, 1);
	pj_progress_finish(NULL, 1);
	pj_progress_drop(NULL, 1);
	ck_assert(!pj_progress_get(NULL, 1, &c));
	pj_progress_free(NULL);
	pj_progress_free(p);
}
END_TEST

START_TEST(finished_ring_forgets_the_oldest)
{
	struct pj_progress   *p = pj_progress_new(100, 4);
	struct pj_task_counts c;
	bool                  found;
	size_t                run, fin;

	for (int64_t id = 1; id <= 1000; id++) {
		pj_progress_update(p, id, id, id, 0, 1, 1);
		pj_progress_finish(p, id);
		pj_progress_size(p, &run, &fin);
		ck_assert_int_le(fin, 4);
	}
	c = get(p, 996, &found);
	ck_assert(!found);
	c = get(p, 997, &found);
	ck_assert(found && c.finished && c.total == 997);
	ck_assert(get(p, 1000, &found).total == 1000 && found);

	/* 997 runs again (a retry by hand): its old ending, pushed out of
	 * the ring, must not forget the running entry */
	pj_progress_update(p, 997, 3, 0, 0, 2, 2);
	for (int64_t id = 2001; id <= 2004; id++) {
		pj_progress_update(p, id, 1, 1, 0, 1, 1);
		pj_progress_finish(p, id);
	}
	c = get(p, 997, &found);
	ck_assert(found && !c.finished && c.total == 3);
	pj_progress_finish(p, 997);
	c = get(p, 997, &found);
	ck_assert(found && c.finished);
	pj_progress_size(p, &run, &fin);
	ck_assert_int_eq(run, 0);
	ck_assert_int_eq(fin, 4);
	pj_progress_free(p);
}
END_TEST

START_TEST(running_bound_and_sweep)
{
	struct pj_progress *p = pj_progress_new(3, 0);
	bool                found;
	size_t              run, fin;
	int64_t             t0 = 1000000;

	for (int64_t id = 1; id <= 3; id++) {
		pj_progress_update(p, id, 1, 0, 0, t0, t0);
	}
	pj_progress_update(p, 4, 1, 0, 0, t0, t0 + 1); /* full: not kept */
	get(p, 4, &found);
	ck_assert(!found);
	/* 1 and 2 keep reporting; 3 went silent */
	int64_t later = t0 + PJ_PROGRESS_STALE_MS + 1;
	pj_progress_update(p, 1, 2, 1, 0, later - 10, later - 10);
	pj_progress_update(p, 2, 2, 1, 0, later - 10, later - 10);
	pj_progress_update(p, 4, 1, 0, 0, later, later); /* sweeps 3 */
	get(p, 4, &found);
	ck_assert(found);
	get(p, 3, &found);
	ck_assert(!found);
	get(p, 1, &found);
	ck_assert(found);
	pj_progress_size(p, &run, &fin);
	ck_assert_int_eq(run, 3);
	pj_progress_free(p);
	/* an instance that ran again counts against the bound too */
	p = pj_progress_new(2, 0);
	pj_progress_update(p, 1, 1, 1, 0, t0, t0);
	pj_progress_finish(p, 1);
	pj_progress_update(p, 2, 1, 0, 0, t0, t0);
	pj_progress_update(p, 3, 1, 0, 0, t0, t0);
	pj_progress_update(p, 1, 5, 0, 0, t0 + 1, t0 + 1); /* full */
	get(p, 1, &found);
	ck_assert(!found);
	pj_progress_size(p, &run, &fin);
	ck_assert_int_eq(run, 2);
	ck_assert_int_eq(fin, 0);
	/* many instances: the table grows */
	pj_progress_free(p);
	p = pj_progress_new(0, 0);
	for (int64_t id = 1; id <= 20000; id++) {
		pj_progress_update(p, id * 7919, id, 0, 0, 1, 1);
	}
	for (int64_t id = 1; id <= 20000; id++) {
		ck_assert_int_eq(get(p, id * 7919, &found).total, id);
	}
	pj_progress_free(p);
}
END_TEST

static struct pj_progress *shared;

static void *
writer(void *arg)
{
	int64_t base = (int64_t) (intptr_t) arg * 100000;
	for (int64_t k = 0; k < 5000; k++) {
		int64_t id = base + k % 500;
		pj_progress_update(shared, id, k, k / 2, 0, k, k);
		if (k % 7 == 0) {
			pj_progress_finish(shared, id);
		}
		if (k % 13 == 0) {
			pj_progress_drop(shared, id);
		}
	}
	return NULL;
}

static void *
reader(void *arg)
{
	struct pj_task_counts c;
	long                  n = 0;
	(void) arg;
	for (int64_t k = 0; k < 10000; k++) {
		n += pj_progress_get(shared, (k % 4) * 100000 + k % 500, &c);
	}
	return (void *) n;
}

START_TEST(threads_at_once)
{
	pthread_t w[4], r[2];
	size_t    run, fin;
	shared = pj_progress_new(1000, 100);
	for (int k = 0; k < 4; k++) {
		ck_assert_int_eq(
		    pthread_create(&w[k], NULL, writer, (void *) (intptr_t) k),
		    0);
	}
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(pthread_create(&r[k], NULL, reader, NULL), 0);
	}
	for (int k = 0; k < 4; k++) {
		pthread_join(w[k], NULL);
	}
	for (int k = 0; k < 2; k++) {
		pthread_join(r[k], NULL);
	}
	pj_progress_size(shared, &run, &fin);
	ck_assert_int_le(run, 1000);
	ck_assert_int_le(fin, 100);
	pj_progress_free(shared);
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("progress");
	TCase *tc = tcase_create("progress");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, latest_report_wins);
	tcase_add_test(tc, finished_ring_forgets_the_oldest);
	tcase_add_test(tc, running_bound_and_sweep);
	tcase_add_test(tc, threads_at_once);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
