-- 送达 records of the 后处理 documents: how each reached its recipient, who served
-- it and what proves it. The date is the one the case's clocks run from.
CREATE TABLE pp_services (
    id          INTEGER PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES pp_cases(id),
    document    TEXT NOT NULL,
    recipient   TEXT NOT NULL CHECK (recipient IN ('business', 'producer')),
    served_on   TEXT NOT NULL,
    method      TEXT NOT NULL,
    served_by   TEXT NOT NULL,
    proof_json  TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL
);
CREATE INDEX pp_services_case ON pp_services (case_id, id);
