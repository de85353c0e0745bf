/*
 * server/logstore/logstore_mongo.c - the log store in MongoDB through
 * mongo-c-driver (libmongoc 1.23).
 *
 * Design notes
 * ------------
 * Layout: one collection, `instance_log` in the URI's database (default
 * "powerjob"), one document per line:
 *   { instanceId, seq, appId, logTime, logLevel, workerAddress, content }
 * (int64 except logLevel). Indexes, created at open or at the first write
 * that reaches the server:
 *   uidx01_instance_seq  {instanceId: 1, seq: 1} unique - a batch sent
 *                        twice adds nothing (the inserts are unordered, so
 *                        the duplicates fail alone with E11000, which
 *                        counts as success);
 *   idx01_instance_time  {instanceId: 1, logTime: 1, seq: 1} - reading
 *                        and paging one instance in order;
 *   idx02_time           {logTime: 1} - deletion by age.
 * Retention is the cleanup job's (pj_logstore_delete_before), not a TTL
 * index: a TTL deletes by each line's own time, so a long-running
 * instance would lose its first lines while it still runs, and the TTL
 * needs a BSON date where every other time here is int64 ms. One
 * retention number (--retention-days) then rules instances and logs on
 * both backends (docs/logstore.md).
 *
 * Connections: one mongoc_client_pool_t per store; each call pops a client
 * and pushes it back, so the handle is safe from any thread (the pool has
 * its own lock and background monitoring thread). The URI's options are
 * the driver's; only when the URI does not set them we choose
 * serverSelectionTimeoutMS=5000 and connectTimeoutMS=5000 (the driver's 30
 * s would hold the writer that long per attempt while MongoDB is down).
 * Errors: server selection and network failures are PJ_LOG_EDOWN (the
 * writer spools and retries), authentication PJ_LOG_EAUTH, the rest
 * PJ_LOG_EBACKEND with the server's message.
 * Driver messages (mongoc_log) are routed to ar_log, warnings and up.
 */
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/alloc.h"
#include "runtime/log.h"
#include "server/logstore/logstore.h"

#define COLL "instance_log"
#define DEFAULT_DB "powerjob"
#define DEFAULT_TIMEOUT_MS 5000
#define DEFAULT_POOL_MAX 16

struct mongols {
	mongoc_client_pool_t *pool;
	mongoc_uri_t         *uri;
	char                  db[128];
	atomic_int            indexed;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void
driver_log(
    mongoc_log_level_t level, const char *domain, const char *msg, void *arg)
{
	(void) arg;
	if (level <= MONGOC_LOG_LEVEL_WARNING)
		ar_log(level <= MONGOC_LOG_LEVEL_CRITICAL ? AR_LOG_ERROR
		                                          : AR_LOG_WARN,
		    "mongoc", "%s: %s", domain, msg);
}

static void
driver_init(void)
{
	mongoc_init();
	mongoc_log_set_handler(driver_log, NULL);
}

void
pj_logstore_mongo_release(void)
{
	/* libmongoc 1.x initialises itself when loaded (a library
	 * constructor) and keeps its counters in /dev/shm/mongoc-PID until
	 * mongoc_cleanup: a process killed with SIGKILL leaves the file
	 * behind, and a later process with the same pid warns on stderr.
	 * Released at once by a server that does not use MongoDB. */
	mongoc_cleanup();
}

static int
classify(const bson_error_t *e)
{
	if (e->domain == MONGOC_ERROR_CLIENT
	    && e->code == MONGOC_ERROR_CLIENT_AUTHENTICATE)
		return PJ_LOG_EAUTH;
	if (strstr(e->message, "uthentication failed") != NULL)
		return PJ_LOG_EAUTH;
	if (e->domain == MONGOC_ERROR_SERVER_SELECTION
	    || e->domain == MONGOC_ERROR_STREAM
	    || (e->domain == MONGOC_ERROR_CLIENT
	        && e->code == MONGOC_ERROR_CLIENT_NOT_READY))
		return PJ_LOG_EDOWN;
	return PJ_LOG_EBACKEND;
}

static int
mfail(const bson_error_t *e, const char *what, char *err, size_t errlen)
{
	int rv = classify(e);
	snprintf(err, errlen, "mongodb %s: %s%s", what, e->message,
	    rv == PJ_LOG_EDOWN       ? " (MongoDB unreachable)"
	        : rv == PJ_LOG_EAUTH ? " (check the URI's user, password and "
	                               "authSource)"
	                             : "");
	return rv;
}

static int
create_indexes(struct mongols *m, mongoc_client_t *c, char *err, size_t errlen)
{
	mongoc_collection_t *coll
	    = mongoc_client_get_collection(c, m->db, COLL);
	bson_error_t e;
	bson_t       reply,
	    *cmd = BCON_NEW("createIndexes", BCON_UTF8(COLL), "indexes", "[",
	        "{", "key", "{", "instanceId", BCON_INT32(1), "seq",
	        BCON_INT32(1), "}", "name", BCON_UTF8("uidx01_instance_seq"),
	        "unique", BCON_BOOL(true), "}", "{", "key", "{", "instanceId",
	        BCON_INT32(1), "logTime", BCON_INT32(1), "seq", BCON_INT32(1),
	        "}", "name", BCON_UTF8("idx01_instance_time"), "}", "{", "key",
	        "{", "logTime", BCON_INT32(1), "}", "name",
	        BCON_UTF8("idx02_time"), "}", "]");
	bool ok  = mongoc_collection_write_command_with_opts(
	     coll, cmd, NULL, &reply, &e);
	bson_destroy(&reply);
	bson_destroy(cmd);
	mongoc_collection_destroy(coll);
	if (!ok)
		return mfail(&e, "createIndexes", err, errlen);
	atomic_store(&m->indexed, 1);
	return 0;
}

int
pj_logstore_mongo_new(const char *url, void **impl, char *err, size_t errlen)
{
	struct mongols  *m;
	bson_error_t     e;
	mongoc_uri_t    *uri;
	mongoc_client_t *c;
	char             shown[256];
	int              rv;
	pthread_once(&init_once, driver_init);
	pj_logstore_url_redact(url, shown, sizeof(shown));
	if ((uri = mongoc_uri_new_with_error(url, &e)) == NULL) {
		snprintf(
		    err, errlen, "log store URL '%s': %s", shown, e.message);
		return PJ_LOG_EINVAL;
	}
	if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
		mongoc_uri_set_option_as_int32(uri,
		    MONGOC_URI_SERVERSELECTIONTIMEOUTMS, DEFAULT_TIMEOUT_MS);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS))
		mongoc_uri_set_option_as_int32(
		    uri, MONGOC_URI_CONNECTTIMEOUTMS, DEFAULT_TIMEOUT_MS);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_MAXPOOLSIZE))
		mongoc_uri_set_option_as_int32(
		    uri, MONGOC_URI_MAXPOOLSIZE, DEFAULT_POOL_MAX);
	m      = ar_xcalloc(1, sizeof(*m));
	m->uri = uri;
	snprintf(m->db, sizeof(m->db), "%s",
	    mongoc_uri_get_database(uri) && mongoc_uri_get_database(uri)[0]
	        ? mongoc_uri_get_database(uri)
	        : DEFAULT_DB);
	if ((m->pool = mongoc_client_pool_new_with_error(uri, &e)) == NULL) {
		snprintf(
		    err, errlen, "log store URL '%s': %s", shown, e.message);
		mongoc_uri_destroy(uri);
		free(m);
		return PJ_LOG_EINVAL;
	}
	mongoc_client_pool_set_error_api(m->pool, MONGOC_ERROR_API_VERSION_2);
	mongoc_client_pool_set_appname(m->pool, "pj-server");
	/* the start check: a ping, then the indexes */
	c           = mongoc_client_pool_pop(m->pool);
	bson_t ping = BSON_INITIALIZER, reply;
	BSON_APPEND_INT32(&ping, "ping", 1);
	bool ok = mongoc_client_command_simple(
	    c, "admin", &ping, NULL, &reply, &e);
	bson_destroy(&ping);
	bson_destroy(&reply);
	rv = ok ? create_indexes(m, c, err, errlen)
	        : mfail(&e, "ping", err, errlen);
	mongoc_client_pool_push(m->pool, c);
	if (rv == PJ_LOG_EDOWN) {
		ar_log(AR_LOG_WARN, "logstore",
		    "MongoDB %s does not answer (%s): starting anyway; log "
		    "lines are spooled until it does",
		    shown, err);
		rv = 0;
	}
	if (rv != 0) {
		char why[512];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "log store %s: %s", shown, why);
		mongoc_client_pool_destroy(m->pool);
		mongoc_uri_destroy(uri);
		free(m);
		return rv;
	}
	*impl = m;
	return 0;
}

static void
mongo_close(void *impl)
{
	struct mongols *m = impl;
	mongoc_client_pool_destroy(m->pool);
	mongoc_uri_destroy(m->uri);
	free(m);
}

/* the reply of an unordered insert: only E11000 errors (duplicates) */
static int
only_duplicates(const bson_t *reply, char *err, size_t errlen)
{
	bson_iter_t it, a, d;
	if (bson_iter_init_find(&it, reply, "writeConcernErrors")
	    && BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &a)
	    && bson_iter_next(&a)) {
		snprintf(err, errlen, "mongodb insert: write concern error");
		return PJ_LOG_EBACKEND;
	}
	if (!bson_iter_init_find(&it, reply, "writeErrors")
	    || !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &a))
		return -1; /* not a write error at all */
	while (bson_iter_next(&a)) {
		int32_t     code = 0;
		const char *msg  = "";
		if (!bson_iter_recurse(&a, &d))
			continue;
		while (bson_iter_next(&d)) {
			if (strcmp(bson_iter_key(&d), "code") == 0)
				code = (int32_t) bson_iter_as_int64(&d);
			else if (strcmp(bson_iter_key(&d), "errmsg") == 0
			    && BSON_ITER_HOLDS_UTF8(&d))
				msg = bson_iter_utf8(&d, NULL);
		}
		if (code != 11000 && code != 11001) {
			snprintf(err, errlen, "mongodb insert: error %d: %s",
			    (int) code, msg);
			return PJ_LOG_EBACKEND;
		}
	}
	return 0;
}

static int
check_text(
    const char *s, const char *field, size_t max, char *err, size_t errlen)
{
	size_t n = s ? strlen(s) : 0;
	if (n > max) {
		snprintf(err, errlen,
		    "instance_log.%s: %zu bytes, at most %zu", field, n, max);
		return PJ_LOG_EINVAL;
	}
	if (n && !bson_utf8_validate(s, n, false)) {
		snprintf(
		    err, errlen, "instance_log.%s: not valid UTF-8", field);
		return PJ_LOG_EINVAL;
	}
	return 0;
}

static int
mongo_append(
    void *impl, const struct pj_logline *v, size_t n, char *err, size_t errlen)
{
	struct mongols *m = impl;
	bson_error_t    e;
	bson_t          reply;
	int             rv = 0;
	for (size_t k = 0; k < n && rv == 0; k++) {
		if ((rv = check_text(v[k].content, "content",
		         PJ_STORE_LONGTEXT_MAX, err, errlen))
		    == 0)
			rv = check_text(v[k].worker_address, "workerAddress",
			    PJ_STORE_NAME_MAX * 4, err, errlen);
	}
	if (rv != 0)
		return rv;
	mongoc_client_t *c = mongoc_client_pool_pop(m->pool);
	if (!atomic_load(&m->indexed)
	    && (rv = create_indexes(m, c, err, errlen)) != 0) {
		mongoc_client_pool_push(m->pool, c);
		return rv;
	}
	bson_t        *docs = ar_xcalloc(n, sizeof(*docs));
	const bson_t **pv   = ar_xcalloc(n, sizeof(*pv));
	for (size_t k = 0; k < n; k++) {
		bson_t *d = &docs[k];
		bson_init(d);
		BSON_APPEND_INT64(d, "instanceId", v[k].instance_id);
		BSON_APPEND_INT64(
		    d, "seq", v[k].seq ? v[k].seq : pj_logseq_unnumbered());
		BSON_APPEND_INT64(d, "appId", v[k].app_id);
		BSON_APPEND_INT64(d, "logTime", v[k].log_time);
		BSON_APPEND_INT32(d, "logLevel", v[k].log_level);
		BSON_APPEND_UTF8(d, "workerAddress",
		    v[k].worker_address ? v[k].worker_address : "");
		BSON_APPEND_UTF8(
		    d, "content", v[k].content ? v[k].content : "");
		pv[k] = d;
	}
	mongoc_collection_t *coll
	    = mongoc_client_get_collection(c, m->db, COLL);
	bson_t opts = BSON_INITIALIZER;
	BSON_APPEND_BOOL(&opts, "ordered", false);
	if (!mongoc_collection_insert_many(coll, pv, n, &opts, &reply, &e)) {
		rv = only_duplicates(&reply, err, errlen);
		if (rv < 0)
			rv = mfail(&e, "insert", err, errlen);
	}
	bson_destroy(&reply);
	bson_destroy(&opts);
	mongoc_collection_destroy(coll);
	mongoc_client_pool_push(m->pool, c);
	for (size_t k = 0; k < n; k++)
		bson_destroy(&docs[k]);
	free(docs);
	free(pv);
	return rv;
}

static char *
dup_utf8(bson_iter_t *it)
{
	uint32_t    len = 0;
	const char *s
	    = BSON_ITER_HOLDS_UTF8(it) ? bson_iter_utf8(it, &len) : "";
	char *out = ar_xmalloc(len + 1);
	memcpy(out, s, len);
	out[len] = 0;
	return out;
}

static void
line_of(const bson_t *doc, struct pj_log_line *x)
{
	bson_iter_t it;
	memset(x, 0, sizeof(*x));
	if (!bson_iter_init(&it, doc))
		return;
	while (bson_iter_next(&it)) {
		const char *k = bson_iter_key(&it);
		if (strcmp(k, "instanceId") == 0)
			x->instance_id = bson_iter_as_int64(&it);
		else if (strcmp(k, "seq") == 0)
			x->id = bson_iter_as_int64(&it);
		else if (strcmp(k, "logTime") == 0)
			x->log_time = bson_iter_as_int64(&it);
		else if (strcmp(k, "logLevel") == 0)
			x->log_level = (int) bson_iter_as_int64(&it);
		else if (strcmp(k, "content") == 0 && !x->content)
			x->content = dup_utf8(&it);
		else if (strcmp(k, "workerAddress") == 0 && !x->worker_address)
			x->worker_address = dup_utf8(&it);
	}
	if (!x->content)
		x->content = ar_xstrdup("");
	if (!x->worker_address)
		x->worker_address = ar_xstrdup("");
}

static int
find(struct mongols *m, const bson_t *filter, int64_t skip, int limit,
    struct pj_log_list *out, char *err, size_t errlen)
{
	mongoc_client_t     *c = mongoc_client_pool_pop(m->pool);
	mongoc_collection_t *coll
	    = mongoc_client_get_collection(c, m->db, COLL);
	bson_t *opts = BCON_NEW("sort", "{", "logTime", BCON_INT32(1), "seq",
	    BCON_INT32(1), "}", "limit", BCON_INT64(limit), "skip",
	    BCON_INT64(skip), "projection", "{", "_id", BCON_INT32(0), "}");
	mongoc_cursor_t *cur
	    = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	bson_error_t  e;
	int           rv = 0;
	while (mongoc_cursor_next(cur, &doc)) {
		out->v = ar_xrealloc(out->v, sizeof(*out->v) * (out->n + 1));
		line_of(doc, &out->v[out->n++]);
	}
	if (mongoc_cursor_error(cur, &e)) {
		rv = mfail(&e, "find", err, errlen);
		pj_log_list_fini(out);
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
	mongoc_client_pool_push(m->pool, c);
	return rv;
}

static int
mongo_read(void *impl, int64_t instance_id, int64_t after_time,
    int64_t after_key, int limit, struct pj_log_list *out, char *err,
    size_t errlen)
{
	/* logTime >= t bounds the index range; the $or drops the lines of
	 * time t up to the cursor's seq */
	bson_t *f  = BCON_NEW("instanceId", BCON_INT64(instance_id), "logTime",
	     "{", "$gte", BCON_INT64(after_time), "}", "$or", "[", "{",
	     "logTime", "{", "$gt", BCON_INT64(after_time), "}", "}", "{",
	     "seq", "{", "$gt", BCON_INT64(after_key), "}", "}", "]");
	int     rv = find(impl, f, 0, limit, out, err, errlen);
	bson_destroy(f);
	return rv;
}

static int
mongo_page(void *impl, int64_t instance_id, int64_t first, int limit,
    struct pj_log_list *out, char *err, size_t errlen)
{
	bson_t *f  = BCON_NEW("instanceId", BCON_INT64(instance_id));
	int     rv = find(impl, f, first, limit, out, err, errlen);
	bson_destroy(f);
	return rv;
}

static int
mongo_count(
    void *impl, int64_t instance_id, int64_t *n, char *err, size_t errlen)
{
	struct mongols      *m = impl;
	mongoc_client_t     *c = mongoc_client_pool_pop(m->pool);
	mongoc_collection_t *coll
	    = mongoc_client_get_collection(c, m->db, COLL);
	bson_t      *f = BCON_NEW("instanceId", BCON_INT64(instance_id));
	bson_error_t e;
	int64_t      r
	    = mongoc_collection_count_documents(coll, f, NULL, NULL, NULL, &e);
	bson_destroy(f);
	mongoc_collection_destroy(coll);
	mongoc_client_pool_push(m->pool, c);
	if (r < 0)
		return mfail(&e, "count", err, errlen);
	*n = r;
	return 0;
}

static int
delete_where(struct mongols *m, const bson_t *f, int64_t *deleted, char *err,
    size_t errlen)
{
	mongoc_client_t     *c = mongoc_client_pool_pop(m->pool);
	mongoc_collection_t *coll
	    = mongoc_client_get_collection(c, m->db, COLL);
	bson_error_t e;
	bson_t       reply;
	bson_iter_t  it;
	int          rv = 0;
	if (!mongoc_collection_delete_many(coll, f, NULL, &reply, &e))
		rv = mfail(&e, "delete", err, errlen);
	else if (bson_iter_init_find(&it, &reply, "deletedCount"))
		*deleted = bson_iter_as_int64(&it);
	bson_destroy(&reply);
	mongoc_collection_destroy(coll);
	mongoc_client_pool_push(m->pool, c);
	return rv;
}

static int
mongo_delete_instance(void *impl, int64_t instance_id, int64_t *deleted,
    char *err, size_t errlen)
{
	bson_t *f  = BCON_NEW("instanceId", BCON_INT64(instance_id));
	int     rv = delete_where(impl, f, deleted, err, errlen);
	bson_destroy(f);
	return rv;
}

static int
mongo_delete_before(
    void *impl, int64_t before_ms, int64_t *deleted, char *err, size_t errlen)
{
	bson_t *f
	    = BCON_NEW("logTime", "{", "$lt", BCON_INT64(before_ms), "}");
	int rv = delete_where(impl, f, deleted, err, errlen);
	bson_destroy(f);
	return rv;
}

const struct pj_logstore_ops pj_logstore_mongo_ops = {
	.name            = "mongodb",
	.append          = mongo_append,
	.read            = mongo_read,
	.page            = mongo_page,
	.count           = mongo_count,
	.delete_instance = mongo_delete_instance,
	.delete_before   = mongo_delete_before,
	.close           = mongo_close,
};
