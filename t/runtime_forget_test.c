/*
 * runtime_forget_test.c - departed peers are forgotten: a hub talks with
 * 500 short-lived peer processes in turn (build/t/rt_peer --once: five
 * tells, one ask, a graceful stop; the hub's reply makes an association
 * back to each and a remote ref to its /temp).  With peer_forget_ms at
 * 200 ms the hub frees what it kept for each departed peer, so its
 * resident memory after the 500th peer is within 10% of what it was after
 * the 50th.  (Before, it grew by some kilobytes per peer for good.)
 * Under a sanitizer (whose allocator keeps freed memory in quarantine)
 * 60 peers run (ASan; 20 under TSan, where a peer takes about a second
 * to start) and the memory is not judged.
 */
#include <sys/wait.h>

#include "t/spawn.h"
#include "t/testutil.h"

#if defined(__SANITIZE_THREAD__) /* a peer takes about a second to start */
#define PEERS 20
#define JUDGE_RSS 0
#elif defined(__SANITIZE_ADDRESS__)
#define PEERS 60
#define JUDGE_RSS 0
#else
#define PEERS 500
#define JUDGE_RSS 1
#endif
#define FIRST (PEERS < 100 ? PEERS / 2 : 50)

static atomic_long received, reports;

static int
echo_receive(ar_ctx *ctx, void *st, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *m)
{
	(void) st;
	if (t == &artest__num__descriptor) {
		atomic_fetch_add(&received, 1);
		if (!ar_ref_is_none(ar_ctx_sender(ctx))) {
			ar_reply(ctx, m);
		}
	}
	return (0);
}
static const ar_behavior echo = { NULL, echo_receive, NULL, NULL };

static int
checker_receive(ar_ctx *ctx, void *st, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *m)
{
	(void) ctx;
	(void) st;
	(void) m;
	if (t == &artest__text__descriptor) {
		atomic_fetch_add(&reports, 1);
	}
	return (0);
}
static const ar_behavior checker = { NULL, checker_receive, NULL, NULL };

static long
rss_kb(void)
{
	long  pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2) {
			resident = 0;
		}
		fclose(f);
	}
	return (resident * (sysconf(_SC_PAGESIZE) / 1024));
}

static void
run_peer(const char *exe, const char *hub)
{
	int   status;
	const char *argv[] = { exe, "--hub", hub, "--once", NULL };
	const char *env[]  = { "AR_LOG", "error", NULL };
	struct tu_spawn_opts o = TU_SPAWN_OPTS_INIT;
	o.env                  = env;
	pid_t pid              = tu_proc_spawn((char *const *) argv, &o);
	ck_assert_int_gt(pid, 0);
	waitpid(pid, &status, 0);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "rt_peer ended with status %d", status);
}

START_TEST(departed_peers_are_forgotten)
{
	ar_config c;
	char      exe[600];
	long      rss_first = 0, rss_last;
	int64_t   t0        = ar_mono_ms();

	snprintf(exe, sizeof(exe), "%s/rt_peer",
	    getenv("PJ_TEST_BIN") ? getenv("PJ_TEST_BIN") : "build/t");
	ar_config_init(&c);
	c.name             = "hub";
	c.listen_url       = "tcp://127.0.0.1:0";
	c.log_dead_letters = 0;
	c.peer_forget_ms   = 200;
	ar_system *s       = tu_start_cfg(&c);
	tu_spawn(s, "echo", &echo, 0);
	tu_spawn(s, "checker", &checker, 0);
	for (int i = 1; i <= PEERS; i++) {
		run_peer(exe, ar_system_address(s));
		if (i == FIRST) {
			rss_first = rss_kb();
		}
		if (getenv("PJ_FORGET_TRACE") != NULL && i % 50 == 0) {
			fprintf(stderr, "peer %d: RSS %ld KiB\n", i, rss_kb());
		}
	}
	rss_last = rss_kb();
	fprintf(stderr,
	    "forget: %d peers in %lld ms; hub RSS %ld KiB after peer %d, "
	    "%ld KiB after peer %d (%+.1f%%)\n",
	    PEERS, (long long) (ar_mono_ms() - t0), rss_first, FIRST, rss_last,
	    PEERS,
	    100.0 * (double) (rss_last - rss_first) / (double) rss_first);
	ck_assert_int_eq(atomic_load(&received), PEERS * 6);
	ck_assert_int_eq(atomic_load(&reports), 0);
	if (JUDGE_RSS) {
		ck_assert_int_le(rss_last, rss_first + rss_first / 10);
	}
	ar_system_stop(s);
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("runtime_forget");
	TCase *tc = tcase_create("forget");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, departed_peers_are_forgotten);
	suite_add_tcase(s, tc);
	return (tu_run(s));
}
