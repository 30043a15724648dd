-- 后处理 documents and section 四's enforcement side.
--
-- 1. A fourth role, 执法办案 ('enforcement'): the district's 执法办案部门, who
--    answer the failed products' leads. SQLite cannot change a CHECK in place,
--    so the users table is rebuilt; open console sessions are ended by it (every
--    user signs in again after this upgrade), nothing else is lost.
DELETE FROM sessions;
CREATE TABLE users_new (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('officer', 'reviewer', 'city_admin', 'enforcement')),
    district_id INTEGER REFERENCES districts(id),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CHECK ((role = 'city_admin') = (district_id IS NULL))
);
INSERT INTO users_new (id, username, display_name, role, district_id, password_hash, created_at)
    SELECT id, username, display_name, role, district_id, password_hash, created_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

-- 2. Issued documents (附件1 to 附件5): sealed and numbered, never changed or
--    deleted. A correction is a new row that supersedes the old one; a document
--    is superseded at most once. The number is unique per issuer and year.
CREATE TABLE pp_documents (
    id           TEXT PRIMARY KEY NOT NULL,
    case_id      TEXT NOT NULL REFERENCES pp_cases(id),
    document     TEXT NOT NULL,
    recipient    TEXT NOT NULL CHECK (recipient IN ('business', 'producer')),
    -- Who numbers it: 'city' or a district's code.
    issuer_key   TEXT NOT NULL,
    year         INTEGER NOT NULL,
    seq          INTEGER NOT NULL CHECK (seq > 0),
    number       TEXT NOT NULL,
    data_json    TEXT NOT NULL,
    data_sha256  TEXT NOT NULL,
    pdf_sha256   TEXT NOT NULL,
    supersedes   TEXT UNIQUE REFERENCES pp_documents(id),
    correction   TEXT,
    issued_at    TEXT NOT NULL,
    issued_by    TEXT NOT NULL,
    UNIQUE (issuer_key, year, seq),
    CHECK ((supersedes IS NULL) = (correction IS NULL))
);
CREATE INDEX pp_documents_case ON pp_documents (case_id, issued_at);
CREATE TRIGGER pp_documents_no_update BEFORE UPDATE ON pp_documents
BEGIN
    SELECT RAISE(ABORT, 'an issued document never changes');
END;
CREATE TRIGGER pp_documents_no_delete BEFORE DELETE ON pp_documents
BEGIN
    SELECT RAISE(ABORT, 'an issued document is never deleted');
END;

-- The issued document a 送达 record serves, when it was issued here.
ALTER TABLE pp_services ADD COLUMN document_id TEXT REFERENCES pp_documents(id);

-- 3. The original report file(s) of a case (the institute's PDF), kept hashed in
--    the blob store like any evidence.
CREATE TABLE pp_reports (
    id          INTEGER PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES pp_cases(id),
    kind        TEXT NOT NULL CHECK (kind IN ('first', 'reinspection')),
    sha256      TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    size        INTEGER NOT NULL,
    added_at    TEXT NOT NULL,
    added_by    TEXT NOT NULL,
    UNIQUE (case_id, sha256)
);
CREATE TRIGGER pp_reports_no_update BEFORE UPDATE ON pp_reports
BEGIN
    SELECT RAISE(ABORT, 'an attached report never changes');
END;

-- 4. 附件6 transfers to the 执法办案部门 and their answers (附件7, 附件8).
CREATE TABLE pp_transfers (
    id           TEXT PRIMARY KEY NOT NULL,
    district_id  INTEGER NOT NULL REFERENCES districts(id),
    transferred_on TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL
);
CREATE TABLE pp_enforcement (
    case_id      TEXT PRIMARY KEY NOT NULL REFERENCES pp_cases(id),
    transfer_id  TEXT NOT NULL REFERENCES pp_transfers(id),
    answer_json  TEXT,
    answered_at  TEXT,
    answered_by  TEXT,
    CHECK ((answer_json IS NULL) = (answered_at IS NULL))
);
CREATE INDEX pp_enforcement_transfer ON pp_enforcement (transfer_id);
CREATE TRIGGER pp_enforcement_lead_is_fixed
BEFORE UPDATE OF case_id, transfer_id ON pp_enforcement
BEGIN
    SELECT RAISE(ABORT, 'a transferred lead stays on its 附件6');
END;

-- 5. Who works a case (per-officer deadlines): a district's 后处理 officer.
ALTER TABLE pp_cases ADD COLUMN assignee TEXT;
CREATE INDEX pp_cases_assignee ON pp_cases (assignee, final);
