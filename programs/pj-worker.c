/*
 * pj-worker - a worker process (powerjob-design.md §6; docs/worker.md).
 *
 *   pj-worker --app NAME --secret SECRET --server HOST:PORT[,...]
 *             [--OPTION VALUE]...        (pj-worker --help lists them)
 *
 * Joins one app: asks the servers who owns it (pj.cluster.Discover with
 * the app's name and secret; at start and every discover-ms, following
 * ownership changes), heartbeats the owner every heartbeat-ms with the
 * machine's metrics (worker/metrics.h), and runs the instances the owner
 * sends its /user/worker (actors/worker_actor.c).  Final reports are
 * delivered reliably (/user/reporter) and online log lines shipped in
 * batches (/user/logger).
 *
 * Exit status: 0 after SIGTERM / SIGINT, 1 cannot start (listen, data
 * directory), 2 bad option, 3 the server refused the app (wrong secret,
 * unknown app: its reason is printed), 4 no server answered within
 * start-wait-ms.
 *
 * Design notes (threads): main blocks SIGINT / SIGTERM before any thread
 * exists and does discovery and heartbeats itself between sigtimedwait()s
 * (a discovery ask may wait seconds; only heartbeats wait for it).  The
 * actors run on the runtime's dispatchers; light TaskTrackers on threads
 * of their own.  On the first signal: new instances are refused
 * (env.draining), running processors are asked to stop, every heavy
 * TaskTracker ends its instance FAILED with a report, main waits up to
 * stop-wait-ms for them and then for their final reports to be
 * acknowledged and the log queue to drain; a second signal exits at once.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "actors/heavy_tracker.h"
#include "actors/light_tracker.h"
#include "actors/worker_env.h"
#include "runtime/log.h"
#include "worker/heavy.h"
#include "worker/metrics.h"

#define VERSION "pj-worker/0.1"
#define OWNER_ASK_MS 2000     /* the current owner answers from memory */
#define OTHER_ASK_MS 10000    /* another server may ping and take over */
#define START_RETRY_MS 1000   /* first discovery: between rounds */
#define DRAIN_REPORTS_MS 5000 /* after the processors: reports, logs */
#define WAIT_STEP_MS 100

static struct pj_worker_env env;
static sigset_t             sigs;

/* Sleeps up to ms; 1 when a signal came. */
static int
nap(int64_t ms)
{
	struct timespec ts;
	siginfo_t       si;

	if (ms <= 0) {
		ms = 1;
	}
	ts.tv_sec  = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	return sigtimedwait(&sigs, &si, &ts) > 0;
}

static void
shuffle(struct pj_worker_config *c)
{
	srand((unsigned) (ar_now_ms() ^ getpid()));
	for (int i = c->n_servers - 1; i > 0; i--) {
		int  j = rand() % (i + 1);
		char t[256];
		memcpy(t, c->servers[i], sizeof(t));
		memcpy(c->servers[i], c->servers[j], sizeof(t));
		memcpy(c->servers[j], t, sizeof(t));
	}
}

/* One Discover ask to server s: 0 and the reply's code (code_out), or -1
 * when it did not answer. */
static int
ask_owner(const char *s, int timeout_ms, const char *current, int *code_out,
    char *msg, size_t msglen)
{
	char                    addr[400];
	ar_ref                  to;
	ar_future              *f;
	const ProtobufCMessage *r;
	Pj__Cluster__Discover   d  = PJ__CLUSTER__DISCOVER__INIT;
	int                     rv = -1;

	snprintf(addr, sizeof(addr), "pj://pjserver@%s/user/server", s);
	if (ar_ref_resolve(env.sys, addr, &to) != 0) {
		return -1;
	}
	d.app_name       = env.cfg.app_name;
	d.secret         = env.cfg.secret;
	d.worker_address = env.address;
	d.current_server = (char *) current;
	d.client_version = VERSION;
	if (ar_ask(env.sys, to, &d.base, timeout_ms, &f) != 0) {
		return -1;
	}
	if (ar_future_wait(f, -1, &r) == 0
	    && r->descriptor == &pj__cluster__discover_reply__descriptor) {
		const Pj__Cluster__DiscoverReply *dr
		    = (const Pj__Cluster__DiscoverReply *) r;
		*code_out = dr->code;
		snprintf(msg, msglen, "%s", dr->message);
		if (dr->code == 0) {
			char old[256];
			pj_worker_server(&env, old, sizeof(old));
			atomic_store(&env.app_id, dr->app_id);
			if (strcmp(old, dr->server) != 0) {
				pj_worker_set_server(
				    &env, dr->server, dr->server_address);
				ar_log(AR_LOG_INFO, "worker",
				    "app=%s (%lld): owner is now "
				    "server=%s%s%s",
				    env.cfg.app_name, (long long) dr->app_id,
				    dr->server, old[0] ? ", was " : "", old);
				pj_worker_kick(&env);
			}
		}
		rv = 0;
	}
	ar_future_free(f);
	return rv;
}

/* Asks the current owner first (PowerJob saves the hop the same way),
 * then every configured server in order.  0 = owner known; 3 = refused
 * (msg says why); 4 = nobody answered. */
static int
discover(char *msg, size_t msglen)
{
	char cur[256];
	int  code = -1;

	pj_worker_server(&env, cur, sizeof(cur));
	if (cur[0]
	    && ask_owner(cur, OWNER_ASK_MS, cur, &code, msg, msglen) == 0
	    && code == 0) {
		return 0;
	}
	for (int i = 0; i < env.cfg.n_servers; i++) {
		const char *s = env.cfg.servers[i];
		if (strcmp(s, cur) == 0) {
			continue;
		}
		if (ask_owner(s, OTHER_ASK_MS, cur, &code, msg, msglen) != 0) {
			continue;
		}
		if (code == 0) {
			return 0;
		}
		if (code == PJ__CLUSTER__CODE__WRONG_SECRET
		    || code == PJ__CLUSTER__CODE__UNKNOWN_APP
		    || code == PJ__CLUSTER__CODE__BAD_REQUEST) {
			return 3; /* every server would say the same */
		}
	}
	if (code < 0) {
		snprintf(msg, msglen, "no server answered");
	}
	return 4;
}

static void
heartbeat(void)
{
	Pj__Cluster__WorkerHeartbeat h = PJ__CLUSTER__WORKER_HEARTBEAT__INIT;
	Pj__Cluster__SystemMetrics   m = PJ__CLUSTER__SYSTEM_METRICS__INIT;
	struct pj_sys_metrics        x;
	char                         extra[64];
	ar_ref                       to;
	int light = atomic_load(&env.light), heavy = atomic_load(&env.heavy);

	if (pj_worker_server_ref(&env, &to) != 0) {
		return; /* PowerJob: skipped without a server */
	}
	pj_metrics_read(env.cfg.data_dir, &x);
	snprintf(extra, sizeof(extra), "score=%d", x.score);
	m.cpu_processors = x.cpu_processors;
	m.cpu_load       = x.cpu_load;
	m.mem_used       = x.mem_used;
	m.mem_max        = x.mem_max;
	m.disk_used      = x.disk_used;
	m.disk_total     = x.disk_total;
	m.extra          = extra;
	h.worker_address = env.address;
	h.app_name       = env.cfg.app_name;
	h.app_id         = atomic_load(&env.app_id);
	h.secret         = env.cfg.secret;
	h.heartbeat_time = ar_now_ms();
	h.version        = VERSION;
	h.protocol       = "pj";
	h.tag            = env.cfg.tag;
	h.client         = "pj-worker";
	h.extra          = "";
	h.overload = light >= env.cfg.max_light || heavy >= env.cfg.max_heavy;
	h.light_task_tracker_num = light;
	h.heavy_task_tracker_num = heavy;
	h.metrics                = &m;
	ar_tell(env.sys, to, &h.base, env.worker);
}

static void
write_ready_file(const char *path)
{
	char  tmp[1100];
	FILE *f;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) != NULL) {
		fprintf(f, "%s\n", env.address);
		fclose(f);
		rename(tmp, path);
	}
}

/* SIGTERM: nothing left RUNNING in silence. */
static void
drain(void)
{
	int64_t dl = ar_mono_ms() + env.cfg.stop_wait_ms;
	int     n  = atomic_load(&env.light), h;

	atomic_store(&env.draining, 1);
	pj_light_stop_all(&env);
	/* heavy TaskTrackers (BROADCAST, MAP, MAP_REDUCE, frequent jobs):
	 * FAILED and reported (the server retries or, for a frequent job,
	 * starts a new instance elsewhere), never left RUNNING in silence */
	h = pj_heavy_tracker_shutdown_all(&env);
	ar_log(AR_LOG_INFO, "worker",
	    "stopping: %d light instance(s) asked to stop, %d heavy "
	    "TaskTracker(s) ended (waiting up to %lld ms); a second signal "
	    "exits at once",
	    n, h, (long long) env.cfg.stop_wait_ms);
	while ((atomic_load(&env.light) > 0 || atomic_load(&env.heavy) > 0)
	    && ar_mono_ms() < dl) {
		usleep(WAIT_STEP_MS * 1000);
	}
	if ((n = pj_light_abandon_all(&env)) > 0) {
		ar_log(AR_LOG_WARN, "worker",
		    "%d processor(s) did not return; reported FAILED", n);
	}
	pj_worker_kick(&env);
	dl = ar_mono_ms() + DRAIN_REPORTS_MS;
	while (
	    (atomic_load(&env.finals_pending) > 0 || pj_logq_len(env.logq) > 0)
	    && ar_mono_ms() < dl) {
		if (pj_logq_len(env.logq) > 0) {
			pj_worker_kick(&env);
		}
		usleep(WAIT_STEP_MS * 1000);
	}
	if (atomic_load(&env.finals_pending) > 0) {
		ar_log(AR_LOG_WARN, "worker",
		    "%d final report(s) not acknowledged before exit",
		    atomic_load(&env.finals_pending));
	}
}

/* The heavy trackers' settings: PowerJob's defaults, with the periods
 * the options give (RUNNING reports as often as the light trackers'). */
static void
configure_heavy(const struct pj_worker_config *c)
{
	struct pj_heavy_settings h;

	pj_heavy_settings_init(&h);
	h.check_ms        = c->tracker_check_ms;
	h.report_ms       = c->report_ms;
	h.pt_timeout_ms   = c->pt_timeout_ms;
	h.pt_heartbeat_ms = c->pt_heartbeat_ms;
	pj_heavy_tracker_configure(&h);
}

int
main(int argc, char **argv)
{
	ar_config  ac;
	ar_system *sys;
	char       err[600], host[256], msg[512];
	int        rv;

	rv = pj_worker_config_load(
	    &env.cfg, argc, argv, stdout, err, sizeof(err));
	if (rv == 1) {
		return 0;
	}
	if (rv != 0) {
		fprintf(stderr, "pj-worker: %s (see pj-worker --help)\n", err);
		return PJ_WORKER_EXIT_USAGE;
	}
	if (env.cfg.log_level[0]) {
		setenv("AR_LOG", env.cfg.log_level, 1);
	}
	if (env.cfg.shuffle) {
		shuffle(&env.cfg);
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (mkdir(env.cfg.data_dir, 0750) != 0 && errno != EEXIST) {
		fprintf(stderr, "pj-worker: cannot create data dir %s: %s\n",
		    env.cfg.data_dir, strerror(errno));
		return PJ_WORKER_EXIT_FAILURE;
	}
	char inst[1100];
	snprintf(inst, sizeof(inst), "%s/instances", env.cfg.data_dir);
	mkdir(inst, 0750);
	if ((rv = pj_worker_messages_register()) != 0) {
		fprintf(stderr, "pj-worker: message registry: %s\n",
		    ar_strerror(rv));
		return PJ_WORKER_EXIT_FAILURE;
	}
	ar_config_init(&ac);
	ac.name       = PJ_WORKER_SYSTEM;
	ac.listen_url = env.cfg.listen;
	const char *h = env.cfg.listen + 6, *e = strrchr(h, ':');
	snprintf(
	    host, sizeof(host), "%.*s", (int) (e - h > 200 ? 200 : e - h), h);
	if (env.cfg.advertise[0]) {
		snprintf(host, sizeof(host), "%.200s", env.cfg.advertise);
	} else if (strcmp(host, "0.0.0.0") == 0 || host[0] == 0) {
		snprintf(host, sizeof(host), "127.0.0.1");
	}
	ac.advertise_host = host;
	ac.ask_timeout_ms = (int) env.cfg.ask_timeout_ms;
	if (env.cfg.cluster_key[0]) {
		ac.cluster_key     = env.cfg.cluster_key;
		ac.cluster_key_len = strlen(env.cfg.cluster_key);
	}
	if ((rv = ar_system_start(&ac, &sys)) != 0) {
		fprintf(stderr, "pj-worker: cannot listen on %s: %s\n",
		    env.cfg.listen, ar_strerror(rv));
		return PJ_WORKER_EXIT_FAILURE;
	}
	pj_worker_env_init(&env, sys);
	configure_heavy(&env.cfg);
	if ((rv = pj_worker_services_spawn(&env)) != 0
	    || (rv = pj_worker_actor_spawn(&env)) != 0
	    || (rv = pj_processor_tracker_spawn(&env)) != 0) {
		fprintf(stderr, "pj-worker: cannot spawn actors: %s\n",
		    ar_strerror(rv));
		rv = PJ_WORKER_EXIT_FAILURE;
		goto stop;
	}
	/* join: keep asking for start-wait-ms */
	int64_t dl = ar_mono_ms() + env.cfg.start_wait_ms;
	for (;;) {
		rv = discover(msg, sizeof(msg));
		if (rv == 0) {
			break;
		}
		if (rv == 3) {
			fprintf(stderr,
			    "pj-worker: the server refused app '%s': %s\n",
			    env.cfg.app_name, msg);
			rv = PJ_WORKER_EXIT_REFUSED;
			goto stop;
		}
		if (ar_mono_ms() >= dl || nap(START_RETRY_MS)) {
			fprintf(stderr,
			    "pj-worker: no server answered for app '%s' "
			    "(asked %d: %s%s); is a pj-server running, with "
			    "the same cluster key?\n",
			    env.cfg.app_name, env.cfg.n_servers,
			    env.cfg.servers[0],
			    env.cfg.n_servers > 1 ? ", ..." : "");
			rv = PJ_WORKER_EXIT_NO_SERVER;
			goto stop;
		}
	}
	pj_worker_server(&env, msg, sizeof(msg));
	printf("pj-worker: %s joined app '%s' (id %lld), owner server %s\n",
	    env.address, env.cfg.app_name,
	    (long long) atomic_load(&env.app_id), msg);
	fflush(stdout);
	if (env.cfg.ready_file[0]) {
		write_ready_file(env.cfg.ready_file);
	}
	int64_t next_hb = 0, next_disc = ar_mono_ms() + env.cfg.discover_ms;
	for (;;) {
		int64_t now = ar_mono_ms();
		if (now >= next_hb) {
			heartbeat();
			next_hb = now + env.cfg.heartbeat_ms;
		}
		if (now >= next_disc || atomic_exchange(&env.rediscover, 0)) {
			if (discover(msg, sizeof(msg)) != 0) {
				ar_log(AR_LOG_WARN, "worker",
				    "app=%s: discovery failed (%s); keeping "
				    "the last owner, asking again in %lld ms",
				    env.cfg.app_name, msg,
				    (long long) env.cfg.discover_ms);
			}
			next_disc = ar_mono_ms() + env.cfg.discover_ms;
			continue;
		}
		int64_t wait = next_hb < next_disc ? next_hb : next_disc;
		wait -= ar_mono_ms();
		if (nap(wait < WAIT_STEP_MS * 2 ? wait : WAIT_STEP_MS * 2)) {
			break;
		}
	}
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	drain();
	rv = 0;
stop:
	ar_system_stop(sys);
	pj_worker_env_fini(&env);
	ar_log(AR_LOG_INFO, "worker", "worker %s stopped", env.address);
	memset(env.cfg.secret, 0, sizeof(env.cfg.secret));
	return rv;
}
