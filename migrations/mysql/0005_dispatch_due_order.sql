-- The WAITING_DISPATCH check in global due order (issue 8): idx04 becomes
-- (dispatch_due, app_id), so the check reads one ordered range of the
-- rows waiting for dispatch, oldest first, tests the owned apps on the
-- index entries and stops after `limit` of them. On (app_id, dispatch_due)
-- it read each app's oldest `limit` (apps x limit entries, 32.8 ms behind
-- a backlog of 100,000 at 10,000,000 rows). Same entries, same write cost:
-- one at insert, one change at dispatch (dispatch_due turns NULL).
ALTER TABLE instance_info DROP INDEX idx04_instance_info, ADD INDEX idx04_instance_info (dispatch_due, app_id);
