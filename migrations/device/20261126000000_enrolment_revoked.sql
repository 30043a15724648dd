-- Re-enrolment after revocation (issue 6). When the bureau answers that this tablet
-- is revoked, the tablet remembers it: the app says so, and a fresh code may then
-- replace the enrolment. The sealed leads stay in the outbox meanwhile.
ALTER TABLE enrolment ADD COLUMN revoked_at TEXT;
