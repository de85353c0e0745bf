/*
 * server/sched/state.c - the instance state machine, status reports, the
 * RUNNING check, instance timeouts, the retry delay and the operators'
 * stop / cancel / retry preconditions (powerjob-design.md §5.7, §5.8,
 * §5.10).
 *
 * Design notes
 * ------------
 * Kept from PowerJob: a report older than the last one, or from a worker
 * that is not the recorded TaskTracker, is dropped; a normal instance's
 * first report after WAITING_WORKER_RECEIVE counts one attempt; FAILED with
 * attempts left goes back to WAITING_DISPATCH; final states are answered.
 * Changed: attempts are counted the same way everywhere - an instance may
 * run instance_retry_num + 1 times, so it is retried while running_times <=
 * instance_retry_num (PowerJob's RUNNING check uses `<`, its report handler
 * `<=`); the retry delay is written (expected_trigger_time = now + delay);
 * a report for an instance that is back in WAITING_DISPATCH (its receive
 * timed out and it was taken back) is foreign, and its sender is told to
 * stop, instead of flipping the instance to RUNNING.
 * Pure functions; no threads.
 */
#include <stdio.h>
#include <string.h>

#include "server/sched/sched.h"

bool
pj_inst_finished(int s)
{
	return s == PJ_INST_FAILED || s == PJ_INST_SUCCEED
	    || s == PJ_INST_CANCELED || s == PJ_INST_STOPPED;
}

bool
pj_inst_live(int s)
{
	return s == PJ_INST_WAITING_DISPATCH
	    || s == PJ_INST_WAITING_WORKER_RECEIVE || s == PJ_INST_RUNNING;
}

bool
pj_inst_status_valid(int s)
{
	return pj_inst_live(s) || pj_inst_finished(s);
}

bool
pj_inst_can_move(int from, int to)
{
	if (!pj_inst_status_valid(from) || !pj_inst_status_valid(to)) {
		return false;
	}
	if (pj_inst_finished(from)) {
		return to == PJ_INST_WAITING_DISPATCH; /* manual retry */
	}
	if (to == PJ_INST_STOPPED) {
		return true; /* any live instance may be stopped */
	}
	switch (from) {
	case PJ_INST_WAITING_DISPATCH:
		return to == PJ_INST_WAITING_WORKER_RECEIVE
		    || to == PJ_INST_FAILED || to == PJ_INST_CANCELED;
	case PJ_INST_WAITING_WORKER_RECEIVE:
		return to == PJ_INST_WAITING_DISPATCH || to == PJ_INST_RUNNING
		    || to == PJ_INST_FAILED || to == PJ_INST_SUCCEED;
	case PJ_INST_RUNNING:
		return to == PJ_INST_RUNNING || to == PJ_INST_WAITING_DISPATCH
		    || to == PJ_INST_FAILED || to == PJ_INST_SUCCEED;
	}
	return false;
}

int64_t
pj_sched_retry_at(int64_t now_ms, int64_t delay_ms)
{
	return now_ms + (delay_ms < 0 ? PJ_SCHED_RETRY_DELAY_MS : delay_ms);
}

void
pj_sched_report(const struct pj_instance *cur, const struct pj_report *r,
    int retry_num, bool is_frequent, int64_t now_ms, int64_t retry_delay_ms,
    struct pj_report_action *a)
{
	memset(a, 0, sizeof(*a));
	a->from = cur->status;
	a->to   = r->status;
	/* a worker reports only these */
	if (r->status != PJ_INST_RUNNING && r->status != PJ_INST_SUCCEED
	    && r->status != PJ_INST_FAILED && r->status != PJ_INST_STOPPED) {
		a->verdict = PJ_REPORT_INVALID;
		return;
	}
	bool final_report = r->status != PJ_INST_RUNNING;
	if (pj_inst_finished(cur->status)) {
		/* late or repeated: answer a final one so the worker stops
		 * resending; a frequent job failed over is told to stop */
		a->verdict = PJ_REPORT_FINISHED;
		a->ack     = final_report;
		return;
	}
	const char *tt = cur->task_tracker_address;
	if (cur->status == PJ_INST_WAITING_DISPATCH || tt == NULL
	    || tt[0] == '\0' || r->source == NULL
	    || strcmp(r->source, tt) != 0) {
		a->verdict = PJ_REPORT_FOREIGN;
		return;
	}
	if (r->report_time > 0 && r->report_time <= cur->last_report_time) {
		a->verdict = PJ_REPORT_STALE;
		return;
	}
	a->verdict              = PJ_REPORT_APPLY;
	a->mask                 = PJ_SET_LAST_REPORT;
	a->set.last_report_time = r->report_time > 0 ? r->report_time : now_ms;
	a->set.running_times    = cur->running_times;
	if (!is_frequent && cur->status == PJ_INST_WAITING_WORKER_RECEIVE) {
		a->set.running_times++; /* one attempt started */
		a->mask |= PJ_SET_RUNNING_TIMES;
	}
	if (is_frequent && r->launches > cur->running_times) {
		/* §5.9: running_times mirrors the sub-instance launches */
		a->set.running_times = r->launches;
		a->mask |= PJ_SET_RUNNING_TIMES;
	}
	if (final_report || is_frequent) { /* frequent: the last sub's */
		a->set.result = (char *) (r->result ? r->result : "");
		a->mask |= PJ_SET_RESULT;
		a->ack = final_report;
	}
	if (r->status == PJ_INST_FAILED && !is_frequent
	    && a->set.running_times <= retry_num) {
		a->retry = true;
		a->to    = PJ_INST_WAITING_DISPATCH;
		a->set.expected_trigger_time
		    = pj_sched_retry_at(now_ms, retry_delay_ms);
		a->mask |= PJ_SET_EXPECTED;
	} else if (final_report) {
		a->finished          = true;
		a->set.finished_time = r->end_time > 0 ? r->end_time : now_ms;
		a->mask |= PJ_SET_FINISHED;
	}
	if (!pj_inst_can_move(a->from, a->to)) {
		a->verdict = PJ_REPORT_INVALID;
	}
}

enum pj_check_verdict
pj_sched_check_running(
    const struct pj_instance *i, const struct pj_job *j, const char **result)
{
	*result = PJ_RESULT_REPORT_TIMEOUT;
	if (j == NULL || j->status != PJ_STATUS_ENABLE
	    || pj_sched_frequent(j->time_expression_type)) {
		return PJ_CHECK_FAIL;
	}
	if (i->running_times <= j->instance_retry_num) {
		*result = NULL;
		return PJ_CHECK_REDISPATCH;
	}
	return PJ_CHECK_FAIL;
}

bool
pj_sched_timed_out(
    const struct pj_instance *i, const struct pj_job *j, int64_t now_ms)
{
	return j != NULL && j->instance_time_limit > 0
	    && (i->status == PJ_INST_WAITING_WORKER_RECEIVE
	        || i->status == PJ_INST_RUNNING)
	    && i->actual_trigger_time > 0
	    && now_ms - i->actual_trigger_time > j->instance_time_limit;
}

static const char *
status_name(int s)
{
	switch (s) {
	case PJ_INST_WAITING_DISPATCH:
		return "WAITING_DISPATCH";
	case PJ_INST_WAITING_WORKER_RECEIVE:
		return "WAITING_WORKER_RECEIVE";
	case PJ_INST_RUNNING:
		return "RUNNING";
	case PJ_INST_FAILED:
		return "FAILED";
	case PJ_INST_SUCCEED:
		return "SUCCEED";
	case PJ_INST_CANCELED:
		return "CANCELED";
	case PJ_INST_STOPPED:
		return "STOPPED";
	}
	return "unknown";
}

int
pj_sched_can_stop(const struct pj_instance *i, char *msg, size_t len)
{
	if (pj_inst_live(i->status)) {
		return 0;
	}
	snprintf(msg, len,
	    "instance %lld is %s: only a waiting or running instance can be "
	    "stopped",
	    (long long) i->instance_id, status_name(i->status));
	return -1;
}

int
pj_sched_can_cancel(const struct pj_instance *i, char *msg, size_t len)
{
	if (i->status == PJ_INST_WAITING_DISPATCH) {
		return 0;
	}
	snprintf(msg, len,
	    "instance %lld is %s: only an instance still waiting for dispatch "
	    "can be canceled (stop a running one)",
	    (long long) i->instance_id, status_name(i->status));
	return -1;
}

int
pj_sched_can_retry(const struct pj_instance *i, char *msg, size_t len)
{
	if (i->type == 2) {
		snprintf(msg, len,
		    "instance %lld belongs to workflow instance %lld: retry "
		    "the workflow node instead",
		    (long long) i->instance_id, (long long) i->wf_instance_id);
		return -1;
	}
	if (pj_inst_finished(i->status)) {
		return 0;
	}
	snprintf(msg, len,
	    "instance %lld is %s: only a finished instance can be retried",
	    (long long) i->instance_id, status_name(i->status));
	return -1;
}
