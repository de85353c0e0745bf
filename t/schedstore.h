/*
 * t/schedstore.h - a fresh store for the scheduler's store tests: a SQLite
 * file in a temporary folder or a database on the private MariaDB
 * (PJ_TEST_MYSQL_URL, started by t/run.sh), migrated; and a CRON job.
 * Static functions: include once per test program, after NOW is defined.
 */
#ifndef PJ_T_SCHEDSTORE_H
#define PJ_T_SCHEDSTORE_H

#include <check.h>
#include <mysql.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "t/mysqlutil.h"
#include "server/sched/sched.h"
#include "server/store/store.h"

static char url[1024], tmpdir[256], dbname[64];

static struct pj_store *
open_store(bool mysql)
{
	struct pj_store *s;
	if (mysql) {
		snprintf(dbname, sizeof(dbname), "pjsched_%d", (int) getpid());
		tu_mysql_admin_sql("DROP DATABASE IF EXISTS %s", dbname);
		tu_mysql_admin_sql("CREATE DATABASE %s", dbname);
		snprintf(url, sizeof(url), "%s%s", getenv("PJ_TEST_MYSQL_URL"),
		    dbname);
	} else {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/pjsched.XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(tmpdir));
		snprintf(url, sizeof(url), "sqlite://%s/pj.db", tmpdir);
	}
	ck_assert_msg(
	    pj_store_open(url, &s) == 0, "%s: %s", url, pj_store_errmsg(NULL));
	ck_assert_int_eq(pj_store_migrate(s, NULL, NULL), 0);
	return s;
}

static void
close_store(struct pj_store *s, bool mysql)
{
	pj_store_close(s);
	if (mysql) {
		tu_mysql_admin_sql("DROP DATABASE IF EXISTS %s", dbname);
		mysql_library_end();
	} else {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		ck_assert_int_eq(system(cmd), 0);
	}
}

static int64_t
save_job(struct pj_store *s, int64_t app, const char *expr, int policy,
    int64_t next)
{
	struct pj_job j        = { 0 };
	int64_t       id       = 0;
	j.app_id               = app;
	j.job_name             = "j";
	j.job_params           = "p=1";
	j.time_expression_type = PJ_TIME_CRON;
	j.time_expression      = (char *) expr;
	j.time_zone            = "UTC";
	j.misfire_policy       = policy;
	j.status               = PJ_STATUS_ENABLE;
	j.next_trigger_time    = next;
	j.execute_type         = 1;
	j.processor_type       = 1;
	j.concurrency          = 5;
	ck_assert_int_eq(pj_store_job_save(s, &j, NOW, &id), 0);
	return id;
}

#endif
