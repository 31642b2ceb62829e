-- +goose Up
-- Field sync: exactly-once mutations per device, answer versions with kept
-- conflicts, visit events, sealed records, content-addressed attachments and
-- the change log devices pull from.

-- The device's high-water mark, written in the same transaction as each effect.
ALTER TABLE devices ADD COLUMN last_applied_seq INTEGER NOT NULL DEFAULT 0;

-- Every mutation the server took, applied or rejected, as received.
CREATE TABLE mutations (
    device_id   INTEGER NOT NULL REFERENCES devices (id),
    seq         INTEGER NOT NULL,
    mutation_id TEXT NOT NULL,
    kind        TEXT NOT NULL,
    packet_id   TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('applied', 'rejected')),
    code        TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    device_time DATETIME NOT NULL,
    received_at DATETIME NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX mutations_packet ON mutations (packet_id);

-- Every version of every checklist answer. One winner per item; versions that
-- lost to a concurrent offline edit stay, flagged, for the reviewer.
CREATE TABLE answers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    packet_id    TEXT NOT NULL REFERENCES packets (id),
    department   TEXT NOT NULL,
    item_code    TEXT NOT NULL,
    version      INTEGER NOT NULL,
    base_version INTEGER NOT NULL,
    device_id    INTEGER NOT NULL REFERENCES devices (id),
    inspector_id INTEGER NOT NULL REFERENCES inspectors (id),
    seq          INTEGER NOT NULL,
    body         TEXT NOT NULL, -- syncproto.AnswerMutation
    winner       BOOLEAN NOT NULL,
    conflict     BOOLEAN NOT NULL DEFAULT FALSE,
    device_time  DATETIME NOT NULL,
    received_at  DATETIME NOT NULL,
    UNIQUE (packet_id, department, item_code, version)
);

-- Certificates shown and visit closes, as received.
CREATE TABLE visit_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    packet_id    TEXT NOT NULL REFERENCES packets (id),
    kind         TEXT NOT NULL CHECK (kind IN ('certificates', 'close')),
    device_id    INTEGER NOT NULL REFERENCES devices (id),
    inspector_id INTEGER NOT NULL REFERENCES inspectors (id),
    seq          INTEGER NOT NULL,
    body         TEXT NOT NULL,
    device_time  DATETIME NOT NULL,
    received_at  DATETIME NOT NULL
);
CREATE INDEX visit_events_packet ON visit_events (packet_id);

-- Sealed on-site records: immutable; a correction is the next version.
CREATE TABLE records (
    packet_id   TEXT NOT NULL REFERENCES packets (id),
    version     INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    signature   BLOB NOT NULL,
    body        TEXT NOT NULL, -- syncproto.InspectionRecord, canonical JSON
    device_id   INTEGER NOT NULL REFERENCES devices (id),
    received_at DATETIME NOT NULL,
    PRIMARY KEY (packet_id, version)
);

-- Verified attachments, by content. Only whole, hash-checked files get a row.
CREATE TABLE blobs (
    sha256       TEXT PRIMARY KEY,
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    uploaded_by  INTEGER NOT NULL REFERENCES users (id),
    created_at   DATETIME NOT NULL
);

-- Which packets reference which attachments: who may read a packet's record
-- may read its attachments. Knowing a hash grants nothing.
CREATE TABLE attachment_refs (
    sha256    TEXT NOT NULL REFERENCES blobs (sha256),
    packet_id TEXT NOT NULL REFERENCES packets (id),
    PRIMARY KEY (sha256, packet_id)
);

-- The change log devices pull from, in server order.
CREATE TABLE sync_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    packet_id  TEXT NOT NULL REFERENCES packets (id),
    kind       TEXT NOT NULL CHECK (kind IN ('packet', 'answer', 'record')),
    key        TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL
);
CREATE INDEX sync_changes_packet ON sync_changes (packet_id, seq);
