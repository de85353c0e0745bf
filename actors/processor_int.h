/*
 * processor_int.h - the ProcessorTracker shared by the manager actor
 * (processor_tracker.c) and the pool threads (processor_pool.c); the
 * threading rules are in processor_tracker.c's design notes.
 */
#ifndef PJ_ACTORS_PROCESSOR_INT_H
#define PJ_ACTORS_PROCESSOR_INT_H

#include "actors/tracker_int.h"

struct pt_task {
	int64_t seq;
	char   *task_id, *task_name;
	void   *content;
	size_t  len;
	int     retry;
	int64_t sub;
};

struct pt_status {
	int64_t seq;
	char   *task_id;
	char   *result;
	int     status;
	int64_t sub, time;
};

struct pt_batch {
	struct pt_status *e;
	size_t            n;
	ar_future        *f;
	struct pt_batch  *next;
};

struct pt {
	atomic_int                 refs;
	pthread_mutex_t            mu;
	pthread_cond_t             cv;
	struct pj_worker_env      *env;
	ar_ref                     manager;
	int64_t                    instance_id;
	char                       tt_addr[400];
	ar_ref                     tt;
	bool                       tt_local; /* the TT runs on this worker */
	Pj__Tracker__InstanceInfo *info;     /* own copy (unpacked) */
	int                        exec;
	struct pj_processor        proc;
	bool                       lethal;
	char                       reason[512];
	/* under mu */
	struct pt_task  **q;
	size_t            qcap, qhead, qlen;
	struct pt_status *out;
	size_t            nout, capout;
	bool              flush_told;
	bool              stopping, sys_gone;
	int               alive, active;
	int64_t           last_done; /* mono ms */
	atomic_bool       stop_flag;
	/* manager only */
	int64_t          created;                 /* mono ms */
	int64_t          deadline;                /* mono ms; 0 = none */
	struct pt_batch *pending, **pending_tail; /* FIFO of report asks */
	struct pt       *next;
};

/* processor_pool.c */
extern atomic_int live_pts;
void              pt_unref(struct pt *p);
void             *pool_main(void *arg);
/* under p->mu: queue a final status; tells the manager when it must flush */
void push_status(struct pt *p, int64_t seq, const char *task_id, int64_t sub,
    int status, const char *result);

#endif
