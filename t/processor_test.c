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
	HAS(&t, ";[ERROR]: xxx");
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

/* ---- scripts downloaded ----------------------------------------------------
 */

static void
start_servers(void)
{
	char        port[16], port2[16], port3[16], port4[16], server[400];
	const char *top = getenv("PJ_TOP");

	setup_tmp();
	snprintf(www, sizeof(www), "%s/www", tmp);
	mkdir(www, 0755);
	snprintf(cert, sizeof(cert), "%s/cert.pem", tmp);
	snprintf(key, sizeof(key), "%s/key.pem", tmp);
	{
		char *argv[] = { "/usr/bin/openssl", "req", "-x509", "-newkey",
			"ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
			"-nodes", "-keyout", key, "-out", cert, "-days", "2",
			"-subj", "/CN=127.0.0.1", "-addext",
			"subjectAltName=IP:127.0.0.1", NULL };

		ck_assert_int_eq(tp_run(argv), 0);
	}
	{
		char p[400];

		snprintf(p, sizeof(p), "%s/ok.sh", www);
		tp_write(p, "echo downloaded job=$PJ_JOB_ID\n");
		snprintf(p, sizeof(p), "%s/ok.py", www);
		tp_write(p,
		    "import os\nprint('py downloaded', "
		    "os.environ['PJ_TASK_ID'])\n");
		snprintf(p, sizeof(p), "%s/big.sh", www);
		FILE *f = fopen(p, "w");
		for (int i = 0; i < 500; i++) {
			fputs(
			    "echo 0123456789012345678901234567890123456789\n",
			    f);
		}
		fclose(f);
	}
	snprintf(server, sizeof(server), "%s/t/procserver.py",
	    top != NULL ? top : ".");
	http_port  = tp_free_port();
	https_port = tp_free_port();
	ftp_port   = tp_free_port();
	echo_port  = tp_free_port();
	snprintf(port, sizeof(port), "%d", http_port);
	snprintf(port2, sizeof(port2), "%d", https_port);
	snprintf(port3, sizeof(port3), "%d", ftp_port);
	snprintf(port4, sizeof(port4), "%d", echo_port);
	{
		char *a1[] = { PY, "-m", "http.server", "--bind", "127.0.0.1",
			"--directory", www, port, NULL };
		char *a2[]
		    = { PY, server, "https", www, port2, cert, key, NULL };
		char *a3[] = { PY, "-m", "pyftpdlib", "-i", "127.0.0.1", "-p",
			port3, "-d", www, NULL };
		char *a4[] = { PY, server, "echo", port4, NULL };

		http_pid  = tp_spawn(a1);
		https_pid = tp_spawn(a2);
		ftp_pid   = tp_spawn(a3);
		echo_pid  = tp_spawn(a4);
	}
	ck_assert_msg(
	    tp_wait_port(http_port, 10000), "http.server did not start");
	ck_assert_msg(
	    tp_wait_port(https_port, 10000), "https server did not start");
	ck_assert_msg(
	    tp_wait_port(ftp_port, 10000), "pyftpdlib did not start");
	ck_assert_msg(
	    tp_wait_port(echo_port, 10000), "echo server did not start");
}

static void
stop_servers(void)
{
	tp_stop(http_pid);
	tp_stop(https_pid);
	tp_stop(ftp_pid);
	tp_stop(echo_pid);
	rm_rf(tmp);
}

static void
url(char *out, size_t len, const char *fmt, int port)
{
	snprintf(out, len, fmt, port);
}

START_TEST(download_http_ftp)
{
	struct pj_processor_config c;
	struct tctx                t;
	char                       u[256];

	conf(&c);
	url(u, sizeof(u), "http://127.0.0.1:%d/ok.sh", http_port);
	tc_init(&t, "STANDALONE");
	ck_assert_int_eq(run(&c, "SHELL", u, &t), 1);
	HAS(&t, "[INPUT]: downloaded job=7");
	tc_fini(&t);
	/* BUILT_IN python with the URL in the instance params */
	url(u, sizeof(u), "http://127.0.0.1:%d/ok.py", http_port);
	tc_init(&t, "STANDALONE");
	t.c.task_id         = "0.5";
	t.c.instance_params = u;
	ck_assert_int_eq(run(&c, "BUILT_IN", "python", &t), 1);
	HAS(&t, "[INPUT]: py downloaded 0.5");
	tc_fini(&t);
	url(u, sizeof(u), "ftp://127.0.0.1:%d/ok.sh", ftp_port);
	tc_init(&t, "STANDALONE");
	ck_assert_int_eq(run(&c, "SHELL", u, &t), 1);
	HAS(&t, "[INPUT]: downloaded job=7");
	tc_fini(&t);
}
END_TEST

START_TEST(download_failures)
{
	struct pj_processor_config c;
	struct tctx                t;
	char                       u[256];

	conf(&c);
	/* 404, with credentials that must not show */
	url(u, sizeof(u),
	    "http://bob:s3cret@127.0.0.1:%d/missing.sh?token=t0k", http_port);
	tc_init(&t, "STANDALONE");
	ck_assert_int_eq(run(&c, "SHELL", u, &t), 0);
	HAS(&t, "/missing.sh");
	HAS(&t, "HTTP 404");
	HASNOT(&t, "s3cret");
	HASNOT(&t, "bob");
	HASNOT(&t, "t0k");
	tc_fini(&t);
	/* ftp: no such file */
	url(u, sizeof(u), "ftp://127.0.0.1:%d/missing.sh", ftp_port);
	tc_init(&t, "STANDALONE");
	ck_assert_int_eq(run(&c, "SHELL", u, &t), 0);
	HAS(&t, "script download from ftp://127.0.0.1");
	tc_fini(&t);
	/* nobody listens */
	url(u, sizeof(u), "http://127.0.0.1:%d/x.sh", tp_free_port());
	tc_init(&t, "STANDALONE");
	ck_assert_int_eq(run(&c, "SHELL", u, &t), 0);
	HAS(&t, "/x.sh failed: ");
	HAS(&t, "onnect");
	tc_fini(&t);
	/* too big (the server says the length: refused up front) */
	c.max_download_bytes = 1000;
	url(u, sizeof(u), "http://127.0.0.1:%d/big.sh", http_port);
	tc_init(&t, "STANDALONE");
	ck_assert_int_eq(run(&c, "SHELL", u, &t), 0);
	HAS(&t, "larger than the limit of 1000 bytes");
	tc_fini(&t);
	/* too big over ftp (length checked while receiving) */
	url(u, sizeof(u), "ftp://127.0.0.1:%d/big.sh", ftp_port);
	tc_init(&t, "STANDALONE");
	ck_assert_int_eq(run(&c, "SHELL", u, &t), 0);
	HAS(&t, "larger than the limit");
	tc_fini(&t);
	/* too slow */
	c.max_download_bytes  = 1 << 20;
	c.download_timeout_ms = 500;
	url(u, sizeof(u), "http://127.0.0.1:%d/sleep/5", echo_port);
	tc_init(&t, "STANDALONE");
	ck_assert_int_eq(run(&c, "SHELL", u, &t), 0);
	HAS(&t, "no complete answer within 500 ms");
	tc_fini(&t);
}
END_TEST

START_TEST(download_https)
{
	struct pj_processor_config c;
	struct tctx                t;
	char                       u[256];

	conf(&c);
	url(u, sizeof(u), "https://127.0.0.1:%d/ok.sh", https_port);
	/* not trusted: refused, verification is never turned off */
	tc_init(&t, "STANDALONE");
	ck_assert_int_eq(run(&c, "SHELL", u, &t), 0);
	HAS(&t, "script download from https://127.0.0.1");
	ck_assert_msg(strstr(tc_result(&t), "certificate") != NULL
	        || strstr(tc_result(&t), "SSL") != NULL,
	    "result: %s", tc_result(&t));
	tc_fini(&t);
	/* trusted through ca_file */
	c.ca_file = cert;
	tc_init(&t, "STANDALONE");
	ck_assert_int_eq(run(&c, "SHELL", u, &t), 1);
	HAS(&t, "[INPUT]: downloaded job=7");
	tc_fini(&t);
}
END_TEST

/* ---- the HTTP processor ------------------------------------------------- */

static int
http_run(const char *params, struct tctx *t)
{
	struct pj_processor_config c;

	conf(&c);
	c.max_output_bytes = 4096;
	c.ca_file          = cert;
	tc_init(t, "STANDALONE");
	t->c.job_params = params;
	return run(&c, "BUILT_IN", "http", t);
}

START_TEST(http_processor)
{
	struct tctx t;
	char        p[512];
	int64_t     t0;

	snprintf(
	    p, sizeof(p), "{\"url\":\"127.0.0.1:%d/status/200\"}", echo_port);
	ck_assert_int_eq(http_run(p, &t), 1);
	HAS(&t, "code:200, body:status 200");
	tc_fini(&t);
	snprintf(p, sizeof(p),
	    "{\"url\":\"http://127.0.0.1:%d/echo\",\"method\":\"post\","
	    "\"body\":\"{\\\"a\\\":1}\",\"headers\":{\"X-Test\":\"yes\"}}",
	    echo_port);
	ck_assert_int_eq(http_run(p, &t), 1);
	HAS(&t, "code:200, body:POST|application/json|yes|{\"a\":1}");
	tc_fini(&t);
	/* non-GET without a body sends {} */
	snprintf(p, sizeof(p),
	    "{\"url\":\"http://127.0.0.1:%d/echo\",\"method\":\"PUT\","
	    "\"mediaType\":\"text/x-mine\"}",
	    echo_port);
	ck_assert_int_eq(http_run(p, &t), 1);
	HAS(&t, "body:PUT|text/x-mine||{}");
	tc_fini(&t);
	snprintf(p, sizeof(p),
	    "{\"url\":\"http://127.0.0.1:%d/status/"
	    "201\",\"expectedStatus\":201}",
	    echo_port);
	ck_assert_int_eq(http_run(p, &t), 1);
	tc_fini(&t);
	snprintf(p, sizeof(p), "{\"url\":\"http://127.0.0.1:%d/status/500\"}",
	    echo_port);
	ck_assert_int_eq(http_run(p, &t), 0);
	HAS(&t, "code:500, body:status 500");
	tc_fini(&t);
	/* https, trusted through ca_file */
	snprintf(p, sizeof(p), "{\"url\":\"https://127.0.0.1:%d/ok.sh\"}",
	    https_port);
	ck_assert_int_eq(http_run(p, &t), 1);
	HAS(&t, "code:200, body:echo downloaded");
	tc_fini(&t);
	/* timeout */
	snprintf(p, sizeof(p),
	    "{\"url\":\"http://127.0.0.1:%d/sleep/5\",\"timeout\":1}",
	    echo_port);
	t0 = ar_mono_ms();
	ck_assert_int_eq(http_run(p, &t), 0);
	ck_assert_int_lt(ar_mono_ms() - t0, 3000);
	HAS(&t, "no complete answer within 1000 ms");
	tc_fini(&t);
	/* bad parameters */
	ck_assert_int_eq(http_run("not json", &t), 0);
	HAS(&t, "must be a JSON object");
	tc_fini(&t);
	ck_assert_int_eq(http_run("{\"method\":\"GET\"}", &t), 0);
	HAS(&t, "\"url\" (a string) is required");
	tc_fini(&t);
	snprintf(p, sizeof(p),
	    "{\"url\":\"127.0.0.1:%d/echo\",\"headers\":{\"A\":\"x\\r\\nB: "
	    "y\"}}",
	    echo_port);
	ck_assert_int_eq(http_run(p, &t), 0);
	HAS(&t, "one-line string value");
	tc_fini(&t);
	ck_assert_int_eq(http_run("{\"url\":\"ftp://127.0.0.1/x\"}", &t), 0);
	HAS(&t, "failed: ");
	tc_fini(&t);
}
END_TEST

/* ---- plugins ------------------------------------------------------------ */

START_TEST(plugin_wordcount_map_reduce)
{
	struct pj_processor_config c;
	struct pj_processor        p;
	struct tctx                root, sub;
	struct pj_task_outcome    *out;
	char                       err[512], ids[64][24];
	size_t                     n;
	int                        ok;

	conf(&c);
	ck_assert_msg(pj_processor_load(&c, "EXTERNAL",
	                  "wordcount:chunk=16,top=2", &p, err, sizeof(err))
	        == 0,
	    "%s", err);
	tc_init(&root, "MAP_REDUCE");
	root.c.job_params = "the cat and the dog and THE bird, the end. "
	                    "a b c d e f g h i j k l m n o p q r s t u v w";
	ck_assert_int_eq(p.ops->process(p.state, &root.c), 1);
	ck_assert_str_eq(root.map_name, "WORDCOUNT_CHUNK");
	ck_assert_uint_gt(root.nsubs, 3);
	ck_assert_uint_lt(root.nsubs, 64);
	n              = root.nsubs + 1;
	out            = calloc(n, sizeof(*out));
	out[0].task_id = "0";
	out[0].success = 1;
	out[0].result  = strdup(tc_result(&root));
	for (size_t i = 0; i < root.nsubs; i++) {
		tc_init(&sub, "MAP_REDUCE");
		snprintf(ids[i], sizeof(ids[i]), "0.%zu", i);
		sub.c.task_id      = ids[i];
		sub.c.task_name    = "WORDCOUNT_CHUNK";
		sub.c.sub_task     = root.subs[i].p;
		sub.c.sub_task_len = root.subs[i].len;
		ck_assert_int_eq(p.ops->process(p.state, &sub.c), 1);
		out[i + 1].task_id = ids[i];
		out[i + 1].success = 1;
		out[i + 1].result  = strdup(tc_result(&sub));
		tc_fini(&sub);
	}
	ck_assert_ptr_nonnull(p.ops->reduce);
	tc_init(&sub, "MAP_REDUCE");
	ok = p.ops->reduce(p.state, &sub.c, out, n);
	ck_assert_int_eq(ok, 1);
	HAS(&sub, "words=33 ");
	HAS(&sub, "failed=0 top: the=4, and=2");
	tc_fini(&sub);
	/* a failed chunk fails the reduce */
	out[1].success = 0;
	tc_init(&sub, "MAP_REDUCE");
	ck_assert_int_eq(p.ops->reduce(p.state, &sub.c, out, n), 0);
	HAS(&sub, "failed=1");
	tc_fini(&sub);
	for (size_t i = 0; i < n; i++) {
		free((char *) out[i].result);
	}
	free(out);
	tc_fini(&root);
	pj_processor_unload(&p);
	ck_assert_int_eq(pj_plugin_loaded(), 0);
}
END_TEST

START_TEST(plugin_wordcount_file_standalone)
{
	struct pj_processor_config c;
	struct tctx                t;
	char                       f[300], params[320];

	setup_tmp();
	conf(&c);
	snprintf(f, sizeof(f), "%s/in.txt", tmp);
	tp_write(f, "Rose is a rose is a rose.\n");
	snprintf(params, sizeof(params), "file:%s", f);
	tc_init(&t, "STANDALONE");
	t.c.instance_params = params;
	ck_assert_int_eq(run(&c, "EXTERNAL", "wordcount", &t), 1);
	HAS(&t, "words=7 distinct=3 chunks=1 failed=0 top: rose=3, a=2, is=2");
	tc_fini(&t);
	tc_init(&t, "STANDALONE");
	t.c.job_params = "file:/nonexistent/x";
	ck_assert_int_eq(run(&c, "EXTERNAL", "wordcount", &t), 0);
	HAS(&t, "cannot open /nonexistent/x");
	tc_fini(&t);
	load_fails(&c, "EXTERNAL", "wordcount:chunk=1", "bad config");
	rm_rf(tmp);
}
END_TEST

START_TEST(plugin_broadcast)
{
	struct pj_processor_config c;
	struct pj_processor        p;
	struct tctx                t;
	struct pj_task_outcome     r[3];
	char                       f[300], params[320], err[512], line[512];
	FILE                      *fp;
	int                        lines = 0;

	setup_tmp();
	conf(&c);
	snprintf(f, sizeof(f), "%s/hello.txt", tmp);
	snprintf(params, sizeof(params), "file:%s", f);
	ck_assert_msg(pj_processor_load(&c, "EXTERNAL", "broadcast_hello:hi",
	                  &p, err, sizeof(err))
	        == 0,
	    "%s", err);
	tc_init(&t, "BROADCAST");
	ck_assert_int_eq(p.ops->pre_process(p.state, &t.c), 1);
	HAS(&t, "pre_process on ");
	tc_fini(&t);
	for (int i = 0; i < 3; i++) { /* three "nodes" */
		tc_init(&t, "BROADCAST");
		t.c.job_params = params;
		t.c.task_name  = PJ_TASK_BROADCAST;
		ck_assert_int_eq(p.ops->process(p.state, &t.c), 1);
		HAS(&t, "hi from ");
		r[i].task_id = "x";
		r[i].success = 1;
		r[i].result  = strdup(tc_result(&t));
		tc_fini(&t);
	}
	fp = fopen(f, "r");
	ck_assert_ptr_nonnull(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		ck_assert_msg(strncmp(line, "hi from ", 8) == 0, "%s", line);
		lines++;
	}
	fclose(fp);
	ck_assert_int_eq(lines, 3);
	tc_init(&t, "BROADCAST");
	ck_assert_int_eq(p.ops->post_process(p.state, &t.c, r, 3), 1);
	HAS(&t, "broadcast: 3 nodes, 0 failed: hi from ");
	tc_fini(&t);
	r[2].success = 0;
	tc_init(&t, "BROADCAST");
	ck_assert_int_eq(p.ops->post_process(p.state, &t.c, r, 3), 0);
	HAS(&t, "1 failed");
	tc_fini(&t);
	for (int i = 0; i < 3; i++) {
		free((char *) r[i].result);
	}
	pj_processor_unload(&p);
	rm_rf(tmp);
}
END_TEST

START_TEST(plugin_bad)
{
	struct pj_processor_config c;
	char                       tdir[300];
	const char                *bin = getenv("PJ_TEST_BIN");

	conf(&c);
	load_fails(&c, "EXTERNAL", "missing", "plugin \"missing\" not found");
	load_fails(&c, "EXTERNAL", "../t/plugins/badabi", "may not contain");
	load_fails(&c, "EXTERNAL", "a..b", "may not contain");
	load_fails(&c, "EXTERNAL", "", "1..100 characters");
	load_fails(&c, "EXTERNAL", "x y", "refused");
	snprintf(
	    tdir, sizeof(tdir), "%s/plugins", bin != NULL ? bin : "build/t");
	c.plugin_dir = tdir;
	load_fails(&c, "EXTERNAL", "nosym",
	    "does not export the symbol "
	    "pj_processor_v1");
	load_fails(&c, "EXTERNAL", "badabi", "has ABI 999 but this worker");
	load_fails(
	    &c, "EXTERNAL", "refuse:no", "refuse: config must be \"ok\"");
	{
		struct tctx t;

		tc_init(&t, "STANDALONE");
		ck_assert_int_eq(run(&c, "EXTERNAL", "refuse:ok", &t), 1);
		HAS(&t, "refuse: ran");
		tc_fini(&t);
	}
	c.plugin_dir = NULL;
	load_fails(&c, "EXTERNAL", "wordcount", "no plugin directory");
	ck_assert_int_eq(pj_plugin_loaded(), 0);
}
END_TEST

static void *
load_loop(void *arg)
{
	const struct pj_processor_config *c = arg;

	for (int i = 0; i < 50; i++) {
		struct pj_processor p;
		char                err[256];

		if (pj_processor_load(c, "EXTERNAL",
		        i % 2 ? "wordcount" : "broadcast_hello", &p, err,
		        sizeof(err))
		    != 0) {
			return (void *) 1;
		}
		pj_processor_unload(&p);
	}
	return NULL;
}

START_TEST(plugin_cache_refcount)
{
	struct pj_processor_config c;
	struct pj_processor        a, b;
	char                       err[256];
	pthread_t                  th[4];

	conf(&c);
	ck_assert_int_eq(pj_processor_load(&c, "EXTERNAL", "wordcount", &a,
	                     err, sizeof(err)),
	    0);
	ck_assert_int_eq(pj_processor_load(&c, "EXTERNAL", "wordcount:top=3",
	                     &b, err, sizeof(err)),
	    0);
	ck_assert_ptr_eq(a.handle, b.handle);
	ck_assert_ptr_ne(a.state, b.state);
	ck_assert_int_eq(pj_plugin_loaded(), 1);
	pj_processor_unload(&a);
	ck_assert_int_eq(pj_plugin_loaded(), 1);
	pj_processor_unload(&b);
	ck_assert_int_eq(pj_plugin_loaded(), 0);
	for (int i = 0; i < 4; i++) {
		pthread_create(&th[i], NULL, load_loop, &c);
	}
	for (int i = 0; i < 4; i++) {
		void *rv;

		pthread_join(th[i], &rv);
		ck_assert_ptr_null(rv);
	}
	ck_assert_int_eq(pj_plugin_loaded(), 0);
}
END_TEST

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
