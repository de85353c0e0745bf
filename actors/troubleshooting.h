/*
 * troubleshooting.h - TroubleshootingActor: subscribes to the system's dead
 * letters, counts them by (reason, type) and keeps the latest 1,000.
 * Answers ar.DeadLetterQuery with ar.DeadLetterReport.  PowerJob's
 * TroubleshootingActor only logs; ours keeps what an operator asks about.
 */
#ifndef PJ_ACTORS_TROUBLESHOOTING_H
#define PJ_ACTORS_TROUBLESHOOTING_H

#include "runtime/ar.h"

#define PJ_TROUBLESHOOTING_NAME "troubleshooting"
#define PJ_TROUBLESHOOTING_KEEP 1000

/* Spawns /user/troubleshooting on sys. */
int pj_troubleshooting_spawn(ar_system *sys, ar_ref *refp);

#endif
