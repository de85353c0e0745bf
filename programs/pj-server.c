/*
 * pj-server - the scheduler server.  One program, several subcommands; each
 * is one row of the table below and one function, and the work itself lives
 * in server/ so this file stays thin:
 *
 *   pj-server migrate --db URL
 *       applies the schema migrations built into the binary, in order, and
 *       records them in schema_version (server/migrate.c). URL forms are in
 *       server/store/store.h.
 *
 *   pj-server cron-next EXPR [--tz ZONE] [--from EPOCH_MS] [--count N]
 *       prints the next N (default 5) fire times of a CRON expression, one
 *       per line: epoch milliseconds, then the local ISO-8601 time with its
 *       UTC offset (server/cron_cmd.c).  Exit status 2 and the reason on
 *       stderr for an invalid expression, zone or option.
 *
 * Exit status: 0 success, 1 failure, 2 usage or invalid input.
 */
#include <stdio.h>
#include <string.h>

#include "server/timing/cron_cmd.h"
#include "server/store/migrate.h"
#include "server/timing/tz.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
};

static int cmd_migrate(int argc, char **argv);
static int cmd_cron_next(int argc, char **argv);

static const struct subcommand subcommands[] = {
	{ "migrate", cmd_migrate, "migrate --db URL" },
	{ "cron-next", cmd_cron_next,
	    "cron-next EXPR [--tz ZONE] [--from EPOCH_MS] [--count N]" },
};

#define NSUB (sizeof(subcommands) / sizeof(subcommands[0]))

static void
usage(FILE *f)
{
	for (size_t i = 0; i < NSUB; i++) {
		fprintf(f, "%s pj-server %s\n", i == 0 ? "usage:" : "      ",
		    subcommands[i].usage);
	}
}

static int
cmd_migrate(int argc, char **argv)
{
	return pj_migrate_cmd(argc, argv, stdout, stderr);
}

static int
cmd_cron_next(int argc, char **argv)
{
	int rv = pj_cron_next_cmd(argc, argv, stdout, stderr);
	pj_tz_cache_fini();
	return rv;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < NSUB; i++) {
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "pj-server: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
