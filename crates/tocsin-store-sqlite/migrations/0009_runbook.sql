-- Runbook actions run from ChatOps: one row per confirmed run, keyed by the
-- run id its confirmation token carries. The row is inserted (if absent)
-- before the action runs, so a confirmation clicked twice runs it once;
-- its outcome is written when it ends. A row that stays unfinished was cut
-- short by a stop of tocsin while its action ran.
-- Kept in step with tocsin-store-postgres.
-- Timestamps are INTEGER Unix milliseconds; JSON is TEXT.

CREATE TABLE runbook_runs (
    -- the run id from the confirmation token
    id          TEXT    PRIMARY KEY,
    action      TEXT    NOT NULL,
    -- the canonical command line confirmed (`run restart-web on web-2 #8`)
    command     TEXT    NOT NULL,
    incident_id INTEGER REFERENCES incidents (id),
    -- who ran it: a user, a token
    actor       TEXT    NOT NULL,
    -- through which interface: web, api, cli, slack, mattermost, matrix
    via         TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    outcome     TEXT
                CHECK (outcome IN ('succeeded', 'failed', 'timed_out', 'error')),
    -- what ran and what it answered (argv or method and URL, exit status or
    -- HTTP status, duration, bounded output), as JSON
    detail      TEXT    NOT NULL,
    CHECK ((finished_at IS NULL) = (outcome IS NULL))
);
CREATE INDEX runbook_runs_started ON runbook_runs (started_at, id);
