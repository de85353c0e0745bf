/*
 * gateway_bench.c - the OpenAPI gateway's requests per second and latency
 * (p50 / p99) with 1, 8 and 32 concurrent clients for fetch-job and
 * run-job, next to a raw nng REQ/REP echo server with the same clients in
 * the same run (an in-process REP socket with as many contexts as the
 * gateway, echoing from nng's callback: the floor nng itself sets).
 *
 *   gateway_bench GATEWAY_URL TOKEN JOB_ID [SECONDS]
 *
 * bench/gateway_bench.sh starts the server, a test worker and the job.
 * Each client is a thread with its own REQ socket sending one request at
 * a time; requests with the app's token (one HMAC per request on the
 * server).  Prints a markdown table.
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

#include "proto/openapi.pb-c.h"

#define MAXC 32
#define ECHO_CONTEXTS 64

static const char *token;
static int64_t     job_id;
static double      seconds = 2.0;

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

enum op { OP_ECHO, OP_FETCH, OP_RUN };

struct client {
	const char *url;
	enum op     op;
	int64_t    *lat; /* ns */
	size_t      n, cap;
	int         errors;
	pthread_t   th;
};

static atomic_int go;

static size_t
request(enum op op, uint8_t *buf)
{
	Pj__Openapi__Request     r = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__Credentials c = PJ__OPENAPI__CREDENTIALS__INIT;
	Pj__Openapi__JobFetch    f = PJ__OPENAPI__JOB_FETCH__INIT;
	Pj__Openapi__JobRun      j = PJ__OPENAPI__JOB_RUN__INIT;
	c.token                    = (char *) token;
	r.auth                     = &c;
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
	size_t         n = request(c->op, buf);
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
			if (r == NULL || !r->success) {
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
};

static struct result
measure(const char *url, enum op op, int nc)
{
	struct client c[MAXC];
	struct result r     = { 0 };
	size_t        total = 0, k = 0;
	int64_t      *all;
	memset(c, 0, sizeof(c));
	atomic_store(&go, 0);
	for (int i = 0; i < nc; i++) {
		c[i].url = url;
		c[i].op  = op;
		pthread_create(&c[i].th, NULL, client_run, &c[i]);
	}
	nng_msleep(200); /* connected */
	atomic_store(&go, 1);
	for (int i = 0; i < nc; i++) {
		pthread_join(c[i].th, NULL);
		total += c[i].n;
		r.errors += c[i].errors;
	}
	all = malloc((total + 1) * sizeof(*all));
	for (int i = 0; i < nc; i++) {
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
		    "[SECONDS]\n");
		return 2;
	}
	token  = argv[2];
	job_id = atoll(argv[3]);
	if (argc > 4) {
		seconds = atof(argv[4]);
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
