/*
 * pj-testworker - a small worker that speaks the server protocol
 * (proto/cluster.proto) for the multi-process tests and the benchmarks.
 * It does no work: it discovers its app's owner, then heartbeats.
 *
 *   pj-testworker --server HOST:PORT[,HOST:PORT...] --app NAME --secret S
 *                 [--workers N] [--interval-ms MS] [--discover-ms MS]
 *                 [--tag TAG] [--run-ms MS] [--flood-ms MS]
 *                 [--outcome succeed|fail|silent] [--job-ms MS] [--quiet]
 *
 * Discovery asks the listed servers in order until one answers (PowerJob's
 * worker does the same, §1.5) and is repeated every --discover-ms (10 s).
 * Each of the N simulated workers (addresses <system address>/w<i>) sends
 * one heartbeat every --interval-ms.  --flood-ms sends heartbeats for all
 * N workers back to back for that long instead (benchmark), then prints
 * "sent N".  Output lines:
 *   discover code=C server=HOST:PORT app_id=ID message=...
 *   refused code=C message=...      (a heartbeat the server refused)
 *   job instance=ID job=ID tt=ADDRESS expected=MS params=JOB|INSTANCE
 *                                   (a ServerScheduleJobReq arrived)
 *   stop instance=ID tt=ADDRESS reason=...   (a ServerStopInstanceReq)
 * A job request is answered as the TaskTracker it names: with
 * --outcome succeed (the default) or fail, a final report right away, or
 * with --job-ms MS RUNNING reports (every 500 ms) and the final one MS
 * later (--job-ms -1: RUNNING reports forever: a long job);
 * --outcome silent never reports.  --quiet leaves out the job lines.
 * Exit status: 0, 2 usage, 3 discovery refused or no server answered.
 * The cluster key comes from PJ_CLUSTER_KEY or PJ_CLUSTER_KEY_FILE (none:
 * loopback servers without a key only).
 *
 * Design notes (threads): main sends heartbeats; the /user/worker actor
 * receives the servers' refusals and job / stop requests on a dispatcher
 * thread, prints them (stdio locks) and reports; a delayed final report
 * is a runtime timer that sends the report to the actor itself, which
 * sends it on.  The options are written before the actor starts and only
 * read after.
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

enum outcome { OUT_SUCCEED, OUT_FAIL, OUT_SILENT };
static enum outcome outcome = OUT_SUCCEED;
static long         job_ms  = 0;
static int          quiet   = 0;
#define RUNNING_EVERY_MS 500

static void
report(ar_ctx *ctx, const char *server, int64_t app_id, int64_t job_id,
    int64_t instance_id, const char *tt, int status)
{
	Pj__Cluster__InstanceStatusReport r
	    = PJ__CLUSTER__INSTANCE_STATUS_REPORT__INIT;
	char   addr[400];
	ar_ref to;
	r.app_id          = app_id;
	r.job_id          = job_id;
	r.instance_id     = instance_id;
	r.instance_status = status;
	r.result = status == 5 ? "ok" : status == 4 ? "testworker failed" : "";
	r.report_time    = ar_now_ms();
	r.end_time       = status == 3 ? 0 : r.report_time;
	r.source_address = (char *) tt;
	snprintf(addr, sizeof(addr), "pj://pjserver@%s/user/server", server);
	if (ar_ref_resolve(ar_ctx_system(ctx), addr, &to) == 0) {
		ar_tell(ar_ctx_system(ctx), to, &r.base, ar_ctx_self(ctx));
	}
}

static void
on_job(ar_ctx *ctx, const Pj__Worker__ServerScheduleJobReq *q)
{
	if (!quiet) {
		printf("job instance=%lld job=%lld tt=%s expected=%lld "
		       "params=%s|%s\n",
		    (long long) q->instance_id, (long long) q->job_id,
		    q->task_tracker_address,
		    (long long) q->expected_trigger_time, q->job_params,
		    q->instance_params);
		fflush(stdout);
	}
	if (outcome == OUT_SILENT) {
		return;
	}
	int final = outcome == OUT_FAIL ? 4 : 5;
	if (job_ms == 0) {
		report(ctx, q->server, q->app_id, q->job_id, q->instance_id,
		    q->task_tracker_address, final);
		return;
	}
	/* RUNNING now and every RUNNING_EVERY_MS until the final report (a
	 * TaskTracker's periodic report); the repeats and the final report
	 * come back to us first as timer messages, with the server in the
	 * result field and the deadline in end_time (0 = never) */
	Pj__Cluster__InstanceStatusReport r
	    = PJ__CLUSTER__INSTANCE_STATUS_REPORT__INIT;
	r.app_id          = q->app_id;
	r.job_id          = q->job_id;
	r.instance_id     = q->instance_id;
	r.instance_status = 3;
	r.source_address  = q->task_tracker_address;
	r.result          = q->server;
	r.end_time        = job_ms > 0 ? ar_now_ms() + job_ms : 0;
	report(ctx, q->server, q->app_id, q->job_id, q->instance_id,
	    q->task_tracker_address, 3);
	ar_timer_once(ar_ctx_system(ctx), ar_ctx_self(ctx), &r.base,
	    RUNNING_EVERY_MS, NULL);
	if (job_ms > 0) {
		r.instance_status = final;
		ar_timer_once(ar_ctx_system(ctx), ar_ctx_self(ctx), &r.base,
		    job_ms, NULL);
	}
}

/* A report timer of ours: send it on; a RUNNING one repeats until its
 * deadline. */
static void
on_own_report(ar_ctx *ctx, const Pj__Cluster__InstanceStatusReport *r)
{
	if (r->instance_status == 3 && r->end_time
	    && ar_now_ms() >= r->end_time) {
		return;
	}
	report(ctx, r->result, r->app_id, r->job_id, r->instance_id,
	    r->source_address, r->instance_status);
	if (r->instance_status == 3) {
		ar_timer_once(ar_ctx_system(ctx), ar_ctx_self(ctx), &r->base,
		    RUNNING_EVERY_MS, NULL);
	}
}

static int
worker_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *msg)
{
	(void) state;
	if (t == &pj__worker__server_schedule_job_req__descriptor) {
		on_job(ctx, (const Pj__Worker__ServerScheduleJobReq *) msg);
	} else if (t == &pj__cluster__instance_status_report__descriptor) {
		on_own_report(
		    ctx, (const Pj__Cluster__InstanceStatusReport *) msg);
	} else if (t == &pj__worker__server_stop_instance_req__descriptor) {
		const Pj__Worker__ServerStopInstanceReq *q
		    = (const Pj__Worker__ServerStopInstanceReq *) msg;
		printf("stop instance=%lld tt=%s reason=%s\n",
		    (long long) q->instance_id, q->task_tracker_address,
		    q->reason);
		fflush(stdout);
	} else if (t == &pj__cluster__ack__descriptor) {
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
		{ "outcome", required_argument, NULL, 'o' },
		{ "job-ms", required_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
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
		case 'o':
			if (strcmp(optarg, "succeed") == 0) {
				outcome = OUT_SUCCEED;
			} else if (strcmp(optarg, "fail") == 0) {
				outcome = OUT_FAIL;
			} else if (strcmp(optarg, "silent") == 0) {
				outcome = OUT_SILENT;
			} else {
				fprintf(stderr,
				    "pj-testworker: --outcome is succeed, "
				    "fail or silent\n");
				return (2);
			}
			break;
		case 'j':
			job_ms = atol(optarg);
			break;
		case 'q':
			quiet = 1;
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
