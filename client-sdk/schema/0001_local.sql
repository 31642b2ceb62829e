-- Local store of a field device. Forward only: a later change is a new file.

-- The enrolled device: its key, its server and its session. One row.
CREATE TABLE device (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    server_url        TEXT    NOT NULL,
    device_id         INTEGER,                 -- server's device id once registered
    private_key       BLOB    NOT NULL,        -- Ed25519 seed||public (64 bytes); never sent
    public_key        BLOB    NOT NULL,
    username          TEXT    NOT NULL,
    user_json         TEXT    NOT NULL DEFAULT '{}',
    access_token      TEXT    NOT NULL DEFAULT '',
    access_expires_at TEXT    NOT NULL DEFAULT '',
    refresh_token     TEXT    NOT NULL DEFAULT '',
    revoked_at        TEXT    NOT NULL DEFAULT '',  -- set when the server said the device was revoked
    needs_login       INTEGER NOT NULL DEFAULT 0    -- the server refused the session: log in again
);

-- Sequence allocation and pull position. One row.
CREATE TABLE sync_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    next_seq         INTEGER NOT NULL DEFAULT 1,   -- the next mutation gets this seq
    cursor           TEXT    NOT NULL DEFAULT '',  -- server-issued pull cursor
    last_sync_at     TEXT    NOT NULL DEFAULT '',  -- device clock, for display only
    last_applied_seq INTEGER NOT NULL DEFAULT 0    -- the server's high-water mark as last reported
);
INSERT INTO sync_state (id) VALUES (1);

-- Mutations not yet acknowledged by the server, in seq order.
CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY,
    mutation_id TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    packet_id   TEXT    NOT NULL,
    body        TEXT    NOT NULL,            -- syncproto.Mutation as JSON
    created_at  TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT ''
);

-- Mutations the server rejected, kept for the inspector.
CREATE TABLE rejections (
    seq         INTEGER PRIMARY KEY,
    mutation_id TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    packet_id   TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    rejected_at TEXT    NOT NULL
);

-- Content-addressed files under attachments/<sha256>.
CREATE TABLE attachments (
    sha256       TEXT    PRIMARY KEY,
    size         INTEGER NOT NULL,
    content_type TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    on_server    INTEGER NOT NULL DEFAULT 0,  -- the server confirmed it holds the blob
    upload_url   TEXT    NOT NULL DEFAULT ''  -- a started resumable upload
);

-- Server-derived: packets assigned to this inspector.
CREATE TABLE packets (
    id          TEXT    PRIMARY KEY,
    campaign_id INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    team_number INTEGER NOT NULL,
    content     TEXT    NOT NULL
);

-- One row per checklist item answered locally or pulled from the server.
-- answer is what the device shows: its own unacknowledged answer
-- (pending_seq set) or else the server's winner.
CREATE TABLE answers (
    packet_id      TEXT    NOT NULL,
    department     TEXT    NOT NULL,
    item_code      TEXT    NOT NULL,
    answer         TEXT    NOT NULL,            -- syncproto.AnswerMutation
    pending_seq    INTEGER,                     -- seq of the newest local answer not yet acknowledged
    server_version INTEGER NOT NULL DEFAULT 0,
    server_state   TEXT    NOT NULL DEFAULT '', -- syncproto.AnswerState as pulled
    conflicts      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (packet_id, department, item_code)
);

-- Local field work on a visit: certificates, close, and the version being edited.
CREATE TABLE visits (
    packet_id         TEXT    PRIMARY KEY,
    version           INTEGER NOT NULL DEFAULT 1,  -- record version being edited
    sealed            INTEGER NOT NULL DEFAULT 0,  -- that version is sealed
    correction_reason TEXT    NOT NULL DEFAULT '',
    certificates      TEXT    NOT NULL DEFAULT '',  -- syncproto.CertificatesMutation
    close             TEXT    NOT NULL DEFAULT ''   -- syncproto.CloseMutation
);

-- Sealed records: this device's own (origin local) and those pulled (origin server).
CREATE TABLE records (
    packet_id TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    origin    TEXT    NOT NULL CHECK (origin IN ('local', 'server')),
    record    TEXT    NOT NULL,     -- syncproto.InspectionRecord
    hash      TEXT    NOT NULL,
    signature BLOB    NOT NULL,
    PRIMARY KEY (packet_id, version, origin)
);

-- A sealed local record never changes.
CREATE TRIGGER records_immutable BEFORE UPDATE ON records WHEN OLD.origin = 'local'
BEGIN
    SELECT RAISE(ABORT, 'a sealed record is immutable');
END;
CREATE TRIGGER records_undeletable BEFORE DELETE ON records WHEN OLD.origin = 'local'
BEGIN
    SELECT RAISE(ABORT, 'a sealed record is immutable');
END;
