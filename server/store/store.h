/*
 * server/store/store.h - the server's persistent store (apps, jobs, instances,
 * workflows, server ids, locks, instance logs) on SQLite or MySQL/MariaDB.
 *
 * Design notes
 * ------------
 * Kept from PowerJob (powerjob-design.md §4, §5, §10, §1.3-1.4):
 *  - the same tables and columns (app_info, job_info, instance_info,
 *    workflow_info, workflow_instance_info, workflow_node_info, server_info,
 *    oms_lock, user_info, a local instance-log table), the same numeric
 *    enums (instance status 1,2,3,4,5,9,10; switchable status 1,2,99), the
 *    same conditional status transitions (`... WHERE instance_id = ? AND
 *    status = ?`), the four status-check selections, the lock protocol of
 *    oms_lock (insert; on a duplicate, delete the row only if it expired and
 *    try once more) and server ids in 1..10000.
 * Changed, and why:
 *  - Every time is a BIGINT of milliseconds since the Unix epoch (PowerJob
 *    mixes datetime(6) and bigint): one representation on both backends, no
 *    session time zone involved, exact comparisons in the status checks.
 *  - instance_info.fire_time + UNIQUE (job_id, fire_time): a scheduled
 *    instance carries its fire time there (manual runs leave it NULL, and
 *    NULLs never collide), so one fire time is recorded once whatever fails
 *    over; the second insert gets PJ_STORE_EDUP.
 *  - job_info.time_zone (IANA name, "" = the server's zone) and
 *    job_info.misfire_policy, which PowerJob lacks. The store keeps the
 *    policy as the integer code of server/timing/timing.h's pj_misfire_policy
 *    (0 = fire once now, PowerJob's behaviour and the column default;
 *    1 = skip; 2 = fire all) and does not interpret it.
 *  - app secrets are stored as a salted slow hash (PBKDF2-HMAC-SHA256,
 *    OpenSSL libcrypto, random 16-byte salt, PJ_STORE_PBKDF2_ITER rounds),
 *    never in clear text; verification is constant-time. The round count
 *    is stored in each hash, so raising it later keeps old hashes valid;
 *    callers that verify often (worker or OpenAPI auth) should cache the
 *    result rather than lower the count.
 *  - server ids are allocated without the global server_init_lock: the
 *    UNIQUE key on server_info.server_id arbitrates (insert the smallest
 *    free id, retry on a duplicate).
 *  - an index serves every query the scheduler and the status checks run:
 *    job_info (app_id, status, time_expression_type, next_trigger_time) for
 *    the schedule pass; instance_info keeps PowerJob's (job_id, status) and
 *    (app_id, status), which the checks use (live states are few rows per
 *    app; the time column is filtered on those) - one index per check time
 *    column made every transition rewrite five indexes and cost 3-5x in
 *    bench/store_bench.sh. Every paged list is keyset-paged on the
 *    surrogate id, so pages neither skip nor repeat while rows are added.
 *    A job's or an app's list in id order reads one ordered range of
 *    (job_id, status, id) / (app_id, status, id) per status (the listed
 *    ones, or all seven and the gaps between them) and keeps the first
 *    `limit` ids: at most (ranges x limit) index entries at any table
 *    size, with no further index for inserts to maintain.
 *    The instance lists, the status checks, the due-job scan and the
 *    workflow check name their index in the statement (INDEXED BY /
 *    FORCE INDEX, pj_store_ops.index_hint): MariaDB otherwise walks the
 *    primary key for ORDER BY id LIMIT when its statistics suggest it,
 *    and a lost index fails the statement instead of slowing it down.
 *    Cost at 1,000,000 and 10,000,000 rows: bench/store_scale_bench.sh,
 *    docs/benchmarks.md; plans: t/store_contract_plans.inc.
 *  - app_info.current_server is '' (not NULL) when no server owns the app,
 *    so compare-and-set is one portable `current_server = ?`.
 *  - MariaDB tables use utf8mb4_nopad_bin (migration 0002; needs
 *    MariaDB >= 10.2) so text round-trips byte for byte and compares like
 *    SQLite's BINARY: case-sensitive, trailing spaces significant, byte
 *    order (SQLite runs with case_sensitive_like on). Every session runs
 *    in a strict sql_mode. LIKE patterns use % and _, with '!' as the
 *    escape character on both backends; '!' may only precede %, _ or !
 *    (anything else is PJ_STORE_EINVAL, because the backends disagree on
 *    it) and pj_store_like_escape() turns text into a literal pattern.
 *
 * Limits, the same on both backends and checked by the store before any
 * statement runs (PJ_STORE_EINVAL naming table.field; store_check.c):
 *  - every text value is well-formed UTF-8 (no overlong forms, no
 *    surrogates, nothing above U+10FFFF) and has no NUL byte (C strings);
 *    NULL pointers store "".
 *  - names, at most PJ_STORE_NAME_MAX (255) characters: app_name, title,
 *    current_server (owner_cas' owner and expected), job_name, tag,
 *    task_tracker_address, worker_address, lock_name, ownerip,
 *    server_info.ip, wf_name, node_name; lookups by these (app_find,
 *    app_verify, name_eq, tag_eq, unlock, release_owner, heartbeat) are
 *    held to the same limit.
 *  - time_zone (jobs, workflows): at most PJ_STORE_ZONE_MAX (64)
 *    characters.
 *  - text, at most PJ_STORE_TEXT_MAX (65,535) bytes: job_description,
 *    time_expression, processor_info, designated_workers,
 *    notify_user_ids, job and workflow extra, dispatch_strategy_config,
 *    lifecycle, alarm_config, log_config, advanced_runtime_config,
 *    wf_description, processor_info_eq and every LIKE pattern.
 *  - long text, at most PJ_STORE_LONGTEXT_MAX (1 MiB) bytes: job_params,
 *    instance_params, result, log_content, pedag, wf_init_params,
 *    wf_context, dag, node_params, node extra.
 *  - doubles (min_cpu_cores, min_memory_space, min_disk_space) are
 *    finite; integers are the C types of the structs (INT columns hold
 *    int, BIGINT columns int64_t).
 *  - max_lock_ms and stale_ms are >= 0. Times are any int64_t (no SQL
 *    arithmetic is done on them).
 *  - the app secret is not stored (only its hash) and has no limit.
 *
 * Shape: `struct pj_store_ops` is the one pluggable table (like SQLite's
 * sqlite3_vfs): it holds what differs between the backends - opening a
 * connection, running one prepared statement with bound parameters,
 * transactions, error classification. Every query is written once in
 * store_*.c on top of it, so the two backends cannot drift apart, and the
 * contract suite (t/store_contract.inc) runs the same bodies on both.
 *
 * Threads: a store handle may be used from any number of threads. It owns
 * a small pool of backend connections (mutex + condition variable); a call
 * borrows one connection for its duration. Nothing blocks while holding the
 * pool mutex. SQLite connections open the same file (WAL lets readers run
 * beside the writer; busy timeout serialises writers).
 *
 * Reconnection (MySQL): before a pooled connection is reused its socket is
 * polled; a peer that hung up (server restart) is replaced before anything
 * is sent. A statement that fails with a lost connection is retried once on
 * a fresh connection when it is safe to retry (reads and writes that set
 * absolute values); a non-idempotent write lost mid-flight returns
 * PJ_STORE_ECONN ("outcome unknown") and the caller re-reads.
 *
 * Deadlocks (MariaDB): a statement or transaction that loses a deadlock
 * was rolled back by the server; the store runs it again
 * (PJ_STORE_DEADLOCK_ATTEMPTS times, short random pauses), so callers see
 * the outcome - PJ_STORE_EDUP for a fire time or lock somebody else took
 * first - never the deadlock. SQLite serialises writers (BEGIN IMMEDIATE,
 * busy timeout) and has none.
 *
 * Errors: every call returns 0 or a PJ_STORE_E* code; pj_store_errmsg()
 * returns the message of the calling thread's last failure on this store
 * (which table, which id, the backend's text). Nothing is printed.
 *
 * OOM policy: allocation failures abort in ar_xmalloc and friends.
 *
 * URLs:
 *   sqlite:///abs/path/file.db      SQLite file (created if missing)
 *   sqlite://relative/file.db       relative to the working directory
 *   mysql://user:pass@host:port/db  MySQL/MariaDB over TCP (port 3306)
 *   mysql://user:pass@localhost/db?socket=/path/to.sock   unix socket
 *   mysql://user@[::1]:3306/db      an IPv6 address in brackets
 * user and pass may be percent-encoded (they must be when they hold '/',
 * '?', '@', ':' or '%'); the user is required (the client library would
 * otherwise log in as the OS user), the password may be omitted
 * (mysql://root@127.0.0.1:3306/db); the port is 1..65535 in digits only.
 * sqlite://:memory: and file: URIs are refused: each pooled connection
 * would get its own database. Query options: pool=N (connections, 1..64,
 * default 4) for both backends, socket=PATH (not empty) for mysql only.
 * Messages quote a URL with its password replaced by ***.
 */
#ifndef PJ_SERVER_STORE_H
#define PJ_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

/* ---- error codes ------------------------------------------------------ */
enum {
	PJ_STORE_OK        = 0,
	PJ_STORE_EINVAL    = 1, /* bad argument or URL */
	PJ_STORE_ENOTFOUND = 2, /* no such row */
	PJ_STORE_EDUP      = 3, /* unique key already taken */
	PJ_STORE_ECONFLICT = 4, /* conditional update matched no row */
	PJ_STORE_ECONN = 5, /* connection lost; outcome of a write unknown */
	PJ_STORE_EBACKEND = 6, /* any other backend error */
	PJ_STORE_ESCHEMA  = 7, /* schema newer than the binary / migration */
	PJ_STORE_EFULL    = 8, /* no free server id in 1..10000 */
	PJ_STORE_EAUTH    = 9, /* wrong app secret */
};

/* ---- enumerations (PowerJob's numeric codes, §3) ---------------------- */
enum pj_instance_status {
	PJ_INST_WAITING_DISPATCH       = 1,
	PJ_INST_WAITING_WORKER_RECEIVE = 2,
	PJ_INST_RUNNING                = 3,
	PJ_INST_FAILED                 = 4,
	PJ_INST_SUCCEED                = 5,
	PJ_INST_CANCELED               = 9,
	PJ_INST_STOPPED                = 10,
};
enum pj_switchable_status {
	PJ_STATUS_ENABLE  = 1,
	PJ_STATUS_DISABLE = 2,
	PJ_STATUS_DELETED = 99,
};

/* Limits (the same on both backends; see "Limits" above) */
#define PJ_STORE_NAME_MAX 255          /* characters */
#define PJ_STORE_ZONE_MAX 64           /* characters */
#define PJ_STORE_TEXT_MAX 65535u       /* bytes */
#define PJ_STORE_LONGTEXT_MAX 1048576u /* bytes (1 MiB) */
#define PJ_STORE_LIKE_ESCAPE '!'

#define PJ_STORE_SERVER_ID_MAX 10000
#define PJ_STORE_PBKDF2_ITER 20000

struct pj_store;

/* ---- open / close / errors / migrations -------------------------------- */
/* Opens a store: parses the URL, opens one connection and reads the
 * schema version (PJ_STORE_ESCHEMA when the database is newer than this
 * binary). Messages never quote the URL's password. */
int pj_store_open(const char *url, struct pj_store **out);
/* Closes every pooled connection; no call on s may still be running. */
void        pj_store_close(struct pj_store *s);
const char *pj_store_errmsg(struct pj_store *s);
const char *pj_store_backend(struct pj_store *s); /* "sqlite" / "mysql" */
const char *pj_store_strerror(int rv);

/* Applies every embedded migration newer than the database's version, in
 * order, each recorded in schema_version. Running it again changes
 * nothing. A database newer than this binary gives PJ_STORE_ESCHEMA.
 * *applied (may be NULL) = number applied now; *version = final version. */
int pj_store_migrate(struct pj_store *s, int *applied, int *version);
/* Highest migration version built into this binary. */
int pj_store_migrations_latest(const char *backend);
/* Database's schema version (0 = empty database); reads only, so a
 * read-only database user may call it. pj_store_open refuses a database
 * whose version is above pj_store_migrations_latest (PJ_STORE_ESCHEMA). */
int pj_store_schema_version(struct pj_store *s, int *version);

/* ---- apps -------------------------------------------------------------- */
struct pj_app {
	int64_t id;
	char   *app_name;
	char   *current_server; /* "" = no owner */
	char   *title;
	char   *tags;
	char   *extra;
	char   *creator;
	int64_t namespace_id;
	int64_t gmt_create;
	int64_t gmt_modified;
};
void pj_app_fini(struct pj_app *a);

/* Creates an app; the secret is stored as a salted PBKDF2 hash. */
int pj_store_app_create(struct pj_store *s, const char *name,
    const char *secret, const char *title, int64_t now_ms, int64_t *id);
int pj_store_app_find(struct pj_store *s, const char *name, struct pj_app *a);
int pj_store_app_get(struct pj_store *s, int64_t id, struct pj_app *a);
/* 0 when the secret matches, PJ_STORE_EAUTH when not, ENOTFOUND. */
int pj_store_app_verify(
    struct pj_store *s, const char *name, const char *secret, int64_t *id);
/* pj_store_app_verify in two steps, for a cache of answers that must see a
 * changed secret (server/cluster/auth.c): the app's id and its stored
 * secret hash (malloc'd; "pbkdf2-sha256$...", not the secret), then 0 when
 * SECRET matches HASH (one PBKDF2, compared in constant time). */
int pj_store_app_secret_hash(
    struct pj_store *s, const char *name, int64_t *id, char **hash);
int pj_store_secret_check(const char *secret, const char *hash);
int pj_store_app_owner(struct pj_store *s, int64_t id, char **owner);
/* Sets the owner to `owner` only when it is still `expected` ("" = none);
 * PJ_STORE_ECONFLICT when somebody else changed it first. */
int pj_store_app_owner_cas(struct pj_store *s, int64_t id,
    const char *expected, const char *owner, int64_t now_ms);

/* ---- jobs -------------------------------------------------------------- */
struct pj_job {
	int64_t id; /* 0 in pj_store_job_save = create */
	int64_t app_id;
	char   *job_name;
	char   *job_description;
	char   *job_params;
	int     time_expression_type;
	char   *time_expression;
	char   *time_zone;  /* IANA name; "" = server's zone */
	int misfire_policy; /* server/timing/timing.h pj_misfire_policy code */
	int execute_type;
	int processor_type;
	char   *processor_info;
	int     max_instance_num;
	int     concurrency;
	int64_t instance_time_limit;
	int     instance_retry_num;
	int     task_retry_num;
	int     status;
	int64_t next_trigger_time; /* 0 = none (NULL) */
	double  min_cpu_cores;
	double  min_memory_space;
	double  min_disk_space;
	char   *designated_workers;
	int     max_worker_count;
	char   *notify_user_ids;
	char   *extra;
	int     dispatch_strategy;
	char   *dispatch_strategy_config;
	char   *lifecycle;
	char   *alarm_config;
	char   *tag;
	char   *log_config;
	char   *advanced_runtime_config;
	int64_t gmt_create;
	int64_t gmt_modified;
};
void pj_job_fini(struct pj_job *j);

/* Creates (j->id == 0; *id gets the new id) or updates every column of
 * job j->id (PJ_STORE_ENOTFOUND if missing). NULL strings store "". */
int pj_store_job_save(
    struct pj_store *s, const struct pj_job *j, int64_t now_ms, int64_t *id);
int pj_store_job_get(struct pj_store *s, int64_t id, struct pj_job *j);
/* status = PJ_STATUS_ENABLE / DISABLE / DELETED (soft delete) */
int pj_store_job_set_status(
    struct pj_store *s, int64_t id, int status, int64_t now_ms);
int pj_store_job_set_next_trigger(
    struct pj_store *s, int64_t id, int64_t next_ms, int64_t now_ms);

/* Multi-condition job query (the OpenAPI's JobInfoQuery). A condition is
 * used when its `has_` flag is set / its pointer non-NULL / its count > 0.
 * Paging: `after_id` > 0 continues after that id (keyset, stable under
 * inserts; ascending sort only), else `offset`. */
enum pj_job_sort {
	PJ_JOB_SORT_ID = 0,
	PJ_JOB_SORT_GMT_CREATE,
	PJ_JOB_SORT_GMT_MODIFIED,
	PJ_JOB_SORT_NEXT_TRIGGER,
	PJ_JOB_SORT_NAME,
};
#define PJ_QUERY_IN_MAX 16
struct pj_job_query {
	int64_t          app_id; /* required (appIdEq) */
	int              has_id_eq, has_id_gt, has_id_lt;
	int64_t          id_eq, id_gt, id_lt;
	const char      *name_eq, *name_like, *description_like;
	const char      *processor_info_eq, *processor_info_like;
	const char      *notify_user_ids_like;
	const char      *job_params_like, *tag_eq; /* PowerJob's extras */
	int              has_dispatch_strategy_eq;
	int              dispatch_strategy_eq;
	int              time_expression_type_in[PJ_QUERY_IN_MAX];
	int              n_time_expression_type_in;
	int              execute_type_in[PJ_QUERY_IN_MAX];
	int              n_execute_type_in;
	int              processor_type_in[PJ_QUERY_IN_MAX];
	int              n_processor_type_in;
	int              status_in[PJ_QUERY_IN_MAX];
	int              n_status_in;
	int              has_next_trigger_gt, has_next_trigger_lt;
	int64_t          next_trigger_gt, next_trigger_lt;
	int              has_gmt_create_gt, has_gmt_create_lt;
	int64_t          gmt_create_gt, gmt_create_lt;
	int              has_gmt_modified_gt, has_gmt_modified_lt;
	int64_t          gmt_modified_gt, gmt_modified_lt;
	enum pj_job_sort sort;
	int              desc;
	int64_t          after_id;
	int64_t          offset;
	int              limit; /* 1..1000; 0 = 10 */
};
struct pj_job_list {
	struct pj_job *v;
	size_t         n;
};
void pj_job_list_fini(struct pj_job_list *l);
int  pj_store_job_query(
     struct pj_store *s, const struct pj_job_query *q, struct pj_job_list *out);
/* Writes `text` into out (outlen bytes, always NUL-terminated when
 * outlen > 0) as a LIKE pattern that matches exactly that text: %, _ and
 * ! are preceded by '!'. Returns the pattern's full length (without the
 * NUL), like snprintf; a result >= outlen means out was too small. */
size_t pj_store_like_escape(const char *text, char *out, size_t outlen);
/* Enabled jobs of the given apps whose time_expression_type is in
 * types[] and next_trigger_time <= before_ms (the schedule pass). */
int pj_store_jobs_due(struct pj_store *s, const int64_t *app_ids,
    size_t n_apps, const int *types, size_t n_types, int64_t before_ms,
    int limit, struct pj_job_list *out);
/* The jobs of ids[0..n) that exist, in no particular order (a dispatch's
 * stale cache entries: one statement per 256 ids instead of one each). */
int pj_store_jobs_get(
    struct pj_store *s, const int64_t *ids, size_t n, struct pj_job_list *out);

/* ---- instances --------------------------------------------------------- */
struct pj_instance {
	int64_t id;
	int64_t instance_id; /* snowflake id, chosen by the server */
	int64_t job_id;
	int64_t app_id;
	int     type;           /* 1 normal, 2 workflow */
	int64_t wf_instance_id; /* 0 = none */
	int     status;
	char   *job_params;
	char   *instance_params;
	char   *result;
	int64_t fire_time; /* scheduled fire time, 0 = manual (NULL) */
	int64_t expected_trigger_time;
	int64_t actual_trigger_time;
	int64_t finished_time;
	int64_t last_report_time;
	char   *task_tracker_address;
	int64_t running_times;
	int64_t gmt_create;
	int64_t gmt_modified;
};
void pj_instance_fini(struct pj_instance *i);
struct pj_instance_list {
	struct pj_instance *v;
	size_t              n;
};
void pj_instance_list_fini(struct pj_instance_list *l);

/* Inserts n instances in multi-row statements (status, times, strings
 * taken from each element; gmt_* = now). All or nothing: a duplicate
 * (instance_id, or job_id + fire_time) fails the whole batch with
 * PJ_STORE_EDUP and inserts none - also when another server records an
 * overlapping batch at the same moment, in any order (the rows are
 * inserted in (job_id, fire_time, instance_id) order, so the surrogate
 * ids follow that order, not the array's; a lost deadlock is retried). */
int pj_store_instances_create(
    struct pj_store *s, const struct pj_instance *v, size_t n, int64_t now_ms);
int pj_store_instance_get(
    struct pj_store *s, int64_t instance_id, struct pj_instance *i);

/* Conditional transition `WHERE instance_id = ? AND status = from`.
 * Fields in `set` are written according to `mask` (PJ_SET_*); status is
 * always set to `to`; gmt_modified = now. PJ_STORE_ECONFLICT when the
 * instance was not in `from` (somebody else won). */
enum {
	PJ_SET_ACTUAL_TRIGGER = 1 << 0,
	PJ_SET_FINISHED       = 1 << 1,
	PJ_SET_LAST_REPORT    = 1 << 2,
	PJ_SET_TT_ADDRESS     = 1 << 3,
	PJ_SET_RUNNING_TIMES  = 1 << 4,
	PJ_SET_RESULT         = 1 << 5,
	PJ_SET_EXPECTED       = 1 << 6,
};
int pj_store_instance_transition(struct pj_store *s, int64_t instance_id,
    int from, int to, const struct pj_instance *set, unsigned mask,
    int64_t now_ms);
/* The same transition for many ids, all or nothing: one statement for up
 * to 500 ids, one transaction of several above; *changed = rows that
 * were in `from` and moved (0 on failure). */
int pj_store_instances_transition(struct pj_store *s, const int64_t *ids,
    size_t n, int from, int to, const struct pj_instance *set, unsigned mask,
    int64_t now_ms, int64_t *changed);
/* Live instances (status in `statuses`) of one job. */
int pj_store_instance_count_live(struct pj_store *s, int64_t job_id,
    const int *statuses, size_t n_statuses, int64_t *count);

/* The four status-check selections (§5.8), for a set of apps, <= limit:
 *   WAITING_DISPATCH        expected_trigger_time < before_ms
 *   WAITING_WORKER_RECEIVE  actual_trigger_time   < before_ms
 *   RUNNING                 gmt_modified          < before_ms
 * and workflow instances WAITING with expected_trigger_time < before_ms
 * (pj_store_wf_instances_waiting). When more match: WAITING_DISPATCH
 * returns the `limit` with the oldest (expected_trigger_time, app_id, id),
 * in that order; the other two the `limit` with the lowest id, in id order.
 * The rows of the WAITING_RECEIVE and RUNNING checks carry every column
 * but the LONGTEXT ones: job_params, instance_params and result are ""
 * (pj_store_instance_get reads them). The WAITING_DISPATCH check's rows
 * carry id, instance_id, job_id, app_id, status, fire_time and
 * expected_trigger_time; every other column is 0 or "".
 * Cost: WAITING_DISPATCH reads the due index in order and stops after
 * limit entries of these apps and their rows, however many of theirs are
 * overdue (overdue entries of other apps are read past); the other two
 * read their status's rows in those apps (live rows, few). */
enum pj_check_kind {
	PJ_CHECK_WAITING_DISPATCH = 1,
	PJ_CHECK_WAITING_RECEIVE  = 2,
	PJ_CHECK_RUNNING          = 3,
};
int pj_store_instances_check(struct pj_store *s, enum pj_check_kind kind,
    const int64_t *app_ids, size_t n_apps, int64_t before_ms, int limit,
    struct pj_instance_list *out);

/* List by job / app / status / creation time, keyset-paged. 0 =
 * condition unused.
 * - Without a gmt_create condition: in id order, rows with id > after_id
 *   (pass the last row's id; 0 for the first page).
 * - With gmt_create_gt or gmt_create_lt: in (gmt_create, id) order, rows
 *   with (gmt_create, id) > (after_gmt_create, after_id) (pass the last
 *   row's gmt_create and id; 0, 0 for the first page; after_id without
 *   after_gmt_create is PJ_STORE_EINVAL).
 * - newest_first: the same orders descending, and the keyset bounds from
 *   above: id < after_id, (gmt_create, id) < (after_gmt_create, after_id);
 *   0 (0, 0) is still the first page, the newest rows. A job's or app's
 *   newest rows are the pages a database keeps cached, where its oldest
 *   ones may be disk reads (docs/benchmarks.md, store_scale).
 * Cost (bench/store_scale_bench.sh): in proportion to the page for a job
 * or an app, with or without statuses, and for an app with a gmt_create
 * condition (a job or status filter on top of it reads the app's rows of
 * that time range until the page is full); a gmt_create condition
 * without app_id sorts every matching row. */
struct pj_instance_query {
	int64_t app_id;
	int64_t job_id;
	int     status_in[PJ_QUERY_IN_MAX];
	int     n_status_in;
	int64_t gmt_create_gt, gmt_create_lt; /* 0 = unused */
	int64_t after_id;
	int64_t after_gmt_create; /* with a gmt_create condition */
	int     limit;            /* 1..1000; 0 = 10 */
	int     newest_first;     /* 1 = descending order */
};
int pj_store_instance_list(struct pj_store *s,
    const struct pj_instance_query *q, struct pj_instance_list *out);

/* ---- locks (oms_lock) -------------------------------------------------- */
/* 0 = acquired; PJ_STORE_EDUP = busy: held by somebody and not expired
 * (also the answer to every loser when many take an expired lock at once:
 * exactly one wins). max_lock_ms >= 0. */
int pj_store_lock_try(struct pj_store *s, const char *name, const char *owner,
    int64_t max_lock_ms, int64_t now_ms);
int pj_store_lock_unlock(struct pj_store *s, const char *name);
int pj_store_lock_release_owner(
    struct pj_store *s, const char *owner, int64_t *released);

/* ---- server_info ------------------------------------------------------- */
/* Registers `ip` (or touches it) and returns its server id in 1..10000.
 * When every id is taken, rows silent for more than stale_ms are removed
 * first; PJ_STORE_EFULL if none is. */
int pj_store_server_register(struct pj_store *s, const char *ip,
    int64_t now_ms, int64_t stale_ms, int *server_id);
int pj_store_server_heartbeat(
    struct pj_store *s, const char *ip, int64_t now_ms);

/* ---- instance logs ------------------------------------------------------ */
struct pj_log_line {
	int64_t id;
	int64_t instance_id;
	int64_t log_time;
	int     log_level;
	char   *content;
	char   *worker_address;
};
struct pj_log_list {
	struct pj_log_line *v;
	size_t              n;
};
void pj_log_list_fini(struct pj_log_list *l);
int  pj_store_logs_append(
     struct pj_store *s, const struct pj_log_line *v, size_t n);
/* Lines of one instance ordered by (log_time, id); the page starts after
 * (after_time, after_id) - pass the last line's values, or 0, 0. */
int pj_store_logs_read(struct pj_store *s, int64_t instance_id,
    int64_t after_time, int64_t after_id, int limit, struct pj_log_list *out);
int pj_store_logs_delete(
    struct pj_store *s, int64_t instance_id, int64_t *deleted);

/* ---- workflows (used by a later issue) --------------------------------- */
struct pj_workflow {
	int64_t id;
	int64_t app_id;
	char   *wf_name;
	char   *wf_description;
	char   *pedag;
	int     time_expression_type;
	char   *time_expression;
	char   *time_zone;
	int     max_wf_instance_num;
	int     status;
	int64_t next_trigger_time;
	char   *notify_user_ids;
	char   *lifecycle;
	char   *extra;
	int64_t gmt_create, gmt_modified;
};
void pj_workflow_fini(struct pj_workflow *w);
int  pj_store_workflow_save(struct pj_store *s, const struct pj_workflow *w,
     int64_t now_ms, int64_t *id);
int  pj_store_workflow_get(
     struct pj_store *s, int64_t id, struct pj_workflow *w);
int pj_store_workflow_delete(struct pj_store *s, int64_t id);

struct pj_wf_instance {
	int64_t id;
	int64_t wf_instance_id;
	int64_t workflow_id;
	int64_t app_id;
	int64_t parent_wf_instance_id;
	int     status;
	char   *wf_init_params;
	char   *wf_context;
	char   *dag;
	char   *result;
	int64_t expected_trigger_time;
	int64_t actual_trigger_time;
	int64_t finished_time;
	int64_t gmt_create, gmt_modified;
};
void pj_wf_instance_fini(struct pj_wf_instance *w);
struct pj_wf_instance_list {
	struct pj_wf_instance *v;
	size_t                 n;
};
void pj_wf_instance_list_fini(struct pj_wf_instance_list *l);
int  pj_store_wf_instance_create(
     struct pj_store *s, const struct pj_wf_instance *w, int64_t now_ms);
int pj_store_wf_instance_get(
    struct pj_store *s, int64_t wf_instance_id, struct pj_wf_instance *w);
/* Writes status, wf_context, dag, result, actual/finished time when the
 * row is still in status `from` (PJ_STORE_ECONFLICT otherwise). */
int pj_store_wf_instance_update(struct pj_store *s,
    const struct pj_wf_instance *w, int from, int64_t now_ms);
int pj_store_wf_instance_delete(struct pj_store *s, int64_t wf_instance_id);
int pj_store_wf_instances_waiting(struct pj_store *s, const int64_t *app_ids,
    size_t n_apps, int64_t before_ms, int limit,
    struct pj_wf_instance_list *out);

struct pj_wf_node {
	int64_t id;
	int64_t app_id;
	int64_t workflow_id;
	int     type;
	int64_t job_id;
	char   *node_name;
	char   *node_params;
	int     enable;
	int     skip_when_failed;
	char   *extra;
	int64_t gmt_create, gmt_modified;
};
void pj_wf_node_fini(struct pj_wf_node *n);
struct pj_wf_node_list {
	struct pj_wf_node *v;
	size_t             n;
};
void pj_wf_node_list_fini(struct pj_wf_node_list *l);
int  pj_store_wf_node_save(struct pj_store *s, const struct pj_wf_node *n,
     int64_t now_ms, int64_t *id);
int pj_store_wf_node_get(struct pj_store *s, int64_t id, struct pj_wf_node *n);
int pj_store_wf_node_delete(struct pj_store *s, int64_t id);
int pj_store_wf_nodes_of(
    struct pj_store *s, int64_t workflow_id, struct pj_wf_node_list *out);

/* ---- backend interface (implemented by store_sqlite.c, store_mysql.c) ---
 * One prepared statement per exec call: `sql` contains only '?'
 * placeholders and text the store itself wrote, never user text; user
 * values travel in `params`. Rows come back as arrays of pj_val that are
 * valid only during the callback. */
enum pj_val_type { PJ_VAL_NULL = 0, PJ_VAL_INT, PJ_VAL_DBL, PJ_VAL_TEXT };
struct pj_val {
	int         type;
	int64_t     i;
	double      d;
	const char *s;
	size_t      len;
};
typedef int (*pj_row_fn)(void *arg, const struct pj_val *cols, int ncols);

/* Backend to store only, never returned by a pj_store_* call: the
 * statement lost a deadlock (MariaDB 1213) and its transaction was
 * rolled back, so running it (or its transaction) again is safe. */
#define PJ_STORE_XRETRY 100

struct pj_store_url {
	char *backend; /* "sqlite" or "mysql" */
	char *path;    /* sqlite file */
	char *user, *pass, *host, *db, *socket;
	int   port;
	int   pool;
	int   cache_mb; /* sqlite: page cache per pooled connection, MiB */
};

struct pj_store_ops {
	const char *name;
	/* open one connection; 0 or a PJ_STORE_E* code with err filled */
	int (*conn_open)(const struct pj_store_url *u, void **conn, char *err,
	    size_t errlen);
	void (*conn_close)(void *conn);
	/* cheap check before a pooled connection is reused: 0 = looks dead */
	int (*conn_alive)(void *conn);
	/* Runs one statement. Returns 0, PJ_STORE_EDUP, PJ_STORE_ECONN (then
	 * *sent says whether the server may have seen it),
	 * PJ_STORE_XRETRY or PJ_STORE_EBACKEND; err gets the backend's
	 * message. A non-zero return of fn stops the rows and is returned. */
	int (*exec)(void *conn, const char *sql, const struct pj_val *params,
	    int np, pj_row_fn fn, void *arg, int64_t *affected, int *sent,
	    char *err, size_t errlen);
	const char *begin_sql; /* starts a write transaction */
	/* one row, one column: 1 when table schema_version exists */
	const char *has_schema_sql;
	const char *last_id_sql; /* id of this connection's last insert */
	/* Written after a table name to make the planner use one index
	 * (printf format, %s = index name): " INDEXED BY %s" (SQLite),
	 * " FORCE INDEX (%s)" (MySQL). Both refuse the statement when the
	 * index does not exist. */
	const char *index_hint;
};
extern const struct pj_store_ops pj_store_sqlite_ops;
extern const struct pj_store_ops pj_store_mysql_ops;

#endif /* PJ_SERVER_STORE_H */
