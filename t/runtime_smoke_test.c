#include <check.h>
#include <unistd.h>
#include <stdio.h>
#include "runtime/ar.h"
#include "proto/testmsg.pb-c.h"

static int got;
static int rcv(ar_ctx *ctx, void *st, const ProtobufCMessageDescriptor *t, const ProtobufCMessage *m) {
	(void)st;
	if (t == &artest__num__descriptor) {
		const Artest__Num *n = (const Artest__Num *)m;
		got += (int)n->n;
		Artest__Num r = ARTEST__NUM__INIT; r.n = n->n * 2;
		if (!ar_ref_is_none(ar_ctx_sender(ctx))) ar_reply(ctx, &r.base);
	}
	return 0;
}
static const ar_behavior beh = { NULL, rcv, NULL, NULL };
START_TEST(smoke) {
	ar_config c; ar_config_init(&c); c.listen_url = "tcp://127.0.0.1:0";
	ar_system *s; ck_assert_int_eq(ar_system_start(&c, &s), 0);
	ar_registry_add(&artest__num__descriptor);
	ar_props p = { &beh, 0, NULL, 0, 0, {0} };
	ar_ref a; ck_assert_int_eq(ar_spawn(s, AR_REF_NONE, "a", &p, &a), 0);
	Artest__Num n = ARTEST__NUM__INIT; n.n = 21;
	ar_future *f; ck_assert_int_eq(ar_ask(s, a, &n.base, 1000, &f), 0);
	const ProtobufCMessage *r;
	ck_assert_int_eq(ar_future_wait(f, -1, &r), 0);
	ck_assert_int_eq(((const Artest__Num*)r)->n, 42);
	ar_future_free(f);
	char addr[300]; snprintf(addr, sizeof addr, "%s/user/a", ar_system_address(s));
	ar_config c2; ar_config_init(&c2); c2.name = "b"; c2.listen_url = "tcp://127.0.0.1:0";
	ar_system *s2; ck_assert_int_eq(ar_system_start(&c2, &s2), 0);
	ar_ref ra; ck_assert_int_eq(ar_ref_resolve(s2, addr, &ra), 0);
	ck_assert_int_eq(ar_ask(s2, ra, &n.base, 2000, &f), 0);
	ck_assert_int_eq(ar_future_wait(f, -1, &r), 0);
	ck_assert_int_eq(((const Artest__Num*)r)->n, 42);
	ar_future_free(f);
	ar_system_stop(s2);
	ar_system_stop(s);
	ck_assert_int_eq(got, 42);
} END_TEST
int main(void) {
	Suite *su = suite_create("smoke"); TCase *tc = tcase_create("x"); tcase_add_test(tc, smoke); suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su); srunner_run_all(sr, CK_NORMAL); int f = srunner_ntests_failed(sr); srunner_free(sr); return f != 0;
}
