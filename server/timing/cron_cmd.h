/*
 * The `pj-server cron-next` subcommand, kept in server/ so that the program
 * stays a table of subcommands.  See cron_cmd.c.
 */
#ifndef PJ_SERVER_CRON_CMD_H
#define PJ_SERVER_CRON_CMD_H

#include <stdio.h>

#define PJ_CRON_NEXT_DEFAULT_COUNT 5
#define PJ_CRON_NEXT_MAX_COUNT 100000

/*
 * cron-next EXPR [--tz ZONE] [--from EPOCH_MS] [--count N]
 * argv[0] is "cron-next".  Prints the next N fire times to OUT, one per
 * line ("EPOCH_MS ISO-8601-local-time-with-offset"); messages go to ERR.
 * Returns the exit status: 0, 1 (output failed) or 2 (usage, invalid
 * expression or zone).
 */
int pj_cron_next_cmd(int argc, char **argv, FILE *out, FILE *err);

#endif
