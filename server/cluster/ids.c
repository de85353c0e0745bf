/*
 * server/cluster/ids.c - snowflake ids (see ids.h).
 */
#include "server/cluster/ids.h"

#include <sched.h>
#include <time.h>

static int64_t
wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int
pj_ids_init(struct pj_ids *g, int server_id)
{
	if (server_id < 0 || server_id >= (1 << PJ_IDS_MACHINE_BITS)) {
		return (1);
	}
	pthread_mutex_init(&g->mtx, NULL);
	g->server_id = server_id;
	g->last_ms   = 0;
	g->seq       = 0;
	return (0);
}

void
pj_ids_fini(struct pj_ids *g)
{
	pthread_mutex_destroy(&g->mtx);
}

int64_t
pj_ids_next(struct pj_ids *g)
{
	const int seq_max = (1 << PJ_IDS_SEQ_BITS) - 1;
	int64_t   now, id;
	pthread_mutex_lock(&g->mtx);
	now = wall_ms();
	if (now > g->last_ms) {
		g->last_ms = now;
		g->seq     = 0;
	} else if (g->seq < seq_max) {
		g->seq++; /* same millisecond, or the clock stepped back */
	} else {
		/* sequence used up: wait for the next millisecond, or borrow
		 * one when the clock is behind our last */
		while ((now = wall_ms()) == g->last_ms) {
			sched_yield();
		}
		g->last_ms = now > g->last_ms ? now : g->last_ms + 1;
		g->seq     = 0;
	}
	id = ((g->last_ms - PJ_IDS_EPOCH_MS)
	         << (PJ_IDS_SEQ_BITS + PJ_IDS_MACHINE_BITS + PJ_IDS_DC_BITS))
	    | ((int64_t) g->server_id << PJ_IDS_SEQ_BITS) | g->seq;
	pthread_mutex_unlock(&g->mtx);
	return (id);
}

int
pj_ids_server_of(int64_t id)
{
	return ((
	    int) ((id >> PJ_IDS_SEQ_BITS) & ((1 << PJ_IDS_MACHINE_BITS) - 1)));
}
