/*
 * server/sched/pass.c - one schedule pass against the store: the due
 * CRON / DAILY_TIME_INTERVAL jobs of the owned apps become WAITING_DISPATCH
 * instance rows, one per (job_id, fire_time), and their next_trigger_time
 * moves past the window (powerjob-design.md §5.3, §5.5).
 *
 * Design notes
 * ------------
 * Order: rows first, next_trigger_time after.  A crash in between leaves
 * the old next_trigger_time; the next pass (here or on a new owner) plans
 * the same fires again, the batch insert meets the (job_id, fire_time) key,
 * is replayed row by row and the duplicates are skipped - so each fire is
 * recorded once whatever fails over.  Rows recorded by somebody else are
 * not returned for arming; the caller finds them with the WAITING_DISPATCH
 * selection (pj_store_instances_check) like any other pending row.
 * Batched: one due-jobs query, one multi-row insert (one transaction) for
 * every fire of the pass, one transaction for every next_trigger_time.
 * A job whose time expression, zone or lifecycle no longer validates, or
 * that has no fire left, is disabled (PowerJob disables on "no next").
 * Threads: none of its own; the store is thread-safe and nothing here is
 * kept between calls.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/alloc.h"
#include "server/sched/pass.h"
#include "server/store/store_sched.h"

static const int due_types[] = { PJ_TIME_CRON, PJ_TIME_DAILY_TIME_INTERVAL };

void
pj_sched_fires_fini(struct pj_sched_fires *f)
{
	free(f->v);
	pj_job_list_fini(&f->jobs);
	memset(f, 0, sizeof(*f));
}

static void
fires_add(struct pj_sched_fires *f, const struct pj_instance *i)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 64;
		f->v   = ar_xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	f->v[f->n++] = (struct pj_sched_fire) { .instance_id = i->instance_id,
		.job_id                                      = i->job_id,
		.app_id                                      = i->app_id,
		.fire_ms = i->expected_trigger_time };
}

/* The job's timing and lifecycle; -1 (with err) when they do not validate. */
static int
job_timing(const struct pj_job *j, pj_timing *t, pj_lifecycle *lc, char *err,
    size_t errlen)
{
	if (pj_timing_init(t, (pj_time_type) j->time_expression_type,
	        j->time_expression, j->time_zone, 0, err, errlen)
	        != 0
	    || pj_lifecycle_parse(j->lifecycle, lc, err, errlen) != 0) {
		return -1;
	}
	return 0;
}

static void
inst_of(
    struct pj_instance *i, const struct pj_job *j, int64_t id, int64_t fire)
{
	memset(i, 0, sizeof(*i));
	i->instance_id           = id;
	i->job_id                = j->id;
	i->app_id                = j->app_id;
	i->type                  = 1;
	i->status                = PJ_INST_WAITING_DISPATCH;
	i->job_params            = j->job_params;
	i->instance_params       = "";
	i->result                = "";
	i->task_tracker_address  = "";
	i->fire_time             = fire;
	i->expected_trigger_time = fire;
	i->last_report_time      = -1;
}

/* Inserts v[0..n) as one batch; on a duplicate, row by row, skipping the
 * fires somebody else recorded.  Created rows go to out. */
static int
record(struct pj_store *s, struct pj_instance *v, size_t n, int64_t now_ms,
    struct pj_sched_fires *out, struct pj_sched_pass_stats *st)
{
	int rv = pj_store_instances_create(s, v, n, now_ms);
	if (rv == 0) {
		for (size_t k = 0; k < n; k++) {
			fires_add(out, &v[k]);
		}
		st->recorded += n;
		return 0;
	}
	if (rv != PJ_STORE_EDUP) {
		return rv;
	}
	for (size_t k = 0; k < n; k++) {
		rv = pj_store_instances_create(s, &v[k], 1, now_ms);
		if (rv == PJ_STORE_EDUP) {
			st->duplicates++;
			continue;
		}
		if (rv != 0) {
			return rv;
		}
		fires_add(out, &v[k]);
		st->recorded++;
	}
	return 0;
}

int
pj_sched_pass(struct pj_store *s, struct pj_ids *ids, const int64_t *apps,
    size_t n_apps, int64_t now_ms, const struct pj_sched_pass_opts *o,
    struct pj_sched_fires *out, struct pj_sched_pass_stats *st)
{
	struct pj_job_list  jobs  = { 0 };
	struct pj_instance *rows  = NULL;
	size_t              nrows = 0, caprows = 0;
	int64_t            *fire = ar_xmalloc(o->plan_cap * sizeof(*fire));
	int64_t            *jid = NULL, *next = NULL;
	size_t              nnext = 0;
	int                 rv;
	memset(st, 0, sizeof(*st));
	if (n_apps == 0) {
		free(fire);
		return 0;
	}
	rv = pj_store_jobs_due(s, apps, n_apps, due_types, 2,
	    now_ms + o->window_ms, o->job_limit, &jobs);
	if (rv != 0) {
		goto done;
	}
	st->jobs = jobs.n;
	jid      = ar_xcalloc(jobs.n + 1, sizeof(*jid));
	next     = ar_xcalloc(jobs.n + 1, sizeof(*next));
	for (size_t k = 0; k < jobs.n; k++) {
		const struct pj_job *j = &jobs.v[k];
		pj_timing            t;
		pj_lifecycle         lc;
		char                 err[PJ_TIMING_ERR_MAX];
		struct pj_plan       p = { .fire_ms = fire };
		pj_misfire_opts      mo
		    = { .policy = (pj_misfire_policy) j->misfire_policy,
			      .window_ms    = o->fire_all_window_ms,
			      .cap          = o->misfire_cap,
			      .threshold_ms = o->misfire_threshold_ms };
		if (job_timing(j, &t, &lc, err, sizeof(err)) != 0
		    || pj_sched_plan(&t, &lc, j->next_trigger_time, now_ms,
		           o->window_ms, &mo, o->plan_cap, &p)
		        != 0) {
			st->invalid++;
			p.has_next = false;
		}
		st->missed += p.n_missed;
		st->dropped += p.n_dropped;
		for (size_t f = 0; f < p.n_fire; f++) {
			if (nrows == caprows) {
				caprows = caprows ? 2 * caprows : 64;
				rows    = ar_xrealloc(
				       rows, caprows * sizeof(*rows));
			}
			inst_of(&rows[nrows++], j, pj_ids_next(ids), fire[f]);
		}
		if (!p.has_next) {
			st->disabled++;
		}
		jid[nnext]    = j->id;
		next[nnext++] = p.has_next ? p.next_ms : -1;
	}
	if ((rv = record(s, rows, nrows, now_ms, out, st)) != 0) {
		goto done;
	}
	rv = pj_store_jobs_advance(s, jid, next, nnext, now_ms);
done:
	free(rows);
	free(fire);
	free(jid);
	free(next);
	pj_job_list_fini(&out->jobs);
	out->jobs = jobs; /* moved */
	return rv;
}

int64_t
pj_sched_enable_next(const struct pj_job *j, int64_t now_ms)
{
	pj_timing    t;
	pj_lifecycle lc;
	char         err[PJ_TIMING_ERR_MAX];
	int64_t      next = 0;
	if ((j->time_expression_type != PJ_TIME_CRON
	        && j->time_expression_type != PJ_TIME_DAILY_TIME_INTERVAL)
	    || job_timing(j, &t, &lc, err, sizeof(err)) != 0
	    || pj_timing_next(&t, &lc, now_ms, now_ms, &next) != 0) {
		return 0;
	}
	return next;
}
