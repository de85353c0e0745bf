/*
 * mapreduce_bench.c - one MAP_REDUCE instance with N no-op sub-tasks (the
 * built-in verify processor, mode MR) over two worker systems in two
 * processes on this machine, through the real heavy TaskTracker and
 * ProcessorTrackers; prints a table: time to the final report, sub-tasks
 * per second, and the resident memory of the TaskTracker's process while
 * it holds the tasks (and of the other worker).
 *
 *   mapreduce_bench [N] [threads per worker] [store: mem|file]
 *
 * Process A: a stand-in server (/user/server records the reports and
 * acknowledges the final one) and worker A (the TaskTracker and a
 * ProcessorTracker).  Process B (forked first, before any thread):
 * worker B with its ProcessorTracker only.
 *
 * Design notes (threads): the report actor sets atomics the main thread
 * polls; the main thread samples /proc for RSS every 50 ms.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "actors/heavy_tracker.h"
#include "actors/tracker_int.h"
#include "runtime/ar.h"
#include "worker/heavy.h"

static atomic_int  done_status;
static atomic_long running_ok;
static char        done_result[512];

static int
srv_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *type,
    const ProtobufCMessage *msg)
{
	(void) state;
	if (type == &pj__cluster__instance_status_report__descriptor) {
		const Pj__Cluster__InstanceStatusReport *r
		    = (const void *) msg;

		if (r->instance_status == 3) {
			atomic_store(&running_ok, (long) r->succeed_task_num);
			return 0;
		}
		if (atomic_load(&done_status) == 0) {
			snprintf(
			    done_result, sizeof(done_result), "%s", r->result);
			atomic_store(&done_status, r->instance_status);
		}
		if (!ar_ref_is_none(ar_ctx_sender(ctx))) {
			Pj__Cluster__Ack a = PJ__CLUSTER__ACK__INIT;
			ar_reply(ctx, &a.base);
		}
	}
	return 0;
}

static ar_system *
start_sys(const char *name)
{
	ar_config  c;
	ar_system *s = NULL;

	ar_config_init(&c);
	c.name             = name;
	c.listen_url       = "tcp://127.0.0.1:0";
	c.log_dead_letters = 0;
	c.stop_drain_ms    = 500;
	if (ar_system_start(&c, &s) != 0) {
		fprintf(stderr, "system %s did not start\n", name);
		exit(1);
	}
	return s;
}

static void
env_init(struct pj_worker_env *e, ar_system *s, ar_system *srv)
{
	memset(e, 0, sizeof(*e));
	e->sys                  = s;
	e->cfg.max_heavy        = 64;
	e->cfg.report_ms        = 2000;
	e->cfg.max_result_bytes = 8096;
	pj_processor_config_init(&e->proc);
	e->proc.data_dir = "/tmp";
	snprintf(e->cfg.data_dir, sizeof(e->cfg.data_dir), "/tmp");
	snprintf(e->address, sizeof(e->address), "%s", ar_system_address(s));
	pthread_mutex_init(&e->mu, NULL);
	if (srv != NULL) {
		char server[64];
		snprintf(server, sizeof(server), "127.0.0.1:%d",
		    ar_system_port(srv));
		pj_worker_set_server(e, server, ar_system_address(srv));
	}
	if (pj_processor_tracker_spawn(e) != 0) {
		fprintf(stderr, "processor tracker did not start\n");
		exit(1);
	}
}

static long
rss_kb(pid_t pid)
{
	char  path[64], line[256];
	long  kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	if ((f = fopen(path, "r")) == NULL) {
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = atol(line + 6);
		}
	}
	fclose(f);
	return kb;
}

static void
settings(int file)
{
	struct pj_heavy_settings s;

	pj_heavy_settings_init(&s);
	s.store_in_file = file;
	pj_heavy_tracker_configure(&s);
}

/* worker B: serves /user/processor until killed */
static void
child(int fd, int file)
{
	struct pj_worker_env e;
	ar_system           *b;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	settings(file);
	pj_tracker_messages_register();
	b = start_sys(PJ_WORKER_SYSTEM);
	env_init(&e, b, NULL);
	dprintf(fd, "%s\n", e.address);
	close(fd);
	for (;;) {
		pause();
	}
}

int
main(int argc, char **argv)
{
	long                 n       = argc > 1 ? atol(argv[1]) : 1000000;
	int                  threads = argc > 2 ? atoi(argv[2]) : 4;
	int                  file = argc > 3 && strcmp(argv[3], "file") == 0;
	int                  fds[2];
	pid_t                pid;
	char                 baddr[400] = "", params[256];
	ar_system           *srv, *a;
	struct pj_worker_env ea;
	Pj__Worker__ServerScheduleJobReq q
	    = PJ__WORKER__SERVER_SCHEDULE_JOB_REQ__INIT;
	char                    *addrs[2], err[512];
	static const ar_behavior b = { .receive = srv_receive };
	ar_props                 p = { 0 };
	ar_ref                   r;
	long                     idle_a, idle_b, peak_a = 0, peak_b = 0;
	long                     batch = n < 100000 ? n : 100000;
	int64_t                  t0, t_held = 0;
	FILE                    *fp;

	if (n <= 0 || n % batch != 0 || threads <= 0) {
		fprintf(stderr,
		    "usage: mapreduce_bench [N, a multiple of 100000 or <= "
		    "100000] "
		    "[threads] [mem|file]\n");
		return 2;
	}
	if (pipe(fds) != 0 || (pid = fork()) < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(fds[0]);
		child(fds[1], file);
	}
	close(fds[1]);
	fp = fdopen(fds[0], "r");
	if (fp == NULL || fgets(baddr, sizeof(baddr), fp) == NULL) {
		fprintf(stderr, "worker B did not start\n");
		return 1;
	}
	fclose(fp);
	baddr[strcspn(baddr, "\n")] = '\0';
	settings(file);
	pj_tracker_messages_register();
	srv        = start_sys("pjserver");
	p.behavior = &b;
	ar_spawn(srv, AR_REF_NONE, "server", &p, &r);
	a = start_sys(PJ_WORKER_SYSTEM);
	env_init(&ea, a, srv);
	usleep(200000);
	idle_a = rss_kb(getpid());
	idle_b = rss_kb(pid);

	snprintf(params, sizeof(params),
	    "{\"mode\":\"MR\",\"batchSize\":%ld,\"batchNum\":%ld}", batch,
	    n / batch);
	addrs[0]               = ea.address;
	addrs[1]               = baddr;
	q.all_worker_address   = addrs;
	q.n_all_worker_address = 2;
	q.job_id               = 1;
	q.instance_id          = 1;
	q.app_id               = 1;
	q.execute_type         = "MAP_REDUCE";
	q.processor_type       = "BUILT_IN";
	q.processor_info       = "verify";
	q.job_params           = params;
	q.instance_params      = "";
	q.thread_concurrency   = threads;
	q.time_expression_type = "API";
	q.task_tracker_address = ea.address;
	t0                     = ar_mono_ms();
	if (pj_heavy_tracker_start(&ea, &q, err, sizeof(err)) != 0) {
		fprintf(stderr, "start: %s\n", err);
		return 1;
	}
	while (atomic_load(&done_status) == 0 && ar_mono_ms() - t0 < 600000) {
		long ra = rss_kb(getpid()), rb = rss_kb(pid);
		if (ra > peak_a) {
			peak_a = ra;
			t_held = ar_mono_ms() - t0;
		}
		if (rb > peak_b) {
			peak_b = rb;
		}
		usleep(50000);
	}
	{
		int64_t ms = ar_mono_ms() - t0;
		printf("| sub-tasks | workers x threads | store | done in | "
		       "sub-tasks/s | status | RSS A idle / peak (at) | RSS B "
		       "idle "
		       "/ peak |\n");
		printf("|---|---|---|---|---|---|---|---|\n");
		printf("| %ld | 2 x %d | %s | %.1f s | %.0f | %s | %.1f / "
		       "%.1f MB "
		       "(%.1f s) | %.1f / %.1f MB |\n",
		    n, threads, file ? "file" : "memory", ms / 1000.0,
		    n / (ms / 1000.0),
		    atomic_load(&done_status) == 5 ? "SUCCEED" : "not SUCCEED",
		    idle_a / 1024.0, peak_a / 1024.0, t_held / 1000.0,
		    idle_b / 1024.0, peak_b / 1024.0);
		printf("result: %s\n", done_result);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ar_system_stop(a);
	ar_system_stop(srv);
	return atomic_load(&done_status) == 5 ? 0 : 1;
}
