-- A status answer the tablet refused (issue 10): its signature did not check with
-- the bureau key stored at enrolment, or it could not be read. The last verified
-- status stays in status_json; the refusal is shown beside it until a status
-- verifies again.
ALTER TABLE outbox ADD COLUMN status_error_code TEXT;
ALTER TABLE outbox ADD COLUMN status_error TEXT;
