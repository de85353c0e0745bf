/*
 * Time zones from the system's TZif files.
 *
 * Design notes
 * - PowerJob runs Quartz's CronExpression on java.util.TimeZone; it uses the
 *   server's default zone.  We keep IANA zone names and let every job carry
 *   one (default: the server's zone, from $TZ, /etc/timezone or the target of
 *   /etc/localtime).
 * - ICU4C or TZif?  We read TZif files (RFC 8536, Debian's tzdata) ourselves.
 *   Reasons: (1) ICU's calendar API is C++ underneath (libicu pulls in the C++
 *   runtime) and costs a heap-allocated UCalendar plus several virtual calls
 *   per field set, which would sink the >= 1,000,000 next-fire/s goal; (2) to
 *   match Quartz we must reproduce java.util.GregorianCalendar's own rule for
 *   wall times in DST gaps and overlaps (see pj_tz_wall_to_utc), which ICU
 *   resolves its own way anyway; (3) a zone is a sorted array of
 *   transitions, a binary search answers both directions in ~10 steps, and
 *   the files are already on every Debian machine (package tzdata).
 * - Each zone is loaded once and cached for the life of the process
 *   (pj_tz_cache_fini frees them); entries are immutable after loading, so
 *   lookups need the cache lock only to find the zone, never to use it.
 * - The file's explicit transitions are extended with its POSIX TZ footer
 *   rule up to the end of PJ_TZ_LAST_YEAR, past the 2099 limit of CRON years.
 * - OOM policy: allocation failure aborts (ar_xrealloc, runtime/alloc.h), as
 * everywhere in the project.
 */
#include "runtime/alloc.h"
#include "server/timing/tz.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PJ_TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define PJ_TZ_LAST_YEAR 2101
#define PJ_TZ_MAX_FILE_BYTES (1 << 20)
#define SECS_PER_DAY 86400

struct pj_tz {
	char          name[PJ_TZ_NAME_MAX];
	int32_t       off0; /* offset before the first transition */
	size_t        n;    /* transitions */
	int64_t      *utc;  /* instant of each transition */
	int64_t      *wall; /* utc[i] + off[i]: local time just after it */
	int32_t      *off;  /* offset in effect from utc[i] on */
	struct pj_tz *next;
};

static pthread_mutex_t tz_lock  = PTHREAD_MUTEX_INITIALIZER;
static struct pj_tz   *tz_cache = NULL;

static void
seterr(char *err, size_t errlen, const char *fmt, const char *arg)
{
	if (err != NULL && errlen > 0) {
		snprintf(err, errlen, fmt, arg);
	}
}

/* ---- calendar arithmetic (Howard Hinnant's civil algorithms) ----------- */

int64_t
pj_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t  era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned) (y - era * 400);
	unsigned doy = (153 * (unsigned) (m + (m > 2 ? -3 : 9)) + 2) / 5
	    + (unsigned) d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t) doe - 719468;
}

void
pj_civil_from_days(int64_t z, int64_t *yp, int *mp, int *dp)
{
	z += 719468;
	int64_t  era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned) (z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t  y   = (int64_t) yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp0 = (5 * doy + 2) / 153;
	unsigned d   = doy - (153 * mp0 + 2) / 5 + 1;
	unsigned m   = mp0 < 10 ? mp0 + 3 : mp0 - 9;
	*yp          = y + (m <= 2);
	*mp          = (int) m;
	*dp          = (int) d;
}

int
pj_days_in_month(int64_t y, int m)
{
	static const int dim[12]
	    = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2) {
		int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		return 28 + leap;
	}
	return dim[m - 1];
}

/* ---- lookups ------------------------------------------------------------ */

/* The first index i in a[0..n) with a[i] > key (n if none). */
static size_t
upper_bound(const int64_t *a, size_t n, int64_t key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (a[mid] <= key) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo;
}

const char *
pj_tz_name(const pj_tz *tz)
{
	return tz->name;
}

int32_t
pj_tz_offset_at(const pj_tz *tz, int64_t t)
{
	size_t lo = upper_bound(tz->utc, tz->n, t);
	return lo == 0 ? tz->off0 : tz->off[lo - 1];
}

void
pj_tz_segment(const pj_tz *tz, int64_t t, int64_t *wall_lo, int64_t *wall_hi,
    int32_t *off)
{
	size_t lo = upper_bound(tz->utc, tz->n, t);
	/* transitions lo-1 (in effect) and lo (the next one) */
	*off     = lo == 0 ? tz->off0 : tz->off[lo - 1];
	*wall_lo = lo == 0 ? INT64_MIN : tz->wall[lo - 1];
	if (lo == tz->n) {
		*wall_hi = INT64_MAX;
	} else {
		int64_t end
		    = tz->utc[lo] + *off; /* local end of this offset */
		*wall_hi = tz->wall[lo] < end ? tz->wall[lo] : end;
	}
}

int64_t
pj_tz_wall_to_utc(const pj_tz *tz, int64_t wall)
{
	size_t lo = upper_bound(tz->wall, tz->n, wall);
	return wall - (lo == 0 ? tz->off0 : tz->off[lo - 1]);
}

void
pj_tz_format_iso(const pj_tz *tz, int64_t ms, char *buf, size_t len)
{
	int64_t s    = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	int32_t off  = pj_tz_offset_at(tz, s);
	int64_t loc  = s + off;
	int64_t days = loc >= 0 ? loc / SECS_PER_DAY
	                        : -((-loc + SECS_PER_DAY - 1) / SECS_PER_DAY);
	int64_t sod  = loc - days * SECS_PER_DAY;
	int64_t y;
	int     m, d;
	pj_civil_from_days(days, &y, &m, &d);
	char     sign = off < 0 ? '-' : '+';
	unsigned a    = (unsigned) (off < 0 ? -off : off);
	char     offs[16];
	if (a % 60 != 0) {
		snprintf(offs, sizeof(offs), "%c%02u:%02u:%02u", sign,
		    a / 3600, a / 60 % 60, a % 60);
	} else {
		snprintf(offs, sizeof(offs), "%c%02u:%02u", sign, a / 3600,
		    a / 60 % 60);
	}
	snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d%s", (long long) y,
	    m, d, (int) (sod / 3600), (int) (sod / 60 % 60), (int) (sod % 60),
	    offs);
}

/* ---- POSIX TZ footer ("CET-1CEST,M3.5.0,M10.5.0/3") --------------------- */

struct posix_rule {
	char kind; /* 'M', 'J' or 'n' */
	int  m, w, d, n;
	int  secs; /* local time of day of the change */
};

struct posix_tz {
	int32_t           std_off, dst_off;
	int               has_dst;
	struct posix_rule start, end;
};

static const char *
posix_name(const char *p)
{
	if (*p == '<') {
		while (*p != '\0' && *p != '>') {
			p++;
		}
		return *p == '>' ? p + 1 : NULL;
	}
	const char *s = p;
	while (isalpha((unsigned char) *p)) {
		p++;
	}
	return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]], hours up to 167 */
static const char *
posix_time(const char *p, int *secs)
{
	int sign = 1;
	if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
	}
	if (!isdigit((unsigned char) *p)) {
		return NULL;
	}
	int v[3] = { 0, 0, 0 };
	for (int i = 0; i < 3; i++) {
		if (!isdigit((unsigned char) *p)) {
			return NULL;
		}
		int x = 0;
		while (isdigit((unsigned char) *p) && x < 1000) {
			x = x * 10 + (*p++ - '0');
		}
		v[i] = x;
		if (*p != ':') {
			break;
		}
		p++;
	}
	if (v[0] > 167 || v[1] > 59 || v[2] > 59) {
		return NULL;
	}
	*secs = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	return p;
}

static const char *
posix_num(const char *p, int *out)
{
	if (!isdigit((unsigned char) *p)) {
		return NULL;
	}
	int x = 0;
	while (isdigit((unsigned char) *p) && x < 10000) {
		x = x * 10 + (*p++ - '0');
	}
	*out = x;
	return p;
}

static const char *
posix_rule(const char *p, struct posix_rule *r)
{
	memset(r, 0, sizeof(*r));
	if (*p == 'M') {
		r->kind = 'M';
		if ((p = posix_num(p + 1, &r->m)) == NULL || *p++ != '.'
		    || (p = posix_num(p, &r->w)) == NULL || *p++ != '.'
		    || (p = posix_num(p, &r->d)) == NULL) {
			return NULL;
		}
		if (r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5
		    || r->d > 6) {
			return NULL;
		}
	} else if (*p == 'J') {
		r->kind = 'J';
		if ((p = posix_num(p + 1, &r->n)) == NULL || r->n < 1
		    || r->n > 365) {
			return NULL;
		}
	} else {
		r->kind = 'n';
		if ((p = posix_num(p, &r->n)) == NULL || r->n > 365) {
			return NULL;
		}
	}
	r->secs = 7200;
	if (*p == '/') {
		if ((p = posix_time(p + 1, &r->secs)) == NULL) {
			return NULL;
		}
	}
	return p;
}

static int
posix_parse(const char *s, struct posix_tz *tz)
{
	const char *p = posix_name(s);
	int         off;
	memset(tz, 0, sizeof(*tz));
	if (p == NULL || (p = posix_time(p, &off)) == NULL) {
		return -1;
	}
	tz->std_off = -off;
	if (*p == '\0') {
		return 0;
	}
	if ((p = posix_name(p)) == NULL) {
		return -1;
	}
	tz->has_dst = 1;
	tz->dst_off = tz->std_off + 3600;
	if (*p != ',' && *p != '\0') {
		if ((p = posix_time(p, &off)) == NULL) {
			return -1;
		}
		tz->dst_off = -off;
	}
	if (*p == '\0') {
		/* POSIX default: the US rule */
		p = ",M3.2.0,M11.1.0";
	}
	if (*p++ != ',' || (p = posix_rule(p, &tz->start)) == NULL
	    || *p++ != ',' || (p = posix_rule(p, &tz->end)) == NULL
	    || *p != '\0') {
		return -1;
	}
	return 0;
}

/* local day (days since epoch) of a rule in year y */
static int64_t
rule_day(const struct posix_rule *r, int64_t y)
{
	int64_t jan1 = pj_days_from_civil(y, 1, 1);
	if (r->kind == 'J') {
		int leap = pj_days_in_month(y, 2) == 29;
		return jan1 + r->n - 1 + (leap && r->n >= 60);
	}
	if (r->kind == 'n') {
		return jan1 + r->n;
	}
	int64_t first = pj_days_from_civil(y, r->m, 1);
	int     dow1  = (int) (((first + 4) % 7 + 7) % 7); /* 0 = Sunday */
	int     day   = 1 + (r->d - dow1 + 7) % 7 + (r->w - 1) * 7;
	int     dim   = pj_days_in_month(y, r->m);
	while (day > dim) {
		day -= 7;
	}
	return first + day - 1;
}

/* ---- TZif --------------------------------------------------------------- */

static int64_t
be(const unsigned char *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++) {
		v = (v << 8) | p[i];
	}
	if (bytes == 4) {
		return (int32_t) (uint32_t) v;
	}
	return (int64_t) v;
}

static void
tz_push(struct pj_tz *tz, size_t *cap, int64_t utc, int32_t off)
{
	if (tz->n > 0 && utc <= tz->utc[tz->n - 1]) {
		return;
	}
	if (tz->n == *cap) {
		*cap    = *cap ? *cap * 2 : 64;
		tz->utc = ar_xrealloc(tz->utc, *cap * sizeof(int64_t));
		tz->off = ar_xrealloc(tz->off, *cap * sizeof(int32_t));
	}
	tz->utc[tz->n] = utc;
	tz->off[tz->n] = off;
	tz->n++;
}

static int
tzif_parse(struct pj_tz *tz, const unsigned char *buf, size_t len)
{
	size_t cap = 0;
	if (len < 44 || memcmp(buf, "TZif", 4) != 0) {
		return -1;
	}
	int                  version = buf[4];
	const unsigned char *p       = buf;
	const unsigned char *end     = buf + len;
	int                  tbytes  = 4;
	for (int pass = 0; pass < 2; pass++) {
		if (end - p < 44) {
			return -1;
		}
		int64_t isut = be(p + 20, 4), isstd = be(p + 24, 4),
		        leap = be(p + 28, 4), timecnt = be(p + 32, 4),
		        typecnt = be(p + 36, 4), charcnt = be(p + 40, 4);
		if (isut < 0 || isstd < 0 || leap < 0 || timecnt < 0
		    || typecnt < 1 || typecnt > 256 || charcnt < 0
		    || timecnt > 100000) {
			return -1;
		}
		int64_t need = timecnt * tbytes + timecnt + typecnt * 6
		    + charcnt + leap * (tbytes + 4) + isstd + isut;
		p += 44;
		if (end - p < need) {
			return -1;
		}
		if (pass == 0 && version >= '2') {
			p += need;
			tbytes = 8;
			continue;
		}
		const unsigned char *times = p;
		const unsigned char *idx   = p + timecnt * tbytes;
		const unsigned char *types = idx + timecnt;
		tz->off0                   = (int32_t) be(types, 4);
		for (int64_t i = 0; i < timecnt; i++) {
			if (idx[i] >= typecnt) {
				return -1;
			}
			int32_t off = (int32_t) be(types + idx[i] * 6, 4);
			tz_push(tz, &cap, be(times + i * tbytes, tbytes), off);
		}
		p += need;
		break;
	}
	/* footer: "\nTZ-string\n" (version 2+) */
	char foot[128] = "";
	if (tbytes == 8 && p < end && *p == '\n') {
		const unsigned char *q
		    = memchr(p + 1, '\n', (size_t) (end - p - 1));
		if (q != NULL && (size_t) (q - p - 1) < sizeof(foot)) {
			memcpy(foot, p + 1, (size_t) (q - p - 1));
			foot[q - p - 1] = '\0';
		}
	}
	struct posix_tz ptz;
	if (foot[0] != '\0' && posix_parse(foot, &ptz) == 0) {
		if (tz->n == 0) {
			tz->off0 = ptz.std_off;
		}
		if (ptz.has_dst) {
			int64_t y0 = 1970;
			if (tz->n > 0) {
				int64_t y;
				int     m, d;
				int64_t lt   = tz->utc[tz->n - 1];
				int64_t days = lt / SECS_PER_DAY - (lt < 0);
				pj_civil_from_days(days, &y, &m, &d);
				y0 = y < 1970 ? 1970 : y;
			}
			for (int64_t y = y0; y <= PJ_TZ_LAST_YEAR; y++) {
				int64_t s
				    = rule_day(&ptz.start, y) * SECS_PER_DAY
				    + ptz.start.secs - ptz.std_off;
				int64_t e
				    = rule_day(&ptz.end, y) * SECS_PER_DAY
				    + ptz.end.secs - ptz.dst_off;
				if (s < e) {
					tz_push(tz, &cap, s, ptz.dst_off);
					tz_push(tz, &cap, e, ptz.std_off);
				} else {
					tz_push(tz, &cap, e, ptz.std_off);
					tz_push(tz, &cap, s, ptz.dst_off);
				}
			}
		}
	}
	tz->wall = ar_xrealloc(NULL, (tz->n ? tz->n : 1) * sizeof(int64_t));
	for (size_t i = 0; i < tz->n; i++) {
		tz->wall[i] = tz->utc[i] + tz->off[i];
	}
	return 0;
}

static int
name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= PJ_TZ_NAME_MAX || name[0] == '/'
	    || strstr(name, "..") != NULL) {
		return 0;
	}
	for (const char *p = name; *p; p++) {
		if (!isalnum((unsigned char) *p)
		    && strchr("/_+-", *p) == NULL) {
			return 0;
		}
	}
	return 1;
}

static void
default_name(char *buf, size_t len)
{
	const char *env = getenv("TZ");
	if (env != NULL && *env == ':') {
		env++;
	}
	if (env != NULL && name_ok(env)) {
		snprintf(buf, len, "%s", env);
		return;
	}
	char    link[512];
	ssize_t n = readlink("/etc/localtime", link, sizeof(link) - 1);
	if (n > 0) {
		link[n]       = '\0';
		const char *z = strstr(link, "zoneinfo/");
		if (z != NULL && name_ok(z + 9)) {
			snprintf(buf, len, "%s", z + 9);
			return;
		}
	}
	FILE *f = fopen("/etc/timezone", "r");
	if (f != NULL) {
		char line[PJ_TZ_NAME_MAX];
		if (fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\r\n")] = '\0';
			if (name_ok(line)) {
				snprintf(buf, len, "%s", line);
				fclose(f);
				return;
			}
		}
		fclose(f);
	}
	snprintf(buf, len, "UTC");
}

static void
tz_free(struct pj_tz *tz)
{
	free(tz->utc);
	free(tz->off);
	free(tz->wall);
	free(tz);
}

static int
tz_load(const char *name, struct pj_tz **out, char *err, size_t errlen)
{
	const char *dir = getenv("TZDIR");
	char        path[1024];
	snprintf(path, sizeof(path), "%s/%s",
	    dir != NULL && *dir ? dir : PJ_TZ_DEFAULT_DIR, name);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		seterr(err, errlen, "time zone '%s' is unknown", name);
		return PJ_TIMING_EINVAL;
	}
	unsigned char *buf = ar_xrealloc(NULL, PJ_TZ_MAX_FILE_BYTES);
	size_t         len = fread(buf, 1, PJ_TZ_MAX_FILE_BYTES, f);
	fclose(f);
	struct pj_tz *tz = ar_xrealloc(NULL, sizeof(*tz));
	memset(tz, 0, sizeof(*tz));
	snprintf(tz->name, sizeof(tz->name), "%s", name);
	int rv = tzif_parse(tz, buf, len);
	free(buf);
	if (rv != 0) {
		tz_free(tz);
		seterr(err, errlen, "time zone '%s' is not a valid TZif file",
		    name);
		return PJ_TIMING_EINVAL;
	}
	*out = tz;
	return 0;
}

int
pj_tz_get(const char *name, const pj_tz **tzp, char *err, size_t errlen)
{
	char dflt[PJ_TZ_NAME_MAX];
	int  rv = 0;
	if (name == NULL || *name == '\0') {
		default_name(dflt, sizeof(dflt));
		name = dflt;
	}
	if (!name_ok(name)) {
		seterr(err, errlen,
		    "time zone '%.64s' is not a valid zone name", name);
		return PJ_TIMING_EINVAL;
	}
	pthread_mutex_lock(&tz_lock);
	struct pj_tz *tz;
	for (tz = tz_cache; tz != NULL; tz = tz->next) {
		if (strcmp(tz->name, name) == 0) {
			break;
		}
	}
	if (tz == NULL) {
		if ((rv = tz_load(name, &tz, err, errlen)) == 0) {
			tz->next = tz_cache;
			tz_cache = tz;
		}
	}
	pthread_mutex_unlock(&tz_lock);
	if (rv == 0) {
		*tzp = tz;
	}
	return rv;
}

void
pj_tz_cache_fini(void)
{
	pthread_mutex_lock(&tz_lock);
	while (tz_cache != NULL) {
		struct pj_tz *n = tz_cache->next;
		tz_free(tz_cache);
		tz_cache = n;
	}
	pthread_mutex_unlock(&tz_lock);
}
