-- +goose Up
-- Notification letters (告知书): the materials each department asks the
-- targets to prepare (frozen into the v3 manifest at commit), the lead
-- department's contact line printed on the letters, and the record of each
-- letter's delivery (送达记录) with its proofs.

-- JSON list of {"department_id": N, "items": ["营业执照", …]}.
ALTER TABLE campaigns ADD COLUMN materials TEXT NOT NULL DEFAULT '[]';
ALTER TABLE campaigns ADD COLUMN contact_office TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN contact_phone TEXT NOT NULL DEFAULT '';

-- Proofs (scanned receipts) uploaded to a campaign's letters: a delivery
-- record may name only these.
CREATE TABLE letter_proofs (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    sha256      TEXT NOT NULL REFERENCES blobs (sha256),
    uploaded_by INTEGER NOT NULL REFERENCES users (id),
    created_at  DATETIME NOT NULL,
    PRIMARY KEY (campaign_id, sha256)
);

-- Append only: version 1 is a target's first record, each later version a
-- correction with its reason; the highest version is current.
CREATE TABLE letter_deliveries (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id       INTEGER NOT NULL REFERENCES campaigns (id),
    credit_code       TEXT NOT NULL,
    version           INTEGER NOT NULL CHECK (version >= 1),
    delivered_on      TEXT NOT NULL,
    method            TEXT NOT NULL CHECK (method IN ('in_person', 'post', 'electronic')),
    proof_sha256      TEXT REFERENCES blobs (sha256),
    note              TEXT NOT NULL DEFAULT '',
    correction_reason TEXT NOT NULL DEFAULT '',
    recorded_by       INTEGER NOT NULL REFERENCES users (id),
    recorded_at       DATETIME NOT NULL,
    UNIQUE (campaign_id, credit_code, version)
);
