/*
 * proc_http.c - the HTTP processor: one HTTP request per task, described
 * by a JSON object in the parameters (instance params when not empty,
 * else job params):
 *
 *   {"method": "GET", "url": "example.com/x", "mediaType": "...",
 *    "body": "...", "headers": {"K": "V"}, "timeout": 60,
 *    "expectedStatus": 200}
 *
 * As PowerJob's HttpProcessor: GET by default, "http://" added when the
 * URL has no scheme, a non-GET request without a body sends "{}", a body
 * that is JSON goes as application/json unless mediaType says otherwise,
 * timeout in seconds (default 60).  Ours: the task succeeds iff the status
 * equals expectedStatus (default 200); the result is "code:%d, body:%s"
 * with the body cut at max_output_bytes.
 *
 * Design notes (threads): process() runs on a pool thread with its own
 * curl easy handle; the state is read-only after open, so any number of
 * tasks run at once.  The transfer gives up at the timeout, the task's
 * deadline or when ctx->stopping turns 1 (progress callback).  Only http
 * and https, also after redirects; TLS verification always on.
 */
#include "worker/proc_http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ar.h"
#include "worker/download.h"

#define PJ_HTTP_DEFAULT_TIMEOUT_S 60
#define PJ_HTTP_DEFAULT_STATUS 200
#define PJ_HTTP_MAX_REDIRS 5

struct hstate {
	char  *ca_file;
	size_t max_body; /* kept in the result */
};

int
pj_http_open(const struct pj_processor_config *c, void **state, char *err,
    size_t errlen)
{
	struct hstate *st = ar_xcalloc(1, sizeof(*st));

	(void) err, (void) errlen;
	st->ca_file = c->ca_file != NULL && c->ca_file[0] != '\0'
	    ? ar_xstrdup(c->ca_file)
	    : NULL;
	st->max_body
	    = c->max_output_bytes > 0 ? (size_t) c->max_output_bytes : 4096;
	*state = st;
	return 0;
}

static void
http_fini(void *state)
{
	struct hstate *st = state;

	if (st != NULL) {
		free(st->ca_file);
		free(st);
	}
}

struct body {
	pj_task_ctx *ctx;
	char        *p;
	size_t       len, cap, size;
	int64_t      total;
	int          stopped, deadline;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct body *b   = arg;
	size_t       len = size * n;

	for (size_t i = 0; i < len && b->len < b->cap; i++) {
		if (b->len + 1 >= b->size) { /* grow as used, room for NUL */
			b->size = b->size ? b->size * 2 : 4096;
			b->size = b->size < b->cap + 1 ? b->size : b->cap + 1;
			b->p    = ar_xrealloc(b->p, b->size);
		}
		b->p[b->len++] = p[i] == '\0' ? '?' : p[i];
	}
	b->total += (int64_t) len;
	return len;
}

static int
on_progress(
    void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct body *b = arg;

	(void) dt, (void) dn, (void) ut, (void) un;
	if (b->ctx->stopping(b->ctx)) {
		b->stopped = 1;
		return 1;
	}
	if (b->ctx->deadline_ms != 0 && ar_mono_ms() >= b->ctx->deadline_ms) {
		b->deadline = 1;
		return 1;
	}
	return 0;
}

static int
has_crlf(const char *s)
{
	return strchr(s, '\r') != NULL || strchr(s, '\n') != NULL;
}

static const char *
task_params(pj_task_ctx *ctx)
{
	if (ctx->instance_params != NULL && ctx->instance_params[0] != '\0') {
		return ctx->instance_params;
	}
	return ctx->job_params != NULL ? ctx->job_params : "";
}

/* the request as parsed from the parameters */
struct req {
	char               method[16];
	char              *url;
	char              *body; /* NULL: none */
	const char        *media;
	struct curl_slist *headers;
	int64_t            timeout_s;
	long               expected;
};

static int
parse(pj_task_ctx *ctx, json_t *o, struct req *q, char *err, size_t errlen)
{
	json_t     *x;
	const char *url, *key;
	json_t     *val;
	int         body_is_json = 0;

	memset(q, 0, sizeof(*q));
	strcpy(q->method, "GET");
	q->timeout_s = PJ_HTTP_DEFAULT_TIMEOUT_S;
	q->expected  = PJ_HTTP_DEFAULT_STATUS;
	(void) ctx;

	x = json_object_get(o, "url");
	if (!json_is_string(x) || (url = json_string_value(x))[0] == '\0') {
		snprintf(err, errlen, "\"url\" (a string) is required");
		return -1;
	}
	if (has_crlf(url) || strchr(url, ' ') != NULL) {
		snprintf(
		    err, errlen, "\"url\" contains spaces or line breaks");
		return -1;
	}
	if (strstr(url, "://") == NULL) {
		if (asprintf(&q->url, "http://%s", url) < 0) {
			abort();
		}
	} else {
		q->url = ar_xstrdup(url);
	}
	if ((x = json_object_get(o, "method")) != NULL && !json_is_null(x)) {
		const char *m = json_string_value(x);
		size_t      i = 0;

		if (m == NULL || m[0] == '\0'
		    || strlen(m) >= sizeof(q->method)) {
			snprintf(err, errlen,
			    "\"method\" must be a name like GET or POST");
			return -1;
		}
		for (; m[i] != '\0'; i++) {
			if (!isalpha((unsigned char) m[i])) {
				snprintf(err, errlen,
				    "\"method\" must be a name like GET or "
				    "POST");
				return -1;
			}
			q->method[i] = (char) toupper((unsigned char) m[i]);
		}
		q->method[i] = '\0';
	}
	if ((x = json_object_get(o, "timeout")) != NULL && !json_is_null(x)) {
		if (!json_is_integer(x) || json_integer_value(x) <= 0
		    || json_integer_value(x) > 86400) {
			snprintf(err, errlen,
			    "\"timeout\" must be seconds between 1 and 86400");
			return -1;
		}
		q->timeout_s = json_integer_value(x);
	}
	if ((x = json_object_get(o, "expectedStatus")) != NULL
	    && !json_is_null(x)) {
		if (!json_is_integer(x) || json_integer_value(x) < 100
		    || json_integer_value(x) > 599) {
			snprintf(err, errlen,
			    "\"expectedStatus\" must be an HTTP status "
			    "(100..599)");
			return -1;
		}
		q->expected = (long) json_integer_value(x);
	}
	if ((x = json_object_get(o, "mediaType")) != NULL
	    && !json_is_null(x)) {
		if (!json_is_string(x) || has_crlf(json_string_value(x))) {
			snprintf(err, errlen,
			    "\"mediaType\" must be a one-line string");
			return -1;
		}
		q->media = json_string_value(x);
	}
	if ((x = json_object_get(o, "body")) != NULL && !json_is_null(x)) {
		if (json_is_string(x)) {
			json_t *j = json_loads(
			    json_string_value(x), JSON_DECODE_ANY, NULL);

			body_is_json = j != NULL
			    && (json_is_object(j) || json_is_array(j));
			json_decref(j);
			q->body = ar_xstrdup(json_string_value(x));
		} else { /* an object or array given inline */
			q->body
			    = json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY);
			body_is_json = 1;
		}
	}
	if (strcmp(q->method, "GET") == 0 || strcmp(q->method, "HEAD") == 0) {
		free(q->body);
		q->body = NULL;
	} else if (q->body == NULL || q->body[0] == '\0') {
		free(q->body);
		q->body      = ar_xstrdup("{}");
		body_is_json = 1;
	}
	if (q->media == NULL && q->body != NULL) {
		q->media = body_is_json ? "application/json" : "text/plain";
	}
	if ((x = json_object_get(o, "headers")) != NULL && !json_is_null(x)) {
		if (!json_is_object(x)) {
			snprintf(err, errlen, "\"headers\" must be an object");
			return -1;
		}
		json_object_foreach(x, key, val)
		{
			char *line = NULL;

			if (!json_is_string(val) || key[0] == '\0'
			    || has_crlf(key) || strchr(key, ':') != NULL
			    || has_crlf(json_string_value(val))) {
				snprintf(err, errlen,
				    "header \"%.100s\" must be a name without "
				    "':' and a "
				    "one-line string value",
				    key);
				return -1;
			}
			if (asprintf(
			        &line, "%s: %s", key, json_string_value(val))
			    < 0) {
				abort();
			}
			q->headers = curl_slist_append(q->headers, line);
			free(line);
		}
	}
	if (q->media != NULL) {
		char *line = NULL;

		if (asprintf(&line, "Content-Type: %s", q->media) < 0) {
			abort();
		}
		q->headers = curl_slist_append(q->headers, line);
		free(line);
	}
	return 0;
}

static int
http_process(void *state, pj_task_ctx *ctx)
{
	const struct hstate *st     = state;
	const char          *params = task_params(ctx);
	char                 err[512], safe[512], cerr[CURL_ERROR_SIZE];
	json_error_t         je;
	json_t              *o = NULL;
	struct req           q;
	struct body          b;
	CURL                *h = NULL;
	CURLcode             cc;
	long                 status = 0;
	int64_t              limit_ms, t0;
	int                  ok = 0;

	memset(&q, 0, sizeof(q));
	memset(&b, 0, sizeof(b));
	cerr[0] = '\0';
	o       = json_loads(params, 0, &je);
	if (o == NULL || !json_is_object(o)) {
		ctx->set_result(ctx,
		    "http processor: the parameters must be a JSON object "
		    "like "
		    "{\"url\":\"host/path\",\"method\":\"GET\"}: %s",
		    o == NULL ? je.text : "not an object");
		goto done;
	}
	if (parse(ctx, o, &q, err, sizeof(err)) != 0) {
		ctx->set_result(ctx, "http processor: %s", err);
		goto done;
	}
	pj_url_redact(q.url, safe, sizeof(safe));
	limit_ms = q.timeout_s * 1000;
	if (ctx->deadline_ms != 0) {
		int64_t left = ctx->deadline_ms - ar_mono_ms();

		if (left <= 0) {
			ctx->set_result(ctx,
			    "http processor: %s %s not sent: the task's "
			    "deadline has "
			    "passed",
			    q.method, safe);
			goto done;
		}
		limit_ms = left < limit_ms ? left : limit_ms;
	}
	b.ctx  = ctx;
	b.cap  = st->max_body;
	b.p    = ar_xmalloc(1);
	b.size = 1;
	pj_curl_init();
	if ((h = curl_easy_init()) == NULL) {
		ctx->set_result(ctx, "http processor: out of memory");
		goto done;
	}
	curl_easy_setopt(h, CURLOPT_URL, q.url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long) PJ_HTTP_MAX_REDIRS);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long) limit_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, &b);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "pj-worker");
	if (strcmp(q.method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(q.method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q.method);
	}
	if (q.body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, q.body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t) strlen(q.body));
	}
	if (q.headers != NULL) {
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, q.headers);
	}
	pj_curl_tls(h, st->ca_file);
	ctx->log(ctx, PJ_LOG_INFO, "http: %s %s (timeout %lld ms)", q.method,
	    safe, (long long) limit_ms);
	t0 = ar_mono_ms();
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	b.p[b.len] = '\0';
	if (b.stopped) {
		ctx->set_result(ctx,
		    "http processor: %s %s stopped: the instance is "
		    "stopping",
		    q.method, safe);
	} else if (b.deadline) {
		ctx->set_result(ctx,
		    "http processor: %s %s failed: the task's deadline passed",
		    q.method, safe);
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		ctx->set_result(ctx,
		    "http processor: %s %s failed: no complete answer within "
		    "%lld "
		    "ms",
		    q.method, safe, (long long) limit_ms);
	} else if (cc != CURLE_OK) {
		ctx->set_result(ctx, "http processor: %s %s failed: %s%s%s",
		    q.method, safe, curl_easy_strerror(cc),
		    cerr[0] ? ": " : "", cerr);
	} else {
		ok = status == q.expected;
		ctx->set_result(ctx, "code:%ld, body:%s%s", status, b.p,
		    b.total > (int64_t) b.len ? "...[truncated]" : "");
	}
	ctx->log(ctx, ok ? PJ_LOG_INFO : PJ_LOG_WARN,
	    "http: %s %s -> %ld (expected %ld) after %lld ms, %lld body bytes",
	    q.method, safe, status, q.expected,
	    (long long) (ar_mono_ms() - t0), (long long) b.total);
done:
	if (h != NULL) {
		curl_easy_cleanup(h);
	}
	curl_slist_free_all(q.headers);
	free(q.url);
	free(q.body);
	free(b.p);
	json_decref(o);
	return ok;
}

const struct pj_processor_ops pj_http_processor = {
	.abi     = PJ_PROCESSOR_ABI,
	.name    = "http",
	.fini    = http_fini,
	.process = http_process,
};
