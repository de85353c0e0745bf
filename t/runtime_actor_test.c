/*
 * runtime_actor_test.c - actors, mailboxes, dispatchers, stop, supervision.
 * Each test runs in its own process (Check's fork mode), so the globals
 * below start fresh every time.
 */
#include <pthread.h>
#include <sched.h>

#include "t/testutil.h"

/* ---- a recording actor ------------------------------------------------- */
static atomic_long received;
static atomic_long out_of_order;
static atomic_int  inside, max_inside;
static int64_t     last_by_from[8];
static atomic_int  post_stops;
static atomic_int  pre_starts;
static atomic_int  pre_restarts;
static char        stop_order[64];
static atomic_int  stop_order_len;
static atomic_int  gate_open = 1;
static int         slow_us;

typedef struct rec_state {
	int64_t counter; /* reset by a restart */
	char    tag;
} rec_state;

static int
rec_pre_start(ar_ctx *ctx, void *st)
{
	(void) ctx;
	(void) st;
	atomic_fetch_add(&pre_starts, 1);
	return (0);
}

static int
rec_receive(ar_ctx *ctx, void *st, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *m)
{
	rec_state *s = st;
	(void) ctx;
	int now = atomic_fetch_add(&inside, 1) + 1;
	int mx  = atomic_load(&max_inside);
	while (now > mx
	    && !atomic_compare_exchange_weak(&max_inside, &mx, now)) { }
	while (!atomic_load(&gate_open)) {
		usleep(200);
	}
	if (slow_us) {
		usleep(slow_us);
	}
	int rv = 0;
	if (t == &artest__num__descriptor) {
		const Artest__Num *n = (const Artest__Num *) m;
		uint32_t           f = n->from % 8;
		if (n->n != last_by_from[f] + 1) {
			atomic_fetch_add(&out_of_order, 1);
		}
		last_by_from[f] = n->n;
		s->counter++;
		atomic_fetch_add(&received, 1);
	} else if (t == &artest__fail__descriptor) {
		rv = ((const Artest__Fail *) m)->code;
	} else if (t == &artest__text__descriptor) {
		Artest__Num r = ARTEST__NUM__INIT;
		r.n           = s->counter;
		ar_reply(ctx, &r.base);
	}
	atomic_fetch_sub(&inside, 1);
	return (rv);
}

static void
rec_post_stop(ar_ctx *ctx, void *st)
{
	rec_state *s = st;
	(void) ctx;
	int i = atomic_fetch_add(&stop_order_len, 1);
	if (i < 63) {
		stop_order[i] = s->tag ? s->tag : '?';
	}
	atomic_fetch_add(&post_stops, 1);
}

static void
rec_pre_restart(ar_ctx *ctx, void *st, int err)
{
	(void) ctx;
	(void) st;
	(void) err;
	atomic_fetch_add(&pre_restarts, 1);
}

static const ar_behavior rec
    = { rec_pre_start, rec_receive, rec_post_stop, rec_pre_restart };

static int64_t
ask_counter(ar_system *s, ar_ref a)
{
	Artest__Text            t = ARTEST__TEXT__INIT;
	ar_future              *f;
	const ProtobufCMessage *r;
	int64_t                 v;
	ck_assert_int_eq(ar_ask(s, a, &t.base, 2000, &f), 0);
	ck_assert_int_eq(ar_future_wait(f, -1, &r), 0);
	v = ((const Artest__Num *) r)->n;
	ar_future_free(f);
	return (v);
}

START_TEST(tell_keeps_order_one_sender)
{
	ar_system *s = tu_start("t1", 0);
	ar_ref     a = tu_spawn(s, "a", &rec, sizeof(rec_state));
	for (int i = 1; i <= 200000; i++) {
		ck_assert_int_eq(tu_tell_num(s, a, i, 0), 0);
	}
	ck_assert(WAIT_UNTIL(atomic_load(&received) == 200000, 10000));
	ck_assert_int_eq(atomic_load(&out_of_order), 0);
	ar_system_stop(s);
}
END_TEST

typedef struct sender_arg {
	ar_system *s;
	ar_ref     to;
	uint32_t   from;
	int        count;
} sender_arg;

static void *
sender(void *p)
{
	sender_arg *a = p;
	for (int i = 1; i <= a->count; i++) {
		tu_tell_num(a->s, a->to, i, a->from);
	}
	return (NULL);
}

START_TEST(four_senders_order_per_pair_and_one_at_a_time)
{
	ar_system *s = tu_start("t2", 0);
	ar_ref     a = tu_spawn(s, "a", &rec, sizeof(rec_state));
	pthread_t  th[4];
	sender_arg args[4];
	for (int i = 0; i < 4; i++) {
		args[i] = (sender_arg) { s, a, (uint32_t) i + 1, 50000 };
		pthread_create(&th[i], NULL, sender, &args[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
	}
	ck_assert(WAIT_UNTIL(atomic_load(&received) == 200000, 10000));
	ck_assert_int_eq(atomic_load(&out_of_order), 0);
	ck_assert_int_eq(atomic_load(&max_inside), 1);
	ar_system_stop(s);
}
END_TEST

START_TEST(names_paths_and_lookup)
{
	ar_system *s = tu_start("t3", 1);
	ar_ref     a = tu_spawn(s, "alpha", &rec, sizeof(rec_state)), b, c;
	ar_props   p = { 0 };
	char       buf[256], want[256];
	p.behavior   = &rec;
	p.state_size = sizeof(rec_state);
	ck_assert_int_eq(ar_spawn(s, AR_REF_NONE, "alpha", &p, &b), AR_EEXIST);
	ck_assert_int_eq(
	    ar_spawn(s, AR_REF_NONE, "bad/name", &p, &b), AR_EINVAL);
	ck_assert_int_eq(ar_spawn(s, AR_REF_NONE, "", &p, &b), AR_EINVAL);
	ck_assert_int_eq(ar_spawn(s, a, "kid", &p, &c), 0);
	ck_assert_int_eq(ar_lookup(s, "/user/alpha", &b), 0);
	ck_assert(ar_ref_eq(a, b));
	ck_assert_int_eq(ar_lookup(s, "/user/alpha/kid", &b), 0);
	ck_assert(ar_ref_eq(c, b));
	ck_assert_int_eq(ar_lookup(s, "/user/nobody", &b), AR_ENOENT);
	snprintf(want, sizeof(want), "pj://t3@127.0.0.1:%d/user/alpha/kid",
	    ar_system_port(s));
	ck_assert_str_eq(ar_ref_address(s, c, buf, sizeof(buf)), want);
	ck_assert_int_eq(ar_ref_resolve(s, want, &b), 0);
	ck_assert(ar_ref_eq(c, b)); /* own address resolves locally */
	ck_assert_int_gt(ar_system_port(s), 0);
	ar_system_stop(s);
}
END_TEST

START_TEST(stopped_actor_gives_dead_letters_and_stale_refs_fail)
{
	ar_system *s = tu_start("t4", 0);
	ar_ref     a = tu_spawn(s, "a", &rec, sizeof(rec_state)), a2;
	ck_assert_int_eq(tu_tell_num(s, a, 1, 0), 0);
	ck_assert(WAIT_UNTIL(atomic_load(&received) == 1, 2000));
	ck_assert_int_eq(ar_stop(s, a), 0);
	ck_assert(WAIT_UNTIL(!ar_ref_alive(s, a), 2000));
	ck_assert(WAIT_UNTIL(atomic_load(&post_stops) == 1, 2000));
	uint64_t before = ar_dead_letter_total(s);
	ck_assert_int_eq(tu_tell_num(s, a, 2, 0), AR_ESTOPPED);
	ck_assert_uint_eq(ar_dead_letter_total(s), before + 1);
	/* the same name again: a new incarnation the old ref cannot reach */
	a2 = tu_spawn(s, "a", &rec, sizeof(rec_state));
	ck_assert(!ar_ref_eq(a, a2));
	ck_assert_int_eq(tu_tell_num(s, a, 2, 0), AR_ESTOPPED);
	ck_assert_int_eq(tu_tell_num(s, a2, 2, 0), 0);
	ck_assert(WAIT_UNTIL(atomic_load(&received) == 2, 2000));
	ck_assert_int_eq(atomic_load(&post_stops), 1);
	ar_system_stop(s);
	ck_assert_int_eq(atomic_load(&post_stops), 2);
}
END_TEST

static int
tagged_pre_start(ar_ctx *ctx, void *st)
{
	const char *tag         = ar_ctx_init_arg(ctx);
	((rec_state *) st)->tag = tag ? tag[0] : '?';
	return (0);
}
static const ar_behavior tagged
    = { tagged_pre_start, rec_receive, rec_post_stop, NULL };

START_TEST(children_stop_before_parent)
{
	ar_system *s = tu_start("t5", 0);
	ar_props   p = { 0 };
	ar_ref     parent, kid, grandkid, r;
	p.behavior   = &tagged;
	p.state_size = sizeof(rec_state);
	p.init_arg   = "P";
	ck_assert_int_eq(ar_spawn(s, AR_REF_NONE, "p", &p, &parent), 0);
	p.init_arg = "K";
	ck_assert_int_eq(ar_spawn(s, parent, "k", &p, &kid), 0);
	p.init_arg = "G";
	ck_assert_int_eq(ar_spawn(s, kid, "g", &p, &grandkid), 0);
	ck_assert(WAIT_UNTIL(ar_lookup(s, "/user/p/k/g", &r) == 0, 1000));
	ar_stop(s, parent);
	ck_assert(WAIT_UNTIL(atomic_load(&stop_order_len) == 3, 2000));
	ck_assert_str_eq(stop_order, "GKP");
	ck_assert(!ar_ref_alive(s, grandkid));
	ck_assert_int_eq(ar_lookup(s, "/user/p/k", &r), AR_ENOENT);
	/* a stopped parent takes no new children */
	ck_assert_int_eq(ar_spawn(s, parent, "late", &p, &r), AR_ESTOPPED);
	ar_system_stop(s);
}
END_TEST

START_TEST(bounded_mailbox_overflows_to_dead_letters)
{
	ar_system *s = tu_start("t6", 0);
	ar_props   p = { 0 };
	ar_ref     a;
	int        full = 0;
	p.behavior      = &rec;
	p.state_size    = sizeof(rec_state);
	p.mailbox_bound = 10;
	atomic_store(&gate_open, 0);
	ck_assert_int_eq(ar_spawn(s, AR_REF_NONE, "a", &p, &a), 0);
	tu_tell_num(s, a, 1, 0);
	ck_assert(WAIT_UNTIL(atomic_load(&inside) == 1, 2000)); /* busy */
	for (int i = 2; i <= 30; i++) {
		if (tu_tell_num(s, a, i, 0) == AR_EFULL) {
			full++;
		}
	}
	ck_assert_int_eq(full, 19);
	ck_assert_uint_eq(ar_dead_letter_total(s), 19);
	atomic_store(&gate_open, 1);
	ck_assert(WAIT_UNTIL(atomic_load(&received) == 11, 2000));
	ar_system_stop(s);
}
END_TEST

/* ---- supervision ------------------------------------------------------- */
enum { E_RESUME = 101, E_RESTART, E_STOP, E_ESCALATE };

static ar_directive
decide(int err)
{
	switch (err) {
	case E_RESUME:
		return (AR_RESUME);
	case E_STOP:
		return (AR_STOP);
	case E_ESCALATE:
		return (AR_ESCALATE);
	default:
		return (AR_RESTART);
	}
}

static void
tell_fail(ar_system *s, ar_ref to, int code)
{
	Artest__Fail f = ARTEST__FAIL__INIT;
	f.code         = code;
	ck_assert_int_eq(ar_tell(s, to, &f.base, AR_REF_NONE), 0);
}

static ar_ref
spawn_supervised(ar_system *s, ar_ref *parentp, int max_restarts)
{
	ar_props p = { 0 };
	ar_ref   parent, kid;
	p.behavior                    = &rec;
	p.state_size                  = sizeof(rec_state);
	p.child_strategy.decider      = decide;
	p.child_strategy.max_restarts = max_restarts;
	p.child_strategy.within_ms    = 60000;
	ck_assert_int_eq(ar_spawn(s, AR_REF_NONE, "parent", &p, &parent), 0);
	p.child_strategy.decider = NULL;
	ck_assert_int_eq(ar_spawn(s, parent, "kid", &p, &kid), 0);
	*parentp = parent;
	return (kid);
}

START_TEST(supervision_resume_keeps_state)
{
	ar_system *s = tu_start("t7", 0);
	ar_ref     parent, kid = spawn_supervised(s, &parent, 0);
	tu_tell_num(s, kid, 1, 0);
	tu_tell_num(s, kid, 2, 0);
	tell_fail(s, kid, E_RESUME);
	tu_tell_num(s, kid, 3, 0);
	ck_assert_int_eq(ask_counter(s, kid), 3);
	ck_assert_int_eq(atomic_load(&pre_restarts), 0);
	ar_system_stop(s);
}
END_TEST

START_TEST(supervision_restart_resets_state_keeps_mailbox)
{
	ar_system *s = tu_start("t8", 0);
	ar_ref     parent, kid = spawn_supervised(s, &parent, 0);
	ck_assert(WAIT_UNTIL(atomic_load(&pre_starts) == 2, 2000));
	atomic_store(&gate_open, 0);
	tu_tell_num(s, kid, 1, 0);
	tu_tell_num(s, kid, 2, 0);
	tell_fail(s, kid, E_RESTART);
	tu_tell_num(s, kid, 3, 0); /* queued behind the failure */
	atomic_store(&gate_open, 1);
	ck_assert_int_eq(ask_counter(s, kid), 1); /* only 3 after restart */
	ck_assert_int_eq(atomic_load(&pre_restarts), 1);
	ck_assert_int_eq(atomic_load(&pre_starts), 3);
	ck_assert(ar_ref_alive(s, kid));
	ar_system_stop(s);
}
END_TEST

START_TEST(supervision_stop_and_budget)
{
	ar_system *s = tu_start("t9", 0);
	ar_ref     parent, kid = spawn_supervised(s, &parent, 2);
	tell_fail(s, kid, E_RESTART);
	tell_fail(s, kid, E_RESTART);
	ck_assert(WAIT_UNTIL(atomic_load(&pre_restarts) == 2, 2000));
	ck_assert(ar_ref_alive(s, kid));
	tell_fail(s, kid, E_RESTART); /* over the budget of 2: stopped */
	ck_assert(WAIT_UNTIL(!ar_ref_alive(s, kid), 2000));
	ck_assert_int_eq(atomic_load(&pre_restarts), 2);

	ar_ref   kid2;
	ar_props p   = { 0 };
	p.behavior   = &rec;
	p.state_size = sizeof(rec_state);
	ck_assert_int_eq(ar_spawn(s, parent, "kid2", &p, &kid2), 0);
	tell_fail(s, kid2, E_STOP);
	ck_assert(WAIT_UNTIL(!ar_ref_alive(s, kid2), 2000));
	ck_assert(ar_ref_alive(s, parent));
	ar_system_stop(s);
}
END_TEST

START_TEST(supervision_escalate_fails_the_parent)
{
	ar_system *s = tu_start("t10", 0);
	ar_ref     parent, kid = spawn_supervised(s, &parent, 0);
	ck_assert(WAIT_UNTIL(atomic_load(&pre_starts) == 2, 2000));
	tu_tell_num(s, parent, 1, 0);
	ck_assert_int_eq(ask_counter(s, parent), 1);
	tell_fail(s, kid, E_ESCALATE);
	/* the guardian restarts the parent: its state is reset */
	ck_assert(WAIT_UNTIL(atomic_load(&pre_restarts) == 1, 2000));
	ck_assert_int_eq(ask_counter(s, parent), 0);
	ck_assert(ar_ref_alive(s, parent));
	ar_system_stop(s);
}
END_TEST

static int
failing_start(ar_ctx *ctx, void *st)
{
	(void) ctx;
	(void) st;
	return (7);
}
static const ar_behavior bad_start
    = { failing_start, rec_receive, NULL, NULL };

START_TEST(pre_start_failure_stops_the_actor)
{
	ar_system *s = tu_start("t11", 0);
	ar_ref     a = tu_spawn(s, "a", &bad_start, sizeof(rec_state));
	ck_assert(WAIT_UNTIL(!ar_ref_alive(s, a), 2000));
	ar_system_stop(s);
}
END_TEST

/* ---- dispatchers ------------------------------------------------------- */
static int
sleepy_receive(ar_ctx *ctx, void *st, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *m)
{
	(void) ctx;
	(void) st;
	(void) t;
	(void) m;
	usleep(300000); /* a store call that blocks */
	return (0);
}
static const ar_behavior sleepy = { NULL, sleepy_receive, NULL, NULL };

START_TEST(blocking_dispatcher_does_not_starve_others)
{
	ar_system *s = tu_start("t12", 0);
	ar_props   p = { 0 };
	ar_ref     b[4], a;
	char       name[16];
	p.behavior   = &sleepy;
	p.dispatcher = AR_DISPATCHER_BLOCKING;
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "io%d", i);
		ck_assert_int_eq(ar_spawn(s, AR_REF_NONE, name, &p, &b[i]), 0);
		tu_tell_num(s, b[i], 1, 0);
		tu_tell_num(s, b[i], 2, 0);
	}
	a          = tu_spawn(s, "quick", &rec, sizeof(rec_state));
	int64_t t0 = ar_mono_ms();
	for (int i = 1; i <= 1000; i++) {
		tu_tell_num(s, a, i, 0);
	}
	ck_assert(WAIT_UNTIL(atomic_load(&received) == 1000, 5000));
	ck_assert_int_lt(ar_mono_ms() - t0, 290);
	ar_system_stop(s);
}
END_TEST

START_TEST(graceful_stop_drains_mailboxes)
{
	ar_system *s = tu_start("t13", 0);
	ar_ref     a = tu_spawn(s, "a", &rec, sizeof(rec_state));
	slow_us      = 100;
	for (int i = 1; i <= 2000; i++) {
		tu_tell_num(s, a, i, 0);
	}
	ar_system_stop(s); /* drains (2000 x 100 us < stop_drain_ms) */
	ck_assert_int_eq(atomic_load(&received), 2000);
	ck_assert_int_eq(atomic_load(&post_stops), 1);
}
END_TEST

/* ---- a reused slot (issue 7, finding 8) ------------------------------- */
/*
 * One name spawned and stopped over and over, alternating the pool and the
 * mailbox bound, while two threads tell whatever incarnation is current:
 * the slot is reused at once (the free list is LIFO).  Every pre_start and
 * receive must run on its own incarnation's pool, and the props of a
 * reused slot must not be read while the next spawn writes them (a data
 * race ThreadSanitizer reports).
 */
static const int pool_kinds[2]
    = { AR_DISPATCHER_DEFAULT, AR_DISPATCHER_BLOCKING };
static atomic_int    wrong_pool, probe_runs;
static atomic_ullong current_ref;
static atomic_bool   churn_done;

static void
check_pool(ar_ctx *ctx)
{
	char name[16] = "";
	int  kind     = *(const int *) ar_ctx_init_arg(ctx);
	pthread_getname_np(pthread_self(), name, sizeof(name));
	if (strcmp(name,
	        kind == AR_DISPATCHER_BLOCKING ? "ar:blocking" : "ar:default")
	    != 0) {
		atomic_fetch_add(&wrong_pool, 1);
	}
	atomic_fetch_add(&probe_runs, 1);
}

static int
probe_start(ar_ctx *ctx, void *st)
{
	(void) st;
	check_pool(ctx);
	return (0);
}

static int
probe_receive(ar_ctx *ctx, void *st, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *m)
{
	(void) st;
	(void) t;
	(void) m;
	check_pool(ctx);
	return (0);
}
static const ar_behavior pool_probe
    = { probe_start, probe_receive, NULL, NULL };

typedef struct churn_arg {
	ar_system *s;
} churn_arg;

static void *
teller(void *arg)
{
	churn_arg *c = arg;
	while (!atomic_load(&churn_done)) {
		ar_ref r = { atomic_load(&current_ref) };
		tu_tell_num(c->s, r, 1, 0);
	}
	return (NULL);
}

START_TEST(a_reused_slot_runs_on_its_own_pool)
{
	ar_system *s = tu_start("reuse", 0);
	churn_arg  c = { s };
	pthread_t  th[2];
	int64_t    until = ar_mono_ms() + 2000;
	int        n     = 0;
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(pthread_create(&th[i], NULL, teller, &c), 0);
	}
	while (ar_mono_ms() < until) {
		ar_props p = { 0 };
		ar_ref   r;
		int      k      = n % 2;
		p.behavior      = &pool_probe;
		p.dispatcher    = (ar_dispatcher_kind) pool_kinds[k];
		p.mailbox_bound = k == 0 ? 0 : 2;
		p.init_arg      = &pool_kinds[k];
		if (ar_spawn(s, AR_REF_NONE, "p", &p, &r) != 0) {
			sched_yield(); /* the last one is still stopping */
			continue;
		}
		atomic_store(&current_ref, r.id);
		for (int j = 0; j < n % 7; j++) {
			sched_yield();
		}
		ar_stop(s, r);
		n++;
	}
	atomic_store(&churn_done, true);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
	}
	ar_system_stop(s);
	ck_assert_int_gt(n, 10);
	ck_assert_msg(atomic_load(&wrong_pool) == 0,
	    "%d of %d turns ran on the other pool (%d incarnations)",
	    atomic_load(&wrong_pool), atomic_load(&probe_runs), n);
}
END_TEST

START_TEST(registry_and_config)
{
	ar_config  c;
	ar_system *s;
	tu_register();
	ck_assert_ptr_eq(
	    ar_registry_find("artest.Num"), &artest__num__descriptor);
	ck_assert_ptr_eq(
	    ar_registry_find("ar.DeadLetter"), &ar__dead_letter__descriptor);
	ck_assert_ptr_null(ar_registry_find("no.such.Type"));
	ck_assert_int_eq(ar_registry_add(NULL), AR_EINVAL);
	ar_config_init(&c);
	ck_assert_int_eq(c.ask_timeout_ms, 5000);
	ck_assert_uint_eq(c.max_message_bytes, 4u << 20);
	c.name = "bad name";
	ck_assert_int_eq(ar_system_start(&c, &s), AR_EINVAL);
	c.name       = "ok";
	c.listen_url = "udp://127.0.0.1:1";
	ck_assert_int_ne(ar_system_start(&c, &s), 0);
	ck_assert_str_eq(ar_strerror(AR_ETIMEDOUT), "timed out");
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("runtime_actor");
	TCase *tc = tcase_create("actor");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, tell_keeps_order_one_sender);
	tcase_add_test(tc, four_senders_order_per_pair_and_one_at_a_time);
	tcase_add_test(tc, names_paths_and_lookup);
	tcase_add_test(
	    tc, stopped_actor_gives_dead_letters_and_stale_refs_fail);
	tcase_add_test(tc, children_stop_before_parent);
	tcase_add_test(tc, bounded_mailbox_overflows_to_dead_letters);
	tcase_add_test(tc, supervision_resume_keeps_state);
	tcase_add_test(tc, supervision_restart_resets_state_keeps_mailbox);
	tcase_add_test(tc, supervision_stop_and_budget);
	tcase_add_test(tc, supervision_escalate_fails_the_parent);
	tcase_add_test(tc, pre_start_failure_stops_the_actor);
	tcase_add_test(tc, blocking_dispatcher_does_not_starve_others);
	tcase_add_test(tc, graceful_stop_drains_mailboxes);
	tcase_add_test(tc, registry_and_config);
	tcase_add_test(tc, a_reused_slot_runs_on_its_own_pool);
	suite_add_tcase(s, tc);
	return (tu_run(s));
}
