-- +goose Up
-- Attachment uploads not yet finished, for the quotas on what one device and
-- one user may hold open (count and declared bytes); a row leaves when its
-- upload finishes, fails, is superseded or is pruned.
CREATE TABLE uploads (
    id         TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    device_id  BIGINT NOT NULL REFERENCES devices (id),
    sha256     TEXT NOT NULL,
    size       BIGINT NOT NULL CHECK (size > 0),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX uploads_user ON uploads (user_id);
CREATE INDEX uploads_device ON uploads (device_id, sha256);

-- Attachments whose content was not the image they claimed to be, by hash:
-- a mutation that refers to one is rejected with the reason.
CREATE TABLE refused_attachments (
    sha256       TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    reason       TEXT NOT NULL,
    refused_by   BIGINT NOT NULL REFERENCES users (id),
    refused_at   TIMESTAMPTZ NOT NULL
);

-- The bytes a user stored in the last day (the daily upload quota).
CREATE INDEX blobs_uploaded_by ON blobs (uploaded_by, created_at);
