/*
 * processor.c - the worker's processor registry: (processor_type,
 * processor_info) -> a loaded processor table (worker/processor.h).
 *
 *   BUILT_IN  "verify"        worker/verify.c (VerificationProcessor)
 *             "shell"/"python"  worker/proc_script.c, the script in the
 *                             task's parameters (PowerJob's ShellProcessor /
 *                             PythonProcessor class names too)
 *             "http"          worker/proc_http.c (HttpProcessor)
 *   SHELL / PYTHON            the script (text or URL) in processor_info
 *   EXTERNAL                  worker/plugin.c, "NAME[:CONFIG]"
 *
 * Design notes (threads): stateless itself; loads may run on any thread
 * at once (the plugin cache has its own lock).
 */
#include "worker/processor.h"

#include <stdio.h>
#include <string.h>

#include "worker/plugin.h"
#include "worker/proc_http.h"
#include "worker/proc_script.h"

extern const struct pj_processor_ops pj_verify_processor;

#define OFFICIAL "tech.powerjob.official.processors.impl."

void
pj_processor_config_init(struct pj_processor_config *c)
{
	memset(c, 0, sizeof(*c));
	c->data_dir            = ".";
	c->max_download_bytes  = 16 << 20;
	c->download_timeout_ms = 30000;
	c->max_output_bytes    = 1 << 20;
	c->kill_grace_ms       = 2000;
	c->python_path         = "/usr/bin/python3";
}

enum builtin { B_NONE, B_VERIFY, B_SHELL, B_PYTHON, B_HTTP };

static enum builtin
builtin(const char *name)
{
	if (strcmp(name, "verify") == 0
	    || strcmp(name, OFFICIAL "VerificationProcessor") == 0) {
		return B_VERIFY;
	}
	if (strcmp(name, "shell") == 0
	    || strcmp(name, OFFICIAL "script.ShellProcessor") == 0) {
		return B_SHELL;
	}
	if (strcmp(name, "python") == 0
	    || strcmp(name, OFFICIAL "script.PythonProcessor") == 0) {
		return B_PYTHON;
	}
	if (strcmp(name, "http") == 0
	    || strcmp(name, OFFICIAL "HttpProcessor") == 0) {
		return B_HTTP;
	}
	return B_NONE;
}

int
pj_processor_load(const struct pj_processor_config *c,
    const char *processor_type, const char *processor_info,
    struct pj_processor *p, char *err, size_t errlen)
{
	struct pj_processor_config defaults;

	memset(p, 0, sizeof(*p));
	if (c == NULL) {
		pj_processor_config_init(&defaults);
		c = &defaults;
	}
	if (processor_type == NULL || processor_info == NULL) {
		snprintf(err, errlen, "processor type and info are required");
		return -1;
	}
	if (strcmp(processor_type, "BUILT_IN") == 0) {
		switch (builtin(processor_info)) {
		case B_VERIFY:
			p->ops = &pj_verify_processor;
			return 0;
		case B_SHELL:
			p->ops = &pj_shell_processor;
			break;
		case B_PYTHON:
			p->ops = &pj_python_processor;
			break;
		case B_HTTP:
			p->ops = &pj_http_processor;
			return pj_http_open(c, &p->state, err, errlen) == 0
			    ? 0
			    : (p->ops = NULL, -1);
		case B_NONE:
			snprintf(err, errlen,
			    "unknown built-in processor '%.200s' (known: "
			    "verify, "
			    "shell, python, http)",
			    processor_info);
			return -1;
		}
		if (pj_script_open(c,
		        p->ops == &pj_shell_processor ? PJ_SCRIPT_SHELL
		                                      : PJ_SCRIPT_PYTHON,
		        NULL, &p->state, err, errlen)
		    != 0) {
			p->ops = NULL;
			return -1;
		}
		return 0;
	}
	if (strcmp(processor_type, "SHELL") == 0
	    || strcmp(processor_type, "PYTHON") == 0) {
		int shell = processor_type[0] == 'S';

		if (pj_script_open(c,
		        shell ? PJ_SCRIPT_SHELL : PJ_SCRIPT_PYTHON,
		        processor_info, &p->state, err, errlen)
		    != 0) {
			return -1;
		}
		p->ops = shell ? &pj_shell_processor : &pj_python_processor;
		return 0;
	}
	if (strcmp(processor_type, "EXTERNAL") == 0) {
		return pj_plugin_load(
		    c->plugin_dir, processor_info, p, err, errlen);
	}
	snprintf(err, errlen,
	    "unsupported processor type '%.64s' (BUILT_IN, SHELL, PYTHON, "
	    "EXTERNAL)",
	    processor_type);
	return -1;
}

void
pj_processor_unload(struct pj_processor *p)
{
	if (p->handle != NULL) {
		pj_plugin_unload(p);
		return;
	}
	if (p->ops != NULL && p->ops->fini != NULL) {
		p->ops->fini(p->state);
	}
	memset(p, 0, sizeof(*p));
}
