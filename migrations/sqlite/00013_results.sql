-- +goose Up
-- After the visit: the result catalogue, one result per department section
-- of a packet (entry and four-eyes review), its transitions, and each
-- campaign's result deadlines.

-- The publication's result catalogue. Append only: codes are never renamed
-- or removed; a platform admin adds codes and edits titles.
CREATE TABLE result_codes (
    code           TEXT PRIMARY KEY,
    title          TEXT NOT NULL,
    problems_found BOOLEAN NOT NULL DEFAULT FALSE, -- opens a follow-up
    not_locatable  BOOLEAN NOT NULL DEFAULT FALSE, -- abnormal operations list review
    position       INTEGER NOT NULL,
    created_at     DATETIME NOT NULL,
    updated_at     DATETIME NOT NULL
);
INSERT INTO result_codes (code, title, problems_found, not_locatable, position, created_at, updated_at) VALUES
    ('no_problem', '未发现问题', FALSE, FALSE, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('not_disclosed', '未按规定公示应当公示的信息', TRUE, FALSE, 2, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('false_disclosure', '公示信息隐瞒真实情况、弄虚作假', TRUE, FALSE, 3, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('not_locatable', '通过登记的住所（经营场所）无法联系', FALSE, TRUE, 4, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('problem_corrected', '发现问题已责令改正', TRUE, FALSE, 5, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('problem_pending', '发现问题待后续处理', TRUE, FALSE, 6, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('obstruction', '不配合检查情节严重', TRUE, FALSE, 7, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('no_relevant_activity', '未发现开展本次抽查涉及的经营活动', FALSE, FALSE, 8, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);

-- One result per department section of a packet, drafted when the section
-- is first sealed. The sealed record is never edited: entry snapshots the
-- findings and outcomes of the version it was entered from.
CREATE TABLE results (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    packet_id       TEXT NOT NULL REFERENCES packets (id),
    department_id   INTEGER NOT NULL REFERENCES departments (id),
    campaign_id     INTEGER NOT NULL REFERENCES campaigns (id),
    enterprise_id   INTEGER NOT NULL REFERENCES enterprises (id),
    state           TEXT NOT NULL CHECK (state IN ('draft', 'entered', 'returned', 'approved')),
    section_version INTEGER NOT NULL DEFAULT 0, -- entered from; 0 while a draft
    code            TEXT REFERENCES result_codes (code),
    summary         TEXT NOT NULL DEFAULT '',
    findings        TEXT NOT NULL DEFAULT '[]', -- syncproto.ResultFinding list, at entry
    outcomes        TEXT NOT NULL DEFAULT '[]', -- the closes' outcomes, at entry
    entered_by      INTEGER REFERENCES users (id),
    entered_for     INTEGER REFERENCES inspectors (id),
    entered_at      DATETIME,
    reviewed_by     INTEGER REFERENCES users (id),
    reviewed_at     DATETIME,
    return_reason   TEXT NOT NULL DEFAULT '',
    resolutions     TEXT NOT NULL DEFAULT '[]', -- syncproto.ResultResolution list
    approved_at     DATETIME,
    published_at    DATETIME, -- set by publication
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL,
    UNIQUE (packet_id, department_id)
);
CREATE INDEX results_campaign ON results (campaign_id, state);
CREATE INDEX results_enterprise ON results (enterprise_id, state);

-- Every transition of every result, in order: who entered, returned (and
-- why) or approved it.
CREATE TABLE result_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    result_id   INTEGER NOT NULL REFERENCES results (id),
    action      TEXT NOT NULL,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    actor_id    INTEGER NOT NULL REFERENCES users (id),
    reason      TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL
);
CREATE INDEX result_events_result ON result_events (result_id, id);

-- Each campaign's deadlines, in working days.
ALTER TABLE campaigns ADD COLUMN entry_due_working_days INTEGER NOT NULL DEFAULT 3;
ALTER TABLE campaigns ADD COLUMN publication_due_working_days INTEGER NOT NULL DEFAULT 20;

-- Sections sealed before this migration get their draft.
INSERT INTO results (packet_id, department_id, campaign_id, enterprise_id, state, created_at, updated_at)
    SELECT s.packet_id, d.id, p.campaign_id, p.enterprise_id, 'draft', MIN(s.received_at), MIN(s.received_at)
    FROM section_seals s JOIN packets p ON p.id = s.packet_id JOIN departments d ON d.code = s.department
    GROUP BY s.packet_id, d.id, p.campaign_id, p.enterprise_id;
