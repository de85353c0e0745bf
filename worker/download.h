/*
 * download.h - fetching a script by URL for the script processors
 * (http, https, ftp through libcurl), with a size and a time limit, and
 * the libcurl helpers the HTTP processor shares (one global init, the
 * TLS trust settings, URL redaction for logs and results).
 */
#ifndef PJ_WORKER_DOWNLOAD_H
#define PJ_WORKER_DOWNLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "worker/processor.h"

/* curl_global_init once per process (thread-safe). */
void pj_curl_init(void);

/* 1 when text starts with http://, https:// or ftp:// (any case). */
int pj_url_scheme_ok(const char *text);

/* Writes url without user, password, query and fragment into out (so a
 * result or a log line never shows credentials): "https://h:1/a.sh?…". */
void pj_url_redact(const char *url, char *out, size_t outlen);

/* Applies the TLS trust settings to a curl easy handle: verification of
 * peer and host always on; ca_file (may be NULL) trusted in addition to
 * the system's CAs.  h is a CURL *. */
void pj_curl_tls(void *h, const char *ca_file);

/* Downloads url into the file `path` (created or replaced), at most
 * max_bytes, within timeout_ms and before ctx's deadline, giving up when
 * ctx->stopping(ctx) turns 1.  0, or -1 with the reason in err (the
 * redacted URL and what went wrong: HTTP status, size over the limit,
 * timeout, TLS verification, connection refused, ...), or -2 when the
 * local file could not be created (errno says why). */
int pj_download(pj_task_ctx *ctx, const char *url, const char *path,
    int64_t max_bytes, int64_t timeout_ms, const char *ca_file, char *err,
    size_t errlen);

#endif
