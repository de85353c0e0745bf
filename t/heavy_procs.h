/*
 * heavy_procs.h - the test processors of heavy_tracker_test.c, handed to
 * the trackers through the settings' loader (test_load): bcast (pre /
 * process / post counters), freq (records each run's span and the most
 * running at once), bigmap (maps large sub-tasks); anything else goes to
 * the worker's registry (pj_processor_load).
 *
 * Design notes (threads): the processors run on ProcessorTracker pool
 * threads and local-job threads; their counters are atomics or guarded by
 * proc_mu, which the test thread takes to read them.
 */
#ifndef PJ_T_HEAVY_PROCS_H
#define PJ_T_HEAVY_PROCS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/ar.h"
#include "worker/processor.h"

/* ---- test processors -------------------------------------------------------
 */

static atomic_int bc_pre, bc_process, bc_post;

static int
bc_do_process(void *st, pj_task_ctx *ctx)
{
	(void) st;
	atomic_fetch_add(&bc_process, 1);
	ctx->set_result(ctx, "node ran %s", ctx->task_id);
	return 1;
}

static int
bc_do_pre(void *st, pj_task_ctx *ctx)
{
	(void) st;
	atomic_fetch_add(&bc_pre, 1);
	ctx->set_result(ctx, "pre done");
	return 1;
}

static int
bc_do_post(
    void *st, pj_task_ctx *ctx, const struct pj_task_outcome *r, size_t n)
{
	size_t ok = 0;

	(void) st;
	for (size_t i = 0; i < n; i++) {
		ok += r[i].success != 0
		    && strncmp(r[i].result, "node ran ", 9) == 0;
	}
	atomic_fetch_add(&bc_post, 1);
	ctx->set_result(ctx, "post n=%zu ok=%zu", n, ok);
	return ok == n;
}

static const struct pj_processor_ops bcast_ops = {
	.abi          = PJ_PROCESSOR_ABI,
	.name         = "bcast",
	.process      = bc_do_process,
	.pre_process  = bc_do_pre,
	.post_process = bc_do_post,
};

/* freq: records each run's [start, end) and the most running at once */
static pthread_mutex_t proc_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t         runs[256][2];
static int             nruns, running_now, running_max;

static int
fq_process(void *st, pj_task_ctx *ctx)
{
	int             slot;
	int64_t         ms = atoi(ctx->job_params);
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	(void) st;
	pthread_mutex_lock(&proc_mu);
	slot          = nruns < 256 ? nruns++ : 255;
	runs[slot][0] = ar_mono_ms();
	running_now++;
	if (running_now > running_max) {
		running_max = running_now;
	}
	pthread_mutex_unlock(&proc_mu);
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&proc_mu);
	runs[slot][1] = ar_mono_ms();
	running_now--;
	pthread_mutex_unlock(&proc_mu);
	ctx->set_result(ctx, "run %d", slot);
	return 1;
}

static const struct pj_processor_ops freq_ops = {
	.abi     = PJ_PROCESSOR_ABI,
	.name    = "freq",
	.process = fq_process,
};

/* bigmap: the root maps 60 sub-tasks of 100 KB each (6 MB: more than one
 * message), or one too large to send when job_params is "huge" */
static int
bm_process(void *st, pj_task_ctx *ctx)
{
	struct pj_subtask subs[64];
	size_t            n = 60, len = 100 * 1024;
	char             *buf;
	int               rv;

	(void) st;
	if (ctx->sub_task != NULL) {
		ctx->set_result(ctx, "got %zu bytes", ctx->sub_task_len);
		return ctx->sub_task_len == len;
	}
	if (strcmp(ctx->job_params, "huge") == 0) {
		n   = 1;
		len = 3 << 20; /* over half the 4 MiB message limit */
	}
	buf = calloc(1, len);
	for (size_t i = 0; i < n; i++) {
		subs[i].content = buf;
		subs[i].len     = len;
	}
	rv = ctx->map(ctx, "BIG", subs, n);
	free(buf);
	if (rv == 0) {
		ctx->set_result(ctx, "mapped");
	}
	return rv == 0;
}

static const struct pj_processor_ops bigmap_ops = {
	.abi     = PJ_PROCESSOR_ABI,
	.name    = "bigmap",
	.process = bm_process,
};

static int
test_load(const void *cfg, const char *type, const char *info, void *proc,
    char *err, size_t errlen)
{
	struct pj_processor *p = proc;

	if (info != NULL && strcmp(info, "bcast") == 0) {
		memset(p, 0, sizeof(*p));
		p->ops = &bcast_ops;
		return 0;
	}
	if (info != NULL && strcmp(info, "bigmap") == 0) {
		memset(p, 0, sizeof(*p));
		p->ops = &bigmap_ops;
		return 0;
	}
	if (info != NULL && strcmp(info, "freq") == 0) {
		memset(p, 0, sizeof(*p));
		p->ops = &freq_ops;
		return 0;
	}
	return pj_processor_load(cfg, type, info, p, err, errlen);
}

#endif
