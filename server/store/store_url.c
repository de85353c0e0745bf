/*
 * server/store/store_url.c - store URLs: sqlite:// and mysql:// parsed
 * strictly into struct pj_store_url (store_impl.h), and a URL shown with
 * its password replaced. No threads, no state.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/store_impl.h"

#define PJ_STORE_POOL_DEFAULT 4
/* SQLite's page cache per connection (its own default is 2,000 KiB): the
 * pages the scheduler's statements touch fit; a larger cache shows no gain
 * in store_bench and costs RSS times the pool (docs/benchmarks.md). */
#define PJ_STORE_CACHE_MB_DEFAULT 2
#define PJ_STORE_CACHE_MB_MAX 4096

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* percent-decodes [p, p+n) into a new string; NULL on a bad escape */
static char *
pct_decode(const char *p, size_t n)
{
	char  *o = ar_xmalloc(n + 1);
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '%') {
			int h, l;
			if (i + 2 >= n + 0 || (h = hexval(p[i + 1])) < 0
			    || (l = hexval(p[i + 2])) < 0
			    || (h == 0 && l == 0)) {
				free(o);
				return NULL;
			}
			o[j++] = (char) (h * 16 + l);
			i += 2;
		} else {
			o[j++] = p[i];
		}
	}
	o[j] = 0;
	return o;
}

void
pj_store_url_fini(struct pj_store_url *u)
{
	free(u->backend);
	free(u->path);
	free(u->user);
	free(u->pass);
	free(u->host);
	free(u->db);
	free(u->socket);
	memset(u, 0, sizeof(*u));
}

void
pj_store_url_redact(const char *url, char *out, size_t n)
{
	/* The password runs from the first ':' after "mysql://" to the last
	 * '@' of the whole URL: that covers passwords holding an unencoded
	 * '/', '?', ':' or '@' (which the parser then misreads), at the cost
	 * of hiding more than the password when a socket path holds an '@'.
	 * Never printing it matters more. */
	const char *at, *colon;
	snprintf(out, n, "%s", url ? url : "");
	if (url == NULL || strncmp(url, "mysql://", 8) != 0
	    || (at = strrchr(url, '@')) == NULL)
		return;
	colon = memchr(url + 8, ':', (size_t) (at - (url + 8)));
	if (colon == NULL)
		return;
	snprintf(out, n, "%.*s***%s", (int) (colon + 1 - url), url, at);
}

/* "1".."65535", digits only (no sign, no spaces); -1 otherwise */
static int
parse_port(const char *p, const char *end)
{
	long v = 0;
	if (p == end || end - p > 5)
		return -1;
	for (const char *x = p; x < end; x++) {
		if (*x < '0' || *x > '9')
			return -1;
		v = v * 10 + (*x - '0');
	}
	return v >= 1 && v <= 65535 ? (int) v : -1;
}

static int
parse_query(struct pj_store_url *u, const char *q, const char *shown,
    char *err, size_t errlen)
{
	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t      n   = amp ? (size_t) (amp - q) : strlen(q);
		const char *eq  = memchr(q, '=', n);
		if (eq == NULL) {
			snprintf(err, errlen,
			    "'%s': a URL option has no '=' (a password "
			    "holding '/', '?', '@' or ':' must be "
			    "%%-encoded)",
			    shown);
			return PJ_STORE_EINVAL;
		}
		size_t kn = (size_t) (eq - q);
		char  *v  = pct_decode(eq + 1, n - kn - 1);
		if (v == NULL) {
			snprintf(err, errlen,
			    "'%s': bad %%-escape in a URL option", shown);
			return PJ_STORE_EINVAL;
		}
		if (kn == 6 && strncmp(q, "socket", 6) == 0) {
			free(u->socket);
			u->socket = v;
			if (strcmp(u->backend, "mysql") != 0 || v[0] == 0) {
				snprintf(err, errlen,
				    "'%s': socket= needs a path and is a "
				    "mysql:// option",
				    shown);
				return PJ_STORE_EINVAL;
			}
		} else if (kn == 4 && strncmp(q, "pool", 4) == 0) {
			char *end;
			long  p   = strtol(v, &end, 10);
			int   bad = *end != 0 || end == v || v[0] < '0'
			    || v[0] > '9';
			free(v);
			if (bad || p < 1 || p > PJ_STORE_POOL_MAX) {
				snprintf(err, errlen,
				    "'%s': URL option pool must be 1..%d",
				    shown, PJ_STORE_POOL_MAX);
				return PJ_STORE_EINVAL;
			}
			u->pool = (int) p;
		} else if (kn == 8 && strncmp(q, "cache_mb", 8) == 0) {
			char *end;
			long  p   = strtol(v, &end, 10);
			int   bad = *end != 0 || end == v || v[0] < '0'
			    || v[0] > '9';
			free(v);
			if (bad || p < 1 || p > PJ_STORE_CACHE_MB_MAX
			    || strcmp(u->backend, "sqlite") != 0) {
				snprintf(err, errlen,
				    "'%s': URL option cache_mb must be "
				    "1..%d and is a sqlite:// option",
				    shown, PJ_STORE_CACHE_MB_MAX);
				return PJ_STORE_EINVAL;
			}
			u->cache_mb = (int) p;
		} else {
			free(v);
			snprintf(err, errlen,
			    "'%s': unknown URL option (known: socket, pool, "
			    "cache_mb)",
			    shown);
			return PJ_STORE_EINVAL;
		}
		q = amp ? amp + 1 : NULL;
	}
	return 0;
}

/* sqlite:// paths SQLite would not treat as one shared file */
static int
sqlite_path_ok(const char *path)
{
	return path[0] != 0 && strcmp(path, ":memory:") != 0
	    && strncmp(path, "file:", 5) != 0;
}

int
pj_store_url_parse(
    const char *url, struct pj_store_url *u, char *err, size_t errlen)
{
	static const char usage[]
	    = "expected sqlite:///path/file.db or "
	      "mysql://user:pass@host:port/db[?socket=/path] (options: "
	      "pool=N, sqlite's cache_mb=N)";
	char shown[PJ_STORE_ERRLEN];
	memset(u, 0, sizeof(*u));
	u->pool     = PJ_STORE_POOL_DEFAULT;
	u->cache_mb = PJ_STORE_CACHE_MB_DEFAULT;
	if (url == NULL || *url == 0) {
		snprintf(err, errlen, "empty database URL; %s", usage);
		return PJ_STORE_EINVAL;
	}
	pj_store_url_redact(url, shown, sizeof(shown));
	const char *q       = strchr(url, '?');
	size_t      mainlen = q ? (size_t) (q - url) : strlen(url);
	if (strncmp(url, "sqlite://", 9) == 0) {
		u->backend = ar_xstrdup("sqlite");
		u->path    = pct_decode(url + 9, mainlen - 9);
		if (u->path == NULL) {
			snprintf(err, errlen, "'%s': bad %%-escape", shown);
			goto fail;
		}
		if (!sqlite_path_ok(u->path)) {
			snprintf(err, errlen,
			    "'%s' names no database file (':memory:' and "
			    "'file:' URIs are refused: every pooled "
			    "connection would get its own database); %s",
			    shown, usage);
			goto fail;
		}
	} else if (strncmp(url, "mysql://", 8) == 0) {
		u->backend        = ar_xstrdup("mysql");
		const char *p     = url + 8;
		const char *end   = url + mainlen;
		const char *slash = memchr(p, '/', (size_t) (end - p));
		const char *hend  = slash ? slash : end;
		const char *at    = NULL;
		for (const char *x = p; x < hend; x++)
			if (*x == '@')
				at = x;
		if (at) {
			const char *colon = memchr(p, ':', (size_t) (at - p));
			u->user           = pct_decode(
			              p, (size_t) ((colon ? colon : at) - p));
			if (colon)
				u->pass = pct_decode(
				    colon + 1, (size_t) (at - colon - 1));
			if (u->user == NULL || (colon && u->pass == NULL)) {
				snprintf(err, errlen,
				    "'%s': bad %%-escape in the user or "
				    "password",
				    shown);
				goto fail;
			}
			p = at + 1;
		}
		if (u->user == NULL || u->user[0] == 0) {
			/* the client library would log in as the OS user */
			snprintf(err, errlen, "'%s' names no user; %s", shown,
			    usage);
			goto fail;
		}
		const char *colon;
		if (*p == '[') { /* [IPv6 literal] */
			const char *rb = memchr(p, ']', (size_t) (hend - p));
			if (rb == NULL || (rb + 1 < hend && rb[1] != ':')) {
				snprintf(err, errlen,
				    "'%s': an IPv6 host is [address] or "
				    "[address]:port; %s",
				    shown, usage);
				goto fail;
			}
			u->host = ar_xstrndup(p + 1, (size_t) (rb - p - 1));
			colon   = rb + 1 < hend ? rb + 1 : NULL;
		} else {
			colon   = memchr(p, ':', (size_t) (hend - p));
			u->host = ar_xstrndup(
			    p, (size_t) ((colon ? colon : hend) - p));
		}
		if (colon && (u->port = parse_port(colon + 1, hend)) < 0) {
			snprintf(err, errlen,
			    "'%s': port must be 1..65535 (digits only); %s",
			    shown, usage);
			goto fail;
		}
		if (u->host[0] == 0) {
			snprintf(err, errlen, "'%s' names no host; %s", shown,
			    usage);
			goto fail;
		}
		if (slash)
			u->db = pct_decode(
			    slash + 1, (size_t) (end - slash - 1));
		else
			u->db = ar_xstrdup("");
		if (u->db == NULL) {
			snprintf(err, errlen, "'%s': bad %%-escape", shown);
			goto fail;
		}
		if (u->db[0] == 0) {
			snprintf(err, errlen,
			    "'%s' names no database "
			    "(mysql://user@host:port/DB)",
			    shown);
			goto fail;
		}
	} else {
		snprintf(err, errlen, "unknown database URL '%s'; %s", shown,
		    usage);
		goto fail;
	}
	if (q && parse_query(u, q + 1, shown, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	pj_store_url_fini(u);
	return PJ_STORE_EINVAL;
}
