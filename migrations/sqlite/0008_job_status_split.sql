-- A job's (job_id, status) index as two partial indexes (issue 8): idx01
-- for the live statuses (WAITING_DISPATCH, WAITING_WORKER_RECEIVE,
-- RUNNING: below 4), idx06 for the others. One index moved a row's entry
-- on every transition, and each job's entries lay on the job's own
-- pages, so a batch of transitions of many jobs rewrote one page per job
-- into the WAL at each commit: most of a batched lifecycle's cost
-- (strace: 6.5 pwrite calls per lifecycle). The live rows of all jobs
-- are few and share a few pages, so the transitions up to RUNNING now
-- rewrite those, and only the move to a finished status adds an entry on
-- the job's own page. SQLite uses a partial index only when the statement
-- repeats its condition word for word: the store writes " AND +status <
-- 4" / " AND +status >= 4" with it (pj_job_status_index,
-- server/store/store_impl.h). The unary + keeps the planner from taking
-- the condition for a range of the index (with "status >= 4" beside
-- "status = ?" it searched the range and sorted); an IN list instead of a
-- comparison cost a third more CPU per lifecycle.
-- bench/store_bench_ab.sh: docs/benchmarks.md.
DROP INDEX IF EXISTS idx01_instance_info;
CREATE INDEX idx01_instance_info ON instance_info (job_id, status) WHERE +status < 4;
CREATE INDEX IF NOT EXISTS idx06_instance_info ON instance_info (job_id, status) WHERE +status >= 4;
