/*
 * server/store/store_instance_list.c - the reads of instance_info that
 * grow with the table unless an index bounds them: the status checks and
 * the paged lists (issue 8, "Cost as the tables grow";
 * bench/store_scale_bench.sh, docs/benchmarks.md "store_scale").
 *
 * Design notes
 * ------------
 * Each statement names its index (pj_sql_from: INDEXED BY / FORCE INDEX),
 * so MariaDB's plan does not depend on its statistics and a missing index
 * fails the statement instead of making it slow (t/store_contract_plans.inc).
 * - Lists without a creation-time filter page by id: one ordered range of
 *   (job_id, status, id) / (app_id, status, id) per status, each at most
 *   `limit` ids long (covering), their union's first `limit`, then rows.
 * - Lists with a creation-time filter page by (gmt_create, id) on
 *   (job_id, gmt_create, id) for a job, (app_id, gmt_create, id) for an
 *   app: one ordered range that stops at the page.
 * - The WAITING_DISPATCH check reads idx04 in due order from the oldest
 *   entry, tests the owned apps on each entry and stops after `limit`
 *   rows, so an overdue backlog of this server's apps costs `limit`
 *   entries and rows, whatever its size (migration 0005; before, each
 *   app's oldest `limit`: apps x limit entries). Overdue rows of apps
 *   other servers own are read past too; they are those servers' to
 *   dispatch, so such a backlog is short-lived. idx04 holds only rows
 *   waiting for dispatch: on SQLite a partial index (status,
 *   expected_trigger_time, app_id) WHERE status = 1, on MariaDB
 *   (dispatch_due, dispatch_app, id), stored generated columns that are
 *   the row's expected_trigger_time and app_id while status = 1 and NULL
 *   after (migrations 0007, 0009), so the transitions after dispatch do
 *   not touch it and a finished row's entry is its id alone.
 *   dispatch_due was a VIRTUAL column first, whose old entries InnoDB's
 *   purge left behind: every dispatched row stayed in the check's range.
 *   For one round idx04 also held instance_id, job_id and fire_time
 *   (stored too), so that the check read no row: 1,000 rows behind a
 *   backlog cost 0.5 ms of server time instead of 3.4, but every
 *   lifecycle paid ~5 % more server CPU for it, and the check runs
 *   behind a backlog only when the server is overloaded (migration 0009
 *   and docs/benchmarks.md, store_bench, fifth round). The other two
 *   checks select live rows on (app_id, status, id).
 * - The checks return no LONGTEXT column (job_params, instance_params,
 *   result come back ""): the scheduler needs ids, times, the address and
 *   running_times, and MariaDB sorts rows with LONGTEXT by re-reading them.
 *   The WAITING_DISPATCH check returns only what arming a Fire needs (id,
 *   instance_id, job_id, app_id, status, fire_time,
 *   expected_trigger_time).
 * OOM policy: ar_xmalloc aborts.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/store_impl.h"

#define LIST_LIMIT_DEFAULT 10

#define INST_SELECT_COLS "SELECT id, " PJ_INST_COLS
/* the check's columns: PJ_INST_COLS without the LONGTEXT ones */
#define CHECK_COLS                                                            \
	"id, instance_id, job_id, app_id, type, wf_instance_id, status, "     \
	"NULL, NULL, NULL, fire_time, expected_trigger_time, "                \
	"actual_trigger_time, finished_time, last_report_time, "              \
	"task_tracker_address, running_times, gmt_create, gmt_modified"

/*
 * WAITING_DISPATCH rows of apps[0..n) due before before_ms, the oldest
 * `limit` by (expected_trigger_time, app_id, id): one ordered range of
 * idx04 (the rows waiting for dispatch, in due order), the apps tested on
 * its entries, stopped at `limit`.  SQLite: idx04 is partial (status = 1;
 * the literal lets SQLite prove it applies); MariaDB: on the stored
 * columns dispatch_* (the row's values while status = 1, else NULL).
 */
static int
check_dispatch(struct pj_store *s, const int64_t *apps, size_t n,
    int64_t before_ms, int limit, struct pj_instance_list *out)
{
	struct pj_sql    q    = { 0 };
	struct pj_params pp   = { 0 };
	int              lite = strcmp(pj_store_backend(s), "sqlite") == 0;
	/* MariaDB: idx04's stored columns (migrations 0007, 0009), the
	 * row's due time and app while status = 1 */
	const char *due = lite ? "expected_trigger_time" : "dispatch_due";
	const char *app = lite ? "app_id" : "dispatch_app";
	/* status is 1 and expected_trigger_time the due time */
	pj_sql_addf(&q,
	    "SELECT id, instance_id, job_id, %s, NULL, NULL, 1, NULL, NULL, "
	    "NULL, fire_time, %s, ",
	    app, due);
	pj_sql_add(&q, "NULL, NULL, NULL, NULL, NULL, NULL, NULL");
	pj_sql_from(&q, s, "instance_info", "idx04_instance_info");
	pj_sql_addf(&q, " WHERE %s%s < ? AND %s IN ",
	    lite ? "status = 1 AND " : "", due, app);
	pj_params_add(&pp, pj_p_int(before_ms));
	pj_sql_marks(&q, n);
	for (size_t i = 0; i < n; i++)
		pj_params_add(&pp, pj_p_int(apps[i]));
	pj_sql_addf(&q, " ORDER BY %s, %s, id LIMIT ?", due, app);
	pj_params_add(&pp, pj_p_int(limit));
	return pj_inst_list_run(s, &q, &pp, out);
}

int
pj_store_instances_check(struct pj_store *s, enum pj_check_kind kind,
    const int64_t *app_ids, size_t n_apps, int64_t before_ms, int limit,
    struct pj_instance_list *out)
{
	const char      *col;
	int              status;
	struct pj_sql    q  = { 0 };
	struct pj_params pp = { 0 };
	memset(out, 0, sizeof(*out));
	switch (kind) {
	case PJ_CHECK_WAITING_DISPATCH:
		col    = "expected_trigger_time";
		status = PJ_INST_WAITING_DISPATCH;
		break;
	case PJ_CHECK_WAITING_RECEIVE:
		col    = "actual_trigger_time";
		status = PJ_INST_WAITING_WORKER_RECEIVE;
		break;
	case PJ_CHECK_RUNNING:
		col    = "gmt_modified";
		status = PJ_INST_RUNNING;
		break;
	default:
		return pj_store_fail(s, PJ_STORE_EINVAL,
		    "instance_info check: unknown kind %d", (int) kind);
	}
	if (limit < 1 || limit > PJ_INST_LIMIT_MAX)
		return pj_store_fail(s, PJ_STORE_EINVAL,
		    "instance_info check: limit must be 1..%d",
		    PJ_INST_LIMIT_MAX);
	if (n_apps == 0)
		return 0;
	if (kind == PJ_CHECK_WAITING_DISPATCH)
		return check_dispatch(
		    s, app_ids, n_apps, before_ms, limit, out);
	/* (app_id, status, id): the few live rows of this status */
	pj_sql_add(&q, "SELECT " CHECK_COLS);
	pj_sql_from(&q, s, "instance_info", "idx02_instance_info");
	pj_sql_add(&q, " WHERE app_id IN ");
	pj_sql_marks(&q, n_apps);
	for (size_t i = 0; i < n_apps; i++)
		pj_params_add(&pp, pj_p_int(app_ids[i]));
	pj_sql_addf(&q, " AND status = ? AND %s < ? ORDER BY id LIMIT ?", col);
	pj_params_add(&pp, pj_p_int(status));
	pj_params_add(&pp, pj_p_int(before_ms));
	pj_params_add(&pp, pj_p_int(limit));
	return pj_inst_list_run(s, &q, &pp, out);
}

/* " AND ..." for the list's conditions other than status and the keyset */
static void
inst_list_where(
    struct pj_sql *q, struct pj_params *pp, const struct pj_instance_query *qq)
{
	if (qq->app_id) {
		pj_sql_add(q, " AND app_id = ?");
		pj_params_add(pp, pj_p_int(qq->app_id));
	}
	if (qq->job_id) {
		pj_sql_add(q, " AND job_id = ?");
		pj_params_add(pp, pj_p_int(qq->job_id));
	}
	if (qq->gmt_create_gt) {
		pj_sql_add(q, " AND gmt_create > ?");
		pj_params_add(pp, pj_p_int(qq->gmt_create_gt));
	}
	if (qq->gmt_create_lt) {
		pj_sql_add(q, " AND gmt_create < ?");
		pj_params_add(pp, pj_p_int(qq->gmt_create_lt));
	}
}

/*
 * A list filtered on creation time, in (gmt_create, id) order: within one
 * job one ordered range of idx05 (job_id, gmt_create, id), within one app
 * of idx03 (app_id, gmt_create, id), from the keyset on, which stops when
 * the page is full (a status filter is tested on the rows of that range).
 * Paged by id instead, the page would walk every older row of the app
 * first: 8 s at 10,000,000 rows on MariaDB; a job's page on idx03 tests
 * the job on every row of its app in the range (21 ms there).
 */
static int
list_by_time(struct pj_store *s, const struct pj_instance_query *qq, int limit,
    struct pj_instance_list *out)
{
	struct pj_sql    q  = { 0 };
	struct pj_params pp = { 0 };
	pj_sql_add(&q, INST_SELECT_COLS);
	pj_sql_from(&q, s, "instance_info",
	    qq->job_id       ? "idx05_instance_info"
	        : qq->app_id ? "idx03_instance_info"
	                     : NULL);
	pj_sql_add(&q, " WHERE 1 = 1");
	/* one lower bound on gmt_create, the tighter one: given two, SQLite
	 * starts the range at one of them, not knowing which is larger
	 * (a page half an hour into "the last hour" read the half hour
	 * before it: 19 ms at 10,000,000 rows). The keyset (gmt_create, id)
	 * > (after_gmt_create, after_id) implies gmt_create > gmt_create_gt
	 * when after_gmt_create > gmt_create_gt, and is implied by it
	 * otherwise. Newest first, the same holds for the upper bound
	 * gmt_create_lt and the keyset (gmt_create, id) < (...). */
	static const char *const keyset_sql[2] = {
		" AND gmt_create >= ? AND (gmt_create > ? OR id > ?)",
		" AND gmt_create <= ? AND (gmt_create < ? OR id < ?)",
	};
	struct pj_instance_query w    = *qq;
	int                      desc = qq->newest_first != 0;
	int64_t bound  = desc ? qq->gmt_create_lt : qq->gmt_create_gt;
	int     keyset = (qq->after_gmt_create || qq->after_id)
	    && (!bound
	        || (desc ? qq->after_gmt_create < bound
	                 : qq->after_gmt_create > bound));
	if (keyset && desc)
		w.gmt_create_lt = 0;
	else if (keyset)
		w.gmt_create_gt = 0;
	inst_list_where(&q, &pp, &w);
	if (keyset) {
		/* written so that both planners see the range on gmt_create */
		pj_sql_add(&q, keyset_sql[desc]);
		pj_params_add(&pp, pj_p_int(qq->after_gmt_create));
		pj_params_add(&pp, pj_p_int(qq->after_gmt_create));
		pj_params_add(&pp, pj_p_int(qq->after_id));
	}
	if (qq->n_status_in > 0) {
		pj_sql_add(&q, " AND status IN ");
		pj_sql_marks(&q, (size_t) qq->n_status_in);
		for (int i = 0; i < qq->n_status_in; i++)
			pj_params_add(&pp, pj_p_int(qq->status_in[i]));
	}
	pj_sql_add(&q,
	    desc ? " ORDER BY gmt_create DESC, id DESC LIMIT ?"
	         : " ORDER BY gmt_create, id LIMIT ?");
	pj_params_add(&pp, pj_p_int(limit));
	return pj_inst_list_run(s, &q, &pp, out);
}

/* one branch of a list: a status condition on (job_id | app_id, status),
 * for the statuses lo..hi */
struct list_branch {
	const char *cond; /* " AND status ..." with np marks */
	int         v[2];
	int         np;
	int         lo, hi;
};

const char *
pj_job_status_index(struct pj_store *s, int lo, int hi, const char **cond)
{
	*cond = "";
	if (strcmp(pj_store_backend(s), "sqlite") != 0)
		return "idx01_instance_info";
	if (hi < PJ_INST_LIVE_BELOW) {
		*cond = PJ_INST_LIVE;
		return "idx01_instance_info";
	}
	if (lo >= PJ_INST_LIVE_BELOW) {
		*cond = PJ_INST_NOT_LIVE;
		return "idx06_instance_info";
	}
	return NULL;
}

/* the index of a branch of a job's or app's list, and its condition */
static const char *
branch_index(struct pj_store *s, const struct pj_instance_query *qq,
    const struct list_branch *b, const char **cond)
{
	*cond = "";
	if (qq->job_id)
		return pj_job_status_index(s, b->lo, b->hi, cond);
	return qq->app_id ? "idx02_instance_info" : NULL;
}

/*
 * Costs (bench/store_scale_bench.sh). The list pages in id order, and
 * (job_id, status, id) / (app_id, status, id) hold one job's or app's ids
 * in id order for each status. So a list by one status is one ordered
 * range that stops after `limit` rows. A list by several statuses, or by
 * none, is the union of one such range per status, each at most `limit`
 * ids long, and the page is the first `limit` of the union: at most
 * (branches x limit) index entries, whatever the table's size, and no
 * index beyond PowerJob's two (a (job_id, id) and an (app_id, id) index
 * would serve "no status" too, but cost every insert two more index
 * entries: 8-17% more CPU per batched lifecycle, bench/store_bench.c).
 * "No status" is the seven known statuses (enum pj_instance_status) plus
 * the ranges between them, so a row with any other status is listed too.
 * On SQLite a job's (job_id, status) is two partial indexes, the live
 * statuses and the finished ones (pj_job_status_index): each branch lies
 * in one of them.
 * Both planners would otherwise read every row of the job or app (all
 * matching statuses) and sort them: 25 ms for an app at 1,000,000 rows.
 * The index is named in each statement (pj_sql_from): MariaDB otherwise
 * walks the primary key for ORDER BY id LIMIT whenever its statistics make
 * that look cheaper (seen at 40,000 rows right after a bulk insert: 32 ms
 * for a page, 40 ms for an empty status check).
 */
int
pj_store_instance_list(struct pj_store *s, const struct pj_instance_query *qq,
    struct pj_instance_list *out)
{
	static const int   known[] = { 1, 2, 3, 4, 5, 9, 10 };
	struct pj_sql      q       = { 0 };
	struct pj_params   pp      = { 0 };
	int                limit = qq->limit ? qq->limit : LIST_LIMIT_DEFAULT;
	struct list_branch br[2 * PJ_QUERY_IN_MAX + 1];
	int                nb    = 0;
	int                keyed = qq->job_id || qq->app_id;
	const char        *idx, *cond = "";
	/* newest first: the same ranges read backwards, from below after_id
	 * (below every id on the first page) */
	const char *from
	    = qq->newest_first ? " WHERE id < ?" : " WHERE id > ?";
	const char *order = qq->newest_first ? " DESC" : "";
	int64_t     key
	    = qq->newest_first && !qq->after_id ? INT64_MAX : qq->after_id;
	memset(out, 0, sizeof(*out));
	if (limit < 1 || limit > PJ_INST_LIMIT_MAX || qq->n_status_in < 0
	    || qq->n_status_in > PJ_QUERY_IN_MAX)
		return pj_store_fail(s, PJ_STORE_EINVAL,
		    "instance_info list: limit must be 1..%d and at most %d "
		    "statuses",
		    PJ_INST_LIMIT_MAX, PJ_QUERY_IN_MAX);
	if (qq->gmt_create_gt || qq->gmt_create_lt) {
		if (qq->after_id && !qq->after_gmt_create)
			return pj_store_fail(s, PJ_STORE_EINVAL,
			    "instance_info list: with a gmt_create filter "
			    "the list pages by (gmt_create, id); pass the "
			    "last row's gmt_create as after_gmt_create "
			    "with after_id");
		return list_by_time(s, qq, limit, out);
	}
	for (int i = 0; i < qq->n_status_in; i++) {
		int k = 0;
		while (k < nb && br[k].v[0] != qq->status_in[i])
			k++;
		if (k == nb)
			br[nb++] = (struct list_branch) { " AND status = ?",
				{ qq->status_in[i], 0 }, 1, qq->status_in[i],
				qq->status_in[i] };
	}
	if (nb == 0 && keyed) {
		int n    = (int) (sizeof(known) / sizeof(known[0]));
		br[nb++] = (struct list_branch) { " AND status < ?",
			{ known[0], 0 }, 1, INT_MIN, known[0] - 1 };
		for (int i = 0; i < n; i++) {
			br[nb++] = (struct list_branch) { " AND status = ?",
				{ known[i], 0 }, 1, known[i], known[i] };
			if (i + 1 < n && known[i + 1] > known[i] + 1)
				br[nb++] = (struct list_branch) {
					" AND status > ? AND status < ?",
					{ known[i], known[i + 1] }, 2,
					known[i] + 1, known[i + 1] - 1
				};
		}
		br[nb++] = (struct list_branch) { " AND status > ?",
			{ known[n - 1], 0 }, 1, known[n - 1] + 1, INT_MAX };
	}
	if (nb > 1 && keyed) {
		/* the ids first (covering index ranges), then their rows: a
		 * join, not IN (...), which MariaDB runs as a dependent
		 * subquery over the primary key */
		pj_sql_add(&q, "SELECT id, " PJ_INST_COLS " FROM (");
		for (int k = 0; k < nb; k++) {
			pj_sql_addf(&q, "%sSELECT kid FROM (SELECT id AS kid",
			    k ? " UNION ALL " : "");
			idx = branch_index(s, qq, &br[k], &cond);
			pj_sql_from(&q, s, "instance_info", idx);
			pj_sql_add(&q, from);
			pj_params_add(&pp, pj_p_int(key));
			pj_sql_add(&q, cond);
			pj_sql_add(&q, br[k].cond);
			for (int i = 0; i < br[k].np; i++)
				pj_params_add(&pp, pj_p_int(br[k].v[i]));
			inst_list_where(&q, &pp, qq);
			pj_sql_addf(
			    &q, " ORDER BY id%s LIMIT ?) AS t%d", order, k);
			pj_params_add(&pp, pj_p_int(limit));
		}
		pj_sql_addf(&q,
		    " ORDER BY kid%s LIMIT ?) AS k JOIN instance_info ON "
		    "instance_info.id = k.kid",
		    order);
		pj_params_add(&pp, pj_p_int(limit));
	} else {
		/* one status (its ordered range), or neither job nor app
		 * (the primary key from after_id on) */
		idx = nb == 1 ? branch_index(s, qq, &br[0], &cond) : NULL;
		pj_sql_add(&q, INST_SELECT_COLS);
		pj_sql_from(&q, s, "instance_info", idx);
		pj_sql_add(&q, from);
		pj_params_add(&pp, pj_p_int(key));
		if (nb == 1) {
			pj_sql_add(&q, cond);
			pj_sql_add(&q, br[0].cond);
			pj_params_add(&pp, pj_p_int(br[0].v[0]));
		} else if (nb > 1) {
			pj_sql_add(&q, " AND status IN ");
			pj_sql_marks(&q, (size_t) nb);
			for (int i = 0; i < nb; i++)
				pj_params_add(&pp, pj_p_int(br[i].v[0]));
		}
		inst_list_where(&q, &pp, qq);
	}
	pj_sql_addf(&q, " ORDER BY id%s LIMIT ?", order);
	pj_params_add(&pp, pj_p_int(limit));
	return pj_inst_list_run(s, &q, &pp, out);
}
