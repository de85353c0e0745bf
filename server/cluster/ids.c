/*
 * server/cluster/ids.c - snowflake ids (see ids.h).
 */
#include "server/cluster/ids.h"

#include <stdbool.h>
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
	g->seen_ms   = wall_ms();
	g->last_ms   = g->seen_ms + PJ_IDS_AHEAD_MS; /* see ids.h */
	g->seq       = (1 << PJ_IDS_SEQ_BITS) - 1;
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
	for (;;) {
		now       = wall_ms();
		bool back = now < g->seen_ms; /* the clock stepped back */
		if (!back) {
			g->seen_ms = now;
		}
		if (now > g->last_ms) {
			g->last_ms = now;
			g->seq     = 0;
			break;
		}
		if (g->seq < seq_max) {
			g->seq++; /* same millisecond, or borrowed ones */
			break;
		}
		if (back || g->last_ms + 1 <= now + PJ_IDS_AHEAD_MS) {
			g->last_ms++; /* borrow the next millisecond */
			g->seq = 0;
			break;
		}
		/* the whole allowance borrowed: let the clock catch up */
		pthread_mutex_unlock(&g->mtx);
		nanosleep(&(struct timespec) { 0, 250 * 1000 }, NULL);
		pthread_mutex_lock(&g->mtx);
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
