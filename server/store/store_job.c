/*
 * server/store_job.c - job_info: save, get, status, next trigger time, the
 * multi-condition query and the schedule pass's "due" selection.
 *
 * Design notes
 * ------------
 * Kept from PowerJob (§4, §9.4): the columns and their meaning, soft delete
 * as status 99, the JobInfoQuery conditions (id eq/gt/lt, name eq/like,
 * description like, type/execute/processor/status IN lists, processor info
 * eq/like, next trigger gt/lt, notify user ids like, created/modified
 * gt/lt, paging and sort), and the schedule pass's selection
 * (app_id IN owned apps, status = ENABLE, type IN (CRON, DAILY), next
 * trigger <= now + look-ahead) served by idx01_job_info.
 * Changed: the query's SQL is assembled only from fixed fragments chosen by
 * which conditions are set; every value is a bound parameter. Paging can be
 * keyset (after_id) so pages never skip or repeat while jobs are added;
 * offset paging is kept for the OpenAPI's page index. time_zone and
 * misfire_policy columns are new.
 * OOM policy: ar_xmalloc aborts.
 */
#include <stdlib.h>
#include <string.h>

#include "server/store/store_impl.h"

#define JOB_QUERY_LIMIT_MAX 1000
#define JOB_QUERY_LIMIT_DEFAULT 10

#define JOB_COLS                                                              \
	"app_id, job_name, job_description, job_params, "                     \
	"time_expression_type, time_expression, time_zone, "                  \
	"misfire_policy, execute_type, processor_type, processor_info, "      \
	"max_instance_num, concurrency, instance_time_limit, "                \
	"instance_retry_num, task_retry_num, status, next_trigger_time, "     \
	"min_cpu_cores, min_memory_space, min_disk_space, "                   \
	"designated_workers, max_worker_count, notify_user_ids, extra, "      \
	"dispatch_strategy, dispatch_strategy_config, lifecycle, "            \
	"alarm_config, tag, log_config, advanced_runtime_config"
#define JOB_NCOLS 32
#define JOB_SELECT                                                            \
	"SELECT id, gmt_create, gmt_modified, " JOB_COLS " FROM job_info "

static void
job_bind(const struct pj_job *j, struct pj_val *p)
{
	int i  = 0;
	p[i++] = pj_p_int(j->app_id);
	p[i++] = pj_p_text(j->job_name);
	p[i++] = pj_p_text(j->job_description);
	p[i++] = pj_p_text(j->job_params);
	p[i++] = pj_p_int(j->time_expression_type);
	p[i++] = pj_p_text(j->time_expression);
	p[i++] = pj_p_text(j->time_zone);
	p[i++] = pj_p_int(j->misfire_policy);
	p[i++] = pj_p_int(j->execute_type);
	p[i++] = pj_p_int(j->processor_type);
	p[i++] = pj_p_text(j->processor_info);
	p[i++] = pj_p_int(j->max_instance_num);
	p[i++] = pj_p_int(j->concurrency);
	p[i++] = pj_p_int(j->instance_time_limit);
	p[i++] = pj_p_int(j->instance_retry_num);
	p[i++] = pj_p_int(j->task_retry_num);
	p[i++] = pj_p_int(j->status ? j->status : PJ_STATUS_ENABLE);
	p[i++] = pj_p_int_or_null(j->next_trigger_time);
	p[i++] = pj_p_dbl(j->min_cpu_cores);
	p[i++] = pj_p_dbl(j->min_memory_space);
	p[i++] = pj_p_dbl(j->min_disk_space);
	p[i++] = pj_p_text(j->designated_workers);
	p[i++] = pj_p_int(j->max_worker_count);
	p[i++] = pj_p_text(j->notify_user_ids);
	p[i++] = pj_p_text(j->extra);
	p[i++] = pj_p_int(j->dispatch_strategy ? j->dispatch_strategy : 1);
	p[i++] = pj_p_text(j->dispatch_strategy_config);
	p[i++] = pj_p_text(j->lifecycle);
	p[i++] = pj_p_text(j->alarm_config);
	p[i++] = pj_p_text(j->tag);
	p[i++] = pj_p_text(j->log_config);
	p[i++] = pj_p_text(j->advanced_runtime_config);
}

static void
job_read(struct pj_job *j, const struct pj_val *c)
{
	int i                       = 0;
	j->id                       = pj_c_i64(&c[i++]);
	j->gmt_create               = pj_c_i64(&c[i++]);
	j->gmt_modified             = pj_c_i64(&c[i++]);
	j->app_id                   = pj_c_i64(&c[i++]);
	j->job_name                 = pj_c_str(&c[i++]);
	j->job_description          = pj_c_str(&c[i++]);
	j->job_params               = pj_c_str(&c[i++]);
	j->time_expression_type     = (int) pj_c_i64(&c[i++]);
	j->time_expression          = pj_c_str(&c[i++]);
	j->time_zone                = pj_c_str(&c[i++]);
	j->misfire_policy           = (int) pj_c_i64(&c[i++]);
	j->execute_type             = (int) pj_c_i64(&c[i++]);
	j->processor_type           = (int) pj_c_i64(&c[i++]);
	j->processor_info           = pj_c_str(&c[i++]);
	j->max_instance_num         = (int) pj_c_i64(&c[i++]);
	j->concurrency              = (int) pj_c_i64(&c[i++]);
	j->instance_time_limit      = pj_c_i64(&c[i++]);
	j->instance_retry_num       = (int) pj_c_i64(&c[i++]);
	j->task_retry_num           = (int) pj_c_i64(&c[i++]);
	j->status                   = (int) pj_c_i64(&c[i++]);
	j->next_trigger_time        = pj_c_i64(&c[i++]);
	j->min_cpu_cores            = pj_c_dbl(&c[i++]);
	j->min_memory_space         = pj_c_dbl(&c[i++]);
	j->min_disk_space           = pj_c_dbl(&c[i++]);
	j->designated_workers       = pj_c_str(&c[i++]);
	j->max_worker_count         = (int) pj_c_i64(&c[i++]);
	j->notify_user_ids          = pj_c_str(&c[i++]);
	j->extra                    = pj_c_str(&c[i++]);
	j->dispatch_strategy        = (int) pj_c_i64(&c[i++]);
	j->dispatch_strategy_config = pj_c_str(&c[i++]);
	j->lifecycle                = pj_c_str(&c[i++]);
	j->alarm_config             = pj_c_str(&c[i++]);
	j->tag                      = pj_c_str(&c[i++]);
	j->log_config               = pj_c_str(&c[i++]);
	j->advanced_runtime_config  = pj_c_str(&c[i++]);
}

void
pj_job_fini(struct pj_job *j)
{
	char **strs[] = { &j->job_name, &j->job_description, &j->job_params,
		&j->time_expression, &j->time_zone, &j->processor_info,
		&j->designated_workers, &j->notify_user_ids, &j->extra,
		&j->dispatch_strategy_config, &j->lifecycle, &j->alarm_config,
		&j->tag, &j->log_config, &j->advanced_runtime_config };
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	memset(j, 0, sizeof(*j));
}

static int
job_list_row(void *arg, const struct pj_val *c, int n)
{
	struct pj_job_list *l = arg;
	(void) n;
	l->v = ar_xrealloc(l->v, sizeof(*l->v) * (l->n + 1));
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	job_read(&l->v[l->n++], c);
	return 0;
}

void
pj_job_list_fini(struct pj_job_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		pj_job_fini(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
job_check(struct pj_store *s, const struct pj_job *j)
{
	const struct pj_field_check f[] = {
		{ "job_name", j->job_name, PJ_F_NAME },
		{ "job_description", j->job_description, PJ_F_TEXT },
		{ "job_params", j->job_params, PJ_F_LONGTEXT },
		{ "time_expression", j->time_expression, PJ_F_TEXT },
		{ "time_zone", j->time_zone, PJ_F_ZONE },
		{ "processor_info", j->processor_info, PJ_F_TEXT },
		{ "designated_workers", j->designated_workers, PJ_F_TEXT },
		{ "notify_user_ids", j->notify_user_ids, PJ_F_TEXT },
		{ "extra", j->extra, PJ_F_TEXT },
		{ "dispatch_strategy_config", j->dispatch_strategy_config,
		    PJ_F_TEXT },
		{ "lifecycle", j->lifecycle, PJ_F_TEXT },
		{ "alarm_config", j->alarm_config, PJ_F_TEXT },
		{ "tag", j->tag, PJ_F_NAME },
		{ "log_config", j->log_config, PJ_F_TEXT },
		{ "advanced_runtime_config", j->advanced_runtime_config,
		    PJ_F_TEXT },
	};
	int rv = pj_check_fields(s, "job_info", f, sizeof(f) / sizeof(f[0]));
	if (rv == 0)
		rv = pj_check_double(
		    s, "job_info", "min_cpu_cores", j->min_cpu_cores);
	if (rv == 0)
		rv = pj_check_double(
		    s, "job_info", "min_memory_space", j->min_memory_space);
	if (rv == 0)
		rv = pj_check_double(
		    s, "job_info", "min_disk_space", j->min_disk_space);
	return rv;
}

int
pj_store_job_save(
    struct pj_store *s, const struct pj_job *j, int64_t now_ms, int64_t *id)
{
	struct pj_val p[JOB_NCOLS + 3];
	int64_t       n = 0;
	int           rv;

	if (j->job_name == NULL || j->job_name[0] == 0 || j->app_id <= 0)
		return pj_store_fail(s, PJ_STORE_EINVAL,
		    "job_info: a job needs an app id and a name");
	if ((rv = job_check(s, j)) != 0)
		return rv;
	job_bind(j, p);
	if (j->id == 0) {
		p[JOB_NCOLS]     = pj_p_int(now_ms);
		p[JOB_NCOLS + 1] = pj_p_int(now_ms);
		int64_t nid      = 0;
		rv               = pj_sq_insert_id(s, "job_info",
		                  "INSERT INTO job_info (" JOB_COLS ", gmt_create, "
		                                "gmt_modified) VALUES "
		                                "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
		                                "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		                  p, JOB_NCOLS + 2, &nid);
		if (rv == 0 && id)
			*id = nid;
		return rv;
	}
	p[JOB_NCOLS]     = pj_p_int(now_ms);
	p[JOB_NCOLS + 1] = pj_p_int(j->id);
	rv               = pj_sq_exec(s, NULL, PJ_Q_SAFE, "job_info", j->id,
	                  "UPDATE job_info SET app_id = ?, job_name = ?, job_description = "
	                                "?, "
	                                "job_params = ?, time_expression_type = ?, time_expression = ?, "
	                                "time_zone = ?, misfire_policy = ?, execute_type = ?, "
	                                "processor_type = ?, processor_info = ?, max_instance_num = ?, "
	                                "concurrency = ?, instance_time_limit = ?, instance_retry_num = "
	                                "?, "
	                                "task_retry_num = ?, status = ?, next_trigger_time = ?, "
	                                "min_cpu_cores = ?, min_memory_space = ?, min_disk_space = ?, "
	                                "designated_workers = ?, max_worker_count = ?, notify_user_ids = "
	                                "?, "
	                                "extra = ?, dispatch_strategy = ?, dispatch_strategy_config = ?, "
	                                "lifecycle = ?, alarm_config = ?, tag = ?, log_config = ?, "
	                                "advanced_runtime_config = ?, gmt_modified = ? WHERE id = ?",
	                  p, JOB_NCOLS + 2, NULL, NULL, &n);
	if (rv == 0 && n == 0)
		rv = pj_store_fail(s, PJ_STORE_ENOTFOUND,
		    "job_info (id %lld): no such job to update",
		    (long long) j->id);
	if (rv == 0 && id)
		*id = j->id;
	return rv;
}

int
pj_store_job_get(struct pj_store *s, int64_t id, struct pj_job *j)
{
	struct pj_job_list l  = { 0 };
	struct pj_val      p  = pj_p_int(id);
	int                rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "job_info", id,
	                   JOB_SELECT "WHERE id = ?", &p, 1, job_list_row, &l, NULL);
	memset(j, 0, sizeof(*j));
	if (rv == 0 && l.n == 0)
		rv = pj_store_fail(s, PJ_STORE_ENOTFOUND,
		    "job_info (id %lld): no such job", (long long) id);
	if (rv == 0) {
		*j  = l.v[0];
		l.n = 0;
	}
	pj_job_list_fini(&l);
	return rv;
}

static int
job_update(
    struct pj_store *s, int64_t id, const char *sql, struct pj_val *p, int np)
{
	int64_t n  = 0;
	int     rv = pj_sq_exec(
	        s, NULL, PJ_Q_SAFE, "job_info", id, sql, p, np, NULL, NULL, &n);
	if (rv == 0 && n == 0)
		rv = pj_store_fail(s, PJ_STORE_ENOTFOUND,
		    "job_info (id %lld): no such job", (long long) id);
	return rv;
}

int
pj_store_job_set_status(
    struct pj_store *s, int64_t id, int status, int64_t now_ms)
{
	if (status != PJ_STATUS_ENABLE && status != PJ_STATUS_DISABLE
	    && status != PJ_STATUS_DELETED)
		return pj_store_fail(s, PJ_STORE_EINVAL,
		    "job_info (id %lld): status %d is not 1, 2 or 99",
		    (long long) id, status);
	struct pj_val p[3]
	    = { pj_p_int(status), pj_p_int(now_ms), pj_p_int(id) };
	return job_update(s, id,
	    "UPDATE job_info SET status = ?, gmt_modified = ? WHERE id = ?", p,
	    3);
}

int
pj_store_job_set_next_trigger(
    struct pj_store *s, int64_t id, int64_t next_ms, int64_t now_ms)
{
	struct pj_val p[3]
	    = { pj_p_int_or_null(next_ms), pj_p_int(now_ms), pj_p_int(id) };
	return job_update(s, id,
	    "UPDATE job_info SET next_trigger_time = ?, gmt_modified = ? "
	    "WHERE id = ?",
	    p, 3);
}

static void
add_in(struct pj_sql *q, struct pj_params *pp, const char *col, const int *v,
    int n)
{
	pj_sql_addf(q, " AND %s IN ", col);
	pj_sql_marks(q, (size_t) n);
	for (int i = 0; i < n; i++)
		pj_params_add(pp, pj_p_int(v[i]));
}

static void
add_cmp(
    struct pj_sql *q, struct pj_params *pp, const char *cond, struct pj_val v)
{
	pj_sql_add(q, " AND ");
	pj_sql_add(q, cond);
	pj_params_add(pp, v);
}

int
pj_store_job_query(
    struct pj_store *s, const struct pj_job_query *qq, struct pj_job_list *out)
{
	static const char *sort_cols[] = { "id", "gmt_create", "gmt_modified",
		"next_trigger_time", "job_name" };
	struct pj_sql      q           = { 0 };
	struct pj_params   pp          = { 0 };
	int limit = qq->limit ? qq->limit : JOB_QUERY_LIMIT_DEFAULT;
	int rv;

	memset(out, 0, sizeof(*out));
	if (limit < 1 || limit > JOB_QUERY_LIMIT_MAX || qq->offset < 0
	    || (unsigned) qq->sort >= sizeof(sort_cols) / sizeof(sort_cols[0])
	    || qq->n_time_expression_type_in > PJ_QUERY_IN_MAX
	    || qq->n_execute_type_in > PJ_QUERY_IN_MAX
	    || qq->n_processor_type_in > PJ_QUERY_IN_MAX
	    || qq->n_status_in > PJ_QUERY_IN_MAX
	    || (qq->after_id > 0 && (qq->desc || qq->sort != PJ_JOB_SORT_ID)))
		return pj_store_fail(s, PJ_STORE_EINVAL,
		    "job_info query: limit must be 1..%d, IN lists at most "
		    "%d, "
		    "a known sort; keyset paging (after_id) only with "
		    "ascending id order",
		    JOB_QUERY_LIMIT_MAX, PJ_QUERY_IN_MAX);
	const struct pj_field_check eq[] = {
		{ "job_name", qq->name_eq, PJ_F_NAME },
		{ "processor_info", qq->processor_info_eq, PJ_F_TEXT },
		{ "tag", qq->tag_eq, PJ_F_NAME },
	};
	const struct pj_field_check like[] = {
		{ "job_name", qq->name_like, 0 },
		{ "job_description", qq->description_like, 0 },
		{ "processor_info", qq->processor_info_like, 0 },
		{ "notify_user_ids", qq->notify_user_ids_like, 0 },
		{ "job_params", qq->job_params_like, 0 },
	};
	if ((rv = pj_check_fields(s, "job_info", eq, 3)) != 0)
		return rv;
	for (size_t i = 0; i < sizeof(like) / sizeof(like[0]); i++)
		if ((rv = pj_check_like(
		         s, "job_info", like[i].field, like[i].v))
		    != 0)
			return rv;
	pj_sql_add(&q, JOB_SELECT "WHERE app_id = ?");
	pj_params_add(&pp, pj_p_int(qq->app_id));
	if (qq->has_id_eq)
		add_cmp(&q, &pp, "id = ?", pj_p_int(qq->id_eq));
	if (qq->has_id_gt)
		add_cmp(&q, &pp, "id > ?", pj_p_int(qq->id_gt));
	if (qq->has_id_lt)
		add_cmp(&q, &pp, "id < ?", pj_p_int(qq->id_lt));
	if (qq->after_id > 0)
		add_cmp(&q, &pp, "id > ?", pj_p_int(qq->after_id));
	if (qq->name_eq)
		add_cmp(&q, &pp, "job_name = ?", pj_p_text(qq->name_eq));
	if (qq->name_like)
		add_cmp(&q, &pp, "job_name LIKE ? ESCAPE '!'",
		    pj_p_text(qq->name_like));
	if (qq->description_like)
		add_cmp(&q, &pp, "job_description LIKE ? ESCAPE '!'",
		    pj_p_text(qq->description_like));
	if (qq->processor_info_eq)
		add_cmp(&q, &pp, "processor_info = ?",
		    pj_p_text(qq->processor_info_eq));
	if (qq->processor_info_like)
		add_cmp(&q, &pp, "processor_info LIKE ? ESCAPE '!'",
		    pj_p_text(qq->processor_info_like));
	if (qq->notify_user_ids_like)
		add_cmp(&q, &pp, "notify_user_ids LIKE ? ESCAPE '!'",
		    pj_p_text(qq->notify_user_ids_like));
	if (qq->job_params_like)
		add_cmp(&q, &pp, "job_params LIKE ? ESCAPE '!'",
		    pj_p_text(qq->job_params_like));
	if (qq->tag_eq)
		add_cmp(&q, &pp, "tag = ?", pj_p_text(qq->tag_eq));
	if (qq->has_dispatch_strategy_eq)
		add_cmp(&q, &pp, "dispatch_strategy = ?",
		    pj_p_int(qq->dispatch_strategy_eq));
	if (qq->n_time_expression_type_in > 0)
		add_in(&q, &pp, "time_expression_type",
		    qq->time_expression_type_in,
		    qq->n_time_expression_type_in);
	if (qq->n_execute_type_in > 0)
		add_in(&q, &pp, "execute_type", qq->execute_type_in,
		    qq->n_execute_type_in);
	if (qq->n_processor_type_in > 0)
		add_in(&q, &pp, "processor_type", qq->processor_type_in,
		    qq->n_processor_type_in);
	if (qq->n_status_in > 0)
		add_in(&q, &pp, "status", qq->status_in, qq->n_status_in);
	if (qq->has_next_trigger_gt)
		add_cmp(&q, &pp, "next_trigger_time > ?",
		    pj_p_int(qq->next_trigger_gt));
	if (qq->has_next_trigger_lt)
		add_cmp(&q, &pp, "next_trigger_time < ?",
		    pj_p_int(qq->next_trigger_lt));
	if (qq->has_gmt_create_gt)
		add_cmp(
		    &q, &pp, "gmt_create > ?", pj_p_int(qq->gmt_create_gt));
	if (qq->has_gmt_create_lt)
		add_cmp(
		    &q, &pp, "gmt_create < ?", pj_p_int(qq->gmt_create_lt));
	if (qq->has_gmt_modified_gt)
		add_cmp(&q, &pp, "gmt_modified > ?",
		    pj_p_int(qq->gmt_modified_gt));
	if (qq->has_gmt_modified_lt)
		add_cmp(&q, &pp, "gmt_modified < ?",
		    pj_p_int(qq->gmt_modified_lt));
	/* id breaks ties so the order is total and pages are stable */
	pj_sql_addf(&q, " ORDER BY %s %s", sort_cols[qq->sort],
	    qq->desc ? "DESC" : "ASC");
	if (qq->sort != PJ_JOB_SORT_ID)
		pj_sql_addf(&q, ", id %s", qq->desc ? "DESC" : "ASC");
	pj_sql_add(&q, " LIMIT ? OFFSET ?");
	pj_params_add(&pp, pj_p_int(limit));
	pj_params_add(&pp, pj_p_int(qq->after_id > 0 ? 0 : qq->offset));
	rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "job_info", -1, q.b, pp.v, pp.n,
	    job_list_row, out, NULL);
	pj_sql_fini(&q);
	pj_params_fini(&pp);
	if (rv != 0)
		pj_job_list_fini(out);
	return rv;
}

int
pj_store_jobs_due(struct pj_store *s, const int64_t *app_ids, size_t n_apps,
    const int *types, size_t n_types, int64_t before_ms, int limit,
    struct pj_job_list *out)
{
	struct pj_sql    q  = { 0 };
	struct pj_params pp = { 0 };
	int              rv;
	memset(out, 0, sizeof(*out));
	if (n_apps == 0 || n_types == 0)
		return 0;
	if (limit < 1)
		return pj_store_fail(
		    s, PJ_STORE_EINVAL, "job_info due: limit must be >= 1");
	/* (app_id, status, time_expression_type, next_trigger_time): named,
	 * since MariaDB reads a small job_info whole instead, and then a lost
	 * index would go unnoticed by t/store_contract_plans.inc */
	pj_sql_add(&q, "SELECT id, gmt_create, gmt_modified, " JOB_COLS);
	pj_sql_from(&q, s, "job_info", "idx01_job_info");
	pj_sql_add(&q, " WHERE app_id IN ");
	pj_sql_marks(&q, n_apps);
	for (size_t i = 0; i < n_apps; i++)
		pj_params_add(&pp, pj_p_int(app_ids[i]));
	pj_sql_add(&q, " AND status = ? AND time_expression_type IN ");
	pj_params_add(&pp, pj_p_int(PJ_STATUS_ENABLE));
	pj_sql_marks(&q, n_types);
	for (size_t i = 0; i < n_types; i++)
		pj_params_add(&pp, pj_p_int(types[i]));
	pj_sql_add(&q,
	    " AND next_trigger_time <= ? ORDER BY "
	    "next_trigger_time, id LIMIT ?");
	pj_params_add(&pp, pj_p_int(before_ms));
	pj_params_add(&pp, pj_p_int(limit));
	rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "job_info", -1, q.b, pp.v, pp.n,
	    job_list_row, out, NULL);
	pj_sql_fini(&q);
	pj_params_fini(&pp);
	if (rv != 0)
		pj_job_list_fini(out);
	return rv;
}

#define JOBS_GET_CHUNK 256

int
pj_store_jobs_get(struct pj_store *s, const int64_t *ids, size_t n,
    struct pj_job_list *out)
{
	int rv = 0;
	memset(out, 0, sizeof(*out));
	for (size_t a = 0; a < n && rv == 0; a += JOBS_GET_CHUNK) {
		size_t m = n - a < JOBS_GET_CHUNK ? n - a : JOBS_GET_CHUNK;
		struct pj_sql    q  = { 0 };
		struct pj_params pp = { 0 };
		pj_sql_add(&q, JOB_SELECT "WHERE id IN ");
		pj_sql_ids_padded(&q, &pp, &ids[a], m);
		rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "job_info", ids[a], q.b,
		    pp.v, pp.n, job_list_row, out, NULL);
		pj_sql_fini(&q);
		pj_params_fini(&pp);
	}
	if (rv != 0)
		pj_job_list_fini(out);
	return rv;
}
