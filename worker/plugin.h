/*
 * plugin.h - C plugins: processor type "EXTERNAL", processor info
 * "NAME[:CONFIG]" -> <plugin_dir>/NAME.so exporting
 * `const struct pj_processor_ops pj_processor_v1` (worker/processor.h,
 * docs/processors.md).
 */
#ifndef PJ_WORKER_PLUGIN_H
#define PJ_WORKER_PLUGIN_H

#include <stddef.h>

#include "worker/processor.h"

/* The exported symbol every plugin defines. */
#define PJ_PLUGIN_SYMBOL "pj_processor_v1"

/* Loads (or takes another reference on) the plugin named in info and
 * calls its init with CONFIG ("" when none).  0 with p filled (p->handle
 * set), or -1 with a clear reason in err: no plugin_dir, a bad name, a
 * missing file, dlopen failing, a missing symbol, a wrong ABI, no
 * process function, init refusing. */
int pj_plugin_load(const char *plugin_dir, const char *info,
    struct pj_processor *p, char *err, size_t errlen);

/* Calls fini on p's state and drops the reference; the last one
 * dlcloses the shared object. */
void pj_plugin_unload(struct pj_processor *p);

/* How many plugins are loaded now (tests). */
int pj_plugin_loaded(void);

#endif
