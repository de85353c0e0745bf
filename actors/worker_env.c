/*
 * worker_env.c - the worker services of worker_env.h: pj-worker's options
 * (through the option engine of server/cluster/config.h), the owner, and
 * the two hand-offs every tracker uses: final status reports go to the
 * reporter actor (actors/reporter_actor.c), which asks the owner until an
 * Ack; online log lines go to a bounded queue (worker/logq.h) the logger
 * actor (actors/logger_actor.c) ships in batches.
 *
 * Design notes (threads): called from any tracker thread; the owner is
 * read under env->mu; ar_tell never blocks; the log queue guards itself.
 * Nothing here waits on the network.
 */
#include "actors/worker_env.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/light_tracker.h"
#include "runtime/log.h"
#include "server/cluster/config.h"

/* ---- options ------------------------------------------------------------
 */

/* Every option as text first (the engine's fields), then checked. */
struct wopts {
	char app[PJ_CFG_STR], secret[PJ_CFG_STR], servers[PJ_CFG_STR];
	char listen[PJ_CFG_STR], advertise[PJ_CFG_STR], tag[PJ_CFG_STR];
	char plugin_dir[PJ_CFG_STR], data_dir[PJ_CFG_STR];
	char max_light[PJ_CFG_STR], max_heavy[PJ_CFG_STR];
	char log_level[PJ_CFG_STR], key_file[PJ_CFG_STR];
	char config[PJ_CFG_STR], ready_file[PJ_CFG_STR];
	char heartbeat_ms[PJ_CFG_STR], discover_ms[PJ_CFG_STR];
	char report_ms[PJ_CFG_STR], log_flush_ms[PJ_CFG_STR];
	char log_batch[PJ_CFG_STR], log_queue_max[PJ_CFG_STR];
	char max_result_bytes[PJ_CFG_STR], stop_wait_ms[PJ_CFG_STR];
	char start_wait_ms[PJ_CFG_STR], shuffle[PJ_CFG_STR];
};

#define W(x) offsetof(struct wopts, x)
static const struct pj_cfg_opt wopts[] = {
	{ "app", "PJ_APP", W(app), "", "app this worker joins (required)" },
	{ "secret", "PJ_APP_SECRET", W(secret), "",
	    "the app's secret (required; prefer the environment or the "
	    "config file to a flag, which other users can see)" },
	{ "server", "PJ_SERVERS", W(servers), "127.0.0.1:10086",
	    "servers to ask who owns the app, HOST:PORT[,HOST:PORT...]" },
	{ "listen", "PJ_WORKER_LISTEN", W(listen), "tcp://127.0.0.1:27777",
	    "address the worker listens on (port 0 = any free port)" },
	{ "advertise", "PJ_WORKER_ADVERTISE", W(advertise), "",
	    "host servers use to reach this worker (default: the listen "
	    "host; 127.0.0.1 for 0.0.0.0)" },
	{ "tag", "PJ_WORKER_TAG", W(tag), "",
	    "worker tag (jobs may designate workers by tag)" },
	{ "plugin-dir", "PJ_WORKER_PLUGIN_DIR", W(plugin_dir), "",
	    "folder of EXTERNAL processor plugins (none: plugins refused)" },
	{ "data-dir", "PJ_WORKER_DATA_DIR", W(data_dir), "./pj-worker-data",
	    "folder for scripts, downloads and instance workspaces" },
	{ "max-light", "PJ_WORKER_MAX_LIGHT", W(max_light), "1024",
	    "light TaskTrackers (STANDALONE) before the worker is "
	    "overloaded; 1.3 times this are dropped (PowerJob's)" },
	{ "max-heavy", "PJ_WORKER_MAX_HEAVY", W(max_heavy), "64",
	    "heavy TaskTrackers (BROADCAST, MAP, MAP_REDUCE, frequent)" },
	{ "log-level", "PJ_WORKER_LOG_LEVEL", W(log_level), "",
	    "debug, info, warn or error (default: AR_LOG, else info)" },
	{ "cluster-key-file", "PJ_CLUSTER_KEY_FILE", W(key_file), "",
	    "file holding the deployment's cluster key (PJ_CLUSTER_KEY "
	    "gives the key itself)" },
	{ "config", "PJ_WORKER_CONFIG", W(config), "",
	    "config file of `name = value` lines with the names above" },
	{ "ready-file", "PJ_WORKER_READY_FILE", W(ready_file), "",
	    "file to write the worker's address into once it joined" },
	{ "heartbeat-ms", "PJ_WORKER_HEARTBEAT_MS", W(heartbeat_ms), "10000",
	    "heartbeat period (PowerJob's)" },
	{ "discover-ms", "PJ_WORKER_DISCOVER_MS", W(discover_ms), "10000",
	    "period of asking who owns the app (PowerJob's)" },
	{ "report-ms", "PJ_WORKER_REPORT_MS", W(report_ms), "5000",
	    "RUNNING reports of a light TaskTracker (PowerJob: 15000)" },
	{ "log-flush-ms", "PJ_WORKER_LOG_FLUSH_MS", W(log_flush_ms), "5000",
	    "online log lines are shipped this often (PowerJob's)" },
	{ "log-batch", "PJ_WORKER_LOG_BATCH", W(log_batch), "20",
	    "online log lines per report (PowerJob's)" },
	{ "log-queue-max", "PJ_WORKER_LOG_QUEUE_MAX", W(log_queue_max),
	    "10240", "online log lines held; more are dropped and counted" },
	{ "max-result-bytes", "PJ_WORKER_MAX_RESULT_BYTES",
	    W(max_result_bytes), "8096",
	    "a task's result is cut to this length plus \"...\"" },
	{ "stop-wait-ms", "PJ_WORKER_STOP_WAIT_MS", W(stop_wait_ms), "10000",
	    "a stopped or timed-out processor gets this long to return; "
	    "also the SIGTERM drain" },
	{ "start-wait-ms", "PJ_WORKER_START_WAIT_MS", W(start_wait_ms),
	    "10000", "at start, keep asking the servers this long" },
	{ "shuffle", "PJ_WORKER_SHUFFLE", W(shuffle), "1",
	    "1: shuffle the server list once at start (PowerJob); 0: ask "
	    "in the given order" },
};
#define NWOPTS (sizeof(wopts) / sizeof(wopts[0]))

void
pj_worker_config_help(FILE *out)
{
	fprintf(out,
	    "usage: pj-worker --app NAME --secret SECRET --server "
	    "HOST:PORT[,...] [--OPTION VALUE]...\n\n"
	    "Joins an app: asks the servers who owns it, heartbeats, runs "
	    "the instances\nthe owner sends, until SIGTERM or SIGINT.\n\n"
	    "Options (flag, then environment, then config file, then "
	    "default):\n");
	pj_cfg_help(wopts, NWOPTS, out);
	fprintf(out, "  %-20s %-20s the cluster key itself\n", "",
	    "PJ_CLUSTER_KEY");
	fprintf(out,
	    "  --help               this text\n\nExit status: 0 "
	    "stopped by a signal, 1 cannot start, 2 bad option,\n"
	    "3 refused by the server (wrong secret, unknown app), "
	    "4 no server answered.\n");
}

static int
num(const char *name, const char *v, long long min, long long max,
    int64_t *out, char *err, size_t errlen)
{
	long long x;
	if (pj_serve_config_num(name, v, min, max, &x, err, errlen) != 0) {
		return 2;
	}
	*out = x;
	return 0;
}

static int
split_servers(
    struct pj_worker_config *c, const char *list, char *err, size_t errlen)
{
	char buf[PJ_CFG_STR], *save = NULL, *s;
	c->n_servers = 0;
	snprintf(buf, sizeof(buf), "%s", list);
	for (s = strtok_r(buf, ", ", &save); s != NULL;
	     s = strtok_r(NULL, ", ", &save)) {
		const char *colon = strrchr(s, ':');
		char       *end;
		long        port = colon ? strtol(colon + 1, &end, 10) : 0;
		if (colon == NULL || colon == s || *end != 0 || port < 1
		    || port > 65535 || strlen(s) >= sizeof(c->servers[0])) {
			snprintf(err, errlen,
			    "server '%s' is not HOST:PORT (a pj-server's "
			    "listen address)",
			    s);
			return 2;
		}
		if (c->n_servers == PJ_WORKER_MAX_SERVERS) {
			snprintf(err, errlen, "more than %d servers listed",
			    PJ_WORKER_MAX_SERVERS);
			return 2;
		}
		snprintf(c->servers[c->n_servers++], sizeof(c->servers[0]),
		    "%s", s);
	}
	if (c->n_servers == 0) {
		snprintf(err, errlen, "no server given (--server HOST:PORT)");
		return 2;
	}
	return 0;
}

int
pj_worker_config_load(struct pj_worker_config *c, int argc, char **argv,
    FILE *out, char *err, size_t errlen)
{
	struct wopts *o = ar_xcalloc(1, sizeof(*o));
	int64_t       x;
	int           rv;

	memset(c, 0, sizeof(*c));
	rv = pj_cfg_load(
	    wopts, NWOPTS, o, sizeof(*o), argc, argv, err, errlen);
	if (rv == 1) {
		pj_worker_config_help(out);
		goto out;
	}
	if (rv != 0) {
		goto out;
	}
	rv = 2;
#define STR(field, src, what)                                                 \
	do {                                                                  \
		if (strlen(src) >= sizeof(c->field)) {                        \
			snprintf(err, errlen, "%s is too long", what);        \
			goto out;                                             \
		}                                                             \
		snprintf(c->field, sizeof(c->field), "%s", src);              \
	} while (0)
	if (o->app[0] == 0) {
		snprintf(err, errlen, "no app given (--app NAME or PJ_APP)");
		goto out;
	}
	if (o->secret[0] == 0) {
		snprintf(err, errlen,
		    "no app secret given (PJ_APP_SECRET, the config file or "
		    "--secret)");
		goto out;
	}
	STR(app_name, o->app, "app name");
	STR(secret, o->secret, "secret");
	STR(tag, o->tag, "tag");
	STR(data_dir, o->data_dir, "data-dir");
	STR(plugin_dir, o->plugin_dir, "plugin-dir");
	STR(listen, o->listen, "listen");
	STR(advertise, o->advertise, "advertise");
	STR(log_level, o->log_level, "log-level");
	STR(ready_file, o->ready_file, "ready-file");
	if (split_servers(c, o->servers, err, errlen) != 0) {
		goto out;
	}
	if (strncmp(c->listen, "tcp://", 6) != 0
	    || strrchr(c->listen, ':') == c->listen + 3) {
		snprintf(err, errlen,
		    "listen address '%s' is not tcp://HOST:PORT", c->listen);
		goto out;
	}
	if (pj_cfg_log_level_check(c->log_level, err, errlen) != 0) {
		goto out;
	}
	if (num("max-light", o->max_light, 1, 1000000, &x, err, errlen)) {
		goto out;
	}
	c->max_light = (int) x;
	if (num("max-heavy", o->max_heavy, 1, 100000, &x, err, errlen)) {
		goto out;
	}
	c->max_heavy = (int) x;
	if (num("log-batch", o->log_batch, 1, 10000, &x, err, errlen)) {
		goto out;
	}
	c->log_batch = (int) x;
	if (num("log-queue-max", o->log_queue_max, 1, 10000000, &x, err,
	        errlen)) {
		goto out;
	}
	c->log_queue_max = (int) x;
	if (num("shuffle", o->shuffle, 0, 1, &x, err, errlen)) {
		goto out;
	}
	c->shuffle = (int) x;
	if (num("heartbeat-ms", o->heartbeat_ms, 10, 3600000, &c->heartbeat_ms,
	        err, errlen)
	    || num("discover-ms", o->discover_ms, 10, 3600000, &c->discover_ms,
	        err, errlen)
	    || num("report-ms", o->report_ms, 10, 3600000, &c->report_ms, err,
	        errlen)
	    || num("log-flush-ms", o->log_flush_ms, 10, 3600000,
	        &c->log_flush_ms, err, errlen)
	    || num("max-result-bytes", o->max_result_bytes, 16, 1 << 24,
	        &c->max_result_bytes, err, errlen)
	    || num("stop-wait-ms", o->stop_wait_ms, 0, 3600000,
	        &c->stop_wait_ms, err, errlen)
	    || num("start-wait-ms", o->start_wait_ms, 0, 3600000,
	        &c->start_wait_ms, err, errlen)) {
		goto out;
	}
	if (pj_cluster_key_load(o->key_file, c->cluster_key,
	        sizeof(c->cluster_key), err, errlen)
	    != 0) {
		goto out;
	}
	c->tick_ms        = c->report_ms < 200 ? c->report_ms : 200;
	c->ask_timeout_ms = 5000;
	rv                = 0;
#undef STR
out:
	memset(o->secret, 0, sizeof(o->secret));
	free(o);
	return rv;
}

/* ---- the env --------------------------------------------------------------
 */

int
pj_worker_messages_register(void)
{
	int rv = pj_messages_register();
	if (rv == 0) {
		rv = ar_registry_add(&pj__wlocal__tick__descriptor);
		rv = rv == AR_EEXIST ? 0 : rv;
	}
	if (rv == 0) {
		rv = ar_registry_add(&pj__wlocal__done__descriptor);
		rv = rv == AR_EEXIST ? 0 : rv;
	}
	return rv;
}

void
pj_worker_env_init(struct pj_worker_env *env, ar_system *sys)
{
	env->sys = sys;
	snprintf(
	    env->address, sizeof(env->address), "%s", ar_system_address(sys));
	pthread_mutex_init(&env->mu, NULL);
	env->logq   = pj_logq_new((size_t) env->cfg.log_queue_max);
	env->lights = pj_light_set_new();
	pj_processor_config_init(&env->proc);
	env->proc.plugin_dir
	    = env->cfg.plugin_dir[0] ? env->cfg.plugin_dir : NULL;
	env->proc.data_dir = env->cfg.data_dir;
}

void
pj_worker_env_fini(struct pj_worker_env *env)
{
	if (atomic_load(&env->light) > 0) {
		return; /* abandoned processor threads still use them */
	}
	pj_light_set_free(env->lights);
	pj_logq_free(env->logq);
	pthread_mutex_destroy(&env->mu);
	env->lights = NULL;
	env->logq   = NULL;
}

int
pj_worker_services_spawn(struct pj_worker_env *env)
{
	int rv = pj_reporter_actor_spawn(env);
	return rv != 0 ? rv : pj_logger_actor_spawn(env);
}

void
pj_worker_kick(struct pj_worker_env *env)
{
	Pj__Wlocal__Tick t = PJ__WLOCAL__TICK__INIT;
	t.kind             = PJ__WLOCAL__TICK_KIND__KICK;
	ar_tell(env->sys, env->reporter, &t.base, AR_REF_NONE);
	atomic_store(&env->log_kicked, 1);
	ar_tell(env->sys, env->logger, &t.base, AR_REF_NONE);
}

/* ---- owner ----------------------------------------------------------------
 */

int
pj_worker_server_ref(struct pj_worker_env *env, ar_ref *ref)
{
	char addr[400];

	pthread_mutex_lock(&env->mu);
	if (env->server_address[0] == '\0') {
		pthread_mutex_unlock(&env->mu);
		return AR_ENOENT;
	}
	snprintf(addr, sizeof(addr), "%s/user/server", env->server_address);
	pthread_mutex_unlock(&env->mu);
	return ar_ref_resolve(env->sys, addr, ref);
}

void
pj_worker_server(struct pj_worker_env *env, char *buf, size_t n)
{
	pthread_mutex_lock(&env->mu);
	snprintf(buf, n, "%s", env->server);
	pthread_mutex_unlock(&env->mu);
}

void
pj_worker_set_server(
    struct pj_worker_env *env, const char *server, const char *address)
{
	pthread_mutex_lock(&env->mu);
	snprintf(env->server, sizeof(env->server), "%s", server);
	snprintf(
	    env->server_address, sizeof(env->server_address), "%s", address);
	pthread_mutex_unlock(&env->mu);
}

/* ---- reports and logs -----------------------------------------------------
 */

void
pj_worker_report(
    struct pj_worker_env *env, const Pj__Cluster__InstanceStatusReport *r)
{
	Pj__Cluster__InstanceStatusReport c = *r;
	ar_ref                            to;

	c.source_address = env->address;
	if (c.app_id == 0) {
		c.app_id = atomic_load(&env->app_id);
	}
	if (r->instance_status == 3) { /* RUNNING: best effort */
		if (pj_worker_server_ref(env, &to) == 0) {
			ar_tell(env->sys, to, &c.base, env->worker);
		}
		return;
	}
	/* counted before the tell, so a drain never misses one in flight */
	atomic_fetch_add(&env->finals_pending, 1);
	if (ar_tell(env->sys, env->reporter, &c.base, AR_REF_NONE) != 0) {
		atomic_fetch_sub(&env->finals_pending, 1);
		ar_log(AR_LOG_ERROR, "worker",
		    "instance=%lld: final report (status %d) could not be "
		    "queued: the reporter is gone",
		    (long long) r->instance_id, r->instance_status);
	}
}

/* The queue length past which the logger is told at once instead of at
 * its next tick (PowerJob starts an extra submitter past 1024). */
#define LOG_KICK_LINES 1024

void
pj_worker_logv(struct pj_worker_env *env, int64_t instance_id, int level,
    const char *fmt, va_list ap)
{
	char line[PJ_LOGQ_LINE_MAX + 1];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (pj_logq_push(env->logq, instance_id, ar_now_ms(), level, line)
	    != 0) {
		return; /* counted; the logger says so at its next tick */
	}
	size_t kick = (size_t) env->cfg.log_batch * 4;
	kick        = kick < LOG_KICK_LINES ? LOG_KICK_LINES : kick;
	if (kick > (size_t) env->cfg.log_queue_max / 2) {
		kick = (size_t) env->cfg.log_queue_max / 2;
	}
	if (pj_logq_len(env->logq) >= kick
	    && atomic_exchange(&env->log_kicked, 1) == 0) {
		Pj__Wlocal__Tick t = PJ__WLOCAL__TICK__INIT;
		t.kind             = PJ__WLOCAL__TICK_KIND__KICK;
		ar_tell(env->sys, env->logger, &t.base, AR_REF_NONE);
	}
}

void
pj_worker_log(struct pj_worker_env *env, int64_t instance_id, int level,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pj_worker_logv(env, instance_id, level, fmt, ap);
	va_end(ap);
}
