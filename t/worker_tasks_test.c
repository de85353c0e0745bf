/*
 * worker_tasks_test.c - the worker's task store (worker/task_store.c) and
 * the heavy TaskTrackers' rules (worker/heavy.c), without actors.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/ar.h"
#include "worker/heavy.h"
#include "worker/task_store.h"

static struct pj_task_store *
open_mem(void)
{
	struct pj_task_store *s = NULL;
	char                  err[256];

	ck_assert_int_eq(pj_task_store_open(NULL, &s, err, sizeof(err)), 0);
	return s;
}

/* n tasks "0.1" .. "0.n" of instance 7, sub 7 */
static void
add_n(struct pj_task_store *s, int64_t inst, int64_t sub, int n,
    const char *addr)
{
	struct pj_task *v   = calloc((size_t) n, sizeof(*v));
	char           *ids = calloc((size_t) n, 32);

	for (int i = 0; i < n; i++) {
		snprintf(ids + i * 32, 32, "0.%d", i + 1);
		v[i].instance_id     = inst;
		v[i].sub_instance_id = sub;
		v[i].task_id         = ids + i * 32;
		v[i].task_name       = "SUB";
		v[i].content         = ids + i * 32;
		v[i].content_len     = strlen(ids + i * 32);
		v[i].address         = addr;
	}
	ck_assert_int_eq(pj_task_store_insert(s, v, (size_t) n, 1000), 0);
	free(v);
	free(ids);
}

/* the store's key of a task */
static int64_t
SEQ(struct pj_task_store *s, int64_t inst, const char *id)
{
	struct pj_task_brief b;

	ck_assert_int_eq(pj_task_store_get(s, inst, id, &b), 0);
	ck_assert_int_eq(b.found, 1);
	ck_assert_int_gt(b.seq, 0);
	return b.seq;
}

static int
count_cb(const struct pj_task *t, void *arg)
{
	(void) t;
	(*(int *) arg)++;
	return 0;
}

START_TEST(store_insert_and_status)
{
	struct pj_task_store *s = open_mem();
	int64_t               h[PJ_TASK_STATUS_MAX + 1];
	int                   changed, n = 0;
	struct pj_task_brief  b;

	add_n(s, 7, 7, 100, "");
	ck_assert_int_eq(pj_task_store_count(s, 7), 100);
	ck_assert_int_eq(pj_task_store_count(s, 8), 0);
	/* a duplicate fails the whole batch */
	{
		struct pj_task v[2] = { { .instance_id       = 7,
			                    .sub_instance_id = 7,
			                    .task_id         = "x",
			                    .task_name       = "SUB" },
			{ .instance_id       = 7,
			    .sub_instance_id = 7,
			    .task_id         = "0.1",
			    .task_name       = "SUB" } };
		ck_assert_int_ne(pj_task_store_insert(s, v, 2, 1), 0);
		ck_assert_int_eq(pj_task_store_count(s, 7), 100);
	}
	/* received before dispatched: ignored (never hide a waiting task) */
	ck_assert_int_eq(pj_task_store_set_status(
	                     s, 7, SEQ(s, 7, "0.1"), 3, NULL, 1, 2, &changed),
	    0);
	ck_assert_int_eq(changed, 0);
	ck_assert_int_eq(
	    pj_task_store_dispatched(s, 7, SEQ(s, 7, "0.1"), "pj://a@h:1", 5),
	    0);
	ck_assert_int_eq(pj_task_store_set_status(
	                     s, 7, SEQ(s, 7, "0.1"), 3, NULL, 1, 6, &changed),
	    0);
	ck_assert_int_eq(changed, 1);
	ck_assert_int_eq(pj_task_store_set_status(
	                     s, 7, SEQ(s, 7, "0.1"), 6, "ok", 1, 7, &changed),
	    0);
	ck_assert_int_eq(changed, 1);
	/* forward only: nothing moves a final task */
	ck_assert_int_eq(pj_task_store_set_status(s, 7, SEQ(s, 7, "0.1"), 5,
	                     "late", 1, 8, &changed),
	    0);
	ck_assert_int_eq(changed, 0);
	ck_assert_int_eq(pj_task_store_get(s, 7, "0.1", &b), 0);
	ck_assert_int_eq(b.found, 1);
	ck_assert_int_eq(b.status, 6);
	ck_assert_str_eq(b.address, "pj://a@h:1");
	ck_assert_int_eq(pj_task_store_get(s, 7, "nope", &b), 0);
	ck_assert_int_eq(b.found, 0);
	/* a failure without retry is final too */
	ck_assert_int_eq(pj_task_store_set_status(
	                     s, 7, SEQ(s, 7, "0.2"), 5, "bad", 1, 8, &changed),
	    0);
	ck_assert_int_eq(changed, 1);
	ck_assert_int_eq(pj_task_store_histogram(s, 7, -1, h), 0);
	ck_assert_int_eq(h[1], 98);
	ck_assert_int_eq(h[5], 1);
	ck_assert_int_eq(h[6], 1);
	ck_assert_int_eq(
	    pj_task_store_results(s, 7, 7, "OMS_LAST_TASK", count_cb, &n), 0);
	ck_assert_int_eq(n, 2);
	n = 0;
	ck_assert_int_eq(pj_task_store_pending(s, 7, 10, count_cb, &n), 0);
	ck_assert_int_eq(n, 10);
	pj_task_store_close(s);
}
END_TEST

START_TEST(store_retry_lost_unacked)
{
	struct pj_task_store *s      = open_mem();
	struct pj_task        pinned = { .instance_id = 7,
		       .sub_instance_id               = 7,
		       .task_id                       = "0",
		       .task_name                     = "OMS_ROOT_TASK",
		       .address                       = "pj://me@h:1",
		       .pinned                        = 1 };
	struct pj_task_brief  b;
	int64_t               n, h[PJ_TASK_STATUS_MAX + 1];
	int                   changed;

	ck_assert_int_eq(pj_task_store_insert(s, &pinned, 1, 1), 0);
	add_n(s, 7, 7, 10, "");
	for (int i = 1; i <= 10; i++) {
		char id[16];
		snprintf(id, sizeof(id), "0.%d", i);
		pj_task_store_dispatched(s, 7, SEQ(s, 7, id),
		    i <= 5 ? "pj://a@h:1" : "pj://b@h:2", 100);
	}
	pj_task_store_dispatched(s, 7, SEQ(s, 7, "0"), "pj://me@h:1", 100);
	/* retry: back to 1, failed_cnt + 1, re-routed unless pinned */
	ck_assert_int_eq(
	    pj_task_store_retry(s, 7, SEQ(s, 7, "0.1"), "boom", 200, &changed),
	    0);
	ck_assert_int_eq(changed, 1);
	pj_task_store_get(s, 7, "0.1", &b);
	ck_assert_int_eq(b.status, 1);
	ck_assert_int_eq(b.failed_cnt, 1);
	ck_assert_str_eq(b.address, "");
	ck_assert_int_eq(
	    pj_task_store_retry(s, 7, SEQ(s, 7, "0"), "boom", 200, &changed),
	    0);
	pj_task_store_get(s, 7, "0", &b);
	ck_assert_str_eq(b.address, "pj://me@h:1");
	/* lost PT b: its 5 unfinished tasks wait for another PT */
	ck_assert_int_eq(pj_task_store_set_status(s, 7, SEQ(s, 7, "0.6"), 6,
	                     "ok", 1, 250, &changed),
	    0);
	ck_assert_int_eq(
	    pj_task_store_lost(s, 7, "pj://b@h:2", 1, NULL, 300, &n), 0);
	ck_assert_int_eq(n, 4);
	pj_task_store_get(s, 7, "0.7", &b);
	ck_assert_int_eq(b.status, 1);
	ck_assert_str_eq(b.address, "");
	/* lost as failures (broadcast) */
	ck_assert_int_eq(
	    pj_task_store_lost(s, 7, "pj://a@h:1", 5, "down", 300, &n), 0);
	ck_assert_int_eq(n, 4); /* 0.2 .. 0.5 */
	/* unacked: dispatched before 400 and still status 2 */
	pj_task_store_dispatched(s, 7, SEQ(s, 7, "0.8"), "pj://c@h:3", 350);
	pj_task_store_dispatched(s, 7, SEQ(s, 7, "0.9"), "pj://c@h:3", 450);
	ck_assert_int_eq(pj_task_store_unacked(s, 7, 400, 500, &n), 0);
	ck_assert_int_eq(n, 1); /* 0.8 (350); "0" was retried, 0.9 is recent */
	pj_task_store_get(s, 7, "0.8", &b);
	ck_assert_int_eq(b.status, 1);
	ck_assert_int_eq(b.failed_cnt, 1);
	pj_task_store_histogram(s, 7, 7, h);
	ck_assert_int_eq(h[2], 1);
	ck_assert_int_eq(h[5], 4);
	ck_assert_int_eq(h[6], 1);
	pj_task_store_close(s);
}
END_TEST

static void
inflight_cb(const char *a, int64_t n, void *arg)
{
	int64_t *v = arg;
	if (strcmp(a, "A") == 0) {
		v[0] = n;
	} else if (strcmp(a, "B") == 0) {
		v[1] = n;
	}
}

START_TEST(store_named_delete_subs_file)
{
	struct pj_task_store *s = NULL;
	char                  path[64], err[256];
	struct pj_task        last = { .instance_id = 9,
		       .sub_instance_id             = 2,
		       .task_id                     = "L2",
		       .task_name                   = "OMS_LAST_TASK",
		       .status                      = 4,
		       .address                     = "local" };
	struct pj_task_brief  b;
	int64_t               v[2] = { 0, 0 };

	snprintf(path, sizeof(path), "/tmp/pjtasks-%d.db", (int) getpid());
	ck_assert_int_eq(pj_task_store_open(path, &s, err, sizeof(err)), 0);
	ck_assert_int_eq(access(path, F_OK), 0);
	add_n(s, 9, 1, 5, "");
	ck_assert_int_eq(pj_task_store_insert(s, &last, 1, 1), 0);
	ck_assert_int_eq(
	    pj_task_store_find_named(s, 9, 2, "OMS_LAST_TASK", &b), 0);
	ck_assert_int_eq(b.found, 1);
	ck_assert_int_eq(b.status, 4);
	ck_assert_int_eq(
	    pj_task_store_find_named(s, 9, 1, "OMS_LAST_TASK", &b), 0);
	ck_assert_int_eq(b.found, 0);
	pj_task_store_dispatched(s, 9, SEQ(s, 9, "0.1"), "A", 1);
	pj_task_store_dispatched(s, 9, SEQ(s, 9, "0.2"), "A", 1);
	pj_task_store_dispatched(s, 9, SEQ(s, 9, "0.3"), "B", 1);
	ck_assert_int_eq(pj_task_store_inflight(s, 9, inflight_cb, v), 0);
	ck_assert_int_eq(v[0], 2);
	ck_assert_int_eq(v[1], 1);
	ck_assert_int_eq(pj_task_store_delete(s, 9, 1), 0);
	ck_assert_int_eq(pj_task_store_count(s, 9), 1);
	ck_assert_int_eq(pj_task_store_delete(s, 9, -1), 0);
	ck_assert_int_eq(pj_task_store_count(s, 9), 0);
	pj_task_store_close(s);
	ck_assert_int_ne(access(path, F_OK), 0); /* removed at close */
	/* a path that cannot be opened: a clear error, no crash */
	ck_assert_int_ne(
	    pj_task_store_open("/nonexistent/dir/x.db", &s, err, sizeof(err)),
	    0);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/dir/x.db"));
}
END_TEST

/* many tasks: inserted in batches, half of them finished, histogram (a
 * million are held by bench/mapreduce_bench; sanitizers make this slow) */
START_TEST(store_many)
{
	struct pj_task_store *s = open_mem();
	enum { N = 100000, B = 10000 };
	struct pj_task *v   = calloc(B, sizeof(*v));
	char           *ids = calloc(B, 24);
	int64_t         t0  = ar_mono_ms(), h[PJ_TASK_STATUS_MAX + 1];
	int             changed;

	for (int b = 0; b < N / B; b++) {
		for (int i = 0; i < B; i++) {
			snprintf(ids + i * 24, 24, "0.%d", b * B + i);
			v[i].instance_id     = 1;
			v[i].sub_instance_id = 1;
			v[i].task_id         = ids + i * 24;
			v[i].task_name       = "SUB";
		}
		ck_assert_int_eq(pj_task_store_insert(s, v, B, 1), 0);
	}
	ck_assert_int_eq(pj_task_store_count(s, 1), N);
	fprintf(stderr, "store_many: inserted in %lld ms\n",
	    (long long) (ar_mono_ms() - t0));
	pj_task_store_begin(s);
	for (int i = 0; i < N; i += 2) {
		char id[24];
		snprintf(id, sizeof(id), "0.%d", i);
		pj_task_store_set_status(
		    s, 1, SEQ(s, 1, id), 6, "ok", 1, 2, &changed);
		ck_assert_int_eq(changed, 1); /* a late final counts */
	}
	pj_task_store_commit(s);
	pj_task_store_histogram(s, 1, -1, h);
	ck_assert_int_eq(h[6], N / 2);
	ck_assert_int_eq(h[1], N / 2);
	fprintf(
	    stderr, "store_many: %lld ms\n", (long long) (ar_mono_ms() - t0));
	free(v);
	free(ids);
	pj_task_store_close(s);
}
END_TEST

/* ---- rules ------------------------------------------------------------ */

START_TEST(pt_availability)
{
	struct pj_heavy_settings s;
	struct pj_pt             p[3];
	size_t                   rr = 0;

	pj_heavy_settings_init(&s);
	s.pt_timeout_ms = 60000;
	s.pt_busy       = 20;
	s.pt_window     = 2;
	pj_pt_init(&p[0], "A");
	ck_assert(pj_pt_available(&p[0], 0, &s)); /* never dispatched */
	pj_pt_sent(&p[0], 1000, 1);
	ck_assert(!pj_pt_available(&p[0], 1001, &s)); /* not heard yet */
	pj_pt_heard(&p[0], 1500, 3, true);
	ck_assert(pj_pt_available(&p[0], 2000, &s));
	ck_assert(!pj_pt_timed_out(&p[0], 61499, &s));
	ck_assert(pj_pt_timed_out(&p[0], 61500, &s));
	ck_assert(!pj_pt_available(&p[0], 61500, &s));
	pj_pt_heard(&p[0], 1400, 0, true); /* older heartbeat: ignored */
	ck_assert_int_eq(p[0].remain, 3);
	pj_pt_heard(&p[0], 2000, 25, true); /* busy */
	ck_assert(!pj_pt_available(&p[0], 2001, &s));
	/* round robin over available PTs with room in their window */
	pj_pt_init(&p[0], "A");
	pj_pt_init(&p[1], "B");
	pj_pt_init(&p[2], "C");
	p[2].lost = true;
	ck_assert_int_eq(pj_pt_pick(p, 3, &rr, 0, &s), 0);
	p[0].inflight++;
	ck_assert_int_eq(pj_pt_pick(p, 3, &rr, 0, &s), 1);
	p[1].inflight++;
	ck_assert_int_eq(pj_pt_pick(p, 3, &rr, 0, &s), 0);
	p[0].inflight++;
	ck_assert_int_eq(pj_pt_pick(p, 3, &rr, 0, &s), 1);
	p[1].inflight++;
	ck_assert_int_eq(pj_pt_pick(p, 3, &rr, 0, &s), -1); /* windows full */
	/* a PT whose queue is smaller than the window gets only that much */
	pj_pt_init(&p[0], "A");
	p[0].capacity = 1;
	ck_assert_int_eq(pj_pt_room(&p[0], &s), 1);
	p[0].inflight = 1;
	ck_assert_int_eq(pj_pt_room(&p[0], &s), 0);
	ck_assert_int_eq(pj_pt_pick(p, 1, &rr, 0, &s), -1);
	p[0].capacity = 100;
	ck_assert_int_eq(pj_pt_room(&p[0], &s), 1); /* window 2 */
}
END_TEST

START_TEST(status_rules)
{
	/* forward only, finals stay */
	ck_assert_int_eq(pj_status_decide(2, 3, 0, 0), PJ_ST_APPLY);
	ck_assert_int_eq(pj_status_decide(3, 3, 0, 0), PJ_ST_IGNORE);
	ck_assert_int_eq(pj_status_decide(4, 3, 0, 0), PJ_ST_IGNORE);
	ck_assert_int_eq(pj_status_decide(1, 3, 0, 0), PJ_ST_IGNORE);
	ck_assert_int_eq(pj_status_decide(6, 5, 0, 3), PJ_ST_IGNORE);
	ck_assert_int_eq(pj_status_decide(3, 6, 0, 3), PJ_ST_APPLY);
	ck_assert_int_eq(pj_status_decide(1, 6, 0, 0), PJ_ST_APPLY);
	/* retries */
	ck_assert_int_eq(pj_status_decide(3, 5, 0, 2), PJ_ST_RETRY);
	ck_assert_int_eq(pj_status_decide(3, 5, 1, 2), PJ_ST_RETRY);
	ck_assert_int_eq(pj_status_decide(3, 5, 2, 2), PJ_ST_APPLY);
	ck_assert_int_eq(pj_status_decide(3, 5, 0, 0), PJ_ST_APPLY);
	ck_assert_int_eq(pj_status_decide(3, 9, 0, 0), PJ_ST_IGNORE);
}
END_TEST

START_TEST(completion_rules)
{
	struct pj_sub_counts c = { 10, 2, 8, 0 };
	struct pj_outcome    o;

	pj_sub_outcome(PJ_EXEC_MAP, &c, 6, "", 0, NULL, &o);
	ck_assert_int_eq(o.kind, PJ_OUT_RUNNING);
	c = (struct pj_sub_counts) { 10, 0, 8, 2 };
	pj_sub_outcome(PJ_EXEC_MAP, &c, 6, "", 0, NULL, &o);
	ck_assert_int_eq(o.kind, PJ_OUT_DONE);
	ck_assert_int_eq(o.success, 0);
	ck_assert_str_eq(o.result, "total:10,succeed:8,failed:2");
	c = (struct pj_sub_counts) { 10, 0, 10, 0 };
	pj_sub_outcome(PJ_EXEC_MAP, &c, 6, "", 0, NULL, &o);
	ck_assert_int_eq(o.success, 1);
	pj_sub_outcome(PJ_EXEC_MAP, &c, 5, "no processor", 0, NULL, &o);
	ck_assert_int_eq(o.success, 0);
	ck_assert_str_eq(o.result, "root task (map) failed: no processor");
	/* map-reduce: the last task first, then its outcome */
	pj_sub_outcome(PJ_EXEC_MAP_REDUCE, &c, 6, "", 0, NULL, &o);
	ck_assert_int_eq(o.kind, PJ_OUT_CREATE_LAST);
	pj_sub_outcome(PJ_EXEC_MAP_REDUCE, &c, 6, "", 4, NULL, &o);
	ck_assert_int_eq(o.kind, PJ_OUT_RUNNING);
	pj_sub_outcome(PJ_EXEC_MAP_REDUCE, &c, 6, "", 6, "reduced", &o);
	ck_assert_int_eq(o.kind, PJ_OUT_DONE);
	ck_assert_int_eq(o.success, 1);
	ck_assert_str_eq(o.result, "reduced");
	/* a failed map fails the instance without a reduce */
	c = (struct pj_sub_counts) { 1, 0, 0, 1 };
	pj_sub_outcome(
	    PJ_EXEC_MAP_REDUCE, &c, 5, "map refused: x", 0, NULL, &o);
	ck_assert_int_eq(o.kind, PJ_OUT_DONE);
	ck_assert_int_eq(o.success, 0);
	ck_assert_str_eq(o.result, "root task (map) failed: map refused: x");
	/* broadcast */
	c = (struct pj_sub_counts) { 3, 0, 3, 0 };
	pj_sub_outcome(PJ_EXEC_BROADCAST, &c, 6, "", 0, NULL, &o);
	ck_assert_int_eq(o.kind, PJ_OUT_CREATE_LAST);
	pj_sub_outcome(PJ_EXEC_BROADCAST, &c, 6, "", 5, "post failed", &o);
	ck_assert_int_eq(o.success, 0);
	/* nothing at all */
	c = (struct pj_sub_counts) { 0, 0, 0, 0 };
	pj_sub_outcome(PJ_EXEC_MAP, &c, 0, NULL, 0, NULL, &o);
	ck_assert_str_eq(o.result, "create root task failed");
	/* standalone (frequent): the root's outcome */
	c = (struct pj_sub_counts) { 1, 0, 1, 0 };
	pj_sub_outcome(PJ_EXEC_STANDALONE, &c, 6, "fine", 0, NULL, &o);
	ck_assert_int_eq(o.success, 1);
	ck_assert_str_eq(o.result, "fine");
	/* timeouts */
	ck_assert(!pj_timed_out(0, 1000000, 0));
	ck_assert(!pj_timed_out(0, 1000, 1000));
	ck_assert(pj_timed_out(0, 1001, 1000));
}
END_TEST

START_TEST(frequent_rules)
{
	int64_t ms;
	char    err[128];

	ck_assert_int_eq(pj_time_kind_parse("FIXED_RATE"), PJ_TIME_FIXED_RATE);
	ck_assert_int_eq(pj_time_kind_parse("CRON"), PJ_TIME_OTHER);
	ck_assert_int_eq(pj_time_kind_parse(NULL), PJ_TIME_OTHER);
	ck_assert_int_eq(pj_freq_interval(PJ_TIME_FIXED_RATE, "1000", &ms, err,
	                     sizeof(err)),
	    0);
	ck_assert_int_eq(ms, 1000);
	ck_assert_int_eq(
	    pj_freq_interval(PJ_TIME_FIXED_RATE, "10", &ms, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "minimum"));
	ck_assert_int_eq(
	    pj_freq_interval(PJ_TIME_FIXED_DELAY, "10", &ms, err, sizeof(err)),
	    0);
	ck_assert_int_eq(pj_freq_interval(PJ_TIME_FIXED_DELAY, "ten", &ms, err,
	                     sizeof(err)),
	    -1);
	ck_assert_int_eq(
	    pj_freq_interval(PJ_TIME_FIXED_DELAY, "", &ms, err, sizeof(err)),
	    -1);
	ck_assert_int_eq(
	    pj_freq_interval(PJ_TIME_FIXED_DELAY, "-5", &ms, err, sizeof(err)),
	    -1);
	/* FIXED_RATE: max concurrency; FIXED_DELAY: no overlap */
	ck_assert_int_eq(
	    pj_freq_launch(PJ_TIME_FIXED_RATE, 5, 0), PJ_LAUNCH_NOW);
	ck_assert_int_eq(
	    pj_freq_launch(PJ_TIME_FIXED_RATE, 1, 2), PJ_LAUNCH_NOW);
	ck_assert_int_eq(
	    pj_freq_launch(PJ_TIME_FIXED_RATE, 2, 2), PJ_LAUNCH_TOO_MANY);
	ck_assert_int_eq(
	    pj_freq_launch(PJ_TIME_FIXED_DELAY, 0, 0), PJ_LAUNCH_NOW);
	ck_assert_int_eq(
	    pj_freq_launch(PJ_TIME_FIXED_DELAY, 1, 0), PJ_LAUNCH_WAIT);
	/* task ids */
	{
		char b[32];
		pj_root_task_id(false, 5, b, sizeof(b));
		ck_assert_str_eq(b, "0");
		pj_last_task_id(false, 5, b, sizeof(b));
		ck_assert_str_eq(b, "9999");
		pj_root_task_id(true, 5, b, sizeof(b));
		ck_assert_str_eq(b, "5");
		pj_last_task_id(true, 5, b, sizeof(b));
		ck_assert_str_eq(b, "L5");
	}
	ck_assert_int_eq(pj_exec_parse("MAP_REDUCE"), PJ_EXEC_MAP_REDUCE);
	ck_assert_int_eq(pj_exec_parse("map"), 0);
}
END_TEST

int
main(void)
{
	Suite   *s  = suite_create("worker_tasks");
	TCase   *tc = tcase_create("store");
	TCase   *tr = tcase_create("rules");
	SRunner *sr;
	int      failed;

	tcase_set_timeout(tc, 50);
	tcase_add_test(tc, store_insert_and_status);
	tcase_add_test(tc, store_retry_lost_unacked);
	tcase_add_test(tc, store_named_delete_subs_file);
	tcase_add_test(tc, store_many);
	tcase_add_test(tr, pt_availability);
	tcase_add_test(tr, status_rules);
	tcase_add_test(tr, completion_rules);
	tcase_add_test(tr, frequent_rules);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tr);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
