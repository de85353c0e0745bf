/*
 * server/store_app.c - apps (with hashed secrets), oms_lock and server_info.
 *
 * Design notes
 * ------------
 * Kept from PowerJob: app_info with a unique app_name and current_server
 * (the owning server, changed by compare-and-set during election);
 * oms_lock's protocol (§1.4: insert; on a duplicate, delete only if expired
 * - now - gmt_create > max_lock_time - and insert once more); server ids in
 * 1..10000 reused from the smallest free one (§1.3).
 * Changed: PowerJob stores the app password in clear text; here only
 * "pbkdf2-sha256$ITER$SALT$HASH" (hex) is stored and compared in constant
 * time. Server ids are allocated by the UNIQUE key on server_id instead of
 * the global server_init_lock: two servers racing for one id get one
 * duplicate-key error and the loser picks the next free id.
 * OOM policy: ar_xmalloc aborts.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/store_impl.h"

#define SALT_BYTES 16
#define HASH_BYTES 32
#define SERVER_ALLOC_ATTEMPTS 64

/* ---- secrets ----------------------------------------------------------- */

static void
hex(const unsigned char *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i]     = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = 0;
}

static int
unhex(const char *s, size_t n, unsigned char *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char) v;
	}
	return 0;
}

int
pj_secret_hash(const char *secret, char *out, size_t outlen)
{
	unsigned char salt[SALT_BYTES], h[HASH_BYTES];
	char          sh[2 * SALT_BYTES + 1], hh[2 * HASH_BYTES + 1];
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return -1;
	if (PKCS5_PBKDF2_HMAC(secret, (int) strlen(secret), salt, sizeof(salt),
	        PJ_STORE_PBKDF2_ITER, EVP_sha256(), sizeof(h), h)
	    != 1)
		return -1;
	hex(salt, sizeof(salt), sh);
	hex(h, sizeof(h), hh);
	snprintf(out, outlen, "pbkdf2-sha256$%d$%s$%s", PJ_STORE_PBKDF2_ITER,
	    sh, hh);
	return 0;
}

/* 0 = match */
int
pj_secret_check(const char *secret, const char *stored)
{
	unsigned char salt[SALT_BYTES], want[HASH_BYTES], got[HASH_BYTES];
	int           iter = 0, n = 0;
	if (sscanf(stored, "pbkdf2-sha256$%d$%n", &iter, &n) != 1 || n == 0
	    || iter < 1
	    || strlen(stored + n) != 2 * SALT_BYTES + 1 + 2 * HASH_BYTES
	    || stored[n + 2 * SALT_BYTES] != '$'
	    || unhex(stored + n, SALT_BYTES, salt) != 0
	    || unhex(stored + n + 2 * SALT_BYTES + 1, HASH_BYTES, want) != 0)
		return -1;
	if (PKCS5_PBKDF2_HMAC(secret, (int) strlen(secret), salt, sizeof(salt),
	        iter, EVP_sha256(), sizeof(got), got)
	    != 1)
		return -1;
	return CRYPTO_memcmp(got, want, sizeof(got)) == 0 ? 0 : -1;
}

/* ---- apps --------------------------------------------------------------- */

#define APP_COLS                                                              \
	"id, app_name, current_server, title, tags, extra, creator, "         \
	"namespace_id, gmt_create, gmt_modified, password_hash"

struct app_row {
	struct pj_app *a;
	char          *hash;
	int            found;
};

static int
app_row(void *arg, const struct pj_val *c, int n)
{
	struct app_row *r = arg;
	(void) n;
	if (r->found++)
		return 0;
	r->a->id             = pj_c_i64(&c[0]);
	r->a->app_name       = pj_c_str(&c[1]);
	r->a->current_server = pj_c_str(&c[2]);
	r->a->title          = pj_c_str(&c[3]);
	r->a->tags           = pj_c_str(&c[4]);
	r->a->extra          = pj_c_str(&c[5]);
	r->a->creator        = pj_c_str(&c[6]);
	r->a->namespace_id   = pj_c_i64(&c[7]);
	r->a->gmt_create     = pj_c_i64(&c[8]);
	r->a->gmt_modified   = pj_c_i64(&c[9]);
	r->hash              = pj_c_str(&c[10]);
	return 0;
}

void
pj_app_fini(struct pj_app *a)
{
	free(a->app_name);
	free(a->current_server);
	free(a->title);
	free(a->tags);
	free(a->extra);
	free(a->creator);
	memset(a, 0, sizeof(*a));
}

int
pj_store_app_create(struct pj_store *s, const char *name, const char *secret,
    const char *title, int64_t now_ms, int64_t *id)
{
	char hash[256];
	int  rv;
	if (name == NULL || name[0] == 0 || secret == NULL || secret[0] == 0)
		return pj_store_fail(s, PJ_STORE_EINVAL,
		    "app_info: app name and secret must not be empty");
	const struct pj_field_check f[] = { { "app_name", name, PJ_F_NAME },
		{ "title", title, PJ_F_NAME } };
	if ((rv = pj_check_fields(s, "app_info", f, 2)) != 0)
		return rv;
	if (pj_secret_hash(secret, hash, sizeof(hash)) != 0)
		return pj_store_fail(s, PJ_STORE_EBACKEND,
		    "app_info: cannot hash the secret of app '%s' "
		    "(OpenSSL PBKDF2 failed)",
		    name);
	struct pj_val p[5] = { pj_p_text(name), pj_p_text(hash),
		pj_p_text(title), pj_p_int(now_ms), pj_p_int(now_ms) };
	rv                 = pj_sq_exec(s, NULL, 0, "app_info", -1,
	                    "INSERT INTO app_info (app_name, password_hash, title, extra, "
	                                    "gmt_create, gmt_modified) VALUES (?,?,?,'',?,?)",
	                    p, 5, NULL, NULL, NULL);
	if (rv == PJ_STORE_EDUP)
		return pj_store_fail(
		    s, rv, "app_info: an app named '%s' already exists", name);
	if (rv != 0)
		return rv;
	struct app_row r = { .a = &(struct pj_app) { 0 } };
	struct pj_val  q = pj_p_text(name);
	rv               = pj_sq_exec(s, NULL, PJ_Q_SAFE, "app_info", -1,
	                  "SELECT " APP_COLS " FROM app_info WHERE app_name = ?", &q, 1,
	                  app_row, &r, NULL);
	if (rv == 0 && id)
		*id = r.a->id;
	pj_app_fini(r.a);
	free(r.hash);
	return rv;
}

static int
app_get(struct pj_store *s, const char *where, struct pj_val *p, int64_t id,
    const char *name, struct pj_app *a, char **hash)
{
	struct app_row r = { .a = a };
	char           sql[256];
	int            rv;
	memset(a, 0, sizeof(*a));
	if (name
	    && (rv = pj_check_text(s, "app_info", "app_name", name, PJ_F_NAME))
	        != 0)
		return rv;
	snprintf(sql, sizeof(sql),
	    "SELECT " APP_COLS " FROM app_info WHERE %s", where);
	rv = pj_sq_exec(
	    s, NULL, PJ_Q_SAFE, "app_info", id, sql, p, 1, app_row, &r, NULL);
	if (rv == 0 && !r.found)
		rv = name
		    ? pj_store_fail(s, PJ_STORE_ENOTFOUND,
		        "app_info: no app named '%s'", name)
		    : pj_store_fail(s, PJ_STORE_ENOTFOUND,
		        "app_info (id %lld): no such app", (long long) id);
	if (hash && rv == 0)
		*hash = r.hash;
	else
		free(r.hash);
	return rv;
}

int
pj_store_app_find(struct pj_store *s, const char *name, struct pj_app *a)
{
	struct pj_val p = pj_p_text(name);
	return app_get(s, "app_name = ?", &p, -1, name ? name : "", a, NULL);
}

int
pj_store_app_get(struct pj_store *s, int64_t id, struct pj_app *a)
{
	struct pj_val p = pj_p_int(id);
	return app_get(s, "id = ?", &p, id, NULL, a, NULL);
}

int
pj_store_app_verify(
    struct pj_store *s, const char *name, const char *secret, int64_t *id)
{
	struct pj_app a;
	char         *hash = NULL;
	struct pj_val p    = pj_p_text(name);
	int           rv
	    = app_get(s, "app_name = ?", &p, -1, name ? name : "", &a, &hash);
	if (rv != 0)
		return rv;
	if (pj_secret_check(secret ? secret : "", hash) != 0)
		rv = pj_store_fail(s, PJ_STORE_EAUTH,
		    "app_info: wrong secret for app '%s'", name);
	else if (id)
		*id = a.id;
	free(hash);
	pj_app_fini(&a);
	return rv;
}

int
pj_store_app_secret_hash(
    struct pj_store *s, const char *name, int64_t *id, char **hash)
{
	struct pj_app a;
	struct pj_val p = pj_p_text(name);
	int           rv
	    = app_get(s, "app_name = ?", &p, -1, name ? name : "", &a, hash);
	if (rv == 0 && id)
		*id = a.id;
	pj_app_fini(&a);
	return rv;
}

int
pj_store_secret_check(const char *secret, const char *hash)
{
	return pj_secret_check(secret ? secret : "", hash ? hash : "");
}

int
pj_store_app_owner(struct pj_store *s, int64_t id, char **owner)
{
	struct pj_app a;
	int           rv = pj_store_app_get(s, id, &a);
	if (rv == 0) {
		*owner           = a.current_server;
		a.current_server = NULL;
	}
	pj_app_fini(&a);
	return rv;
}

int
pj_store_app_owner_cas(struct pj_store *s, int64_t id, const char *expected,
    const char *owner, int64_t now_ms)
{
	int64_t                     n    = 0;
	const struct pj_field_check f[2] = {
		{ "current_server", owner, PJ_F_NAME },
		{ "current_server", expected, PJ_F_NAME },
	};
	int rv = pj_check_fields(s, "app_info", f, 2);
	if (rv != 0)
		return rv;
	struct pj_val p[4] = { pj_p_text(owner), pj_p_int(now_ms),
		pj_p_int(id), pj_p_text(expected) };
	rv                 = pj_sq_exec(s, NULL, 0, "app_info", id,
	                    "UPDATE app_info SET current_server = ?, gmt_modified = ? "
	                                    "WHERE id = ? AND current_server = ?",
	                    p, 4, NULL, NULL, &n);
	if (rv != 0 || n == 1)
		return rv;
	char *cur = NULL;
	if ((rv = pj_store_app_owner(s, id, &cur)) != 0)
		return rv;
	rv = pj_store_fail(s, PJ_STORE_ECONFLICT,
	    "app_info (id %lld): owner is '%s', not the expected '%s'",
	    (long long) id, cur, expected ? expected : "");
	free(cur);
	return rv;
}

/* ---- locks -----------------------------------------------------------------
 */

struct lock_row {
	int64_t id, gmt_create, max_lock_time;
	int     found;
};

static int
lock_row_read(void *arg, const struct pj_val *c, int n)
{
	struct lock_row *r = arg;
	(void) n;
	r->id            = pj_c_i64(&c[0]);
	r->gmt_create    = pj_c_i64(&c[1]);
	r->max_lock_time = pj_c_i64(&c[2]);
	r->found         = 1;
	return 0;
}

/* Deletes lock `name` if it expired at now_ms (now - gmt_create >
 * max_lock_time); *n = rows deleted. The expiry is computed here, with
 * no arithmetic in SQL (MariaDB fails on a BIGINT overflow where SQLite
 * turns it into a double), and the row is deleted by its id, so a lock
 * somebody took meanwhile is never removed. */
static int
lock_delete_expired(
    struct pj_store *s, const char *name, int64_t now_ms, int64_t *n)
{
	struct lock_row r   = { 0 };
	struct pj_val   p   = pj_p_text(name);
	int64_t         age = 0;
	int             rv  = pj_sq_exec(s, NULL, PJ_Q_SAFE, "oms_lock", -1,
	                 "SELECT id, gmt_create, max_lock_time FROM oms_lock WHERE "
	                              "lock_name = ?",
	                 &p, 1, lock_row_read, &r, NULL);
	*n                  = 0;
	if (rv == 0 && !r.found)
		*n = 1; /* gone meanwhile: free, the caller inserts again */
	if (rv != 0 || !r.found)
		return rv;
	if (__builtin_sub_overflow(now_ms, r.gmt_create, &age))
		age = now_ms < 0 ? INT64_MIN : INT64_MAX;
	if (age <= r.max_lock_time) {
		*n = 0;
		return 0;
	}
	struct pj_val d[2] = { pj_p_int(r.id), pj_p_int(r.gmt_create) };
	return pj_sq_exec(s, NULL, PJ_Q_SAFE, "oms_lock", r.id,
	    "DELETE FROM oms_lock WHERE id = ? AND gmt_create = ?", d, 2, NULL,
	    NULL, n);
}

int
pj_store_lock_try(struct pj_store *s, const char *name, const char *owner,
    int64_t max_lock_ms, int64_t now_ms)
{
	struct pj_val ins[5] = { pj_p_text(name), pj_p_text(owner),
		pj_p_int(max_lock_ms), pj_p_int(now_ms), pj_p_int(now_ms) };
	int           rv;
	if (name == NULL || name[0] == 0)
		return pj_store_fail(
		    s, PJ_STORE_EINVAL, "oms_lock: empty lock name");
	if (max_lock_ms < 0)
		return pj_store_fail(s, PJ_STORE_EINVAL,
		    "oms_lock: lock '%s': max_lock_ms %lld is negative", name,
		    (long long) max_lock_ms);
	const struct pj_field_check f[2] = { { "lock_name", name, PJ_F_NAME },
		{ "ownerip", owner, PJ_F_NAME } };
	if ((rv = pj_check_fields(s, "oms_lock", f, 2)) != 0)
		return rv;
	for (int attempt = 0; attempt < 2; attempt++) {
		rv = pj_sq_exec(s, NULL, 0, "oms_lock", -1,
		    "INSERT INTO oms_lock (lock_name, ownerip, max_lock_time, "
		    "gmt_create, gmt_modified) VALUES (?,?,?,?,?)",
		    ins, 5, NULL, NULL, NULL);
		if (rv != PJ_STORE_EDUP || attempt > 0)
			break;
		/* held: take it over only if it expired */
		int64_t n = 0;
		rv        = lock_delete_expired(s, name, now_ms, &n);
		if (rv != 0)
			return rv;
		if (n == 0) {
			rv = PJ_STORE_EDUP;
			break;
		}
	}
	if (rv == PJ_STORE_EDUP)
		return pj_store_fail(s, rv,
		    "oms_lock: lock '%s' is held by another owner and has not "
		    "expired",
		    name);
	return rv;
}

int
pj_store_lock_unlock(struct pj_store *s, const char *name)
{
	struct pj_val p = pj_p_text(name);
	int rv = pj_check_text(s, "oms_lock", "lock_name", name, PJ_F_NAME);
	if (rv != 0)
		return rv;
	/* not retried: after a lost connection the lock may already belong
	 * to somebody else, and deleting by name again would free theirs */
	return pj_sq_exec(s, NULL, 0, "oms_lock", -1,
	    "DELETE FROM oms_lock WHERE lock_name = ?", &p, 1, NULL, NULL,
	    NULL);
}

int
pj_store_lock_release_owner(
    struct pj_store *s, const char *owner, int64_t *released)
{
	int64_t       n = 0;
	struct pj_val p = pj_p_text(owner);
	int rv = pj_check_text(s, "oms_lock", "ownerip", owner, PJ_F_NAME);
	if (rv == 0)
		rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "oms_lock", -1,
		    "DELETE FROM oms_lock WHERE ownerip = ?", &p, 1, NULL,
		    NULL, &n);
	if (rv == 0 && released)
		*released = n;
	return rv;
}

/* ---- server_info
 * ------------------------------------------------------------ */

static int
server_lookup(struct pj_store *s, const char *ip, int64_t *sid)
{
	struct pj_val p = pj_p_text(ip);
	*sid            = 0;
	return pj_sq_exec(s, NULL, PJ_Q_SAFE, "server_info", -1,
	    "SELECT server_id FROM server_info WHERE ip = ?", &p, 1,
	    pj_row_i64, sid, NULL);
}

int
pj_store_server_heartbeat(struct pj_store *s, const char *ip, int64_t now_ms)
{
	int64_t       n    = 0;
	struct pj_val p[2] = { pj_p_int(now_ms), pj_p_text(ip) };
	int rv = pj_check_text(s, "server_info", "ip", ip, PJ_F_NAME);
	if (rv == 0)
		rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "server_info", -1,
		    "UPDATE server_info SET gmt_modified = ? WHERE ip = ?", p,
		    2, NULL, NULL, &n);
	if (rv == 0 && n == 0)
		rv = pj_store_fail(s, PJ_STORE_ENOTFOUND,
		    "server_info: no server registered with ip '%s'", ip);
	return rv;
}

int
pj_store_server_register(struct pj_store *s, const char *ip, int64_t now_ms,
    int64_t stale_ms, int *server_id)
{
	int64_t sid = 0;
	int     rv;
	if (ip == NULL || ip[0] == 0)
		return pj_store_fail(
		    s, PJ_STORE_EINVAL, "server_info: empty server address");
	if (stale_ms < 0)
		return pj_store_fail(s, PJ_STORE_EINVAL,
		    "server_info: stale_ms %lld is negative",
		    (long long) stale_ms);
	if ((rv = pj_check_text(s, "server_info", "ip", ip, PJ_F_NAME)) != 0)
		return rv;
	for (int attempt = 0; attempt < SERVER_ALLOC_ATTEMPTS; attempt++) {
		if ((rv = server_lookup(s, ip, &sid)) != 0)
			return rv;
		if (sid > 0) {
			*server_id = (int) sid;
			return pj_store_server_heartbeat(s, ip, now_ms);
		}
		/* smallest free id in 1..max */
		int64_t       free_id = 0;
		struct pj_val m       = pj_p_int(PJ_STORE_SERVER_ID_MAX);
		rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "server_info", -1,
		    "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM server_info "
		    "WHERE server_id = 1) THEN 1 ELSE (SELECT MIN(a.server_id "
		    "+ "
		    "1) FROM server_info a WHERE a.server_id < ? AND NOT "
		    "EXISTS "
		    "(SELECT 1 FROM server_info b WHERE b.server_id = "
		    "a.server_id + 1)) END",
		    &m, 1, pj_row_i64, &free_id, NULL);
		if (rv != 0)
			return rv;
		if (free_id <= 0) {
			int64_t n = 0;
			int64_t before;
			if (__builtin_sub_overflow(now_ms, stale_ms, &before))
				before = INT64_MIN;
			struct pj_val d = pj_p_int(before);
			rv = pj_sq_exec(s, NULL, PJ_Q_SAFE, "server_info", -1,
			    "DELETE FROM server_info WHERE gmt_modified < ?",
			    &d, 1, NULL, NULL, &n);
			if (rv != 0)
				return rv;
			if (n == 0)
				return pj_store_fail(s, PJ_STORE_EFULL,
				    "server_info: all %d server ids are in "
				    "use and none is stale",
				    PJ_STORE_SERVER_ID_MAX);
			continue;
		}
		struct pj_val p[4] = { pj_p_text(ip), pj_p_int(free_id),
			pj_p_int(now_ms), pj_p_int(now_ms) };
		rv = pj_sq_exec(s, NULL, 0, "server_info", free_id,
		    "INSERT INTO server_info (ip, server_id, gmt_create, "
		    "gmt_modified) VALUES (?,?,?,?)",
		    p, 4, NULL, NULL, NULL);
		if (rv == 0) {
			*server_id = (int) free_id;
			return 0;
		}
		if (rv != PJ_STORE_EDUP)
			return rv;
		/* lost a race for this id or this ip: look again */
	}
	return pj_store_fail(s, PJ_STORE_EFULL,
	    "server_info: gave up allocating a server id for '%s' after %d "
	    "races",
	    ip, SERVER_ALLOC_ATTEMPTS);
}
