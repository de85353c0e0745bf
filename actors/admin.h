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

#endif
