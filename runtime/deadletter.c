/*
 * deadletter.c - the event stream's one topic: dead letters.
 *
 * Every message that cannot be delivered becomes an ar.DeadLetter with its
 * reason, type, sender, recipient, size and time, counted by the system
 * and told to every subscriber (TroubleshootingActor).  A dead letter about
 * a dead letter is only counted (dl_dropped), never re-published, so a
 * subscriber with a full mailbox cannot start a storm.  The first
 * cfg.log_dead_letters are logged, then one in 1000 (Akka logs 10).
 * Locks: dl_mtx (a leaf) guards the subscriber list; publishing happens
 * after it is released.
 */
#include "runtime/internal.h"

#include <stdio.h>
#include <string.h>

const char *
ar_dead_letter_reason(int reason)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
	    &ar__dead_letter_reason__descriptor, reason);
	return (v != NULL ? v->name + strlen("DEAD_LETTER_") : "?");
}

static void
publish(ar_system *sys, Ar__DeadLetter *dl)
{
	ar_ref   subs[32];
	uint32_t n;
	uint64_t total = atomic_load(&sys->dl_total) + 1;

	if (total <= (uint64_t) sys->cfg.log_dead_letters
	    || total % 1000 == 0) {
		ar_log(AR_LOG_INFO, "deadletter",
		    "system=%s reason=%s type=%s sender=%s recipient=%s "
		    "size=%u "
		    "total=%llu%s%s",
		    sys->name, ar_dead_letter_reason(dl->reason), dl->type,
		    dl->sender, dl->recipient, dl->size,
		    (unsigned long long) total,
		    dl->detail[0] ? " detail=" : "", dl->detail);
	}
	pthread_mutex_lock(&sys->dl_mtx);
	n = sys->ndl_subs < 32 ? sys->ndl_subs : 32;
	if (n > 0) {
		memcpy(subs, sys->dl_subs, n * sizeof(ar_ref));
	}
	pthread_mutex_unlock(&sys->dl_mtx);
	for (uint32_t i = 0; i < n; i++) {
		nng_msg *m;
		if (pack_msg(
		        sys, &dl->base, AR_REF_NONE, 0, HDR_DEAD_LETTER, &m)
		    == 0) {
			deliver_local(sys, subs[i], m);
		}
	}
	/* counted after the subscribers have it queued: whoever sees the new
	 * total and then asks a subscriber finds the letter counted there */
	atomic_fetch_add(&sys->dl_total, 1);
}

void
dead_letter_raw(ar_system *sys, int reason, const char *type,
    const char *sender, const char *recipient, size_t size, const char *detail)
{
	Ar__DeadLetter dl = AR__DEAD_LETTER__INIT;
	dl.reason         = reason;
	dl.type           = (char *) (type ? type : "");
	dl.sender         = (char *) (sender ? sender : "");
	dl.recipient      = (char *) (recipient ? recipient : "");
	dl.size           = (uint32_t) size;
	dl.time_ms        = ar_now_ms();
	dl.detail         = (char *) (detail ? detail : "");
	publish(sys, &dl);
}

void
dead_letter(ar_system *sys, int reason, ar_ref to, const char *to_path,
    nng_msg *m, const char *detail)
{
	msg_hdr                           h;
	const ProtobufCMessageDescriptor *d;
	char                              sender[512], recipient[512];

	h = hdr_of(m);
	if (h.flags & HDR_DEAD_LETTER) {
		atomic_fetch_add(&sys->dl_dropped, 1);
		return;
	}
	d = registry_at(h.type);
	ar_ref_address(sys, (ar_ref) { h.sender }, sender, sizeof(sender));
	if (to_path != NULL) {
		snprintf(recipient, sizeof(recipient), "%s%s",
		    to_path[0] == '/' ? sys->address : "", to_path);
	} else {
		ar_ref_address(sys, to, recipient, sizeof(recipient));
	}
	dead_letter_raw(sys, reason, d ? d->name : "?", sender, recipient,
	    nng_msg_len(m), detail);
}

int
ar_subscribe_dead_letters(ar_system *sys, ar_ref subscriber)
{
	int rv = 0;
	if (ref_kind(subscriber) != REF_LOCAL) {
		return (AR_EINVAL);
	}
	pthread_mutex_lock(&sys->dl_mtx);
	for (uint32_t i = 0; i < sys->ndl_subs; i++) {
		if (sys->dl_subs[i].id == subscriber.id) {
			pthread_mutex_unlock(&sys->dl_mtx);
			return (0); /* already subscribed */
		}
	}
	if (sys->ndl_subs == 32) {
		rv = AR_EFULL;
	} else {
		if (sys->ndl_subs == sys->capdl_subs) {
			sys->capdl_subs
			    = sys->capdl_subs ? sys->capdl_subs * 2 : 4;
			sys->dl_subs = ar_xrealloc(
			    sys->dl_subs, sys->capdl_subs * sizeof(ar_ref));
		}
		sys->dl_subs[sys->ndl_subs++] = subscriber;
	}
	pthread_mutex_unlock(&sys->dl_mtx);
	return (rv);
}

int
ar_unsubscribe_dead_letters(ar_system *sys, ar_ref subscriber)
{
	int rv = AR_ENOENT;
	pthread_mutex_lock(&sys->dl_mtx);
	for (uint32_t i = 0; i < sys->ndl_subs; i++) {
		if (sys->dl_subs[i].id == subscriber.id) {
			sys->dl_subs[i] = sys->dl_subs[--sys->ndl_subs];
			rv              = 0;
			break;
		}
	}
	pthread_mutex_unlock(&sys->dl_mtx);
	return (rv);
}

uint64_t
ar_dead_letter_total(ar_system *sys)
{
	return (atomic_load(&sys->dl_total));
}
