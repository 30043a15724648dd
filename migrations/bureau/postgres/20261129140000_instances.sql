-- Several bureau instances on one database (issue 14); as SQLite's
-- 20261129140000_instances.sql.
--
-- 1. Counters every instance shares: the limits on guessing enrolment codes and
--    passwords (per client address, per account). Each row says when it is
--    spent (back to a full bucket, or its window over) and can go.
CREATE TABLE counters (
    key TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX counters_expiry ON counters (expires_ms);

-- 2. Background analysis of a received photo is claimed by one instance for a
--    while (a lease); a claim that runs out (the instance died) is taken again.
ALTER TABLE blobs ADD COLUMN analysis_claimed_by TEXT COLLATE "C";
ALTER TABLE blobs ADD COLUMN analysis_claimed_until_ms BIGINT;

-- 3. What every instance must agree on: the key receipts are signed with (its
--    public half, hex). The first instance to start records its own; one with
--    another key is refused, since tablets trust one key per bureau.
CREATE TABLE bureau_settings (
    name TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);
