/*
 * worker/logq.h - the online logger's queue and a job's log config
 * (powerjob-design.md §6.8).
 *
 * The queue is bounded (PowerJob: 10 240 lines; a line past the bound is
 * dropped and counted, never blocks).  Unlike PowerJob, lines leave the
 * queue only when the server acknowledged them: the consumer peeks a batch,
 * sends it, and commits it once the Ack came, so a batch that did not
 * arrive (server switch, server down) is sent again to whoever owns the
 * app next.
 *
 * Threads: any number of producers (processor threads) push; one consumer
 * (the logger actor) peeks and commits.  One mutex guards the ring; the
 * lines a peek returned stay valid until the consumer commits them
 * (producers only write free slots).
 */
#ifndef PJ_WORKER_LOGQ_H
#define PJ_WORKER_LOGQ_H

#include <stddef.h>
#include <stdint.h>

/* Longest line kept (bytes); longer content is cut with "...". */
#define PJ_LOGQ_LINE_MAX 4096

struct pj_logq_line {
	int64_t instance_id;
	int64_t seq;      /* the line's number (pj_logq_push): unique per
	                     worker process, the same when a batch is re-sent,
	                     so the server stores a line once */
	int64_t log_time; /* epoch ms */
	int     level;    /* PJ_LOG_* */
	char   *content;
};

struct pj_logq;

struct pj_logq *pj_logq_new(size_t max_lines);
void            pj_logq_free(struct pj_logq *q);
/* Copies the line in; 0, or -1 when the queue is full (counted). */
int pj_logq_push(struct pj_logq *q, int64_t instance_id, int64_t log_time,
    int level, const char *content);
/* Up to max of the oldest lines (pointers into the queue), not removed. */
size_t pj_logq_peek(struct pj_logq *q, struct pj_logq_line *out, size_t max);
/* Removes the n oldest lines (after their batch was acknowledged). */
void     pj_logq_commit(struct pj_logq *q, size_t n);
size_t   pj_logq_len(struct pj_logq *q);
uint64_t pj_logq_dropped(struct pj_logq *q); /* since start */

/* A job's log config, JSON {"type": T, "level": L} with PowerJob's codes
 * or names (type ONLINE=1 (default), LOCAL=2, STDOUT=3,
 * LOCAL_AND_ONLINE=4, NULL=999; level DEBUG=1, INFO=2 (default), WARN=3,
 * ERROR=4, OFF=99). */
enum pj_log_type {
	PJ_LOGT_ONLINE           = 1,
	PJ_LOGT_LOCAL            = 2,
	PJ_LOGT_STDOUT           = 3,
	PJ_LOGT_LOCAL_AND_ONLINE = 4,
	PJ_LOGT_NULL             = 999,
};
struct pj_log_config {
	int type;
	int level;
};
/* Empty or NULL text: the defaults, 0.  Bad JSON or an unknown value:
 * the defaults for what is wrong, -1 and the reason in err. */
int pj_log_config_parse(
    const char *json, struct pj_log_config *c, char *err, size_t errlen);

#endif
