/*
 * remote_int.h - what the remote transport's files share (not public):
 * remote.c (lifecycle, the housekeeping thread), remote_auth.c (the
 * wire's hello: the cluster-key handshake, refusals),
 * remote_in.c (inbound connections), remote_out.c (associations: outbound
 * connections) and remote_ref.c (the remote-ref table).  Design notes and
 * the lock order are at the top of remote.c.
 */
#ifndef AR_REMOTE_INT_H
#define AR_REMOTE_INT_H

#include "runtime/internal.h"

/* The hello (see remote.c): "PJAR", version (u16), flags, a reserved
 * byte, max_message_bytes (u32), a fresh nonce; then a proof each way. */
#define HELLO_VERSION 3
#define NONCE_BYTES 16
#define HELLO_BYTES (12 + NONCE_BYTES)
#define PROOF_BYTES 32    /* HMAC-SHA256 */
#define HELLO_KEYED 0x01u /* flags: the sender has a cluster key */
#define SEEN_MAX 64       /* refused peer addresses remembered (logged once) */
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
	obuf              *hs_out; /* a handshake message to write first */
	uint8_t            hello_mine[HELLO_BYTES];
	uint8_t            rx_buf[HELLO_BYTES + PROOF_BYTES];
	size_t             rx_have;  /* bytes of the peer's hello + proof */
	size_t             hs_max;   /* the peer's limit, before the proof */
	size_t             peer_max; /* its max_message_bytes; 0 = unknown */
	uint32_t           queued;   /* envelopes waiting (not in tx) */
	atomic_uint        users;    /* remote_send calls holding it */
	int                backoff_ms;
	int64_t            redial_due; /* mono ms; 0 = none due */
	int64_t            active_ms;  /* last connect or frame written */
	bool connected; /* s is set (our hello may still be on its way) */
	bool hs_proved; /* the peer's hello came, our proof is written */
	bool up;        /* the peer proved the key: frames may go */
	bool refused;   /* the last handshake failed on the key: sends are
	                   UNAUTHENTICATED dead letters until one succeeds */
	bool sending, reading, closed, dialing, ever_connected;
} assoc;

typedef struct conn {
	ar_system   *sys;
	nng_stream  *s;
	nng_aio     *aio, *tx_aio, *proof_aio;
	uint8_t     *buf;
	size_t       len, cap;
	size_t       skip; /* bytes of an over-limit frame still to drop */
	uint8_t      hello_in[HELLO_BYTES], hello_out[HELLO_BYTES];
	uint8_t      proof_out[PROOF_BYTES];
	bool         hello_in_ok; /* the dialer's hello came, ours went */
	bool         hello_ok;    /* the dialer proved the key: frames */
	atomic_bool  refusing;    /* our hello goes, then the connection */
	int64_t      hs_deadline; /* mono ms: the proof must be in by then */
	char         peer[64];    /* "ip:port" */
	char         peer_ip[48];
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
	uint8_t             *key; /* the cluster key; NULL = none */
	size_t               key_len;
	pthread_mutex_t      seen_mtx; /* a leaf: refused peers logged */
	char                 seen[SEEN_MAX][64];
	uint32_t             nseen, seen_next;
};

/* remote_auth.c */
int         auth_start(ar_system *sys, remote *r); /* copies the key */
void        auth_stop(remote *r);
void        hello_fill(ar_system *sys, uint8_t out[HELLO_BYTES]);
int         hello_check(const uint8_t *p, size_t have, size_t *peer_maxp);
const char *hello_keys_differ(remote *r, const uint8_t *peer_hello);
void        hello_proof(remote *r, bool dialer, const uint8_t *dialer_hello,
           const uint8_t *acceptor_hello, uint8_t out[PROOF_BYTES]);
bool        hello_proof_ok(remote *r, bool dialer, const uint8_t *dialer_hello,
           const uint8_t *acceptor_hello, const uint8_t *proof);
bool        stream_peer(nng_stream *s, char *name, size_t n, char *ip,
           size_t ipn); /* true if the peer is on loopback */
void        refusal_log(ar_system *sys, const char *addr, const char *what);

/* remote.c */
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
