/*
 * server/gateway/convert.c - rows <-> OpenAPI messages (see convert.h).
 */
#include "server/gateway/convert.h"

#include <string.h>

#define S(x) pj_gw_strdup(a, (x))

Pj__Openapi__JobInfo *
pj_gw_job_to_pb(struct pj_gw_arena *a, const struct pj_job *j)
{
	Pj__Openapi__JobInfo *m = pj_gw_alloc(a, sizeof(*m));
	pj__openapi__job_info__init(m);
	m->id                       = j->id;
	m->app_id                   = j->app_id;
	m->job_name                 = S(j->job_name);
	m->job_description          = S(j->job_description);
	m->job_params               = S(j->job_params);
	m->time_expression_type     = j->time_expression_type;
	m->time_expression          = S(j->time_expression);
	m->time_zone                = S(j->time_zone);
	m->misfire_policy           = j->misfire_policy;
	m->execute_type             = j->execute_type;
	m->processor_type           = j->processor_type;
	m->processor_info           = S(j->processor_info);
	m->max_instance_num         = j->max_instance_num;
	m->concurrency              = j->concurrency;
	m->instance_time_limit      = j->instance_time_limit;
	m->instance_retry_num       = j->instance_retry_num;
	m->task_retry_num           = j->task_retry_num;
	m->status                   = j->status;
	m->next_trigger_time        = j->next_trigger_time;
	m->min_cpu_cores            = j->min_cpu_cores;
	m->min_memory_space         = j->min_memory_space;
	m->min_disk_space           = j->min_disk_space;
	m->designated_workers       = S(j->designated_workers);
	m->max_worker_count         = j->max_worker_count;
	m->notify_user_ids          = S(j->notify_user_ids);
	m->extra                    = S(j->extra);
	m->dispatch_strategy        = j->dispatch_strategy;
	m->dispatch_strategy_config = S(j->dispatch_strategy_config);
	m->lifecycle                = S(j->lifecycle);
	m->alarm_config             = S(j->alarm_config);
	m->tag                      = S(j->tag);
	m->log_config               = S(j->log_config);
	m->advanced_runtime_config  = S(j->advanced_runtime_config);
	m->gmt_create               = j->gmt_create;
	m->gmt_modified             = j->gmt_modified;
	return (m);
}

void
pj_gw_job_from_pb(const Pj__Openapi__JobInfo *m, struct pj_job *j)
{
	memset(j, 0, sizeof(*j));
	j->id                   = m->id;
	j->app_id               = m->app_id;
	j->job_name             = m->job_name;
	j->job_description      = m->job_description;
	j->job_params           = m->job_params;
	j->time_expression_type = m->time_expression_type;
	j->time_expression      = m->time_expression;
	j->time_zone            = m->time_zone;
	j->misfire_policy       = m->misfire_policy;
	j->execute_type         = m->execute_type;
	j->processor_type       = m->processor_type;
	j->processor_info       = m->processor_info;
	j->max_instance_num     = m->max_instance_num;
	j->concurrency
	    = m->concurrency > 0 ? m->concurrency : PJ_GW_CONCURRENCY_DEFAULT;
	j->instance_time_limit = m->instance_time_limit;
	j->instance_retry_num  = m->instance_retry_num;
	j->task_retry_num      = m->task_retry_num;
	j->status              = m->status;
	j->next_trigger_time   = m->next_trigger_time;
	j->min_cpu_cores       = m->min_cpu_cores;
	j->min_memory_space    = m->min_memory_space;
	j->min_disk_space      = m->min_disk_space;
	j->designated_workers  = m->designated_workers;
	j->max_worker_count    = m->max_worker_count;
	j->notify_user_ids     = m->notify_user_ids;
	j->extra               = m->extra;
	j->dispatch_strategy = m->dispatch_strategy > 0 ? m->dispatch_strategy
	                                                : 1; /* HEALTH_FIRST */
	j->dispatch_strategy_config = m->dispatch_strategy_config;
	j->lifecycle                = m->lifecycle;
	j->alarm_config             = m->alarm_config;
	j->tag                      = m->tag;
	j->log_config               = m->log_config;
	j->advanced_runtime_config  = m->advanced_runtime_config;
}

Pj__Openapi__InstanceInfo *
pj_gw_instance_to_pb(struct pj_gw_arena *a, const struct pj_instance *i)
{
	Pj__Openapi__InstanceInfo *m = pj_gw_alloc(a, sizeof(*m));
	pj__openapi__instance_info__init(m);
	m->instance_id           = i->instance_id;
	m->job_id                = i->job_id;
	m->app_id                = i->app_id;
	m->wf_instance_id        = i->wf_instance_id;
	m->type                  = i->type;
	m->status                = i->status;
	m->job_params            = S(i->job_params);
	m->instance_params       = S(i->instance_params);
	m->result                = S(i->result);
	m->expected_trigger_time = i->expected_trigger_time;
	m->actual_trigger_time   = i->actual_trigger_time;
	m->finished_time         = i->finished_time;
	m->task_tracker_address  = S(i->task_tracker_address);
	m->running_times         = i->running_times;
	m->gmt_create            = i->gmt_create;
	m->gmt_modified          = i->gmt_modified;
	m->last_report_time      = i->last_report_time;
	return (m);
}

static const char *
text(const char *s)
{
	return (s != NULL && s[0] != 0 ? s : NULL);
}

static void
copy_in(const int32_t *v, size_t n, int *out, int *nout)
{
	n = n > PJ_QUERY_IN_MAX ? PJ_QUERY_IN_MAX : n;
	for (size_t i = 0; i < n; i++) {
		out[i] = v[i];
	}
	*nout = (int) n;
}

void
pj_gw_job_query_from_pb(
    const Pj__Openapi__JobQuery *q, int64_t app_id, struct pj_job_query *o)
{
	memset(o, 0, sizeof(*o));
	o->app_id                   = app_id;
	o->has_id_eq                = q->has_id_eq;
	o->id_eq                    = q->id_eq;
	o->has_id_gt                = q->has_id_gt;
	o->id_gt                    = q->id_gt;
	o->has_id_lt                = q->has_id_lt;
	o->id_lt                    = q->id_lt;
	o->name_eq                  = text(q->job_name_eq);
	o->name_like                = text(q->job_name_like);
	o->description_like         = text(q->job_description_like);
	o->job_params_like          = text(q->job_params_like);
	o->processor_info_eq        = text(q->processor_info_eq);
	o->processor_info_like      = text(q->processor_info_like);
	o->notify_user_ids_like     = text(q->notify_user_ids_like);
	o->tag_eq                   = text(q->tag_eq);
	o->has_dispatch_strategy_eq = q->has_dispatch_strategy_eq;
	o->dispatch_strategy_eq     = q->dispatch_strategy_eq;
	copy_in(q->time_expression_type_in, q->n_time_expression_type_in,
	    o->time_expression_type_in, &o->n_time_expression_type_in);
	copy_in(q->execute_type_in, q->n_execute_type_in, o->execute_type_in,
	    &o->n_execute_type_in);
	copy_in(q->processor_type_in, q->n_processor_type_in,
	    o->processor_type_in, &o->n_processor_type_in);
	copy_in(q->status_in, q->n_status_in, o->status_in, &o->n_status_in);
	o->has_next_trigger_gt = q->has_next_trigger_time_gt;
	o->next_trigger_gt     = q->next_trigger_time_gt;
	o->has_next_trigger_lt = q->has_next_trigger_time_lt;
	o->next_trigger_lt     = q->next_trigger_time_lt;
	o->has_gmt_create_gt   = q->has_gmt_create_gt;
	o->gmt_create_gt       = q->gmt_create_gt;
	o->has_gmt_create_lt   = q->has_gmt_create_lt;
	o->gmt_create_lt       = q->gmt_create_lt;
	o->has_gmt_modified_gt = q->has_gmt_modified_gt;
	o->gmt_modified_gt     = q->gmt_modified_gt;
	o->has_gmt_modified_lt = q->has_gmt_modified_lt;
	o->gmt_modified_lt     = q->gmt_modified_lt;
	o->limit  = q->page_size > 0 ? q->page_size : PJ_GW_PAGE_DEFAULT;
	o->offset = (int64_t) q->index * o->limit;
}

void
pj_gw_instance_query_from_pb(const Pj__Openapi__InstanceQuery *q,
    int64_t app_id, struct pj_instance_query *o)
{
	memset(o, 0, sizeof(*o));
	o->app_id = app_id;
	o->job_id = q->job_id_eq;
	copy_in(q->status_in, q->n_status_in, o->status_in, &o->n_status_in);
	o->gmt_create_gt = q->gmt_create_gt;
	o->gmt_create_lt = q->gmt_create_lt;
	o->after_id      = q->after;
	/* with a gmt_create filter the store pages by (gmt_create, id) */
	o->after_gmt_create = q->after_gmt_create;
	o->newest_first     = q->newest_first ? 1 : 0;
	o->limit = q->page_size > 0 ? q->page_size : PJ_GW_PAGE_DEFAULT;
}
