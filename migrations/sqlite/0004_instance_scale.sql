-- Cost as instance_info grows (issue 8, bench/store_scale_bench.sh).
-- idx03: a list filtered on creation time ("created in the last hour") is
-- ordered and paged by (gmt_create, id) within one app, so a page reads
-- one ordered range: gmt_create never changes, so only inserts pay.
-- idx04: the WAITING_DISPATCH check reads each app's oldest due rows in
-- (expected_trigger_time, id) order and stops at its limit, however large
-- the overdue backlog. Partial (WHERE status = 1): a row is in it only
-- while it waits for dispatch, so an instance costs one entry added at
-- insert and one removed at dispatch, and no other transition touches it.
-- The status check names the index and writes "status = 1" literally, so
-- that SQLite can prove the index applies; status is also a column of the
-- index so that the check reads the index alone (covering).
CREATE INDEX IF NOT EXISTS idx03_instance_info ON instance_info (app_id, gmt_create);
CREATE INDEX IF NOT EXISTS idx04_instance_info ON instance_info (app_id, status, expected_trigger_time) WHERE status = 1;
