-- +goose Up
-- The audit chain: one row per state change, each holding the SHA-256 of the
-- one before it (docs/audit.md gives the hashed encoding). seq is assigned
-- by the writer under an advisory lock, 1, 2, 3… with no gap, so the chain
-- is one line however many server replicas append to it. The actor is kept
-- as it was when the event happened, with no foreign key: the chain never
-- changes when the directories do. payload is TEXT, not JSONB, because the
-- hash covers its exact bytes.
CREATE TABLE audit_events (
    seq                 BIGINT PRIMARY KEY CHECK (seq > 0),
    occurred_at         TIMESTAMPTZ NOT NULL,
    actor_id            BIGINT,
    actor_role          TEXT NOT NULL,
    actor_department_id BIGINT,
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
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
