/*
 * t/sched_idset_test.c - the SchedulerActor's armed set (open addressing
 * with tombstones, actors/scheduler_actor.c): membership under the churn
 * of a schedule (each second's fires armed, then fired), and a bounded
 * table.  Before the set counted its tombstones, this churn filled every
 * empty slot and the next add probed forever (a server hung at 1,000
 * fires/s on MariaDB within two minutes).
 *
 * Design notes (threads): none.
 */
#include <check.h>
#include <stdlib.h>

#include "actors/scheduler_int.h"

START_TEST(armed_set_survives_churn)
{
	enum { LIVE = 1000, ROUNDS = 300 };
	struct idset s    = { 0 };
	int64_t      next = 1;
	for (int r = 0; r < ROUNDS; r++) {
		/* a second's fires armed, the oldest second's fired */
		for (int k = 0; k < LIVE; k++) {
			ck_assert(sched_idset_add(&s, next + k));
			ck_assert(!sched_idset_add(&s, next + k)); /* once */
		}
		if (r > 0) {
			for (int k = 0; k < LIVE; k++) {
				ck_assert(sched_idset_del(&s, next - LIVE + k));
			}
		}
		next += LIVE;
		ck_assert_uint_eq(s.n, LIVE);
		ck_assert(s.used * 2 <= s.cap);
	}
	/* the live ones are in, the fired ones are not */
	for (int k = 0; k < LIVE; k++) {
		ck_assert(sched_idset_has(&s, next - LIVE + k));
		ck_assert(!sched_idset_has(&s, next - 2 * LIVE + k));
	}
	/* the table follows the live ids, not the ids ever seen */
	ck_assert_uint_le(s.cap, 8 * 1024);
	free(s.k);
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("sched_idset");
	TCase *tc = tcase_create("sched_idset");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, armed_set_survives_churn);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
