/*
 * remote_in.c - inbound connections: accept (loopback only without a
 * cluster key), the acceptor's half of the handshake (remote_auth.c), read
 * frames and hand them to envelope.c.
 *
 * Design notes: one read loop per accepted connection; each read takes
 * whatever has arrived into a buffer from which every complete frame is
 * delivered (many frames cost one read).  Callbacks run on nng's threads
 * and never block: they parse and push into mailboxes.  A connection that
 * ends is unlinked from r->conns by its own callback and handed to the
 * housekeeper (remote.c), which frees it (nng_aio_free waits for that
 * callback to return).  A frame over the limit is skipped as it arrives
 * (never buffered) and the connection lives on.  Reads before the proof
 * carry a timeout: the whole handshake must be done within
 * handshake_timeout_ms (a peer that trickles bytes holds nothing long).
 * Lock: r->mtx, briefly.
 */
#include "runtime/remote_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK 65536

static uint32_t
get_be32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
	    | (uint32_t) p[2] << 8 | p[3]);
}

void
conn_free(conn *c)
{
	nng_stream_close(c->s);
	nng_aio_stop(c->aio); /* waits for its callback to return */
	nng_aio_stop(c->tx_aio);
	nng_aio_stop(c->proof_aio);
	nng_aio_free(c->aio);
	nng_aio_free(c->tx_aio);
	nng_aio_free(c->proof_aio);
	nng_stream_free(c->s);
	free(c->buf);
	free(c);
}

/*
 * Called from c's own callback: unlink and close it; the housekeeper
 * frees it.  If remote_quiesce unlinked it first, that one frees it.
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
	if (found) {
		nng_stream_close(c->s);
		c->next       = r->dead_conns;
		r->dead_conns = c;
		pthread_cond_signal(&r->cv);
	}
	pthread_mutex_unlock(&r->mtx);
}

/* A peer refused on the key: one dead letter, one line per address. */
static void
refuse(conn *c, const char *why)
{
	char detail[300];
	snprintf(detail, sizeof(detail),
	    "connection from %s refused: %s: closed", c->peer, why);
	dead_letter_raw(c->sys,
	    AR__DEAD_LETTER_REASON__DEAD_LETTER_UNAUTHENTICATED, "", c->peer,
	    c->sys->address, 0, detail);
	refusal_log(c->sys, c->peer_ip, why);
}

/*
 * The handshake (remote_auth.c): the dialer's hello, answered with ours;
 * then its proof, checked before any frame is read and answered with
 * ours.  *posp gets the bytes it took; false if c must close.
 */
static bool
hello_parse(conn *c, size_t *posp)
{
	ar_system  *sys = c->sys;
	size_t      peer_max;
	char        detail[200];
	const char *why;
	int         rv;
	if (!c->hello_in_ok) {
		rv = hello_check(c->buf, c->len, &peer_max);
		if (rv == 1) {
			return (true); /* a prefix so far */
		}
		if (rv == 0) {
			if ((why = hello_keys_differ(sys->rem, c->buf))
			    != NULL) {
				/* our hello all the same (it proves nothing):
				 * the dialer learns why; conn_tx_cb closes */
				refuse(c, why);
				hello_fill(sys, c->hello_out);
				atomic_store(&c->refusing, true);
				*posp       = c->len;
				nng_iov iov = { c->hello_out, HELLO_BYTES };
				nng_aio_set_iov(c->tx_aio, 1, &iov);
				nng_stream_send(c->s, c->tx_aio);
				return (true);
			}
			/* ours in return, only to a pj peer */
			memcpy(c->hello_in, c->buf, HELLO_BYTES);
			hello_fill(sys, c->hello_out);
			c->hello_in_ok = true;
			*posp          = HELLO_BYTES;
			nng_iov iov    = { c->hello_out, HELLO_BYTES };
			nng_aio_set_iov(c->tx_aio, 1, &iov);
			nng_stream_send(c->s, c->tx_aio);
			return (true);
		}
		if (rv == AR_ETYPE) {
			snprintf(detail, sizeof(detail),
			    "connection from %s speaks wire version %u, this "
			    "system %u (upgrade the older side): closed",
			    c->peer, (unsigned) (c->buf[4] << 8 | c->buf[5]),
			    HELLO_VERSION);
		} else {
			snprintf(detail, sizeof(detail),
			    "connection from %s did not start with the "
			    "runtime's hello (not a pj system?): closed",
			    c->peer);
		}
		dead_letter_raw(sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_UNDECODABLE, "",
		    c->peer, sys->address, c->len, detail);
		return (false);
	}
	if (c->len - *posp < PROOF_BYTES) {
		return (true);
	}
	if (!hello_proof_ok(
	        sys->rem, true, c->hello_in, c->hello_out, c->buf + *posp)) {
		refuse(c,
		    sys->rem->key != NULL
		        ? "it did not prove the cluster key (another key?)"
		        : "it did not prove the empty key of a node without "
		          "one");
		return (false);
	}
	*posp += PROOF_BYTES;
	c->hello_ok = true;
	hello_proof(sys->rem, false, c->hello_in, c->hello_out, c->proof_out);
	nng_iov iov = { c->proof_out, PROOF_BYTES };
	nng_aio_set_iov(c->proof_aio, 1, &iov);
	nng_stream_send(c->s, c->proof_aio);
	return (true);
}

/* Delivers every complete frame in c->buf; false if c must close. */
static bool
conn_parse(conn *c)
{
	ar_system *sys = c->sys;
	size_t     pos = 0, limit = sys->rem->frame_limit;
	char       detail[200];
	while (!c->hello_ok) { /* the hello and the proof may come as one */
		size_t before = pos;
		if (atomic_load(&c->refusing)) {
			c->len = 0; /* nothing more is looked at */
			return (true);
		}
		if (!hello_parse(c, &pos)) {
			return (false);
		}
		if (pos == before) {
			if (pos > 0) {
				memmove(c->buf, c->buf + pos, c->len - pos);
				c->len -= pos;
			}
			return (true);
		}
	}
	for (;;) {
		if (c->skip > 0) {
			size_t n
			    = c->len - pos < c->skip ? c->len - pos : c->skip;
			pos += n;
			c->skip -= n;
			if (c->skip > 0) {
				break;
			}
		}
		if (c->len - pos < LEN_BYTES) {
			break;
		}
		uint32_t flen = get_be32(c->buf + pos);
		if (flen > limit) {
			snprintf(detail, sizeof(detail),
			    "frame of %u bytes from %s over the limit of %zu "
			    "(max_message_bytes %zu): skipped, the connection "
			    "lives on",
			    flen, c->peer, limit, sys->cfg.max_message_bytes);
			dead_letter_raw(sys,
			    AR__DEAD_LETTER_REASON__DEAD_LETTER_TOO_LARGE, "",
			    c->peer, sys->address, flen, detail);
			pos += LEN_BYTES;
			c->skip = flen;
			continue;
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
	if (c->hello_ok && c->skip == 0 && c->len >= LEN_BYTES) {
		/* get_be32 <= frame_limit here (conn_parse skipped others) */
		size_t frame = LEN_BYTES + (size_t) get_be32(c->buf);
		if (frame > c->len + want) {
			want = frame - c->len; /* room for the whole frame */
		}
	}
	if (c->cap - c->len < want) {
		c->cap = c->len + want;
		c->buf = ar_xrealloc(c->buf, c->cap);
	} else if (c->len == 0 && c->cap > 4 * READ_CHUNK) {
		/* a big frame went by: do not keep its buffer */
		free(c->buf);
		c->cap = READ_CHUNK;
		c->buf = ar_xmalloc(c->cap);
	}
	if (!c->hello_ok) { /* the whole handshake within its deadline */
		int64_t left = c->hs_deadline - ar_mono_ms();
		nng_aio_set_timeout(
		    c->aio, left > 1 ? (nng_duration) left : 1);
	} else {
		nng_aio_set_timeout(c->aio, NNG_DURATION_INFINITE);
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
		if (rv == NNG_ETIMEDOUT && !atomic_load(&c->refusing)) {
			char why[120];
			snprintf(why, sizeof(why),
			    "it did not prove the cluster key within %d ms",
			    c->sys->cfg.handshake_timeout_ms);
			refuse(c, why);
			conn_drop(c);
		} else if (rv != NNG_ECLOSED && rv != NNG_ECANCELED) {
			ar_log(AR_LOG_DEBUG, "remote",
			    "system=%s inbound connection from %s ended: %s",
			    c->sys->name, c->peer, nng_strerror(rv));
			conn_drop(c);
		}
		return; /* closed by remote_quiesce, which frees it */
	}
	c->len += nng_aio_count(c->aio);
	if (!conn_parse(c)) {
		conn_drop(c);
		return;
	}
	if (atomic_load(&c->sys->rem->quiesced)) {
		return; /* remote_quiesce frees it */
	}
	conn_read(c);
}

/* Our hello or proof went out (or the connection is gone: the read learns
 * it; 28 or 32 bytes on a fresh connection: never a partial write).  A
 * dialer refused for its key flag gets our hello, then the close. */
static void
conn_tx_cb(void *arg)
{
	conn *c = arg;
	if (atomic_load(&c->refusing)) {
		conn_drop(c); /* refused: the hello that says why has gone */
	}
}

void
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
		bool  lo;
		atomic_init(&c->refusing, false);
		c->sys         = sys;
		c->hs_deadline = ar_mono_ms() + sys->cfg.handshake_timeout_ms;
		c->s           = nng_aio_get_output(r->acc, 0);
		lo = stream_peer(c->s, c->peer, sizeof(c->peer), c->peer_ip,
		    sizeof(c->peer_ip));
		(void) nng_stream_set_bool(c->s, NNG_OPT_TCP_KEEPALIVE, true);
		if (r->key == NULL && !lo) {
			/* protected mode: not a byte read */
			refuse(c,
			    "this node has no cluster key and accepts "
			    "loopback "
			    "peers only (protected mode)");
			nng_stream_close(c->s);
			nng_stream_free(c->s);
			free(c);
		} else if (nng_aio_alloc(&c->aio, conn_rx_cb, c) != 0
		    || nng_aio_alloc(&c->tx_aio, conn_tx_cb, c) != 0
		    || nng_aio_alloc(&c->proof_aio, conn_tx_cb, c) != 0) {
			nng_aio_free(c->aio);
			nng_aio_free(c->tx_aio);
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
