-- +goose Up
-- The joint record: one sealed section per department, closes that name the
-- sections they cover, and who uploaded which attachment.

-- Every sealed version of every department's section. Immutable: a
-- correction is the next version.
CREATE TABLE section_seals (
    packet_id    TEXT NOT NULL REFERENCES packets (id),
    department   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    hash         TEXT NOT NULL,
    signature    BLOB NOT NULL,
    body         TEXT NOT NULL, -- syncproto.SectionRecord, canonical JSON
    flags        TEXT NOT NULL DEFAULT '[]', -- syncproto.RecordFlag list, decided on receipt
    device_id    INTEGER NOT NULL REFERENCES devices (id),
    inspector_id INTEGER NOT NULL REFERENCES inspectors (id),
    received_at  DATETIME NOT NULL,
    PRIMARY KEY (packet_id, department, version)
);

-- Sealed closes. Normally one per packet; two captured offline are both kept.
CREATE TABLE visit_closes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    packet_id    TEXT NOT NULL REFERENCES packets (id),
    hash         TEXT NOT NULL,
    signature    BLOB NOT NULL,
    body         TEXT NOT NULL, -- syncproto.CloseRecord, canonical JSON
    flags        TEXT NOT NULL DEFAULT '[]',
    device_id    INTEGER NOT NULL REFERENCES devices (id),
    inspector_id INTEGER NOT NULL REFERENCES inspectors (id),
    received_at  DATETIME NOT NULL,
    UNIQUE (packet_id, hash)
);

-- Which device uploaded which attachment (identical bytes are stored once).
-- A mutation may refer only to an attachment its device uploaded or one a
-- packet its user may read already references.
CREATE TABLE blob_uploads (
    sha256     TEXT NOT NULL REFERENCES blobs (sha256),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    device_id  INTEGER REFERENCES devices (id), -- NULL: uploaded before devices were recorded
    created_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX blob_uploads_device ON blob_uploads (sha256, device_id);
INSERT INTO blob_uploads (sha256, user_id, device_id, created_at)
    SELECT sha256, uploaded_by, NULL, created_at FROM blobs;

-- SQLite cannot change a CHECK constraint: rebuild the change log.
CREATE TABLE sync_changes_v6 (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    packet_id  TEXT NOT NULL REFERENCES packets (id),
    kind       TEXT NOT NULL CHECK (kind IN ('packet', 'answer', 'record', 'section', 'close')),
    key        TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL
);
INSERT INTO sync_changes_v6 (seq, packet_id, kind, key, created_at)
    SELECT seq, packet_id, kind, key, created_at FROM sync_changes;
DROP TABLE sync_changes;
ALTER TABLE sync_changes_v6 RENAME TO sync_changes;
CREATE INDEX sync_changes_packet ON sync_changes (packet_id, seq);
