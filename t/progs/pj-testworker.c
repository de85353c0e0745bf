/*
 * pj-testworker - a small worker that speaks the server protocol
 * (proto/cluster.proto) for the multi-process tests and the benchmarks.
 * It does no work: it discovers its app's owner, then heartbeats.
 *
 *   pj-testworker --server HOST:PORT[,HOST:PORT...] --app NAME --secret S
 *                 [--workers N] [--interval-ms MS] [--discover-ms MS]
 *                 [--tag TAG] [--run-ms MS] [--flood-ms MS]
 *
 * Discovery asks the listed servers in order until one answers (PowerJob's
 * worker does the same, §1.5) and is repeated every --discover-ms (10 s).
 * Each of the N simulated workers (addresses <system address>/w<i>) sends
 * one heartbeat every --interval-ms.  --flood-ms sends heartbeats for all
 * N workers back to back for that long instead (benchmark), then prints
 * "sent N".  Output lines:
 *   discover code=C server=HOST:PORT app_id=ID message=...
 *   refused code=C message=...      (a heartbeat the server refused)
 * Exit status: 0, 2 usage, 3 discovery refused or no server answered.
 * The cluster key comes from PJ_CLUSTER_KEY or PJ_CLUSTER_KEY_FILE (none:
 * loopback servers without a key only).
 *
 * Design notes (threads): main sends; the /user/worker actor receives the
 * servers' refusals on a dispatcher thread and prints them (stdio locks).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actors/messages.h"
#include "runtime/ar.h"
#include "server/cluster/config.h"

static int
worker_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *msg)
{
	(void) ctx;
	(void) state;
	if (t == &pj__cluster__ack__descriptor) {
		const Pj__Cluster__Ack *a = (const Pj__Cluster__Ack *) msg;
		if (a->code != 0) {
			printf("refused code=%d message=%s\n", a->code,
			    a->message);
			fflush(stdout);
		}
	}
	return (0);
}

static const ar_behavior worker_behavior
    = { NULL, worker_receive, NULL, NULL };

struct opts {
	char       *servers;
	const char *app, *secret, *tag;
	int         workers;
	long        interval_ms, discover_ms, run_ms, flood_ms;
};

/* Asks the servers in turn, the current owner last (if it died, the
 * others answer without waiting for it); 0 with owner filled, or 3. */
static int
discover(ar_system *sys, const struct opts *o, char *owner, size_t n,
    int64_t *app_id)
{
	char list[4096], *save = NULL, *s, *order[64];
	int  last_code = -1, norder = 0, cur = -1;
	snprintf(list, sizeof(list), "%s", o->servers);
	for (s = strtok_r(list, ",", &save); s && norder < 63;
	     s = strtok_r(NULL, ",", &save)) {
		if (strcmp(s, owner) == 0) {
			cur = norder;
		}
		order[norder++] = s;
	}
	if (cur >= 0) {
		s = order[cur];
		memmove(&order[cur], &order[cur + 1],
		    (size_t) (norder - cur - 1) * sizeof(*order));
		order[norder - 1] = s;
	}
	for (int k = 0; k < norder; k++) {
		s = order[k];
		char                    addr[600];
		ar_ref                  to;
		ar_future              *f;
		const ProtobufCMessage *r;
		Pj__Cluster__Discover   d = PJ__CLUSTER__DISCOVER__INIT;
		snprintf(
		    addr, sizeof(addr), "pj://pjserver@%s/user/server", s);
		if (ar_ref_resolve(sys, addr, &to) != 0) {
			continue;
		}
		d.app_name       = (char *) o->app;
		d.secret         = (char *) o->secret;
		d.worker_address = (char *) ar_system_address(sys);
		d.current_server = owner;
		d.client_version = "testworker";
		if (ar_ask(sys, to, &d.base, 15000, &f) != 0) {
			continue;
		}
		if (ar_future_wait(f, -1, &r) == 0
		    && r->descriptor
		        == &pj__cluster__discover_reply__descriptor) {
			const Pj__Cluster__DiscoverReply *dr
			    = (const Pj__Cluster__DiscoverReply *) r;
			printf("discover code=%d server=%s app_id=%lld "
			       "message=%s\n",
			    dr->code, dr->server, (long long) dr->app_id,
			    dr->message);
			fflush(stdout);
			last_code = dr->code;
			if (dr->code == 0) {
				snprintf(owner, n, "%s", dr->server);
				*app_id = dr->app_id;
				ar_future_free(f);
				return (0);
			}
		}
		ar_future_free(f);
		if (last_code == PJ__CLUSTER__CODE__WRONG_SECRET
		    || last_code == PJ__CLUSTER__CODE__UNKNOWN_APP) {
			break; /* every server would say the same */
		}
	}
	if (last_code < 0) {
		printf("discover: no server answered\n");
		fflush(stdout);
	}
	return (3);
}

static void
heartbeat(ar_system *sys, ar_ref to, ar_ref self, const struct opts *o,
    int64_t app_id, int i)
{
	Pj__Cluster__WorkerHeartbeat h = PJ__CLUSTER__WORKER_HEARTBEAT__INIT;
	Pj__Cluster__SystemMetrics   m = PJ__CLUSTER__SYSTEM_METRICS__INIT;
	char                         addr[400];
	snprintf(addr, sizeof(addr), "%s/w%d", ar_system_address(sys), i);
	m.cpu_processors = 4;
	m.cpu_load       = 0.5 + (i % 4);
	m.mem_used       = 1;
	m.mem_max        = 4;
	m.disk_used      = 10;
	m.disk_total     = 100;
	h.worker_address = addr;
	h.app_name       = (char *) o->app;
	h.app_id         = app_id;
	h.secret         = (char *) o->secret;
	h.heartbeat_time = ar_now_ms();
	h.version        = "testworker-1";
	h.protocol       = "pj";
	h.tag            = (char *) o->tag;
	h.client         = "pj-testworker";
	h.metrics        = &m;
	while (ar_tell(sys, to, &h.base, self) == AR_EFULL) {
		usleep(200); /* outbound queue full: let it drain */
	}
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "server", required_argument, NULL, 's' },
		{ "app", required_argument, NULL, 'a' },
		{ "secret", required_argument, NULL, 'k' },
		{ "workers", required_argument, NULL, 'w' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "discover-ms", required_argument, NULL, 'd' },
		{ "tag", required_argument, NULL, 't' },
		{ "run-ms", required_argument, NULL, 'r' },
		{ "flood-ms", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { NULL, NULL, "", "", 1, 1000, 10000, -1, 0 };
	ar_config   cfg;
	ar_system  *sys;
	ar_ref      self, to;
	char        owner[256] = "", addr[400];
	int64_t     app_id     = 0;
	int         c, rv;
	sigset_t    sigs;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			o.servers = optarg;
			break;
		case 'a':
			o.app = optarg;
			break;
		case 'k':
			o.secret = optarg;
			break;
		case 'w':
			o.workers = atoi(optarg);
			break;
		case 'i':
			o.interval_ms = atol(optarg);
			break;
		case 'd':
			o.discover_ms = atol(optarg);
			break;
		case 't':
			o.tag = optarg;
			break;
		case 'r':
			o.run_ms = atol(optarg);
			break;
		case 'f':
			o.flood_ms = atol(optarg);
			break;
		default:
			fprintf(stderr,
			    "see the comment at the top of "
			    "t/progs/pj-testworker.c\n");
			return (2);
		}
	}
	if (o.servers == NULL || o.app == NULL || o.workers < 1) {
		fprintf(
		    stderr, "pj-testworker: --server and --app are needed\n");
		return (2);
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	pj_messages_register();
	ar_config_init(&cfg);
	cfg.name       = "testworker";
	cfg.listen_url = "tcp://127.0.0.1:0";
	char key[1024], kerr[300];
	if (pj_cluster_key_load(NULL, key, sizeof(key), kerr, sizeof(kerr))
	    != 0) {
		fprintf(stderr, "pj-testworker: %s\n", kerr);
		return (2);
	}
	if (key[0] != 0) {
		cfg.cluster_key     = key;
		cfg.cluster_key_len = strlen(key);
	}
	if ((rv = ar_system_start(&cfg, &sys)) != 0) {
		fprintf(stderr, "pj-testworker: %s\n", ar_strerror(rv));
		return (1);
	}
	ar_props p = { 0 };
	p.behavior = &worker_behavior;
	ar_spawn(sys, AR_REF_NONE, "worker", &p, &self);
	if ((rv = discover(sys, &o, owner, sizeof(owner), &app_id)) != 0) {
		ar_system_stop(sys);
		return (rv);
	}
	snprintf(addr, sizeof(addr), "pj://pjserver@%s/user/server", owner);
	ar_ref_resolve(sys, addr, &to);
	if (o.flood_ms > 0) {
		int64_t  end  = ar_mono_ms() + o.flood_ms;
		uint64_t sent = 0;
		while (ar_mono_ms() < end) {
			for (int i = 0; i < o.workers; i++) {
				heartbeat(sys, to, self, &o, app_id, i);
			}
			sent += (uint64_t) o.workers;
		}
		printf("sent %llu\n", (unsigned long long) sent);
		fflush(stdout);
		ar_system_stop(sys);
		return (0);
	}
	int64_t start = ar_mono_ms(), next_discover = start + o.discover_ms;
	for (;;) {
		for (int i = 0; i < o.workers; i++) {
			heartbeat(sys, to, self, &o, app_id, i);
		}
		long wait = o.interval_ms;
		if (o.run_ms >= 0) {
			long left = (long) (start + o.run_ms - ar_mono_ms());
			if (left <= 0) {
				break;
			}
			wait = wait < left ? wait : left;
		}
		struct timespec ts = { wait / 1000, (wait % 1000) * 1000000L };
		siginfo_t       si;
		if (sigtimedwait(&sigs, &si, &ts) > 0) {
			break;
		}
		if (ar_mono_ms() >= next_discover) {
			char prev[256];
			snprintf(prev, sizeof(prev), "%s", owner);
			if (discover(sys, &o, owner, sizeof(owner), &app_id)
			        == 0
			    && strcmp(prev, owner) != 0) {
				snprintf(addr, sizeof(addr),
				    "pj://pjserver@%s/user/server", owner);
				ar_ref_resolve(sys, addr, &to);
			}
			next_discover = ar_mono_ms() + o.discover_ms;
		}
	}
	ar_system_stop(sys);
	return (0);
}
