-- dispatch_due becomes a stored (PERSISTENT) column (issue 8). As a
-- VIRTUAL column, InnoDB's purge did not remove the old idx04 entries of
-- dispatched rows on MariaDB 10.11: each dispatch left a delete-marked
-- (dispatch_due, app_id) entry behind, and the WAITING_DISPATCH check,
-- a range "dispatch_due < now", stepped over every one of them. 200,000
-- dispatched rows made an empty check read 336 pages (7.8 ms) long after
-- purge had finished (ANALYZE FORMAT=JSON, r_engine_stats); a stored
-- column's entries are purged like any other (2 pages). The test
-- mysql_moved_rows_leave_no_due_entries in t/store_mysql_test.c
-- checks it. The row gains 8 bytes; the index is written as before (one
-- entry at insert, one change at dispatch). The ALTER rebuilds the table.
-- idx04 also holds what the check returns, so the check reads no row:
-- 1,000 rows cost 3,016 pages and 3.4 ms of server time before (ANALYZE,
-- behind a backlog of 100,000 at 1,000,000 rows), 7 pages and 0.5 ms
-- after. Every one of its columns is NULL once the row is dispatched
-- (stored generated columns, like dispatch_due), so a finished row's entry
-- is its id alone: with instance_id, job_id and fire_time themselves in
-- the index every row ever run would keep ~46 bytes there (about 460 MB at
-- 10,000,000 rows, which a buffer pool holds instead of the table's pages).
-- id, the primary key, is named so that the entries are in (dispatch_due,
-- dispatch_app, id) order: the check's ORDER BY.
-- (IF EXISTS: the migration can run again on a database whose
-- schema_version was lost.)
ALTER TABLE instance_info
	DROP INDEX IF EXISTS idx04_instance_info,
	DROP COLUMN IF EXISTS dispatch_due,
	DROP COLUMN IF EXISTS dispatch_app,
	DROP COLUMN IF EXISTS dispatch_iid,
	DROP COLUMN IF EXISTS dispatch_job,
	DROP COLUMN IF EXISTS dispatch_fire,
	ADD COLUMN dispatch_due BIGINT AS (CASE WHEN status = 1 THEN expected_trigger_time END) PERSISTENT,
	ADD COLUMN dispatch_app BIGINT AS (CASE WHEN status = 1 THEN app_id END) PERSISTENT,
	ADD COLUMN dispatch_iid BIGINT AS (CASE WHEN status = 1 THEN instance_id END) PERSISTENT,
	ADD COLUMN dispatch_job BIGINT AS (CASE WHEN status = 1 THEN job_id END) PERSISTENT,
	ADD COLUMN dispatch_fire BIGINT AS (CASE WHEN status = 1 THEN fire_time END) PERSISTENT,
	ADD INDEX idx04_instance_info (dispatch_due, dispatch_app, id, dispatch_iid, dispatch_job, dispatch_fire);
