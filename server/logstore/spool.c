/*
 * server/logstore/spool.c - the on-disk spool of log batches (spool.h).
 *
 * Design notes: see spool.h. One thread (the writer's) calls everything
 * but pj_spool_stats; the counters other threads read are atomics. Reads
 * use pread on a descriptor of the oldest segment, writes append to the
 * newest one with write(2) (no fsync: the spool covers a log store that
 * is down, and a process crash keeps what write(2) returned; a machine
 * crash may lose the last records, like any page cache).
 * OOM policy: ar_xmalloc aborts.
 */
#include "server/logstore/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/alloc.h"
#include "runtime/log.h"

#define MAGIC 0x4C534A50u /* "PJSL" */
#define HDR 32
#define LINE_FIXED (8 * 4 + 4 + 4 + 4)

struct pj_spool {
	char                 dir[1024];
	uint64_t             max_bytes;
	uint64_t             first_seg, last_seg; /* first > last: none */
	int                  wfd;                 /* last_seg, or -1 */
	uint64_t             wsize;               /* its size */
	int                  rfd;                 /* first_seg, or -1 */
	uint64_t             roff;
	uint64_t             peeked; /* bytes of the record peeked, 0 */
	uint32_t             peeked_lines;
	atomic_uint_fast64_t bytes, lines, lost;
	atomic_int_fast64_t  oldest_ms;
};

static void
seg_path(const struct pj_spool *sp, uint64_t seg, char *buf, size_t n)
{
	snprintf(
	    buf, n, "%s/seg-%012llu.spool", sp->dir, (unsigned long long) seg);
}

static uint32_t
fnv1a(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void
put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char) (v >> (8 * i));
}
static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char) (v >> (8 * i));
}
static uint32_t
get32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}
static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

struct hdr {
	uint32_t body, lines, sum;
	int64_t  at;
};

/* reads the header at off of fd: 1 = a good header, 0 = end of file,
 * -1 = torn or not a record */
static int
read_hdr(int fd, uint64_t off, uint64_t size, struct hdr *h)
{
	unsigned char b[HDR];
	if (off == size)
		return 0;
	if (off + HDR > size || pread(fd, b, HDR, (off_t) off) != HDR
	    || get32(b) != MAGIC)
		return -1;
	h->body  = get32(b + 4);
	h->lines = get32(b + 8);
	h->sum   = get32(b + 12);
	h->at    = (int64_t) get64(b + 16);
	return off + HDR + h->body <= size ? 1 : -1;
}

static uint64_t
fd_size(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? (uint64_t) st.st_size : 0;
}

/* counts the records of one segment; truncates a torn tail when last */
static void
scan_segment(struct pj_spool *sp, uint64_t seg, int last)
{
	char       path[1100];
	struct hdr h;
	uint64_t   off = 0, size;
	int        fd, r;
	seg_path(sp, seg, path, sizeof(path));
	if ((fd = open(path, last ? O_RDWR : O_RDONLY)) < 0)
		return;
	size = fd_size(fd);
	while ((r = read_hdr(fd, off, size, &h)) == 1) {
		if (atomic_load(&sp->lines) == 0
		    && atomic_load(&sp->oldest_ms) == 0)
			atomic_store(&sp->oldest_ms, h.at);
		atomic_fetch_add(&sp->lines, h.lines);
		off += HDR + h.body;
	}
	if (r < 0 && last) {
		ar_log(AR_LOG_ERROR, "logstore",
		    "spool %s: torn record at byte %llu (a crash while "
		    "writing); cut there",
		    path, (unsigned long long) off);
		if (ftruncate(fd, (off_t) off) != 0)
			ar_log(AR_LOG_ERROR, "logstore", "spool %s: %s", path,
			    strerror(errno));
		size = off;
	}
	atomic_fetch_add(&sp->bytes, size);
	close(fd);
}

int
pj_spool_open(const char *dir, uint64_t max_bytes, struct pj_spool **out,
    char *err, size_t errlen)
{
	struct pj_spool *sp;
	DIR             *d;
	struct dirent   *e;
	*out = NULL;
	if ((d = opendir(dir)) == NULL && errno != ENOENT) {
		snprintf(err, errlen, "spool %s: %s", dir, strerror(errno));
		return PJ_LOG_EBACKEND;
	}
	sp = ar_xcalloc(1, sizeof(*sp));
	snprintf(sp->dir, sizeof(sp->dir), "%s", dir);
	sp->max_bytes = max_bytes;
	sp->first_seg = UINT64_MAX;
	sp->wfd = sp->rfd = -1;
	while (d != NULL && (e = readdir(d)) != NULL) {
		unsigned long long n;
		char               tail[8];
		if (sscanf(e->d_name, "seg-%12llu.%7s", &n, tail) == 2
		    && strcmp(tail, "spool") == 0) {
			if (n < sp->first_seg)
				sp->first_seg = n;
			if (n > sp->last_seg)
				sp->last_seg = n;
		}
	}
	if (d != NULL)
		closedir(d);
	if (sp->first_seg == UINT64_MAX) {
		sp->first_seg = 1;
		sp->last_seg  = 0;
	}
	for (uint64_t s = sp->first_seg; s <= sp->last_seg; s++)
		scan_segment(sp, s, s == sp->last_seg);
	*out = sp;
	return 0;
}

void
pj_spool_close(struct pj_spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->wfd >= 0)
		close(sp->wfd);
	if (sp->rfd >= 0)
		close(sp->rfd);
	free(sp);
}

static int
open_write(struct pj_spool *sp, char *err, size_t errlen)
{
	char path[1100];
	if (sp->wfd >= 0 && sp->wsize < PJ_SPOOL_SEGMENT_BYTES)
		return 0;
	if (sp->wfd >= 0) {
		close(sp->wfd);
		sp->wfd = -1;
		sp->last_seg++;
	} else if (sp->last_seg < sp->first_seg) {
		sp->last_seg = sp->first_seg;
	}
	/* the folder exists only while something is spooled */
	char *slash = strrchr(sp->dir, '/');
	if (slash != NULL && slash != sp->dir) {
		*slash = 0;
		mkdir(sp->dir, 0750); /* the data dir */
		*slash = '/';
	}
	if (mkdir(sp->dir, 0750) != 0 && errno != EEXIST) {
		snprintf(
		    err, errlen, "spool %s: %s", sp->dir, strerror(errno));
		return PJ_LOG_EBACKEND;
	}
	seg_path(sp, sp->last_seg, path, sizeof(path));
	sp->wfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (sp->wfd < 0) {
		snprintf(err, errlen, "spool %s: %s", path, strerror(errno));
		return PJ_LOG_EBACKEND;
	}
	sp->wsize = fd_size(sp->wfd);
	return 0;
}

int
pj_spool_put(struct pj_spool *sp, const struct pj_logline *v, size_t n,
    int64_t now_ms, int force, char *err, size_t errlen)
{
	size_t body = 0, w = HDR;
	int    rv;
	for (size_t k = 0; k < n; k++)
		body += LINE_FIXED + strlen(v[k].content ? v[k].content : "")
		    + strlen(v[k].worker_address ? v[k].worker_address : "");
	if (!force && atomic_load(&sp->bytes) + HDR + body > sp->max_bytes) {
		snprintf(err, errlen, "spool %s full: %llu of %llu bytes",
		    sp->dir, (unsigned long long) atomic_load(&sp->bytes),
		    (unsigned long long) sp->max_bytes);
		return PJ_LOG_EFULL;
	}
	if ((rv = open_write(sp, err, errlen)) != 0)
		return rv;
	unsigned char *b = ar_xmalloc(HDR + body);
	for (size_t k = 0; k < n; k++) {
		const char *c = v[k].content ? v[k].content : "";
		const char *a = v[k].worker_address ? v[k].worker_address : "";
		uint32_t cl = (uint32_t) strlen(c), al = (uint32_t) strlen(a);
		put64(b + w, (uint64_t) v[k].instance_id);
		put64(b + w + 8, (uint64_t) v[k].seq);
		put64(b + w + 16, (uint64_t) v[k].app_id);
		put64(b + w + 24, (uint64_t) v[k].log_time);
		put32(b + w + 32, (uint32_t) v[k].log_level);
		put32(b + w + 36, al);
		memcpy(b + w + 40, a, al);
		put32(b + w + 40 + al, cl);
		memcpy(b + w + 44 + al, c, cl);
		w += LINE_FIXED + al + cl;
	}
	put32(b, MAGIC);
	put32(b + 4, (uint32_t) body);
	put32(b + 8, (uint32_t) n);
	put32(b + 12, fnv1a(b + HDR, body));
	put64(b + 16, (uint64_t) now_ms);
	put64(b + 24, 0);
	ssize_t wr = write(sp->wfd, b, HDR + body);
	free(b);
	if (wr != (ssize_t) (HDR + body)) {
		snprintf(err, errlen, "spool %s: write: %s", sp->dir,
		    wr < 0 ? strerror(errno) : "short write");
		/* cut what was written so the segment stays readable */
		if (wr > 0 && ftruncate(sp->wfd, (off_t) sp->wsize) != 0)
			ar_log(AR_LOG_ERROR, "logstore", "spool %s: %s",
			    sp->dir, strerror(errno));
		return PJ_LOG_EBACKEND;
	}
	sp->wsize += HDR + body;
	if (atomic_load(&sp->lines) == 0)
		atomic_store(&sp->oldest_ms, now_ms);
	atomic_fetch_add(&sp->bytes, HDR + body);
	atomic_fetch_add(&sp->lines, n);
	return 0;
}

/* drops the oldest segment (all taken, or unreadable past roff) */
static void
next_segment(struct pj_spool *sp)
{
	char path[1100];
	if (sp->rfd >= 0) {
		uint64_t rest = fd_size(sp->rfd) - sp->roff;
		close(sp->rfd);
		sp->rfd = -1;
		atomic_fetch_sub(&sp->bytes, rest);
	}
	if (sp->first_seg == sp->last_seg && sp->wfd >= 0) {
		close(sp->wfd);
		sp->wfd = -1;
		sp->last_seg++;
	}
	seg_path(sp, sp->first_seg, path, sizeof(path));
	unlink(path);
	sp->first_seg++;
	sp->roff = 0;
}

/* nothing readable is left: the counters say so too (records skipped as
 * unreadable were counted at open and never taken) */
static int
drained(struct pj_spool *sp)
{
	uint64_t left = atomic_exchange(&sp->lines, 0);
	if (left > 0)
		ar_log(AR_LOG_ERROR, "logstore",
		    "spool %s: %llu spooled log lines were unreadable and are "
		    "lost",
		    sp->dir, (unsigned long long) left);
	atomic_fetch_add(&sp->lost, left);
	atomic_store(&sp->bytes, 0);
	atomic_store(&sp->oldest_ms, 0);
	return 1;
}

int
pj_spool_peek(
    struct pj_spool *sp, struct pj_logline **lines, size_t *n, char **buf)
{
	char       path[1100];
	struct hdr h;
	*lines = NULL;
	*n     = 0;
	*buf   = NULL;
	for (;;) {
		if (sp->first_seg > sp->last_seg)
			return drained(sp);
		if (sp->rfd < 0) {
			seg_path(sp, sp->first_seg, path, sizeof(path));
			if ((sp->rfd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
				sp->first_seg++;
				continue;
			}
			sp->roff = 0;
		}
		uint64_t size = fd_size(sp->rfd);
		int      r    = read_hdr(sp->rfd, sp->roff, size, &h);
		if (r == 0 && sp->first_seg == sp->last_seg)
			return drained(sp); /* the writer may add more */
		if (r == 1) {
			unsigned char *b = ar_xmalloc(h.body + 1);
			if (pread(sp->rfd, b, h.body, (off_t) (sp->roff + HDR))
			        == (ssize_t) h.body
			    && fnv1a(b, h.body) == h.sum) {
				struct pj_logline *v = ar_xcalloc(
				    h.lines ? h.lines : 1, sizeof(*v));
				size_t w = 0, k = 0;
				for (; k < h.lines && w + LINE_FIXED <= h.body;
				     k++) {
					uint32_t al, cl;
					v[k].instance_id
					    = (int64_t) get64(b + w);
					v[k].seq = (int64_t) get64(b + w + 8);
					v[k].app_id
					    = (int64_t) get64(b + w + 16);
					v[k].log_time
					    = (int64_t) get64(b + w + 24);
					v[k].log_level
					    = (int) get32(b + w + 32);
					al = get32(b + w + 36);
					if (w + 40 + al + 4 > h.body)
						break;
					cl = get32(b + w + 40 + al);
					if (w + 44 + al + cl > h.body)
						break;
					/* text is NUL-terminated in place,
					 * each moved one byte back over the
					 * last byte of its length field,
					 * already read */
					memmove(b + w + 39, b + w + 40, al);
					b[w + 39 + al] = 0;
					v[k].worker_address
					    = (char *) b + w + 39;
					memmove(b + w + 43 + al,
					    b + w + 44 + al, cl);
					b[w + 43 + al + cl] = 0;
					v[k].content
					    = (char *) b + w + 43 + al;
					w += LINE_FIXED + al + cl;
				}
				if (k == h.lines) {
					sp->peeked       = HDR + h.body;
					sp->peeked_lines = h.lines;
					*lines           = v;
					*n               = h.lines;
					*buf             = (char *) b;
					return 0;
				}
				free(v);
			}
			free(b);
			r = -1;
		}
		if (r < 0) {
			ar_log(AR_LOG_ERROR, "logstore",
			    "spool %s/seg-%012llu.spool: unreadable record at "
			    "byte %llu (torn or corrupt); the rest of that "
			    "segment is skipped",
			    sp->dir, (unsigned long long) sp->first_seg,
			    (unsigned long long) sp->roff);
		}
		next_segment(sp);
	}
}

void
pj_spool_pop(struct pj_spool *sp)
{
	struct hdr h;
	if (sp->peeked == 0)
		return;
	sp->roff += sp->peeked;
	atomic_fetch_sub(&sp->bytes, sp->peeked);
	atomic_fetch_sub(&sp->lines, sp->peeked_lines);
	sp->peeked    = 0;
	uint64_t size = fd_size(sp->rfd);
	if (read_hdr(sp->rfd, sp->roff, size, &h) == 1)
		atomic_store(&sp->oldest_ms, h.at);
	else if (sp->roff >= size) {
		if (sp->first_seg < sp->last_seg
		    || atomic_load(&sp->lines) == 0)
			next_segment(sp);
		if (atomic_load(&sp->lines) == 0) {
			atomic_store(&sp->oldest_ms, 0);
			if (sp->wfd < 0)
				rmdir(sp->dir); /* fails harmlessly if not
				                   empty */
		}
	}
}

void
pj_spool_stats(struct pj_spool *sp, struct pj_spool_stats *st)
{
	st->bytes      = atomic_load(&sp->bytes);
	st->lines      = atomic_load(&sp->lines);
	st->oldest_ms  = atomic_load(&sp->oldest_ms);
	st->max_bytes  = sp->max_bytes;
	st->lost_lines = atomic_load(&sp->lost);
}
