/*
 * procutil.h - helpers of t/processor_test.c: a task context that records
 * what a processor does with it (log lines, map calls, the result), and
 * real helper processes (python servers, openssl) on 127.0.0.1.
 *
 * Design notes (threads): a test ctx may be used by a processor on one
 * thread while the test flips `stop` from another; everything a processor
 * calls into is guarded by the ctx's mutex, `stop` is atomic.
 */
#ifndef PJ_T_PROCUTIL_H
#define PJ_T_PROCUTIL_H

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/ar.h"
#include "worker/processor.h"

#define PY "/usr/bin/python3"
#define TC_LOG_KEEP (64 * 1024)

struct tsub {
	char  *p;
	size_t len;
};

/* pj_task_ctx first: the callbacks cast their ctx back */
struct tctx {
	pj_task_ctx     c;
	pthread_mutex_t mu;
	char           *result;
	int             n_log, n_level[5];
	char            log[TC_LOG_KEEP]; /* the first lines, "L|text\n" */
	size_t          log_len;
	atomic_int      stop;
	char            map_name[64];
	struct tsub    *subs;
	size_t          nsubs;
	int             map_calls;
};

static void tc_log(pj_task_ctx *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
tc_log(pj_task_ctx *ctx, int level, const char *fmt, ...)
{
	struct tctx *t = (struct tctx *) ctx;
	char         line[8192];
	va_list      ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&t->mu);
	t->n_log++;
	if (level >= PJ_LOG_DEBUG && level <= PJ_LOG_ERROR) {
		t->n_level[level]++;
	}
	if (t->log_len + strlen(line) + 4 < sizeof(t->log)) {
		t->log_len += (size_t) snprintf(t->log + t->log_len,
		    sizeof(t->log) - t->log_len, "%d|%s\n", level, line);
	}
	pthread_mutex_unlock(&t->mu);
}

static int
tc_map(pj_task_ctx *ctx, const char *name, const struct pj_subtask *subs,
    size_t n)
{
	struct tctx *t = (struct tctx *) ctx;

	pthread_mutex_lock(&t->mu);
	snprintf(t->map_name, sizeof(t->map_name), "%s", name);
	t->map_calls++;
	t->subs = realloc(t->subs, (t->nsubs + n) * sizeof(*t->subs));
	for (size_t i = 0; i < n; i++) {
		struct tsub *s = &t->subs[t->nsubs++];

		s->p = malloc(subs[i].len + 1);
		memcpy(s->p, subs[i].content, subs[i].len);
		s->p[subs[i].len] = '\0';
		s->len            = subs[i].len;
	}
	pthread_mutex_unlock(&t->mu);
	return 0;
}

static int
tc_stopping(pj_task_ctx *ctx)
{
	return atomic_load(&((struct tctx *) ctx)->stop);
}

static void tc_set_result(pj_task_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
tc_set_result(pj_task_ctx *ctx, const char *fmt, ...)
{
	struct tctx *t = (struct tctx *) ctx;
	char        *s = NULL;
	va_list      ap;

	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&s, fmt, ap), 0);
	va_end(ap);
	pthread_mutex_lock(&t->mu);
	free(t->result);
	t->result = s;
	pthread_mutex_unlock(&t->mu);
}

static void
tc_init(struct tctx *t, const char *execute_type)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->mu, NULL);
	t->c.abi             = PJ_PROCESSOR_ABI;
	t->c.job_id          = 7;
	t->c.instance_id     = 8;
	t->c.sub_instance_id = 8;
	t->c.task_id         = "0";
	t->c.task_name       = PJ_TASK_ROOT;
	t->c.job_params      = "";
	t->c.instance_params = "";
	t->c.processor_info  = "";
	t->c.execute_type    = execute_type;
	t->c.log             = tc_log;
	t->c.map             = tc_map;
	t->c.stopping        = tc_stopping;
	t->c.set_result      = tc_set_result;
	atomic_init(&t->stop, 0);
}

static void
tc_fini(struct tctx *t)
{
	for (size_t i = 0; i < t->nsubs; i++) {
		free(t->subs[i].p);
	}
	free(t->subs);
	free(t->result);
	pthread_mutex_destroy(&t->mu);
}

static const char *
tc_result(struct tctx *t)
{
	return t->result != NULL ? t->result : "(no result)";
}

/* ---- helper processes ------------------------------------------------- */

/* forks argv (stdout/stderr to /dev/null), dying with the test runner */
static pid_t
tp_spawn(char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* runs argv to its end; its exit status */
static int
tp_run(char *const argv[])
{
	pid_t pid = tp_spawn(argv);
	int   st  = -1;

	if (pid > 0) {
		waitpid(pid, &st, 0);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
tp_stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static int
tp_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t          l = sizeof(a);
	int                s = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(s, (struct sockaddr *) &a, sizeof(a));
	getsockname(s, (struct sockaddr *) &a, &l);
	port = ntohs(a.sin_port);
	close(s);
	return port;
}

/* 1 once something accepts on 127.0.0.1:port (within ms) */
static int
tp_wait_port(int port, int ms)
{
	int64_t dl = ar_mono_ms() + ms;

	while (ar_mono_ms() < dl) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		int                s = socket(AF_INET, SOCK_STREAM, 0), rc;

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port        = htons((uint16_t) port);
		rc = connect(s, (struct sockaddr *) &a, sizeof(a));
		close(s);
		if (rc == 0) {
			return 1;
		}
		usleep(20000);
	}
	return 0;
}

static void
tp_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

/* 1 while pid runs (a zombie counts as gone) */
static int
tp_alive(pid_t pid)
{
	char  path[64], buf[512], *p;
	FILE *f;
	int   alive = 0;

	if (kill(pid, 0) != 0) {
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	if ((f = fopen(path, "r")) == NULL) {
		return 0;
	}
	if (fgets(buf, sizeof(buf), f) != NULL
	    && (p = strrchr(buf, ')')) != NULL) {
		alive = p[2] != 'Z' && p[2] != 'X';
	}
	fclose(f);
	return alive;
}

/* 1 once pid is gone (within ms) */
static int
tp_gone(pid_t pid, int ms)
{
	int64_t dl = ar_mono_ms() + ms;

	while (tp_alive(pid) && ar_mono_ms() < dl) {
		usleep(10000);
	}
	return !tp_alive(pid);
}

#endif
