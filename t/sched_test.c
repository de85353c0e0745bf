/*
 * t/sched_test.c - the scheduler's domain code (server/sched/) without
 * actors: the instance state machine's allowed and refused transitions,
 * status reports (foreign, stale, attempts, retry delay), dispatch
 * strategies and their failures, the plan of one job inside the
 * look-ahead window (chains of passes, misfires, lifecycle end), status
 * check decisions, operators' preconditions; and schedule passes and the
 * cleanup on a real SQLite file and on the private MariaDB
 * (PJ_TEST_MYSQL_URL, started by t/run.sh).
 *
 * Design notes (threads): none started; each test runs in its own Check
 * fork.
 */
#include <check.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t/mysqlutil.h"
#include "server/sched/pass.h"
#include "server/sched/sched.h"
#include "server/store/store_sched.h"

/* 2023-11-14T22:13:20Z, a whole second */
#define NOW 1700000000000LL
#include "t/schedstore.h"

static const int all_status[] = { 1, 2, 3, 4, 5, 9, 10 };

/* ---- state machine ------------------------------------------------------ */

START_TEST(state_machine_allowed_and_refused)
{
	/* from -> every allowed to, PowerJob's lifecycle plus stop / retry */
	static const struct {
		int from;
		int to[8];
	} allowed[] = {
		{ 1, { 2, 4, 9, 10 } },
		{ 2, { 1, 3, 4, 5, 10 } },
		{ 3, { 1, 3, 4, 5, 10 } },
		{ 4, { 1 } },
		{ 5, { 1 } },
		{ 9, { 1 } },
		{ 10, { 1 } },
	};
	for (size_t a = 0; a < 7; a++) {
		for (size_t b = 0; b < 7; b++) {
			int  from = all_status[a], to = all_status[b];
			bool want = false;
			for (size_t k = 0; k < 7; k++) {
				if (allowed[k].from != from) {
					continue;
				}
				for (size_t m = 0; m < 8 && allowed[k].to[m];
				     m++) {
					want |= allowed[k].to[m] == to;
				}
			}
			ck_assert_msg(pj_inst_can_move(from, to) == want,
			    "%d -> %d should be %s", from, to,
			    want ? "allowed" : "refused");
		}
	}
	ck_assert(!pj_inst_can_move(0, 1));
	ck_assert(!pj_inst_can_move(1, 6));
	ck_assert(pj_inst_finished(9) && !pj_inst_live(9));
	ck_assert(pj_inst_live(2) && !pj_inst_finished(2));
}
END_TEST

/* ---- status reports ----------------------------------------------------- */

static struct pj_instance
inst(int status, const char *tt, int64_t running_times)
{
	struct pj_instance i   = { 0 };
	i.instance_id          = 42;
	i.status               = status;
	i.task_tracker_address = (char *) tt;
	i.running_times        = running_times;
	i.last_report_time     = NOW - 5000;
	return i;
}

START_TEST(reports_foreign_stale_finished_invalid)
{
	struct pj_report_action a;
	struct pj_instance      i = inst(3, "pj://w@h:1", 1);
	struct pj_report        r
	    = { .status = 3, .source = "pj://w@h:2", .report_time = NOW };
	pj_sched_report(&i, &r, 0, false, NOW, 10000, &a);
	ck_assert_int_eq(a.verdict, PJ_REPORT_FOREIGN);
	r.source      = "pj://w@h:1";
	r.report_time = NOW - 5000; /* not newer than the last one */
	pj_sched_report(&i, &r, 0, false, NOW, 10000, &a);
	ck_assert_int_eq(a.verdict, PJ_REPORT_STALE);
	/* taken back after a receive timeout: the old TT is foreign */
	i             = inst(1, "pj://w@h:1", 0);
	r.report_time = NOW;
	pj_sched_report(&i, &r, 0, false, NOW, 10000, &a);
	ck_assert_int_eq(a.verdict, PJ_REPORT_FOREIGN);
	/* finished: dropped, a final report answered */
	i        = inst(5, "pj://w@h:1", 1);
	r.status = 5;
	pj_sched_report(&i, &r, 0, false, NOW, 10000, &a);
	ck_assert_int_eq(a.verdict, PJ_REPORT_FINISHED);
	ck_assert(a.ack);
	r.status = 3;
	pj_sched_report(&i, &r, 0, false, NOW, 10000, &a);
	ck_assert(a.verdict == PJ_REPORT_FINISHED && !a.ack);
	/* a worker never reports WAITING_* or CANCELED */
	i = inst(3, "pj://w@h:1", 1);
	for (int s = 1; s <= 10; s++) {
		r.status = s;
		pj_sched_report(&i, &r, 0, false, NOW, 10000, &a);
		bool ok = s == 3 || s == 4 || s == 5 || s == 10;
		ck_assert_msg(
		    (a.verdict != PJ_REPORT_INVALID) == ok, "status %d", s);
	}
}
END_TEST

START_TEST(reports_attempts_retry_delay_and_finish)
{
	struct pj_report_action a;
	struct pj_instance      i = inst(2, "pj://w@h:1", 0);
	struct pj_report        r
	    = { .status = 3, .source = "pj://w@h:1", .report_time = NOW };
	/* first report: one attempt started */
	pj_sched_report(&i, &r, 1, false, NOW, 10000, &a);
	ck_assert_int_eq(a.verdict, PJ_REPORT_APPLY);
	ck_assert_int_eq(a.to, 3);
	ck_assert_int_eq(a.set.running_times, 1);
	ck_assert(a.mask & PJ_SET_RUNNING_TIMES);
	ck_assert(!a.finished && !a.ack);
	/* FAILED with an attempt left: back to WAITING_DISPATCH in 10 s */
	i        = inst(3, "pj://w@h:1", 1);
	r.status = 4;
	r.result = "boom";
	pj_sched_report(&i, &r, 1, false, NOW, 10000, &a);
	ck_assert_int_eq(a.verdict, PJ_REPORT_APPLY);
	ck_assert(a.retry && !a.finished && a.ack);
	ck_assert_int_eq(a.to, PJ_INST_WAITING_DISPATCH);
	ck_assert_int_eq(a.set.expected_trigger_time, NOW + 10000);
	ck_assert(a.mask & PJ_SET_EXPECTED);
	/* configured delay 0: at once; negative: PowerJob's 10 s */
	pj_sched_report(&i, &r, 1, false, NOW, 0, &a);
	ck_assert_int_eq(a.set.expected_trigger_time, NOW);
	ck_assert_int_eq(pj_sched_retry_at(NOW, -1), NOW + 10000);
	/* the second attempt fails: no retry left -> FAILED, finished */
	i = inst(3, "pj://w@h:1", 2);
	pj_sched_report(&i, &r, 1, false, NOW, 10000, &a);
	ck_assert(!a.retry && a.finished && a.ack);
	ck_assert_int_eq(a.to, PJ_INST_FAILED);
	ck_assert_str_eq(a.set.result, "boom");
	ck_assert_int_eq(a.set.finished_time, NOW);
	/* a failure straight from WAITING_WORKER_RECEIVE counts the attempt */
	i = inst(2, "pj://w@h:1", 0);
	pj_sched_report(&i, &r, 0, false, NOW, 10000, &a);
	ck_assert(a.finished && a.set.running_times == 1);
	ck_assert_int_eq(a.to, PJ_INST_FAILED);
	/* SUCCEED with the worker's end time */
	i          = inst(3, "pj://w@h:1", 1);
	r.status   = 5;
	r.end_time = NOW - 7;
	pj_sched_report(&i, &r, 3, false, NOW, 10000, &a);
	ck_assert(a.finished && a.ack && !a.retry);
	ck_assert_int_eq(a.set.finished_time, NOW - 7);
	/* frequent jobs: no attempts counted, never retried */
	i        = inst(2, "pj://w@h:1", 0);
	r.status = 4;
	pj_sched_report(&i, &r, 5, true, NOW, 10000, &a);
	ck_assert(!a.retry && a.finished);
	ck_assert(!(a.mask & PJ_SET_RUNNING_TIMES));
	/* ... running_times mirrors the TaskTracker's launches and a RUNNING
	 * report writes the last sub-instance's result (§5.9) */
	i          = inst(3, "pj://w@h:1", 4);
	r.status   = 3;
	r.result   = "sub 7 ok";
	r.launches = 7;
	pj_sched_report(&i, &r, 0, true, NOW, 10000, &a);
	ck_assert_int_eq(a.verdict, PJ_REPORT_APPLY);
	ck_assert(!a.finished && !a.ack && !a.retry);
	ck_assert(a.mask & PJ_SET_RUNNING_TIMES);
	ck_assert_int_eq(a.set.running_times, 7);
	ck_assert(a.mask & PJ_SET_RESULT);
	ck_assert_str_eq(a.set.result, "sub 7 ok");
	r.launches = 3; /* never backwards */
	pj_sched_report(&i, &r, 0, true, NOW, 10000, &a);
	ck_assert(!(a.mask & PJ_SET_RUNNING_TIMES));
}
END_TEST

/* ---- dispatch ------------------------------------------------------------
 */

static struct pj_worker
worker(const char *addr, const char *tag, int score, bool overload)
{
	struct pj_worker w = { 0 };
	snprintf(w.address, sizeof(w.address), "%s", addr);
	snprintf(w.tag, sizeof(w.tag), "%s", tag);
	w.score    = score;
	w.overload = overload;
	w.alive    = true;
	return w;
}

static struct pj_job
job(int type, int strategy)
{
	struct pj_job j            = { 0 };
	j.id                       = 7;
	j.app_id                   = 1;
	j.time_expression_type     = type;
	j.dispatch_strategy        = strategy;
	j.status                   = PJ_STATUS_ENABLE;
	j.dispatch_strategy_config = "";
	return j;
}

START_TEST(dispatch_failures_and_backoff)
{
	struct pj_dispatch_choice c;
	struct pj_job             j = job(PJ_TIME_CRON, 1);
	struct pj_worker w[2] = { worker("pj://w@10.0.0.1:1", "", 5, false),
		worker("pj://w@10.0.0.2:1", "", 9, false) };
	j.max_instance_num    = 2;
	pj_sched_dispatch(&j, 2, w, 2, 0, &c);
	ck_assert_int_eq(c.verdict, PJ_DISPATCH_TOO_MANY);
	ck_assert_str_eq(c.result, "too many instances(2>2)");
	pj_sched_dispatch(&j, 1, w, 2, 0, &c);
	ck_assert_int_eq(c.verdict, PJ_DISPATCH_GO);
	/* frequent jobs: one live instance whatever max_instance_num says */
	j                  = job(PJ_TIME_FIXED_RATE, 1);
	j.max_instance_num = 10;
	pj_sched_dispatch(&j, 1, w, 2, 0, &c);
	ck_assert_str_eq(c.result, "too many instances(1>1)");
	/* no candidate */
	j = job(PJ_TIME_CRON, 1);
	pj_sched_dispatch(&j, 0, NULL, 0, 0, &c);
	ck_assert_int_eq(c.verdict, PJ_DISPATCH_NO_WORKER);
	ck_assert_str_eq(c.result, "no worker available");
	/* all overloaded: left waiting */
	w[0].overload = w[1].overload = true;
	pj_sched_dispatch(&j, 0, w, 2, 0, &c);
	ck_assert_int_eq(c.verdict, PJ_DISPATCH_OVERLOADED);
}
END_TEST

START_TEST(dispatch_strategies)
{
	struct pj_dispatch_choice c;
	struct pj_worker          w[4] = {
		         worker("pj://w@10.0.0.1:1", "gpu", 3, false),
		         worker("pj://w@10.0.0.2:1", "", 20, true),
		         worker("pj://w@10.0.0.3:1", "", 9, false),
		         worker("pj://w@10.0.0.4:1", "gpu", 1, false),
	};
	/* HEALTH_FIRST: the best score that is not overloaded; 0 too */
	struct pj_job j = job(PJ_TIME_CRON, PJ_DISPATCH_HEALTH_FIRST);
	pj_sched_dispatch(&j, 0, w, 4, 12345, &c);
	ck_assert_int_eq(c.verdict, PJ_DISPATCH_GO);
	ck_assert_uint_eq(c.chosen, 2);
	j.dispatch_strategy = 0;
	pj_sched_dispatch(&j, 0, w, 4, 7, &c);
	ck_assert_uint_eq(c.chosen, 2);
	/* RANDOM: every usable worker, never the overloaded one */
	int seen[4]         = { 0 };
	j.dispatch_strategy = PJ_DISPATCH_RANDOM;
	for (uint64_t r = 0; r < 30; r++) {
		pj_sched_dispatch(&j, 0, w, 4, r, &c);
		seen[c.chosen]++;
	}
	ck_assert(
	    seen[0] == 10 && seen[1] == 0 && seen[2] == 10 && seen[3] == 10);
	/* SPECIFY: only the listed (tag or host:port) */
	memset(seen, 0, sizeof(seen));
	j.dispatch_strategy        = PJ_DISPATCH_SPECIFY;
	j.dispatch_strategy_config = "gpu, 10.0.0.2:1";
	for (uint64_t r = 0; r < 20; r++) {
		pj_sched_dispatch(&j, 0, w, 4, r, &c);
		seen[c.chosen]++;
	}
	ck_assert(
	    seen[0] == 10 && seen[1] == 0 && seen[2] == 0 && seen[3] == 10);
	j.dispatch_strategy_config = "pj://w@10.0.0.3:1";
	pj_sched_dispatch(&j, 0, w, 4, 99, &c);
	ck_assert_uint_eq(c.chosen, 2);
	/* none listed is usable: random among all, as PowerJob */
	memset(seen, 0, sizeof(seen));
	j.dispatch_strategy_config = "nobody";
	for (uint64_t r = 0; r < 3; r++) {
		pj_sched_dispatch(&j, 0, w, 4, r, &c);
		seen[c.chosen]++;
	}
	ck_assert(seen[0] == 1 && seen[2] == 1 && seen[3] == 1);
}
END_TEST

/* a re-dispatch avoids the last TaskTracker while another worker can take
 * the instance (a killed worker stays listed until its heartbeats age) */
START_TEST(dispatch_avoids_the_last_tracker)
{
	struct pj_dispatch_choice c;
	struct pj_worker          w[3] = {
		         worker("pj://w@10.0.0.1:1", "", 30, false),
		         worker("pj://w@10.0.0.2:1", "", 9, false),
		         worker("pj://w@10.0.0.3:1", "", 5, true),
	};
	struct pj_job j = job(PJ_TIME_CRON, PJ_DISPATCH_HEALTH_FIRST);
	pj_sched_dispatch_avoid(&j, 0, w, 3, 1, "pj://w@10.0.0.1:1", &c);
	ck_assert_int_eq(c.verdict, PJ_DISPATCH_GO);
	ck_assert_uint_eq(c.chosen, 1); /* the next best, not the overloaded */
	ck_assert(!w[0].overload);      /* the caller's list is untouched */
	/* nothing to avoid, or an unknown address: the plain choice */
	pj_sched_dispatch_avoid(&j, 0, w, 3, 1, "", &c);
	ck_assert_uint_eq(c.chosen, 0);
	pj_sched_dispatch_avoid(&j, 0, w, 3, 1, "pj://w@10.9.9.9:1", &c);
	ck_assert_uint_eq(c.chosen, 0);
	/* RANDOM never picks the avoided one while another is usable */
	j.dispatch_strategy = PJ_DISPATCH_RANDOM;
	for (uint64_t r = 0; r < 10; r++) {
		pj_sched_dispatch_avoid(
		    &j, 0, w, 3, r, "pj://w@10.0.0.2:1", &c);
		ck_assert_uint_eq(c.chosen, 0);
	}
	/* the only usable worker is still used */
	w[1].overload = true;
	pj_sched_dispatch_avoid(&j, 0, w, 3, 4, "pj://w@10.0.0.1:1", &c);
	ck_assert_int_eq(c.verdict, PJ_DISPATCH_GO);
	ck_assert_uint_eq(c.chosen, 0);
}
END_TEST

/* the worker list rides on ServerScheduleJobReq only where a heavy
 * TaskTracker spreads tasks over it */
START_TEST(dispatch_worker_list_only_for_heavy_trackers)
{
	struct pj_job j = job(PJ_TIME_CRON, PJ_DISPATCH_HEALTH_FIRST);
	j.execute_type  = 1; /* STANDALONE: a light tracker */
	ck_assert(!pj_sched_tells_all_workers(&j));
	j.time_expression_type = PJ_TIME_API;
	ck_assert(!pj_sched_tells_all_workers(&j));
	for (int e = 2; e <= 4; e++) { /* BROADCAST, MAP_REDUCE, MAP */
		j.execute_type = e;
		ck_assert(pj_sched_tells_all_workers(&j));
	}
	j.execute_type         = 1; /* frequent: a heavy tracker */
	j.time_expression_type = PJ_TIME_FIXED_RATE;
	ck_assert(pj_sched_tells_all_workers(&j));
	j.time_expression_type = PJ_TIME_FIXED_DELAY;
	ck_assert(pj_sched_tells_all_workers(&j));
}
END_TEST

/* the job's filter through a real cluster view keeps overloaded workers
 * (so dispatch can back off) and applies the job's limits */
START_TEST(dispatch_filter_through_view)
{
	struct pj_view     *v  = pj_view_new();
	struct pj_heartbeat hb = { .heartbeat_time = NOW,
		.metrics = { 8, 1.0, 1.0, 8.0, 10, 100 } };
	hb.address             = "pj://w@10.0.0.1:1";
	hb.tag                 = "gpu";
	pj_view_heartbeat(v, 1, &hb);
	hb.address  = "pj://w@10.0.0.2:1";
	hb.tag      = "";
	hb.overload = true;
	pj_view_heartbeat(v, 1, &hb);
	hb.address        = "pj://w@10.0.0.3:1";
	hb.overload       = false;
	hb.heartbeat_time = NOW - PJ_WORKER_DEAD_MS - 1; /* dead */
	pj_view_heartbeat(v, 1, &hb);
	struct pj_job             j = job(PJ_TIME_CRON, 1);
	struct pj_executor_filter f;
	struct pj_worker         *w = NULL;
	pj_sched_filter(&j, &f);
	size_t n = pj_view_query(v, 1, NOW, &f, &w);
	ck_assert_uint_eq(n, 2);
	free(w);
	j.designated_workers = "gpu";
	pj_sched_filter(&j, &f);
	n = pj_view_query(v, 1, NOW, &f, &w);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(w[0].address, "pj://w@10.0.0.1:1");
	free(w);
	j.designated_workers = "";
	j.min_memory_space   = 100; /* GB */
	pj_sched_filter(&j, &f);
	ck_assert_uint_eq(pj_view_query(v, 1, NOW, &f, &w), 0);
	pj_view_free(v);
}
END_TEST

/* ---- plans ---------------------------------------------------------------
 */

static pj_timing
cron(const char *expr, const char *zone)
{
	pj_timing t;
	char      err[PJ_TIMING_ERR_MAX];
	ck_assert_msg(
	    pj_timing_init(&t, PJ_TIME_CRON, expr, zone, 0, err, sizeof(err))
	        == 0,
	    "%s", err);
	return t;
}

/* passes every second for 30 s, each with a 5 s window, record every
 * second exactly once: no 15 s floor, no gap, no repeat */
START_TEST(plan_every_second_chains_across_passes)
{
	pj_timing       t  = cron("* * * * * ?", "UTC");
	pj_lifecycle    lc = { 0, 0 };
	pj_misfire_opts mo = { 0 };
	int64_t         fires[64], all[256], next = NOW + 1000;
	size_t          n_all = 0;
	for (int64_t now = NOW; now < NOW + 30000; now += 1000) {
		struct pj_plan p = { .fire_ms = fires };
		ck_assert_int_eq(
		    pj_sched_plan(&t, &lc, next, now, 5000, &mo, 64, &p), 0);
		ck_assert(p.has_next && !p.truncated);
		ck_assert_int_eq(p.n_missed, 0);
		for (size_t k = 0; k < p.n_fire; k++) {
			all[n_all++] = fires[k];
		}
		ck_assert_int_gt(p.next_ms, now + 5000);
		next = p.next_ms;
	}
	ck_assert_uint_eq(n_all, 34); /* NOW+1 s .. NOW+34 s */
	for (size_t k = 0; k < n_all; k++) {
		ck_assert_int_eq(all[k], NOW + 1000 * (int64_t) (k + 1));
	}
	/* never computed (0): the first fire from now */
	struct pj_plan p = { .fire_ms = fires };
	pj_sched_plan(&t, &lc, 0, NOW + 300, 2000, &mo, 64, &p);
	ck_assert_uint_eq(p.n_fire, 2);
	ck_assert_int_eq(fires[0], NOW + 1000);
	ck_assert_int_eq(p.next_ms, NOW + 3000);
	/* cap reached: the rest waits for the next pass */
	pj_sched_plan(&t, &lc, NOW + 1000, NOW, 10000, &mo, 3, &p);
	ck_assert(p.truncated && p.n_fire == 3);
	ck_assert_int_eq(p.next_ms, NOW + 4000);
}
END_TEST

START_TEST(plan_misfires_by_policy)
{
	pj_timing       t  = cron("* * * * * ?", "UTC");
	pj_lifecycle    lc = { 0, 0 };
	pj_misfire_opts mo = { .threshold_ms = 60000 };
	static int64_t  fires[512];
	struct pj_plan  p        = { .fire_ms = fires };
	int64_t         last_due = NOW - 120000; /* down for 2 minutes */
	/* fire once now: the first missed fire, then every on-time one */
	mo.policy = PJ_MISFIRE_FIRE_ONCE_NOW;
	ck_assert_int_eq(
	    pj_sched_plan(&t, &lc, last_due, NOW, 2000, &mo, 512, &p), 0);
	ck_assert_int_eq(fires[0], last_due);
	ck_assert_int_eq(fires[1], NOW - 60000);
	ck_assert_uint_eq(p.n_fire, 1 + 61 + 2);
	ck_assert_uint_eq(p.n_missed, 60);
	ck_assert_uint_eq(p.n_dropped, 59);
	for (size_t k = 2; k < p.n_fire; k++) {
		ck_assert_int_eq(fires[k], fires[k - 1] + 1000);
	}
	ck_assert_int_eq(p.next_ms, NOW + 3000);
	/* skip: on-time ones only */
	mo.policy = PJ_MISFIRE_SKIP;
	pj_sched_plan(&t, &lc, last_due, NOW, 2000, &mo, 512, &p);
	ck_assert_int_eq(fires[0], NOW - 60000);
	ck_assert_uint_eq(p.n_fire, 61 + 2);
	/* fire all: every second of the outage, once */
	mo.policy = PJ_MISFIRE_FIRE_ALL;
	pj_sched_plan(&t, &lc, last_due, NOW, 2000, &mo, 512, &p);
	ck_assert_uint_eq(p.n_fire, 121 + 2);
	for (size_t k = 0; k < p.n_fire; k++) {
		ck_assert_int_eq(fires[k], last_due + 1000 * (int64_t) k);
	}
	/* fire all within 30 s */
	mo.window_ms = 30000;
	pj_sched_plan(&t, &lc, last_due, NOW, 2000, &mo, 512, &p);
	ck_assert_int_eq(fires[0], NOW - 60000);
	/* a bad policy is refused */
	mo.policy = 7;
	ck_assert_int_ne(
	    pj_sched_plan(&t, &lc, last_due, NOW, 2000, &mo, 512, &p), 0);
}
END_TEST

START_TEST(plan_lifecycle_end_and_zone)
{
	int64_t         fires[64];
	pj_misfire_opts mo = { 0 };
	struct pj_plan  p  = { .fire_ms = fires };
	/* ends inside the window: the job has nothing left */
	pj_timing    t  = cron("*/2 * * * * ?", "UTC");
	pj_lifecycle lc = { 0, NOW + 3000 };
	pj_sched_plan(&t, &lc, NOW + 2000, NOW, 5000, &mo, 64, &p);
	ck_assert_uint_eq(p.n_fire, 1);
	ck_assert(!p.has_next);
	/* a lifecycle that starts later: its first fire is the first >= start
	 */
	lc = (pj_lifecycle) { NOW + 60500, 0 };
	pj_sched_plan(&t, &lc, 0, NOW, 5000, &mo, 64, &p);
	ck_assert_uint_eq(p.n_fire, 0);
	ck_assert_int_eq(p.next_ms, NOW + 62000);
	/* daily 02:30 in Berlin on the spring-forward day (2024-03-31) is
	 * skipped by Quartz's rules: the next fire is the day after */
	t          = cron("0 30 2 * * ?", "Europe/Berlin");
	lc         = (pj_lifecycle) { 0, 0 };
	int64_t at = 1711836000000LL; /* 2024-03-30T22:00:00Z */
	pj_sched_plan(&t, &lc, 0, at, 5000, &mo, 64, &p);
	int64_t q;
	ck_assert_int_eq(pj_timing_next(&t, &lc, 0, at, &q), 0);
	ck_assert_int_eq(p.next_ms, q);
	ck_assert_int_eq(q, 1711931400000LL); /* 2024-04-01T00:30:00Z */
}
END_TEST

/* ---- checks, timeouts, operators ---------------------------------------- */

START_TEST(checks_timeouts_and_operator_rules)
{
	const char        *res;
	struct pj_job      j = job(PJ_TIME_CRON, 1);
	struct pj_instance i = inst(3, "pj://w@h:1", 1);
	j.instance_retry_num = 1;
	ck_assert_int_eq(
	    pj_sched_check_running(&i, &j, &res), PJ_CHECK_REDISPATCH);
	i.running_times = 2;
	ck_assert_int_eq(pj_sched_check_running(&i, &j, &res), PJ_CHECK_FAIL);
	ck_assert_str_eq(res, "worker report timeout, maybe TaskTracker down");
	ck_assert_int_eq(
	    pj_sched_check_running(&i, NULL, &res), PJ_CHECK_FAIL);
	i.running_times = 0;
	j.status        = PJ_STATUS_DISABLE;
	ck_assert_int_eq(pj_sched_check_running(&i, &j, &res), PJ_CHECK_FAIL);
	j = job(PJ_TIME_FIXED_DELAY, 1);
	ck_assert_int_eq(pj_sched_check_running(&i, &j, &res), PJ_CHECK_FAIL);

	j                     = job(PJ_TIME_CRON, 1);
	i.actual_trigger_time = NOW - 5000;
	ck_assert(!pj_sched_timed_out(&i, &j, NOW)); /* no limit */
	j.instance_time_limit = 5000;
	ck_assert(!pj_sched_timed_out(&i, &j, NOW));
	ck_assert(pj_sched_timed_out(&i, &j, NOW + 1));
	i.status = PJ_INST_SUCCEED;
	ck_assert(!pj_sched_timed_out(&i, &j, NOW + 1));

	char msg[256];
	for (size_t k = 0; k < 7; k++) {
		i.status = all_status[k];
		ck_assert((pj_sched_can_stop(&i, msg, sizeof(msg)) == 0)
		    == pj_inst_live(i.status));
		ck_assert((pj_sched_can_cancel(&i, msg, sizeof(msg)) == 0)
		    == (i.status == 1));
		ck_assert((pj_sched_can_retry(&i, msg, sizeof(msg)) == 0)
		    == pj_inst_finished(i.status));
	}
	i.status = PJ_INST_RUNNING;
	pj_sched_can_retry(&i, msg, sizeof(msg));
	ck_assert_ptr_nonnull(strstr(msg, "RUNNING"));
	i.status = PJ_INST_FAILED;
	i.type   = 2;
	ck_assert_int_ne(pj_sched_can_retry(&i, msg, sizeof(msg)), 0);
}
END_TEST

/* ---- passes on the store --------------------------------------------------
 */

static void
pass_body(bool mysql)
{
	struct pj_store *s = open_store(mysql);
	struct pj_ids    ids;
	int64_t          app = 0, other = 0;
	ck_assert_int_eq(pj_ids_init(&ids, 3), 0);
	ck_assert_int_eq(pj_store_app_create(s, "a", "pw", "", NOW, &app), 0);
	ck_assert_int_eq(
	    pj_store_app_create(s, "b", "pw", "", NOW, &other), 0);
	int64_t every   = save_job(s, app, "* * * * * ?", 0, NOW + 1000);
	int64_t all     = save_job(s, app, "* * * * * ?", 2, NOW - 10000);
	int64_t bad     = save_job(s, app, "61 * * * * ?", 0, NOW);
	int64_t foreign = save_job(s, other, "* * * * * ?", 0, NOW);
	struct pj_sched_pass_opts  o = { .window_ms = 3000,
		 .misfire_threshold_ms              = 5000,
		 .plan_cap                          = 256,
		 .job_limit                         = 100 };
	struct pj_sched_fires      f = { 0 };
	struct pj_sched_pass_stats st;
	ck_assert_int_eq(pj_sched_pass(s, &ids, &app, 1, NOW, &o, &f, &st), 0);
	/* every: NOW+1..3 s; all: NOW-10..NOW+3 s (fire all) */
	ck_assert_uint_eq(st.jobs, 3);
	ck_assert_uint_eq(st.recorded, 3 + 14);
	ck_assert_uint_eq(st.invalid, 1);
	ck_assert_uint_eq(f.n, 17);
	struct pj_job j;
	ck_assert_int_eq(pj_store_job_get(s, every, &j), 0);
	ck_assert_int_eq(j.next_trigger_time, NOW + 4000);
	pj_job_fini(&j);
	ck_assert_int_eq(pj_store_job_get(s, bad, &j), 0);
	ck_assert_int_eq(j.status, PJ_STATUS_DISABLE);
	pj_job_fini(&j);
	ck_assert_int_eq(pj_store_job_get(s, foreign, &j), 0);
	ck_assert_int_eq(j.next_trigger_time, NOW); /* not ours: untouched */
	pj_job_fini(&j);
	/* the rows: WAITING_DISPATCH, fire time = expected, job params */
	struct pj_instance i;
	ck_assert_int_eq(pj_store_instance_get(s, f.v[0].instance_id, &i), 0);
	ck_assert_int_eq(i.status, PJ_INST_WAITING_DISPATCH);
	ck_assert_int_eq(i.fire_time, i.expected_trigger_time);
	ck_assert_str_eq(i.job_params, "p=1");
	pj_instance_fini(&i);
	/* a new owner that read next_trigger_time before it moved (the old
	 * owner died between rows and advance) records nothing twice */
	ck_assert_int_eq(
	    pj_store_job_set_next_trigger(s, every, NOW + 1000, NOW), 0);
	pj_sched_fires_fini(&f);
	ck_assert_int_eq(
	    pj_sched_pass(s, &ids, &app, 1, NOW + 1000, &o, &f, &st), 0);
	ck_assert_uint_eq(st.duplicates, 3); /* every: +1..+3 s */
	ck_assert_uint_eq(st.recorded, 2);   /* +4 s of both */
	ck_assert_uint_eq(f.n, 2);
	ck_assert_int_eq(f.v[0].fire_ms, NOW + 4000);
	/* the same again: nothing new */
	pj_sched_fires_fini(&f);
	ck_assert_int_eq(
	    pj_sched_pass(s, &ids, &app, 1, NOW + 1000, &o, &f, &st), 0);
	ck_assert_uint_eq(st.recorded + st.duplicates, 0);
	int64_t live = 0;
	int     w[]  = { PJ_INST_WAITING_DISPATCH };
	ck_assert_int_eq(pj_store_instance_count_live(s, all, w, 1, &live), 0);
	ck_assert_int_eq(live, 15); /* NOW-10 s .. NOW+4 s, each once */
	pj_sched_fires_fini(&f);

	/* reports in one transaction: each keeps its own outcome, in order */
	struct pj_instance_list l2;
	ck_assert_int_eq(pj_store_instance_list(s,
	                     &(struct pj_instance_query) { .job_id = all,
	                         .limit                            = 3 },
	                     &l2),
	    0);
	ck_assert_uint_eq(l2.n, 3);
	struct pj_transition tv[4] = {
		{ .instance_id = l2.v[0].instance_id, .from = 1, .to = 2,
		    .mask = PJ_SET_TT_ADDRESS,
		    .set  = { .task_tracker_address = "pj://w@h:1" } },
		{ .instance_id = l2.v[1].instance_id, .from = 3, .to = 5 },
		{ .instance_id = l2.v[0].instance_id, .from = 2, .to = 3,
		    .mask = PJ_SET_RUNNING_TIMES, .set = { .running_times = 1 } },
		{ .instance_id = l2.v[2].instance_id, .from = 1, .to = 5,
		    .mask = PJ_SET_RESULT | PJ_SET_FINISHED,
		    .set  = { .result = "ok", .finished_time = NOW + 7 } },
	};
	ck_assert_int_eq(pj_store_instances_apply(s, tv, 4, NOW + 9), 0);
	ck_assert_int_eq(tv[0].rv, 0);
	ck_assert_int_eq(tv[1].rv, PJ_STORE_ECONFLICT);
	ck_assert_int_eq(tv[2].rv, 0);
	ck_assert_int_eq(tv[3].rv, 0);
	ck_assert_int_eq(pj_store_instance_get(s, l2.v[0].instance_id, &i), 0);
	ck_assert_int_eq(i.status, 3);
	ck_assert_int_eq(i.running_times, 1);
	ck_assert_str_eq(i.task_tracker_address, "pj://w@h:1");
	pj_instance_fini(&i);
	ck_assert_int_eq(pj_store_instance_get(s, l2.v[1].instance_id, &i), 0);
	ck_assert_int_eq(i.status, 1); /* the conflict wrote nothing */
	pj_instance_fini(&i);
	ck_assert_int_eq(pj_store_instance_get(s, l2.v[2].instance_id, &i), 0);
	ck_assert_int_eq(i.status, 5);
	ck_assert_str_eq(i.result, "ok");
	ck_assert_int_eq(i.finished_time, NOW + 7);
	pj_instance_fini(&i);
	pj_instance_list_fini(&l2);
	/* enabling: the next fire from now, nothing replayed */
	ck_assert_int_eq(pj_store_job_get(s, all, &j), 0);
	ck_assert_int_eq(pj_sched_enable_next(&j, NOW + 500), NOW + 1000);
	j.time_expression_type = PJ_TIME_API;
	ck_assert_int_eq(pj_sched_enable_next(&j, NOW + 500), 0);
	pj_job_fini(&j);

	/* cleanup: finished and old rows and their logs go, live ones stay */
	int64_t                  first = 0;
	struct pj_instance       set   = { 0 };
	struct pj_instance_query q     = { .job_id = every, .limit = 100 };
	struct pj_instance_list  l;
	ck_assert_int_eq(pj_store_instance_list(s, &q, &l), 0);
	ck_assert_uint_eq(l.n, 4);
	first = l.v[0].instance_id;
	pj_instance_list_fini(&l);
	ck_assert_int_eq(pj_store_instance_transition(s, first, 1, 4, &set, 0,
	                     NOW - PJ_SCHED_RETENTION_MS - 1),
	    0);
	struct pj_log_line ll = { .instance_id = first,
		.log_time                      = NOW,
		.log_level                     = 2,
		.content                       = "x",
		.worker_address                = "w" };
	ck_assert_int_eq(pj_store_logs_append(s, &ll, 1), 0);
	int64_t gone = 0;
	ck_assert_int_eq(pj_store_instances_clean(
	                     s, NOW - PJ_SCHED_RETENTION_MS, 100, &gone),
	    0);
	ck_assert_int_eq(gone, 1);
	ck_assert_int_eq(
	    pj_store_instance_get(s, first, &i), PJ_STORE_ENOTFOUND);
	struct pj_log_list logs;
	ck_assert_int_eq(pj_store_logs_read(s, first, 0, 0, 10, &logs), 0);
	ck_assert_uint_eq(logs.n, 0);
	pj_log_list_fini(&logs);
	ck_assert_int_eq(pj_store_instance_list(s, &q, &l), 0);
	ck_assert_uint_eq(l.n, 3);
	pj_instance_list_fini(&l);
	pj_ids_fini(&ids);
	close_store(s, mysql);
}

START_TEST(pass_sqlite)
{
	pass_body(false);
}
END_TEST

START_TEST(pass_mariadb)
{
	pass_body(true);
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("sched");
	TCase *tc = tcase_create("sched");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, state_machine_allowed_and_refused);
	tcase_add_test(tc, reports_foreign_stale_finished_invalid);
	tcase_add_test(tc, reports_attempts_retry_delay_and_finish);
	tcase_add_test(tc, dispatch_failures_and_backoff);
	tcase_add_test(tc, dispatch_strategies);
	tcase_add_test(tc, dispatch_avoids_the_last_tracker);
	tcase_add_test(tc, dispatch_worker_list_only_for_heavy_trackers);
	tcase_add_test(tc, dispatch_filter_through_view);
	tcase_add_test(tc, plan_every_second_chains_across_passes);
	tcase_add_test(tc, plan_misfires_by_policy);
	tcase_add_test(tc, plan_lifecycle_end_and_zone);
	tcase_add_test(tc, checks_timeouts_and_operator_rules);
	tcase_add_test(tc, pass_sqlite);
	tcase_add_test(tc, pass_mariadb);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
