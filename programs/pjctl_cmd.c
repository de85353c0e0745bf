/*
 * pjctl_cmd.c - pjctl's gateway commands: app, job, instance, worker
 * (programs/pjctl.h; the table of commands is in pjctl.c's usage and the
 * README).  Each command builds one pj.openapi.Request, prints the reply as
 * a table (or --json) and returns the exit code.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "programs/pjctl.h"

/* ---- arguments ---------------------------------------------------------- */

struct opt {
	const char *name; /* without the dashes */
	int         flag; /* 1 = no value */
	const char *v;
};

/* Parses argv[1..] into opts and up to maxpos positionals; PJCTL_USAGE
 * after a message. */
static int
parse(int argc, char **argv, struct opt *o, size_t no, const char **pos,
    int maxpos, int *npos)
{
	*npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t      n  = eq ? (size_t) (eq - a - 2) : strlen(a + 2);
			size_t      k;
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

static const char *
get(const struct opt *o, size_t no, const char *name)
{
	for (size_t k = 0; k < no; k++) {
		if (strcmp(o[k].name, name) == 0) {
			return (o[k].v);
		}
	}
	return (NULL);
}

#define GET(name) get(opts, sizeof(opts) / sizeof(opts[0]), name)
#define PARSE(maxpos)                                                       \
	do {                                                                \
		int prv = parse(argc, argv, opts,                           \
		    sizeof(opts) / sizeof(opts[0]), pos, maxpos, &npos);    \
		if (prv != 0)                                               \
			return (prv);                                       \
	} while (0)

/* A whole number; -1 and a message when v is not one. */
static int
num(const char *what, const char *v, int64_t *out)
{
	char     *end;
	long long x;
	errno = 0;
	x     = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != 0) {
		fprintf(stderr, "pjctl: %s: '%s' is not a whole number\n", what,
		    v);
		return (-1);
	}
	*out = x;
	return (0);
}

static int
id_arg(const char *cmd, const char *v, int64_t *id)
{
	if (v == NULL) {
		fprintf(stderr, "pjctl %s: the id is missing (pjctl --help)\n",
		    cmd);
		return (PJCTL_USAGE);
	}
	return (num(cmd, v, id) == 0 ? 0 : PJCTL_USAGE);
}

/* An enum by name (case-insensitive, '-' = '_') or number. */
struct name_code {
	const char *name;
	int         code;
};
static const struct name_code time_types[] = { { "api", 1 }, { "cron", 2 },
	{ "fixed-rate", 3 }, { "fixed-delay", 4 }, { "workflow", 5 },
	{ "daily", 11 }, { "daily-time-interval", 11 }, { NULL, 0 } };
static const struct name_code exec_types[] = { { "standalone", 1 },
	{ "broadcast", 2 }, { "map-reduce", 3 }, { "map", 4 }, { NULL, 0 } };
static const struct name_code proc_types[] = { { "builtin", 1 },
	{ "built-in", 1 }, { "shell", 2 }, { "python", 3 }, { "external", 4 },
	{ NULL, 0 } };
static const struct name_code strategies[] = { { "health-first", 1 },
	{ "random", 2 }, { "specify", 11 }, { NULL, 0 } };
static const struct name_code job_status[] = { { "enabled", 1 },
	{ "disabled", 2 }, { "deleted", 99 }, { NULL, 0 } };
static const struct name_code inst_status[] = { { "waiting-dispatch", 1 },
	{ "waiting-worker-receive", 2 }, { "running", 3 }, { "failed", 4 },
	{ "succeed", 5 }, { "canceled", 9 }, { "stopped", 10 }, { NULL, 0 } };

static const char *
code_name(const struct name_code *t, int code)
{
	for (; t->name; t++) {
		if (t->code == code) {
			return (t->name);
		}
	}
	return ("?");
}

static int
code_of(const char *what, const struct name_code *t, const char *v, int *out)
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
	if (v[0] >= '0' && v[0] <= '9' && num(what, v, &x) == 0) {
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
static int
codes_of(const char *what, const struct name_code *t, const char *list,
    int32_t *v, size_t *n)
{
	char buf[512], *save, *tok;
	snprintf(buf, sizeof(buf), "%s", list);
	*n = 0;
	for (tok = strtok_r(buf, ",", &save); tok && *n < 16;
	     tok = strtok_r(NULL, ",", &save)) {
		int c;
		if (code_of(what, t, tok, &c) != 0) {
			return (-1);
		}
		v[(*n)++] = c;
	}
	return (0);
}

const char *
pjctl_status_name(int status)
{
	return (code_name(inst_status, status));
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
static int
call(struct pjctl *o, Pj__Openapi__Request *rq, Pj__Openapi__Reply **rp)
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

static void
done(Pj__Openapi__Reply *r)
{
	if (r != NULL) {
		pj__openapi__reply__free_unpacked(r, NULL);
	}
}

static void
print_jobs(Pj__Openapi__JobInfo **v, size_t n)
{
	char t[32];
	printf("%-20s %-24s %-8s %-14s %-10s %-11s %s\n", "ID", "NAME",
	    "STATUS", "TYPE", "EXPRESSION", "EXECUTE", "NEXT TRIGGER");
	for (size_t k = 0; k < n; k++) {
		const Pj__Openapi__JobInfo *j = v[k];
		pjctl_time(j->next_trigger_time, t, sizeof(t));
		printf("%-20lld %-24.24s %-8s %-14s %-10.10s %-11s %s\n",
		    (long long) j->id, j->job_name,
		    code_name(job_status, j->status),
		    code_name(time_types, j->time_expression_type),
		    j->time_expression[0] ? j->time_expression : "-",
		    code_name(exec_types, j->execute_type), t);
	}
}

static void
print_job(const Pj__Openapi__JobInfo *j)
{
	char t[32];
	pjctl_time(j->next_trigger_time, t, sizeof(t));
	printf("id              %lld\n", (long long) j->id);
	printf("name            %s\n", j->job_name);
	printf("description     %s\n", j->job_description);
	printf("status          %s\n", code_name(job_status, j->status));
	printf("time            %s %s%s%s\n",
	    code_name(time_types, j->time_expression_type), j->time_expression,
	    j->time_zone[0] ? " zone " : "", j->time_zone);
	printf("execute         %s\n", code_name(exec_types, j->execute_type));
	printf("processor       %s %s\n",
	    code_name(proc_types, j->processor_type), j->processor_info);
	printf("params          %s\n", j->job_params);
	printf("max instances   %d, concurrency %d, time limit %lld ms, "
	       "retries %d (tasks %d)\n",
	    j->max_instance_num, j->concurrency,
	    (long long) j->instance_time_limit, j->instance_retry_num,
	    j->task_retry_num);
	printf("dispatch        %s %s\n",
	    code_name(strategies, j->dispatch_strategy),
	    j->dispatch_strategy_config);
	printf("next trigger    %s\n", t);
	if (j->tag[0]) {
		printf("tag             %s\n", j->tag);
	}
}

static void
print_instances(Pj__Openapi__InstanceInfo **v, size_t n)
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

/* ---- app ----------------------------------------------------------------- */

int
pjctl_app(struct pjctl *o, int argc, char **argv)
{
	struct opt opts[] = { { "title", 0, NULL }, { "ttl-ms", 0, NULL } };
	const char *pos[2];
	int         npos, rv;
	Pj__Openapi__Request rq = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__Reply  *r;
	PARSE(2);
	if (npos >= 1 && strcmp(pos[0], "register") == 0) {
		Pj__Openapi__AppRegister a = PJ__OPENAPI__APP_REGISTER__INIT;
		a.app_name = (char *) (npos > 1 ? pos[1] : o->app);
		a.secret   = o->secret;
		a.title    = (char *) (GET("title") ? GET("title") : "");
		rq.op_case = PJ__OPENAPI__REQUEST__OP_APP_REGISTER;
		rq.app_register = &a;
		if ((rv = call(o, &rq, &r)) == 0 && !o->json) {
			printf("app %s registered: id %lld\n", a.app_name,
			    (long long) r->id);
		}
		done(r);
		return (rv);
	}
	if (npos == 1 && strcmp(pos[0], "auth") == 0) {
		Pj__Openapi__AppAuth a = PJ__OPENAPI__APP_AUTH__INIT;
		int64_t              ttl = 0;
		if (GET("ttl-ms") && num("--ttl-ms", GET("ttl-ms"), &ttl) != 0) {
			return (PJCTL_USAGE);
		}
		a.ttl_ms    = ttl;
		rq.op_case  = PJ__OPENAPI__REQUEST__OP_APP_AUTH;
		rq.app_auth = &a;
		o->token[0] = 0; /* the secret is what is checked */
		if ((rv = call(o, &rq, &r)) == 0 && !o->json) {
			char t[32];
			pjctl_time(r->auth->expires_ms, t, sizeof(t));
			printf("app id   %lld\ntoken    %s\nexpires  %s\n",
			    (long long) r->auth->app_id, r->auth->token, t);
		}
		done(r);
		return (rv);
	}
	fprintf(stderr, "usage: pjctl app register [NAME] [--title T] | "
	                "pjctl app auth [--ttl-ms MS]\n");
	return (PJCTL_USAGE);
}

/* ---- job ----------------------------------------------------------------- */

static int
job_save(struct pjctl *o, int argc, char **argv)
{
	struct opt opts[] = { { "id", 0, NULL }, { "name", 0, NULL },
		{ "description", 0, NULL }, { "type", 0, NULL },
		{ "expr", 0, NULL }, { "zone", 0, NULL },
		{ "execute", 0, NULL }, { "processor", 0, NULL },
		{ "processor-info", 0, NULL }, { "params", 0, NULL },
		{ "max-instances", 0, NULL }, { "concurrency", 0, NULL },
		{ "time-limit-ms", 0, NULL }, { "retry", 0, NULL },
		{ "task-retry", 0, NULL }, { "workers", 0, NULL },
		{ "max-workers", 0, NULL }, { "dispatch", 0, NULL },
		{ "tag", 0, NULL }, { "lifecycle", 0, NULL },
		{ "misfire", 0, NULL }, { "disabled", 1, NULL },
		{ "file", 0, NULL } };
	const char *pos[1];
	int         npos, rv, c;
	int64_t     x;
	char        err[300];
	json_t     *file = NULL;
	Pj__Openapi__JobInfo j  = PJ__OPENAPI__JOB_INFO__INIT;
	Pj__Openapi__JobSave s  = PJ__OPENAPI__JOB_SAVE__INIT;
	Pj__Openapi__Request rq = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__Reply  *r;
	PARSE(0);
	/* PowerJob's save defaults for a command line: standalone, API */
	j.time_expression_type = 1;
	j.execute_type         = 1;
	j.processor_type       = 2;
	if (GET("file")) {
		json_error_t je;
		if ((file = json_load_file(GET("file"), 0, &je)) == NULL) {
			fprintf(stderr, "pjctl job save: %s: %s (line %d)\n",
			    GET("file"), je.text, je.line);
			return (PJCTL_USAGE);
		}
		if (pjctl_json_to_pb(file, &j.base, err, sizeof(err)) != 0) {
			fprintf(stderr, "pjctl job save: %s: %s\n", GET("file"),
			    err);
			json_decref(file);
			return (PJCTL_USAGE);
		}
	}
	const struct {
		const char *opt;
		char      **field;
	} texts[] = { { "name", &j.job_name },
		{ "description", &j.job_description },
		{ "expr", &j.time_expression }, { "zone", &j.time_zone },
		{ "processor-info", &j.processor_info },
		{ "params", &j.job_params }, { "workers", &j.designated_workers },
		{ "tag", &j.tag }, { "lifecycle", &j.lifecycle } };
	for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
		if (GET(texts[k].opt)) {
			*texts[k].field = (char *) GET(texts[k].opt);
		}
	}
	const struct {
		const char *opt;
		int32_t    *field;
	} nums[] = { { "max-instances", &j.max_instance_num },
		{ "concurrency", &j.concurrency },
		{ "retry", &j.instance_retry_num },
		{ "task-retry", &j.task_retry_num },
		{ "max-workers", &j.max_worker_count },
		{ "misfire", &j.misfire_policy } };
	for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
		if (GET(nums[k].opt)) {
			if (num(nums[k].opt, GET(nums[k].opt), &x) != 0) {
				goto usage;
			}
			*nums[k].field = (int32_t) x;
		}
	}
	if ((GET("id") && num("--id", GET("id"), &j.id) != 0)
	    || (GET("time-limit-ms")
	        && num("--time-limit-ms", GET("time-limit-ms"),
	               &j.instance_time_limit)
	            != 0)) {
		goto usage;
	}
	if (GET("type")) {
		if (code_of("--type", time_types, GET("type"), &c) != 0) {
			goto usage;
		}
		j.time_expression_type = c;
	}
	if (GET("execute")) {
		if (code_of("--execute", exec_types, GET("execute"), &c) != 0) {
			goto usage;
		}
		j.execute_type = c;
	}
	if (GET("processor")) {
		if (code_of("--processor", proc_types, GET("processor"), &c)
		    != 0) {
			goto usage;
		}
		j.processor_type = c;
	}
	if (GET("dispatch")) {
		if (code_of("--dispatch", strategies, GET("dispatch"), &c)
		    != 0) {
			goto usage;
		}
		j.dispatch_strategy = c;
	}
	s.job        = &j;
	s.disabled   = GET("disabled") != NULL;
	rq.op_case   = PJ__OPENAPI__REQUEST__OP_JOB_SAVE;
	rq.job_save  = &s;
	if ((rv = call(o, &rq, &r)) == 0 && !o->json) {
		printf("job %lld saved\n", (long long) r->id);
	}
	done(r);
	json_decref(file);
	return (rv);
usage:
	json_decref(file);
	return (PJCTL_USAGE);
}

static int
job_query(struct pjctl *o, int argc, char **argv, int all)
{
	struct opt opts[] = { { "name", 0, NULL }, { "name-like", 0, NULL },
		{ "status", 0, NULL }, { "type", 0, NULL }, { "tag", 0, NULL },
		{ "page", 0, NULL }, { "size", 0, NULL } };
	const char                *pos[1];
	int                        npos, rv;
	int64_t                    x;
	int32_t                    st[16], ty[16];
	Pj__Openapi__JobQuery      q  = PJ__OPENAPI__JOB_QUERY__INIT;
	Pj__Openapi__JobFetchAll   fa = PJ__OPENAPI__JOB_FETCH_ALL__INIT;
	Pj__Openapi__Request       rq = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__Reply        *r;
	PARSE(0);
	if (all) {
		rq.op_case       = PJ__OPENAPI__REQUEST__OP_JOB_FETCH_ALL;
		rq.job_fetch_all = &fa;
	} else {
		q.job_name_eq   = (char *) (GET("name") ? GET("name") : "");
		q.job_name_like = (char *) (GET("name-like") ? GET("name-like")
		                                             : "");
		q.tag_eq        = (char *) (GET("tag") ? GET("tag") : "");
		if (GET("status")
		    && codes_of("--status", job_status, GET("status"), st,
		           &q.n_status_in)
		        != 0) {
			return (PJCTL_USAGE);
		}
		q.status_in = st;
		if (GET("type")
		    && codes_of("--type", time_types, GET("type"), ty,
		           &q.n_time_expression_type_in)
		        != 0) {
			return (PJCTL_USAGE);
		}
		q.time_expression_type_in = ty;
		if (GET("page")) {
			if (num("--page", GET("page"), &x) != 0) {
				return (PJCTL_USAGE);
			}
			q.index = (int32_t) x;
		}
		if (GET("size")) {
			if (num("--size", GET("size"), &x) != 0) {
				return (PJCTL_USAGE);
			}
			q.page_size = (int32_t) x;
		}
		rq.op_case   = PJ__OPENAPI__REQUEST__OP_JOB_QUERY;
		rq.job_query = &q;
	}
	if ((rv = call(o, &rq, &r)) == 0 && !o->json) {
		print_jobs(r->jobs->jobs, r->jobs->n_jobs);
	}
	done(r);
	return (rv);
}

static int
job_preview(struct pjctl *o, int argc, char **argv)
{
	struct opt opts[] = { { "type", 0, NULL }, { "expr", 0, NULL },
		{ "zone", 0, NULL }, { "count", 0, NULL }, { "from", 0, NULL },
		{ "lifecycle", 0, NULL } };
	const char               *pos[1];
	int                       npos, rv, c;
	int64_t                   x;
	Pj__Openapi__TimePreview  t  = PJ__OPENAPI__TIME_PREVIEW__INIT;
	Pj__Openapi__Request      rq = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__Reply       *r;
	PARSE(1);
	if (npos == 1 && num("job id", pos[0], &t.job_id) != 0) {
		return (PJCTL_USAGE);
	}
	if (npos == 0 && (GET("expr") == NULL || GET("type") == NULL)) {
		fprintf(stderr, "usage: pjctl job preview JOB_ID | pjctl job "
		                "preview --type TYPE --expr EXPR [--zone Z] "
		                "[--count N] [--from MS]\n");
		return (PJCTL_USAGE);
	}
	if (GET("type")) {
		if (code_of("--type", time_types, GET("type"), &c) != 0) {
			return (PJCTL_USAGE);
		}
		t.time_expression_type = c;
	}
	t.time_expression = (char *) (GET("expr") ? GET("expr") : "");
	t.time_zone       = (char *) (GET("zone") ? GET("zone") : "");
	t.lifecycle = (char *) (GET("lifecycle") ? GET("lifecycle") : "");
	if (GET("count")) {
		if (num("--count", GET("count"), &x) != 0) {
			return (PJCTL_USAGE);
		}
		t.count = (int32_t) x;
	}
	if (GET("from") && num("--from", GET("from"), &t.from_ms) != 0) {
		return (PJCTL_USAGE);
	}
	rq.op_case      = PJ__OPENAPI__REQUEST__OP_TIME_PREVIEW;
	rq.time_preview = &t;
	if ((rv = call(o, &rq, &r)) == 0 && !o->json) {
		Pj__Openapi__FireTimes *f = r->fire_times;
		if (f->n_times == 0) {
			printf("%s\n", r->message);
		}
		for (size_t k = 0; k < f->n_times; k++) {
			printf("%lld  %s\n", (long long) f->times[k],
			    k < f->n_local ? f->local[k] : "");
		}
	}
	done(r);
	return (rv);
}

int
pjctl_job(struct pjctl *o, int argc, char **argv)
{
	struct opt opts[] = { { "params", 0, NULL }, { "delay", 0, NULL } };
	const char *pos[2], *sub = argc > 1 ? argv[1] : "";
	int         npos, rv;
	int64_t     id;
	Pj__Openapi__Request rq = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__Reply  *r;
	Pj__Openapi__JobCopy    cp = PJ__OPENAPI__JOB_COPY__INIT;
	Pj__Openapi__JobExport  ex = PJ__OPENAPI__JOB_EXPORT__INIT;
	Pj__Openapi__JobFetch   fe = PJ__OPENAPI__JOB_FETCH__INIT;
	Pj__Openapi__JobEnable  en = PJ__OPENAPI__JOB_ENABLE__INIT;
	Pj__Openapi__JobDisable di = PJ__OPENAPI__JOB_DISABLE__INIT;
	Pj__Openapi__JobDelete  de = PJ__OPENAPI__JOB_DELETE__INIT;
	Pj__Openapi__JobRun     ru = PJ__OPENAPI__JOB_RUN__INIT;

	if (strcmp(sub, "save") == 0) {
		return job_save(o, argc - 1, argv + 1);
	}
	if (strcmp(sub, "list") == 0) {
		return job_query(o, argc - 1, argv + 1, 1);
	}
	if (strcmp(sub, "query") == 0) {
		return job_query(o, argc - 1, argv + 1, 0);
	}
	if (strcmp(sub, "preview") == 0) {
		return job_preview(o, argc - 1, argv + 1);
	}
	PARSE(2);
	if (npos < 1) {
		fprintf(stderr, "usage: pjctl job save|list|query|fetch|export|"
		                "copy|enable|disable|delete|run|preview ... "
		                "(pjctl --help)\n");
		return (PJCTL_USAGE);
	}
	if ((rv = id_arg(sub, npos > 1 ? pos[1] : NULL, &id)) != 0) {
		return (rv);
	}
	if (strcmp(sub, "copy") == 0) {
		cp.job_id  = id;
		rq.op_case = PJ__OPENAPI__REQUEST__OP_JOB_COPY;
		rq.job_copy = &cp;
	} else if (strcmp(sub, "export") == 0) {
		ex.job_id     = id;
		rq.op_case    = PJ__OPENAPI__REQUEST__OP_JOB_EXPORT;
		rq.job_export = &ex;
	} else if (strcmp(sub, "fetch") == 0 || strcmp(sub, "show") == 0) {
		fe.job_id    = id;
		rq.op_case   = PJ__OPENAPI__REQUEST__OP_JOB_FETCH;
		rq.job_fetch = &fe;
	} else if (strcmp(sub, "enable") == 0) {
		en.job_id     = id;
		rq.op_case    = PJ__OPENAPI__REQUEST__OP_JOB_ENABLE;
		rq.job_enable = &en;
	} else if (strcmp(sub, "disable") == 0) {
		di.job_id      = id;
		rq.op_case     = PJ__OPENAPI__REQUEST__OP_JOB_DISABLE;
		rq.job_disable = &di;
	} else if (strcmp(sub, "delete") == 0) {
		de.job_id     = id;
		rq.op_case    = PJ__OPENAPI__REQUEST__OP_JOB_DELETE;
		rq.job_delete = &de;
	} else if (strcmp(sub, "run") == 0) {
		ru.job_id          = id;
		ru.instance_params = (char *) (GET("params") ? GET("params") : "");
		if (GET("delay") && num("--delay", GET("delay"), &ru.delay_ms) != 0) {
			return (PJCTL_USAGE);
		}
		rq.op_case = PJ__OPENAPI__REQUEST__OP_JOB_RUN;
		rq.job_run = &ru;
	} else {
		fprintf(stderr, "pjctl job: unknown command '%s' (pjctl --help)\n",
		    sub);
		return (PJCTL_USAGE);
	}
	if ((rv = call(o, &rq, &r)) != 0 || o->json) {
		done(r);
		return (rv);
	}
	switch (rq.op_case) {
	case PJ__OPENAPI__REQUEST__OP_JOB_COPY:
		printf("job %lld copied: new job %lld\n", (long long) id,
		    (long long) r->id);
		break;
	case PJ__OPENAPI__REQUEST__OP_JOB_EXPORT: {
		json_t *j = pjctl_pb_to_json(&r->job->base);
		printf("# save it with: pjctl job save --file FILE\n");
		pjctl_print_json(j);
		break;
	}
	case PJ__OPENAPI__REQUEST__OP_JOB_FETCH:
		print_job(r->job);
		break;
	case PJ__OPENAPI__REQUEST__OP_JOB_RUN:
		if (r->id != 0) {
			printf("instance %lld\n", (long long) r->id);
		} else {
			printf("%s\n", r->message);
		}
		break;
	default:
		printf("job %lld %sd\n", (long long) id,
		    rq.op_case == PJ__OPENAPI__REQUEST__OP_JOB_ENABLE ? "enable"
		    : rq.op_case == PJ__OPENAPI__REQUEST__OP_JOB_DISABLE
		        ? "disable"
		        : "delete");
	}
	done(r);
	return (rv);
}

/* ---- instance ------------------------------------------------------------ */

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
		done(*rp);
		*rp = NULL;
	}
	return (rv);
}

static bool
finished(int s)
{
	return (s == 4 || s == 5 || s == 9 || s == 10);
}

static int
instance_wait(struct pjctl *o, int64_t id, int64_t timeout_s)
{
	bool    tty  = isatty(STDOUT_FILENO) && !o->json;
	int     last = -1, rv;
	time_t  t0   = time(NULL);
	for (;;) {
		Pj__Openapi__Reply *r;
		if ((rv = instance_detail(o, id, &r)) != 0) {
			if (tty) {
				printf("\n");
			}
			return (rv);
		}
		const Pj__Openapi__InstanceInfo *i = r->instance;
		int   s       = i->status;
		long  elapsed = (long) (time(NULL) - t0);
		if (tty) {
			printf("\r\033[Kinstance %lld: %-22s %lds", (long long) id,
			    pjctl_status_name(s), elapsed);
			fflush(stdout);
		} else if (s != last && !o->json) {
			printf("instance %lld: %s\n", (long long) id,
			    pjctl_status_name(s));
			fflush(stdout);
		}
		last = s;
		if (finished(s)) {
			if (tty) {
				printf("\n");
			}
			if (o->json) {
				pjctl_print_json(pjctl_pb_to_json(&r->base));
			} else if (i->result[0]) {
				printf("result: %s\n", i->result);
			}
			done(r);
			return (s == 5 ? PJCTL_OK : PJCTL_FAILED);
		}
		done(r);
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
			done(r);
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
					done(r);
					return (rv);
				}
				/* finished: one more read gets the last lines */
				end = finished(d->instance->status)
				    && r->log->text[0] == 0;
				done(d);
				if (!end) {
					usleep(500000);
				}
			}
		}
		done(r);
		if (end) {
			return (0);
		}
	}
}

int
pjctl_instance(struct pjctl *o, int argc, char **argv)
{
	struct opt opts[] = { { "job", 0, NULL }, { "status", 0, NULL },
		{ "after", 0, NULL }, { "size", 0, NULL },
		{ "follow", 1, NULL }, { "timeout-s", 0, NULL } };
	const char *pos[2], *sub = argc > 1 ? argv[1] : "";
	int         npos, rv;
	int64_t     id = 0, x;
	int32_t     st[16];
	Pj__Openapi__Request         rq = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__Reply          *r;
	Pj__Openapi__InstanceStatus  is = PJ__OPENAPI__INSTANCE_STATUS__INIT;
	Pj__Openapi__InstanceStop    sp = PJ__OPENAPI__INSTANCE_STOP__INIT;
	Pj__Openapi__InstanceCancel  cn = PJ__OPENAPI__INSTANCE_CANCEL__INIT;
	Pj__Openapi__InstanceRetry   rt = PJ__OPENAPI__INSTANCE_RETRY__INIT;
	Pj__Openapi__InstanceQuery   q  = PJ__OPENAPI__INSTANCE_QUERY__INIT;

	PARSE(2);
	if (npos < 1) {
		fprintf(stderr, "usage: pjctl instance status|detail|list|stop|"
		                "cancel|retry|log|wait ... (pjctl --help)\n");
		return (PJCTL_USAGE);
	}
	if (strcmp(sub, "list") == 0 || strcmp(sub, "query") == 0) {
		if ((GET("job") && num("--job", GET("job"), &q.job_id_eq) != 0)
		    || (GET("after") && num("--after", GET("after"), &q.after) != 0)
		    || (GET("status")
		        && codes_of("--status", inst_status, GET("status"), st,
		               &q.n_status_in)
		            != 0)) {
			return (PJCTL_USAGE);
		}
		if (GET("size")) {
			if (num("--size", GET("size"), &x) != 0) {
				return (PJCTL_USAGE);
			}
			q.page_size = (int32_t) x;
		}
		q.status_in       = st;
		rq.op_case        = PJ__OPENAPI__REQUEST__OP_INSTANCE_QUERY;
		rq.instance_query = &q;
		if ((rv = call(o, &rq, &r)) == 0 && !o->json) {
			print_instances(
			    r->instances->instances, r->instances->n_instances);
			if (r->instances->next_after) {
				printf("more: --after %lld\n",
				    (long long) r->instances->next_after);
			}
		}
		done(r);
		return (rv);
	}
	if ((rv = id_arg(sub, npos > 1 ? pos[1] : NULL, &id)) != 0) {
		return (rv);
	}
	if (strcmp(sub, "wait") == 0) {
		int64_t t = 0;
		if (GET("timeout-s") && num("--timeout-s", GET("timeout-s"), &t)) {
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
			printf("instance        %lld\n", (long long) i->instance_id);
			printf("job             %lld\n", (long long) i->job_id);
			printf("status          %s\n", pjctl_status_name(i->status));
			printf("result          %s\n", i->result);
			printf("params          %s\n", i->instance_params);
			pjctl_time(i->expected_trigger_time, t, sizeof(t));
			printf("expected        %s\n", t);
			pjctl_time(i->actual_trigger_time, t, sizeof(t));
			printf("triggered       %s\n", t);
			pjctl_time(i->finished_time, t, sizeof(t));
			printf("finished        %s\n", t);
			printf("task tracker    %s\n", i->task_tracker_address);
			printf("running times   %lld\n", (long long) i->running_times);
			printf("served by       %s\n", i->served_by);
		}
		done(r);
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
		    "pjctl instance: unknown command '%s' (pjctl --help)\n", sub);
		return (PJCTL_USAGE);
	}
	if ((rv = call(o, &rq, &r)) == 0 && !o->json) {
		if (rq.op_case == PJ__OPENAPI__REQUEST__OP_INSTANCE_STATUS) {
			printf("%s\n", pjctl_status_name(r->status));
		} else {
			printf("instance %lld: %s done\n", (long long) id, sub);
		}
	}
	done(r);
	return (rv);
}

/* ---- worker -------------------------------------------------------------- */

int
pjctl_worker(struct pjctl *o, int argc, char **argv)
{
	struct opt           opts[] = { { "x", 1, NULL } };
	const char          *pos[1];
	int                  npos, rv;
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
	if ((rv = call(o, &rq, &r)) == 0 && !o->json) {
		char t[32];
		printf("workers of the app (owner %s):\n", r->workers->served_by);
		printf("%-36s %5s %5s %-8s %6s %12s %12s %-19s %s\n", "ADDRESS",
		    "SCORE", "ALIVE", "OVERLOAD", "CPUS", "CPU LOAD", "MEM GB",
		    "LAST ACTIVE", "TAG");
		for (size_t k = 0; k < r->workers->n_workers; k++) {
			const Pj__Cluster__WorkerInfo    *wi = r->workers->workers[k];
			const Pj__Cluster__SystemMetrics *m  = wi->metrics;
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
	done(r);
	return (rv);
}
