/* nosym.c - a bad plugin for t/processor_test.c: it exports a table under
 * the wrong name, so the worker finds no pj_processor_v1. */
#define PJ_PROCESSOR_PLUGIN_ONLY 1
#include "worker/processor.h"

static int
nop(void *state, pj_task_ctx *ctx)
{
	(void) state;
	(void) ctx;
	return 1;
}

const struct pj_processor_ops pj_processor_v0 = {
	.abi     = PJ_PROCESSOR_ABI,
	.name    = "nosym",
	.process = nop,
};
