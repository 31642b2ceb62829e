-- The joint record: each department's section is answered and sealed on its
-- own; the close is captured once and names the sealed sections it covers.

-- The section of the inspector's department being edited on this device.
CREATE TABLE sections (
    packet_id         TEXT    NOT NULL,
    department        TEXT    NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1,  -- section version being edited
    sealed            INTEGER NOT NULL DEFAULT 0,  -- that version is sealed here
    correction_reason TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (packet_id, department)
);

-- Sealed section versions: this device's own (origin local) and those pulled
-- (origin server), as syncproto.SealedSection.
CREATE TABLE section_seals (
    packet_id  TEXT    NOT NULL,
    department TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    origin     TEXT    NOT NULL CHECK (origin IN ('local', 'server')),
    body       TEXT    NOT NULL,
    hash       TEXT    NOT NULL,
    rejected   INTEGER NOT NULL DEFAULT 0, -- the server refused this seal (see rejections)
    PRIMARY KEY (packet_id, department, version, origin, hash)
);
CREATE TRIGGER section_seals_immutable BEFORE UPDATE OF packet_id, department, version, origin, body, hash ON section_seals
WHEN OLD.origin = 'local'
BEGIN
    SELECT RAISE(ABORT, 'a sealed section is immutable');
END;
CREATE TRIGGER section_seals_undeletable BEFORE DELETE ON section_seals WHEN OLD.origin = 'local'
BEGIN
    SELECT RAISE(ABORT, 'a sealed section is immutable');
END;

-- Sealed closes, as syncproto.SealedClose: captured here or pulled.
CREATE TABLE closes (
    packet_id TEXT NOT NULL,
    hash      TEXT NOT NULL,
    origin    TEXT NOT NULL CHECK (origin IN ('local', 'server')),
    body      TEXT NOT NULL,
    rejected  INTEGER NOT NULL DEFAULT 0, -- the server refused this close (see rejections)
    PRIMARY KEY (packet_id, hash, origin)
);
CREATE TRIGGER closes_immutable BEFORE UPDATE OF packet_id, hash, origin, body ON closes WHEN OLD.origin = 'local'
BEGIN
    SELECT RAISE(ABORT, 'a sealed close is immutable');
END;
CREATE TRIGGER closes_undeletable BEFORE DELETE ON closes WHEN OLD.origin = 'local'
BEGIN
    SELECT RAISE(ABORT, 'a sealed close is immutable');
END;

-- A local answer the server refused: its seq (in rejections) and the answer,
-- shown beside the server's state until the inspector answers again.
ALTER TABLE answers ADD COLUMN rejected_seq INTEGER;
ALTER TABLE answers ADD COLUMN rejected_answer TEXT NOT NULL DEFAULT '';

-- Rejections the app has been told about (NewRejections).
ALTER TABLE rejections ADD COLUMN notified INTEGER NOT NULL DEFAULT 0;
