/*
 * Time zones for the timing code: IANA zones read from the system's TZif
 * files (RFC 8536), loaded once per name and kept in a process-wide cache.
 * See tz.c for the design notes.
 */
#ifndef PJ_SERVER_TZ_H
#define PJ_SERVER_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct pj_tz pj_tz;

/* Errors of the timing modules (tz, cron, timing). */
enum {
	PJ_TIMING_OK     = 0,
	PJ_TIMING_EINVAL = 1, /* bad expression, zone or argument */
	PJ_TIMING_ENONE  = 2, /* valid, but there is no next fire time */
};

/* Longest zone name accepted (the longest IANA name is ~30 bytes). */
#define PJ_TZ_NAME_MAX 64

/*
 * Finds zone NAME ("Europe/Berlin", "UTC"; NULL or "" = the server's zone)
 * and returns a shared, immutable zone that stays valid until
 * pj_tz_cache_fini().  On error returns PJ_TIMING_EINVAL and writes the
 * reason into err (errlen bytes, may be 0).  Thread-safe.
 */
int pj_tz_get(const char *name, const pj_tz **tzp, char *err, size_t errlen);

/* The zone's IANA name ("UTC" when the server's zone has no name). */
const char *pj_tz_name(const pj_tz *tz);

/* Offset from UTC in seconds in effect at instant t (epoch seconds). */
int32_t pj_tz_offset_at(const pj_tz *tz, int64_t t);

/*
 * Converts a local wall-clock time (seconds since 1970-01-01T00:00 local)
 * to an instant the way java.util.GregorianCalendar does with its zone
 * tables: the offset used is the one of the last transition whose local
 * time after the transition is <= wall.  So a wall time inside a spring
 * gap is read with the offset before the gap (02:30 becomes 03:30), and a
 * wall time repeated in autumn resolves to its second (standard-time)
 * occurrence.
 */
int64_t pj_tz_wall_to_utc(const pj_tz *tz, int64_t wall);

/*
 * The stretch of local time around instant t in which the offset does not
 * change and pj_tz_wall_to_utc is simply wall - offset: for every wall in
 * [*wall_lo, *wall_hi), pj_tz_wall_to_utc(wall) == wall - *off and that
 * instant's offset is *off.  Lets callers skip both binary searches while
 * they stay inside (cron.c does, on every step of its calendar).
 */
void pj_tz_segment(const pj_tz *tz, int64_t t, int64_t *wall_lo,
    int64_t *wall_hi, int32_t *off);

/* Drops every cached zone (tests, end of the program). */
void pj_tz_cache_fini(void);

/* Calendar helpers shared by cron.c and timing.c (proleptic Gregorian). */
int64_t pj_days_from_civil(int64_t y, int m, int d);
void    pj_civil_from_days(int64_t z, int64_t *y, int *m, int *d);
int     pj_days_in_month(int64_t y, int m);

/* ISO-8601 local time with offset, "2024-03-31T03:00:00+02:00". */
void pj_tz_format_iso(const pj_tz *tz, int64_t ms, char *buf, size_t len);

#endif
