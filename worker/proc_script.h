/*
 * proc_script.h - the shell and python script processors (PowerJob's
 * ShellProcessor / PythonProcessor, powerjob-design.md §7.3; the
 * environment and limits are in docs/processors.md).
 */
#ifndef PJ_WORKER_PROC_SCRIPT_H
#define PJ_WORKER_PROC_SCRIPT_H

#include "worker/processor.h"

enum pj_script_kind {
	PJ_SCRIPT_SHELL,  /* /bin/sh */
	PJ_SCRIPT_PYTHON, /* config python_path, /usr/bin/python3 */
};

/* The tables: process and fini; the state comes from pj_script_open, not
 * from init (the registry calls pj_script_open instead). */
extern const struct pj_processor_ops pj_shell_processor;
extern const struct pj_processor_ops pj_python_processor;

/* Makes the state of a script processor: a copy of the config and, for
 * processor types SHELL / PYTHON, the fixed script (inline text or a URL)
 * from processor_info; script NULL = the task's parameters are the script
 * (BUILT_IN "shell" / "python").  0, or -1 with err set. */
int pj_script_open(const struct pj_processor_config *c,
    enum pj_script_kind kind, const char *script, void **state, char *err,
    size_t errlen);

#endif
