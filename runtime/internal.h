/*
 * internal.h - structures shared by the runtime's modules (not public).
 *
 * Design notes (threads and locks)
 * --------------------------------
 * Threads: N default-dispatcher threads, M blocking-dispatcher threads, one
 * timer thread, one remote housekeeping thread (remote.c: frees closed
 * connections, redials, forgets departed peers), and nng's own threads (its
 * aio callbacks run the remote inbound path and outbound completions; they
 * never block: they only push into mailboxes).
 *
 * Ownership: a cell (one per actor slot) is allocated once per slot and
 * never freed before the system is: a ref (slot, generation) can therefore
 * always be dereferenced, and the generation check under the cell's lock
 * tells whether it still names the same actor (type-stable memory, as in
 * the kernel's SLAB_TYPESAFE_BY_RCU).  An actor's state is freed when it
 * stops; the cell goes back to the free list with its generation bumped.
 *
 * Lock order (never take a lock to the left while holding one to its
 * right):
 *   sys->paths_mtx -> cell->mtx (parent before child) -> sys->cells_mtx
 *   cell->mtx -> dispatcher->mtx
 *   remote r->mtx -> assoc a->mtx (remote.c's notes)
 *   a->mtx -> cell->mtx, sys->remote_mtx (envelope_append names the
 *             sender: ar_ref_address)
 * Leaves (nothing else is taken while they are held): cells_mtx,
 * dispatcher->mtx, timer->mtx (free functions and callbacks run after it
 * is released), remote_mtx (the remote-ref table), ask_mtx, a future's mtx
 * (its callback runs with no lock held), dl_mtx and the registry lock.
 * Dead letters are published after every lock is released (dead_letter
 * itself may take a cell's mtx or remote_mtx to name the sender and
 * recipient).
 *
 * Stop (system.c): every part stops before any is freed; the timer
 * thread and the dispatchers keep their locks and queues until the end,
 * so a late call into them is refused or dropped, never a use after free.
 *
 * An actor runs on one thread at a time.  `pending` counts what the actor
 * has to do: every message pushed (counted after the push) and every signal
 * (start, stop, a child's death, an escalated failure; counted under the
 * cell's lock).  Whoever raises it from 0 to 1 queues the cell; the thread
 * running the turn subtracts what it took and stops when the count reaches
 * 0 (it may dip below 0 while a producer has pushed but not yet counted:
 * that producer's count then brings it back to 0 and it queues nothing, as
 * its message is already done).  So a cell is queued at most once, and never
 * forgotten.  Producers check the generation and state, and read the
 * mailbox bound and pool, without the lock (all written under it with
 * atomic stores, the state last); a message that slips in
 * as the actor stops is stamped with the generation it was meant for and
 * becomes a dead letter when popped by a later incarnation.
 */
#ifndef AR_INTERNAL_H
#define AR_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "runtime/ar.h"
#include "runtime/log.h"

/* A mutex that spins briefly before sleeping (glibc's adaptive kind): the
 * runtime's critical sections are a few dozen instructions. */
void ar_mutex_init(pthread_mutex_t *m);

/* ---- ref encoding ------------------------------------------------------ */
enum ref_kind { REF_NONE = 0, REF_LOCAL = 1, REF_REMOTE = 2, REF_TEMP = 3 };
static inline int
ref_kind(ar_ref r)
{
	return ((int) (r.id >> 62));
}
static inline uint32_t
ref_slot(ar_ref r)
{
	return ((uint32_t) ((r.id >> 32) & 0x3fffffffu));
}
static inline uint32_t
ref_gen(ar_ref r)
{
	return ((uint32_t) r.id);
}
static inline ar_ref
ref_make(int kind, uint32_t slot, uint32_t gen)
{
	ar_ref r = { ((uint64_t) kind << 62)
		| ((uint64_t) (slot & 0x3fffffffu) << 32) | gen };
	return (r);
}

/* ---- the local header every in-process message carries ---------------- */
/*
 * Stored in the nng_msg header, which nng 1.5.2 keeps inline (64 bytes at
 * offset 0 of the message: no allocation, and a stable address while the
 * message lives): the routing fields, then the mailbox's queue node.
 */
typedef struct msg_hdr {
	uint64_t sender; /* ar_ref id */
	uint64_t corr;   /* ask correlation id, 0 for tell */
	uint32_t type;   /* registry index */
	uint32_t flags;  /* HDR_* */
	uint32_t gen;    /* the recipient incarnation it was queued for */
	uint32_t pad;
} msg_hdr;
#define HDR_DEAD_LETTER 0x1u /* a DeadLetter event: never re-dead-lettered */
#define HDR_FAILURE 0x2u     /* an AskFailure reply */

typedef struct mq_node {
	struct mq_node *_Atomic next;
	nng_msg                *msg;
} mq_node;

#define HDR_BYTES (sizeof(msg_hdr) + sizeof(mq_node))

static inline void
hdr_append(nng_msg *m, const msg_hdr *h)
{
	uint8_t buf[HDR_BYTES];
	memset(buf, 0, sizeof(buf));
	memcpy(buf, h, sizeof(*h));
	nng_msg_header_append(m, buf, sizeof(buf));
}

static inline msg_hdr
hdr_of(nng_msg *m)
{
	msg_hdr h;
	memcpy(&h, nng_msg_header(m), sizeof(h));
	return (h);
}

static inline void
hdr_set_gen(nng_msg *m, uint32_t gen)
{
	memcpy((uint8_t *) nng_msg_header(m) + offsetof(msg_hdr, gen), &gen,
	    sizeof(gen));
}

static inline mq_node *
node_of(nng_msg *m)
{
	return ((mq_node *) ((uint8_t *) nng_msg_header(m) + sizeof(msg_hdr)));
}

/* ---- small maps -------------------------------------------------------- */
typedef struct strmap_ent {
	char    *key;
	uint64_t val;
} strmap_ent;
typedef struct strmap {
	strmap_ent *ents;
	size_t      cap, n, tomb;
} strmap;
void strmap_init(strmap *m);
void strmap_fini(strmap *m);
bool strmap_get(const strmap *m, const char *key, uint64_t *valp);
void strmap_put(strmap *m, const char *key, uint64_t val);
bool strmap_del(strmap *m, const char *key);

/* ---- registry ---------------------------------------------------------- */
void registry_init_once(void);
int  registry_index(const ProtobufCMessageDescriptor *d, uint32_t *idxp);
const ProtobufCMessageDescriptor *registry_at(uint32_t idx);

/* ---- mailbox (mailbox.c) ---------------------------------------------- */
typedef struct mailbox {
	mq_node *_Atomic head; /* producers */
	mq_node         *tail; /* the consumer */
	mq_node          sentinel;
	atomic_int       len;
	nng_msg        **front; /* consumer-private: kept for the next pop */
	uint32_t         nfront, capfront;
} mailbox;
void     mailbox_init(mailbox *mb);
void     mailbox_fini(mailbox *mb);             /* consumer (or no one) */
void     mailbox_push(mailbox *mb, nng_msg *m); /* any thread */
nng_msg *mailbox_pop(mailbox *mb);              /* consumer */
void     mailbox_keep(mailbox *mb, nng_msg *m); /* consumer */
uint32_t mailbox_len(mailbox *mb);

/* ---- message pool (msgpool.c) ---------------------------------------- */
nng_msg *msgpool_get(size_t size); /* a cleared message of `size` bytes */
void     msgpool_put(nng_msg *m);  /* instead of nng_msg_free */

/* ---- dispatcher -------------------------------------------------------- */
typedef struct ar_cell ar_cell;
typedef struct dispatcher {
	const char     *name;
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	ar_cell       **q;
	uint32_t        cap, head, len;
	int             nthreads, idle;
	bool            stop;    /* threads leave once the queue is empty */
	bool            joined;  /* they have: schedule queues nothing */
	long            spin_ns; /* how long it looks before it sleeps */
	pthread_t      *threads;
	ar_system      *sys;
} dispatcher;
int  dispatcher_start(dispatcher *d, ar_system *sys, const char *name,
     int nthreads, long spin_ns);
void dispatcher_stop(dispatcher *d); /* runs what is queued, joins */
void dispatcher_fini(dispatcher *d); /* frees the queue and the lock */
void dispatcher_schedule(dispatcher *d, ar_cell *c);

/* ---- actor cells ------------------------------------------------------- */
enum cell_state {
	CELL_FREE = 0,
	CELL_ALIVE,    /* accepting messages (pre_start may still be due) */
	CELL_STOPPING, /* refusing messages, waiting for children */
	CELL_DEAD,
};

struct ar_cell {
	pthread_mutex_t mtx;
	ar_system      *sys;
	uint32_t        slot, gen;
	int             state;
	mailbox         mbox;
	atomic_llong    pending;  /* queued messages + signals: see below */
	uint32_t        signals;  /* signals not yet taken by a turn */
	bool            started;  /* pre_start ran */
	bool            stop_req; /* a stop is pending */
	int             pending_failure; /* escalated from a child */
	ar_props        props;
	/* the current incarnation's mailbox bound and pool, which producers
	 * read without the lock while a spawn may be reusing the slot:
	 * stored (under the lock, before ALIVE) with atomic stores, read with
	 * atomic loads; props itself is read only by the turn or under mtx */
	uint32_t bound;
	int      disp;
	void    *state_mem;
	char    *path; /* "/user/a/b" */
	ar_ref   self, parent;
	ar_ref  *children;
	uint32_t nchildren, capchildren;
	/* restarts and processed: written by the turn, read by
	 * ar_system_actors (atomic stores and loads, relaxed) */
	uint32_t restarts, window_restarts;
	int64_t  window_start_ms;
	uint64_t processed;
	ar_cell *free_next;
};

struct ar_ctx {
	ar_system *sys;
	ar_cell   *cell;
	nng_msg   *msg; /* the message being processed (for forward) */
	msg_hdr    hdr;
};

/* Runs the cell's turns on a thread of pool `on` (a turn for an
 * incarnation of another pool moves the cell there first). */
void cell_run(ar_cell *c, struct dispatcher *on);
void schedule_cell(ar_cell *c); /* queue it on its dispatcher */

void arena_thread_fini(void); /* a dispatcher thread frees its arena */

/* ---- timers ------------------------------------------------------------ */
typedef void (*timer_fn)(void *arg);
typedef struct timer_ent timer_ent;
typedef struct timer_wheel {
	pthread_mutex_t mtx;
	pthread_cond_t  cv;
	timer_ent     **heap;
	size_t          n, cap;
	uint64_t        next_id;
	struct timer_idmap {
		uint64_t   *keys;
		timer_ent **vals;
		size_t      cap, n;
	} ids;
	bool           stop;
	timer_ent     *current; /* the entry whose callback runs now */
	pthread_cond_t idle_cv; /* current changed (a cancel waits on it) */
	int64_t   sleep_due; /* deadline the thread sleeps toward; 0 = awake */
	pthread_t thread;
	ar_system *sys;
} timer_wheel;
int  timers_start(timer_wheel *t, ar_system *sys);
void timers_stop(timer_wheel *t); /* the thread; adds refused after it */
void timers_fini(timer_wheel *t); /* frees what is left (free_arg runs) */
/* Runs fn(arg) on the timer thread after delay_ms, then every interval_ms
 * if that is > 0 (fn must not block); free_arg(arg) when the entry ends. */
int timers_add(timer_wheel *t, int64_t delay_ms, int64_t interval_ms,
    timer_fn fn, void (*free_arg)(void *), void *arg, ar_timer_id *idp);
/* 0 if it will not fire again (a running periodic tick has returned);
 * AR_ENOENT if unknown, cancelled, or a one-shot that fired or is firing. */
int timers_cancel(timer_wheel *t, ar_timer_id id);

/* ---- remote ------------------------------------------------------------ */
/*
 * An entry of the remote-ref table (remote_ref.c): one per distinct remote
 * address resolved or seen as a sender.  A remote ref is (slot, gen); the
 * entry is freed when unused for peer_forget_ms while its peer has no
 * association, and the slot's generation moves on, so a forgotten ref
 * fails cleanly.  Guarded by sys->remote_mtx; `users` counts senders
 * holding the pointer (the sweep, under the lock, frees only entries
 * nobody holds).
 */
typedef struct remote_ent {
	char       *address;  /* "pj://sys@host:port" */
	char       *sysname;  /* "sys" */
	char       *hostport; /* "host:port" */
	char       *path;     /* "/user/x" */
	char       *full;     /* address + path */
	uint32_t    slot;
	atomic_uint users;   /* raised under remote_mtx, dropped without */
	int64_t     used_ms; /* mono ms of the last resolve or send */
} remote_ent;

typedef struct remote remote;
int                   remote_start(ar_system *sys);
void                  remote_quiesce(ar_system *sys); /* stop inbound */
bool remote_idle(ar_system *sys); /* nothing queued outbound */
void remote_stop(ar_system *sys);
/* Sends one message to a remote ref; takes ownership of m. */
int remote_send(ar_system *sys, ar_ref to, nng_msg *m);
/* Parses a received frame (a Batch) and delivers each envelope. */
void remote_deliver_frame(ar_system *sys, const uint8_t *buf, size_t len);
/* envelope.c: appends m as an envelope for re to a frame buffer. */
size_t envelope_append(ar_system *sys, remote_ent *re, nng_msg *m,
    uint8_t **buf, size_t *len, size_t *cap);
/* envelope.c: each envelope of a frame that will never be delivered
 * becomes a dead letter with this reason. */
void frame_lost(ar_system *sys, const char *hostport, const uint8_t *buf,
    size_t len, int reason, const char *detail);
/* envelope.c: drops (as TOO_LARGE dead letters) the envelopes of a frame
 * whose body is over limit; returns the frame's new length, *keptp the
 * envelopes left. */
size_t frame_filter(ar_system *sys, const char *hostport, uint8_t *buf,
    size_t len, size_t limit, uint32_t *keptp);
/* remote_ref.c: the remote half of ar_ref_resolve (address already
 * split); ar_ref_address for a remote ref; freeing the table at stop. */
int  remote_ref_resolve(ar_system *sys, const char *address, const char *own,
     const char *sysname, const char *hostport, const char *path, ar_ref *refp);
void remote_ref_address(ar_system *sys, ar_ref ref, char *buf, size_t len);
void remote_refs_fini(ar_system *sys);

/* ---- asks -------------------------------------------------------------- */
typedef struct ask_slot {
	uint32_t   gen;
	ar_future *fut;
	uint32_t   next_free;
} ask_slot;
/* A reply reached /temp (local or remote); takes ownership of m. */
int  ask_complete(ar_system *sys, uint64_t corr, nng_msg *m);
void asks_fail_all(ar_system *sys);

/* ---- the system -------------------------------------------------------- */
#define CHUNK_CELLS 1024u
#define MAX_CHUNKS 1024u

struct ar_system {
	ar_config   cfg;
	char       *name;
	char       *address; /* pj://name@host:port */
	char       *host;
	int         port;
	atomic_bool stopping;

	dispatcher  disp[2];
	timer_wheel timers;

	/* cells: two-level array so cell pointers never move */
	pthread_mutex_t cells_mtx;
	ar_cell       **chunks[MAX_CHUNKS];
	uint32_t        ncells;
	ar_cell        *free_cells;
	atomic_uint     live_cells;

	/* paths: "/user/a" -> ref id, and remote full addresses -> ref id */
	pthread_mutex_t paths_mtx;
	strmap          paths;
	pthread_mutex_t remote_mtx;
	strmap          remote_by_addr;
	remote_ent    **remotes;     /* by slot; NULL = free */
	uint32_t       *remote_gens; /* by slot */
	uint32_t       *remote_free; /* free slots (a stack) */
	uint32_t        nremotes, capremotes, nremote_free;
	remote         *rem;

	/* asks */
	pthread_mutex_t ask_mtx;
	ask_slot       *asks;
	uint32_t        nasks, capasks, ask_free;

	/* dead letters and the event stream */
	pthread_mutex_t dl_mtx;
	ar_ref         *dl_subs;
	uint32_t        ndl_subs, capdl_subs;
	atomic_ullong   dl_total;
	atomic_ullong   dl_dropped; /* dead letters no subscriber could take */
};

ar_cell *cell_at(ar_system *sys, uint32_t slot);
/* Delivers a packed message to a local ref; takes ownership of m. */
int deliver_local(ar_system *sys, ar_ref to, nng_msg *m);
/* Delivers to any ref kind; takes ownership of m. */
int deliver(ar_system *sys, ar_ref to, nng_msg *m);
/* Packs msg with its header into a new nng_msg. */
int pack_msg(ar_system *sys, const ProtobufCMessage *msg, ar_ref sender,
    uint64_t corr, uint32_t flags, nng_msg **mp);
/* Publishes a dead letter about m (m is not consumed). */
void dead_letter(ar_system *sys, int reason, ar_ref to, const char *to_path,
    nng_msg *m, const char *detail);
/* The same, for bytes that never became a message. */
void dead_letter_raw(ar_system *sys, int reason, const char *type,
    const char *sender, const char *recipient, size_t size,
    const char *detail);
void cell_request_stop(ar_cell *c, uint32_t gen);
void sys_stop_actors(ar_system *sys);

#endif /* AR_INTERNAL_H */
