/*
 * server_env.c - helpers ServerActor and FriendActor share (see
 * server_env.h).  pj_server_ping blocks its caller on a future; it is only
 * called from blocking-dispatcher actors.
 */
#include "actors/server_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/log.h"

void
pj_server_actor_address(
    const char *server, const char *actor, char *buf, size_t n)
{
	snprintf(
	    buf, n, "pj://" PJ_SERVER_SYSTEM "@%s/user/%s", server, actor);
}

int
pj_server_ping(void *arg, const char *server, int timeout_ms)
{
	struct pj_server_env   *env = arg;
	char                    addr[512];
	ar_ref                  to;
	ar_future              *f;
	const ProtobufCMessage *r;
	Pj__Friend__Ping        p = PJ__FRIEND__PING__INIT;
	int                     rv;

	pj_server_actor_address(server, PJ_FRIEND_ACTOR, addr, sizeof(addr));
	if (ar_ref_resolve(env->sys, addr, &to) != 0) {
		return (1);
	}
	p.sent_ms        = ar_now_ms();
	p.from_server_id = env->server_id;
	if (ar_ask(env->sys, to, &p.base, timeout_ms, &f) != 0) {
		return (1);
	}
	rv = ar_future_wait(f, -1, &r);
	if (rv == 0
	    && (r->descriptor != &pj__friend__pong__descriptor
	        || strcmp(((const Pj__Friend__Pong *) r)->server, server)
	            != 0)) {
		rv = AR_ETYPE; /* somebody else answers at that address */
	}
	ar_future_free(f);
	ar_log(AR_LOG_DEBUG, "server", "ping server=%s: %s", server,
	    rv == 0 ? "alive" : ar_strerror(rv));
	return (rv == 0 ? 0 : 1);
}

int
pj_server_owns(struct pj_server_env *env, int64_t app_id)
{
	char *owner = NULL;
	int   rv;
	if (pj_owned_has(env->owned, app_id)) {
		return (1);
	}
	if ((rv = pj_store_app_owner(env->store, app_id, &owner)) != 0) {
		return (rv == PJ_STORE_ENOTFOUND ? 0 : -1);
	}
	rv = strcmp(owner, env->self) == 0;
	free(owner);
	if (rv) {
		pj_owned_add(env->owned, app_id);
	}
	return (rv);
}

void
pj_server_owner_env(struct pj_server_env *env, struct pj_owner_env *o)
{
	memset(o, 0, sizeof(*o));
	o->store    = env->store;
	o->self     = env->self;
	o->ping     = pj_server_ping;
	o->ping_arg = env;
}

Pj__Cluster__WorkerInfo **
pj_worker_infos(const struct pj_worker *w, size_t n)
{
	Pj__Cluster__WorkerInfo **v = ar_xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		Pj__Cluster__WorkerInfo    *x = ar_xcalloc(1, sizeof(*x));
		Pj__Cluster__SystemMetrics *m = ar_xcalloc(1, sizeof(*m));
		pj__cluster__worker_info__init(x);
		pj__cluster__system_metrics__init(m);
		x->address                = ar_xstrdup(w[i].address);
		x->version                = ar_xstrdup(w[i].version);
		x->tag                    = ar_xstrdup(w[i].tag);
		x->last_active_time       = w[i].last_active;
		x->overload               = w[i].overload;
		x->score                  = w[i].score;
		x->alive                  = w[i].alive;
		x->light_task_tracker_num = w[i].light_tt;
		x->heavy_task_tracker_num = w[i].heavy_tt;
		m->cpu_processors         = w[i].metrics.cpu_processors;
		m->cpu_load               = w[i].metrics.cpu_load;
		m->mem_used               = w[i].metrics.mem_used;
		m->mem_max                = w[i].metrics.mem_max;
		m->disk_used              = w[i].metrics.disk_used;
		m->disk_total             = w[i].metrics.disk_total;
		x->metrics                = m;
		v[i]                      = x;
	}
	return (v);
}

void
pj_worker_infos_free(Pj__Cluster__WorkerInfo **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i]->address);
		free(v[i]->version);
		free(v[i]->tag);
		free(v[i]->metrics);
		free(v[i]);
	}
	free(v);
}
