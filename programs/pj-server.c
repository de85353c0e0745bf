/*
 * pj-server - the scheduler server.  One program, several subcommands; each
 * is one row of the table below and one function, and the work itself lives
 * in server/ so this file stays thin:
 *
 *   pj-server migrate --db URL
 *       applies the schema migrations built into the binary, in order, and
 *       records them in schema_version (server/migrate.c). URL forms are in
 *       server/store.h.
 *
 *   pj-server cron-next EXPR [--tz ZONE] [--from EPOCH_MS] [--count N]
 *       prints the next N (default 5) fire times of a CRON expression, one
 *       per line: epoch milliseconds, then the local ISO-8601 time with its
 *       UTC offset.  Exit status 2 and the reason on stderr for an invalid
 *       expression, zone or option.
 *
 * Exit status: 0 success, 1 failure, 2 usage or invalid input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/migrate.h"
#include "server/timing.h"

#define CRON_NEXT_DEFAULT_COUNT 5
#define CRON_NEXT_MAX_COUNT 100000

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
parse_i64(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	errno       = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		return -1;
	}
	*out = v;
	return 0;
}

static int
cmd_migrate(int argc, char **argv)
{
	return pj_migrate_cmd(argc, argv, stdout, stderr);
}

static int
cmd_cron_next(int argc, char **argv)
{
	const char     *expr = NULL, *zone = NULL;
	long long       from, count        = CRON_NEXT_DEFAULT_COUNT;
	char            err[PJ_TIMING_ERR_MAX];
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	from = (long long) now.tv_sec * 1000 + now.tv_nsec / 1000000;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--tz") == 0 || strcmp(a, "--from") == 0
		    || strcmp(a, "--count") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr,
				    "pj-server cron-next: %s needs a "
				    "value\n",
				    a);
				return 2;
			}
			const char *v = argv[++i];
			if (strcmp(a, "--tz") == 0) {
				zone = v;
			} else if (strcmp(a, "--from") == 0) {
				if (parse_i64(v, -62135596800000LL,
				        253402300799999LL, &from)
				    != 0) {
					fprintf(stderr,
					    "pj-server cron-next: --from '%s' "
					    "is not epoch milliseconds\n",
					    v);
					return 2;
				}
			} else if (parse_i64(v, 1, CRON_NEXT_MAX_COUNT, &count)
			    != 0) {
				fprintf(stderr,
				    "pj-server cron-next: --count '%s' is "
				    "not a number in 1-%d\n",
				    v, CRON_NEXT_MAX_COUNT);
				return 2;
			}
		} else if (a[0] == '-' && a[1] == '-') {
			fprintf(stderr,
			    "pj-server cron-next: unknown option "
			    "'%s'\n",
			    a);
			return 2;
		} else if (expr == NULL) {
			expr = a;
		} else {
			fprintf(stderr,
			    "pj-server cron-next: one expression expected; "
			    "quote it (\"0 0 3 * * ?\")\n");
			return 2;
		}
	}
	if (expr == NULL) {
		fprintf(stderr, "usage: pj-server %s\n", subcommands[1].usage);
		return 2;
	}
	if (pj_timing_cron_preview(
	        expr, zone, from, (int) count, stdout, err, sizeof(err))
	    != 0) {
		fprintf(stderr, "pj-server cron-next: %s\n", err);
		return 2;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0
	    || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < NSUB; i++) {
		if (strcmp(argv[1], subcommands[i].name) == 0) {
			int rv = subcommands[i].run(argc - 1, argv + 1);
			pj_tz_cache_fini();
			return rv;
		}
	}
	fprintf(stderr, "pj-server: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
