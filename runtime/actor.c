/*
 * actor.c - actor cells: spawn, the mailbox run loop, stop, supervision,
 * and local delivery (tell, reply, forward).
 *
 * Design notes
 * ------------
 * - A turn (cell_run) mirrors Akka's Mailbox.run: first the "system
 *   messages" (pre_start still due, an escalated failure, a stop request),
 *   then up to `throughput` user messages, re-checking the stop flag after
 *   each one, then either re-queue the cell (more work) or, when its
 *   `pending` count reaches 0, let it go (internal.h).  Only the thread
 *   holding the turn touches the actor's state, so an actor never runs
 *   two messages at once.
 * - Messages are decoded on the dispatcher thread into a per-thread arena
 *   (protobuf-c's allocator hook): decoding costs no malloc in the common
 *   case, and the arena is reset after each receive.
 * - Supervision is one-for-one and decided on the failing actor's own
 *   thread from the parent's props (the parent's strategy is immutable, so
 *   no message round trip to the parent is needed).  Escalation posts the
 *   failure to the parent as a pending system message.  A restart keeps
 *   the mailbox and the children (Akka's default pre_restart stops the
 *   children; ours leaves that to the actor's pre_restart hook).
 * - Stop: the cell refuses new messages at once (state STOPPING), asks its
 *   children to stop and waits for them (the last child to die re-queues
 *   the parent), then calls post_stop, turns what is left in the mailbox
 *   into dead letters, and frees the slot with its generation bumped.
 * - A slot is reused by later spawns: producers read the incarnation's
 *   generation, state, mailbox bound and pool without the lock (atomic
 *   fields); a turn taken on the previous incarnation's pool moves the
 *   cell to its own pool before running anything.
 * Locks: see internal.h (paths_mtx -> parent cell -> child cell ->
 * cells_mtx; cell -> dispatcher).  Dead letters are published with no
 * lock held.
 */
#include "runtime/internal.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- per-thread decode arena ------------------------------------------ */
#define ARENA_BYTES (64 * 1024)
static _Thread_local struct {
	uint8_t *buf;
	size_t   used;
	bool     spilled; /* something went to malloc */
} arena;

static void *
arena_alloc(void *data, size_t size)
{
	(void) data;
	size = (size + 15) & ~(size_t) 15;
	if (arena.buf == NULL) {
		arena.buf = ar_xmalloc(ARENA_BYTES);
	}
	if (arena.used + size <= ARENA_BYTES) {
		void *p = arena.buf + arena.used;
		arena.used += size;
		return (p);
	}
	arena.spilled = true;
	return (malloc(size));
}

static void
arena_free(void *data, void *p)
{
	(void) data;
	if (p != NULL
	    && ((uint8_t *) p < arena.buf
	        || (uint8_t *) p >= arena.buf + ARENA_BYTES)) {
		free(p);
	}
}

static ProtobufCAllocator arena_allocator = { arena_alloc, arena_free, NULL };

void
arena_thread_fini(void)
{
	free(arena.buf);
	arena.buf = NULL;
}

/* ---- cells ------------------------------------------------------------- */
ar_cell *
cell_at(ar_system *sys, uint32_t slot)
{
	if (slot >= __atomic_load_n(&sys->ncells, __ATOMIC_ACQUIRE)) {
		return (NULL);
	}
	return (sys->chunks[slot / CHUNK_CELLS][slot % CHUNK_CELLS]);
}

static ar_cell *
cell_alloc(ar_system *sys)
{
	ar_cell *c;
	pthread_mutex_lock(&sys->cells_mtx);
	if ((c = sys->free_cells) != NULL) {
		sys->free_cells = c->free_next;
	} else {
		uint32_t slot = sys->ncells;
		if (slot >= CHUNK_CELLS * MAX_CHUNKS) {
			pthread_mutex_unlock(&sys->cells_mtx);
			return (NULL);
		}
		if (sys->chunks[slot / CHUNK_CELLS] == NULL) {
			sys->chunks[slot / CHUNK_CELLS]
			    = ar_xcalloc(CHUNK_CELLS, sizeof(ar_cell *));
		}
		c       = ar_xcalloc(1, sizeof(*c));
		c->slot = slot;
		c->sys  = sys;
		mailbox_init(&c->mbox);
		atomic_init(&c->pending, 0);
		ar_mutex_init(&c->mtx);
		sys->chunks[slot / CHUNK_CELLS][slot % CHUNK_CELLS] = c;
		__atomic_store_n(&sys->ncells, slot + 1, __ATOMIC_RELEASE);
	}
	atomic_fetch_add(&sys->live_cells, 1);
	pthread_mutex_unlock(&sys->cells_mtx);
	return (c);
}

static void
cell_release(ar_cell *c)
{
	ar_system *sys = c->sys;
	pthread_mutex_lock(&sys->cells_mtx);
	c->free_next    = sys->free_cells;
	sys->free_cells = c;
	atomic_fetch_sub(&sys->live_cells, 1);
	pthread_mutex_unlock(&sys->cells_mtx);
}

static bool
valid_name(const char *name)
{
	size_t n = 0;
	if (name == NULL) {
		return (false);
	}
	for (const char *p = name; *p; p++, n++) {
		char ch = *p;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
		        || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'
		        || ch == '.' || ch == '$')) {
			return (false);
		}
	}
	return (n > 0 && n < 128);
}

/*
 * Records a signal (start, stop, a child's death, an escalated failure)
 * with c->mtx held; true when the caller must queue the cell once it has
 * released the lock.
 */
static bool
cell_signal(ar_cell *c)
{
	c->signals++;
	return (atomic_fetch_add(&c->pending, 1) == 0);
}

void
schedule_cell(ar_cell *c)
{
	/* a stale pool (the slot is being reused) is corrected by the turn */
	dispatcher_schedule(
	    &c->sys->disp[__atomic_load_n(&c->disp, __ATOMIC_RELAXED)], c);
}

int
ar_spawn(ar_system *sys, ar_ref parent, const char *name,
    const ar_props *props, ar_ref *refp)
{
	ar_cell *pc = NULL, *c;
	char     path[512];
	uint64_t existing;

	if (sys == NULL || props == NULL || props->behavior == NULL
	    || props->behavior->receive == NULL || !valid_name(name)
	    || props->dispatcher > AR_DISPATCHER_BLOCKING) {
		return (AR_EINVAL);
	}
	if (atomic_load(&sys->stopping)) {
		return (AR_ESTOPPED);
	}
	pthread_mutex_lock(&sys->paths_mtx);
	if (!ar_ref_is_none(parent)) {
		if (ref_kind(parent) != REF_LOCAL
		    || (pc = cell_at(sys, ref_slot(parent))) == NULL) {
			pthread_mutex_unlock(&sys->paths_mtx);
			return (AR_ENOENT);
		}
		pthread_mutex_lock(&pc->mtx);
		if (pc->gen != ref_gen(parent) || pc->state != CELL_ALIVE
		    || pc->stop_req) {
			pthread_mutex_unlock(&pc->mtx);
			pthread_mutex_unlock(&sys->paths_mtx);
			return (AR_ESTOPPED);
		}
		snprintf(path, sizeof(path), "%s/%s", pc->path, name);
	} else {
		snprintf(path, sizeof(path), "/user/%s", name);
	}
	if (strmap_get(&sys->paths, path, &existing)) {
		if (pc != NULL) {
			pthread_mutex_unlock(&pc->mtx);
		}
		pthread_mutex_unlock(&sys->paths_mtx);
		return (AR_EEXIST);
	}
	if ((c = cell_alloc(sys)) == NULL) {
		if (pc != NULL) {
			pthread_mutex_unlock(&pc->mtx);
		}
		pthread_mutex_unlock(&sys->paths_mtx);
		return (AR_EFULL);
	}
	pthread_mutex_lock(&c->mtx);
	uint32_t gen = c->gen + 1 ? c->gen + 1 : 1;
	__atomic_store_n(&c->gen, gen, __ATOMIC_RELEASE);
	c->props = *props;
	__atomic_store_n(&c->bound, props->mailbox_bound, __ATOMIC_RELEASE);
	__atomic_store_n(&c->disp, (int) props->dispatcher, __ATOMIC_RELAXED);
	c->state_mem
	    = ar_xcalloc(1, props->state_size ? props->state_size : 1);
	free(c->path); /* the previous incarnation's, kept for dead letters */
	c->path    = ar_xstrdup(path);
	c->self    = ref_make(REF_LOCAL, c->slot, c->gen);
	c->parent  = parent;
	c->started = c->stop_req = false;
	c->pending_failure       = 0;
	c->window_restarts       = 0;
	__atomic_store_n(&c->restarts, 0, __ATOMIC_RELAXED);
	c->window_start_ms = ar_mono_ms();
	__atomic_store_n(&c->processed, 0, __ATOMIC_RELAXED);
	c->nchildren = 0;
	/* alive last: producers check the state without the lock */
	__atomic_store_n(&c->state, CELL_ALIVE, __ATOMIC_RELEASE);
	bool sched = cell_signal(c); /* the first turn runs pre_start */
	pthread_mutex_unlock(&c->mtx);

	if (pc != NULL) {
		if (pc->nchildren == pc->capchildren) {
			pc->capchildren
			    = pc->capchildren ? pc->capchildren * 2 : 4;
			pc->children = ar_xrealloc(
			    pc->children, pc->capchildren * sizeof(ar_ref));
		}
		pc->children[pc->nchildren++] = c->self;
		pthread_mutex_unlock(&pc->mtx);
	}
	strmap_put(&sys->paths, path, c->self.id);
	pthread_mutex_unlock(&sys->paths_mtx);

	if (refp != NULL) {
		*refp = c->self;
	}
	if (sched) {
		schedule_cell(c);
	}
	return (0);
}

/* ---- stop -------------------------------------------------------------- */
void
cell_request_stop(ar_cell *c, uint32_t gen)
{
	bool sched = false;
	pthread_mutex_lock(&c->mtx);
	if (c->gen == gen && c->state == CELL_ALIVE && !c->stop_req) {
		__atomic_store_n(&c->stop_req, true, __ATOMIC_RELEASE);
		sched = cell_signal(c);
	}
	pthread_mutex_unlock(&c->mtx);
	if (sched) {
		schedule_cell(c);
	}
}

int
ar_stop(ar_system *sys, ar_ref ref)
{
	ar_cell *c;
	if (ref_kind(ref) != REF_LOCAL
	    || (c = cell_at(sys, ref_slot(ref))) == NULL) {
		return (AR_ENOENT);
	}
	cell_request_stop(c, ref_gen(ref));
	return (0);
}

/* Turns what is queued into dead letters (the actor is stopping). */
static void
drain_stopped(ar_cell *c, int64_t *taken)
{
	nng_msg *m;
	while ((m = mailbox_pop(&c->mbox)) != NULL) {
		(*taken)++;
		dead_letter(c->sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_STOPPED, c->self,
		    c->path, m, "actor stopped");
		nng_msg_free(m);
	}
}

/*
 * Called on the cell's turn with c->mtx held; returns with it released.
 * *taken counts the messages it drained.
 */
static void
finish_stop(ar_cell *c, int64_t *taken)
{
	ar_system *sys = c->sys;
	ar_ctx     ctx = { sys, c, NULL, { 0, 0, 0, 0, 0, 0 } };

	if (c->state == CELL_ALIVE) {
		uint32_t n    = c->nchildren;
		ar_ref  *kids = NULL;
		__atomic_store_n(&c->state, CELL_STOPPING, __ATOMIC_RELEASE);
		if (n > 0) {
			kids = ar_xmalloc(n * sizeof(ar_ref));
			memcpy(kids, c->children, n * sizeof(ar_ref));
		}
		pthread_mutex_unlock(&c->mtx);
		for (uint32_t i = 0; i < n; i++) {
			ar_cell *k = cell_at(sys, ref_slot(kids[i]));
			if (k != NULL) {
				cell_request_stop(k, ref_gen(kids[i]));
			}
		}
		free(kids);
		pthread_mutex_lock(&c->mtx);
	}
	bool waiting = c->nchildren > 0;
	pthread_mutex_unlock(&c->mtx);
	drain_stopped(c, taken);
	if (waiting) {
		return; /* the last child to die signals us again */
	}

	if (c->started && c->props.behavior->post_stop != NULL) {
		c->props.behavior->post_stop(&ctx, c->state_mem);
	}
	pthread_mutex_lock(&c->mtx);
	__atomic_store_n(&c->state, CELL_DEAD, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&c->mtx);
	drain_stopped(c, taken); /* what slipped in before DEAD was seen */

	pthread_mutex_lock(&sys->paths_mtx);
	uint64_t id;
	if (strmap_get(&sys->paths, c->path, &id) && id == c->self.id) {
		strmap_del(&sys->paths, c->path);
	}
	pthread_mutex_unlock(&sys->paths_mtx);

	/* tell the parent, which may be waiting for its last child */
	if (!ar_ref_is_none(c->parent)) {
		ar_cell *p     = cell_at(sys, ref_slot(c->parent));
		bool     sched = false;
		if (p != NULL) {
			pthread_mutex_lock(&p->mtx);
			if (p->gen == ref_gen(c->parent)) {
				for (uint32_t i = 0; i < p->nchildren; i++) {
					if (p->children[i].id == c->self.id) {
						p->children[i]
						    = p->children
						          [--p->nchildren];
						break;
					}
				}
				if (p->state == CELL_STOPPING
				    && p->nchildren == 0) {
					sched = cell_signal(p);
				}
			}
			pthread_mutex_unlock(&p->mtx);
			if (sched) {
				schedule_cell(p);
			}
		}
	}
	ar_log(AR_LOG_DEBUG, "actor", "system=%s actor=%s stopped", sys->name,
	    c->path);

	pthread_mutex_lock(&c->mtx);
	free(c->state_mem);
	free(c->children);
	c->state_mem   = NULL; /* the path stays until the slot is reused */
	c->children    = NULL;
	c->capchildren = 0;
	__atomic_store_n(&c->state, CELL_FREE, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&c->mtx);
	cell_release(c);
}

/* ---- supervision ------------------------------------------------------- */
static const char *
directive_name(ar_directive d)
{
	switch (d) {
	case AR_RESUME:
		return ("resume");
	case AR_RESTART:
		return ("restart");
	case AR_STOP:
		return ("stop");
	case AR_ESCALATE:
		return ("escalate");
	}
	return ("?");
}

/* Runs on c's turn, no lock held. */
static void
handle_failure(ar_cell *c, int err)
{
	ar_system   *sys = c->sys;
	ar_strategy  st  = { NULL, 0, 0 };
	ar_cell     *p   = NULL;
	ar_directive d;

	if (!ar_ref_is_none(c->parent)
	    && (p = cell_at(sys, ref_slot(c->parent))) != NULL) {
		bool same;
		pthread_mutex_lock(&p->mtx);
		same = p->gen == ref_gen(c->parent);
		if (same) {
			st = p->props.child_strategy;
		}
		pthread_mutex_unlock(&p->mtx);
		if (!same) {
			p = NULL;
		}
	}
	d = st.decider != NULL ? st.decider(err) : AR_RESTART;
	if (d == AR_ESCALATE && p == NULL) {
		d = AR_STOP; /* the /user guardian stops what escalates */
	}
	if (d == AR_RESTART && st.max_restarts > 0) {
		int64_t now = ar_mono_ms();
		if (st.within_ms > 0
		    && now - c->window_start_ms > st.within_ms) {
			c->window_start_ms = now;
			c->window_restarts = 0;
		}
		if (c->window_restarts >= (uint32_t) st.max_restarts) {
			d = AR_STOP;
		} else {
			c->window_restarts++;
		}
	}
	ar_log(AR_LOG_WARN, "actor",
	    "system=%s actor=%s receive failed err=%d (%s): %s", sys->name,
	    c->path, err,
	    err > 0 && err <= AR_EAUTH ? ar_strerror(err) : "app",
	    directive_name(d));
	switch (d) {
	case AR_RESUME:
		break;
	case AR_RESTART: {
		ar_ctx ctx = { sys, c, NULL, { 0, 0, 0, 0, 0, 0 } };
		if (c->props.behavior->pre_restart != NULL) {
			c->props.behavior->pre_restart(
			    &ctx, c->state_mem, err);
		}
		memset(c->state_mem, 0,
		    c->props.state_size ? c->props.state_size : 1);
		__atomic_store_n(
		    &c->restarts, c->restarts + 1, __ATOMIC_RELAXED);
		if (c->props.behavior->pre_start != NULL
		    && c->props.behavior->pre_start(&ctx, c->state_mem) != 0) {
			cell_request_stop(c, c->gen);
		}
		break;
	}
	case AR_STOP:
		cell_request_stop(c, c->gen);
		break;
	case AR_ESCALATE: {
		bool sched = false;
		pthread_mutex_lock(&p->mtx);
		if (p->gen == ref_gen(c->parent) && p->state == CELL_ALIVE) {
			__atomic_store_n(
			    &p->pending_failure, err, __ATOMIC_RELEASE);
			sched = cell_signal(p);
		}
		pthread_mutex_unlock(&p->mtx);
		if (sched) {
			schedule_cell(p);
		}
		break;
	}
	}
}

/* ---- the turn ---------------------------------------------------------- */
static void
process(ar_cell *c, nng_msg *m)
{
	ar_system                        *sys = c->sys;
	ar_ctx                            ctx;
	const ProtobufCMessageDescriptor *desc;
	ProtobufCMessage                 *msg;
	int                               rv;

	ctx.sys  = sys;
	ctx.cell = c;
	ctx.msg  = m;
	ctx.hdr  = hdr_of(m);
	if ((desc = registry_at(ctx.hdr.type)) == NULL) {
		dead_letter(sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_UNKNOWN_TYPE, c->self,
		    c->path, m, "type index not registered");
		nng_msg_free(m);
		return;
	}
	arena.used    = 0;
	arena.spilled = false;
	msg           = protobuf_c_message_unpack(
	              desc, &arena_allocator, nng_msg_len(m), nng_msg_body(m));
	if (msg == NULL) {
		dead_letter(sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_UNDECODABLE, c->self,
		    c->path, m, "body does not decode as its type");
		nng_msg_free(m);
		return;
	}
	rv = c->props.behavior->receive(&ctx, c->state_mem, desc, msg);
	if (arena.spilled) {
		protobuf_c_message_free_unpacked(msg, &arena_allocator);
	}
	arena.used = 0;
	__atomic_store_n(&c->processed, c->processed + 1, __ATOMIC_RELAXED);
	msgpool_put(m);
	if (rv != 0) {
		handle_failure(c, rv);
	}
}

/*
 * A slot that holds no actor (its actor stopped, maybe a new one is being
 * spawned into it): what was queued for an old incarnation is a dead
 * letter; a message for the current one is kept for the next turn.
 */
static void
drain_free(ar_cell *c, int64_t *taken)
{
	nng_msg *m;
	while ((m = mailbox_pop(&c->mbox)) != NULL) {
		msg_hdr h = hdr_of(m);
		if (h.gen == __atomic_load_n(&c->gen, __ATOMIC_ACQUIRE)
		    && __atomic_load_n(&c->state, __ATOMIC_ACQUIRE)
		        == CELL_ALIVE) {
			mailbox_keep(&c->mbox, m);
			return;
		}
		(*taken)++;
		dead_letter(c->sys,
		    AR__DEAD_LETTER_REASON__DEAD_LETTER_STOPPED, AR_REF_NONE,
		    "/(stopped actor)", m, "actor stopped");
		nng_msg_free(m);
	}
}

/*
 * One turn; returns TURN_MORE when the cell still has something to do (the
 * caller runs another turn or re-queues it), TURN_WAIT when it has but took
 * nothing (a producer is between its push and its count), TURN_IDLE when
 * its pending count reached 0 (the cell must not be touched after that),
 * TURN_MOVE when it holds an actor of another pool (nothing was run).
 */
enum { TURN_IDLE, TURN_MORE, TURN_WAIT, TURN_MOVE };

static int
cell_turn(ar_cell *c, dispatcher *on)
{
	ar_system *sys   = c->sys;
	int64_t    taken = 0;
	int        tp    = sys->cfg.throughput;

	pthread_mutex_lock(&c->mtx);
	if (c->state != CELL_FREE && &sys->disp[c->disp] != on) {
		/* queued for an earlier incarnation of the other pool */
		pthread_mutex_unlock(&c->mtx);
		return (TURN_MOVE);
	}
	taken += c->signals;
	c->signals = 0;
	if (c->state == CELL_FREE) {
		pthread_mutex_unlock(&c->mtx);
		drain_free(c, &taken);
		goto account;
	}
	/* Akka's Create comes first: pre_start runs even if a stop is already
	 * pending, so post_stop always pairs with it */
	if (!c->started) {
		ar_ctx ctx = { sys, c, NULL, { 0, 0, 0, 0, 0, 0 } };
		int    rv  = 0;
		pthread_mutex_unlock(&c->mtx);
		if (c->props.behavior->pre_start != NULL) {
			rv = c->props.behavior->pre_start(&ctx, c->state_mem);
		}
		pthread_mutex_lock(&c->mtx);
		c->started = true;
		if (rv != 0) {
			/* Akka: a failing constructor stops the actor */
			ar_log(AR_LOG_WARN, "actor",
			    "system=%s actor=%s pre_start failed err=%d: stop",
			    sys->name, c->path, rv);
			__atomic_store_n(&c->stop_req, true, __ATOMIC_RELEASE);
		}
	}
	if (c->pending_failure != 0 && !c->stop_req) {
		int err = c->pending_failure;
		__atomic_store_n(&c->pending_failure, 0, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&c->mtx);
		handle_failure(c, err);
		pthread_mutex_lock(&c->mtx);
	}
	if (c->stop_req) {
		c->pending_failure = 0;
		finish_stop(c, &taken);
		goto account;
	}
	pthread_mutex_unlock(&c->mtx);

	for (int i = 0; i < tp; i++) {
		nng_msg *m;
		if (__atomic_load_n(&c->stop_req, __ATOMIC_ACQUIRE)
		    || __atomic_load_n(
		        &c->pending_failure, __ATOMIC_ACQUIRE)) {
			break; /* system work first, next turn */
		}
		if ((m = mailbox_pop(&c->mbox)) == NULL) {
			break; /* or a producer is mid-push: pending says so */
		}
		taken++;
		if (hdr_of(m).gen != c->gen) {
			dead_letter(sys,
			    AR__DEAD_LETTER_REASON__DEAD_LETTER_STOPPED,
			    c->self, c->path, m,
			    "queued for an earlier incarnation");
			nng_msg_free(m);
			continue;
		}
		process(c, m);
	}
account:
	if (atomic_fetch_sub(&c->pending, taken) - taken <= 0) {
		return (TURN_IDLE);
	}
	return (taken > 0 ? TURN_MORE : TURN_WAIT);
}

/*
 * Runs turns while the cell has work.  Between turns it yields to other
 * actors only if some are waiting: re-queueing when nobody waits would
 * just wake an idle thread to run the same actor (a cross-CPU wake-up
 * costs ~20 us here, a message well under 1 us).
 */
void
cell_run(ar_cell *c, dispatcher *on)
{
	int r;
	while ((r = cell_turn(c, on)) != TURN_IDLE) {
		dispatcher *d
		    = &c->sys
		           ->disp[__atomic_load_n(&c->disp, __ATOMIC_RELAXED)];
		if (r == TURN_MOVE || d != on
		    || __atomic_load_n(&d->len, __ATOMIC_RELAXED) > 0) {
			/* others wait, or the slot now holds an actor of the
			 * other pool */
			dispatcher_schedule(d, c);
			return;
		}
		if (r == TURN_WAIT) {
			sched_yield(); /* a producer is between push and count
			                */
		}
	}
}
