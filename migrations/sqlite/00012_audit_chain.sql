-- +goose Up
-- The audit chain: one row per state change, each holding the SHA-256 of the
-- one before it (docs/audit.md gives the hashed encoding). seq is assigned
-- by the writer, 1, 2, 3… with no gap (SQLite serializes writers). The actor
-- is kept as it was when the event happened, with no foreign key: the chain
-- never changes when the directories do. The hash covers payload's exact bytes.
CREATE TABLE audit_events (
    seq                 INTEGER PRIMARY KEY CHECK (seq > 0),
    occurred_at         DATETIME NOT NULL,
    actor_id            INTEGER,
    actor_role          TEXT NOT NULL,
    actor_department_id INTEGER,
    action              TEXT NOT NULL,
    object_type         TEXT NOT NULL,
    object_id           TEXT NOT NULL,
    payload             TEXT NOT NULL,
    prev_hash           TEXT NOT NULL CHECK (length(prev_hash) = 64),
    hash                TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)
);
CREATE INDEX audit_events_object ON audit_events (object_type, object_id);

-- Rows are never changed or removed by the server; the database refuses it
-- too. (Whoever can drop these triggers can still rewrite rows: that is what
-- the hash chain and a published head detect.)
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd
