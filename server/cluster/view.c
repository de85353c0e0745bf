/*
 * server/cluster/view.c - worker cluster view (see view.h).
 *
 * Design notes: apps are a small array (an owner holds few apps); each app
 * holds its workers in a growable array searched by address (a few hundred
 * workers per app at most; a heartbeat is one pass of string compares).
 * One mutex for the whole view, never held across anything but memory.
 */
#include "server/cluster/view.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/alloc.h"

struct app {
	int64_t           id;
	struct pj_worker *w;
	size_t            n, cap;
};

struct pj_view {
	pthread_mutex_t mtx;
	struct app     *apps;
	size_t          napps, cap;
};

struct pj_view *
pj_view_new(void)
{
	struct pj_view *v = ar_xcalloc(1, sizeof(*v));
	pthread_mutex_init(&v->mtx, NULL);
	return (v);
}

void
pj_view_free(struct pj_view *v)
{
	if (v == NULL) {
		return;
	}
	for (size_t i = 0; i < v->napps; i++) {
		free(v->apps[i].w);
	}
	free(v->apps);
	pthread_mutex_destroy(&v->mtx);
	free(v);
}

int
pj_health_score(const struct pj_metrics *m)
{
	/* PowerJob SystemMetrics.calculateScore */
	double mem = (m->mem_max - m->mem_used) * 2;
	double cpu = m->cpu_processors - m->cpu_load;
	if (cpu > m->cpu_processors) {
		cpu = 1; /* load unknown (negative) */
	}
	return ((int) (mem + cpu));
}

bool
pj_metrics_available(
    const struct pj_metrics *m, const struct pj_executor_filter *f)
{
	/* PowerJob SystemMetrics.available */
	if (f->min_cpu > 0
	    && !(m->cpu_processors - m->cpu_load > f->min_cpu)) {
		return (false);
	}
	if (f->min_mem > 0 && m->mem_max - m->mem_used < f->min_mem) {
		return (false);
	}
	if (f->min_disk > 0 && m->disk_total - m->disk_used < f->min_disk) {
		return (false);
	}
	return (true);
}

static struct app *
find_app(struct pj_view *v, int64_t id, bool create)
{
	for (size_t i = 0; i < v->napps; i++) {
		if (v->apps[i].id == id) {
			return (&v->apps[i]);
		}
	}
	if (!create) {
		return (NULL);
	}
	if (v->napps == v->cap) {
		v->cap  = v->cap ? v->cap * 2 : 4;
		v->apps = ar_xrealloc(v->apps, v->cap * sizeof(*v->apps));
	}
	struct app *a = &v->apps[v->napps++];
	memset(a, 0, sizeof(*a));
	a->id = id;
	return (a);
}

static void
copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

int
pj_view_heartbeat(
    struct pj_view *v, int64_t app_id, const struct pj_heartbeat *hb)
{
	struct pj_worker *w       = NULL;
	int               created = 0;
	pthread_mutex_lock(&v->mtx);
	struct app *a = find_app(v, app_id, true);
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->w[i].address, hb->address) == 0) {
			w = &a->w[i];
			break;
		}
	}
	if (w == NULL) {
		if (a->n == a->cap) {
			a->cap = a->cap ? a->cap * 2 : 8;
			a->w   = ar_xrealloc(a->w, a->cap * sizeof(*a->w));
		}
		w = &a->w[a->n++];
		memset(w, 0, sizeof(*w));
		copy_str(w->address, sizeof(w->address), hb->address);
		created = 1;
	} else if (hb->heartbeat_time < w->last_active) {
		pthread_mutex_unlock(&v->mtx);
		return (-1); /* late, out-of-order heartbeat */
	}
	w->last_active   = hb->heartbeat_time;
	w->dead_reported = false;
	copy_str(w->version, sizeof(w->version), hb->version);
	copy_str(w->tag, sizeof(w->tag), hb->tag);
	w->overload = hb->overload;
	if (hb->overload) {
		w->last_overload = hb->heartbeat_time;
	}
	w->light_tt = hb->light_tt;
	w->heavy_tt = hb->heavy_tt;
	w->metrics  = hb->metrics;
	w->score    = pj_health_score(&hb->metrics);
	pthread_mutex_unlock(&v->mtx);
	return (created);
}

size_t
pj_view_age(struct pj_view *v, int64_t now_ms, pj_view_dead_fn dead, void *arg)
{
	size_t dropped = 0;
	pthread_mutex_lock(&v->mtx);
	for (size_t i = 0; i < v->napps;) {
		struct app *a = &v->apps[i];
		size_t      k = 0;
		for (size_t j = 0; j < a->n; j++) {
			struct pj_worker *w = &a->w[j];
			if (now_ms - w->last_active > PJ_WORKER_DEAD_MS
			    && !w->dead_reported) {
				w->dead_reported = true;
				w->alive         = false;
				if (dead != NULL) {
					dead(arg, a->id, w);
				}
			}
			if (now_ms - w->last_active > PJ_WORKER_DROP_MS) {
				dropped++;
				continue;
			}
			a->w[k++] = a->w[j];
		}
		a->n = k;
		if (a->n == 0) {
			free(a->w);
			v->apps[i] = v->apps[--v->napps];
			continue;
		}
		i++;
	}
	pthread_mutex_unlock(&v->mtx);
	return (dropped);
}

/* Does CSV `list` name the worker (by address or tag)?  Each token is
 * compared whole; a worker address "pj://sys@host:port" also matches its
 * "host:port" part (PowerJob's designated workers are ip:port). */
bool
pj_worker_listed(const char *list, const struct pj_worker *w)
{
	const char *p = list, *hp = strrchr(w->address, '@');
	hp = hp ? hp + 1 : w->address;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t      n = e ? (size_t) (e - p) : strlen(p);
		while (n > 0 && *p == ' ') {
			p++, n--;
		}
		while (n > 0 && p[n - 1] == ' ') {
			n--;
		}
		if (n > 0
		    && ((strlen(w->address) == n
		            && strncmp(w->address, p, n) == 0)
		        || (strlen(hp) == n && strncmp(hp, p, n) == 0)
		        || (strlen(w->tag) == n
		            && strncmp(w->tag, p, n) == 0))) {
			return (true);
		}
		if (e == NULL) {
			break;
		}
		p = e + 1;
	}
	return (false);
}

static int
by_score(const void *x, const void *y)
{
	const struct pj_worker *a = x, *b = y;
	if (a->score != b->score) {
		return (a->score > b->score ? -1 : 1);
	}
	return (strcmp(a->address, b->address));
}

size_t
pj_view_query(struct pj_view *v, int64_t app_id, int64_t now_ms,
    const struct pj_executor_filter *f, struct pj_worker **out)
{
	size_t n = 0;
	*out     = NULL;
	pthread_mutex_lock(&v->mtx);
	struct app *a = find_app(v, app_id, false);
	if (a != NULL && a->n > 0) {
		*out = ar_xcalloc(a->n, sizeof(**out));
		for (size_t i = 0; i < a->n; i++) {
			struct pj_worker w = a->w[i];
			w.alive = now_ms - w.last_active <= PJ_WORKER_DEAD_MS;
			if (f != NULL) {
				if (!w.alive
				    || (w.overload && !f->include_overloaded)
				    || !pj_metrics_available(&w.metrics, f)
				    || (f->designated && f->designated[0]
				        && !pj_worker_listed(
				            f->designated, &w))) {
					continue;
				}
			}
			(*out)[n++] = w;
		}
	}
	pthread_mutex_unlock(&v->mtx);
	if (n > 1) {
		qsort(*out, n, sizeof(**out), by_score);
	}
	if (f != NULL && f->max_count > 0 && n > (size_t) f->max_count) {
		n = (size_t) f->max_count;
	}
	if (n == 0) {
		free(*out);
		*out = NULL;
	}
	return (n);
}

void
pj_view_counts(struct pj_view *v, size_t *apps, size_t *workers)
{
	size_t w = 0;
	pthread_mutex_lock(&v->mtx);
	for (size_t i = 0; i < v->napps; i++) {
		w += v->apps[i].n;
	}
	*apps = v->napps;
	pthread_mutex_unlock(&v->mtx);
	*workers = w;
}

void
pj_view_forget_app(struct pj_view *v, int64_t app_id)
{
	pthread_mutex_lock(&v->mtx);
	for (size_t i = 0; i < v->napps; i++) {
		if (v->apps[i].id == app_id) {
			free(v->apps[i].w);
			v->apps[i] = v->apps[--v->napps];
			break;
		}
	}
	pthread_mutex_unlock(&v->mtx);
}
