/*
 * pjctl_args.c - what pjctl's command files share (programs/pjctl.h):
 * options, numbers and enum names, calling the gateway, the tables.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "programs/pjctl.h"

/* ---- arguments ---------------------------------------------------------- */

/* Parses argv[1..] into opts and up to maxpos positionals; PJCTL_USAGE
 * after a message. */
int
pjctl_parse(int argc, char **argv, struct opt *o, size_t no, const char **pos,
    int maxpos, int *npos)
{
	*npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t n = eq ? (size_t) (eq - a - 2) : strlen(a + 2);
			size_t k;
			for (k = 0; k < no; k++) {
				if (strlen(o[k].name) == n
				    && strncmp(o[k].name, a + 2, n) == 0) {
					break;
				}
			}
			if (k == no) {
				fprintf(stderr,
				    "pjctl %s: unknown option %s (pjctl "
				    "--help)\n",
				    argv[0], a);
				return (PJCTL_USAGE);
			}
			if (o[k].flag) {
				o[k].v = "1";
			} else if (eq) {
				o[k].v = eq + 1;
			} else if (i + 1 < argc) {
				o[k].v = argv[++i];
			} else {
				fprintf(stderr,
				    "pjctl %s: option %s needs a value\n",
				    argv[0], a);
				return (PJCTL_USAGE);
			}
		} else if (*npos < maxpos) {
			pos[(*npos)++] = a;
		} else {
			fprintf(stderr, "pjctl %s: unexpected argument '%s'\n",
			    argv[0], a);
			return (PJCTL_USAGE);
		}
	}
	return (0);
}

const char *
pjctl_get(const struct opt *o, size_t no, const char *name)
{
	for (size_t k = 0; k < no; k++) {
		if (strcmp(o[k].name, name) == 0) {
			return (o[k].v);
		}
	}
	return (NULL);
}

/* A whole number; -1 and a message when v is not one. */
int
pjctl_num(const char *what, const char *v, int64_t *out)
{
	char     *end;
	long long x;
	errno = 0;
	x     = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != 0) {
		fprintf(stderr, "pjctl: %s: '%s' is not a whole number\n",
		    what, v);
		return (-1);
	}
	*out = x;
	return (0);
}

int
pjctl_id_arg(const char *cmd, const char *v, int64_t *id)
{
	if (v == NULL) {
		fprintf(stderr, "pjctl %s: the id is missing (pjctl --help)\n",
		    cmd);
		return (PJCTL_USAGE);
	}
	return (pjctl_num(cmd, v, id) == 0 ? 0 : PJCTL_USAGE);
}

/* An enum by name (case-insensitive, '-' = '_') or number. */
const struct name_code pjctl_time_types[] = { { "api", 1 }, { "cron", 2 },
	{ "fixed-rate", 3 }, { "fixed-delay", 4 }, { "workflow", 5 },
	{ "daily", 11 }, { "daily-time-interval", 11 }, { NULL, 0 } };
const struct name_code pjctl_exec_types[] = { { "standalone", 1 },
	{ "broadcast", 2 }, { "map-reduce", 3 }, { "map", 4 }, { NULL, 0 } };
const struct name_code pjctl_proc_types[]
    = { { "builtin", 1 }, { "built-in", 1 }, { "shell", 2 }, { "python", 3 },
	      { "external", 4 }, { NULL, 0 } };
const struct name_code pjctl_strategies[] = { { "health-first", 1 },
	{ "random", 2 }, { "specify", 11 }, { NULL, 0 } };
const struct name_code pjctl_job_status[]
    = { { "enabled", 1 }, { "disabled", 2 }, { "deleted", 99 }, { NULL, 0 } };
const struct name_code pjctl_inst_status[] = { { "waiting-dispatch", 1 },
	{ "waiting-worker-receive", 2 }, { "running", 3 }, { "failed", 4 },
	{ "succeed", 5 }, { "canceled", 9 }, { "stopped", 10 }, { NULL, 0 } };

const char *
pjctl_code_name(const struct name_code *t, int code)
{
	for (; t->name; t++) {
		if (t->code == code) {
			return (t->name);
		}
	}
	return ("?");
}

int
pjctl_code_of(
    const char *what, const struct name_code *t, const char *v, int *out)
{
	int64_t x;
	for (const struct name_code *p = t; p->name; p++) {
		size_t n = strlen(p->name), k;
		for (k = 0; k < n && v[k]; k++) {
			char c = v[k] == '_' ? '-' : v[k];
			if (c >= 'A' && c <= 'Z') {
				c = (char) (c - 'A' + 'a');
			}
			if (c != p->name[k]) {
				break;
			}
		}
		if (k == n && v[k] == 0) {
			*out = p->code;
			return (0);
		}
	}
	if (v[0] >= '0' && v[0] <= '9' && pjctl_num(what, v, &x) == 0) {
		*out = (int) x;
		return (0);
	}
	fprintf(stderr, "pjctl: %s: unknown value '%s' (one of:", what, v);
	for (; t->name; t++) {
		fprintf(stderr, " %s", t->name);
	}
	fprintf(stderr, ", or a number)\n");
	return (-1);
}

/* A comma-separated list of codes into v (at most 16). */
int
pjctl_codes_of(const char *what, const struct name_code *t, const char *list,
    int32_t *v, size_t *n)
{
	char buf[512], *save, *tok;
	snprintf(buf, sizeof(buf), "%s", list);
	*n = 0;
	for (tok = strtok_r(buf, ",", &save); tok && *n < 16;
	     tok = strtok_r(NULL, ",", &save)) {
		int c;
		if (pjctl_code_of(what, t, tok, &c) != 0) {
			return (-1);
		}
		v[(*n)++] = c;
	}
	return (0);
}

const char *
pjctl_status_name(int status)
{
	return (pjctl_code_name(pjctl_inst_status, status));
}

void
pjctl_time(int64_t ms, char *buf, size_t n)
{
	time_t    t = (time_t) (ms / 1000);
	struct tm tm;
	if (ms <= 0) {
		snprintf(buf, n, "-");
		return;
	}
	localtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
}

/* ---- calling and printing ---------------------------------------------- */

/* Calls; on success prints --json output (when asked) and leaves *rp for
 * the table; returns the exit code. */
int
pjctl_call_ok(
    struct pjctl *o, Pj__Openapi__Request *rq, Pj__Openapi__Reply **rp)
{
	int rv = pjctl_call(o, rq, rp);
	if (rv != 0) {
		return (rv);
	}
	if (!(*rp)->success) {
		rv = pjctl_reply_fail(*rp);
		pj__openapi__reply__free_unpacked(*rp, NULL);
		*rp = NULL;
		return (rv);
	}
	if (o->json) {
		pjctl_print_json(pjctl_pb_to_json(&(*rp)->base));
	}
	return (0);
}

void
pjctl_done(Pj__Openapi__Reply *r)
{
	if (r != NULL) {
		pj__openapi__reply__free_unpacked(r, NULL);
	}
}

void
pjctl_print_jobs(Pj__Openapi__JobInfo **v, size_t n)
{
	char t[32];
	printf("%-20s %-24s %-8s %-14s %-10s %-11s %s\n", "ID", "NAME",
	    "STATUS", "TYPE", "EXPRESSION", "EXECUTE", "NEXT TRIGGER");
	for (size_t k = 0; k < n; k++) {
		const Pj__Openapi__JobInfo *j = v[k];
		pjctl_time(j->next_trigger_time, t, sizeof(t));
		printf("%-20lld %-24.24s %-8s %-14s %-10.10s %-11s %s\n",
		    (long long) j->id, j->job_name,
		    pjctl_code_name(pjctl_job_status, j->status),
		    pjctl_code_name(pjctl_time_types, j->time_expression_type),
		    j->time_expression[0] ? j->time_expression : "-",
		    pjctl_code_name(pjctl_exec_types, j->execute_type), t);
	}
}

void
pjctl_print_job(const Pj__Openapi__JobInfo *j)
{
	char t[32];
	pjctl_time(j->next_trigger_time, t, sizeof(t));
	printf("id              %lld\n", (long long) j->id);
	printf("name            %s\n", j->job_name);
	printf("description     %s\n", j->job_description);
	printf("status          %s\n",
	    pjctl_code_name(pjctl_job_status, j->status));
	printf("time            %s %s%s%s\n",
	    pjctl_code_name(pjctl_time_types, j->time_expression_type),
	    j->time_expression, j->time_zone[0] ? " zone " : "", j->time_zone);
	printf("execute         %s\n",
	    pjctl_code_name(pjctl_exec_types, j->execute_type));
	printf("processor       %s %s\n",
	    pjctl_code_name(pjctl_proc_types, j->processor_type),
	    j->processor_info);
	printf("params          %s\n", j->job_params);
	printf("max instances   %d, concurrency %d, time limit %lld ms, "
	       "retries %d (tasks %d)\n",
	    j->max_instance_num, j->concurrency,
	    (long long) j->instance_time_limit, j->instance_retry_num,
	    j->task_retry_num);
	printf("dispatch        %s %s\n",
	    pjctl_code_name(pjctl_strategies, j->dispatch_strategy),
	    j->dispatch_strategy_config);
	printf("next trigger    %s\n", t);
	if (j->tag[0]) {
		printf("tag             %s\n", j->tag);
	}
}

void
pjctl_print_instances(Pj__Openapi__InstanceInfo **v, size_t n)
{
	char t1[32], t2[32];
	printf("%-20s %-20s %-22s %-19s %-19s %s\n", "INSTANCE", "JOB",
	    "STATUS", "TRIGGERED", "FINISHED", "RESULT");
	for (size_t k = 0; k < n; k++) {
		const Pj__Openapi__InstanceInfo *i = v[k];
		pjctl_time(i->actual_trigger_time, t1, sizeof(t1));
		pjctl_time(i->finished_time, t2, sizeof(t2));
		printf("%-20lld %-20lld %-22s %-19s %-19s %s\n",
		    (long long) i->instance_id, (long long) i->job_id,
		    pjctl_status_name(i->status), t1, t2, i->result);
	}
}
