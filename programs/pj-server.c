/*
 * programs/pj-server.c - the server program: a table of subcommands, each
 * one line here and one function in server/ (this file stays thin).
 *
 * Design notes: PowerJob's server is one Spring Boot jar; its schema tool
 * and runtime are the same binary here too, chosen by subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "server/migrate.h"

struct subcommand {
	const char *name;
	const char *help;
	int (*run)(int argc, char **argv);
};

static int
cmd_migrate(int argc, char **argv)
{
	return pj_migrate_cmd(argc, argv, stdout, stderr);
}

static const struct subcommand subcommands[] = {
	{ "migrate", "apply the schema migrations to --db URL", cmd_migrate },
};
#define NSUB (sizeof(subcommands) / sizeof(subcommands[0]))

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: pj-server COMMAND [options]   (COMMAND --help for "
	    "its options)\ncommands:\n");
	for (size_t i = 0; i < NSUB; i++)
		fprintf(f, "  %-12s %s\n", subcommands[i].name,
		    subcommands[i].help);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < NSUB; i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "pj-server: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
