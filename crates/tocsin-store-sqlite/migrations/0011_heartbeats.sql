-- Heartbeats (dead man's switches): the state pings wrote per declared
-- heartbeat, and the recent pings themselves (the runs and their logs).
-- The declaration is a catalog object (kind `heartbeat`); these rows are
-- what happened. Kept in step with tocsin-store-postgres.
-- Timestamps are INTEGER Unix milliseconds; JSON is TEXT.

CREATE TABLE heartbeats (
    -- the heartbeat's name (catalog kind `heartbeat`)
    name        TEXT    PRIMARY KEY,
    -- tocsin_domain::heartbeat::State as JSON: last ping, last success,
    -- failure, open runs
    state       TEXT    NOT NULL,
    -- the status as last evaluated (new, up, late, down, paused)
    status      TEXT    NOT NULL
                CHECK (status IN ('new', 'up', 'late', 'down', 'paused')),
    last_ping_at INTEGER,
    -- when time alone may next change the status; NULL = it cannot
    check_at    INTEGER,
    -- whether a trigger was sent for it and not resolved yet: the engine
    -- makes this follow (status = 'down')
    alert_open  INTEGER NOT NULL DEFAULT 0 CHECK (alert_open IN (0, 1)),
    -- bumped on every write: the engine's compare-and-set
    version     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX heartbeats_check ON heartbeats (check_at);

CREATE TABLE heartbeat_pings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    heartbeat   TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('success', 'start', 'fail', 'log')),
    exit_status INTEGER,
    -- the run id (`?rid=`)
    rid         TEXT,
    -- a success or failure that ended a run: how long it ran
    duration_ms INTEGER,
    -- GET, POST, HEAD
    method      TEXT    NOT NULL,
    -- the request body, cut at the heartbeat's max_log_bytes
    body        TEXT    NOT NULL,
    -- whether the body was longer than what is kept
    truncated   INTEGER NOT NULL DEFAULT 0 CHECK (truncated IN (0, 1))
);
CREATE INDEX heartbeat_pings_recent ON heartbeat_pings (heartbeat, id);
