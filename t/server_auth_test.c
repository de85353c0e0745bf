/*
 * t/server_auth_test.c - authenticated links between real processes:
 * pj-server processes (build/bin) with a cluster key from a file or the
 * environment, pjctl, and this process's own actor systems as workers.
 * Servers with the same key answer each other and a worker holding it; a
 * server, a worker or a pjctl with another key (or none) is refused before
 * any message is decoded: UNAUTHENTICATED dead letters at the server that
 * refused, one log line per peer address.  A server without a key says so
 * at start and answers loopback peers without one.  SQLite only: the
 * database plays no part in the handshake.
 *
 * Design notes (threads): the runtime's threads deliver replies; the test
 * waits on futures.  Children are killed in teardown whatever happened.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t/serverutil.h"
#include "actors/messages.h"
#include "runtime/ar.h"
#include "server/store/store.h"

#define KEY "the deployment key, 32 bytes or so"
#define WRONG "another deployment key"

static struct tu_srv_proc srv[4];
static int                nsrv;
static char               dburl[512], tmpdir[256], keyfile[300];
static struct pj_store   *store;

static ar_system *
client(const char *name, const char *key)
{
	ar_config  c;
	ar_system *s;
	ar_config_init(&c);
	c.name             = name;
	c.listen_url       = "tcp://127.0.0.1:0";
	c.log_dead_letters = 0;
	c.reconnect_max_ms = 300;
	if (key != NULL) {
		c.cluster_key     = key;
		c.cluster_key_len = strlen(key);
	}
	ck_assert_int_eq(ar_system_start(&c, &s), 0);
	return (s);
}

static void
setup(void)
{
	int64_t app_id;
	FILE   *f;
	tu_srv_store_open(0, "/tmp/pjauth.XXXXXX", NULL, 2, tmpdir, NULL,
	    dburl, &store, &app_id);
	snprintf(keyfile, sizeof(keyfile), "%s/cluster.key", tmpdir);
	ck_assert_ptr_nonnull(f = fopen(keyfile, "w"));
	fprintf(f, "%s\n", KEY);
	fclose(f);
	pj_messages_register();
	unsetenv("PJ_CLUSTER_KEY");
	unsetenv("PJ_CLUSTER_KEY_FILE");
	nsrv = 0;
}

static void
teardown(void)
{
	tu_srv_reap(srv, nsrv);
	tu_srv_store_close(store, NULL, tmpdir);
}

/* A server with the key from a file (file != NULL), from PJ_CLUSTER_KEY
 * (env != NULL), or none. */
static int
start_server(const char *file, const char *env)
{
	const char *const envv[] = { "PJ_CLUSTER_KEY", env, NULL };
	const char *const args[]
	    = { "--cluster-key-file", file != NULL ? file : "", NULL };
	int i = nsrv++;
	tu_srv_start(
	    &srv[i], i, tmpdir, dburl, env != NULL ? envv : NULL, args);
	return (i);
}

/* Discovery of "orders" asked of server i by the system s: 0 and the
 * owner in *owner, or the ask's error. */
static int
discover(ar_system *s, int i, int timeout_ms, char *owner, size_t n)
{
	Pj__Cluster__Discover   d = PJ__CLUSTER__DISCOVER__INIT;
	char                    addr[300];
	ar_ref                  to;
	ar_future              *f;
	const ProtobufCMessage *r;
	int                     rv;
	d.app_name       = "orders";
	d.secret         = "s3cret";
	d.worker_address = "pj://test@127.0.0.1:1";
	snprintf(
	    addr, sizeof(addr), "pj://pjserver@%s/user/server", srv[i].self);
	ck_assert_int_eq(ar_ref_resolve(s, addr, &to), 0);
	ck_assert_int_eq(ar_ask(s, to, &d.base, timeout_ms, &f), 0);
	rv = ar_future_wait(f, -1, &r);
	if (rv == 0) {
		const Pj__Cluster__DiscoverReply *dr
		    = (const Pj__Cluster__DiscoverReply *) r;
		ck_assert_msg(
		    dr->code == 0, "code %d %s", dr->code, dr->message);
		snprintf(owner, n, "%s", dr->server);
	}
	ar_future_free(f);
	return (rv);
}

/* Runs pjctl with the environment prefix env; its exit status, its
 * output in out. */
static int
pjctl(const char *env, const char *args, char *out, size_t n)
{
	char  cmd[1200], file[400];
	FILE *f;
	snprintf(file, sizeof(file), "%s/pjctl.out", tmpdir);
	snprintf(cmd, sizeof(cmd), "%s AR_LOG=error '%s/pjctl' %s >'%s' 2>&1",
	    env, getenv("PJ_BIN") ? getenv("PJ_BIN") : "build/bin", args,
	    file);
	int st = system(cmd);
	ck_assert_ptr_nonnull(f = fopen(file, "r"));
	size_t k = fread(out, 1, n - 1, f);
	out[k]   = 0;
	fclose(f);
	return (WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* Lines of server i's log holding `what`; refusal warnings only (not the
 * dead letters logged with the same detail) when it starts "refused". */
static int
log_count(int i, const char *what)
{
	char  line[2048];
	int   k = 0;
	FILE *f = fopen(srv[i].log, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		k += strstr(line, what) != NULL
		    && (strncmp(what, "refused", 7) != 0
		        || strstr(line, "logged once per address") != NULL);
	}
	fclose(f);
	return (k);
}

START_TEST(a_node_with_the_wrong_cluster_key_is_refused)
{
	char owner[64], out[8192], args[400], env[400];
	setup();
	int s0 = start_server(keyfile, NULL); /* the key from a file */
	int s1 = start_server(NULL, KEY);     /* ... from the environment */
	ck_assert_int_eq(log_count(s0, "links are authenticated"), 1);
	ck_assert_int_eq(log_count(s0, "not authenticated"), 0);

	/* a worker with the key: s0 takes the app, s1 pings s0 (same key)
	 * and answers s0 */
	ar_system *good = client("good", KEY);
	ck_assert_int_eq(discover(good, s0, 20000, owner, sizeof(owner)), 0);
	ck_assert_str_eq(owner, srv[s0].self);
	ck_assert_int_eq(discover(good, s1, 20000, owner, sizeof(owner)), 0);
	ck_assert_str_eq(owner, srv[s0].self);

	/* a worker with another key, and one without: refused by both */
	ar_system *bad  = client("bad", WRONG);
	ar_system *none = client("none", NULL);
	ck_assert_int_ne(discover(bad, s0, 1000, owner, sizeof(owner)), 0);
	ck_assert_int_ne(discover(none, s1, 1000, owner, sizeof(owner)), 0);
	ck_assert_uint_gt(ar_dead_letter_total(bad), 0);

	/* a server with another key: its ping of the owner is refused */
	int        s2   = start_server(NULL, WRONG);
	ar_system *bad2 = client("bad2", WRONG);
	(void) discover(bad2, s2, 20000, owner, sizeof(owner));

	/* pjctl: with the key (flag or environment) it is answered; with
	 * another key or none it is refused and says so */
	snprintf(args, sizeof(args),
	    "--cluster-key-file '%s' ping "
	    "pj://pjserver@%s",
	    keyfile, srv[s0].self);
	ck_assert_int_eq(pjctl("", args, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "pong"));
	snprintf(args, sizeof(args), "--timeout 1000 ping pj://pjserver@%s",
	    srv[s0].self);
	snprintf(env, sizeof(env), "PJ_CLUSTER_KEY='%s'", WRONG);
	/* exit 3: authentication (pjctl --help) */
	ck_assert_int_eq(pjctl(env, args, out, sizeof(out)), 3);
	ck_assert_ptr_nonnull(strstr(out, "refused"));
	ck_assert_int_eq(pjctl("", args, out, sizeof(out)), 3);
	ck_assert_ptr_nonnull(strstr(out, "refused"));

	/* s0 recorded each refusal as an UNAUTHENTICATED dead letter, from
	 * a worker, a server and pjctl (another key, and none) */
	snprintf(env, sizeof(env), "PJ_CLUSTER_KEY='%s'", KEY);
	snprintf(args, sizeof(args),
	    "dead-letters pj://pjserver@%s "
	    "--recent 1000",
	    srv[s0].self);
	ck_assert_int_eq(pjctl(env, args, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "UNAUTHENTICATED"));
	ck_assert_ptr_nonnull(strstr(out, "did not prove the cluster key"));
	ck_assert_ptr_nonnull(strstr(out, "the peer has no cluster key"));
	/* logged once for the address, however many refusals */
	ck_assert_int_eq(log_count(s0, "refused 127.0.0.1: "), 1);
	ck_assert_int_eq(log_count(s2, "refused 127.0.0.1:"), 1);
	ck_assert_int_eq(log_count(s0, KEY), 0); /* no key in the log */

	/* the good worker is still served */
	ck_assert_int_eq(discover(good, s0, 20000, owner, sizeof(owner)), 0);
	ar_system_stop(bad2);
	ar_system_stop(none);
	ar_system_stop(bad);
	ar_system_stop(good);
	teardown();
}
END_TEST

START_TEST(no_key_means_loopback_only_and_says_so)
{
	char owner[64], out[4096], args[300];
	setup();
	int s0 = start_server(NULL, NULL);
	ck_assert_int_eq(log_count(s0, "protected mode"), 1);
	ar_system *none = client("none", NULL);
	ck_assert_int_eq(discover(none, s0, 20000, owner, sizeof(owner)), 0);
	snprintf(args, sizeof(args), "ping pj://pjserver@%s", srv[s0].self);
	ck_assert_int_eq(pjctl("", args, out, sizeof(out)), 0);
	ar_system_stop(none);
	teardown();
}
END_TEST

int
main(void)
{
	Suite   *s  = suite_create("server_auth");
	TCase   *tc = tcase_create("auth");
	SRunner *sr;
	int      failed;
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, a_node_with_the_wrong_cluster_key_is_refused);
	tcase_add_test(tc, no_key_means_loopback_only_and_says_so);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
