/*
 * heavy_tracker.c - placeholder until the heavy TaskTrackers land: every
 * heavy execution type is refused with a clear reason.
 */
#include "actors/heavy_tracker.h"

#include <stdio.h>

int
pj_processor_tracker_spawn(struct pj_worker_env *env)
{
	(void) env;
	return 0;
}

int
pj_heavy_tracker_start(struct pj_worker_env *env,
    const Pj__Worker__ServerScheduleJobReq *req, char *err, size_t errlen)
{
	(void) env;
	snprintf(err, errlen, "execute type %s is not supported yet",
	    req->execute_type);
	return -1;
}

int
pj_heavy_tracker_stop(
    struct pj_worker_env *env, const Pj__Worker__ServerStopInstanceReq *req)
{
	(void) env;
	(void) req;
	return AR_ENOENT;
}
