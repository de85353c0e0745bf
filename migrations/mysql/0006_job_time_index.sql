-- One job's instances created in a time range (issue 8): idx05 holds
-- (job_id, gmt_create), so "job X, created in the last hour" reads one
-- ordered range of that job's rows from the bound on and stops at the
-- page. On idx03 (app_id, gmt_create) the job was tested on every row of
-- its app in that range (about 100 x the page here: 21 ms at 10,000,000
-- rows). gmt_create never changes, so only an insert pays (one entry);
-- no transition touches it (bench/store_bench.sh, docs/benchmarks.md).
CREATE INDEX IF NOT EXISTS idx05_instance_info ON instance_info (job_id, gmt_create);
