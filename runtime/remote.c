/*
 * remote.c - delivery between systems over nng tcp (Akka's Artery, small).
 *
 * Design notes
 * ------------
 * - Inbound: one PULL socket listening on the system's URL.  Its receive
 *   aio callback (an nng taskq thread) parses the frame and pushes each
 *   envelope into a mailbox: it never blocks, as nng requires.
 * - Outbound: one association per remote "host:port", each a PUSH socket
 *   with a non-blocking dialer that reconnects with exponential back-off
 *   (RECONNMINT 100 ms, RECONNMAXT reconnect_max_ms).  One send is in
 *   flight per association; envelopes told meanwhile are appended to a
 *   pending frame, so under load many envelopes share one nng message
 *   (nng's per-message cost is paid per batch) while an idle link sends
 *   each message at once.  One socket, one TCP pipe, FIFO frames: order
 *   holds per sender->receiver pair.
 * - A frame is the protobuf encoding of ar.Batch written by hand (field 1,
 *   length-delimited, per envelope), so the sender appends pre-packed
 *   envelopes without building a Batch, and the receiver decodes envelope
 *   by envelope: one bad envelope is one dead letter, not a lost frame.
 * - Delivery is at most once, as in Akka: a frame handed to a TCP pipe
 *   that then dies is lost; asks time out.  When a peer is unreachable the
 *   pending queue is bounded (outbound_queue_max): beyond it, envelopes
 *   become dead letters (UNREACHABLE), never an unbounded heap.
 * - Limits: an envelope body over max_message_bytes is a dead letter on
 *   both sides; nng refuses frames over RECVMAXSZ (max message + frame
 *   budget) by closing the connection before we see them.
 * - Shutdown (nng 1.5.2 rules): stop the aios first (callbacks finish),
 *   then close sockets, then free the aios.
 * Locks: rem->mtx (association table) and a->mtx are leaves; sends are
 * started after a->mtx is released.
 */
#include "runtime/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#define FRAME_MAX (1u << 20) /* soft cap on envelopes per frame (bytes) */

typedef struct obuf {
	uint8_t     *data;
	size_t       len, cap;
	uint32_t     count;
	struct obuf *next;
} obuf;

typedef struct assoc {
	pthread_mutex_t mtx;
	ar_system      *sys;
	char           *hostport;
	nng_socket      sock;
	nng_dialer      dialer;
	nng_aio        *aio;
	obuf           *head, *tail; /* pending frames */
	uint32_t        queued;      /* envelopes pending */
	bool            sending, closed;
} assoc;

struct remote {
	pthread_mutex_t mtx;
	nng_socket      in;
	bool            in_open;
	nng_listener    listener;
	nng_aio        *rx;
	atomic_bool     quiesced;
	assoc         **assocs;
	uint32_t        nassocs, capassocs;
};

/* ---- varints ----------------------------------------------------------- */
static size_t
put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t) v;
	return (n);
}

static bool
get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	uint64_t r = 0;
	for (int shift = 0; shift < 64 && *pos < len; shift += 7) {
		uint8_t b = p[(*pos)++];
		r |= (uint64_t) (b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*v = r;
			return (true);
		}
	}
	return (false);
}

/* ---- inbound ----------------------------------------------------------- */
static void
deliver_envelope(ar_system *sys, Ar__Envelope *env)
{
	const ProtobufCMessageDescriptor *d;
	msg_hdr                           h;
	nng_msg                          *m;
	ar_ref                            sender = AR_REF_NONE;
	uint64_t                          id;
	bool                              found;
	char                              recipient[600];

	snprintf(recipient, sizeof(recipient), "%s%s", sys->address,
	    env->recipient);
	if (env->recipient_system[0] != '\0'
	    && strcmp(env->recipient_system, sys->name) != 0) {
		char detail[128];
		snprintf(detail, sizeof(detail), "meant for system '%.64s'",
		    env->recipient_system);
		dead_letter_raw(sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_WRONG_SYSTEM,
		    env->type, env->sender, recipient, env->body.len, detail);
		return;
	}
	if (env->body.len > sys->cfg.max_message_bytes) {
		dead_letter_raw(sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_TOO_LARGE, env->type,
		    env->sender, recipient, env->body.len,
		    "inbound body over max_message_bytes");
		return;
	}
	if ((d = ar_registry_find(env->type)) == NULL
	    || registry_index(d, &h.type) != 0) {
		dead_letter_raw(sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_UNKNOWN_TYPE,
		    env->type, env->sender, recipient, env->body.len,
		    "type name not in this system's registry");
		return;
	}
	if (env->sender[0] != '\0'
	    && ar_ref_resolve(sys, env->sender, &sender) != 0) {
		sender
		    = AR_REF_NONE; /* unparsable sender: replies dead-letter */
	}
	h.sender = sender.id;
	h.corr   = env->correlation_id;
	h.flags  = 0;
	if (nng_msg_alloc(&m, env->body.len) != 0) {
		abort();
	}
	if (env->body.len > 0) {
		memcpy(nng_msg_body(m), env->body.data, env->body.len);
	}
	h.gen = 0;
	h.pad = 0;
	hdr_append(m, &h);
	if (strcmp(env->recipient, "/temp") == 0) {
		ask_complete(sys, env->correlation_id, m);
		return;
	}
	pthread_mutex_lock(&sys->paths_mtx);
	found = strmap_get(&sys->paths, env->recipient, &id);
	pthread_mutex_unlock(&sys->paths_mtx);
	if (!found) {
		dead_letter(sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_NO_RECIPIENT,
		    AR_REF_NONE, recipient, m, "no actor at that path");
		nng_msg_free(m);
		return;
	}
	deliver_local(sys, (ar_ref) { id }, m);
}

/*
 * Walks a frame: calls fn for each envelope's bytes; returns false (and
 * sets *why) at the first malformed framing, which ends the walk.
 */
typedef void (*env_fn)(ar_system *sys, const uint8_t *p, size_t n, void *arg);

static bool
walk_frame(ar_system *sys, const uint8_t *buf, size_t len, env_fn fn,
    void *arg, const char **why, size_t *atp)
{
	size_t pos = 0;
	while (pos < len) {
		uint64_t tag, elen;
		*atp = pos;
		if (!get_varint(buf, len, &pos, &tag)) {
			*why = "frame ends inside a field tag";
			return (false);
		}
		if (tag != ((1u << 3) | 2u)) {
			*why = "frame field is not Batch.envelopes";
			return (false);
		}
		if (!get_varint(buf, len, &pos, &elen)) {
			*why = "frame ends inside an envelope length";
			return (false);
		}
		if (elen > len - pos) {
			*why = "envelope truncated (length beyond the frame)";
			return (false);
		}
		fn(sys, buf + pos, (size_t) elen, arg);
		pos += (size_t) elen;
	}
	return (true);
}

static void
inbound_env(ar_system *sys, const uint8_t *p, size_t n, void *arg)
{
	Ar__Envelope *env = ar__envelope__unpack(NULL, n, p);
	(void) arg;
	if (env == NULL) {
		dead_letter_raw(sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_UNDECODABLE, "", "",
		    sys->address, n, "envelope does not decode");
		return;
	}
	deliver_envelope(sys, env);
	ar__envelope__free_unpacked(env, NULL);
}

void
remote_deliver_frame(ar_system *sys, const uint8_t *buf, size_t len)
{
	const char *why = NULL;
	size_t      at  = 0;
	char        detail[160];
	if (len == 0) {
		dead_letter_raw(sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_UNDECODABLE, "", "",
		    sys->address, 0, "empty frame");
		return;
	}
	if (!walk_frame(sys, buf, len, inbound_env, NULL, &why, &at)) {
		snprintf(detail, sizeof(detail), "%s at byte %zu of %zu", why,
		    at, len);
		dead_letter_raw(sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_UNDECODABLE, "", "",
		    sys->address, len - at, detail);
	}
}

static void
rx_cb(void *arg)
{
	ar_system *sys = arg;
	remote    *r   = sys->rem;
	int        rv  = nng_aio_result(r->rx);
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
		return;
	}
	if (rv == 0) {
		nng_msg *m = nng_aio_get_msg(r->rx);
		remote_deliver_frame(sys, nng_msg_body(m), nng_msg_len(m));
		nng_msg_free(m);
	} else {
		ar_log(AR_LOG_WARN, "remote", "system=%s receive failed: %s",
		    sys->name, nng_strerror(rv));
	}
	if (!atomic_load(&r->quiesced)) {
		nng_recv_aio(r->in, r->rx);
	}
}

/* ---- outbound ---------------------------------------------------------- */
static void
pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	assoc *a = arg;
	(void) p;
	/* only logging here: nng forbids most calls inside pipe callbacks */
	bool quiet
	    = ev == NNG_PIPE_EV_ADD_POST || atomic_load(&a->sys->stopping);
	ar_log(quiet ? AR_LOG_INFO : AR_LOG_WARN, "remote",
	    "system=%s peer=%s %s", a->sys->name, a->hostport,
	    ev == NNG_PIPE_EV_ADD_POST ? "connected" : "connection lost");
}

static void send_cb(void *arg);

static int
assoc_open(ar_system *sys, const char *hostport, assoc **ap)
{
	assoc *a = ar_xcalloc(1, sizeof(*a));
	char   url[320];
	int    rv;
	pthread_mutex_init(&a->mtx, NULL);
	a->sys      = sys;
	a->hostport = ar_xstrdup(hostport);
	snprintf(url, sizeof(url), "tcp://%s", hostport);
	if ((rv = nng_push0_open(&a->sock)) != 0
	    || (rv = nng_aio_alloc(&a->aio, send_cb, a)) != 0) {
		goto fail;
	}
	nng_pipe_notify(a->sock, NNG_PIPE_EV_ADD_POST, pipe_event, a);
	nng_pipe_notify(a->sock, NNG_PIPE_EV_REM_POST, pipe_event, a);
	nng_socket_set_ms(a->sock, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(
	    a->sock, NNG_OPT_RECONNMAXT, sys->cfg.reconnect_max_ms);
	nng_socket_set_bool(a->sock, NNG_OPT_TCP_KEEPALIVE, true);
	if ((rv = nng_dial(a->sock, url, &a->dialer, NNG_FLAG_NONBLOCK))
	    != 0) {
		goto fail;
	}
	*ap = a;
	return (0);
fail:
	ar_log(AR_LOG_WARN, "remote", "system=%s cannot dial %s: %s",
	    sys->name, url, nng_strerror(rv));
	if (a->aio != NULL) {
		nng_aio_free(a->aio);
	}
	nng_close(a->sock);
	free(a->hostport);
	free(a);
	return (AR_ENNG);
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

/* Takes the first pending frame into an nng_msg; a->mtx held. */
static nng_msg *
take_frame(assoc *a)
{
	obuf    *b = a->head;
	nng_msg *m;
	if (b == NULL || b->len == 0) {
		return (NULL);
	}
	a->head = b->next;
	if (a->head == NULL) {
		a->tail = NULL;
	}
	a->queued -= b->count;
	if (nng_msg_alloc(&m, b->len) != 0) {
		abort();
	}
	memcpy(nng_msg_body(m), b->data, b->len);
	free(b->data);
	free(b);
	return (m);
}

typedef struct lost_arg {
	const char *hostport;
	int         reason;
	const char *detail;
} lost_arg;

static void
lost_env(ar_system *sys, const uint8_t *p, size_t n, void *arg)
{
	lost_arg     *la  = arg;
	Ar__Envelope *env = ar__envelope__unpack(NULL, n, p);
	char          recipient[600];
	if (env == NULL) {
		return; /* our own encoding: cannot happen */
	}
	snprintf(recipient, sizeof(recipient), "pj://%s@%s%s",
	    env->recipient_system, la->hostport, env->recipient);
	dead_letter_raw(sys, la->reason, env->type, env->sender, recipient,
	    env->body.len, la->detail);
	ar__envelope__free_unpacked(env, NULL);
}

static void
frame_lost(ar_system *sys, assoc *a, const uint8_t *buf, size_t len,
    int reason, const char *detail)
{
	lost_arg    la = { a->hostport, reason, detail };
	const char *why;
	size_t      at;
	walk_frame(sys, buf, len, lost_env, &la, &why, &at);
}

static void
send_cb(void *arg)
{
	assoc   *a  = arg;
	int      rv = nng_aio_result(a->aio);
	nng_msg *next;
	if (rv != 0) {
		nng_msg *m = nng_aio_get_msg(a->aio);
		if (m != NULL) {
			frame_lost(a->sys, a, nng_msg_body(m), nng_msg_len(m),
			    a->closed
			        ? AR__DEAD_LETTER_REASON__DEAD_LETTER_SYSTEM_STOPPING
			        : AR__DEAD_LETTER_REASON__DEAD_LETTER_UNREACHABLE,
			    nng_strerror(rv));
			nng_msg_free(m);
		}
	}
	pthread_mutex_lock(&a->mtx);
	next = a->closed ? NULL : take_frame(a);
	if (next == NULL) {
		a->sending = false;
	}
	pthread_mutex_unlock(&a->mtx);
	if (next != NULL) {
		nng_aio_set_msg(a->aio, next);
		nng_send_aio(a->sock, a->aio);
	}
}

int
remote_send(ar_system *sys, remote_ent *re, nng_msg *m)
{
	Ar__Envelope                      env = AR__ENVELOPE__INIT;
	msg_hdr                           h;
	char                              sender[600];
	const ProtobufCMessageDescriptor *d;
	assoc                            *a;
	obuf                             *b;
	size_t                            elen, need;
	nng_msg                          *start = NULL;
	int                               reason;

	h = hdr_of(m);
	d = registry_at(h.type);
	if (sys->rem == NULL || d == NULL) {
		reason = AR__DEAD_LETTER_REASON__DEAD_LETTER_UNREACHABLE;
		goto dead;
	}
	if ((a = assoc_get(sys, re->hostport)) == NULL) {
		reason = atomic_load(&sys->stopping)
		    ? AR__DEAD_LETTER_REASON__DEAD_LETTER_SYSTEM_STOPPING
		    : AR__DEAD_LETTER_REASON__DEAD_LETTER_UNREACHABLE;
		goto dead;
	}
	ar_ref_address(sys, (ar_ref) { h.sender }, sender, sizeof(sender));
	env.recipient        = re->path;
	env.sender           = sender;
	env.correlation_id   = h.corr;
	env.type             = (char *) d->name;
	env.body.data        = nng_msg_body(m);
	env.body.len         = nng_msg_len(m);
	env.flags            = h.flags & HDR_FAILURE;
	env.recipient_system = re->sysname;
	elen                 = ar__envelope__get_packed_size(&env);
	need                 = 1 + 10 + elen;

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
	if (b == NULL || (b->len > 0 && b->len + need > FRAME_MAX)) {
		b = ar_xcalloc(1, sizeof(*b));
		if (a->tail != NULL) {
			a->tail->next = b;
		} else {
			a->head = b;
		}
		a->tail = b;
	}
	if (b->len + need > b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 4096;
		while (ncap < b->len + need) {
			ncap *= 2;
		}
		b->data = ar_xrealloc(b->data, ncap);
		b->cap  = ncap;
	}
	b->data[b->len++] = (1u << 3) | 2u;
	b->len += put_varint(b->data + b->len, elen);
	b->len += ar__envelope__pack(&env, b->data + b->len);
	b->count++;
	a->queued++;
	if (!a->sending) {
		a->sending = true;
		start      = take_frame(a);
	}
	pthread_mutex_unlock(&a->mtx);
	nng_msg_free(m);
	if (start != NULL) {
		nng_aio_set_msg(a->aio, start);
		nng_send_aio(a->sock, a->aio);
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

	if (sys->cfg.listen_url == NULL) {
		snprintf(addr, sizeof(addr), "pj://%s", sys->name);
		sys->address = ar_xstrdup(addr);
		sys->host    = ar_xstrdup("");
		/* outbound still works: replies to us are then dead letters */
	} else if (split_url_host(sys->cfg.listen_url, host, sizeof(host))
	    != 0) {
		ar_log(AR_LOG_ERROR, "remote",
		    "system=%s listen URL '%s' is not tcp://HOST:PORT",
		    sys->name, sys->cfg.listen_url);
		return (AR_EINVAL);
	}
	r = ar_xcalloc(1, sizeof(*r));
	pthread_mutex_init(&r->mtx, NULL);
	atomic_init(&r->quiesced, false);
	sys->rem = r;
	if (sys->cfg.listen_url == NULL) {
		return (0);
	}
	if ((rv = nng_pull0_open(&r->in)) != 0) {
		goto fail;
	}
	r->in_open = true;
	nng_socket_set_size(r->in, NNG_OPT_RECVMAXSZ,
	    sys->cfg.max_message_bytes + FRAME_MAX + 65536);
	if ((rv = nng_listen(r->in, sys->cfg.listen_url, &r->listener, 0))
	    != 0) {
		goto fail;
	}
	nng_listener_get_int(r->listener, NNG_OPT_TCP_BOUND_PORT, &port);
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
	if ((rv = nng_aio_alloc(&r->rx, rx_cb, sys)) != 0) {
		goto fail;
	}
	nng_recv_aio(r->in, r->rx);
	return (0);
fail:
	ar_log(AR_LOG_ERROR, "remote", "system=%s cannot listen on %s: %s",
	    sys->name, sys->cfg.listen_url, nng_strerror(rv));
	if (r->in_open) {
		nng_close(r->in);
	}
	pthread_mutex_destroy(&r->mtx);
	free(r);
	sys->rem = NULL;
	free(sys->address);
	free(sys->host);
	sys->address = sys->host = NULL;
	return (AR_ENNG);
}

void
remote_quiesce(ar_system *sys)
{
	remote *r = sys->rem;
	if (r == NULL || atomic_exchange(&r->quiesced, true)) {
		return;
	}
	if (r->rx != NULL) {
		nng_aio_stop(r->rx); /* waits for a running callback */
	}
	if (r->in_open) {
		nng_listener_close(r->listener);
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
	/* 1. stop every aio (their callbacks see `closed`) */
	for (uint32_t i = 0; i < r->nassocs; i++) {
		assoc *a = r->assocs[i];
		pthread_mutex_lock(&a->mtx);
		a->closed = true;
		pthread_mutex_unlock(&a->mtx);
		nng_aio_stop(a->aio);
	}
	/* 2. close sockets */
	for (uint32_t i = 0; i < r->nassocs; i++) {
		nng_close(r->assocs[i]->sock);
	}
	if (r->in_open) {
		nng_close(r->in);
	}
	/* 3. free aios and what never left */
	for (uint32_t i = 0; i < r->nassocs; i++) {
		assoc   *a = r->assocs[i];
		nng_msg *m;
		nng_aio_free(a->aio);
		while ((m = take_frame(a)) != NULL) {
			frame_lost(sys, a, nng_msg_body(m), nng_msg_len(m),
			    AR__DEAD_LETTER_REASON__DEAD_LETTER_SYSTEM_STOPPING,
			    "system stopped before the frame was sent");
			nng_msg_free(m);
		}
		pthread_mutex_destroy(&a->mtx);
		free(a->hostport);
		free(a);
	}
	if (r->rx != NULL) {
		nng_aio_free(r->rx);
	}
	free(r->assocs);
	pthread_mutex_destroy(&r->mtx);
	free(r);
	sys->rem = NULL;
}
