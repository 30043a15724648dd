-- Evidence stays in its district (issue 10). Append-only: never edit once landed.
--
-- A blob counts as present for a lead only once its bytes were uploaded by a device
-- of the lead's district, or imported into that district. The bytes themselves are
-- still kept once per hash in the blob store; this table says which districts have
-- proved they hold them.
CREATE TABLE district_blobs (
    district_id INTEGER NOT NULL REFERENCES districts(id),
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    received_at TEXT NOT NULL,
    -- The device whose upload proved it, or NULL for an import or the backfill below.
    device_id TEXT,
    PRIMARY KEY (district_id, sha256)
);

-- Before this migration a blob counted for every district once anyone had sent it.
-- Only leads that already hold a signed receipt keep their blobs: that receipt is
-- a fact the bureau has signed. Every other lead must have its blobs uploaded by
-- its own district again.
INSERT INTO district_blobs (district_id, sha256, received_at, device_id)
SELECT DISTINCT l.district_id, b.sha256, b.received_at, NULL
FROM leads l
JOIN lead_blobs x ON x.lead_id = l.id
JOIN blobs b ON b.sha256 = x.sha256
WHERE l.receipt_json IS NOT NULL;

-- The bytes are hashed as they arrive; a later re-check is recorded, not redone on
-- every page view.
ALTER TABLE blobs ADD COLUMN verified_at TEXT;
ALTER TABLE blobs ADD COLUMN intact INTEGER CHECK (intact IN (0, 1));
UPDATE blobs SET verified_at = received_at, intact = 1;

-- Per-device quotas count a device's recent leads.
CREATE INDEX leads_by_device ON leads (device_id, received_at);
