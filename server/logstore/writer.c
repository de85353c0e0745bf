/*
 * server/logstore/writer.c - the log writer thread (writer.h).
 *
 * Design notes: see writer.h. The thread holds the mutex only to move
 * batches in and out of the queue and to update counters; every append
 * and every spool read or write runs without it, so submit never waits on
 * I/O. Condition variable `cv` wakes the thread (a batch, stop); `idle`
 * wakes pj_logwriter_flush. OOM policy: ar_xmalloc aborts.
 */
#include "server/logstore/writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/alloc.h"
#include "runtime/ar.h"
#include "runtime/log.h"

struct batch {
	struct batch      *next;
	struct pj_logline *v;
	size_t             n;
	size_t             bytes;
	char             **owned; /* strings this batch allocated */
	size_t             n_owned;
};

struct pj_logwriter {
	struct pj_logstore        *ls;
	struct pj_spool           *sp;
	struct pj_logwriter_config cfg;
	pthread_t                  th;
	pthread_mutex_t            mu;
	pthread_cond_t             cv, idle;
	struct batch              *head, *tail;
	int                        stop, busy;
	struct pj_logwriter_stats  st;
	int64_t                    last_report, last_full_log;
};

static void
batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n_owned; i++)
		free(b->owned[i]);
	free(b->owned);
	free(b->v);
	free(b);
}

static const char *
own(struct batch *b, const char *s, size_t max)
{
	char *c = pj_logline_clean(s, max);
	if (c == NULL)
		c = ar_xstrdup(s);
	b->owned = ar_xrealloc(b->owned, sizeof(char *) * (b->n_owned + 1));
	b->owned[b->n_owned++] = c;
	b->bytes += strlen(c);
	return c;
}

static void
timed_wait(struct pj_logwriter *w, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long) (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&w->cv, &w->mu, &ts);
}

/* the spool's state, for operators, every report_ms while it holds any */
static void
report(struct pj_logwriter *w, int64_t now)
{
	struct pj_spool_stats s;
	pj_spool_stats(w->sp, &s);
	if (s.lines == 0 || now - w->last_report < w->cfg.report_ms)
		return;
	w->last_report = now;
	ar_log(AR_LOG_WARN, "logstore",
	    "%s store unreachable (%s): spool holds %llu lines, %llu of %llu "
	    "bytes, oldest %lld s; retrying every %lld ms",
	    pj_logstore_name(w->ls), w->st.last_error,
	    (unsigned long long) s.lines, (unsigned long long) s.bytes,
	    (unsigned long long) s.max_bytes,
	    (long long) (s.oldest_ms ? (ar_now_ms() - s.oldest_ms) / 1000 : 0),
	    (long long) w->cfg.retry_ms);
}

/* appends lines; returns 0, or the error (recorded) */
static int
append(struct pj_logwriter *w, const struct pj_logline *v, size_t n)
{
	int rv = pj_logstore_append(w->ls, v, n);
	pthread_mutex_lock(&w->mu);
	if (rv == 0) {
		w->st.written_lines += n;
		if (w->st.store_down)
			ar_log(AR_LOG_INFO, "logstore",
			    "%s store reachable again",
			    pj_logstore_name(w->ls));
		w->st.store_down = 0;
	} else if (rv == PJ_LOG_EINVAL) {
		/* a line the store cannot take: never retried, never silent */
		w->st.rejected_lines += n;
		ar_log(AR_LOG_ERROR, "logstore",
		    "%zu log lines rejected by the %s store: %s", n,
		    pj_logstore_name(w->ls), pj_logstore_errmsg());
	} else {
		if (!w->st.store_down)
			ar_log(AR_LOG_WARN, "logstore",
			    "%s store write failed (%s): spooling to %s",
			    pj_logstore_name(w->ls), pj_logstore_errmsg(),
			    w->cfg.spool_dir);
		w->st.store_down = 1;
		snprintf(w->st.last_error, sizeof(w->st.last_error), "%s",
		    pj_logstore_errmsg());
	}
	pthread_mutex_unlock(&w->mu);
	return rv == PJ_LOG_EINVAL ? 0 : rv;
}

static void
spool(struct pj_logwriter *w, struct batch *b)
{
	char err[256];
	int  rv = pj_spool_put(
	     w->sp, b->v, b->n, ar_now_ms(), 1, err, sizeof(err));
	if (rv != 0) {
		pthread_mutex_lock(&w->mu);
		w->st.rejected_lines += b->n;
		pthread_mutex_unlock(&w->mu);
		ar_log(AR_LOG_ERROR, "logstore",
		    "%zu log lines LOST: the store is down and the spool "
		    "cannot be written (%s)",
		    b->n, err);
	}
}

/* takes queued batches up to PJ_LOGWRITER_BATCH_LINES lines (locked) */
static struct batch *
take(struct pj_logwriter *w)
{
	struct batch *first = w->head, *b = first, *last = NULL;
	size_t        lines = 0;
	while (b && (lines == 0 || lines + b->n <= PJ_LOGWRITER_BATCH_LINES)) {
		lines += b->n;
		w->st.queued_lines -= b->n;
		w->st.queued_bytes -= b->bytes;
		last = b;
		b    = b->next;
	}
	if (last) {
		w->head    = b;
		last->next = NULL;
		if (!b)
			w->tail = NULL;
	}
	return first;
}

static void
write_batches(struct pj_logwriter *w, struct batch *list)
{
	struct pj_spool_stats s;
	pj_spool_stats(w->sp, &s);
	if (s.lines == 0) {
		size_t n = 0;
		for (struct batch *b = list; b; b = b->next)
			n += b->n;
		struct pj_logline *v
		    = list->next ? ar_xmalloc(sizeof(*v) * n) : list->v;
		if (list->next) {
			size_t k = 0;
			for (struct batch *b = list; b; b = b->next) {
				memcpy(v + k, b->v, sizeof(*v) * b->n);
				k += b->n;
			}
		}
		int rv = append(w, v, n);
		if (v != list->v)
			free(v);
		if (rv == 0) {
			while (list) {
				struct batch *nx = list->next;
				batch_free(list);
				list = nx;
			}
			return;
		}
	}
	while (list) { /* behind what is spooled already, in order */
		struct batch *nx = list->next;
		spool(w, list);
		batch_free(list);
		list = nx;
	}
}

/* one spooled record to the store; 0 when sent or the spool is empty */
static int
flush_one(struct pj_logwriter *w)
{
	struct pj_logline *v;
	size_t             n;
	char              *buf;
	if (pj_spool_peek(w->sp, &v, &n, &buf) != 0)
		return 0;
	int rv = append(w, v, n);
	if (rv == 0)
		pj_spool_pop(w->sp);
	free(v);
	free(buf);
	return rv;
}

static void *
run(void *arg)
{
	struct pj_logwriter *w = arg;
	pthread_setname_np(pthread_self(), "pj-logwriter");
	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct pj_spool_stats s;
		pj_spool_stats(w->sp, &s);
		if (w->head == NULL && s.lines == 0) {
			w->busy = 0;
			pthread_cond_broadcast(&w->idle);
			if (w->stop)
				break;
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		w->busy                = 1;
		struct batch *list     = take(w);
		int           stopping = w->stop;
		pthread_mutex_unlock(&w->mu);
		int rv = 0;
		if (list) {
			write_batches(w, list);
		} else if (!stopping) {
			rv = flush_one(w);
			report(w, ar_mono_ms());
			if (rv == 0 && s.lines > 0) {
				pj_spool_stats(w->sp, &s);
				if (s.lines == 0)
					ar_log(AR_LOG_INFO, "logstore",
					    "spool flushed: every spooled log "
					    "line is in the %s store",
					    pj_logstore_name(w->ls));
			}
		}
		pthread_mutex_lock(&w->mu);
		if (rv != 0 && !w->stop && w->head == NULL)
			timed_wait(w, w->cfg.retry_ms);
		if (w->stop && w->head == NULL)
			break; /* what is spooled stays for the next start */
	}
	w->busy = 0;
	pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int
pj_logwriter_start(struct pj_logstore *ls,
    const struct pj_logwriter_config *cfg, struct pj_logwriter **out,
    char *err, size_t errlen)
{
	struct pj_logwriter  *w = ar_xcalloc(1, sizeof(*w));
	struct pj_spool_stats s;
	int                   rv;
	w->ls  = ls;
	w->cfg = *cfg;
	if (!w->cfg.spool_max_bytes)
		w->cfg.spool_max_bytes = PJ_LOGWRITER_SPOOL_BYTES;
	if (!w->cfg.queue_max_bytes)
		w->cfg.queue_max_bytes = PJ_LOGWRITER_QUEUE_BYTES;
	if (!w->cfg.retry_ms)
		w->cfg.retry_ms = PJ_LOGWRITER_RETRY_MS;
	if (!w->cfg.report_ms)
		w->cfg.report_ms = PJ_LOGWRITER_REPORT_MS;
	w->cfg.spool_dir = ar_xstrdup(cfg->spool_dir);
	if ((rv = pj_spool_open(w->cfg.spool_dir, w->cfg.spool_max_bytes,
	         &w->sp, err, errlen))
	    != 0) {
		free((char *) w->cfg.spool_dir);
		free(w);
		return rv;
	}
	pj_spool_stats(w->sp, &s);
	if (s.lines)
		ar_log(AR_LOG_WARN, "logstore",
		    "spool %s holds %llu lines (%llu bytes) from a previous "
		    "run: flushing them first",
		    w->cfg.spool_dir, (unsigned long long) s.lines,
		    (unsigned long long) s.bytes);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_cond_init(&w->idle, NULL);
	if ((rv = pthread_create(&w->th, NULL, run, w)) != 0) {
		snprintf(err, errlen, "log writer thread: %s", strerror(rv));
		pj_spool_close(w->sp);
		free((char *) w->cfg.spool_dir);
		free(w);
		return PJ_LOG_EBACKEND;
	}
	*out = w;
	return 0;
}

void
pj_logwriter_stop(struct pj_logwriter *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	pj_spool_close(w->sp);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	pthread_cond_destroy(&w->idle);
	free((char *) w->cfg.spool_dir);
	free(w);
}

int
pj_logwriter_submit(struct pj_logwriter *w, const struct pj_logline *v,
    size_t n, char *err, size_t errlen)
{
	struct pj_spool_stats s;
	if (n == 0)
		return 0;
	struct batch *b = ar_xcalloc(1, sizeof(*b));
	b->v            = ar_xmalloc(sizeof(*b->v) * n);
	b->n            = n;
	for (size_t k = 0; k < n; k++) {
		b->v[k]         = v[k];
		b->v[k].content = own(b, v[k].content, PJ_STORE_LONGTEXT_MAX);
		/* a report's lines share one worker address: one copy */
		b->v[k].worker_address
		    = k > 0 && v[k].worker_address == v[k - 1].worker_address
		    ? b->v[k - 1].worker_address
		    : own(b, v[k].worker_address, PJ_STORE_NAME_MAX);
		if (b->v[k].seq == 0)
			b->v[k].seq = pj_logseq_unnumbered();
		b->bytes += 48;
	}
	pj_spool_stats(w->sp, &s);
	pthread_mutex_lock(&w->mu);
	if (w->stop || w->st.queued_bytes + b->bytes > w->cfg.queue_max_bytes
	    || s.bytes + w->st.queued_bytes + b->bytes > s.max_bytes) {
		int64_t now = ar_mono_ms();
		w->st.refused_lines += n;
		snprintf(err, errlen,
		    "log store %s: queue (%llu bytes) and spool (%llu of %llu "
		    "bytes) full; batch of %zu lines refused",
		    w->st.store_down ? "down" : "busy",
		    (unsigned long long) w->st.queued_bytes,
		    (unsigned long long) s.bytes,
		    (unsigned long long) s.max_bytes, n);
		if (now - w->last_full_log >= w->cfg.report_ms
		    || w->last_full_log == 0) {
			w->last_full_log = now;
			ar_log(AR_LOG_ERROR, "logstore",
			    "%s (%llu lines refused so far; senders are told)",
			    err, (unsigned long long) w->st.refused_lines);
		}
		pthread_mutex_unlock(&w->mu);
		batch_free(b);
		return PJ_LOG_EFULL;
	}
	if (w->tail)
		w->tail->next = b;
	else
		w->head = b;
	w->tail = b;
	w->st.submitted_lines += n;
	w->st.queued_lines += n;
	w->st.queued_bytes += b->bytes;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int
pj_logwriter_flush(struct pj_logwriter *w, int64_t timeout_ms)
{
	int64_t end = ar_mono_ms() + timeout_ms;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct pj_spool_stats s;
		pj_spool_stats(w->sp, &s);
		if (w->head == NULL && !w->busy && s.lines == 0)
			break;
		if (ar_mono_ms() >= end) {
			pthread_mutex_unlock(&w->mu);
			return -1;
		}
		pthread_cond_signal(&w->cv);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->idle, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void
pj_logwriter_stats(struct pj_logwriter *w, struct pj_logwriter_stats *st)
{
	pthread_mutex_lock(&w->mu);
	*st = w->st;
	pthread_mutex_unlock(&w->mu);
	pj_spool_stats(w->sp, &st->spool);
}
