/*
 * t/cluster_test.c - the server's cluster domain code without actors:
 * health score and the cluster view's ageing and executor filters, app
 * secret checks and their cache (real SQLite store), snowflake ids from two
 * generators at full speed, and ownership resolution on a real SQLite
 * database with a ping function standing in for FriendActor.
 *
 * Design notes (threads): the id and race tests start plain pthreads; each
 * test runs in its own Check fork.
 */
#include <check.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/ar.h"
#include "server/cluster/auth.h"
#include "server/cluster/config.h"
#include "server/cluster/ids.h"
#include "server/cluster/owner.h"
#include "server/cluster/view.h"
#include "server/store/store.h"

/* ---- health score and view ---------------------------------------------- */

static struct pj_metrics
metrics(int cpus, double load, double mem_used, double mem_max)
{
	struct pj_metrics m = { cpus, load, mem_used, mem_max, 10, 100 };
	return (m);
}

START_TEST(health_score_is_powerjobs)
{
	struct pj_metrics m = metrics(8, 2.0, 1.0, 4.0);
	ck_assert_int_eq(pj_health_score(&m), 12); /* (4-1)*2 + (8-2) */
	m = metrics(8, -1.0, 1.0, 4.0);            /* load unknown: cpu = 1 */
	ck_assert_int_eq(pj_health_score(&m), 7);
	m = metrics(2, 3.5, 0.5, 1.0); /* overloaded cpu goes negative */
	ck_assert_int_eq(pj_health_score(&m), 0); /* (int)(1 - 1.5) */
}
END_TEST

static void
beat(struct pj_view *v, int64_t app, const char *addr, int64_t t,
    struct pj_metrics m, const char *tag, bool overload)
{
	struct pj_heartbeat hb = { 0 };
	hb.address             = addr;
	hb.heartbeat_time      = t;
	hb.tag                 = tag;
	hb.version             = "1.0";
	hb.overload            = overload;
	hb.metrics             = m;
	ck_assert_int_ge(pj_view_heartbeat(v, app, &hb), 0);
}

static void
count_dead(void *arg, int64_t app_id, const struct pj_worker *w)
{
	ck_assert_int_eq(app_id, 1);
	ck_assert(!w->alive);
	(*(int *) arg)++;
}

START_TEST(view_alive_dead_dropped)
{
	struct pj_view   *v = pj_view_new();
	struct pj_worker *w;
	int64_t           t0 = 1000000;
	size_t            apps, workers;

	beat(v, 1, "pj://w@h:1", t0, metrics(4, 1, 1, 2), "", false);
	beat(v, 1, "pj://w@h:2", t0 + 30000, metrics(4, 1, 1, 2), "", false);
	/* an older heartbeat than the stored one is ignored */
	struct pj_heartbeat old
	    = { .address = "pj://w@h:2", .heartbeat_time = t0 };
	ck_assert_int_eq(pj_view_heartbeat(v, 1, &old), -1);

	struct pj_executor_filter any = { 0 };
	ck_assert_uint_eq(pj_view_query(v, 1, t0 + 60000, &any, &w), 2);
	free(w);
	/* 60 s silent = dead: out of executor queries, flagged in lists */
	ck_assert_uint_eq(pj_view_query(v, 1, t0 + 60001, &any, &w), 1);
	ck_assert_str_eq(w[0].address, "pj://w@h:2");
	free(w);
	ck_assert_uint_eq(pj_view_query(v, 1, t0 + 60001, NULL, &w), 2);
	ck_assert(!w[0].alive || !w[1].alive);
	free(w);
	/* ageing reports each death once, drops after 10 min, and the app
	 * with its last worker */
	int deaths = 0;
	ck_assert_uint_eq(pj_view_age(v, t0 + 60000, count_dead, &deaths), 0);
	ck_assert_int_eq(deaths, 0);
	ck_assert_uint_eq(pj_view_age(v, t0 + 60001, count_dead, &deaths), 0);
	ck_assert_uint_eq(pj_view_age(v, t0 + 60002, count_dead, &deaths), 0);
	ck_assert_int_eq(deaths, 1);
	ck_assert_uint_eq(
	    pj_view_age(v, t0 + PJ_WORKER_DROP_MS, count_dead, &deaths), 0);
	ck_assert_int_eq(deaths, 2); /* the second one, once */
	ck_assert_uint_eq(
	    pj_view_age(v, t0 + PJ_WORKER_DROP_MS + 1, count_dead, &deaths),
	    1);
	pj_view_counts(v, &apps, &workers);
	ck_assert_uint_eq(apps, 1);
	ck_assert_uint_eq(workers, 1);
	ck_assert_uint_eq(pj_view_age(v, t0 + 30000 + PJ_WORKER_DROP_MS + 1,
	                      count_dead, &deaths),
	    1);
	ck_assert_int_eq(deaths, 2); /* nobody reported twice */
	pj_view_counts(v, &apps, &workers);
	ck_assert_uint_eq(apps, 0);
	ck_assert_uint_eq(pj_view_query(v, 1, t0, NULL, &w), 0);
	ck_assert_ptr_null(w);
	pj_view_free(v);
}
END_TEST

START_TEST(view_executor_filters)
{
	struct pj_view   *v = pj_view_new();
	struct pj_worker *w;
	int64_t           t = 5000;
	size_t            n;

	beat(
	    v, 7, "pj://a@10.0.0.1:1", t, metrics(2, 1.5, 1, 2), "gpu", false);
	beat(v, 7, "pj://b@10.0.0.2:1", t, metrics(16, 1, 1, 9), "cpu", false);
	beat(v, 7, "pj://c@10.0.0.3:1", t, metrics(8, 1, 1, 5), "cpu", false);
	beat(v, 7, "pj://d@10.0.0.4:1", t, metrics(32, 0, 0, 64), "", true);
	beat(v, 8, "pj://e@10.0.0.5:1", t, metrics(32, 0, 0, 64), "", false);

	/* best score first; overloaded left out; other apps not mixed in */
	struct pj_executor_filter f = { 0 };
	n                           = pj_view_query(v, 7, t, &f, &w);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(w[0].address, "pj://b@10.0.0.2:1");
	ck_assert_str_eq(w[1].address, "pj://c@10.0.0.3:1");
	ck_assert_str_eq(w[2].address, "pj://a@10.0.0.1:1");
	free(w);
	f.include_overloaded = true;
	ck_assert_uint_eq(pj_view_query(v, 7, t, &f, &w), 4);
	ck_assert_str_eq(w[0].address, "pj://d@10.0.0.4:1");
	free(w);
	/* designated by tag or host:port */
	struct pj_executor_filter d = { .designated = "gpu, 10.0.0.3:1" };
	ck_assert_uint_eq(pj_view_query(v, 7, t, &d, &w), 2);
	ck_assert_str_eq(w[0].address, "pj://c@10.0.0.3:1");
	ck_assert_str_eq(w[1].address, "pj://a@10.0.0.1:1");
	free(w);
	/* minimum cpu (strictly more free cores), memory, disk */
	struct pj_executor_filter c = { .min_cpu = 7 };
	ck_assert_uint_eq(pj_view_query(v, 7, t, &c, &w), 1);
	ck_assert_str_eq(w[0].address, "pj://b@10.0.0.2:1");
	free(w);
	struct pj_executor_filter m = { .min_mem = 4 };
	ck_assert_uint_eq(pj_view_query(v, 7, t, &m, &w), 2);
	free(w);
	struct pj_executor_filter k = { .min_disk = 91 };
	ck_assert_uint_eq(pj_view_query(v, 7, t, &k, &w), 0);
	/* max worker count keeps the best */
	struct pj_executor_filter x = { .max_count = 1 };
	ck_assert_uint_eq(pj_view_query(v, 7, t, &x, &w), 1);
	ck_assert_str_eq(w[0].address, "pj://b@10.0.0.2:1");
	free(w);
	pj_view_forget_app(v, 7);
	ck_assert_uint_eq(pj_view_query(v, 7, t, NULL, &w), 0);
	pj_view_free(v);
}
END_TEST

/* ---- store helpers -------------------------------------------------------
 */

static char tmpdir[256];

static struct pj_store *
open_store(void)
{
	struct pj_store *s;
	char             url[400];
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pjcluster.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(url, sizeof(url), "sqlite://%s/pj.db?pool=4", tmpdir);
	ck_assert_int_eq(pj_store_open(url, &s), 0);
	ck_assert_int_eq(pj_store_migrate(s, NULL, NULL), 0);
	return (s);
}

static void
close_store(struct pj_store *s)
{
	char cmd[300];
	pj_store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* ---- secrets ------------------------------------------------------------ */

START_TEST(auth_checks_and_caches)
{
	struct pj_store *s = open_store();
	struct pj_auth  *a = pj_auth_new(s);
	int64_t          id, got = 0, now = 1000;
	int              cached;

	ck_assert_int_eq(
	    pj_store_app_create(s, "billing", "s3cret", "", now, &id), 0);
	ck_assert_int_eq(
	    pj_auth_check(a, "billing", "wrong", now, &got, &cached),
	    PJ_STORE_EAUTH);
	ck_assert_int_eq(pj_auth_cached(a), 0); /* no right pair held */
	ck_assert_int_eq(pj_auth_check(a, "nope", "x", now, &got, &cached),
	    PJ_STORE_ENOTFOUND);
	ck_assert_int_eq(
	    pj_auth_check(a, "", "x", now, &got, NULL), PJ_STORE_EINVAL);
	ck_assert_int_eq(
	    pj_auth_check(a, "billing", "s3cret", now, &got, &cached), 0);
	ck_assert_int_eq(cached, 0);
	ck_assert_int_eq(got, id);
	/* a cached success costs no PBKDF2: 1 000 checks well under the
	 * time of ten uncached ones (ten fresh caches) */
	struct pj_auth_stats st;
	int64_t              t0 = ar_mono_ms();
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(
		    pj_auth_check(a, "billing", "s3cret", now, &got, &cached),
		    0);
		ck_assert_int_eq(cached, 1);
	}
	int64_t cached_ms = ar_mono_ms() - t0;
	pj_auth_get_stats(a, &st);
	ck_assert_int_eq(st.pbkdf2, 2); /* "wrong" once, "s3cret" once */
	t0 = ar_mono_ms();
	for (int i = 0; i < 10; i++) {
		struct pj_auth *fresh = pj_auth_new(s);
		ck_assert_int_eq(
		    pj_auth_check(fresh, "billing", "s3cret", now, &got, NULL),
		    0);
		pj_auth_free(fresh);
	}
	int64_t slow_ms = ar_mono_ms() - t0;
	ck_assert_msg(cached_ms < slow_ms, "cached %lld ms, PBKDF2 %lld ms",
	    (long long) cached_ms, (long long) slow_ms);
	/* the wrong secret is still refused while the right one is cached */
	ck_assert_int_eq(
	    pj_auth_check(a, "billing", "s3cre", now, &got, &cached),
	    PJ_STORE_EAUTH);
	/* after the time to live the store is asked again */
	ck_assert_int_eq(pj_auth_check(a, "billing", "s3cret",
	                     now + PJ_AUTH_TTL_MS + 1, &got, &cached),
	    0);
	ck_assert_int_eq(cached, 0);
	ck_assert_int_eq(pj_auth_cached(a), 1);
	pj_auth_free(a);
	close_store(s);
}
END_TEST

/* the stored secret of app NAME becomes that of app FROM (a secret changed
 * behind the cache's back, as another server or an operator would) */
static void
copy_secret(const char *name, const char *from)
{
	char     path[300], sql[300];
	sqlite3 *db;
	snprintf(path, sizeof(path), "%s/pj.db", tmpdir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	snprintf(sql, sizeof(sql),
	    "UPDATE app_info SET password_hash = (SELECT password_hash FROM "
	    "app_info WHERE app_name = '%s') WHERE app_name = '%s'",
	    from, name);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* the stored secret of app NAME becomes SECRET hashed with one PBKDF2
 * round, so that a test can afford hundreds of checks */
static void
cheap_secret(const char *name, const char *secret)
{
	unsigned char salt[16] = { 1, 2, 3 }, h[32];
	char          hash[200], sql[400], path[300];
	int           n;
	sqlite3      *db;
	ck_assert_int_eq(PKCS5_PBKDF2_HMAC(secret, (int) strlen(secret), salt,
	                     sizeof(salt), 1, EVP_sha256(), sizeof(h), h),
	    1);
	n = snprintf(hash, sizeof(hash), "pbkdf2-sha256$1$");
	for (size_t i = 0; i < sizeof(salt); i++) {
		n += snprintf(hash + n, sizeof(hash) - n, "%02x", salt[i]);
	}
	n += snprintf(hash + n, sizeof(hash) - n, "$");
	for (size_t i = 0; i < sizeof(h); i++) {
		n += snprintf(hash + n, sizeof(hash) - n, "%02x", h[i]);
	}
	snprintf(path, sizeof(path), "%s/pj.db", tmpdir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	snprintf(sql, sizeof(sql),
	    "UPDATE app_info SET password_hash = '%s' WHERE app_name = '%s'",
	    hash, name);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* a wrong secret is answered from the cache: the same wrong secret 1 000
 * times costs one PBKDF2, until the entry expires or the secret changes */
START_TEST(auth_caches_wrong_secrets)
{
	struct pj_store     *s = open_store();
	struct pj_auth      *a = pj_auth_new(s);
	struct pj_auth_stats st;
	int64_t              id, other, got = 0, now = 1000000;
	int                  cached;

	ck_assert_int_eq(
	    pj_store_app_create(s, "billing", "s3cret", "", now, &id), 0);
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(
		    pj_auth_check(a, "billing", "wrong", now, &got, &cached),
		    PJ_STORE_EAUTH);
		ck_assert_int_eq(cached, i > 0);
	}
	pj_auth_get_stats(a, &st);
	ck_assert_int_eq(st.pbkdf2, 1);
	ck_assert_int_eq(st.neg_hits, 999);
	ck_assert_int_eq(st.negative, 1);
	ck_assert_int_eq(st.throttled, 0);
	/* the right secret is not shadowed by it */
	ck_assert_int_eq(
	    pj_auth_check(a, "billing", "s3cret", now, &got, &cached), 0);
	ck_assert_int_eq(got, id);
	/* the name is part of the key: the same wrong secret for another
	 * app is checked on its own */
	ck_assert_int_eq(
	    pj_store_app_create(s, "payroll", "wrong", "", now, &other), 0);
	ck_assert_int_eq(
	    pj_auth_check(a, "payroll", "wrong", now, &got, &cached), 0);
	ck_assert_int_eq(got, other);
	/* a short life */
	ck_assert_int_eq(pj_auth_check(a, "billing", "wrong",
	                     now + PJ_AUTH_NEG_TTL_MS + 1, &got, &cached),
	    PJ_STORE_EAUTH);
	ck_assert_int_eq(cached, 0);
	pj_auth_get_stats(a, &st);
	ck_assert_int_eq(st.pbkdf2, 4);
	/* billing's secret becomes "wrong": the cached refusal is void at
	 * once, long before its time to live */
	copy_secret("billing", "payroll");
	ck_assert_int_eq(pj_auth_check(a, "billing", "wrong",
	                     now + PJ_AUTH_NEG_TTL_MS + 2, &got, &cached),
	    0);
	ck_assert_int_eq(got, id);
	/* bounded: distinct wrong secrets (time moving on so that the
	 * failure limit lets them through) hold at most PJ_AUTH_NEG_MAX */
	cheap_secret("payroll", "pay");
	ck_assert_int_eq(pj_auth_check(a, "payroll", "pay", now, &got, NULL),
	    0); /* the cheap hash is a real one */
	for (int i = 0; i < PJ_AUTH_NEG_MAX + 20; i++) {
		char w[32];
		snprintf(w, sizeof(w), "w%d", i);
		ck_assert_int_eq(
		    pj_auth_check(a, "payroll", w,
		        now + (i + 10) * PJ_AUTH_FAIL_EVERY_MS, &got, NULL),
		    PJ_STORE_EAUTH);
	}
	pj_auth_get_stats(a, &st);
	ck_assert_int_eq(st.negative, PJ_AUTH_NEG_MAX);
	ck_assert_int_eq(st.throttled, 0);
	pj_auth_free(a);
	close_store(s);
}
END_TEST

/* distinct wrong secrets for one app: PJ_AUTH_FAIL_BURST PBKDF2s, then one
 * every PJ_AUTH_FAIL_EVERY_MS; the others are refused unchecked, and
 * clients that were verified before, or of other apps, are served */
START_TEST(auth_limits_failures_per_app)
{
	struct pj_store     *s = open_store();
	struct pj_auth      *a = pj_auth_new(s);
	struct pj_auth_stats st;
	struct pj_auth_info  info;
	int64_t              id, other, got = 0, now = 1000000;
	char                 w[32];

	ck_assert_int_eq(
	    pj_store_app_create(s, "billing", "s3cret", "", now, &id), 0);
	ck_assert_int_eq(
	    pj_store_app_create(s, "payroll", "pay", "", now, &other), 0);
	/* a worker verified a while ago: its entry expired before the flood */
	ck_assert_int_eq(pj_auth_check(a, "billing", "s3cret",
	                     now - PJ_AUTH_TTL_MS - 1, &got, NULL),
	    0);
	for (int i = 0; i < 1000; i++) {
		snprintf(w, sizeof(w), "guess%d", i);
		ck_assert_int_eq(
		    pj_auth_check_info(a, "billing", w, now, &got, &info),
		    PJ_STORE_EAUTH);
		ck_assert_int_eq(info.throttled, i >= PJ_AUTH_FAIL_BURST);
	}
	ck_assert_int_eq(info.retry_ms, PJ_AUTH_FAIL_EVERY_MS);
	pj_auth_get_stats(a, &st);
	ck_assert_int_eq(st.pbkdf2, 1 + PJ_AUTH_FAIL_BURST);
	ck_assert_int_eq(st.throttled, 1000 - PJ_AUTH_FAIL_BURST);
	/* during the flood: the worker verified before is checked and in */
	ck_assert_int_eq(
	    pj_auth_check_info(a, "billing", "s3cret", now, &got, &info), 0);
	ck_assert_int_eq(got, id);
	/* another app is not held back */
	ck_assert_int_eq(
	    pj_auth_check_info(a, "payroll", "pay", now, &got, &info), 0);
	ck_assert_int_eq(got, other);
	/* a new pair of the flooded app waits for its turn like a guess... */
	struct pj_auth *b = pj_auth_new(s);
	for (int i = 0; i < PJ_AUTH_FAIL_BURST; i++) {
		snprintf(w, sizeof(w), "g%d", i);
		pj_auth_check(b, "billing", w, now, &got, NULL);
	}
	ck_assert_int_eq(
	    pj_auth_check_info(b, "billing", "s3cret", now, &got, &info),
	    PJ_STORE_EAUTH);
	ck_assert(info.throttled);
	/* ... is in at the next token, and gives the token back */
	ck_assert_int_eq(pj_auth_check_info(b, "billing", "s3cret",
	                     now + info.retry_ms, &got, &info),
	    0);
	ck_assert_int_eq(pj_auth_check_info(b, "billing", "guess",
	                     now + PJ_AUTH_FAIL_EVERY_MS, &got, &info),
	    PJ_STORE_EAUTH);
	ck_assert(!info.throttled);
	pj_auth_free(b);
	/* the rate: one guess a millisecond for 2 s runs 2000 / EVERY */
	pj_auth_get_stats(a, &st);
	int64_t before = st.pbkdf2;
	for (int i = 0; i < 2000; i++) {
		snprintf(w, sizeof(w), "later%d", i);
		pj_auth_check(a, "billing", w, now + 1 + i, &got, NULL);
	}
	pj_auth_get_stats(a, &st);
	ck_assert_int_le(st.pbkdf2 - before, 2000 / PJ_AUTH_FAIL_EVERY_MS + 1);
	ck_assert_int_ge(st.pbkdf2 - before, 2000 / PJ_AUTH_FAIL_EVERY_MS - 1);
	pj_auth_free(a);
	close_store(s);
}
END_TEST

/* ---- snowflake ids --------------------------------------------------------
 */

#define IDS_MAX 200000
struct gen_run {
	struct pj_ids g;
	int64_t      *ids;
	size_t        n;
};

static void *
gen_thread(void *arg)
{
	struct gen_run *r   = arg;
	int64_t         end = ar_mono_ms() + 1000;
	while (ar_mono_ms() < end && r->n < IDS_MAX) {
		r->ids[r->n++] = pj_ids_next(&r->g);
	}
	return (NULL);
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return (x < y ? -1 : x > y);
}

START_TEST(ids_two_generators_never_collide)
{
	struct gen_run r[2];
	pthread_t      t[2];
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(pj_ids_init(&r[i].g, i == 0 ? 1 : 10000), 0);
		r[i].ids = malloc(IDS_MAX * sizeof(int64_t));
		r[i].n   = 0;
		pthread_create(&t[i], NULL, gen_thread, &r[i]);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
	}
	size_t   n   = r[0].n + r[1].n;
	int64_t *all = malloc(n * sizeof(int64_t));
	for (int i = 0; i < 2; i++) {
		/* increasing within a generator, server id inside */
		for (size_t k = 0; k < r[i].n; k++) {
			ck_assert_int_eq(
			    pj_ids_server_of(r[i].ids[k]), i == 0 ? 1 : 10000);
			if (k > 0) {
				ck_assert(r[i].ids[k] > r[i].ids[k - 1]);
			}
		}
	}
	memcpy(all, r[0].ids, r[0].n * sizeof(int64_t));
	memcpy(all + r[0].n, r[1].ids, r[1].n * sizeof(int64_t));
	qsort(all, n, sizeof(int64_t), cmp64);
	for (size_t k = 1; k < n; k++) {
		ck_assert_msg(all[k] != all[k - 1], "duplicate id %lld",
		    (long long) all[k]);
	}
	/* a full second at up to 64 ids per ms each: tens of thousands on a
	 * plain build, fewer under ThreadSanitizer on a loaded machine; the
	 * floor only proves both ran flat out in the same milliseconds */
	ck_assert_msg(r[0].n > 2000 && r[1].n > 2000, "only %zu + %zu ids",
	    r[0].n, r[1].n);
	/* the time part is now, in PowerJob's epoch */
	int64_t ms = (all[n - 1] >> 22) + PJ_IDS_EPOCH_MS;
	ck_assert(llabs(ms - ar_now_ms()) < 5000);
	ck_assert_int_ne(pj_ids_init(&r[0].g, 1 << 14), 0);
	free(all);
	for (int i = 0; i < 2; i++) {
		free(r[i].ids);
		pj_ids_fini(&r[i].g);
	}
}
END_TEST

static int64_t
id_ms(int64_t id)
{
	return (id >> 22) + PJ_IDS_EPOCH_MS;
}

/* A pass records tens of thousands of fires at once: a burst past 64 ids a
 * millisecond borrows later milliseconds (at most PJ_IDS_AHEAD_MS ahead)
 * instead of waiting for them; a generator started after (a restarted
 * server, the same server id) issues only greater ids. */
START_TEST(ids_burst_borrows_and_a_restart_never_repeats)
{
	enum { N = 64 * 1000 }; /* a second's worth: waiting took >= 1 s */
	struct pj_ids g, g2;
	int64_t      *v = malloc(N * sizeof(*v));
	ck_assert_int_eq(pj_ids_init(&g, 7), 0);
	/* let the allowance build up, as on a server that ran a while */
	usleep((PJ_IDS_AHEAD_MS + 100) * 1000);
	int64_t t0 = ar_mono_ms();
	for (int k = 0; k < N; k++) {
		v[k] = pj_ids_next(&g);
		ck_assert(k == 0 || v[k] > v[k - 1]);
		ck_assert_int_le(id_ms(v[k]), ar_now_ms() + PJ_IDS_AHEAD_MS);
	}
	int64_t took = ar_mono_ms() - t0;
	ck_assert_msg(took < 900, "64,000 ids took %lld ms: waited",
	    (long long) took);
	ck_assert_int_gt(id_ms(v[N - 1]), ar_now_ms()); /* borrowed */
	pj_ids_fini(&g);
	ck_assert_int_eq(pj_ids_init(&g2, 7), 0);
	for (int k = 0; k < 200; k++) {
		int64_t id = pj_ids_next(&g2);
		ck_assert_msg(id > v[N - 1], "restart issued %lld <= %lld",
		    (long long) id, (long long) v[N - 1]);
	}
	pj_ids_fini(&g2);
	free(v);
}
END_TEST

/* ---- ownership ------------------------------------------------------------
 */

/* servers named in `alive` (space-separated) answer pings */
struct pinger {
	const char     *alive;
	int             pings;
	pthread_mutex_t mtx;
};

static int
ping(void *arg, const char *server, int timeout_ms)
{
	struct pinger *p = arg;
	ck_assert_int_eq(timeout_ms, PJ_ELECT_PING_TIMEOUT_MS);
	pthread_mutex_lock(&p->mtx);
	p->pings++;
	pthread_mutex_unlock(&p->mtx);
	return (strstr(p->alive, server) != NULL ? 0 : 1);
}

START_TEST(owner_resolution)
{
	struct pj_store    *s = open_store();
	struct pinger       p = { "", 0, PTHREAD_MUTEX_INITIALIZER };
	struct pj_owner_env a
	    = { .store = s, .self = "h:1", .ping = ping, .ping_arg = &p };
	struct pj_owner_result r;
	int64_t                id;
	char                  *owner;

	ck_assert_int_eq(pj_owner_resolve(&a, 999, &r), PJ_STORE_ENOTFOUND);
	ck_assert_int_eq(pj_store_app_create(s, "app", "pw", "", 1, &id), 0);
	/* nobody owns it: take it over, no ping */
	ck_assert_int_eq(pj_owner_resolve(&a, id, &r), 0);
	ck_assert_str_eq(r.owner, "h:1");
	ck_assert(r.took_over);
	ck_assert_int_eq(p.pings, 0);
	/* asked again: answered at once, no ping, no lock */
	ck_assert_int_eq(pj_owner_resolve(&a, id, &r), 0);
	ck_assert(!r.took_over && !r.pinged);
	ck_assert_int_eq(p.pings, 0);
	/* another server asks while h:1 answers pings: h:1 stays */
	struct pj_owner_env b = a;
	b.self                = "h:2";
	p.alive               = "h:1";
	ck_assert_int_eq(pj_owner_resolve(&b, id, &r), 0);
	ck_assert_str_eq(r.owner, "h:1");
	ck_assert(r.pinged && !r.took_over);
	ck_assert_int_eq(p.pings, 1);
	/* h:1 dies: h:2 takes over, the row says so, the lock is gone */
	p.alive = "";
	ck_assert_int_eq(pj_owner_resolve(&b, id, &r), 0);
	ck_assert_str_eq(r.owner, "h:2");
	ck_assert(r.took_over);
	ck_assert_int_eq(pj_store_app_owner(s, id, &owner), 0);
	ck_assert_str_eq(owner, "h:2");
	free(owner);
	ck_assert_int_eq(
	    pj_store_lock_try(s, "server_elect_1", "x", 60000, ar_now_ms()),
	    0);
	/* lock held by somebody else (not expired): attempts, then EBUSY */
	struct pj_owner_env c = a;
	c.self                = "h:3";
	c.attempts            = 3;
	c.backoff_ms          = 20;
	int64_t t0            = ar_mono_ms();
	ck_assert_int_eq(pj_owner_resolve(&c, id, &r), PJ_OWNER_EBUSY);
	ck_assert_int_eq(r.attempts, 3);
	ck_assert_int_ge(ar_mono_ms() - t0, 60);
	pj_store_lock_unlock(s, "server_elect_1");
	close_store(s);
}
END_TEST

struct racer {
	struct pj_owner_env    env;
	int64_t                app;
	struct pj_owner_result r;
	int                    rv;
};

static void *
race(void *arg)
{
	struct racer *x = arg;
	x->rv           = pj_owner_resolve(&x->env, x->app, &x->r);
	return (NULL);
}

/* three servers race for an app whose owner is dead: exactly one wins and
 * the others answer with the winner (they ping it; it is alive) */
START_TEST(owner_race_one_winner)
{
	struct pj_store *s = open_store();
	struct pinger    p = { "h:1 h:2 h:3", 0, PTHREAD_MUTEX_INITIALIZER };
	int64_t          id;
	char            *owner;
	ck_assert_int_eq(pj_store_app_create(s, "app", "pw", "", 1, &id), 0);
	for (int round = 0; round < 5; round++) {
		ck_assert_int_eq(pj_store_app_owner_cas(
		                     s, id, round ? owner : "", "dead:9", 1),
		    0);
		if (round) {
			free(owner);
		}
		struct racer x[3];
		pthread_t    t[3];
		char         self[3][16];
		for (int i = 0; i < 3; i++) {
			snprintf(self[i], sizeof(self[i]), "h:%d", i + 1);
			memset(&x[i], 0, sizeof(x[i]));
			x[i].env = (struct pj_owner_env) { .store = s,
				.self                             = self[i],
				.ping                             = ping,
				.ping_arg                         = &p,
				.backoff_ms                       = 10 };
			x[i].app = id;
			pthread_create(&t[i], NULL, race, &x[i]);
		}
		int won = 0;
		for (int i = 0; i < 3; i++) {
			pthread_join(t[i], NULL);
			ck_assert_int_eq(x[i].rv, 0);
			won += x[i].r.took_over;
		}
		ck_assert_int_eq(won, 1);
		ck_assert_int_eq(pj_store_app_owner(s, id, &owner), 0);
		for (int i = 0; i < 3; i++) {
			ck_assert_str_eq(x[i].r.owner, owner);
		}
	}
	free(owner);
	close_store(s);
}
END_TEST

START_TEST(owned_set)
{
	struct pj_owned *o = pj_owned_new();
	int64_t          ids[4];
	pj_owned_add(o, 3);
	pj_owned_add(o, 3);
	pj_owned_add(o, 5);
	ck_assert(
	    pj_owned_has(o, 3) && pj_owned_has(o, 5) && !pj_owned_has(o, 4));
	ck_assert_uint_eq(pj_owned_list(o, ids, 4), 2);
	ck_assert(pj_owned_remove(o, 3));
	ck_assert(!pj_owned_remove(o, 3));
	ck_assert_uint_eq(pj_owned_list(o, ids, 4), 1);
	ck_assert_int_eq(ids[0], 5);
	pj_owned_free(o);
}
END_TEST

/* ---- serve options
 * ---------------------------------------------------------- */

START_TEST(config_precedence)
{
	struct pj_serve_config c;
	char                   err[256], file[] = "/tmp/pjcfg.XXXXXX";
	int                    fd = mkstemp(file);
	FILE                  *f  = fdopen(fd, "w");
	fprintf(f,
	    "# a comment\nlisten = tcp://0.0.0.0:7000\n"
	    "db = sqlite:///tmp/x.db\nlog-level=warn\n"
	    "data-dir = /tmp/d1\n");
	fclose(f);
	unsetenv("PJ_LISTEN");
	unsetenv("PJ_DB");
	unsetenv("PJ_DATA_DIR");
	unsetenv("PJ_CLUSTER_KEY");
	unsetenv("PJ_LOG_LEVEL");
	setenv("PJ_CONFIG", file, 1);
	setenv("PJ_DATA_DIR", "/tmp/d2", 1);
	char *argv[] = { "serve", "--db", "sqlite:///tmp/flag.db",
		"--log-level=debug", NULL };
	ck_assert_int_eq(
	    pj_serve_config_load(&c, 4, argv, stdout, err, sizeof(err)), 0);
	ck_assert_str_eq(c.listen, "tcp://0.0.0.0:7000"); /* file */
	ck_assert_str_eq(c.data_dir, "/tmp/d2");          /* env over file */
	ck_assert_str_eq(c.db, "sqlite:///tmp/flag.db");  /* flag over file */
	ck_assert_str_eq(c.log_level, "debug");
	ck_assert_str_eq(c.advertise, ""); /* default */
	unsetenv("PJ_CONFIG");
	unsetenv("PJ_DATA_DIR");
	char *none[] = { "serve", NULL };
	ck_assert_int_eq(
	    pj_serve_config_load(&c, 1, none, stdout, err, sizeof(err)), 0);
	ck_assert_str_eq(c.listen, "tcp://127.0.0.1:10086");
	ck_assert_str_eq(c.data_dir, "./pj-data");
	ck_assert_str_eq(c.malloc_arenas, "2"); /* docs/server.md, Memory */
	char *ar[] = { "serve", "--malloc-arenas", "0", NULL };
	ck_assert_int_eq(
	    pj_serve_config_load(&c, 3, ar, stdout, err, sizeof(err)), 0);
	ck_assert_str_eq(c.malloc_arenas, "0");
	/* the cluster key from a file, or the environment */
	f = fopen(file, "w");
	fprintf(f, "  k3y\n");
	fclose(f);
	char *kf[] = { "serve", "--cluster-key-file", file, NULL };
	ck_assert_int_eq(
	    pj_serve_config_load(&c, 3, kf, stdout, err, sizeof(err)), 0);
	ck_assert_str_eq(c.cluster_key, "k3y");
	setenv("PJ_CLUSTER_KEY", "envkey", 1);
	ck_assert_int_eq(
	    pj_serve_config_load(&c, 3, kf, stdout, err, sizeof(err)), 0);
	ck_assert_str_eq(c.cluster_key, "envkey");
	unsetenv("PJ_CLUSTER_KEY");
	unlink(file);
}
END_TEST

START_TEST(config_errors_and_help)
{
	struct pj_serve_config c;
	char                   err[256];
	FILE                  *null   = fopen("/dev/null", "w");
	char                  *bad[]  = { "serve", "--nope", "1", NULL };
	char                  *miss[] = { "serve", "--db", NULL };
	char *lvl[]  = { "serve", "--log-level", "loud", NULL };
	char *lst[]  = { "serve", "--listen", "127.0.0.1:80", NULL };
	char *help[] = { "serve", "--help", NULL };
	char *cfg[]  = { "serve", "--config", "/nonexistent/pj.conf", NULL };
	ck_assert_int_eq(
	    pj_serve_config_load(&c, 3, bad, null, err, sizeof(err)), 2);
	ck_assert_ptr_nonnull(strstr(err, "--nope"));
	ck_assert_int_eq(
	    pj_serve_config_load(&c, 2, miss, null, err, sizeof(err)), 2);
	ck_assert_ptr_nonnull(strstr(err, "needs a value"));
	ck_assert_int_eq(
	    pj_serve_config_load(&c, 3, lvl, null, err, sizeof(err)), 2);
	ck_assert_int_eq(
	    pj_serve_config_load(&c, 3, lst, null, err, sizeof(err)), 2);
	ck_assert_int_eq(
	    pj_serve_config_load(&c, 3, cfg, null, err, sizeof(err)), 2);
	ck_assert_int_eq(
	    pj_serve_config_load(&c, 2, help, null, err, sizeof(err)), 1);
	fclose(null);
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("cluster");
	TCase *tc = tcase_create("cluster");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, health_score_is_powerjobs);
	tcase_add_test(tc, view_alive_dead_dropped);
	tcase_add_test(tc, view_executor_filters);
	tcase_add_test(tc, auth_checks_and_caches);
	tcase_add_test(tc, auth_caches_wrong_secrets);
	tcase_add_test(tc, auth_limits_failures_per_app);
	tcase_add_test(tc, ids_two_generators_never_collide);
	tcase_add_test(tc, ids_burst_borrows_and_a_restart_never_repeats);
	tcase_add_test(tc, owner_resolution);
	tcase_add_test(tc, owner_race_one_winner);
	tcase_add_test(tc, owned_set);
	tcase_add_test(tc, config_precedence);
	tcase_add_test(tc, config_errors_and_help);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
