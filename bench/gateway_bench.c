/*
 * gateway_bench.c - the OpenAPI gateway's requests per second and latency
 * (p50 / p99) with 1, 8 and 32 concurrent clients for fetch-job and
 * run-job, next to a raw nng REQ/REP echo server with the same clients in
 * the same run (an in-process REP socket with as many contexts as the
 * gateway, echoing from nng's callback: the floor nng itself sets).
 *
 *   gateway_bench GATEWAY_URL TOKEN JOB_ID [SECONDS [APP SECRET]]
 *
 * bench/gateway_bench.sh starts the server, a test worker and the job.
 * Each client is a thread with its own REQ socket sending one request at
 * a time; requests with the app's token (one HMAC per request on the
 * server).  Prints a markdown table.  With APP and SECRET, a second table:
 * fetch-job authenticated by app name + secret (right: the auth cache;
 * the same wrong secret: the wrong-secret cache; a new wrong secret every
 * request: the per-app failure limit), and one token client alone and
 * while 8 clients send new wrong secrets (issue 12's auth flood), next to
 * one PBKDF2 of the store's rounds in this process.
 *
 * Design notes (threads): client threads share nothing but the start
 * flag and their own result slot; the echo server runs on nng's threads.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include <openssl/evp.h>

#include "proto/openapi.pb-c.h"
#include "server/store/store.h"

#define MAXC 32
#define ECHO_CONTEXTS 64

static const char *token;
static int64_t     job_id;
static double      seconds = 2.0;
static const char *app_name, *app_secret;

static int64_t
now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
}

/* ---- the raw echo server ------------------------------------------------ */

struct echo_ctx {
	nng_ctx  ctx;
	nng_aio *aio;
	int      sending;
};
static struct echo_ctx echo[ECHO_CONTEXTS];

static void
echo_cb(void *arg)
{
	struct echo_ctx *e  = arg;
	int              rv = nng_aio_result(e->aio);
	if (e->sending) {
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(e->aio));
		}
		e->sending = 0;
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
			return;
		}
		nng_ctx_recv(e->ctx, e->aio);
		return;
	}
	if (rv != 0) {
		return;
	}
	e->sending = 1;
	nng_ctx_send(e->ctx, e->aio); /* the request's message, echoed */
}

/* ---- clients --------------------------------------------------------------
 */

enum op { OP_ECHO, OP_FETCH, OP_RUN, OP_SECRET, OP_WRONG, OP_GUESS };

struct client {
	const char *url;
	enum op     op;
	int64_t    *lat; /* ns */
	size_t      n, cap;
	int         errors;
	long        refused, throttled; /* wrong secrets, as expected */
	long        id;
	pthread_t   th;
};

static atomic_int go;

static size_t
request(enum op op, uint8_t *buf, long k)
{
	char                     guess[48];
	Pj__Openapi__Request     r = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__Credentials c = PJ__OPENAPI__CREDENTIALS__INIT;
	Pj__Openapi__JobFetch    f = PJ__OPENAPI__JOB_FETCH__INIT;
	Pj__Openapi__JobRun      j = PJ__OPENAPI__JOB_RUN__INIT;
	c.token                    = (char *) token;
	r.auth                     = &c;
	if (op >= OP_SECRET) {
		snprintf(guess, sizeof(guess), "guess-%ld", k);
		c.token    = "";
		c.app_name = (char *) app_name;
		c.secret   = op == OP_SECRET ? (char *) app_secret
		      : op == OP_WRONG       ? "wrong-secret"
		                             : guess;
	}
	if (op == OP_RUN) {
		j.job_id  = job_id;
		r.op_case = PJ__OPENAPI__REQUEST__OP_JOB_RUN;
		r.job_run = &j;
	} else {
		f.job_id    = job_id;
		r.op_case   = PJ__OPENAPI__REQUEST__OP_JOB_FETCH;
		r.job_fetch = &f;
	}
	return pj__openapi__request__pack(&r, buf);
}

static void *
client_run(void *arg)
{
	struct client *c = arg;
	nng_socket     s;
	uint8_t        buf[512];
	size_t         n = request(c->op, buf, c->id << 32);
	if (nng_req0_open(&s) != 0) {
		c->errors++;
		return NULL;
	}
	nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10000);
	if (nng_dial(s, c->url, NULL, 0) != 0) {
		c->errors++;
		nng_close(s);
		return NULL;
	}
	while (!atomic_load(&go)) { }
	int64_t end = now_ns() + (int64_t) (seconds * 1e9);
	for (int64_t t0 = now_ns(); t0 < end; t0 = now_ns()) {
		nng_msg *m;
		if (c->op == OP_GUESS) {
			n = request(c->op, buf, (c->id << 32) + (long) c->n);
		}
		if (nng_msg_alloc(&m, n) != 0) {
			break;
		}
		memcpy(nng_msg_body(m), buf, n);
		if (nng_sendmsg(s, m, 0) != 0) {
			nng_msg_free(m);
			c->errors++;
			continue;
		}
		if (nng_recvmsg(s, &m, 0) != 0) {
			c->errors++;
			continue;
		}
		if (c->op != OP_ECHO) {
			Pj__Openapi__Reply *r = pj__openapi__reply__unpack(
			    NULL, nng_msg_len(m), nng_msg_body(m));
			int wrong = c->op == OP_WRONG || c->op == OP_GUESS;
			if (wrong && r != NULL && !r->success
			    && r->code
			        == PJ__OPENAPI__CODE__INCORRECT_PASSWORD) {
				c->refused++;
				c->throttled
				    += strstr(r->message, "too many") != NULL;
			} else if (wrong || r == NULL || !r->success) {
				if (c->errors++ == 0 && r != NULL) {
					fprintf(stderr, "gateway_bench: %s\n",
					    r->message);
				}
			}
			if (r != NULL) {
				pj__openapi__reply__free_unpacked(r, NULL);
			}
		}
		nng_msg_free(m);
		if (c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 4096;
			c->lat = realloc(c->lat, c->cap * sizeof(*c->lat));
		}
		c->lat[c->n++] = now_ns() - t0;
	}
	nng_close(s);
	return NULL;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return x < y ? -1 : x > y;
}

struct result {
	double rps, p50_us, p99_us;
	int    errors;
	long   refused, throttled;
};

/* the result of clients c[0..n) */
static struct result
collect(struct client *c, int n)
{
	struct result r     = { 0 };
	size_t        total = 0, k = 0;
	int64_t      *all;
	for (int i = 0; i < n; i++) {
		total += c[i].n;
		r.errors += c[i].errors;
		r.refused += c[i].refused;
		r.throttled += c[i].throttled;
	}
	all = malloc((total + 1) * sizeof(*all));
	for (int i = 0; i < n; i++) {
		memcpy(all + k, c[i].lat, c[i].n * sizeof(*all));
		k += c[i].n;
		free(c[i].lat);
	}
	qsort(all, total, sizeof(*all), cmp64);
	r.rps = (double) total / seconds;
	if (total > 0) {
		r.p50_us = (double) all[total / 2] / 1000.0;
		r.p99_us = (double) all[total * 99 / 100] / 1000.0;
	}
	free(all);
	return r;
}

/* NC clients of OP; with N2 > 0, N2 clients of OP2 at the same time,
 * whose result goes to *r2 */
static struct result
measure2(const char *url, enum op op, int nc, enum op op2, int n2,
    struct result *r2)
{
	struct client c[MAXC + 8];
	memset(c, 0, sizeof(c));
	atomic_store(&go, 0);
	for (int i = 0; i < nc + n2; i++) {
		c[i].url = url;
		c[i].op  = i < nc ? op : op2;
		c[i].id  = i;
		pthread_create(&c[i].th, NULL, client_run, &c[i]);
	}
	nng_msleep(200); /* connected */
	atomic_store(&go, 1);
	for (int i = 0; i < nc + n2; i++) {
		pthread_join(c[i].th, NULL);
	}
	if (n2 > 0) {
		*r2 = collect(c + nc, n2);
	}
	return collect(c, nc);
}

static struct result
measure(const char *url, enum op op, int nc)
{
	return measure2(url, op, nc, op, 0, NULL);
}

/* ms of one PBKDF2 with the store's rounds, in this process */
static double
pbkdf2_ms(void)
{
	unsigned char salt[16] = { 0 }, out[32];
	int64_t       t0       = now_ns();
	for (int i = 0; i < 20; i++) {
		PKCS5_PBKDF2_HMAC("guess", 5, salt, sizeof(salt),
		    PJ_STORE_PBKDF2_ITER, EVP_sha256(), sizeof(out), out);
	}
	return (double) (now_ns() - t0) / 20 / 1e6;
}

static void
auth_row(const char *what, struct result r)
{
	printf("| %s | %.0f | %.0f / %.0f | %ld (%ld) | %d |\n", what, r.rps,
	    r.p50_us, r.p99_us, r.refused, r.throttled, r.errors);
	fflush(stdout);
}

/* issue 12's auth flood: see the top of the file */
static void
auth_table(const char *url)
{
	struct result alone, during;
	printf("\n| fetch-job, 8 clients unless said | req/s | p50 / p99 µs | "
	       "refused (of them throttled) | errors |\n");
	printf("|---|---:|---:|---:|---:|\n");
	auth_row("token", measure(url, OP_FETCH, 8));
	auth_row("right secret (cached)", measure(url, OP_SECRET, 8));
	auth_row("the same wrong secret", measure(url, OP_WRONG, 8));
	auth_row("a new wrong secret each request", measure(url, OP_GUESS, 8));
	alone = measure(url, OP_FETCH, 1);
	auth_row("1 token client alone", alone);
	measure2(url, OP_GUESS, 8, OP_FETCH, 1, &during);
	auth_row("1 token client during 8 clients' new wrong secrets", during);
	double ms = pbkdf2_ms();
	printf("\nOne PBKDF2 (%d rounds) here: %.2f ms, %.0f a second a core: "
	       "what each wrong secret cost before it was cached and "
	       "limited.\n",
	    PJ_STORE_PBKDF2_ITER, ms, 1000.0 / ms);
}

int
main(int argc, char **argv)
{
	static const int clients[] = { 1, 8, 32 };
	nng_socket       es;
	nng_listener     l;
	nng_sockaddr     sa;
	char             echo_url[64];
	if (argc < 4) {
		fprintf(stderr,
		    "usage: gateway_bench GATEWAY_URL TOKEN JOB_ID "
		    "[SECONDS [APP SECRET]]\n");
		return 2;
	}
	token  = argv[2];
	job_id = atoll(argv[3]);
	if (argc > 4) {
		seconds = atof(argv[4]);
	}
	if (argc > 6) {
		app_name   = argv[5];
		app_secret = argv[6];
	}
	/* the echo server */
	if (nng_rep0_open(&es) != 0) {
		return 1;
	}
	for (int i = 0; i < ECHO_CONTEXTS; i++) {
		nng_aio_alloc(&echo[i].aio, echo_cb, &echo[i]);
		nng_ctx_open(&echo[i].ctx, es);
	}
	if (nng_listen(es, "tcp://127.0.0.1:0", &l, 0) != 0) {
		return 1;
	}
	nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa);
	snprintf(echo_url, sizeof(echo_url), "tcp://127.0.0.1:%u",
	    (unsigned) ((sa.s_in.sa_port >> 8)
	        | ((sa.s_in.sa_port & 0xff) << 8)));
	for (int i = 0; i < ECHO_CONTEXTS; i++) {
		nng_ctx_recv(echo[i].ctx, echo[i].aio);
	}

	printf(
	    "| clients | raw echo req/s | fetch-job req/s | fetch p50 / p99 "
	    "µs | fetch / echo | run-job req/s | run p50 / p99 µs | errors "
	    "|\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		int           nc = clients[i];
		struct result e  = measure(echo_url, OP_ECHO, nc);
		struct result f  = measure(argv[1], OP_FETCH, nc);
		struct result r  = measure(argv[1], OP_RUN, nc);
		printf(
		    "| %d | %.0f (p50 %.0f µs) | %.0f | %.0f / %.0f | %.2f | "
		    "%.0f | %.0f / %.0f | %d |\n",
		    nc, e.rps, e.p50_us, f.rps, f.p50_us, f.p99_us,
		    e.rps > 0 ? f.rps / e.rps : 0.0, r.rps, r.p50_us, r.p99_us,
		    e.errors + f.errors + r.errors);
		fflush(stdout);
	}
	if (app_name != NULL) {
		auth_table(argv[1]);
	}
	for (int i = 0; i < ECHO_CONTEXTS; i++) {
		nng_aio_stop(echo[i].aio);
	}
	for (int i = 0; i < ECHO_CONTEXTS; i++) {
		nng_ctx_close(echo[i].ctx);
	}
	nng_close(es);
	for (int i = 0; i < ECHO_CONTEXTS; i++) {
		nng_aio_free(echo[i].aio);
	}
	return 0;
}
