/*
 * server/cluster/ids.h - snowflake instance ids carrying the server id
 * (powerjob-design.md §1.3), unique across servers without a database
 * round trip per id:
 *
 *   (ms - PJ_IDS_EPOCH_MS) << 22 | datacenter(2 bits, 0) << 20
 *       | server_id(14 bits) << 6 | sequence(6 bits)
 *
 * 64 ids per millisecond per server (64,000 a second).  A burst past 64
 * in a millisecond borrows the next milliseconds instead of waiting for
 * them (PowerJob's generator waits, spinning), running at most
 * PJ_IDS_AHEAD_MS ahead of the wall clock; past that it sleeps until the
 * clock catches up.  A schedule pass records tens of thousands of fires
 * at once: waiting cost 156 ms and a spinning core per 10,000 ids.  So
 * that a restarted server (the same server id) never issues an id its
 * previous process borrowed, a generator starts PJ_IDS_AHEAD_MS ahead.
 * When the clock steps back the generator keeps counting on its last
 * millisecond and borrows later ones without limit (PowerJob does the
 * same), so ids never repeat and stay increasing.
 *
 * Threads: pj_ids_next may be called from any thread (one mutex).
 */
#ifndef PJ_SERVER_CLUSTER_IDS_H
#define PJ_SERVER_CLUSTER_IDS_H

#include <pthread.h>
#include <stdint.h>

#define PJ_IDS_EPOCH_MS 1555776000000LL /* 2019-04-20 16:00 UTC */
#define PJ_IDS_SEQ_BITS 6
#define PJ_IDS_MACHINE_BITS 14
#define PJ_IDS_DC_BITS 2
#define PJ_IDS_AHEAD_MS 2000

struct pj_ids {
	pthread_mutex_t mtx;
	int             server_id; /* 1..10000, fits 14 bits */
	int64_t         last_ms; /* the millisecond of the last id */
	int64_t         seen_ms; /* the latest wall clock seen */
	int             seq;
};

/* 0, or PJ_STORE_EINVAL-like 1 when server_id does not fit 14 bits. */
int     pj_ids_init(struct pj_ids *g, int server_id);
void    pj_ids_fini(struct pj_ids *g);
int64_t pj_ids_next(struct pj_ids *g);
/* The server id inside an id. */
int pj_ids_server_of(int64_t id);

#endif
