/*
 * server/gateway/request.c - decode and validate OpenAPI requests (see
 * request.h).
 */
#include "server/gateway/request.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/alloc.h"
#include "server/store/store.h"
#include "server/timing/timing.h"

/* ---- arena ----------------------------------------------------------------
 */

struct pj_gw_blk {
	struct pj_gw_blk *next;
	max_align_t       data[];
};

void *
pj_gw_alloc(struct pj_gw_arena *a, size_t n)
{
	struct pj_gw_blk *b = ar_xcalloc(1, sizeof(*b) + n);
	b->next             = a->head;
	a->head             = b;
	return (b->data);
}

char *
pj_gw_strdup(struct pj_gw_arena *a, const char *s)
{
	size_t n = strlen(s ? s : "") + 1;
	char  *p = pj_gw_alloc(a, n);
	memcpy(p, s ? s : "", n);
	return (p);
}

void
pj_gw_arena_fini(struct pj_gw_arena *a)
{
	while (a->head != NULL) {
		struct pj_gw_blk *b = a->head;
		a->head             = b->next;
		free(b);
	}
}

/* ---- names ----------------------------------------------------------------
 */

const char *
pj_gw_op_name(int op)
{
	const ProtobufCFieldDescriptor *f
	    = protobuf_c_message_descriptor_get_field(
	        &pj__openapi__request__descriptor, (unsigned) op);
	return (op != 0 && f != NULL && f->id != 1 ? f->name : "none");
}

/* ---- decode ---------------------------------------------------------------
 */

Pj__Openapi__Request *
pj_gw_request_decode(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	Pj__Openapi__Request *r;
	if (len > PJ_GW_REQUEST_MAX) {
		snprintf(err, errlen,
		    "request: %zu bytes is over the limit of %u bytes", len,
		    PJ_GW_REQUEST_MAX);
		return (NULL);
	}
	if (len == 0) {
		snprintf(err, errlen,
		    "request: empty (expected a "
		    "pj.openapi.Request, proto/openapi.proto)");
		return (NULL);
	}
	if ((r = pj__openapi__request__unpack(NULL, len, buf)) == NULL) {
		snprintf(err, errlen,
		    "request: %zu bytes that do not decode as a "
		    "pj.openapi.Request (proto/openapi.proto)",
		    len);
		return (NULL);
	}
	if (r->op_case == PJ__OPENAPI__REQUEST__OP__NOT_SET) {
		snprintf(err, errlen,
		    "request: no operation (or one this server does not "
		    "know: a newer client?)");
		pj__openapi__request__free_unpacked(r, NULL);
		return (NULL);
	}
	return (r);
}

void
pj_gw_request_free(Pj__Openapi__Request *r)
{
	if (r != NULL) {
		pj__openapi__request__free_unpacked(r, NULL);
	}
}

/* ---- validation ------------------------------------------------------------
 */

#define BAD PJ__OPENAPI__CODE__INVALID_REQUEST
#define RANGE PJ__OPENAPI__CODE__ILLEGAL_ARGS

static int
fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return (code);
}

static int
check_text(const char *v, size_t max, const char *prefix, const char *field,
    char *err, size_t errlen)
{
	size_t n = strlen(v ? v : "");
	if (n > max) {
		return fail(RANGE, err, errlen,
		    "%s.%s: %zu bytes, at most %zu", prefix, field, n, max);
	}
	return (0);
}

static int
check_id(
    int64_t id, const char *op, const char *field, char *err, size_t errlen)
{
	if (id <= 0) {
		return fail(BAD, err, errlen, "%s.%s: required (an id > 0)",
		    op, field);
	}
	return (0);
}

static int
check_range(int64_t v, int64_t lo, int64_t hi, const char *prefix,
    const char *field, char *err, size_t errlen)
{
	if (v < lo || v > hi) {
		return fail(RANGE, err, errlen,
		    "%s.%s: %lld is out of range %lld..%lld", prefix, field,
		    (long long) v, (long long) lo, (long long) hi);
	}
	return (0);
}

static bool
one_of(int v, const int *set, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (set[i] == v) {
			return (true);
		}
	}
	return (false);
}

static const int time_types[]  = { 1, 2, 3, 4, 5, 11 };
static const int inst_status[] = { 1, 2, 3, 4, 5, 9, 10 };

static int
check_in(const int32_t *v, size_t n, const int *set, size_t nset,
    const char *prefix, const char *field, char *err, size_t errlen)
{
	if (n > PJ_QUERY_IN_MAX) {
		return fail(RANGE, err, errlen,
		    "%s.%s: %zu values, at most %d", prefix, field, n,
		    PJ_QUERY_IN_MAX);
	}
	for (size_t i = 0; set != NULL && i < n; i++) {
		if (!one_of(v[i], set, nset)) {
			return fail(RANGE, err, errlen,
			    "%s.%s: %d is not a known code", prefix, field,
			    v[i]);
		}
	}
	return (0);
}

int
pj_gw_job_validate(const Pj__Openapi__JobInfo *j, const char *p,
    int64_t now_ms, char *err, size_t errlen)
{
	static const int exec_types[] = { 1, 2, 3, 4 };
	static const int proc_types[] = { 1, 2, 3, 4 };
	static const int strategies[] = { 0, 1, 2, 11 };
	const struct {
		const char *name, *v;
		size_t      max;
	} texts[] = {
		{ "job_description", j->job_description, PJ_STORE_TEXT_MAX },
		{ "job_params", j->job_params, PJ_STORE_LONGTEXT_MAX },
		{ "processor_info", j->processor_info, PJ_STORE_TEXT_MAX },
		{ "designated_workers", j->designated_workers,
		    PJ_STORE_TEXT_MAX },
		{ "notify_user_ids", j->notify_user_ids, PJ_STORE_TEXT_MAX },
		{ "extra", j->extra, PJ_STORE_TEXT_MAX },
		{ "dispatch_strategy_config", j->dispatch_strategy_config,
		    PJ_STORE_TEXT_MAX },
		{ "alarm_config", j->alarm_config, PJ_STORE_TEXT_MAX },
		{ "log_config", j->log_config, PJ_STORE_TEXT_MAX },
		{ "advanced_runtime_config", j->advanced_runtime_config,
		    PJ_STORE_TEXT_MAX },
		{ "tag", j->tag, PJ_STORE_NAME_MAX },
		{ "time_zone", j->time_zone, PJ_STORE_ZONE_MAX },
	};
	char         terr[PJ_TIMING_ERR_MAX];
	pj_timing    t;
	pj_lifecycle lc;
	int          rv;

	if (j->id < 0) {
		return fail(RANGE, err, errlen, "%s.id: %lld is negative", p,
		    (long long) j->id);
	}
	if (j->job_name[0] == 0) {
		return fail(BAD, err, errlen, "%s.job_name: required", p);
	}
	if ((rv = check_text(
	         j->job_name, PJ_STORE_NAME_MAX, p, "job_name", err, errlen))
	    != 0) {
		return (rv);
	}
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if ((rv = check_text(texts[i].v, texts[i].max, p,
		         texts[i].name, err, errlen))
		    != 0) {
			return (rv);
		}
	}
	if (!one_of(j->time_expression_type, time_types, 6)) {
		return fail(RANGE, err, errlen,
		    "%s.time_expression_type: %d is not one of API=1, CRON=2, "
		    "FIXED_RATE=3, FIXED_DELAY=4, WORKFLOW=5, "
		    "DAILY_TIME_INTERVAL=11",
		    p, j->time_expression_type);
	}
	if (!one_of(j->execute_type, exec_types, 4)) {
		return fail(RANGE, err, errlen,
		    "%s.execute_type: %d is not one of STANDALONE=1, "
		    "BROADCAST=2, MAP_REDUCE=3, MAP=4",
		    p, j->execute_type);
	}
	if (!one_of(j->processor_type, proc_types, 4)) {
		return fail(RANGE, err, errlen,
		    "%s.processor_type: %d is not one of BUILT_IN=1, SHELL=2, "
		    "PYTHON=3, EXTERNAL=4",
		    p, j->processor_type);
	}
	if (j->processor_info[0] == 0) {
		return fail(
		    BAD, err, errlen, "%s.processor_info: required", p);
	}
	if (!one_of(j->dispatch_strategy, strategies, 4)) {
		return fail(RANGE, err, errlen,
		    "%s.dispatch_strategy: %d is not one of HEALTH_FIRST=1, "
		    "RANDOM=2, SPECIFY=11",
		    p, j->dispatch_strategy);
	}
	if ((rv = check_range(
	         j->misfire_policy, 0, 2, p, "misfire_policy", err, errlen))
	        != 0
	    || (rv = check_range(j->max_instance_num, 0, 1000000, p,
	            "max_instance_num", err, errlen))
	        != 0
	    || (rv = check_range(
	            j->concurrency, 0, 100000, p, "concurrency", err, errlen))
	        != 0
	    || (rv = check_range(j->instance_time_limit, 0, INT64_MAX / 2, p,
	            "instance_time_limit", err, errlen))
	        != 0
	    || (rv = check_range(j->instance_retry_num, 0, 1000, p,
	            "instance_retry_num", err, errlen))
	        != 0
	    || (rv = check_range(j->task_retry_num, 0, 1000, p,
	            "task_retry_num", err, errlen))
	        != 0
	    || (rv = check_range(j->max_worker_count, 0, 1000000, p,
	            "max_worker_count", err, errlen))
	        != 0) {
		return (rv);
	}
	const struct {
		const char *name;
		double      v;
	} dbl[] = { { "min_cpu_cores", j->min_cpu_cores },
		{ "min_memory_space", j->min_memory_space },
		{ "min_disk_space", j->min_disk_space } };
	for (size_t i = 0; i < 3; i++) {
		if (!isfinite(dbl[i].v) || dbl[i].v < 0) {
			return fail(RANGE, err, errlen,
			    "%s.%s: must be a finite number >= 0", p,
			    dbl[i].name);
		}
	}
	if (pj_timing_init(&t, (pj_time_type) j->time_expression_type,
	        j->time_expression, j->time_zone, 0, terr, sizeof(terr))
	    != 0) {
		return fail(
		    RANGE, err, errlen, "%s.time_expression: %s", p, terr);
	}
	if (pj_lifecycle_parse(j->lifecycle, &lc, terr, sizeof(terr)) != 0
	    || ((lc.start_ms != 0 || lc.end_ms != 0)
	        && pj_lifecycle_validate(&lc, now_ms, terr, sizeof(terr))
	            != 0)) {
		return fail(RANGE, err, errlen, "%s.lifecycle: %s", p, terr);
	}
	return (0);
}

int
pj_gw_request_validate(
    const Pj__Openapi__Request *r, int64_t now_ms, char *err, size_t errlen)
{
	const char *op = pj_gw_op_name(r->op_case);
	int         rv;

	if (r->auth != NULL
	    && ((rv = check_text(r->auth->app_name, PJ_STORE_NAME_MAX, "auth",
	             "app_name", err, errlen))
	            != 0
	        || (rv = check_text(r->auth->secret, PJ_GW_SECRET_MAX, "auth",
	                "secret", err, errlen))
	            != 0
	        || (rv = check_text(
	                r->auth->token, 256, "auth", "token", err, errlen))
	            != 0)) {
		return (rv);
	}
	switch (r->op_case) {
	case PJ__OPENAPI__REQUEST__OP_APP_REGISTER: {
		const Pj__Openapi__AppRegister *a = r->app_register;
		if (a->app_name[0] == 0) {
			return fail(BAD, err, errlen,
			    "app_register.app_name: required");
		}
		for (const char *c = a->app_name; *c; c++) {
			if (!((*c >= 'a' && *c <= 'z')
			        || (*c >= 'A' && *c <= 'Z')
			        || (*c >= '0' && *c <= '9') || *c == '_'
			        || *c == '-' || *c == '.')) {
				return fail(RANGE, err, errlen,
				    "app_register.app_name: only letters, "
				    "digits, '_', '-' and '.'");
			}
		}
		if (a->secret[0] == 0) {
			return fail(
			    BAD, err, errlen, "app_register.secret: required");
		}
		if ((rv = check_text(a->app_name, PJ_STORE_NAME_MAX, op,
		         "app_name", err, errlen))
		        != 0
		    || (rv = check_text(a->secret, PJ_GW_SECRET_MAX, op,
		            "secret", err, errlen))
		        != 0
		    || (rv = check_text(a->title, PJ_STORE_NAME_MAX, op,
		            "title", err, errlen))
		        != 0) {
			return (rv);
		}
		return (0);
	}
	case PJ__OPENAPI__REQUEST__OP_APP_AUTH:
		return check_range(r->app_auth->ttl_ms, 0, INT64_MAX / 4, op,
		    "ttl_ms", err, errlen);
	case PJ__OPENAPI__REQUEST__OP_JOB_SAVE:
		if (r->job_save->job == NULL) {
			return fail(
			    BAD, err, errlen, "job_save.job: required");
		}
		return pj_gw_job_validate(
		    r->job_save->job, "job_save.job", now_ms, err, errlen);
	case PJ__OPENAPI__REQUEST__OP_JOB_COPY:
		return check_id(
		    r->job_copy->job_id, op, "job_id", err, errlen);
	case PJ__OPENAPI__REQUEST__OP_JOB_EXPORT:
		return check_id(
		    r->job_export->job_id, op, "job_id", err, errlen);
	case PJ__OPENAPI__REQUEST__OP_JOB_FETCH:
		return check_id(
		    r->job_fetch->job_id, op, "job_id", err, errlen);
	case PJ__OPENAPI__REQUEST__OP_JOB_FETCH_ALL:
		return (0);
	case PJ__OPENAPI__REQUEST__OP_JOB_ENABLE:
		return check_id(
		    r->job_enable->job_id, op, "job_id", err, errlen);
	case PJ__OPENAPI__REQUEST__OP_JOB_DISABLE:
		return check_id(
		    r->job_disable->job_id, op, "job_id", err, errlen);
	case PJ__OPENAPI__REQUEST__OP_JOB_DELETE:
		return check_id(
		    r->job_delete->job_id, op, "job_id", err, errlen);
	case PJ__OPENAPI__REQUEST__OP_JOB_RUN:
		if ((rv = check_id(
		         r->job_run->job_id, op, "job_id", err, errlen))
		        != 0
		    || (rv = check_range(r->job_run->delay_ms, 0,
		            PJ_GW_DELAY_MAX_MS, op, "delay_ms", err, errlen))
		        != 0) {
			return (rv);
		}
		return check_text(r->job_run->instance_params,
		    PJ_STORE_LONGTEXT_MAX, op, "instance_params", err, errlen);
	case PJ__OPENAPI__REQUEST__OP_JOB_QUERY: {
		const Pj__Openapi__JobQuery *q = r->job_query;
		const char *likes[] = { q->job_name_eq, q->job_name_like,
			q->job_description_like, q->job_params_like,
			q->processor_info_eq, q->processor_info_like,
			q->notify_user_ids_like, q->tag_eq };
		for (size_t i = 0; i < sizeof(likes) / sizeof(likes[0]); i++) {
			if ((rv = check_text(likes[i], PJ_STORE_TEXT_MAX, op,
			         "text condition", err, errlen))
			    != 0) {
				return (rv);
			}
		}
		if ((rv = check_in(q->time_expression_type_in,
		         q->n_time_expression_type_in, time_types, 6, op,
		         "time_expression_type_in", err, errlen))
		        != 0
		    || (rv = check_in(q->execute_type_in, q->n_execute_type_in,
		            NULL, 0, op, "execute_type_in", err, errlen))
		        != 0
		    || (rv = check_in(q->processor_type_in,
		            q->n_processor_type_in, NULL, 0, op,
		            "processor_type_in", err, errlen))
		        != 0
		    || (rv = check_in(q->status_in, q->n_status_in, NULL, 0,
		            op, "status_in", err, errlen))
		        != 0
		    || (rv = check_range(
		            q->index, 0, 1000000, op, "index", err, errlen))
		        != 0
		    || (rv = check_range(q->page_size, 0, PJ_GW_PAGE_MAX, op,
		            "page_size", err, errlen))
		        != 0) {
			return (rv);
		}
		return (0);
	}
	case PJ__OPENAPI__REQUEST__OP_TIME_PREVIEW: {
		const Pj__Openapi__TimePreview *t = r->time_preview;
		char                            terr[PJ_TIMING_ERR_MAX];
		pj_timing                       tm;
		pj_lifecycle                    lc;
		if ((rv = check_range(t->count, 0, PJ_GW_PREVIEW_MAX, op,
		         "count", err, errlen))
		        != 0
		    || (rv = check_range(t->from_ms, 0, PJ_LIFECYCLE_MAX_MS,
		            op, "from_ms", err, errlen))
		        != 0
		    || (rv = check_range(t->job_id, 0, INT64_MAX, op, "job_id",
		            err, errlen))
		        != 0) {
			return (rv);
		}
		if (t->job_id > 0) {
			return (0);
		}
		if (!one_of(t->time_expression_type, time_types, 6)) {
			return fail(RANGE, err, errlen,
			    "time_preview.time_expression_type: %d is not a "
			    "time expression type (2 CRON, 3 FIXED_RATE, 11 "
			    "DAILY_TIME_INTERVAL, ...)",
			    t->time_expression_type);
		}
		if ((rv = check_text(t->time_expression,
		         PJ_TIME_EXPRESSION_MAX_LEN, op, "time_expression",
		         err, errlen))
		        != 0
		    || (rv = check_text(t->time_zone, PJ_STORE_ZONE_MAX, op,
		            "time_zone", err, errlen))
		        != 0) {
			return (rv);
		}
		if (pj_timing_init(&tm, (pj_time_type) t->time_expression_type,
		        t->time_expression, t->time_zone, 0, terr,
		        sizeof(terr))
		    != 0) {
			return fail(RANGE, err, errlen,
			    "time_preview.time_expression: %s", terr);
		}
		if (pj_lifecycle_parse(t->lifecycle, &lc, terr, sizeof(terr))
		    != 0) {
			return fail(RANGE, err, errlen,
			    "time_preview.lifecycle: %s", terr);
		}
		return (0);
	}
	case PJ__OPENAPI__REQUEST__OP_INSTANCE_STATUS:
		return check_id(r->instance_status->instance_id, op,
		    "instance_id", err, errlen);
	case PJ__OPENAPI__REQUEST__OP_INSTANCE_DETAIL:
		return check_id(r->instance_detail->instance_id, op,
		    "instance_id", err, errlen);
	case PJ__OPENAPI__REQUEST__OP_INSTANCE_STOP:
		return check_id(r->instance_stop->instance_id, op,
		    "instance_id", err, errlen);
	case PJ__OPENAPI__REQUEST__OP_INSTANCE_CANCEL:
		return check_id(r->instance_cancel->instance_id, op,
		    "instance_id", err, errlen);
	case PJ__OPENAPI__REQUEST__OP_INSTANCE_RETRY:
		return check_id(r->instance_retry->instance_id, op,
		    "instance_id", err, errlen);
	case PJ__OPENAPI__REQUEST__OP_INSTANCE_QUERY: {
		const Pj__Openapi__InstanceQuery *q = r->instance_query;
		if ((rv = check_in(q->status_in, q->n_status_in, inst_status,
		         7, op, "status_in", err, errlen))
		        != 0
		    || (rv = check_range(q->page_size, 0, PJ_GW_PAGE_MAX, op,
		            "page_size", err, errlen))
		        != 0
		    || (rv = check_range(
		            q->after, 0, INT64_MAX, op, "after", err, errlen))
		        != 0
		    || (rv = check_range(q->after_gmt_create, 0, INT64_MAX, op,
		            "after_gmt_create", err, errlen))
		        != 0
		    || (rv = check_range(q->instance_id_eq, 0, INT64_MAX, op,
		            "instance_id_eq", err, errlen))
		        != 0
		    || (rv = check_range(q->job_id_eq, 0, INT64_MAX, op,
		            "job_id_eq", err, errlen))
		        != 0) {
			return (rv);
		}
		return (0);
	}
	case PJ__OPENAPI__REQUEST__OP_INSTANCE_LOG:
		if ((rv = check_id(r->instance_log->instance_id, op,
		         "instance_id", err, errlen))
		    != 0) {
			return (rv);
		}
		return check_range(r->instance_log->limit, 0, PJ_GW_PAGE_MAX,
		    op, "limit", err, errlen);
	case PJ__OPENAPI__REQUEST__OP_INSTANCE_LOG_ALL:
		return check_id(r->instance_log_all->instance_id, op,
		    "instance_id", err, errlen);
	case PJ__OPENAPI__REQUEST__OP_WORKER_LIST:
		return (0);
	default:
		return fail(BAD, err, errlen, "request: unknown operation %d",
		    (int) r->op_case);
	}
}
