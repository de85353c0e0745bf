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
 *   pj-server serve [--OPTION VALUE]...
 *       runs a server until SIGTERM / SIGINT (serve_main below; options in
 *       server/cluster/config.h, `pj-server serve --help` lists them), with
 *       its OpenAPI gateway for pjctl on --gateway (actors/gateway.h,
 *       docs/gateway.md).  The ready file gets HOST:PORT, then the
 *       gateway's URL with its bound port (or "none").
 *
 *   pj-server app-create --db URL NAME
 *       registers an app; its secret (what its workers present) is read
 *       from the environment variable PJ_APP_SECRET or, without it, the
 *       first line of standard input.  Prints the app id.
 *
 *   pj-server cron-next EXPR [--tz ZONE] [--from EPOCH_MS] [--count N]
 *       prints the next N (default 5) fire times of a CRON expression, one
 *       per line: epoch milliseconds, then the local ISO-8601 time with its
 *       UTC offset (server/cron_cmd.c).  Exit status 2 and the reason on
 *       stderr for an invalid expression, zone or option.
 *
 * Exit status: 0 success, 1 failure, 2 usage or invalid input.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "actors/admin.h"
#include "actors/gateway.h"
#include "actors/server_env.h"
#include "runtime/log.h"
#include "server/cluster/config.h"
#include "server/store/migrate.h"
#include "server/timing/cron_cmd.h"
#include "server/timing/tz.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
};

static int cmd_migrate(int argc, char **argv);
static int cmd_cron_next(int argc, char **argv);
static int cmd_serve(int argc, char **argv);
static int cmd_app_create(int argc, char **argv);

static const struct subcommand subcommands[] = {
	{ "serve", cmd_serve, "serve [--OPTION VALUE]... (serve --help)" },
	{ "migrate", cmd_migrate, "migrate --db URL" },
	{ "app-create", cmd_app_create,
	    "app-create --db URL NAME  (secret: PJ_APP_SECRET or stdin)" },
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

/* ---- serve ---------------------------------------------------------------
 * Design notes (threads): main blocks SIGINT/SIGTERM before any thread
 * exists and waits for them with sigtimedwait() (trimming malloc's free
 * memory once a second meanwhile); the actors run on the runtime's
 * dispatchers.  After the first signal main unblocks both with their
 * default action, so a second one ends the process at once while the
 * graceful stop runs.
 */

#define SERVER_STALE_MS (24LL * 3600 * 1000) /* PowerJob: 1 day */

/* URL without its password, for the start line. */
static void
redact(const char *url, char *out, size_t n)
{
	const char *at = strchr(url, '@'), *scheme = strstr(url, "://");
	const char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
	if (at && colon && colon < at) {
		snprintf(out, n, "%.*s:***%s", (int) (colon - url), url, at);
	} else {
		snprintf(out, n, "%s", url);
	}
}

static void
write_ready_file(const char *path, const char *self, const char *gateway)
{
	char  tmp[PJ_CFG_STR + 8];
	FILE *f;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) != NULL) {
		fprintf(f, "%s\n%s\n", self, gateway);
		fclose(f);
		rename(tmp, path); /* readers never see half a file */
	}
}

/* The scheduler's numbers from the options (docs/scheduler.md). */
static int
sched_settings(const struct pj_serve_config *c, struct pj_sched_settings *st)
{
	const struct {
		const char *name, *v;
		long long   min, max;
		int64_t    *out;
	} nums[] = {
		{ "sched-pass-ms", c->sched_pass_ms, 10, 60000, &st->pass_ms },
		{ "sched-window-ms", c->sched_window_ms, 0, 600000,
		    &st->window_ms },
		{ "check-interval-ms", c->check_interval_ms, 100, 3600000,
		    &st->check_ms },
		{ "wait-receive-ms", c->wait_receive_ms, 100, 86400000,
		    &st->wait_receive_ms },
		{ "running-timeout-ms", c->running_timeout_ms, 100, 86400000,
		    &st->running_silent_ms },
		{ "retry-delay-ms", c->retry_delay_ms, 0, 86400000,
		    &st->retry_delay_ms },
		{ "retention-days", c->retention_days, 1, 3650,
		    &st->retention_ms },
		{ "misfire-threshold-ms", c->misfire_threshold_ms, 1, 86400000,
		    &st->misfire_threshold_ms },
	};
	char err[300];
	pj_sched_settings_init(st);
	for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
		long long x;
		if (pj_serve_config_num(nums[k].name, nums[k].v, nums[k].min,
		        nums[k].max, &x, err, sizeof(err))
		    != 0) {
			fprintf(stderr, "pj-server: %s\n", err);
			return (2);
		}
		*nums[k].out = x;
	}
	st->retention_ms *= 86400000LL;
	return (0);
}

/* glibc malloc for a server of many threads (docs/server.md, "Memory"):
 * --malloc-arenas arenas (glibc's default is 8 per core, each keeping
 * its own free memory), and blocks of 128 KiB and more always mmap'd, so
 * a pass's or a frame's large buffers go back to the system when freed
 * (glibc otherwise raises its mmap threshold after the first such free
 * and keeps them in an arena).  glibc's own MALLOC_MMAP_THRESHOLD_ and
 * MALLOC_TRIM_THRESHOLD_ variables still win. */
static int
malloc_settings(const struct pj_serve_config *c)
{
	char      err[300];
	long long arenas;
	if (pj_serve_config_num("malloc-arenas", c->malloc_arenas, 0, 1024,
	        &arenas, err, sizeof(err))
	    != 0) {
		fprintf(stderr, "pj-server: %s\n", err);
		return (2);
	}
	if (arenas > 0) {
		mallopt(M_ARENA_MAX, (int) arenas);
	}
	if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL) {
		mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	}
	if (getenv("MALLOC_TRIM_THRESHOLD_") == NULL) {
		mallopt(M_TRIM_THRESHOLD, 128 * 1024);
	}
	return (0);
}

/* The writer of the log store (opened from --log-store), spooling into
 * DATA_DIR/logspool-HOST_PORT while the store is down (one folder per
 * server address, so servers sharing a data dir never share a spool). */
static int
start_logs(const struct pj_serve_config *c, struct pj_server_env *env)
{
	struct pj_logwriter_config wc;
	char                       shown[PJ_CFG_STR], dir[2 * PJ_CFG_STR + 300];
	char                       err[512];
	long long                  mb;
	pj_logstore_url_redact(c->log_store, shown, sizeof(shown));
	if (pj_serve_config_num("log-spool-mb", c->log_spool_mb, 1, 1048576,
	        &mb, err, sizeof(err))
	    != 0) {
		fprintf(stderr, "pj-server: %s\n", err);
		return (-1);
	}
	snprintf(dir, sizeof(dir), "%s/logspool-%s", c->data_dir, env->self);
	for (char *p = strrchr(dir, '/'); *p; p++) {
		if (*p == ':') {
			*p = '_';
		}
	}
	memset(&wc, 0, sizeof(wc));
	wc.spool_dir       = dir;
	wc.spool_max_bytes = (uint64_t) mb << 20;
	if (pj_logwriter_start(env->logstore, &wc, &env->logwriter, err,
	        sizeof(err))
	    != 0) {
		fprintf(stderr, "pj-server: log writer: %s\n", err);
		pj_logstore_close(env->logstore);
		env->logstore = NULL;
		return (-1);
	}
	if (strcmp(pj_logstore_name(env->logstore), "sql") == 0) {
		pj_logstore_mongo_release();
	}
	ar_log(AR_LOG_INFO, "server", "instance logs go to %s (spool %s, at "
	    "most %lld MiB)", strcmp(pj_logstore_name(env->logstore), "sql") == 0
	        ? "the SQL store" : shown, dir, mb);
	return (0);
}

/* pjctl runtime's gauges: the log writer and its spool (issue 13: the
 * spool's size and age where operators look). */
static size_t
log_gauges(void *arg, char (*n)[PJ_GAUGE_NAME], char (*v)[PJ_GAUGE_VALUE],
    size_t max)
{
	struct pj_server_env      *env = arg;
	struct pj_logwriter_stats  st;
	size_t                     k = 0;
	if (env->logwriter == NULL || max < 5) {
		return (0);
	}
	pj_logwriter_stats(env->logwriter, &st);
#define G(name, ...)                                                          \
	do {                                                                  \
		snprintf(n[k], PJ_GAUGE_NAME, "%s", name);                    \
		snprintf(v[k], PJ_GAUGE_VALUE, __VA_ARGS__);                  \
		k++;                                                          \
	} while (0)
	G("log store", "%s", st.store_down ? "down (spooling)" : "up");
	G("log lines", "%llu written, %llu queued, %llu refused",
	    (unsigned long long) st.written_lines,
	    (unsigned long long) st.queued_lines,
	    (unsigned long long) st.refused_lines);
	G("log spool", "%llu lines, %llu of %llu bytes",
	    (unsigned long long) st.spool.lines,
	    (unsigned long long) st.spool.bytes,
	    (unsigned long long) st.spool.max_bytes);
	G("log spool oldest", "%s",
	    st.spool.oldest_ms == 0 ? "-" : "");
	if (st.spool.oldest_ms != 0) {
		snprintf(v[k - 1], PJ_GAUGE_VALUE, "%lld s ago",
		    (long long) ((ar_now_ms() - st.spool.oldest_ms) / 1000));
	}
	if (st.last_error[0] != '\0') {
		G("log store error", "%.150s", st.last_error);
	}
#undef G
	return (k);
}

static int
serve_main(const struct pj_serve_config *c)
{
	struct pj_server_env env;
	ar_config            ac;
	char                 db[PJ_CFG_STR + 32], shown[PJ_CFG_STR + 32];
	char                 host[256];
	int64_t              t0                      = ar_mono_ms();
	struct pj_gateway   *gw                      = NULL;
	char                 gw_url[PJ_CFG_STR + 16] = "none";
	long long            gw_ttl_s;
	char                 err[300];
	int                  rv, applied = 0, version = 0, sig;
	sigset_t             sigs;

	memset(&env, 0, sizeof(env));
	if (malloc_settings(c) != 0 || sched_settings(c, &env.sched) != 0) {
		return (2);
	}
	if (pj_serve_config_num("gateway-token-ttl-s", c->gateway_token_ttl_s,
	        1, 10LL * 365 * 86400, &gw_ttl_s, err, sizeof(err))
	    != 0) {
		fprintf(stderr, "pj-server: %s\n", err);
		return (2);
	}
	if (strcmp(c->gateway, "none") != 0
	    && (strncmp(c->gateway, "tcp://", 6) != 0
	        || strrchr(c->gateway, ':') < c->gateway + 6)) {
		fprintf(stderr,
		    "pj-server: gateway: '%s' is not tcp://HOST:PORT (or "
		    "none)\n",
		    c->gateway);
		return (2);
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (c->db[0]) {
		snprintf(db, sizeof(db), "%s", c->db);
	} else {
		if (mkdir(c->data_dir, 0750) != 0 && errno != EEXIST) {
			fprintf(stderr,
			    "pj-server: cannot create data dir %s: %s\n",
			    c->data_dir, strerror(errno));
			return (1);
		}
		snprintf(db, sizeof(db), "sqlite://%s/pj.db", c->data_dir);
	}
	redact(db, shown, sizeof(shown));
	if ((rv = pj_store_open(db, &env.store)) != 0) {
		/* a failed open leaves its message for store NULL */
		fprintf(stderr, "pj-server: cannot open database %s: %s\n",
		    shown, pj_store_errmsg(env.store));
		pj_store_close(env.store);
		return (1);
	}
	if ((rv = pj_store_migrate(env.store, &applied, &version)) != 0) {
		fprintf(stderr, "pj-server: database %s: %s\n", shown,
		    pj_store_errmsg(env.store));
		pj_store_close(env.store);
		return (1);
	}
	/* a bad log store URI or wrong credentials stop us before we listen */
	if (pj_logstore_open(c->log_store, env.store, &env.logstore) != 0) {
		fprintf(stderr, "pj-server: cannot open the log store: %s\n",
		    pj_logstore_errmsg());
		pj_store_close(env.store);
		return (1);
	}
	if ((rv = pj_messages_register()) != 0) {
		fprintf(stderr, "pj-server: message registry: %s\n",
		    ar_strerror(rv));
		pj_logstore_close(env.logstore);
		pj_store_close(env.store);
		return (1);
	}
	ar_config_init(&ac);
	ac.name             = PJ_SERVER_SYSTEM;
	ac.listen_url       = c->listen;
	ac.blocking_threads = 8 + PJ_GATEWAY_HANDLERS; /* + the gateway's */
	/* the host others reach us at: advertise, else the listen host */
	const char *h = c->listen + 6, *e = strrchr(h, ':');
	snprintf(
	    host, sizeof(host), "%.*s", (int) (e - h > 200 ? 200 : e - h), h);
	if (c->advertise[0]) {
		snprintf(host, sizeof(host), "%.200s", c->advertise);
	} else if (strcmp(host, "0.0.0.0") == 0 || host[0] == 0) {
		snprintf(host, sizeof(host), "127.0.0.1");
	}
	ac.advertise_host = host;
	if (c->cluster_key[0] != 0) { /* proved in every connection's hello */
		ac.cluster_key     = c->cluster_key;
		ac.cluster_key_len = strlen(c->cluster_key);
	}
	if ((rv = ar_system_start(&ac, &env.sys)) != 0) {
		fprintf(stderr, "pj-server: cannot listen on %s: %s\n",
		    c->listen, ar_strerror(rv));
		pj_logstore_close(env.logstore);
		pj_store_close(env.store);
		return (1);
	}
	snprintf(env.self, sizeof(env.self), "%.200s:%d", host,
	    ar_system_port(env.sys));
	snprintf(env.address, sizeof(env.address), "%s",
	    ar_system_address(env.sys));
	if ((rv = pj_store_server_register(env.store, env.self, ar_now_ms(),
	         SERVER_STALE_MS, &env.server_id))
	    != 0) {
		fprintf(stderr,
		    "pj-server: cannot register in server_info: %s\n",
		    pj_store_errmsg(env.store));
		ar_system_stop(env.sys);
		pj_logstore_close(env.logstore);
		pj_store_close(env.store);
		return (1);
	}
	if (start_logs(c, &env) != 0) {
		ar_system_stop(env.sys);
		pj_logstore_close(env.logstore);
		pj_store_close(env.store);
		return (1);
	}
	pj_ids_init(&env.ids, env.server_id);
	env.view  = pj_view_new();
	env.auth  = pj_auth_new(env.store);
	env.owned = pj_owned_new();
	env.progress = pj_progress_new(0, 0);
	struct pj_admin_gauges gauges = { log_gauges, &env };
	if ((rv = pj_admin_spawn_with_gauges(env.sys, &gauges, NULL)) != 0
	    || (rv = pj_scheduler_actor_spawn(&env)) != 0
	    || (rv = pj_friend_actor_spawn(&env, NULL)) != 0
	    || (rv = pj_server_actor_spawn(&env, NULL)) != 0) {
		fprintf(stderr, "pj-server: cannot spawn actors: %s\n",
		    ar_strerror(rv));
		goto stop;
	}
	if (strcmp(c->gateway, "none") != 0) {
		struct pj_gateway_config gc = { 0 };
		gc.url                      = c->gateway;
		gc.token_ttl_ms             = gw_ttl_s * 1000;
		if (c->cluster_key[0]
		    != 0) { /* tokens valid on every server */
			gc.key     = c->cluster_key;
			gc.key_len = strlen(c->cluster_key);
		}
		if ((rv = pj_gateway_start(&env, &gc, &gw)) != 0) {
			fprintf(stderr,
			    "pj-server: cannot start the gateway on %s: %s\n",
			    c->gateway, ar_strerror(rv));
			goto stop;
		}
		/* the URL with the port actually bound */
		const char *colon = strrchr(c->gateway, ':');
		snprintf(gw_url, sizeof(gw_url), "%.*s:%d",
		    (int) (colon - c->gateway), c->gateway,
		    pj_gateway_port(gw));
	}
	/* the runtime said at start whether links are authenticated (a
	 * cluster key) or loopback only (none) */
	printf("pj-server: serving %s (server %s, id %d, gateway %s) on "
	       "database %s (schema %d, %d applied), ready in %lld ms\n",
	    env.address, env.self, env.server_id, gw_url, shown, version,
	    applied, (long long) (ar_mono_ms() - t0));
	fflush(stdout);
	if (c->ready_file[0]) {
		write_ready_file(c->ready_file, env.self, gw_url);
	}
	/* while serving, main hands malloc's free pages back every second:
	 * what a pass or a burst of reports freed inside the heap stays
	 * resident otherwise (docs/server.md, "Memory") */
	for (;;) {
		struct timespec second = { 1, 0 };
		if ((sig = sigtimedwait(&sigs, NULL, &second)) > 0) {
			break;
		}
		if (errno == EAGAIN) {
			malloc_trim(0);
		}
	}
	ar_log(AR_LOG_INFO, "server",
	    "%s: stopping (actors drain; a second signal exits at once)",
	    sig == SIGTERM ? "SIGTERM" : "SIGINT");
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	rv = 0;
stop:
	pj_gateway_close(gw); /* no nng callback reaches a stopped system */
	ar_system_stop(env.sys);
	pj_gateway_free(gw);
	/* ownership stays recorded; locks this server holds go */
	int64_t released = 0;
	pj_store_lock_release_owner(env.store, env.self, &released);
	pj_store_server_heartbeat(env.store, env.self, ar_now_ms());
	pj_logwriter_stop(env.logwriter); /* writes or spools what is queued */
	pj_logstore_close(env.logstore);
	pj_owned_free(env.owned);
	pj_progress_free(env.progress);
	pj_auth_free(env.auth);
	pj_view_free(env.view);
	pj_ids_fini(&env.ids);
	pj_store_close(env.store);
	ar_log(AR_LOG_INFO, "server",
	    "server=%s stopped (%lld locks released)", env.self,
	    (long long) released);
	return (rv == 0 ? 0 : 1);
}

static int
cmd_serve(int argc, char **argv)
{
	struct pj_serve_config c;
	char                   err[512];
	int                    rv
	    = pj_serve_config_load(&c, argc, argv, stdout, err, sizeof(err));
	if (rv == 1) {
		return (0);
	}
	if (rv != 0) {
		fprintf(stderr,
		    "pj-server serve: %s (see pj-server serve --help)\n", err);
		return (2);
	}
	if (c.log_level[0]) {
		setenv("AR_LOG", c.log_level, 1); /* read at the first line */
	}
	return (serve_main(&c));
}

static int
cmd_app_create(int argc, char **argv)
{
	struct pj_store *s;
	const char *db = NULL, *name = NULL, *env = getenv("PJ_APP_SECRET");
	char        secret[512] = "";
	int64_t     id;
	int         rv;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
			db = argv[++i];
		} else if (argv[i][0] != '-' && name == NULL) {
			name = argv[i];
		} else {
			fprintf(stderr,
			    "usage: pj-server app-create --db URL NAME\n");
			return (2);
		}
	}
	if (db == NULL || name == NULL) {
		fprintf(stderr, "usage: pj-server app-create --db URL NAME\n");
		return (2);
	}
	if (env != NULL) {
		snprintf(secret, sizeof(secret), "%s", env);
	} else if (fgets(secret, sizeof(secret), stdin) != NULL) {
		secret[strcspn(secret, "\r\n")] = 0;
	}
	if (secret[0] == 0) {
		fprintf(stderr,
		    "pj-server app-create: empty secret (set "
		    "PJ_APP_SECRET or give it on stdin)\n");
		return (2);
	}
	if ((rv = pj_store_open(db, &s)) != 0
	    || (rv = pj_store_migrate(s, NULL, NULL)) != 0
	    || (rv = pj_store_app_create(
	            s, name, secret, name, ar_now_ms(), &id))
	        != 0) {
		fprintf(
		    stderr, "pj-server app-create: %s\n", pj_store_errmsg(s));
		pj_store_close(s);
		return (1);
	}
	printf("app %s id %lld\n", name, (long long) id);
	pj_store_close(s);
	return (0);
}

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0
	    || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		if (argc >= 2) {
			printf("\n");
			pj_serve_config_help(stdout);
		}
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "serve") != 0) {
		pj_logstore_mongo_release(); /* only serve may use MongoDB */
	}
	for (size_t i = 0; i < NSUB; i++) {
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "pj-server: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
