/*
 * messages.h - registers the cluster (worker <-> server), friend (server
 * <-> server), worker (server -> worker) and scheduler message types with
 * the runtime's registry.  Every process that speaks them (pj-server,
 * workers, tests) calls it once before starting its system.
 */
#ifndef PJ_ACTORS_MESSAGES_H
#define PJ_ACTORS_MESSAGES_H

#include "proto/cluster.pb-c.h"
#include "proto/friend.pb-c.h"
#include "proto/sched.pb-c.h"
#include "proto/worker.pb-c.h"

/* Idempotent; 0 or the first ar_registry_add error. */
int pj_messages_register(void);

#endif
