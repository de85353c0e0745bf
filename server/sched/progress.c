/*
 * server/sched/progress.c - the owner's task counts of its instances (see
 * progress.h).
 *
 * Design notes
 * ------------
 * One chained hash table (instance id -> counts) under one mutex: the
 * ServerActor writes it while it reads a report (one lookup and a few
 * stores, no allocation once the entry exists), the FriendActor reads it
 * for an instance detail, the scheduler's completion hook marks entries
 * finished.  Nothing is held longer than a lookup.
 * Bounds: at most running_max entries of running instances (when full, the
 * entries not reported on for PJ_PROGRESS_STALE_MS are swept once, then a
 * new instance is simply not kept) and finished_max finished ones, in a
 * ring of (id, sequence) in the order they finished; an ending that finds
 * the ring full drops the oldest finished entry (unless that instance ran
 * again since, which its sequence tells).  Idle, the table costs nothing:
 * buckets are allocated with the first entry and grow by doubling.
 * Threads: any; every call takes the mutex.
 */
#include "server/sched/progress.h"

#include <pthread.h>
#include <stdlib.h>

#include "runtime/alloc.h"

struct node {
	int64_t               id;
	struct pj_task_counts c;
	int64_t               touched_ms;
	uint64_t              fin_seq; /* the ring slot's sequence */
	struct node          *next;
};

struct ring_slot {
	int64_t  id;
	uint64_t seq;
};

struct pj_progress {
	pthread_mutex_t   mu;
	struct node     **b;
	size_t            nb, running, finished;
	size_t            running_max, finished_max;
	struct ring_slot *ring; /* finished_max slots */
	size_t            head, count;
	uint64_t          seq;
};

struct pj_progress *
pj_progress_new(size_t running_max, size_t finished_max)
{
	struct pj_progress *p = ar_xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	p->running_max = running_max ? running_max : PJ_PROGRESS_RUNNING_MAX;
	p->finished_max
	    = finished_max ? finished_max : PJ_PROGRESS_FINISHED_MAX;
	return (p);
}

void
pj_progress_free(struct pj_progress *p)
{
	if (p == NULL) {
		return;
	}
	for (size_t k = 0; k < p->nb; k++) {
		for (struct node *n = p->b[k], *x; n != NULL; n = x) {
			x = n->next;
			free(n);
		}
	}
	free(p->b);
	free(p->ring);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static size_t
slot_of(const struct pj_progress *p, int64_t id)
{
	uint64_t h = (uint64_t) id * 0x9E3779B97F4A7C15ull;
	return (size_t) (h >> 32) & (p->nb - 1);
}

static struct node **
find(struct pj_progress *p, int64_t id)
{
	struct node **np;
	if (p->nb == 0) {
		return (NULL);
	}
	for (np = &p->b[slot_of(p, id)]; *np != NULL; np = &(*np)->next) {
		if ((*np)->id == id) {
			return (np);
		}
	}
	return (NULL);
}

static void
unlink_node(struct pj_progress *p, struct node **np)
{
	struct node *n = *np;
	*np            = n->next;
	if (n->c.finished) {
		p->finished--;
	} else {
		p->running--;
	}
	free(n);
}

static void
grow(struct pj_progress *p)
{
	size_t        onb = p->nb;
	struct node **ob  = p->b;
	p->nb             = onb ? 2 * onb : 64;
	p->b              = ar_xcalloc(p->nb, sizeof(*p->b));
	for (size_t k = 0; k < onb; k++) {
		for (struct node *n = ob[k], *x; n != NULL; n = x) {
			size_t s = slot_of(p, n->id);
			x        = n->next;
			n->next  = p->b[s];
			p->b[s]  = n;
		}
	}
	free(ob);
}

/* Drops running entries nobody reported on for PJ_PROGRESS_STALE_MS (an
 * instance that ended without passing the completion hook here, e.g. on a
 * server that lost the app meanwhile). */
static void
sweep(struct pj_progress *p, int64_t now_ms)
{
	for (size_t k = 0; k < p->nb; k++) {
		struct node **np = &p->b[k];
		while (*np != NULL) {
			if (!(*np)->c.finished
			    && now_ms - (*np)->touched_ms
			        > PJ_PROGRESS_STALE_MS) {
				unlink_node(p, np);
			} else {
				np = &(*np)->next;
			}
		}
	}
}

void
pj_progress_update(struct pj_progress *p, int64_t instance_id, int64_t total,
    int64_t succeeded, int64_t failed, int64_t report_time, int64_t now_ms)
{
	struct node **np, *n;
	if (p == NULL) {
		return;
	}
	pthread_mutex_lock(&p->mu);
	if ((np = find(p, instance_id)) != NULL) {
		n = *np;
		if (report_time < n->c.report_time && !n->c.finished) {
			goto out; /* older than what we have */
		}
		if (n->c.finished) { /* ran again (retried by hand) */
			if (p->running >= p->running_max) {
				sweep(p, now_ms);
				np = find(p, instance_id); /* chains changed */
			}
			if (p->running >= p->running_max) {
				unlink_node(p, np); /* full: not kept */
				goto out;
			}
			n->c.finished = false;
			p->finished--;
			p->running++;
		}
	} else {
		if (p->running >= p->running_max) {
			sweep(p, now_ms);
		}
		if (p->running >= p->running_max) {
			goto out;
		}
		if (p->running + p->finished >= p->nb) {
			grow(p);
		}
		n        = ar_xcalloc(1, sizeof(*n));
		n->id    = instance_id;
		size_t s = slot_of(p, instance_id);
		n->next  = p->b[s];
		p->b[s]  = n;
		p->running++;
	}
	n->c.total       = total;
	n->c.succeeded   = succeeded;
	n->c.failed      = failed;
	n->c.report_time = report_time > 0 ? report_time : now_ms;
	n->touched_ms    = now_ms;
out:
	pthread_mutex_unlock(&p->mu);
}

void
pj_progress_finish(struct pj_progress *p, int64_t instance_id)
{
	struct node **np;
	if (p == NULL) {
		return;
	}
	pthread_mutex_lock(&p->mu);
	if ((np = find(p, instance_id)) == NULL || (*np)->c.finished) {
		goto out;
	}
	if (p->ring == NULL) {
		p->ring = ar_xcalloc(p->finished_max, sizeof(*p->ring));
	}
	if (p->count == p->finished_max) { /* forget the oldest ending */
		struct ring_slot *o  = &p->ring[p->head];
		struct node     **op = find(p, o->id);
		if (op != NULL && (*op)->c.finished
		    && (*op)->fin_seq == o->seq) {
			unlink_node(p, op);
		}
		p->head = (p->head + 1) % p->finished_max;
		p->count--;
		np = find(p, instance_id); /* the chain may have changed */
	}
	(*np)->c.finished = true;
	(*np)->fin_seq    = ++p->seq;
	p->running--;
	p->finished++;
	p->ring[(p->head + p->count) % p->finished_max]
	    = (struct ring_slot) { instance_id, p->seq };
	p->count++;
out:
	pthread_mutex_unlock(&p->mu);
}

void
pj_progress_drop(struct pj_progress *p, int64_t instance_id)
{
	struct node **np;
	if (p == NULL) {
		return;
	}
	pthread_mutex_lock(&p->mu);
	if ((np = find(p, instance_id)) != NULL) {
		unlink_node(p, np); /* a ring slot left behind finds nothing */
	}
	pthread_mutex_unlock(&p->mu);
}

bool
pj_progress_get(
    struct pj_progress *p, int64_t instance_id, struct pj_task_counts *c)
{
	struct node **np;
	bool          ok = false;
	if (p == NULL) {
		return (false);
	}
	pthread_mutex_lock(&p->mu);
	if ((np = find(p, instance_id)) != NULL) {
		*c = (*np)->c;
		ok = true;
	}
	pthread_mutex_unlock(&p->mu);
	return (ok);
}

void
pj_progress_size(struct pj_progress *p, size_t *running, size_t *finished)
{
	pthread_mutex_lock(&p->mu);
	*running  = p->running;
	*finished = p->finished;
	pthread_mutex_unlock(&p->mu);
}
