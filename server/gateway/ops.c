/*
 * server/gateway/ops.c - authentication, the job and app operations, and
 * the owner hand-off (see ops.h).  Instance, log, preview and worker
 * operations: ops_instance.c.
 */
#include "server/gateway/ops.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/ar.h"
#include "server/gateway/convert.h"
#include "server/gateway/ops_int.h"
#include "server/timing/timing.h"

#define C(x) PJ__OPENAPI__CODE__##x

void
pj_gw_call_init(struct pj_gw_call *c)
{
	memset(c, 0, sizeof(*c));
	pj__openapi__reply__init(&c->reply);
	pj__friend__op_request__init(&c->owner);
}

void
pj_gw_call_fini(struct pj_gw_call *c)
{
	pj_gw_arena_fini(&c->arena);
}

void
pj_gw_fail(struct pj_gw_call *c, int code, const char *fmt, ...)
{
	char    buf[PJ_GW_ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->reply.success   = 0;
	c->reply.code      = (Pj__Openapi__Code) code;
	c->reply.message   = pj_gw_strdup(&c->arena, buf);
	c->reply.data_case = PJ__OPENAPI__REPLY__DATA__NOT_SET;
}

void
gw_ok(struct pj_gw_call *c)
{
	c->reply.success = 1;
	c->reply.code    = C(OK);
}

void
gw_store_fail(struct pj_gw_call *c, struct pj_gw *g, int rv, const char *what)
{
	if (rv == PJ_STORE_EINVAL) {
		pj_gw_fail(c, C(ILLEGAL_ARGS), "%s: %s", what,
		    pj_store_errmsg(g->store));
	} else if (rv == PJ_STORE_ENOTFOUND) {
		pj_gw_fail(c, C(NOT_FOUND), "%s: not found", what);
	} else {
		pj_gw_fail(c, C(SYSTEM_ERROR),
		    "%s: database unavailable (%s); try again later", what,
		    pj_store_strerror(rv));
	}
}

size_t
pj_gw_call_pack(struct pj_gw_call *c, uint8_t **out)
{
	size_t n = pj__openapi__reply__get_packed_size(&c->reply);
	*out     = pj_gw_alloc(&c->arena, n + 1);
	return (pj__openapi__reply__pack(&c->reply, *out));
}

/* ---- authentication -------------------------------------------------------
 */

static int
authenticate(struct pj_gw *g, const Pj__Openapi__Request *r, int64_t now,
    struct pj_gw_call *c)
{
	const Pj__Openapi__Credentials *a = r->auth;
	int64_t                         id;
	int                             rv;
	if (a != NULL && a->token[0] != 0
	    && r->op_case != PJ__OPENAPI__REQUEST__OP_APP_AUTH) {
		rv = pj_gw_token_verify(g->key, a->token, now, &id, NULL);
		if (rv == PJ_GW_TOKEN_EXPIRED) {
			pj_gw_fail(c, C(TOKEN_EXPIRED),
			    "auth.token: expired; authenticate again (app "
			    "auth)");
			return (-1);
		}
		if (rv != 0) {
			pj_gw_fail(c, C(INVALID_TOKEN),
			    "auth.token: not a token of this deployment");
			return (-1);
		}
		c->app_id = id;
		return (0);
	}
	if (a == NULL || a->app_name[0] == 0 || a->secret[0] == 0) {
		pj_gw_fail(c, C(INVALID_REQUEST),
		    "auth: app name and secret%s are required",
		    r->op_case == PJ__OPENAPI__REQUEST__OP_APP_AUTH
		        ? ""
		        : " (or a token)");
		return (-1);
	}
	struct pj_auth_info ai;
	rv = pj_auth_check_info(
	    g->auth, a->app_name, a->secret, now, &id, &ai);
	if (rv == PJ_STORE_EAUTH && ai.throttled) {
		/* the secret was not looked at: say when it will be */
		pj_gw_fail(c, C(INCORRECT_PASSWORD),
		    "auth: too many wrong secrets for app %s; try again in "
		    "%lld ms",
		    a->app_name, (long long) ai.retry_ms);
		return (-1);
	}
	if (rv == PJ_STORE_EAUTH) {
		pj_gw_fail(c, C(INCORRECT_PASSWORD),
		    "auth: wrong secret for app %s", a->app_name);
		return (-1);
	}
	if (rv == PJ_STORE_ENOTFOUND) {
		pj_gw_fail(
		    c, C(INVALID_APP), "auth: no app named %s", a->app_name);
		return (-1);
	}
	if (rv != 0) {
		gw_store_fail(c, g, rv, "auth");
		return (-1);
	}
	c->app_id = id;
	return (0);
}

/* ---- jobs -----------------------------------------------------------------
 */

int
pj_gw_job_next_trigger(const struct pj_job *j, int64_t now, int64_t *next,
    char *err, size_t errlen)
{
	char         terr[PJ_TIMING_ERR_MAX];
	pj_timing    t;
	pj_lifecycle lc;
	*next = 0;
	if (pj_timing_init(&t, (pj_time_type) j->time_expression_type,
	        j->time_expression, j->time_zone, 0, terr, sizeof(terr))
	        != 0
	    || pj_lifecycle_parse(j->lifecycle, &lc, terr, sizeof(terr))
	        != 0) {
		snprintf(err, errlen, "job %lld: %s", (long long) j->id, terr);
		return (C(ILLEGAL_ARGS));
	}
	if (pj_timing_next(&t, &lc, 0, now, next) != 0) {
		*next = 0;
		if (j->time_expression_type == PJ_TIME_CRON
		    || j->time_expression_type
		        == PJ_TIME_DAILY_TIME_INTERVAL) {
			snprintf(err, errlen,
			    "time_expression: time expression is out of date "
			    "(no fire time left)");
			return (C(ILLEGAL_ARGS));
		}
	}
	return (0);
}

/* Loads job id for the call's app: 0, or the reply set to the failure. */
int
gw_own_job(struct pj_gw *g, struct pj_gw_call *c, int64_t id, struct pj_job *j)
{
	int rv = pj_store_job_get(g->store, id, j);
	if (rv == PJ_STORE_ENOTFOUND) {
		pj_gw_fail(c, C(NOT_FOUND), "%s.job_id: no job %lld",
		    pj_gw_op_name(c->op), (long long) id);
		return (-1);
	}
	if (rv != 0) {
		gw_store_fail(c, g, rv, pj_gw_op_name(c->op));
		return (-1);
	}
	if (j->app_id != c->app_id) {
		pj_job_fini(j);
		pj_gw_fail(c, C(NO_PERMISSION),
		    "%s.job_id: job %lld belongs to another app",
		    pj_gw_op_name(c->op), (long long) id);
		return (-1);
	}
	return (0);
}

static void
job_save(struct pj_gw *g, struct pj_gw_call *c, const Pj__Openapi__JobSave *s,
    int64_t now)
{
	struct pj_job j, old;
	char          err[PJ_GW_ERR_MAX];
	int64_t       id = 0;
	int           rv;
	if (s->job->id > 0) {
		if (gw_own_job(g, c, s->job->id, &old) != 0) {
			return;
		}
		pj_job_fini(&old);
	}
	pj_gw_job_from_pb(s->job, &j);
	j.app_id = c->app_id;
	j.status = s->disabled ? PJ_STATUS_DISABLE : PJ_STATUS_ENABLE;
	if ((rv = pj_gw_job_next_trigger(
	         &j, now, &j.next_trigger_time, err, sizeof(err)))
	    != 0) {
		pj_gw_fail(c, rv, "job_save.job.%s", err);
		return;
	}
	if ((rv = pj_store_job_save(g->store, &j, now, &id)) != 0) {
		gw_store_fail(c, g, rv, "job_save");
		return;
	}
	gw_ok(c);
	c->reply.data_case = PJ__OPENAPI__REPLY__DATA_ID;
	c->reply.id        = j.id > 0 ? j.id : id;
}

static void
job_copy(struct pj_gw *g, struct pj_gw_call *c, int64_t job_id, int64_t now)
{
	struct pj_job j;
	char          name[PJ_STORE_NAME_MAX + 1];
	char         *keep;
	int64_t       id;
	int           rv;
	if (gw_own_job(g, c, job_id, &j) != 0) {
		return;
	}
	/* PowerJob: <name>_COPY; kept within the name limit */
	snprintf(name, sizeof(name), "%.*s_COPY", PJ_STORE_NAME_MAX - 5,
	    j.job_name);
	keep       = j.job_name;
	j.job_name = name;
	j.id       = 0;
	rv         = pj_store_job_save(g->store, &j, now, &id);
	j.job_name = keep;
	pj_job_fini(&j);
	if (rv != 0) {
		gw_store_fail(c, g, rv, "job_copy");
		return;
	}
	gw_ok(c);
	c->reply.data_case = PJ__OPENAPI__REPLY__DATA_ID;
	c->reply.id        = id;
}

static void
job_fetch(struct pj_gw *g, struct pj_gw_call *c, int64_t job_id, int export,
    int64_t now)
{
	struct pj_job j;
	char          name[PJ_STORE_NAME_MAX + 1];
	if (gw_own_job(g, c, job_id, &j) != 0) {
		return;
	}
	gw_ok(c);
	c->reply.data_case = PJ__OPENAPI__REPLY__DATA_JOB;
	c->reply.job       = pj_gw_job_to_pb(&c->arena, &j);
	if (export) { /* PowerJob: a save request, id null, a new name */
		snprintf(name, sizeof(name), "%.*s_EXPORT_%lld",
		    PJ_STORE_NAME_MAX - 24, j.job_name, (long long) now);
		c->reply.job->id       = 0;
		c->reply.job->app_id   = 0;
		c->reply.job->job_name = pj_gw_strdup(&c->arena, name);
		c->reply.job->next_trigger_time = 0;
		c->reply.job->gmt_create        = 0;
		c->reply.job->gmt_modified      = 0;
	}
	pj_job_fini(&j);
}

static void
job_list_reply(struct pj_gw_call *c, const struct pj_job_list *l)
{
	Pj__Openapi__JobList *m = pj_gw_alloc(&c->arena, sizeof(*m));
	pj__openapi__job_list__init(m);
	m->n_jobs = l->n;
	m->jobs   = pj_gw_alloc(&c->arena, (l->n + 1) * sizeof(*m->jobs));
	for (size_t k = 0; k < l->n; k++) {
		m->jobs[k] = pj_gw_job_to_pb(&c->arena, &l->v[k]);
	}
	gw_ok(c);
	c->reply.data_case = PJ__OPENAPI__REPLY__DATA_JOBS;
	c->reply.jobs      = m;
}

static void
job_fetch_all(struct pj_gw *g, struct pj_gw_call *c)
{
	struct pj_job_query q   = { 0 };
	struct pj_job_list  all = { 0 }, l;
	int                 rv;
	q.app_id = c->app_id; /* every status, deleted ones too (PowerJob) */
	q.limit  = PJ_GW_PAGE_MAX;
	for (;;) {
		if ((rv = pj_store_job_query(g->store, &q, &l)) != 0) {
			pj_job_list_fini(&all);
			gw_store_fail(c, g, rv, "job_fetch_all");
			return;
		}
		all.v = ar_xrealloc(all.v, (all.n + l.n + 1) * sizeof(*all.v));
		if (l.n > 0) {
			memcpy(all.v + all.n, l.v, l.n * sizeof(*l.v));
		}
		all.n += l.n;
		free(l.v); /* the rows moved into all */
		if (l.n < (size_t) q.limit || all.n >= PJ_GW_FETCH_ALL_MAX) {
			break;
		}
		q.after_id = all.v[all.n - 1].id;
	}
	job_list_reply(c, &all);
	pj_job_list_fini(&all);
}

static void
job_query(
    struct pj_gw *g, struct pj_gw_call *c, const Pj__Openapi__JobQuery *m)
{
	struct pj_job_query q;
	struct pj_job_list  l;
	int                 rv;
	pj_gw_job_query_from_pb(m, c->app_id, &q);
	if ((rv = pj_store_job_query(g->store, &q, &l)) != 0) {
		gw_store_fail(c, g, rv, "job_query");
		return;
	}
	job_list_reply(c, &l);
	pj_job_list_fini(&l);
}

/* Enable, disable, delete: the owner's scheduler does them (enable sets
 * next_trigger_time from now; disable and delete cancel pending fires at
 * once), through the FriendActor like run and stop. */
static void
job_status(struct pj_gw *g, struct pj_gw_call *c, int64_t job_id, int status,
    int64_t now)
{
	struct pj_job j;
	(void) now;
	if (gw_own_job(g, c, job_id, &j) != 0) {
		return;
	}
	pj_job_fini(&j);
	c->needs_owner  = 1;
	c->owner.op     = status == PJ_STATUS_ENABLE ? PJ__FRIEND__OP__ENABLE_JOB
	        : status == PJ_STATUS_DISABLE        ? PJ__FRIEND__OP__DISABLE_JOB
	                                             : PJ__FRIEND__OP__DELETE_JOB;
	c->owner.app_id = c->app_id;
	c->owner.job_id = job_id;
	c->owner.params = "";
}

static void
job_run(struct pj_gw *g, struct pj_gw_call *c, const Pj__Openapi__JobRun *m)
{
	struct pj_job j;
	if (gw_own_job(g, c, m->job_id, &j) != 0) {
		return;
	}
	int deleted = j.status == PJ_STATUS_DELETED;
	pj_job_fini(&j);
	if (deleted) {
		pj_gw_fail(c, C(CONFLICT),
		    "job_run.job_id: job %lld is deleted",
		    (long long) m->job_id);
		return;
	}
	c->needs_owner  = 1;
	c->owner.op     = PJ__FRIEND__OP__RUN_JOB;
	c->owner.app_id = c->app_id;
	c->owner.job_id = m->job_id;
	c->owner.params   = pj_gw_strdup(&c->arena, m->instance_params);
	c->owner.delay_ms = m->delay_ms;
}

/* ---- apps -----------------------------------------------------------------
 */

static void
app_register(struct pj_gw *g, struct pj_gw_call *c,
    const Pj__Openapi__AppRegister *m, int64_t now)
{
	int64_t id;
	int     rv = pj_store_app_create(g->store, m->app_name, m->secret,
            m->title[0] ? m->title : m->app_name, now, &id);
	if (rv == PJ_STORE_EDUP) {
		pj_gw_fail(c, C(CONFLICT),
		    "app_register.app_name: an app named %s exists already",
		    m->app_name);
		return;
	}
	if (rv != 0) {
		gw_store_fail(c, g, rv, "app_register");
		return;
	}
	gw_ok(c);
	c->reply.data_case = PJ__OPENAPI__REPLY__DATA_ID;
	c->reply.id        = id;
}

static void
app_auth(struct pj_gw *g, struct pj_gw_call *c, const Pj__Openapi__AppAuth *m,
    int64_t now)
{
	Pj__Openapi__AuthResult *a = pj_gw_alloc(&c->arena, sizeof(*a));
	char                     tok[PJ_GW_TOKEN_MAX];
	int64_t ttl = m->ttl_ms > 0 && m->ttl_ms < g->token_ttl_ms
	    ? m->ttl_ms
	    : g->token_ttl_ms;
	pj__openapi__auth_result__init(a);
	a->app_id     = c->app_id;
	a->expires_ms = now + ttl;
	pj_gw_token_sign(g->key, c->app_id, a->expires_ms, tok, sizeof(tok));
	a->token = pj_gw_strdup(&c->arena, tok);
	gw_ok(c);
	c->reply.data_case = PJ__OPENAPI__REPLY__DATA_AUTH;
	c->reply.auth      = a;
}

/* ---- dispatch -------------------------------------------------------------
 */

void
pj_gw_handle(struct pj_gw *g, const uint8_t *buf, size_t len, int64_t now,
    struct pj_gw_call *c)
{
	char                  err[PJ_GW_ERR_MAX];
	Pj__Openapi__Request *r;
	int                   rv;

	if ((r = pj_gw_request_decode(buf, len, err, sizeof(err))) == NULL) {
		pj_gw_fail(c, C(INVALID_REQUEST), "%s", err);
		return;
	}
	c->op = r->op_case;
	if ((rv = pj_gw_request_validate(r, now, err, sizeof(err))) != 0) {
		pj_gw_fail(c, rv, "%s", err);
		goto done;
	}
	if (r->op_case == PJ__OPENAPI__REQUEST__OP_APP_REGISTER) {
		app_register(g, c, r->app_register, now);
		goto done;
	}
	if (authenticate(g, r, now, c) != 0) {
		goto done;
	}
	switch (r->op_case) {
	case PJ__OPENAPI__REQUEST__OP_APP_AUTH:
		app_auth(g, c, r->app_auth, now);
		break;
	case PJ__OPENAPI__REQUEST__OP_JOB_SAVE:
		job_save(g, c, r->job_save, now);
		break;
	case PJ__OPENAPI__REQUEST__OP_JOB_COPY:
		job_copy(g, c, r->job_copy->job_id, now);
		break;
	case PJ__OPENAPI__REQUEST__OP_JOB_EXPORT:
		job_fetch(g, c, r->job_export->job_id, 1, now);
		break;
	case PJ__OPENAPI__REQUEST__OP_JOB_FETCH:
		job_fetch(g, c, r->job_fetch->job_id, 0, now);
		break;
	case PJ__OPENAPI__REQUEST__OP_JOB_FETCH_ALL:
		job_fetch_all(g, c);
		break;
	case PJ__OPENAPI__REQUEST__OP_JOB_QUERY:
		job_query(g, c, r->job_query);
		break;
	case PJ__OPENAPI__REQUEST__OP_JOB_ENABLE:
		job_status(g, c, r->job_enable->job_id, PJ_STATUS_ENABLE, now);
		break;
	case PJ__OPENAPI__REQUEST__OP_JOB_DISABLE:
		job_status(
		    g, c, r->job_disable->job_id, PJ_STATUS_DISABLE, now);
		break;
	case PJ__OPENAPI__REQUEST__OP_JOB_DELETE:
		job_status(
		    g, c, r->job_delete->job_id, PJ_STATUS_DELETED, now);
		break;
	case PJ__OPENAPI__REQUEST__OP_JOB_RUN:
		job_run(g, c, r->job_run);
		break;
	default:
		gw_instance_op(g, c, r, now);
		break;
	}
done:
	pj_gw_request_free(r);
}

/* ---- owner replies --------------------------------------------------------
 */

void
pj_gw_owner_done(struct pj_gw_call *c, int rv, const char *why,
    const Pj__Friend__OpReply *r)
{
	const char *op = pj_gw_op_name(c->op);
	if (rv != 0 || r == NULL) {
		pj_gw_fail(c, C(UNAVAILABLE),
		    "%s: the app's owner did not answer (%s); try again", op,
		    why ? why : "no reply");
		return;
	}
	switch (r->code) {
	case PJ__CLUSTER__CODE__OK:
		break;
	case PJ__CLUSTER__CODE__NOT_FOUND:
		pj_gw_fail(c, C(NOT_FOUND), "%s: %s", op, r->message);
		return;
	case PJ__CLUSTER__CODE__BAD_REQUEST:
		pj_gw_fail(c, C(CONFLICT), "%s: %s", op, r->message);
		return;
	case PJ__CLUSTER__CODE__UNKNOWN_APP:
		pj_gw_fail(c, C(INVALID_APP), "%s: %s", op, r->message);
		return;
	case PJ__CLUSTER__CODE__NOT_OWNER:
	case PJ__CLUSTER__CODE__OWNER_UNREACHABLE:
	case PJ__CLUSTER__CODE__ELECT_FAILED:
		pj_gw_fail(c, C(UNAVAILABLE), "%s: %s", op, r->message);
		return;
	default:
		pj_gw_fail(c, C(SYSTEM_ERROR), "%s: %s", op, r->message);
		return;
	}
	gw_ok(c);
	switch (c->owner.op) {
	case PJ__FRIEND__OP__RUN_JOB:
		c->reply.data_case = PJ__OPENAPI__REPLY__DATA_ID;
		c->reply.id        = r->instance_id;
		break;
	case PJ__FRIEND__OP__INSTANCE_DETAIL:
		if (c->reply.data_case == PJ__OPENAPI__REPLY__DATA_INSTANCE) {
			c->reply.instance->status = r->instance_status;
			c->reply.instance->result
			    = pj_gw_strdup(&c->arena, r->result);
			c->reply.instance->served_by
			    = pj_gw_strdup(&c->arena, r->served_by);
			c->reply.instance->total_task_num = r->total_task_num;
			c->reply.instance->succeed_task_num
			    = r->succeed_task_num;
			c->reply.instance->failed_task_num = r->failed_task_num;
			c->reply.instance->task_counts_time = r->counts_time;
		}
		break;
	case PJ__FRIEND__OP__WORKER_LIST: {
		Pj__Openapi__Workers *w = pj_gw_alloc(&c->arena, sizeof(*w));
		pj__openapi__workers__init(w);
		/* the OpReply outlives the packing of this reply */
		w->n_workers       = r->n_workers;
		w->workers         = r->workers;
		w->served_by       = pj_gw_strdup(&c->arena, r->served_by);
		c->reply.data_case = PJ__OPENAPI__REPLY__DATA_WORKERS;
		c->reply.workers   = w;
		break;
	}
	default:
		break;
	}
}
