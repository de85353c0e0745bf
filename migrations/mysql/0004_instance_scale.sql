-- Cost as instance_info grows (issue 8, bench/store_scale_bench.sh).
-- idx03: a list filtered on creation time ("created in the last hour") is
-- ordered and paged by (gmt_create, id) within one app, so a page reads
-- one ordered range: gmt_create never changes, so only inserts pay.
-- idx04: the WAITING_DISPATCH check reads each app's oldest due rows in
-- (expected_trigger_time, id) order and stops at its limit, however large
-- the overdue backlog. SQLite's idx04 is a partial index (status = 1);
-- MariaDB has none, so the same effect comes from a virtual column that
-- is the expected trigger time while the row waits for dispatch and NULL
-- after: InnoDB updates an index entry only when its value changes, so an
-- instance costs one entry at insert and one change at dispatch, and the
-- later transitions (NULL to NULL) do not touch it. An index on
-- (app_id, status, expected_trigger_time) would move with every status
-- transition (bench/store_bench.c: measured in docs/benchmarks.md).
ALTER TABLE instance_info ADD COLUMN IF NOT EXISTS dispatch_due BIGINT AS (CASE WHEN status = 1 THEN expected_trigger_time END) VIRTUAL;
CREATE INDEX IF NOT EXISTS idx03_instance_info ON instance_info (app_id, gmt_create);
CREATE INDEX IF NOT EXISTS idx04_instance_info ON instance_info (app_id, dispatch_due);
