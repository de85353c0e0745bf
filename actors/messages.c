/*
 * messages.c - see messages.h.
 */
#include "actors/messages.h"

#include "runtime/ar.h"

static const ProtobufCMessageDescriptor *const all[] = {
	&pj__cluster__ack__descriptor,
	&pj__cluster__discover__descriptor,
	&pj__cluster__discover_reply__descriptor,
	&pj__cluster__worker_heartbeat__descriptor,
	&pj__cluster__instance_status_report__descriptor,
	&pj__cluster__log_report__descriptor,
	&pj__cluster__executor_query__descriptor,
	&pj__cluster__worker_list__descriptor,
	&pj__cluster__tick__descriptor,
	&pj__cluster__stats_query__descriptor,
	&pj__cluster__stats__descriptor,
	&pj__friend__ping__descriptor,
	&pj__friend__pong__descriptor,
	&pj__friend__op_request__descriptor,
	&pj__friend__op_reply__descriptor,
	&pj__worker__server_schedule_job_req__descriptor,
	&pj__worker__server_stop_instance_req__descriptor,
	&pj__worker__server_query_instance_status_req__descriptor,
	&pj__sched__tick__descriptor,
	&pj__sched__fire__descriptor,
	&pj__sched__arm__descriptor,
	&pj__sched__stats_query__descriptor,
	&pj__sched__stats__descriptor,
	&pj__sched__report_flush__descriptor,
};

int
pj_messages_register(void)
{
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		int rv = ar_registry_add(all[i]);
		if (rv != 0 && rv != AR_EEXIST) {
			return (rv);
		}
	}
	return (0);
}
