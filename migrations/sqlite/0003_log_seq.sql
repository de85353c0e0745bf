-- Instance logs carry the sender's line number (issue 13): a batch sent
-- twice (a worker retrying after a lost reply, a server failover, a spool
-- flushed again after a crash) finds its lines already there and adds
-- nothing. Lines written without a number keep seq NULL, and NULLs never
-- collide in a UNIQUE index.
ALTER TABLE local_instance_log ADD COLUMN seq BIGINT;
CREATE UNIQUE INDEX IF NOT EXISTS uidx01_local_instance_log ON local_instance_log (instance_id, seq);
