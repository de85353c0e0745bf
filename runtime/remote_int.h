/*
 * remote_int.h - what the remote transport's files share (not public):
 * remote.c (lifecycle, the wire's hello, the housekeeping thread),
 * remote_in.c (inbound connections), remote_out.c (associations: outbound
 * connections) and remote_ref.c (the remote-ref table).  Design notes and
 * the lock order are at the top of remote.c.
 */
#ifndef AR_REMOTE_INT_H
#define AR_REMOTE_INT_H

#include "runtime/internal.h"

#define HELLO_BYTES 12
#define HELLO_VERSION 2
#define LEN_BYTES 4
#define FRAME_MAX (1u << 20) /* soft cap on envelopes per frame (bytes) */
#define FRAME_SLACK 65536u   /* an envelope's bytes beyond its body */
#define BACKOFF_MIN_MS 100

/* A pending outbound frame: LEN_BYTES, then envelopes (or a bare hello). */
typedef struct obuf {
	uint8_t     *data;
	size_t       len, cap;
	size_t       max_body; /* the largest body in it */
	uint32_t     count;    /* envelopes (0 for the hello) */
	struct obuf *next;
} obuf;

/*
 * One per remote "host:port" we send to.  Every field is guarded by mtx
 * but users (senders holding a pointer): raised under remote->mtx, where
 * the housekeeper reads it, and dropped without it.
 */
typedef struct assoc {
	pthread_mutex_t    mtx;
	ar_system         *sys;
	char              *hostport;
	nng_stream_dialer *dialer;
	nng_aio           *dial_aio, *tx_aio, *rx_aio;
	nng_stream        *s;           /* the live connection, or NULL */
	nng_stream        *dead;        /* closed; freed by the housekeeper */
	obuf              *head, *tail; /* frames waiting for the link */
	obuf              *tx;          /* the write in flight */
	nng_stream        *tx_s;        /* ... on this stream */
	size_t             tx_off;
	uint8_t            rx_buf[HELLO_BYTES];
	size_t             rx_have;  /* bytes of the peer's hello so far */
	size_t             peer_max; /* its max_message_bytes; 0 = unknown */
	uint32_t           queued;   /* envelopes waiting (not in tx) */
	atomic_uint        users;    /* remote_send calls holding it */
	int                backoff_ms;
	int64_t            redial_due; /* mono ms; 0 = none due */
	int64_t            active_ms;  /* last connect or frame written */
	bool connected; /* s is set (our hello may still be on its way) */
	bool up;        /* the peer's hello arrived: frames may go */
	bool sending, reading, closed, dialing, ever_connected;
} assoc;

typedef struct conn {
	ar_system   *sys;
	nng_stream  *s;
	nng_aio     *aio, *tx_aio;
	uint8_t     *buf;
	size_t       len, cap;
	size_t       skip; /* bytes of an over-limit frame still to drop */
	uint8_t      hello_out[HELLO_BYTES];
	bool         hello_ok;
	char         peer[64];
	struct conn *next;
} conn;

struct remote {
	pthread_mutex_t      mtx; /* conns, dead_conns, assocs, kick, stop */
	pthread_cond_t       cv;
	pthread_t            thread; /* the housekeeper */
	bool                 thread_started, stop, kick;
	nng_stream_listener *listener;
	nng_aio             *acc;
	atomic_bool          quiesced;
	conn                *conns;      /* live inbound connections */
	conn                *dead_conns; /* closed, to be freed */
	assoc              **assocs;
	uint32_t             nassocs, capassocs;
	size_t               frame_limit; /* of frames we accept */
	int64_t              forget_ms;
};

/* remote.c */
void   hello_fill(ar_system *sys, uint8_t out[HELLO_BYTES]);
int    hello_check(const uint8_t *p, size_t *peer_maxp);
size_t frame_limit_of(size_t max_message_bytes);
void   remote_kick(remote *r); /* wakes the housekeeper; no lock held */

/* remote_in.c */
void accept_cb(void *arg);
void conn_free(conn *c); /* stops its aios first: not from its callbacks */

/* remote_out.c */
int  assoc_open(ar_system *sys, const char *hostport, assoc **ap);
void assoc_tick(assoc *a, int64_t now, int64_t *wakep);
bool assoc_forgettable(assoc *a, int64_t now, int64_t forget_ms);
void assoc_close(assoc *a); /* stop its I/O; not from its callbacks */
void assoc_free(assoc *a, int reason, const char *detail);

/* remote_ref.c */
remote_ent *remote_ref_acquire(ar_system *sys, ar_ref ref);
void        remote_ref_release(ar_system *sys, remote_ent *re);
void        remote_refs_sweep(ar_system *sys, int64_t now, const strmap *live);

#endif /* AR_REMOTE_INT_H */
