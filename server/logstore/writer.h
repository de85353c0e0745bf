/*
 * server/logstore/writer.h - the server's log writer: takes the batches of
 * worker LogReports without blocking, writes them to the log store on its
 * own thread, and spools them on disk while the store is down.
 *
 * Design notes
 * ------------
 * pj_logwriter_submit copies a batch into a memory queue and returns at
 * once (ServerActor calls it; it never waits on I/O). The writer thread
 * takes everything queued (up to PJ_LOGWRITER_BATCH_LINES lines), appends
 * it in one call, and on PJ_LOG_EDOWN (or any error but a bad line) puts
 * it in the spool instead. While the spool holds anything, new batches go
 * behind it, and the thread retries the oldest spooled record every
 * retry_ms: batches reach the store in the order they were submitted.
 *
 * The rule when full: a batch is refused (PJ_LOG_EFULL, returned to the
 * caller, which answers the worker with an error) when the memory queue
 * plus the spool would pass their bounds; the refusal is counted
 * (`refused_lines`) and logged as an error at most every 10 s. Nothing
 * accepted is dropped: what is queued at stop is written or spooled (the
 * spool's bound does not apply to that last drain).
 *
 * Lines are cleaned before they are queued (pj_logline_clean: valid UTF-8,
 * at most 1 MiB of content), and lines without a sequence number get one
 * (pj_logseq_unnumbered), so a spooled batch flushed twice is still
 * deduplicated.
 *
 * Threads: one writer thread; the queue and counters under one mutex;
 * the spool touched only by the writer thread (pj_logwriter_stop joins it
 * before closing anything). Lock order: writer mutex only.
 */
#ifndef PJ_SERVER_LOGSTORE_WRITER_H
#define PJ_SERVER_LOGSTORE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "server/logstore/logstore.h"
#include "server/logstore/spool.h"

#define PJ_LOGWRITER_BATCH_LINES 20000
#define PJ_LOGWRITER_QUEUE_BYTES (64u << 20)     /* memory queue bound */
#define PJ_LOGWRITER_SPOOL_BYTES (1024ull << 20) /* default spool bound */
#define PJ_LOGWRITER_RETRY_MS 1000
#define PJ_LOGWRITER_REPORT_MS 10000 /* spool state logged this often */

struct pj_logwriter;

struct pj_logwriter_config {
	const char *spool_dir;       /* created if missing */
	uint64_t    spool_max_bytes; /* 0 = PJ_LOGWRITER_SPOOL_BYTES */
	uint64_t    queue_max_bytes; /* 0 = PJ_LOGWRITER_QUEUE_BYTES */
	int64_t     retry_ms;        /* 0 = PJ_LOGWRITER_RETRY_MS */
	int64_t     report_ms;       /* 0 = PJ_LOGWRITER_REPORT_MS */
};

struct pj_logwriter_stats {
	uint64_t submitted_lines; /* accepted by submit */
	uint64_t written_lines;   /* appended to the store */
	uint64_t refused_lines;   /* refused: queue and spool full */
	uint64_t rejected_lines;  /* the store refused them as invalid */
	uint64_t queued_lines, queued_bytes;
	struct pj_spool_stats spool;      /* bytes, lines, oldest_ms, ... */
	int                   store_down; /* the last write failed */
	char                  last_error[256];
};

/* Starts the writer on ls (not owned). */
int pj_logwriter_start(struct pj_logstore *ls,
    const struct pj_logwriter_config *cfg, struct pj_logwriter **out,
    char *err, size_t errlen);
/* Writes or spools what is queued, stops the thread, frees w. */
void pj_logwriter_stop(struct pj_logwriter *w);

/* Queues a copy of n lines; 0, or PJ_LOG_EFULL with err filled. */
int pj_logwriter_submit(struct pj_logwriter *w, const struct pj_logline *v,
    size_t n, char *err, size_t errlen);
/* Waits until the queue and the spool are empty (tests, benchmarks);
 * 0, or -1 after timeout_ms. */
int  pj_logwriter_flush(struct pj_logwriter *w, int64_t timeout_ms);
void pj_logwriter_stats(struct pj_logwriter *w, struct pj_logwriter_stats *st);

#endif
