/*
 * server/store/migrate.h - schema migrations built into the binary and the
 * `pj-server migrate` command.
 *
 * Design notes: PowerJob creates its schema with Hibernate's ddl-auto or a
 * hand-run SQL file; here migrations/BACKEND/NNNN_name.sql files are
 * embedded at build time (scripts/embed_migrations.sh -> build/gen) so a
 * binary migrates from any working directory, are applied in version order
 * at server start (or by `pj-server migrate`), and are recorded in
 * schema_version. Every statement is idempotent (IF NOT EXISTS), so a
 * migration interrupted half-way (MySQL commits DDL implicitly) or run by
 * two servers at once completes on the next run.
 */
#ifndef PJ_SERVER_MIGRATE_H
#define PJ_SERVER_MIGRATE_H

#include <stdio.h>

struct pj_migration {
	const char *backend; /* "mysql" or "sqlite" */
	int         version; /* NNNN */
	const char *name;    /* NNNN_name */
	const char *sql;     /* statements separated by ';' at line ends */
};
/* generated: sorted by backend, then version; ends with a zero entry */
extern const struct pj_migration pj_migrations[];
extern const int                 pj_migrations_n;

/* `pj-server migrate --db URL`: returns the process exit status (0 ok,
 * 1 failure, 2 usage); messages go to out / err. */
int pj_migrate_cmd(int argc, char **argv, FILE *out, FILE *err);

#endif /* PJ_SERVER_MIGRATE_H */
