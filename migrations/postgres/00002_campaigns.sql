-- +goose Up
-- Check-item catalogues, campaigns, their frozen manifests, draws, confirmations,
-- replacements, teams, packets and grouping-report filings.

-- A department's versioned check items. An edit is a new version; old
-- versions stay, since committed campaigns name the versions they used.
CREATE TABLE check_items (
    id            BIGSERIAL PRIMARY KEY,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    code          TEXT NOT NULL,
    version       INTEGER NOT NULL CHECK (version >= 1),
    title         TEXT NOT NULL,
    legal_basis   TEXT NOT NULL DEFAULT '',
    answer_type   TEXT NOT NULL CHECK (answer_type IN ('compliance', 'text', 'number')),
    created_at    TIMESTAMPTZ NOT NULL,
    retired_at    TIMESTAMPTZ,
    UNIQUE (department_id, code, version)
);

CREATE TABLE campaigns (
    id                        BIGSERIAL PRIMARY KEY,
    name                      TEXT NOT NULL,
    status                    TEXT NOT NULL CHECK (status IN ('draft', 'committed', 'drawn', 'teamed', 'issued')),
    lead_department_id        BIGINT NOT NULL REFERENCES departments (id),
    window_start              TEXT NOT NULL,
    window_end                TEXT NOT NULL,
    category                  TEXT NOT NULL,
    districts                 TEXT NOT NULL DEFAULT '[]', -- JSON array; empty means every district
    ratio_default             TEXT NOT NULL DEFAULT '',   -- exact decimal; '' when only classes have ratios
    ratio_by_class            TEXT NOT NULL DEFAULT '{}', -- JSON object risk class -> decimal
    exclusion_months          INTEGER NOT NULL DEFAULT 0 CHECK (exclusion_months >= 0),
    inspectors_per_department INTEGER NOT NULL DEFAULT 2 CHECK (inspectors_per_department >= 1),
    targets_per_team          INTEGER NOT NULL DEFAULT 1 CHECK (targets_per_team >= 1),
    randomness_sources        TEXT NOT NULL DEFAULT '[]', -- JSON array of descriptions of future public values
    created_by                BIGINT NOT NULL REFERENCES users (id),
    created_at                TIMESTAMPTZ NOT NULL,
    updated_at                TIMESTAMPTZ NOT NULL,
    -- Set once at commit, never changed after.
    committed_at              TIMESTAMPTZ,
    committed_by              BIGINT REFERENCES users (id),
    manifest_head             TEXT,    -- canonical manifest up to (not including) the population lines
    manifest_digest           TEXT,    -- SHA-256 of the whole canonical manifest, hex
    population_size           INTEGER,
    -- Set once at the draw.
    randomness_values         TEXT,    -- JSON array, in manifest order
    seed                      TEXT,
    drawn_at                  TIMESTAMPTZ,
    drawn_by                  BIGINT REFERENCES users (id),
    confirm_deadline          TIMESTAMPTZ,
    teams_drawn_at            TIMESTAMPTZ,
    packets_issued_at         TIMESTAMPTZ
);

CREATE TABLE campaign_departments (
    campaign_id   BIGINT NOT NULL REFERENCES campaigns (id),
    department_id BIGINT NOT NULL REFERENCES departments (id),
    PRIMARY KEY (campaign_id, department_id)
);

CREATE TABLE campaign_check_items (
    campaign_id   BIGINT NOT NULL REFERENCES campaigns (id),
    check_item_id BIGINT NOT NULL REFERENCES check_items (id),
    PRIMARY KEY (campaign_id, check_item_id)
);

-- The frozen population: every eligible enterprise with its stratum.
CREATE TABLE campaign_population (
    campaign_id   BIGINT NOT NULL REFERENCES campaigns (id),
    credit_code   TEXT NOT NULL,
    stratum       TEXT NOT NULL,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    PRIMARY KEY (campaign_id, credit_code)
);

-- Every enterprise the draw selected, first draw and replacements alike.
CREATE TABLE draw_selections (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    credit_code TEXT NOT NULL,
    stratum     TEXT NOT NULL,
    ticket      TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('initial', 'replacement')),
    PRIMARY KEY (campaign_id, credit_code)
);

-- Append-only: a target that cannot be inspected and the next ticket that replaced it.
CREATE TABLE target_replacements (
    campaign_id      BIGINT NOT NULL REFERENCES campaigns (id),
    seq              INTEGER NOT NULL,
    replaced_code    TEXT NOT NULL,
    replacement_code TEXT NOT NULL,
    reason           TEXT NOT NULL,
    department_id    BIGINT REFERENCES departments (id),
    created_by       BIGINT NOT NULL REFERENCES users (id),
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (campaign_id, seq),
    UNIQUE (campaign_id, replaced_code)
);

CREATE TABLE target_confirmations (
    campaign_id   BIGINT NOT NULL REFERENCES campaigns (id),
    department_id BIGINT NOT NULL REFERENCES departments (id),
    confirmed_by  BIGINT NOT NULL REFERENCES users (id),
    confirmed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (campaign_id, department_id)
);

-- Conflicts declared after commit, applied as hard constraints at the team draw.
CREATE TABLE late_recusals (
    campaign_id        BIGINT NOT NULL REFERENCES campaigns (id),
    certificate_number TEXT NOT NULL,
    credit_code        TEXT NOT NULL,
    PRIMARY KEY (campaign_id, certificate_number, credit_code)
);

CREATE TABLE team_members (
    campaign_id        BIGINT NOT NULL REFERENCES campaigns (id),
    team_no            INTEGER NOT NULL,
    position           INTEGER NOT NULL,
    inspector_id       BIGINT NOT NULL REFERENCES inspectors (id),
    department_id      BIGINT NOT NULL REFERENCES departments (id),
    certificate_number TEXT NOT NULL,
    ticket             TEXT NOT NULL,
    PRIMARY KEY (campaign_id, team_no, position),
    UNIQUE (campaign_id, inspector_id)
);

CREATE TABLE team_targets (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    credit_code TEXT NOT NULL,
    team_no     INTEGER NOT NULL,
    match_seq   INTEGER NOT NULL,
    ticket      TEXT NOT NULL,
    PRIMARY KEY (campaign_id, credit_code),
    UNIQUE (campaign_id, match_seq)
);

-- One joint inspection packet per target (一企一表).
CREATE TABLE packets (
    id            TEXT PRIMARY KEY, -- random, public to the team's devices
    campaign_id   BIGINT NOT NULL REFERENCES campaigns (id),
    credit_code   TEXT NOT NULL,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    team_no       INTEGER NOT NULL,
    content       TEXT NOT NULL, -- JSON: enterprise snapshot, team, checklist sections, window
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (campaign_id, credit_code)
);
CREATE INDEX packets_team ON packets (campaign_id, team_no);

CREATE TABLE grouping_filings (
    id            BIGSERIAL PRIMARY KEY,
    campaign_id   BIGINT NOT NULL REFERENCES campaigns (id),
    department_id BIGINT NOT NULL REFERENCES departments (id),
    report_sha256 TEXT NOT NULL,
    filed_by      BIGINT NOT NULL REFERENCES users (id),
    filed_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX grouping_filings_campaign ON grouping_filings (campaign_id, department_id);
