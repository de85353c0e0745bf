/*
 * t/worker_test.c - the worker's pieces without processes: metrics
 * parsing and PowerJob's score, pj-worker's options (flags, PJ_*
 * environment, config file, bad values), the online log queue (bound,
 * drop count, peek / commit, long lines), log configs, and the logger
 * actor's batching and its keeping of lines a server did not accept, and
 * the reporter's re-sending of a final report until a server answers it
 * (a real actor system; a test actor answers as the owner's
 * /user/server).
 *
 * Design notes (threads): the logger test runs a runtime system; the
 * stand-in server actor counts batches in atomics the test polls.  Each
 * test runs in its own Check fork.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors/light_tracker.h"
#include "actors/worker_env.h"
#include "runtime/ar.h"
#include "worker/logq.h"
#include "worker/metrics.h"

/* ---- metrics -------------------------------------------------------------
 */

START_TEST(loadavg_parses_or_is_unknown)
{
	ck_assert_double_eq_tol(
	    pj_metrics_parse_loadavg("0.52 0.58 0.59 1/467 12345\n"), 0.52,
	    1e-9);
	ck_assert_double_eq(pj_metrics_parse_loadavg(""), -1);
	ck_assert_double_eq(pj_metrics_parse_loadavg("garbage"), -1);
	ck_assert_double_eq(pj_metrics_parse_loadavg("-3 1 1"), -1);
	ck_assert_double_eq(pj_metrics_parse_loadavg(NULL), -1);
}
END_TEST

START_TEST(meminfo_parses_total_and_available)
{
	double t, a;
	ck_assert_int_eq(
	    pj_metrics_parse_meminfo("MemTotal:       16777216 kB\n"
	                             "MemFree:         1048576 kB\n"
	                             "MemAvailable:    8388608 kB\n",
	        &t, &a),
	    0);
	ck_assert_double_eq_tol(t, 16.0, 1e-9);
	ck_assert_double_eq_tol(a, 8.0, 1e-9);
	/* old kernels: no MemAvailable -> free + buffers + cached */
	ck_assert_int_eq(pj_metrics_parse_meminfo("MemTotal: 4194304 kB\n"
	                                          "MemFree: 1048576 kB\n"
	                                          "Buffers: 1048576 kB\n"
	                                          "Cached: 1048576 kB\n",
	                     &t, &a),
	    0);
	ck_assert_double_eq_tol(t, 4.0, 1e-9);
	ck_assert_double_eq_tol(a, 3.0, 1e-9);
	/* no MemTotal, or garbage: unknown, no crash */
	ck_assert_int_eq(
	    pj_metrics_parse_meminfo("MemFree: 1 kB\n", &t, &a), -1);
	ck_assert_double_eq(t, 0);
	ck_assert_int_eq(
	    pj_metrics_parse_meminfo("MemTotal: x\n", &t, &a), -1);
	ck_assert_int_eq(pj_metrics_parse_meminfo(NULL, &t, &a), -1);
	/* MemTotalX is not MemTotal */
	ck_assert_int_eq(
	    pj_metrics_parse_meminfo("MemTotalX: 5 kB\n", &t, &a), -1);
}
END_TEST

START_TEST(score_is_powerjobs)
{
	struct pj_sys_metrics m = { 0 };
	m.cpu_processors        = 8;
	m.cpu_load              = 2.0;
	m.mem_used              = 1.0;
	m.mem_max               = 4.0;
	ck_assert_int_eq(pj_metrics_score(&m), 12); /* (4-1)*2 + (8-2) */
	m.cpu_load = -1;                            /* unknown: cpu score 1 */
	ck_assert_int_eq(pj_metrics_score(&m), 7);
}
END_TEST

START_TEST(metrics_of_this_machine)
{
	struct pj_sys_metrics m;
	pj_metrics_read("/tmp", &m);
	ck_assert_int_ge(m.cpu_processors, 1);
	ck_assert(m.cpu_load >= 0);
	ck_assert(m.mem_max > 0);
	ck_assert(m.mem_used >= 0 && m.mem_used <= m.mem_max);
	ck_assert(m.disk_total > 0);
	ck_assert(m.disk_used >= 0 && m.disk_used <= m.disk_total);
	ck_assert_int_eq(m.score, pj_metrics_score(&m));
	pj_metrics_read("/no/such/dir", &m); /* disk unknown, no crash */
	ck_assert(m.disk_total == 0);
}
END_TEST

/* ---- options -------------------------------------------------------------
 */

static int
load(struct pj_worker_config *c, char *err, const char *a1, const char *a2,
    const char *a3, const char *a4)
{
	char *argv[] = { "pj-worker", (char *) a1, (char *) a2, (char *) a3,
		(char *) a4, NULL };
	int   argc   = 1;
	while (argv[argc] != NULL) {
		argc++;
	}
	FILE *out = fopen("/dev/null", "w");
	int   rv  = pj_worker_config_load(c, argc, argv, out, err, 300);
	fclose(out);
	return rv;
}

START_TEST(options_defaults_env_file_flags)
{
	struct pj_worker_config c;
	char                    err[300], path[] = "/tmp/pjwcfg.XXXXXX";
	int                     fd = mkstemp(path);
	FILE                   *f  = fdopen(fd, "w");

	unsetenv("PJ_APP");
	unsetenv("PJ_APP_SECRET");
	unsetenv("PJ_CLUSTER_KEY");
	unsetenv("PJ_CLUSTER_KEY_FILE");
	fprintf(f,
	    "# worker\napp = fromfile\nsecret = filesecret\n"
	    "max-light = 7\ntag = file-tag\nserver = a:1, b:2\n");
	fclose(f);
	setenv("PJ_WORKER_CONFIG", path, 1);
	setenv("PJ_WORKER_TAG", "env-tag", 1);
	ck_assert_int_eq(load(&c, err, "--max-heavy", "3", NULL, NULL), 0);
	ck_assert_str_eq(c.app_name, "fromfile");
	ck_assert_str_eq(c.secret, "filesecret");
	ck_assert_str_eq(c.tag, "env-tag"); /* environment beats the file */
	ck_assert_int_eq(c.max_light, 7);
	ck_assert_int_eq(c.max_heavy, 3);
	ck_assert_int_eq(c.n_servers, 2);
	ck_assert_str_eq(c.servers[1], "b:2");
	/* PowerJob's defaults */
	ck_assert_int_eq(c.heartbeat_ms, 10000);
	ck_assert_int_eq(c.discover_ms, 10000);
	ck_assert_int_eq(c.log_flush_ms, 5000);
	ck_assert_int_eq(c.log_batch, 20);
	ck_assert_int_eq(c.log_queue_max, 10240);
	ck_assert_int_eq(c.max_result_bytes, 8096);
	ck_assert_str_eq(c.listen, "tcp://127.0.0.1:27777");
	/* a flag beats the environment */
	ck_assert_int_eq(
	    load(&c, err, "--tag", "flag-tag", "--app=x", NULL), 0);
	ck_assert_str_eq(c.tag, "flag-tag");
	ck_assert_str_eq(c.app_name, "x");
	/* the cluster key from the environment */
	setenv("PJ_CLUSTER_KEY", "k3y", 1);
	ck_assert_int_eq(load(&c, err, NULL, NULL, NULL, NULL), 0);
	ck_assert_str_eq(c.cluster_key, "k3y");
	unsetenv("PJ_CLUSTER_KEY");
	unlink(path);
	unsetenv("PJ_WORKER_CONFIG");
	unsetenv("PJ_WORKER_TAG");
}
END_TEST

START_TEST(options_refuse_bad_values)
{
	struct pj_worker_config c;
	char                    err[300];

	unsetenv("PJ_WORKER_CONFIG");
	unsetenv("PJ_APP");
	setenv("PJ_APP_SECRET", "s", 1);
	ck_assert_int_eq(load(&c, err, NULL, NULL, NULL, NULL), 2);
	ck_assert_ptr_nonnull(strstr(err, "no app given"));
	setenv("PJ_APP", "a", 1);
	ck_assert_int_eq(load(&c, err, "--max-light", "0", NULL, NULL), 2);
	ck_assert_ptr_nonnull(strstr(err, "max-light"));
	ck_assert_int_eq(load(&c, err, "--report-ms", "ten", NULL, NULL), 2);
	ck_assert_int_eq(load(&c, err, "--server", "nohost", NULL, NULL), 2);
	ck_assert_ptr_nonnull(strstr(err, "HOST:PORT"));
	ck_assert_int_eq(load(&c, err, "--server", "h:99999", NULL, NULL), 2);
	ck_assert_int_eq(
	    load(&c, err, "--listen", "udp://x:1", NULL, NULL), 2);
	ck_assert_int_eq(load(&c, err, "--log-level", "loud", NULL, NULL), 2);
	ck_assert_int_eq(load(&c, err, "--bogus", "1", NULL, NULL), 2);
	ck_assert_ptr_nonnull(strstr(err, "unknown option '--bogus'"));
	ck_assert_int_eq(load(&c, err, "--tag", NULL, NULL, NULL), 2);
	ck_assert_int_eq(load(&c, err, "--config", "/no/such", NULL, NULL), 2);
	ck_assert_int_eq(
	    load(&c, err, "--cluster-key-file", "/no/such", NULL, NULL), 2);
	unsetenv("PJ_APP_SECRET");
	ck_assert_int_eq(load(&c, err, NULL, NULL, NULL, NULL), 2);
	ck_assert_ptr_nonnull(strstr(err, "secret"));
	ck_assert_int_eq(load(&c, err, "--help", NULL, NULL, NULL), 1);
	unsetenv("PJ_APP");
}
END_TEST

/* ---- log queue and log config --------------------------------------------
 */

START_TEST(logq_is_bounded_and_counts_drops)
{
	struct pj_logq     *q = pj_logq_new(3);
	struct pj_logq_line l[8];
	char                big[PJ_LOGQ_LINE_MAX * 2];

	for (int i = 0; i < 5; i++) {
		char s[16];
		snprintf(s, sizeof(s), "line %d", i);
		ck_assert_int_eq(
		    pj_logq_push(q, 7, 1000 + i, 2, s), i < 3 ? 0 : -1);
	}
	ck_assert_uint_eq(pj_logq_len(q), 3);
	ck_assert_uint_eq(pj_logq_dropped(q), 2);
	/* peek does not remove; the oldest first */
	ck_assert_uint_eq(pj_logq_peek(q, l, 2), 2);
	ck_assert_str_eq(l[0].content, "line 0");
	/* numbered in order, one prefix per queue */
	ck_assert_int_gt(l[0].seq, 0);
	ck_assert_int_eq(l[1].seq, l[0].seq + 1);
	ck_assert_str_eq(l[1].content, "line 1");
	ck_assert_int_eq(l[1].log_time, 1001);
	ck_assert_uint_eq(pj_logq_peek(q, l, 8), 3);
	pj_logq_commit(q, 2);
	ck_assert_uint_eq(pj_logq_len(q), 1);
	ck_assert_uint_eq(pj_logq_peek(q, l, 8), 1);
	ck_assert_str_eq(l[0].content, "line 2");
	/* room again; the ring wraps */
	ck_assert_int_eq(pj_logq_push(q, 7, 2000, 3, "after"), 0);
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	ck_assert_int_eq(pj_logq_push(q, 7, 2001, 3, big), 0);
	ck_assert_uint_eq(pj_logq_peek(q, l, 8), 3);
	ck_assert_str_eq(l[1].content, "after");
	ck_assert_uint_eq(strlen(l[2].content), PJ_LOGQ_LINE_MAX + 3);
	ck_assert_str_eq(l[2].content + PJ_LOGQ_LINE_MAX, "...");
	pj_logq_commit(q, 100); /* more than held: all */
	ck_assert_uint_eq(pj_logq_len(q), 0);
	pj_logq_free(q);
}
END_TEST

START_TEST(log_config_parses_codes_and_names)
{
	struct pj_log_config c;
	char                 err[200];
	ck_assert_int_eq(pj_log_config_parse("", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.type, PJ_LOGT_ONLINE);
	ck_assert_int_eq(c.level, PJ_LOG_INFO);
	ck_assert_int_eq(pj_log_config_parse(NULL, &c, err, sizeof(err)), 0);
	ck_assert_int_eq(pj_log_config_parse(
	                     "{\"type\":4,\"level\":3}", &c, err, sizeof(err)),
	    0);
	ck_assert_int_eq(c.type, PJ_LOGT_LOCAL_AND_ONLINE);
	ck_assert_int_eq(c.level, PJ_LOG_WARN);
	ck_assert_int_eq(pj_log_config_parse("{\"type\":\"stdout\","
	                                     "\"level\":\"DEBUG\"}",
	                     &c, err, sizeof(err)),
	    0);
	ck_assert_int_eq(c.type, PJ_LOGT_STDOUT);
	ck_assert_int_eq(c.level, PJ_LOG_DEBUG);
	ck_assert_int_eq(pj_log_config_parse("{\"type\":999,\"level\":null}",
	                     &c, err, sizeof(err)),
	    0);
	ck_assert_int_eq(c.type, PJ_LOGT_NULL);
	ck_assert_int_eq(c.level, PJ_LOG_INFO);
	/* bad: defaults for what is wrong, and a reason */
	ck_assert_int_eq(
	    pj_log_config_parse("{\"type\":5}", &c, err, sizeof(err)), -1);
	ck_assert_int_eq(c.type, PJ_LOGT_ONLINE);
	ck_assert_ptr_nonnull(strstr(err, "unknown type"));
	ck_assert_int_eq(
	    pj_log_config_parse("{\"level\":\"LOUD\"}", &c, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown level"));
	ck_assert_int_eq(
	    pj_log_config_parse("{nope", &c, err, sizeof(err)), -1);
	ck_assert_int_eq(pj_log_config_parse("[1]", &c, err, sizeof(err)), -1);
	ck_assert_int_eq(c.type, PJ_LOGT_ONLINE);
}
END_TEST

/* ---- the logger actor against a stand-in /user/server ---------------------
 */

static atomic_int batches, lines_acked, refuse_first, max_batch;
static _Atomic int64_t refused_seq, first_acked_seq; /* first lines' */

static int
fake_server(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *msg)
{
	Pj__Cluster__Ack a = PJ__CLUSTER__ACK__INIT;
	(void) state;
	if (t != &pj__cluster__log_report__descriptor) {
		return 0;
	}
	const Pj__Cluster__LogReport *r = (const Pj__Cluster__LogReport *) msg;
	for (size_t i = 0; i < r->n_lines; i++) {
		/* numbered, below the server's unnumbered range (bit 62) */
		ck_assert_int_gt(r->lines[i]->seq, 0);
		ck_assert_int_eq(r->lines[i]->seq >> 62, 0);
	}
	if (atomic_exchange(&refuse_first, 0)) {
		atomic_store(&refused_seq, r->lines[0]->seq);
		a.code    = PJ__CLUSTER__CODE__NOT_OWNER;
		a.message = "not the owner";
		ar_reply(ctx, &a.base);
		return 0;
	}
	if (atomic_fetch_add(&batches, 1) == 0) {
		atomic_store(&first_acked_seq, r->lines[0]->seq);
	}
	atomic_fetch_add(&lines_acked, (int) r->n_lines);
	if ((int) r->n_lines > atomic_load(&max_batch)) {
		atomic_store(&max_batch, (int) r->n_lines);
	}
	ck_assert_int_eq(r->app_id, 42);
	ar_reply(ctx, &a.base);
	return 0;
}

static const ar_behavior fake_behavior = { NULL, fake_server, NULL, NULL };

START_TEST(logger_batches_and_keeps_refused_lines)
{
	static struct pj_worker_env env;
	ar_config                   ac;
	ar_system                  *sys;
	ar_props                    p = { 0 };
	char                        addr[300];

	ck_assert_int_eq(pj_worker_messages_register(), 0);
	ar_config_init(&ac);
	ac.name       = "wtest";
	ac.listen_url = "tcp://127.0.0.1:0";
	ck_assert_int_eq(ar_system_start(&ac, &sys), 0);
	p.behavior = &fake_behavior;
	ck_assert_int_eq(ar_spawn(sys, AR_REF_NONE, "server", &p, NULL), 0);
	memset(&env, 0, sizeof(env));
	env.cfg.log_batch      = 20;
	env.cfg.log_queue_max  = 100;
	env.cfg.log_flush_ms   = 50;
	env.cfg.ask_timeout_ms = 2000;
	snprintf(env.cfg.data_dir, sizeof(env.cfg.data_dir), "/tmp");
	pj_worker_env_init(&env, sys);
	atomic_store(&env.app_id, 42);
	ck_assert_int_eq(pj_logger_actor_spawn(&env), 0);
	/* no owner yet: lines wait */
	for (int i = 0; i < 50; i++) {
		pj_worker_log(&env, 1, PJ_LOG_INFO, "line %d", i);
	}
	usleep(200000);
	ck_assert_int_eq(atomic_load(&batches), 0);
	ck_assert_uint_eq(pj_logq_len(env.logq), 50);
	/* an owner that refuses the first batch: nothing is lost */
	atomic_store(&refuse_first, 1);
	snprintf(addr, sizeof(addr), "%s", ar_system_address(sys));
	pj_worker_set_server(&env, "self", addr);
	int64_t dl = ar_mono_ms() + 5000;
	while (atomic_load(&lines_acked) < 50 && ar_mono_ms() < dl) {
		usleep(10000);
	}
	ck_assert_int_eq(atomic_load(&lines_acked), 50);
	ck_assert_int_eq(atomic_load(&batches), 3); /* 20 + 20 + 10 */
	/* the refused batch went again with the same line numbers, so a
	 * server that did store it the first time stores the lines once */
	ck_assert_int_ne(atomic_load(&refused_seq), 0);
	ck_assert_int_eq(
	    atomic_load(&refused_seq), atomic_load(&first_acked_seq));
	ck_assert_int_eq(atomic_load(&max_batch), 20);
	ck_assert_uint_eq(pj_logq_len(env.logq), 0);
	/* no owner (a switch under way) and past the bound: the first 100
	 * kept, 50 dropped and counted */
	pj_worker_set_server(&env, "", "");
	for (int i = 0; i < 150; i++) {
		pj_worker_log(&env, 1, PJ_LOG_INFO, "burst %d", i);
	}
	ck_assert_uint_eq(pj_logq_dropped(env.logq), 50);
	ck_assert_uint_eq(pj_logq_len(env.logq), 100);
	pj_worker_set_server(&env, "self", addr);
	dl = ar_mono_ms() + 5000;
	while (pj_logq_len(env.logq) > 0 && ar_mono_ms() < dl) {
		usleep(10000);
	}
	ck_assert_uint_eq(pj_logq_len(env.logq), 0);
	ck_assert_int_eq(atomic_load(&lines_acked),
	    50 + 150 - (int) pj_logq_dropped(env.logq));
	ar_system_stop(sys);
	pj_worker_env_fini(&env);
}
END_TEST

/* ---- the reporter actor against a stand-in /user/server -------------------
 */

static atomic_int seen7, acked7, seen99;

static int
fake_owner(ar_ctx *ctx, void *state, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *msg)
{
	Pj__Cluster__Ack a = PJ__CLUSTER__ACK__INIT;
	(void) state;
	if (t != &pj__cluster__instance_status_report__descriptor) {
		return 0;
	}
	const Pj__Cluster__InstanceStatusReport *r
	    = (const Pj__Cluster__InstanceStatusReport *) msg;
	ck_assert_str_eq(r->source_address, "pj://wtest@me");
	if (r->instance_id == 99) {
		atomic_fetch_add(&seen99, 1);
		a.code    = PJ__CLUSTER__CODE__BAD_REQUEST;
		a.message = "not its TaskTracker";
		ar_reply(ctx, &a.base);
		return 0;
	}
	switch (atomic_fetch_add(&seen7, 1)) {
	case 0: /* lost: the ask times out */
		return 0;
	case 1: /* an old owner */
		a.code    = PJ__CLUSTER__CODE__NOT_OWNER;
		a.message = "not the owner";
		break;
	default:
		ck_assert_int_eq(r->instance_status, 5);
		ck_assert_str_eq(r->result, "done");
		atomic_fetch_add(&acked7, 1);
	}
	ar_reply(ctx, &a.base);
	return 0;
}

static const ar_behavior owner_behavior = { NULL, fake_owner, NULL, NULL };

START_TEST(reporter_retries_until_acknowledged)
{
	static struct pj_worker_env env;
	ar_config                   ac;
	ar_system                  *sys;
	ar_props                    p = { 0 };
	char                        addr[300];

	ck_assert_int_eq(pj_worker_messages_register(), 0);
	ar_config_init(&ac);
	ac.name       = "wtest";
	ac.listen_url = "tcp://127.0.0.1:0";
	ck_assert_int_eq(ar_system_start(&ac, &sys), 0);
	p.behavior = &owner_behavior;
	ck_assert_int_eq(ar_spawn(sys, AR_REF_NONE, "server", &p, NULL), 0);
	memset(&env, 0, sizeof(env));
	env.cfg.log_batch      = 20;
	env.cfg.log_queue_max  = 100;
	env.cfg.ask_timeout_ms = 300;
	pj_worker_env_init(&env, sys);
	snprintf(env.address, sizeof(env.address), "pj://wtest@me");
	ck_assert_int_eq(pj_reporter_actor_spawn(&env), 0);
	/* a final report made while no owner is known waits for one */
	Pj__Cluster__InstanceStatusReport r
	    = PJ__CLUSTER__INSTANCE_STATUS_REPORT__INIT;
	r.app_id          = 1;
	r.job_id          = 2;
	r.instance_id     = 7;
	r.instance_status = 5;
	r.result          = "done";
	pj_worker_report(&env, &r);
	ck_assert_int_eq(atomic_load(&env.finals_pending), 1);
	usleep(300000);
	ck_assert_int_eq(atomic_load(&seen7), 0);
	snprintf(addr, sizeof(addr), "%s", ar_system_address(sys));
	pj_worker_set_server(&env, "self", addr);
	/* refused for good: dropped after one answer */
	r.instance_id = 99;
	pj_worker_report(&env, &r);
	int64_t dl = ar_mono_ms() + 8000;
	while (atomic_load(&env.finals_pending) > 0 && ar_mono_ms() < dl) {
		usleep(10000);
	}
	ck_assert_int_eq(atomic_load(&env.finals_pending), 0);
	ck_assert_int_eq(atomic_load(&acked7), 1);
	ck_assert_int_eq(atomic_load(&seen7), 3); /* lost, NOT_OWNER, OK */
	ck_assert_int_eq(atomic_load(&seen99), 1);
	usleep(700000); /* nothing is sent again after the answers */
	ck_assert_int_eq(atomic_load(&seen7), 3);
	ck_assert_int_eq(atomic_load(&seen99), 1);
	ar_system_stop(sys);
	pj_worker_env_fini(&env);
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("worker");
	TCase *tc = tcase_create("worker");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, loadavg_parses_or_is_unknown);
	tcase_add_test(tc, meminfo_parses_total_and_available);
	tcase_add_test(tc, score_is_powerjobs);
	tcase_add_test(tc, metrics_of_this_machine);
	tcase_add_test(tc, options_defaults_env_file_flags);
	tcase_add_test(tc, options_refuse_bad_values);
	tcase_add_test(tc, logq_is_bounded_and_counts_drops);
	tcase_add_test(tc, log_config_parses_codes_and_names);
	tcase_add_test(tc, logger_batches_and_keeps_refused_lines);
	tcase_add_test(tc, reporter_retries_until_acknowledged);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
