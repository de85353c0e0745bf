/*
 * server/store/store_impl.h - internals shared by the store's files: the
 * handle, its connection pool, the one statement runner every query goes
 * through and small helpers to bind parameters and read columns.
 *
 * Design notes: see server/store/store.h. Queries are written once here and in
 * store_{app,job,instance,workflow}.c; the backends only run statements.
 * OOM policy: runtime/alloc.h's ar_xmalloc and friends abort on failure.
 */
#ifndef PJ_SERVER_STORE_IMPL_H
#define PJ_SERVER_STORE_IMPL_H

#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#include "runtime/alloc.h"
#include "server/store/store.h"

#define PJ_STORE_POOL_MAX 64
#define PJ_STORE_ERRLEN 512

struct pj_pool_slot {
	void *conn;
	int   busy;
};

struct pj_store {
	const struct pj_store_ops *ops;
	struct pj_store_url        url;
	pthread_mutex_t            mtx;
	pthread_cond_t             cv;
	int                        nslots;
	struct pj_pool_slot        slots[PJ_STORE_POOL_MAX];
};

/* A borrowed connection (for transactions and multi-statement calls).
 * retry is set when a statement on it lost a deadlock: the
 * transaction is void and may be run again (pj_sq_txn does). */
struct pj_conn {
	struct pj_store *s;
	int              slot;
	int              retry;
};

/* how often a statement or transaction that lost a deadlock is run again */
#define PJ_STORE_DEADLOCK_ATTEMPTS 20

/* statement flags */
enum {
	PJ_Q_SAFE = 1, /* safe to retry after a lost connection */
};

/* URLs (store.c): parse into u (0 or PJ_STORE_EINVAL with err filled,
 * never quoting the password); free with pj_store_url_fini. */
int pj_store_url_parse(
    const char *url, struct pj_store_url *u, char *err, size_t errlen);
void pj_store_url_fini(struct pj_store_url *u);
/* url with its password replaced by "***" */
void pj_store_url_redact(const char *url, char *out, size_t n);

/* Records the calling thread's error for s; returns rv. The arguments may
 * include pj_store_errmsg(s) (the previous message, wrapped in context). */
int pj_store_fail(struct pj_store *s, int rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int  pj_conn_get(struct pj_store *s, struct pj_conn *c);
void pj_conn_put(struct pj_conn *c, int broken);

/* Runs one statement. c == NULL borrows a connection for the call (and
 * retries once on a fresh one when allowed, and again after a lost
 * deadlock: an autocommitted statement was rolled back whole). Inside a
 * transaction (c != NULL) a lost deadlock sets c->retry and returns
 * PJ_STORE_EBACKEND. On failure the error names `table` and `id` (id < 0 =
 * none). */
int pj_sq_exec(struct pj_store *s, struct pj_conn *c, unsigned flags,
    const char *table, int64_t id, const char *sql,
    const struct pj_val *params, int np, pj_row_fn fn, void *arg,
    int64_t *affected);
/* Runs an INSERT and reads the new row's id on the same connection. */
int pj_sq_insert_id(struct pj_store *s, const char *table, const char *sql,
    const struct pj_val *params, int np, int64_t *id);
/* Runs body(s, c, arg) inside one transaction and commits; rolls back on
 * failure. A transaction that lost a deadlock is run again from the start
 * (body must be safe to repeat). */
typedef int (*pj_txn_fn)(struct pj_store *s, struct pj_conn *c, void *arg);
int  pj_sq_txn(struct pj_store *s, pj_txn_fn body, void *arg);
int  pj_sq_begin(struct pj_store *s, struct pj_conn *c);
int  pj_sq_commit(struct pj_store *s, struct pj_conn *c);
void pj_sq_rollback(struct pj_store *s, struct pj_conn *c);

/* Plan capture, for tests and benchmarks only: while a buffer is set for
 * the calling thread (len > 0), pj_sq_exec does not run its statement but
 * its plan - `EXPLAIN QUERY PLAN` (SQLite) / `EXPLAIN` (MySQL) with the same
 * parameters - and appends each plan row to buf as one line of
 * '|'-separated columns (NULL as "NULL"); the caller's row callback is not
 * called. pj_store_explain_to(NULL, 0) turns it off. */
void pj_store_explain_to(char *buf, size_t len);

/* single-value readers (rows callback helpers) */
int pj_row_i64(void *arg, const struct pj_val *cols, int ncols);

static inline struct pj_val
pj_p_int(int64_t v)
{
	struct pj_val p = { .type = PJ_VAL_INT, .i = v };
	return p;
}
static inline struct pj_val
pj_p_dbl(double v)
{
	struct pj_val p = { .type = PJ_VAL_DBL, .d = v };
	return p;
}
/* NULL pointers bind as "" (text columns are NOT NULL DEFAULT '') */
struct pj_val pj_p_text(const char *v);
/* 0 binds as SQL NULL (optional times and ids) */
static inline struct pj_val
pj_p_int_or_null(int64_t v)
{
	struct pj_val p = { .type = v ? PJ_VAL_INT : PJ_VAL_NULL, .i = v };
	return p;
}

static inline int64_t
pj_c_i64(const struct pj_val *c)
{
	if (c->type == PJ_VAL_INT)
		return c->i;
	if (c->type == PJ_VAL_DBL)
		return (int64_t) c->d;
	return 0;
}
static inline double
pj_c_dbl(const struct pj_val *c)
{
	if (c->type == PJ_VAL_DBL)
		return c->d;
	if (c->type == PJ_VAL_INT)
		return (double) c->i;
	return 0;
}
char *pj_c_str(const struct pj_val *c);
/* Row callback that appends a log line (columns id, instance_id,
 * log_time, log_level, content, worker_address) to a struct pj_log_list;
 * shared by the store's log reads and the SQL log store. */
int pj_log_row(void *arg, const struct pj_val *c, int n);

/* growable SQL text built only from the store's own fragments */
struct pj_sql {
	char  *b;
	size_t n, cap;
};
void pj_sql_add(struct pj_sql *q, const char *frag);
void pj_sql_addf(struct pj_sql *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* appends "FROM table" and, when index is not NULL, the backend's hint
 * that makes the planner use that index (pj_store_ops.index_hint) */
void pj_sql_from(struct pj_sql *q, struct pj_store *s, const char *table,
    const char *index);
/* appends "(?,?,...,?)" with n marks */
void pj_sql_marks(struct pj_sql *q, size_t n);
void pj_sql_fini(struct pj_sql *q);

/* growable parameter array */
struct pj_params {
	struct pj_val *v;
	int            n, cap;
};
void pj_params_add(struct pj_params *p, struct pj_val v);
void pj_params_fini(struct pj_params *p);
/* batches of ids: m rounded up to a power of two, and "(?,...,?)" for
 * ids[0..m) padded so (the last id repeated: the same set), bound into pp;
 * a connection then prepares a few shapes, not one per batch size */
size_t pj_pad_pow2(size_t m);
void   pj_sql_ids_padded(
      struct pj_sql *q, struct pj_params *pp, const int64_t *ids, size_t m);
/* qsort order of int64_t */
int pj_cmp_i64(const void *a, const void *b);

/* ---- value checks (store_check.c): the limits of store.h, "Limits" ---- */
enum pj_field_kind {
	PJ_F_NAME = 1, /* PJ_STORE_NAME_MAX characters */
	PJ_F_ZONE,     /* PJ_STORE_ZONE_MAX characters */
	PJ_F_TEXT,     /* PJ_STORE_TEXT_MAX bytes */
	PJ_F_LONGTEXT, /* PJ_STORE_LONGTEXT_MAX bytes */
};
struct pj_field_check {
	const char        *field;
	const char        *v; /* NULL = "" */
	enum pj_field_kind kind;
};
/* 0, or PJ_STORE_EINVAL naming table.field (too long, not UTF-8) */
int pj_check_text(struct pj_store *s, const char *table, const char *field,
    const char *v, enum pj_field_kind kind);
int pj_check_fields(struct pj_store *s, const char *table,
    const struct pj_field_check *f, size_t n);
/* a LIKE pattern: UTF-8, and '!' only before %, _ or ! */
int pj_check_like(struct pj_store *s, const char *table, const char *field,
    const char *pattern);
/* finite doubles only (SQLite turns NaN into NULL, MariaDB refuses it) */
int pj_check_double(
    struct pj_store *s, const char *table, const char *field, double v);
int pj_check_instance(struct pj_store *s, const struct pj_instance *i);
int pj_check_transition(struct pj_store *s, int64_t instance_id,
    const struct pj_instance *set, unsigned mask);
int pj_check_log(struct pj_store *s, const struct pj_log_line *l);

static inline size_t
pj_text_len(const char *v)
{
	return v ? strlen(v) : 0;
}

/* ---- instance_info rows (store_instance.c, store_instance_list.c) ---- */
#define PJ_INST_COLS                                                          \
	"instance_id, job_id, app_id, type, wf_instance_id, status, "         \
	"job_params, instance_params, result, fire_time, "                    \
	"expected_trigger_time, actual_trigger_time, finished_time, "         \
	"last_report_time, task_tracker_address, running_times, "             \
	"gmt_create, gmt_modified"
#define PJ_INST_LIMIT_MAX 5000
/* A job's instances by status (store_instance_list.c): the index for
 * statuses lo..hi and, in *cond, the condition to write into the
 * statement with it, or "". MariaDB: idx01 (job_id, status). SQLite: two
 * partial indexes on (job_id, status), idx01 for the live statuses
 * (WAITING_DISPATCH, WAITING_WORKER_RECEIVE, RUNNING: below 4) and idx06
 * for the others (migration 0008), which SQLite uses only when the
 * statement has the index's condition word for word (PJ_INST_LIVE,
 * PJ_INST_NOT_LIVE). NULL when lo..hi spans both (no such query is
 * built). The unary + keeps the planner from taking the condition for a
 * range of the index: given "status >= 4" beside "status = ?", SQLite
 * searched the range and sorted; "status IN (1, 2, 3)" cost a third more
 * CPU per batched lifecycle than "+status < 4". */
#define PJ_INST_LIVE_BELOW 4
#define PJ_INST_LIVE " AND +status < 4"
#define PJ_INST_NOT_LIVE " AND +status >= 4"
const char *pj_job_status_index(
    struct pj_store *s, int lo, int hi, const char **cond);
/* a row callback appending "SELECT id, " PJ_INST_COLS rows to a
 * struct pj_instance_list */
int pj_inst_list_row(void *arg, const struct pj_val *c, int n);
/* runs a built instance query into out and frees the query; out is
 * emptied on failure */
int pj_inst_list_run(struct pj_store *s, struct pj_sql *q,
    struct pj_params *pp, struct pj_instance_list *out);

/* password hashing (store_app.c) */
int pj_secret_hash(const char *secret, char *out, size_t outlen);
int pj_secret_check(const char *secret, const char *stored);

#endif /* PJ_SERVER_STORE_IMPL_H */
