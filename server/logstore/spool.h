/*
 * server/logstore/spool.h - a bounded on-disk queue of log batches, kept
 * while the log store is unreachable and flushed in order when it is back.
 *
 * Design notes
 * ------------
 * Files: DIR/seg-NNNNNNNNNNNN.spool, each at most PJ_SPOOL_SEGMENT_BYTES
 * (a record never spans two). A record is a 32-byte header (magic, body
 * length, line count, checksum of the body, time it was spooled) and the
 * lines packed as little-endian integers and length-prefixed text. The
 * oldest segment is read from its start at open and unlinked once every
 * record in it was taken; nothing else records progress, so after a crash
 * the first segment's records already flushed are sent again - harmless,
 * because the log store skips lines it already holds ((instance_id, seq)).
 * A torn last record (a crash mid-write) is cut at open; a bad checksum
 * ends its segment (logged): once nothing readable is left, the lines
 * of the records skipped are counted in `lost_lines` and logged.
 *
 * The bound: pj_spool_put refuses (PJ_LOG_EFULL) a record that would take
 * the spool over max_bytes, unless `force` (the writer's last drain at
 * stop, which must not lose what it already accepted).
 *
 * Threads: none of its own; one thread at a time (the writer's) calls
 * everything but pj_spool_stats, which only reads atomics.
 */
#ifndef PJ_SERVER_LOGSTORE_SPOOL_H
#define PJ_SERVER_LOGSTORE_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "server/logstore/logstore.h"

#define PJ_SPOOL_SEGMENT_BYTES (8u << 20)

struct pj_spool;

struct pj_spool_stats {
	uint64_t bytes;      /* in the spool now */
	uint64_t lines;      /* in the spool now */
	int64_t  oldest_ms;  /* wall time the oldest record was spooled; 0 */
	uint64_t max_bytes;  /* the bound */
	uint64_t lost_lines; /* skipped as unreadable (corrupt records) */
};

/* Opens (creating) dir and counts what a previous run left in it. */
int  pj_spool_open(const char *dir, uint64_t max_bytes, struct pj_spool **out,
     char *err, size_t errlen);
void pj_spool_close(struct pj_spool *sp);

/* Appends one record of n lines; PJ_LOG_EFULL past the bound (not when
 * force), PJ_LOG_EBACKEND on a disk error (err says which). */
int pj_spool_put(struct pj_spool *sp, const struct pj_logline *v, size_t n,
    int64_t now_ms, int force, char *err, size_t errlen);

/* The oldest record, as lines pointing into *buf (caller frees *buf and
 * *lines); 1 when the spool is empty, 0 when one was read. */
int pj_spool_peek(
    struct pj_spool *sp, struct pj_logline **lines, size_t *n, char **buf);
/* Drops the record pj_spool_peek returned last. */
void pj_spool_pop(struct pj_spool *sp);

void pj_spool_stats(struct pj_spool *sp, struct pj_spool_stats *st);

#endif
