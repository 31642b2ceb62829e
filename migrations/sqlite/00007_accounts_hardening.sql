-- +goose Up
-- Accounts hardening: usernames in one normalized form with a confusable
-- skeleton, passwords that must be changed, login failure counters shared by
-- every replica, and conflict declarations that need a department admin's
-- approval and record who withdrew them and why.

-- The TR39 skeleton of the normalized username: two names that look alike
-- have the same one. Older rows are filled in by the server at start.
ALTER TABLE users ADD COLUMN username_skeleton TEXT;
CREATE UNIQUE INDEX users_username_skeleton ON users (username_skeleton);
-- Set for a generated or reset password: until it is changed, the account's
-- tokens reach only /v1/me and the change-password route.
ALTER TABLE users ADD COLUMN password_change_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN password_changed_at DATETIME;

-- A session is a refresh-token family; access tokens name it ("sid") and
-- are checked against its first token, found through this index on every
-- request.
CREATE UNIQUE INDEX refresh_tokens_session ON refresh_tokens (family_id) WHERE parent_id IS NULL;

-- Failed logins per account (subject "account:<username>") and per client address
-- ("address:<ip>"). Every attempt is counted before its password is checked
-- (a correct one takes it back and deletes the account's row), so attempts
-- racing on several replicas get no extra tries. Times are Unix milliseconds
-- so the backoff is plain arithmetic on both dialects.
CREATE TABLE login_failures (
    subject         TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL CHECK (failures >= 0),
    last_failure_ms INTEGER NOT NULL
);
CREATE INDEX login_failures_last ON login_failures (last_failure_ms);

-- Declarations: an inspector's own wait for their department admin; an
-- admin's are approved at once, as every earlier one counted.
ALTER TABLE conflict_declarations ADD COLUMN status TEXT NOT NULL DEFAULT 'approved'
    CHECK (status IN ('pending', 'approved', 'rejected'));
ALTER TABLE conflict_declarations ADD COLUMN reviewed_by INTEGER REFERENCES users (id);
ALTER TABLE conflict_declarations ADD COLUMN reviewed_at DATETIME;
ALTER TABLE conflict_declarations ADD COLUMN review_note TEXT NOT NULL DEFAULT '';
ALTER TABLE conflict_declarations ADD COLUMN withdrawn_by INTEGER REFERENCES users (id);
ALTER TABLE conflict_declarations ADD COLUMN withdraw_reason TEXT NOT NULL DEFAULT '';
-- A rejected declaration no longer stands: the pair may be declared again.
DROP INDEX conflict_declarations_standing;
CREATE UNIQUE INDEX conflict_declarations_standing ON conflict_declarations (inspector_id, enterprise_id)
    WHERE withdrawn_at IS NULL AND status <> 'rejected';
CREATE INDEX conflict_declarations_pending ON conflict_declarations (inspector_id) WHERE status = 'pending' AND withdrawn_at IS NULL;
