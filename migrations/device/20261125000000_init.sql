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

-- The sampler's settings on this tablet (bureau address, identity), one JSON document.
CREATE TABLE settings (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    settings_json TEXT NOT NULL
);

-- Sync (issue 6). This tablet's enrolment with its district bureau: one row. The
-- bearer token stays on the tablet; the bureau keeps only its hash.
CREATE TABLE enrolment (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    bureau_url    TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    token         TEXT NOT NULL,
    district_code TEXT NOT NULL,
    district_name TEXT NOT NULL,
    bureau_key    TEXT NOT NULL,
    enrolled_at   TEXT NOT NULL
);

-- The durable outbox: one row per sealed lead to deliver. Each step of a delivery
-- is committed here before the next one starts, so a killed app resumes where it
-- stopped; every step is safe to repeat (the bureau answers 200 to the same
-- manifest and reports the offset it holds for a blob).
CREATE TABLE outbox (
    lead_id          TEXT PRIMARY KEY REFERENCES records (id),
    state            TEXT NOT NULL
                     CHECK (state IN ('queued', 'manifest_sent', 'delivered', 'failed')),
    enqueued_at      TEXT NOT NULL,
    bytes_total      INTEGER NOT NULL CHECK (bytes_total >= 0),
    bytes_sent       INTEGER NOT NULL DEFAULT 0 CHECK (bytes_sent >= 0),
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- Backoff, on the system clock (UTC, RFC 3339).
    next_attempt_at  TEXT,
    last_error_code  TEXT,
    last_error       TEXT,
    -- The bureau's time of first acceptance: the report time.
    received_at      TEXT,
    receipt_json     TEXT,
    -- Device clock minus bureau clock when the receipt arrived, in seconds.
    clock_skew_secs  INTEGER,
    status_json      TEXT,
    status_checked_at TEXT,
    CHECK ((state = 'delivered') = (receipt_json IS NOT NULL))
) WITHOUT ROWID;

CREATE TABLE outbox_blobs (
    lead_id  TEXT NOT NULL REFERENCES outbox (lead_id),
    sha256   TEXT NOT NULL CHECK (length(sha256) = 64),
    bytes    INTEGER NOT NULL CHECK (bytes > 0),
    kind     TEXT NOT NULL CHECK (kind IN ('photo', 'signature')),
    -- Bytes the bureau holds, as last reported by it.
    offset   INTEGER NOT NULL DEFAULT 0,
    done     INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    PRIMARY KEY (lead_id, sha256)
) WITHOUT ROWID;
