-- Ingestion: every event, the alerts they keep up to date, the incidents
-- people respond to. Kept in step with tocsin-store-sqlite.
-- Timestamps are BIGINT Unix milliseconds; JSON is TEXT.

-- Incidents. `id` is the number people say ("#8").
CREATE TABLE incidents (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service         TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    severity        TEXT    NOT NULL CHECK (severity IN ('sev1', 'sev2', 'sev3', 'sev4', 'sev5')),
    status          TEXT    NOT NULL CHECK (status IN ('triggered', 'acknowledged', 'resolved')),
    group_key       TEXT,
    created_at      BIGINT  NOT NULL,
    acknowledged_at BIGINT,
    resolved_at     BIGINT,
    open_alerts     BIGINT  NOT NULL,
    paged           BOOLEAN NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX incidents_open ON incidents (service, status);

-- Alerts: the state per (service, dedup key). At most one alert per key is
-- not resolved; resolved ones are history.
CREATE TABLE alerts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service     TEXT    NOT NULL,
    dedup_key   TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    severity    TEXT    NOT NULL,
    summary     TEXT    NOT NULL,
    group_key   TEXT,
    labels      TEXT    NOT NULL,
    count       BIGINT  NOT NULL,
    first_seen  BIGINT  NOT NULL,
    last_seen   BIGINT  NOT NULL,
    incident_id BIGINT REFERENCES incidents (id)
);
CREATE UNIQUE INDEX alerts_live_key ON alerts (service, dedup_key) WHERE status <> 'resolved';
CREATE INDEX alerts_incident ON alerts (incident_id);

-- Every accepted event, as normalized; the event part of a timeline.
CREATE TABLE events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at BIGINT  NOT NULL,
    integration TEXT    NOT NULL,
    service     TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    dedup_key   TEXT    NOT NULL,
    alert_id    BIGINT,
    incident_id BIGINT,
    body        TEXT    NOT NULL
);
CREATE INDEX events_incident ON events (incident_id);
CREATE INDEX events_service_action ON events (service, action, received_at);
