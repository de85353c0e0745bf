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
#define BACKEND_DUP_TEXT "UNIQUE constraint failed"
#define BACKEND_VIEW_ERR_TEXT "views may not be indexed"
#define BACKEND_FAIL_TRIGGER                                                  \
	"CREATE TRIGGER fail1550 BEFORE UPDATE ON instance_info "             \
	"WHEN NEW.instance_id = 1550 BEGIN "                                  \
	"SELECT RAISE(ABORT, 'boom1550'); END"
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* the page cache per pooled connection: cache_mb (default 2 MiB) on every
 * connection the pool opens; refused out of range and on mysql:// */
static int
cache_kib(struct pj_store *s)
{
	int64_t v = 0;
	ck_assert_int_eq(pj_sq_exec(s, NULL, 0, "cache", -1,
	                     "PRAGMA cache_size", NULL, 0, pj_row_i64, &v,
	                     NULL),
	    0);
	return (int) v;
}

START_TEST(sqlite_cache_mb_option)
{
	char             url[400];
	struct pj_store *s;
	snprintf(url, sizeof(url), "sqlite://%s/c.db", tmpdir);
	ck_assert_msg(pj_store_open(url, &s) == 0, "%s", pj_store_errmsg(NULL));
	ck_assert_int_eq(cache_kib(s), -2048);
	pj_store_close(s);
	snprintf(url, sizeof(url), "sqlite://%s/c.db?pool=2&cache_mb=5", tmpdir);
	ck_assert_msg(pj_store_open(url, &s) == 0, "%s", pj_store_errmsg(NULL));
	/* both pooled connections: hold one in a transaction */
	struct pj_conn c;
	ck_assert_int_eq(pj_sq_begin(s, &c), 0);
	ck_assert_int_eq(cache_kib(s), -5120);
	int64_t v = 0;
	ck_assert_int_eq(pj_sq_exec(s, &c, 0, "cache", -1,
	                     "PRAGMA cache_size", NULL, 0, pj_row_i64, &v,
	                     NULL),
	    0);
	ck_assert_int_eq(v, -5120);
	pj_sq_rollback(s, &c);
	pj_store_close(s);
	static const char *const bad[] = { "cache_mb=0", "cache_mb=-1",
		"cache_mb=x", "cache_mb=4097", "cache_mb=" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(url, sizeof(url), "sqlite://%s/c.db?%s", tmpdir,
		    bad[i]);
		s = (void *) 1;
		ck_assert_int_eq(pj_store_open(url, &s), PJ_STORE_EINVAL);
		ck_assert_msg(strstr(pj_store_errmsg(NULL), "cache_mb"), "%s",
		    pj_store_errmsg(NULL));
	}
	struct pj_store_url u;
	char                err[300];
	ck_assert_int_eq(pj_store_url_parse("mysql://r@h/d?cache_mb=2", &u,
	                     err, sizeof(err)),
	    PJ_STORE_EINVAL);
	ck_assert_msg(strstr(err, "sqlite://"), "%s", err);
}
END_TEST

/* runs a shell command, returns its exit status and its output */
static int
run_cmd(const char *cmd, char *out, size_t n)
{
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	size_t got = fread(out, 1, n - 1, f);
	out[got]   = 0;
	int st     = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* `pj-server migrate` finds its migrations from any directory (they are
 * built in), changes nothing the second time, refuses a newer database */
START_TEST(pj_server_migrate_command)
{
	const char *bin = getenv("PJ_BIN");
	char        cmd[1024], out[2048];
	ck_assert_msg(bin != NULL, "PJ_BIN not set: run through make check");
	snprintf(cmd, sizeof(cmd),
	    "cd '%s' && '%s/pj-server' migrate --db 'sqlite://%s/cli.db' 2>&1",
	    tmpdir, bin, tmpdir);
	char first[64];
	snprintf(
	    first, sizeof(first), "(%d applied now)", migrations_built_in());
	ck_assert_int_eq(run_cmd(cmd, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, first), "first run: %s", out);
	ck_assert_int_eq(run_cmd(cmd, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "(0 applied now)"), "second run: %s", out);

	char     path[300];
	sqlite3 *db;
	snprintf(path, sizeof(path), "%s/cli.db", tmpdir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
	                     "INSERT INTO schema_version VALUES "
	                     "(9999, '9999_future', 0)",
	                     NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(run_cmd(cmd, out, sizeof(out)), 1);
	ck_assert_msg(
	    strstr(out, "9999 is newer than this binary"), "%s", out);

	snprintf(cmd, sizeof(cmd), "'%s/pj-server' migrate 2>&1", bin);
	ck_assert_int_eq(run_cmd(cmd, out, sizeof(out)), 2);
	ck_assert_msg(strstr(out, "--db URL is required"), "%s", out);
	snprintf(cmd, sizeof(cmd), "'%s/pj-server' frobnicate 2>&1", bin);
	ck_assert_int_eq(run_cmd(cmd, out, sizeof(out)), 2);
	ck_assert_msg(strstr(out, "unknown command 'frobnicate'"), "%s", out);
	snprintf(cmd, sizeof(cmd),
	    "'%s/pj-server' migrate --db 'mysql://u@h:0/x' 2>&1", bin);
	ck_assert_int_eq(run_cmd(cmd, out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, "port must be 1..65535"), "%s", out);
}
END_TEST

/* opens url as somebody else: as root, with the effective uid of nobody
 * (the kernel then checks permissions); otherwise as ourselves, where the
 * modes below bind the owner too */
static int
open_as_other(const char *url, struct pj_store **s)
{
	int root = geteuid() == 0;
	if (root)
		ck_assert_int_eq(seteuid(65534), 0);
	int rv = pj_store_open(url, s);
	if (root)
		ck_assert_int_eq(seteuid(0), 0);
	return rv;
}

static int
exists(const char *dir, const char *name)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

/* a database this process cannot write is refused at open, naming what
 * is not writable, and leaves no -wal/-shm files behind (issue 8, #10) */
START_TEST(sqlite_read_only_file_or_folder_refused_at_open)
{
	char dir[400], url[600];
	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
	/* 1: the file is read-only */
	snprintf(dir, sizeof(dir), "%s/ro-file", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0777), 0);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	snprintf(url, sizeof(url), "sqlite://%s/pj.db", dir);
	struct pj_store *s;
	OK(pj_store_open(url, &s));
	OK(pj_store_migrate(s, NULL, NULL));
	pj_store_close(s);
	ck_assert(!exists(dir, "pj.db-wal") && !exists(dir, "pj.db-shm"));
	char f[600];
	snprintf(f, sizeof(f), "%s/pj.db", dir);
	ck_assert_int_eq(chmod(f, 0444), 0);
	s = (void *) 1;
	ck_assert_int_eq(open_as_other(url, &s), PJ_STORE_EBACKEND);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(pj_store_errmsg(NULL), "pj.db' is not writable"),
	    "%s", pj_store_errmsg(NULL));
	ck_assert(!exists(dir, "pj.db-wal") && !exists(dir, "pj.db-shm"));
	/* 2: the file is writable, its folder is not (no -wal, -shm) */
	ck_assert_int_eq(chmod(f, 0666), 0);
	ck_assert_int_eq(chmod(dir, 0555), 0);
	ck_assert_int_eq(open_as_other(url, &s), PJ_STORE_EBACKEND);
	ck_assert_msg(strstr(pj_store_errmsg(NULL), "-wal"), "%s",
	    pj_store_errmsg(NULL));
	ck_assert_msg(strstr(pj_store_errmsg(NULL), "directory"), "%s",
	    pj_store_errmsg(NULL));
	ck_assert(!exists(dir, "pj.db-wal") && !exists(dir, "pj.db-shm"));
	/* 3: a new file in a read-only folder */
	snprintf(url, sizeof(url), "sqlite://%s/new.db", dir);
	ck_assert_int_eq(open_as_other(url, &s), PJ_STORE_EBACKEND);
	ck_assert_msg(strstr(pj_store_errmsg(NULL), "cannot create"), "%s",
	    pj_store_errmsg(NULL));
	ck_assert(!exists(dir, "new.db"));
	ck_assert_int_eq(chmod(dir, 0777), 0);
}
END_TEST

static void
backend_extra(TCase *tc)
{
	tcase_add_test(tc, sqlite_read_only_file_or_folder_refused_at_open);
	tcase_add_test(tc, sqlite_relative_path);
	tcase_add_test(tc, sqlite_cache_mb_option);
	tcase_add_test(tc, pj_server_migrate_command);
}
