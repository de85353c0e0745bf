/*
 * verify.c - the built-in "verify" processor (PowerJob's
 * VerificationProcessor, powerjob-design.md §7.3): a self-test for every
 * execution type, used by the tests, the benchmarks and the demo.
 *
 * Parameters: the instance parameters when not empty, else the job
 * parameters; a JSON object (empty = {"mode":"BASE"}):
 *   mode       BASE (succeed), ERROR (fail), TIMEOUT (sleep until stopped
 *              or sleepMs), RETRY (fail until the last retry), MR (map
 *              batchNum batches of batchSize sub-tasks at the root, each
 *              sub-task succeeds with subTaskSuccessRate; reduce counts)
 *   sleepMs    sleep this long in every task (polling ctx->stopping)
 *   batchSize, batchNum, subTaskSuccessRate (0..1, default 1),
 *   responseSize  pad the result to this many bytes
 * Stateless, so it is safe on any number of threads.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "worker/processor.h"

struct vparams {
	char    mode[16];
	int64_t sleep_ms;
	int64_t batch_size, batch_num;
	double  success_rate;
	int64_t response_size;
};

static int
parse(pj_task_ctx *ctx, struct vparams *v)
{
	const char  *text = ctx->instance_params != NULL &&
	                           ctx->instance_params[0] != '\0'
	                        ? ctx->instance_params
	                        : ctx->job_params;
	json_error_t je;
	json_t      *o, *x;

	memset(v, 0, sizeof(*v));
	strcpy(v->mode, "BASE");
	v->success_rate = 1.0;
	if (text == NULL || text[0] == '\0') {
		return 0;
	}
	o = json_loads(text, 0, &je);
	if (o == NULL || !json_is_object(o)) {
		ctx->set_result(ctx, "verify: parameters are not a JSON object: %s",
		    o == NULL ? je.text : "not an object");
		json_decref(o);
		return -1;
	}
	if ((x = json_object_get(o, "mode")) != NULL && json_is_string(x)) {
		snprintf(v->mode, sizeof(v->mode), "%s", json_string_value(x));
	}
	if ((x = json_object_get(o, "sleepMs")) != NULL) {
		v->sleep_ms = json_integer_value(x);
	}
	if ((x = json_object_get(o, "batchSize")) != NULL) {
		v->batch_size = json_integer_value(x);
	}
	if ((x = json_object_get(o, "batchNum")) != NULL) {
		v->batch_num = json_integer_value(x);
	}
	if ((x = json_object_get(o, "subTaskSuccessRate")) != NULL) {
		v->success_rate = json_number_value(x);
	}
	if ((x = json_object_get(o, "responseSize")) != NULL) {
		v->response_size = json_integer_value(x);
	}
	json_decref(o);
	return 0;
}

/* sleeps up to ms, returning early (1) when the instance is stopping */
static int
nap(pj_task_ctx *ctx, int64_t ms)
{
	while (ms > 0) {
		int64_t         step = ms < 20 ? ms : 20;
		struct timespec ts   = { step / 1000, (step % 1000) * 1000000L };

		if (ctx->stopping(ctx)) {
			return 1;
		}
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return ctx->stopping(ctx);
}

static int
done(pj_task_ctx *ctx, const struct vparams *v, int ok, const char *msg)
{
	if (v->response_size > 0 && v->response_size < (1 << 24)) {
		char *pad = malloc((size_t) v->response_size + 1);

		memset(pad, 'x', (size_t) v->response_size);
		pad[v->response_size] = '\0';
		ctx->set_result(ctx, "%s", pad);
		free(pad);
	} else {
		ctx->set_result(ctx, "%s", msg);
	}
	return ok;
}

static int
verify_process(void *state, pj_task_ctx *ctx)
{
	struct vparams v;

	(void) state;
	if (parse(ctx, &v) != 0) {
		return 0;
	}
	ctx->log(ctx, PJ_LOG_INFO, "verify: mode=%s task=%s retry=%d", v.mode,
	    ctx->task_id, ctx->current_retry_times);
	if (v.sleep_ms > 0 && nap(ctx, v.sleep_ms)) {
		return done(ctx, &v, 0, "verify: stopped");
	}
	if (strcmp(v.mode, "ERROR") == 0) {
		return done(ctx, &v, 0, "verify: ERROR mode");
	}
	if (strcmp(v.mode, "TIMEOUT") == 0) {
		nap(ctx, INT64_MAX / 2);
		return done(ctx, &v, 0, "verify: stopped");
	}
	if (strcmp(v.mode, "RETRY") == 0) {
		if (ctx->current_retry_times < ctx->max_retry_times) {
			return done(ctx, &v, 0, "verify: failing until the last retry");
		}
		return done(ctx, &v, 1, "verify: succeeded on the last retry");
	}
	if (strcmp(v.mode, "MR") == 0) {
		if (ctx->sub_task == NULL) { /* the root: map */
			struct pj_subtask *subs;
			int64_t           *ids;

			if (v.batch_size <= 0 || v.batch_num <= 0 ||
			    v.batch_size > 100000) {
				return done(ctx, &v, 0,
				    "verify: MR needs batchSize (1..100000) and batchNum");
			}
			subs = calloc((size_t) v.batch_size, sizeof(*subs));
			ids  = calloc((size_t) v.batch_size, sizeof(*ids));
			for (int64_t b = 0; b < v.batch_num; b++) {
				for (int64_t i = 0; i < v.batch_size; i++) {
					ids[i]         = b * v.batch_size + i;
					subs[i].content = &ids[i];
					subs[i].len     = sizeof(ids[i]);
				}
				if (ctx->map(ctx, "VERIFY_SUB", subs,
				        (size_t) v.batch_size) != 0) {
					free(subs);
					free(ids);
					return 0; /* map set the reason */
				}
			}
			free(subs);
			free(ids);
			return done(ctx, &v, 1, "verify: mapped");
		}
		if (ctx->sub_task_len == sizeof(int64_t)) {
			int64_t n;

			memcpy(&n, ctx->sub_task, sizeof(n));
			/* deterministic: sub-task n fails when its slot in
			 * 0..99 is past the success rate */
			if ((double) (n % 100) >= v.success_rate * 100.0) {
				return done(ctx, &v, 0, "verify: sub-task failed");
			}
		}
		return done(ctx, &v, 1, "ok");
	}
	return done(ctx, &v, 1, "verify: ok");
}

static int
verify_reduce(void *state, pj_task_ctx *ctx, const struct pj_task_outcome *r,
    size_t n)
{
	size_t ok = 0;

	(void) state;
	for (size_t i = 0; i < n; i++) {
		ok += r[i].success != 0;
	}
	ctx->set_result(ctx, "verify: reduce total=%zu succeed=%zu failed=%zu", n,
	    ok, n - ok);
	return 1;
}

const struct pj_processor_ops pj_verify_processor = {
	.abi     = PJ_PROCESSOR_ABI,
	.name    = "verify",
	.process = verify_process,
	.reduce  = verify_reduce,
};
