-- idx04 narrows to (dispatch_due, dispatch_app, id) (issue 8). Migration
-- 0007 made it cover the WAITING_DISPATCH check (three more stored columns,
-- dispatch_iid, dispatch_job and dispatch_fire, in the index), so that the
-- check read no row. That cost every batched lifecycle 4-7 % more server
-- CPU on MariaDB (bench/store_bench_ab.sh, three runs against the build
-- before 0004), on the path every fire takes. Without it the check of
-- 1,000 rows behind a backlog of 100,000 takes 2.6 ms at 10,000,000 rows
-- (2.4 ms covering; store_scale), and only an overloaded server has such
-- a backlog. dispatch_due and dispatch_app stay stored, so that purge
-- still removes the entries of dispatched rows (0007).
-- The index is rebuilt in place and the columns are dropped instantly
-- (no table rebuild): 2.2 s at 1,100,000 rows, where 0007's rebuild of
-- the same table takes 9.7 s.
ALTER TABLE instance_info
	DROP INDEX IF EXISTS idx04_instance_info,
	ADD INDEX idx04_instance_info (dispatch_due, dispatch_app, id);
ALTER TABLE instance_info
	DROP COLUMN IF EXISTS dispatch_iid,
	DROP COLUMN IF EXISTS dispatch_job,
	DROP COLUMN IF EXISTS dispatch_fire;
