-- Indexes for the instance listings (issue 8, "Cost as the tables grow").
-- pj_store_instance_list pages one job's or one app's instances in id order
-- (keyset: id > after_id ORDER BY id LIMIT n). (job_id, status) and
-- (app_id, status) cannot give that order without a status, so the page
-- read and sorted every instance of the job (filesort) or scanned the
-- primary key for the app's rows, growing with the table. (job_id, id) and
-- (app_id, id) deliver the rows in id order, so a page reads its n rows.
-- Neither column ever changes after the insert, so status transitions do
-- not touch these indexes; a status list (status IN ...) keeps using the
-- status indexes, one ordered range per status
-- (server/store/store_instance.c). Measured: bench/store_scale.sh,
-- docs/benchmarks.md.
CREATE INDEX IF NOT EXISTS idx03_instance_info ON instance_info (job_id, id);
CREATE INDEX IF NOT EXISTS idx04_instance_info ON instance_info (app_id, id);
