-- +goose Up
-- The earliest time the named randomness sources can be known: stated in the
-- draft, frozen into the manifest (spotcheck-manifest/v2), after the commit;
-- the server refuses a draw before it.
ALTER TABLE campaigns ADD COLUMN sources_available_at DATETIME;

-- The openings of the salted recusal commitments: the manifest (v2) and the
-- public record publish only SHA-256 commitments of (certificate, credit
-- code) pairs; the pairs and their salts stay here, shown to auditors only.
-- late marks a pair declared after commit (also in late_recusals).
CREATE TABLE recusal_openings (
    campaign_id        INTEGER NOT NULL REFERENCES campaigns (id),
    certificate_number TEXT NOT NULL,
    credit_code        TEXT NOT NULL,
    salt               TEXT NOT NULL,
    late               BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (campaign_id, certificate_number, credit_code)
);

-- A department's confirmation re-opened by a replacement after it: the
-- confirmation that was withdrawn, who replaced which target, when and why.
-- The department confirms again before teams can be drawn.
CREATE TABLE confirmation_reopenings (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id     INTEGER NOT NULL REFERENCES campaigns (id),
    department_id   INTEGER NOT NULL REFERENCES departments (id),
    confirmed_by    INTEGER NOT NULL REFERENCES users (id),
    confirmed_at    DATETIME NOT NULL,
    replacement_seq INTEGER NOT NULL,
    reopened_by     INTEGER NOT NULL REFERENCES users (id),
    reopened_at     DATETIME NOT NULL,
    reason          TEXT NOT NULL,
    FOREIGN KEY (campaign_id, replacement_seq) REFERENCES target_replacements (campaign_id, seq)
);
CREATE INDEX confirmation_reopenings_campaign ON confirmation_reopenings (campaign_id, department_id);
