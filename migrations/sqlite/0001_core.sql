-- PowerJob's core tables (powerjob-design.md §10.1), SQLite form.
-- Every time is BIGINT milliseconds since the Unix epoch; text columns are
-- stored as given (SQLite compares text bytewise).
-- instance_info keeps PowerJob's two status indexes, (job_id, status) for
-- the live count and (app_id, status) for the status checks and lists: the
-- checks select live states (1, 2, 3), a few rows per app, and filter the
-- time column on those; a time column in the index would make every status
-- transition rewrite more index entries (measured: bench/store_bench.sh).
-- See server/store.h.
CREATE TABLE IF NOT EXISTS schema_version (
	version INT NOT NULL PRIMARY KEY,
	name VARCHAR(255) NOT NULL,
	applied_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS app_info (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	app_name VARCHAR(255) NOT NULL,
	password_hash VARCHAR(255) NOT NULL,
	current_server VARCHAR(255) NOT NULL DEFAULT '',
	namespace_id BIGINT NOT NULL DEFAULT 0,
	title VARCHAR(255) NOT NULL DEFAULT '',
	tags VARCHAR(255) NOT NULL DEFAULT '',
	extra TEXT,
	creator VARCHAR(255) NOT NULL DEFAULT '',
	modifier VARCHAR(255) NOT NULL DEFAULT '',
	gmt_create BIGINT NOT NULL,
	gmt_modified BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS job_info (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	app_id BIGINT NOT NULL,
	job_name VARCHAR(255) NOT NULL,
	job_description TEXT,
	job_params LONGTEXT,
	time_expression_type INT NOT NULL,
	time_expression TEXT,
	time_zone VARCHAR(64) NOT NULL DEFAULT '',
	misfire_policy INT NOT NULL DEFAULT 0,
	execute_type INT NOT NULL,
	processor_type INT NOT NULL,
	processor_info TEXT,
	max_instance_num INT NOT NULL DEFAULT 0,
	concurrency INT NOT NULL DEFAULT 5,
	instance_time_limit BIGINT NOT NULL DEFAULT 0,
	instance_retry_num INT NOT NULL DEFAULT 0,
	task_retry_num INT NOT NULL DEFAULT 0,
	status INT NOT NULL,
	next_trigger_time BIGINT NULL,
	min_cpu_cores DOUBLE NOT NULL DEFAULT 0,
	min_memory_space DOUBLE NOT NULL DEFAULT 0,
	min_disk_space DOUBLE NOT NULL DEFAULT 0,
	designated_workers TEXT,
	max_worker_count INT NOT NULL DEFAULT 0,
	notify_user_ids TEXT,
	extra TEXT,
	dispatch_strategy INT NOT NULL DEFAULT 1,
	dispatch_strategy_config TEXT,
	lifecycle TEXT,
	alarm_config TEXT,
	tag VARCHAR(255) NOT NULL DEFAULT '',
	log_config TEXT,
	advanced_runtime_config TEXT,
	gmt_create BIGINT NOT NULL,
	gmt_modified BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS instance_info (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	instance_id BIGINT NOT NULL,
	job_id BIGINT NOT NULL,
	app_id BIGINT NOT NULL,
	type INT NOT NULL DEFAULT 1,
	wf_instance_id BIGINT NULL,
	status INT NOT NULL,
	job_params LONGTEXT,
	instance_params LONGTEXT,
	result LONGTEXT,
	fire_time BIGINT NULL,
	expected_trigger_time BIGINT NOT NULL DEFAULT 0,
	actual_trigger_time BIGINT NOT NULL DEFAULT 0,
	finished_time BIGINT NOT NULL DEFAULT 0,
	last_report_time BIGINT NOT NULL DEFAULT -1,
	task_tracker_address VARCHAR(255) NOT NULL DEFAULT '',
	running_times BIGINT NOT NULL DEFAULT 0,
	gmt_create BIGINT NOT NULL,
	gmt_modified BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS workflow_info (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	app_id BIGINT NOT NULL,
	wf_name VARCHAR(255) NOT NULL,
	wf_description TEXT,
	pedag LONGTEXT,
	time_expression_type INT NOT NULL,
	time_expression TEXT,
	time_zone VARCHAR(64) NOT NULL DEFAULT '',
	max_wf_instance_num INT NOT NULL DEFAULT 1,
	status INT NOT NULL,
	next_trigger_time BIGINT NULL,
	notify_user_ids TEXT,
	lifecycle TEXT,
	extra TEXT,
	gmt_create BIGINT NOT NULL,
	gmt_modified BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS workflow_instance_info (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	wf_instance_id BIGINT NOT NULL,
	workflow_id BIGINT NOT NULL,
	app_id BIGINT NOT NULL,
	parent_wf_instance_id BIGINT NULL,
	status INT NOT NULL,
	wf_init_params LONGTEXT,
	wf_context LONGTEXT,
	dag LONGTEXT,
	result LONGTEXT,
	expected_trigger_time BIGINT NOT NULL DEFAULT 0,
	actual_trigger_time BIGINT NOT NULL DEFAULT 0,
	finished_time BIGINT NOT NULL DEFAULT 0,
	gmt_create BIGINT NOT NULL,
	gmt_modified BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS workflow_node_info (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	app_id BIGINT NOT NULL,
	workflow_id BIGINT NOT NULL DEFAULT 0,
	type INT NOT NULL DEFAULT 1,
	job_id BIGINT NOT NULL DEFAULT 0,
	node_name VARCHAR(255) NOT NULL DEFAULT '',
	node_params LONGTEXT,
	enable TINYINT NOT NULL DEFAULT 1,
	skip_when_failed TINYINT NOT NULL DEFAULT 0,
	extra LONGTEXT,
	gmt_create BIGINT NOT NULL,
	gmt_modified BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS server_info (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	ip VARCHAR(255) NOT NULL,
	server_id INT NOT NULL,
	gmt_create BIGINT NOT NULL,
	gmt_modified BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS oms_lock (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	lock_name VARCHAR(255) NOT NULL,
	ownerip VARCHAR(255) NOT NULL,
	max_lock_time BIGINT NOT NULL,
	gmt_create BIGINT NOT NULL,
	gmt_modified BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS local_instance_log (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	instance_id BIGINT NOT NULL,
	log_time BIGINT NOT NULL,
	log_level INT NOT NULL DEFAULT 2,
	log_content LONGTEXT,
	worker_address VARCHAR(255) NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS user_info (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	username VARCHAR(255) NOT NULL,
	email VARCHAR(255) NOT NULL DEFAULT '',
	phone VARCHAR(255) NOT NULL DEFAULT '',
	web_hook TEXT,
	status INT NOT NULL DEFAULT 1,
	extra TEXT,
	gmt_create BIGINT NOT NULL,
	gmt_modified BIGINT NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS uidx01_app_info ON app_info (app_name);
CREATE INDEX IF NOT EXISTS idx01_job_info ON job_info (app_id, status, time_expression_type, next_trigger_time);
CREATE UNIQUE INDEX IF NOT EXISTS uidx01_instance_info ON instance_info (instance_id);
CREATE UNIQUE INDEX IF NOT EXISTS uidx02_instance_fire ON instance_info (job_id, fire_time);
CREATE INDEX IF NOT EXISTS idx01_instance_info ON instance_info (job_id, status);
CREATE INDEX IF NOT EXISTS idx02_instance_info ON instance_info (app_id, status);
CREATE INDEX IF NOT EXISTS idx01_workflow_info ON workflow_info (app_id, status, time_expression_type, next_trigger_time);
CREATE UNIQUE INDEX IF NOT EXISTS uidx01_wf_instance ON workflow_instance_info (wf_instance_id);
CREATE INDEX IF NOT EXISTS idx01_wf_instance ON workflow_instance_info (workflow_id, status, app_id, expected_trigger_time);
CREATE INDEX IF NOT EXISTS idx02_wf_instance ON workflow_instance_info (app_id, status, expected_trigger_time);
CREATE INDEX IF NOT EXISTS idx01_workflow_node_info ON workflow_node_info (workflow_id, gmt_create);
CREATE UNIQUE INDEX IF NOT EXISTS uidx01_server_info ON server_info (ip);
CREATE UNIQUE INDEX IF NOT EXISTS uidx02_server_info ON server_info (server_id);
CREATE INDEX IF NOT EXISTS idx01_server_info ON server_info (gmt_modified);
CREATE UNIQUE INDEX IF NOT EXISTS uidx01_oms_lock ON oms_lock (lock_name);
CREATE INDEX IF NOT EXISTS idx01_oms_lock ON oms_lock (ownerip);
CREATE INDEX IF NOT EXISTS idx01_local_instance_log ON local_instance_log (instance_id, log_time, id);
CREATE UNIQUE INDEX IF NOT EXISTS uidx01_user_name ON user_info (username);
CREATE INDEX IF NOT EXISTS uidx02_user_info ON user_info (email);
