/*
 * scheduler_batch.c - the SchedulerActor's job cache and the batched
 * dispatch of one Fire (scheduler_actor.c's design notes cover the actor).
 *
 * Design notes
 * ------------
 * A Fire of the passes names each instance's job and the instance rows
 * carry the job's parameters and none of their own, so nothing is read per
 * instance: the jobs come from a cache the passes fill (entries older than
 * JOB_CACHE_MS are read again, all of a Fire's in one statement per 256,
 * so a disabled job's fires stop within that time; each cached job is one
 * allocation, its strings packed after it, about 350 bytes a job), workers
 * from the cluster view (one query per distinct filter), the choice from
 * pj_sched_dispatch, and the 1 -> 2 transitions are one conditional
 * multi-row update per chosen worker, all of a Fire in one transaction
 * (one commit per fire time, not one per worker).  When an update moves
 * fewer rows than it names (a cancel raced it), the rows are read one by
 * one and only those now dispatched to that worker are told.  Entries with
 * job id 0 take the one-by-one path (sched_dispatch_id).
 * Threads: the actor's turn only.
 */
#include <stdlib.h>
#include <string.h>

#include "actors/scheduler_int.h"
#include "runtime/alloc.h"
#include "runtime/log.h"
#include "server/store/store_sched.h"

/* ---- job cache ------------------------------------------------------------
 */

static size_t
jslot(int64_t id, size_t cap)
{
	return (size_t) (((uint64_t) id * 0x9E3779B97F4A7C15ULL) >> 17)
	    & (cap - 1);
}

static struct jcache_ent *
jfind(struct jcache *c, int64_t id)
{
	if (c->cap == 0) {
		return NULL;
	}
	for (size_t i = jslot(id, c->cap); c->v[i].id != 0;
	     i        = (i + 1) & (c->cap - 1)) {
		if (c->v[i].id == id) {
			return &c->v[i];
		}
	}
	return NULL;
}

/* One allocation holding a copy of j and its strings (a job's fifteen
 * strings are mostly empty: fifteen mallocs of 32 bytes each); freed with
 * free().  j is finished. */
static struct pj_job *
jpack(struct pj_job *j)
{
	char **strs[] = { &j->job_name, &j->job_description, &j->job_params,
		&j->time_expression, &j->time_zone, &j->processor_info,
		&j->designated_workers, &j->notify_user_ids, &j->extra,
		&j->dispatch_strategy_config, &j->lifecycle, &j->alarm_config,
		&j->tag, &j->log_config, &j->advanced_runtime_config };
	enum { NS = sizeof(strs) / sizeof(strs[0]) };
	size_t len[NS], total = sizeof(*j);
	for (size_t i = 0; i < NS; i++) {
		len[i] = *strs[i] ? strlen(*strs[i]) : 0;
		total += len[i] + 1;
	}
	struct pj_job *p  = ar_xmalloc(total);
	char          *at = (char *) (p + 1);
	*p                = *j;
	char **pstrs[] = { &p->job_name, &p->job_description, &p->job_params,
		&p->time_expression, &p->time_zone, &p->processor_info,
		&p->designated_workers, &p->notify_user_ids, &p->extra,
		&p->dispatch_strategy_config, &p->lifecycle, &p->alarm_config,
		&p->tag, &p->log_config, &p->advanced_runtime_config };
	for (size_t i = 0; i < NS; i++) {
		if (len[i]) {
			memcpy(at, *strs[i], len[i]);
		}
		at[len[i]] = 0;
		*pstrs[i]  = at;
		at += len[i] + 1;
	}
	pj_job_fini(j);
	return p;
}

/* Takes j (moved); replaces an older copy. */
static void
jput(struct jcache *c, struct pj_job *j, int64_t now)
{
	struct jcache_ent *e = jfind(c, j->id);
	if (e != NULL) {
		free(e->job);
		e->job = jpack(j);
		e->at  = now;
		return;
	}
	if (2 * (c->n + 1) > c->cap) {
		struct jcache o = *c;
		c->cap          = o.cap ? 2 * o.cap : 256;
		c->v            = ar_xcalloc(c->cap, sizeof(*c->v));
		c->n            = 0;
		for (size_t i = 0; i < o.cap; i++) {
			if (o.v[i].id != 0) {
				size_t k = jslot(o.v[i].id, c->cap);
				while (c->v[k].id != 0) {
					k = (k + 1) & (c->cap - 1);
				}
				c->v[k] = o.v[i];
				c->n++;
			}
		}
		free(o.v);
	}
	size_t k = jslot(j->id, c->cap);
	while (c->v[k].id != 0) {
		k = (k + 1) & (c->cap - 1);
	}
	c->v[k].id  = j->id;
	c->v[k].at  = now;
	c->v[k].job = jpack(j);
	c->n++;
}

void
sched_jobs_cache(struct sched_state *s, struct pj_job_list *jobs)
{
	int64_t now = ar_now_ms();
	for (size_t k = 0; k < jobs->n; k++) {
		jput(&s->jobs, &jobs->v[k], now);
	}
	free(jobs->v);
	memset(jobs, 0, sizeof(*jobs));
}

void
sched_jobs_stale(struct sched_state *s, int64_t id)
{
	struct jcache_ent *e = jfind(&s->jobs, id);
	if (e != NULL) {
		e->at = INT64_MIN / 2;
	}
}

void
sched_jobs_clear(struct sched_state *s)
{
	for (size_t i = 0; i < s->jobs.cap; i++) {
		if (s->jobs.v[i].id != 0) {
			free(s->jobs.v[i].job);
		}
	}
	free(s->jobs.v);
	memset(&s->jobs, 0, sizeof(s->jobs));
}

/* Makes job id fresh in the cache: 0, or a PJ_STORE_* code. */
static int
jensure(struct sched_state *s, int64_t id, int64_t now)
{
	struct jcache_ent *e = jfind(&s->jobs, id);
	struct pj_job      j;
	if (e != NULL && now - e->at <= JOB_CACHE_MS) {
		return 0;
	}
	int rv = pj_store_job_get(s->env->store, id, &j);
	if (rv == 0) {
		jput(&s->jobs, &j, now);
	}
	return rv;
}

/* Reads the Fire's jobs missing from the cache or older than JOB_CACHE_MS
 * in one statement per 256 (a pass records fires up to window_ms ahead, so
 * a job that fires once a minute is read again at its fire: ten thousand
 * such jobs were ten thousand reads, seconds of lag on MariaDB). */
static void
jrefresh(struct sched_state *s, const int64_t *ids, size_t n, int64_t now)
{
	int64_t           *v = ar_xmalloc((n ? n : 1) * sizeof(*v));
	size_t             m = 0;
	struct pj_job_list l;
	for (size_t k = 0; k < n; k++) {
		struct jcache_ent *e = jfind(&s->jobs, ids[k]);
		if (ids[k] != 0 && (e == NULL || now - e->at > JOB_CACHE_MS)) {
			v[m++] = ids[k];
		}
	}
	if (m > 1 && pj_store_jobs_get(s->env->store, v, m, &l) == 0) {
		sched_jobs_cache(s, &l); /* the rest: jensure, one by one */
	}
	free(v);
}

/* ---- batched dispatch ------------------------------------------------------
 */

struct pick {
	struct pj_instance      i; /* the fields dispatch needs */
	const struct pj_job    *job;
	const struct pj_worker *w;
	size_t                  nw, chosen;
};

static int
by_worker(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;
	return strcmp(x->w[x->chosen].address, y->w[y->chosen].address);
}

static bool
same_filter(
    const struct pj_executor_filter *a, const struct pj_executor_filter *b)
{
	const char *x = a->designated ? a->designated : "";
	const char *y = b->designated ? b->designated : "";
	return strcmp(x, y) == 0 && a->min_cpu == b->min_cpu
	    && a->min_mem == b->min_mem && a->min_disk == b->min_disk
	    && a->max_count == b->max_count;
}

/* Tells the group g[0..n) (one worker) after the batch transition moved
 * `moved` of its rows. */
static void
tell_group(ar_ctx *ctx, struct sched_state *s, struct pick *g, size_t n,
    int64_t now, int64_t moved)
{
	struct pj_server_env *env  = s->env;
	const char           *addr = g[0].w[g[0].chosen].address;
	for (size_t k = 0; k < n; k++) {
		if ((size_t) moved != n) {
			/* some were canceled meanwhile: tell only ours */
			struct pj_instance cur;
			if (pj_store_instance_get(
			        env->store, g[k].i.instance_id, &cur)
			    != 0) {
				continue;
			}
			bool ours
			    = cur.status == PJ_INST_WAITING_WORKER_RECEIVE
			    && cur.actual_trigger_time == now
			    && strcmp(cur.task_tracker_address, addr) == 0;
			pj_instance_fini(&cur);
			if (!ours) {
				continue;
			}
		}
		sched_tell_job(
		    ctx, s, &g[k].i, g[k].job, g[k].w, g[k].nw, g[k].chosen);
		s->st.dispatched++;
		int64_t lag = now - g[k].i.expected_trigger_time;
		if (lag > 0 && (uint64_t) lag > s->st.lag_max_ms) {
			s->st.lag_max_ms = (uint64_t) lag;
		}
	}
}

/* The picks (sorted by worker): every worker's 1 -> 2 transition in one
 * transaction, then the tells. */
static void
dispatch_picks(ar_ctx *ctx, struct sched_state *s, struct pick *picks,
    size_t np, int64_t now)
{
	struct pj_dispatch_group *g   = ar_xcalloc(np ? np : 1, sizeof(*g));
	size_t                   *at  = ar_xcalloc(np ? np : 1, sizeof(*at));
	int64_t                  *ids = ar_xmalloc((np ? np : 1) * sizeof(*ids));
	size_t                    ng  = 0;
	for (size_t k = 0; k < np; k++) {
		ids[k] = picks[k].i.instance_id;
	}
	for (size_t a = 0, b; a < np; a = b) {
		for (b = a + 1; b < np && by_worker(&picks[a], &picks[b]) == 0;
		     b++) { }
		at[ng]  = a;
		g[ng++] = (struct pj_dispatch_group) { .ids = &ids[a],
			.n                                  = b - a,
			.tt = picks[a].w[picks[a].chosen].address };
	}
	if (pj_store_instances_dispatch(s->env->store, g, ng, now) != 0) {
		ar_log(AR_LOG_WARN, "sched",
		    "dispatch of %zu instances failed: %s; the check tries "
		    "again",
		    np, pj_store_errmsg(s->env->store));
	} else {
		for (size_t k = 0; k < ng; k++) {
			tell_group(ctx, s, &picks[at[k]], g[k].n, now,
			    g[k].moved);
		}
	}
	free(g);
	free(at);
	free(ids);
}

void
sched_dispatch_fire(
    ar_ctx *ctx, struct sched_state *s, const Pj__Sched__Fire *f)
{
	struct pj_server_env     *env = s->env;
	size_t                    n = f->n_instance_ids, np = 0, nlists = 0;
	int64_t                   now   = ar_now_ms();
	struct pick              *picks = ar_xcalloc(n, sizeof(*picks));
	struct pj_worker        **lists = ar_xcalloc(n, sizeof(*lists));
	int                      *jrv   = ar_xcalloc(n, sizeof(*jrv));
	struct pj_executor_filter last  = { 0 };
	struct pj_worker         *w     = NULL;
	size_t                    nw    = 0;
	bool                      have  = false;
	/* jobs first: the cache may grow, so no pointer is kept yet */
	jrefresh(s, f->job_ids, n, now);
	for (size_t k = 0; k < n; k++) {
		jrv[k] = f->job_ids[k] ? jensure(s, f->job_ids[k], now) : -1;
	}
	for (size_t k = 0; k < n; k++) {
		struct pj_instance i    = { 0 };
		i.instance_id           = f->instance_ids[k];
		i.job_id                = f->job_ids[k];
		i.status                = PJ_INST_WAITING_DISPATCH;
		i.expected_trigger_time = f->fire_ms;
		i.fire_time             = f->fire_ms;
		i.instance_params       = "";
		if (jrv[k] < 0) {
			sched_dispatch_id(ctx, s, i.instance_id);
			continue;
		}
		if (jrv[k] == PJ_STORE_ENOTFOUND) {
			sched_finish(
			    s, &i, PJ_INST_FAILED, PJ_RESULT_NO_JOB, NULL);
			continue;
		}
		if (jrv[k] != 0) {
			continue; /* the check arms it again */
		}
		const struct pj_job *j = jfind(&s->jobs, i.job_id)->job;
		i.app_id               = j->app_id;
		if (j->status == PJ_STATUS_DELETED
		    || (j->status != PJ_STATUS_ENABLE
		        && j->next_trigger_time != 0)) {
			sched_finish(s, &i, PJ_INST_CANCELED,
			    PJ_RESULT_JOB_DISABLED, NULL);
			continue;
		}
		int64_t live = 0;
		if (pj_sched_max_live(j) > 0) {
			static const int st[]
			    = { PJ_INST_WAITING_WORKER_RECEIVE,
				      PJ_INST_RUNNING };
			if (pj_store_instance_count_live(
			        env->store, j->id, st, 2, &live)
			    != 0) {
				continue;
			}
		}
		struct pj_executor_filter flt;
		pj_sched_filter(j, &flt);
		if (!have || !same_filter(&flt, &last)) {
			nw = pj_view_query(
			    env->view, j->app_id, now, &flt, &w);
			lists[nlists++] = w;
			last            = flt;
			have            = true;
		}
		struct pj_dispatch_choice c;
		pj_sched_dispatch(j, live, w, nw, sched_rnd(s), &c);
		if (c.verdict == PJ_DISPATCH_GO) {
			picks[np++] = (struct pick) { .i = i,
				.job                     = j,
				.w                       = w,
				.nw                      = nw,
				.chosen                  = c.chosen };
		} else if (c.verdict == PJ_DISPATCH_NO_WORKER
		    && sched_no_worker_waits(
		        ctx, s, j->app_id, i.instance_id, j->id)) {
			continue; /* a new owner: its workers come */
		} else if (c.verdict != PJ_DISPATCH_OVERLOADED) {
			ar_log(AR_LOG_WARN, "sched",
			    "app=%lld job=%lld instance=%lld failed: %s",
			    (long long) j->app_id, (long long) j->id,
			    (long long) i.instance_id, c.result);
			sched_finish(s, &i, PJ_INST_FAILED, c.result, NULL);
		}
	}
	if (np > 1) {
		qsort(picks, np, sizeof(*picks), by_worker);
	}
	dispatch_picks(ctx, s, picks, np, now);
	for (size_t k = 0; k < nlists; k++) {
		free(lists[k]);
	}
	free(lists);
	free(picks);
	free(jrv);
}
