-- +goose Up
-- Follow-up (谁管辖、谁负责): an approved result with problems opens a task
-- for the department with jurisdiction over its findings; the task's
-- append-only log of actions with evidence; enterprises that could not be
-- reached at their registered address, flagged for the abnormal operations
-- list review (经营异常名录); each campaign's follow-up deadline.

-- Working days from approval to the follow-up's due date.
ALTER TABLE campaigns ADD COLUMN followup_due_working_days INTEGER NOT NULL DEFAULT 15;

-- One task per (result, department with jurisdiction). findings is the
-- syncproto.ResultFinding list it covers, as approved.
CREATE TABLE followups (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    result_id            INTEGER NOT NULL REFERENCES results (id),
    department_id        INTEGER NOT NULL REFERENCES departments (id),
    campaign_id          INTEGER NOT NULL REFERENCES campaigns (id),
    enterprise_id        INTEGER NOT NULL REFERENCES enterprises (id),
    state                TEXT NOT NULL CHECK (state IN ('open', 'in_progress', 'closure_requested', 'closed')),
    findings             TEXT NOT NULL DEFAULT '[]',
    assignee_id          INTEGER REFERENCES users (id),
    due_at               DATETIME, -- NULL: the calendar could not count it
    closure_requested_by INTEGER REFERENCES users (id),
    closure_requested_at DATETIME,
    closed_by            INTEGER REFERENCES users (id),
    closed_at            DATETIME,
    created_at           DATETIME NOT NULL,
    updated_at           DATETIME NOT NULL,
    UNIQUE (result_id, department_id)
);
CREATE INDEX followups_department ON followups (department_id, state);
CREATE INDEX followups_enterprise ON followups (enterprise_id);

-- The task's log, append only: every transition and every note, with the
-- SHA-256 of its evidence (blobs uploaded for the task, followup_evidence).
CREATE TABLE followup_actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    followup_id INTEGER NOT NULL REFERENCES followups (id),
    kind        TEXT NOT NULL,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    actor_id    INTEGER NOT NULL REFERENCES users (id),
    text        TEXT NOT NULL DEFAULT '',
    evidence    TEXT NOT NULL DEFAULT '[]',
    created_at  DATETIME NOT NULL
);
CREATE INDEX followup_actions_followup ON followup_actions (followup_id, id);

-- Evidence uploaded for a task: an action may name only these.
CREATE TABLE followup_evidence (
    followup_id INTEGER NOT NULL REFERENCES followups (id),
    sha256      TEXT NOT NULL REFERENCES blobs (sha256),
    uploaded_by INTEGER NOT NULL REFERENCES users (id),
    created_at  DATETIME NOT NULL,
    PRIMARY KEY (followup_id, sha256)
);

-- Enterprises not locatable at their registered address, one row per
-- approved result that says so (its code, or a not_locatable close).
CREATE TABLE abnormal_operation_flags (
    result_id     INTEGER PRIMARY KEY REFERENCES results (id),
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    reason        TEXT NOT NULL CHECK (reason IN ('result_code', 'close_outcome')),
    created_at    DATETIME NOT NULL
);
CREATE INDEX abnormal_operation_flags_enterprise ON abnormal_operation_flags (enterprise_id);
