-- Cost as instance_info grows (issue 8, bench/store_scale_bench.sh).
-- idx03: a list filtered on creation time ("created in the last hour") is
-- ordered and paged by (gmt_create, id) within one app, so a page reads
-- one ordered range: gmt_create never changes, so only inserts pay.
-- idx04: the WAITING_DISPATCH check reads each app's oldest due rows in
-- (expected_trigger_time, id) order and stops at its limit, however large
-- the overdue backlog. MariaDB has no partial index (SQLite's idx04 holds
-- only status 1), so here it holds every row and moves with each status
-- transition, like idx02.
CREATE INDEX IF NOT EXISTS idx03_instance_info ON instance_info (app_id, gmt_create);
CREATE INDEX IF NOT EXISTS idx04_instance_info ON instance_info (app_id, status, expected_trigger_time);
