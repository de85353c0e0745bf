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
-- idx04 also holds what the check returns (instance_id, job_id,
-- fire_time; id, the primary key, named so that the entries stay in
-- (dispatch_due, app_id, id) order), so the check reads no row: 1,000
-- rows cost 3,016 pages and 3.4 ms of server time before (ANALYZE, behind
-- a backlog of 100,000 at 1,000,000 rows).
ALTER TABLE instance_info
	DROP INDEX idx04_instance_info,
	DROP COLUMN dispatch_due,
	ADD COLUMN dispatch_due BIGINT AS (CASE WHEN status = 1 THEN expected_trigger_time END) PERSISTENT,
	ADD INDEX idx04_instance_info (dispatch_due, app_id, id, instance_id, job_id, fire_time);
