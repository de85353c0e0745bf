/*
 * runtime_multiprocess_test.c - real processes on 127.0.0.1: this test
 * process runs one system, `pj-node` (build/bin) runs the other.  The node
 * is killed with SIGKILL mid-conversation; this side must keep running,
 * time its asks out cleanly, record dead letters, and reconnect when the
 * node comes back.  pjctl is driven as an operator would.
 */
#include <signal.h>
#include <sys/wait.h>

#include "t/spawn.h"
#include "t/testutil.h"

static char bin_dir[512];

static void
find_bins(void)
{
	const char *b = getenv("PJ_BIN");
	snprintf(bin_dir, sizeof(bin_dir), "%s", b ? b : "build/bin");
}

/* Starts pj-node; returns its pid; *portp gets its port. */
static pid_t
start_node(const char *name, int port, int *portp)
{
	char  exe[600], url[64], pf[128];
	pid_t pid;
	snprintf(exe, sizeof(exe), "%s/pj-node", bin_dir);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	snprintf(
	    pf, sizeof(pf), "/tmp/pjnode.%d.%s.port", (int) getpid(), name);
	unlink(pf);
	const char *argv[] = { exe, "--name", name, "--listen", url,
		"--port-file", pf, NULL };
	const char *env[]  = { "AR_LOG", "warn", NULL };
	struct tu_spawn_opts o = TU_SPAWN_OPTS_INIT;
	o.out                  = "/dev/null";
	o.env                  = env;
	pid                    = tu_proc_spawn((char *const *) argv, &o);
	ck_assert_int_gt(pid, 0);
	FILE *f = NULL;
	for (int i = 0; i < 400 && f == NULL; i++) {
		if ((f = fopen(pf, "r")) == NULL) {
			usleep(10000);
		}
	}
	ck_assert_msg(f != NULL, "pj-node did not start (%s)", exe);
	ck_assert_int_eq(fscanf(f, "%d", portp), 1);
	fclose(f);
	unlink(pf);
	return (pid);
}

static int
ask(ar_system *s, ar_ref to, const ProtobufCMessage *m, int timeout,
    char *text, size_t n)
{
	ar_future              *f;
	const ProtobufCMessage *r;
	int                     rv;
	ck_assert_int_eq(ar_ask(s, to, m, timeout, &f), 0);
	rv = ar_future_wait(f, -1, &r);
	if (rv == 0 && text != NULL
	    && r->descriptor == &artest__text__descriptor) {
		snprintf(text, n, "%s", ((const Artest__Text *) r)->s);
	}
	ar_future_free(f);
	return (rv);
}

static int local_answers;
static int
local_echo(ar_ctx *ctx, void *st, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *m)
{
	(void) st;
	(void) t;
	local_answers++;
	return (ar_reply(ctx, m));
}
static const ar_behavior local_beh = { NULL, local_echo, NULL, NULL };

START_TEST(peer_killed_with_sigkill_this_side_keeps_running)
{
	ar_config c;
	int       port, status;
	char      addr[200], stats[128];
	ar_ref    echo, admin, mine;
	find_bins();
	pid_t node = start_node("nodea", 0, &port);

	ar_config_init(&c);
	c.name               = "tester";
	c.listen_url         = "tcp://127.0.0.1:0";
	c.outbound_queue_max = 25000;
	c.log_dead_letters   = 0;
	c.stop_drain_ms      = 200;
	ar_system *s         = tu_start_cfg(&c);
	ck_assert_int_eq(pj_admin_spawn_all(s, &admin), 0);
	mine = tu_spawn(s, "mine", &local_beh, 0);
	snprintf(
	    addr, sizeof(addr), "pj://nodea@127.0.0.1:%d/user/echo", port);
	ck_assert_int_eq(ar_ref_resolve(s, addr, &echo), 0);

	/* tell 20000 in order, then ask the node what it saw */
	for (int i = 1; i <= 20000; i++) {
		ck_assert_int_eq(tu_tell_num(s, echo, i, 0), 0);
	}
	Artest__Text q = ARTEST__TEXT__INIT;
	q.s            = "stats";
	ck_assert(
	    WAIT_UNTIL(ask(s, echo, &q.base, 2000, stats, sizeof(stats)) == 0
	            && strcmp(stats, "received=20000 out_of_order=0") == 0,
	        10000));
	Artest__Num n = ARTEST__NUM__INIT;
	n.n           = 5;
	n.from        = 7;
	ck_assert_int_eq(ask(s, echo, &n.base, 2000, NULL, 0), 0);

	/* SIGKILL: no goodbye */
	kill(node, SIGKILL);
	waitpid(node, &status, 0);
	ck_assert(WIFSIGNALED(status));

	int64_t t0 = ar_mono_ms();
	ck_assert_int_eq(ask(s, echo, &n.base, 300, NULL, 0), AR_ETIMEDOUT);
	ck_assert_int_lt(ar_mono_ms() - t0, 1000);
	int full = 0;
	for (int i = 0; i < 30000; i++) {
		if (tu_tell_num(s, echo, 20001 + i, 0) == AR_EFULL) {
			full++;
		}
	}
	ck_assert_int_ge(full, 4999);
	/* this side still serves its own actors */
	ck_assert_int_eq(ask(s, mine, &n.base, 1000, NULL, 0), 0);
	ck_assert_int_eq(local_answers, 1);
	Ar__DeadLetterReport *rep = tu_dead_letters(s, admin, 3);
	ck_assert_uint_ge(
	    tu_dl_count(rep, AR__DEAD_LETTER_REASON__DEAD_LETTER_UNREACHABLE),
	    (uint64_t) full);
	ck_assert_str_eq(rep->recent[2]->recipient, addr);
	ar__dead_letter_report__free_unpacked(rep, NULL);

	/* the node comes back on the same port: the link heals by itself */
	node       = start_node("nodea", port, &port);
	int     rv = AR_ETIMEDOUT;
	int64_t dl = ar_mono_ms() + 15000;
	while (rv != 0 && ar_mono_ms() < dl) {
		if ((rv = ask(s, echo, &n.base, 300, NULL, 0)) == AR_EFULL) {
			usleep(50000); /* the backlog drains first */
		}
	}
	ck_assert_int_eq(rv, 0);
	kill(node, SIGTERM);
	waitpid(node, &status, 0);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0); /* graceful stop */
	ar_system_stop(s);
}
END_TEST

static int
run(const char *cmd, char *out, size_t n)
{
	FILE  *p = popen(cmd, "r");
	size_t k = 0;
	ck_assert_ptr_nonnull(p);
	while (k + 1 < n && fgets(out + k, (int) (n - k), p) != NULL) {
		k = strlen(out);
	}
	out[k] = '\0';
	int st = pclose(p);
	return (WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

START_TEST(pjctl_queries_a_running_node)
{
	int    port, status;
	char   cmd[1024], out[8192], addr[200];
	ar_ref nobody;
	find_bins();
	pid_t      node = start_node("nodeb", 0, &port);
	ar_system *s    = tu_start("pokes", 1);
	snprintf(
	    addr, sizeof(addr), "pj://nodeb@127.0.0.1:%d/user/nobody", port);
	ck_assert_int_eq(ar_ref_resolve(s, addr, &nobody), 0);
	tu_tell_num(s, nobody, 1, 0);

	snprintf(cmd, sizeof(cmd),
	    "AR_LOG=error %s/pjctl dead-letters pj://nodeb@127.0.0.1:%d",
	    bin_dir, port);
	ck_assert(WAIT_UNTIL(run(cmd, out, sizeof(out)) == 0
	        && strstr(out, "NO_RECIPIENT") != NULL,
	    5000));
	ck_assert_ptr_nonnull(strstr(out, "artest.Num"));
	ck_assert_ptr_nonnull(strstr(out, addr));

	snprintf(cmd, sizeof(cmd),
	    "AR_LOG=error %s/pjctl actors pj://nodeb@127.0.0.1:%d", bin_dir,
	    port);
	ck_assert_int_eq(run(cmd, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "/user/echo"));
	ck_assert_ptr_nonnull(strstr(out, "/user/troubleshooting"));

	kill(node, SIGKILL);
	waitpid(node, &status, 0);
	snprintf(cmd, sizeof(cmd),
	    "AR_LOG=error %s/pjctl --timeout 300 ping pj://nodeb@127.0.0.1:%d "
	    "2>&1",
	    bin_dir, port);
	ck_assert_int_eq(run(cmd, out, sizeof(out)), 4); /* unreachable */
	ck_assert_ptr_nonnull(strstr(out, "no answer"));
	snprintf(
	    cmd, sizeof(cmd), "%s/pjctl ping not-an-address 2>&1", bin_dir);
	ck_assert_int_eq(run(cmd, out, sizeof(out)), 2);
	ar_system_stop(s);
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("runtime_multiprocess");
	TCase *tc = tcase_create("multiprocess");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, peer_killed_with_sigkill_this_side_keeps_running);
	tcase_add_test(tc, pjctl_queries_a_running_node);
	suite_add_tcase(s, tc);
	return (tu_run(s));
}
