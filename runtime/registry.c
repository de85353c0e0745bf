/*
 * registry.c - protobuf-c descriptors by full type name, process wide.
 *
 * Local messages carry a small index (msg_hdr.type) instead of the name;
 * remote envelopes carry the full name, which the receiver looks up here.
 * Design notes: a fixed table (types are few: tens, not thousands) guarded
 * by one mutex for writers; readers of an index see a slot that was
 * published with a release store before the index was handed out.
 */
#include "runtime/internal.h"

#include <string.h>

#define MAX_TYPES 1024u

static const ProtobufCMessageDescriptor *_Atomic types[MAX_TYPES];
static atomic_uint                               ntypes;
static pthread_mutex_t reg_mtx  = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t  reg_once = PTHREAD_ONCE_INIT;

static void
preregister(void)
{
	static const ProtobufCMessageDescriptor *own[] = {
		&ar__envelope__descriptor,
		&ar__batch__descriptor,
		&ar__dead_letter__descriptor,
		&ar__ping__descriptor,
		&ar__pong__descriptor,
		&ar__ask_failure__descriptor,
		&ar__dead_letter_query__descriptor,
		&ar__dead_letter_count__descriptor,
		&ar__dead_letter_report__descriptor,
		&ar__actors_query__descriptor,
		&ar__actor_info__descriptor,
		&ar__actors_report__descriptor,
	};
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		types[i] = own[i];
	}
	atomic_store(&ntypes, (unsigned) (sizeof(own) / sizeof(own[0])));
}

void
registry_init_once(void)
{
	pthread_once(&reg_once, preregister);
}

/* Linear over a few dozen entries: compares pointers, fast enough. */
static int
find_desc(const ProtobufCMessageDescriptor *d, uint32_t *idxp)
{
	unsigned n = atomic_load(&ntypes);
	for (unsigned i = 0; i < n; i++) {
		if (types[i] == d) {
			*idxp = i;
			return (0);
		}
	}
	return (AR_ENOENT);
}

int
ar_registry_add(const ProtobufCMessageDescriptor *desc)
{
	uint32_t idx;
	int      rv = 0;
	if (desc == NULL
	    || desc->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC) {
		return (AR_EINVAL);
	}
	registry_init_once();
	pthread_mutex_lock(&reg_mtx);
	if (find_desc(desc, &idx) != 0) {
		unsigned n = atomic_load(&ntypes);
		if (n == MAX_TYPES) {
			rv = AR_EFULL;
		} else {
			types[n] = desc;
			atomic_store(&ntypes, n + 1);
		}
	}
	pthread_mutex_unlock(&reg_mtx);
	return (rv);
}

int
registry_index(const ProtobufCMessageDescriptor *d, uint32_t *idxp)
{
	registry_init_once();
	/* the last hit is the likeliest next one (one type per hot loop) */
	static _Thread_local const ProtobufCMessageDescriptor *last_d;
	static _Thread_local uint32_t                          last_i;
	if (d == last_d) {
		*idxp = last_i;
		return (0);
	}
	if (find_desc(d, idxp) != 0) {
		return (AR_ETYPE);
	}
	last_d = d;
	last_i = *idxp;
	return (0);
}

const ProtobufCMessageDescriptor *
registry_at(uint32_t idx)
{
	if (idx >= atomic_load(&ntypes)) {
		return (NULL);
	}
	return (types[idx]);
}

const ProtobufCMessageDescriptor *
ar_registry_find(const char *full_name)
{
	registry_init_once();
	unsigned n = atomic_load(&ntypes);
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(types[i]->name, full_name) == 0) {
			return (types[i]);
		}
	}
	return (NULL);
}
