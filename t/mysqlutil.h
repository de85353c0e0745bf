/*
 * t/mysqlutil.h - the private MariaDB that t/run.sh starts, as the suites
 * reach it for administration (create and drop their databases, write
 * what the store has no call for): one root connection from
 * PJ_TEST_MYSQL_URL (mysql://user@host:port/).
 */
#ifndef PJ_T_MYSQLUTIL_H
#define PJ_T_MYSQLUTIL_H

#include <check.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>

static inline MYSQL *
tu_mysql_admin(void)
{
	const char *u         = getenv("PJ_TEST_MYSQL_URL");
	char        user[128] = "", host[128] = "";
	int         port = 0;
	ck_assert_msg(u && *u,
	    "PJ_TEST_MYSQL_URL is not set: run this suite through `make "
	    "check` (t/run.sh starts a private MariaDB), or set it to "
	    "mysql://user@host:port/");
	ck_assert_msg(
	    sscanf(u, "mysql://%127[^@]@%127[^:]:%d", user, host, &port) == 3,
	    "PJ_TEST_MYSQL_URL '%s' is not mysql://user@host:port/", u);
	MYSQL *m = mysql_init(NULL);
	ck_assert_msg(mysql_real_connect(
	                  m, host, user, NULL, NULL, (unsigned) port, NULL, 0),
	    "cannot reach %s: %s", u, mysql_error(m));
	return m;
}

/* Runs fmt (one %s: the database name) as root on the private MariaDB. */
static inline void
tu_mysql_admin_sql(const char *fmt, const char *dbname)
{
	char   sql[256];
	MYSQL *m = tu_mysql_admin();
	snprintf(sql, sizeof(sql), fmt, dbname);
	ck_assert_msg(mysql_query(m, sql) == 0, "%s: %s", sql, mysql_error(m));
	mysql_close(m);
}

#endif
