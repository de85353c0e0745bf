/*
 * runtime_auth_test.c - authenticated links (runtime/remote_auth.c): two
 * systems with the same cluster key talk; another key, or none against a
 * key, is refused before any message is decoded (UNAUTHENTICATED dead
 * letters on both sides, one log line per peer address); garbage and a
 * replayed handshake are refused, and so is a handshake not done within
 * handshake_timeout_ms; without a key only loopback peers are accepted or
 * dialled (protected mode).
 */
#include <ifaddrs.h>
#include <net/if.h>

#include "t/rawwire.h"
#include "t/testutil.h"

static atomic_long received;

static int
echo_receive(ar_ctx *ctx, void *st, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *m)
{
	(void) st;
	(void) t;
	atomic_fetch_add(&received, 1);
	if (!ar_ref_is_none(ar_ctx_sender(ctx))) {
		ar_reply(ctx, m);
	}
	return (0);
}
static const ar_behavior echo = { NULL, echo_receive, NULL, NULL };

static const char key1[] = "correct horse battery staple";
static const char key2[] = "correct horse battery stable";

typedef struct node {
	ar_system *s;
	ar_ref     admin;
} node;

static node
start(const char *name, const char *key, const char *listen)
{
	ar_config c;
	node      n;
	ar_config_init(&c);
	c.name             = name;
	c.listen_url       = listen;
	c.log_dead_letters = 0;
	c.reconnect_max_ms = 200;
	if (key != NULL) {
		c.cluster_key     = key;
		c.cluster_key_len = strlen(key);
	}
	n.s = tu_start_cfg(&c);
	ck_assert_int_eq(pj_admin_spawn_all(n.s, &n.admin), 0);
	tu_spawn(n.s, "echo", &echo, 0);
	return (n);
}

static ar_ref
echo_of(node *from, const char *host, node *to)
{
	char   addr[300];
	ar_ref r;
	snprintf(addr, sizeof(addr), "pj://%s@%s:%d/user/echo",
	    ar_system_name(to->s), host, ar_system_port(to->s));
	ck_assert_int_eq(ar_ref_resolve(from->s, addr, &r), 0);
	return (r);
}

static int
ask(node *n, ar_ref to, int timeout)
{
	Artest__Num             m = ARTEST__NUM__INIT;
	ar_future              *f;
	const ProtobufCMessage *r;
	int                     rv;
	m.n = 7;
	ck_assert_int_eq(ar_ask(n->s, to, &m.base, timeout, &f), 0);
	rv = ar_future_wait(f, -1, &r);
	if (rv == 0) {
		ck_assert_int_eq(((const Artest__Num *) r)->n, 7);
	}
	ar_future_free(f);
	return (rv);
}

static uint64_t
count(node *n, int reason, const char *detail)
{
	Ar__DeadLetterReport *r = tu_dead_letters(n->s, n->admin, 100);
	uint64_t              k = 0;
	for (size_t i = 0; i < r->n_recent; i++) {
		if ((int) r->recent[i]->reason == reason
		    && (detail == NULL
		        || strstr(r->recent[i]->detail, detail) != NULL)) {
			k++;
		}
	}
	ar__dead_letter_report__free_unpacked(r, NULL);
	return (k);
}

#define UNAUTH AR__DEAD_LETTER_REASON__DEAD_LETTER_UNAUTHENTICATED

START_TEST(same_key_talks)
{
	node a = start("a", key1, "tcp://127.0.0.1:0");
	node b = start("b", key1, "tcp://127.0.0.1:0");
	ck_assert_int_eq(ask(&b, echo_of(&b, "127.0.0.1", &a), 3000), 0);
	ck_assert_int_eq(ask(&a, echo_of(&a, "127.0.0.1", &b), 3000), 0);
	ck_assert_uint_eq(ar_dead_letter_total(a.s), 0);
	ck_assert_uint_eq(ar_dead_letter_total(b.s), 0);
	ar_system_stop(b.s);
	ar_system_stop(a.s);
}
END_TEST

START_TEST(no_key_on_loopback_talks)
{
	node a = start("a", NULL, "tcp://127.0.0.1:0");
	node b = start("b", NULL, "tcp://127.0.0.1:0");
	ck_assert_int_eq(ask(&b, echo_of(&b, "127.0.0.1", &a), 3000), 0);
	ck_assert_int_eq(ask(&a, echo_of(&a, "127.0.0.1", &b), 3000), 0);
	ar_system_stop(b.s);
	ar_system_stop(a.s);
}
END_TEST

/* Counts lines of stderr holding `what` while fn runs. */
static char captured[1 << 16];
static void
capture_begin(int *saved, FILE **f)
{
	fflush(stderr);
	*f     = tmpfile();
	*saved = dup(2);
	dup2(fileno(*f), 2);
}
static void
capture_end(int saved, FILE *f)
{
	size_t n;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n           = fread(captured, 1, sizeof(captured) - 1, f);
	captured[n] = 0;
	fclose(f);
}
static int
occurrences(const char *what)
{
	int n = 0;
	for (const char *p = captured; (p = strstr(p, what)) != NULL; p++) {
		n++;
	}
	return (n);
}

START_TEST(another_key_is_refused_both_ways)
{
	int    saved;
	FILE  *f;
	node   a  = start("a", key1, "tcp://127.0.0.1:0");
	node   b  = start("b", key2, "tcp://127.0.0.1:0");
	ar_ref to = echo_of(&b, "127.0.0.1", &a);
	capture_begin(&saved, &f);
	ck_assert_int_eq(tu_tell_num(b.s, to, 1, 0), 0); /* queued */
	/* the acceptor saw a bad proof; the dialer, its link refused */
	ck_assert(WAIT_UNTIL(count(&a, UNAUTH, "cluster key") >= 3, 5000));
	ck_assert(WAIT_UNTIL(count(&b, UNAUTH, "refused") >= 3, 5000));
	capture_end(saved, f);
	/* nothing reached the echo; the queued tell is a dead letter */
	ck_assert_int_eq(atomic_load(&received), 0);
	ck_assert_uint_ge(count(&b, UNAUTH, NULL), 4);
	/* once refused, a send is a dead letter at once */
	ck_assert_int_eq(tu_tell_num(b.s, to, 2, 0), AR_EAUTH);
	ck_assert_int_ne(ask(&b, to, 300), 0);
	/* one log line per peer address, however many refusals */
	ck_assert_int_eq(occurrences("system=a refused 127.0.0.1: "), 1);
	ck_assert_int_eq(occurrences("system=a refused"), 1);
	ck_assert_int_eq(occurrences("system=b refused 127.0.0.1:"), 1);
	ck_assert_int_eq(occurrences("system=b refused"), 1);
	ck_assert(strstr(captured, key1) == NULL);
	ck_assert(strstr(captured, key2) == NULL);
	ar_system_stop(b.s);
	ar_system_stop(a.s);
}
END_TEST

START_TEST(a_key_against_none_is_refused)
{
	node a = start("a", key1, "tcp://127.0.0.1:0");
	node b = start("b", NULL, "tcp://127.0.0.1:0");
	ck_assert_int_ne(ask(&b, echo_of(&b, "127.0.0.1", &a), 500), 0);
	ck_assert(WAIT_UNTIL(
	    count(&a, UNAUTH, "the peer has no cluster key") >= 1, 3000));
	/* the dialer learns why from the hello it still gets */
	ck_assert(WAIT_UNTIL(
	    count(&b, UNAUTH, "refused: the peer has a cluster key") >= 1,
	    3000));
	ck_assert_int_eq(
	    tu_tell_num(b.s, echo_of(&b, "127.0.0.1", &a), 1, 0), AR_EAUTH);
	ck_assert_int_ne(ask(&a, echo_of(&a, "127.0.0.1", &b), 500), 0);
	ck_assert(WAIT_UNTIL(
	    count(&b, UNAUTH, "has a cluster key and this node none") >= 1,
	    3000));
	ck_assert_int_eq(atomic_load(&received), 0);
	ar_system_stop(b.s);
	ar_system_stop(a.s);
}
END_TEST

/* Raw bytes at a keyed port: garbage, another key, a replay. */
START_TEST(garbage_and_replays_are_refused)
{
	node    a    = start("a", key1, "tcp://127.0.0.1:0");
	node    b    = start("b", key1, "tcp://127.0.0.1:0");
	int     port = ar_system_port(a.s), fd;
	uint8_t junk[RW_HELLO + RW_PROOF], mine[RW_HELLO], proof[RW_PROOF];
	uint8_t in[64];

	/* a hello with a random proof */
	fd = rw_connect(port);
	rw_hello(junk, 4096, true);
	RAND_bytes(junk + RW_HELLO, RW_PROOF);
	ck_assert_int_eq(write(fd, junk, sizeof(junk)), sizeof(junk));
	ck_assert(rw_read(fd, in, RW_HELLO)); /* its hello, then nothing */
	ck_assert(!rw_read(fd, in, 1));
	close(fd);
	ck_assert(WAIT_UNTIL(count(&a, UNAUTH, "did not prove") == 1, 3000));

	/* another key */
	fd = rw_connect(port);
	ck_assert_int_eq(rw_handshake(fd, key2, strlen(key2), NULL, NULL), -1);
	close(fd);
	ck_assert(WAIT_UNTIL(count(&a, UNAUTH, "did not prove") == 2, 3000));

	/* the right key: up; its hello and proof replayed: refused */
	fd = rw_connect(port);
	ck_assert_int_eq(rw_handshake(fd, key1, strlen(key1), mine, proof), 0);
	close(fd);
	fd = rw_connect(port);
	ck_assert_int_eq(write(fd, mine, sizeof(mine)), sizeof(mine));
	ck_assert(rw_read(fd, in, RW_HELLO));
	ck_assert_int_eq(write(fd, proof, sizeof(proof)), sizeof(proof));
	ck_assert(!rw_read(fd, in, 1));
	close(fd);
	ck_assert(WAIT_UNTIL(count(&a, UNAUTH, "did not prove") == 3, 3000));

	/* a frame before the proof is never decoded */
	fd = rw_connect(port);
	rw_hello(junk, 4096, true);
	ck_assert_int_eq(write(fd, junk, RW_HELLO), RW_HELLO);
	ck_assert(rw_read(fd, in, RW_HELLO));
	ck_assert_int_eq(write(fd, "\0\0\0\2\x0a\x05", 6), 6); /* too early */
	RAND_bytes(junk, RW_PROOF);
	ck_assert_int_eq(write(fd, junk, 26), 26); /* 6 + 26 = a "proof" */
	ck_assert(!rw_read(fd, in, 1));
	close(fd);
	ck_assert(WAIT_UNTIL(count(&a, UNAUTH, "did not prove") == 4, 3000));
	ck_assert_uint_eq(
	    count(&a, AR__DEAD_LETTER_REASON__DEAD_LETTER_UNDECODABLE, NULL),
	    0);

	/* and the system still serves a proper peer */
	ck_assert_int_eq(ask(&b, echo_of(&b, "127.0.0.1", &a), 3000), 0);
	ar_system_stop(b.s);
	ar_system_stop(a.s);
}
END_TEST

/* A local IPv4 address that is not loopback, or "" if there is none. */
static void
lan_address(char *buf, size_t n)
{
	struct ifaddrs *ifs, *i;
	buf[0] = 0;
	if (getifaddrs(&ifs) != 0) {
		return;
	}
	for (i = ifs; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET
		    && !(i->ifa_flags & IFF_LOOPBACK)
		    && (i->ifa_flags & IFF_UP)) {
			inet_ntop(AF_INET,
			    &((struct sockaddr_in *) i->ifa_addr)->sin_addr,
			    buf, (socklen_t) n);
			break;
		}
	}
	freeifaddrs(ifs);
}

START_TEST(no_key_accepts_and_dials_loopback_only)
{
	char ip[64];
	lan_address(ip, sizeof(ip));
	if (ip[0] == 0) {
		fprintf(stderr, "no non-loopback address: test skipped\n");
		return;
	}
	node a = start("a", NULL, "tcp://0.0.0.0:0");
	node b = start("b", NULL, "tcp://127.0.0.1:0");
	/* b refuses to dial a host that is not loopback */
	ck_assert_int_ne(ask(&b, echo_of(&b, ip, &a), 500), 0);
	ck_assert(WAIT_UNTIL(count(&b, UNAUTH, "protected mode") >= 1, 3000));
	/* a refuses a connection from it, before reading a byte */
	struct sockaddr_in sa;
	int                fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port   = htons((uint16_t) ar_system_port(a.s));
	inet_pton(AF_INET, ip, &sa.sin_addr);
	ck_assert_int_eq(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	uint8_t h[RW_HELLO], in[8];
	rw_hello(h, 4096, false);
	(void) write(fd, h, sizeof(h));
	ck_assert(!rw_read(fd, in, 1));
	close(fd);
	ck_assert(WAIT_UNTIL(count(&a, UNAUTH, "protected mode") >= 1, 3000));
	/* loopback still works */
	ck_assert_int_eq(ask(&b, echo_of(&b, "127.0.0.1", &a), 3000), 0);
	ar_system_stop(b.s);
	ar_system_stop(a.s);

	/* with a key, the same host over its LAN address is fine */
	a = start("a", key1, "tcp://0.0.0.0:0");
	b = start("b", key1, "tcp://127.0.0.1:0");
	ck_assert_int_eq(ask(&b, echo_of(&b, ip, &a), 3000), 0);
	ar_system_stop(b.s);
	ar_system_stop(a.s);
}
END_TEST

/* A peer that trickles its handshake is refused at the deadline; one
 * that finished it keeps its idle connection. */
START_TEST(a_slow_handshake_is_cut_off)
{
	ar_config c;
	node      a;
	uint8_t   h[RW_HELLO], in[RW_HELLO];
	ar_config_init(&c);
	c.name                 = "a";
	c.listen_url           = "tcp://127.0.0.1:0";
	c.log_dead_letters     = 0;
	c.cluster_key          = key1;
	c.cluster_key_len      = strlen(key1);
	c.handshake_timeout_ms = 300;
	a.s                    = tu_start_cfg(&c);
	ck_assert_int_eq(pj_admin_spawn_all(a.s, &a.admin), 0);
	int slow = rw_connect(ar_system_port(a.s));
	int done = rw_connect(ar_system_port(a.s));
	ck_assert_int_eq(
	    rw_handshake(done, key1, strlen(key1), NULL, NULL), 0);
	rw_hello(h, 4096, true);
	int64_t t0 = ar_mono_ms();
	for (int i = 0; i < RW_HELLO - 1; i++) { /* a byte every 20 ms */
		if (send(slow, h + i, 1, MSG_NOSIGNAL) != 1) {
			break; /* closed: the deadline is for the whole */
		}
		usleep(20000);
	}
	ck_assert(!rw_read(slow, in, 1)); /* closed, nothing answered */
	ck_assert_int_lt(ar_mono_ms() - t0, 530);
	ck_assert(WAIT_UNTIL(count(&a, UNAUTH, "within 300 ms") == 1, 3000));
	usleep(300000);
	ck_assert_int_eq(send(done, "", 0, 0), 0); /* still open */
	struct timeval tv = { 0, 100000 };
	setsockopt(done, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_int_eq(recv(done, in, 1, 0), -1); /* no EOF: alive */
	close(slow);
	close(done);
	ar_system_stop(a.s);
}
END_TEST

START_TEST(bad_key_lengths_are_refused_at_start)
{
	ar_config  c;
	ar_system *s;
	ar_config_init(&c);
	c.cluster_key     = "x";
	c.cluster_key_len = 0;
	ck_assert_int_eq(ar_system_start(&c, &s), AR_EINVAL);
	c.cluster_key_len = AR_MAX_CLUSTER_KEY + 1;
	ck_assert_int_eq(ar_system_start(&c, &s), AR_EINVAL);
}
END_TEST

static void
reset(void)
{
	atomic_store(&received, 0);
}

int
main(void)
{
	const char *lv = getenv("AR_LOG"); /* the refusals are warnings */
	if (lv == NULL || strcmp(lv, "error") == 0) {
		setenv("AR_LOG", "warn", 1);
	}
	Suite *s  = suite_create("runtime_auth");
	TCase *tc = tcase_create("auth");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, reset, NULL);
	tcase_add_test(tc, same_key_talks);
	tcase_add_test(tc, no_key_on_loopback_talks);
	tcase_add_test(tc, another_key_is_refused_both_ways);
	tcase_add_test(tc, a_key_against_none_is_refused);
	tcase_add_test(tc, garbage_and_replays_are_refused);
	tcase_add_test(tc, no_key_accepts_and_dials_loopback_only);
	tcase_add_test(tc, a_slow_handshake_is_cut_off);
	tcase_add_test(tc, bad_key_lengths_are_refused_at_start);
	suite_add_tcase(s, tc);
	return (tu_run(s));
}
