/*
 * envelope.c - the wire format of remote delivery: ar.Envelope in frames.
 *
 * A frame is the protobuf encoding of ar.Batch written by hand (field 1,
 * length-delimited, once per envelope), so a sender appends pre-packed
 * envelopes without building a Batch, and a receiver decodes envelope by
 * envelope: one bad envelope is one dead letter, not a lost frame.  This
 * file encodes envelopes, walks frames, and delivers what arrives (into a
 * mailbox or an ask's reply slot); remote*.c move the frames.
 * No threads of its own: it runs on whichever thread receives a frame (an
 * nng callback: nothing here blocks) or tells (the encoder).
 */
#include "runtime/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	/* from the pool its receiver frees it to (so inbound messages are
	 * recycled, not collected by the pool up to its bound) */
	m = msgpool_get(env->body.len);
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

void
frame_lost(ar_system *sys, const char *hostport, const uint8_t *buf,
    size_t len, int reason, const char *detail)
{
	lost_arg    la = { hostport, reason, detail };
	const char *why;
	size_t      at;
	walk_frame(sys, buf, len, lost_env, &la, &why, &at);
}

typedef struct filter_arg {
	const char *hostport;
	size_t      limit;
	uint8_t    *out; /* compacts the frame in place: out <= the reader */
	uint8_t    *base;
	uint32_t    kept;
} filter_arg;

static void
filter_env(ar_system *sys, const uint8_t *p, size_t n, void *arg)
{
	filter_arg    *fa  = arg;
	Ar__Envelope  *env = ar__envelope__unpack(NULL, n, p);
	const uint8_t *start;
	char           recipient[600], detail[160];
	if (env != NULL && env->body.len > fa->limit) {
		snprintf(recipient, sizeof(recipient), "pj://%s@%s%s",
		    env->recipient_system, fa->hostport, env->recipient);
		snprintf(detail, sizeof(detail),
		    "body of %zu bytes over the peer's max_message_bytes %zu "
		    "(agreed in the hello)",
		    env->body.len, fa->limit);
		dead_letter_raw(sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_TOO_LARGE, env->type,
		    env->sender, recipient, env->body.len, detail);
		ar__envelope__free_unpacked(env, NULL);
		return;
	}
	if (env != NULL) {
		ar__envelope__free_unpacked(env, NULL);
	}
	/* keep it: its tag and length precede p (at most 11 bytes) */
	start = p - 1;
	while (start > fa->base && (start[-1] & 0x80) != 0) {
		start--;
	}
	start--; /* the tag byte */
	memmove(fa->out, start, (size_t) (p + n - start));
	fa->out += p + n - start;
	fa->kept++;
}

size_t
frame_filter(ar_system *sys, const char *hostport, uint8_t *buf, size_t len,
    size_t limit, uint32_t *keptp)
{
	filter_arg  fa = { hostport, limit, buf, buf, 0 };
	const char *why;
	size_t      at;
	walk_frame(sys, buf, len, filter_env, &fa, &why, &at);
	*keptp = fa.kept;
	return ((size_t) (fa.out - buf));
}

/*
 * Appends m as one envelope for `re` to the frame in *buf (growing it);
 * returns the bytes appended, or 0 if m's type is not registered.
 */
size_t
envelope_append(ar_system *sys, remote_ent *re, nng_msg *m, uint8_t **buf,
    size_t *len, size_t *cap)
{
	Ar__Envelope                      env = AR__ENVELOPE__INIT;
	msg_hdr                           h   = hdr_of(m);
	const ProtobufCMessageDescriptor *d   = registry_at(h.type);
	char                              sender[600];
	size_t                            elen, need, start = *len;

	if (d == NULL) {
		return (0);
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
	if (*len + need > *cap) {
		size_t ncap = *cap ? *cap * 2 : 4096;
		while (ncap < *len + need) {
			ncap *= 2;
		}
		*buf = ar_xrealloc(*buf, ncap);
		*cap = ncap;
	}
	(*buf)[(*len)++] = (1u << 3) | 2u;
	*len += put_varint(*buf + *len, elen);
	*len += ar__envelope__pack(&env, *buf + *len);
	return (*len - start);
}
