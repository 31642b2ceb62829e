-- +goose Up
-- Directories (departments, enterprises, inspectors, conflict declarations),
-- accounts, devices and refresh tokens.

CREATE TABLE departments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);

CREATE TABLE enterprises (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    credit_code          TEXT NOT NULL UNIQUE CHECK (length(credit_code) = 18),
    name                 TEXT NOT NULL,
    category             TEXT NOT NULL,
    district             TEXT NOT NULL,
    address              TEXT NOT NULL DEFAULT '',
    legal_representative TEXT NOT NULL DEFAULT '',
    licence_number       TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'deregistered', 'revoked')),
    risk_class           TEXT NOT NULL DEFAULT '' CHECK (risk_class IN ('', 'A', 'B', 'C', 'D')),
    latitude             REAL,
    longitude            REAL,
    created_at           DATETIME NOT NULL,
    updated_at           DATETIME NOT NULL
);
CREATE INDEX enterprises_population ON enterprises (category, district, status);

CREATE TABLE inspectors (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    department_id           INTEGER NOT NULL REFERENCES departments (id),
    name                    TEXT NOT NULL,
    certificate_number      TEXT NOT NULL UNIQUE,
    certificate_valid_from  TEXT NOT NULL CHECK (certificate_valid_from GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    certificate_valid_until TEXT NOT NULL CHECK (certificate_valid_until GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    domains                 TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    phone                   TEXT NOT NULL DEFAULT '',
    status                  TEXT NOT NULL CHECK (status IN ('active', 'on_leave', 'left')),
    created_at              DATETIME NOT NULL,
    updated_at              DATETIME NOT NULL
);
CREATE INDEX inspectors_department ON inspectors (department_id, status);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('platform_admin', 'department_admin', 'lead_coordinator', 'inspector')),
    department_id INTEGER REFERENCES departments (id),
    inspector_id  INTEGER UNIQUE REFERENCES inspectors (id),
    disabled_at   DATETIME,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL,
    CHECK (role = 'platform_admin' OR department_id IS NOT NULL),
    CHECK ((role = 'inspector') = (inspector_id IS NOT NULL))
);

CREATE TABLE conflict_declarations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    inspector_id  INTEGER NOT NULL REFERENCES inspectors (id),
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    reason        TEXT NOT NULL,
    declared_by   INTEGER NOT NULL REFERENCES users (id),
    created_at    DATETIME NOT NULL,
    withdrawn_at  DATETIME
);
-- One standing declaration per pair; withdrawn ones stay as history.
CREATE UNIQUE INDEX conflict_declarations_standing ON conflict_declarations (inspector_id, enterprise_id) WHERE withdrawn_at IS NULL;
CREATE INDEX conflict_declarations_enterprise ON conflict_declarations (enterprise_id);

CREATE TABLE devices (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    name          TEXT NOT NULL,
    public_key    BLOB NOT NULL CHECK (length(public_key) = 32),
    created_at    DATETIME NOT NULL,
    last_seen_at  DATETIME,
    revoked_at    DATETIME,
    revoked_by    INTEGER REFERENCES users (id),
    revoke_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE refresh_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    family_id  TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    device_id  INTEGER REFERENCES devices (id),
    token_hash TEXT NOT NULL UNIQUE, -- SHA-256 of the token; the token itself is never stored
    parent_id  INTEGER REFERENCES refresh_tokens (id),
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    used_at    DATETIME,
    revoked_at DATETIME
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_device ON refresh_tokens (device_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
