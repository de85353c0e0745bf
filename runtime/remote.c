/*
 * remote.c - moving frames between systems over TCP with nng's stream API
 * (Akka's Artery, small): start and stop, and the housekeeping thread.
 * The hello (the cluster-key handshake) is remote_auth.c's, inbound
 * connections remote_in.c's, outbound associations
 * remote_out.c's, the remote-ref table remote_ref.c's, and the frames'
 * contents envelope.c's.
 *
 * Design notes
 * ------------
 * - Why streams and not SP sockets: with PUSH/PULL a message crossed three
 *   nng task threads on the receiving side before our callback saw it
 *   (each a possible ~20 us wake-up here), and the SP layer drops what it
 *   cannot parse before we see it.  A stream read completes straight into
 *   our callback, and every byte at the port is ours to judge.
 * - Wire (version 3): a connection opens with the cluster-key handshake
 *   (remote_auth.c): the dialer writes its hello, 28 bytes: "PJAR",
 *   version 3 (big-endian u16), a flags byte (1 = it has a cluster key),
 *   a reserved byte, its max_message_bytes (big-endian u32; at most
 *   AR_MAX_MESSAGE_BYTES) and a fresh 16-byte nonce; the acceptor answers
 *   with its own once the dialer's has proved it a pj peer (junk at the
 *   port gets nothing back); the dialer then writes its 32-byte proof
 *   (HMAC-SHA256 of both hellos under the key), and the acceptor, once it
 *   has checked it, its own.  A proof that fails closes the connection: an
 *   UNAUTHENTICATED dead letter on the side that saw it, logged once per
 *   peer address (a dialer whose key flag differs still gets the
 *   acceptor's hello, which proves nothing, so it learns why).  No frame
 *   is read before the dialer's proof checks, and none is written before
 *   the acceptor's.  Without a key only loopback
 *   peers are accepted or dialled.  Then the dialing side writes frames,
 *   each a 4-byte big-endian length and that many bytes of ar.Batch; the
 *   accepting side writes nothing more.  The dialer knows the peer's limit
 *   from its hello: an envelope whose body is over it
 * is a dead letter (TOO_LARGE) at the sender, and no frame it writes is over
 *   the peer's frame limit (frame_limit_of()).  A receiver still judges
 *   every frame: one over its limit (a peer that ignored the hello) is
 *   skipped as it arrives, one TOO_LARGE dead letter, and the connection
 *   and the frames around it live on; a body over the limit inside a frame
 *   is a dead letter alone.  A connection whose first bytes are not a
 *   version-3 hello is an UNDECODABLE dead letter and is closed.
 * - Inbound (remote_in.c): one stream listener per system; one read loop
 *   per accepted connection.  Outbound (remote_out.c): one association per
 *   remote "host:port": a dialer, at most one connection, one write in
 *   flight, envelopes told meanwhile batched into pending frames.
 * - The housekeeper: one thread per system ("ar:remote") does everything
 *   that may wait and that nng's callbacks must not: it frees closed
 *   inbound connections (nng_aio_free waits for the callback that closed
 *   them), frees an association's dead stream once its callbacks are done,
 *   redials after the back-off, and forgets departed peers.  It never runs
 *   actor code, and it sleeps on r->cv until the next due time or a kick.
 *   (Before, the timer thread did this: a redial scheduled after the timer
 *   thread had stopped touched its destroyed lock, and freeing a connection
 *   there waited under the timer lock.)
 * - Forgetting: an association unreachable (no connection) or silent (no
 *   frame written, nothing queued) for peer_forget_ms is closed and freed
 *   (frames still queued become UNREACHABLE dead letters); the next message
 *   to that peer makes a new association that dials afresh.  Remote refs
 *   unused that long whose peer has no association left are freed too
 *   (remote_ref.c).  So a node that talks to a stream of short-lived peers
 *   keeps a bounded amount of memory.
 * - Delivery is at most once, as in Akka: the frame being written when a
 *   connection dies is lost (its envelopes become UNREACHABLE dead letters,
 *   asks time out); frames queued behind it wait for the next connection.
 *   While a peer is unreachable the queue is bounded (outbound_queue_max).
 * - Shutdown (nng's rule: stop aios before closing, free last): the
 *   listener closes and its accept stops; inbound connections are closed
 *   and their aios stopped; then the housekeeper stops, and every
 *   association is closed and freed.
 * Locks: r->mtx (connection lists, associations, the housekeeper's state)
 * -> a->mtx; r->seen_mtx (refused peers) and sys->remote_mtx (the ref
 * table) are leaves and is never held
 * together with either.  The nng calls made under our locks never wait:
 * closing a stream (under a->mtx or r->mtx), starting a dial (assoc_open,
 * under r->mtx); nng runs our callbacks on its own threads, never inside
 * such a call.  Dead letters are published with no lock held.
 */
#include "runtime/remote_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The longest frame a system with this max_message_bytes accepts: a
 * frame is cut after FRAME_MAX bytes, so it holds at most that plus one
 * envelope.  Below 2^31 for every allowed limit. */
size_t
frame_limit_of(size_t max_message_bytes)
{
	return (max_message_bytes + FRAME_MAX + FRAME_SLACK);
}

void
remote_kick(remote *r)
{
	pthread_mutex_lock(&r->mtx);
	r->kick = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mtx);
}

/* ---- the housekeeper --------------------------------------------------- */
static int64_t
sweep_period(int64_t forget_ms)
{
	int64_t p = forget_ms / 4;
	return (p < 10 ? 10 : p > 30000 ? 30000 : p);
}

static void
forget_peers(ar_system *sys, int64_t now)
{
	remote *r = sys->rem;
	strmap  live;
	assoc **gone  = NULL;
	size_t  ngone = 0;
	char    detail[128];

	strmap_init(&live);
	pthread_mutex_lock(&r->mtx);
	for (uint32_t i = 0; i < r->nassocs;) {
		assoc *a = r->assocs[i];
		if (atomic_load(&a->users) == 0
		    && assoc_forgettable(a, now, r->forget_ms)) {
			gone = ar_xrealloc(gone, (ngone + 1) * sizeof(*gone));
			gone[ngone++] = a;
			r->assocs[i]  = r->assocs[--r->nassocs];
			continue;
		}
		strmap_put(&live, a->hostport, 1);
		i++;
	}
	pthread_mutex_unlock(&r->mtx);
	snprintf(detail, sizeof(detail),
	    "peer unreachable or silent for %lld ms: forgotten",
	    (long long) r->forget_ms);
	for (size_t i = 0; i < ngone; i++) {
		ar_log(AR_LOG_INFO, "remote",
		    "system=%s peer=%s forgotten after %lld ms without "
		    "traffic; "
		    "the next message dials afresh",
		    sys->name, gone[i]->hostport, (long long) r->forget_ms);
		assoc_close(gone[i]);
		assoc_free(gone[i],
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_UNREACHABLE, detail);
	}
	free(gone);
	remote_refs_sweep(sys, now, &live);
	strmap_fini(&live);
}

static void *
housekeeper(void *arg)
{
	ar_system *sys        = arg;
	remote    *r          = sys->rem;
	int64_t    next_sweep = ar_mono_ms() + sweep_period(r->forget_ms);
	assoc    **snap       = NULL;
	uint32_t   nsnap = 0, capsnap = 0;

	pthread_setname_np(pthread_self(), "ar:remote");
	pthread_mutex_lock(&r->mtx);
	while (!r->stop) {
		int64_t now   = ar_mono_ms();
		int64_t wake  = next_sweep;
		conn   *dead  = r->dead_conns;
		r->dead_conns = NULL;
		r->kick       = false;
		if (r->nassocs > capsnap) {
			capsnap = r->nassocs;
			snap    = ar_xrealloc(snap, capsnap * sizeof(*snap));
		}
		nsnap = r->nassocs;
		if (nsnap > 0) {
			memcpy(snap, r->assocs, nsnap * sizeof(*snap));
		}
		pthread_mutex_unlock(&r->mtx);

		while (dead != NULL) {
			conn *next = dead->next;
			conn_free(dead);
			dead = next;
		}
		/* only this thread frees associations: snap stays valid */
		for (uint32_t i = 0; i < nsnap; i++) {
			assoc_tick(snap[i], now, &wake);
		}
		/* not while stopping: what it frees would be dead letters
		 * published as the dispatchers stop; remote_stop frees all */
		if (now >= next_sweep) {
			if (!atomic_load(&sys->stopping)) {
				forget_peers(sys, now);
			}
			next_sweep = now + sweep_period(r->forget_ms);
			wake       = wake < next_sweep ? wake : next_sweep;
		}

		pthread_mutex_lock(&r->mtx);
		if (!r->stop && !r->kick && r->dead_conns == NULL
		    && wake > ar_mono_ms()) {
			struct timespec ts
			    = { wake / 1000, (wake % 1000) * 1000000 };
			pthread_cond_timedwait(&r->cv, &r->mtx, &ts);
		}
	}
	pthread_mutex_unlock(&r->mtx);
	free(snap);
	return (NULL);
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

static int
listen_on(ar_system *sys, remote *r)
{
	char host[256], addr[400];
	int  rv, port = 0;

	if (split_url_host(sys->cfg.listen_url, host, sizeof(host)) != 0) {
		ar_log(AR_LOG_ERROR, "remote",
		    "system=%s listen URL '%s' is not tcp://HOST:PORT",
		    sys->name, sys->cfg.listen_url);
		return (AR_EINVAL);
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
		return (AR_ENNG);
	}
	sys->port = port;
	if (sys->cfg.advertise_host != NULL) {
		snprintf(host, sizeof(host), "%s", sys->cfg.advertise_host);
	} else if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0
	    || strcmp(host, "*") == 0) {
		ar_log(AR_LOG_WARN, "remote",
		    "system=%s listens on all interfaces without "
		    "advertise_host: others are told 127.0.0.1",
		    sys->name);
		snprintf(host, sizeof(host), "127.0.0.1");
	}
	snprintf(addr, sizeof(addr), "pj://%s@%s:%d", sys->name, host, port);
	sys->address = ar_xstrdup(addr);
	sys->host    = ar_xstrdup(host);
	return (0);
}

int
remote_start(ar_system *sys)
{
	remote            *r;
	pthread_condattr_t ca;
	char               addr[400];
	int                rv;

	r = ar_xcalloc(1, sizeof(*r));
	pthread_mutex_init(&r->mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&r->quiesced, false);
	r->frame_limit = frame_limit_of(sys->cfg.max_message_bytes);
	r->forget_ms
	    = sys->cfg.peer_forget_ms > 0 ? sys->cfg.peer_forget_ms : 300000;
	sys->rem = r;
	auth_start(sys, r);
	if (sys->cfg.listen_url == NULL) {
		/* outbound still works; replies to us are then dead letters */
		snprintf(addr, sizeof(addr), "pj://%s", sys->name);
		sys->address = ar_xstrdup(addr);
		sys->host    = ar_xstrdup("");
	} else if ((rv = listen_on(sys, r)) != 0) {
		goto fail;
	}
	if (pthread_create(&r->thread, NULL, housekeeper, sys) != 0) {
		rv = AR_ENNG;
		goto fail;
	}
	r->thread_started = true;
	if (r->listener != NULL) {
		nng_stream_listener_accept(r->listener, r->acc);
	}
	return (0);
fail:
	nng_aio_free(r->acc);
	nng_stream_listener_free(r->listener);
	free(sys->address);
	free(sys->host);
	sys->address = NULL;
	sys->host    = NULL;
	auth_stop(r);
	pthread_cond_destroy(&r->cv);
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
	conn   *c;
	if (r == NULL) {
		return;
	}
	remote_quiesce(sys);
	pthread_mutex_lock(&r->mtx);
	r->stop = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mtx);
	if (r->thread_started) {
		pthread_join(r->thread, NULL);
	}
	/* no thread starts or frees anything now but nng's callbacks */
	for (uint32_t i = 0; i < r->nassocs; i++) {
		assoc_close(r->assocs[i]);
	}
	for (uint32_t i = 0; i < r->nassocs; i++) {
		assoc_free(r->assocs[i],
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_SYSTEM_STOPPING,
		    "system stopped before the frame was sent");
	}
	while ((c = r->dead_conns) != NULL) {
		r->dead_conns = c->next;
		conn_free(c);
	}
	nng_aio_free(r->acc);
	nng_stream_listener_free(r->listener);
	free(r->assocs);
	auth_stop(r);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mtx);
	free(r);
	sys->rem = NULL;
}
