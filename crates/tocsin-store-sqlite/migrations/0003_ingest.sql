-- Ingestion: every event, the alerts they keep up to date, the incidents
-- people respond to. Kept in step with tocsin-store-postgres.
-- Timestamps are INTEGER Unix milliseconds; JSON is TEXT.

-- Incidents. `id` is the number people say ("#8").
CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    service         TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    severity        TEXT    NOT NULL CHECK (severity IN ('sev1', 'sev2', 'sev3', 'sev4', 'sev5')),
    status          TEXT    NOT NULL CHECK (status IN ('triggered', 'acknowledged', 'resolved')),
    group_key       TEXT,
    created_at      INTEGER NOT NULL,
    acknowledged_at INTEGER,
    resolved_at     INTEGER,
    open_alerts     INTEGER NOT NULL,
    paged           INTEGER NOT NULL CHECK (paged IN (0, 1)),
    updated_at      INTEGER NOT NULL
);
CREATE INDEX incidents_open ON incidents (service, status);

-- Alerts: the state per (service, dedup key). At most one alert per key is
-- not resolved; resolved ones are history.
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    service     TEXT    NOT NULL,
    dedup_key   TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    severity    TEXT    NOT NULL,
    summary     TEXT    NOT NULL,
    group_key   TEXT,
    labels      TEXT    NOT NULL,
    count       INTEGER NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    incident_id INTEGER REFERENCES incidents (id)
);
CREATE UNIQUE INDEX alerts_live_key ON alerts (service, dedup_key) WHERE status <> 'resolved';
CREATE INDEX alerts_incident ON alerts (incident_id);

-- Every accepted event, as normalized; the event part of a timeline.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at INTEGER NOT NULL,
    integration TEXT    NOT NULL,
    service     TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    dedup_key   TEXT    NOT NULL,
    alert_id    INTEGER,
    incident_id INTEGER,
    body        TEXT    NOT NULL
);
CREATE INDEX events_incident ON events (incident_id);
CREATE INDEX events_service_action ON events (service, action, received_at);
