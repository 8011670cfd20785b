-- An incident's escalation run: 0 for the run its first page started; a
-- reopen or a reassignment by hand starts the next run, and steps of an
-- older run find they were superseded. Kept in step with the other backend.
ALTER TABLE incidents ADD COLUMN escalation_run BIGINT NOT NULL DEFAULT 0;
