/*
 * envelope_fuzz.c - libFuzzer target for the inbound decode path: the
 * bytes of one nng message as it arrives at a system's listener are handed
 * to remote_deliver_frame(), which walks the frame, decodes envelopes,
 * resolves senders and recipients, and delivers into mailboxes (a sink
 * actor decodes bodies as their named type).  Nothing may crash, leak or
 * grow without bound.  Build and run: `make fuzz` (corpus t/fuzz/envelope/).
 *
 * The sink never replies, so no fuzzed sender address is ever dialled.
 */
#include <stdlib.h>

#include "actors/admin.h"
#include "proto/testmsg.pb-c.h"
#include "runtime/internal.h"

static ar_system *sys;

static int
sink(ar_ctx *ctx, void *st, const ProtobufCMessageDescriptor *t,
    const ProtobufCMessage *m)
{
	(void) ctx;
	(void) st;
	(void) t;
	(void) m;
	return (0);
}
static const ar_behavior sink_behavior = { NULL, sink, NULL, NULL };

static void
stop(void)
{
	ar_system_stop(sys);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (sys == NULL) {
		ar_config c;
		ar_props  p = { 0 };
		setenv("AR_LOG", "error", 1);
		ar_config_init(&c);
		c.name              = "fuzz";
		c.max_message_bytes = 65536;
		c.log_dead_letters  = 0;
		c.stop_drain_ms     = 100;
		ar_registry_add(&artest__num__descriptor);
		ar_registry_add(&artest__text__descriptor);
		if (ar_system_start(&c, &sys) != 0) {
			abort();
		}
		pj_admin_spawn_all(sys, NULL);
		p.behavior = &sink_behavior;
		ar_spawn(sys, AR_REF_NONE, "echo", &p, NULL);
		atexit(stop);
	}
	remote_deliver_frame(sys, data, size);
	return (0);
}
