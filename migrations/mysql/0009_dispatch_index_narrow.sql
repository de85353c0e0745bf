-- idx04 narrows to (dispatch_due, dispatch_app, id) (issue 8). Migration
-- 0007 made it cover the WAITING_DISPATCH check (three more stored columns,
-- dispatch_iid, dispatch_job and dispatch_fire, in the index), so that the
-- check read no row. That cost every batched lifecycle about 7 % more
-- server CPU on MariaDB (bench/store_bench_ab.sh), on the path every fire
-- takes, to save about 2 ms on a check of 1,000 rows behind a backlog,
-- which only an overloaded server sees. The check reads the rows again;
-- dispatch_due and dispatch_app stay stored, so that purge still removes
-- the entries of dispatched rows (0007).
-- The index is rebuilt in place; the columns are dropped instantly.
ALTER TABLE instance_info
	DROP INDEX IF EXISTS idx04_instance_info,
	ADD INDEX idx04_instance_info (dispatch_due, dispatch_app, id);
ALTER TABLE instance_info
	DROP COLUMN IF EXISTS dispatch_iid,
	DROP COLUMN IF EXISTS dispatch_job,
	DROP COLUMN IF EXISTS dispatch_fire;
