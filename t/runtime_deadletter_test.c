/*
 * runtime_deadletter_test.c - every undeliverable message becomes a dead
 * letter with its reason; TroubleshootingActor counts and keeps the latest
 * 1,000; AdminActor reports actors and mailbox depths.
 */
#include "t/testutil.h"

static atomic_int gate_open = 1;

static int
slow_receive(ar_ctx *ctx, void *st, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *m)
{
	(void) ctx;
	(void) st;
	(void) t;
	(void) m;
	while (!atomic_load(&gate_open)) {
		usleep(200);
	}
	return (0);
}
static const ar_behavior slow = { NULL, slow_receive, NULL, NULL };

START_TEST(each_reason_is_recorded)
{
	ar_config c;
	ar_config_init(&c);
	c.name              = "dl1";
	c.max_message_bytes = 1024;
	c.log_dead_letters  = 0;
	ar_system *s        = tu_start_cfg(&c);
	ar_ref     admin, a, gone;
	ar_props   p = { 0 };
	ck_assert_int_eq(pj_admin_spawn_all(s, &admin), 0);
	p.behavior      = &slow;
	p.mailbox_bound = 1;
	ck_assert_int_eq(ar_spawn(s, AR_REF_NONE, "a", &p, &a), 0);
	ck_assert_int_eq(ar_spawn(s, AR_REF_NONE, "gone", &p, &gone), 0);
	ar_stop(s, gone);
	ck_assert(WAIT_UNTIL(!ar_ref_alive(s, gone), 1000));

	/* stopped actor */
	ck_assert_int_eq(tu_tell_num(s, gone, 1, 0), AR_ESTOPPED);
	/* no such actor (a ref forged from a slot never used) */
	ar_ref forged = { (1ull << 62) | (9999ull << 32) | 1 };
	ck_assert_int_eq(tu_tell_num(s, forged, 1, 0), AR_ENOENT);
	/* mailbox full: one in the box while the actor is held */
	atomic_store(&gate_open, 0);
	tu_tell_num(s, a, 1, 0);
	usleep(20000);
	tu_tell_num(s, a, 2, 0);
	ck_assert_int_eq(tu_tell_num(s, a, 3, 0), AR_EFULL);
	atomic_store(&gate_open, 1);
	/* over the size limit */
	Artest__Text big = ARTEST__TEXT__INIT;
	char         buf[2000];
	memset(buf, 'x', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	big.s                = buf;
	ck_assert_int_eq(ar_tell(s, a, &big.base, AR_REF_NONE), AR_ETOOBIG);
	/* a type nobody registered (artest.Blob is not, in this suite) */
	Artest__Blob blob = ARTEST__BLOB__INIT;
	ck_assert_int_eq(ar_tell(s, a, &blob.base, AR_REF_NONE), AR_ETYPE);

	ck_assert(WAIT_UNTIL(ar_dead_letter_total(s) == 5, 2000));
	Ar__DeadLetterReport *r = tu_dead_letters(s, admin, 10);
	ck_assert_uint_eq(r->total, 5);
	ck_assert_uint_eq(
	    tu_dl_count(r, AR__DEAD_LETTER_REASON__DEAD_LETTER_STOPPED), 1);
	ck_assert_uint_eq(
	    tu_dl_count(r, AR__DEAD_LETTER_REASON__DEAD_LETTER_NO_RECIPIENT),
	    1);
	ck_assert_uint_eq(
	    tu_dl_count(r, AR__DEAD_LETTER_REASON__DEAD_LETTER_MAILBOX_FULL),
	    1);
	ck_assert_uint_eq(
	    tu_dl_count(r, AR__DEAD_LETTER_REASON__DEAD_LETTER_TOO_LARGE), 1);
	ck_assert_uint_eq(
	    tu_dl_count(r, AR__DEAD_LETTER_REASON__DEAD_LETTER_UNKNOWN_TYPE),
	    1);
	ck_assert_uint_eq(r->n_recent, 5);
	/* the stopped actor's entry names it and the message type */
	ck_assert_int_eq(
	    r->recent[0]->reason, AR__DEAD_LETTER_REASON__DEAD_LETTER_STOPPED);
	ck_assert_str_eq(r->recent[0]->type, "artest.Num");
	ck_assert_str_eq(r->recent[0]->recipient, "pj://dl1/user/gone");
	ck_assert_int_gt(r->recent[0]->time_ms, ar_now_ms() - 10000);
	ck_assert_str_eq(r->recent[4]->type, "artest.Blob");
	ar__dead_letter_report__free_unpacked(r, NULL);
	ar_system_stop(s);
}
END_TEST

START_TEST(troubleshooting_keeps_the_latest_thousand)
{
	ar_system *s = tu_start("dl2", 0);
	ar_ref     admin, gone;
	ck_assert_int_eq(pj_admin_spawn_all(s, &admin), 0);
	gone = tu_spawn(s, "gone", &slow, 0);
	ar_stop(s, gone);
	ck_assert(WAIT_UNTIL(!ar_ref_alive(s, gone), 1000));
	for (int i = 0; i < 1500; i++) {
		if (i % 3 == 0) {
			Artest__Text t = ARTEST__TEXT__INIT;
			ar_tell(s, gone, &t.base, AR_REF_NONE);
		} else {
			tu_tell_num(s, gone, i, 0);
		}
	}
	ck_assert(WAIT_UNTIL(ar_dead_letter_total(s) == 1500, 2000));
	Ar__DeadLetterReport *r;
	ck_assert(
	    WAIT_UNTIL((r = tu_dead_letters(s, admin, 5000))->total == 1500
	            || (ar__dead_letter_report__free_unpacked(r, NULL), 0),
	        2000));
	ck_assert_uint_eq(r->n_recent, 1000);
	ck_assert_uint_eq(r->n_counts, 2);
	uint64_t texts = 0, nums = 0;
	for (size_t i = 0; i < r->n_counts; i++) {
		if (strcmp(r->counts[i]->type, "artest.Text") == 0) {
			texts = r->counts[i]->count;
		} else if (strcmp(r->counts[i]->type, "artest.Num") == 0) {
			nums = r->counts[i]->count;
		}
	}
	ck_assert_uint_eq(texts, 500);
	ck_assert_uint_eq(nums, 1000);
	/* newest last, and in time order */
	for (size_t i = 1; i < r->n_recent; i++) {
		ck_assert_int_ge(
		    r->recent[i]->time_ms, r->recent[i - 1]->time_ms);
	}
	ck_assert_str_eq(r->recent[999]->type, "artest.Num"); /* i = 1499 */
	ar__dead_letter_report__free_unpacked(r, NULL);
	ar_system_stop(s);
}
END_TEST

START_TEST(admin_reports_actors_and_mailbox_depths)
{
	ar_system              *s = tu_start("dl3", 1);
	ar_ref                  admin, a;
	ar_future              *f;
	const ProtobufCMessage *rep;
	Ar__ActorsQuery         q = AR__ACTORS_QUERY__INIT;
	ck_assert_int_eq(pj_admin_spawn_all(s, &admin), 0);
	a = tu_spawn(s, "held", &slow, 0);
	atomic_store(&gate_open, 0);
	for (int i = 0; i < 6; i++) {
		tu_tell_num(s, a, i, 0);
	}
	usleep(20000); /* one is being processed, five wait */
	ck_assert_int_eq(ar_ask(s, admin, &q.base, 2000, &f), 0);
	ck_assert_int_eq(ar_future_wait(f, -1, &rep), 0);
	const Ar__ActorsReport *r = (const Ar__ActorsReport *) rep;
	ck_assert_str_eq(r->system, "dl3");
	ck_assert_str_eq(r->address, ar_system_address(s));
	ck_assert_uint_eq(r->n_actors, 3);
	int seen = 0;
	for (size_t i = 0; i < r->n_actors; i++) {
		if (strcmp(r->actors[i]->path, "/user/held") == 0) {
			ck_assert_uint_eq(r->actors[i]->mailbox_depth, 5);
			seen++;
		}
	}
	ck_assert_int_eq(seen, 1);
	ar_future_free(f);
	atomic_store(&gate_open, 1);
	ar_system_stop(s);
}
END_TEST

int
main(void)
{
	Suite *s  = suite_create("runtime_deadletter");
	TCase *tc = tcase_create("deadletter");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, each_reason_is_recorded);
	tcase_add_test(tc, troubleshooting_keeps_the_latest_thousand);
	tcase_add_test(tc, admin_reports_actors_and_mailbox_depths);
	suite_add_tcase(s, tc);
	return (tu_run(s));
}
