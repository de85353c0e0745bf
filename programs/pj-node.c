/*
 * pj-node - a bare actor-system node: the runtime with its
 * TroubleshootingActor and AdminActor plus an echo actor.  It is what `make
 * demo` shows at this stage (two nodes exchanging tells and asks, a dead
 * letter recorded and queried with pjctl) and what the multi-process tests
 * kill with SIGKILL.
 *
 *   pj-node --name NAME [--listen URL] [--port-file FILE]
 *           [--peer ADDRESS] [--tells N] [--asks N] [--run-ms MS]
 *           [--cluster-key-file FILE]
 *
 * The cluster key (--cluster-key-file, PJ_CLUSTER_KEY or
 * PJ_CLUSTER_KEY_FILE) is proved in every connection's hello; without one
 * the node talks to loopback peers only.
 * With --peer (the peer's system address, pj://name@host:port) the node
 * tells N numbered messages to the peer's /user/echo, asks it N times and
 * prints the round trips, and tells one message to /user/nobody there,
 * which the peer records as a dead letter.  Without --run-ms it runs until
 * SIGINT or SIGTERM, then stops gracefully.
 *
 * Design notes (threads): main waits in sigwait(); the actors run on the
 * runtime's dispatcher threads.  The echo actor's counters are only touched
 * by the echo actor itself.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actors/admin.h"
#include "proto/testmsg.pb-c.h"
#include "runtime/ar.h"
#include "server/cluster/config.h"

typedef struct echo_state {
	uint64_t received;
	uint64_t out_of_order;
	int64_t  last[64]; /* last n per sender index */
} echo_state;

/*
 * artest.Num: a tell is counted (and checked for order per `from`); an ask
 * gets the same number back.  artest.Text "stats" answers the counters.
 * artest.Fail makes receive fail with its code (supervision demo).
 */
static int
echo_receive(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *type,
    const ProtobufCMessage *msg)
{
	echo_state *s = state;
	if (type == &artest__num__descriptor) {
		const Artest__Num *n = (const Artest__Num *) msg;
		uint32_t           f = n->from % 64;
		s->received++;
		if (n->n <= s->last[f] && n->n != 0) {
			s->out_of_order++;
		}
		s->last[f] = n->n;
		if (!ar_ref_is_none(ar_ctx_sender(ctx))) {
			ar_reply(ctx, msg);
		}
		return (0);
	}
	if (type == &artest__text__descriptor) {
		char         buf[128];
		Artest__Text t = ARTEST__TEXT__INIT;
		snprintf(buf, sizeof(buf), "received=%llu out_of_order=%llu",
		    (unsigned long long) s->received,
		    (unsigned long long) s->out_of_order);
		t.s = buf;
		ar_reply(ctx, &t.base);
		return (0);
	}
	if (type == &artest__fail__descriptor) {
		return (((const Artest__Fail *) msg)->code);
	}
	return (AR_ETYPE);
}

static const ar_behavior echo_behavior = { NULL, echo_receive, NULL, NULL };

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: pj-node --name NAME [--listen tcp://HOST:PORT] "
	    "[--port-file FILE]\n"
	    "               [--peer pj://NAME@HOST:PORT] [--tells N] [--asks "
	    "N] "
	    "[--run-ms MS]\n"
	    "               [--cluster-key-file FILE] (or PJ_CLUSTER_KEY, "
	    "PJ_CLUSTER_KEY_FILE)\n");
}

static int
talk_to_peer(ar_system *sys, const char *peer, long tells, long asks)
{
	char                    addr[512];
	ar_ref                  echo, nobody;
	ar_future              *f;
	const ProtobufCMessage *r;
	int                     rv;

	snprintf(addr, sizeof(addr), "%s/user/echo", peer);
	if ((rv = ar_ref_resolve(sys, addr, &echo)) != 0) {
		fprintf(stderr, "pj-node: bad peer address '%s': %s\n", peer,
		    ar_strerror(rv));
		return (2);
	}
	for (long i = 1; i <= tells; i++) {
		Artest__Num n = ARTEST__NUM__INIT;
		n.n           = i;
		ar_tell(sys, echo, &n.base, AR_REF_NONE);
	}
	printf("told %ld numbered messages to %s\n", tells, addr);
	double total_us = 0, worst_us = 0;
	long   ok = 0;
	for (long i = 0; i < asks; i++) {
		struct timespec a, b;
		Artest__Num     n = ARTEST__NUM__INIT;
		n.n               = i + 1;
		n.from            = 1;
		clock_gettime(CLOCK_MONOTONIC, &a);
		ar_ask(sys, echo, &n.base, 2000, &f);
		rv = ar_future_wait(f, -1, &r);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (rv == 0) {
			double us = (double) (b.tv_sec - a.tv_sec) * 1e6
			    + (double) (b.tv_nsec - a.tv_nsec) / 1e3;
			total_us += us;
			worst_us = us > worst_us ? us : worst_us;
			ok++;
		} else {
			printf("ask %ld failed: %s\n", i + 1, ar_strerror(rv));
		}
		ar_future_free(f);
	}
	if (asks > 0) {
		printf(
		    "asked %ld times: %ld answered, mean %.0f us, worst %.0f "
		    "us\n",
		    asks, ok, ok ? total_us / (double) ok : 0.0, worst_us);
	}
	Artest__Text stats = ARTEST__TEXT__INIT;
	stats.s            = "stats";
	ar_ask(sys, echo, &stats.base, 2000, &f);
	if (ar_future_wait(f, -1, &r) == 0) {
		printf("peer echo says: %s\n", ((const Artest__Text *) r)->s);
	}
	ar_future_free(f);
	snprintf(addr, sizeof(addr), "%s/user/nobody", peer);
	if (ar_ref_resolve(sys, addr, &nobody) == 0) {
		Artest__Text t = ARTEST__TEXT__INIT;
		t.s            = "is anybody there?";
		ar_tell(sys, nobody, &t.base, AR_REF_NONE);
		printf(
		    "told one message to %s (no such actor: the peer records "
		    "a dead letter)\n",
		    addr);
	}
	fflush(stdout);
	return (0);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "listen", required_argument, NULL, 'l' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "peer", required_argument, NULL, 'P' },
		{ "tells", required_argument, NULL, 't' },
		{ "asks", required_argument, NULL, 'a' },
		{ "run-ms", required_argument, NULL, 'r' },
		{ "cluster-key-file", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	ar_config   cfg;
	ar_system  *sys;
	ar_ref      echo;
	const char *port_file = NULL, *peer = NULL, *key_file = NULL;
	char        key[1024], err[300];
	long        tells = 0, asks = 0, run_ms = -1;
	int         c, rv, status               = 0;
	sigset_t    sigs;

	ar_config_init(&cfg);
	cfg.name       = "node";
	cfg.listen_url = "tcp://127.0.0.1:0";
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			cfg.name = optarg;
			break;
		case 'l':
			cfg.listen_url = optarg;
			break;
		case 'p':
			port_file = optarg;
			break;
		case 'P':
			peer = optarg;
			break;
		case 't':
			tells = strtol(optarg, NULL, 10);
			break;
		case 'a':
			asks = strtol(optarg, NULL, 10);
			break;
		case 'r':
			run_ms = strtol(optarg, NULL, 10);
			break;
		case 'K':
			key_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return (0);
		default:
			usage(stderr);
			return (2);
		}
	}
	if (pj_cluster_key_load(key_file, key, sizeof(key), err, sizeof(err))
	    != 0) {
		fprintf(stderr, "pj-node: %s\n", err);
		return (2);
	}
	if (key[0] != 0) {
		cfg.cluster_key     = key;
		cfg.cluster_key_len = strlen(key);
	}
	/* signals go to sigwait below, not to the runtime's threads */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	ar_registry_add(&artest__num__descriptor);
	ar_registry_add(&artest__text__descriptor);
	ar_registry_add(&artest__blob__descriptor);
	ar_registry_add(&artest__fail__descriptor);
	if ((rv = ar_system_start(&cfg, &sys)) != 0) {
		fprintf(stderr,
		    "pj-node: cannot start system '%s' on %s: %s\n", cfg.name,
		    cfg.listen_url, ar_strerror(rv));
		return (1);
	}
	ar_props p   = { 0 };
	p.behavior   = &echo_behavior;
	p.state_size = sizeof(echo_state);
	if ((rv = pj_admin_spawn_all(sys, NULL)) != 0
	    || (rv = ar_spawn(sys, AR_REF_NONE, "echo", &p, &echo)) != 0) {
		fprintf(stderr, "pj-node: cannot spawn actors: %s\n",
		    ar_strerror(rv));
		ar_system_stop(sys);
		return (1);
	}
	printf("address %s\n", ar_system_address(sys));
	fflush(stdout);
	if (port_file != NULL) {
		char  tmp[1024];
		FILE *f;
		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		if ((f = fopen(tmp, "w")) != NULL) {
			fprintf(f, "%d\n", ar_system_port(sys));
			fclose(f);
			rename(tmp,
			    port_file); /* readers never see half a file */
		}
	}
	if (peer != NULL) {
		status = talk_to_peer(sys, peer, tells, asks);
	}
	if (run_ms >= 0) {
		struct timespec ts
		    = { run_ms / 1000, (run_ms % 1000) * 1000000 };
		siginfo_t si;
		sigtimedwait(&sigs, &si, &ts);
	} else {
		int sig;
		sigwait(&sigs, &sig);
	}
	ar_system_stop(sys);
	return (status);
}
