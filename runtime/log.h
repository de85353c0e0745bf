/*
 * log.h - one line per significant event, for operators:
 *   2026-11-25T21:40:01.123Z WARN  remote  system=pj peer=127.0.0.1:7000 ...
 * Level from the environment variable AR_LOG (debug, info, warn, error;
 * default info).  Thread-safe: one write(2) per line.
 */
#ifndef AR_LOG_H
#define AR_LOG_H

enum ar_log_level { AR_LOG_DEBUG, AR_LOG_INFO, AR_LOG_WARN, AR_LOG_ERROR };

void ar_log(int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ar_log_enabled(int level);

#endif
