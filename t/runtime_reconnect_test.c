/*
 * runtime_reconnect_test.c - the remote transport under churn: a peer
 * process (build/t/rt_peer) is killed with SIGKILL and restarted on the
 * same port 50 times while tells and asks flow both ways.  Run in the
 * plain, ASan and TSan builds (a sanitizer report fails the suite).
 *
 * What must hold: every ask ends in a reply or a timeout (never another
 * error, never a hang); the numbers each sender tells arrive strictly
 * increasing at each receiver (in order, never duplicated: what is lost
 * with a dead connection is at most once, never twice), here and in every
 * incarnation of the peer, which reports a violation to /user/checker; and
 * the link heals after every restart (the peer is killed only once an ask
 * has gone through it, at a varying point of the flow after that).
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "t/spawn.h"
#include "t/testutil.h"

#define ROUNDS 50
#define SENDERS 256
#define HUB_FROM 1u  /* the sender thread's tells and asks */
#define MAIN_FROM 2u /* the main thread's asks */

static atomic_long     violations, reports, hub_received;
static atomic_long     asks_ok, asks_timed_out, asks_bad;
static atomic_int      bad_rv;
static atomic_bool     stop_sending;
static pthread_mutex_t text_mtx = PTHREAD_MUTEX_INITIALIZER;
static char            last_text[256];

typedef struct echo_state {
	uint32_t from[SENDERS];
	int64_t  last[SENDERS];
} echo_state;

static void
note(const char *text)
{
	pthread_mutex_lock(&text_mtx);
	snprintf(last_text, sizeof(last_text), "%s", text);
	pthread_mutex_unlock(&text_mtx);
}

static int
echo_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *m)
{
	echo_state        *s = state;
	const Artest__Num *n = (const Artest__Num *) m;
	uint32_t           i;
	if (t != &artest__num__descriptor) {
		return (0);
	}
	for (i = n->from % SENDERS; s->from[i] != 0 && s->from[i] != n->from;
	     i = (i + 1) % SENDERS) { }
	if (s->from[i] == n->from && n->n <= s->last[i]) {
		char buf[160];
		snprintf(buf, sizeof(buf),
		    "hub: from %u number %lld after %lld", n->from,
		    (long long) n->n, (long long) s->last[i]);
		note(buf);
		atomic_fetch_add(&violations, 1);
	}
	s->from[i] = n->from;
	s->last[i] = n->n;
	atomic_fetch_add(&hub_received, 1);
	if (!ar_ref_is_none(ar_ctx_sender(ctx))) {
		ar_reply(ctx, m);
	}
	return (0);
}
static const ar_behavior echo = { NULL, echo_receive, NULL, NULL };

static int
checker_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *m)
{
	(void) ctx;
	(void) state;
	if (t == &artest__text__descriptor) {
		note(((const Artest__Text *) m)->s);
		atomic_fetch_add(&reports, 1);
	}
	return (0);
}
static const ar_behavior checker = { NULL, checker_receive, NULL, NULL };

typedef struct sender_arg {
	ar_system *s;
	ar_ref     to;
} sender_arg;

static int
ask_num(ar_system *s, ar_ref to, int64_t n, uint32_t from, int timeout_ms)
{
	Artest__Num             m = ARTEST__NUM__INIT;
	ar_future              *f;
	const ProtobufCMessage *r;
	int                     rv;
	m.n    = n;
	m.from = from;
	if ((rv = ar_ask(s, to, &m.base, timeout_ms, &f)) != 0) {
		return (rv);
	}
	rv = ar_future_wait(f, -1, &r);
	ar_future_free(f);
	return (rv);
}

/* Tells every millisecond and asks every eighth, one sequence. */
static void *
sender(void *p)
{
	sender_arg *a = p;
	for (int64_t seq = 1; !atomic_load(&stop_sending); seq++) {
		if (seq % 8 == 0) {
			int rv = ask_num(a->s, a->to, seq, HUB_FROM, 300);
			if (rv == 0) {
				atomic_fetch_add(&asks_ok, 1);
			} else if (rv == AR_ETIMEDOUT) {
				atomic_fetch_add(&asks_timed_out, 1);
			} else {
				atomic_store(&bad_rv, rv);
				atomic_fetch_add(&asks_bad, 1);
			}
		} else {
			tu_tell_num(a->s, a->to, seq, HUB_FROM);
			usleep(1000);
		}
	}
	return (NULL);
}

static pid_t
start_peer(const char *hub, int port)
{
	char  exe[600], url[64], pf[128];
	pid_t pid;
	FILE *f = NULL;
	snprintf(exe, sizeof(exe), "%s/rt_peer",
	    getenv("PJ_TEST_BIN") ? getenv("PJ_TEST_BIN") : "build/t");
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	snprintf(pf, sizeof(pf), "/tmp/rtpeer.%d.port", (int) getpid());
	unlink(pf);
	/* RT_PEER_LOG=info to see the peers' side of a failure */
	const char *argv[] = { exe, "--hub", hub, "--listen", url,
		"--port-file", pf, NULL };
	const char *env[]  = { "AR_LOG",
		 getenv("RT_PEER_LOG") ? getenv("RT_PEER_LOG") : "error", NULL };
	struct tu_spawn_opts o = TU_SPAWN_OPTS_INIT;
	o.env                  = env;
	pid                    = tu_proc_spawn((char *const *) argv, &o);
	ck_assert_int_gt(pid, 0);
	for (int i = 0; i < 4000 && f == NULL; i++) { /* 20 s: TSan, load */
		if ((f = fopen(pf, "r")) == NULL) {
			usleep(5000);
		}
	}
	ck_assert_msg(f != NULL, "rt_peer did not start (%s)", exe);
	fclose(f);
	unlink(pf);
	return (pid);
}

static int
free_port(void)
{
	ar_system *p    = tu_start("probe", 1);
	int        port = ar_system_port(p);
	ar_system_stop(p);
	return (port);
}

START_TEST(peer_killed_and_restarted_while_both_sides_talk)
{
	ar_config  c;
	sender_arg sa;
	pthread_t  th;
	char       addr[200];
	int        port     = free_port(), status, rv;
	int64_t    main_seq = 0;
	pid_t      pid;

	ar_config_init(&c);
	c.name             = "hub";
	c.listen_url       = "tcp://127.0.0.1:0";
	c.log_dead_letters = 0;
	c.reconnect_max_ms = 200; /* the peer is back within that */
	c.stop_drain_ms    = 200;
	sa.s               = tu_start_cfg(&c);
	ar_props p         = { 0 };
	p.behavior         = &echo;
	p.state_size       = sizeof(echo_state);
	ar_ref echo_ref;
	ck_assert_int_eq(
	    ar_spawn(sa.s, AR_REF_NONE, "echo", &p, &echo_ref), 0);
	tu_spawn(sa.s, "checker", &checker, 0);
	snprintf(addr, sizeof(addr), "pj://peer@127.0.0.1:%d/user/echo", port);
	ck_assert_int_eq(ar_ref_resolve(sa.s, addr, &sa.to), 0);
	pthread_create(&th, NULL, sender, &sa);

	for (int round = 0; round <= ROUNDS; round++) {
		pid = start_peer(ar_system_address(sa.s), port);
		/* the link heals each time: an ask gets through */
		int64_t until = ar_mono_ms() + 15000;
		while ((rv = ask_num(sa.s, sa.to, ++main_seq, MAIN_FROM, 300))
		        != 0
		    && ar_mono_ms() < until) { }
		ck_assert_msg(
		    rv == 0, "round %d: no answer from the peer", round);
		if (round == ROUNDS) {
			break; /* the last incarnation stops gracefully */
		}
		/* then it dies at some point of the flow */
		usleep((useconds_t) (10 + (round * 37) % 120) * 1000);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		ck_assert(WIFSIGNALED(status));
	}
	atomic_store(&stop_sending, true);
	pthread_join(th, NULL);
	usleep(100000); /* its own asks to us go on meanwhile */
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);

	fprintf(stderr,
	    "reconnect: %d restarts; hub asks ok %ld, timed out %ld; hub "
	    "received %ld numbers\n",
	    ROUNDS, atomic_load(&asks_ok), atomic_load(&asks_timed_out),
	    atomic_load(&hub_received));
	ck_assert_msg(
	    atomic_load(&violations) == 0 && atomic_load(&reports) == 0,
	    "%ld order violations here, %ld reported by peers; last: %s",
	    atomic_load(&violations), atomic_load(&reports), last_text);
	ck_assert_msg(atomic_load(&asks_bad) == 0,
	    "%ld asks ended neither with a reply nor a timeout (last: %s)",
	    atomic_load(&asks_bad), ar_strerror(atomic_load(&bad_rv)));
	ck_assert_int_gt(atomic_load(&asks_ok), 0);
	ck_assert_int_gt(atomic_load(&hub_received), ROUNDS * 10);
	ar_system_stop(sa.s);
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("runtime_reconnect");
	TCase *tc = tcase_create("reconnect");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, peer_killed_and_restarted_while_both_sides_talk);
	suite_add_tcase(s, tc);
	return (tu_run(s));
}
