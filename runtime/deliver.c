/*
 * deliver.c - packing a message into an nng_msg, delivering it to a local
 * mailbox, a remote system or an ask's reply slot, and the receive context
 * (sender, self, reply, forward).
 *
 * Design notes: delivery takes only the receiving cell's lock (a short
 * critical section: generation and state check, bound check, push); the
 * cell is handed to its dispatcher after the lock is released, and only by
 * the sender that found it idle, so it is queued at most once.  Every
 * failure is a dead letter published with no lock held, and the caller
 * gets the reason.  See internal.h for the lock order.
 */
#include "runtime/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- packing and delivery --------------------------------------------- */
int
pack_msg(ar_system *sys, const ProtobufCMessage *msg, ar_ref sender,
    uint64_t corr, uint32_t flags, nng_msg **mp)
{
	msg_hdr  h;
	size_t   size;
	nng_msg *m;

	if (msg == NULL || msg->descriptor == NULL) {
		return (AR_EINVAL);
	}
	if (registry_index(msg->descriptor, &h.type) != 0) {
		dead_letter_raw(sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_UNKNOWN_TYPE,
		    msg->descriptor->name, "", "", 0,
		    "type not registered (call ar_registry_add)");
		return (AR_ETYPE);
	}
	size = protobuf_c_message_get_packed_size(msg);
	if (size > sys->cfg.max_message_bytes) {
		char detail[96];
		snprintf(detail, sizeof(detail), "%zu bytes > limit %zu", size,
		    sys->cfg.max_message_bytes);
		dead_letter_raw(sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_TOO_LARGE,
		    msg->descriptor->name, "", "", size, detail);
		return (AR_ETOOBIG);
	}
	m = msgpool_get(size);
	protobuf_c_message_pack(msg, nng_msg_body(m));
	h.sender = sender.id;
	h.corr   = corr;
	h.flags  = flags;
	h.gen    = 0;
	h.pad    = 0;
	hdr_append(m, &h);
	*mp = m;
	return (0);
}

int
deliver_local(ar_system *sys, ar_ref to, nng_msg *m)
{
	ar_cell *c = cell_at(sys, ref_slot(to));
	int      reason, rv;

	if (c == NULL) {
		reason = AR__DEAD_LETTER_REASON__DEAD_LETTER_NO_RECIPIENT;
		rv     = AR_ENOENT;
		goto dead;
	}
	/* lock-free: state is stored last (release) when an actor is spawned,
	 * so its generation and bound are visible once ALIVE is; see
	 * internal.h */
	if (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != CELL_ALIVE
	    || __atomic_load_n(&c->gen, __ATOMIC_ACQUIRE) != ref_gen(to)) {
		reason = AR__DEAD_LETTER_REASON__DEAD_LETTER_STOPPED;
		rv     = AR_ESTOPPED;
		goto dead;
	}
	/* the slot may be reused by a new spawn meanwhile: its bound is
	 * stored after its generation (release), so a bound read from it is
	 * followed by a generation that says the message is for a stopped
	 * actor, not for a full mailbox */
	uint32_t bound = __atomic_load_n(&c->bound, __ATOMIC_ACQUIRE);
	if (bound != 0 && mailbox_len(&c->mbox) >= bound) {
		if (__atomic_load_n(&c->gen, __ATOMIC_ACQUIRE)
		    != ref_gen(to)) {
			reason = AR__DEAD_LETTER_REASON__DEAD_LETTER_STOPPED;
			rv     = AR_ESTOPPED;
		} else {
			reason
			    = AR__DEAD_LETTER_REASON__DEAD_LETTER_MAILBOX_FULL;
			rv = AR_EFULL;
		}
		goto dead;
	}
	hdr_set_gen(m, ref_gen(to));
	mailbox_push(&c->mbox, m);
	if (atomic_fetch_add(&c->pending, 1) == 0) {
		schedule_cell(c);
	}
	return (0);
dead:
	dead_letter(sys, reason, to, NULL, m, NULL);
	nng_msg_free(m);
	return (rv);
}

int
deliver(ar_system *sys, ar_ref to, nng_msg *m)
{
	switch (ref_kind(to)) {
	case REF_LOCAL:
		return (deliver_local(sys, to, m));
	case REF_REMOTE:
		return (remote_send(sys, to, m));
	case REF_TEMP:
		return (ask_complete(sys, to.id, m));
	}
	dead_letter(sys, AR__DEAD_LETTER_REASON__DEAD_LETTER_NO_RECIPIENT, to,
	    NULL, m, "no recipient");
	nng_msg_free(m);
	return (AR_ENOENT);
}

int
ar_tell(ar_system *sys, ar_ref to, const ProtobufCMessage *msg, ar_ref sender)
{
	nng_msg *m;
	int      rv;
	if ((rv = pack_msg(sys, msg, sender, 0, 0, &m)) != 0) {
		return (rv);
	}
	return (deliver(sys, to, m));
}

/* ---- inside receive ---------------------------------------------------- */
ar_system *
ar_ctx_system(ar_ctx *ctx)
{
	return (ctx->sys);
}

ar_ref
ar_ctx_self(ar_ctx *ctx)
{
	return (ctx->cell->self);
}

ar_ref
ar_ctx_sender(ar_ctx *ctx)
{
	ar_ref r = { ctx->hdr.sender };
	return (r);
}

ar_ref
ar_ctx_parent(ar_ctx *ctx)
{
	return (ctx->cell->parent);
}

const void *
ar_ctx_init_arg(ar_ctx *ctx)
{
	return (ctx->cell->props.init_arg);
}

static int
reply_flags(ar_ctx *ctx, const ProtobufCMessage *msg, uint32_t flags)
{
	nng_msg *m;
	int      rv;
	ar_ref   to = ar_ctx_sender(ctx);
	if ((rv = pack_msg(
	         ctx->sys, msg, ctx->cell->self, ctx->hdr.corr, flags, &m))
	    != 0) {
		return (rv);
	}
	if (ar_ref_is_none(to)) {
		dead_letter(ctx->sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_NO_RECIPIENT, to, NULL,
		    m, "reply to a message that had no sender");
		nng_msg_free(m);
		return (AR_ENOENT);
	}
	return (deliver(ctx->sys, to, m));
}

int
ar_reply(ar_ctx *ctx, const ProtobufCMessage *msg)
{
	return (reply_flags(ctx, msg, 0));
}

ar_return
ar_ctx_return(ar_ctx *ctx)
{
	ar_return r = { { ctx->hdr.sender }, ctx->hdr.corr };
	return (r);
}

int
ar_reply_later(ar_system *sys, ar_ref self, const ar_return *to,
    const ProtobufCMessage *msg)
{
	nng_msg *m;
	int      rv;
	if ((rv = pack_msg(sys, msg, self, to->corr, 0, &m)) != 0) {
		return (rv);
	}
	if (ar_ref_is_none(to->sender)) {
		dead_letter(sys, AR__DEAD_LETTER_REASON__DEAD_LETTER_NO_RECIPIENT,
		    to->sender, NULL, m, "reply to a message that had no sender");
		nng_msg_free(m);
		return (AR_ENOENT);
	}
	return (deliver(sys, to->sender, m));
}

int
ar_reply_failure(ar_ctx *ctx, int code, const char *message)
{
	Ar__AskFailure f = AR__ASK_FAILURE__INIT;
	f.code           = code;
	f.message        = (char *) (message ? message : "");
	return (reply_flags(ctx, &f.base, HDR_FAILURE));
}

int
ar_forward(ar_ctx *ctx, ar_ref to)
{
	nng_msg *m;
	if (ctx->msg == NULL || nng_msg_dup(&m, ctx->msg) != 0) {
		return (AR_EINVAL);
	}
	return (deliver(ctx->sys, to, m));
}
