/*
 * proc_script.c - shell and python script processors (PowerJob's
 * AbstractScriptProcessor, powerjob-design.md §7.3).
 *
 * A task: the script (inline text, or an http/https/ftp URL fetched by
 * worker/download.c) is written to a file in the instance's folder and
 * run as `<interpreter> <file> [params]` with posix_spawn (never through
 * a shell command line), in a session of its own (POSIX_SPAWN_SETSID, so
 * its process group id is its pid), stdin /dev/null, the task's ids and
 * parameters in PJ_* environment variables (docs/processors.md).
 *
 * Design notes (threads): process() runs on a pool thread and owns every
 * resource of its run (pipes, child, buffers); several tasks run at once
 * with nothing shared but the read-only state.  One loop polls stdout
 * and stderr together, so a script filling one pipe never blocks on the
 * other; lines go to ctx->log (stdout INFO, stderr WARN) and the first
 * max_output_bytes/2 bytes of each stream into the result, the rest only
 * counted, so a script writing megabytes costs bounded memory.  The loop
 * wakes every PJ_SCRIPT_POLL_MS to check ctx->stopping and the deadline:
 * then the whole process group gets SIGTERM, and SIGKILL kill_grace_ms
 * later.  Once the script itself exits, what it left behind in its group
 * gets PJ_SCRIPT_DRAIN_MS to close the pipes before it is killed too.
 * Children are reaped with waitpid on their own pid only.
 */
#include "worker/proc_script.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/ar.h"
#include "worker/download.h"

extern char **environ;

#define PJ_SCRIPT_POLL_MS 50
#define PJ_SCRIPT_DRAIN_MS 500
#define PJ_SCRIPT_LOG_LINE_MAX 4096 /* longer lines are logged in pieces */
/* one environment string may not exceed MAX_ARG_STRLEN (128 KiB) */
#define PJ_SCRIPT_ENV_VALUE_MAX (120 * 1024)
#define PJ_SCRIPT_SHELL_PATH "/bin/sh"
#define PJ_SCRIPT_DEFAULT_DOWNLOAD (16 << 20)
#define PJ_SCRIPT_DEFAULT_DOWNLOAD_MS 30000

struct sstate {
	enum pj_script_kind kind;
	char               *script; /* NULL: the task's params */
	char               *data_dir, *ca_file, *python;
	int64_t             max_download, download_timeout_ms;
	int64_t             max_output, kill_grace_ms;
};

int
pj_script_open(const struct pj_processor_config *c, enum pj_script_kind kind,
    const char *script, void **state, char *err, size_t errlen)
{
	struct sstate *st;

	if (script != NULL && script[0] == '\0') {
		snprintf(err, errlen,
		    "%s processor: processor info is empty; give the script "
		    "text or its http/https/ftp URL",
		    kind == PJ_SCRIPT_SHELL ? "SHELL" : "PYTHON");
		return -1;
	}
	st           = ar_xcalloc(1, sizeof(*st));
	st->kind     = kind;
	st->script   = script != NULL ? ar_xstrdup(script) : NULL;
	st->data_dir = ar_xstrdup(
	    c->data_dir != NULL && c->data_dir[0] != '\0' ? c->data_dir : ".");
	st->ca_file = c->ca_file != NULL && c->ca_file[0] != '\0'
	    ? ar_xstrdup(c->ca_file)
	    : NULL;
	st->python  = ar_xstrdup(c->python_path != NULL && c->python_path[0]
	         ? c->python_path
	         : "/usr/bin/python3");
	/* a zeroed config gets pj_processor_config_init's limits */
	st->max_download        = c->max_download_bytes > 0
	           ? c->max_download_bytes
	           : PJ_SCRIPT_DEFAULT_DOWNLOAD;
	st->download_timeout_ms = c->download_timeout_ms > 0
	    ? c->download_timeout_ms
	    : PJ_SCRIPT_DEFAULT_DOWNLOAD_MS;
	st->max_output = c->max_output_bytes > 0 ? c->max_output_bytes : 4096;
	st->kill_grace_ms = c->kill_grace_ms > 0 ? c->kill_grace_ms : 2000;
	*state            = st;
	return 0;
}

static void
script_fini(void *state)
{
	struct sstate *st = state;

	if (st == NULL) {
		return;
	}
	free(st->script);
	free(st->data_dir);
	free(st->ca_file);
	free(st->python);
	free(st);
}

/* ---- one output stream ---------------------------------------------- */

struct stream {
	int     fd;
	int     level;     /* log level of its lines */
	char   *kept;      /* the first `cap` bytes, NULs replaced */
	size_t  kept_size; /* allocated */
	size_t  kept_len, cap;
	int64_t total;
	char    line[PJ_SCRIPT_LOG_LINE_MAX + 1];
	size_t  line_len;
};

static void
stream_flush_line(pj_task_ctx *ctx, struct stream *s)
{
	if (s->line_len > 0) {
		s->line[s->line_len] = '\0';
		ctx->log(ctx, s->level, "%s", s->line);
		s->line_len = 0;
	}
}

static void
stream_feed(pj_task_ctx *ctx, struct stream *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i] == '\0' ? '?' : p[i];

		if (s->kept_len < s->cap) {
			if (s->kept_len == s->kept_size) { /* grow as used */
				s->kept_size
				    = s->kept_size ? s->kept_size * 2 : 4096;
				s->kept_size = s->kept_size < s->cap
				    ? s->kept_size
				    : s->cap;
				s->kept = ar_xrealloc(s->kept, s->kept_size);
			}
			s->kept[s->kept_len++] = c;
		}
		if (c == '\n') {
			stream_flush_line(ctx, s);
		} else if (c != '\r') {
			s->line[s->line_len++] = c;
			if (s->line_len == PJ_SCRIPT_LOG_LINE_MAX) {
				stream_flush_line(ctx, s);
			}
		}
	}
	s->total += (int64_t) n;
}

/* reads what is there; 1 at EOF (or error) */
static int
stream_read(pj_task_ctx *ctx, struct stream *s)
{
	char    buf[16384];
	ssize_t n = read(s->fd, buf, sizeof(buf));

	if (n > 0) {
		stream_feed(ctx, s, buf, (size_t) n);
		return 0;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
		return 0;
	}
	stream_flush_line(ctx, s);
	close(s->fd);
	s->fd = -1;
	return 1;
}

/* the kept text plus a note of what was dropped; free it */
static char *
stream_text(const struct stream *s)
{
	size_t len = s->kept_len + 64;
	char  *t   = ar_xmalloc(len);

	if (s->kept_len > 0) {
		memcpy(t, s->kept, s->kept_len);
	}
	t[s->kept_len] = '\0';
	if (s->total > (int64_t) s->kept_len) {
		snprintf(t + s->kept_len, 64, "...[%lld more bytes]",
		    (long long) (s->total - (int64_t) s->kept_len));
	}
	return t;
}

/* ---- files ------------------------------------------------------------ */

static int
mkdirs(const char *path)
{
	char   p[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(p, path, n + 1);
	for (char *q = p + 1; *q != '\0'; q++) {
		if (*q == '/') {
			*q = '\0';
			if (mkdir(p, 0755) != 0 && errno != EEXIST) {
				return -1;
			}
			*q = '/';
		}
	}
	return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static int
write_file(const char *path, const char *text, char *err, size_t errlen)
{
	char   tmp[2400];
	size_t len = strlen(text), off = 0;
	int    fd;

	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0) {
		snprintf(err, errlen,
		    "cannot create the script file %.900s: %s", tmp,
		    strerror(errno));
		return -1;
	}
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			snprintf(err, errlen,
			    "cannot write the script file %.900s: %s", tmp,
			    strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t) w;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen,
		    "cannot write the script file %.900s: %s", path,
		    strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* ---- the child -------------------------------------------------------- */

struct envb {
	char **v;
	size_t n, cap;
};

static void
env_add(struct envb *e, char *kv)
{
	if (e->n + 2 > e->cap) {
		e->cap = e->cap ? e->cap * 2 : 64;
		e->v   = ar_xrealloc(e->v, e->cap * sizeof(*e->v));
	}
	e->v[e->n++] = kv;
	e->v[e->n]   = NULL;
}

static void env_addf(struct envb *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
env_addf(struct envb *e, const char *fmt, ...)
{
	va_list ap;
	char   *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		abort(); /* out of memory, as ar_xmalloc */
	}
	va_end(ap);
	env_add(e, s);
}

static void
env_free(struct envb *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i]);
	}
	free(e->v);
}

/* the worker's environment without PJ_* (ours replace them) plus the
 * task's variables (documented in docs/processors.md) */
static void
env_build(
    struct envb *e, const struct sstate *st, pj_task_ctx *ctx, const char *dir)
{
	for (char **p = environ; p != NULL && *p != NULL; p++) {
		if (strncmp(*p, "PJ_", 3) != 0) {
			env_add(e, ar_xstrdup(*p));
		}
	}
	env_addf(e, "PJ_JOB_ID=%lld", (long long) ctx->job_id);
	env_addf(e, "PJ_INSTANCE_ID=%lld", (long long) ctx->instance_id);
	env_addf(
	    e, "PJ_SUB_INSTANCE_ID=%lld", (long long) ctx->sub_instance_id);
	env_addf(e, "PJ_WF_INSTANCE_ID=%lld", (long long) ctx->wf_instance_id);
	env_addf(e, "PJ_TASK_ID=%s", ctx->task_id ? ctx->task_id : "");
	env_addf(e, "PJ_TASK_NAME=%s", ctx->task_name ? ctx->task_name : "");
	env_addf(e, "PJ_EXECUTE_TYPE=%s",
	    ctx->execute_type ? ctx->execute_type : "");
	env_addf(e, "PJ_MAX_RETRY_TIMES=%d", ctx->max_retry_times);
	env_addf(e, "PJ_CURRENT_RETRY_TIMES=%d", ctx->current_retry_times);
	env_addf(
	    e, "PJ_JOB_PARAMS=%s", ctx->job_params ? ctx->job_params : "");
	env_addf(e, "PJ_INSTANCE_PARAMS=%s",
	    ctx->instance_params ? ctx->instance_params : "");
	env_addf(e, "PJ_WORKDIR=%s", dir);
	if (st->kind == PJ_SCRIPT_PYTHON) {
		env_add(e, ar_xstrdup("PYTHONUNBUFFERED=1")); /* lines live */
	}
}

static int64_t
now_ms(void)
{
	return ar_mono_ms();
}

struct run {
	pid_t pid;
	int   status, reaped;
	int   why; /* 0 finished, 1 deadline, 2 stopped */
	int   killed_after_exit;
	int   unknown; /* reaped by someone else: no status */
};

static void
reap(struct run *r, int block)
{
	pid_t w;

	if (r->reaped) {
		return;
	}
	do {
		w = waitpid(r->pid, &r->status, block ? 0 : WNOHANG);
	} while (w < 0 && errno == EINTR);
	if (w == r->pid) {
		r->reaped = 1;
	} else if (w < 0) { /* ECHILD: someone else reaped it */
		r->reaped  = 1;
		r->unknown = 1; /* reported as a failure */
	}
}

/* Runs argv; 0 with r filled, or -1 with err set (nothing started). */
static int
spawn_and_wait(pj_task_ctx *ctx, const struct sstate *st, char *const argv[],
    const char *dir, struct run *r, struct stream *out, struct stream *errs,
    char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t          at;
	struct envb                env = { 0 };
	sigset_t                   none, all;
	int                        po[2] = { -1, -1 }, pe[2] = { -1, -1 }, rc;
	int64_t                    term_at = 0, exit_at = 0;

	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
		snprintf(
		    err, errlen, "cannot create pipes: %s", strerror(errno));
		if (po[0] >= 0) {
			close(po[0]);
			close(po[1]);
		}
		return -1;
	}
	env_build(&env, st, ctx, dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	posix_spawn_file_actions_addchdir_np(&fa, dir);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at,
	    POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK
	        | POSIX_SPAWN_SETSIGDEF);
	memset(r, 0, sizeof(*r));
	rc = posix_spawn(&r->pid, argv[0], &fa, &at, argv, env.v);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	env_free(&env);
	close(po[1]);
	close(pe[1]);
	if (rc != 0) {
		snprintf(
		    err, errlen, "cannot start %s: %s", argv[0], strerror(rc));
		close(po[0]);
		close(pe[0]);
		return -1;
	}
	out->fd  = po[0];
	errs->fd = pe[0];
	ctx->log(ctx, PJ_LOG_INFO, "script: started %s %s (pid %d) in %s",
	    argv[0], argv[1], (int) r->pid, dir);

	for (;;) {
		struct pollfd pf[2];
		int           n = 0;
		int64_t       now;

		if (out->fd >= 0) {
			pf[n++] = (struct pollfd) { .fd = out->fd,
				.events                 = POLLIN };
		}
		if (errs->fd >= 0) {
			pf[n++] = (struct pollfd) { .fd = errs->fd,
				.events                 = POLLIN };
		}
		reap(r, 0);
		if (n == 0 && r->reaped) {
			break;
		}
		now = now_ms();
		if (term_at == 0 && !r->reaped) {
			if (ctx->stopping(ctx)) {
				r->why = 2;
			} else if (ctx->deadline_ms != 0
			    && now >= ctx->deadline_ms) {
				r->why = 1;
			}
			if (r->why != 0) {
				ctx->log(ctx, PJ_LOG_WARN,
				    "script: %s; SIGTERM to process group %d",
				    r->why == 1 ? "past the task's deadline"
				                : "the instance is stopping",
				    (int) r->pid);
				kill(-r->pid, SIGTERM);
				term_at = now;
			}
		} else if (term_at != 0 && !r->reaped
		    && now - term_at >= st->kill_grace_ms) {
			ctx->log(ctx, PJ_LOG_WARN,
			    "script: still running %lld ms after SIGTERM; "
			    "SIGKILL to "
			    "process group %d",
			    (long long) st->kill_grace_ms, (int) r->pid);
			kill(-r->pid, SIGKILL);
			term_at
			    = INT64_MAX / 2; /* killed; wait for the exit */
		}
		if (r->reaped && exit_at == 0) {
			exit_at = now;
		}
		if (r->reaped && n > 0
		    && now - exit_at >= PJ_SCRIPT_DRAIN_MS) {
			/* the script is gone; its background children still
			 * hold the pipes: they belong to the task, end them */
			kill(-r->pid, SIGKILL);
			r->killed_after_exit = 1;
			for (int i = 0; i < 2; i++) {
				struct stream *s = i == 0 ? out : errs;

				if (s->fd >= 0) {
					stream_flush_line(ctx, s);
					close(s->fd);
					s->fd = -1;
				}
			}
			break;
		}
		if (n == 0) { /* pipes closed, script still running */
			struct timespec ts
			    = { 0, PJ_SCRIPT_POLL_MS * 1000000L };

			nanosleep(&ts, NULL);
			continue;
		}
		if (poll(pf, (nfds_t) n, PJ_SCRIPT_POLL_MS) <= 0) {
			continue;
		}
		for (int i = 0; i < n; i++) {
			if (pf[i].revents != 0) {
				stream_read(
				    ctx, pf[i].fd == out->fd ? out : errs);
			}
		}
	}
	if (r->why != 0) { /* leftovers of the group, if any */
		kill(-r->pid, SIGKILL);
	}
	return 0;
}

/* ---- the processor ------------------------------------------------------ */

static const char *
task_params(pj_task_ctx *ctx)
{
	if (ctx->instance_params != NULL && ctx->instance_params[0] != '\0') {
		return ctx->instance_params;
	}
	return ctx->job_params != NULL ? ctx->job_params : "";
}

static void
sanitize(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; src != NULL && src[i] != '\0' && i + 1 < len; i++) {
		char c = src[i];

		dst[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		        || (c >= '0' && c <= '9') || c == '.' || c == '-'
		    ? c
		    : '_';
	}
	dst[i] = '\0';
}

static int
script_process(void *state, pj_task_ctx *ctx)
{
	const struct sstate *st = state;
	const char *kind = st->kind == PJ_SCRIPT_SHELL ? "shell" : "python";
	const char *text = st->script != NULL ? st->script : task_params(ctx);
	const char *arg  = st->script != NULL ? task_params(ctx) : "";
	char        dir[2048], path[2300], tid[128], err[1024];
	char       *argv[4], *o = NULL, *e = NULL;
	struct stream out, errs;
	struct run    r;
	int           ok = 0, made_dir = 0;
	int64_t       t0;

	while (
	    *text == ' ' || *text == '\t' || *text == '\n' || *text == '\r') {
		text++;
	}
	if (text[0] == '\0') {
		ctx->set_result(ctx,
		    "%s processor: no script: the %s is empty; give the "
		    "script "
		    "text or an http/https/ftp URL",
		    kind,
		    st->script != NULL ? "processor info" : "parameters");
		return 0;
	}
	if (strlen(ctx->job_params ? ctx->job_params : "")
	        > PJ_SCRIPT_ENV_VALUE_MAX
	    || strlen(ctx->instance_params ? ctx->instance_params : "")
	        > PJ_SCRIPT_ENV_VALUE_MAX) {
		ctx->set_result(ctx,
		    "%s processor: job or instance parameters longer than %d "
		    "bytes cannot be passed in the environment; shorten them "
		    "or "
		    "pass a file name",
		    kind, PJ_SCRIPT_ENV_VALUE_MAX);
		return 0;
	}
	if (ctx->workspace != NULL && ctx->workspace[0] != '\0') {
		snprintf(dir, sizeof(dir), "%s", ctx->workspace);
	} else {
		snprintf(dir, sizeof(dir), "%s/scripts/%lld", st->data_dir,
		    (long long) ctx->instance_id);
		made_dir = 1;
	}
	sanitize(tid, sizeof(tid), ctx->task_id);
	snprintf(path, sizeof(path), "%s/%s_%lld_%s_%d.%s", dir, kind,
	    (long long) ctx->instance_id, tid, ctx->current_retry_times,
	    st->kind == PJ_SCRIPT_SHELL ? "sh" : "py");

	/* the folder may vanish under us when another task of the
	 * instance removes it as it ends: try again */
	for (int tries = 0;; tries++) {
		int rc, is_url = pj_url_scheme_ok(text);

		err[0] = '\0';
		if (mkdirs(dir) != 0) {
			snprintf(err, sizeof(err),
			    "cannot create the folder %.900s: %s", dir,
			    strerror(errno));
			rc = -1;
		} else if (is_url) {
			ctx->log(ctx, PJ_LOG_INFO,
			    "script: downloading the %s script", kind);
			rc = pj_download(ctx, text, path, st->max_download,
			    st->download_timeout_ms, st->ca_file, err,
			    sizeof(err));
		} else {
			rc = write_file(path, text, err, sizeof(err));
		}
		if (rc == 0) {
			break;
		}
		/* retried: the folder vanished before the file was made */
		if (rc == -1 && is_url) {
			errno = 0;
		}
		if (errno != ENOENT || tries == 2) {
			ctx->log(ctx, PJ_LOG_ERROR, "script: %s", err);
			ctx->set_result(ctx, "%s processor: %s", kind, err);
			goto done;
		}
	}
	chmod(path, 0700);

	memset(&out, 0, sizeof(out));
	memset(&errs, 0, sizeof(errs));
	out.level  = PJ_LOG_INFO;
	errs.level = PJ_LOG_WARN;
	out.cap = errs.cap = (size_t) (st->max_output / 2);
	argv[0]
	    = st->kind == PJ_SCRIPT_SHELL ? PJ_SCRIPT_SHELL_PATH : st->python;
	argv[1] = path;
	argv[2] = arg[0] != '\0' ? (char *) arg : NULL;
	argv[3] = NULL;
	t0      = now_ms();
	if (spawn_and_wait(
	        ctx, st, argv, dir, &r, &out, &errs, err, sizeof(err))
	    != 0) {
		ctx->log(ctx, PJ_LOG_ERROR, "script: %s", err);
		ctx->set_result(ctx, "%s processor: %s", kind, err);
		free(out.kept);
		free(errs.kept);
		goto done;
	}
	o = stream_text(&out);
	e = stream_text(&errs);
	free(out.kept);
	free(errs.kept);
	if (r.why != 0) {
		ctx->set_result(ctx,
		    "%s script %s; its process group was killed; [INPUT]: "
		    "%s;[ERROR]: %s",
		    kind,
		    r.why == 1 ? "ran past the task's deadline"
		               : "stopped with the instance",
		    o, e);
	} else if (r.unknown) {
		ctx->set_result(ctx,
		    "%s script: exit status unknown (reaped elsewhere: is "
		    "SIGCHLD "
		    "ignored in the worker?); [INPUT]: %s;[ERROR]: %s",
		    kind, o, e);
	} else if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) {
		ok = 1;
		ctx->set_result(ctx, "[INPUT]: %s;[ERROR]: %s", o, e);
	} else if (WIFEXITED(r.status)) {
		ctx->set_result(ctx,
		    "%s script failed: exit code %d; [INPUT]: %s;[ERROR]: %s",
		    kind, WEXITSTATUS(r.status), o, e);
	} else if (WIFSIGNALED(r.status)) {
		ctx->set_result(ctx,
		    "%s script failed: killed by signal %d (SIG%s); [INPUT]: "
		    "%s;[ERROR]: %s",
		    kind, WTERMSIG(r.status),
		    sigabbrev_np(WTERMSIG(r.status))
		        ? sigabbrev_np(WTERMSIG(r.status))
		        : "?",
		    o, e);
	} else {
		ctx->set_result(ctx,
		    "%s script failed: exit status unknown; [INPUT]: "
		    "%s;[ERROR]: "
		    "%s",
		    kind, o, e);
	}
	ctx->log(ctx, ok ? PJ_LOG_INFO : PJ_LOG_WARN,
	    "script: %s after %lld ms (status 0x%x, stdout %lld bytes, stderr "
	    "%lld bytes)%s",
	    ok ? "succeeded" : "failed", (long long) (now_ms() - t0), r.status,
	    (long long) out.total, (long long) errs.total,
	    r.killed_after_exit ? "; background processes it left were killed"
	                        : "");
done:
	free(o);
	free(e);
	unlink(path);
	if (made_dir) {
		rmdir(dir); /* fails while other tasks still use it: fine */
	}
	return ok;
}

const struct pj_processor_ops pj_shell_processor = {
	.abi     = PJ_PROCESSOR_ABI,
	.name    = "shell",
	.fini    = script_fini,
	.process = script_process,
};

const struct pj_processor_ops pj_python_processor = {
	.abi     = PJ_PROCESSOR_ABI,
	.name    = "python",
	.fini    = script_fini,
	.process = script_process,
};
