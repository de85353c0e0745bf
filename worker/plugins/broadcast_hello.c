/*
 * broadcast_hello.c - example plugin: a BROADCAST job that greets from
 * every worker of the app.  With wordcount.c, the tutorial for the plugin
 * ABI (docs/processors.md).
 *
 * Job: processor type EXTERNAL, processor info "broadcast_hello" or
 * "broadcast_hello:GREETING" (init gets GREETING, default "hello"),
 * execute type BROADCAST.  Parameters (instance params when not empty,
 * else job params): empty, or "file:PATH" to also append one line per
 * node to PATH (handy when every worker runs on one machine: the file
 * shows who ran).
 *
 * The three calls of a broadcast, in order:
 *   pre_process   once, on the TaskTracker's node, before the fan-out;
 *                 returning 0 fails the instance before any node runs.
 *   process       on every worker of the app (one task per node):
 *                 "hello from HOST pid PID" in the log and the result.
 *   post_process  once, on the TaskTracker's node, with every node's
 *                 outcome: a summary; success iff no node failed.
 *
 * Design notes (threads): process may run on several pool threads of one
 * worker at once (tests run many nodes in one process); the shared state
 * is the greeting (read-only after init) and a counter updated with C11
 * atomics.
 */
#define _POSIX_C_SOURCE 200809L
#define PJ_PROCESSOR_PLUGIN_ONLY 1
#include "worker/processor.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BH_SUMMARY_MAX 4096

struct bh_state {
	char       *greeting;
	atomic_long runs; /* process calls in this worker, for the log */
};

static int
bh_init(void **state, const char *config, char *err, size_t errlen)
{
	struct bh_state *s = calloc(1, sizeof(*s));

	if (s == NULL || strlen(config) > 200) {
		snprintf(
		    err, errlen, "broadcast_hello: greeting longer than 200");
		free(s);
		return -1;
	}
	s->greeting = strdup(config[0] != '\0' ? config : "hello");
	atomic_init(&s->runs, 0);
	*state = s;
	return 0;
}

static void
bh_fini(void *state)
{
	struct bh_state *s = state;

	free(s->greeting);
	free(s);
}

static void
whoami(char *host, size_t len)
{
	if (gethostname(host, len) != 0) {
		snprintf(host, len, "unknown");
	}
	host[len - 1] = '\0';
}

static const char *
params(pj_task_ctx *ctx)
{
	if (ctx->instance_params != NULL && ctx->instance_params[0] != '\0') {
		return ctx->instance_params;
	}
	return ctx->job_params != NULL ? ctx->job_params : "";
}

static int
bh_pre_process(void *state, pj_task_ctx *ctx)
{
	char host[256];

	(void) state;
	whoami(host, sizeof(host));
	ctx->log(ctx, PJ_LOG_INFO,
	    "broadcast_hello: pre_process on the tracker %s pid %d (instance "
	    "%lld)",
	    host, (int) getpid(), (long long) ctx->instance_id);
	ctx->set_result(ctx, "pre_process on %s pid %d", host, (int) getpid());
	return 1;
}

static int
bh_process(void *state, pj_task_ctx *ctx)
{
	struct bh_state *s = state;
	const char      *p = params(ctx);
	char             host[256], line[600];
	long             n = atomic_fetch_add(&s->runs, 1) + 1;
	int              len;

	whoami(host, sizeof(host));
	len = snprintf(line, sizeof(line), "%s from %s pid %d task %s\n",
	    s->greeting, host, (int) getpid(), ctx->task_id);
	ctx->log(ctx, PJ_LOG_INFO, "broadcast_hello: %.*s (run %ld here)",
	    len - 1, line, n);
	if (strncmp(p, "file:", 5) == 0) {
		/* one write with O_APPEND: lines of concurrent nodes never
		 * interleave */
		int fd = open(p + 5, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd < 0 || write(fd, line, (size_t) len) != len) {
			ctx->set_result(ctx,
			    "broadcast_hello: cannot append to %s", p + 5);
			if (fd >= 0) {
				close(fd);
			}
			return 0;
		}
		close(fd);
	}
	ctx->set_result(ctx, "%.*s", len - 1, line);
	return 1;
}

static int
bh_post_process(
    void *state, pj_task_ctx *ctx, const struct pj_task_outcome *r, size_t n)
{
	char   sum[BH_SUMMARY_MAX];
	size_t failed = 0, len = 0;

	(void) state;
	sum[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		failed += r[i].success == 0;
		if (len < sizeof(sum)) {
			len += (size_t) snprintf(sum + len, sizeof(sum) - len,
			    "%s%s%s", len ? " | " : "",
			    r[i].success ? "" : "FAILED ",
			    r[i].result != NULL ? r[i].result : "");
		}
	}
	ctx->log(ctx, failed ? PJ_LOG_WARN : PJ_LOG_INFO,
	    "broadcast_hello: post_process: %zu nodes, %zu failed", n, failed);
	ctx->set_result(
	    ctx, "broadcast: %zu nodes, %zu failed: %s", n, failed, sum);
	return failed == 0;
}

const struct pj_processor_ops pj_processor_v1 = {
	.abi          = PJ_PROCESSOR_ABI,
	.name         = "broadcast_hello",
	.init         = bh_init,
	.fini         = bh_fini,
	.process      = bh_process,
	.pre_process  = bh_pre_process,
	.post_process = bh_post_process,
};
