/*
 * log.c - operator log lines on stderr.  Each line is formatted into a local
 * buffer and written with one write(2), so lines from different threads do
 * not interleave.
 */
#include "runtime/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static int min_level = -1;

static int
level_from_env(void)
{
	const char *e = getenv("AR_LOG");
	if (e == NULL) {
		return (AR_LOG_INFO);
	}
	if (strcasecmp(e, "debug") == 0) {
		return (AR_LOG_DEBUG);
	}
	if (strcasecmp(e, "warn") == 0) {
		return (AR_LOG_WARN);
	}
	if (strcasecmp(e, "error") == 0) {
		return (AR_LOG_ERROR);
	}
	return (AR_LOG_INFO);
}

int
ar_log_enabled(int level)
{
	if (min_level < 0) {
		min_level = level_from_env();
	}
	return (level >= min_level);
}

void
ar_log(int level, const char *component, const char *fmt, ...)
{
	static const char *names[] = { "DEBUG", "INFO ", "WARN ", "ERROR" };
	char               line[1024];
	struct timespec    ts;
	struct tm          tm;
	size_t             n;
	va_list            ap;

	if (!ar_log_enabled(level)) {
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t) snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %-8s ",
	    ts.tv_nsec / 1000000, names[level & 3], component);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (n > sizeof(line) - 2) {
		n = sizeof(line) - 2;
	}
	line[n++] = '\n';
	(void) !write(STDERR_FILENO, line, n);
}
