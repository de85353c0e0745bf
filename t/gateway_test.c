/*
 * gateway_test.c - the gateway's domain code (server/gateway/): tokens
 * (sign, verify, expiry, tampering, keys), request decoding and
 * validation (every refusal names its field), conversions between store
 * rows and messages, and pj_gw_handle on a real SQLite store (register,
 * auth, save, ownership, token paths, enable / disable / delete).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/ar.h"
#include "server/cluster/auth.h"
#include "server/gateway/convert.h"
#include "server/gateway/ops.h"
#include "server/gateway/request.h"
#include "server/gateway/token.h"
#include "server/store/store.h"

#define NOW 1800000000000LL /* 2027-01-15 */

/* ---- tokens
 * ------------------------------------------------------------------ */

START_TEST(test_token_roundtrip)
{
	uint8_t key[PJ_GW_TOKEN_KEY_LEN];
	char    tok[PJ_GW_TOKEN_MAX];
	int64_t id = 0, exp = 0;
	ck_assert_int_eq(pj_gw_token_key_derive("k3y", 3, key), 0);
	pj_gw_token_sign(key, 42, NOW + 1000, tok, sizeof(tok));
	ck_assert_ptr_nonnull(strstr(tok, "pj1.42."));
	ck_assert_int_eq(pj_gw_token_verify(key, tok, NOW, &id, &exp), 0);
	ck_assert_int_eq(id, 42);
	ck_assert_int_eq(exp, NOW + 1000);
	/* the same secret gives the same key on every server */
	uint8_t key2[PJ_GW_TOKEN_KEY_LEN];
	pj_gw_token_key_derive("k3y", 3, key2);
	ck_assert_int_eq(pj_gw_token_verify(key2, tok, NOW, &id, NULL), 0);
	/* no secret: random keys, different each time */
	pj_gw_token_key_derive(NULL, 0, key);
	pj_gw_token_key_derive(NULL, 0, key2);
	ck_assert(memcmp(key, key2, sizeof(key)) != 0);
}
END_TEST

START_TEST(test_token_expiry)
{
	uint8_t key[PJ_GW_TOKEN_KEY_LEN];
	char    tok[PJ_GW_TOKEN_MAX];
	int64_t id = -1;
	pj_gw_token_key_derive("k", 1, key);
	pj_gw_token_sign(key, 7, NOW, tok, sizeof(tok));
	ck_assert_int_eq(pj_gw_token_verify(key, tok, NOW - 1, &id, NULL), 0);
	ck_assert_int_eq(
	    pj_gw_token_verify(key, tok, NOW, &id, NULL), PJ_GW_TOKEN_EXPIRED);
	ck_assert_int_eq(
	    pj_gw_token_verify(key, tok, NOW + 86400000, &id, NULL),
	    PJ_GW_TOKEN_EXPIRED);
}
END_TEST

START_TEST(test_token_tamper)
{
	uint8_t key[PJ_GW_TOKEN_KEY_LEN], other[PJ_GW_TOKEN_KEY_LEN];
	char    tok[PJ_GW_TOKEN_MAX], bad[PJ_GW_TOKEN_MAX + 8];
	int64_t id = -1;
	pj_gw_token_key_derive("k", 1, key);
	pj_gw_token_key_derive("other", 5, other);
	pj_gw_token_sign(key, 7, NOW + 5000, tok, sizeof(tok));
	/* another key */
	ck_assert_int_eq(pj_gw_token_verify(other, tok, NOW, &id, NULL),
	    PJ_GW_TOKEN_EINVAL);
	/* every single changed character is refused */
	for (size_t i = 0; i < strlen(tok); i++) {
		snprintf(bad, sizeof(bad), "%s", tok);
		bad[i] = bad[i] == '1' ? '2' : '1';
		ck_assert_msg(pj_gw_token_verify(key, bad, NOW, &id, NULL)
		        == PJ_GW_TOKEN_EINVAL,
		    "tampered at %zu: %s", i, bad);
	}
	/* the app id changed, the MAC kept */
	snprintf(bad, sizeof(bad), "pj1.8.%s", strchr(tok + 4, '.') + 1);
	ck_assert_int_eq(
	    pj_gw_token_verify(key, bad, NOW, &id, NULL), PJ_GW_TOKEN_EINVAL);
	/* truncated, extended, garbage */
	snprintf(bad, sizeof(bad), "%.*s", (int) strlen(tok) - 1, tok);
	ck_assert_int_eq(
	    pj_gw_token_verify(key, bad, NOW, &id, NULL), PJ_GW_TOKEN_EINVAL);
	snprintf(bad, sizeof(bad), "%s0", tok);
	ck_assert_int_eq(
	    pj_gw_token_verify(key, bad, NOW, &id, NULL), PJ_GW_TOKEN_EINVAL);
	const char *junk[] = { "", "pj1.", "pj1..", "pj1.1.2.", "pj1.-1.2.x",
		"pj1.01.2.aa", "pj1.99999999999999999999.1.aa", "Bearer x" };
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		ck_assert_int_eq(
		    pj_gw_token_verify(key, junk[i], NOW, &id, NULL),
		    PJ_GW_TOKEN_EINVAL);
	}
	ck_assert_int_eq(id, -1); /* never written on a failure */
}
END_TEST

/* ---- decode and validation
 * ------------------------------------------------------ */

static size_t
pack(Pj__Openapi__Request *r, uint8_t **buf)
{
	size_t n = pj__openapi__request__get_packed_size(r);
	*buf     = malloc(n + 1);
	return pj__openapi__request__pack(r, *buf);
}

/* Validates r: the code and the message (must contain `want`). */
static int
validate(Pj__Openapi__Request *r, const char *want)
{
	char err[PJ_GW_ERR_MAX] = "";
	int  rv = pj_gw_request_validate(r, NOW, err, sizeof(err));
	if (want != NULL) {
		ck_assert_msg(
		    strstr(err, want) != NULL, "'%s' not in '%s'", want, err);
	}
	return (rv);
}

START_TEST(test_decode)
{
	char     err[PJ_GW_ERR_MAX];
	uint8_t  garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01 };
	uint8_t *buf;
	Pj__Openapi__Request  r  = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__JobFetch jf = PJ__OPENAPI__JOB_FETCH__INIT;
	size_t                n;

	ck_assert_ptr_null(pj_gw_request_decode(garbage, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	ck_assert_ptr_null(
	    pj_gw_request_decode(garbage, sizeof(garbage), err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "do not decode"));
	ck_assert_ptr_null(pj_gw_request_decode(
	    garbage, PJ_GW_REQUEST_MAX + 1, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "over the limit"));
	/* no operation */
	n = pack(&r, &buf);
	ck_assert_ptr_null(
	    pj_gw_request_decode(buf, n ? n : 0, err, sizeof(err)));
	free(buf);
	/* a good one, then each truncation of it */
	jf.job_id   = 123456789;
	r.op_case   = PJ__OPENAPI__REQUEST__OP_JOB_FETCH;
	r.job_fetch = &jf;
	n           = pack(&r, &buf);
	Pj__Openapi__Request *d
	    = pj_gw_request_decode(buf, n, err, sizeof(err));
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->job_fetch->job_id, 123456789);
	ck_assert_str_eq(pj_gw_op_name(d->op_case), "job_fetch");
	pj_gw_request_free(d);
	for (size_t k = 1; k < n; k++) {
		d = pj_gw_request_decode(buf, k, err, sizeof(err));
		if (d != NULL) { /* a prefix may decode: then it validates */
			validate(d, NULL);
			pj_gw_request_free(d);
		}
	}
	free(buf);
}
END_TEST

START_TEST(test_validate_job)
{
	Pj__Openapi__Request r = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__JobSave s = PJ__OPENAPI__JOB_SAVE__INIT;
	Pj__Openapi__JobInfo j = PJ__OPENAPI__JOB_INFO__INIT;
	r.op_case              = PJ__OPENAPI__REQUEST__OP_JOB_SAVE;
	r.job_save             = &s;
	ck_assert_int_eq(validate(&r, "job_save.job: required"),
	    PJ__OPENAPI__CODE__INVALID_REQUEST);
	s.job = &j;
	ck_assert_int_eq(validate(&r, "job_save.job.job_name: required"),
	    PJ__OPENAPI__CODE__INVALID_REQUEST);
	j.job_name = "nightly";
	ck_assert_int_eq(validate(&r, "job_save.job.time_expression_type"),
	    PJ__OPENAPI__CODE__ILLEGAL_ARGS);
	j.time_expression_type = 2;
	j.execute_type         = 1;
	j.processor_type       = 2;
	ck_assert_int_eq(validate(&r, "job_save.job.processor_info: required"),
	    PJ__OPENAPI__CODE__INVALID_REQUEST);
	j.processor_info  = "echo";
	j.time_expression = "0 0 3 * * ? *";
	ck_assert_int_eq(validate(&r, ""), 0);
	j.time_expression = "61 * * * * ?";
	ck_assert_int_eq(validate(&r, "job_save.job.time_expression:"),
	    PJ__OPENAPI__CODE__ILLEGAL_ARGS);
	j.time_expression = "0 0 3 * * ?";
	j.time_zone       = "Mars/Olympus";
	ck_assert_int_eq(validate(&r, "job_save.job.time_expression"),
	    PJ__OPENAPI__CODE__ILLEGAL_ARGS);
	j.time_zone   = "Europe/Paris";
	j.concurrency = -1;
	ck_assert_int_eq(validate(&r, "job_save.job.concurrency: -1"),
	    PJ__OPENAPI__CODE__ILLEGAL_ARGS);
	j.concurrency   = 0;
	j.min_cpu_cores = 0.0 / 0.0;
	ck_assert_int_eq(validate(&r, "job_save.job.min_cpu_cores"),
	    PJ__OPENAPI__CODE__ILLEGAL_ARGS);
	j.min_cpu_cores     = 1.5;
	j.dispatch_strategy = 7;
	ck_assert_int_eq(validate(&r, "job_save.job.dispatch_strategy: 7"),
	    PJ__OPENAPI__CODE__ILLEGAL_ARGS);
	j.dispatch_strategy = 11;
	j.lifecycle         = "{\"start\": 5, \"end\": 6}"; /* ended */
	ck_assert_int_eq(validate(&r, "job_save.job.lifecycle"),
	    PJ__OPENAPI__CODE__ILLEGAL_ARGS);
	j.lifecycle = "";
	/* huge fields */
	char *big = malloc(PJ_STORE_LONGTEXT_MAX + 2);
	memset(big, 'x', PJ_STORE_LONGTEXT_MAX + 1);
	big[PJ_STORE_LONGTEXT_MAX + 1] = 0;
	j.job_params                   = big;
	ck_assert_int_eq(
	    validate(&r, "job_save.job.job_params: 1048577 bytes"),
	    PJ__OPENAPI__CODE__ILLEGAL_ARGS);
	j.job_params = "";
	big[300]     = 0;
	j.job_name   = big;
	ck_assert_int_eq(validate(&r, "job_save.job.job_name: 300 bytes"),
	    PJ__OPENAPI__CODE__ILLEGAL_ARGS);
	free(big);
}
END_TEST

START_TEST(test_validate_ops)
{
	Pj__Openapi__Request       r     = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__JobRun        ru    = PJ__OPENAPI__JOB_RUN__INIT;
	Pj__Openapi__InstanceQuery iq    = PJ__OPENAPI__INSTANCE_QUERY__INIT;
	Pj__Openapi__JobQuery      jq    = PJ__OPENAPI__JOB_QUERY__INIT;
	Pj__Openapi__TimePreview   tp    = PJ__OPENAPI__TIME_PREVIEW__INIT;
	Pj__Openapi__AppRegister   ar    = PJ__OPENAPI__APP_REGISTER__INIT;
	Pj__Openapi__InstanceStop  st    = PJ__OPENAPI__INSTANCE_STOP__INIT;
	int32_t                    bad[] = { 1, 6 };

	r.op_case = PJ__OPENAPI__REQUEST__OP_JOB_RUN;
	r.job_run = &ru;
	ck_assert_int_eq(validate(&r, "job_run.job_id: required"),
	    PJ__OPENAPI__CODE__INVALID_REQUEST);
	ru.job_id   = 5;
	ru.delay_ms = -3;
	ck_assert_int_eq(validate(&r, "job_run.delay_ms: -3"),
	    PJ__OPENAPI__CODE__ILLEGAL_ARGS);
	ru.delay_ms = 100;
	ck_assert_int_eq(validate(&r, ""), 0);

	r.op_case        = PJ__OPENAPI__REQUEST__OP_INSTANCE_QUERY;
	r.instance_query = &iq;
	iq.page_size     = 5000;
	ck_assert_int_eq(validate(&r, "instance_query.page_size: 5000"),
	    PJ__OPENAPI__CODE__ILLEGAL_ARGS);
	iq.page_size   = 10;
	iq.status_in   = bad;
	iq.n_status_in = 2;
	ck_assert_int_eq(validate(&r, "instance_query.status_in: 6"),
	    PJ__OPENAPI__CODE__ILLEGAL_ARGS);

	r.op_case      = PJ__OPENAPI__REQUEST__OP_JOB_QUERY;
	r.job_query    = &jq;
	jq.n_status_in = 17;
	jq.status_in   = calloc(17, sizeof(int32_t));
	ck_assert_int_eq(validate(&r, "job_query.status_in: 17 values"),
	    PJ__OPENAPI__CODE__ILLEGAL_ARGS);
	free(jq.status_in);
	jq.n_status_in = 0;
	ck_assert_int_eq(validate(&r, ""), 0);

	r.op_case               = PJ__OPENAPI__REQUEST__OP_TIME_PREVIEW;
	r.time_preview          = &tp;
	tp.time_expression_type = 2;
	tp.time_expression      = "0 0 25 * * ?";
	ck_assert_int_eq(validate(&r, "time_preview.time_expression:"),
	    PJ__OPENAPI__CODE__ILLEGAL_ARGS);
	tp.time_expression = "0 0 12 * * ?";
	tp.count           = 101;
	ck_assert_int_eq(validate(&r, "time_preview.count: 101"),
	    PJ__OPENAPI__CODE__ILLEGAL_ARGS);

	r.op_case      = PJ__OPENAPI__REQUEST__OP_APP_REGISTER;
	r.app_register = &ar;
	ck_assert_int_eq(validate(&r, "app_register.app_name: required"),
	    PJ__OPENAPI__CODE__INVALID_REQUEST);
	ar.app_name = "a b";
	ck_assert_int_eq(validate(&r, "app_register.app_name: only letters"),
	    PJ__OPENAPI__CODE__ILLEGAL_ARGS);
	ar.app_name = "ab";
	ck_assert_int_eq(validate(&r, "app_register.secret: required"),
	    PJ__OPENAPI__CODE__INVALID_REQUEST);

	r.op_case       = PJ__OPENAPI__REQUEST__OP_INSTANCE_STOP;
	r.instance_stop = &st;
	ck_assert_int_eq(validate(&r, "instance_stop.instance_id: required"),
	    PJ__OPENAPI__CODE__INVALID_REQUEST);
}
END_TEST

/* ---- conversions
 * -------------------------------------------------------------------- */

START_TEST(test_convert)
{
	struct pj_gw_arena    a = { 0 };
	struct pj_job         j = { 0 }, back;
	struct pj_instance    i = { 0 };
	Pj__Openapi__JobInfo *m;
	j.id                   = 9;
	j.app_id               = 3;
	j.job_name             = "n";
	j.time_expression_type = 2;
	j.time_expression      = "0 * * * * ?";
	j.time_zone            = "UTC";
	j.concurrency          = 7;
	j.dispatch_strategy    = 2;
	j.min_cpu_cores        = 0.5;
	j.next_trigger_time    = NOW;
	m                      = pj_gw_job_to_pb(&a, &j);
	ck_assert_int_eq(m->id, 9);
	ck_assert_str_eq(m->job_name, "n");
	ck_assert_str_eq(m->job_description, ""); /* NULL -> "" */
	ck_assert_int_eq(m->next_trigger_time, NOW);
	pj_gw_job_from_pb(m, &back);
	ck_assert_int_eq(back.concurrency, 7);
	ck_assert_int_eq(back.dispatch_strategy, 2);
	ck_assert(back.min_cpu_cores == 0.5);
	ck_assert_str_eq(back.time_zone, "UTC");
	/* PowerJob's defaults for what a request leaves out */
	m->concurrency       = 0;
	m->dispatch_strategy = 0;
	pj_gw_job_from_pb(m, &back);
	ck_assert_int_eq(back.concurrency, PJ_GW_CONCURRENCY_DEFAULT);
	ck_assert_int_eq(back.dispatch_strategy, 1);

	i.instance_id                 = 77;
	i.status                      = PJ_INST_RUNNING;
	i.result                      = "r";
	Pj__Openapi__InstanceInfo *im = pj_gw_instance_to_pb(&a, &i);
	ck_assert_int_eq(im->instance_id, 77);
	ck_assert_int_eq(im->status, 3);
	ck_assert_str_eq(im->result, "r");
	ck_assert_str_eq(im->job_params, "");

	Pj__Openapi__JobQuery q   = PJ__OPENAPI__JOB_QUERY__INIT;
	int32_t               s[] = { 1, 2 };
	struct pj_job_query   jq;
	q.job_name_like = "a%";
	q.status_in     = s;
	q.n_status_in   = 2;
	q.index         = 3;
	q.page_size     = 20;
	q.has_id_gt     = 1;
	q.id_gt         = 5;
	pj_gw_job_query_from_pb(&q, 4, &jq);
	ck_assert_int_eq(jq.app_id, 4);
	ck_assert_str_eq(jq.name_like, "a%");
	ck_assert_ptr_null(jq.name_eq); /* "" = unused */
	ck_assert_int_eq(jq.n_status_in, 2);
	ck_assert_int_eq(jq.status_in[1], 2);
	ck_assert_int_eq(jq.limit, 20);
	ck_assert_int_eq(jq.offset, 60);
	ck_assert(jq.has_id_gt && jq.id_gt == 5);

	Pj__Openapi__InstanceQuery iq = PJ__OPENAPI__INSTANCE_QUERY__INIT;
	struct pj_instance_query   o;
	iq.job_id_eq        = 8;
	iq.after            = 100;
	iq.after_gmt_create = 1700000000123LL;
	iq.newest_first     = 1;
	pj_gw_instance_query_from_pb(&iq, 4, &o);
	ck_assert_int_eq(o.newest_first, 1);
	ck_assert_int_eq(o.app_id, 4);
	ck_assert_int_eq(o.job_id, 8);
	ck_assert_int_eq(o.after_id, 100);
	ck_assert_int_eq(o.after_gmt_create, 1700000000123LL);
	ck_assert_int_eq(o.limit, PJ_GW_PAGE_DEFAULT);
	pj_gw_arena_fini(&a);
}
END_TEST

/* ---- pj_gw_handle on a store
 * --------------------------------------------------------- */

static char             tmpdir[64];
static struct pj_store *store;
static struct pj_gw     gw;

static void
store_setup(void)
{
	char url[128];
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/gwtest.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(url, sizeof(url), "sqlite://%s/pj.db", tmpdir);
	ck_assert_int_eq(pj_store_open(url, &store), 0);
	ck_assert_int_eq(pj_store_migrate(store, NULL, NULL), 0);
	memset(&gw, 0, sizeof(gw));
	gw.store        = store;
	gw.auth         = pj_auth_new(store);
	gw.token_ttl_ms = 60000;
	pj_gw_token_key_derive("cluster", 7, gw.key);
}

static void
store_teardown(void)
{
	char cmd[128];
	pj_auth_free(gw.auth);
	pj_store_close(store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Runs r with the credentials (name, secret) or a token, returns the
 * reply (decoded copy); *code gets its code. */
static Pj__Openapi__Reply *
run(Pj__Openapi__Request *r, const char *app, const char *secret,
    const char *token, int64_t now)
{
	Pj__Openapi__Credentials c = PJ__OPENAPI__CREDENTIALS__INIT;
	struct pj_gw_call        call;
	uint8_t                 *buf, *out;
	size_t                   n;
	c.app_name = (char *) (app ? app : "");
	c.secret   = (char *) (secret ? secret : "");
	c.token    = (char *) (token ? token : "");
	r->auth    = &c;
	n          = pack(r, &buf);
	pj_gw_call_init(&call);
	pj_gw_handle(&gw, buf, n, now, &call);
	ck_assert(!call.needs_owner);
	n                     = pj_gw_call_pack(&call, &out);
	Pj__Openapi__Reply *p = pj__openapi__reply__unpack(NULL, n, out);
	pj_gw_call_fini(&call);
	free(buf);
	r->auth = NULL;
	ck_assert_ptr_nonnull(p);
	return (p);
}

/* Runs r, which must need the app's owner for job_id; its friend op. */
static int
owner_op(Pj__Openapi__Request *r, const char *app, const char *secret,
    int64_t now, int64_t job_id)
{
	Pj__Openapi__Credentials c = PJ__OPENAPI__CREDENTIALS__INIT;
	struct pj_gw_call        call;
	uint8_t                 *buf;
	size_t                   n;
	int                      op;
	c.app_name = (char *) app;
	c.secret   = (char *) secret;
	c.token    = "";
	r->auth    = &c;
	n          = pack(r, &buf);
	pj_gw_call_init(&call);
	pj_gw_handle(&gw, buf, n, now, &call);
	ck_assert_msg(call.needs_owner, "%s", call.reply.message);
	ck_assert_int_eq(call.owner.job_id, job_id);
	ck_assert_int_gt(call.owner.app_id, 0);
	op = call.owner.op;
	pj_gw_call_fini(&call);
	free(buf);
	r->auth = NULL;
	return (op);
}

START_TEST(test_handle)
{
	Pj__Openapi__Request     r  = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__AppRegister ar = PJ__OPENAPI__APP_REGISTER__INIT;
	Pj__Openapi__AppAuth     aa = PJ__OPENAPI__APP_AUTH__INIT;
	Pj__Openapi__JobSave     js = PJ__OPENAPI__JOB_SAVE__INIT;
	Pj__Openapi__JobInfo     j  = PJ__OPENAPI__JOB_INFO__INIT;
	Pj__Openapi__JobFetch    jf = PJ__OPENAPI__JOB_FETCH__INIT;
	Pj__Openapi__JobDisable  jd = PJ__OPENAPI__JOB_DISABLE__INIT;
	Pj__Openapi__JobEnable   je = PJ__OPENAPI__JOB_ENABLE__INIT;
	Pj__Openapi__Reply      *p;
	int64_t                  now = ar_now_ms(), app, job;
	char                     token[PJ_GW_TOKEN_MAX];

	store_setup();
	/* register two apps; the name is taken once */
	r.op_case      = PJ__OPENAPI__REQUEST__OP_APP_REGISTER;
	r.app_register = &ar;
	ar.app_name    = "shop";
	ar.secret      = "pw1";
	p              = run(&r, NULL, NULL, NULL, now);
	ck_assert_msg(p->success, "%s", p->message);
	app = p->id;
	pj__openapi__reply__free_unpacked(p, NULL);
	p = run(&r, NULL, NULL, NULL, now);
	ck_assert_int_eq(p->code, PJ__OPENAPI__CODE__CONFLICT);
	pj__openapi__reply__free_unpacked(p, NULL);
	ar.app_name = "other";
	p           = run(&r, NULL, NULL, NULL, now);
	ck_assert(p->success);
	pj__openapi__reply__free_unpacked(p, NULL);

	/* auth: wrong secret, unknown app, then a token */
	r.op_case  = PJ__OPENAPI__REQUEST__OP_APP_AUTH;
	r.app_auth = &aa;
	p          = run(&r, "shop", "nope", NULL, now);
	ck_assert_int_eq(p->code, PJ__OPENAPI__CODE__INCORRECT_PASSWORD);
	ck_assert_ptr_null(strstr(p->message, "nope")); /* never echoed */
	pj__openapi__reply__free_unpacked(p, NULL);
	p = run(&r, "ghost", "pw1", NULL, now);
	ck_assert_int_eq(p->code, PJ__OPENAPI__CODE__INVALID_APP);
	pj__openapi__reply__free_unpacked(p, NULL);
	p = run(&r, NULL, NULL, NULL, now);
	ck_assert_int_eq(p->code, PJ__OPENAPI__CODE__INVALID_REQUEST);
	pj__openapi__reply__free_unpacked(p, NULL);
	p = run(&r, "shop", "pw1", NULL, now);
	ck_assert(p->success);
	ck_assert_int_eq(p->auth->app_id, app);
	ck_assert_int_eq(p->auth->expires_ms, now + 60000); /* server's max */
	snprintf(token, sizeof(token), "%s", p->auth->token);
	pj__openapi__reply__free_unpacked(p, NULL);

	/* save with the token */
	r.op_case              = PJ__OPENAPI__REQUEST__OP_JOB_SAVE;
	r.job_save             = &js;
	js.job                 = &j;
	j.job_name             = "every-minute";
	j.time_expression_type = 2;
	j.time_expression      = "0 * * * * ?";
	j.execute_type         = 1;
	j.processor_type       = 2;
	j.processor_info       = "echo hi";
	p                      = run(&r, NULL, NULL, token, now);
	ck_assert_msg(p->success, "%s", p->message);
	job = p->id;
	pj__openapi__reply__free_unpacked(p, NULL);
	/* an expired token, a forged one */
	p = run(&r, NULL, NULL, token, now + 60001);
	ck_assert_int_eq(p->code, PJ__OPENAPI__CODE__TOKEN_EXPIRED);
	pj__openapi__reply__free_unpacked(p, NULL);
	token[6] = token[6] == '1' ? '2' : '1';
	p        = run(&r, NULL, NULL, token, now);
	ck_assert_int_eq(p->code, PJ__OPENAPI__CODE__INVALID_TOKEN);
	pj__openapi__reply__free_unpacked(p, NULL);

	/* fetch: the owner sees it with its next trigger, the other app not */
	r.op_case   = PJ__OPENAPI__REQUEST__OP_JOB_FETCH;
	r.job_fetch = &jf;
	jf.job_id   = job;
	p           = run(&r, "shop", "pw1", NULL, now);
	ck_assert(p->success);
	ck_assert_str_eq(p->job->job_name, "every-minute");
	ck_assert_int_eq(p->job->app_id, app);
	ck_assert_int_eq(p->job->concurrency, 5);
	ck_assert_int_eq(p->job->status, PJ_STATUS_ENABLE);
	ck_assert_int_gt(p->job->next_trigger_time, now);
	ck_assert_int_le(p->job->next_trigger_time, now + 60000);
	pj__openapi__reply__free_unpacked(p, NULL);
	p = run(&r, "other", "pw1", NULL, now);
	ck_assert_int_eq(p->code, PJ__OPENAPI__CODE__NO_PERMISSION);
	pj__openapi__reply__free_unpacked(p, NULL);
	/* updating another app's job is refused the same way */
	r.op_case  = PJ__OPENAPI__REQUEST__OP_JOB_SAVE;
	r.job_save = &js;
	j.id       = job;
	p          = run(&r, "other", "pw1", NULL, now);
	ck_assert_msg(p->code == PJ__OPENAPI__CODE__NO_PERMISSION, "%d %s",
	    p->code, p->message);
	pj__openapi__reply__free_unpacked(p, NULL);

	/* disable, enable, delete: owner operations (the owner's scheduler
	 * cancels pending fires, sets the next trigger from now) */
	r.op_case     = PJ__OPENAPI__REQUEST__OP_JOB_DISABLE;
	r.job_disable = &jd;
	jd.job_id     = job;
	ck_assert_int_eq(owner_op(&r, "shop", "pw1", now, job),
	    PJ__FRIEND__OP__DISABLE_JOB);
	r.op_case    = PJ__OPENAPI__REQUEST__OP_JOB_ENABLE;
	r.job_enable = &je;
	je.job_id    = job;
	ck_assert_int_eq(
	    owner_op(&r, "shop", "pw1", now, job), PJ__FRIEND__OP__ENABLE_JOB);
	/* another app's job never reaches the owner */
	p = run(&r, "other", "pw1", NULL, now);
	ck_assert_int_eq(p->code, PJ__OPENAPI__CODE__NO_PERMISSION);
	pj__openapi__reply__free_unpacked(p, NULL);
	/* a job that does not exist */
	je.job_id = job + 1000;
	p         = run(&r, "shop", "pw1", NULL, now);
	ck_assert_int_eq(p->code, PJ__OPENAPI__CODE__NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(p->message, "job_enable.job_id"));
	pj__openapi__reply__free_unpacked(p, NULL);
	store_teardown();
}
END_TEST

/* ---- wrong secrets: cached, and limited per app --------------------------
 */

static int64_t
mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* app auth with (app, secret) at NOW; the reply's code, its message in
 * msg; no Check assertion (runs on flood threads too) */
static int
auth_code(const char *app, const char *secret, char *msg, size_t len)
{
	Pj__Openapi__Request     r  = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__AppAuth     aa = PJ__OPENAPI__APP_AUTH__INIT;
	Pj__Openapi__Credentials c  = PJ__OPENAPI__CREDENTIALS__INIT;
	struct pj_gw_call        call;
	uint8_t                 *buf;
	int                      code;
	r.op_case  = PJ__OPENAPI__REQUEST__OP_APP_AUTH;
	r.app_auth = &aa;
	c.app_name = (char *) app;
	c.secret   = (char *) secret;
	c.token    = "";
	r.auth     = &c;
	size_t n   = pack(&r, &buf);
	pj_gw_call_init(&call);
	pj_gw_handle(&gw, buf, n, NOW, &call);
	code = call.reply.success ? 0 : call.reply.code;
	if (msg != NULL) {
		snprintf(msg, len, "%s", call.reply.message);
	}
	pj_gw_call_fini(&call);
	free(buf);
	return (code);
}

struct flood {
	int first, n, wrong, throttled;
};

static void *
flood_run(void *arg)
{
	struct flood *f = arg;
	char          secret[32], msg[256];
	for (int i = f->first; i < f->first + f->n; i++) {
		snprintf(secret, sizeof(secret), "guess-%d", i);
		if (auth_code("shop", secret, msg, sizeof(msg))
		    == PJ__OPENAPI__CODE__INCORRECT_PASSWORD) {
			f->wrong++;
			f->throttled
			    += strstr(msg, "too many wrong secrets") != NULL;
		}
	}
	return (NULL);
}

START_TEST(test_handle_wrong_secrets)
{
	Pj__Openapi__Request     r  = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__AppRegister ar = PJ__OPENAPI__APP_REGISTER__INIT;
	Pj__Openapi__Reply      *p;
	struct pj_auth_stats     st;
	char                     msg[256];

	store_setup();
	r.op_case      = PJ__OPENAPI__REQUEST__OP_APP_REGISTER;
	r.app_register = &ar;
	ar.app_name    = "shop";
	ar.secret      = "pw1";
	p              = run(&r, NULL, NULL, NULL, NOW);
	ck_assert(p->success);
	pj__openapi__reply__free_unpacked(p, NULL);
	ar.app_name = "other";
	ar.secret   = "pw2";
	p           = run(&r, NULL, NULL, NULL, NOW);
	ck_assert(p->success);
	pj__openapi__reply__free_unpacked(p, NULL);

	/* 1 000 requests with the same wrong secret: one PBKDF2; the 999
	 * others take less than 100 PBKDF2s would */
	int64_t t0 = mono_us();
	ck_assert_int_eq(auth_code("shop", "nope", msg, sizeof(msg)),
	    PJ__OPENAPI__CODE__INCORRECT_PASSWORD);
	int64_t first_us = mono_us() - t0;
	t0               = mono_us();
	for (int i = 1; i < 1000; i++) {
		ck_assert_int_eq(auth_code("shop", "nope", msg, sizeof(msg)),
		    PJ__OPENAPI__CODE__INCORRECT_PASSWORD);
	}
	int64_t rest_us = mono_us() - t0;
	ck_assert_str_eq(msg, "auth: wrong secret for app shop");
	pj_auth_get_stats(gw.auth, &st);
	ck_assert_int_eq(st.pbkdf2, 1);
	ck_assert_msg(rest_us < 100 * first_us,
	    "999 cached refusals took %lld us, one PBKDF2 %lld us",
	    (long long) rest_us, (long long) first_us);

	/* a client of shop verified before the flood */
	ck_assert_int_eq(auth_code("shop", "pw1", NULL, 0), 0);
	/* 4 threads (the gateway's handlers) send 1 000 distinct wrong
	 * secrets for shop: at most PJ_AUTH_FAIL_BURST PBKDF2s now, the
	 * rest refused unchecked with the same code; meanwhile clients of
	 * shop and other are served */
	pthread_t    th[4];
	struct flood f[4];
	for (int i = 0; i < 4; i++) {
		f[i] = (struct flood) { .first = i * 250, .n = 250 };
		ck_assert_int_eq(
		    pthread_create(&th[i], NULL, flood_run, &f[i]), 0);
	}
	for (int i = 0; i < 50; i++) {
		ck_assert_int_eq(
		    auth_code("shop", "pw1", msg, sizeof(msg)), 0);
		ck_assert_int_eq(
		    auth_code("other", "pw2", msg, sizeof(msg)), 0);
	}
	int wrong = 0, throttled = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		wrong += f[i].wrong;
		throttled += f[i].throttled;
	}
	ck_assert_int_eq(wrong, 1000);
	/* "nope" took one of shop's tokens already */
	ck_assert_int_eq(throttled, 1000 - (PJ_AUTH_FAIL_BURST - 1));
	pj_auth_get_stats(gw.auth, &st);
	/* nope, pw1, pw2 and the rest of the burst */
	ck_assert_int_eq(st.pbkdf2, 3 + PJ_AUTH_FAIL_BURST - 1);
	ck_assert_int_eq(auth_code("shop", "guess-x", msg, sizeof(msg)),
	    PJ__OPENAPI__CODE__INCORRECT_PASSWORD);
	ck_assert_str_eq(msg,
	    "auth: too many wrong secrets for app shop; try again in 250 ms");
	store_teardown();
}
END_TEST

START_TEST(test_handle_garbage)
{
	struct pj_gw_call call;
	uint8_t           junk[256];
	store_setup();
	for (int round = 0; round < 200; round++) {
		size_t n = (size_t) (rand() % (int) sizeof(junk));
		for (size_t k = 0; k < n; k++) {
			junk[k] = (uint8_t) rand();
		}
		pj_gw_call_init(&call);
		pj_gw_handle(&gw, junk, n, NOW, &call);
		ck_assert(!call.reply.success);
		ck_assert(call.reply.message[0] != 0);
		pj_gw_call_fini(&call);
	}
	store_teardown();
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("gateway");
	TCase *tc = tcase_create("gateway");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_token_roundtrip);
	tcase_add_test(tc, test_token_expiry);
	tcase_add_test(tc, test_token_tamper);
	tcase_add_test(tc, test_decode);
	tcase_add_test(tc, test_validate_job);
	tcase_add_test(tc, test_validate_ops);
	tcase_add_test(tc, test_convert);
	tcase_add_test(tc, test_handle);
	tcase_add_test(tc, test_handle_wrong_secrets);
	tcase_add_test(tc, test_handle_garbage);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
