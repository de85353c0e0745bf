/*
 * troubleshooting.c - TroubleshootingActor (see troubleshooting.h).
 *
 * State: a ring of the latest PJ_TROUBLESHOOTING_KEEP dead letters (deep
 * copies, since a received message lives only for its receive) and a small
 * table of counts per (reason, type).  The actor is the only one touching
 * its state (runtime guarantee), so nothing here locks.
 */
#include "actors/troubleshooting.h"

#include "runtime/log.h"

#include <stdlib.h>
#include <string.h>

#define MAX_KINDS 512 /* distinct (reason, type) pairs kept; then "other" */

typedef struct kept {
	int      reason;
	char    *type, *sender, *recipient, *detail;
	int64_t  time_ms;
	uint32_t size;
} kept;

typedef struct kind {
	int      reason;
	char    *type;
	uint64_t count;
} kind;

typedef struct ts_state {
	kept     ring[PJ_TROUBLESHOOTING_KEEP];
	uint32_t head, len;
	kind     kinds[MAX_KINDS];
	uint32_t nkinds;
	uint64_t total, other;
} ts_state;

static void
kept_clear(kept *k)
{
	free(k->type);
	free(k->sender);
	free(k->recipient);
	free(k->detail);
	memset(k, 0, sizeof(*k));
}

static void
record(ts_state *s, const Ar__DeadLetter *dl)
{
	kept *k;
	s->total++;
	uint32_t i;
	for (i = 0; i < s->nkinds; i++) {
		if (s->kinds[i].reason == (int) dl->reason
		    && strcmp(s->kinds[i].type, dl->type) == 0) {
			s->kinds[i].count++;
			break;
		}
	}
	if (i == s->nkinds) {
		if (s->nkinds < MAX_KINDS) {
			s->kinds[i].reason = dl->reason;
			s->kinds[i].type   = ar_xstrdup(dl->type);
			s->kinds[i].count  = 1;
			s->nkinds++;
		} else {
			s->other++;
		}
	}
	if (s->len < PJ_TROUBLESHOOTING_KEEP) {
		k = &s->ring[(s->head + s->len++) % PJ_TROUBLESHOOTING_KEEP];
	} else {
		k       = &s->ring[s->head];
		s->head = (s->head + 1) % PJ_TROUBLESHOOTING_KEEP;
		kept_clear(k);
	}
	k->reason    = dl->reason;
	k->type      = ar_xstrdup(dl->type);
	k->sender    = ar_xstrdup(dl->sender);
	k->recipient = ar_xstrdup(dl->recipient);
	k->detail    = ar_xstrdup(dl->detail);
	k->time_ms   = dl->time_ms;
	k->size      = dl->size;
}

static int
answer(ar_ctx *ctx, ts_state *s, const Ar__DeadLetterQuery *q)
{
	Ar__DeadLetterReport  rep    = AR__DEAD_LETTER_REPORT__INIT;
	uint32_t              limit  = q->recent_limit;
	uint32_t              nk     = s->nkinds + (s->other ? 1 : 0);
	Ar__DeadLetterCount  *counts = ar_xcalloc(nk, sizeof(*counts));
	Ar__DeadLetterCount **cp     = ar_xcalloc(nk, sizeof(*cp));
	Ar__DeadLetter       *recent;
	Ar__DeadLetter      **rp;
	int                   rv;

	if (limit > s->len) {
		limit = s->len;
	}
	recent = ar_xcalloc(limit, sizeof(*recent));
	rp     = ar_xcalloc(limit, sizeof(*rp));
	for (uint32_t i = 0; i < s->nkinds; i++) {
		ar__dead_letter_count__init(&counts[i]);
		counts[i].reason = s->kinds[i].reason;
		counts[i].type   = s->kinds[i].type;
		counts[i].count  = s->kinds[i].count;
		cp[i]            = &counts[i];
	}
	if (s->other) {
		ar__dead_letter_count__init(&counts[s->nkinds]);
		counts[s->nkinds].type  = "(other kinds)";
		counts[s->nkinds].count = s->other;
		cp[s->nkinds]           = &counts[s->nkinds];
	}
	/* newest last: the last `limit` entries of the ring */
	for (uint32_t i = 0; i < limit; i++) {
		kept *k = &s->ring[(s->head + s->len - limit + i)
		    % PJ_TROUBLESHOOTING_KEEP];
		ar__dead_letter__init(&recent[i]);
		recent[i].reason    = k->reason;
		recent[i].type      = k->type;
		recent[i].sender    = k->sender;
		recent[i].recipient = k->recipient;
		recent[i].detail    = k->detail;
		recent[i].time_ms   = k->time_ms;
		recent[i].size      = k->size;
		rp[i]               = &recent[i];
	}
	rep.total    = s->total;
	rep.n_counts = nk;
	rep.counts   = cp;
	rep.n_recent = limit;
	rep.recent   = rp;
	rv           = ar_reply(ctx, &rep.base);
	free(counts);
	free(cp);
	free(recent);
	free(rp);
	if (rv != 0) {
		/* the asker cannot be answered (no sender, its queue is
		 * full, ...): not our failure; a restart would wipe the
		 * counts */
		ar_log(AR_LOG_INFO, "troubleshooting",
		    "system=%s report not sent: %s; counts kept",
		    ar_system_name(ar_ctx_system(ctx)), ar_strerror(rv));
	}
	return (0);
}

static int
ts_pre_start(ar_ctx *ctx, void *state)
{
	(void) state;
	return (
	    ar_subscribe_dead_letters(ar_ctx_system(ctx), ar_ctx_self(ctx)));
}

static void
free_state(ts_state *s)
{
	for (uint32_t i = 0; i < PJ_TROUBLESHOOTING_KEEP; i++) {
		kept_clear(&s->ring[i]);
	}
	for (uint32_t i = 0; i < s->nkinds; i++) {
		free(s->kinds[i].type);
	}
}

static void
ts_post_stop(ar_ctx *ctx, void *state)
{
	ar_unsubscribe_dead_letters(ar_ctx_system(ctx), ar_ctx_self(ctx));
	free_state(state);
}

static void
ts_pre_restart(ar_ctx *ctx, void *state, int err)
{
	(void) ctx;
	(void) err;
	free_state(state); /* stays subscribed: pre_start follows */
}

static int
ts_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *type,
    const ProtobufCMessage *msg)
{
	ts_state *s = state;
	if (type == &ar__dead_letter__descriptor) {
		record(s, (const Ar__DeadLetter *) msg);
		return (0);
	}
	if (type == &ar__dead_letter_query__descriptor) {
		return (answer(ctx, s, (const Ar__DeadLetterQuery *) msg));
	}
	ar_reply_failure(ctx, AR_ETYPE, "troubleshooting: unexpected message");
	return (0);
}

static const ar_behavior ts_behavior = {
	ts_pre_start,
	ts_receive,
	ts_post_stop,
	ts_pre_restart,
};

int
pj_troubleshooting_spawn(ar_system *sys, ar_ref *refp)
{
	ar_props p   = { 0 };
	p.behavior   = &ts_behavior;
	p.state_size = sizeof(ts_state);
	ar_ref r;
	int    rv;
	if ((rv = ar_spawn(sys, AR_REF_NONE, PJ_TROUBLESHOOTING_NAME, &p, &r))
	    != 0) {
		return (rv);
	}
	/* subscribed before spawn returns: no dead letter slips past while
	 * pre_start waits for its turn (pre_start subscribes too, for
	 * restarts; subscribing is idempotent) */
	if ((rv = ar_subscribe_dead_letters(sys, r)) != 0) {
		ar_stop(sys, r);
		return (rv);
	}
	if (refp != NULL) {
		*refp = r;
	}
	return (0);
}
