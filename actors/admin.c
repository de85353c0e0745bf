/*
 * admin.c - AdminActor (see admin.h).  Holds no state of its own beyond
 * the troubleshooting ref; the actor list comes from the runtime.
 */
#include "actors/admin.h"

#include <stdlib.h>

#include "runtime/log.h"

#include "actors/troubleshooting.h"

#define MAX_LISTED 10000
#define MAX_GAUGES 32

struct admin {
	ar_ref             ts; /* the troubleshooting ref, looked up once */
	pj_admin_gauges_fn gauges;
	void              *gauges_arg;
};

static int
list_actors(ar_ctx *ctx, struct admin *a)
{
	ar_system       *sys = ar_ctx_system(ctx);
	Ar__ActorsReport rep = AR__ACTORS_REPORT__INIT;
	ar_actor_info   *infos;
	Ar__ActorInfo   *ai;
	Ar__ActorInfo  **ap;
	size_t           n;
	int              rv;

	infos = ar_xcalloc(MAX_LISTED, sizeof(*infos));
	ar_system_actors(sys, infos, MAX_LISTED, &n);
	if (n > MAX_LISTED) {
		n = MAX_LISTED;
	}
	ai = ar_xcalloc(n, sizeof(*ai));
	ap = ar_xcalloc(n, sizeof(*ap));
	for (size_t i = 0; i < n; i++) {
		ar__actor_info__init(&ai[i]);
		ai[i].path          = infos[i].path;
		ai[i].mailbox_depth = infos[i].mailbox_depth;
		ai[i].restarts      = infos[i].restarts;
		ai[i].processed     = infos[i].processed;
		ai[i].dispatcher
		    = infos[i].dispatcher == AR_DISPATCHER_BLOCKING
		    ? "blocking"
		    : "default";
		ap[i] = &ai[i];
	}
	rep.system             = (char *) ar_system_name(sys);
	rep.address            = (char *) ar_system_address(sys);
	rep.n_actors           = n;
	rep.actors             = ap;
	rep.dead_letters_total = ar_dead_letter_total(sys);
	char(*gn)[PJ_GAUGE_NAME]  = NULL;
	char(*gv)[PJ_GAUGE_VALUE] = NULL;
	Ar__Gauge  *g             = NULL;
	Ar__Gauge **gp            = NULL;
	if (a->gauges != NULL) {
		gn = ar_xcalloc(MAX_GAUGES, sizeof(*gn));
		gv = ar_xcalloc(MAX_GAUGES, sizeof(*gv));
		size_t k = a->gauges(a->gauges_arg, gn, gv, MAX_GAUGES);
		k        = k < MAX_GAUGES ? k : MAX_GAUGES;
		g        = ar_xcalloc(k ? k : 1, sizeof(*g));
		gp       = ar_xcalloc(k ? k : 1, sizeof(*gp));
		for (size_t i = 0; i < k; i++) {
			ar__gauge__init(&g[i]);
			g[i].name  = gn[i];
			g[i].value = gv[i];
			gp[i]      = &g[i];
		}
		rep.n_gauges = k;
		rep.gauges   = gp;
	}
	rv = ar_reply(ctx, &rep.base);
	free(ai);
	free(ap);
	free(infos);
	free(gn);
	free(gv);
	free(g);
	free(gp);
	if (rv != 0) {
		/* the asker cannot be answered: not this actor's failure */
		ar_log(AR_LOG_INFO, "admin", "system=%s report not sent: %s",
		    ar_system_name(sys), ar_strerror(rv));
	}
	return (0);
}

static int
admin_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *type,
    const ProtobufCMessage *msg)
{
	struct admin *a  = state;
	ar_ref       *ts = &a->ts;
	(void) msg;
	if (type == &ar__actors_query__descriptor) {
		return (list_actors(ctx, a));
	}
	if (type == &ar__dead_letter_query__descriptor) {
		if (ar_ref_is_none(*ts)) {
			ar_lookup(ar_ctx_system(ctx),
			    "/user/" PJ_TROUBLESHOOTING_NAME, ts);
		}
		if (ar_forward(ctx, *ts) != 0) {
			ar_reply_failure(ctx, AR_ENOENT,
			    "admin: no troubleshooting actor on this system");
		}
		return (0);
	}
	if (type == &ar__ping__descriptor) {
		Ar__Pong pong    = AR__PONG__INIT;
		pong.sent_ms     = ((const Ar__Ping *) msg)->sent_ms;
		pong.received_ms = ar_now_ms();
		ar_reply(ctx, &pong.base);
		return (0);
	}
	ar_reply_failure(ctx, AR_ETYPE, "admin: unexpected message type");
	return (0);
}

static int
admin_pre_start(ar_ctx *ctx, void *state)
{
	struct admin                 *a = state;
	const struct pj_admin_gauges *g = ar_ctx_init_arg(ctx);
	if (g != NULL) {
		a->gauges     = g->fn;
		a->gauges_arg = g->arg;
	}
	return (0);
}

static const ar_behavior admin_behavior = {
	admin_pre_start,
	admin_receive,
	NULL,
	NULL,
};

static int
spawn_admin(ar_system *sys, const struct pj_admin_gauges *in, ar_ref *refp)
{
	ar_props p   = { 0 };
	p.behavior   = &admin_behavior;
	p.state_size = sizeof(struct admin);
	p.init_arg   = in;
	return (ar_spawn(sys, AR_REF_NONE, PJ_ADMIN_NAME, &p, refp));
}

int
pj_admin_spawn(ar_system *sys, ar_ref *refp)
{
	return (spawn_admin(sys, NULL, refp));
}

int
pj_admin_spawn_with_gauges(
    ar_system *sys, const struct pj_admin_gauges *g, ar_ref *adminp)
{
	int rv;
	if ((rv = pj_troubleshooting_spawn(sys, NULL)) != 0) {
		return (rv);
	}
	return (spawn_admin(sys, g, adminp));
}

int
pj_admin_spawn_all(ar_system *sys, ar_ref *adminp)
{
	int rv;
	if ((rv = pj_troubleshooting_spawn(sys, NULL)) != 0) {
		return (rv);
	}
	return (pj_admin_spawn(sys, adminp));
}
