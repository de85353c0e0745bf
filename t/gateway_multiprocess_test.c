/*
 * gateway_multiprocess_test.c - the OpenAPI gateway end to end: real
 * pj-server processes (build/bin) with their gateways on free ports, test
 * workers (build/t/pj-testworker, which answer every dispatch with
 * SUCCEED) and pjctl (build/bin/pjctl) as a child process for every
 * command, on SQLite and on the private MariaDB (PJ_TEST_MYSQL_URL).
 *
 *  - the whole job and instance OpenAPI through pjctl, with its exit codes;
 *  - wrong credentials, tokens (use, expiry, forgery), another app's ids;
 *  - a client of a server that does not own the app: run, stop, detail and
 *    workers are forwarded to the owner, tokens work on both servers;
 *  - garbage bytes, truncated protobufs, huge fields and 32 clients at
 *    once over raw nng REQ sockets: every one answered, and the gateway
 *    keeps serving.
 * Task counts and the progress of `pjctl instance wait` on a real
 * pj-worker: t/gateway_tasks_multiprocess_test.c (the fixture is shared,
 * t/gatewayutil.h).
 *
 * Design notes (threads): the concurrency test runs 32 client threads,
 * each with its own REQ socket; everything else is the test's thread.
 * Children are killed in teardown whatever happened.
 */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "proto/openapi.pb-c.h"
#include "t/gatewayutil.h"

/* ---- the whole OpenAPI
 * ------------------------------------------------------------- */

START_TEST(openapi_through_pjctl)
{
	char      id[32], inst[32], copy[32];
	long long job, instance;
	json_t   *j;

	setup(_i);
	start_server();
	start_worker(0);
	wait_worker(0);

	/* save (create), fetch, list, query, export, copy, preview */
	OK(PJCTL("job", "save", "--name", "nightly", "--type", "api",
	    "--processor", "shell", "--processor-info", "echo hi", "--params",
	    "p1", "--tag", "t1"));
	job = number_after("job ");
	snprintf(id, sizeof(id), "%lld", job);
	OK(PJCTL("job", "fetch", id));
	HAS("nightly");
	HAS("shell echo hi");
	OK(PJCTL("job", "fetch", id, "--json"));
	ck_assert_ptr_nonnull(j = json_loads(out, 0, NULL));
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(j, "job"), "job_params")),
	    "p1");
	json_decref(j);
	OK(PJCTL("job", "save", "--id", id, "--name", "nightly2", "--type",
	    "cron", "--expr", "0 0 3 * * ?", "--zone", "Asia/Tokyo",
	    "--processor-info", "echo hi"));
	/* an update changes only the options given */
	OK(PJCTL("job", "save", "--id", id, "--expr", "0 30 3 * * ?"));
	OK(PJCTL("job", "fetch", id));
	HAS("nightly2");
	HAS("0 30 3 * * ?");
	HAS("zone Asia/Tokyo");
	OK(PJCTL("job", "list"));
	HAS("nightly2");
	HAS("cron");
	OK(PJCTL(
	    "job", "query", "--name-like", "night%", "--status", "enabled"));
	HAS("nightly2");
	OK(PJCTL("job", "query", "--name", "nope"));
	ck_assert_ptr_null(strstr(out, "nightly"));
	OK(PJCTL("job", "preview", id, "--count", "3"));
	HAS("T03:30:00+09:00");
	OK(PJCTL("job", "preview", "--type", "cron", "--expr", "0 0 12 * * ?",
	    "--zone", "Europe/Paris", "--count", "2"));
	HAS("T12:00:00+0");
	ck_assert_int_eq(PJCTL("job", "preview", "--type", "cron", "--expr",
	                     "0 0 99 * * ?"),
	    1);
	HAS("time_preview.time_expression");
	OK(PJCTL("job", "export", id));
	HAS("nightly2_EXPORT_");
	OK(PJCTL("job", "copy", id));
	snprintf(copy, sizeof(copy), "%lld", number_after("new job "));
	OK(PJCTL("job", "fetch", copy));
	HAS("nightly2_COPY");

	/* disable / enable / delete */
	OK(PJCTL("job", "disable", id));
	OK(PJCTL("job", "fetch", id));
	HAS("disabled");
	OK(PJCTL("job", "enable", id));
	OK(PJCTL("job", "fetch", id));
	HAS("enabled");
	OK(PJCTL("job", "delete", copy));
	OK(PJCTL("job", "query", "--status", "deleted"));
	HAS("nightly2_COPY");
	ck_assert_int_eq(PJCTL("job", "run", copy), 1);
	HAS("deleted");

	/* run, wait, status, detail, list, log, retry */
	OK(PJCTL("job", "run", id, "--params", "ip"));
	instance = number_after("instance ");
	snprintf(inst, sizeof(inst), "%lld", instance);
	OK(PJCTL("instance", "wait", inst, "--timeout-s", "20"));
	HAS("succeed");
	OK(PJCTL("instance", "status", inst));
	HAS("succeed");
	OK(PJCTL("instance", "detail", inst));
	HAS("params          ip");
	HAS("served by");
	OK(PJCTL("instance", "list", "--job", id));
	HAS(inst);
	OK(PJCTL("instance", "list", "--status", "running"));
	ck_assert_ptr_null(strstr(out, inst));
	{ /* log lines as a worker would report them */
		struct pj_log_line l[1500];
		char               text[1500][32];
		for (int k = 0; k < 1500; k++) {
			snprintf(text[k], sizeof(text[k]), "line-%04d", k);
			l[k] = (struct pj_log_line) { .instance_id = instance,
				.log_time       = ar_now_ms() + k,
				.log_level      = 2,
				.content        = text[k],
				.worker_address = "w0" };
		}
		ck_assert_int_eq(pj_store_logs_append(store, l, 1500), 0);
	}
	OK(PJCTL("instance", "log", inst));
	HAS("INFO  [w0] line-0000");
	HAS("line-1499"); /* more than one page */
	OK(PJCTL("instance", "log", inst, "--follow")); /* it has ended */
	HAS("line-1499");
	OK(PJCTL("instance", "retry", inst));
	OK(PJCTL("instance", "wait", inst, "--timeout-s", "20"));
	/* a finished instance cannot be stopped or cancelled */
	ck_assert_int_eq(PJCTL("instance", "stop", inst), 1);
	HAS("CONFLICT");
	ck_assert_int_eq(PJCTL("instance", "cancel", inst), 1);
	ck_assert_int_eq(PJCTL("instance", "status", "12345"), 1);
	HAS("no instance 12345");

	/* a delayed run: its instance is recorded at once by the owner,
	 * waiting for its time */
	OK(PJCTL("job", "run", id, "--delay", "4000"));
	HAS("instance ");
	{
		char dinst[32] = "";
		ck_assert_int_eq(
		    sscanf(strstr(out, "instance ") + 9, "%31s", dinst), 1);
		OK(PJCTL("instance", "status", dinst));
		HAS("waiting-dispatch");
		OK(PJCTL("instance", "wait", dinst, "--timeout-s", "20"));
	}
	for (int k = 0; k < 50; k++) {
		OK(PJCTL(
		    "instance", "list", "--job", id, "--status", "succeed"));
		if (strstr(out, "succeed") != NULL
		    && strstr(strstr(out, "succeed") + 1, "succeed") != NULL) {
			break;
		}
		usleep(100000);
	}
	OK(PJCTL("instance", "list", "--job", id, "--json"));
	ck_assert_ptr_nonnull(j = json_loads(out, 0, NULL));
	ck_assert_int_eq(json_array_size(json_object_get(
	                     json_object_get(j, "instances"), "instances")),
	    2);
	json_decref(j);
	/* newest first: the delayed run's instance, then the first one */
	OK(PJCTL("instance", "list", "--job", id, "--newest", "--size", "1"));
	HAS("more: --newest --after");
	ck_assert_ptr_null(strstr(out, inst));
	OK(PJCTL("instance", "list", "--job", id, "--size", "1"));
	HAS(inst);

	/* workers with metrics and score */
	OK(PJCTL("worker", "list"));
	HAS("SCORE");
	HAS("testworker");
	OK(PJCTL("worker", "list", "--json"));
	HAS("\"score\"");

	/* the runtime of the server: the gateway's actors are there */
	{
		char addr[300];
		snprintf(addr, sizeof(addr), "pj://pjserver@%s", srv[0].self);
		OK(PJCTL("runtime", addr));
		HAS("/user/gateway/h0");
		HAS("dead letters by reason");
		/* the log writer's gauges: store up, spool empty, its bound */
		HAS("log store");
		HAS("log spool            0 lines, 0 of ");
	}

	/* usage errors */
	ck_assert_int_eq(PJCTL("job", "fetch"), 2);
	ck_assert_int_eq(PJCTL("job", "frobnicate", "1"), 2);
	ck_assert_int_eq(PJCTL("job", "save", "--bogus", "1"), 2);
	ck_assert_int_eq(PJCTL("job", "save", "--type", "weekly"), 2);
	teardown();
}
END_TEST

/* ---- authentication
 * ---------------------------------------------------------------- */

START_TEST(wrong_credentials_tokens_and_ownership)
{
	char      tok[200], id[32];
	long long job;
	setup(_i);
	start_server();
	OK(PJCTL("job", "save", "--name", "mine", "--processor-info", "x"));
	job = number_after("job ");
	snprintf(id, sizeof(id), "%lld", job);

	ck_assert_int_eq(
	    pjctl_as(0, "orders", "wrong", "job", "list", NULL), 3);
	HAS("wrong secret");
	ck_assert_ptr_null(strstr(out, "s3cret"));
	ck_assert_int_eq(
	    pjctl_as(0, "ghost", "s3cret", "job", "list", NULL), 3);
	HAS("no app named ghost");
	ck_assert_int_eq(pjctl_as(0, NULL, NULL, "job", "list", NULL), 3);
	HAS("auth:");

	/* a token, then its expiry (slow sanitizer builds: 6 s of life,
	 * the expiry read from the token) */
	OK(PJCTL("app", "auth", "--ttl-ms", "6000"));
	ck_assert_int_eq(sscanf(strstr(out, "token") + 5, "%199s", tok), 1);
	OK(pjctl_as(0, NULL, NULL, "--token", tok, "job", "fetch", id, NULL));
	HAS("mine");
	char was = tok[5];
	tok[5]   = was == '9' ? '8' : '9'; /* forged */
	ck_assert_int_eq(
	    pjctl_as(0, NULL, NULL, "--token", tok, "job", "fetch", id, NULL),
	    3);
	HAS("INVALID_TOKEN");
	tok[5]          = was;
	long long until = strtoll(strchr(tok + 4, '.') + 1, NULL, 10);
	ck_assert_int_gt(until, ar_now_ms());
	while (ar_now_ms() <= until) {
		usleep(100000);
	}
	ck_assert_int_eq(
	    pjctl_as(0, NULL, NULL, "--token", tok, "job", "fetch", id, NULL),
	    3);
	HAS("expired");

	/* credentials from a config file */
	{
		char  conf[400];
		FILE *f;
		snprintf(conf, sizeof(conf), "%s/pjctl.conf", tmpdir);
		ck_assert_ptr_nonnull(f = fopen(conf, "w"));
		fprintf(f, "# pjctl\napp = orders\nsecret = s3cret\n");
		fclose(f);
		OK(pjctl_as(0, NULL, NULL, "--config", conf, "job", "fetch",
		    id, NULL));
		HAS("mine");
		ck_assert_int_eq(pjctl_as(0, NULL, NULL, "--config",
		                     "/nonexistent", "job", "list", NULL),
		    2);
	}

	/* another app sees none of ours */
	OK(pjctl_as(0, "rival", "pw", "app", "register", NULL));
	HAS("registered");
	ck_assert_int_eq(
	    pjctl_as(0, "rival", "pw", "app", "register", NULL), 1);
	HAS("exists already");
	ck_assert_int_eq(
	    pjctl_as(0, "rival", "pw", "job", "fetch", id, NULL), 1);
	HAS("belongs to another app");
	ck_assert_int_eq(
	    pjctl_as(0, "rival", "pw", "job", "delete", id, NULL), 1);
	ck_assert_int_eq(
	    pjctl_as(0, "rival", "pw", "job", "run", id, NULL), 1);
	HAS("NO_PERMISSION");
	OK(pjctl_as(0, "rival", "pw", "job", "list", NULL));
	ck_assert_ptr_null(strstr(out, "mine"));
	/* a gateway that is not there */
	snprintf(gwurl[1], sizeof(gwurl[1]), "tcp://127.0.0.1:1");
	ck_assert_int_eq(PJCTL_AT(1, "job", "list"), 4);
	teardown();
}
END_TEST

/* ---- forwarding
 * --------------------------------------------------------------------- */

START_TEST(non_owner_forwards_to_the_owner)
{
	char      id[32], inst[32], tok[200];
	long long job;
	setup(_i);
	start_server(); /* 0: will own the app */
	start_server(); /* 1: the client's */
	start_worker(0);
	wait_worker(0);
	OK(PJCTL_AT(
	    1, "job", "save", "--name", "fw", "--processor-info", "x"));
	job = number_after("job ");
	snprintf(id, sizeof(id), "%lld", job);
	OK(PJCTL_AT(1, "worker", "list"));
	HAS(srv[0].self); /* answered by the owner */
	HAS("testworker");
	OK(PJCTL_AT(1, "job", "run", id));
	snprintf(inst, sizeof(inst), "%lld", number_after("instance "));
	OK(PJCTL_AT(1, "instance", "wait", inst, "--timeout-s", "20"));
	OK(PJCTL_AT(1, "instance", "detail", inst));
	HAS("succeed");
	HAS(srv[0].self);
	ck_assert_int_eq(PJCTL_AT(1, "instance", "stop", inst), 1);
	HAS("only a waiting or running instance");
	OK(PJCTL_AT(1, "instance", "retry", inst));
	OK(PJCTL_AT(1, "instance", "wait", inst, "--timeout-s", "20"));
	/* a token from one server works on the other (one cluster key) */
	OK(PJCTL_AT(0, "app", "auth"));
	ck_assert_int_eq(sscanf(strstr(out, "token") + 5, "%199s", tok), 1);
	OK(pjctl_as(1, NULL, NULL, "--token", tok, "job", "fetch", id, NULL));
	HAS("fw");
	teardown();
}
END_TEST

/* ---- bad input and concurrency
 * ---------------------------------------------------- */

/* One raw request; 0 with the decoded reply, or the nng error. */
static int
raw(nng_socket s, const void *buf, size_t n, Pj__Openapi__Reply **rp)
{
	nng_msg *m;
	int      rv;
	*rp = NULL;
	ck_assert_int_eq(nng_msg_alloc(&m, n), 0);
	if (n > 0) {
		memcpy(nng_msg_body(m), buf, n);
	}
	if ((rv = nng_sendmsg(s, m, 0)) != 0) {
		nng_msg_free(m);
		return rv;
	}
	if ((rv = nng_recvmsg(s, &m, 0)) != 0) {
		return rv;
	}
	*rp = pj__openapi__reply__unpack(
	    NULL, nng_msg_len(m), nng_msg_body(m));
	nng_msg_free(m);
	return *rp ? 0 : NNG_EPROTO;
}

static nng_socket
client(int g)
{
	nng_socket s;
	ck_assert_int_eq(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10000);
	ck_assert_int_eq(nng_dial(s, gwurl[g], NULL, 0), 0);
	return s;
}

static size_t
fetch_request(int64_t job, const char *secret, uint8_t *buf)
{
	Pj__Openapi__Request     r = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__Credentials c = PJ__OPENAPI__CREDENTIALS__INIT;
	Pj__Openapi__JobFetch    f = PJ__OPENAPI__JOB_FETCH__INIT;
	c.app_name                 = "orders";
	c.secret                   = (char *) secret;
	f.job_id                   = job;
	r.auth                     = &c;
	r.op_case                  = PJ__OPENAPI__REQUEST__OP_JOB_FETCH;
	r.job_fetch                = &f;
	return pj__openapi__request__pack(&r, buf);
}

static int64_t cc_job;
struct cc_result {
	int answered, fetched, refused, failures;
};

static void *
cc_client(void *arg)
{
	struct cc_result *res = arg;
	nng_socket        s;
	uint8_t           good[256], junk[64];
	unsigned          seed = (unsigned) (uintptr_t) arg;
	size_t            n    = fetch_request(cc_job, "s3cret", good);
	if (nng_req0_open(&s) != 0) {
		res->failures++;
		return NULL;
	}
	nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 20000);
	if (nng_dial(s, gwurl[0], NULL, 0) != 0) {
		res->failures++;
		nng_close(s);
		return NULL;
	}
	for (int k = 0; k < 40; k++) {
		Pj__Openapi__Reply *r;
		int                 kind = k % 4, rv;
		if (kind == 0) { /* garbage */
			for (size_t b = 0; b < sizeof(junk); b++) {
				junk[b] = (uint8_t) rand_r(&seed);
			}
			rv = raw(
			    s, junk, 1 + rand_r(&seed) % sizeof(junk), &r);
		} else if (kind == 1) { /* truncated */
			rv = raw(s, good, 1 + rand_r(&seed) % (n - 1), &r);
		} else {
			rv = raw(s, good, n, &r);
		}
		if (rv != 0) {
			res->failures++;
			continue;
		}
		res->answered++;
		if (kind >= 2 && r->success
		    && r->data_case == PJ__OPENAPI__REPLY__DATA_JOB
		    && r->job->id == cc_job) {
			res->fetched++;
		} else if (kind < 2 && !r->success && r->message[0]) {
			res->refused++;
		} else if (kind >= 2 || r->success) {
			/* a truncated request may still decode and succeed */
			res->refused += kind < 2;
		}
		pj__openapi__reply__free_unpacked(r, NULL);
	}
	nng_close(s);
	return NULL;
}

START_TEST(garbage_huge_and_32_clients)
{
	nng_socket          s;
	Pj__Openapi__Reply *r;
	uint8_t             good[256], *big;
	size_t              n;
	setup(_i);
	start_server();
	OK(PJCTL("job", "save", "--name", "g", "--processor-info", "x"));
	cc_job = number_after("job ");
	s      = client(0);

	/* garbage bytes, empty, truncated */
	ck_assert_int_eq(raw(s, "\xff\xff\xff\xff\xff", 5, &r), 0);
	ck_assert(!r->success);
	ck_assert_int_eq(r->code, PJ__OPENAPI__CODE__INVALID_REQUEST);
	ck_assert_ptr_nonnull(strstr(r->message, "do not decode"));
	pj__openapi__reply__free_unpacked(r, NULL);
	ck_assert_int_eq(raw(s, "", 0, &r), 0);
	ck_assert_ptr_nonnull(strstr(r->message, "empty"));
	pj__openapi__reply__free_unpacked(r, NULL);
	n = fetch_request(cc_job, "s3cret", good);
	for (size_t k = 1; k < n; k++) {
		ck_assert_int_eq(raw(s, good, k, &r), 0);
		ck_assert(r->message[0] != 0 || r->success);
		pj__openapi__reply__free_unpacked(r, NULL);
	}
	/* a huge field: refused by name */
	{
		Pj__Openapi__Request     q  = PJ__OPENAPI__REQUEST__INIT;
		Pj__Openapi__Credentials c  = PJ__OPENAPI__CREDENTIALS__INIT;
		Pj__Openapi__JobRun      jr = PJ__OPENAPI__JOB_RUN__INIT;
		char                    *p  = malloc(2u << 20);
		memset(p, 'a', (2u << 20) - 1);
		p[(2u << 20) - 1]  = 0;
		c.app_name         = "orders";
		c.secret           = "s3cret";
		jr.job_id          = cc_job;
		jr.instance_params = p;
		q.auth             = &c;
		q.op_case          = PJ__OPENAPI__REQUEST__OP_JOB_RUN;
		q.job_run          = &jr;
		big = malloc(pj__openapi__request__get_packed_size(&q));
		n   = pj__openapi__request__pack(&q, big);
		ck_assert_int_eq(raw(s, big, n, &r), 0);
		ck_assert_int_eq(r->code, PJ__OPENAPI__CODE__ILLEGAL_ARGS);
		ck_assert_ptr_nonnull(
		    strstr(r->message, "job_run.instance_params"));
		pj__openapi__reply__free_unpacked(r, NULL);
		free(big);
		free(p);
	}
	/* over the request limit: answered with the limit */
	big = calloc(1, (4u << 20));
	ck_assert_int_eq(raw(s, big, 4u << 20, &r), 0);
	ck_assert_ptr_nonnull(strstr(r->message, "over the limit"));
	pj__openapi__reply__free_unpacked(r, NULL);
	free(big);
	/* still serving */
	n = fetch_request(cc_job, "s3cret", good);
	ck_assert_int_eq(raw(s, good, n, &r), 0);
	ck_assert(r->success);
	pj__openapi__reply__free_unpacked(r, NULL);
	nng_close(s);

	/* 32 clients at once, garbage and good requests mixed */
	pthread_t        th[32];
	struct cc_result res[32];
	memset(res, 0, sizeof(res));
	for (int k = 0; k < 32; k++) {
		ck_assert_int_eq(
		    pthread_create(&th[k], NULL, cc_client, &res[k]), 0);
	}
	int answered = 0, fetched = 0, failures = 0;
	for (int k = 0; k < 32; k++) {
		pthread_join(th[k], NULL);
		answered += res[k].answered;
		fetched += res[k].fetched;
		failures += res[k].failures;
	}
	ck_assert_int_eq(failures, 0);
	ck_assert_int_eq(answered, 32 * 40);
	ck_assert_int_eq(fetched, 32 * 20);
	OK(PJCTL("job", "list"));
	HAS(" g ");
	teardown();
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("gateway_multiprocess");
	TCase *tc = tcase_create("gateway_multiprocess");
	tcase_set_timeout(tc, 90);
	tcase_add_loop_test(tc, openapi_through_pjctl, 0, 2);
	tcase_add_loop_test(tc, wrong_credentials_tokens_and_ownership, 0, 2);
	tcase_add_loop_test(tc, non_owner_forwards_to_the_owner, 0, 2);
	tcase_add_loop_test(tc, garbage_huge_and_32_clients, 0, 2);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
