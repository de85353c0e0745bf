/*
 * server/migrate.c - applies the embedded migrations (server/store/migrate.h)
 * and implements the `pj-server migrate` command.
 *
 * Design notes: see server/store/migrate.h. Each migration runs in one
 * transaction together with its schema_version row (SQLite makes the DDL
 * atomic too; MySQL commits DDL implicitly, which the IF NOT EXISTS
 * statements make harmless). A database whose version is above the
 * binary's newest migration is refused: an old binary must not write into
 * a schema it does not know. OOM policy: ar_xmalloc aborts.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "server/store/migrate.h"
#include "server/store/store_impl.h"

static const char sv_mysql[]
    = "CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL "
      "PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at BIGINT NOT NULL) "
      "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin";
static const char sv_sqlite[]
    = "CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL "
      "PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at BIGINT NOT NULL)";

static int64_t
now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int
pj_store_migrations_latest(const char *backend)
{
	int v = 0;
	for (int i = 0; i < pj_migrations_n; i++)
		if (strcmp(pj_migrations[i].backend, backend) == 0
		    && pj_migrations[i].version > v)
			v = pj_migrations[i].version;
	return v;
}

int
pj_store_schema_version(struct pj_store *s, int *version)
{
	int64_t v = 0, exists = 0;
	int     rv;
	/* read-only: a user with SELECT only can ask too */
	rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "schema_version", -1,
	    s->ops->has_schema_sql, NULL, 0, pj_row_i64, &exists, NULL);
	if (rv == 0 && exists)
		rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "schema_version", -1,
		    "SELECT MAX(version) FROM schema_version", NULL, 0,
		    pj_row_i64, &v, NULL);
	if (rv == 0)
		*version = (int) v;
	return rv;
}

/* runs the ';'-separated statements of one migration on c */
static int
run_script(struct pj_store *s, struct pj_conn *c, const struct pj_migration *m)
{
	char *text = ar_xstrdup(m->sql);
	char *p    = text;
	int   rv   = 0;

	/* blank out comment lines so they never hide a statement end */
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		char *x  = line;
		while (*x == ' ' || *x == '\t')
			x++;
		if (x[0] == '-' && x[1] == '-')
			memset(line, ' ',
			    nl ? (size_t) (nl - line) : strlen(line));
		line = nl ? nl + 1 : NULL;
	}
	while (*p) {
		char *end = p;
		/* a statement ends at ';' followed by end of line */
		for (;;) {
			end = strchr(end, ';');
			if (end == NULL)
				break;
			char *a = end + 1;
			while (*a == ' ' || *a == '\t' || *a == '\r')
				a++;
			if (*a == '\n' || *a == 0)
				break;
			end++;
		}
		if (end)
			*end = 0;
		char *q = p;
		while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
			q++;
		if (*q) {
			rv = pj_sq_exec(s, c, 0, m->name, -1, q, NULL, 0, NULL,
			    NULL, NULL);
			/* SQLite has no ADD COLUMN IF NOT EXISTS (MariaDB
			 * has): a column already there counts as added, so
			 * a migration runs again over its own tables (a
			 * database whose schema_version was lost) */
			if (rv != 0 && strncmp(q, "ALTER TABLE", 11) == 0
			    && strstr(q, " ADD COLUMN ") != NULL
			    && strstr(pj_store_errmsg(s), "duplicate column name")
			        != NULL)
				rv = 0;
			if (rv != 0)
				break;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	free(text);
	return rv;
}

int
pj_store_migrate(struct pj_store *s, int *applied, int *version)
{
	const char *be     = s->ops->name;
	int         latest = pj_store_migrations_latest(be);
	int         cur = 0, n = 0, rv;

	rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "schema_version", -1,
	    strcmp(be, "mysql") == 0 ? sv_mysql : sv_sqlite, NULL, 0, NULL,
	    NULL, NULL);
	if (rv == 0)
		rv = pj_store_schema_version(s, &cur);
	if (rv != 0)
		return rv;
	if (cur > latest)
		return pj_store_fail(s, PJ_STORE_ESCHEMA,
		    "database schema version %d is newer than this binary's "
		    "(%d): refusing to touch it; run a pj-server built from "
		    "the "
		    "same or a newer release",
		    cur, latest);
	for (int i = 0; i < pj_migrations_n; i++) {
		const struct pj_migration *m = &pj_migrations[i];
		struct pj_conn             c;
		if (strcmp(m->backend, be) != 0 || m->version <= cur)
			continue;
		if ((rv = pj_sq_begin(s, &c)) != 0)
			return rv;
		if ((rv = run_script(s, &c, m)) != 0) {
			pj_sq_rollback(s, &c);
			return pj_store_fail(s, rv, "migration %s failed: %s",
			    m->name, pj_store_errmsg(s));
		}
		struct pj_val p[3] = { pj_p_int(m->version),
			pj_p_text(m->name), pj_p_int(now_ms()) };
		rv = pj_sq_exec(s, &c, 0, "schema_version", m->version,
		    "INSERT INTO schema_version (version, name, applied_at) "
		    "VALUES (?,?,?)",
		    p, 3, NULL, NULL, NULL);
		if (rv == PJ_STORE_EDUP) {
			/* another server applied it at the same time */
			pj_sq_rollback(s, &c);
			cur = m->version;
			continue;
		}
		if (rv != 0) {
			pj_sq_rollback(s, &c);
			return rv;
		}
		if ((rv = pj_sq_commit(s, &c)) != 0)
			return rv;
		cur = m->version;
		n++;
	}
	if (applied)
		*applied = n;
	if (version)
		*version = cur;
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: pj-server migrate --db URL\n"
	    "  Applies the schema migrations built into this binary, in "
	    "order,\n"
	    "  and records them in schema_version. Running it again changes\n"
	    "  nothing; a database newer than the binary is refused.\n"
	    "  URL: sqlite:///path/file.db | mysql://user:pass@host:port/db "
	    "|\n"
	    "       mysql://user:pass@localhost/db?socket=/path/to.sock\n");
}

int
pj_migrate_cmd(int argc, char **argv, FILE *out, FILE *err)
{
	const char      *url     = NULL;
	struct pj_store *s       = NULL;
	int              applied = 0, version = 0, rv;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0
		    || strcmp(argv[i], "--help") == 0) {
			usage(out);
			return 0;
		} else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
			url = argv[++i];
		} else if (strncmp(argv[i], "--db=", 5) == 0) {
			url = argv[i] + 5;
		} else {
			fprintf(err,
			    "pj-server migrate: unknown argument '%s'\n",
			    argv[i]);
			usage(err);
			return 2;
		}
	}
	if (url == NULL) {
		fprintf(err, "pj-server migrate: --db URL is required\n");
		usage(err);
		return 2;
	}
	if ((rv = pj_store_open(url, &s)) != 0) {
		fprintf(err, "pj-server migrate: %s\n", pj_store_errmsg(NULL));
		return 1;
	}
	rv = pj_store_migrate(s, &applied, &version);
	if (rv != 0) {
		fprintf(err, "pj-server migrate: %s\n", pj_store_errmsg(s));
		pj_store_close(s);
		return 1;
	}
	fprintf(out,
	    "migrate: %s store at schema version %d (%d applied now)\n",
	    pj_store_backend(s), version, applied);
	pj_store_close(s);
	return 0;
}
