/*
 * rt_local.c - in-process benchmarks of the actor runtime (ar_*), the C
 * side of the pairs whose CAF side is bench/rt_local_caf.cpp.  Each mode
 * prints one line of numbers on stdout; bench/runtime_bench.sh runs both
 * programs mode by mode and prints the tables.
 *
 *   rt_local tell1 N      1 thread calls ar_tell N times -> 1 actor; msgs/s
 *   rt_local tell4 N      4 threads, N/4 each -> 1 actor; msgs/s
 *   rt_local ask N        N sequential asks from the main thread; us/ask
 *   rt_local actors N     RSS bytes per idle actor (N spawned)
 *   rt_local queued N     RSS bytes per message queued in a blocked actor
 *   rt_local idle         VmRSS (KiB) before and after ar_system_start
 *
 * Design notes: the clock stops only when the receiver has processed the
 * last message (it posts a semaphore at count == N), never when the
 * senders are done.  Senders are plain threads calling ar_tell, mirroring
 * the CAF program's scoped_actor senders (blocking actors on their own
 * threads).  The "queued" mode blocks the receiver inside its first
 * receive (on a condition variable) so every later message stays in the
 * mailbox while RSS is read.  Threads: the senders and the runtime's own;
 * all shared counters are atomics or guarded by `mtx`.  Out of memory
 * aborts (ar_xmalloc), as everywhere in the project.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/testmsg.pb-c.h"
#include "runtime/ar.h"

static atomic_long     received;
static long            expected;
static sem_t           done;
static pthread_mutex_t mtx  = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  cv   = PTHREAD_COND_INITIALIZER;
static int             gate = 0; /* "queued": 1 = receiver blocked, 2 = go */

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double) ts.tv_sec + (double) ts.tv_nsec / 1e9);
}

static long
rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char  line[256];
	long  kib = -1;
	if (f == NULL) {
		return (-1);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return (kib);
}

static int
count_rcv(ar_ctx *ctx, void *st, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *m)
{
	(void) ctx;
	(void) st;
	(void) t;
	(void) m;
	if (atomic_fetch_add(&received, 1) + 1 == expected) {
		sem_post(&done);
	}
	return (0);
}

static int
echo_rcv(ar_ctx *ctx, void *st, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *m)
{
	(void) st;
	(void) t;
	return (ar_reply(ctx, m));
}

static int
gate_rcv(ar_ctx *ctx, void *st, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *m)
{
	pthread_mutex_lock(&mtx);
	if (gate == 0) {
		gate = 1;
		pthread_cond_broadcast(&cv);
		while (gate != 2) {
			pthread_cond_wait(&cv, &mtx);
		}
	}
	pthread_mutex_unlock(&mtx);
	return (count_rcv(ctx, st, t, m));
}

static const ar_behavior count_beh = { NULL, count_rcv, NULL, NULL };
static const ar_behavior echo_beh  = { NULL, echo_rcv, NULL, NULL };
static const ar_behavior gate_beh  = { NULL, gate_rcv, NULL, NULL };

static ar_system *
start(void)
{
	ar_config  c;
	ar_system *sys;
	ar_config_init(&c);
	c.name = "bench";
	if (ar_system_start(&c, &sys) != 0) {
		fprintf(stderr, "rt_local: ar_system_start failed\n");
		exit(1);
	}
	ar_registry_add(&artest__num__descriptor);
	return (sys);
}

static ar_ref
spawn(ar_system *sys, const char *name, const ar_behavior *b)
{
	ar_props p = { b, 0, NULL, AR_DISPATCHER_DEFAULT, 0, { 0 } };
	ar_ref   r;
	int      rv;
	if ((rv = ar_spawn(sys, AR_REF_NONE, name, &p, &r)) != 0) {
		fprintf(
		    stderr, "rt_local: spawn %s: %s\n", name, ar_strerror(rv));
		exit(1);
	}
	return (r);
}

typedef struct sender_arg {
	ar_system *sys;
	ar_ref     to;
	long       n;
} sender_arg;

static void *
sender(void *arg)
{
	sender_arg *a = arg;
	Artest__Num m = ARTEST__NUM__INIT; /* one int64, like CAF's */
	for (long i = 0; i < a->n; i++) {
		m.n = i;
		if (ar_tell(a->sys, a->to, &m.base, AR_REF_NONE) != 0) {
			fprintf(stderr, "rt_local: ar_tell failed\n");
			exit(1);
		}
	}
	return (NULL);
}

static void
bench_tell(long n, int nsenders)
{
	ar_system *sys = start();
	ar_ref     r   = spawn(sys, "r", &count_beh);
	pthread_t  th[16];
	sender_arg a[16];
	double     t0, t1;

	expected = (n / nsenders) * nsenders;
	t0       = now_s();
	for (int i = 0; i < nsenders; i++) {
		a[i] = (sender_arg) { sys, r, n / nsenders };
		pthread_create(&th[i], NULL, sender, &a[i]);
	}
	for (int i = 0; i < nsenders; i++) {
		pthread_join(th[i], NULL);
	}
	sem_wait(&done);
	t1 = now_s();
	printf("%.0f\n", (double) expected / (t1 - t0));
	ar_system_stop(sys);
}

static void
bench_ask(long n)
{
	ar_system  *sys = start();
	ar_ref      r   = spawn(sys, "echo", &echo_beh);
	Artest__Num m   = ARTEST__NUM__INIT;
	double      t0  = now_s(), t1;
	for (long i = 0; i < n + n / 10; i++) {
		const ProtobufCMessage *rep;
		ar_future              *f;
		if (i == n / 10) {
			t0 = now_s(); /* the first tenth warms up */
		}
		m.n = i;
		if (ar_ask(sys, r, &m.base, 5000, &f) != 0
		    || ar_future_wait(f, -1, &rep) != 0
		    || ((const Artest__Num *) rep)->n != i) {
			fprintf(stderr, "rt_local: ask %ld failed\n", i);
			exit(1);
		}
		ar_future_free(f);
	}
	t1 = now_s();
	printf("%.2f\n", (t1 - t0) * 1e6 / (double) n);
	ar_system_stop(sys);
}

static void
bench_actors(long n)
{
	ar_system *sys = start();
	char       name[32];
	long       before, after;
	spawn(sys, "warm", &count_beh);
	before = rss_kib();
	for (long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "a%ld", i);
		spawn(sys, name, &count_beh);
	}
	/* let every pre_start turn run before reading RSS */
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	after = rss_kib();
	printf("%.0f\n", (double) (after - before) * 1024.0 / (double) n);
	fflush(stdout);
	_exit(0); /* stopping 100k actors is not what is measured */
}

static void
bench_queued(long n)
{
	ar_system  *sys = start();
	ar_ref      r   = spawn(sys, "q", &gate_beh);
	Artest__Num m   = ARTEST__NUM__INIT;
	long        before, after;

	expected = n + 1;
	ar_tell(sys, r, &m.base, AR_REF_NONE); /* blocks the receiver */
	pthread_mutex_lock(&mtx);
	while (gate != 1) {
		pthread_cond_wait(&cv, &mtx);
	}
	pthread_mutex_unlock(&mtx);
	before = rss_kib();
	for (long i = 0; i < n; i++) {
		m.n = i + 1;
		ar_tell(sys, r, &m.base, AR_REF_NONE);
	}
	after = rss_kib();
	pthread_mutex_lock(&mtx);
	gate = 2;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mtx);
	sem_wait(&done);
	printf("%.0f\n", (double) (after - before) * 1024.0 / (double) n);
	ar_system_stop(sys);
}

static void
bench_idle(void)
{
	ar_config  c;
	ar_system *sys;
	long       before = rss_kib(), after;
	ar_config_init(&c);
	c.name       = "idle";
	c.listen_url = "tcp://127.0.0.1:0";
	if (ar_system_start(&c, &sys) != 0) {
		fprintf(stderr, "rt_local: ar_system_start failed\n");
		exit(1);
	}
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	after = rss_kib();
	printf("%ld %ld\n", before, after);
	ar_system_stop(sys);
}

int
main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 0;
	sem_init(&done, 0, 0);
	if (argc < 2) {
		goto usage;
	}
	if (strcmp(argv[1], "idle") == 0) {
		bench_idle();
		return (0);
	}
	if (n <= 0) {
		goto usage;
	}
	if (strcmp(argv[1], "tell1") == 0) {
		bench_tell(n, 1);
	} else if (strcmp(argv[1], "tell4") == 0) {
		bench_tell(n, 4);
	} else if (strcmp(argv[1], "ask") == 0) {
		bench_ask(n);
	} else if (strcmp(argv[1], "actors") == 0) {
		bench_actors(n);
	} else if (strcmp(argv[1], "queued") == 0) {
		bench_queued(n);
	} else {
		goto usage;
	}
	return (0);
usage:
	fprintf(stderr,
	    "usage: rt_local tell1|tell4|ask|actors|queued N | idle\n");
	return (2);
}
