/*
 * worker/logq.c - see logq.h.  A ring of max_lines slots; head is the
 * oldest line, len the number held.
 */
#include "worker/logq.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unistd.h>

#include "runtime/alloc.h"
#include "runtime/ar.h"
#include "worker/processor.h"

struct pj_logq {
	pthread_mutex_t      mu;
	struct pj_logq_line *ring;
	size_t               cap, head, len;
	uint64_t             dropped;
	int64_t              seq_prefix; /* random, bits 41..61 */
	int64_t              seq_next;   /* 1, 2, ... */
};

struct pj_logq *
pj_logq_new(size_t max_lines)
{
	struct pj_logq *q = ar_xcalloc(1, sizeof(*q));

	pthread_mutex_init(&q->mu, NULL);
	q->cap  = max_lines > 0 ? max_lines : 1;
	q->ring = ar_xcalloc(q->cap, sizeof(*q->ring));
	/* Line numbers: a random 21-bit prefix per process (workers of one
	 * instance differ), a counter below it (a worker's lines keep their
	 * order), bit 62 clear (the server's numbers for unnumbered lines
	 * have it set). */
	uint32_t r = 0;
	FILE    *f = fopen("/dev/urandom", "rb");
	if (f == NULL || fread(&r, sizeof(r), 1, f) != 1) {
		r = (uint32_t) ar_now_ms() ^ (uint32_t) getpid() << 11;
	}
	if (f != NULL) {
		fclose(f);
	}
	q->seq_prefix = (int64_t) (r & 0x1FFFFF) << 41;
	q->seq_next   = 1;
	return q;
}

void
pj_logq_free(struct pj_logq *q)
{
	if (q == NULL) {
		return;
	}
	pj_logq_commit(q, q->len);
	pthread_mutex_destroy(&q->mu);
	free(q->ring);
	free(q);
}

int
pj_logq_push(struct pj_logq *q, int64_t instance_id, int64_t log_time,
    int level, const char *content)
{
	size_t n = strlen(content);
	char  *c;

	if (n > PJ_LOGQ_LINE_MAX) {
		c = ar_xmalloc(PJ_LOGQ_LINE_MAX + 4);
		memcpy(c, content, PJ_LOGQ_LINE_MAX);
		memcpy(c + PJ_LOGQ_LINE_MAX, "...", 4);
	} else {
		c = ar_xstrdup(content);
	}
	pthread_mutex_lock(&q->mu);
	if (q->len == q->cap) {
		q->dropped++;
		pthread_mutex_unlock(&q->mu);
		free(c);
		return -1;
	}
	struct pj_logq_line *l = &q->ring[(q->head + q->len) % q->cap];
	l->instance_id         = instance_id;
	l->seq = q->seq_prefix | (q->seq_next++ & ((INT64_C(1) << 41) - 1));
	l->log_time            = log_time;
	l->level               = level;
	l->content             = c;
	q->len++;
	pthread_mutex_unlock(&q->mu);
	return 0;
}

size_t
pj_logq_peek(struct pj_logq *q, struct pj_logq_line *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->len < max ? q->len : max;
	for (size_t i = 0; i < n; i++) {
		out[i] = q->ring[(q->head + i) % q->cap];
	}
	pthread_mutex_unlock(&q->mu);
	return n;
}

void
pj_logq_commit(struct pj_logq *q, size_t n)
{
	pthread_mutex_lock(&q->mu);
	if (n > q->len) {
		n = q->len;
	}
	for (size_t i = 0; i < n; i++) {
		struct pj_logq_line *l = &q->ring[q->head];
		free(l->content);
		l->content = NULL;
		q->head    = (q->head + 1) % q->cap;
	}
	q->len -= n;
	pthread_mutex_unlock(&q->mu);
}

size_t
pj_logq_len(struct pj_logq *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->len;
	pthread_mutex_unlock(&q->mu);
	return n;
}

uint64_t
pj_logq_dropped(struct pj_logq *q)
{
	uint64_t n;

	pthread_mutex_lock(&q->mu);
	n = q->dropped;
	pthread_mutex_unlock(&q->mu);
	return n;
}

/* ---- log config ---------------------------------------------------------
 */

struct code {
	const char *name;
	int         v;
};

static const struct code types[] = {
	{ "ONLINE", PJ_LOGT_ONLINE },
	{ "LOCAL", PJ_LOGT_LOCAL },
	{ "STDOUT", PJ_LOGT_STDOUT },
	{ "LOCAL_AND_ONLINE", PJ_LOGT_LOCAL_AND_ONLINE },
	{ "NULL", PJ_LOGT_NULL },
};
static const struct code levels[] = {
	{ "DEBUG", PJ_LOG_DEBUG },
	{ "INFO", PJ_LOG_INFO },
	{ "WARN", PJ_LOG_WARN },
	{ "ERROR", PJ_LOG_ERROR },
	{ "OFF", PJ_LOG_OFF },
};

/* json value x (number or name) -> one of codes; -1 when none */
static int
lookup(json_t *x, const struct code *codes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((json_is_integer(x) && json_integer_value(x) == codes[i].v)
		    || (json_is_string(x)
		        && strcasecmp(json_string_value(x), codes[i].name)
		            == 0)) {
			return codes[i].v;
		}
	}
	return -1;
}

int
pj_log_config_parse(
    const char *text, struct pj_log_config *c, char *err, size_t errlen)
{
	json_error_t je;
	json_t      *o, *x;
	int          rv = 0, v;

	c->type  = PJ_LOGT_ONLINE;
	c->level = PJ_LOG_INFO;
	if (text == NULL || text[0] == '\0') {
		return 0;
	}
	o = json_loads(text, 0, &je);
	if (o == NULL || !json_is_object(o)) {
		snprintf(err, errlen, "log config is not a JSON object (%s)",
		    o == NULL ? je.text : "another JSON value");
		json_decref(o);
		return -1;
	}
	if ((x = json_object_get(o, "type")) != NULL && !json_is_null(x)) {
		if ((v = lookup(x, types, sizeof(types) / sizeof(types[0])))
		    < 0) {
			snprintf(err, errlen,
			    "log config: unknown type (ONLINE, LOCAL, STDOUT, "
			    "LOCAL_AND_ONLINE, NULL or 1, 2, 3, 4, 999)");
			rv = -1;
		} else {
			c->type = v;
		}
	}
	if ((x = json_object_get(o, "level")) != NULL && !json_is_null(x)) {
		if ((v = lookup(x, levels, sizeof(levels) / sizeof(levels[0])))
		    < 0) {
			snprintf(err, errlen,
			    "log config: unknown level (DEBUG, INFO, WARN, "
			    "ERROR, OFF or 1, 2, 3, 4, 99)");
			rv = -1;
		} else {
			c->level = v;
		}
	}
	json_decref(o);
	return rv;
}
