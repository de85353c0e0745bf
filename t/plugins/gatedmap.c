/* gatedmap.c - a MAP_REDUCE plugin for t/gateway_multiprocess_test.c whose
 * tasks wait for a file, so that a test sees an instance in the middle of
 * its run without sleeping: the root maps n sub-tasks ("gatedmap:n=N",
 * default 4); sub-task 0 succeeds at once, the others wait (polling every
 * 5 ms, returning early when the instance is stopped or after 120 s) until
 * the file named by the parameters exists; reduce succeeds with the
 * number of results it got. */
#define _POSIX_C_SOURCE 200809L
#define PJ_PROCESSOR_PLUGIN_ONLY 1
#include "worker/processor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int
init(void **state, const char *config, char *err, size_t errlen)
{
	long n = 4;
	if (config[0] != 0
	    && (sscanf(config, "n=%ld", &n) != 1 || n < 1 || n > 100)) {
		snprintf(err, errlen, "gatedmap: config is n=1..100");
		return -1;
	}
	*state = (void *) (intptr_t) n;
	return 0;
}

static const char *
gate(pj_task_ctx *ctx)
{
	if (ctx->instance_params != NULL && ctx->instance_params[0] != 0) {
		return ctx->instance_params;
	}
	return ctx->job_params != NULL ? ctx->job_params : "";
}

static int
process(void *state, pj_task_ctx *ctx)
{
	long n = (long) (intptr_t) state;
	if (ctx->sub_task == NULL) { /* the root: map n sub-tasks */
		struct pj_subtask s[100];
		char              id[100][8];
		for (long k = 0; k < n; k++) {
			snprintf(id[k], sizeof(id[k]), "%ld", k);
			s[k].content = id[k];
			s[k].len     = strlen(id[k]);
		}
		if (ctx->map(ctx, "GATED", s, (size_t) n) != 0) {
			return 0;
		}
		ctx->set_result(ctx, "mapped %ld", n);
		return 1;
	}
	if (ctx->sub_task_len == 1 && *(const char *) ctx->sub_task == '0') {
		ctx->set_result(ctx, "first");
		return 1;
	}
	for (int k = 0; k < 24000 && !ctx->stopping(ctx); k++) {
		if (access(gate(ctx), F_OK) == 0) {
			ctx->set_result(ctx, "through the gate");
			return 1;
		}
		struct timespec ts = { 0, 5 * 1000000L };
		nanosleep(&ts, NULL);
	}
	ctx->set_result(ctx, "gatedmap: the gate never opened");
	return 0;
}

static int
reduce(
    void *state, pj_task_ctx *ctx, const struct pj_task_outcome *r, size_t n)
{
	(void) state;
	(void) r;
	ctx->set_result(ctx, "gatedmap: %zu results", n);
	return 1;
}

const struct pj_processor_ops pj_processor_v1 = {
	.abi     = PJ_PROCESSOR_ABI,
	.name    = "gatedmap",
	.init    = init,
	.process = process,
	.reduce  = reduce,
};
