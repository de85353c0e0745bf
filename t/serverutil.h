/*
 * t/serverutil.h - the fixture of the suites that start real pj-server
 * processes (build/bin): a temporary directory, a store on SQLite or on a
 * database of its own in the private MariaDB (PJ_TEST_MYSQL_URL), migrated
 * and holding the app "orders" / "s3cret", the tester's actor system,
 * servers started with a ready file, the real worker (pj-worker) started
 * the same way, and the cleanup (children killed, the
 * database dropped, the directory removed unless PJ_TEST_KEEP is set).
 * The buffers are the suites' own: tmpdir[256], dbname[64], dburl[512].
 */
#ifndef PJ_T_SERVERUTIL_H
#define PJ_T_SERVERUTIL_H

#include <check.h>
#include <mysql.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t/mysqlutil.h"
#include "t/spawn.h"
#include "actors/messages.h"
#include "runtime/ar.h"
#include "server/store/store.h"

/* A child process and the address it reported (servers: its log file). */
struct tu_srv_proc {
	pid_t pid;
	char  self[64], log[400];
};

/* Makes tmpdir from tmpl ("/tmp/x.XXXXXX"); on MariaDB (mysql != 0) a
 * fresh database <dbprefix>_<pid> in dbname, else dbname "" (dbname may be
 * NULL then); the URL with ?pool=<pool> in dburl; opens and migrates the
 * store and creates the app "orders" with the secret "s3cret". */
static inline void
tu_srv_store_open(int mysql, const char *tmpl, const char *dbprefix, int pool,
    char *tmpdir, char *dbname, char *dburl, struct pj_store **store,
    int64_t *app_id)
{
	snprintf(tmpdir, 256, "%s", tmpl);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	if (mysql) {
		snprintf(dbname, 64, "%s_%d", dbprefix, (int) getpid());
		tu_mysql_admin_sql("DROP DATABASE IF EXISTS %s", dbname);
		tu_mysql_admin_sql("CREATE DATABASE %s", dbname);
		snprintf(dburl, 512, "%s%s?pool=%d",
		    getenv("PJ_TEST_MYSQL_URL"), dbname, pool);
	} else {
		if (dbname != NULL) {
			dbname[0] = 0;
		}
		snprintf(
		    dburl, 512, "sqlite://%s/pj.db?pool=%d", tmpdir, pool);
	}
	ck_assert_int_eq(pj_store_open(dburl, store), 0);
	ck_assert_int_eq(pj_store_migrate(*store, NULL, NULL), 0);
	ck_assert_int_eq(pj_store_app_create(*store, "orders", "s3cret", "",
	                     ar_now_ms(), app_id),
	    0);
}

/* This process's actor system "tester", listening on 127.0.0.1. */
static inline ar_system *
tu_srv_tester(void)
{
	ar_config  c;
	ar_system *sys;
	ar_config_init(&c);
	c.name             = "tester";
	c.listen_url       = "tcp://127.0.0.1:0";
	c.log_dead_letters = 0;
	pj_messages_register();
	ck_assert_int_eq(ar_system_start(&c, &sys), 0);
	return sys;
}

/* Kills (SIGKILL) and waits for the n children still running in p. */
static inline void
tu_srv_reap(struct tu_srv_proc *p, int n)
{
	for (int i = 0; i < n; i++) {
		if (p[i].pid > 0) {
			kill(p[i].pid, SIGKILL);
			waitpid(p[i].pid, NULL, 0);
			p[i].pid = 0;
		}
	}
}

/* Closes the store, drops the database (dbname not NULL nor "") and
 * removes tmpdir, or keeps it (and says so) under PJ_TEST_KEEP. */
static inline void
tu_srv_store_close(
    struct pj_store *store, const char *dbname, const char *tmpdir)
{
	char cmd[300];
	pj_store_close(store);
	if (dbname != NULL && dbname[0]) {
		tu_mysql_admin_sql("DROP DATABASE IF EXISTS %s", dbname);
		mysql_library_end();
	}
	if (getenv("PJ_TEST_KEEP") != NULL) {
		fprintf(stderr, "kept %s\n", tmpdir); /* server logs there */
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* The last bytes (at most len - 1) of the file at path into buf. */
static inline void
tu_srv_log_tail(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	buf[0]  = '\0';
	if (f == NULL || len < 2) {
		if (f != NULL) {
			fclose(f);
		}
		return;
	}
	fseek(f, 0, SEEK_END);
	long end = ftell(f);
	fseek(f, end > (long) len - 1 ? end - ((long) len - 1) : 0, SEEK_SET);
	size_t n = fread(buf, 1, len - 1, f);
	buf[n]   = '\0';
	fclose(f);
}

/* Waits up to 30 s (a sanitizer build on a loaded machine, MariaDB
 * migrations) for the ready file of the program p started and reads its
 * first word (the address) into p->self; a program that exits first or
 * is not ready in time fails the test with the end of its log (p->log). */
static inline void
tu_srv_wait_ready(struct tu_srv_proc *p, const char *ready, const char *what)
{
	FILE   *f  = NULL;
	int     st = 0;
	int64_t dl = ar_mono_ms() + 30000;
	while ((f = fopen(ready, "r")) == NULL && ar_mono_ms() < dl) {
		if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
			p->pid = 0;
			break;
		}
		usleep(10000);
	}
	if (f == NULL) {
		char tail[2048] = "";
		tu_srv_log_tail(p->log, tail, sizeof(tail));
		ck_abort_msg("%s did not start: %s; its log ends:\n%s", what,
		    p->pid == 0 ? (WIFEXITED(st) ? "exited" : "killed")
		                : "not ready after 30 s",
		    tail);
	}
	ck_assert_int_eq(fscanf(f, "%63s", p->self), 1);
	fclose(f);
}

/* Starts pj-server number i (serve on 127.0.0.1 with dburl, ready file and
 * log tmpdir/{ready,server}.<i>[.log], log level info, the gateway on a
 * free port: the ready file's second line) with the
 * environment pairs env (name, value, ..., NULL) and the extra arguments
 * args (NULL-ended); either may be NULL.  Waits for the ready file and
 * reads the server's address into p->self. */
static inline void
tu_srv_start(struct tu_srv_proc *p, int i, const char *tmpdir,
    const char *dburl, const char *const *env, const char *const *args)
{
	char        exe[600], ready[400];
	const char *argv[32];
	int         n = 0;
	snprintf(exe, sizeof(exe), "%s/pj-server",
	    getenv("PJ_BIN") ? getenv("PJ_BIN") : "build/bin");
	snprintf(ready, sizeof(ready), "%s/ready.%d", tmpdir, i);
	snprintf(p->log, sizeof(p->log), "%s/server.%d.log", tmpdir, i);
	argv[n++] = exe;
	argv[n++] = "serve";
	argv[n++] = "--listen";
	argv[n++] = "tcp://127.0.0.1:0";
	argv[n++] = "--db";
	argv[n++] = dburl;
	argv[n++] = "--ready-file";
	argv[n++] = ready;
	argv[n++] = "--log-level";
	argv[n++] = "info";
	argv[n++] = "--gateway"; /* never the default port: tests run side by
	                            side */
	argv[n++] = "tcp://127.0.0.1:0";
	for (int k = 0; args != NULL && args[k] != NULL && n < 31; k++) {
		argv[n++] = args[k];
	}
	argv[n] = NULL;
	struct tu_spawn_opts o = TU_SPAWN_OPTS_INIT;
	o.out                  = "/dev/null";
	o.err                  = p->log;
	o.env                  = env;
	p->pid                 = tu_proc_spawn((char *const *) argv, &o);
	ck_assert_msg(p->pid > 0, "cannot start %s: %s", exe, strerror(errno));
	tu_srv_wait_ready(p, ready, "pj-server");
}

/* The file contains needle (false when it cannot be read). */
static inline bool
tu_file_says(const char *path, const char *needle)
{
	char  line[2048];
	bool  found = false;
	FILE *f;
	if ((f = fopen(path, "r")) == NULL) {
		return false;
	}
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		found = strstr(line, needle) != NULL;
	}
	fclose(f);
	return found;
}

/* Starts the real worker, pj-worker (PJ_BIN, else build/bin), as child p,
 * number i, for the servers srv[0..nsrv) (their addresses, live or not):
 * app "orders" / "s3cret", listening on 127.0.0.1:0, data directory
 * tmpdir/w<i>, stderr (log level info) in p->log = tmpdir/worker.<i>.log,
 * heartbeats every 200 ms, discovery every 500 ms, RUNNING reports every
 * 300 ms, online log lines shipped every 100 ms; then the options args
 * (NULL-ended, may be NULL; a later flag wins).  Waits up to 20 s for its
 * ready file and reads its address (pj://pjworker@...) into p->self. */
static inline void
tu_srv_start_pjworker(struct tu_srv_proc *p, int i, const char *tmpdir,
    const struct tu_srv_proc *srv, int nsrv, const char *const *args)
{
	char        exe[600], servers[600] = "", data[300], ready[300];
	const char *argv[64];
	int         n = 0;
	for (int k = 0; k < nsrv; k++) {
		snprintf(servers + strlen(servers),
		    sizeof(servers) - strlen(servers), "%s%s", k ? "," : "",
		    srv[k].self);
	}
	snprintf(exe, sizeof(exe), "%s/pj-worker",
	    getenv("PJ_BIN") ? getenv("PJ_BIN") : "build/bin");
	snprintf(data, sizeof(data), "%s/w%d", tmpdir, i);
	snprintf(ready, sizeof(ready), "%s/wready.%d", tmpdir, i);
	snprintf(p->log, sizeof(p->log), "%s/worker.%d.log", tmpdir, i);
	unlink(ready);
	const char *fixed[] = { exe, "--server", servers, "--app", "orders",
		"--secret", "s3cret", "--listen", "tcp://127.0.0.1:0",
		"--data-dir", data, "--ready-file", ready, "--heartbeat-ms",
		"200", "--discover-ms", "500", "--report-ms", "300",
		"--log-flush-ms", "100", "--stop-wait-ms", "2000",
		"--start-wait-ms", "10000", "--log-level", "info", NULL };
	for (int k = 0; fixed[k] != NULL; k++) {
		argv[n++] = fixed[k];
	}
	for (int k = 0; args != NULL && args[k] != NULL && n < 63; k++) {
		argv[n++] = args[k];
	}
	argv[n] = NULL;
	struct tu_spawn_opts o = TU_SPAWN_OPTS_INIT;
	o.out                  = "/dev/null";
	o.err                  = p->log;
	p->pid                 = tu_proc_spawn((char *const *) argv, &o);
	ck_assert_msg(p->pid > 0, "cannot start %s: %s", exe, strerror(errno));
	tu_srv_wait_ready(p, ready, "pj-worker");
}

/* The actor `name` of the pj-server at self (HOST:PORT). */
static inline ar_ref
tu_srv_actor(ar_system *sys, const char *self, const char *name)
{
	char   addr[300];
	ar_ref r;
	snprintf(addr, sizeof(addr), "pj://pjserver@%s/user/%s", self, name);
	ck_assert_int_eq(ar_ref_resolve(sys, addr, &r), 0);
	return r;
}

/* Asks the FriendActor of the pj-server at self to do q (15 s); returns
 * its reply, unpacked (pj__friend__op_reply__free_unpacked). */
static inline Pj__Friend__OpReply *
tu_srv_friend_op(ar_system *sys, const char *self, Pj__Friend__OpRequest *q)
{
	ar_future              *f;
	const ProtobufCMessage *r;
	ck_assert_int_eq(ar_ask(sys, tu_srv_actor(sys, self, "friend"),
	                     &q->base, 15000, &f),
	    0);
	ck_assert_int_eq(ar_future_wait(f, -1, &r), 0);
	ck_assert_ptr_eq(r->descriptor, &pj__friend__op_reply__descriptor);
	size_t   n   = protobuf_c_message_get_packed_size(r);
	uint8_t *buf = malloc(n + 1);
	protobuf_c_message_pack(r, buf);
	Pj__Friend__OpReply *c = pj__friend__op_reply__unpack(NULL, n, buf);
	free(buf);
	ar_future_free(f);
	return c;
}

/* The status of instance id in the store (the test fails when it cannot
 * be read). */
static inline int
tu_srv_instance_status(struct pj_store *st, int64_t id)
{
	struct pj_instance i;
	ck_assert_int_eq(pj_store_instance_get(st, id, &i), 0);
	int s = i.status;
	pj_instance_fini(&i);
	return s;
}

/* Waits up to ms for instance id to reach status want, then asserts it. */
#define TU_SRV_WAIT_STATUS(st, id, want, ms)                                  \
	do {                                                                  \
		int64_t _dl = ar_mono_ms() + (ms);                            \
		while (tu_srv_instance_status(st, id) != (want)               \
		    && ar_mono_ms() < _dl) {                                  \
			usleep(30000);                                        \
		}                                                             \
		ck_assert_int_eq(tu_srv_instance_status(st, id), (want));     \
	} while (0)

#endif
