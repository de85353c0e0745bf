/*
 * remote_ref.c - the remote-ref table: one entry per distinct remote
 * address ("pj://sys@host:port/user/x") resolved by the application or
 * seen as the sender of an inbound envelope.
 *
 * Design notes
 * ------------
 * A remote ref is (slot, generation).  Entries are cached by address, so
 * resolving an address twice gives the same ref, and bounded
 * (MAX_REMOTE_REFS live entries) so a flood of distinct senders cannot
 * grow the table without limit.  Entries are not kept forever: the
 * housekeeper (remote.c) sweeps the table and frees an entry that nobody
 * holds (users == 0), that was not resolved or sent to for peer_forget_ms,
 * and whose peer has no association left (the association itself is
 * forgotten after that long unreachable or silent).  The slot then goes to
 * a free list and its generation moves on, so an old ref fails cleanly
 * (NO_RECIPIENT dead letter) instead of reaching whoever takes the slot.
 * Lock: sys->remote_mtx, a leaf.  A sender holds an entry from
 * remote_ref_acquire (which raises `users` under the lock) to
 * remote_ref_release (which drops it without): the sweep, under the lock,
 * never frees an entry between the two.
 */
#include "runtime/remote_int.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_REMOTE_REFS 65536u

static void
ent_free(remote_ent *re)
{
	free(re->address);
	free(re->sysname);
	free(re->hostport);
	free(re->path);
	free(re->full);
	free(re);
}

int
remote_ref_resolve(ar_system *sys, const char *address, const char *own,
    const char *sysname, const char *hostport, const char *path, ar_ref *refp)
{
	remote_ent *re;
	uint64_t    id;
	uint32_t    slot;
	int64_t     now = ar_mono_ms();

	pthread_mutex_lock(&sys->remote_mtx);
	if (strmap_get(&sys->remote_by_addr, address, &id)) {
		sys->remotes[ref_slot((ar_ref) { id })]->used_ms = now;
		pthread_mutex_unlock(&sys->remote_mtx);
		refp->id = id;
		return (0);
	}
	if (sys->nremotes - sys->nremote_free >= MAX_REMOTE_REFS) {
		pthread_mutex_unlock(&sys->remote_mtx);
		ar_log(AR_LOG_WARN, "remote",
		    "system=%s remote ref table full (%u live): %s refused "
		    "(entries unused for peer_forget_ms are freed)",
		    sys->name, MAX_REMOTE_REFS, address);
		return (AR_EFULL);
	}
	if (sys->nremote_free > 0) {
		slot = sys->remote_free[--sys->nremote_free];
	} else {
		if (sys->nremotes == sys->capremotes) {
			sys->capremotes
			    = sys->capremotes ? sys->capremotes * 2 : 16;
			sys->remotes     = ar_xrealloc(sys->remotes,
			        sys->capremotes * sizeof(remote_ent *));
			sys->remote_gens = ar_xrealloc(sys->remote_gens,
			    sys->capremotes * sizeof(uint32_t));
			sys->remote_free = ar_xrealloc(sys->remote_free,
			    sys->capremotes * sizeof(uint32_t));
		}
		slot                   = sys->nremotes++;
		sys->remote_gens[slot] = 1;
	}
	re                 = ar_xcalloc(1, sizeof(*re));
	re->address        = ar_xstrdup(own);
	re->sysname        = ar_xstrdup(sysname);
	re->hostport       = ar_xstrdup(hostport);
	re->path           = ar_xstrdup(path);
	re->full           = ar_xstrdup(address);
	re->slot           = slot;
	re->used_ms        = now;
	sys->remotes[slot] = re;
	refp->id = ref_make(REF_REMOTE, slot, sys->remote_gens[slot]).id;
	strmap_put(&sys->remote_by_addr, address, refp->id);
	pthread_mutex_unlock(&sys->remote_mtx);
	return (0);
}

/* The entry a ref names, held until remote_ref_release; NULL if the ref
 * was forgotten (or never made here). */
remote_ent *
remote_ref_acquire(ar_system *sys, ar_ref ref)
{
	remote_ent *re   = NULL;
	uint32_t    slot = ref_slot(ref);
	pthread_mutex_lock(&sys->remote_mtx);
	if (slot < sys->nremotes && sys->remotes[slot] != NULL
	    && sys->remote_gens[slot] == ref_gen(ref)) {
		re          = sys->remotes[slot];
		re->used_ms = ar_mono_ms();
		atomic_fetch_add(&re->users, 1);
	}
	pthread_mutex_unlock(&sys->remote_mtx);
	return (re);
}

/* The sender's last touch of re (no lock: see remote_ref_acquire). */
void
remote_ref_release(ar_system *sys, remote_ent *re)
{
	(void) sys;
	atomic_fetch_sub(&re->users, 1);
}

void
remote_ref_address(ar_system *sys, ar_ref ref, char *buf, size_t len)
{
	uint32_t slot = ref_slot(ref);
	pthread_mutex_lock(&sys->remote_mtx);
	if (slot < sys->nremotes && sys->remotes[slot] != NULL
	    && sys->remote_gens[slot] == ref_gen(ref)) {
		snprintf(buf, len, "%s", sys->remotes[slot]->full);
	} else {
		snprintf(buf, len, "(forgotten remote ref)");
	}
	pthread_mutex_unlock(&sys->remote_mtx);
}

/* Housekeeper: frees entries unused for forget_ms whose host:port is not
 * in `live` (the peers that still have an association). */
void
remote_refs_sweep(ar_system *sys, int64_t now, const strmap *live)
{
	int64_t  forget = sys->rem->forget_ms;
	uint32_t freed  = 0;
	uint64_t dummy;
	pthread_mutex_lock(&sys->remote_mtx);
	for (uint32_t i = 0; i < sys->nremotes; i++) {
		remote_ent *re = sys->remotes[i];
		if (re == NULL || atomic_load(&re->users) > 0
		    || now - re->used_ms < forget
		    || strmap_get(live, re->hostport, &dummy)) {
			continue;
		}
		strmap_del(&sys->remote_by_addr, re->full);
		sys->remotes[i] = NULL;
		sys->remote_gens[i]++;
		if (sys->remote_gens[i] == 0) {
			sys->remote_gens[i] = 1;
		}
		sys->remote_free[sys->nremote_free++] = i;
		ent_free(re);
		freed++;
	}
	pthread_mutex_unlock(&sys->remote_mtx);
	if (freed > 0) {
		ar_log(AR_LOG_DEBUG, "remote",
		    "system=%s forgot %u remote refs unused for %lld ms",
		    sys->name, freed, (long long) forget);
	}
}

void
remote_refs_fini(ar_system *sys)
{
	for (uint32_t i = 0; i < sys->nremotes; i++) {
		if (sys->remotes[i] != NULL) {
			ent_free(sys->remotes[i]);
		}
	}
	free(sys->remotes);
	free(sys->remote_gens);
	free(sys->remote_free);
	sys->remotes     = NULL;
	sys->remote_gens = NULL;
	sys->remote_free = NULL;
	sys->nremotes    = 0;
}
