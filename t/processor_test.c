/*
 * t/processor_test.c - the processors of worker/ driven directly through
 * pj_processor_load and a recording task context (t/procutil.h): shell
 * and python scripts (inline, downloaded over http, https and ftp from
 * servers started here, deadline, stop, floods), the HTTP processor
 * against a python server, and C plugins (the two examples, broken ones).
 *
 * Helpers: t/procserver.py (https files, HTTP echo), `python3 -m
 * http.server`, `python3 -m pyftpdlib`, `openssl req` for a self-signed
 * certificate; all on 127.0.0.1, started once for the network cases
 * (an unchecked fixture in the runner process) and killed at the end.
 * The network cases are in t/processor_net.inc, the plugin cases in
 * t/processor_plugin.inc.
 */
#include "t/procutil.h"

#include <dirent.h>

#include "worker/plugin.h"

static char  tmp[256]; /* the suite's scratch folder */
static char  www[300]; /* files served over http, https and ftp */
static char  cert[300], key[300];
static int   http_port, https_port, ftp_port, echo_port;
static pid_t http_pid, https_pid, ftp_pid, echo_pid;

static void
conf(struct pj_processor_config *c)
{
	static char data[300], plugins[300];
	const char *bin = getenv("PJ_TEST_BIN");

	pj_processor_config_init(c);
	snprintf(data, sizeof(data), "%s/data", tmp);
	snprintf(plugins, sizeof(plugins), "%s/../plugins",
	    bin != NULL ? bin : "build/t");
	c->data_dir      = data;
	c->plugin_dir    = plugins;
	c->kill_grace_ms = 500;
}

/* loads (type, info), runs process on t, unloads; the task's outcome */
static int
run(const struct pj_processor_config *c, const char *type, const char *info,
    struct tctx *t)
{
	struct pj_processor p;
	char                err[1024];
	int                 ok;

	if (pj_processor_load(c, type, info, &p, err, sizeof(err)) != 0) {
		tc_set_result(&t->c, "LOAD: %s", err);
		return -1;
	}
	ok = p.ops->process(p.state, &t->c);
	pj_processor_unload(&p);
	return ok;
}

/* load must fail; its message */
static void
load_fails(const struct pj_processor_config *c, const char *type,
    const char *info, const char *want)
{
	struct pj_processor p;
	char                err[1024] = "";

	ck_assert_int_eq(
	    pj_processor_load(c, type, info, &p, err, sizeof(err)), -1);
	ck_assert_msg(
	    strstr(err, want) != NULL, "want '%s' in: %s", want, err);
	ck_assert_ptr_null(p.ops);
}

#define HAS(t, s)                                                             \
	ck_assert_msg(strstr(tc_result(t), (s)) != NULL,                      \
	    "want '%s' in: %.2000s", (s), tc_result(t))
#define HASNOT(t, s)                                                          \
	ck_assert_msg(strstr(tc_result(t), (s)) == NULL,                      \
	    "unwanted '%s' in: %.2000s", (s), tc_result(t))

static void
setup_tmp(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/pjproc.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void
rm_rf(const char *dir)
{
	char *argv[] = { "/bin/rm", "-rf", (char *) dir, NULL };

	tp_run(argv);
}

/* ---- scripts, inline ---------------------------------------------------- */

START_TEST(shell_inline_env)
{
	struct pj_processor_config c;
	struct tctx                t;

	conf(&c);
	tc_init(&t, "STANDALONE");
	t.c.task_id         = "0.1";
	t.c.job_params      = "hello world";
	t.c.instance_params = "echo \"job=$PJ_JOB_ID inst=$PJ_INSTANCE_ID "
	                      "task=$PJ_TASK_ID jp=$PJ_JOB_PARAMS "
	                      "type=$PJ_EXECUTE_TYPE\"; echo oops >&2";
	ck_assert_int_eq(run(&c, "BUILT_IN", "shell", &t), 1);
	HAS(&t,
	    "[INPUT]: job=7 inst=8 task=0.1 jp=hello world type=STANDALONE");
	HAS(&t, ";[ERROR]: oops");
	ck_assert_msg(strstr(t.log, "2|job=7") != NULL, "log: %s", t.log);
	ck_assert_msg(strstr(t.log, "3|oops") != NULL, "log: %s", t.log);
	tc_fini(&t);
	/* PowerJob's class name, the script in the job params */
	tc_init(&t, "STANDALONE");
	t.c.job_params = "exit 0";
	ck_assert_int_eq(run(&c, "BUILT_IN",
	                     "tech.powerjob.official.processors.impl.script."
	                     "ShellProcessor",
	                     &t),
	    1);
	tc_fini(&t);
}
END_TEST

START_TEST(shell_type_fails_by_exit_code)
{
	struct pj_processor_config c;
	struct tctx                t;

	conf(&c);
	tc_init(&t, "STANDALONE");
	t.c.instance_params = "p1";
	t.c.job_params      = "jobp";
	ck_assert_int_eq(run(&c, "SHELL",
	                     "echo \"arg=$1 ip=$PJ_INSTANCE_PARAMS "
	                     "jp=$PJ_JOB_PARAMS\"; exit 3",
	                     &t),
	    0);
	HAS(&t, "exit code 3");
	HAS(&t, "arg=p1 ip=p1 jp=jobp");
	tc_fini(&t);
	/* killed by a signal */
	tc_init(&t, "STANDALONE");
	ck_assert_int_eq(run(&c, "SHELL", "kill -9 $$", &t), 0);
	HAS(&t, "signal 9 (SIGKILL)");
	tc_fini(&t);
}
END_TEST

START_TEST(python_inline)
{
	struct pj_processor_config c;
	struct tctx                t;

	conf(&c);
	tc_init(&t, "STANDALONE");
	t.c.job_params = "{\"n\": 3}";
	ck_assert_int_eq(run(&c, "PYTHON",
	                     "import json, os, sys\n"
	                     "p = json.loads(os.environ['PJ_JOB_PARAMS'])\n"
	                     "print('n*2=%d job=%s' % (p['n'] * 2, "
	                     "os.environ['PJ_JOB_ID']))\n",
	                     &t),
	    1);
	HAS(&t, "[INPUT]: n*2=6 job=7");
	tc_fini(&t);
	tc_init(&t, "STANDALONE");
	t.c.job_params
	    = "import sys\nsys.stderr.write('bad\\n')\nsys.exit(2)\n";
	ck_assert_int_eq(run(&c, "BUILT_IN", "python", &t), 0);
	HAS(&t, "exit code 2");
	HAS(&t, "[ERROR]: bad");
	tc_fini(&t);
}
END_TEST

START_TEST(script_bad_input)
{
	struct pj_processor_config c;
	struct tctx                t;

	conf(&c);
	tc_init(&t, "STANDALONE");
	ck_assert_int_eq(run(&c, "BUILT_IN", "shell", &t), 0);
	HAS(&t, "no script");
	tc_fini(&t);
	load_fails(&c, "SHELL", "", "processor info is empty");
	load_fails(&c, "NOPE", "x", "unsupported processor type");
	load_fails(&c, "BUILT_IN", "nope", "unknown built-in");
	/* parameters too large for the environment */
	tc_init(&t, "STANDALONE");
	{
		char *big = malloc(200 * 1024);

		memset(big, 'a', 200 * 1024 - 1);
		big[200 * 1024 - 1] = '\0';
		t.c.job_params      = big;
		ck_assert_int_eq(run(&c, "SHELL", "true", &t), 0);
		HAS(&t, "cannot be passed in the environment");
		free(big);
	}
	tc_fini(&t);
	/* an interpreter that is not there */
	c.python_path = "/nonexistent/python3";
	tc_init(&t, "STANDALONE");
	ck_assert_int_eq(run(&c, "PYTHON", "print(1)", &t), 0);
	HAS(&t, "cannot start /nonexistent/python3");
	tc_fini(&t);
	/* an unusable data dir */
	c.data_dir = "/proc/nope";
	tc_init(&t, "STANDALONE");
	ck_assert_int_eq(run(&c, "SHELL", "true", &t), 0);
	HAS(&t, "cannot create the folder");
	tc_fini(&t);
}
END_TEST

static pid_t
read_pid(const char *path)
{
	FILE *f   = fopen(path, "r");
	int   pid = 0;

	if (f != NULL) {
		if (fscanf(f, "%d", &pid) != 1) {
			pid = 0;
		}
		fclose(f);
	}
	return pid;
}

START_TEST(script_deadline_kills_group)
{
	struct pj_processor_config c;
	struct tctx                t;
	char                       pidf[300];
	int64_t                    t0;
	pid_t                      gc;

	conf(&c);
	snprintf(pidf, sizeof(pidf), "%s/gc.pid", tmp);
	unlink(pidf);
	tc_init(&t, "STANDALONE");
	t.c.job_params = pidf;
	/* a grandchild sleep in the script's group */
	t.c.deadline_ms = ar_mono_ms() + 700;
	t0              = ar_mono_ms();
	ck_assert_int_eq(
	    run(&c, "SHELL",
	        "sh -c 'sleep 300 & echo $! > \"$PJ_JOB_PARAMS\"; "
	        "wait'; echo never",
	        &t),
	    0);
	ck_assert_int_lt(ar_mono_ms() - t0, 4000);
	HAS(&t, "ran past the task's deadline");
	HAS(&t, "process group was killed");
	HASNOT(&t, "never");
	gc = read_pid(pidf);
	ck_assert_int_gt(gc, 0);
	ck_assert_msg(tp_gone(gc, 3000), "grandchild %d still runs", gc);
	tc_fini(&t);

	/* a script ignoring SIGTERM gets SIGKILL after the grace */
	unlink(pidf);
	tc_init(&t, "STANDALONE");
	t.c.job_params  = pidf;
	t.c.deadline_ms = ar_mono_ms() + 300;
	t0              = ar_mono_ms();
	ck_assert_int_eq(run(&c, "SHELL",
	                     "trap '' TERM; sleep 300 & echo $! > "
	                     "\"$PJ_JOB_PARAMS\"; wait; wait; echo never",
	                     &t),
	    0);
	ck_assert_int_lt(ar_mono_ms() - t0, 4000);
	HAS(&t, "ran past the task's deadline");
	ck_assert_msg(strstr(t.log, "SIGKILL") != NULL, "log: %s", t.log);
	gc = read_pid(pidf);
	ck_assert_int_gt(gc, 0);
	ck_assert_msg(tp_gone(gc, 3000), "grandchild %d still runs", gc);
	tc_fini(&t);
}
END_TEST

static void *
stop_later(void *arg)
{
	struct tctx *t = arg;

	usleep(300 * 1000);
	atomic_store(&t->stop, 1);
	return NULL;
}

START_TEST(script_stop_and_leftovers)
{
	struct pj_processor_config c;
	struct tctx                t;
	pthread_t                  th;
	int64_t                    t0;

	conf(&c);
	tc_init(&t, "STANDALONE");
	pthread_create(&th, NULL, stop_later, &t);
	t0 = ar_mono_ms();
	ck_assert_int_eq(run(&c, "SHELL", "echo started; sleep 300", &t), 0);
	pthread_join(th, NULL);
	ck_assert_int_lt(ar_mono_ms() - t0, 3000);
	HAS(&t, "stopped with the instance");
	HAS(&t, "[INPUT]: started");
	tc_fini(&t);

	/* a background child holding the pipes after the script exits:
	 * it belongs to the task and is killed */
	{
		char  pidf[300];
		pid_t bg;

		snprintf(pidf, sizeof(pidf), "%s/bg.pid", tmp);
		tc_init(&t, "STANDALONE");
		t.c.job_params = pidf;
		t0             = ar_mono_ms();
		ck_assert_int_eq(
		    run(&c, "SHELL",
		        "sleep 300 & echo $! > \"$PJ_JOB_PARAMS\"; "
		        "echo done",
		        &t),
		    1);
		ck_assert_int_lt(ar_mono_ms() - t0, 3000);
		HAS(&t, "[INPUT]: done");
		bg = read_pid(pidf);
		ck_assert_int_gt(bg, 0);
		ck_assert_msg(
		    tp_gone(bg, 3000), "background sleep %d runs", bg);
		tc_fini(&t);
	}
}
END_TEST

START_TEST(script_output_flood)
{
	struct pj_processor_config c;
	struct tctx                t;

	conf(&c);
	c.max_output_bytes = 64 * 1024;
	tc_init(&t, "STANDALONE");
	/* 10 MB on stdout and 1 MB on stderr, interleaved */
	ck_assert_int_eq(run(&c, "PYTHON",
	                     "import sys\n"
	                     "line = 'x' * 99 + '\\n'\n"
	                     "for i in range(1000):\n"
	                     "    sys.stdout.write(line * 100)\n"
	                     "    sys.stderr.write(line * 10)\n",
	                     &t),
	    1);
	ck_assert_uint_lt(strlen(tc_result(&t)), 70 * 1024);
	HAS(&t, "more bytes]");
	/* stderr is kept too: the script's lines of 'x' follow the marker */
	HAS(&t, ";[ERROR]: xxxxxxxxxxxxxxxxxxxx");
	ck_assert_int_eq(t.n_level[PJ_LOG_INFO] >= 100000, 1);
	ck_assert_int_eq(t.n_level[PJ_LOG_WARN], 10000);
	tc_fini(&t);
	/* one endless line is logged in pieces */
	tc_init(&t, "STANDALONE");
	ck_assert_int_eq(run(&c, "PYTHON", "print('y' * 100000)", &t), 1);
	ck_assert_int_ge(t.n_level[PJ_LOG_INFO], 24);
	tc_fini(&t);
}
END_TEST

struct conc {
	struct pj_processor *p;
	struct tctx          t;
	char                 id[16];
	int                  ok;
};

static void *
conc_run(void *arg)
{
	struct conc *k = arg;

	for (int i = 0; i < 5 && k->ok; i++) {
		k->ok = k->p->ops->process(k->p->state, &k->t.c) == 1;
	}
	return NULL;
}

/* tasks of one instance on several threads share the loaded processor
 * and the instance's folder (created and removed under each other) */
START_TEST(script_concurrent)
{
	struct pj_processor_config c;
	struct pj_processor        p;
	struct conc                k[4];
	pthread_t                  th[4];
	char                       err[256], want[64];

	conf(&c);
	ck_assert_int_eq(
	    pj_processor_load(&c, "BUILT_IN", "shell", &p, err, sizeof(err)),
	    0);
	for (int i = 0; i < 4; i++) {
		tc_init(&k[i].t, "MAP");
		snprintf(k[i].id, sizeof(k[i].id), "0.%d", i);
		k[i].p              = &p;
		k[i].ok             = 1;
		k[i].t.c.task_id    = k[i].id;
		k[i].t.c.job_params = "echo task=$PJ_TASK_ID";
		pthread_create(&th[i], NULL, conc_run, &k[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		snprintf(want, sizeof(want), "[INPUT]: task=0.%d", i);
		ck_assert_msg(k[i].ok, "task %d: %s", i, tc_result(&k[i].t));
		HAS(&k[i].t, want);
		tc_fini(&k[i].t);
	}
	pj_processor_unload(&p);
}
END_TEST

#include "t/processor_net.inc"
#include "t/processor_plugin.inc"

static void
local_setup(void)
{
	setup_tmp();
}

static void
local_teardown(void)
{
	rm_rf(tmp);
}

int
main(void)
{
	Suite *s = suite_create("processor");
	TCase *tc;

	tc = tcase_create("script");
	tcase_add_unchecked_fixture(tc, local_setup, local_teardown);
	tcase_add_test(tc, shell_inline_env);
	tcase_add_test(tc, shell_type_fails_by_exit_code);
	tcase_add_test(tc, python_inline);
	tcase_add_test(tc, script_bad_input);
	tcase_add_test(tc, script_deadline_kills_group);
	tcase_add_test(tc, script_stop_and_leftovers);
	tcase_add_test(tc, script_output_flood);
	tcase_add_test(tc, script_concurrent);
	suite_add_tcase(s, tc);

	tc = tcase_create("net");
	tcase_add_unchecked_fixture(tc, start_servers, stop_servers);
	tcase_add_test(tc, download_http_ftp);
	tcase_add_test(tc, download_failures);
	tcase_add_test(tc, download_https);
	tcase_add_test(tc, http_processor);
	suite_add_tcase(s, tc);

	tc = tcase_create("plugin");
	tcase_add_test(tc, plugin_wordcount_map_reduce);
	tcase_add_test(tc, plugin_wordcount_file_standalone);
	tcase_add_test(tc, plugin_broadcast);
	tcase_add_test(tc, plugin_bad);
	tcase_add_test(tc, plugin_cache_refcount);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
