/*
 * system.c - the actor system: configuration, start and graceful stop,
 * path lookup, refs to remote paths, timers' public face, introspection.
 *
 * Design notes
 * ------------
 * Start order: registry, dispatchers, timer thread, then the remote
 * listener (so nothing arrives before there is somewhere to run it).
 * Stop order (the reverse, with a drain first):
 *   1. `stopping` is set: spawns are refused;
 *   2. the inbound listener stops (its aio is stopped: the 1.5.2 rule is
 *      stop every aio before closing a socket, free aios last);
 *   3. wait up to stop_drain_ms for mailboxes and outbound queues to empty;
 *   4. stop every top-level actor (children first, post_stop called) and
 *      wait for them;
 *   5. stop, without freeing anything yet:
 *      - the timer thread: no timer callback (ask timeout, tick)
 *        runs after it; timers_add is refused, timers_cancel still works
 *        (the heap, the id map and the lock stay);
 *      - the dispatchers: what is queued runs, the threads are joined; no
 *        receive runs after this, so no new ask, tell or timer comes from
 *        an actor; a cell scheduled later is not queued;
 *      - the asks still pending fail (AR_ESTOPPED), after the last turn
 *        that could have made one;
 *      - remote: the housekeeping thread stops, connections close and
 *        nng's callbacks end (remote.c; remote uses no timer);
 *   6. free: cells and mailboxes, then the dispatchers' queues and the
 *      timers (remaining entries' free functions run), then the locks.
 * So nothing that runs can reach a freed part.
 * Remote refs live in remote_ref.c's table (cached per address, bounded,
 * and forgotten with their peer: see remote.c).
 */
#include "runtime/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
ar_config_init(ar_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->name                 = "pj";
	cfg->dispatcher_threads   = 2;
	cfg->blocking_threads     = 4;
	cfg->throughput           = 10;
	cfg->ask_timeout_ms       = 5000;
	cfg->max_message_bytes    = 4u << 20;
	cfg->outbound_queue_max   = 100000;
	cfg->reconnect_max_ms     = 5000;
	cfg->peer_forget_ms       = 300000;
	cfg->stop_drain_ms        = 2000;
	cfg->log_dead_letters     = 10;
	cfg->handshake_timeout_ms = 10000;
}

static bool
valid_sysname(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++, n++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
		        || (*s >= '0' && *s <= '9') || *s == '_'
		        || *s == '-')) {
			return (false);
		}
	}
	return (n > 0 && n < 64);
}

int
ar_system_start(const ar_config *cfg, ar_system **sysp)
{
	ar_system *sys;
	int        rv;

	if (cfg == NULL || sysp == NULL || !valid_sysname(cfg->name)
	    || cfg->throughput < 1 || cfg->max_message_bytes < 64
	    || cfg->max_message_bytes > AR_MAX_MESSAGE_BYTES
	    || (cfg->cluster_key != NULL
	        && (cfg->cluster_key_len == 0
	            || cfg->cluster_key_len > AR_MAX_CLUSTER_KEY))) {
		return (AR_EINVAL);
	}
	registry_init_once();
	sys      = ar_xcalloc(1, sizeof(*sys));
	sys->cfg = *cfg;
	if (sys->cfg.dispatcher_threads < 1) {
		sys->cfg.dispatcher_threads = 1;
	}
	if (sys->cfg.blocking_threads < 1) {
		sys->cfg.blocking_threads = 1;
	}
	if (sys->cfg.ask_timeout_ms <= 0) {
		sys->cfg.ask_timeout_ms = 5000;
	}
	if (sys->cfg.handshake_timeout_ms <= 0) {
		sys->cfg.handshake_timeout_ms = 10000;
	}
	sys->name               = ar_xstrdup(cfg->name);
	sys->cfg.name           = sys->name;
	sys->cfg.listen_url     = NULL;
	sys->cfg.advertise_host = NULL;
	sys->cfg.cluster_key    = NULL;
	pthread_mutex_init(&sys->cells_mtx, NULL);
	pthread_mutex_init(&sys->paths_mtx, NULL);
	pthread_mutex_init(&sys->remote_mtx, NULL);
	pthread_mutex_init(&sys->ask_mtx, NULL);
	pthread_mutex_init(&sys->dl_mtx, NULL);
	strmap_init(&sys->paths);
	strmap_init(&sys->remote_by_addr);

	/* the default pool spins up to 300 us before sleeping; the blocking
	 * pool waits on I/O anyway and does not spin */
	if ((rv = dispatcher_start(&sys->disp[0], sys, "default",
	         sys->cfg.dispatcher_threads, 300000))
	    != 0) {
		goto fail0;
	}
	if ((rv = dispatcher_start(
	         &sys->disp[1], sys, "blocking", sys->cfg.blocking_threads, 0))
	    != 0) {
		goto fail1;
	}
	if ((rv = timers_start(&sys->timers, sys)) != 0) {
		goto fail2;
	}
	sys->cfg.listen_url     = cfg->listen_url;
	sys->cfg.advertise_host = cfg->advertise_host;
	sys->cfg.cluster_key    = cfg->cluster_key; /* remote_start copies */
	if ((rv = remote_start(sys)) != 0) {
		goto fail3;
	}
	sys->cfg.listen_url     = NULL; /* the caller's strings are not kept */
	sys->cfg.advertise_host = NULL;
	sys->cfg.cluster_key    = NULL;
	ar_log(AR_LOG_INFO, "system",
	    "system=%s started address=%s threads=%d+%d", sys->name,
	    sys->address, sys->cfg.dispatcher_threads,
	    sys->cfg.blocking_threads);
	*sysp = sys;
	return (0);
fail3:
	timers_stop(&sys->timers);
	timers_fini(&sys->timers);
fail2:
	dispatcher_stop(&sys->disp[1]);
	dispatcher_fini(&sys->disp[1]);
fail1:
	dispatcher_stop(&sys->disp[0]);
	dispatcher_fini(&sys->disp[0]);
fail0:
	strmap_fini(&sys->paths);
	strmap_fini(&sys->remote_by_addr);
	free(sys->name);
	free(sys);
	return (rv);
}

static bool
mailboxes_empty(ar_system *sys)
{
	uint32_t n = __atomic_load_n(&sys->ncells, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < n; i++) {
		ar_cell *c = cell_at(sys, i);
		bool     busy;
		pthread_mutex_lock(&c->mtx);
		busy = c->state == CELL_ALIVE
		    && (mailbox_len(&c->mbox) > 0
		        || atomic_load(&c->pending) > 0);
		pthread_mutex_unlock(&c->mtx);
		if (busy) {
			return (false);
		}
	}
	return (true);
}

void
sys_stop_actors(ar_system *sys)
{
	uint32_t n = __atomic_load_n(&sys->ncells, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < n; i++) {
		ar_cell *c = cell_at(sys, i);
		ar_ref   self;
		bool     top;
		pthread_mutex_lock(&c->mtx);
		top  = c->state == CELL_ALIVE && ar_ref_is_none(c->parent);
		self = c->self;
		pthread_mutex_unlock(&c->mtx);
		if (top) {
			cell_request_stop(c, ref_gen(self));
		}
	}
}

void
ar_system_stop(ar_system *sys)
{
	int64_t deadline;
	if (sys == NULL) {
		return;
	}
	atomic_store(&sys->stopping, true);
	ar_log(AR_LOG_INFO, "system", "system=%s stopping", sys->name);
	remote_quiesce(sys);

	deadline = ar_mono_ms() + sys->cfg.stop_drain_ms;
	while (ar_mono_ms() < deadline
	    && !(mailboxes_empty(sys) && remote_idle(sys))) {
		usleep(1000);
	}
	sys_stop_actors(sys);
	deadline = ar_mono_ms() + sys->cfg.stop_drain_ms + 5000;
	while (atomic_load(&sys->live_cells) > 0 && ar_mono_ms() < deadline) {
		usleep(1000);
	}
	if (atomic_load(&sys->live_cells) > 0) {
		ar_log(AR_LOG_WARN, "system",
		    "system=%s %u actors still running at stop (a receive "
		    "that "
		    "does not return?)",
		    sys->name, atomic_load(&sys->live_cells));
	}
	/* Each part stops (its threads end, calls into it are refused or
	 * dropped) before anything is freed, and is freed only when nothing
	 * that could still call it runs (see the design notes above). */
	timers_stop(&sys->timers);
	dispatcher_stop(&sys->disp[0]);
	dispatcher_stop(&sys->disp[1]);
	asks_fail_all(sys);
	remote_stop(sys);

	ar_log(AR_LOG_INFO, "system", "system=%s stopped dead_letters=%llu",
	    sys->name, (unsigned long long) atomic_load(&sys->dl_total));
	for (uint32_t i = 0; i < sys->ncells; i++) {
		ar_cell *c = cell_at(sys, i);
		mailbox_fini(&c->mbox);
		free(c->state_mem);
		free(c->path);
		free(c->children);
		pthread_mutex_destroy(&c->mtx);
		free(c);
	}
	for (uint32_t i = 0; i < MAX_CHUNKS && sys->chunks[i]; i++) {
		free(sys->chunks[i]);
	}
	dispatcher_fini(&sys->disp[0]);
	dispatcher_fini(&sys->disp[1]);
	timers_fini(&sys->timers); /* entries' free functions run here */
	remote_refs_fini(sys);
	free(sys->asks);
	free(sys->dl_subs);
	strmap_fini(&sys->paths);
	strmap_fini(&sys->remote_by_addr);
	pthread_mutex_destroy(&sys->cells_mtx);
	pthread_mutex_destroy(&sys->paths_mtx);
	pthread_mutex_destroy(&sys->remote_mtx);
	pthread_mutex_destroy(&sys->ask_mtx);
	pthread_mutex_destroy(&sys->dl_mtx);
	free(sys->address);
	free(sys->host);
	free(sys->name);
	free(sys);
}

const char *
ar_system_name(const ar_system *sys)
{
	return (sys->name);
}

const char *
ar_system_address(const ar_system *sys)
{
	return (sys->address);
}

int
ar_system_port(const ar_system *sys)
{
	return (sys->port);
}

const ar_config *
ar_system_config(const ar_system *sys)
{
	return (&sys->cfg);
}

/* ---- paths and refs ---------------------------------------------------- */
int
ar_lookup(ar_system *sys, const char *path, ar_ref *refp)
{
	uint64_t id;
	bool     found;
	size_t   al = strlen(sys->address);
	if (path == NULL || refp == NULL) {
		return (AR_EINVAL);
	}
	if (strncmp(path, sys->address, al) == 0 && path[al] == '/') {
		path += al;
	}
	pthread_mutex_lock(&sys->paths_mtx);
	found = strmap_get(&sys->paths, path, &id);
	pthread_mutex_unlock(&sys->paths_mtx);
	if (!found) {
		return (AR_ENOENT);
	}
	refp->id = id;
	return (0);
}

/* Splits "pj://sys@host:port/path" (path may be empty). */
static int
parse_address(const char *a, char *sysname, size_t ns, char *hostport,
    size_t nh, const char **pathp)
{
	const char *at, *slash, *colon;
	if (strncmp(a, "pj://", 5) != 0) {
		return (AR_EINVAL);
	}
	a += 5;
	if ((at = strchr(a, '@')) == NULL || (size_t) (at - a) >= ns
	    || at == a) {
		return (AR_EINVAL);
	}
	memcpy(sysname, a, (size_t) (at - a));
	sysname[at - a] = '\0';
	if (!valid_sysname(sysname)) {
		return (AR_EINVAL);
	}
	a     = at + 1;
	slash = strchr(a, '/');
	if (slash == NULL) {
		slash = a + strlen(a);
	}
	if ((size_t) (slash - a) >= nh || slash == a) {
		return (AR_EINVAL);
	}
	memcpy(hostport, a, (size_t) (slash - a));
	hostport[slash - a] = '\0';
	colon               = strrchr(hostport, ':');
	if (colon == NULL || colon == hostport) {
		return (AR_EINVAL);
	}
	long port = strtol(colon + 1, NULL, 10);
	if (port < 1 || port > 65535) {
		return (AR_EINVAL);
	}
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9') {
			return (AR_EINVAL);
		}
	}
	*pathp = slash;
	return (0);
}

int
ar_ref_resolve(ar_system *sys, const char *address, ar_ref *refp)
{
	char        sysname[64], hostport[300], own[400];
	const char *path;
	int         rv;

	if (sys == NULL || address == NULL || refp == NULL) {
		return (AR_EINVAL);
	}
	if (address[0] == '/') {
		return (ar_lookup(sys, address, refp));
	}
	if ((rv = parse_address(address, sysname, sizeof(sysname), hostport,
	         sizeof(hostport), &path))
	    != 0) {
		return (rv);
	}
	if (path[0] == '\0' || strlen(path) > 255) {
		return (AR_EINVAL);
	}
	snprintf(own, sizeof(own), "pj://%s@%s", sysname, hostport);
	if (strcmp(own, sys->address) == 0 && strcmp(path, "/temp") != 0) {
		return (ar_lookup(sys, path, refp));
	}
	return (remote_ref_resolve(
	    sys, address, own, sysname, hostport, path, refp));
}

const char *
ar_ref_address(ar_system *sys, ar_ref ref, char *buf, size_t len)
{
	buf[0] = '\0';
	switch (ref_kind(ref)) {
	case REF_LOCAL: {
		ar_cell *c = cell_at(sys, ref_slot(ref));
		if (c != NULL) {
			pthread_mutex_lock(&c->mtx);
			if (c->gen == ref_gen(ref) && c->path != NULL) {
				snprintf(
				    buf, len, "%s%s", sys->address, c->path);
			} else {
				snprintf(buf, len, "%s/(stopped actor)",
				    sys->address);
			}
			pthread_mutex_unlock(&c->mtx);
		}
		break;
	}
	case REF_REMOTE:
		remote_ref_address(sys, ref, buf, len);
		break;
	case REF_TEMP:
		snprintf(buf, len, "%s/temp", sys->address);
		break;
	}
	return (buf);
}

bool
ar_ref_alive(ar_system *sys, ar_ref ref)
{
	ar_cell *c;
	bool     alive = false;
	if (ref_kind(ref) != REF_LOCAL
	    || (c = cell_at(sys, ref_slot(ref))) == NULL) {
		return (false);
	}
	pthread_mutex_lock(&c->mtx);
	alive = c->gen == ref_gen(ref) && c->state == CELL_ALIVE;
	pthread_mutex_unlock(&c->mtx);
	return (alive);
}

int
ar_system_actors(ar_system *sys, ar_actor_info *out, size_t max, size_t *np)
{
	uint32_t n = __atomic_load_n(&sys->ncells, __ATOMIC_ACQUIRE);
	size_t   k = 0;
	for (uint32_t i = 0; i < n; i++) {
		ar_cell *c = cell_at(sys, i);
		pthread_mutex_lock(&c->mtx);
		if (c->state == CELL_ALIVE) {
			if (k < max) {
				snprintf(out[k].path, sizeof(out[k].path),
				    "%s", c->path);
				out[k].mailbox_depth = mailbox_len(&c->mbox);
				out[k].restarts      = __atomic_load_n(
				         &c->restarts, __ATOMIC_RELAXED);
				out[k].processed = __atomic_load_n(
				    &c->processed, __ATOMIC_RELAXED);
				out[k].dispatcher = c->props.dispatcher;
			}
			k++;
		}
		pthread_mutex_unlock(&c->mtx);
	}
	*np = k;
	return (0);
}

/* ---- timers (public) --------------------------------------------------- */
typedef struct timer_send {
	ar_system *sys;
	ar_ref     to;
	nng_msg   *m;
} timer_send;

static void
timer_send_fire(void *arg)
{
	timer_send *ts = arg;
	nng_msg    *m;
	if (nng_msg_dup(&m, ts->m) == 0) {
		deliver(ts->sys, ts->to, m);
	}
}

static void
timer_send_free(void *arg)
{
	timer_send *ts = arg;
	nng_msg_free(ts->m);
	free(ts);
}

static int
timer_add_msg(ar_system *sys, ar_ref to, const ProtobufCMessage *msg,
    int64_t delay, int64_t interval, ar_timer_id *idp)
{
	timer_send *ts;
	nng_msg    *m;
	int         rv;
	if (delay < 0 || interval < 0 || ar_ref_is_none(to)) {
		return (AR_EINVAL);
	}
	if ((rv = pack_msg(sys, msg, AR_REF_NONE, 0, 0, &m)) != 0) {
		return (rv);
	}
	ts      = ar_xmalloc(sizeof(*ts));
	ts->sys = sys;
	ts->to  = to;
	ts->m   = m;
	return (timers_add(&sys->timers, delay, interval, timer_send_fire,
	    timer_send_free, ts, idp));
}

int
ar_timer_once(ar_system *sys, ar_ref to, const ProtobufCMessage *msg,
    int64_t delay_ms, ar_timer_id *idp)
{
	return (timer_add_msg(sys, to, msg, delay_ms, 0, idp));
}

int
ar_timer_every(ar_system *sys, ar_ref to, const ProtobufCMessage *msg,
    int64_t interval_ms, ar_timer_id *idp)
{
	if (interval_ms < 1) {
		return (AR_EINVAL);
	}
	return (timer_add_msg(sys, to, msg, interval_ms, interval_ms, idp));
}

int
ar_timer_cancel(ar_system *sys, ar_timer_id id)
{
	return (timers_cancel(&sys->timers, id));
}
