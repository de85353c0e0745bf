/*
 * worker/metrics.c - see metrics.h.
 */
#include "worker/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define KB_PER_GB (1024.0 * 1024.0)
#define B_PER_GB (1024.0 * 1024.0 * 1024.0)

double
pj_metrics_parse_loadavg(const char *text)
{
	char  *end;
	double v;

	if (text == NULL) {
		return -1;
	}
	v = strtod(text, &end);
	if (end == text || v < 0 || v != v) {
		return -1;
	}
	return v;
}

/* the kB value of "Name:   123 kB" in text; -1 when absent */
static double
meminfo_kb(const char *text, const char *name)
{
	size_t      n = strlen(name);
	const char *p = text;

	while (p != NULL && *p) {
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			char  *end;
			double v = strtod(p + n + 1, &end);
			return end == p + n + 1 || v < 0 ? -1 : v;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return -1;
}

int
pj_metrics_parse_meminfo(const char *text, double *total_gb, double *avail_gb)
{
	double total, avail;

	*total_gb = 0;
	*avail_gb = 0;
	if (text == NULL || (total = meminfo_kb(text, "MemTotal")) <= 0) {
		return -1;
	}
	if ((avail = meminfo_kb(text, "MemAvailable")) < 0) {
		double f = meminfo_kb(text, "MemFree");
		double b = meminfo_kb(text, "Buffers");
		double c = meminfo_kb(text, "Cached");
		avail    = (f > 0 ? f : 0) + (b > 0 ? b : 0) + (c > 0 ? c : 0);
	}
	if (avail > total) {
		avail = total;
	}
	*total_gb = total / KB_PER_GB;
	*avail_gb = avail / KB_PER_GB;
	return 0;
}

int
pj_metrics_score(const struct pj_sys_metrics *m)
{
	double mem = (m->mem_max - m->mem_used) * 2;
	double cpu = m->cpu_processors - m->cpu_load;

	if (cpu > m->cpu_processors) { /* load unknown (negative) */
		cpu = 1;
	}
	return (int) (mem + cpu);
}

static int
slurp(const char *path, char *buf, size_t n)
{
	FILE  *f = fopen(path, "r");
	size_t got;

	if (f == NULL) {
		buf[0] = '\0';
		return -1;
	}
	got      = fread(buf, 1, n - 1, f);
	buf[got] = '\0';
	fclose(f);
	return 0;
}

void
pj_metrics_read(const char *dir, struct pj_sys_metrics *m)
{
	char           buf[8192];
	double         total, avail;
	struct statvfs vfs;
	long           cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(m, 0, sizeof(*m));
	m->cpu_processors = cpus > 0 ? (int) cpus : 1;
	m->cpu_load       = -1;
	if (slurp("/proc/loadavg", buf, sizeof(buf)) == 0) {
		m->cpu_load = pj_metrics_parse_loadavg(buf);
	}
	if (slurp("/proc/meminfo", buf, sizeof(buf)) == 0
	    && pj_metrics_parse_meminfo(buf, &total, &avail) == 0) {
		m->mem_max  = total;
		m->mem_used = total - avail;
	}
	if (statvfs(dir != NULL && dir[0] ? dir : "/", &vfs) == 0) {
		double frsize = (double) vfs.f_frsize;
		m->disk_total = (double) vfs.f_blocks * frsize / B_PER_GB;
		m->disk_used  = (double) (vfs.f_blocks - vfs.f_bfree) * frsize
		    / B_PER_GB;
	}
	m->score = pj_metrics_score(m);
}
