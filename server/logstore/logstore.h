/*
 * server/logstore/logstore.h - where instance logs live: one interface,
 * two backends (the SQL store's local_instance_log table, the embedded
 * default; MongoDB through mongo-c-driver).
 *
 * Design notes
 * ------------
 * Kept from PowerJob (powerjob-design.md §10.2-10.3): lines of one
 * instance with their time, level, worker address and text; pages of lines
 * for viewing; a whole log for download; logs removed with old instances.
 * Changed, and why (docs/logstore.md):
 *  - lines are written as they arrive, into the shared store, so every
 *    server can show a running instance's log (PowerJob keeps it in the
 *    owning server's H2 until the instance ends);
 *  - one document / row per line, unique on (instance_id, seq): a batch
 *    sent twice never duplicates a line (seq = the sender's number for the
 *    line; 0 = unnumbered, never deduplicated);
 *  - a download streams page by page in constant memory
 *    (pj_logstore_stream) instead of building a file.
 *
 * Shape: `struct pj_logstore_ops` is the pluggable table (like
 * pj_store_ops); logstore.c dispatches and holds what is common (the
 * stream loop, URL choice, error text). Writes from the server go through
 * server/logstore/writer.h (its own thread, a spool when the backend is
 * down); reads call these functions directly from any thread.
 *
 * Order: lines of an instance are read in (log_time, key) order, where key
 * is the backend's tie-breaker: the row id on SQL (arrival order), seq on
 * MongoDB (the sender's order). pj_log_line.id holds the key of each line
 * read, so (log_time, id) of the last line is the cursor for the next page.
 *
 * Threads: a handle may be used from any number of threads at once (the
 * SQL store has its connection pool, MongoDB a mongoc_client_pool_t).
 * Errors: pj_logstore_errmsg() is the calling thread's last message.
 */
#ifndef PJ_SERVER_LOGSTORE_H
#define PJ_SERVER_LOGSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "server/store/store.h"

enum {
	PJ_LOG_OK       = 0,
	PJ_LOG_EINVAL   = 1, /* bad argument, URL or line */
	PJ_LOG_EDOWN    = 2, /* backend unreachable now; try again later */
	PJ_LOG_EAUTH    = 3, /* the backend refused our credentials */
	PJ_LOG_EBACKEND = 4, /* any other backend error */
	PJ_LOG_EFULL    = 5, /* writer: queue and spool at their bound */
};

/* most lines one read returns */
#define PJ_LOG_READ_MAX 5000

/* One line, as appended and read (the SQL store's struct plus the fields
 * only the log store keeps). */
struct pj_logline {
	int64_t     instance_id;
	int64_t     seq; /* sender's number, unique per instance; 0 = none */
	int64_t     app_id; /* MongoDB only (SQL rows do not keep it) */
	int64_t     log_time;
	int         log_level;
	const char *content;
	const char *worker_address;
};

struct pj_logstore_ops {
	const char *name; /* "sql" or "mongodb" */
	/* every call: 0 or a PJ_LOG_E* code with err filled */
	int (*append)(void *impl, const struct pj_logline *v, size_t n,
	    char *err, size_t errlen);
	int (*read)(void *impl, int64_t instance_id, int64_t after_time,
	    int64_t after_key, int limit, struct pj_log_list *out, char *err,
	    size_t errlen);
	int (*page)(void *impl, int64_t instance_id, int64_t first, int limit,
	    struct pj_log_list *out, char *err, size_t errlen);
	int (*count)(void *impl, int64_t instance_id, int64_t *n, char *err,
	    size_t errlen);
	int (*delete_instance)(void *impl, int64_t instance_id,
	    int64_t *deleted, char *err, size_t errlen);
	int (*delete_before)(void *impl, int64_t before_ms, int64_t *deleted,
	    char *err, size_t errlen);
	void (*close)(void *impl);
};

struct pj_logstore;

/*
 * Opens the log store named by url:
 *   "" or "sql"                 the SQL store `sql` (not owned; it must
 *                               outlive the log store)
 *   mongodb://[user:pass@]host[:port][,host...]/[db][?options]
 *   mongodb+srv://...           MongoDB; db defaults to "powerjob"; the
 *                               options are the driver's (timeouts, TLS,
 *                               authSource, ...), read by mongoc_uri
 * A bad URL, or credentials the server refuses, fail here with a message.
 * An unreachable MongoDB does not: the open succeeds (a warning is logged)
 * and writes fail with PJ_LOG_EDOWN until it answers.
 */
int pj_logstore_open(
    const char *url, struct pj_store *sql, struct pj_logstore **out);
void        pj_logstore_close(struct pj_logstore *ls);
const char *pj_logstore_name(const struct pj_logstore *ls);
/* For a process that will not use MongoDB: releases what the driver set
 * up when it was loaded (its shared-memory counters, /dev/shm/mongoc-PID,
 * which a killed process would leave behind).  No MongoDB store may be
 * opened afterwards. */
void pj_logstore_mongo_release(void);
/* the calling thread's last error text (any handle, or a failed open) */
const char *pj_logstore_errmsg(void);
/* url with any password replaced by "***" */
void pj_logstore_url_redact(const char *url, char *out, size_t n);

/* Appends lines (any instances). Lines whose (instance_id, seq) is already
 * stored (seq != 0) are skipped: appending a batch twice is harmless. */
int pj_logstore_append(
    struct pj_logstore *ls, const struct pj_logline *v, size_t n);
/* Up to limit (1..PJ_LOG_READ_MAX) lines of an instance after the cursor
 * (after_time, after_key) in (log_time, key) order; 0, 0 = from the
 * start. */
int pj_logstore_read(struct pj_logstore *ls, int64_t instance_id,
    int64_t after_time, int64_t after_key, int limit, struct pj_log_list *out);
/* Lines first .. first+limit-1 (0-based line index) in the same order:
 * PowerJob's pages (§10.3: 100 lines a page) with pj_logstore_count. */
int pj_logstore_page(struct pj_logstore *ls, int64_t instance_id,
    int64_t first, int limit, struct pj_log_list *out);
int pj_logstore_count(struct pj_logstore *ls, int64_t instance_id, int64_t *n);

/* Calls fn for every line of the instance in order, reading `page` lines
 * at a time (1..PJ_LOG_READ_MAX; 0 = 1000): memory stays at one page
 * whatever the log's length. A non-zero return of fn stops and is
 * returned. */
typedef int (*pj_logline_fn)(void *arg, const struct pj_log_line *l);
int pj_logstore_stream(struct pj_logstore *ls, int64_t instance_id, int page,
    pj_logline_fn fn, void *arg);

int pj_logstore_delete_instance(
    struct pj_logstore *ls, int64_t instance_id, int64_t *deleted);
/* Removes every line whose log_time is before before_ms (retention). */
int pj_logstore_delete_before(
    struct pj_logstore *ls, int64_t before_ms, int64_t *deleted);

/* Line checks the writer applies before accepting a batch: content is
 * made valid UTF-8 (bad bytes become U+FFFD) and cut to
 * PJ_STORE_LONGTEXT_MAX bytes with a marker; the worker address to
 * PJ_STORE_NAME_MAX. Returns a malloc'd copy, or NULL when s is fine
 * as it is. */
char *pj_logline_clean(const char *s, size_t max_bytes);

/* A number for a line its sender did not number (seq 0): bit 62 set, then
 * the wall-clock ms and a per-process counter that starts at random, so
 * it sorts after the senders' own numbers and in arrival order, and two
 * servers collide only within the same ms and counter value. */
int64_t pj_logseq_unnumbered(void);

/* the backends (logstore_sql.c, logstore_mongo.c) */
extern const struct pj_logstore_ops pj_logstore_sql_ops;
extern const struct pj_logstore_ops pj_logstore_mongo_ops;
int pj_logstore_sql_new(struct pj_store *sql, void **impl);
int pj_logstore_mongo_new(
    const char *url, void **impl, char *err, size_t errlen);

#endif /* PJ_SERVER_LOGSTORE_H */
