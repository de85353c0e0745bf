/*
 * ar.h - the actor runtime's public API (prefix ar_).
 *
 * A small runtime that mirrors Akka where a job scheduler needs it:
 *
 *   Akka                         here
 *   ActorSystem                  ar_system: a name, one nng tcp listen URL,
 *                                address pj://<name>@<host>:<port>
 *   ActorRef / ActorSelection    ar_ref: a 64-bit value (kind, slot,
 *                                generation); a stale ref fails cleanly;
 *                                ar_ref_resolve() makes a ref to a remote
 *                                path before the remote side is up
 *   Props + Actor                ar_props: a const behaviour table plus
 *                                state size, dispatcher, mailbox bound and
 *                                the strategy it applies to its children
 *   Mailbox + dispatcher         each actor has a FIFO of nng_msg; a pool of
 *                                threads runs up to `throughput` messages
 *                                per actor turn; a second pool for actors
 *                                that block on I/O
 *   tell / ask                   ar_tell() never blocks; ar_ask() is tell +
 *                                correlation id + timer, completing an
 *                                ar_future
 *   Artery remoting              one nng stream listener per system, one
 *                                connection per remote system, envelopes
 *                                batched into frames
 *   Serialization                protobuf-c; a registry maps full type
 *                                names to descriptors
 *   Supervision                  a receive that returns non-zero is handled
 *                                by the parent's strategy: resume, restart,
 *                                stop, escalate, with a restart budget
 *   Scheduler                    ar_timer_once / ar_timer_every
 *   DeadLetter + EventStream     every undeliverable message becomes an
 *                                ar.DeadLetter published to subscribers
 *
 * Errors: every fallible call returns 0 or an AR_E* code; ar_strerror()
 * explains it.  Out of memory aborts (ar_xmalloc), decided once here.
 */
#ifndef AR_H
#define AR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <protobuf-c/protobuf-c.h>

#include "proto/admin.pb-c.h"
#include "runtime/alloc.h" /* ar_xmalloc & co: OOM aborts */
#include "proto/remote.pb-c.h"

/* ---- errors ------------------------------------------------------------ */
enum ar_err {
	AR_OK = 0,
	AR_EINVAL,    /* bad argument (path, URL, name, size) */
	AR_ENOENT,    /* no such actor / type / timer */
	AR_ESTOPPED,  /* actor or system stopped */
	AR_EFULL,     /* bounded mailbox or outbound queue full */
	AR_ETIMEDOUT, /* ask or wait timed out */
	AR_ETOOBIG,   /* over the system's max message size */
	AR_EDECODE,   /* bytes that do not decode */
	AR_ETYPE,     /* unknown or unexpected message type */
	AR_EEXIST,    /* name already taken */
	AR_ENNG,      /* an nng call failed (see log) */
	AR_EFAILED,   /* the replier answered with an AskFailure */
	AR_EPENDING,  /* future not completed yet */
	AR_EAUTH,     /* the peer did not prove the cluster key */
};
const char *ar_strerror(int err);

/* ---- refs -------------------------------------------------------------- */
/*
 * A ref is a value: copy it freely.  Bits 63-62 hold the kind (local
 * actor, remote path, ask reply slot), 61-32 a slot, 31-0 a generation that
 * changes whenever the slot is reused, so a ref to a stopped actor never
 * reaches its successor.
 */
typedef struct ar_ref {
	uint64_t id;
} ar_ref;
#define AR_REF_NONE ((ar_ref) { 0 })
static inline bool
ar_ref_is_none(ar_ref r)
{
	return (r.id == 0);
}
static inline bool
ar_ref_eq(ar_ref a, ar_ref b)
{
	return (a.id == b.id);
}

typedef struct ar_system ar_system;
typedef struct ar_ctx    ar_ctx;
typedef struct ar_future ar_future;

/* ---- system ------------------------------------------------------------ */
typedef struct ar_config {
	const char *name;           /* system name, [A-Za-z0-9_-]+ */
	const char *listen_url;     /* "tcp://127.0.0.1:0" (port 0 = pick one);
	                               NULL = no remoting (local only) */
	const char *advertise_host; /* host others use to reach us; NULL = the
	                               listen URL's host */
	int    dispatcher_threads;  /* default 2 */
	int    blocking_threads;    /* blocking-I/O pool; default 4 */
	int    throughput;          /* messages per actor turn; default 10 */
	int    ask_timeout_ms;      /* default 5000 */
	size_t max_message_bytes;   /* default 4 MiB, at most
	                               AR_MAX_MESSAGE_BYTES; peers agree on
	                               it in the hello */
	uint32_t outbound_queue_max; /* envelopes queued per remote system
	                                before new ones become dead letters;
	                                default 100000 */
	int reconnect_max_ms;        /* outbound back-off ceiling; 5000 */
	int peer_forget_ms;          /* a peer unreachable or silent this
	                                long is forgotten: its association
	                                and unused remote refs are freed;
	                                default 300000 (5 min) */
	int stop_drain_ms;           /* graceful stop waits this long for
	                                mailboxes to drain; default 2000 */
	int log_dead_letters;        /* log the first N dead letters (then
	                                one in 1000); default 10 */
	const void *cluster_key;     /* the key every node of a deployment
	                                shares (copied at start); each
	                                connection's hello proves it both
	                                ways.  NULL = none: only loopback
	                                peers are accepted or dialled */
	size_t cluster_key_len;      /* 1..AR_MAX_CLUSTER_KEY bytes */
	int    handshake_timeout_ms; /* an inbound connection that has not
	                                proved the key by then is refused;
	                                default 10000 */
} ar_config;

/* The longest cluster key. */
#define AR_MAX_CLUSTER_KEY 4096

/* The largest max_message_bytes (frame lengths stay within 32 bits). */
#define AR_MAX_MESSAGE_BYTES ((size_t) 1 << 30)

/* Fills *cfg with the defaults above (name "pj", no listen URL). */
void ar_config_init(ar_config *cfg);

/* Creates and starts a system: dispatchers, timer thread, listener. */
int ar_system_start(const ar_config *cfg, ar_system **sysp);
/*
 * Graceful stop: refuse new remote input, let mailboxes drain (up to
 * stop_drain_ms), stop every actor (children first, post_stop called,
 * leftovers become dead letters), then close nng objects (aios stopped
 * before sockets close, freed last) and free the system.
 */
void ar_system_stop(ar_system *sys);

const char *ar_system_name(const ar_system *sys);
/* "pj://name@host:port" (or "pj://name" without remoting). */
const char *ar_system_address(const ar_system *sys);
/* The bound tcp port (the real one when the URL said port 0); 0 if none. */
int              ar_system_port(const ar_system *sys);
const ar_config *ar_system_config(const ar_system *sys);

/* ---- message registry -------------------------------------------------- */
/*
 * Every message type that crosses a mailbox is registered once, process
 * wide (the runtime's own types are pre-registered).  Receivers get the
 * decoded message and its descriptor.
 */
int ar_registry_add(const ProtobufCMessageDescriptor *desc);
const ProtobufCMessageDescriptor *ar_registry_find(const char *full_name);

/* ---- actors ------------------------------------------------------------ */
typedef enum ar_directive {
	AR_RESUME = 1, /* keep state, continue with the next message */
	AR_RESTART,    /* pre_restart, fresh state, pre_start; mailbox kept */
	AR_STOP,       /* stop the child */
	AR_ESCALATE,   /* fail the parent itself */
} ar_directive;

/* What a parent does when a child's receive fails (one-for-one). */
typedef struct ar_strategy {
	/* err is what receive returned; NULL decider = always AR_RESTART */
	ar_directive (*decider)(int err);
	int max_restarts; /* within within_ms; 0 = unlimited; over budget
	                     means AR_STOP */
	int within_ms;    /* 0 = no window (count forever) */
} ar_strategy;

typedef enum ar_dispatcher_kind {
	AR_DISPATCHER_DEFAULT = 0,
	AR_DISPATCHER_BLOCKING, /* actors that wait on I/O (the store) */
} ar_dispatcher_kind;

typedef struct ar_behavior {
	/* all optional but receive; each returns 0 or an error */
	int (*pre_start)(ar_ctx *ctx, void *state);
	int (*receive)(ar_ctx *ctx, void *state,
	    const ProtobufCMessageDescriptor *type,
	    const ProtobufCMessage           *msg);
	void (*post_stop)(ar_ctx *ctx, void *state);
	void (*pre_restart)(ar_ctx *ctx, void *state, int err);
} ar_behavior;

typedef struct ar_props {
	const ar_behavior *behavior;
	size_t             state_size; /* zeroed before pre_start */
	const void *init_arg; /* handed to pre_start via ar_ctx_init_arg() */
	ar_dispatcher_kind dispatcher;
	uint32_t           mailbox_bound;  /* 0 = unbounded */
	ar_strategy        child_strategy; /* zero = restart, unlimited */
} ar_props;

/*
 * Spawns /user/<name> (parent = NONE) or <parent path>/<name>.  The name
 * must be unique among its siblings.  pre_start runs on the actor's
 * dispatcher before any message.
 */
int ar_spawn(ar_system *sys, ar_ref parent, const char *name,
    const ar_props *props, ar_ref *refp);
/* Asynchronous stop: children first, then post_stop; later messages become
 * dead letters (reason STOPPED). */
int ar_stop(ar_system *sys, ar_ref ref);
/* Looks up a local path ("/user/a/b") or a full address. */
int ar_lookup(ar_system *sys, const char *path, ar_ref *refp);
/*
 * A ref to "pj://sys@host:port/user/x" (remote, resolved lazily; the
 * remote side need not be up) or to a local path.  Cached: resolving the
 * same address twice gives the same ref.  A remote ref lives while it is
 * used or its peer is remembered: once unused for peer_forget_ms with its
 * peer forgotten, it is freed and a message to it becomes a dead letter
 * (NO_RECIPIENT); resolve the address again (cheap) to talk afresh.
 */
int ar_ref_resolve(ar_system *sys, const char *address, ar_ref *refp);
/* Full address of a ref into buf; returns buf ("" if unknown). */
const char *ar_ref_address(ar_system *sys, ar_ref ref, char *buf, size_t len);
/* True while the ref names a live local actor. */
bool ar_ref_alive(ar_system *sys, ar_ref ref);

/* ---- inside receive ---------------------------------------------------- */
ar_system  *ar_ctx_system(ar_ctx *ctx);
ar_ref      ar_ctx_self(ar_ctx *ctx);
ar_ref      ar_ctx_sender(ar_ctx *ctx);
ar_ref      ar_ctx_parent(ar_ctx *ctx);
const void *ar_ctx_init_arg(ar_ctx *ctx);
/* Replies to the current message's sender (completes its ask, if any).  A
 * reply to an ask that already timed out or was freed becomes a dead letter
 * (ASK_EXPIRED) and is not an error: 0, locally as remotely. */
int ar_reply(ar_ctx *ctx, const ProtobufCMessage *msg);
/* Replies with an AskFailure (the asker's future fails with AR_EFAILED). */
int ar_reply_failure(ar_ctx *ctx, int code, const char *message);
/* Sends the current message on, keeping its sender and correlation id. */
int ar_forward(ar_ctx *ctx, ar_ref to);
/* A reply sent after the turn (a batch answered once it is durable): keep
 * the current message's return address, then ar_reply_later(sys, self,
 * &to, msg) - an ask is completed as by ar_reply; no sender: AR_ENOENT
 * (dead letter, as ar_reply). */
typedef struct ar_return {
	ar_ref   sender;
	uint64_t corr;
} ar_return;
ar_return ar_ctx_return(ar_ctx *ctx);
int       ar_reply_later(ar_system *sys, ar_ref self, const ar_return *to,
          const ProtobufCMessage *msg);

/* ---- tell -------------------------------------------------------------- */
/*
 * Never blocks.  Order holds per sender->receiver pair, also across
 * processes.  An undeliverable message becomes a dead letter and the call
 * returns the reason (AR_ENOENT, AR_ESTOPPED, AR_EFULL, AR_ETOOBIG ...);
 * the message is never silently dropped.
 */
int ar_tell(
    ar_system *sys, ar_ref to, const ProtobufCMessage *msg, ar_ref sender);

/* ---- ask and futures --------------------------------------------------- */
/* timeout_ms <= 0 means the system's ask_timeout_ms. */
int ar_ask(ar_system *sys, ar_ref to, const ProtobufCMessage *msg,
    int timeout_ms, ar_future **futp);
/*
 * Waits up to wait_ms (<0 = until the ask completes or times out).
 * Returns 0 with the reply (owned by the future; valid until
 * ar_future_free), AR_ETIMEDOUT, AR_EFAILED (replyp gets the AskFailure),
 * AR_ESTOPPED, or AR_EPENDING if wait_ms ran out first.
 */
int ar_future_wait(ar_future *f, int wait_ms, const ProtobufCMessage **replyp);
/*
 * Calls cb once when the future completes (at once if it already has),
 * on the thread that completes it; cb must not block.  The future stays
 * owned by the caller.
 */
typedef void (*ar_future_cb)(
    ar_future *f, int result, const ProtobufCMessage *reply, void *arg);
void ar_future_on_complete(ar_future *f, ar_future_cb cb, void *arg);
/* Frees the future; a reply that arrives later becomes a dead letter.  Once
 * it returns, the future's callback never runs (if the callback is running
 * on another thread it waits for it, so do not hold a lock the callback
 * takes; a callback may free its own future). */
void ar_future_free(ar_future *f);

/* ---- timers ------------------------------------------------------------ */
typedef uint64_t ar_timer_id;
/* Sends msg to `to` once after delay_ms (millisecond resolution). */
int ar_timer_once(ar_system *sys, ar_ref to, const ProtobufCMessage *msg,
    int64_t delay_ms, ar_timer_id *idp);
/* Sends msg to `to` every interval_ms, first after interval_ms. */
int ar_timer_every(ar_system *sys, ar_ref to, const ProtobufCMessage *msg,
    int64_t interval_ms, ar_timer_id *idp);
/* Cancels; AR_ENOENT if it already fired (once) or is unknown. */
int ar_timer_cancel(ar_system *sys, ar_timer_id id);

/* ---- event stream and dead letters ------------------------------------- */
/* Subscribes an actor to dead letters: it receives ar.DeadLetter messages.*/
int ar_subscribe_dead_letters(ar_system *sys, ar_ref subscriber);
int ar_unsubscribe_dead_letters(ar_system *sys, ar_ref subscriber);
/* "STOPPED", "NO_RECIPIENT", ... for an ar.DeadLetterReason value. */
const char *ar_dead_letter_reason(int reason);
/* Total dead letters published by this system since start. */
uint64_t ar_dead_letter_total(ar_system *sys);

/* ---- introspection (AdminActor) ---------------------------------------- */
typedef struct ar_actor_info {
	char     path[256];
	uint32_t mailbox_depth;
	uint32_t restarts;
	uint64_t processed;
	int      dispatcher;
} ar_actor_info;
/* Fills up to max entries, returns the number of live actors in *np. */
int ar_system_actors(
    ar_system *sys, ar_actor_info *out, size_t max, size_t *np);

/* ---- misc -------------------------------------------------------------- */
int64_t ar_now_ms(void);  /* wall clock, ms since the epoch */
int64_t ar_mono_ms(void); /* monotonic ms */

#endif /* AR_H */
