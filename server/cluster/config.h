/*
 * server/cluster/config.h - the options of `pj-server serve`.
 *
 * Each option has a flag (--name VALUE or --name=VALUE), an environment
 * variable (PJ_NAME) and a config-file key (name = value, '#' comments).
 * Precedence: flag, then environment, then the config file (--config FILE
 * or PJ_CONFIG), then the default.  The table in config.c is the one list:
 * --help prints it.
 */
#ifndef PJ_SERVER_CLUSTER_CONFIG_H
#define PJ_SERVER_CLUSTER_CONFIG_H

#include <stdio.h>

#define PJ_CFG_STR 1024

struct pj_serve_config {
	char listen[PJ_CFG_STR];    /* tcp://HOST:PORT */
	char advertise[PJ_CFG_STR]; /* host others reach us at; "" = listen
	                               host (127.0.0.1 for 0.0.0.0) */
	char db[PJ_CFG_STR];        /* store URL; "" = SQLite in data dir */
	char data_dir[PJ_CFG_STR];
	char log_store[PJ_CFG_STR];    /* "" / "sql" or mongodb://... */
	char log_spool_mb[PJ_CFG_STR]; /* bound of DATA_DIR/logspool */
	char malloc_arenas[PJ_CFG_STR]; /* M_ARENA_MAX; 0 = glibc's */
	char cluster_key_file[PJ_CFG_STR];
	char cluster_key[PJ_CFG_STR]; /* the key itself (env / file only) */
	char log_level[PJ_CFG_STR];   /* debug, info, warn, error */
	char ready_file[PJ_CFG_STR];  /* written with host:port when ready */
	char config[PJ_CFG_STR];      /* config file read */
	/* scheduler numbers (docs/scheduler.md), whole milliseconds */
	char sched_pass_ms[PJ_CFG_STR];
	char sched_window_ms[PJ_CFG_STR];
	char check_interval_ms[PJ_CFG_STR];
	char wait_receive_ms[PJ_CFG_STR];
	char running_timeout_ms[PJ_CFG_STR];
	char retry_delay_ms[PJ_CFG_STR];
	char retention_days[PJ_CFG_STR];
	char misfire_threshold_ms[PJ_CFG_STR];
	/* the OpenAPI gateway (docs/gateway.md) */
	char gateway[PJ_CFG_STR]; /* tcp://HOST:PORT; "none" = no gateway */
	char gateway_token_ttl_s[PJ_CFG_STR];
};

/*
 * The engine under pj_serve_config_load, for any program's options (the
 * worker's: actors/worker_env.h): a table of options, each a char
 * [PJ_CFG_STR] field at `off` in the caller's struct.  An option named
 * "config" names the config file.
 */
struct pj_cfg_opt {
	const char *name; /* flag and file key */
	const char *env;
	size_t      off;
	const char *def;
	const char *help;
};
/* Fills the struct c (size bytes) from defaults, the config file, the
 * environment and argv (argv[0] is skipped).  0, 1 when --help was given
 * (nothing printed), or 2 with a message in err. */
int pj_cfg_load(const struct pj_cfg_opt *opts, size_t nopts, void *c,
    size_t size, int argc, char **argv, char *err, size_t errlen);
/* The table as help lines. */
void pj_cfg_help(const struct pj_cfg_opt *opts, size_t nopts, FILE *out);
/* 0 when level is "", debug, info, warn or error; else 2 and err. */
int pj_cfg_log_level_check(const char *level, char *err, size_t errlen);

/* Parses a whole number option value in [min, max]; 0 or 2 with a message
 * naming the option in err. */
int pj_serve_config_num(const char *name, const char *v, long long min,
    long long max, long long *out, char *err, size_t errlen);

/* Fills *c from argv (argv[0] is the subcommand's name), the environment
 * and the config file.  Returns 0, 1 when --help was printed to out, or 2
 * with a message in err (unknown option, missing value, unreadable file,
 * bad value). */
int pj_serve_config_load(struct pj_serve_config *c, int argc, char **argv,
    FILE *out, char *err, size_t errlen);

void pj_serve_config_help(FILE *out);

/*
 * The cluster key for any program (pj-node, pjctl): PJ_CLUSTER_KEY (the
 * key itself), else the file given (a --cluster-key-file flag; NULL or ""
 * for none), else PJ_CLUSTER_KEY_FILE; a file's surrounding white space is
 * not part of the key.  key gets "" when none is configured.  Returns 0,
 * or 2 with a message in err (unreadable or empty file, too long).
 */
int pj_cluster_key_load(
    const char *file, char *key, size_t n, char *err, size_t errlen);

#endif
