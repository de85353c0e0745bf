/*
 * pjctl - the operator's command-line client.
 *
 * Gateway commands (the OpenAPI of docs/gateway.md, over nng REQ/REP to a
 * server's gateway; pjctl_cmd.c):
 *   pjctl app register|auth, pjctl job save|list|query|fetch|export|copy|
 *   enable|disable|delete|run|preview, pjctl instance status|detail|list|
 *   stop|cancel|retry|log|wait, pjctl worker list
 * Runtime commands (a system's AdminActor over the actor runtime):
 *   pjctl runtime|actors|dead-letters|ping ADDRESS
 * The whole list is usage() below and the README's table.
 *
 * Settings: flags, then environment (PJ_GATEWAY, PJ_APP, PJ_APP_SECRET,
 * PJ_TOKEN, PJ_CLUSTER_KEY / PJ_CLUSTER_KEY_FILE), then the config file
 * (--config FILE, PJ_CTL_CONFIG, else ~/.config/pjctl.conf when present:
 * `gateway = ...`, `app = ...`, `secret = ...`, `token = ...` lines).
 * Exit status: 0 ok, 1 the operation failed, 2 usage, 3 authentication,
 * 4 unreachable.
 *
 * Design notes (threads): the gateway commands use one blocking nng REQ
 * socket from main.  The runtime commands start a small actor system
 * (runtime threads deliver the reply; main waits on the future).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "programs/pjctl.h"
#include "runtime/ar.h"
#include "server/cluster/config.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: pjctl [OPTIONS] COMMAND ...\n"
	    "\n"
	    "Apps, jobs, instances and workers (through a server's gateway):\n"
	    "  app register [NAME] [--title T]     register an app (secret: "
	    "--secret)\n"
	    "  app auth [--ttl-ms MS]              app id and an access "
	    "token\n"
	    "  job save [--id ID] --name N [--type api|cron|fixed-rate|"
	    "fixed-delay|daily]\n"
	    "           [--expr E] [--zone Z] [--execute standalone|broadcast|"
	    "map|map-reduce]\n"
	    "           [--processor shell|builtin|python|external] "
	    "--processor-info I\n"
	    "           [--params P] [--description D] [--max-instances N] "
	    "[--concurrency N]\n"
	    "           [--time-limit-ms MS] [--retry N] [--task-retry N] "
	    "[--workers W]\n"
	    "           [--max-workers N] [--dispatch health-first|random|"
	    "specify] [--tag T]\n"
	    "           [--lifecycle JSON] [--misfire 0|1|2] [--disabled] "
	    "[--file JSON_FILE]\n"
	    "                                      create a job, or update "
	    "job ID\n"
	    "                                      (only the options given)\n"
	    "  job list                            every job of the app\n"
	    "  job query [--name N] [--name-like P] [--status S,..] [--type "
	    "T,..] [--tag T]\n"
	    "            [--page N] [--size N]     jobs matching conditions\n"
	    "  job fetch ID | export ID | copy ID  show / export as JSON / "
	    "copy a job\n"
	    "  job enable ID | disable ID | delete ID\n"
	    "  job run ID [--params P] [--delay MS]  run now: prints the "
	    "instance id\n"
	    "  job preview ID | --type T --expr E [--zone Z] [--count N] "
	    "[--from MS]\n"
	    "                                      next fire times\n"
	    "  instance status ID | detail ID      status / everything known "
	    "(task counts)\n"
	    "  instance list [--job ID] [--status S,..] [--size N] [--after "
	    "CURSOR] [--newest]\n"
	    "  instance stop ID | cancel ID | retry ID\n"
	    "  instance log ID [--follow]          the instance's log\n"
	    "  instance wait ID [--timeout-s S]    follow it to its end, "
	    "tasks done/total\n"
	    "                                      (exit 0 if it succeeded)\n"
	    "  worker list                         the app's workers, "
	    "metrics, "
	    "health score\n"
	    "\n"
	    "Runtime (a server's or worker's AdminActor):\n"
	    "  runtime ADDRESS                     actors, mailbox depths, "
	    "dead "
	    "letters by reason\n"
	    "  actors ADDRESS | ping ADDRESS | dead-letters ADDRESS [--recent "
	    "N]\n"
	    "  ADDRESS is a system address, pj://NAME@HOST:PORT\n"
	    "\n"
	    "Options (flag, then environment, then config file):\n"
	    "  --gateway URL       PJ_GATEWAY     "
	    "default " PJCTL_GATEWAY_DEFAULT "\n"
	    "  --app NAME          PJ_APP\n"
	    "  --secret S          PJ_APP_SECRET\n"
	    "  --token T           PJ_TOKEN       (from app auth; instead of "
	    "the secret)\n"
	    "  --config FILE       PJ_CTL_CONFIG  default "
	    "~/.config/pjctl.conf\n"
	    "  --cluster-key-file FILE  PJ_CLUSTER_KEY(_FILE): for runtime "
	    "commands\n"
	    "  --timeout MS        default %d\n"
	    "  --json              JSON output for scripts\n"
	    "  -v                  show the runtime's log lines\n"
	    "\n"
	    "Exit status: 0 ok, 1 the operation failed, 2 usage, "
	    "3 authentication, 4 unreachable.\n",
	    PJCTL_TIMEOUT_MS_DEFAULT);
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

/* pjctl runtime: the actors and the dead letters by reason, one screen. */
static int
show_runtime(
    const Ar__ActorsReport *a, const Ar__DeadLetterReport *d, bool json)
{
	uint64_t by[32] = { 0 };
	if (json) {
		json_t *j = json_object();
		json_object_set_new(j, "actors", pjctl_pb_to_json(&a->base));
		json_object_set_new(
		    j, "dead_letters", pjctl_pb_to_json(&d->base));
		pjctl_print_json(j);
		return (0);
	}
	show_actors(a);
	for (size_t i = 0; i < a->n_gauges; i++) {
		printf("%-20s %s\n", a->gauges[i]->name, a->gauges[i]->value);
	}
	for (size_t i = 0; i < d->n_counts; i++) {
		int r = d->counts[i]->reason;
		by[r >= 0 && r < 32 ? r : 0] += d->counts[i]->count;
	}
	printf("dead letters by reason (%llu in total):\n",
	    (unsigned long long) d->total);
	for (int r = 0; r < 32; r++) {
		if (by[r] > 0) {
			printf("  %-14s %10llu\n", ar_dead_letter_reason(r),
			    (unsigned long long) by[r]);
		}
	}
	return (0);
}

static int
admin_cmd(const char *cmd, const char *address, int timeout_ms, int recent,
    const char *key_file, bool json)
{
	char                    key[1024], err[300], admin[512];
	ar_config               cfg;
	ar_system              *sys;
	ar_ref                  to;
	ar_future              *f, *f2         = NULL;
	const ProtobufCMessage *reply, *reply2 = NULL;
	int                     rv;

	if (pj_cluster_key_load(key_file, key, sizeof(key), err, sizeof(err))
	    != 0) {
		fprintf(stderr, "pjctl: %s\n", err);
		return (PJCTL_USAGE);
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
		return (PJCTL_FAILED);
	}
	snprintf(admin, sizeof(admin), "%s/user/admin", address);
	if ((rv = ar_ref_resolve(sys, admin, &to)) != 0) {
		fprintf(stderr,
		    "pjctl: '%s' is not a system address "
		    "(pj://NAME@HOST:PORT)\n",
		    address);
		ar_system_stop(sys);
		return (PJCTL_USAGE);
	}
	if (strcmp(cmd, "dead-letters") == 0) {
		Ar__DeadLetterQuery q = AR__DEAD_LETTER_QUERY__INIT;
		q.recent_limit        = (uint32_t) (recent < 0 ? 0 : recent);
		ar_ask(sys, to, &q.base, timeout_ms, &f);
	} else if (strcmp(cmd, "actors") == 0 || strcmp(cmd, "runtime") == 0) {
		Ar__ActorsQuery q = AR__ACTORS_QUERY__INIT;
		ar_ask(sys, to, &q.base, timeout_ms, &f);
		if (strcmp(cmd, "runtime") == 0) {
			Ar__DeadLetterQuery dq = AR__DEAD_LETTER_QUERY__INIT;
			ar_ask(sys, to, &dq.base, timeout_ms, &f2);
		}
	} else {
		Ar__Ping p = AR__PING__INIT;
		p.sent_ms  = ar_now_ms();
		ar_ask(sys, to, &p.base, timeout_ms, &f);
	}
	rv = ar_future_wait(f, -1, &reply);
	if (rv == 0 && f2 != NULL) {
		rv = ar_future_wait(f2, -1, &reply2);
	}
	if (rv == AR_EFAILED) {
		fprintf(stderr, "pjctl: %s refused: %s\n", address,
		    ((const Ar__AskFailure *) reply)->message);
		rv = PJCTL_FAILED;
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
		rv = auth ? PJCTL_AUTH : PJCTL_UNREACHABLE;
	} else if (reply2 != NULL
	    && reply->descriptor == &ar__actors_report__descriptor
	    && reply2->descriptor == &ar__dead_letter_report__descriptor) {
		rv = show_runtime((const Ar__ActorsReport *) reply,
		    (const Ar__DeadLetterReport *) reply2, json);
	} else if (json) {
		pjctl_print_json(pjctl_pb_to_json(reply));
		rv = 0;
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
		rv = PJCTL_FAILED;
	}
	ar_future_free(f);
	if (f2 != NULL) {
		ar_future_free(f2);
	}
	fflush(stdout);
	ar_system_stop(sys);
	return (rv);
}

/* ---- settings --------------------------------------------------------- */

static void
set_from(char *dst, size_t n, const char *flag, const char *env)
{
	const char *v = flag ? flag : getenv(env);
	if (v != NULL) {
		snprintf(dst, n, "%s", v);
	}
}

/* `name = value` lines; '#' comments.  Only fills what is still empty. */
static int
read_config(struct pjctl *o, const char *path, bool must)
{
	FILE *f = fopen(path, "r");
	char  line[2048];
	int   n = 0;
	if (f == NULL) {
		if (must) {
			fprintf(
			    stderr, "pjctl: cannot read config %s\n", path);
			return (PJCTL_USAGE);
		}
		return (0);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *k = line, *eq, *v, *e;
		n++;
		line[strcspn(line, "\r\n")] = 0;
		while (*k == ' ' || *k == '\t') {
			k++;
		}
		if (*k == '#' || *k == 0) {
			continue;
		}
		if ((eq = strchr(k, '=')) == NULL) {
			fprintf(stderr,
			    "pjctl: %s:%d: expected name = value\n", path, n);
			fclose(f);
			return (PJCTL_USAGE);
		}
		for (e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--) { }
		*e = 0;
		for (v = eq + 1; *v == ' ' || *v == '\t'; v++) { }
		struct {
			const char *name;
			char       *dst;
			size_t      n;
		} keys[] = { { "gateway", o->gateway, sizeof(o->gateway) },
			{ "app", o->app, sizeof(o->app) },
			{ "secret", o->secret, sizeof(o->secret) },
			{ "token", o->token, sizeof(o->token) } };
		size_t i;
		for (i = 0; i < 4; i++) {
			if (strcmp(k, keys[i].name) == 0) {
				if (keys[i].dst[0] == 0) {
					snprintf(
					    keys[i].dst, keys[i].n, "%s", v);
				}
				break;
			}
		}
		if (i == 4) {
			fprintf(stderr,
			    "pjctl: %s:%d: unknown key %s (gateway, app, "
			    "secret, token)\n",
			    path, n, k);
			fclose(f);
			return (PJCTL_USAGE);
		}
	}
	fclose(f);
	return (0);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 'T' },
		{ "recent", required_argument, NULL, 'R' },
		{ "cluster-key-file", required_argument, NULL, 'K' },
		{ "gateway", required_argument, NULL, 'g' },
		{ "app", required_argument, NULL, 'a' },
		{ "secret", required_argument, NULL, 's' },
		{ "token", required_argument, NULL, 't' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pjctl o;
	const char  *key_file = NULL, *gw = NULL, *app = NULL, *secret = NULL;
	const char  *token = NULL, *config = NULL, *cmd;
	int          recent = 20, c, rv;

	memset(&o, 0, sizeof(o));
	o.timeout_ms = PJCTL_TIMEOUT_MS_DEFAULT;
	/* --json and -v may also follow the command */
	for (int i = 1, k = 1; i <= argc; i++) {
		if (i < argc && strcmp(argv[i], "--json") == 0) {
			o.json = true;
		} else if (i < argc && strcmp(argv[i], "-v") == 0) {
			o.verbose = true;
		} else {
			argv[k++] = argv[i]; /* argv[argc] is NULL */
			if (i == argc) {
				argc = k - 1;
			}
		}
	}
	/* "+": stop at the command; its own options follow it */
	while ((c = getopt_long(argc, argv, "+hv", opts, NULL)) != -1) {
		switch (c) {
		case 'T':
			o.timeout_ms = atoi(optarg);
			if (o.timeout_ms <= 0) {
				fprintf(stderr,
				    "pjctl: --timeout: a number "
				    "of milliseconds > 0\n");
				return (PJCTL_USAGE);
			}
			break;
		case 'R':
			recent = atoi(optarg);
			break;
		case 'K':
			key_file = optarg;
			break;
		case 'g':
			gw = optarg;
			break;
		case 'a':
			app = optarg;
			break;
		case 's':
			secret = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return (PJCTL_OK);
		default:
			usage(stderr);
			return (PJCTL_USAGE);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return (PJCTL_USAGE);
	}
	if (!o.verbose) {
		setenv("AR_LOG", "error", 1); /* runtime INFO lines: -v */
	}
	set_from(o.gateway, sizeof(o.gateway), gw, "PJ_GATEWAY");
	set_from(o.app, sizeof(o.app), app, "PJ_APP");
	set_from(o.secret, sizeof(o.secret), secret, "PJ_APP_SECRET");
	set_from(o.token, sizeof(o.token), token, "PJ_TOKEN");
	if (config == NULL) {
		config = getenv("PJ_CTL_CONFIG");
	}
	if (config != NULL) {
		if ((rv = read_config(&o, config, true)) != 0) {
			return (rv);
		}
	} else if (getenv("HOME") != NULL) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/.config/pjctl.conf",
		    getenv("HOME"));
		if ((rv = read_config(&o, path, false)) != 0) {
			return (rv);
		}
	}
	if (o.gateway[0] == 0) {
		snprintf(
		    o.gateway, sizeof(o.gateway), "%s", PJCTL_GATEWAY_DEFAULT);
	}
	cmd = argv[optind];
	if (strcmp(cmd, "dead-letters") == 0 || strcmp(cmd, "actors") == 0
	    || strcmp(cmd, "ping") == 0 || strcmp(cmd, "runtime") == 0) {
		if (argc - optind < 2) {
			fprintf(stderr, "usage: pjctl %s ADDRESS\n", cmd);
			return (PJCTL_USAGE);
		}
		for (int i = optind + 2; i < argc; i++) { /* --recent after */
			if (strcmp(argv[i], "--recent") == 0 && i + 1 < argc) {
				recent = atoi(argv[++i]);
			} else {
				fprintf(stderr, "pjctl %s: unexpected '%s'\n",
				    cmd, argv[i]);
				return (PJCTL_USAGE);
			}
		}
		return admin_cmd(cmd, argv[optind + 1], o.timeout_ms, recent,
		    key_file, o.json);
	}
	if (strcmp(cmd, "app") == 0) {
		rv = pjctl_app(&o, argc - optind, argv + optind);
	} else if (strcmp(cmd, "job") == 0) {
		rv = pjctl_job(&o, argc - optind, argv + optind);
	} else if (strcmp(cmd, "instance") == 0) {
		rv = pjctl_instance(&o, argc - optind, argv + optind);
	} else if (strcmp(cmd, "worker") == 0) {
		rv = pjctl_worker(&o, argc - optind, argv + optind);
	} else {
		fprintf(stderr, "pjctl: unknown command '%s'\n", cmd);
		usage(stderr);
		return (PJCTL_USAGE);
	}
	pjctl_close(&o);
	fflush(stdout);
	return (rv);
}
