/*
 * t/store_sqlite_test.c - the store contract suite (t/store_contract.inc)
 * on SQLite: every test gets a fresh database file in its own temporary
 * folder, removed afterwards.
 *
 * Design notes: SQLite has no server to restart; backend_restart() closes
 * nothing and checkpoints the WAL from a second connection instead, so the
 * restart test still proves committed rows survive a checkpoint and the
 * handle keeps working.
 */
#define BACKEND_NAME "sqlite"
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[256];

static void
backend_setup(char *url, size_t n)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pjstore.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(url, n, "sqlite://%s/pj.db?pool=3", tmpdir);
}

static void
backend_teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (tmpdir[0] && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

static void
backend_restart(void)
{
	char     path[300];
	sqlite3 *db;
	snprintf(path, sizeof(path), "%s/pj.db", tmpdir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_wal_checkpoint_v2(
	                     db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
}

static void backend_extra(TCase *tc);

#include "t/store_contract.inc"

/* a relative sqlite:// path resolves against the working directory */
START_TEST(sqlite_relative_path)
{
	struct pj_store *s;
	char             old[512];
	ck_assert_ptr_nonnull(getcwd(old, sizeof(old)));
	ck_assert_int_eq(chdir(tmpdir), 0);
	int rv = pj_store_open("sqlite://rel.db", &s);
	ck_assert_msg(rv == 0, "%s", pj_store_errmsg(NULL));
	int applied = 0;
	ck_assert_int_eq(pj_store_migrate(s, &applied, NULL), 0);
	ck_assert_int_ge(applied, 1);
	pj_store_close(s);
	ck_assert_int_eq(access("rel.db", F_OK), 0);
	ck_assert_int_eq(chdir(old), 0);
}
END_TEST

static void
backend_extra(TCase *tc)
{
	tcase_add_test(tc, sqlite_relative_path);
}
