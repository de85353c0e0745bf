/*
 * download.c - script downloads (http, https, ftp) with libcurl.
 *
 * Design notes (threads): pj_download runs on the calling pool thread and
 * blocks it for at most the smaller of the time limit and the task's
 * deadline; every call has its own easy handle, so any number run at
 * once.  curl_global_init is not thread-safe, hence pj_curl_init behind
 * pthread_once; CURLOPT_NOSIGNAL keeps libcurl away from SIGALRM (other
 * threads).  The progress callback polls ctx->stopping so a stopped
 * instance does not wait for its download.
 *
 * Safety: only http, https and ftp (also after redirects, at most
 * PJ_DOWNLOAD_MAX_REDIRS); TLS peer and host verification always on, an
 * extra CA file only adds trust (libcurl keeps the system CA path next to
 * CURLOPT_CAINFO); the size limit holds whether or not the server says
 * the length in advance; the file appears under its name only complete
 * (written to a temporary name, then renamed).
 */
#include "worker/download.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "runtime/ar.h"

#define PJ_DOWNLOAD_MAX_REDIRS 5
#define PJ_DOWNLOAD_CONNECT_TIMEOUT_MS 5000 /* PowerJob: connect 5 s */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
pj_curl_init(void)
{
	pthread_once(&curl_once, curl_init_once);
}

int
pj_url_scheme_ok(const char *text)
{
	return strncasecmp(text, "http://", 7) == 0
	    || strncasecmp(text, "https://", 8) == 0
	    || strncasecmp(text, "ftp://", 6) == 0;
}

void
pj_url_redact(const char *url, char *out, size_t outlen)
{
	CURLU *u      = curl_url();
	char  *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	char  *query = NULL;

	if (u == NULL
	    || curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME)
	        != CURLUE_OK
	    || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
	    || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(out, outlen, "(an invalid URL)");
		goto done;
	}
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	snprintf(out, outlen, "%s://%s%s%s%s%s", scheme, host,
	    port != NULL ? ":" : "", port != NULL ? port : "",
	    path != NULL ? path : "/", query != NULL ? "?…" : "");
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
}

void
pj_curl_tls(void *h, const char *ca_file)
{
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_file != NULL && ca_file[0] != '\0') {
		/* replaces the CA bundle; the CA path (/etc/ssl/certs on
		 * Debian's libcurl) still holds the system's CAs */
		curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
	}
}

struct dl {
	pj_task_ctx *ctx;
	FILE        *f;
	int64_t      got, max;
	int          too_big, stopped, deadline, io_error;
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct dl *d   = arg;
	size_t     len = size * n;

	if (d->got + (int64_t) len > d->max) {
		d->too_big = 1;
		return 0; /* CURLE_WRITE_ERROR */
	}
	if (fwrite(p, 1, len, d->f) != len) {
		d->io_error = errno != 0 ? errno : EIO;
		return 0;
	}
	d->got += (int64_t) len;
	return len;
}

static int
on_progress(
    void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct dl *d = arg;

	(void) dt, (void) dn, (void) ut, (void) un;
	if (d->ctx == NULL) {
		return 0;
	}
	if (d->ctx->stopping(d->ctx)) {
		d->stopped = 1;
		return 1;
	}
	if (d->ctx->deadline_ms != 0 && ar_mono_ms() >= d->ctx->deadline_ms) {
		d->deadline = 1;
		return 1;
	}
	return 0;
}

int
pj_download(pj_task_ctx *ctx, const char *url, const char *path,
    int64_t max_bytes, int64_t timeout_ms, const char *ca_file, char *err,
    size_t errlen)
{
	char      safe[512], tmp[4096], cerr[CURL_ERROR_SIZE];
	struct dl d;
	CURL     *h  = NULL;
	int       fd = -1, rc = -1;
	CURLcode  cc;
	long      status = 0;
	int64_t   limit  = timeout_ms;

	memset(&d, 0, sizeof(d));
	cerr[0] = '\0';
	pj_url_redact(url, safe, sizeof(safe));
	if (!pj_url_scheme_ok(url)) {
		snprintf(err, errlen,
		    "script download from %s refused: only http, https and "
		    "ftp "
		    "URLs are allowed",
		    safe);
		return -1;
	}
	if (ctx != NULL && ctx->deadline_ms != 0) {
		int64_t left = ctx->deadline_ms - ar_mono_ms();

		if (left <= 0) {
			snprintf(err, errlen,
			    "script download from %s not started: the task's "
			    "deadline has passed",
			    safe);
			return -1;
		}
		if (limit <= 0 || left < limit) {
			limit = left;
		}
	}
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int) sizeof(tmp)
	    || (fd = mkstemp(tmp)) < 0 || (d.f = fdopen(fd, "wb")) == NULL) {
		int e = errno;

		snprintf(err, errlen,
		    "script download from %s: cannot create %s: %s", safe, tmp,
		    strerror(e));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		errno = e;
		return -2;
	}
	d.ctx = ctx;
	d.max = max_bytes > 0 ? max_bytes : INT64_MAX;
	pj_curl_init();
	if ((h = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "script download from %s: out of memory",
		    safe);
		goto done;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,ftp");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https,ftp");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long) PJ_DOWNLOAD_MAX_REDIRS);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &d);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, &d);
	if (max_bytes > 0) {
		curl_easy_setopt(
		    h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) max_bytes);
	}
	if (limit > 0) {
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long) limit);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
		    (long) (limit < PJ_DOWNLOAD_CONNECT_TIMEOUT_MS
		            ? limit
		            : PJ_DOWNLOAD_CONNECT_TIMEOUT_MS));
	}
	curl_easy_setopt(h, CURLOPT_USERAGENT, "pj-worker");
	pj_curl_tls(h, ca_file);

	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (cc == CURLE_OK && fflush(d.f) != 0) {
		d.io_error = errno;
	}
	if (d.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(err, errlen,
		    "script download from %s failed: larger than the limit of "
		    "%lld bytes",
		    safe, (long long) max_bytes);
	} else if (d.stopped) {
		snprintf(err, errlen,
		    "script download from %s stopped: the instance is "
		    "stopping",
		    safe);
	} else if (d.deadline) {
		snprintf(err, errlen,
		    "script download from %s failed: the task's deadline "
		    "passed",
		    safe);
	} else if (d.io_error != 0) {
		snprintf(err, errlen,
		    "script download from %s: writing %s: %s", safe, tmp,
		    strerror(d.io_error));
	} else if (cc == CURLE_HTTP_RETURNED_ERROR) {
		snprintf(err, errlen,
		    "script download from %s failed: the server answered HTTP "
		    "%ld",
		    safe, status);
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(err, errlen,
		    "script download from %s failed: no complete answer "
		    "within "
		    "%lld ms",
		    safe, (long long) limit);
	} else if (cc != CURLE_OK) {
		snprintf(err, errlen, "script download from %s failed: %s%s%s",
		    safe, curl_easy_strerror(cc), cerr[0] != '\0' ? ": " : "",
		    cerr);
	} else if (d.got == 0) {
		snprintf(err, errlen,
		    "script download from %s: the script is empty", safe);
	} else {
		rc = 0;
	}
done:
	if (h != NULL) {
		curl_easy_cleanup(h);
	}
	fclose(d.f);
	if (rc == 0 && rename(tmp, path) != 0) {
		snprintf(err, errlen,
		    "script download from %s: rename to %s: %s", safe, path,
		    strerror(errno));
		rc = -1;
	}
	if (rc != 0) {
		unlink(tmp);
	}
	return rc;
}
