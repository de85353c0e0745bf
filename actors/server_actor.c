/*
 * server_actor.c - ServerActor, /user/server: what workers send a server
 * (powerjob-design.md §2.3): discovery, heartbeats, instance status and log
 * reports, executor-cluster queries; plus its own housekeeping tick.
 *
 * Design notes
 * ------------
 * The actor turns messages into calls on server/cluster and the store and
 * replies; the rules live there.  It runs on the blocking dispatcher (a
 * secret check that misses the cache, an ownership check and the reports
 * touch the store).  A discovery that needs more than "I own it" (a ping of
 * the recorded owner, maybe a take-over under the lock, up to seconds) is
 * forwarded, sender and correlation kept, to one of PJ_SERVER_ELECTORS
 * children (blocking dispatcher too), round robin, so heartbeats are not
 * held up behind an election.  The children reply to the worker directly.
 *
 * Status reports are decided one by one and written in batches
 * (server_reports.c).
 *
 * Refusals: an ask gets a reply with a pj.cluster.Code; a refused tell
 * (heartbeat, report) is answered with an Ack to its sender when it has
 * one.  Nothing is written for a refused message.  Returning non-zero from
 * receive would restart the actor, so bad input returns 0.
 *
 * Threads: the actor and its children run one message at a time each; the
 * shared env's parts guard themselves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/server_int.h"
#include "runtime/log.h"

struct server_state {
	struct pj_server_env *env;
	ar_ref                electors[PJ_SERVER_ELECTORS];
	unsigned              next;
	ar_timer_id           tick;
	struct report_batch   reports;
};

static Pj__Cluster__Code
code_of_store(int rv)
{
	switch (rv) {
	case 0:
		return (PJ__CLUSTER__CODE__OK);
	case PJ_STORE_EAUTH:
		return (PJ__CLUSTER__CODE__WRONG_SECRET);
	case PJ_STORE_ENOTFOUND:
		return (PJ__CLUSTER__CODE__UNKNOWN_APP);
	case PJ_STORE_EINVAL:
		return (PJ__CLUSTER__CODE__BAD_REQUEST);
	case PJ_OWNER_EBUSY:
		return (PJ__CLUSTER__CODE__ELECT_FAILED);
	default:
		return (PJ__CLUSTER__CODE__DB_DOWN);
	}
}

static const char *
auth_message(int rv, const char *app, char *buf, size_t n)
{
	switch (rv) {
	case PJ_STORE_EAUTH:
		snprintf(buf, n,
		    "wrong secret for app '%s': check the worker's app secret",
		    app);
		break;
	case PJ_STORE_ENOTFOUND:
		snprintf(buf, n,
		    "unknown app '%s': register it first (pjctl app create)",
		    app);
		break;
	case PJ_STORE_EINVAL:
		snprintf(buf, n, "no app name given");
		break;
	default:
		snprintf(buf, n, "database unavailable; try again later");
	}
	return (buf);
}

/*
 * A worker's secret check: 0 with *app_id, or the store code with the
 * refusal's code and message.  A check held back by the failure limit
 * (server/cluster/auth.h) has not looked at the secret: the worker is told
 * to try again (DB_DOWN, which it retries) rather than to give up.
 */
static int
worker_auth(struct pj_server_env *env, const char *app, const char *secret,
    int64_t *app_id, Pj__Cluster__Code *code, char *buf, size_t n)
{
	struct pj_auth_info ai;
	int                 rv = pj_auth_check_info(
	                    env->auth, app, secret, ar_now_ms(), app_id, &ai);
	if (rv != 0 && ai.throttled) {
		*code = PJ__CLUSTER__CODE__DB_DOWN;
		snprintf(buf, n,
		    "too many wrong secrets for app '%s' on this server; try "
		    "again in %lld ms",
		    app, (long long) ai.retry_ms);
	} else if (rv != 0) {
		*code = code_of_store(rv);
		auth_message(rv, app, buf, n);
	}
	return (rv);
}

/* Answers a tell that was refused, if it has a sender. */
void
server_refuse(ar_ctx *ctx, struct pj_server_env *env, Pj__Cluster__Code code,
    const char *msg)
{
	Pj__Cluster__Ack a = PJ__CLUSTER__ACK__INIT;
	atomic_fetch_add(&env->refused, 1);
	a.code    = code;
	a.message = (char *) msg;
	if (!ar_ref_is_none(ar_ctx_sender(ctx))) {
		ar_reply(ctx, &a.base);
	}
}

void
server_ack_ok(ar_ctx *ctx)
{
	Pj__Cluster__Ack a = PJ__CLUSTER__ACK__INIT;
	if (!ar_ref_is_none(ar_ctx_sender(ctx))) {
		ar_reply(ctx, &a.base);
	}
}

/* ---- discovery ------------------------------------------------------------
 */

static void
discover_reply(ar_ctx *ctx, struct pj_server_env *env, Pj__Cluster__Code code,
    const char *msg, int64_t app_id, const char *owner)
{
	Pj__Cluster__DiscoverReply r = PJ__CLUSTER__DISCOVER_REPLY__INIT;
	char                       addr[320] = "";
	r.code                               = code;
	r.message                            = (char *) (msg ? msg : "");
	r.app_id                             = app_id;
	r.server                             = (char *) (owner ? owner : "");
	if (owner != NULL && owner[0]) {
		snprintf(
		    addr, sizeof(addr), "pj://" PJ_SERVER_SYSTEM "@%s", owner);
	}
	r.server_address = addr;
	r.server_id
	    = owner && strcmp(owner, env->self) == 0 ? env->server_id : 0;
	ar_reply(ctx, &r.base);
}

/* 0 with *app_id, or replies the refusal and returns the store code. */
static int
discover_auth(ar_ctx *ctx, struct pj_server_env *env,
    const Pj__Cluster__Discover *d, int64_t *app_id)
{
	char              buf[300];
	Pj__Cluster__Code code;
	int               rv = worker_auth(
	                  env, d->app_name, d->secret, app_id, &code, buf, sizeof(buf));
	if (rv != 0) {
		ar_log(AR_LOG_WARN, "server",
		    "app=%s worker=%s refused at discovery: %s (%s)",
		    d->app_name, d->worker_address, buf,
		    pj_store_strerror(rv));
		discover_reply(ctx, env, code, buf, 0, NULL);
	}
	return (rv);
}

static int
elector_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *msg)
{
	struct pj_server_env        *env = *(struct pj_server_env **) state;
	const Pj__Cluster__Discover *d   = (const Pj__Cluster__Discover *) msg;
	struct pj_owner_env          oe;
	struct pj_owner_result       r;
	int64_t                      app_id;
	char                         buf[300];
	int                          rv;

	if (t != &pj__cluster__discover__descriptor) {
		ar_reply_failure(ctx, AR_ETYPE, "elector: unexpected message");
		return (0);
	}
	if (discover_auth(ctx, env, d, &app_id) != 0) {
		return (0);
	}
	pj_server_owner_env(env, &oe);
	if ((rv = pj_owner_resolve(&oe, app_id, &r)) != 0) {
		snprintf(buf, sizeof(buf),
		    "app %lld: no owner could be chosen (%s); try again",
		    (long long) app_id,
		    rv == PJ_OWNER_EBUSY ? "election lock busy"
		                         : pj_store_errmsg(env->store));
		ar_log(AR_LOG_WARN, "server", "app=%lld discovery failed: %s",
		    (long long) app_id, buf);
		discover_reply(ctx, env, code_of_store(rv), buf, app_id, NULL);
		return (0);
	}
	if (strcmp(r.owner, env->self) == 0) {
		pj_owned_add(env->owned, app_id);
	} else if (pj_owned_remove(env->owned, app_id)) {
		pj_view_forget_app(env->view, app_id);
		ar_log(AR_LOG_WARN, "server", "app=%lld lost to server=%s",
		    (long long) app_id, r.owner);
	}
	if (r.took_over) {
		ar_log(AR_LOG_INFO, "server",
		    "app=%lld taken over by this server (asked by worker=%s, "
		    "attempt %d)",
		    (long long) app_id, d->worker_address, r.attempts);
	}
	discover_reply(ctx, env, PJ__CLUSTER__CODE__OK, "", app_id, r.owner);
	return (0);
}

static int
elector_pre_start(ar_ctx *ctx, void *state)
{
	*(struct pj_server_env **) state
	    = (struct pj_server_env *) ar_ctx_init_arg(ctx);
	return (0);
}

static const ar_behavior elector_behavior
    = { elector_pre_start, elector_receive, NULL, NULL };

static void
on_discover(
    ar_ctx *ctx, struct server_state *s, const Pj__Cluster__Discover *d)
{
	struct pj_server_env *env   = s->env;
	char                 *owner = NULL;
	int64_t               app_id;
	int                   rv;
	if (discover_auth(ctx, env, d, &app_id) != 0) {
		return;
	}
	/* the row, not memory: another server may have taken the app over
	 * since our last tick; one read, no ping, no lock */
	if ((rv = pj_store_app_owner(env->store, app_id, &owner)) != 0) {
		discover_reply(ctx, env, code_of_store(rv),
		    "database unavailable; try again later", app_id, NULL);
		return;
	}
	if (strcmp(owner, env->self) == 0) {
		pj_owned_add(env->owned, app_id);
		discover_reply(
		    ctx, env, PJ__CLUSTER__CODE__OK, "", app_id, env->self);
	} else {
		if (pj_owned_remove(env->owned, app_id)) {
			pj_view_forget_app(env->view, app_id);
			ar_log(AR_LOG_WARN, "server",
			    "app=%lld now owned by server=%s",
			    (long long) app_id, owner);
		}
		ar_forward(ctx, s->electors[s->next++ % PJ_SERVER_ELECTORS]);
	}
	free(owner);
}

/* ---- heartbeats and reports ------------------------------------------- */

/* 1 when the app is ours; else refuses (with a reply if asked) and
 * returns 0. */
int
server_require_owned(
    ar_ctx *ctx, struct pj_server_env *env, int64_t app_id, const char *what)
{
	char buf[200];
	int  own = pj_server_owns(env, app_id);
	if (own == 1) {
		return (1);
	}
	snprintf(buf, sizeof(buf),
	    own < 0 ? "%s for app %lld: database unavailable"
	            : "%s for app %lld: this server does not own the app; "
	              "run discovery again",
	    what, (long long) app_id);
	ar_log(AR_LOG_DEBUG, "server", "%s", buf);
	server_refuse(ctx, env,
	    own < 0 ? PJ__CLUSTER__CODE__DB_DOWN
	            : PJ__CLUSTER__CODE__NOT_OWNER,
	    buf);
	return (0);
}

static void
on_heartbeat(ar_ctx *ctx, struct pj_server_env *env,
    const Pj__Cluster__WorkerHeartbeat *h)
{
	struct pj_heartbeat hb = { 0 };
	int64_t             app_id;
	char                buf[300];
	int                 rv;

	if (h->worker_address[0] == 0) {
		server_refuse(ctx, env, PJ__CLUSTER__CODE__BAD_REQUEST,
		    "heartbeat without a worker address");
		return;
	}
	Pj__Cluster__Code code;
	rv = worker_auth(
	    env, h->app_name, h->secret, &app_id, &code, buf, sizeof(buf));
	if (rv != 0) {
		ar_log(AR_LOG_WARN, "server",
		    "app=%s worker=%s heartbeat refused: %s (%s)", h->app_name,
		    h->worker_address, buf, pj_store_strerror(rv));
		server_refuse(ctx, env, code, buf);
		return;
	}
	if (h->app_id != 0 && h->app_id != app_id) {
		server_refuse(ctx, env, PJ__CLUSTER__CODE__BAD_REQUEST,
		    "heartbeat's app id does not match its app name");
		return;
	}
	if (!server_require_owned(ctx, env, app_id, "heartbeat")) {
		return;
	}
	hb.address = h->worker_address;
	hb.heartbeat_time
	    = h->heartbeat_time ? h->heartbeat_time : ar_now_ms();
	hb.version  = h->version;
	hb.tag      = h->tag;
	hb.overload = h->overload;
	hb.light_tt = h->light_task_tracker_num;
	hb.heavy_tt = h->heavy_task_tracker_num;
	if (h->metrics != NULL) {
		hb.metrics.cpu_processors = h->metrics->cpu_processors;
		hb.metrics.cpu_load       = h->metrics->cpu_load;
		hb.metrics.mem_used       = h->metrics->mem_used;
		hb.metrics.mem_max        = h->metrics->mem_max;
		hb.metrics.disk_used      = h->metrics->disk_used;
		hb.metrics.disk_total     = h->metrics->disk_total;
	}
	if (pj_view_heartbeat(env->view, app_id, &hb) == 1) {
		ar_log(AR_LOG_INFO, "server",
		    "app=%lld worker=%s joined (tag '%s')", (long long) app_id,
		    h->worker_address, h->tag);
	}
	atomic_fetch_add(&env->heartbeats, 1);
	server_ack_ok(ctx);
}

static void
on_log_report(
    ar_ctx *ctx, struct pj_server_env *env, const Pj__Cluster__LogReport *r)
{
	int rv;
	if (!server_require_owned(ctx, env, r->app_id, "log report")) {
		return;
	}
	if (r->n_lines == 0) {
		server_ack_ok(ctx);
		return;
	}
	if (env->logwriter != NULL) {
		/* copied into the log writer's queue: no I/O here */
		struct pj_logline *v = ar_xcalloc(r->n_lines, sizeof(*v));
		char               err[512];
		for (size_t i = 0; i < r->n_lines; i++) {
			v[i].instance_id    = r->lines[i]->instance_id;
			v[i].seq            = r->lines[i]->seq;
			v[i].app_id         = r->app_id;
			v[i].log_time       = r->lines[i]->log_time;
			v[i].log_level      = r->lines[i]->log_level;
			v[i].content        = r->lines[i]->content;
			v[i].worker_address = r->worker_address;
		}
		rv = pj_logwriter_submit(
		    env->logwriter, v, r->n_lines, err, sizeof(err));
		free(v);
		if (rv != 0) {
			server_refuse(ctx, env, PJ__CLUSTER__CODE__DB_DOWN, err);
			return;
		}
		atomic_fetch_add(&env->reports, 1);
		server_ack_ok(ctx);
		return;
	}
	struct pj_log_line *v = ar_xcalloc(r->n_lines, sizeof(*v));
	for (size_t i = 0; i < r->n_lines; i++) {
		v[i].instance_id    = r->lines[i]->instance_id;
		v[i].log_time       = r->lines[i]->log_time;
		v[i].log_level      = r->lines[i]->log_level;
		v[i].content        = r->lines[i]->content;
		v[i].worker_address = r->worker_address;
	}
	rv = pj_store_logs_append(env->store, v, r->n_lines);
	free(v);
	if (rv != 0) {
		server_refuse(ctx, env, PJ__CLUSTER__CODE__DB_DOWN,
		    pj_store_errmsg(env->store));
		return;
	}
	atomic_fetch_add(&env->reports, 1);
	server_ack_ok(ctx);
}

static void
worker_list_reply(ar_ctx *ctx, struct pj_server_env *env,
    Pj__Cluster__Code code, const char *msg, const struct pj_worker *w,
    size_t n)
{
	Pj__Cluster__WorkerList l = PJ__CLUSTER__WORKER_LIST__INIT;
	l.code                    = code;
	l.message                 = (char *) msg;
	l.served_by               = env->self;
	l.workers                 = pj_worker_infos(w, n);
	l.n_workers               = n;
	ar_reply(ctx, &l.base);
	pj_worker_infos_free(l.workers, n);
}

static void
on_executor_query(ar_ctx *ctx, struct pj_server_env *env,
    const Pj__Cluster__ExecutorQuery *q)
{
	struct pj_executor_filter f = { 0 };
	struct pj_job             job;
	struct pj_worker         *w = NULL;
	char                      buf[200];
	int                       own = pj_server_owns(env, q->app_id), rv;
	size_t                    n;

	if (own != 1) {
		worker_list_reply(ctx, env,
		    own < 0 ? PJ__CLUSTER__CODE__DB_DOWN
		            : PJ__CLUSTER__CODE__NOT_OWNER,
		    "this server does not own the app", NULL, 0);
		return;
	}
	if (q->job_id == 0) {
		n = pj_view_query(env->view, q->app_id, ar_now_ms(), &f, &w);
	} else {
		if ((rv = pj_store_job_get(env->store, q->job_id, &job)) != 0
		    || job.app_id != q->app_id) {
			snprintf(buf, sizeof(buf), "job %lld of app %lld: %s",
			    (long long) q->job_id, (long long) q->app_id,
			    rv == 0 || rv == PJ_STORE_ENOTFOUND
			        ? "no such job"
			        : "database unavailable");
			if (rv == 0) {
				pj_job_fini(&job);
			}
			worker_list_reply(ctx, env,
			    rv == 0 || rv == PJ_STORE_ENOTFOUND
			        ? PJ__CLUSTER__CODE__NOT_FOUND
			        : PJ__CLUSTER__CODE__DB_DOWN,
			    buf, NULL, 0);
			return;
		}
		f.designated = job.designated_workers;
		f.min_cpu    = job.min_cpu_cores;
		f.min_mem    = job.min_memory_space;
		f.min_disk   = job.min_disk_space;
		f.max_count  = job.max_worker_count;
		n = pj_view_query(env->view, q->app_id, ar_now_ms(), &f, &w);
		pj_job_fini(&job);
	}
	worker_list_reply(ctx, env, PJ__CLUSTER__CODE__OK, "", w, n);
	free(w);
}

/* ---- housekeeping
 * ----------------------------------------------------------- */

static void
log_dead(void *arg, int64_t app_id, const struct pj_worker *w)
{
	(void) arg;
	ar_log(AR_LOG_WARN, "server",
	    "app=%lld worker=%s dead: no heartbeat for %lld s; left out of "
	    "dispatch",
	    (long long) app_id, w->address,
	    (long long) (ar_now_ms() - w->last_active) / 1000);
}

static void
on_tick(struct pj_server_env *env)
{
	int64_t ids[256];
	size_t  n = pj_owned_list(env->owned, ids, 256), dropped;
	if ((dropped = pj_view_age(env->view, ar_now_ms(), log_dead, NULL))
	    > 0) {
		ar_log(AR_LOG_INFO, "server",
		    "%zu workers silent for %d s dropped from the cluster "
		    "view",
		    dropped, PJ_WORKER_DROP_MS / 1000);
	}
	pj_store_server_heartbeat(env->store, env->self, ar_now_ms());
	/* an owner declared dead by another server has lost its apps */
	for (size_t i = 0; i < n && i < 256; i++) {
		char *owner = NULL;
		if (pj_store_app_owner(env->store, ids[i], &owner) == 0
		    && strcmp(owner, env->self) != 0) {
			pj_owned_remove(env->owned, ids[i]);
			pj_view_forget_app(env->view, ids[i]);
			ar_log(AR_LOG_WARN, "server",
			    "app=%lld now owned by server=%s; dropped here",
			    (long long) ids[i], owner);
		}
		free(owner);
	}
}

static void
on_stats(ar_ctx *ctx, struct pj_server_env *env)
{
	Pj__Cluster__Stats st = PJ__CLUSTER__STATS__INIT;
	size_t             apps, workers;
	int64_t            ids[1];
	pj_view_counts(env->view, &apps, &workers);
	st.server_id  = env->server_id;
	st.server     = env->self;
	st.heartbeats = atomic_load(&env->heartbeats);
	st.refused    = atomic_load(&env->refused);
	st.reports    = atomic_load(&env->reports);
	st.apps_owned = (uint32_t) pj_owned_list(env->owned, ids, 0);
	st.workers    = (uint32_t) workers;
	ar_reply(ctx, &st.base);
}

/* ---- the actor ------------------------------------------------------------
 */

static int
server_pre_start(ar_ctx *ctx, void *state)
{
	struct server_state *s = state;
	ar_props             p = { 0 };
	Pj__Cluster__Tick    t = PJ__CLUSTER__TICK__INIT;
	char                 name[32];
	int                  rv;

	s->env       = (struct pj_server_env *) ar_ctx_init_arg(ctx);
	p.behavior   = &elector_behavior;
	p.state_size = sizeof(struct pj_server_env *);
	p.dispatcher = AR_DISPATCHER_BLOCKING;
	for (int i = 0; i < PJ_SERVER_ELECTORS; i++) {
		snprintf(name, sizeof(name), "elect%d", i);
		/* the child's state is the env pointer: hand it in pre_start
		 */
		p.init_arg = s->env;
		if ((rv = ar_spawn(ar_ctx_system(ctx), ar_ctx_self(ctx), name,
		         &p, &s->electors[i]))
		    != 0) {
			return (rv);
		}
	}
	return (ar_timer_every(ar_ctx_system(ctx), ar_ctx_self(ctx), &t.base,
	    PJ_SERVER_TICK_MS, &s->tick));
}

static void
server_post_stop(ar_ctx *ctx, void *state)
{
	struct server_state *s = state;
	ar_timer_cancel(ar_ctx_system(ctx), s->tick);
	server_reports_flush(ctx, s->env, &s->reports);
	free(s->reports.v);
	memset(&s->reports, 0, sizeof(s->reports));
}

static int
server_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *msg)
{
	struct server_state  *s   = state;
	struct pj_server_env *env = s->env;
	if (t == &pj__cluster__worker_heartbeat__descriptor) {
		on_heartbeat(
		    ctx, env, (const Pj__Cluster__WorkerHeartbeat *) msg);
	} else if (t == &pj__cluster__discover__descriptor) {
		on_discover(ctx, s, (const Pj__Cluster__Discover *) msg);
	} else if (t == &pj__cluster__instance_status_report__descriptor) {
		server_report(ctx, env, &s->reports,
		    (const Pj__Cluster__InstanceStatusReport *) msg);
	} else if (t == &pj__sched__report_flush__descriptor) {
		server_reports_flush(ctx, env, &s->reports);
	} else if (t == &pj__cluster__log_report__descriptor) {
		on_log_report(ctx, env, (const Pj__Cluster__LogReport *) msg);
	} else if (t == &pj__cluster__executor_query__descriptor) {
		on_executor_query(
		    ctx, env, (const Pj__Cluster__ExecutorQuery *) msg);
	} else if (t == &pj__cluster__tick__descriptor) {
		on_tick(env);
	} else if (t == &pj__cluster__stats_query__descriptor) {
		on_stats(ctx, env);
	} else {
		atomic_fetch_add(&env->refused, 1);
		ar_reply_failure(ctx, AR_ETYPE,
		    "server: unexpected message type (see "
		    "proto/cluster.proto)");
	}
	return (0);
}

static const ar_behavior server_behavior
    = { server_pre_start, server_receive, server_post_stop, NULL };

int
pj_server_actor_spawn(struct pj_server_env *env, ar_ref *refp)
{
	ar_props p      = { 0 };
	p.behavior      = &server_behavior;
	p.state_size    = sizeof(struct server_state);
	p.init_arg      = env;
	p.dispatcher    = AR_DISPATCHER_BLOCKING;
	p.mailbox_bound = PJ_SERVER_MAILBOX_BOUND;
	return (ar_spawn(env->sys, AR_REF_NONE, PJ_SERVER_ACTOR, &p, refp));
}
