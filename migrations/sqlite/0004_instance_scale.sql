-- Cost as instance_info grows (issue 8, bench/store_scale_bench.sh).
-- idx03: a list filtered on creation time ("created in the last hour") is
-- ordered and paged by (gmt_create, id) within one app, so a page reads
-- one ordered range: gmt_create never changes, so only inserts pay.
-- No idx04 here (MariaDB's 0004 has one for the WAITING_DISPATCH check
-- behind a backlog): SQLite reads a backlog of 100,000 overdue rows on
-- idx02 in 5-9 ms, and a partial index (app_id, status,
-- expected_trigger_time) WHERE status = 1 took that to 5-7 ms for 18%
-- fewer batched lifecycles per second (docs/benchmarks.md, store_scale).
CREATE INDEX IF NOT EXISTS idx03_instance_info ON instance_info (app_id, gmt_create);
