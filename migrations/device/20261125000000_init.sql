-- fieldlead tablet database, first schema.
-- Migrations are append-only: never edit this file after it lands; add a new one.

CREATE TABLE records (
    id            TEXT PRIMARY KEY NOT NULL,
    state         TEXT NOT NULL DEFAULT 'draft'
                  CHECK (state IN ('draft', 'sealed', 'delivered', 'acknowledged',
                                   'case_filed', 'declined', 'reported_to_city')),
    draft_json    TEXT NOT NULL,
    -- Copies of draft fields for listing and search without parsing JSON.
    business_name TEXT NOT NULL DEFAULT '',
    business_uscc TEXT NOT NULL DEFAULT '',
    product_name  TEXT NOT NULL DEFAULT '',
    task_name     TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    sealed_at     TEXT,
    manifest_json TEXT,
    manifest_hash TEXT,
    CHECK ((state = 'draft') = (manifest_json IS NULL))
);

CREATE INDEX records_updated_at ON records (updated_at DESC);

CREATE TABLE evidence (
    record_id   TEXT NOT NULL REFERENCES records (id),
    sha256      TEXT NOT NULL CHECK (length(sha256) = 64),
    caption     TEXT NOT NULL DEFAULT '',
    intake_json TEXT NOT NULL,
    added_at    TEXT NOT NULL,
    PRIMARY KEY (record_id, sha256)
) WITHOUT ROWID;

CREATE TABLE audit_log (
    record_id  TEXT NOT NULL REFERENCES records (id),
    seq        INTEGER NOT NULL CHECK (seq >= 0),
    entry_json TEXT NOT NULL,
    PRIMARY KEY (record_id, seq)
) WITHOUT ROWID;

-- Defence in depth below the use-cases: the log only grows, and a sealed record's
-- content and evidence never change.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

CREATE TRIGGER sealed_record_frozen BEFORE UPDATE OF draft_json, manifest_json ON records
WHEN OLD.state <> 'draft'
BEGIN SELECT RAISE(ABORT, 'sealed record is read-only'); END;

CREATE TRIGGER sealed_evidence_no_insert BEFORE INSERT ON evidence
WHEN (SELECT state FROM records WHERE id = NEW.record_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'sealed record is read-only'); END;
CREATE TRIGGER sealed_evidence_no_update BEFORE UPDATE ON evidence
WHEN (SELECT state FROM records WHERE id = OLD.record_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'sealed record is read-only'); END;
CREATE TRIGGER sealed_evidence_no_delete BEFORE DELETE ON evidence
WHEN (SELECT state FROM records WHERE id = OLD.record_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'sealed record is read-only'); END;

-- Signatures on the transfer form: one row per party; the image is a blob in the
-- evidence store, named by its SHA-256.
CREATE TABLE signoffs (
    record_id    TEXT NOT NULL REFERENCES records (id),
    party        TEXT NOT NULL CHECK (party IN ('sampler1', 'sampler2', 'business')),
    signoff_json TEXT NOT NULL,
    at           TEXT NOT NULL,
    PRIMARY KEY (record_id, party)
) WITHOUT ROWID;

CREATE TRIGGER sealed_signoff_no_insert BEFORE INSERT ON signoffs
WHEN (SELECT state FROM records WHERE id = NEW.record_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'sealed record is read-only'); END;
CREATE TRIGGER sealed_signoff_no_update BEFORE UPDATE ON signoffs
WHEN (SELECT state FROM records WHERE id = OLD.record_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'sealed record is read-only'); END;
CREATE TRIGGER sealed_signoff_no_delete BEFORE DELETE ON signoffs
WHEN (SELECT state FROM records WHERE id = OLD.record_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'sealed record is read-only'); END;
