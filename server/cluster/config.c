/*
 * server/cluster/config.c - `pj-server serve` options and the option
 * engine pj-worker shares (pj_cfg_load; see config.h).
 */
#include "server/cluster/config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define F(x) offsetof(struct pj_serve_config, x)
static const struct pj_cfg_opt opts[] = {
	{ "listen", "PJ_LISTEN", F(listen), "tcp://127.0.0.1:10086",
	    "address the actor system listens on (port 0 = any free port)" },
	{ "advertise", "PJ_ADVERTISE", F(advertise), "",
	    "host workers and servers use to reach this one (default: the "
	    "listen host; 127.0.0.1 for 0.0.0.0)" },
	{ "db", "PJ_DB", F(db), "",
	    "store URL, sqlite://PATH or mysql://user:pass@host:port/db "
	    "(default: sqlite://DATA_DIR/pj.db)" },
	{ "data-dir", "PJ_DATA_DIR", F(data_dir), "./pj-data",
	    "folder for the embedded database (created if missing)" },
	{ "log-store", "PJ_LOG_STORE", F(log_store), "sql",
	    "where instance logs go: sql (the store above) or "
	    "mongodb://[user:pass@]host:port/db[?options] (docs/logstore.md)" },
	{ "log-spool-mb", "PJ_LOG_SPOOL_MB", F(log_spool_mb), "1024",
	    "bound of DATA_DIR/logspool, where log lines wait while the log "
	    "store is down; when full, log reports are refused" },
	{ "malloc-arenas", "PJ_MALLOC_ARENAS", F(malloc_arenas), "2",
	    "glibc malloc arenas (0 = glibc's default, 8 per core): fewer "
	    "keep the RSS down (docs/benchmarks.md, sched_bench)" },
	{ "cluster-key-file", "PJ_CLUSTER_KEY_FILE", F(cluster_key_file), "",
	    "file holding the key every node of the deployment shares "
	    "(PJ_CLUSTER_KEY gives the key itself)" },
	{ "log-level", "PJ_LOG_LEVEL", F(log_level), "",
	    "debug, info, warn or error (default: AR_LOG, else info)" },
	{ "ready-file", "PJ_READY_FILE", F(ready_file), "",
	    "file to write HOST:PORT into once serving (for scripts)" },
	{ "config", "PJ_CONFIG", F(config), "",
	    "config file of `name = value` lines with the names above" },
	{ "sched-pass-ms", "PJ_SCHED_PASS_MS", F(sched_pass_ms), "1000",
	    "schedule pass period (PowerJob: 15000)" },
	{ "sched-window-ms", "PJ_SCHED_WINDOW_MS", F(sched_window_ms), "5000",
	    "look-ahead window of a pass: fires up to now + this are recorded "
	    "and armed" },
	{ "check-interval-ms", "PJ_CHECK_INTERVAL_MS", F(check_interval_ms),
	    "10000", "status check period (PowerJob's)" },
	{ "wait-receive-ms", "PJ_WAIT_RECEIVE_MS", F(wait_receive_ms), "60000",
	    "WAITING_WORKER_RECEIVE this old goes back to WAITING_DISPATCH" },
	{ "running-timeout-ms", "PJ_RUNNING_TIMEOUT_MS", F(running_timeout_ms),
	    "60000",
	    "RUNNING without a report this long is retried or failed" },
	{ "retry-delay-ms", "PJ_RETRY_DELAY_MS", F(retry_delay_ms), "10000",
	    "delay before a failed instance runs again (instance_retry_num)" },
	{ "retention-days", "PJ_RETENTION_DAYS", F(retention_days), "7",
	    "finished instances and their logs are removed after this many "
	    "days" },
	{ "misfire-threshold-ms", "PJ_MISFIRE_THRESHOLD_MS",
	    F(misfire_threshold_ms), "60000",
	    "a fire at most this late is on time; later ones follow the "
	    "job's misfire policy (Quartz's misfireThreshold)" },
	{ "gateway", "PJ_GATEWAY", F(gateway), "tcp://127.0.0.1:10087",
	    "address the OpenAPI gateway (pjctl) listens on (port 0 = any "
	    "free port; none = no gateway)" },
	{ "gateway-token-ttl-s", "PJ_GATEWAY_TOKEN_TTL_S",
	    F(gateway_token_ttl_s), "604800",
	    "life of the gateway's access tokens (PowerJob: 7 days)" },
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

void
pj_serve_config_help(FILE *out)
{
	fprintf(out,
	    "usage: pj-server serve [--OPTION VALUE]...\n\n"
	    "Runs a server: opens the store (migrating it), registers in "
	    "server_info,\nserves workers and other servers until SIGTERM or "
	    "SIGINT.\n\nOptions (flag, then environment, then config file, "
	    "then default):\n");
	pj_cfg_help(opts, NOPTS, out);
	fprintf(out, "  %-20s %-20s the cluster key itself\n", "",
	    "PJ_CLUSTER_KEY");
	fprintf(out, "  --help               this text\n");
}

void
pj_cfg_help(const struct pj_cfg_opt *opts, size_t nopts, FILE *out)
{
	for (size_t i = 0; i < nopts; i++) {
		fprintf(out, "  --%-18s %-20s default: %s\n      %s\n",
		    opts[i].name, opts[i].env,
		    opts[i].def[0] ? opts[i].def : "(none)", opts[i].help);
	}
}

static char *
field(void *c, const struct pj_cfg_opt *o)
{
	return ((char *) c + o->off);
}

static const struct pj_cfg_opt *
find(const struct pj_cfg_opt *opts, size_t nopts, const char *name, size_t n)
{
	for (size_t i = 0; i < nopts; i++) {
		if (strlen(opts[i].name) == n
		    && strncmp(opts[i].name, name, n) == 0) {
			return (&opts[i]);
		}
	}
	return (NULL);
}

static int
set(void *c, const struct pj_cfg_opt *o, const char *v, char *err,
    size_t errlen)
{
	if (strlen(v) >= PJ_CFG_STR) {
		snprintf(err, errlen, "value of %s is too long", o->name);
		return (2);
	}
	snprintf(field(c, o), PJ_CFG_STR, "%s", v);
	return (0);
}

static char *
trim(char *s)
{
	char *e;
	while (isspace((unsigned char) *s)) {
		s++;
	}
	e = s + strlen(s);
	while (e > s && isspace((unsigned char) e[-1])) {
		*--e = 0;
	}
	return (s);
}

static int
read_file(const struct pj_cfg_opt *opts, size_t nopts, void *c,
    const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char  line[2 * PJ_CFG_STR];
	int   ln = 0;
	if (f == NULL) {
		snprintf(err, errlen, "cannot read config file %s", path);
		return (2);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = trim(line), *eq;
		ln++;
		if (*p == 0 || *p == '#') {
			continue;
		}
		const struct pj_cfg_opt *o;
		if ((eq = strchr(p, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: expected name = value",
			    path, ln);
			fclose(f);
			return (2);
		}
		*eq        = 0;
		char *name = trim(p), *v = trim(eq + 1);
		if ((o = find(opts, nopts, name, strlen(name))) == NULL
		    || strcmp(o->name, "config") == 0) {
			snprintf(err, errlen, "%s:%d: unknown option '%s'",
			    path, ln, name);
			fclose(f);
			return (2);
		}
		if (set(c, o, v, err, errlen) != 0) {
			fclose(f);
			return (2);
		}
	}
	fclose(f);
	return (0);
}

static int
read_key_file(const char *file, char *key, size_t n, char *err, size_t errlen)
{
	FILE  *f;
	char   buf[PJ_CFG_STR];
	size_t got;
	if ((f = fopen(file, "r")) == NULL) {
		snprintf(err, errlen, "cannot read cluster key file %s", file);
		return (2);
	}
	got = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[got] = 0;
	snprintf(key, n, "%s", trim(buf));
	memset(buf, 0, sizeof(buf));
	if (key[0] == 0) {
		snprintf(err, errlen, "cluster key file %s is empty", file);
		return (2);
	}
	return (0);
}

static int
read_key(struct pj_serve_config *c, char *err, size_t errlen)
{
	if (c->cluster_key[0] || !c->cluster_key_file[0]) {
		return (0);
	}
	return (read_key_file(c->cluster_key_file, c->cluster_key,
	    sizeof(c->cluster_key), err, errlen));
}

int
pj_cluster_key_load(
    const char *file, char *key, size_t n, char *err, size_t errlen)
{
	const char *e;
	key[0] = 0;
	if ((e = getenv("PJ_CLUSTER_KEY")) != NULL && e[0] != 0) {
		if (strlen(e) >= n) {
			snprintf(err, errlen, "PJ_CLUSTER_KEY is too long");
			return (2);
		}
		snprintf(key, n, "%s", e);
		return (0);
	}
	if (file == NULL || file[0] == 0) {
		file = getenv("PJ_CLUSTER_KEY_FILE");
	}
	if (file == NULL || file[0] == 0) {
		return (0);
	}
	return (read_key_file(file, key, n, err, errlen));
}

int
pj_cfg_load(const struct pj_cfg_opt *opts, size_t nopts, void *c, size_t size,
    int argc, char **argv, char *err, size_t errlen)
{
	/* flags first into their own copy, so they win over everything */
	char       *flags = calloc(1, size), *given = calloc(nopts, 1);
	const char *e;
	int         rv = 2;

	memset(c, 0, size);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v, *eq;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			rv = 1;
			goto out;
		}
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument '%s'", a);
			goto out;
		}
		a += 2;
		eq       = strchr(a, '=');
		size_t n = eq ? (size_t) (eq - a) : strlen(a);
		const struct pj_cfg_opt *o = find(opts, nopts, a, n);
		if (o == NULL) {
			snprintf(err, errlen, "unknown option '--%.*s'",
			    (int) n, a);
			goto out;
		}
		if (eq != NULL) {
			v = eq + 1;
		} else if (i + 1 < argc) {
			v = argv[++i];
		} else {
			snprintf(
			    err, errlen, "option --%s needs a value", o->name);
			goto out;
		}
		if (set(flags, o, v, err, errlen) != 0) {
			goto out;
		}
		given[o - opts] = 1;
	}
	for (size_t i = 0; i < nopts; i++) {
		set(c, &opts[i], opts[i].def, err, errlen);
	}
	/* which config file: flag, then environment */
	const struct pj_cfg_opt *cf = find(opts, nopts, "config", 6);
	if (cf != NULL) {
		if (given[cf - opts]) {
			set(c, cf, field(flags, cf), err, errlen);
		} else if ((e = getenv(cf->env)) != NULL) {
			set(c, cf, e, err, errlen);
		}
		if (field(c, cf)[0]
		    && read_file(opts, nopts, c, field(c, cf), err, errlen)
		        != 0) {
			goto out;
		}
	}
	for (size_t i = 0; i < nopts; i++) {
		if ((e = getenv(opts[i].env)) != NULL
		    && set(c, &opts[i], e, err, errlen) != 0) {
			goto out;
		}
	}
	for (size_t i = 0; i < nopts; i++) {
		if (given[i]) {
			set(c, &opts[i], field(flags, &opts[i]), err, errlen);
		}
	}
	rv = 0;
out:
	free(flags);
	free(given);
	return (rv);
}

int
pj_serve_config_load(struct pj_serve_config *c, int argc, char **argv,
    FILE *out, char *err, size_t errlen)
{
	const char *e;
	int         rv
	    = pj_cfg_load(opts, NOPTS, c, sizeof(*c), argc, argv, err, errlen);
	if (rv == 1) {
		pj_serve_config_help(out);
	}
	if (rv != 0) {
		return (rv);
	}
	if ((e = getenv("PJ_CLUSTER_KEY")) != NULL) {
		snprintf(c->cluster_key, sizeof(c->cluster_key), "%s", e);
	}
	if (read_key(c, err, errlen) != 0) {
		return (2);
	}
	if (pj_cfg_log_level_check(c->log_level, err, errlen) != 0) {
		return (2);
	}
	if (strncmp(c->listen, "tcp://", 6) != 0
	    || strrchr(c->listen, ':') == c->listen + 3) {
		snprintf(err, errlen,
		    "listen address '%s' is not tcp://HOST:PORT", c->listen);
		return (2);
	}
	return (0);
}

int
pj_cfg_log_level_check(const char *level, char *err, size_t errlen)
{
	static const char *levels[] = { "debug", "info", "warn", "error" };
	int                ok       = level[0] == 0;
	for (size_t i = 0; i < 4; i++) {
		ok |= strcasecmp(level, levels[i]) == 0;
	}
	if (!ok) {
		snprintf(err, errlen,
		    "log level '%s' is not debug, info, warn or error", level);
		return (2);
	}
	return (0);
}

int
pj_serve_config_num(const char *name, const char *v, long long min,
    long long max, long long *out, char *err, size_t errlen)
{
	char     *end;
	long long x = strtoll(v, &end, 10);
	if (v[0] == 0 || *end != 0 || x < min || x > max) {
		snprintf(err, errlen,
		    "%s must be a whole number in %lld..%lld, "
		    "not '%s'",
		    name, min, max, v);
		return (2);
	}
	*out = x;
	return (0);
}
