/*
 * server/gateway/ops_instance.c - instance status, detail, query, stop,
 * cancel, retry, logs; time expression previews; the worker list (see
 * ops.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/gateway/convert.h"
#include "server/gateway/ops_int.h"
#include "server/timing/timing.h"

#define C(x) PJ__OPENAPI__CODE__##x

/* Loads instance id for the call's app: 0, or the reply set. */
static int
own_instance(
    struct pj_gw *g, struct pj_gw_call *c, int64_t id, struct pj_instance *i)
{
	int rv = pj_store_instance_get(g->store, id, i);
	if (rv == PJ_STORE_ENOTFOUND) {
		pj_gw_fail(c, C(NOT_FOUND), "%s.instance_id: no instance %lld",
		    pj_gw_op_name(c->op), (long long) id);
		return (-1);
	}
	if (rv != 0) {
		gw_store_fail(c, g, rv, pj_gw_op_name(c->op));
		return (-1);
	}
	if (i->app_id != c->app_id) {
		pj_instance_fini(i);
		pj_gw_fail(c, C(NO_PERMISSION),
		    "%s.instance_id: instance %lld belongs to another app",
		    pj_gw_op_name(c->op), (long long) id);
		return (-1);
	}
	return (0);
}

static void
owner_op(struct pj_gw *g, struct pj_gw_call *c, int64_t instance_id,
    Pj__Friend__Op op, int keep_detail)
{
	struct pj_instance i;
	if (own_instance(g, c, instance_id, &i) != 0) {
		return;
	}
	if (keep_detail) {
		struct pj_job j;
		gw_ok(c);
		c->reply.data_case = PJ__OPENAPI__REPLY__DATA_INSTANCE;
		c->reply.instance  = pj_gw_instance_to_pb(&c->arena, &i);
		/* which jobs have tasks to count (pjctl instance wait) */
		if (pj_store_job_get(g->store, i.job_id, &j) == 0) {
			c->reply.instance->execute_type = j.execute_type;
			pj_job_fini(&j);
		}
	}
	pj_instance_fini(&i);
	c->needs_owner       = 1;
	c->owner.op          = op;
	c->owner.app_id      = c->app_id;
	c->owner.instance_id = instance_id;
}

static void
instance_status(struct pj_gw *g, struct pj_gw_call *c, int64_t id)
{
	struct pj_instance i;
	if (own_instance(g, c, id, &i) != 0) {
		return;
	}
	gw_ok(c);
	c->reply.data_case = PJ__OPENAPI__REPLY__DATA_STATUS;
	c->reply.status    = i.status;
	pj_instance_fini(&i);
}

static void
instance_query(
    struct pj_gw *g, struct pj_gw_call *c, const Pj__Openapi__InstanceQuery *m)
{
	Pj__Openapi__InstancePage *p = pj_gw_alloc(&c->arena, sizeof(*p));
	struct pj_instance_query   q;
	struct pj_instance_list    l = { 0 };
	struct pj_instance         one;
	int                        rv;
	pj__openapi__instance_page__init(p);
	if (m->instance_id_eq > 0) {
		if (own_instance(g, c, m->instance_id_eq, &one) != 0) {
			return;
		}
		p->instances = pj_gw_alloc(&c->arena, sizeof(*p->instances));
		p->instances[0] = pj_gw_instance_to_pb(&c->arena, &one);
		p->n_instances  = 1;
		pj_instance_fini(&one);
	} else {
		pj_gw_instance_query_from_pb(m, c->app_id, &q);
		if ((rv = pj_store_instance_list(g->store, &q, &l)) != 0) {
			gw_store_fail(c, g, rv, "instance_query");
			return;
		}
		p->n_instances = l.n;
		p->instances   = pj_gw_alloc(
		      &c->arena, (l.n + 1) * sizeof(*p->instances));
		for (size_t k = 0; k < l.n; k++) {
			p->instances[k]
			    = pj_gw_instance_to_pb(&c->arena, &l.v[k]);
		}
		if (l.n > 0 && l.n == (size_t) q.limit) {
			p->next_after = l.v[l.n - 1].id;
			if (q.gmt_create_gt || q.gmt_create_lt) {
				p->next_after_gmt_create
				    = l.v[l.n - 1].gmt_create;
			}
		}
		pj_instance_list_fini(&l);
	}
	gw_ok(c);
	c->reply.data_case = PJ__OPENAPI__REPLY__DATA_INSTANCES;
	c->reply.instances = p;
}

static const char *
level_name(int l)
{
	switch (l) {
	case 1:
		return "DEBUG";
	case 2:
		return "INFO";
	case 3:
		return "WARN";
	case 4:
		return "ERROR";
	default:
		return "LOG";
	}
}

static void
instance_log(struct pj_gw *g, struct pj_gw_call *c, int64_t id,
    int64_t after_time, int64_t after_id, int limit, int as_text)
{
	Pj__Openapi__LogPage *p = pj_gw_alloc(&c->arena, sizeof(*p));
	struct pj_instance    i;
	struct pj_log_list    l;
	char                 *text = NULL;
	size_t                tn = 0, tcap = 0;
	int                   rv;
	if (own_instance(g, c, id, &i) != 0) {
		return;
	}
	pj_instance_fini(&i);
	pj__openapi__log_page__init(p);
	p->next_time = after_time;
	p->next_id   = after_id;
	for (;;) {
		if ((rv = pj_store_logs_read(
		         g->store, id, p->next_time, p->next_id, limit, &l))
		    != 0) {
			free(text);
			gw_store_fail(c, g, rv, pj_gw_op_name(c->op));
			return;
		}
		if (!as_text) {
			p->lines = pj_gw_alloc(
			    &c->arena, (l.n + 1) * sizeof(*p->lines));
		}
		for (size_t k = 0; k < l.n; k++) {
			struct pj_log_line *x = &l.v[k];
			if (as_text) {
				char      ts[40];
				time_t    t = (time_t) (x->log_time / 1000);
				struct tm tm;
				gmtime_r(&t, &tm);
				strftime(
				    ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
				size_t need = strlen(x->content)
				    + strlen(x->worker_address) + 80;
				if (tn + need > tcap) {
					tcap = (tn + need) * 2;
					text = ar_xrealloc(text, tcap);
				}
				tn += (size_t) snprintf(text + tn, tcap - tn,
				    "%s.%03dZ %-5s [%s] %s\n", ts,
				    (int) (x->log_time % 1000),
				    level_name(x->log_level),
				    x->worker_address, x->content);
			} else {
				Pj__Openapi__LogLine *m
				    = pj_gw_alloc(&c->arena, sizeof(*m));
				pj__openapi__log_line__init(m);
				m->id        = x->id;
				m->log_time  = x->log_time;
				m->log_level = x->log_level;
				m->content
				    = pj_gw_strdup(&c->arena, x->content);
				m->worker_address = pj_gw_strdup(
				    &c->arena, x->worker_address);
				p->lines[p->n_lines++] = m;
			}
		}
		if (l.n > 0) {
			p->next_time = l.v[l.n - 1].log_time;
			p->next_id   = l.v[l.n - 1].id;
		}
		p->done = l.n < (size_t) limit;
		pj_log_list_fini(&l);
		if (!as_text || p->done || tn >= PJ_GW_LOG_CHUNK) {
			break;
		}
	}
	if (as_text) {
		p->text = pj_gw_strdup(&c->arena, text ? text : "");
		free(text);
	}
	gw_ok(c);
	c->reply.data_case = PJ__OPENAPI__REPLY__DATA_LOG;
	c->reply.log       = p;
}

static void
time_preview(struct pj_gw *g, struct pj_gw_call *c,
    const Pj__Openapi__TimePreview *m, int64_t now)
{
	Pj__Openapi__FireTimes *f = pj_gw_alloc(&c->arena, sizeof(*f));
	struct pj_job           j;
	const char  *expr = m->time_expression, *zone = m->time_zone;
	const char  *life = m->lifecycle;
	int          type = m->time_expression_type, have_job = 0;
	char         terr[PJ_TIMING_ERR_MAX], buf[64];
	pj_timing    t;
	pj_lifecycle lc;
	int          n    = m->count > 0 ? m->count : PJ_GW_PREVIEW_DEFAULT;
	int64_t      from = m->from_ms > 0 ? m->from_ms : now, prev;

	if (m->job_id > 0) {
		if (gw_own_job(g, c, m->job_id, &j) != 0) {
			return;
		}
		have_job = 1;
		expr     = j.time_expression;
		zone     = j.time_zone;
		life     = j.lifecycle;
		type     = j.time_expression_type;
	}
	if (pj_timing_init(
	        &t, (pj_time_type) type, expr, zone, 0, terr, sizeof(terr))
	        != 0
	    || pj_lifecycle_parse(life, &lc, terr, sizeof(terr)) != 0) {
		pj_gw_fail(c, C(ILLEGAL_ARGS),
		    "time_preview.time_expression: %s", terr);
		goto out;
	}
	pj__openapi__fire_times__init(f);
	f->times = pj_gw_alloc(&c->arena, (size_t) n * sizeof(*f->times));
	f->local = pj_gw_alloc(&c->arena, (size_t) n * sizeof(*f->local));
	f->zone  = pj_gw_strdup(&c->arena, pj_tz_name(t.tz));
	prev     = from;
	for (int k = 0; k < n; k++) {
		int64_t next;
		if (pj_timing_next(&t, &lc, prev, from, &next) != 0) {
			break;
		}
		pj_tz_format_iso(t.tz, next, buf, sizeof(buf));
		f->times[f->n_times++] = next;
		f->local[f->n_local++] = pj_gw_strdup(&c->arena, buf);
		prev                   = next;
	}
	gw_ok(c);
	if (f->n_times == 0) {
		c->reply.message = pj_gw_strdup(&c->arena,
		    "no fire times (API, WORKFLOW and FIXED_DELAY jobs are "
		    "not "
		    "fired by the clock, or the lifecycle has ended)");
	}
	c->reply.data_case  = PJ__OPENAPI__REPLY__DATA_FIRE_TIMES;
	c->reply.fire_times = f;
out:
	if (have_job) {
		pj_job_fini(&j);
	}
}

void
gw_instance_op(struct pj_gw *g, struct pj_gw_call *c,
    const Pj__Openapi__Request *r, int64_t now)
{
	switch (r->op_case) {
	case PJ__OPENAPI__REQUEST__OP_TIME_PREVIEW:
		time_preview(g, c, r->time_preview, now);
		break;
	case PJ__OPENAPI__REQUEST__OP_INSTANCE_STATUS:
		instance_status(g, c, r->instance_status->instance_id);
		break;
	case PJ__OPENAPI__REQUEST__OP_INSTANCE_DETAIL:
		owner_op(g, c, r->instance_detail->instance_id,
		    PJ__FRIEND__OP__INSTANCE_DETAIL, 1);
		break;
	case PJ__OPENAPI__REQUEST__OP_INSTANCE_QUERY:
		instance_query(g, c, r->instance_query);
		break;
	case PJ__OPENAPI__REQUEST__OP_INSTANCE_STOP:
		owner_op(g, c, r->instance_stop->instance_id,
		    PJ__FRIEND__OP__STOP_INSTANCE, 0);
		break;
	case PJ__OPENAPI__REQUEST__OP_INSTANCE_CANCEL:
		owner_op(g, c, r->instance_cancel->instance_id,
		    PJ__FRIEND__OP__CANCEL_INSTANCE, 0);
		break;
	case PJ__OPENAPI__REQUEST__OP_INSTANCE_RETRY:
		owner_op(g, c, r->instance_retry->instance_id,
		    PJ__FRIEND__OP__RETRY_INSTANCE, 0);
		break;
	case PJ__OPENAPI__REQUEST__OP_INSTANCE_LOG: {
		const Pj__Openapi__InstanceLog *m = r->instance_log;
		instance_log(g, c, m->instance_id, m->after_time, m->after_id,
		    m->limit > 0 ? m->limit : PJ_GW_LOG_PAGE_DEFAULT, 0);
		break;
	}
	case PJ__OPENAPI__REQUEST__OP_INSTANCE_LOG_ALL: {
		const Pj__Openapi__InstanceLogAll *m = r->instance_log_all;
		instance_log(g, c, m->instance_id, m->after_time, m->after_id,
		    PJ_GW_PAGE_MAX, 1);
		break;
	}
	case PJ__OPENAPI__REQUEST__OP_WORKER_LIST:
		c->needs_owner  = 1;
		c->owner.op     = PJ__FRIEND__OP__WORKER_LIST;
		c->owner.app_id = c->app_id;
		break;
	default:
		pj_gw_fail(
		    c, C(INVALID_REQUEST), "request: unknown operation");
		break;
	}
}
