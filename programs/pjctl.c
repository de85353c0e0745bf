/*
 * pjctl - the operator's command-line client.  At this stage it talks to
 * any system's AdminActor over the actor runtime:
 *
 *   pjctl [--timeout MS] dead-letters ADDRESS [--recent N]
 *   pjctl [--timeout MS] actors ADDRESS
 *   pjctl [--timeout MS] ping ADDRESS
 *
 * Every command takes --cluster-key-file FILE; PJ_CLUSTER_KEY (the key
 * itself) or PJ_CLUSTER_KEY_FILE do the same.  The key must be the one the
 * system asked was started with; without one only systems on loopback
 * that have none answer.
 *
 * ADDRESS is a system address, pj://NAME@HOST:PORT.  pjctl starts its own
 * small system on 127.0.0.1 (an ephemeral port, so replies can reach it),
 * asks /user/admin there, prints the answer and exits: 0 on success, 1 if
 * the system did not answer, 2 on a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/ar.h"
#include "server/cluster/config.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: pjctl [--timeout MS] dead-letters ADDRESS "
	    "[--recent N]\n"
	    "       pjctl [--timeout MS] actors ADDRESS\n"
	    "       pjctl [--timeout MS] ping ADDRESS\n"
	    "ADDRESS is pj://NAME@HOST:PORT (a system's address)\n"
	    "--cluster-key-file FILE (or PJ_CLUSTER_KEY, PJ_CLUSTER_KEY_FILE):"
	    " the deployment's cluster key\n");
}

static void
print_time(int64_t ms)
{
	time_t    t = (time_t) (ms / 1000);
	struct tm tm;
	char      buf[32];
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	printf("%s.%03dZ", buf, (int) (ms % 1000));
}

static int
show_dead_letters(const Ar__DeadLetterReport *r)
{
	printf("dead letters: %llu in total\n", (unsigned long long) r->total);
	printf("%-14s %-36s %10s\n", "REASON", "TYPE", "COUNT");
	for (size_t i = 0; i < r->n_counts; i++) {
		printf("%-14s %-36s %10llu\n",
		    ar_dead_letter_reason(r->counts[i]->reason),
		    r->counts[i]->type[0] ? r->counts[i]->type : "-",
		    (unsigned long long) r->counts[i]->count);
	}
	if (r->n_recent > 0) {
		printf("recent (newest last):\n");
	}
	for (size_t i = 0; i < r->n_recent; i++) {
		const Ar__DeadLetter *d = r->recent[i];
		printf("  ");
		print_time(d->time_ms);
		printf(" %s type=%s recipient=%s sender=%s size=%u%s%s\n",
		    ar_dead_letter_reason(d->reason),
		    d->type[0] ? d->type : "-",
		    d->recipient[0] ? d->recipient : "-",
		    d->sender[0] ? d->sender : "-", d->size,
		    d->detail[0] ? " detail=" : "", d->detail);
	}
	return (0);
}

static int
show_actors(const Ar__ActorsReport *r)
{
	printf("system %s at %s, %zu actors, %llu dead letters\n", r->system,
	    r->address, r->n_actors,
	    (unsigned long long) r->dead_letters_total);
	printf("%-40s %8s %8s %12s %s\n", "PATH", "MAILBOX", "RESTARTS",
	    "PROCESSED", "DISPATCHER");
	for (size_t i = 0; i < r->n_actors; i++) {
		const Ar__ActorInfo *a = r->actors[i];
		printf("%-40s %8u %8u %12llu %s\n", a->path, a->mailbox_depth,
		    a->restarts, (unsigned long long) a->processed,
		    a->dispatcher);
	}
	return (0);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 'T' },
		{ "recent", required_argument, NULL, 'R' },
		{ "cluster-key-file", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int                     timeout_ms = 3000, recent = 20, c, rv;
	const char             *cmd, *address, *key_file = NULL;
	char                    key[1024], err[300];
	char                    admin[512];
	ar_config               cfg;
	ar_system              *sys;
	ar_ref                  to;
	ar_future              *f;
	const ProtobufCMessage *reply;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'T':
			timeout_ms = atoi(optarg);
			break;
		case 'R':
			recent = atoi(optarg);
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
	if (argc - optind != 2) {
		usage(stderr);
		return (2);
	}
	cmd     = argv[optind];
	address = argv[optind + 1];
	if (strcmp(cmd, "dead-letters") != 0 && strcmp(cmd, "actors") != 0
	    && strcmp(cmd, "ping") != 0) {
		fprintf(stderr, "pjctl: unknown command '%s'\n", cmd);
		usage(stderr);
		return (2);
	}
	if (pj_cluster_key_load(key_file, key, sizeof(key), err, sizeof(err))
	    != 0) {
		fprintf(stderr, "pjctl: %s\n", err);
		return (2);
	}
	ar_config_init(&cfg);
	if (key[0] != 0) {
		cfg.cluster_key     = key;
		cfg.cluster_key_len = strlen(key);
	}
	cfg.name               = "pjctl";
	cfg.listen_url         = "tcp://127.0.0.1:0";
	cfg.dispatcher_threads = 1;
	cfg.blocking_threads   = 1;
	cfg.stop_drain_ms      = 200;
	cfg.log_dead_letters   = 0;
	if ((rv = ar_system_start(&cfg, &sys)) != 0) {
		fprintf(stderr, "pjctl: cannot start: %s\n", ar_strerror(rv));
		return (1);
	}
	snprintf(admin, sizeof(admin), "%s/user/admin", address);
	if ((rv = ar_ref_resolve(sys, admin, &to)) != 0) {
		fprintf(stderr,
		    "pjctl: '%s' is not a system address "
		    "(pj://NAME@HOST:PORT)\n",
		    address);
		ar_system_stop(sys);
		return (2);
	}
	if (strcmp(cmd, "dead-letters") == 0) {
		Ar__DeadLetterQuery q = AR__DEAD_LETTER_QUERY__INIT;
		q.recent_limit        = (uint32_t) (recent < 0 ? 0 : recent);
		ar_ask(sys, to, &q.base, timeout_ms, &f);
	} else if (strcmp(cmd, "actors") == 0) {
		Ar__ActorsQuery q = AR__ACTORS_QUERY__INIT;
		ar_ask(sys, to, &q.base, timeout_ms, &f);
	} else {
		Ar__Ping p = AR__PING__INIT;
		p.sent_ms  = ar_now_ms();
		ar_ask(sys, to, &p.base, timeout_ms, &f);
	}
	rv = ar_future_wait(f, -1, &reply);
	if (rv == AR_EFAILED) {
		fprintf(stderr, "pjctl: %s refused: %s\n", address,
		    ((const Ar__AskFailure *) reply)->message);
		rv = 1;
	} else if (rv != 0) {
		/* a link refused on the key refuses this probe at once */
		Ar__Ping probe = AR__PING__INIT;
		bool     auth
		    = ar_tell(sys, to, &probe.base, AR_REF_NONE) == AR_EAUTH;
		fprintf(stderr, "pjctl: no answer from %s within %d ms (%s)\n",
		    admin, timeout_ms,
		    auth ? "the link was refused: another cluster key? "
		           "(--cluster-key-file, PJ_CLUSTER_KEY)"
		         : ar_strerror(rv));
		rv = 1;
	} else if (reply->descriptor == &ar__dead_letter_report__descriptor) {
		rv = show_dead_letters((const Ar__DeadLetterReport *) reply);
	} else if (reply->descriptor == &ar__actors_report__descriptor) {
		rv = show_actors((const Ar__ActorsReport *) reply);
	} else if (reply->descriptor == &ar__pong__descriptor) {
		const Ar__Pong *p = (const Ar__Pong *) reply;
		printf("pong from %s: %lld ms\n", address,
		    (long long) (ar_now_ms() - p->sent_ms));
		rv = 0;
	} else {
		fprintf(stderr, "pjctl: unexpected reply %s\n",
		    reply->descriptor->name);
		rv = 1;
	}
	ar_future_free(f);
	fflush(stdout);
	ar_system_stop(sys);
	return (rv);
}
