/*
 * t/store_mysql_test.c - the store contract suite (t/store_contract.inc)
 * on MariaDB/MySQL. Needs PJ_TEST_MYSQL_URL (mysql://user@host:port/, set
 * by t/run.sh, which starts a private server) and PJ_TEST_MARIADB_DIR for
 * the restart test; every test creates database pjtest_<pid> and drops it.
 *
 * Design notes: the restart test runs `t/mariadb.sh restart DIR` through
 * system() between two uses of one store handle, so the pool must notice
 * dead connections and reconnect by itself.
 */
#define BACKEND_NAME "mysql"
#define BACKEND_DUP_TEXT "Duplicate entry"
#define BACKEND_VIEW_ERR_TEXT "is not of type 'BASE TABLE'"
#define BACKEND_FAIL_TRIGGER                                                  \
	"CREATE TRIGGER fail1550 BEFORE UPDATE ON instance_info FOR EACH "    \
	"ROW "                                                                \
	"BEGIN IF NEW.instance_id = 1550 THEN SIGNAL SQLSTATE '45000' SET "   \
	"MESSAGE_TEXT = 'boom1550'; END IF; END"
#include <check.h>
#include <mysql.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t/mysqlutil.h"

static char dbname[64];

static void
backend_setup(char *url, size_t n)
{
	/* the name is ours (digits only), never user text */
	snprintf(dbname, sizeof(dbname), "pjtest_%d", (int) getpid());
	tu_mysql_admin_sql("DROP DATABASE IF EXISTS %s", dbname);
	tu_mysql_admin_sql("CREATE DATABASE %s", dbname);
	snprintf(url, n, "%s%s", getenv("PJ_TEST_MYSQL_URL"), dbname);
}

static void
backend_teardown(void)
{
	tu_mysql_admin_sql("DROP DATABASE IF EXISTS %s", dbname);
	mysql_library_end();
}

static void
backend_restart(void)
{
	const char *dir = getenv("PJ_TEST_MARIADB_DIR");
	const char *top = getenv("PJ_TOP");
	char        cmd[1024];
	ck_assert_msg(dir && top,
	    "PJ_TEST_MARIADB_DIR / PJ_TOP not set: run through make check");
	snprintf(cmd, sizeof(cmd), "'%s/t/mariadb.sh' restart '%s' >/dev/null",
	    top, dir);
	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

static void backend_extra(TCase *tc);

#include "t/store_contract.inc"

/* the unix-socket URL form reaches the same database */
START_TEST(mysql_socket_url)
{
	const char *sock = getenv("PJ_TEST_MYSQL_SOCK");
	char        url[1024];
	ck_assert_msg(sock != NULL, "PJ_TEST_MYSQL_SOCK not set");
	snprintf(url, sizeof(url),
	    "mysql://root@localhost/%s?socket=%s&pool=2", dbname, sock);
	struct pj_store *s;
	int              rv = pj_store_open(url, &s);
	ck_assert_msg(rv == 0, "%s: %s", url, pj_store_errmsg(NULL));
	int64_t id = 0;
	ck_assert_int_eq(
	    pj_store_app_create(s, "via-sock", "pw", "", T0, &id), 0);
	struct pj_app a;
	OK(pj_store_app_get(S, id, &a)); /* seen over TCP */
	ck_assert_str_eq(a.app_name, "via-sock");
	pj_app_fini(&a);
	pj_store_close(s);
}
END_TEST

/* bad credentials or an unknown database fail at open, with a message,
 * instead of being retried as if the server were restarting */
START_TEST(mysql_wrong_credentials_fail_fast)
{
	char url[1024];
	int  port = 0;
	ck_assert_int_eq(
	    sscanf(strrchr(getenv("PJ_TEST_MYSQL_URL"), ':') + 1, "%d", &port),
	    1);
	snprintf(url, sizeof(url), "mysql://nobody:bad@127.0.0.1:%d/%s", port,
	    dbname);
	struct pj_store *s  = NULL;
	int              rv = pj_store_open(url, &s);
	ck_assert_int_eq(rv, PJ_STORE_EBACKEND);
	ck_assert_ptr_nonnull(strstr(pj_store_errmsg(NULL), "nobody"));
	snprintf(
	    url, sizeof(url), "mysql://root@127.0.0.1:%d/no_such_db_x", port);
	ck_assert_int_ne(pj_store_open(url, &s), 0);
	ck_assert_ptr_nonnull(strstr(pj_store_errmsg(NULL), "no_such_db_x"));
}
END_TEST

struct inflight {
	unsigned flags;
	int      rv;
};

static void *
inflight_main(void *arg)
{
	struct inflight *f = arg;
	int64_t          v = -1;
	f->rv = pj_sq_exec(S, NULL, f->flags, "test", -1, "SELECT SLEEP(3)",
	    NULL, 0, pj_row_i64, &v, NULL);
	return NULL;
}

/* a statement in flight when the server goes down: a safe one (a read) is
 * retried on a new connection once the server is back; an unsafe one
 * reports PJ_STORE_ECONN ("outcome unknown"); the handle keeps working */
START_TEST(mysql_statement_in_flight_during_restart)
{
	struct inflight safe = { .flags = PJ_Q_SAFE }, unsafe = { .flags = 0 };
	pthread_t       a, b;
	pthread_create(&a, NULL, inflight_main, &safe);
	pthread_create(&b, NULL, inflight_main, &unsafe);
	/* restart only once both statements are running on the server */
	MYSQL *m       = tu_mysql_admin();
	int    running = 0;
	for (int i = 0; i < 200 && running < 2; i++) {
		usleep(50 * 1000);
		ck_assert_int_eq(mysql_query(m,
		                     "SELECT COUNT(*) FROM "
		                     "information_schema.processlist WHERE "
		                     "info = 'SELECT SLEEP(3)'"),
		    0);
		MYSQL_RES *r   = mysql_store_result(m);
		MYSQL_ROW  row = mysql_fetch_row(r);
		running        = row && row[0] ? atoi(row[0]) : 0;
		mysql_free_result(r);
	}
	mysql_close(m);
	ck_assert_int_eq(running, 2);
	backend_restart();
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	ck_assert_msg(safe.rv == 0, "safe statement: %d", safe.rv);
	ck_assert_int_eq(unsafe.rv, PJ_STORE_ECONN);
	int64_t id = 0;
	OK(pj_store_app_create(S, "after", "pw", "", T0, &id));
	ck_assert_int_gt(id, 0);
}
END_TEST

static int
admin_query_int(MYSQL *m, const char *sql)
{
	ck_assert_msg(mysql_query(m, sql) == 0, "%s: %s", sql, mysql_error(m));
	MYSQL_RES *r   = mysql_store_result(m);
	MYSQL_ROW  row = mysql_fetch_row(r);
	int        v   = row && row[0] ? atoi(row[0]) : -1;
	mysql_free_result(r);
	return v;
}

/* "pages_accessed": N of an ANALYZE FORMAT=JSON answer (r_engine_stats) */
static long
analyze_pages(MYSQL *m, const char *sql)
{
	ck_assert_msg(mysql_query(m, sql) == 0, "%s: %s", sql, mysql_error(m));
	MYSQL_RES  *r   = mysql_store_result(m);
	MYSQL_ROW   row = r ? mysql_fetch_row(r) : NULL;
	const char *p
	    = row && row[0] ? strstr(row[0], "\"pages_accessed\":") : NULL;
	long n = p ? strtol(p + strlen("\"pages_accessed\":"), NULL, 10) : -1;
	ck_assert_msg(
	    p, "no pages_accessed in %s", row && row[0] ? row[0] : "");
	mysql_free_result(r);
	return n;
}

/* The WAITING_DISPATCH check's index lets go of the rows that left
 * WAITING_DISPATCH: once 40,000 of them are moved on in one statement (an
 * operator's bulk fix, the bench's cleanup) and InnoDB's purge has run,
 * an empty check reads a few pages, not one entry per row that ever
 * waited. With dispatch_due a VIRTUAL column (migration 0004) purge left
 * such a statement's old entries behind, delete-marked, inside the check's
 * range "dispatch_due < now": 114 pages here, 336 (7.8 ms) after 200,000
 * rows, for good (statements of 500 rows mostly purged; 5,000-row ones
 * left a few pages). Migration 0007 stores the column: 2 pages. */
START_TEST(mysql_moved_rows_leave_no_due_entries)
{
	enum { N = 40000, B = 500 };
	static struct pj_instance v[B];
	char                      sql[512];
	for (int done = 0; done < N; done += B) {
		for (int k = 0; k < B; k++)
			make_inst(&v[k], 100000 + done + k, 1 + k % 8,
			    1 + k % 2, T0 + done + k);
		OK(pj_store_instances_create(S, v, B, T0));
	}
	MYSQL *m = tu_mysql_admin();
	ck_assert_int_eq(mysql_select_db(m, dbname), 0);
	ck_assert_msg(
	    mysql_query(
	        m, "UPDATE instance_info SET status = 2 WHERE status = 1")
	        == 0,
	    "%s", mysql_error(m));
	ck_assert_int_eq(mysql_affected_rows(m), N);
	/* returns once purge has caught up with every committed change */
	ck_assert_msg(
	    mysql_query(m, "SET GLOBAL innodb_max_purge_lag_wait = 0") == 0,
	    "%s", mysql_error(m));
	/* the check's statement (store_instance_list.c, check_dispatch) */
	snprintf(sql, sizeof(sql),
	    "ANALYZE FORMAT=JSON SELECT id FROM instance_info FORCE INDEX "
	    "(idx04_instance_info) WHERE dispatch_due < %lld AND dispatch_app "
	    "IN (1, 2) ORDER BY dispatch_due, dispatch_app, id LIMIT 1000",
	    (long long) (T0 + 2 * N));
	long pages = analyze_pages(m, sql);
	mysql_close(m);
	ck_assert_msg(pages >= 1 && pages < 10,
	    "an empty dispatch check read %ld pages after %d rows left "
	    "WAITING_DISPATCH",
	    pages, N);
	struct pj_instance_list l = { 0 };
	OK(pj_store_instances_check(S, PJ_CHECK_WAITING_DISPATCH,
	    (const int64_t[]) { 1, 2 }, 2, T0 + 2 * N, 1000, &l));
	ck_assert_uint_eq(l.n, 0);
	pj_instance_list_fini(&l);
}
END_TEST

/* the store's sessions sort rows of up to 4 KiB with their columns in
 * the sort buffer: at MariaDB's default (1,024) the RUNNING check sorted
 * row ids and read each of its 1,000 rows twice */
START_TEST(mysql_sessions_sort_whole_check_rows)
{
	int64_t v = 0;
	OK(pj_sq_exec(S, NULL, PJ_Q_SAFE, "test", -1,
	    "SELECT @@SESSION.max_length_for_sort_data", NULL, 0, pj_row_i64,
	    &v, NULL));
	ck_assert_int_ge(v, 4096);
}
END_TEST

/* a user who may only read opens the store and reads the schema version
 * (it used to run CREATE TABLE first); issue 8, finding 11 */
START_TEST(mysql_read_only_user_reads_schema_version)
{
	char   sql[512], url[1024], user[64];
	MYSQL *m    = tu_mysql_admin();
	int    port = 0;
	ck_assert_int_eq(
	    sscanf(strrchr(getenv("PJ_TEST_MYSQL_URL"), ':') + 1, "%d", &port),
	    1);
	snprintf(user, sizeof(user), "pjro_%d", (int) getpid());
	snprintf(sql, sizeof(sql), "DROP USER IF EXISTS '%s'@'%%'", user);
	ck_assert_int_eq(mysql_query(m, sql), 0);
	snprintf(sql, sizeof(sql), "CREATE USER '%s'@'%%'", user);
	ck_assert_msg(mysql_query(m, sql) == 0, "%s", mysql_error(m));
	snprintf(sql, sizeof(sql), "GRANT SELECT ON %s.* TO '%s'@'%%'", dbname,
	    user);
	ck_assert_msg(mysql_query(m, sql) == 0, "%s", mysql_error(m));
	snprintf(url, sizeof(url), "mysql://%s@127.0.0.1:%d/%s", user, port,
	    dbname);
	struct pj_store *s;
	int              rv = pj_store_open(url, &s), v = -1;
	if (rv == 0) {
		rv = pj_store_schema_version(s, &v);
		pj_store_close(s);
	}
	snprintf(sql, sizeof(sql), "DROP USER '%s'@'%%'", user);
	ck_assert_int_eq(mysql_query(m, sql), 0);
	mysql_close(m);
	ck_assert_msg(rv == 0, "%s", pj_store_errmsg(NULL));
	ck_assert_int_eq(v, pj_store_migrations_latest("mysql"));
}
END_TEST

/* with the server's global sql_mode empty, the store's sessions are still
 * strict: a value too long for its column fails instead of being cut
 * (statements below the store's own checks); issue 8, finding 6 */
START_TEST(mysql_sessions_are_strict_whatever_the_server_says)
{
	MYSQL *m = tu_mysql_admin();
	char   saved[512], restore[600];
	ck_assert_int_eq(mysql_query(m, "SELECT @@GLOBAL.sql_mode"), 0);
	MYSQL_RES *r   = mysql_store_result(m);
	MYSQL_ROW  row = mysql_fetch_row(r);
	/* the server's own value (letters, digits, '_' and ','), put back */
	snprintf(saved, sizeof(saved), "%s", row && row[0] ? row[0] : "");
	mysql_free_result(r);
	snprintf(
	    restore, sizeof(restore), "SET GLOBAL sql_mode = '%s'", saved);
	ck_assert_int_eq(mysql_query(m, "SET GLOBAL sql_mode = ''"), 0);
	struct pj_store *s;
	int              rv = pj_store_open(URL, &s), strict = -1;
	int64_t          on       = -1;
	char             msg[512] = "";
	if (rv == 0) {
		pj_sq_exec(s, NULL, 0, "test", -1,
		    "SELECT @@SESSION.sql_mode LIKE '%STRICT_ALL_TABLES%'",
		    NULL, 0, pj_row_i64, &on, NULL);
		char name[300];
		memset(name, 'x', 299);
		name[299]       = 0;
		struct pj_val p = pj_p_text(name);
		strict          = pj_sq_exec(s, NULL, 0, "oms_lock", -1,
		             "INSERT INTO oms_lock (lock_name, ownerip, max_lock_time, "
		                      "gmt_create, gmt_modified) VALUES (?, 'o', 1, 0, 0)",
		             &p, 1, NULL, NULL, NULL);
		snprintf(msg, sizeof(msg), "%s", pj_store_errmsg(s));
		pj_store_close(s);
	}
	int global_empty = admin_query_int(m, "SELECT @@GLOBAL.sql_mode = ''");
	ck_assert_int_eq(mysql_query(m, restore), 0);
	mysql_close(m);
	ck_assert_int_eq(global_empty, 1);
	ck_assert_msg(rv == 0, "%s", pj_store_errmsg(NULL));
	ck_assert_int_eq(on, 1);
	ck_assert_int_eq(strict, PJ_STORE_EBACKEND);
	ck_assert_msg(strstr(msg, "Data too long"), "%s", msg);
}
END_TEST

static void
backend_extra(TCase *tc)
{
	tcase_add_test(tc, mysql_read_only_user_reads_schema_version);
	tcase_add_test(tc, mysql_moved_rows_leave_no_due_entries);
	tcase_add_test(tc, mysql_sessions_sort_whole_check_rows);
	tcase_add_test(tc, mysql_sessions_are_strict_whatever_the_server_says);
	tcase_add_test(tc, mysql_statement_in_flight_during_restart);
	tcase_add_test(tc, mysql_socket_url);
	tcase_add_test(tc, mysql_wrong_credentials_fail_fast);
}
