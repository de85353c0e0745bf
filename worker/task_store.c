/*
 * task_store.c - the task table on SQLite (see task_store.h).
 *
 * Design notes
 * ------------
 * Table task_info: an integer key `seq` (the rowid, handed out at insert
 * and carried by every dispatch and status report, so that an update
 * touches integer b-trees only) and a unique (instance_id, task_id).  The
 * status index, (instance_id, status, sub_instance_id),
 * serves the dispatcher (status 1), the unacknowledged scan (status 2),
 * in-flight counts (2..4), histograms and the results of reduce (5, 6).
 * Lost-task updates by address scan the unfinished statuses of the index.
 * Updates by key write "+status" so that the planner never prefers the
 * status index (a range over every unfinished task) to the key; queries
 * by status name the index (INDEXED BY): without statistics SQLite would
 * scan the key's instance_id prefix, every task of the instance.
 * The database is private to its TaskTracker: journal off, synchronous
 * off, exclusive locking; a crash loses it, which is what PowerJob does
 * too (a worker restart never recovers tasks).
 *
 * Threads: none of its own; one owner thread per store (task_store.h).
 */
#include "worker/task_store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/alloc.h"

enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_INSERT,
	S_STATUS,
	S_DISPATCHED,
	S_RETRY,
	S_GET,
	S_GET_SEQ,
	S_PENDING,
	S_LOST_RERUN,
	S_LOST_FAIL,
	S_UNACKED,
	S_HIST_ALL,
	S_HIST_SUB,
	S_INFLIGHT,
	S_NAMED,
	S_RESULTS,
	S_DELETE_ALL,
	S_DELETE_SUB,
	S_COUNT,
	S_N
};

static const char *const sql[S_N] = {
	[S_BEGIN]    = "BEGIN",
	[S_COMMIT]   = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_INSERT]
	= "INSERT INTO task_info (instance_id, sub_instance_id, "
	  "task_id, task_name, task_content, address, pinned, status, "
	  "result, failed_cnt, created_time, last_modified_time, "
	  "last_report_time) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[S_STATUS]
	= "UPDATE task_info SET status = ?1, result = CASE WHEN ?1 >= 5 "
	  "THEN ?2 ELSE result END, last_report_time = ?3, "
	  "last_modified_time = ?4 WHERE seq = ?6 AND instance_id = ?5 "
	  "AND +status < ?1 AND +status < 5 AND "
	  "(?1 >= 5 OR +status >= 2)",
	[S_DISPATCHED] = "UPDATE task_info SET status = 2, address = ?1, "
	                 "last_modified_time = ?2 WHERE seq = ?4 AND "
	                 "instance_id = ?3",
	[S_RETRY]
	= "UPDATE task_info SET status = 1, failed_cnt = failed_cnt + 1, "
	  "result = ?1, address = CASE WHEN pinned THEN address ELSE '' "
	  "END, last_modified_time = ?2 WHERE seq = ?4 AND "
	  "instance_id = ?3",
	[S_GET]
	= "SELECT status, failed_cnt, pinned, sub_instance_id, task_name, "
	  "address, seq FROM task_info WHERE instance_id = ? AND task_id = ?",
	[S_GET_SEQ]
	= "SELECT status, failed_cnt, pinned, sub_instance_id, "
	  "task_name, address, seq FROM task_info WHERE seq = ? AND "
	  "instance_id = ?",
	[S_PENDING]
	= "SELECT task_id, task_name, task_content, address, pinned, "
	  "failed_cnt, sub_instance_id, seq FROM task_info INDEXED BY "
	  "task_info_status WHERE "
	  "instance_id = ? AND status = 1 LIMIT ?",
	[S_LOST_RERUN]
	= "UPDATE task_info INDEXED BY task_info_status SET status = 1, "
	  "address = CASE WHEN "
	  "pinned THEN address ELSE '' END, last_modified_time = ?1 "
	  "WHERE instance_id = ?2 AND status IN (2, 3, 4) AND "
	  "address = ?3",
	[S_LOST_FAIL] = "UPDATE task_info INDEXED BY task_info_status SET "
	                "status = 5, result = ?1, "
	                "last_modified_time = ?2 WHERE instance_id = ?3 AND "
	                "status IN (1, 2, 3, 4) AND address = ?4",
	[S_UNACKED]
	= "UPDATE task_info INDEXED BY task_info_status SET status = 1, "
	  "failed_cnt = failed_cnt + 1, "
	  "address = CASE WHEN pinned THEN address ELSE '' END, "
	  "last_modified_time = ?1 WHERE instance_id = ?2 AND status = 2 "
	  "AND last_modified_time < ?3",
	[S_HIST_ALL] = "SELECT status, count(*) FROM task_info INDEXED BY "
	               "task_info_status WHERE instance_id = ? "
	               "GROUP BY status",
	[S_HIST_SUB] = "SELECT status, count(*) FROM task_info INDEXED BY "
	               "task_info_status WHERE instance_id = ? "
	               "AND sub_instance_id = ? GROUP BY status",
	[S_INFLIGHT] = "SELECT address, count(*) FROM task_info INDEXED BY "
	               "task_info_status WHERE instance_id = "
	               "? AND status IN (2, 3, 4) GROUP BY address",
	[S_NAMED]
	= "SELECT status, failed_cnt, pinned, sub_instance_id, task_name, "
	  "address, seq FROM task_info INDEXED BY task_info_status WHERE "
	  "instance_id = ? AND status IN "
	  "(1, 2, 3, 4, 5, 6) AND sub_instance_id = ? AND task_name = ?",
	[S_RESULTS]    = "SELECT task_id, task_name, status, result FROM "
	                 "task_info INDEXED BY task_info_status "
	                 "WHERE instance_id = ? AND status IN (5, 6) AND "
	                 "sub_instance_id = ? AND task_name <> ?",
	[S_DELETE_ALL] = "DELETE FROM task_info WHERE instance_id = ?",
	[S_DELETE_SUB] = "DELETE FROM task_info WHERE instance_id = ? AND "
	                 "sub_instance_id = ?",
	[S_COUNT] = "SELECT count(*) FROM task_info WHERE instance_id = ?",
};

static const char schema[] = "PRAGMA journal_mode = MEMORY;"
                             "PRAGMA synchronous = OFF;"
                             "PRAGMA locking_mode = EXCLUSIVE;"
                             "PRAGMA temp_store = MEMORY;"
                             "CREATE TABLE task_info ("
                             " seq INTEGER PRIMARY KEY,"
                             " instance_id INTEGER NOT NULL,"
                             " sub_instance_id INTEGER NOT NULL,"
                             " task_id TEXT NOT NULL,"
                             " task_name TEXT NOT NULL,"
                             " task_content BLOB,"
                             " address TEXT NOT NULL DEFAULT '',"
                             " pinned INTEGER NOT NULL DEFAULT 0,"
                             " status INTEGER NOT NULL,"
                             " result TEXT,"
                             " failed_cnt INTEGER NOT NULL DEFAULT 0,"
                             " created_time INTEGER NOT NULL,"
                             " last_modified_time INTEGER NOT NULL,"
                             " last_report_time INTEGER NOT NULL,"
                             " UNIQUE (instance_id, task_id));"
                             "CREATE INDEX task_info_status ON task_info"
                             " (instance_id, status, sub_instance_id);";

struct pj_task_store {
	sqlite3      *db;
	sqlite3_stmt *st[S_N];
	char         *path; /* NULL in memory */
};

const char *
pj_task_store_error(struct pj_task_store *s)
{
	return sqlite3_errmsg(s->db);
}

int
pj_task_store_open(
    const char *path, struct pj_task_store **sp, char *err, size_t errlen)
{
	struct pj_task_store *s   = ar_xcalloc(1, sizeof(*s));
	char                 *msg = NULL;
	int                   rc;

	*sp = NULL;
	if (path != NULL) {
		s->path = ar_xstrdup(path);
		unlink(path);
	}
	rc = sqlite3_open_v2(path != NULL ? path : ":memory:", &s->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "task store %s: %s",
		    path != NULL ? path : ":memory:",
		    s->db != NULL ? sqlite3_errmsg(s->db)
		                  : sqlite3_errstr(rc));
		goto fail;
	}
	if (sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(
		    err, errlen, "task store schema: %s", msg ? msg : "?");
		sqlite3_free(msg);
		goto fail;
	}
	for (int i = 0; i < S_N; i++) {
		if (sqlite3_prepare_v3(s->db, sql[i], -1,
		        SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL)
		    != SQLITE_OK) {
			snprintf(err, errlen, "task store statement %d: %s", i,
			    sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	*sp = s;
	return 0;
fail:
	pj_task_store_close(s);
	return -1;
}

void
pj_task_store_close(struct pj_task_store *s)
{
	if (s == NULL) {
		return;
	}
	for (int i = 0; i < S_N; i++) {
		sqlite3_finalize(s->st[i]);
	}
	sqlite3_close(s->db);
	if (s->path != NULL) {
		unlink(s->path);
		free(s->path);
	}
	free(s);
}

/* runs a statement without rows; 0 or -1 */
static int
run(struct pj_task_store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	(void) s;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
pj_task_store_begin(struct pj_task_store *s)
{
	return run(s, s->st[S_BEGIN]);
}

int
pj_task_store_commit(struct pj_task_store *s)
{
	return run(s, s->st[S_COMMIT]);
}

int
pj_task_store_rollback(struct pj_task_store *s)
{
	return run(s, s->st[S_ROLLBACK]);
}

int
pj_task_store_insert(
    struct pj_task_store *s, const struct pj_task *t, size_t n, int64_t now)
{
	sqlite3_stmt *st  = s->st[S_INSERT];
	int           own = sqlite3_get_autocommit(s->db);

	if (own && pj_task_store_begin(s) != 0) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pj_task *x = &t[i];

		sqlite3_bind_int64(st, 1, x->instance_id);
		sqlite3_bind_int64(st, 2, x->sub_instance_id);
		sqlite3_bind_text(st, 3, x->task_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, x->task_name ? x->task_name : "", -1,
		    SQLITE_STATIC);
		if (x->content != NULL) {
			sqlite3_bind_blob(st, 5, x->content,
			    (int) x->content_len, SQLITE_STATIC);
		}
		sqlite3_bind_text(
		    st, 6, x->address ? x->address : "", -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 7, x->pinned != 0);
		sqlite3_bind_int(
		    st, 8, x->status ? x->status : PJ_TASK_WAITING_DISPATCH);
		if (x->result != NULL) {
			sqlite3_bind_text(st, 9, x->result, -1, SQLITE_STATIC);
		}
		sqlite3_bind_int(st, 10, x->failed_cnt);
		sqlite3_bind_int64(
		    st, 11, x->created_time ? x->created_time : now);
		sqlite3_bind_int64(st, 12,
		    x->last_modified_time ? x->last_modified_time : now);
		sqlite3_bind_int64(st, 13, x->last_report_time);
		if (run(s, st) != 0) {
			if (own) {
				pj_task_store_rollback(s);
			}
			return -1;
		}
	}
	if (own && pj_task_store_commit(s) != 0) {
		pj_task_store_rollback(s);
		return -1;
	}
	return 0;
}

int
pj_task_store_set_status(struct pj_task_store *s, int64_t instance_id,
    int64_t seq, int status, const char *result, int64_t report_time,
    int64_t now, int *changed)
{
	sqlite3_stmt *st = s->st[S_STATUS];

	sqlite3_bind_int(st, 1, status);
	sqlite3_bind_text(st, 2, result ? result : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, report_time);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, instance_id);
	sqlite3_bind_int64(st, 6, seq);
	if (run(s, st) != 0) {
		return -1;
	}
	*changed = sqlite3_changes(s->db) > 0;
	return 0;
}

int
pj_task_store_dispatched(struct pj_task_store *s, int64_t instance_id,
    int64_t seq, const char *address, int64_t now)
{
	sqlite3_stmt *st = s->st[S_DISPATCHED];

	sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, instance_id);
	sqlite3_bind_int64(st, 4, seq);
	return run(s, st);
}

int
pj_task_store_retry(struct pj_task_store *s, int64_t instance_id, int64_t seq,
    const char *result, int64_t now, int *changed)
{
	sqlite3_stmt *st = s->st[S_RETRY];

	sqlite3_bind_text(st, 1, result ? result : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, instance_id);
	sqlite3_bind_int64(st, 4, seq);
	if (run(s, st) != 0) {
		return -1;
	}
	*changed = sqlite3_changes(s->db) > 0;
	return 0;
}

static void
brief_row(sqlite3_stmt *st, struct pj_task_brief *b)
{
	const unsigned char *name = sqlite3_column_text(st, 4);
	const unsigned char *addr = sqlite3_column_text(st, 5);

	b->found           = 1;
	b->seq             = sqlite3_column_int64(st, 6);
	b->status          = sqlite3_column_int(st, 0);
	b->failed_cnt      = sqlite3_column_int(st, 1);
	b->pinned          = sqlite3_column_int(st, 2);
	b->sub_instance_id = sqlite3_column_int64(st, 3);
	snprintf(b->task_name, sizeof(b->task_name), "%s",
	    name ? (const char *) name : "");
	snprintf(b->address, sizeof(b->address), "%s",
	    addr ? (const char *) addr : "");
}

int
pj_task_store_get(struct pj_task_store *s, int64_t instance_id,
    const char *task_id, struct pj_task_brief *b)
{
	sqlite3_stmt *st = s->st[S_GET];
	int           rc;

	memset(b, 0, sizeof(*b));
	sqlite3_bind_int64(st, 1, instance_id);
	sqlite3_bind_text(st, 2, task_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		brief_row(st, b);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
pj_task_store_get_seq(struct pj_task_store *s, int64_t instance_id,
    int64_t seq, struct pj_task_brief *b)
{
	sqlite3_stmt *st = s->st[S_GET_SEQ];
	int           rc;

	memset(b, 0, sizeof(*b));
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, instance_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		brief_row(st, b);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int64_t
pj_task_store_last_seq(struct pj_task_store *s)
{
	return sqlite3_last_insert_rowid(s->db);
}

int
pj_task_store_find_named(struct pj_task_store *s, int64_t instance_id,
    int64_t sub_instance_id, const char *task_name, struct pj_task_brief *b)
{
	sqlite3_stmt *st = s->st[S_NAMED];
	int           rc;

	memset(b, 0, sizeof(*b));
	sqlite3_bind_int64(st, 1, instance_id);
	sqlite3_bind_int64(st, 2, sub_instance_id);
	sqlite3_bind_text(st, 3, task_name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		brief_row(st, b);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
pj_task_store_pending(struct pj_task_store *s, int64_t instance_id,
    size_t limit, pj_task_cb cb, void *arg)
{
	sqlite3_stmt *st = s->st[S_PENDING];
	int           rc;

	sqlite3_bind_int64(st, 1, instance_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64) limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct pj_task t = { 0 };

		t.instance_id     = instance_id;
		t.task_id         = (const char *) sqlite3_column_text(st, 0);
		t.task_name       = (const char *) sqlite3_column_text(st, 1);
		t.content         = sqlite3_column_blob(st, 2);
		t.content_len     = (size_t) sqlite3_column_bytes(st, 2);
		t.address         = (const char *) sqlite3_column_text(st, 3);
		t.pinned          = sqlite3_column_int(st, 4);
		t.failed_cnt      = sqlite3_column_int(st, 5);
		t.sub_instance_id = sqlite3_column_int64(st, 6);
		t.seq             = sqlite3_column_int64(st, 7);
		t.status          = PJ_TASK_WAITING_DISPATCH;
		if (t.address == NULL) {
			t.address = "";
		}
		if (cb(&t, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
pj_task_store_lost(struct pj_task_store *s, int64_t instance_id,
    const char *address, int status, const char *result, int64_t now,
    int64_t *n)
{
	sqlite3_stmt *st;

	if (status == PJ_TASK_WAITING_DISPATCH) {
		st = s->st[S_LOST_RERUN];
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2, instance_id);
		sqlite3_bind_text(st, 3, address, -1, SQLITE_STATIC);
	} else {
		st = s->st[S_LOST_FAIL];
		sqlite3_bind_text(
		    st, 1, result ? result : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int64(st, 3, instance_id);
		sqlite3_bind_text(st, 4, address, -1, SQLITE_STATIC);
	}
	if (run(s, st) != 0) {
		return -1;
	}
	*n = sqlite3_changes(s->db);
	return 0;
}

int
pj_task_store_unacked(struct pj_task_store *s, int64_t instance_id,
    int64_t older_than, int64_t now, int64_t *n)
{
	sqlite3_stmt *st = s->st[S_UNACKED];

	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, instance_id);
	sqlite3_bind_int64(st, 3, older_than);
	if (run(s, st) != 0) {
		return -1;
	}
	*n = sqlite3_changes(s->db);
	return 0;
}

int
pj_task_store_histogram(struct pj_task_store *s, int64_t instance_id,
    int64_t sub_instance_id, int64_t counts[PJ_TASK_STATUS_MAX + 1])
{
	sqlite3_stmt *st
	    = s->st[sub_instance_id < 0 ? S_HIST_ALL : S_HIST_SUB];
	int rc;

	memset(counts, 0, sizeof(int64_t) * (PJ_TASK_STATUS_MAX + 1));
	sqlite3_bind_int64(st, 1, instance_id);
	if (sub_instance_id >= 0) {
		sqlite3_bind_int64(st, 2, sub_instance_id);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int status = sqlite3_column_int(st, 0);
		if (status >= 1 && status <= PJ_TASK_STATUS_MAX) {
			counts[status] = sqlite3_column_int64(st, 1);
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
pj_task_store_inflight(struct pj_task_store *s, int64_t instance_id,
    pj_task_addr_cb cb, void *arg)
{
	sqlite3_stmt *st = s->st[S_INFLIGHT];
	int           rc;

	sqlite3_bind_int64(st, 1, instance_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *a = sqlite3_column_text(st, 0);
		cb(a ? (const char *) a : "", sqlite3_column_int64(st, 1),
		    arg);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
pj_task_store_results(struct pj_task_store *s, int64_t instance_id,
    int64_t sub_instance_id, const char *except, pj_task_cb cb, void *arg)
{
	sqlite3_stmt *st = s->st[S_RESULTS];
	int           rc;

	sqlite3_bind_int64(st, 1, instance_id);
	sqlite3_bind_int64(st, 2, sub_instance_id);
	sqlite3_bind_text(st, 3, except ? except : "", -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct pj_task t = { 0 };

		t.instance_id     = instance_id;
		t.sub_instance_id = sub_instance_id;
		t.task_id         = (const char *) sqlite3_column_text(st, 0);
		t.task_name       = (const char *) sqlite3_column_text(st, 1);
		t.status          = sqlite3_column_int(st, 2);
		t.result          = (const char *) sqlite3_column_text(st, 3);
		if (t.result == NULL) {
			t.result = "";
		}
		if (cb(&t, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
pj_task_store_delete(
    struct pj_task_store *s, int64_t instance_id, int64_t sub_instance_id)
{
	sqlite3_stmt *st
	    = s->st[sub_instance_id < 0 ? S_DELETE_ALL : S_DELETE_SUB];

	sqlite3_bind_int64(st, 1, instance_id);
	if (sub_instance_id >= 0) {
		sqlite3_bind_int64(st, 2, sub_instance_id);
	}
	return run(s, st);
}

int64_t
pj_task_store_count(struct pj_task_store *s, int64_t instance_id)
{
	sqlite3_stmt *st = s->st[S_COUNT];
	int64_t       n  = -1;

	sqlite3_bind_int64(st, 1, instance_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return n;
}
