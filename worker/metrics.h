/*
 * worker/metrics.h - the system metrics a worker's heartbeat carries
 * (powerjob-design.md §6.3, PowerJob's SystemMetrics): CPU count and load
 * average, memory and disk in GB, and PowerJob's health score.
 *
 * Read from /proc/loadavg, /proc/meminfo and statvfs(2) of the data
 * directory.  The parsers take the file's text so the tests can feed
 * them anything; bad text gives "unknown" (load -1, sizes 0), never a
 * crash.  No state, no threads.
 */
#ifndef PJ_WORKER_METRICS_H
#define PJ_WORKER_METRICS_H

#include <stddef.h>

struct pj_sys_metrics {
	int    cpu_processors;
	double cpu_load;   /* 1-minute load average; negative = unknown */
	double mem_used;   /* GB: MemTotal - MemAvailable */
	double mem_max;    /* GB: MemTotal */
	double disk_used;  /* GB, of the data directory's file system */
	double disk_total; /* GB */
	int    score;      /* pj_metrics_score */
};

/* The first field of /proc/loadavg text; -1 when it does not parse. */
double pj_metrics_parse_loadavg(const char *text);
/* MemTotal and MemAvailable (kB in the text) as GB; 0 and -1 when
 * MemTotal is missing (MemAvailable missing: MemFree + Buffers + Cached).
 */
int pj_metrics_parse_meminfo(
    const char *text, double *total_gb, double *avail_gb);
/* PowerJob's score: memScore = (max - used) * 2 (GB); cpuScore = cpus -
 * load, or 1 when that exceeds cpus (load unknown); (int) of the sum. */
int pj_metrics_score(const struct pj_sys_metrics *m);
/* Reads everything (dir: the file system whose disk is reported; NULL =
 * "/").  Fields it cannot read stay unknown. */
void pj_metrics_read(const char *dir, struct pj_sys_metrics *m);

#endif
