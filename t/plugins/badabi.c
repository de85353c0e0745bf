/* badabi.c - a bad plugin for t/processor_test.c: a table with an ABI
 * number this worker does not know. */
#define PJ_PROCESSOR_PLUGIN_ONLY 1
#include "worker/processor.h"

static int
nop(void *state, pj_task_ctx *ctx)
{
	(void) state;
	(void) ctx;
	return 1;
}

const struct pj_processor_ops pj_processor_v1 = {
	.abi     = PJ_PROCESSOR_ABI + 998,
	.name    = "badabi",
	.process = nop,
};
