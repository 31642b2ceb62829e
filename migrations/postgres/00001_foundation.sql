-- +goose Up
-- Directories (departments, enterprises, inspectors, conflict declarations),
-- accounts, devices and refresh tokens.

CREATE TABLE departments (
    id         BIGSERIAL PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE enterprises (
    id                   BIGSERIAL PRIMARY KEY,
    credit_code          TEXT NOT NULL UNIQUE CHECK (length(credit_code) = 18),
    name                 TEXT NOT NULL,
    category             TEXT NOT NULL,
    district             TEXT NOT NULL,
    address              TEXT NOT NULL DEFAULT '',
    legal_representative TEXT NOT NULL DEFAULT '',
    licence_number       TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'deregistered', 'revoked')),
    risk_class           TEXT NOT NULL DEFAULT '' CHECK (risk_class IN ('', 'A', 'B', 'C', 'D')),
    latitude             DOUBLE PRECISION,
    longitude            DOUBLE PRECISION,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX enterprises_population ON enterprises (category, district, status);

CREATE TABLE inspectors (
    id                      BIGSERIAL PRIMARY KEY,
    department_id           BIGINT NOT NULL REFERENCES departments (id),
    name                    TEXT NOT NULL,
    certificate_number      TEXT NOT NULL UNIQUE,
    certificate_valid_from  TEXT NOT NULL CHECK (certificate_valid_from ~ '^\d{4}-\d{2}-\d{2}$'),
    certificate_valid_until TEXT NOT NULL CHECK (certificate_valid_until ~ '^\d{4}-\d{2}-\d{2}$'),
    domains                 TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    phone                   TEXT NOT NULL DEFAULT '',
    status                  TEXT NOT NULL CHECK (status IN ('active', 'on_leave', 'left')),
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX inspectors_department ON inspectors (department_id, status);

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('platform_admin', 'department_admin', 'lead_coordinator', 'inspector')),
    department_id BIGINT REFERENCES departments (id),
    inspector_id  BIGINT UNIQUE REFERENCES inspectors (id),
    disabled_at   TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    CHECK (role = 'platform_admin' OR department_id IS NOT NULL),
    CHECK ((role = 'inspector') = (inspector_id IS NOT NULL))
);

CREATE TABLE conflict_declarations (
    id            BIGSERIAL PRIMARY KEY,
    inspector_id  BIGINT NOT NULL REFERENCES inspectors (id),
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    reason        TEXT NOT NULL,
    declared_by   BIGINT NOT NULL REFERENCES users (id),
    created_at    TIMESTAMPTZ NOT NULL,
    withdrawn_at  TIMESTAMPTZ
);
-- One standing declaration per pair; withdrawn ones stay as history.
CREATE UNIQUE INDEX conflict_declarations_standing ON conflict_declarations (inspector_id, enterprise_id) WHERE withdrawn_at IS NULL;
CREATE INDEX conflict_declarations_enterprise ON conflict_declarations (enterprise_id);

CREATE TABLE devices (
    id            BIGSERIAL PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id),
    name          TEXT NOT NULL,
    public_key    BYTEA NOT NULL CHECK (length(public_key) = 32),
    created_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    revoked_by    BIGINT REFERENCES users (id),
    revoke_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE refresh_tokens (
    id         BIGSERIAL PRIMARY KEY,
    family_id  TEXT NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    device_id  BIGINT REFERENCES devices (id),
    token_hash TEXT NOT NULL UNIQUE, -- SHA-256 of the token; the token itself is never stored
    parent_id  BIGINT REFERENCES refresh_tokens (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_device ON refresh_tokens (device_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
