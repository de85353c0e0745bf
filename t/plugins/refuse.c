/* refuse.c - a plugin for t/processor_test.c whose init accepts only the
 * config "ok" and refuses anything else with a message. */
#define PJ_PROCESSOR_PLUGIN_ONLY 1
#include "worker/processor.h"

#include <stdio.h>
#include <string.h>

static int
init(void **state, const char *config, char *err, size_t errlen)
{
	*state = NULL;
	if (strcmp(config, "ok") != 0) {
		snprintf(err, errlen, "refuse: config must be \"ok\"");
		return -1;
	}
	return 0;
}

static int
nop(void *state, pj_task_ctx *ctx)
{
	(void) state;
	ctx->set_result(ctx, "refuse: ran");
	return 1;
}

const struct pj_processor_ops pj_processor_v1 = {
	.abi     = PJ_PROCESSOR_ABI,
	.name    = "refuse",
	.init    = init,
	.process = nop,
};
