/*
 * t/spawn.h - starting a child program from a test process that runs
 * threads (an actor system): posix_spawn with file actions and an
 * environment prepared beforehand.
 *
 * Design notes (threads): between fork() and exec() a child of a
 * multi-threaded process may only make async-signal-safe calls.  The
 * suites used to call freopen() and setenv() there; when another thread
 * (the runtime's logger writing a "connection lost" line) held stderr's
 * lock, or an allocator lock, at the moment of the fork, the child waited
 * for it forever and never ran the program: "pj-server did not start"
 * with an empty log, a few times per hundred starts under ASan on a
 * loaded machine.  posix_spawn runs no user code in the child; the
 * redirections and the environment are described before it.
 */
#ifndef PJ_T_SPAWN_H
#define PJ_T_SPAWN_H

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

extern char **environ;

/* How to start the child: its stdout and stderr (a path, truncated;
 * "/dev/null"; or NULL: this process's), or both onto fd (>= 0, then
 * close_fd, if >= 0, is closed in the child: a pipe's read end); env:
 * (name, value) pairs to set, a NULL value removes the name, NULL-ended. */
struct tu_spawn_opts {
	const char        *out, *err;
	int                fd, close_fd;
	const char *const *env;
	int                err_to_out; /* stderr onto the stdout set above */
};

#define TU_SPAWN_OPTS_INIT { NULL, NULL, -1, -1, NULL, 0 }

/* The environment: ours without the names in env, then env's values. */
static inline char **
tu_proc_envp(const char *const *env)
{
	size_t n = 0, k = 0, e = 0;
	while (environ[n] != NULL) {
		n++;
	}
	while (env != NULL && env[e] != NULL) {
		e += 2;
	}
	char **v = calloc(n + e / 2 + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		int drop = 0;
		for (size_t j = 0; j < e && !drop; j += 2) {
			size_t l = strlen(env[j]);
			drop = strncmp(environ[i], env[j], l) == 0
			    && environ[i][l] == '=';
		}
		if (!drop) {
			v[k++] = strdup(environ[i]);
		}
	}
	for (size_t j = 0; j < e; j += 2) {
		if (env[j + 1] != NULL) {
			size_t l = strlen(env[j]) + strlen(env[j + 1]) + 2;
			v[k]     = malloc(l);
			snprintf(v[k++], l, "%s=%s", env[j], env[j + 1]);
		}
	}
	v[k] = NULL;
	return v;
}

/* Starts argv[0] with argv; returns its pid, or -1 (errno set). */
static inline pid_t
tu_proc_spawn(char *const argv[], const struct tu_spawn_opts *o)
{
	posix_spawn_file_actions_t fa;
	pid_t                      pid = -1;
	char                     **envp = tu_proc_envp(o->env);
	int                        rv;
	posix_spawn_file_actions_init(&fa);
	if (o->fd >= 0) {
		posix_spawn_file_actions_adddup2(&fa, o->fd, 1);
		posix_spawn_file_actions_adddup2(&fa, o->fd, 2);
		if (o->close_fd >= 0) {
			posix_spawn_file_actions_addclose(&fa, o->close_fd);
		}
	}
	if (o->out != NULL) {
		posix_spawn_file_actions_addopen(
		    &fa, 1, o->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	}
	if (o->err_to_out) {
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
	} else if (o->err != NULL) {
		posix_spawn_file_actions_addopen(
		    &fa, 2, o->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	}
	rv = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	for (size_t i = 0; envp[i] != NULL; i++) {
		free(envp[i]);
	}
	free(envp);
	if (rv != 0) {
		errno = rv;
		return -1;
	}
	return pid;
}

#endif
