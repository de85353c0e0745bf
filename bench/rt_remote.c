/*
 * rt_remote.c - two-process benchmarks over 127.0.0.1 tcp: the runtime's
 * remote tell and ask, and raw nng (PUSH/PULL, REQ/REP) with the same
 * counts and sizes as the peer to beat.  One binary: the measuring side
 * starts its partner as `rt_remote peer-... PORT N` (popen of
 * /proc/self/exe) after binding to tcp://127.0.0.1:0.
 *
 *   rt_remote tell N     peer tells N artest.Blob (100 bytes) -> actor; msgs/s
 *   rt_remote nng N      peer PUSHes N 100-byte messages -> PULL; msgs/s
 *   rt_remote ask N      peer asks N times (sequential); "p50 p99" in us
 *   rt_remote nngreq N   peer REQ/REP N round trips, 100 bytes; "p50 p99"
 *
 * Design notes: throughput is timed from the sender's first send to the
 * receiver's last receive, both read from CLOCK_MONOTONIC (one clock for
 * every process on the machine): the sender prints its start time on
 * stdout and the receiver reads it from the pipe.  Connection setup is
 * outside the clock: the runtime's sender first does one ask (both
 * directions connected), the nng PUSH dials synchronously.  The runtime's
 * sender raises outbound_queue_max to N so that a tell burst faster than
 * the link is queued, not dead-lettered (the default bound is 100,000);
 * the dead-letter total is checked to be 0.  Threads: main, the runtime's
 * or nng's own; the receive count is an atomic.  Out of memory aborts
 * (ar_xmalloc), as everywhere in the project.
 */
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "proto/testmsg.pb-c.h"
#include "runtime/ar.h"

#define MSG_BYTES 100
#define WARMUP 500

static atomic_long received;
static long        expected;
static sem_t       done;
static double      t_last;

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double) ts.tv_sec + (double) ts.tv_nsec / 1e9);
}

static void
die(const char *what, int rv)
{
	fprintf(stderr, "rt_remote: %s: %d\n", what, rv);
	exit(1);
}

/* Starts `self mode port n`; returns its stdout. */
static FILE *
start_peer(const char *mode, int port, long n)
{
	char    exe[512], cmd[700];
	FILE   *f;
	ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (k <= 0) {
		die("readlink /proc/self/exe", (int) k);
	}
	exe[k] = '\0';
	snprintf(cmd, sizeof(cmd), "'%s' %s %d %ld", exe, mode, port, n);
	if ((f = popen(cmd, "r")) == NULL) {
		die("popen", 0);
	}
	return (f);
}

static void
wait_done(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 60;
	if (sem_timedwait(&done, &ts) != 0) {
		fprintf(stderr, "rt_remote: timed out after %ld of %ld\n",
		    atomic_load(&received), expected);
		exit(1);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return (x < y ? -1 : x > y);
}

static void
print_pct(double *lat, long n)
{
	qsort(lat, (size_t) n, sizeof(double), cmp_double);
	printf("%.1f %.1f\n", lat[n / 2] * 1e6, lat[(n * 99) / 100] * 1e6);
}

/* ---- the runtime ------------------------------------------------------- */
static int
sink_rcv(ar_ctx *ctx, void *st, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *m)
{
	(void) st;
	if (t == &artest__num__descriptor) {
		return (ar_reply(ctx, m)); /* hello / echo */
	}
	if (atomic_fetch_add(&received, 1) + 1 == expected) {
		t_last = now_s();
		sem_post(&done);
	}
	return (0);
}

static const ar_behavior sink_beh = { NULL, sink_rcv, NULL, NULL };

static ar_system *
start_sys(const char *name, const char *url, uint32_t outq)
{
	ar_config  c;
	ar_system *sys;
	int        rv;
	ar_config_init(&c);
	c.name          = name;
	c.listen_url    = url;
	c.stop_drain_ms = 20000;
	if (outq > c.outbound_queue_max) {
		c.outbound_queue_max = outq;
	}
	if ((rv = ar_system_start(&c, &sys)) != 0) {
		die("ar_system_start", rv);
	}
	ar_registry_add(&artest__num__descriptor);
	ar_registry_add(&artest__blob__descriptor);
	return (sys);
}

/* Receiving side of "tell" and serving side of "ask". */
static void
ar_main(const char *peer_mode, long n)
{
	ar_system *sys = start_sys("rx", "tcp://127.0.0.1:0", 0);
	ar_props   p = { &sink_beh, 0, NULL, AR_DISPATCHER_DEFAULT, 0, { 0 } };
	ar_ref     r;
	FILE      *peer;
	char       line[128];
	int        rv;

	if ((rv = ar_spawn(sys, AR_REF_NONE, "sink", &p, &r)) != 0) {
		die("ar_spawn", rv);
	}
	expected = n;
	peer     = start_peer(peer_mode, ar_system_port(sys), n);
	if (strcmp(peer_mode, "peer-tell") == 0) {
		double t0;
		wait_done();
		if (fgets(line, sizeof(line), peer) == NULL
		    || sscanf(line, "%lf", &t0) != 1) {
			die("peer printed no start time", 0);
		}
		printf("%.0f\n", (double) n / (t_last - t0));
	} else if (fgets(line, sizeof(line), peer) != NULL) {
		fputs(line, stdout);
	} else {
		die("peer printed no result", 0);
	}
	if ((rv = pclose(peer)) != 0) {
		die("peer exit status", rv);
	}
	if (ar_dead_letter_total(sys) != 0) {
		die("dead letters on the receiving side",
		    (int) ar_dead_letter_total(sys));
	}
	ar_system_stop(sys);
}

static void
ar_peer(const char *mode, int port, long n)
{
	ar_system  *sys = start_sys("tx", "tcp://127.0.0.1:0", (uint32_t) n);
	char        addr[128];
	ar_ref      r;
	Artest__Num num = ARTEST__NUM__INIT;
	ar_future  *f;
	const ProtobufCMessage *rep;
	int                     rv;
	long    warm = strcmp(mode, "peer-ask") == 0 ? WARMUP : 1;
	double *lat  = ar_xcalloc((size_t) n, sizeof(double));

	snprintf(addr, sizeof(addr), "pj://rx@127.0.0.1:%d/user/sink", port);
	if ((rv = ar_ref_resolve(sys, addr, &r)) != 0) {
		die("ar_ref_resolve", rv);
	}
	for (long i = 0; i < warm + (warm > 1 ? n : 0); i++) {
		double t0 = now_s();
		num.n     = i;
		if ((rv = ar_ask(sys, r, &num.base, 5000, &f)) != 0
		    || (rv = ar_future_wait(f, -1, &rep)) != 0) {
			die("ar_ask", rv);
		}
		ar_future_free(f);
		if (i >= warm) {
			lat[i - warm] = now_s() - t0;
		}
	}
	if (warm > 1) {
		print_pct(lat, n);
	} else {
		uint8_t      body[MSG_BYTES];
		Artest__Blob b = ARTEST__BLOB__INIT;
		memset(body, 'x', sizeof(body));
		b.b.data  = body;
		b.b.len   = sizeof(body);
		double t0 = now_s();
		for (long i = 0; i < n; i++) {
			if ((rv = ar_tell(sys, r, &b.base, AR_REF_NONE))
			    != 0) {
				die("ar_tell", rv);
			}
		}
		printf("%.9f\n", t0);
	}
	fflush(stdout);
	free(lat);
	ar_system_stop(sys); /* drains the outbound queue */
}

/* ---- raw nng ----------------------------------------------------------- */
static nng_socket
listen_sock(int (*open)(nng_socket *), int *portp)
{
	nng_socket   s;
	nng_listener l;
	int          rv;
	if ((rv = open(&s)) != 0
	    || (rv = nng_listen(s, "tcp://127.0.0.1:0", &l, 0)) != 0
	    || (rv = nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, portp))
	        != 0) {
		die("nng listen", rv);
	}
	return (s);
}

static void
nng_main(const char *peer_mode, long n)
{
	int        port, rv;
	bool       pull = strcmp(peer_mode, "peer-push") == 0;
	nng_socket s
	    = listen_sock(pull ? nng_pull0_open : nng_rep0_open, &port);
	FILE *peer = start_peer(peer_mode, port, n);
	char  line[128];
	long  total = pull ? n : n + WARMUP;

	for (long i = 0; i < total; i++) {
		nng_msg *m;
		if ((rv = nng_recvmsg(s, &m, 0)) != 0) {
			die("nng_recvmsg", rv);
		}
		if (pull) {
			nng_msg_free(m);
		} else if ((rv = nng_sendmsg(s, m, 0)) != 0) {
			die("nng_sendmsg", rv);
		}
	}
	t_last = now_s();
	if (fgets(line, sizeof(line), peer) == NULL) {
		die("peer printed nothing", 0);
	}
	if (pull) {
		printf("%.0f\n", (double) n / (t_last - atof(line)));
	} else {
		fputs(line, stdout);
	}
	if ((rv = pclose(peer)) != 0) {
		die("peer exit status", rv);
	}
	nng_close(s);
}

static void
nng_peer(const char *mode, int port, long n)
{
	char       url[64];
	nng_socket s;
	int        rv;
	bool       push = strcmp(mode, "peer-push") == 0;
	double    *lat  = ar_xcalloc((size_t) n, sizeof(double));

	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	if ((rv = (push ? nng_push0_open : nng_req0_open)(&s)) != 0
	    || (rv = nng_dial(s, url, NULL, 0)) != 0) {
		die("nng dial", rv);
	}
	double t0 = now_s();
	for (long i = 0; i < (push ? n : n + WARMUP); i++) {
		nng_msg *m;
		double   t = now_s();
		if (nng_msg_alloc(&m, MSG_BYTES) != 0) {
			abort();
		}
		memset(nng_msg_body(m), 'x', MSG_BYTES);
		if ((rv = nng_sendmsg(s, m, 0)) != 0) {
			die("nng_sendmsg", rv);
		}
		if (!push) {
			if ((rv = nng_recvmsg(s, &m, 0)) != 0) {
				die("nng_recvmsg", rv);
			}
			nng_msg_free(m);
			if (i >= WARMUP) {
				lat[i - WARMUP] = now_s() - t;
			}
		}
	}
	if (push) {
		printf("%.9f\n", t0);
	} else {
		print_pct(lat, n);
	}
	fflush(stdout);
	free(lat);
	/* PUSH: let the last messages leave before the socket closes */
	if (push) {
		nng_msleep(200);
	}
	nng_close(s);
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	long        n;

	sem_init(&done, 0, 0);
	if (strncmp(mode, "peer-", 5) == 0 && argc == 4) {
		int port = atoi(argv[2]);
		n        = atol(argv[3]);
		if (strcmp(mode, "peer-tell") == 0
		    || strcmp(mode, "peer-ask") == 0) {
			ar_peer(mode, port, n);
		} else {
			nng_peer(mode, port, n);
		}
		return (0);
	}
	if (argc != 3 || (n = atol(argv[2])) <= 0) {
		goto usage;
	}
	if (strcmp(mode, "tell") == 0) {
		ar_main("peer-tell", n);
	} else if (strcmp(mode, "ask") == 0) {
		ar_main("peer-ask", n);
	} else if (strcmp(mode, "nng") == 0) {
		nng_main("peer-push", n);
	} else if (strcmp(mode, "nngreq") == 0) {
		nng_main("peer-req", n);
	} else {
		goto usage;
	}
	return (0);
usage:
	fprintf(stderr, "usage: rt_remote tell|ask|nng|nngreq N\n");
	return (2);
}
