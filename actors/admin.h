/*
 * admin.h - AdminActor (/user/admin): answers, by ask from this or another
 * process, ar.ActorsQuery (actors alive, mailbox depths, restarts) itself
 * and ar.DeadLetterQuery by forwarding it to the TroubleshootingActor (the
 * asker's reply slot travels with the forward).
 */
#ifndef PJ_ACTORS_ADMIN_H
#define PJ_ACTORS_ADMIN_H

#include "runtime/ar.h"

#define PJ_ADMIN_NAME "admin"

/* Spawns /user/admin; it finds /user/troubleshooting by path. */
int pj_admin_spawn(ar_system *sys, ar_ref *refp);

/* Spawns both (troubleshooting first); what every system runs. */
int pj_admin_spawn_all(ar_system *sys, ar_ref *adminp);

/* The process's own gauges for operators (pjctl runtime): fills up to max
 * name / value pairs, returns how many.  Called on the AdminActor's
 * thread for every ActorsQuery; must not block. */
#define PJ_GAUGE_NAME 64
#define PJ_GAUGE_VALUE 160
typedef size_t (*pj_admin_gauges_fn)(void *arg,
    char (*names)[PJ_GAUGE_NAME], char (*values)[PJ_GAUGE_VALUE],
    size_t max);

struct pj_admin_gauges {
	pj_admin_gauges_fn fn;
	void              *arg;
};

/* pj_admin_spawn_all with gauges; g must outlive the system. */
int pj_admin_spawn_with_gauges(
    ar_system *sys, const struct pj_admin_gauges *g, ar_ref *adminp);

#endif
