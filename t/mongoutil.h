/*
 * t/mongoutil.h - the MongoDB the log store suites talk to: the
 * wire-protocol stand-in t/mongo_standin.py (mockupdb + mongomock, run
 * with /usr/bin/python3 on 127.0.0.1, a journal in a temporary folder so
 * it can be killed and started again on the same port), or a real MongoDB
 * when PJ_TEST_MONGO_URI is set (each test then uses a database of its
 * own, pjtest_<pid>, dropped at the end).
 */
#ifndef PJ_T_MONGOUTIL_H
#define PJ_T_MONGOUTIL_H

#include <check.h>
#include <mongoc/mongoc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t/spawn.h"

struct tu_mongo {
	pid_t pid;
	int   port;
	int   real; /* PJ_TEST_MONGO_URI */
	char  dir[256], journal[300], uri[1024];
};

/* Starts the stand-in on port (0 = a free one) and waits until it
 * listens; require_auth makes it refuse every login. */
static inline void
tu_mongo_standin(struct tu_mongo *m, int port, int require_auth)
{
	char script[600], ready[300], portarg[16];
	snprintf(script, sizeof(script), "%s/t/mongo_standin.py",
	    getenv("PJ_TOP") ? getenv("PJ_TOP") : ".");
	snprintf(ready, sizeof(ready), "%s/ready", m->dir);
	snprintf(portarg, sizeof(portarg), "%d", port);
	unlink(ready);
	const char *argv[] = { "/usr/bin/python3", script, "--port", portarg,
		"--journal", m->journal, "--ready-file", ready,
		require_auth ? "--require-auth" : NULL, NULL };
	struct tu_spawn_opts o = TU_SPAWN_OPTS_INIT;
	o.out                  = "/dev/null";
	m->pid                 = tu_proc_spawn((char *const *) argv, &o);
	ck_assert_int_gt(m->pid, 0);
	FILE *f = NULL;
	for (int k = 0; k < 3000 && f == NULL; k++) {
		if ((f = fopen(ready, "r")) == NULL)
			usleep(10000);
	}
	ck_assert_msg(
	    f != NULL, "the MongoDB stand-in did not start (%s)", script);
	ck_assert_int_eq(fscanf(f, "%d", &m->port), 1);
	fclose(f);
}

static inline void
tu_mongo_kill(struct tu_mongo *m)
{
	if (m->pid > 0) {
		kill(m->pid, SIGKILL);
		waitpid(m->pid, NULL, 0);
		m->pid = 0;
	}
}

/* A MongoDB for one test: the stand-in (URI with short timeouts, so a
 * down server is noticed in a second), or PJ_TEST_MONGO_URI with the
 * database set to pjtest_<pid>. */
static inline void
tu_mongo_setup(struct tu_mongo *m)
{
	const char *real = getenv("PJ_TEST_MONGO_URI");
	memset(m, 0, sizeof(*m));
	snprintf(m->dir, sizeof(m->dir), "/tmp/pjmongo.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(m->dir));
	snprintf(m->journal, sizeof(m->journal), "%s/journal", m->dir);
	if (real != NULL && real[0]) {
		bson_error_t  e;
		char          db[64];
		mongoc_uri_t *u = mongoc_uri_new_with_error(real, &e);
		ck_assert_msg(u != NULL, "PJ_TEST_MONGO_URI: %s", e.message);
		snprintf(db, sizeof(db), "pjtest_%d", (int) getpid());
		mongoc_uri_set_database(u, db);
		snprintf(
		    m->uri, sizeof(m->uri), "%s", mongoc_uri_get_string(u));
		mongoc_uri_destroy(u);
		m->real = 1;
		return;
	}
	tu_mongo_standin(m, 0, 0);
	snprintf(m->uri, sizeof(m->uri),
	    "mongodb://127.0.0.1:%d/pjtest?serverSelectionTimeoutMS=1000&"
	    "connectTimeoutMS=1000&heartbeatFrequencyMS=500",
	    m->port);
}

static inline void
tu_mongo_teardown(struct tu_mongo *m)
{
	char cmd[300];
	tu_mongo_kill(m);
	if (m->real) {
		mongoc_client_t *c    = mongoc_client_new(m->uri);
		bson_t           drop = BSON_INITIALIZER;
		BSON_APPEND_INT32(&drop, "dropDatabase", 1);
		if (c != NULL) {
			mongoc_client_command_simple(c,
			    mongoc_uri_get_database(mongoc_client_get_uri(c)),
			    &drop, NULL, NULL, NULL);
			mongoc_client_destroy(c);
		}
		bson_destroy(&drop);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", m->dir);
	ck_assert_int_eq(system(cmd), 0);
}

#endif
