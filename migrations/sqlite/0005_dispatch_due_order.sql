-- The WAITING_DISPATCH check in global due order (issue 8): idx04 becomes
-- (status, expected_trigger_time, app_id) WHERE status = 1, so the check
-- reads one ordered range of the rows waiting for dispatch, oldest first,
-- tests the owned apps on the index entries and stops after `limit` of
-- them, instead of each app's oldest `limit`. Same entries, same write
-- cost (one added at insert, one removed at dispatch).
DROP INDEX IF EXISTS idx04_instance_info;
CREATE INDEX idx04_instance_info ON instance_info (status, expected_trigger_time, app_id) WHERE status = 1;
