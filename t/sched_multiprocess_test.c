/*
 * t/sched_multiprocess_test.c - the scheduler end to end (fixture:
 * t/schedutil.h): a worker killed mid-instance is failed by the status
 * check, never left RUNNING; a frequent job keeps one live instance; run,
 * stop, cancel and retry go through a server that does not own the app; a
 * run with a delay fires then, also after its owner died, with its
 * parameters; enable, disable and delete take effect at once.  Each on
 * SQLite with the test worker and on MariaDB with pj-worker.  The CRON and
 * owner-failover runs are t/sched_failover_multiprocess_test.c.
 */
#include "t/schedutil.h"

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
	start_worker(NULL, NULL); /* job lines: the parameters it got */
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
	/* the owner dies before the fire; the survivor fires it, with its
	 * instance parameters (the test worker prints them; pj-worker's
	 * verify processor fails on ERROR, and the job's BASE would pass) */
	const char *ip2 = real ? "{\"mode\":\"ERROR\"}" : "ip=2";
	r = op_delay(s, PJ__FRIEND__OP__RUN_JOB, job, 0, ip2, 9000);
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
	WAIT_STATUS(id, real ? PJ_INST_FAILED : PJ_INST_SUCCEED,
	    (due - ar_now_ms()) + 5000);
	ck_assert_int_eq(pj_store_instance_get(store, id, &i), 0);
	ck_assert_int_ge(i.actual_trigger_time, due);
	ck_assert_int_lt(i.actual_trigger_time, due + 500);
	pj_instance_fini(&i);
	if (!real) {
		ck_assert(worker_said(0, "params=jp=1|ip=2"));
	}
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
	int64_t t_reply = ar_now_ms();
	ck_assert_int_eq(r->code, 0);
	ck_assert_str_eq(r->served_by, srv[owner].self);
	/* the next fire from now, as the operation set it (a pass right
	 * after it may already have recorded the window's fires and moved
	 * the job's next_trigger_time on) */
	long long next = 0;
	ck_assert_int_eq(sscanf(r->message, "next fire at %lld", &next), 1);
	ck_assert_int_gt(next, t_on);
	ck_assert_int_le(next, t_reply + 1000);
	pj__friend__op_reply__free_unpacked(r, NULL);
	struct pj_job j;
	ck_assert_int_eq(pj_store_job_get(store, job, &j), 0);
	ck_assert_int_eq(j.status, 1);
	ck_assert_int_ge(j.next_trigger_time, next);
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
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, worker_killed_mid_instance_is_failed, 0, 2);
	tcase_add_loop_test(tc, stop_cancel_retry_through_a_non_owner, 0, 2);
	tcase_add_loop_test(tc, frequent_job_keeps_one_live_instance, 0, 2);
	tcase_add_loop_test(
	    tc, run_with_delay_fires_then_also_after_the_owner_dies, 0, 2);
	tcase_add_loop_test(tc, enable_disable_delete_take_effect_at_once, 0, 2);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
