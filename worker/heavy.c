/*
 * heavy.c - the heavy TaskTrackers' rules (see heavy.h).
 */
#include "worker/heavy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/processor.h"
#include "worker/task_store.h"

static int
default_load(const void *proc_config, const char *type, const char *info,
    void *processor, char *err, size_t errlen)
{
	return pj_processor_load(
	    proc_config, type, info, processor, err, errlen);
}

void
pj_heavy_settings_init(struct pj_heavy_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->check_ms        = 1000;
	s->detect_ms       = 60000;
	s->report_ms       = 5000;
	s->unacked_ms      = 15000;
	s->pt_timeout_ms   = 60000;
	s->pt_heartbeat_ms = 10000;
	s->pt_idle_ms      = 120000;
	s->pt_queue_max    = 4096;
	s->pt_busy         = 4096;
	s->dispatch_batch  = 500;
	s->pt_window       = 2000;
	s->report_batch    = 1000;
	s->map_chunk       = 10000;
	s->max_tasks       = 5000000;
	s->map_timeout_ms  = 60000;
	s->store_in_file   = 1;
	s->load            = default_load;
}

int
pj_exec_parse(const char *name)
{
	static const char *const names[]
	    = { NULL, "STANDALONE", "BROADCAST", "MAP_REDUCE", "MAP" };

	for (int i = 1; name != NULL && i <= 4; i++) {
		if (strcmp(name, names[i]) == 0) {
			return i;
		}
	}
	return 0;
}

int
pj_time_kind_parse(const char *name)
{
	if (name != NULL && strcmp(name, "FIXED_RATE") == 0) {
		return PJ_TIME_FIXED_RATE;
	}
	if (name != NULL && strcmp(name, "FIXED_DELAY") == 0) {
		return PJ_TIME_FIXED_DELAY;
	}
	return PJ_TIME_OTHER;
}

void
pj_root_task_id(bool frequent, int64_t sub, char *buf, size_t n)
{
	if (frequent) {
		snprintf(buf, n, "%lld", (long long) sub);
	} else {
		snprintf(buf, n, "0");
	}
}

void
pj_last_task_id(bool frequent, int64_t sub, char *buf, size_t n)
{
	if (frequent) {
		snprintf(buf, n, "L%lld", (long long) sub);
	} else {
		snprintf(buf, n, "9999");
	}
}

/* ---- PT status ---------------------------------------------------------- */

void
pj_pt_init(struct pj_pt *p, const char *address)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->address, sizeof(p->address), "%s", address);
	p->last_active = -1;
}

bool
pj_pt_available(
    const struct pj_pt *p, int64_t now, const struct pj_heavy_settings *s)
{
	if (p->lost) {
		return false;
	}
	if (!p->dispatched) {
		return true;
	}
	return p->connected && now - p->last_active < s->pt_timeout_ms
	    && p->remain < s->pt_busy;
}

bool
pj_pt_timed_out(
    const struct pj_pt *p, int64_t now, const struct pj_heavy_settings *s)
{
	return p->dispatched && !p->lost
	    && now - p->last_active >= s->pt_timeout_ms;
}

void
pj_pt_heard(struct pj_pt *p, int64_t time, int64_t remain, bool has_remain)
{
	if (time < p->last_active) {
		return; /* older than what we know */
	}
	p->last_active = time;
	p->connected   = true;
	if (has_remain) {
		p->remain = remain;
	}
}

void
pj_pt_sent(struct pj_pt *p, int64_t now, int64_t n)
{
	if (!p->dispatched) {
		p->dispatched = true;
		/* the silence that makes it lost counts from the first send */
		if (p->last_active < now) {
			p->last_active = now;
		}
	}
	p->inflight += n;
}

int64_t
pj_pt_room(const struct pj_pt *p, const struct pj_heavy_settings *s)
{
	int64_t w = s->pt_window;

	if (p->capacity > 0 && p->capacity < w) {
		w = p->capacity;
	}
	return w - p->inflight;
}

int
pj_pt_pick(struct pj_pt *pts, size_t n, size_t *rr, int64_t now,
    const struct pj_heavy_settings *s)
{
	for (size_t k = 0; k < n; k++) {
		size_t i = (*rr + k) % n;

		if (pj_pt_available(&pts[i], now, s)
		    && pj_pt_room(&pts[i], s) > 0) {
			*rr = i + 1;
			return (int) i;
		}
	}
	return -1;
}

/* ---- status rules --------------------------------------------------------
 */

int
pj_status_decide(int current, int status, int failed_cnt, int task_retry_num)
{
	if (status < PJ_TASK_WAITING_DISPATCH || status > PJ_TASK_STATUS_MAX
	    || current < PJ_TASK_WAITING_DISPATCH || pj_task_final(current)) {
		return PJ_ST_IGNORE;
	}
	if (!pj_task_final(status)) {
		/* received / processing: only for a task that was sent and
		 * only forward; a late one for a task waiting dispatch again
		 * (retry, re-route) would hide it from the dispatcher */
		return current >= PJ_TASK_DISPATCHED && status > current
		    ? PJ_ST_APPLY
		    : PJ_ST_IGNORE;
	}
	if (status == PJ_TASK_FAILED && task_retry_num > failed_cnt) {
		return PJ_ST_RETRY;
	}
	return PJ_ST_APPLY;
}

/* ---- completion --------------------------------------------------------- */

void
pj_sub_outcome(int exec, const struct pj_sub_counts *c, int root_status,
    const char *root_result, int last_status, const char *last_result,
    struct pj_outcome *o)
{
	memset(o, 0, sizeof(*o));
	if (c->unfinished > 0) {
		o->kind = PJ_OUT_RUNNING;
		return;
	}
	o->kind = PJ_OUT_DONE;
	if (c->total == 0) {
		snprintf(
		    o->result, sizeof(o->result), "create root task failed");
		return;
	}
	switch (exec) {
	case PJ_EXEC_STANDALONE:
		if (c->total != 1) {
			snprintf(o->result, sizeof(o->result), "unknown bug");
			return;
		}
		o->success = root_status == PJ_TASK_SUCCEED;
		snprintf(o->result, sizeof(o->result), "%s",
		    root_result ? root_result : "");
		return;
	case PJ_EXEC_MAP:
		if (root_status == PJ_TASK_FAILED) {
			snprintf(o->result, sizeof(o->result),
			    "root task (map) failed: %.200s",
			    root_result ? root_result : "");
			return;
		}
		o->success = c->failed == 0;
		snprintf(o->result, sizeof(o->result),
		    "total:%lld,succeed:%lld,failed:%lld",
		    (long long) c->total, (long long) c->succeeded,
		    (long long) c->failed);
		return;
	case PJ_EXEC_MAP_REDUCE:
	case PJ_EXEC_BROADCAST:
		if (root_status == PJ_TASK_FAILED && last_status == 0) {
			snprintf(o->result, sizeof(o->result),
			    "%s failed: %.200s",
			    exec == PJ_EXEC_MAP_REDUCE ? "root task (map)"
			                               : "preProcess",
			    root_result ? root_result : "");
			return;
		}
		if (last_status == 0) {
			o->kind = PJ_OUT_CREATE_LAST;
			return;
		}
		if (!pj_task_final(last_status)) {
			o->kind = PJ_OUT_RUNNING;
			return;
		}
		o->success = last_status == PJ_TASK_SUCCEED;
		snprintf(o->result, sizeof(o->result), "%s",
		    last_result ? last_result : "");
		return;
	default:
		snprintf(o->result, sizeof(o->result), "unknown bug");
		return;
	}
}

bool
pj_timed_out(int64_t start, int64_t now, int64_t timeout_ms)
{
	return timeout_ms > 0 && now - start > timeout_ms;
}

/* ---- frequent ----------------------------------------------------------- */

int
pj_freq_interval(
    int time_kind, const char *expr, int64_t *ms, char *err, size_t errlen)
{
	char     *end;
	long long v;

	if (time_kind != PJ_TIME_FIXED_RATE
	    && time_kind != PJ_TIME_FIXED_DELAY) {
		snprintf(err, errlen, "not a frequent job");
		return -1;
	}
	if (expr == NULL || expr[0] == '\0') {
		snprintf(err, errlen,
		    "the frequent interval (time expression, ms) is empty");
		return -1;
	}
	errno = 0;
	v     = strtoll(expr, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0) {
		snprintf(err, errlen,
		    "the frequent interval '%.64s' is not a positive number "
		    "of ms",
		    expr);
		return -1;
	}
	if (time_kind == PJ_TIME_FIXED_RATE && v < PJ_FIXED_RATE_MIN_MS) {
		snprintf(err, errlen,
		    "FIXED_RATE interval %lld ms is below the minimum %d ms",
		    v, PJ_FIXED_RATE_MIN_MS);
		return -1;
	}
	*ms = v;
	return 0;
}

int
pj_freq_launch(int time_kind, int running, int max_instance_num)
{
	if (time_kind == PJ_TIME_FIXED_DELAY) {
		return running > 0 ? PJ_LAUNCH_WAIT : PJ_LAUNCH_NOW;
	}
	if (max_instance_num > 0 && running >= max_instance_num) {
		return PJ_LAUNCH_TOO_MANY;
	}
	return PJ_LAUNCH_NOW;
}
