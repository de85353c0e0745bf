/*
 * t/logstore_test.c - the log store contract (server/logstore/logstore.h)
 * on SQLite, on the private MariaDB (PJ_TEST_MYSQL_URL, started by
 * t/run.sh) and on MongoDB: the wire-protocol stand-in t/mongo_standin.py
 * started by the tests, or a real MongoDB when PJ_TEST_MONGO_URI is set.
 * Then the log writer and its spool: the stand-in killed and started
 * again mid-stream (nothing lost, order kept), the spool's rule when
 * full, a torn spool record; bad URLs and wrong credentials at open.
 *
 * Design notes (threads): the writer has its own thread; the tests wait
 * for it with pj_logwriter_flush. Each test runs in its own process
 * (Check's fork mode) and stops what it started in teardown.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <mysql.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/ar.h"
#include "server/logstore/logstore.h"
#include "server/logstore/spool.h"
#include "server/logstore/writer.h"
#include "server/store/migrate.h"
#include "server/store/store_impl.h"
#include "t/mongoutil.h"
#include "t/mysqlutil.h"

enum { B_SQLITE, B_MYSQL, B_MONGO };

static int                 backend;
static struct pj_store    *S;
static struct pj_logstore *LS;
static struct tu_mongo     mongo;
static char                tmpdir[256], dbname[64];

#define OK(x) ck_assert_msg((x) == 0, "%s: %s", #x, pj_logstore_errmsg())

static void
open_backend(void)
{
	char url[600];
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pjlog.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	if (backend == B_MONGO) {
		tu_mongo_setup(&mongo);
		OK(pj_logstore_open(mongo.uri, NULL, &LS));
		ck_assert_str_eq(pj_logstore_name(LS), "mongodb");
		return;
	}
	if (backend == B_MYSQL) {
		snprintf(dbname, sizeof(dbname), "pjlog_%d", (int) getpid());
		tu_mysql_admin_sql("DROP DATABASE IF EXISTS %s", dbname);
		tu_mysql_admin_sql("CREATE DATABASE %s", dbname);
		snprintf(url, sizeof(url), "%s%s", getenv("PJ_TEST_MYSQL_URL"),
		    dbname);
	} else {
		snprintf(url, sizeof(url), "sqlite://%s/pj.db", tmpdir);
	}
	ck_assert_int_eq(pj_store_open(url, &S), 0);
	ck_assert_int_eq(pj_store_migrate(S, NULL, NULL), 0);
	OK(pj_logstore_open("sql", S, &LS));
}

static void
setup_sqlite(void)
{
	backend = B_SQLITE;
	open_backend();
}
static void
setup_mysql(void)
{
	backend = B_MYSQL;
	open_backend();
}
static void
setup_mongo(void)
{
	backend = B_MONGO;
	open_backend();
}

static void
teardown(void)
{
	char cmd[300];
	pj_logstore_close(LS);
	LS = NULL;
	if (S != NULL) {
		pj_store_close(S);
		S = NULL;
	}
	if (backend == B_MYSQL) {
		tu_mysql_admin_sql("DROP DATABASE IF EXISTS %s", dbname);
		mysql_library_end();
	}
	if (backend == B_MONGO)
		tu_mongo_teardown(&mongo);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* ---- helpers --------------------------------------------------------- */

static struct pj_logline
line(int64_t inst, int64_t seq, int64_t t, const char *content)
{
	struct pj_logline l = { .instance_id = inst,
		.seq                         = seq,
		.app_id                      = 7,
		.log_time                    = t,
		.log_level                   = 2,
		.content                     = content,
		.worker_address              = "pj://w@127.0.0.1:1" };
	return l;
}

/* every line of inst, in order, through the cursor reads of `page` */
static struct pj_log_list
read_all(int64_t inst, int page)
{
	struct pj_log_list all = { 0 }, l;
	int64_t            at = 0, key = 0;
	for (;;) {
		OK(pj_logstore_read(LS, inst, at, key, page, &l));
		all.v = realloc(all.v, sizeof(*all.v) * (all.n + l.n + 1));
		if (l.n)
			memcpy(all.v + all.n, l.v, sizeof(*l.v) * l.n);
		all.n += l.n;
		if (l.n) {
			at  = l.v[l.n - 1].log_time;
			key = l.v[l.n - 1].id;
		}
		size_t got = l.n;
		free(l.v);
		if (got < (size_t) page)
			return all;
	}
}

/* lines numbered 1..n of inst, content "line <seq>", 4 per millisecond */
static void
append_numbered(int64_t inst, int64_t from, int64_t to, int64_t t0)
{
	size_t             n = (size_t) (to - from + 1);
	struct pj_logline *v = calloc(n, sizeof(*v));
	char             **c = calloc(n, sizeof(*c));
	for (size_t k = 0; k < n; k++) {
		int64_t s = from + (int64_t) k;
		c[k]      = malloc(32);
		snprintf(c[k], 32, "line %lld", (long long) s);
		v[k] = line(inst, s, t0 + s / 4, c[k]);
	}
	OK(pj_logstore_append(LS, v, n));
	for (size_t k = 0; k < n; k++)
		free(c[k]);
	free(c);
	free(v);
}

static void
check_numbered(int64_t inst, int64_t n, int page)
{
	struct pj_log_list l = read_all(inst, page);
	ck_assert_msg(l.n == (size_t) n, "instance %lld: %zu lines, want %lld",
	    (long long) inst, l.n, (long long) n);
	for (size_t k = 0; k < l.n; k++) {
		char want[32];
		snprintf(want, sizeof(want), "line %zu", k + 1);
		ck_assert_str_eq(l.v[k].content, want);
	}
	pj_log_list_fini(&l);
}

/* ---- the contract ------------------------------------------------------ */

START_TEST(append_and_read_back)
{
	struct pj_logline v[3] = { line(100, 1, 1000, "first"),
		line(100, 2, 1000, "second, same ms"),
		line(101, 1, 999, "other instance") };
	v[2].log_level         = 4;
	OK(pj_logstore_append(LS, v, 3));
	struct pj_log_list l;
	OK(pj_logstore_read(LS, 100, 0, 0, 10, &l));
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.v[0].content, "first");
	ck_assert_str_eq(l.v[1].content, "second, same ms");
	ck_assert_int_eq(l.v[0].instance_id, 100);
	ck_assert_int_eq(l.v[0].log_time, 1000);
	ck_assert_int_eq(l.v[0].log_level, 2);
	ck_assert_str_eq(l.v[0].worker_address, "pj://w@127.0.0.1:1");
	pj_log_list_fini(&l);
	OK(pj_logstore_read(LS, 101, 0, 0, 10, &l));
	ck_assert_uint_eq(l.n, 1);
	ck_assert_int_eq(l.v[0].log_level, 4);
	pj_log_list_fini(&l);
	OK(pj_logstore_read(LS, 102, 0, 0, 10, &l));
	ck_assert_uint_eq(l.n, 0);
	pj_log_list_fini(&l);
	/* limits are checked before the backend is asked */
	ck_assert_int_eq(
	    pj_logstore_read(LS, 100, 0, 0, 0, &l), PJ_LOG_EINVAL);
	ck_assert_int_eq(
	    pj_logstore_read(LS, 100, 0, 0, PJ_LOG_READ_MAX + 1, &l),
	    PJ_LOG_EINVAL);
	ck_assert_ptr_nonnull(strstr(pj_logstore_errmsg(), "limit"));
}
END_TEST

START_TEST(paging_across_batches)
{
	/* three batches; pages of 100 cross their borders */
	append_numbered(200, 1, 250, 5000);
	append_numbered(200, 251, 500, 5000);
	append_numbered(200, 501, 750, 5000);
	check_numbered(200, 750, 100);
	check_numbered(200, 750, 7);
	int64_t n;
	OK(pj_logstore_count(LS, 200, &n));
	ck_assert_int_eq(n, 750);
	struct pj_log_list l;
	OK(pj_logstore_page(LS, 200, 700, 100, &l));
	ck_assert_uint_eq(l.n, 50);
	ck_assert_str_eq(l.v[0].content, "line 701");
	ck_assert_str_eq(l.v[49].content, "line 750");
	pj_log_list_fini(&l);
	OK(pj_logstore_page(LS, 200, 750, 100, &l));
	ck_assert_uint_eq(l.n, 0);
	pj_log_list_fini(&l);
}
END_TEST

START_TEST(same_batch_twice)
{
	append_numbered(300, 1, 100, 1);
	append_numbered(300, 1, 100, 1);  /* a retry */
	append_numbered(300, 51, 150, 1); /* overlapping */
	check_numbered(300, 150, 1000);
	/* unnumbered lines are never merged */
	struct pj_logline u[2]
	    = { line(301, 0, 5, "a"), line(301, 0, 5, "a") };
	OK(pj_logstore_append(LS, u, 2));
	OK(pj_logstore_append(LS, u, 2));
	int64_t n;
	OK(pj_logstore_count(LS, 301, &n));
	ck_assert_int_eq(n, 4);
}
END_TEST

START_TEST(hostile_text_and_long_lines)
{
	static const char *const evil[] = {
		"'); DROP TABLE local_instance_log; --",
		"{\"$gt\": 1} $where: function() { return true }",
		"\"quotes\" \\backslash\\ \t tab \r\n newline",
		"\xF0\x9F\x94\xA5 emoji \xE2\x80\xAE rtl override",
		"%s %n %x printf",
		"",
	};
	size_t            ne = sizeof(evil) / sizeof(evil[0]);
	struct pj_logline v[8];
	char             *big = malloc(PJ_STORE_LONGTEXT_MAX + 2);
	memset(big, 'x', PJ_STORE_LONGTEXT_MAX);
	big[PJ_STORE_LONGTEXT_MAX] = 0;
	for (size_t k = 0; k < ne; k++)
		v[k] = line(400, (int64_t) k + 1, 10, evil[k]);
	v[ne] = line(400, (int64_t) ne + 1, 10, big);
	OK(pj_logstore_append(LS, v, ne + 1));
	struct pj_log_list l;
	OK(pj_logstore_read(LS, 400, 0, 0, 100, &l));
	ck_assert_uint_eq(l.n, ne + 1);
	for (size_t k = 0; k < ne; k++)
		ck_assert_str_eq(l.v[k].content, evil[k]);
	ck_assert_uint_eq(strlen(l.v[ne].content), PJ_STORE_LONGTEXT_MAX);
	pj_log_list_fini(&l);

	/* one byte too long, and bytes that are not UTF-8: refused whole,
	 * with a message that names the field */
	big[PJ_STORE_LONGTEXT_MAX]     = 'x';
	big[PJ_STORE_LONGTEXT_MAX + 1] = 0;
	struct pj_logline bad[2]
	    = { line(401, 1, 1, "fine"), line(401, 2, 1, big) };
	ck_assert_int_eq(pj_logstore_append(LS, bad, 2), PJ_LOG_EINVAL);
	ck_assert_ptr_nonnull(strstr(pj_logstore_errmsg(), "content"));
	bad[1].content = "bad \xC3\x28 utf8 \xFF";
	ck_assert_int_eq(pj_logstore_append(LS, bad, 2), PJ_LOG_EINVAL);
	ck_assert_ptr_nonnull(strstr(pj_logstore_errmsg(), "UTF-8"));
	int64_t n;
	OK(pj_logstore_count(LS, 401, &n));
	ck_assert_int_eq(n, 0);

	/* what the writer does with them instead: cleaned, then stored */
	char *c1 = pj_logline_clean(big, PJ_STORE_LONGTEXT_MAX);
	char *c2 = pj_logline_clean(bad[1].content, PJ_STORE_LONGTEXT_MAX);
	ck_assert_ptr_null(pj_logline_clean("fine", PJ_STORE_LONGTEXT_MAX));
	ck_assert_uint_le(strlen(c1), PJ_STORE_LONGTEXT_MAX);
	ck_assert_ptr_nonnull(strstr(c1, "[... cut at"));
	ck_assert_str_eq(c2, "bad \xEF\xBF\xBD( utf8 \xEF\xBF\xBD");
	bad[0].content = c1;
	bad[1].content = c2;
	OK(pj_logstore_append(LS, bad, 2));
	OK(pj_logstore_count(LS, 401, &n));
	ck_assert_int_eq(n, 2);
	free(c1);
	free(c2);
	free(big);
}
END_TEST

START_TEST(many_instances_at_once)
{
	enum { NI = 200, NL = 20 };
	struct pj_logline *v = calloc(NI * NL, sizeof(*v));
	static char        c[NL][16];
	for (int s = 0; s < NL; s++)
		snprintf(c[s], sizeof(c[s]), "line %d", s + 1);
	/* interleaved as a server receives them: line s of every instance */
	for (int s = 0; s < NL; s++)
		for (int i = 0; i < NI; i++)
			v[s * NI + i] = line(1000 + i, s + 1, 100 + s, c[s]);
	OK(pj_logstore_append(LS, v, NI * NL));
	free(v);
	for (int i = 0; i < NI; i += 13)
		check_numbered(1000 + i, NL, 6);
	check_numbered(1000 + NI - 1, NL, 100);
}
END_TEST

static int
count_line(void *arg, const struct pj_log_line *l)
{
	int64_t *n = arg;
	char     want[32];
	snprintf(want, sizeof(want), "line %lld", (long long) (*n + 1));
	ck_assert_str_eq(l->content, want);
	(*n)++;
	return 0;
}

START_TEST(stream_whole_log)
{
	append_numbered(500, 1, 2500, 1);
	int64_t n = 0;
	OK(pj_logstore_stream(LS, 500, 333, count_line, &n));
	ck_assert_int_eq(n, 2500);
	n = 0;
	OK(pj_logstore_stream(LS, 501, 0, count_line, &n));
	ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(delete_by_instance_and_age)
{
	append_numbered(600, 1, 40, 1000);  /* times 1000..1010 */
	append_numbered(601, 1, 40, 50000); /* times 50000.. */
	int64_t d, n;
	OK(pj_logstore_delete_before(LS, 1005, &d));
	ck_assert_int_eq(d, 19); /* 1000 + s/4 < 1005: s = 1..19 */
	OK(pj_logstore_count(LS, 600, &n));
	ck_assert_int_eq(n, 21);
	OK(pj_logstore_count(LS, 601, &n));
	ck_assert_int_eq(n, 40);
	OK(pj_logstore_delete_instance(LS, 601, &d));
	ck_assert_int_eq(d, 40);
	OK(pj_logstore_count(LS, 601, &n));
	ck_assert_int_eq(n, 0);
	OK(pj_logstore_delete_before(LS, 1000000, &d));
	ck_assert_int_eq(d, 21);
}
END_TEST

/* ---- the writer -------------------------------------------------------- */

static struct pj_logwriter *
writer(uint64_t spool_max)
{
	struct pj_logwriter_config c = { 0 };
	struct pj_logwriter       *w;
	char                       dir[300], err[256];
	snprintf(dir, sizeof(dir), "%s/spool", tmpdir);
	c.spool_dir       = dir;
	c.spool_max_bytes = spool_max;
	c.retry_ms        = 100;
	ck_assert_msg(
	    pj_logwriter_start(LS, &c, &w, err, sizeof(err)) == 0, "%s", err);
	return w;
}

/* n batches of 50 numbered lines of inst, from batch `first` */
static void
submit_batches(struct pj_logwriter *w, int64_t inst, int first, int n)
{
	for (int b = first; b < first + n; b++) {
		struct pj_logline v[50];
		char              c[50][32], err[256];
		for (int k = 0; k < 50; k++) {
			int64_t s = (int64_t) b * 50 + k + 1;
			snprintf(
			    c[k], sizeof(c[k]), "line %lld", (long long) s);
			v[k] = line(inst, s, 1000 + s / 4, c[k]);
		}
		ck_assert_msg(
		    pj_logwriter_submit(w, v, 50, err, sizeof(err)) == 0, "%s",
		    err);
	}
}

struct sub_arg {
	struct pj_logwriter *w;
	int64_t              inst;
};

static void *
submitter(void *arg)
{
	struct sub_arg *a = arg;
	submit_batches(a->w, a->inst, 0, 20);
	return NULL;
}

START_TEST(writer_from_many_threads)
{
	struct pj_logwriter *w = writer(0);
	pthread_t            th[4];
	struct sub_arg       a[4];
	for (int i = 0; i < 4; i++) {
		a[i] = (struct sub_arg) { w, 700 + i };
		pthread_create(&th[i], NULL, submitter, &a[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(pj_logwriter_flush(w, 20000), 0);
	struct pj_logwriter_stats st;
	pj_logwriter_stats(w, &st);
	ck_assert_uint_eq(st.submitted_lines, 4000);
	ck_assert_uint_eq(st.written_lines, 4000);
	ck_assert_uint_eq(st.spool.lines, 0);
	pj_logwriter_stop(w);
	for (int i = 0; i < 4; i++)
		check_numbered(700 + i, 1000, 1000);
}
END_TEST

/* MongoDB killed mid-stream: batches go to the spool, and reach MongoDB
 * in order, each line once, when it is back on the same port. */
START_TEST(standin_killed_and_restarted)
{
	if (mongo.real) {
		fprintf(stderr,
		    "standin_killed_and_restarted: skipped on a "
		    "real MongoDB (it cannot be killed from here)\n");
		return;
	}
	struct pj_logwriter *w = writer(0);
	submit_batches(w, 800, 0, 10);
	ck_assert_int_eq(pj_logwriter_flush(w, 20000), 0);
	tu_mongo_kill(&mongo);
	submit_batches(w, 800, 10, 10);
	struct pj_logwriter_stats st;
	for (int k = 0; k < 600;
	     k++) { /* the first write fails, then spools */
		pj_logwriter_stats(w, &st);
		if (st.spool.lines == 500)
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(st.spool.lines, 500);
	ck_assert_int_eq(st.store_down, 1);
	ck_assert_uint_gt(st.spool.bytes, 0);
	ck_assert_int_gt(st.spool.oldest_ms, 0);
	/* still accepted while down, behind the spool */
	submit_batches(w, 800, 20, 10);
	tu_mongo_standin(&mongo, mongo.port, 0);
	ck_assert_int_eq(pj_logwriter_flush(w, 30000), 0);
	pj_logwriter_stats(w, &st);
	ck_assert_uint_eq(st.written_lines, 1500);
	ck_assert_int_eq(st.store_down, 0);
	pj_logwriter_stop(w);
	check_numbered(800, 1500, 500);
}
END_TEST

/* The rule when full: past the spool's bound a batch is refused (the
 * caller answers the worker with an error), counted and logged; every
 * batch accepted before reaches the store. */
START_TEST(spool_full_refuses)
{
	if (mongo.real)
		return;
	tu_mongo_kill(&mongo);
	struct pj_logwriter *w = writer(64 * 1024);
	struct pj_logline    v[50];
	char                 c[50][32], err[256];
	int                  accepted = 0, rv = 0;
	for (int b = 0; b < 1000 && rv == 0; b++) {
		for (int k = 0; k < 50; k++) {
			int64_t s = (int64_t) b * 50 + k + 1;
			snprintf(
			    c[k], sizeof(c[k]), "line %lld", (long long) s);
			v[k] = line(900, s, 1000 + s / 4, c[k]);
		}
		rv = pj_logwriter_submit(w, v, 50, err, sizeof(err));
		if (rv == 0)
			accepted++;
		else
			break;
		if (b % 10 == 9) /* let the writer fail over to the spool */
			usleep(50000);
	}
	ck_assert_int_eq(rv, PJ_LOG_EFULL);
	ck_assert_ptr_nonnull(strstr(err, "full"));
	struct pj_logwriter_stats st;
	pj_logwriter_stats(w, &st);
	ck_assert_uint_eq(st.refused_lines, 50);
	ck_assert_uint_le(st.spool.bytes, 64 * 1024);
	tu_mongo_standin(&mongo, mongo.port, 0);
	ck_assert_int_eq(pj_logwriter_flush(w, 30000), 0);
	pj_logwriter_stop(w);
	check_numbered(900, accepted * 50, 1000);
}
END_TEST

START_TEST(bad_uri_and_credentials)
{
	struct pj_logstore *x;
	ck_assert_int_eq(
	    pj_logstore_open("mongodb://127.0.0.1:99999/db", NULL, &x),
	    PJ_LOG_EINVAL);
	ck_assert_ptr_null(x);
	ck_assert_ptr_nonnull(strstr(pj_logstore_errmsg(), "log store URL"));
	ck_assert_int_eq(
	    pj_logstore_open("redis://127.0.0.1/", NULL, &x), PJ_LOG_EINVAL);
	ck_assert_ptr_nonnull(strstr(pj_logstore_errmsg(), "mongodb://"));
	ck_assert_int_eq(pj_logstore_open("sql", NULL, &x), PJ_LOG_EINVAL);
	if (mongo.real)
		return;
	/* wrong credentials: a stand-in that refuses every login */
	struct tu_mongo auth = { 0 };
	char            uri[300];
	snprintf(auth.dir, sizeof(auth.dir), "%s", mongo.dir);
	snprintf(
	    auth.journal, sizeof(auth.journal), "%s/auth.journal", mongo.dir);
	tu_mongo_standin(&auth, 0, 1);
	snprintf(uri, sizeof(uri),
	    "mongodb://pj:wrongpass@127.0.0.1:%d/powerjob?"
	    "serverSelectionTimeoutMS=2000",
	    auth.port);
	int rv = pj_logstore_open(uri, NULL, &x);
	tu_mongo_kill(&auth);
	ck_assert_msg(
	    rv == PJ_LOG_EAUTH, "rv %d: %s", rv, pj_logstore_errmsg());
	ck_assert_ptr_nonnull(strstr(pj_logstore_errmsg(), "uthentication"));
	ck_assert_ptr_null(strstr(pj_logstore_errmsg(), "wrongpass"));
	/* nobody listening: opens (the writer will spool), writes say so */
	snprintf(uri, sizeof(uri),
	    "mongodb://127.0.0.1:%d/powerjob?serverSelectionTimeoutMS=300",
	    auth.port);
	OK(pj_logstore_open(uri, NULL, &x));
	struct pj_logline l = line(1, 1, 1, "x");
	ck_assert_int_eq(pj_logstore_append(x, &l, 1), PJ_LOG_EDOWN);
	ck_assert_ptr_nonnull(strstr(pj_logstore_errmsg(), "unreachable"));
	pj_logstore_close(x);
}
END_TEST

/* ---- the spool alone ------------------------------------------------------
 */

START_TEST(spool_survives_restart_and_torn_tail)
{
	struct pj_spool  *sp;
	char              dir[300], err[256], path[400];
	struct pj_logline v[3] = { line(1, 1, 1, "a"), line(1, 2, 1, ""),
		line(2, 9, 3, "long \xE2\x82\xAC text") };
	snprintf(dir, sizeof(dir), "%s/sp", tmpdir);
	ck_assert_int_eq(
	    pj_spool_open(dir, 1 << 20, &sp, err, sizeof(err)), 0);
	ck_assert_int_eq(pj_spool_put(sp, v, 3, 111, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(pj_spool_put(sp, v, 1, 222, 0, err, sizeof(err)), 0);
	pj_spool_close(sp);
	/* a crash in the middle of a third record */
	snprintf(path, sizeof(path), "%s/seg-000000000001.spool", dir);
	int fd = open(path, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "PJSL\x40\0\0\0", 8), 8);
	close(fd);
	ck_assert_int_eq(
	    pj_spool_open(dir, 1 << 20, &sp, err, sizeof(err)), 0);
	struct pj_spool_stats st;
	pj_spool_stats(sp, &st);
	ck_assert_uint_eq(st.lines, 4);
	ck_assert_int_eq(st.oldest_ms, 111);
	struct pj_logline *r;
	size_t             n;
	char              *buf;
	ck_assert_int_eq(pj_spool_peek(sp, &r, &n, &buf), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(r[0].content, "a");
	ck_assert_str_eq(r[1].content, "");
	ck_assert_str_eq(r[2].content, "long \xE2\x82\xAC text");
	ck_assert_str_eq(r[2].worker_address, "pj://w@127.0.0.1:1");
	ck_assert_int_eq(r[2].seq, 9);
	ck_assert_int_eq(r[2].log_time, 3);
	ck_assert_int_eq(r[2].app_id, 7);
	free(r);
	free(buf);
	pj_spool_pop(sp);
	pj_spool_stats(sp, &st);
	ck_assert_int_eq(st.oldest_ms, 222);
	ck_assert_int_eq(
	    pj_spool_put(sp, v + 2, 1, 333, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(pj_spool_peek(sp, &r, &n, &buf), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(r[0].content, "a");
	free(r);
	free(buf);
	pj_spool_pop(sp);
	ck_assert_int_eq(pj_spool_peek(sp, &r, &n, &buf), 0);
	ck_assert_int_eq(r[0].seq, 9);
	free(r);
	free(buf);
	pj_spool_pop(sp);
	ck_assert_int_eq(pj_spool_peek(sp, &r, &n, &buf), 1);
	pj_spool_stats(sp, &st);
	ck_assert_uint_eq(st.lines, 0);
	ck_assert_uint_eq(st.bytes, 0);
	/* the bound */
	ck_assert_int_eq(pj_spool_put(sp, v, 3, 1, 0, err, 40), 0);
	pj_spool_close(sp);
	ck_assert_int_eq(pj_spool_open(dir, 100, &sp, err, sizeof(err)), 0);
	ck_assert_int_eq(
	    pj_spool_put(sp, v, 3, 1, 0, err, sizeof(err)), PJ_LOG_EFULL);
	ck_assert_ptr_nonnull(strstr(err, "full"));
	ck_assert_int_eq(pj_spool_put(sp, v, 3, 1, 1, err, sizeof(err)), 0);
	pj_spool_close(sp);

	/* a corrupt body: that segment is skipped, said so, and counted */
	DIR           *d = opendir(dir);
	struct dirent *e;
	ck_assert_ptr_nonnull(d);
	path[0] = 0;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "seg-", 4) == 0)
			snprintf(path, sizeof(path), "%.300s/%.60s", dir,
			    e->d_name);
	closedir(d);
	int fd2 = open(path, O_RDWR);
	ck_assert_int_ge(fd2, 0);
	ck_assert_int_eq(pwrite(fd2, "!", 1, 40), 1); /* first record's body */
	close(fd2);
	ck_assert_int_eq(
	    pj_spool_open(dir, 1 << 20, &sp, err, sizeof(err)), 0);
	pj_spool_stats(sp, &st);
	ck_assert_uint_eq(st.lines, 6);
	ck_assert_int_eq(pj_spool_peek(sp, &r, &n, &buf), 1);
	pj_spool_stats(sp, &st);
	ck_assert_uint_eq(st.lines, 0);
	ck_assert_uint_eq(st.bytes, 0);
	ck_assert_uint_eq(st.lost_lines, 6);
	pj_spool_close(sp);
}
END_TEST

/* SQL: reads walk idx01 from the cursor, never sort (EXPLAIN) */
START_TEST(sql_reads_use_the_index)
{
	static char        plan[8192];
	struct pj_log_list l;
	append_numbered(50, 1, 100, 1);
	for (int k = 0; k < 2; k++) {
		plan[0] = 0;
		pj_store_explain_to(plan, sizeof(plan));
		if (k == 0)
			pj_logstore_read(LS, 50, 5, 3, 100, &l);
		else
			pj_logstore_page(LS, 50, 10, 100, &l);
		pj_store_explain_to(NULL, 0);
		pj_log_list_fini(&l);
		ck_assert_msg(
		    strstr(plan, "idx01_local_instance_log"), "%s", plan);
		ck_assert_msg(
		    !strstr(plan, "TEMP B-TREE") && !strstr(plan, "filesort"),
		    "%s", plan);
	}
}
END_TEST

static void
contract(TCase *tc)
{
	tcase_add_test(tc, append_and_read_back);
	tcase_add_test(tc, paging_across_batches);
	tcase_add_test(tc, same_batch_twice);
	tcase_add_test(tc, hostile_text_and_long_lines);
	tcase_add_test(tc, many_instances_at_once);
	tcase_add_test(tc, stream_whole_log);
	tcase_add_test(tc, delete_by_instance_and_age);
	tcase_add_test(tc, writer_from_many_threads);
}

int
main(void)
{
	Suite   *s = suite_create("logstore");
	TCase   *tc;
	SRunner *sr;
	int      failed;

	tc = tcase_create("sqlite");
	tcase_add_checked_fixture(tc, setup_sqlite, teardown);
	tcase_set_timeout(tc, 30);
	contract(tc);
	tcase_add_test(tc, sql_reads_use_the_index);
	tcase_add_test(tc, spool_survives_restart_and_torn_tail);
	suite_add_tcase(s, tc);

	tc = tcase_create("mariadb");
	tcase_add_checked_fixture(tc, setup_mysql, teardown);
	tcase_set_timeout(tc, 30);
	contract(tc);
	tcase_add_test(tc, sql_reads_use_the_index);
	suite_add_tcase(s, tc);

	tc = tcase_create("mongodb");
	tcase_add_checked_fixture(tc, setup_mongo, teardown);
	tcase_set_timeout(tc, 60);
	contract(tc);
	tcase_add_test(tc, standin_killed_and_restarted);
	tcase_add_test(tc, spool_full_refuses);
	tcase_add_test(tc, bad_uri_and_credentials);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
