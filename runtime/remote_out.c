/*
 * remote_out.c - associations: the outbound half of remoting.  One per
 * remote "host:port": a dialer, at most one connection, at most one write
 * in flight, and the frames waiting for it.
 *
 * Design notes
 * ------------
 * - Batching: envelopes told while a write is in flight are appended to
 *   the last pending frame (nng's per-call cost is paid per frame; an idle
 *   link writes at once).  One connection and FIFO frames: order holds per
 *   sender->receiver pair.
 * - A connection's life: dial_cb sets `s` and writes our hello (without a
 *   cluster key only to a loopback peer); a read waits for the peer's
 *   hello, answered with our proof (`hs_out`, written before any frame),
 *   then for the peer's proof (`up` once it checks: the peer's size limit
 *   is then known, frames may go), then stays posted only to learn at
 *   once that the peer went away.  A handshake that fails on the key
 *   (refuse()) turns the queued frames into UNAUTHENTICATED dead letters,
 *   and so is every send until a redial's handshake succeeds.  A failed write
 * or read marks the connection lost *in the same critical section* that sees
 * the failure (lose()), so no frame is ever started on a stream known to be
 * broken: the frame in flight is lost, the frames queued behind it wait for
 * the next connection.
 * - Who owns the stream: `s` while live; on a loss lose() moves it to
 *   `dead` and closes it, under a->mtx.  Only the housekeeper frees `dead`,
 *   after the write and the read that were in flight on it have called
 *   back (`sending`, `reading` clear) and returned (nng_aio_wait), and
 *   only then dials again (after the back-off, 100 ms doubling to
 *   reconnect_max_ms).  A starter reads the stream under a->mtx and starts
 *   the I/O after releasing it; its flag keeps the stream from being freed
 *   meanwhile.  Closing a stream ends the I/O queued on it, but nng 1.5.2
 *   leaves I/O started on an already closed TCP stream pending for good
 *   (tcp_send and tcp_recv do not look at `closed`), so while a dead
 *   stream waits, the housekeeper aborts the association's aios every
 *   10 ms: with no other stream alive, whatever runs on them is the dead
 *   stream's.
 * - `users` counts remote_send calls holding the pointer (raised under
 *   r->mtx, dropped without it): the housekeeper, under r->mtx, forgets
 *   only an association nobody holds.
 * Locks: r->mtx -> a->mtx (see remote.c).  Dead letters and logging of
 * lost frames happen after a->mtx is released.
 */
#include "runtime/remote_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void dial_cb(void *arg);
static void tx_cb(void *arg);
static void rx_cb(void *arg);

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

static void
obuf_free(obuf *b)
{
	free(b->data);
	free(b);
}

static void
frame_dead(assoc *a, obuf *b, int reason, const char *detail)
{
	if (b->count > 0) {
		frame_lost(a->sys, a->hostport, b->data + LEN_BYTES,
		    b->len - LEN_BYTES, reason, detail);
	}
	obuf_free(b);
}

/* a->mtx held: the association dials again after its back-off. */
static void
schedule_redial(assoc *a)
{
	int max       = a->sys->cfg.reconnect_max_ms > BACKOFF_MIN_MS
	          ? a->sys->cfg.reconnect_max_ms
	          : BACKOFF_MIN_MS;
	a->redial_due = ar_mono_ms() + a->backoff_ms;
	a->backoff_ms = a->backoff_ms * 2 > max ? max : a->backoff_ms * 2;
}

/*
 * a->mtx held: the connection is gone.  Closing under the lock is safe
 * (nng completes the stream's I/O on its own threads) and means the
 * housekeeper, which frees `dead` under the same lock's protection, never
 * sees an unclosed stream.  True if the caller must kick the housekeeper.
 */
static bool
lose(assoc *a, int rv, bool quiet)
{
	if (!a->connected) {
		return (false);
	}
	a->connected = false;
	a->up        = false;
	a->hs_proved = false;
	a->dead      = a->s;
	a->s         = NULL;
	nng_stream_close(a->dead);
	if (a->hs_out != NULL) {
		obuf_free(a->hs_out);
		a->hs_out = NULL;
	}
	if (a->closed) {
		return (false);
	}
	if (!quiet) {
		ar_log(
		    atomic_load(&a->sys->stopping) ? AR_LOG_INFO : AR_LOG_WARN,
		    "remote", "system=%s peer=%s connection lost (%s)",
		    a->sys->name, a->hostport, nng_strerror(rv));
	}
	schedule_redial(a);
	return (true);
}

/*
 * a->mtx held: the handshake failed on the key.  The connection goes, the
 * frames queued are handed back in *droppedp (UNAUTHENTICATED dead letters
 * once the lock is released, refused_report), and sends are refused until
 * a handshake succeeds; the redials go on with the back-off.
 */
static bool
refuse(assoc *a, obuf **droppedp)
{
	*droppedp  = a->head;
	a->head    = NULL;
	a->tail    = NULL;
	a->queued  = 0;
	a->refused = true;
	return (lose(a, NNG_EPEERAUTH, true));
}

/* No lock held: the dead letters and the log line of a refusal. */
static void
refused_report(assoc *a, obuf *dropped, const char *why)
{
	char detail[300];
	snprintf(detail, sizeof(detail), "the link to %s was refused: %s",
	    a->hostport, why);
	dead_letter_raw(a->sys,
	    AR__DEAD_LETTER_REASON__DEAD_LETTER_UNAUTHENTICATED, "",
	    a->sys->address, a->hostport, 0, detail);
	while (dropped != NULL) {
		obuf *next = dropped->next;
		frame_dead(a, dropped,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_UNAUTHENTICATED,
		    detail);
		dropped = next;
	}
	refusal_log(a->sys, a->hostport, why);
}

/* a->mtx held: take the next frame if the link is up and idle; true if the
 * caller must start the write (after releasing the lock). */
static bool
next_send(assoc *a)
{
	obuf *b;
	if (a->sending || a->closed || !a->connected) {
		return (false);
	}
	if ((b = a->hs_out) != NULL) { /* the handshake's, first */
		a->hs_out = NULL;
	} else {
		if (!a->up || (b = a->head) == NULL) {
			return (false);
		}
		a->head = b->next;
		if (a->head == NULL) {
			a->tail = NULL;
		}
		a->queued -= b->count;
		put_be32(b->data, (uint32_t) (b->len - LEN_BYTES));
	}
	a->tx      = b;
	a->tx_s    = a->s;
	a->tx_off  = 0;
	a->sending = true;
	return (true);
}

/* Writes the rest of a->tx on a->tx_s; `sending` keeps the stream. */
static void
start_send(assoc *a)
{
	nng_iov iov = { a->tx->data + a->tx_off, a->tx->len - a->tx_off };
	nng_aio_set_iov(a->tx_aio, 1, &iov);
	nng_stream_send(a->tx_s, a->tx_aio);
}

static void
start_read(assoc *a, nng_stream *s)
{
	nng_iov iov;
	if (a->rx_have < sizeof(a->rx_buf)) {
		iov.iov_buf = a->rx_buf + a->rx_have;
		iov.iov_len = sizeof(a->rx_buf) - a->rx_have;
	} else {
		iov.iov_buf = a->rx_buf; /* data after the proof is ignored */
		iov.iov_len = 1;
	}
	nng_aio_set_iov(a->rx_aio, 1, &iov);
	nng_stream_recv(s, a->rx_aio);
}

static void
dial_cb(void *arg)
{
	assoc      *a  = arg;
	int         rv = nng_aio_result(a->dial_aio);
	nng_stream *s;
	obuf       *h, *dropped = NULL;
	bool        kick = false, go;
	char        name[64], ip[48];
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
		remote_kick(a->sys->rem);
		return;
	}
	s = nng_aio_get_output(a->dial_aio, 0);
	/* our hello first, alone: frames wait for the peer's proof */
	h       = ar_xcalloc(1, sizeof(*h));
	h->data = ar_xmalloc(HELLO_BYTES);
	h->len = h->cap = HELLO_BYTES;
	hello_fill(a->sys, h->data);
	memcpy(a->hello_mine, h->data, HELLO_BYTES);
	a->s              = s;
	a->connected      = true;
	a->up             = false;
	a->hs_proved      = false;
	a->rx_have        = 0;
	a->ever_connected = true;
	a->active_ms      = ar_mono_ms();
	if (a->sys->rem->key == NULL
	    && !stream_peer(s, name, sizeof(name), ip, sizeof(ip))) {
		/* protected mode: no key, no other host */
		obuf_free(h);
		kick = refuse(a, &dropped);
		pthread_mutex_unlock(&a->mtx);
		refused_report(a, dropped,
		    "this node has no cluster key and dials loopback peers "
		    "only (protected mode)");
		if (kick) {
			remote_kick(a->sys->rem);
		}
		return;
	}
	a->hs_out  = h;
	a->reading = true;
	go         = next_send(a);
	pthread_mutex_unlock(&a->mtx);
	start_read(a, s);
	if (go) {
		start_send(a);
	}
}

/*
 * The peer's hello has come (a->mtx held; released and retaken if frames
 * must be rewritten): frames queued while the peer's limit was unknown
 * lose the envelopes over it, as TOO_LARGE dead letters at this side.
 */
static void
peer_hello(assoc *a, size_t peer_max)
{
	obuf    *list    = NULL, *tail, *b, **pp;
	uint32_t dropped = 0;
	a->peer_max      = peer_max;
	for (b = a->head; b != NULL; b = b->next) {
		if (b->max_body > peer_max) {
			list = a->head; /* rewrite the queue, in order */
			break;
		}
	}
	if (list != NULL) {
		a->head = a->tail = NULL; /* `up` is false: nothing takes */
		pthread_mutex_unlock(&a->mtx);
		for (b = list; b != NULL; b = b->next) {
			if (b->max_body > peer_max) {
				uint32_t kept = 0;
				b->len        = LEN_BYTES
				    + frame_filter(a->sys, a->hostport,
				        b->data + LEN_BYTES,
				        b->len - LEN_BYTES, peer_max, &kept);
				dropped += b->count - kept;
				b->count    = kept;
				b->max_body = 0;
			}
		}
		pthread_mutex_lock(&a->mtx);
		/* drop emptied frames; the rest go before what was told
		 * meanwhile */
		tail = NULL;
		for (pp = &list; (b = *pp) != NULL;) {
			if (b->count == 0) {
				*pp = b->next;
				obuf_free(b);
				continue;
			}
			tail = b;
			pp   = &b->next;
		}
		if (tail != NULL) {
			tail->next = a->head;
			if (a->tail == NULL) {
				a->tail = tail;
			}
			a->head = list;
		}
		a->queued -= dropped;
	}
	a->up = a->connected;
}

/*
 * The dialer's half of the handshake (remote_auth.c): the peer's hello is
 * answered with our proof; its proof makes the link `up`.  Closed after
 * our proof and before its own: it refused our key.
 */
static void
rx_cb(void *arg)
{
	assoc      *a       = arg;
	remote     *r       = a->sys->rem;
	int         rv      = nng_aio_result(a->rx_aio);
	nng_stream *again   = NULL;
	obuf       *dropped = NULL, *p;
	bool        kick = false, go = false, up = false, refused = false;
	size_t      peer_max = 0;
	const char *d;
	char        why[200];
	why[0] = '\0';
	pthread_mutex_lock(&a->mtx);
	if (rv == 0 && a->connected && !a->closed) {
		if (a->rx_have < sizeof(a->rx_buf)) {
			a->rx_have += nng_aio_count(a->rx_aio);
		}
		int hv = a->hs_proved
		    ? 0
		    : hello_check(a->rx_buf, a->rx_have, &a->hs_max);
		if (!a->hs_proved && hv == 0) {
			if ((d = hello_keys_differ(r, a->rx_buf)) != NULL) {
				snprintf(why, sizeof(why), "%s", d);
				refused = true;
			} else {
				p       = ar_xcalloc(1, sizeof(*p));
				p->data = ar_xmalloc(PROOF_BYTES);
				p->len = p->cap = PROOF_BYTES;
				hello_proof(r, true, a->hello_mine, a->rx_buf,
				    p->data);
				a->hs_out    = p;
				a->hs_proved = true;
				go           = next_send(a);
			}
		} else if (hv != 0 && hv != 1) {
			snprintf(why, sizeof(why),
			    "the peer at %s answered with %s", a->hostport,
			    hv == AR_ETYPE ? "another wire version"
			                   : "something not a pj hello");
		}
		if (a->hs_proved && !a->up
		    && a->rx_have == sizeof(a->rx_buf)) {
			if (hello_proof_ok(r, false, a->hello_mine, a->rx_buf,
			        a->rx_buf + HELLO_BYTES)) {
				peer_max = a->hs_max;
				peer_hello(a, peer_max);
				a->backoff_ms = BACKOFF_MIN_MS;
				a->refused    = false;
				go            = next_send(a) || go;
				up            = a->up;
			} else {
				snprintf(why, sizeof(why),
				    "the peer did not prove the cluster key "
				    "(another key?)");
				refused = true;
			}
		}
		if (why[0] == '\0' && a->connected) {
			again = a->s;
		}
	} else if (rv != 0 && a->connected && !a->closed && a->hs_proved
	    && !a->up) {
		snprintf(why, sizeof(why),
		    "the peer closed the connection after our proof: it "
		    "refused our cluster key (another key, or none?)");
		refused = true;
	}
	a->reading = again != NULL;
	if (again == NULL && a->connected) {
		kick = refused
		    ? refuse(a, &dropped)
		    : lose(a, why[0] != '\0' ? NNG_EPROTO : rv, false);
	}
	pthread_mutex_unlock(&a->mtx);
	if (up) {
		ar_log(AR_LOG_INFO, "remote",
		    "system=%s peer=%s connected, %s (its max_message_bytes "
		    "%zu)",
		    a->sys->name, a->hostport,
		    r->key != NULL ? "cluster key proved both ways"
		                   : "loopback without a key",
		    peer_max);
	}
	if (refused) {
		refused_report(a, dropped, why);
	} else if (why[0] != '\0') {
		ar_log(AR_LOG_WARN, "remote", "system=%s %s: closed",
		    a->sys->name, why);
	}
	if (again != NULL) {
		start_read(a, again);
	}
	if (go) {
		start_send(a);
	}
	if (kick) {
		remote_kick(a->sys->rem);
	}
}

static void
tx_cb(void *arg)
{
	assoc *a  = arg;
	int    rv = nng_aio_result(a->tx_aio);
	obuf  *done;
	bool   go = false, kick = false, closed;
	if (rv == 0) {
		a->tx_off += nng_aio_count(a->tx_aio);
		if (a->tx_off < a->tx->len) {
			start_send(a); /* the rest of a partial write */
			return;
		}
	}
	pthread_mutex_lock(&a->mtx);
	done       = a->tx;
	a->tx      = NULL;
	a->sending = false;
	closed     = a->closed;
	if (rv != 0) {
		/* lost before anything else can start a frame on it */
		if (a->s == a->tx_s) {
			kick = lose(a, rv, false);
		}
	} else {
		if (done->count > 0) {
			a->active_ms = ar_mono_ms();
		}
		go = next_send(a);
	}
	pthread_mutex_unlock(&a->mtx);
	if (rv != 0) {
		frame_dead(a, done,
		    closed
		        ? AR__DEAD_LETTER_REASON__DEAD_LETTER_SYSTEM_STOPPING
		        : AR__DEAD_LETTER_REASON__DEAD_LETTER_UNREACHABLE,
		    "connection lost while the frame was being written");
	} else {
		obuf_free(done);
	}
	if (go) {
		start_send(a);
	}
	if (kick) {
		remote_kick(a->sys->rem);
	}
}

int
assoc_open(ar_system *sys, const char *hostport, assoc **ap)
{
	assoc *a = ar_xcalloc(1, sizeof(*a));
	char   url[320];
	int    rv;
	pthread_mutex_init(&a->mtx, NULL);
	a->sys        = sys;
	a->hostport   = ar_xstrdup(hostport);
	a->backoff_ms = BACKOFF_MIN_MS;
	a->active_ms  = ar_mono_ms();
	snprintf(url, sizeof(url), "tcp://%s", hostport);
	if ((rv = nng_stream_dialer_alloc(&a->dialer, url)) != 0
	    || (rv = nng_aio_alloc(&a->dial_aio, dial_cb, a)) != 0
	    || (rv = nng_aio_alloc(&a->tx_aio, tx_cb, a)) != 0
	    || (rv = nng_aio_alloc(&a->rx_aio, rx_cb, a)) != 0) {
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

/*
 * Housekeeper: free a dead stream whose I/O has called back, then dial if
 * the back-off is over; *wakep gets the next time this needs a look.
 */
void
assoc_tick(assoc *a, int64_t now, int64_t *wakep)
{
	nng_stream *old  = NULL;
	bool        dial = false, stuck = false;
	int64_t     wake = *wakep;
	pthread_mutex_lock(&a->mtx);
	if (a->dead != NULL) {
		if (!a->sending && !a->reading) {
			old     = a->dead;
			a->dead = NULL;
		} else {
			stuck = true;
			if (now + 10 < wake) {
				wake = now + 10;
			}
		}
	}
	if (a->redial_due != 0 && !a->closed && a->dead == NULL
	    && !a->connected && !a->dialing) {
		if (now >= a->redial_due) {
			a->redial_due = 0;
			a->dialing    = true;
			dial          = true;
		} else if (a->redial_due < wake) {
			wake = a->redial_due;
		}
	}
	pthread_mutex_unlock(&a->mtx);
	*wakep = wake;
	if (stuck) {
		/* I/O started on the stream after it was closed never ends by
		 * itself in nng 1.5.2; whatever runs on these aios now runs on
		 * the dead stream (no new one is dialled before it is freed)
		 */
		nng_aio_abort(a->tx_aio, NNG_ECLOSED);
		nng_aio_abort(a->rx_aio, NNG_ECLOSED);
	}
	if (old != NULL) {
		/* the callbacks that cleared the flags have returned, and
		 * nothing new starts on these aios before the dial below */
		nng_aio_wait(a->tx_aio);
		nng_aio_wait(a->rx_aio);
		nng_stream_free(old);
	}
	if (dial) {
		nng_stream_dialer_dial(a->dialer, a->dial_aio);
	}
}

/* r->mtx held: unreachable or silent for forget_ms, nothing in flight. */
bool
assoc_forgettable(assoc *a, int64_t now, int64_t forget_ms)
{
	bool yes;
	pthread_mutex_lock(&a->mtx);
	yes = !a->dialing && !a->sending && a->dead == NULL
	    && now - a->active_ms >= forget_ms;
	pthread_mutex_unlock(&a->mtx);
	return (yes);
}

/* Stops all I/O of an association nobody else can reach any more. */
void
assoc_close(assoc *a)
{
	pthread_mutex_lock(&a->mtx);
	a->closed = true;
	pthread_mutex_unlock(&a->mtx);
	nng_stream_dialer_close(a->dialer);
	nng_aio_stop(a->dial_aio);
	pthread_mutex_lock(&a->mtx);
	if (a->s != NULL) {
		nng_stream_close(a->s);
	}
	pthread_mutex_unlock(&a->mtx);
	nng_aio_stop(a->tx_aio);
	nng_aio_stop(a->rx_aio);
}

/* After assoc_close: frees it; what was still queued becomes dead
 * letters with this reason. */
void
assoc_free(assoc *a, int reason, const char *detail)
{
	obuf *b;
	/* the dialer before its streams: each stream holds a reference on
	 * it, and a stream's last one may be dropped on nng's reaper thread;
	 * freeing the dialer first orders our last use of it before that
	 * (ThreadSanitizer cannot see nng's uninstrumented atomics) */
	nng_stream_dialer_free(a->dialer);
	nng_stream_free(a->s);
	nng_stream_free(a->dead);
	nng_aio_free(a->dial_aio);
	nng_aio_free(a->tx_aio);
	nng_aio_free(a->rx_aio);
	if (a->hs_out != NULL) {
		obuf_free(a->hs_out);
	}
	if (a->tx != NULL) {
		frame_dead(a, a->tx, reason,
		    "the frame was being written when the association closed");
	}
	while ((b = a->head) != NULL) {
		a->head = b->next;
		frame_dead(a, b, reason, detail);
	}
	pthread_mutex_destroy(&a->mtx);
	free(a->hostport);
	free(a);
}

/* ---- sending ----------------------------------------------------------- */
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
	if (a != NULL) {
		atomic_fetch_add(&a->users, 1);
	}
	pthread_mutex_unlock(&r->mtx);
	return (a);
}

/* The last touch of a by this sender (raised under r->mtx, so the
 * housekeeper, which unlinks under it, never frees a held one). */
static void
assoc_put(assoc *a)
{
	atomic_fetch_sub(&a->users, 1);
}

int
remote_send(ar_system *sys, ar_ref to, nng_msg *m)
{
	remote_ent *re;
	assoc      *a = NULL;
	obuf       *b;
	int         reason;
	const char *detail = "remote system unreachable or its queue is full";
	char        buf[160], full[600];
	size_t      body = nng_msg_len(m);
	bool        go;

	if ((re = remote_ref_acquire(sys, to)) == NULL) {
		dead_letter(sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_NO_RECIPIENT, to,
		    "(forgotten remote ref)", m,
		    "remote ref forgotten (unused while its peer was "
		    "gone for peer_forget_ms): resolve the address again");
		nng_msg_free(m);
		return (AR_ENOENT);
	}
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
	if (a->refused) {
		pthread_mutex_unlock(&a->mtx);
		detail = "the peer failed the cluster-key handshake (retried "
		         "with the back-off)";
		reason = AR__DEAD_LETTER_REASON__DEAD_LETTER_UNAUTHENTICATED;
		goto dead;
	}
	if (a->peer_max != 0 && body > a->peer_max) {
		snprintf(buf, sizeof(buf),
		    "body of %zu bytes over the peer's max_message_bytes %zu "
		    "(agreed in the hello)",
		    body, a->peer_max);
		pthread_mutex_unlock(&a->mtx);
		detail = buf;
		reason = AR__DEAD_LETTER_REASON__DEAD_LETTER_TOO_LARGE;
		goto dead;
	}
	if (a->queued >= sys->cfg.outbound_queue_max) {
		pthread_mutex_unlock(&a->mtx);
		reason = AR__DEAD_LETTER_REASON__DEAD_LETTER_UNREACHABLE;
		goto dead;
	}
	b = a->tail;
	if (b == NULL || b->len - LEN_BYTES >= FRAME_MAX) {
		b       = ar_xcalloc(1, sizeof(*b));
		b->cap  = 4096;
		b->data = ar_xmalloc(b->cap);
		b->len  = LEN_BYTES;
		if (a->tail != NULL) {
			a->tail->next = b;
		} else {
			a->head = b;
		}
		a->tail = b;
	}
	envelope_append(sys, re, m, &b->data, &b->len, &b->cap);
	b->max_body = body > b->max_body ? body : b->max_body;
	b->count++;
	a->queued++;
	go = next_send(a);
	pthread_mutex_unlock(&a->mtx);
	if (go) {
		start_send(a);
	}
	assoc_put(a);
	remote_ref_release(sys, re);
	nng_msg_free(m);
	return (0);
dead:
	snprintf(full, sizeof(full), "%s", re->full);
	if (a != NULL) {
		assoc_put(a);
	}
	remote_ref_release(sys, re);
	dead_letter(sys, reason, AR_REF_NONE, full, m, detail);
	nng_msg_free(m);
	return (reason == AR__DEAD_LETTER_REASON__DEAD_LETTER_UNREACHABLE
	        ? AR_EFULL
	        : reason == AR__DEAD_LETTER_REASON__DEAD_LETTER_TOO_LARGE
	        ? AR_ETOOBIG
	        : reason == AR__DEAD_LETTER_REASON__DEAD_LETTER_UNAUTHENTICATED
	        ? AR_EAUTH
	        : AR_ESTOPPED);
}
