/*
 * worker_env.c - the worker services of worker_env.h.  First version:
 * reports are told to the owner (final ones not yet retried) and log lines
 * go to the process's log; the reporter and logger actors replace both.
 *
 * Design notes (threads): called from any tracker thread; the owner is
 * read under env->mu; ar_tell never blocks.
 */
#include "actors/worker_env.h"

#include <stdio.h>
#include <string.h>

#include "runtime/log.h"

int
pj_worker_server_ref(struct pj_worker_env *env, ar_ref *ref)
{
	char addr[400];

	pthread_mutex_lock(&env->mu);
	if (env->server_address[0] == '\0') {
		pthread_mutex_unlock(&env->mu);
		return AR_ENOENT;
	}
	snprintf(addr, sizeof(addr), "%s/user/server", env->server_address);
	pthread_mutex_unlock(&env->mu);
	return ar_ref_resolve(env->sys, addr, ref);
}

void
pj_worker_server(struct pj_worker_env *env, char *buf, size_t n)
{
	pthread_mutex_lock(&env->mu);
	snprintf(buf, n, "%s", env->server);
	pthread_mutex_unlock(&env->mu);
}

void
pj_worker_set_server(
    struct pj_worker_env *env, const char *server, const char *address)
{
	pthread_mutex_lock(&env->mu);
	snprintf(env->server, sizeof(env->server), "%s", server);
	snprintf(env->server_address, sizeof(env->server_address), "%s",
	    address);
	pthread_mutex_unlock(&env->mu);
}

void
pj_worker_report(
    struct pj_worker_env *env, const Pj__Cluster__InstanceStatusReport *r)
{
	Pj__Cluster__InstanceStatusReport c = *r;
	ar_ref                            to;

	c.source_address = env->address;
	if (pj_worker_server_ref(env, &to) == 0) {
		ar_tell(env->sys, to, &c.base, AR_REF_NONE);
	}
}

void
pj_worker_logv(struct pj_worker_env *env, int64_t instance_id, int level,
    const char *fmt, va_list ap)
{
	char line[2048];

	(void) env;
	vsnprintf(line, sizeof(line), fmt, ap);
	ar_log(level >= PJ_LOG_ERROR ? AR_LOG_ERROR
	       : level >= PJ_LOG_WARN ? AR_LOG_WARN
	                              : AR_LOG_INFO,
	    "instance", "%lld: %s", (long long) instance_id, line);
}

void
pj_worker_log(struct pj_worker_env *env, int64_t instance_id, int level,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pj_worker_logv(env, instance_id, level, fmt, ap);
	va_end(ap);
}
