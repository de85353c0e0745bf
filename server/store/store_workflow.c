/*
 * server/store_workflow.c - workflow_info, workflow_instance_info and
 * workflow_node_info: create, read, update, delete (the DAG engine of a
 * later issue builds on these).
 *
 * Design notes
 * ------------
 * Kept from PowerJob (§8, §10.1): the columns (pedag, wf_context and dag
 * as long text, node enable / skip_when_failed flags), the unique
 * wf_instance_id, the WAITING workflow-instance selection of the status
 * checker, and nodes listed per workflow in creation order.
 * Changed: times are BIGINT ms; a workflow has a time_zone like a job;
 * workflow-instance updates are conditional on the previous status so two
 * servers cannot both move one workflow instance.
 * OOM policy: ar_xmalloc aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/store_impl.h"

#define WF_LIMIT_MAX 5000

static int
check_found(
    struct pj_store *s, int rv, size_t n, const char *table, int64_t id)
{
	if (rv == 0 && n == 0)
		rv = pj_store_fail(s, PJ_STORE_ENOTFOUND,
		    "%s (id %lld): no such row", table, (long long) id);
	return rv;
}

static int
delete_by(struct pj_store *s, const char *table, const char *sql, int64_t id)
{
	int64_t       n  = 0;
	struct pj_val p  = pj_p_int(id);
	int           rv = pj_sq_exec(
	              s, NULL, PJ_Q_SAFE, table, id, sql, &p, 1, NULL, NULL, &n);
	return check_found(s, rv, (size_t) n, table, id);
}

/* ---- workflow_info
 * ---------------------------------------------------------- */

#define WF_COLS                                                               \
	"app_id, wf_name, wf_description, pedag, time_expression_type, "      \
	"time_expression, time_zone, max_wf_instance_num, status, "           \
	"next_trigger_time, notify_user_ids, lifecycle, extra"
#define WF_NCOLS 13

void
pj_workflow_fini(struct pj_workflow *w)
{
	free(w->wf_name);
	free(w->wf_description);
	free(w->pedag);
	free(w->time_expression);
	free(w->time_zone);
	free(w->notify_user_ids);
	free(w->lifecycle);
	free(w->extra);
	memset(w, 0, sizeof(*w));
}

static int
wf_row(void *arg, const struct pj_val *c, int n)
{
	struct pj_workflow *w = arg;
	(void) n;
	if (w->id)
		return 0;
	int k                   = 0;
	w->id                   = pj_c_i64(&c[k++]);
	w->gmt_create           = pj_c_i64(&c[k++]);
	w->gmt_modified         = pj_c_i64(&c[k++]);
	w->app_id               = pj_c_i64(&c[k++]);
	w->wf_name              = pj_c_str(&c[k++]);
	w->wf_description       = pj_c_str(&c[k++]);
	w->pedag                = pj_c_str(&c[k++]);
	w->time_expression_type = (int) pj_c_i64(&c[k++]);
	w->time_expression      = pj_c_str(&c[k++]);
	w->time_zone            = pj_c_str(&c[k++]);
	w->max_wf_instance_num  = (int) pj_c_i64(&c[k++]);
	w->status               = (int) pj_c_i64(&c[k++]);
	w->next_trigger_time    = pj_c_i64(&c[k++]);
	w->notify_user_ids      = pj_c_str(&c[k++]);
	w->lifecycle            = pj_c_str(&c[k++]);
	w->extra                = pj_c_str(&c[k++]);
	return 0;
}

int
pj_store_workflow_save(struct pj_store *s, const struct pj_workflow *w,
    int64_t now_ms, int64_t *id)
{
	struct pj_val p[WF_NCOLS + 2] = { pj_p_int(w->app_id),
		pj_p_text(w->wf_name), pj_p_text(w->wf_description),
		pj_p_text(w->pedag), pj_p_int(w->time_expression_type),
		pj_p_text(w->time_expression), pj_p_text(w->time_zone),
		pj_p_int(w->max_wf_instance_num),
		pj_p_int(w->status ? w->status : PJ_STATUS_ENABLE),
		pj_p_int_or_null(w->next_trigger_time),
		pj_p_text(w->notify_user_ids), pj_p_text(w->lifecycle),
		pj_p_text(w->extra), pj_p_int(now_ms), pj_p_int(now_ms) };
	int64_t       n               = 0;
	int           rv;
	if (w->app_id <= 0 || w->wf_name == NULL || w->wf_name[0] == 0)
		return pj_store_fail(s, PJ_STORE_EINVAL,
		    "workflow_info: a workflow needs an app id and a name");
	const struct pj_field_check f[] = {
		{ "wf_name", w->wf_name, PJ_F_NAME },
		{ "wf_description", w->wf_description, PJ_F_TEXT },
		{ "pedag", w->pedag, PJ_F_LONGTEXT },
		{ "time_expression", w->time_expression, PJ_F_TEXT },
		{ "time_zone", w->time_zone, PJ_F_ZONE },
		{ "notify_user_ids", w->notify_user_ids, PJ_F_TEXT },
		{ "lifecycle", w->lifecycle, PJ_F_TEXT },
		{ "extra", w->extra, PJ_F_TEXT },
	};
	if ((rv = pj_check_fields(
	         s, "workflow_info", f, sizeof(f) / sizeof(f[0])))
	    != 0)
		return rv;
	if (w->id == 0)
		return pj_sq_insert_id(s, "workflow_info",
		    "INSERT INTO workflow_info (" WF_COLS
		    ", gmt_create, gmt_modified) VALUES "
		    "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		    p, WF_NCOLS + 2, id);
	p[WF_NCOLS + 1] = pj_p_int(w->id);
	rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "workflow_info", w->id,
	    "UPDATE workflow_info SET app_id = ?, wf_name = ?, "
	    "wf_description = ?, pedag = ?, time_expression_type = ?, "
	    "time_expression = ?, time_zone = ?, max_wf_instance_num = ?, "
	    "status = ?, next_trigger_time = ?, notify_user_ids = ?, "
	    "lifecycle = ?, extra = ?, gmt_modified = ? WHERE id = ?",
	    p, WF_NCOLS + 2, NULL, NULL, &n);
	if (rv == 0 && id)
		*id = w->id;
	return check_found(s, rv, (size_t) n, "workflow_info", w->id);
}

int
pj_store_workflow_get(struct pj_store *s, int64_t id, struct pj_workflow *w)
{
	struct pj_val p = pj_p_int(id);
	memset(w, 0, sizeof(*w));
	int rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "workflow_info", id,
	    "SELECT id, gmt_create, gmt_modified, " WF_COLS
	    " FROM workflow_info WHERE id = ?",
	    &p, 1, wf_row, w, NULL);
	return check_found(s, rv, w->id != 0, "workflow_info", id);
}

int
pj_store_workflow_delete(struct pj_store *s, int64_t id)
{
	return delete_by(
	    s, "workflow_info", "DELETE FROM workflow_info WHERE id = ?", id);
}

/* ---- workflow_instance_info
 * -------------------------------------------------- */

#define WFI_COLS                                                              \
	"wf_instance_id, workflow_id, app_id, parent_wf_instance_id, "        \
	"status, wf_init_params, wf_context, dag, result, "                   \
	"expected_trigger_time, actual_trigger_time, finished_time, "         \
	"gmt_create, gmt_modified"

void
pj_wf_instance_fini(struct pj_wf_instance *w)
{
	free(w->wf_init_params);
	free(w->wf_context);
	free(w->dag);
	free(w->result);
	memset(w, 0, sizeof(*w));
}

void
pj_wf_instance_list_fini(struct pj_wf_instance_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		pj_wf_instance_fini(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
wfi_row(void *arg, const struct pj_val *c, int n)
{
	struct pj_wf_instance_list *l = arg;
	(void) n;
	l->v = ar_xrealloc(l->v, sizeof(*l->v) * (l->n + 1));
	struct pj_wf_instance *w = &l->v[l->n++];
	int                    k = 0;
	w->id                    = pj_c_i64(&c[k++]);
	w->wf_instance_id        = pj_c_i64(&c[k++]);
	w->workflow_id           = pj_c_i64(&c[k++]);
	w->app_id                = pj_c_i64(&c[k++]);
	w->parent_wf_instance_id = pj_c_i64(&c[k++]);
	w->status                = (int) pj_c_i64(&c[k++]);
	w->wf_init_params        = pj_c_str(&c[k++]);
	w->wf_context            = pj_c_str(&c[k++]);
	w->dag                   = pj_c_str(&c[k++]);
	w->result                = pj_c_str(&c[k++]);
	w->expected_trigger_time = pj_c_i64(&c[k++]);
	w->actual_trigger_time   = pj_c_i64(&c[k++]);
	w->finished_time         = pj_c_i64(&c[k++]);
	w->gmt_create            = pj_c_i64(&c[k++]);
	w->gmt_modified          = pj_c_i64(&c[k++]);
	return 0;
}

static int
wfi_check(struct pj_store *s, const struct pj_wf_instance *w, int create)
{
	const struct pj_field_check f[] = {
		{ "wf_context", w->wf_context, PJ_F_LONGTEXT },
		{ "dag", w->dag, PJ_F_LONGTEXT },
		{ "result", w->result, PJ_F_LONGTEXT },
		{ "wf_init_params", create ? w->wf_init_params : NULL,
		    PJ_F_LONGTEXT },
	};
	return pj_check_fields(
	    s, "workflow_instance_info", f, sizeof(f) / sizeof(f[0]));
}

int
pj_store_wf_instance_create(
    struct pj_store *s, const struct pj_wf_instance *w, int64_t now_ms)
{
	struct pj_val p[14] = { pj_p_int(w->wf_instance_id),
		pj_p_int(w->workflow_id), pj_p_int(w->app_id),
		pj_p_int_or_null(w->parent_wf_instance_id),
		pj_p_int(w->status ? w->status : 1),
		pj_p_text(w->wf_init_params), pj_p_text(w->wf_context),
		pj_p_text(w->dag), pj_p_text(w->result),
		pj_p_int(w->expected_trigger_time),
		pj_p_int(w->actual_trigger_time), pj_p_int(w->finished_time),
		pj_p_int(now_ms), pj_p_int(now_ms) };
	int           rv    = wfi_check(s, w, 1);
	if (rv != 0)
		return rv;
	return pj_sq_exec(s, NULL, 0, "workflow_instance_info",
	    w->wf_instance_id,
	    "INSERT INTO workflow_instance_info (" WFI_COLS
	    ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	    p, 14, NULL, NULL, NULL);
}

int
pj_store_wf_instance_get(
    struct pj_store *s, int64_t wf_instance_id, struct pj_wf_instance *w)
{
	struct pj_wf_instance_list l = { 0 };
	struct pj_val              p = pj_p_int(wf_instance_id);
	int rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "workflow_instance_info",
	    wf_instance_id,
	    "SELECT id, " WFI_COLS
	    " FROM workflow_instance_info WHERE wf_instance_id = ?",
	    &p, 1, wfi_row, &l, NULL);
	memset(w, 0, sizeof(*w));
	rv = check_found(s, rv, l.n, "workflow_instance_info", wf_instance_id);
	if (rv == 0) {
		*w  = l.v[0];
		l.n = 0;
	}
	pj_wf_instance_list_fini(&l);
	return rv;
}

int
pj_store_wf_instance_update(struct pj_store *s, const struct pj_wf_instance *w,
    int from, int64_t now_ms)
{
	int64_t       n    = 0;
	struct pj_val p[9] = { pj_p_int(w->status), pj_p_text(w->wf_context),
		pj_p_text(w->dag), pj_p_text(w->result),
		pj_p_int(w->actual_trigger_time), pj_p_int(w->finished_time),
		pj_p_int(now_ms), pj_p_int(w->wf_instance_id),
		pj_p_int(from) };
	int           rv   = wfi_check(s, w, 0);
	if (rv == 0)
		rv = pj_sq_exec(s, NULL, 0, "workflow_instance_info",
		    w->wf_instance_id,
		    "UPDATE workflow_instance_info SET status = ?, wf_context "
		    "= ?, "
		    "dag = ?, result = ?, actual_trigger_time = ?, "
		    "finished_time = ?, "
		    "gmt_modified = ? WHERE wf_instance_id = ? AND status = ?",
		    p, 9, NULL, NULL, &n);
	if (rv == 0 && n == 0)
		rv = pj_store_fail(s, PJ_STORE_ECONFLICT,
		    "workflow_instance_info (wf_instance_id %lld): missing or "
		    "not in status %d",
		    (long long) w->wf_instance_id, from);
	return rv;
}

int
pj_store_wf_instance_delete(struct pj_store *s, int64_t wf_instance_id)
{
	return delete_by(s, "workflow_instance_info",
	    "DELETE FROM workflow_instance_info WHERE wf_instance_id = ?",
	    wf_instance_id);
}

int
pj_store_wf_instances_waiting(struct pj_store *s, const int64_t *app_ids,
    size_t n_apps, int64_t before_ms, int limit,
    struct pj_wf_instance_list *out)
{
	struct pj_sql    q  = { 0 };
	struct pj_params pp = { 0 };
	int              rv;
	memset(out, 0, sizeof(*out));
	if (limit < 1 || limit > WF_LIMIT_MAX)
		return pj_store_fail(s, PJ_STORE_EINVAL,
		    "workflow_instance_info: limit must be 1..%d",
		    WF_LIMIT_MAX);
	if (n_apps == 0)
		return 0;
	/* (app_id, status, expected_trigger_time), named: for ORDER BY id
	 * LIMIT MariaDB may walk the primary key instead (store_instance.c) */
	pj_sql_add(&q, "SELECT id, " WFI_COLS);
	pj_sql_from(&q, s, "workflow_instance_info", "idx02_wf_instance");
	pj_sql_add(&q, " WHERE app_id IN ");
	pj_sql_marks(&q, n_apps);
	for (size_t i = 0; i < n_apps; i++)
		pj_params_add(&pp, pj_p_int(app_ids[i]));
	pj_sql_add(&q,
	    " AND status = 1 AND expected_trigger_time < ? ORDER BY "
	    "id LIMIT ?");
	pj_params_add(&pp, pj_p_int(before_ms));
	pj_params_add(&pp, pj_p_int(limit));
	rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "workflow_instance_info", -1, q.b,
	    pp.v, pp.n, wfi_row, out, NULL);
	pj_sql_fini(&q);
	pj_params_fini(&pp);
	if (rv != 0)
		pj_wf_instance_list_fini(out);
	return rv;
}

/* ---- workflow_node_info
 * ------------------------------------------------------ */

#define WFN_COLS                                                              \
	"app_id, workflow_id, type, job_id, node_name, node_params, "         \
	"enable, skip_when_failed, extra"

void
pj_wf_node_fini(struct pj_wf_node *n)
{
	free(n->node_name);
	free(n->node_params);
	free(n->extra);
	memset(n, 0, sizeof(*n));
}

void
pj_wf_node_list_fini(struct pj_wf_node_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		pj_wf_node_fini(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
wfn_row(void *arg, const struct pj_val *c, int n)
{
	struct pj_wf_node_list *l = arg;
	(void) n;
	l->v                 = ar_xrealloc(l->v, sizeof(*l->v) * (l->n + 1));
	struct pj_wf_node *w = &l->v[l->n++];
	int                k = 0;
	w->id                = pj_c_i64(&c[k++]);
	w->gmt_create        = pj_c_i64(&c[k++]);
	w->gmt_modified      = pj_c_i64(&c[k++]);
	w->app_id            = pj_c_i64(&c[k++]);
	w->workflow_id       = pj_c_i64(&c[k++]);
	w->type              = (int) pj_c_i64(&c[k++]);
	w->job_id            = pj_c_i64(&c[k++]);
	w->node_name         = pj_c_str(&c[k++]);
	w->node_params       = pj_c_str(&c[k++]);
	w->enable            = (int) pj_c_i64(&c[k++]);
	w->skip_when_failed  = (int) pj_c_i64(&c[k++]);
	w->extra             = pj_c_str(&c[k++]);
	return 0;
}

int
pj_store_wf_node_save(struct pj_store *s, const struct pj_wf_node *w,
    int64_t now_ms, int64_t *id)
{
	struct pj_val p[11] = { pj_p_int(w->app_id), pj_p_int(w->workflow_id),
		pj_p_int(w->type ? w->type : 1), pj_p_int(w->job_id),
		pj_p_text(w->node_name), pj_p_text(w->node_params),
		pj_p_int(w->enable != 0), pj_p_int(w->skip_when_failed != 0),
		pj_p_text(w->extra), pj_p_int(now_ms), pj_p_int(now_ms) };
	int64_t       n     = 0;
	int           rv;
	if (w->app_id <= 0)
		return pj_store_fail(s, PJ_STORE_EINVAL,
		    "workflow_node_info: a node needs an app id");
	const struct pj_field_check f[] = {
		{ "node_name", w->node_name, PJ_F_NAME },
		{ "node_params", w->node_params, PJ_F_LONGTEXT },
		{ "extra", w->extra, PJ_F_LONGTEXT },
	};
	if ((rv = pj_check_fields(s, "workflow_node_info", f, 3)) != 0)
		return rv;
	if (w->id == 0)
		return pj_sq_insert_id(s, "workflow_node_info",
		    "INSERT INTO workflow_node_info (" WFN_COLS
		    ", gmt_create, gmt_modified) VALUES "
		    "(?,?,?,?,?,?,?,?,?,?,?)",
		    p, 11, id);
	p[10] = pj_p_int(w->id);
	rv    = pj_sq_exec(s, NULL, PJ_Q_SAFE, "workflow_node_info", w->id,
	       "UPDATE workflow_node_info SET app_id = ?, workflow_id = ?, "
	          "type = ?, job_id = ?, node_name = ?, node_params = ?, enable = "
	          "?, skip_when_failed = ?, extra = ?, gmt_modified = ? WHERE id = "
	          "?",
	       p, 11, NULL, NULL, &n);
	if (rv == 0 && id)
		*id = w->id;
	return check_found(s, rv, (size_t) n, "workflow_node_info", w->id);
}

static int
nodes_where(struct pj_store *s, const char *where, int64_t v,
    struct pj_wf_node_list *out)
{
	char          sql[256];
	struct pj_val p = pj_p_int(v);
	memset(out, 0, sizeof(*out));
	snprintf(sql, sizeof(sql),
	    "SELECT id, gmt_create, gmt_modified, " WFN_COLS
	    " FROM workflow_node_info WHERE %s ORDER BY gmt_create, id",
	    where);
	int rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "workflow_node_info", v, sql,
	    &p, 1, wfn_row, out, NULL);
	if (rv != 0)
		pj_wf_node_list_fini(out);
	return rv;
}

int
pj_store_wf_node_get(struct pj_store *s, int64_t id, struct pj_wf_node *n)
{
	struct pj_wf_node_list l;
	int                    rv = nodes_where(s, "id = ?", id, &l);
	memset(n, 0, sizeof(*n));
	rv = check_found(s, rv, l.n, "workflow_node_info", id);
	if (rv == 0) {
		*n  = l.v[0];
		l.n = 0;
	}
	pj_wf_node_list_fini(&l);
	return rv;
}

int
pj_store_wf_node_delete(struct pj_store *s, int64_t id)
{
	return delete_by(s, "workflow_node_info",
	    "DELETE FROM workflow_node_info WHERE id = ?", id);
}

int
pj_store_wf_nodes_of(
    struct pj_store *s, int64_t workflow_id, struct pj_wf_node_list *out)
{
	return nodes_where(s, "workflow_id = ?", workflow_id, out);
}
