/*
 * bench/store_scale.c - what the store's read queries cost as instance_info
 * grows (issue 8, "Cost as the tables grow").
 *
 *   store_scale URL SIZE... [--plans]
 * e.g. store_scale sqlite:///tmp/x.db?pool=1 1000000 10000000
 *
 * For each SIZE (ascending) instance_info is grown to SIZE rows: 1,000 jobs
 * in 10 apps, the newest 1,000 instances RUNNING, every other one SUCCEED
 * (the previous size's RUNNING rows are finished first). Then every query
 * the scheduler, the status checks and the listings run is timed through
 * the store's own calls, REPS times each with a different job / app, and
 * one line per query is printed:
 *   "SIZE<TAB>query<TAB>median_ms<TAB>max_ms<TAB>rows"
 * plus the batched lifecycle rate at that size (5,000 instances, 100 per
 * call: create + three transitions, as bench/store_bench.c) and the
 * batched insert rate of the fill. With --plans each query's plan
 * (EXPLAIN QUERY PLAN / EXPLAIN of the statement the store builds) is
 * printed once per size, on lines starting with '#'.
 *
 * Design notes: the rows are added by one INSERT ... SELECT per 100,000
 * rows from a generated sequence (a recursive CTE on SQLite, the sequence
 * engine's seq_A_to_B on MariaDB), so 10,000,000 rows take minutes, not an
 * hour; the queries measured are the store's calls, unchanged. SQLite's
 * page cache is raised for the fill on the bench's one connection (use
 * ?pool=1) and set back to the store's default before timing. The database
 * must be empty. OOM policy: abort.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/store/store.h"
#include "server/store/store_impl.h"

#define T0 1700000000000LL /* instance i is created at T0 + i ms */
#define N_JOBS 1000
#define N_APPS 10
#define N_RUNNING 1000
#define REPS 21
#define IID0 1000000000LL /* instance_id = IID0 + i */
#define FILL_CHUNK 100000

static struct pj_store *S;
static int              is_sqlite;
static int              show_plans;
static int              planning;  /* statements are not run */
static long long        filled;    /* rows added by the fill so far */
static long long        life_next; /* next lifecycle instance number */

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static void
die(const char *what, int rv)
{
	if (planning)
		return; /* the plan ran, not the statement */
	fprintf(stderr, "store_scale: %s: %s (%s)\n", what, pj_store_errmsg(S),
	    pj_store_strerror(rv));
	exit(1);
}

static void
raw(const char *sql)
{
	int rv = pj_sq_exec(
	    S, NULL, 0, "bench", -1, sql, NULL, 0, NULL, NULL, NULL);
	if (rv != 0)
		die(sql, rv);
}

/* app of job j, as in fill() */
static int64_t
app_of(int64_t j)
{
	return 1 + ((j - 1) % N_JOBS) % N_APPS;
}

static void
setup_jobs(void)
{
	for (int a = 1; a <= N_APPS; a++) {
		char    name[32];
		int64_t id;
		int     rv;
		snprintf(name, sizeof(name), "scale-app-%d", a);
		if ((rv = pj_store_app_create(
		         S, name, "secret", name, T0, &id))
		    != 0)
			die("app_create", rv);
	}
	for (int j = 1; j <= N_JOBS; j++) {
		struct pj_job job = { 0 };
		char          name[32];
		int64_t       id;
		int           rv;
		snprintf(name, sizeof(name), "scale-job-%d", j);
		job.app_id               = app_of(j);
		job.job_name             = name;
		job.time_expression_type = 2; /* CRON */
		job.time_expression      = "0 * * * * ?";
		job.execute_type         = 1;
		job.processor_type       = 1;
		job.status               = PJ_STATUS_ENABLE;
		job.next_trigger_time    = T0 + (int64_t) j * 1000;
		if ((rv = pj_store_job_save(S, &job, T0, &id)) != 0)
			die("job_save", rv);
	}
}

/* rows i in (from, to]: job 1 + i % 1000, its app; RUNNING when i > last
 * - N_RUNNING, else SUCCEED */
static void
fill(long long from, long long to, long long last)
{
	char sql[2048], seq[160];
	int  rv;
	if (is_sqlite)
		snprintf(seq, sizeof(seq),
		    "WITH RECURSIVE seq(i) AS (SELECT %lld UNION ALL SELECT "
		    "i + 1 FROM seq WHERE i < %lld) ",
		    from + 1, to);
	else
		snprintf(seq, sizeof(seq), "seq_%lld_to_%lld", from + 1, to);
	/* the same expressions on both backends, written once */
	snprintf(sql, sizeof(sql),
	    "%sINSERT INTO instance_info (instance_id, job_id, app_id, type, "
	    "status, job_params, instance_params, result, fire_time, "
	    "expected_trigger_time, actual_trigger_time, finished_time, "
	    "last_report_time, task_tracker_address, running_times, "
	    "gmt_create, gmt_modified) SELECT %lld + %s, 1 + %s %% %d, "
	    "1 + (%s %% %d) %% %d, 1, CASE WHEN %s > %lld THEN 3 ELSE 5 END, "
	    "'', '', CASE WHEN %s > %lld THEN '' ELSE 'ok' END, %lld + %s, "
	    "%lld + %s, %lld + %s + 5, CASE WHEN %s > %lld THEN 0 ELSE %lld "
	    "+ %s + 900 END, %lld + %s + 500, '10.0.0.1:27777', 1, %lld + "
	    "%s, %lld + %s + 900 FROM %s",
	    is_sqlite ? seq : "", IID0, is_sqlite ? "i" : "seq",
	    is_sqlite ? "i" : "seq", N_JOBS, is_sqlite ? "i" : "seq", N_JOBS,
	    N_APPS, is_sqlite ? "i" : "seq", last - N_RUNNING,
	    is_sqlite ? "i" : "seq", last - N_RUNNING, T0,
	    is_sqlite ? "i" : "seq", T0, is_sqlite ? "i" : "seq", T0,
	    is_sqlite ? "i" : "seq", is_sqlite ? "i" : "seq", last - N_RUNNING,
	    T0, is_sqlite ? "i" : "seq", T0, is_sqlite ? "i" : "seq", T0,
	    is_sqlite ? "i" : "seq", T0, is_sqlite ? "i" : "seq",
	    is_sqlite ? "seq" : seq);
	if ((rv = pj_sq_exec(S, NULL, 0, "instance_info", -1, sql, NULL, 0,
	         NULL, NULL, NULL))
	    != 0)
		die("fill", rv);
}

static void
grow(long long size)
{
	char   sql[256];
	double t0;
	if (filled > 0) {
		/* yesterday's RUNNING instances have finished */
		snprintf(sql, sizeof(sql),
		    "UPDATE instance_info SET status = 5, result = 'ok', "
		    "finished_time = gmt_create + 900 WHERE instance_id > "
		    "%lld "
		    "AND status = 3",
		    IID0 + filled - N_RUNNING);
		raw(sql);
	}
	if (is_sqlite)
		raw("PRAGMA cache_size=-1048576");
	t0 = now_ms();
	for (long long k = filled; k < size; k += FILL_CHUNK) {
		long long to = k + FILL_CHUNK < size ? k + FILL_CHUNK : size;
		fill(k, to, size);
	}
	printf("# filled %lld rows to %lld in %.1f s\n", size - filled, size,
	    (now_ms() - t0) / 1e3);
	if (is_sqlite)
		raw("PRAGMA cache_size=-16384"); /* the store's default */
	filled = size;
}

/* ---- timing ------------------------------------------------------------ */

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

typedef size_t (*query_fn)(int rep);

static void
measure(long long size, const char *name, query_fn fn, int reps)
{
	double t[REPS];
	size_t rows = 0;
	if (show_plans) {
		char plan[8192];
		pj_store_explain_to(plan, sizeof(plan));
		planning = 1;
		fn(0);
		planning = 0;
		pj_store_explain_to(NULL, 0);
		printf("# %s:\n", name);
		for (char *l = strtok(plan, "\n"); l; l = strtok(NULL, "\n"))
			printf("#   %s\n", l);
	}
	fn(REPS); /* warm-up, a job not measured */
	for (int r = 0; r < reps; r++) {
		double t0 = now_ms();
		rows      = fn(r);
		t[r]      = now_ms() - t0;
	}
	qsort(t, (size_t) reps, sizeof(t[0]), cmp_dbl);
	printf("%lld\t%s\t%.3f\t%.3f\t%zu\n", size, name, t[reps / 2],
	    t[reps - 1], rows);
	fflush(stdout);
}

static int64_t
job_of(int rep)
{
	return 1 + (rep * 47) % N_JOBS;
}

static size_t
list(const struct pj_instance_query *q)
{
	struct pj_instance_list l = { 0 };
	int                     rv;
	if ((rv = pj_store_instance_list(S, q, &l)) != 0)
		die("instance_list", rv);
	size_t n = l.n;
	pj_instance_list_fini(&l);
	return n;
}

static size_t
q_list_job(int rep)
{
	struct pj_instance_query q = { .job_id = job_of(rep), .limit = 100 };
	return list(&q);
}

/* the job's newest 100 (newest_first), what a console shows first */
static size_t
q_list_job_newest(int rep)
{
	struct pj_instance_query q
	    = { .job_id = job_of(rep), .newest_first = 1, .limit = 100 };
	return list(&q);
}

/* a page in the middle of the job's history (keyset: after_id) */
static size_t
q_list_job_mid(int rep)
{
	struct pj_instance_query q = { .job_id = job_of(rep),
		.after_id                      = filled / 2 + rep,
		.limit                         = 100 };
	return list(&q);
}

static size_t
q_list_job_done(int rep)
{
	struct pj_instance_query q = { .job_id = job_of(rep),
		.status_in   = { PJ_INST_FAILED, PJ_INST_SUCCEED },
		.n_status_in = 2,
		.limit       = 100 };
	return list(&q);
}

static size_t
q_list_job_live(int rep)
{
	struct pj_instance_query q = { .job_id = job_of(rep),
		.status_in                     = { PJ_INST_WAITING_DISPATCH,
		                        PJ_INST_WAITING_WORKER_RECEIVE, PJ_INST_RUNNING },
		.n_status_in                   = 3,
		.limit                         = 100 };
	return list(&q);
}

static size_t
q_list_app(int rep)
{
	struct pj_instance_query q
	    = { .app_id = app_of(job_of(rep)), .limit = 100 };
	return list(&q);
}

static size_t
q_list_app_running(int rep)
{
	struct pj_instance_query q = { .app_id = app_of(job_of(rep)),
		.status_in                     = { PJ_INST_RUNNING },
		.n_status_in                   = 1,
		.limit                         = 100 };
	return list(&q);
}

static size_t
q_list_app_failed(int rep)
{
	/* no FAILED rows: the answer is empty, the cost must be too */
	struct pj_instance_query q = { .app_id = app_of(job_of(rep)),
		.status_in                     = { PJ_INST_FAILED },
		.n_status_in                   = 1,
		.limit                         = 100 };
	return list(&q);
}

/* the newest hour of one app (gmt_create > now - 1 h) */
static size_t
q_list_app_recent(int rep)
{
	struct pj_instance_query q = { .app_id = app_of(job_of(rep)),
		.gmt_create_gt = T0 + filled - 3600 * 1000LL + rep,
		.limit         = 100 };
	return list(&q);
}

/* the same, a page half an hour back (keyset: after_gmt_create, after_id;
 * row i has gmt_create T0 + i and id i) */
static size_t
q_list_app_recent_mid(int rep)
{
	int64_t                  g = T0 + filled - 1800 * 1000LL + rep * 1000;
	struct pj_instance_query q = { .app_id = app_of(job_of(rep)),
		.gmt_create_gt                 = T0 + filled - 3600 * 1000LL,
		.after_gmt_create              = g,
		.after_id                      = g - T0,
		.limit                         = 100 };
	return list(&q);
}

/* one job (of the app's 100) in the newest hour: a filter on top of the
 * app's time range */
static size_t
q_list_job_recent(int rep)
{
	struct pj_instance_query q = { .app_id = app_of(job_of(rep)),
		.job_id                        = job_of(rep),
		.gmt_create_gt = T0 + filled - 3600 * 1000LL + rep,
		.limit         = 100 };
	return list(&q);
}

static size_t
q_list_all_mid(int rep)
{
	struct pj_instance_query q
	    = { .after_id    = filled / 2 + (rep * 1000) % (filled / 4),
		      .limit = 100 };
	return list(&q);
}

static const int64_t all_apps[N_APPS] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

static size_t
check(enum pj_check_kind kind)
{
	struct pj_instance_list l  = { 0 };
	int                     rv = pj_store_instances_check(
	                        S, kind, all_apps, N_APPS, T0 + filled + 3600 * 1000LL, 1000, &l);
	if (rv != 0)
		die("instances_check", rv);
	size_t n = l.n;
	pj_instance_list_fini(&l);
	return n;
}

static size_t
q_check_running(int rep)
{
	(void) rep;
	return check(PJ_CHECK_RUNNING);
}

static size_t
q_check_dispatch(int rep)
{
	(void) rep;
	return check(PJ_CHECK_WAITING_DISPATCH);
}

static size_t
q_check_receive(int rep)
{
	(void) rep;
	return check(PJ_CHECK_WAITING_RECEIVE);
}

static size_t
q_count_live(int rep)
{
	static const int live[]
	    = { PJ_INST_WAITING_WORKER_RECEIVE, PJ_INST_RUNNING };
	int64_t n  = 0;
	int     rv = pj_store_instance_count_live(S, job_of(rep), live, 2, &n);
	if (rv != 0)
		die("count_live", rv);
	return 1;
}

static size_t
q_get(int rep)
{
	struct pj_instance i;
	int                rv
	    = pj_store_instance_get(S, IID0 + 1 + (rep * 9973LL) % filled, &i);
	if (rv != 0)
		die("instance_get", rv);
	pj_instance_fini(&i);
	return 1;
}

static size_t
q_jobs_due(int rep)
{
	static const int   types[] = { 2 };
	struct pj_job_list l       = { 0 };
	int                rv      = pj_store_jobs_due(
	                        S, all_apps, N_APPS, types, 1, T0 + 100 * 1000 + rep, 1000, &l);
	if (rv != 0)
		die("jobs_due", rv);
	size_t n = l.n;
	pj_job_list_fini(&l);
	return n;
}

static size_t
q_job_query(int rep)
{
	struct pj_job_query q = { .app_id = app_of(job_of(rep)),
		.sort                     = PJ_JOB_SORT_GMT_MODIFIED,
		.desc                     = 1,
		.limit                    = 100 };
	struct pj_job_list  l = { 0 };
	int                 rv;
	if ((rv = pj_store_job_query(S, &q, &l)) != 0)
		die("job_query", rv);
	size_t n = l.n;
	pj_job_list_fini(&l);
	return n;
}

/* 5,000 batched lifecycles (100 per call) at this size: rows/s */
static void
lifecycles(long long size)
{
	enum { B = 100, N = 5000 };
	struct pj_instance v[B];
	int64_t            ids[B];
	struct pj_instance set
	    = { .task_tracker_address = "10.0.0.1:27777", .result = "ok" };
	double t0 = now_ms();
	for (int done = 0; done < N; done += B) {
		int64_t t = T0 + filled + done;
		for (int k = 0; k < B; k++) {
			long long n = life_next++;
			memset(&v[k], 0, sizeof(v[k]));
			v[k].instance_id           = 2 * IID0 + n;
			v[k].job_id                = 1 + n % N_JOBS;
			v[k].app_id                = app_of(v[k].job_id);
			v[k].fire_time             = 2 * T0 + n;
			v[k].expected_trigger_time = t;
			ids[k]                     = v[k].instance_id;
		}
		int     rv;
		int64_t c               = 0;
		set.actual_trigger_time = t;
		set.finished_time       = t + 1;
		if ((rv = pj_store_instances_create(S, v, B, t)) != 0)
			die("create", rv);
		if ((rv = pj_store_instances_transition(S, ids, B, 1, 2, &set,
		         PJ_SET_ACTUAL_TRIGGER | PJ_SET_TT_ADDRESS, t, &c))
		        != 0
		    || (rv = pj_store_instances_transition(
		            S, ids, B, 2, 3, &set, 0, t, &c))
		        != 0
		    || (rv = pj_store_instances_transition(S, ids, B, 3, 5,
		            &set, PJ_SET_FINISHED | PJ_SET_RESULT, t, &c))
		        != 0)
			die("transition", rv);
	}
	double secs = (now_ms() - t0) / 1e3;
	printf("%lld\tbatched lifecycles/s (5000, 100/call)\t%.0f\t-\t-\n",
	    size, N / secs);
	fflush(stdout);
}

/* A backlog: 100,000 instances WAITING_DISPATCH and overdue (every worker
 * overloaded, say), then the WAITING_DISPATCH check with limit 1000 (it
 * returns 1000 every time; the checker loops on it). Afterwards they are
 * finished, so that the next size starts as the others. */
static void
backlog(long long size)
{
	enum { B = 1000, N = 100000 };
	static struct pj_instance v[B];
	char                      sql[256];
	long long                 first = life_next;
	for (int done = 0; done < N; done += B) {
		for (int k = 0; k < B; k++) {
			long long n = life_next++;
			memset(&v[k], 0, sizeof(v[k]));
			v[k].instance_id           = 2 * IID0 + n;
			v[k].job_id                = 1 + n % N_JOBS;
			v[k].app_id                = app_of(v[k].job_id);
			v[k].fire_time             = 2 * T0 + n;
			v[k].expected_trigger_time = T0 + filled;
		}
		int rv = pj_store_instances_create(S, v, B, T0 + filled);
		if (rv != 0)
			die("create", rv);
	}
	measure(size,
	    "check WAITING_DISPATCH, 10 apps, backlog of 100,000, limit 1000",
	    q_check_dispatch, REPS);
	snprintf(sql, sizeof(sql),
	    "UPDATE instance_info SET status = 5 WHERE instance_id >= %lld "
	    "AND status = 1",
	    2 * IID0 + first);
	raw(sql);
}

int
main(int argc, char **argv)
{
	long long sizes[8];
	int       n_sizes = 0, rv;
	if (argc < 3) {
		fprintf(stderr, "usage: store_scale URL SIZE... [--plans]\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--plans") == 0)
			show_plans = 1;
		else if (n_sizes < 8)
			sizes[n_sizes++] = strtoll(argv[i], NULL, 10);
	}
	for (int i = 0; i < n_sizes; i++)
		if (sizes[i] < 2 * N_RUNNING
		    || (i > 0 && sizes[i] <= sizes[i - 1])) {
			fprintf(stderr,
			    "store_scale: sizes ascending, each >= %d\n",
			    2 * N_RUNNING);
			return 2;
		}
	if ((rv = pj_store_open(argv[1], &S)) != 0)
		die("open", rv);
	if ((rv = pj_store_migrate(S, NULL, NULL)) != 0)
		die("migrate", rv);
	is_sqlite = strcmp(pj_store_backend(S), "sqlite") == 0;
	setup_jobs();
	static const struct {
		const char *name;
		query_fn    fn;
		int         reps;
	} qs[] = {
		{ "list: one job, first page of 100", q_list_job, REPS },
		{ "list: one job, page of 100 after a mid id", q_list_job_mid,
		    REPS },
		{ "list: one job, newest first, page of 100",
		    q_list_job_newest, REPS },
		{ "list: one job, status in (4,5), page of 100",
		    q_list_job_done, REPS },
		{ "list: one job, status in (1,2,3)", q_list_job_live, REPS },
		{ "list: one app, first page of 100", q_list_app, REPS },
		{ "list: one app, RUNNING, page of 100", q_list_app_running,
		    REPS },
		{ "list: one app, FAILED (none)", q_list_app_failed, REPS },
		{ "list: all apps, page of 100 after a mid id", q_list_all_mid,
		    REPS },
		{ "check RUNNING, 10 apps, limit 1000", q_check_running,
		    REPS },
		{ "check WAITING_DISPATCH, 10 apps (none)", q_check_dispatch,
		    REPS },
		{ "check WAITING_RECEIVE, 10 apps (none)", q_check_receive,
		    REPS },
		{ "count_live of one job", q_count_live, REPS },
		{ "instance_get", q_get, REPS },
		{ "jobs_due, 10 apps", q_jobs_due, REPS },
		{ "job_query: one app by gmt_modified desc, 100", q_job_query,
		    REPS },
		{ "list: one app, created in the last hour, page of 100",
		    q_list_app_recent, REPS },
		{ "list: one app, created in the last hour, a page half an "
		  "hour back",
		    q_list_app_recent_mid, REPS },
		{ "list: one job, created in the last hour, page of 100",
		    q_list_job_recent, REPS },
	};
	for (int i = 0; i < n_sizes; i++) {
		grow(sizes[i]);
		for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++)
			measure(sizes[i], qs[k].name, qs[k].fn, qs[k].reps);
		lifecycles(sizes[i]);
		backlog(sizes[i]);
	}
	pj_store_close(S);
	return 0;
}
