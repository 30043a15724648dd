-- 后处理 (the notice's section 三): one case per inspection result the district
-- received, with the result as imported and the case's state machine. The
-- columns beside the JSON are copies for lists, filters and the deadline board.
CREATE TABLE pp_cases (
    id              TEXT PRIMARY KEY NOT NULL,
    district_id     INTEGER NOT NULL REFERENCES districts(id),
    -- 报告编号: the institute numbers its reports across the city.
    report_no       TEXT NOT NULL UNIQUE,
    result_json     TEXT NOT NULL,
    case_json       TEXT NOT NULL,
    state           TEXT NOT NULL,
    verdict         TEXT NOT NULL CHECK (verdict IN ('pass', 'fail')),
    business_name   TEXT NOT NULL,
    product_name    TEXT NOT NULL,
    report_received TEXT NOT NULL,
    final           INTEGER NOT NULL DEFAULT 0 CHECK (final IN (0, 1)),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX pp_cases_open ON pp_cases (final, district_id, report_received);
