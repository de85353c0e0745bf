/*
 * proc_http.h - the HTTP processor (PowerJob's HttpProcessor,
 * powerjob-design.md §7.3, plus expectedStatus; docs/processors.md).
 */
#ifndef PJ_WORKER_PROC_HTTP_H
#define PJ_WORKER_PROC_HTTP_H

#include "worker/processor.h"

extern const struct pj_processor_ops pj_http_processor;

/* The state: a copy of the TLS trust (ca_file) and the result bound
 * (max_output_bytes).  0, or -1 with err set. */
int pj_http_open(const struct pj_processor_config *c, void **state, char *err,
    size_t errlen);

#endif
