/*
 * pjctl_instance.c - pjctl instance and pjctl worker (programs/pjctl.h):
 * status, detail, list, stop / cancel / retry, the log (--follow) and
 * wait (a live line on a terminal).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "programs/pjctl.h"

/* ---- instance ------------------------------------------------------------
 */

static int
instance_detail(struct pjctl *o, int64_t id, Pj__Openapi__Reply **rp)
{
	Pj__Openapi__InstanceDetail d  = PJ__OPENAPI__INSTANCE_DETAIL__INIT;
	Pj__Openapi__Request        rq = PJ__OPENAPI__REQUEST__INIT;
	int                         rv;
	d.instance_id      = id;
	rq.op_case         = PJ__OPENAPI__REQUEST__OP_INSTANCE_DETAIL;
	rq.instance_detail = &d;
	if ((rv = pjctl_call(o, &rq, rp)) != 0) {
		return (rv);
	}
	if (!(*rp)->success) {
		rv = pjctl_reply_fail(*rp);
		pjctl_done(*rp);
		*rp = NULL;
	}
	return (rv);
}

static bool
finished(int s)
{
	return (s == 4 || s == 5 || s == 9 || s == 10);
}

/* BROADCAST, MAP_REDUCE, MAP: the instances with tasks to count. */
static bool
has_tasks(const Pj__Openapi__InstanceInfo *i)
{
	return (i->execute_type >= 2 && i->execute_type <= 4);
}

/* "tasks done/total" (done = succeeded + failed), "" for other jobs. */
static void
tasks_text(const Pj__Openapi__InstanceInfo *i, char *buf, size_t n)
{
	buf[0] = 0;
	if (!has_tasks(i)) {
		return;
	}
	if (i->task_counts_time == 0) {
		snprintf(buf, n, "  tasks -/-");
		return;
	}
	int k = snprintf(buf, n, "  tasks %lld/%lld",
	    (long long) (i->succeed_task_num + i->failed_task_num),
	    (long long) i->total_task_num);
	if (i->failed_task_num > 0 && k > 0 && (size_t) k < n) {
		snprintf(buf + k, n - (size_t) k, " (%lld failed)",
		    (long long) i->failed_task_num);
	}
}

static const char *
exec_name(int t)
{
	static const char *const v[]
	    = { "-", "STANDALONE", "BROADCAST", "MAP_REDUCE", "MAP" };
	return (t >= 0 && t <= 4 ? v[t] : "?");
}

/* On a terminal one line rewritten in place (status, tasks done/total,
 * seconds); otherwise one line per change of status or counts. */
static int
instance_wait(struct pjctl *o, int64_t id, int64_t timeout_s)
{
	bool   tty  = isatty(STDOUT_FILENO) && !o->json;
	int    last = -1, rv;
	char   tasks[96], last_tasks[96] = "";
	time_t t0 = time(NULL);
	for (;;) {
		Pj__Openapi__Reply *r;
		if ((rv = instance_detail(o, id, &r)) != 0) {
			if (tty) {
				printf("\n");
			}
			return (rv);
		}
		const Pj__Openapi__InstanceInfo *i = r->instance;
		int                              s = i->status;
		long elapsed                       = (long) (time(NULL) - t0);
		tasks_text(i, tasks, sizeof(tasks));
		if (tty) {
			printf("\r\033[Kinstance %lld: %-22s%s  %lds",
			    (long long) id, pjctl_status_name(s), tasks,
			    elapsed);
			fflush(stdout);
		} else if ((s != last || strcmp(tasks, last_tasks) != 0)
		    && !o->json) {
			printf("instance %lld: %s%s\n", (long long) id,
			    pjctl_status_name(s), tasks);
			fflush(stdout);
		}
		last = s;
		snprintf(last_tasks, sizeof(last_tasks), "%s", tasks);
		if (finished(s)) {
			if (tty) {
				printf("\n");
			}
			if (o->json) {
				pjctl_print_json(pjctl_pb_to_json(&r->base));
			} else if (i->result[0]) {
				printf("result: %s\n", i->result);
			}
			pjctl_done(r);
			return (s == 5 ? PJCTL_OK : PJCTL_FAILED);
		}
		pjctl_done(r);
		if (timeout_s > 0 && time(NULL) - t0 >= timeout_s) {
			if (tty) {
				printf("\n");
			}
			fprintf(stderr,
			    "pjctl: instance %lld still %s after %lld s\n",
			    (long long) id, pjctl_status_name(s),
			    (long long) timeout_s);
			return (PJCTL_FAILED);
		}
		usleep(tty ? 250000 : 500000);
	}
}

static int
instance_log(struct pjctl *o, int64_t id, bool follow)
{
	Pj__Openapi__InstanceLogAll l  = PJ__OPENAPI__INSTANCE_LOG_ALL__INIT;
	Pj__Openapi__Request        rq = PJ__OPENAPI__REQUEST__INIT;
	int                         rv;
	l.instance_id       = id;
	rq.op_case          = PJ__OPENAPI__REQUEST__OP_INSTANCE_LOG_ALL;
	rq.instance_log_all = &l;
	for (;;) {
		Pj__Openapi__Reply *r;
		bool                end = false;
		if ((rv = pjctl_call(o, &rq, &r)) != 0) {
			return (rv);
		}
		if (!r->success) {
			rv = pjctl_reply_fail(r);
			pjctl_done(r);
			return (rv);
		}
		fputs(r->log->text, stdout);
		fflush(stdout);
		l.after_time = r->log->next_time;
		l.after_id   = r->log->next_id;
		if (r->log->done) {
			if (!follow) {
				end = true;
			} else {
				Pj__Openapi__Reply *d;
				if ((rv = instance_detail(o, id, &d)) != 0) {
					pjctl_done(r);
					return (rv);
				}
				/* finished: one more read gets the last lines
				 */
				end = finished(d->instance->status)
				    && r->log->text[0] == 0;
				pjctl_done(d);
				if (!end) {
					usleep(500000);
				}
			}
		}
		pjctl_done(r);
		if (end) {
			return (0);
		}
	}
}

int
pjctl_instance(struct pjctl *o, int argc, char **argv)
{
	struct opt  opts[] = { { "job", 0, NULL }, { "status", 0, NULL },
		 { "after", 0, NULL }, { "size", 0, NULL },
		 { "follow", 1, NULL }, { "timeout-s", 0, NULL },
		 { "newest", 1, NULL } };
	const char *pos[2], *sub = argc > 1 ? argv[1] : "";
	int         npos, rv;
	int64_t     id = 0, x;
	int32_t     st[16];
	Pj__Openapi__Request        rq = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__Reply         *r;
	Pj__Openapi__InstanceStatus is = PJ__OPENAPI__INSTANCE_STATUS__INIT;
	Pj__Openapi__InstanceStop   sp = PJ__OPENAPI__INSTANCE_STOP__INIT;
	Pj__Openapi__InstanceCancel cn = PJ__OPENAPI__INSTANCE_CANCEL__INIT;
	Pj__Openapi__InstanceRetry  rt = PJ__OPENAPI__INSTANCE_RETRY__INIT;
	Pj__Openapi__InstanceQuery  q  = PJ__OPENAPI__INSTANCE_QUERY__INIT;

	PARSE(2);
	if (npos < 1) {
		fprintf(stderr,
		    "usage: pjctl instance status|detail|list|stop|"
		    "cancel|retry|log|wait ... (pjctl --help)\n");
		return (PJCTL_USAGE);
	}
	if (strcmp(sub, "list") == 0 || strcmp(sub, "query") == 0) {
		if ((GET("job")
		        && pjctl_num("--job", GET("job"), &q.job_id_eq) != 0)
		    || (GET("after")
		        && pjctl_num("--after", GET("after"), &q.after) != 0)
		    || (GET("status")
		        && pjctl_codes_of("--status", pjctl_inst_status,
		               GET("status"), st, &q.n_status_in)
		            != 0)) {
			return (PJCTL_USAGE);
		}
		if (GET("size")) {
			if (pjctl_num("--size", GET("size"), &x) != 0) {
				return (PJCTL_USAGE);
			}
			q.page_size = (int32_t) x;
		}
		q.newest_first    = GET("newest") != NULL;
		q.status_in       = st;
		rq.op_case        = PJ__OPENAPI__REQUEST__OP_INSTANCE_QUERY;
		rq.instance_query = &q;
		if ((rv = pjctl_call_ok(o, &rq, &r)) == 0 && !o->json) {
			pjctl_print_instances(r->instances->instances,
			    r->instances->n_instances);
			if (r->instances->next_after) {
				printf("more: %s--after %lld\n",
				    q.newest_first ? "--newest " : "",
				    (long long) r->instances->next_after);
			}
		}
		pjctl_done(r);
		return (rv);
	}
	if ((rv = pjctl_id_arg(sub, npos > 1 ? pos[1] : NULL, &id)) != 0) {
		return (rv);
	}
	if (strcmp(sub, "wait") == 0) {
		int64_t t = 0;
		if (GET("timeout-s")
		    && pjctl_num("--timeout-s", GET("timeout-s"), &t)) {
			return (PJCTL_USAGE);
		}
		return instance_wait(o, id, t);
	}
	if (strcmp(sub, "log") == 0) {
		return instance_log(o, id, GET("follow") != NULL);
	}
	if (strcmp(sub, "detail") == 0 || strcmp(sub, "show") == 0) {
		if ((rv = instance_detail(o, id, &r)) != 0) {
			return (rv);
		}
		if (o->json) {
			pjctl_print_json(pjctl_pb_to_json(&r->base));
		} else {
			const Pj__Openapi__InstanceInfo *i = r->instance;
			char                             t[32];
			printf("instance        %lld\n",
			    (long long) i->instance_id);
			printf(
			    "job             %lld\n", (long long) i->job_id);
			printf("status          %s\n",
			    pjctl_status_name(i->status));
			printf("execute         %s\n",
			    exec_name(i->execute_type));
			if (i->task_counts_time > 0) {
				pjctl_time(i->task_counts_time, t, sizeof(t));
				printf("tasks           %lld total, %lld "
				       "succeeded, %lld failed, %lld "
				       "unfinished (reported %s)\n",
				    (long long) i->total_task_num,
				    (long long) i->succeed_task_num,
				    (long long) i->failed_task_num,
				    (long long) (i->total_task_num
				        - i->succeed_task_num
				        - i->failed_task_num),
				    t);
			} else {
				printf("tasks           -\n");
			}
			printf("result          %s\n", i->result);
			printf("params          %s\n", i->instance_params);
			pjctl_time(i->expected_trigger_time, t, sizeof(t));
			printf("expected        %s\n", t);
			pjctl_time(i->actual_trigger_time, t, sizeof(t));
			printf("triggered       %s\n", t);
			pjctl_time(i->finished_time, t, sizeof(t));
			printf("finished        %s\n", t);
			printf(
			    "task tracker    %s\n", i->task_tracker_address);
			printf("running times   %lld\n",
			    (long long) i->running_times);
			printf("served by       %s\n", i->served_by);
		}
		pjctl_done(r);
		return (0);
	}
	if (strcmp(sub, "status") == 0) {
		is.instance_id     = id;
		rq.op_case         = PJ__OPENAPI__REQUEST__OP_INSTANCE_STATUS;
		rq.instance_status = &is;
	} else if (strcmp(sub, "stop") == 0) {
		sp.instance_id   = id;
		rq.op_case       = PJ__OPENAPI__REQUEST__OP_INSTANCE_STOP;
		rq.instance_stop = &sp;
	} else if (strcmp(sub, "cancel") == 0) {
		cn.instance_id     = id;
		rq.op_case         = PJ__OPENAPI__REQUEST__OP_INSTANCE_CANCEL;
		rq.instance_cancel = &cn;
	} else if (strcmp(sub, "retry") == 0) {
		rt.instance_id    = id;
		rq.op_case        = PJ__OPENAPI__REQUEST__OP_INSTANCE_RETRY;
		rq.instance_retry = &rt;
	} else {
		fprintf(stderr,
		    "pjctl instance: unknown command '%s' (pjctl --help)\n",
		    sub);
		return (PJCTL_USAGE);
	}
	if ((rv = pjctl_call_ok(o, &rq, &r)) == 0 && !o->json) {
		if (rq.op_case == PJ__OPENAPI__REQUEST__OP_INSTANCE_STATUS) {
			printf("%s\n", pjctl_status_name(r->status));
		} else {
			printf(
			    "instance %lld: %s done\n", (long long) id, sub);
		}
	}
	pjctl_done(r);
	return (rv);
}

/* ---- worker --------------------------------------------------------------
 */

int
pjctl_worker(struct pjctl *o, int argc, char **argv)
{
	struct opt              opts[] = { { "x", 1, NULL } };
	const char             *pos[1];
	int                     npos, rv;
	Pj__Openapi__WorkerList w  = PJ__OPENAPI__WORKER_LIST__INIT;
	Pj__Openapi__Request    rq = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__Reply     *r;
	PARSE(1);
	if (npos != 1 || strcmp(pos[0], "list") != 0) {
		fprintf(stderr, "usage: pjctl worker list\n");
		return (PJCTL_USAGE);
	}
	rq.op_case     = PJ__OPENAPI__REQUEST__OP_WORKER_LIST;
	rq.worker_list = &w;
	if ((rv = pjctl_call_ok(o, &rq, &r)) == 0 && !o->json) {
		char t[32];
		printf(
		    "workers of the app (owner %s):\n", r->workers->served_by);
		printf("%-36s %5s %5s %-8s %6s %12s %12s %-19s %s\n",
		    "ADDRESS", "SCORE", "ALIVE", "OVERLOAD", "CPUS",
		    "CPU LOAD", "MEM GB", "LAST ACTIVE", "TAG");
		for (size_t k = 0; k < r->workers->n_workers; k++) {
			const Pj__Cluster__WorkerInfo *wi
			    = r->workers->workers[k];
			const Pj__Cluster__SystemMetrics *m = wi->metrics;
			char                              mem[32];
			pjctl_time(wi->last_active_time, t, sizeof(t));
			snprintf(mem, sizeof(mem), "%.1f/%.1f",
			    m ? m->mem_used : 0.0, m ? m->mem_max : 0.0);
			printf("%-36s %5d %5s %-8s %6d %12.2f %12s %-19s %s\n",
			    wi->address, wi->score, wi->alive ? "yes" : "no",
			    wi->overload ? "yes" : "no",
			    m ? m->cpu_processors : 0, m ? m->cpu_load : 0.0,
			    mem, t, wi->tag);
		}
	}
	pjctl_done(r);
	return (rv);
}
