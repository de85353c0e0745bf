/*
 * server/sched/dispatch.c - choosing the TaskTracker of an instance
 * (powerjob-design.md §5.6 steps 3-8).
 *
 * Design notes
 * ------------
 * Kept from PowerJob: max live instances counts WAITING_WORKER_RECEIVE and
 * RUNNING and fails with `too many instances(n>max)`; frequent jobs have a
 * max of 1; no candidate fails with `no worker available`; when every
 * candidate is overloaded the instance stays WAITING_DISPATCH (overload
 * back-off, the status check tries again); HEALTH_FIRST = best score,
 * RANDOM = uniform, SPECIFY = random among the workers whose address (or
 * its host:port) or tag is listed in dispatch_strategy_config, random among
 * all when none is.  The filters themselves (designated, minimum
 * resources, heartbeat age, max_worker_count) are the cluster view's
 * (server/cluster/view.c), fed by pj_sched_filter.
 * Ours: a re-dispatch (receive timed out, a retry after a failure or a
 * silent TaskTracker) avoids the instance's last TaskTracker while another
 * worker can take it (pj_sched_dispatch_avoid): a worker that was killed
 * stays in the cluster view until its heartbeats are 60 s old, and
 * HEALTH_FIRST would pick it again and again until then.
 * Pure functions; the random number is an argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/sched/sched.h"

bool
pj_sched_frequent(int type)
{
	return type == PJ_TIME_FIXED_RATE || type == PJ_TIME_FIXED_DELAY;
}

int
pj_sched_max_live(const struct pj_job *j)
{
	if (pj_sched_frequent(j->time_expression_type)) {
		return 1;
	}
	return j->max_instance_num > 0 ? j->max_instance_num : 0;
}

bool
pj_sched_tells_all_workers(const struct pj_job *j)
{
	return j->execute_type != 1 /* STANDALONE */
	    || pj_sched_frequent(j->time_expression_type);
}

void
pj_sched_filter(const struct pj_job *j, struct pj_executor_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->designated         = j->designated_workers;
	f->min_cpu            = j->min_cpu_cores;
	f->min_mem            = j->min_memory_space;
	f->min_disk           = j->min_disk_space;
	f->max_count          = j->max_worker_count;
	f->include_overloaded = true;
}

/* The k-th (0-based) worker of w[0..n) that is not overloaded and, when
 * `list` is given, is listed in it. */
static size_t
nth(const struct pj_worker *w, size_t n, const char *list, size_t k)
{
	for (size_t i = 0; i < n; i++) {
		if (w[i].overload
		    || (list && !pj_worker_listed(list, &w[i]))) {
			continue;
		}
		if (k-- == 0) {
			return i;
		}
	}
	return n;
}

static size_t
count(const struct pj_worker *w, size_t n, const char *list)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		m += !w[i].overload
		    && (list == NULL || pj_worker_listed(list, &w[i]));
	}
	return m;
}

void
pj_sched_dispatch(const struct pj_job *j, int64_t live,
    const struct pj_worker *w, size_t n, uint64_t rnd,
    struct pj_dispatch_choice *c)
{
	memset(c, 0, sizeof(*c));
	int max = pj_sched_max_live(j);
	if (max > 0 && live >= max) {
		c->verdict = PJ_DISPATCH_TOO_MANY;
		snprintf(c->result, sizeof(c->result), PJ_RESULT_TOO_MANY,
		    (long long) live, max);
		return;
	}
	if (n == 0) {
		c->verdict = PJ_DISPATCH_NO_WORKER;
		snprintf(
		    c->result, sizeof(c->result), "%s", PJ_RESULT_NO_WORKER);
		return;
	}
	size_t m = count(w, n, NULL);
	if (m == 0) {
		c->verdict = PJ_DISPATCH_OVERLOADED;
		snprintf(c->result, sizeof(c->result),
		    "all %zu workers overloaded", n);
		return;
	}
	c->verdict = PJ_DISPATCH_GO;
	switch (j->dispatch_strategy) {
	case PJ_DISPATCH_RANDOM:
		c->chosen = nth(w, n, NULL, rnd % m);
		return;
	case PJ_DISPATCH_SPECIFY: {
		const char *cfg = j->dispatch_strategy_config;
		size_t      k   = cfg && cfg[0] ? count(w, n, cfg) : 0;
		c->chosen       = k > 0 ? nth(w, n, cfg, rnd % k)
		                        : nth(w, n, NULL, rnd % m);
		return;
	}
	default: { /* HEALTH_FIRST, and PowerJob's null */
		size_t best = n;
		for (size_t i = 0; i < n; i++) {
			if (!w[i].overload
			    && (best == n || w[i].score > w[best].score)) {
				best = i;
			}
		}
		c->chosen = best;
		return;
	}
	}
}

void
pj_sched_dispatch_avoid(const struct pj_job *j, int64_t live,
    const struct pj_worker *w, size_t n, uint64_t rnd, const char *avoid,
    struct pj_dispatch_choice *c)
{
	size_t k = n;

	if (avoid != NULL && avoid[0] != '\0' && count(w, n, NULL) > 1) {
		for (k = 0; k < n && strcmp(w[k].address, avoid) != 0; k++) {
		}
	}
	if (k >= n || w[k].overload) {
		pj_sched_dispatch(j, live, w, n, rnd, c);
		return;
	}
	/* the same list with the last TaskTracker marked overloaded: the
	 * strategy chooses among the others (indexes unchanged) */
	struct pj_worker *v = malloc(n * sizeof(*v));
	if (v == NULL) {
		pj_sched_dispatch(j, live, w, n, rnd, c);
		return;
	}
	memcpy(v, w, n * sizeof(*v));
	v[k].overload = true;
	pj_sched_dispatch(j, live, v, n, rnd, c);
	free(v);
}
