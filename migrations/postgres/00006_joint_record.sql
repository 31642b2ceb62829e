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
    signature    BYTEA NOT NULL,
    body         TEXT NOT NULL, -- syncproto.SectionRecord, canonical JSON
    flags        TEXT NOT NULL DEFAULT '[]', -- syncproto.RecordFlag list, decided on receipt
    device_id    BIGINT NOT NULL REFERENCES devices (id),
    inspector_id BIGINT NOT NULL REFERENCES inspectors (id),
    received_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (packet_id, department, version)
);

-- Sealed closes. Normally one per packet; two captured offline are both kept.
CREATE TABLE visit_closes (
    id           BIGSERIAL PRIMARY KEY,
    packet_id    TEXT NOT NULL REFERENCES packets (id),
    hash         TEXT NOT NULL,
    signature    BYTEA NOT NULL,
    body         TEXT NOT NULL, -- syncproto.CloseRecord, canonical JSON
    flags        TEXT NOT NULL DEFAULT '[]',
    device_id    BIGINT NOT NULL REFERENCES devices (id),
    inspector_id BIGINT NOT NULL REFERENCES inspectors (id),
    received_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (packet_id, hash)
);

-- Which device uploaded which attachment (identical bytes are stored once).
-- A mutation may refer only to an attachment its device uploaded or one a
-- packet its user may read already references.
CREATE TABLE blob_uploads (
    sha256     TEXT NOT NULL REFERENCES blobs (sha256),
    user_id    BIGINT NOT NULL REFERENCES users (id),
    device_id  BIGINT REFERENCES devices (id), -- NULL: uploaded before devices were recorded
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX blob_uploads_device ON blob_uploads (sha256, device_id);
INSERT INTO blob_uploads (sha256, user_id, device_id, created_at)
    SELECT sha256, uploaded_by, NULL, created_at FROM blobs;

ALTER TABLE sync_changes DROP CONSTRAINT sync_changes_kind_check;
ALTER TABLE sync_changes ADD CONSTRAINT sync_changes_kind_check
    CHECK (kind IN ('packet', 'answer', 'record', 'section', 'close'));
