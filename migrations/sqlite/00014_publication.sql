-- +goose Up
-- Publication of approved results: each act of publication (who, when, the
-- audit chain's head just before its own event) and, per result published,
-- a frozen copy of what the public sees. Entries are never updated: a result
-- corrected after publication gets a new entry that names the one it corrects.

CREATE TABLE publications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    published_by INTEGER REFERENCES users (id), -- NULL: the operator (system)
    published_at DATETIME NOT NULL,
    audit_seq    INTEGER NOT NULL, -- the chain's head before this publication's event
    audit_head   TEXT NOT NULL,
    results      INTEGER NOT NULL,
    corrections  INTEGER NOT NULL
);
CREATE INDEX publications_campaign ON publications (campaign_id, id);

CREATE TABLE publication_entries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    publication_id  INTEGER NOT NULL REFERENCES publications (id),
    campaign_id     INTEGER NOT NULL REFERENCES campaigns (id),
    result_id       INTEGER NOT NULL REFERENCES results (id),
    credit_code     TEXT NOT NULL,
    enterprise_name TEXT NOT NULL,
    department_id   INTEGER NOT NULL REFERENCES departments (id),
    authority       TEXT NOT NULL, -- the department's name: 检查实施机关
    inspection_date TEXT NOT NULL, -- YYYY-MM-DD, Asia/Shanghai
    code            TEXT NOT NULL REFERENCES result_codes (code),
    code_title      TEXT NOT NULL,
    approved_at     DATETIME NOT NULL, -- of the result version published
    corrects        INTEGER REFERENCES publication_entries (id),
    published_at    DATETIME NOT NULL
);
CREATE INDEX publication_entries_campaign ON publication_entries (campaign_id, id);
CREATE INDEX publication_entries_credit_code ON publication_entries (credit_code, id);
CREATE INDEX publication_entries_result ON publication_entries (result_id, id);
