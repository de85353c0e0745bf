/*
 * pjctl_job.c - pjctl app and pjctl job (programs/pjctl.h; the table of
 * commands is in pjctl.c's usage and the README).  Each command builds one
 * pj.openapi.Request, prints the reply as a table (or --json) and returns
 * the exit code.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "programs/pjctl.h"

/* ---- app -----------------------------------------------------------------
 */

int
pjctl_app(struct pjctl *o, int argc, char **argv)
{
	struct opt  opts[] = { { "title", 0, NULL }, { "ttl-ms", 0, NULL } };
	const char *pos[2];
	int         npos, rv;
	Pj__Openapi__Request rq = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__Reply  *r;
	PARSE(2);
	if (npos >= 1 && strcmp(pos[0], "register") == 0) {
		Pj__Openapi__AppRegister a = PJ__OPENAPI__APP_REGISTER__INIT;
		a.app_name      = (char *) (npos > 1 ? pos[1] : o->app);
		a.secret        = o->secret;
		a.title         = (char *) (GET("title") ? GET("title") : "");
		rq.op_case      = PJ__OPENAPI__REQUEST__OP_APP_REGISTER;
		rq.app_register = &a;
		if ((rv = pjctl_call_ok(o, &rq, &r)) == 0 && !o->json) {
			printf("app %s registered: id %lld\n", a.app_name,
			    (long long) r->id);
		}
		pjctl_done(r);
		return (rv);
	}
	if (npos == 1 && strcmp(pos[0], "auth") == 0) {
		Pj__Openapi__AppAuth a   = PJ__OPENAPI__APP_AUTH__INIT;
		int64_t              ttl = 0;
		if (GET("ttl-ms")
		    && pjctl_num("--ttl-ms", GET("ttl-ms"), &ttl) != 0) {
			return (PJCTL_USAGE);
		}
		a.ttl_ms    = ttl;
		rq.op_case  = PJ__OPENAPI__REQUEST__OP_APP_AUTH;
		rq.app_auth = &a;
		o->token[0] = 0; /* the secret is what is checked */
		if ((rv = pjctl_call_ok(o, &rq, &r)) == 0 && !o->json) {
			char t[32];
			pjctl_time(r->auth->expires_ms, t, sizeof(t));
			printf("app id   %lld\ntoken    %s\nexpires  %s\n",
			    (long long) r->auth->app_id, r->auth->token, t);
		}
		pjctl_done(r);
		return (rv);
	}
	fprintf(stderr,
	    "usage: pjctl app register [NAME] [--title T] | "
	    "pjctl app auth [--ttl-ms MS]\n");
	return (PJCTL_USAGE);
}

/* ---- job -----------------------------------------------------------------
 */

static int
job_save(struct pjctl *o, int argc, char **argv)
{
	struct opt           opts[] = { { "id", 0, NULL }, { "name", 0, NULL },
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
	const char          *pos[1];
	int                  npos, rv, c;
	int64_t              x;
	char                 err[300];
	json_t              *file     = NULL;
	Pj__Openapi__Reply  *old      = NULL; /* the job updated, when --id */
	bool                 disabled = false;
	Pj__Openapi__JobInfo j        = PJ__OPENAPI__JOB_INFO__INIT;
	Pj__Openapi__JobSave s        = PJ__OPENAPI__JOB_SAVE__INIT;
	Pj__Openapi__Request rq       = PJ__OPENAPI__REQUEST__INIT;
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
			fprintf(stderr, "pjctl job save: %s: %s\n",
			    GET("file"), err);
			json_decref(file);
			return (PJCTL_USAGE);
		}
	}
	if (GET("id") && file == NULL) {
		/* an update changes only what is given: start from the job */
		Pj__Openapi__JobFetch fe = PJ__OPENAPI__JOB_FETCH__INIT;
		Pj__Openapi__Request  fq = PJ__OPENAPI__REQUEST__INIT;
		if (pjctl_num("--id", GET("id"), &fe.job_id) != 0) {
			return (PJCTL_USAGE);
		}
		fq.op_case   = PJ__OPENAPI__REQUEST__OP_JOB_FETCH;
		fq.job_fetch = &fe;
		if ((rv = pjctl_call(o, &fq, &old)) != 0) {
			return (rv);
		}
		if (!old->success) {
			rv = pjctl_reply_fail(old);
			pjctl_done(old);
			return (rv);
		}
		j        = *old->job; /* borrows old's strings */
		disabled = old->job->status == 2;
	}
	const struct {
		const char *opt;
		char      **field;
	} texts[]
	    = { { "name", &j.job_name }, { "description", &j.job_description },
		      { "expr", &j.time_expression }, { "zone", &j.time_zone },
		      { "processor-info", &j.processor_info },
		      { "params", &j.job_params },
		      { "workers", &j.designated_workers }, { "tag", &j.tag },
		      { "lifecycle", &j.lifecycle } };
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
			if (pjctl_num(nums[k].opt, GET(nums[k].opt), &x)
			    != 0) {
				goto usage;
			}
			*nums[k].field = (int32_t) x;
		}
	}
	if ((GET("id") && pjctl_num("--id", GET("id"), &j.id) != 0)
	    || (GET("time-limit-ms")
	        && pjctl_num("--time-limit-ms", GET("time-limit-ms"),
	               &j.instance_time_limit)
	            != 0)) {
		goto usage;
	}
	if (GET("type")) {
		if (pjctl_code_of("--type", pjctl_time_types, GET("type"), &c)
		    != 0) {
			goto usage;
		}
		j.time_expression_type = c;
	}
	if (GET("execute")) {
		if (pjctl_code_of(
		        "--execute", pjctl_exec_types, GET("execute"), &c)
		    != 0) {
			goto usage;
		}
		j.execute_type = c;
	}
	if (GET("processor")) {
		if (pjctl_code_of(
		        "--processor", pjctl_proc_types, GET("processor"), &c)
		    != 0) {
			goto usage;
		}
		j.processor_type = c;
	}
	if (GET("dispatch")) {
		if (pjctl_code_of(
		        "--dispatch", pjctl_strategies, GET("dispatch"), &c)
		    != 0) {
			goto usage;
		}
		j.dispatch_strategy = c;
	}
	s.job       = &j;
	s.disabled  = disabled || GET("disabled") != NULL;
	rq.op_case  = PJ__OPENAPI__REQUEST__OP_JOB_SAVE;
	rq.job_save = &s;
	if ((rv = pjctl_call_ok(o, &rq, &r)) == 0 && !o->json) {
		printf("job %lld saved\n", (long long) r->id);
	}
	pjctl_done(r);
	pjctl_done(old);
	json_decref(file);
	return (rv);
usage:
	pjctl_done(old);
	json_decref(file);
	return (PJCTL_USAGE);
}

static int
job_query(struct pjctl *o, int argc, char **argv, int all)
{
	struct opt  opts[] = { { "name", 0, NULL }, { "name-like", 0, NULL },
		 { "status", 0, NULL }, { "type", 0, NULL }, { "tag", 0, NULL },
		 { "page", 0, NULL }, { "size", 0, NULL } };
	const char *pos[1];
	int         npos, rv;
	int64_t     x;
	int32_t     st[16], ty[16];
	Pj__Openapi__JobQuery    q  = PJ__OPENAPI__JOB_QUERY__INIT;
	Pj__Openapi__JobFetchAll fa = PJ__OPENAPI__JOB_FETCH_ALL__INIT;
	Pj__Openapi__Request     rq = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__Reply      *r;
	PARSE(0);
	if (all) {
		rq.op_case       = PJ__OPENAPI__REQUEST__OP_JOB_FETCH_ALL;
		rq.job_fetch_all = &fa;
	} else {
		q.job_name_eq = (char *) (GET("name") ? GET("name") : "");
		q.job_name_like
		    = (char *) (GET("name-like") ? GET("name-like") : "");
		q.tag_eq = (char *) (GET("tag") ? GET("tag") : "");
		if (GET("status")
		    && pjctl_codes_of("--status", pjctl_job_status,
		           GET("status"), st, &q.n_status_in)
		        != 0) {
			return (PJCTL_USAGE);
		}
		q.status_in = st;
		if (GET("type")
		    && pjctl_codes_of("--type", pjctl_time_types, GET("type"),
		           ty, &q.n_time_expression_type_in)
		        != 0) {
			return (PJCTL_USAGE);
		}
		q.time_expression_type_in = ty;
		if (GET("page")) {
			if (pjctl_num("--page", GET("page"), &x) != 0) {
				return (PJCTL_USAGE);
			}
			q.index = (int32_t) x;
		}
		if (GET("size")) {
			if (pjctl_num("--size", GET("size"), &x) != 0) {
				return (PJCTL_USAGE);
			}
			q.page_size = (int32_t) x;
		}
		rq.op_case   = PJ__OPENAPI__REQUEST__OP_JOB_QUERY;
		rq.job_query = &q;
	}
	if ((rv = pjctl_call_ok(o, &rq, &r)) == 0 && !o->json) {
		pjctl_print_jobs(r->jobs->jobs, r->jobs->n_jobs);
	}
	pjctl_done(r);
	return (rv);
}

static int
job_preview(struct pjctl *o, int argc, char **argv)
{
	struct opt  opts[] = { { "type", 0, NULL }, { "expr", 0, NULL },
		 { "zone", 0, NULL }, { "count", 0, NULL }, { "from", 0, NULL },
		 { "lifecycle", 0, NULL } };
	const char *pos[1];
	int         npos, rv, c;
	int64_t     x;
	Pj__Openapi__TimePreview t  = PJ__OPENAPI__TIME_PREVIEW__INIT;
	Pj__Openapi__Request     rq = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__Reply      *r;
	PARSE(1);
	if (npos == 1 && pjctl_num("job id", pos[0], &t.job_id) != 0) {
		return (PJCTL_USAGE);
	}
	if (npos == 0 && (GET("expr") == NULL || GET("type") == NULL)) {
		fprintf(stderr,
		    "usage: pjctl job preview JOB_ID | pjctl job "
		    "preview --type TYPE --expr EXPR [--zone Z] "
		    "[--count N] [--from MS]\n");
		return (PJCTL_USAGE);
	}
	if (GET("type")) {
		if (pjctl_code_of("--type", pjctl_time_types, GET("type"), &c)
		    != 0) {
			return (PJCTL_USAGE);
		}
		t.time_expression_type = c;
	}
	t.time_expression = (char *) (GET("expr") ? GET("expr") : "");
	t.time_zone       = (char *) (GET("zone") ? GET("zone") : "");
	t.lifecycle = (char *) (GET("lifecycle") ? GET("lifecycle") : "");
	if (GET("count")) {
		if (pjctl_num("--count", GET("count"), &x) != 0) {
			return (PJCTL_USAGE);
		}
		t.count = (int32_t) x;
	}
	if (GET("from") && pjctl_num("--from", GET("from"), &t.from_ms) != 0) {
		return (PJCTL_USAGE);
	}
	rq.op_case      = PJ__OPENAPI__REQUEST__OP_TIME_PREVIEW;
	rq.time_preview = &t;
	if ((rv = pjctl_call_ok(o, &rq, &r)) == 0 && !o->json) {
		Pj__Openapi__FireTimes *f = r->fire_times;
		if (f->n_times == 0) {
			printf("%s\n", r->message);
		}
		for (size_t k = 0; k < f->n_times; k++) {
			printf("%lld  %s\n", (long long) f->times[k],
			    k < f->n_local ? f->local[k] : "");
		}
	}
	pjctl_done(r);
	return (rv);
}

int
pjctl_job(struct pjctl *o, int argc, char **argv)
{
	struct opt  opts[] = { { "params", 0, NULL }, { "delay", 0, NULL } };
	const char *pos[2], *sub = argc > 1 ? argv[1] : "";
	int         npos, rv;
	int64_t     id;
	Pj__Openapi__Request    rq = PJ__OPENAPI__REQUEST__INIT;
	Pj__Openapi__Reply     *r;
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
		fprintf(stderr,
		    "usage: pjctl job save|list|query|fetch|export|"
		    "copy|enable|disable|delete|run|preview ... "
		    "(pjctl --help)\n");
		return (PJCTL_USAGE);
	}
	if ((rv = pjctl_id_arg(sub, npos > 1 ? pos[1] : NULL, &id)) != 0) {
		return (rv);
	}
	if (strcmp(sub, "copy") == 0) {
		cp.job_id   = id;
		rq.op_case  = PJ__OPENAPI__REQUEST__OP_JOB_COPY;
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
		ru.job_id = id;
		ru.instance_params
		    = (char *) (GET("params") ? GET("params") : "");
		if (GET("delay")
		    && pjctl_num("--delay", GET("delay"), &ru.delay_ms) != 0) {
			return (PJCTL_USAGE);
		}
		rq.op_case = PJ__OPENAPI__REQUEST__OP_JOB_RUN;
		rq.job_run = &ru;
	} else {
		fprintf(stderr,
		    "pjctl job: unknown command '%s' (pjctl --help)\n", sub);
		return (PJCTL_USAGE);
	}
	if ((rv = pjctl_call_ok(o, &rq, &r)) != 0 || o->json) {
		pjctl_done(r);
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
		pjctl_print_job(r->job);
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
		    rq.op_case == PJ__OPENAPI__REQUEST__OP_JOB_ENABLE
		        ? "enable"
		        : rq.op_case == PJ__OPENAPI__REQUEST__OP_JOB_DISABLE
		        ? "disable"
		        : "delete");
	}
	pjctl_done(r);
	return (rv);
}
