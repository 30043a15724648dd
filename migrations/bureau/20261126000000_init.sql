-- fieldlead bureau: first schema. Append-only: never edit this file once it has
-- landed; add a new, later-timestamped file instead.
-- Times are RFC 3339 UTC with microseconds ("2026-11-20T02:30:00.000000Z") so that
-- text order is time order.

CREATE TABLE districts (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('officer', 'reviewer', 'city_admin')),
    district_id INTEGER REFERENCES districts(id),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- A city admin oversees every district; everyone else belongs to exactly one.
    CHECK ((role = 'city_admin') = (district_id IS NULL))
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE enrolment_codes (
    code_hash TEXT PRIMARY KEY,
    district_id INTEGER NOT NULL REFERENCES districts(id),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    device_id TEXT
);

CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    district_id INTEGER NOT NULL REFERENCES districts(id),
    public_key TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    enrolled_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT
);

CREATE TABLE leads (
    id TEXT PRIMARY KEY,
    district_id INTEGER NOT NULL REFERENCES districts(id),
    device_id TEXT NOT NULL REFERENCES devices(id),
    manifest_hash TEXT NOT NULL,
    -- The LeadUpload (signed manifest and audit log) exactly as verified.
    upload_json TEXT NOT NULL,
    business_name TEXT NOT NULL,
    product_name TEXT NOT NULL,
    sealed_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    completed_at TEXT,
    receipt_json TEXT,
    state TEXT NOT NULL,
    review_state TEXT CHECK (review_state IN ('approved', 'has_issues', 'rejected')),
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    decision TEXT CHECK (decision IN ('case_filed', 'declined')),
    decided_at TEXT,
    decided_by TEXT,
    case_number TEXT,
    decline_reason TEXT,
    fine_fen INTEGER CHECK (fine_fen >= 0),
    confiscation_fen INTEGER CHECK (confiscation_fen >= 0),
    remark TEXT,
    reported_to_city_on TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX leads_by_district ON leads (district_id, received_at);
CREATE INDEX leads_by_state ON leads (state, completed_at);

-- What a device sent can never change, even through raw SQL.
CREATE TRIGGER leads_received_content_is_fixed
BEFORE UPDATE OF id, district_id, device_id, manifest_hash, upload_json, received_at ON leads
BEGIN
    SELECT RAISE(ABORT, 'a received lead never changes');
END;

CREATE TABLE lead_blobs (
    lead_id TEXT NOT NULL REFERENCES leads(id),
    sha256 TEXT NOT NULL,
    bytes INTEGER NOT NULL CHECK (bytes > 0),
    kind TEXT NOT NULL CHECK (kind IN ('photo', 'signature')),
    PRIMARY KEY (lead_id, sha256)
);
CREATE INDEX lead_blobs_by_sha256 ON lead_blobs (sha256);

-- Blobs held in full in the content-addressed folder.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    bytes INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    analysed_at TEXT,
    analysis_json TEXT,
    phash TEXT
);

CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    lead_id TEXT NOT NULL REFERENCES leads(id),
    reviewer TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('approved', 'has_issues', 'rejected')),
    comment TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX reviews_by_lead ON reviews (lead_id, id);

-- Who changed what, when, from what to what. Append-only.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    district_id INTEGER,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT
);
CREATE INDEX audit_events_by_subject ON audit_events (subject, id);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
