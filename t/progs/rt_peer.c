/*
 * rt_peer - a short-lived peer for the remote transport's multi-process
 * tests (t/runtime_reconnect_test.c, t/runtime_forget_test.c).
 *
 *   rt_peer --hub ADDRESS [--listen URL] [--port-file FILE] [--once]
 *
 * It runs a system "peer" with /user/echo, which replies to asks and
 * checks that the numbers told by each sender (artest.Num `from`) strictly
 * increase: a number that does not (a duplicate or a reordering) is told
 * to the hub's /user/checker as an artest.Text.  Then it talks to the
 * hub's /user/echo: with --once, five tells and one ask, and it stops
 * gracefully; without, a tell every millisecond and an ask every eighth,
 * one sequence for both (from = its pid), until it is killed (SIGTERM:
 * a graceful stop).  An ask that
 * neither succeeds nor times out is reported to the checker too.
 *
 * Design notes (threads): main sends; the echo actor runs on the
 * runtime's dispatcher and owns its table.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/testmsg.pb-c.h"
#include "runtime/ar.h"

#define SENDERS 256

typedef struct echo_state {
	uint32_t from[SENDERS];
	int64_t  last[SENDERS];
} echo_state;

static ar_ref                checker;
static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void) sig;
	stop = 1;
}

static void
report(ar_system *sys, const char *text)
{
	Artest__Text t = ARTEST__TEXT__INIT;
	t.s            = (char *) text;
	ar_tell(sys, checker, &t.base, AR_REF_NONE);
}

static int
echo_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *type,
    const ProtobufCMessage *msg)
{
	echo_state        *s = state;
	const Artest__Num *n = (const Artest__Num *) msg;
	uint32_t           i;
	if (type != &artest__num__descriptor) {
		return (0);
	}
	for (i = n->from % SENDERS; s->from[i] != 0 && s->from[i] != n->from;
	     i = (i + 1) % SENDERS) { }
	if (s->from[i] == n->from && n->n <= s->last[i]) {
		char buf[160];
		snprintf(buf, sizeof(buf),
		    "peer %d: from %u number %lld after %lld", (int) getpid(),
		    n->from, (long long) n->n, (long long) s->last[i]);
		report(ar_ctx_system(ctx), buf);
	}
	s->from[i] = n->from;
	s->last[i] = n->n;
	if (!ar_ref_is_none(ar_ctx_sender(ctx))) {
		ar_reply(ctx, msg);
	}
	return (0);
}

static const ar_behavior echo_behavior = { NULL, echo_receive, NULL, NULL };

static void
ask_once(ar_system *sys, ar_ref to, Artest__Num *n, int timeout_ms)
{
	ar_future              *f;
	const ProtobufCMessage *r;
	int                     rv;
	if (ar_ask(sys, to, &n->base, timeout_ms, &f) != 0) {
		report(sys, "ar_ask refused");
		return;
	}
	rv = ar_future_wait(f, -1, &r);
	if (rv != 0 && rv != AR_ETIMEDOUT) {
		char buf[128];
		snprintf(buf, sizeof(buf), "peer %d: ask ended with %s",
		    (int) getpid(), ar_strerror(rv));
		report(sys, buf);
	}
	ar_future_free(f);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hub", required_argument, NULL, 'H' },
		{ "listen", required_argument, NULL, 'l' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "once", no_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	ar_config   cfg;
	ar_system  *sys;
	ar_ref      echo, hub;
	ar_props    p        = { 0 };
	const char *hub_addr = NULL, *port_file = NULL;
	char        addr[512];
	bool        once = false;
	int         c, rv;

	ar_config_init(&cfg);
	cfg.name             = "peer";
	cfg.listen_url       = "tcp://127.0.0.1:0";
	cfg.log_dead_letters = 0;
	cfg.stop_drain_ms    = 500;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			hub_addr = optarg;
			break;
		case 'l':
			cfg.listen_url = optarg;
			break;
		case 'p':
			port_file = optarg;
			break;
		case 'o':
			once = true;
			break;
		default:
			return (2);
		}
	}
	if (hub_addr == NULL) {
		fprintf(stderr, "rt_peer: --hub ADDRESS is required\n");
		return (2);
	}
	ar_registry_add(&artest__num__descriptor);
	ar_registry_add(&artest__text__descriptor);
	if ((rv = ar_system_start(&cfg, &sys)) != 0) {
		fprintf(
		    stderr, "rt_peer: cannot start: %s\n", ar_strerror(rv));
		return (1);
	}
	p.behavior   = &echo_behavior;
	p.state_size = sizeof(echo_state);
	snprintf(addr, sizeof(addr), "%s/user/checker", hub_addr);
	if (ar_spawn(sys, AR_REF_NONE, "echo", &p, &echo) != 0
	    || ar_ref_resolve(sys, addr, &checker) != 0) {
		fprintf(stderr, "rt_peer: bad hub address %s\n", hub_addr);
		ar_system_stop(sys);
		return (1);
	}
	snprintf(addr, sizeof(addr), "%s/user/echo", hub_addr);
	ar_ref_resolve(sys, addr, &hub);
	if (port_file != NULL) {
		char  tmp[1024];
		FILE *f;
		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		if ((f = fopen(tmp, "w")) != NULL) {
			fprintf(f, "%d\n", ar_system_port(sys));
			fclose(f);
			rename(tmp, port_file);
		}
	}
	Artest__Num n = ARTEST__NUM__INIT;
	n.from        = (uint32_t) getpid();
	signal(SIGTERM, on_term);
	for (int64_t seq = 1; !stop; seq++) {
		n.n = seq;
		if (once) {
			if (seq <= 5) {
				ar_tell(sys, hub, &n.base, AR_REF_NONE);
				continue;
			}
			ask_once(sys, hub, &n, 3000);
			break;
		}
		if (seq % 8 == 0) {
			ask_once(sys, hub, &n, 300);
		} else {
			ar_tell(sys, hub, &n.base, AR_REF_NONE);
			usleep(1000);
		}
	}
	ar_system_stop(sys);
	return (0);
}
