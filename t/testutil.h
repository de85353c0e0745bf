/*
 * testutil.h - helpers shared by the runtime's Check suites.
 */
#ifndef PJ_T_TESTUTIL_H
#define PJ_T_TESTUTIL_H

#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors/admin.h"
#include "proto/testmsg.pb-c.h"
#include "runtime/ar.h"

/* Polls cond every millisecond for up to ms; evaluates to its last value. */
#define WAIT_UNTIL(cond, ms)                                                  \
	({                                                                    \
		int64_t _dl = ar_mono_ms() + (ms);                            \
		bool    _ok;                                                  \
		while (!(_ok = (cond)) && ar_mono_ms() < _dl) {               \
			usleep(1000);                                         \
		}                                                             \
		_ok;                                                          \
	})

static inline void
tu_register(void)
{
	ar_registry_add(&artest__num__descriptor);
	ar_registry_add(&artest__text__descriptor);
	ar_registry_add(&artest__fail__descriptor);
}

static inline ar_system *
tu_start(const char *name, int listen)
{
	ar_config  c;
	ar_system *s = NULL;
	ar_config_init(&c);
	c.name             = name;
	c.listen_url       = listen ? "tcp://127.0.0.1:0" : NULL;
	c.log_dead_letters = 0;
	tu_register();
	ck_assert_int_eq(ar_system_start(&c, &s), 0);
	return (s);
}

static inline ar_system *
tu_start_cfg(ar_config *c)
{
	ar_system *s = NULL;
	tu_register();
	ck_assert_int_eq(ar_system_start(c, &s), 0);
	return (s);
}

static inline ar_ref
tu_spawn(ar_system *s, const char *name, const ar_behavior *b, size_t state)
{
	ar_props p = { 0 };
	ar_ref   r;
	p.behavior   = b;
	p.state_size = state;
	ck_assert_int_eq(ar_spawn(s, AR_REF_NONE, name, &p, &r), 0);
	return (r);
}

static inline int
tu_tell_num(ar_system *s, ar_ref to, int64_t n, uint32_t from)
{
	Artest__Num m = ARTEST__NUM__INIT;
	m.n           = n;
	m.from        = from;
	return (ar_tell(s, to, &m.base, AR_REF_NONE));
}

/* Asks `to` (an AdminActor or TroubleshootingActor) for its report. */
static inline Ar__DeadLetterReport *
tu_dead_letters(ar_system *s, ar_ref to, uint32_t recent)
{
	Ar__DeadLetterQuery     q = AR__DEAD_LETTER_QUERY__INIT;
	ar_future              *f;
	const ProtobufCMessage *r;
	Ar__DeadLetterReport   *copy = NULL;
	q.recent_limit               = recent;
	ck_assert_int_eq(ar_ask(s, to, &q.base, 3000, &f), 0);
	ck_assert_int_eq(ar_future_wait(f, -1, &r), 0);
	ck_assert_ptr_eq(r->descriptor, &ar__dead_letter_report__descriptor);
	/* copy out: the reply lives as long as the future */
	size_t   n   = protobuf_c_message_get_packed_size(r);
	uint8_t *buf = malloc(n + 1);
	protobuf_c_message_pack(r, buf);
	copy = ar__dead_letter_report__unpack(NULL, n, buf);
	free(buf);
	ar_future_free(f);
	return (copy);
}

static inline uint64_t
tu_dl_count(const Ar__DeadLetterReport *r, int reason)
{
	uint64_t n = 0;
	for (size_t i = 0; i < r->n_counts; i++) {
		if ((int) r->counts[i]->reason == reason) {
			n += r->counts[i]->count;
		}
	}
	return (n);
}

/* Runs one suite; returns the process exit status. */
static inline int
tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int      failed;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}

#endif
