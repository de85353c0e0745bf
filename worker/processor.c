/*
 * processor.c - the worker's processor registry: (processor_type,
 * processor_info) -> a loaded processor table (worker/processor.h).
 *
 * Built-ins: "verify" (worker/verify.c, PowerJob's VerificationProcessor).
 * The script, HTTP and plugin processors register here as they land.
 */
#include "worker/processor.h"

#include <stdio.h>
#include <string.h>

extern const struct pj_processor_ops pj_verify_processor;

void
pj_processor_config_init(struct pj_processor_config *c)
{
	memset(c, 0, sizeof(*c));
	c->data_dir            = ".";
	c->max_download_bytes  = 16 << 20;
	c->download_timeout_ms = 30000;
	c->max_output_bytes    = 1 << 20;
}

static const struct pj_processor_ops *
builtin(const char *name)
{
	if (strcmp(name, "verify") == 0 ||
	    strcmp(name, "tech.powerjob.official.processors.impl."
	                 "VerificationProcessor") == 0) {
		return &pj_verify_processor;
	}
	return NULL;
}

int
pj_processor_load(const struct pj_processor_config *c,
    const char *processor_type, const char *processor_info,
    struct pj_processor *p, char *err, size_t errlen)
{
	const struct pj_processor_ops *ops = NULL;

	(void) c;
	memset(p, 0, sizeof(*p));
	if (processor_type == NULL || processor_info == NULL) {
		snprintf(err, errlen, "processor type and info are required");
		return -1;
	}
	if (strcmp(processor_type, "BUILT_IN") == 0) {
		ops = builtin(processor_info);
		if (ops == NULL) {
			snprintf(err, errlen, "unknown built-in processor '%.200s'",
			    processor_info);
			return -1;
		}
	} else {
		snprintf(err, errlen, "unsupported processor type '%.64s'",
		    processor_type);
		return -1;
	}
	p->ops = ops;
	if (ops->init != NULL && ops->init(&p->state, "", err, errlen) != 0) {
		p->ops = NULL;
		return -1;
	}
	return 0;
}

void
pj_processor_unload(struct pj_processor *p)
{
	if (p->ops != NULL && p->ops->fini != NULL) {
		p->ops->fini(p->state);
	}
	memset(p, 0, sizeof(*p));
}
