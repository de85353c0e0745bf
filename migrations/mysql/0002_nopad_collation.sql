-- Text compares byte for byte, as on SQLite (issue 8, finding 4):
-- utf8mb4_bin is a PAD SPACE collation, so 'L' = 'L   ' in every WHERE,
-- unique key and ORDER BY (unlock("L   ") freed somebody else's lock "L";
-- app_find("app1   ") found app1). utf8mb4_nopad_bin (MariaDB >= 10.2)
-- compares code points with no padding, which for UTF-8 is byte order.
-- CONVERT TO keeps every column's type (same character set) and is
-- idempotent, so a half-applied run completes on the next one.
ALTER TABLE schema_version CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE app_info CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE job_info CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE instance_info CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE workflow_info CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE workflow_instance_info CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE workflow_node_info CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE server_info CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE oms_lock CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE local_instance_log CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE user_info CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
