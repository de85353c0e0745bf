/*
 * remote.c - moving frames between systems over TCP with nng's stream API
 * (Akka's Artery, small).  The frames' contents are envelope.c's business.
 *
 * Design notes
 * ------------
 * - Why streams and not SP sockets: with PUSH/PULL a message crossed three
 *   nng task threads on the receiving side (transport, pipe, socket) before
 *   our callback saw it, and each hop can be a ~20 us wake-up on this
 *   machine; a stream read completes straight into our callback.  And the
 *   SP layer drops what it cannot parse before we see it, so garbage at the
 *   port could not become a dead letter.  Here every byte is ours.
 * - Wire: a connection starts with an 8-byte hello ("PJAR", version 1,
 *   two reserved bytes); then frames, each a 4-byte big-endian length and
 *   that many bytes of ar.Batch.  A connection whose first bytes are not
 *   the hello, or that announces a frame over the limit (max_message_bytes
 *   + FRAME_MAX + 64 KiB), is a dead letter (UNDECODABLE / TOO_LARGE) and is
 *   closed; everything else a frame holds is judged envelope by envelope.
 * - Inbound: one stream listener per system; one read loop per accepted
 *   connection, each read taking whatever has arrived into a buffer from
 *   which every complete frame is delivered (so many frames cost one read).
 *   Callbacks run on nng's threads and never block: they parse and push
 *   into mailboxes.  A dead connection is freed on the timer thread.
 * - Outbound: one association per remote "host:port": a dialer, at most one
 *   connection, at most one send in flight.  Envelopes told meanwhile are
 *   appended to a pending frame (batching: nng's per-call cost is paid per
 *   frame; an idle link sends at once).  One connection and FIFO frames:
 *   order holds per sender->receiver pair.  A read stays posted on the
 *   connection only to learn at once that the peer went away; then the
 *   association redials with exponential back-off (100 ms doubling to
 *   reconnect_max_ms), from the timer thread.
 * - Delivery is at most once, as in Akka: a frame being written when the
 *   connection dies is lost (its envelopes become dead letters,
 *   UNREACHABLE); asks time out.  While a peer is unreachable the pending
 *   queue is bounded (outbound_queue_max), beyond it envelopes are dead
 *   letters at once, never an unbounded heap.
 * - Shutdown (nng's rule: stop aios before closing, free last): the
 *   listener closes and its accept stops; every connection is closed and
 *   its aio stopped; then aios, streams and dialers are freed.
 * Locks: r->mtx (association and connection lists) and a->mtx are leaves;
 * nng calls that start I/O are made after a->mtx is released.
 */
#include "runtime/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_MAX (1u << 20) /* soft cap on envelopes per frame (bytes) */
#define HELLO_BYTES 8
#define LEN_BYTES 4
#define RESERVE (HELLO_BYTES + LEN_BYTES) /* room before a frame */
#define READ_CHUNK 65536
#define BACKOFF_MIN_MS 100

static const uint8_t hello[HELLO_BYTES] = { 'P', 'J', 'A', 'R', 0, 1, 0, 0 };

/* A pending outbound frame: RESERVE bytes, then envelopes. */
typedef struct obuf {
	uint8_t     *data;
	size_t       len, cap;
	uint32_t     count;
	struct obuf *next;
} obuf;

typedef struct assoc {
	pthread_mutex_t    mtx;
	ar_system         *sys;
	char              *hostport;
	nng_stream_dialer *dialer;
	nng_aio           *dial_aio, *tx_aio, *rx_aio;
	nng_stream        *s;    /* the live connection, or NULL */
	nng_stream        *dead; /* closed, freed before the next dial */
	obuf              *head, *tail; /* pending frames */
	obuf              *tx;          /* the frame being written */
	nng_stream        *tx_s;        /* ... on this stream */
	size_t             tx_off, tx_end;
	uint8_t            rx_byte;
	uint32_t           queued; /* envelopes pending (not in tx) */
	int                backoff_ms;
	bool               connected, need_hello, sending, reading, closed;
	bool               dialing, ever_connected;
} assoc;

typedef struct conn {
	ar_system   *sys;
	nng_stream  *s;
	nng_aio     *aio;
	uint8_t     *buf;
	size_t       len, cap;
	bool         hello_ok;
	char         peer[64];
	struct conn *next;
} conn;

struct remote {
	pthread_mutex_t      mtx;
	nng_stream_listener *listener;
	nng_aio             *acc;
	atomic_bool          quiesced;
	conn                *conns; /* live inbound connections */
	assoc              **assocs;
	uint32_t             nassocs, capassocs;
	size_t               frame_limit;
};

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
	    | (uint32_t) p[2] << 8 | p[3]);
}

static void
peer_name(nng_stream *s, char *buf, size_t n)
{
	nng_sockaddr sa;
	snprintf(buf, n, "?");
	if (nng_stream_get_addr(s, NNG_OPT_REMADDR, &sa) == 0
	    && sa.s_family == NNG_AF_INET) {
		const uint8_t *a = (const uint8_t *) &sa.s_in.sa_addr;
		const uint8_t *p = (const uint8_t *) &sa.s_in.sa_port;
		snprintf(buf, n, "%u.%u.%u.%u:%u", a[0], a[1], a[2], a[3],
		    (unsigned) (p[0] << 8 | p[1]));
	}
}

/* ---- inbound ----------------------------------------------------------- */
static void
conn_free(void *arg)
{
	conn *c = arg;
	nng_aio_free(c->aio); /* waits for its callback to return */
	nng_stream_free(c->s);
	free(c->buf);
	free(c);
}

static void
nothing(void *arg)
{
	(void) arg;
}

/*
 * Called from c's own callback: unlink, close, and free it on the timer
 * thread (freeing waits for this callback to return).  If remote_quiesce
 * unlinked it first, that one frees it.  The timer frees through its
 * free_arg, which also runs if the system stops before the timer fires.
 */
static void
conn_drop(conn *c)
{
	remote *r     = c->sys->rem;
	bool    found = false;
	pthread_mutex_lock(&r->mtx);
	for (conn **pp = &r->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp   = c->next;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&r->mtx);
	if (!found) {
		return;
	}
	nng_stream_close(c->s);
	if (timers_add(&c->sys->timers, 0, 0, nothing, conn_free, c, NULL)
	    != 0) {
		ar_log(AR_LOG_WARN, "remote",
		    "system=%s stopping: a closed connection from %s is not "
		    "freed",
		    c->sys->name, c->peer);
	}
}

/* Delivers every complete frame in c->buf; false if c must close. */
static bool
conn_parse(conn *c)
{
	ar_system *sys = c->sys;
	size_t     pos = 0;
	char       detail[160];
	if (!c->hello_ok) {
		if (c->len < HELLO_BYTES) {
			if (memcmp(c->buf, hello, c->len) == 0) {
				return (true); /* a prefix so far */
			}
		} else if (memcmp(c->buf, hello, 6) == 0) {
			c->hello_ok = true;
			pos         = HELLO_BYTES;
		}
		if (!c->hello_ok) {
			snprintf(detail, sizeof(detail),
			    "connection from %s did not start with the "
			    "runtime's "
			    "hello (not a pj system?): closed",
			    c->peer);
			dead_letter_raw(sys,
			    AR__DEAD_LETTER_REASON__DEAD_LETTER_UNDECODABLE,
			    "", c->peer, sys->address, c->len, detail);
			return (false);
		}
	}
	while (c->len - pos >= LEN_BYTES) {
		uint32_t flen = get_be32(c->buf + pos);
		if (flen > sys->rem->frame_limit) {
			snprintf(detail, sizeof(detail),
			    "frame of %u bytes from %s over the limit of %zu: "
			    "connection closed",
			    flen, c->peer, sys->rem->frame_limit);
			dead_letter_raw(sys,
			    AR__DEAD_LETTER_REASON__DEAD_LETTER_TOO_LARGE, "",
			    c->peer, sys->address, flen, detail);
			return (false);
		}
		if (c->len - pos - LEN_BYTES < flen) {
			break;
		}
		remote_deliver_frame(sys, c->buf + pos + LEN_BYTES, flen);
		pos += LEN_BYTES + flen;
	}
	if (pos > 0) {
		memmove(c->buf, c->buf + pos, c->len - pos);
		c->len -= pos;
	}
	return (true);
}

static void
conn_read(conn *c)
{
	size_t want = READ_CHUNK;
	if (c->hello_ok && c->len >= LEN_BYTES) {
		size_t frame = LEN_BYTES + (size_t) get_be32(c->buf);
		if (frame > c->len + want) {
			want = frame - c->len; /* room for the whole frame */
		}
	}
	if (c->cap - c->len < want) {
		c->cap = c->len + want;
		c->buf = ar_xrealloc(c->buf, c->cap);
	}
	nng_iov iov = { c->buf + c->len, c->cap - c->len };
	nng_aio_set_iov(c->aio, 1, &iov);
	nng_stream_recv(c->s, c->aio);
}

static void
conn_rx_cb(void *arg)
{
	conn *c  = arg;
	int   rv = nng_aio_result(c->aio);
	if (rv != 0) {
		if (rv != NNG_ECLOSED && rv != NNG_ECANCELED) {
			ar_log(AR_LOG_DEBUG, "remote",
			    "system=%s inbound connection from %s ended: %s",
			    c->sys->name, c->peer, nng_strerror(rv));
			conn_drop(c);
		}
		return; /* closed by remote_stop, which frees it */
	}
	c->len += nng_aio_count(c->aio);
	if (!conn_parse(c)) {
		conn_drop(c);
		return;
	}
	if (atomic_load(&c->sys->rem->quiesced)) {
		return; /* remote_stop frees it */
	}
	conn_read(c);
}

static void
accept_cb(void *arg)
{
	ar_system *sys = arg;
	remote    *r   = sys->rem;
	int        rv  = nng_aio_result(r->acc);
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
		return;
	}
	if (rv == 0) {
		conn *c = ar_xcalloc(1, sizeof(*c));
		c->sys  = sys;
		c->s    = nng_aio_get_output(r->acc, 0);
		peer_name(c->s, c->peer, sizeof(c->peer));
		if (nng_aio_alloc(&c->aio, conn_rx_cb, c) != 0) {
			nng_stream_free(c->s);
			free(c);
		} else {
			pthread_mutex_lock(&r->mtx);
			c->next  = r->conns;
			r->conns = c;
			pthread_mutex_unlock(&r->mtx);
			conn_read(c);
		}
	} else {
		ar_log(AR_LOG_WARN, "remote", "system=%s accept failed: %s",
		    sys->name, nng_strerror(rv));
	}
	if (!atomic_load(&r->quiesced)) {
		nng_stream_listener_accept(r->listener, r->acc);
	}
}

/* ---- outbound ---------------------------------------------------------- */
static void dial_cb(void *arg);
static void tx_cb(void *arg);
static void peer_rx_cb(void *arg);

static void
frame_dead(assoc *a, obuf *b, int reason, const char *detail)
{
	frame_lost(a->sys, a->hostport, b->data + RESERVE, b->len - RESERVE,
	    reason, detail);
	free(b->data);
	free(b);
}

/*
 * Runs on the timer thread: free the old connection, dial again.  A send
 * or read may still be on its way onto the old stream (its starter read the
 * stream under the lock just before the loss); then the stream cannot be
 * freed yet, and redial looks again in 10 ms instead of blocking the timer
 * thread (asks' timeouts run there too).
 */
static void
redial(void *arg)
{
	assoc      *a = arg;
	nng_stream *old;
	pthread_mutex_lock(&a->mtx);
	if (a->sending || a->reading) {
		if (!a->closed
		    && timers_add(
		           &a->sys->timers, 10, 0, redial, NULL, a, NULL)
		        == 0) {
			pthread_mutex_unlock(&a->mtx);
			return;
		}
		a->dialing = false; /* stopping: remote_stop cleans up */
		pthread_mutex_unlock(&a->mtx);
		return;
	}
	old     = a->dead;
	a->dead = NULL;
	if (a->closed) {
		a->dialing = false;
		pthread_mutex_unlock(&a->mtx);
		nng_stream_free(old);
		return;
	}
	pthread_mutex_unlock(&a->mtx);
	nng_aio_wait(a->tx_aio); /* callbacks that cleared the flags return */
	nng_aio_wait(a->rx_aio);
	nng_stream_free(old);
	nng_stream_dialer_dial(a->dialer, a->dial_aio);
}

/* a->mtx held; the association dials again after its back-off. */
static void
schedule_redial(assoc *a)
{
	int delay     = a->backoff_ms;
	a->backoff_ms = a->backoff_ms * 2 > a->sys->cfg.reconnect_max_ms
	    ? a->sys->cfg.reconnect_max_ms
	    : a->backoff_ms * 2;
	a->dialing    = true;
	if (timers_add(&a->sys->timers, delay, 0, redial, NULL, a, NULL)
	    != 0) {
		a->dialing = false; /* stopping */
	}
}

/* a->mtx held: take the next frame if connected and idle; true if the
 * caller must start the send on a->tx_s (after releasing the lock). */
static bool
next_send(assoc *a)
{
	obuf  *b = a->head;
	size_t start;
	if (!a->connected || a->sending || a->closed || b == NULL) {
		return (false);
	}
	a->head = b->next;
	if (a->head == NULL) {
		a->tail = NULL;
	}
	a->queued -= b->count;
	put_be32(b->data + HELLO_BYTES, (uint32_t) (b->len - RESERVE));
	start = HELLO_BYTES;
	if (a->need_hello) {
		memcpy(b->data, hello, HELLO_BYTES);
		start         = 0;
		a->need_hello = false;
	}
	a->tx      = b;
	a->tx_s    = a->s;
	a->tx_off  = start;
	a->tx_end  = b->len;
	a->sending = true;
	return (true);
}

/*
 * Starts (or continues) writing a->tx on stream s, which the caller read
 * under a->mtx together with `sending`: while `sending` is set the stream
 * is not freed (redial waits for it), even if the connection is lost.
 */
static void
start_send(assoc *a, nng_stream *s)
{
	nng_iov iov = { a->tx->data + a->tx_off, a->tx_end - a->tx_off };
	nng_aio_set_iov(a->tx_aio, 1, &iov);
	nng_stream_send(s, a->tx_aio);
}

/* The connection is gone (a failed write or read): close it, redial. */
static void
conn_lost(assoc *a, int rv)
{
	pthread_mutex_lock(&a->mtx);
	if (!a->connected) {
		pthread_mutex_unlock(&a->mtx);
		return;
	}
	a->connected = false;
	a->dead      = a->s;
	a->s         = NULL;
	if (!a->closed) {
		ar_log(
		    atomic_load(&a->sys->stopping) ? AR_LOG_INFO : AR_LOG_WARN,
		    "remote", "system=%s peer=%s connection lost (%s)",
		    a->sys->name, a->hostport, nng_strerror(rv));
		schedule_redial(a);
	}
	pthread_mutex_unlock(&a->mtx);
	nng_stream_close(a->dead);
	/* end the read and a write in flight now, whatever the close does
	 * (abort is safe in callbacks); redial waits for their callbacks */
	nng_aio_abort(a->rx_aio, NNG_ECLOSED);
	nng_aio_abort(a->tx_aio, NNG_ECLOSED);
}

static void
dial_cb(void *arg)
{
	assoc *a  = arg;
	int    rv = nng_aio_result(a->dial_aio);
	bool   go;
	pthread_mutex_lock(&a->mtx);
	a->dialing = false;
	if (a->closed) {
		if (rv == 0) {
			a->dead = nng_aio_get_output(a->dial_aio, 0);
		}
		pthread_mutex_unlock(&a->mtx);
		return;
	}
	if (rv != 0) {
		if (a->ever_connected || a->backoff_ms >= 1600) {
			ar_log(AR_LOG_DEBUG, "remote",
			    "system=%s peer=%s dial failed (%s), retry in %d "
			    "ms",
			    a->sys->name, a->hostport, nng_strerror(rv),
			    a->backoff_ms);
		}
		schedule_redial(a);
		pthread_mutex_unlock(&a->mtx);
		return;
	}
	a->s              = nng_aio_get_output(a->dial_aio, 0);
	a->connected      = true;
	a->need_hello     = true;
	a->ever_connected = true;
	a->backoff_ms     = BACKOFF_MIN_MS;
	ar_log(AR_LOG_INFO, "remote", "system=%s peer=%s connected",
	    a->sys->name, a->hostport);
	go              = next_send(a);
	nng_stream *now = a->s;
	a->reading      = true;
	pthread_mutex_unlock(&a->mtx);
	/* a read that only ends when the peer goes away */
	nng_iov iov = { &a->rx_byte, 1 };
	nng_aio_set_iov(a->rx_aio, 1, &iov);
	nng_stream_recv(now, a->rx_aio);
	if (go) {
		start_send(a, now);
	}
}

static void
peer_rx_cb(void *arg)
{
	assoc      *a  = arg;
	int         rv = nng_aio_result(a->rx_aio);
	nng_stream *now;
	pthread_mutex_lock(&a->mtx);
	/* peers never write to us on this connection: data is ignored and
	 * the read re-armed while the connection lives */
	now        = rv == 0 && a->connected && !a->closed ? a->s : NULL;
	a->reading = now != NULL;
	pthread_mutex_unlock(&a->mtx);
	if (now != NULL) {
		nng_iov iov = { &a->rx_byte, 1 };
		nng_aio_set_iov(a->rx_aio, 1, &iov);
		nng_stream_recv(now, a->rx_aio);
	} else if (rv != 0) {
		conn_lost(a, rv);
	}
}

static void
tx_cb(void *arg)
{
	assoc *a  = arg;
	int    rv = nng_aio_result(a->tx_aio);
	obuf  *done;
	bool   go;
	if (rv != 0) {
		pthread_mutex_lock(&a->mtx);
		done       = a->tx;
		a->tx      = NULL;
		a->sending = false;
		pthread_mutex_unlock(&a->mtx);
		frame_dead(a, done,
		    a->closed
		        ? AR__DEAD_LETTER_REASON__DEAD_LETTER_SYSTEM_STOPPING
		        : AR__DEAD_LETTER_REASON__DEAD_LETTER_UNREACHABLE,
		    nng_strerror(rv));
		conn_lost(a, rv);
		return;
	}
	a->tx_off += nng_aio_count(a->tx_aio);
	if (a->tx_off < a->tx_end) {
		start_send(a, a->tx_s); /* the rest of a partial write */
		return;
	}
	pthread_mutex_lock(&a->mtx);
	done       = a->tx;
	a->tx      = NULL;
	a->sending = false;
	go         = next_send(a);
	pthread_mutex_unlock(&a->mtx);
	free(done->data);
	free(done);
	if (go) {
		start_send(a, a->tx_s);
	}
}

static int
assoc_open(ar_system *sys, const char *hostport, assoc **ap)
{
	assoc *a = ar_xcalloc(1, sizeof(*a));
	char   url[320];
	int    rv;
	pthread_mutex_init(&a->mtx, NULL);
	a->sys        = sys;
	a->hostport   = ar_xstrdup(hostport);
	a->backoff_ms = BACKOFF_MIN_MS;
	snprintf(url, sizeof(url), "tcp://%s", hostport);
	if ((rv = nng_stream_dialer_alloc(&a->dialer, url)) != 0
	    || (rv = nng_aio_alloc(&a->dial_aio, dial_cb, a)) != 0
	    || (rv = nng_aio_alloc(&a->tx_aio, tx_cb, a)) != 0
	    || (rv = nng_aio_alloc(&a->rx_aio, peer_rx_cb, a)) != 0) {
		ar_log(AR_LOG_WARN, "remote", "system=%s cannot dial %s: %s",
		    sys->name, url, nng_strerror(rv));
		nng_aio_free(a->dial_aio);
		nng_aio_free(a->tx_aio);
		nng_aio_free(a->rx_aio);
		nng_stream_dialer_free(a->dialer);
		pthread_mutex_destroy(&a->mtx);
		free(a->hostport);
		free(a);
		return (AR_ENNG);
	}
	a->dialing = true;
	nng_stream_dialer_dial(a->dialer, a->dial_aio);
	*ap = a;
	return (0);
}

static assoc *
assoc_get(ar_system *sys, const char *hostport)
{
	remote *r = sys->rem;
	assoc  *a = NULL;
	pthread_mutex_lock(&r->mtx);
	for (uint32_t i = 0; i < r->nassocs; i++) {
		if (strcmp(r->assocs[i]->hostport, hostport) == 0) {
			a = r->assocs[i];
			break;
		}
	}
	if (a == NULL && !atomic_load(&sys->stopping)
	    && assoc_open(sys, hostport, &a) == 0) {
		if (r->nassocs == r->capassocs) {
			r->capassocs = r->capassocs ? r->capassocs * 2 : 8;
			r->assocs    = ar_xrealloc(
			       r->assocs, r->capassocs * sizeof(assoc *));
		}
		r->assocs[r->nassocs++] = a;
	}
	pthread_mutex_unlock(&r->mtx);
	return (a);
}

int
remote_send(ar_system *sys, remote_ent *re, nng_msg *m)
{
	assoc *a;
	obuf  *b;
	int    reason;
	bool   go;

	if (sys->rem == NULL || registry_at(hdr_of(m).type) == NULL) {
		reason = AR__DEAD_LETTER_REASON__DEAD_LETTER_UNREACHABLE;
		goto dead;
	}
	if ((a = assoc_get(sys, re->hostport)) == NULL) {
		reason = atomic_load(&sys->stopping)
		    ? AR__DEAD_LETTER_REASON__DEAD_LETTER_SYSTEM_STOPPING
		    : AR__DEAD_LETTER_REASON__DEAD_LETTER_UNREACHABLE;
		goto dead;
	}
	pthread_mutex_lock(&a->mtx);
	if (a->closed) {
		pthread_mutex_unlock(&a->mtx);
		reason = AR__DEAD_LETTER_REASON__DEAD_LETTER_SYSTEM_STOPPING;
		goto dead;
	}
	if (a->queued >= sys->cfg.outbound_queue_max) {
		pthread_mutex_unlock(&a->mtx);
		reason = AR__DEAD_LETTER_REASON__DEAD_LETTER_UNREACHABLE;
		goto dead;
	}
	b = a->tail;
	if (b == NULL || b->len - RESERVE >= FRAME_MAX) {
		b       = ar_xcalloc(1, sizeof(*b));
		b->cap  = 4096;
		b->data = ar_xmalloc(b->cap);
		b->len  = RESERVE;
		if (a->tail != NULL) {
			a->tail->next = b;
		} else {
			a->head = b;
		}
		a->tail = b;
	}
	envelope_append(sys, re, m, &b->data, &b->len, &b->cap);
	b->count++;
	a->queued++;
	go = next_send(a);
	pthread_mutex_unlock(&a->mtx);
	nng_msg_free(m);
	if (go) {
		start_send(a, a->tx_s);
	}
	return (0);
dead:
	dead_letter(sys, reason, AR_REF_NONE, re->full, m,
	    "remote system unreachable or its queue is full");
	nng_msg_free(m);
	return (reason == AR__DEAD_LETTER_REASON__DEAD_LETTER_UNREACHABLE
	        ? AR_EFULL
	        : AR_ESTOPPED);
}

/* ---- lifecycle --------------------------------------------------------- */
static int
split_url_host(const char *url, char *host, size_t n)
{
	const char *p, *colon;
	if (strncmp(url, "tcp://", 6) != 0) {
		return (AR_EINVAL);
	}
	p     = url + 6;
	colon = strrchr(p, ':');
	if (colon == NULL || (size_t) (colon - p) >= n) {
		return (AR_EINVAL);
	}
	memcpy(host, p, (size_t) (colon - p));
	host[colon - p] = '\0';
	return (0);
}

int
remote_start(ar_system *sys)
{
	remote *r;
	char    host[256], addr[400];
	int     rv, port = 0;

	r = ar_xcalloc(1, sizeof(*r));
	pthread_mutex_init(&r->mtx, NULL);
	atomic_init(&r->quiesced, false);
	r->frame_limit = sys->cfg.max_message_bytes + FRAME_MAX + 65536;
	sys->rem       = r;
	if (sys->cfg.listen_url == NULL) {
		/* outbound still works; replies to us are then dead letters */
		snprintf(addr, sizeof(addr), "pj://%s", sys->name);
		sys->address = ar_xstrdup(addr);
		sys->host    = ar_xstrdup("");
		return (0);
	}
	if (split_url_host(sys->cfg.listen_url, host, sizeof(host)) != 0) {
		ar_log(AR_LOG_ERROR, "remote",
		    "system=%s listen URL '%s' is not tcp://HOST:PORT",
		    sys->name, sys->cfg.listen_url);
		rv = AR_EINVAL;
		goto fail;
	}
	if ((rv = nng_stream_listener_alloc(&r->listener, sys->cfg.listen_url))
	        != 0
	    || (rv = nng_stream_listener_listen(r->listener)) != 0
	    || (rv = nng_stream_listener_get_int(
	            r->listener, NNG_OPT_TCP_BOUND_PORT, &port))
	        != 0
	    || (rv = nng_aio_alloc(&r->acc, accept_cb, sys)) != 0) {
		ar_log(AR_LOG_ERROR, "remote",
		    "system=%s cannot listen on %s: %s", sys->name,
		    sys->cfg.listen_url, nng_strerror(rv));
		rv = AR_ENNG;
		goto fail;
	}
	sys->port = port;
	if (sys->cfg.advertise_host != NULL) {
		snprintf(host, sizeof(host), "%s", sys->cfg.advertise_host);
	} else if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0
	    || strcmp(host, "*") == 0) {
		ar_log(AR_LOG_WARN, "remote",
		    "system=%s listens on all interfaces without "
		    "advertise_host: "
		    "others are told 127.0.0.1",
		    sys->name);
		snprintf(host, sizeof(host), "127.0.0.1");
	}
	snprintf(addr, sizeof(addr), "pj://%s@%s:%d", sys->name, host, port);
	sys->address = ar_xstrdup(addr);
	sys->host    = ar_xstrdup(host);
	nng_stream_listener_accept(r->listener, r->acc);
	return (0);
fail:
	nng_stream_listener_free(r->listener);
	pthread_mutex_destroy(&r->mtx);
	free(r);
	sys->rem = NULL;
	return (rv);
}

void
remote_quiesce(ar_system *sys)
{
	remote *r = sys->rem;
	if (r == NULL || atomic_exchange(&r->quiesced, true)) {
		return;
	}
	if (r->listener != NULL) {
		nng_stream_listener_close(r->listener);
		nng_aio_stop(r->acc); /* waits for a running callback */
	}
	/* inbound connections: stop reading (callbacks see `quiesced`) */
	for (;;) {
		conn *c;
		pthread_mutex_lock(&r->mtx);
		c = r->conns;
		if (c != NULL) {
			r->conns = c->next;
		}
		pthread_mutex_unlock(&r->mtx);
		if (c == NULL) {
			break;
		}
		nng_stream_close(c->s);
		nng_aio_stop(c->aio);
		conn_free(c);
	}
}

bool
remote_idle(ar_system *sys)
{
	remote *r    = sys->rem;
	bool    idle = true;
	if (r == NULL) {
		return (true);
	}
	pthread_mutex_lock(&r->mtx);
	for (uint32_t i = 0; i < r->nassocs && idle; i++) {
		assoc *a = r->assocs[i];
		pthread_mutex_lock(&a->mtx);
		idle = !a->sending && a->queued == 0;
		pthread_mutex_unlock(&a->mtx);
	}
	pthread_mutex_unlock(&r->mtx);
	return (idle);
}

void
remote_stop(ar_system *sys)
{
	remote *r = sys->rem;
	if (r == NULL) {
		return;
	}
	remote_quiesce(sys);
	/* the timer thread is already stopped: no redial is running */
	for (uint32_t i = 0; i < r->nassocs; i++) {
		assoc *a = r->assocs[i];
		pthread_mutex_lock(&a->mtx);
		a->closed = true;
		pthread_mutex_unlock(&a->mtx);
		nng_stream_dialer_close(a->dialer);
		nng_aio_stop(a->dial_aio);
		if (a->s != NULL) {
			nng_stream_close(a->s);
		}
		nng_aio_stop(a->tx_aio);
		nng_aio_stop(a->rx_aio);
	}
	for (uint32_t i = 0; i < r->nassocs; i++) {
		assoc *a = r->assocs[i];
		obuf  *b;
		nng_aio_free(a->dial_aio);
		nng_aio_free(a->tx_aio);
		nng_aio_free(a->rx_aio);
		/* the dialer first: nng frees it when its last stream is
		 * reaped; so TSan sees our last use of it come before that */
		nng_stream_dialer_free(a->dialer);
		nng_stream_free(a->s);
		nng_stream_free(a->dead);
		if (a->tx != NULL) {
			frame_dead(a, a->tx,
			    AR__DEAD_LETTER_REASON__DEAD_LETTER_SYSTEM_STOPPING,
			    "system stopped while the frame was being sent");
		}
		while ((b = a->head) != NULL) {
			a->head = b->next;
			frame_dead(a, b,
			    AR__DEAD_LETTER_REASON__DEAD_LETTER_SYSTEM_STOPPING,
			    "system stopped before the frame was sent");
		}
		pthread_mutex_destroy(&a->mtx);
		free(a->hostport);
		free(a);
	}
	nng_aio_free(r->acc);
	nng_stream_listener_free(r->listener);
	free(r->assocs);
	pthread_mutex_destroy(&r->mtx);
	free(r);
	sys->rem = NULL;
}
