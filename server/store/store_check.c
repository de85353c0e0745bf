/*
 * server/store/store_check.c - the limits every stored value must meet,
 * checked before any statement runs, so that both backends accept and
 * refuse exactly the same values (store.h, "Limits").
 *
 * Design notes
 * ------------
 * SQLite stores whatever it is given; MariaDB in strict mode refuses text
 * longer than its column and invalid UTF-8, and without strict mode it
 * truncates or rewrites them. Neither is what a caller should learn about
 * from the database, so the store checks every text value against its
 * column's kind (a name: 255 characters; a zone: 64 characters; text:
 * 65,535 bytes; long text: 1 MiB), requires well-formed UTF-8 (no overlong
 * forms, no surrogates, nothing above U+10FFFF) and finite doubles, and
 * answers PJ_STORE_EINVAL naming the table and the field. LIKE patterns
 * are checked for the one escape rule both backends agree on.
 * OOM policy: nothing here allocates.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "server/store/store_impl.h"

/* Decodes well-formed UTF-8: returns the number of code points, or -1 and
 * the offset of the first bad byte in *bad. */
static long
utf8_chars(const char *p, size_t *bad)
{
	const unsigned char *s = (const unsigned char *) p;
	long                 n = 0;
	size_t               i = 0;
	while (s[i]) {
		unsigned c = s[i], need, cp;
		if (c < 0x80) {
			i++;
			n++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp   = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp   = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp   = c & 0x07;
		} else {
			*bad = i;
			return -1;
		}
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80) {
				*bad = i;
				return -1;
			}
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2
		        && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
		    || (need == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
			*bad = i;
			return -1;
		}
		i += need + 1;
		n++;
	}
	return n;
}

int
pj_check_text(struct pj_store *s, const char *table, const char *field,
    const char *v, enum pj_field_kind kind)
{
	size_t bad = 0, len;
	long   chars;
	if (v == NULL)
		return 0;
	len = strlen(v);
	/* cheap length bound first, so a huge value is not decoded */
	if ((kind == PJ_F_TEXT && len > PJ_STORE_TEXT_MAX)
	    || (kind == PJ_F_LONGTEXT && len > PJ_STORE_LONGTEXT_MAX))
		return pj_store_fail(s, PJ_STORE_EINVAL,
		    "%s.%s: %zu bytes; the limit is %u bytes (store.h, "
		    "Limits)",
		    table, field, len,
		    kind == PJ_F_TEXT ? PJ_STORE_TEXT_MAX
		                      : PJ_STORE_LONGTEXT_MAX);
	if ((chars = utf8_chars(v, &bad)) < 0)
		return pj_store_fail(s, PJ_STORE_EINVAL,
		    "%s.%s: not valid UTF-8 (byte 0x%02x at offset %zu)",
		    table, field, (unsigned char) v[bad], bad);
	unsigned max = kind == PJ_F_NAME ? PJ_STORE_NAME_MAX
	    : kind == PJ_F_ZONE          ? PJ_STORE_ZONE_MAX
	                                 : 0;
	if (max && (unsigned long) chars > max)
		return pj_store_fail(s, PJ_STORE_EINVAL,
		    "%s.%s: %ld characters; the limit is %u characters "
		    "(store.h, Limits)",
		    table, field, chars, max);
	return 0;
}

int
pj_check_like(struct pj_store *s, const char *table, const char *field,
    const char *pattern)
{
	int rv;
	if (pattern == NULL)
		return 0;
	if ((rv = pj_check_text(s, table, field, pattern, PJ_F_TEXT)) != 0)
		return rv;
	for (const char *p = pattern; *p; p++) {
		if (*p != PJ_STORE_LIKE_ESCAPE)
			continue;
		if (p[1] != '%' && p[1] != '_' && p[1] != PJ_STORE_LIKE_ESCAPE)
			return pj_store_fail(s, PJ_STORE_EINVAL,
			    "%s.%s LIKE pattern: '%c' at offset %zu must be "
			    "followed by %%, _ or '%c' (pj_store_like_escape "
			    "makes a literal pattern)",
			    table, field, PJ_STORE_LIKE_ESCAPE,
			    (size_t) (p - pattern), PJ_STORE_LIKE_ESCAPE);
		p++;
	}
	return 0;
}

int
pj_check_double(
    struct pj_store *s, const char *table, const char *field, double v)
{
	if (isfinite(v))
		return 0;
	return pj_store_fail(s, PJ_STORE_EINVAL,
	    "%s.%s: %g is not a finite number", table, field, v);
}

int
pj_check_fields(struct pj_store *s, const char *table,
    const struct pj_field_check *f, size_t n)
{
	int rv;
	for (size_t i = 0; i < n; i++)
		if ((rv = pj_check_text(
		         s, table, f[i].field, f[i].v, f[i].kind))
		    != 0)
			return rv;
	return 0;
}

int
pj_check_instance(struct pj_store *s, const struct pj_instance *i)
{
	const struct pj_field_check f[] = {
		{ "job_params", i->job_params, PJ_F_LONGTEXT },
		{ "instance_params", i->instance_params, PJ_F_LONGTEXT },
		{ "result", i->result, PJ_F_LONGTEXT },
		{ "task_tracker_address", i->task_tracker_address, PJ_F_NAME },
	};
	return pj_check_fields(
	    s, "instance_info", f, sizeof(f) / sizeof(f[0]));
}

int
pj_check_transition(struct pj_store *s, int64_t instance_id,
    const struct pj_instance *set, unsigned mask)
{
	int rv = 0;
	(void) instance_id;
	if (set == NULL)
		return 0;
	if (mask & PJ_SET_TT_ADDRESS)
		rv = pj_check_text(s, "instance_info", "task_tracker_address",
		    set->task_tracker_address, PJ_F_NAME);
	if (rv == 0 && (mask & PJ_SET_RESULT))
		rv = pj_check_text(
		    s, "instance_info", "result", set->result, PJ_F_LONGTEXT);
	return rv;
}

int
pj_check_log(struct pj_store *s, const struct pj_log_line *l)
{
	const struct pj_field_check f[] = {
		{ "log_content", l->content, PJ_F_LONGTEXT },
		{ "worker_address", l->worker_address, PJ_F_NAME },
	};
	return pj_check_fields(
	    s, "local_instance_log", f, sizeof(f) / sizeof(f[0]));
}

size_t
pj_store_like_escape(const char *text, char *out, size_t outlen)
{
	size_t need = 0, w = 0;
	int    full = out == NULL || outlen == 0;
	for (const char *p = text ? text : ""; *p; p++) {
		int esc = *p == '%' || *p == '_' || *p == PJ_STORE_LIKE_ESCAPE;
		size_t k = (size_t) esc + 1;
		if (!full && w + k < outlen) {
			if (esc)
				out[w] = PJ_STORE_LIKE_ESCAPE;
			out[w + k - 1] = *p;
			w += k;
		} else {
			full = 1; /* never write a piece after a dropped one */
		}
		need += k;
	}
	if (out && outlen > 0)
		out[w] = 0;
	return need;
}
