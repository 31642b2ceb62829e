-- outbox.attempts and outbox.last_error were never written: a failed sync
-- is retried by the sync loop's backoff, and a rejection is kept in the
-- rejections table. Dropped rather than left to suggest otherwise.
ALTER TABLE outbox DROP COLUMN attempts;
ALTER TABLE outbox DROP COLUMN last_error;
