-- Escalation: the incident timeline entries that are not ingested events
-- (escalation steps, pages; later notes, roles, updates), and the
-- notifications escalation asks for. Kept in step with the other backend.

CREATE TABLE timeline (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    at          INTEGER NOT NULL,
    -- escalation.level, escalation.page, escalation.stopped, escalation.none…
    kind        TEXT    NOT NULL,
    -- who or what did it: 'escalation', a user, a token
    actor       TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    -- idempotency: a step that runs again writes nothing twice
    key         TEXT    NOT NULL UNIQUE
);
CREATE INDEX timeline_incident ON timeline (incident_id, at);

CREATE TABLE notification_intents (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    user_name   TEXT    NOT NULL,
    contact     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    address     TEXT    NOT NULL,
    due_at      INTEGER NOT NULL,
    level       INTEGER NOT NULL,
    cycle       INTEGER NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
    created_at  INTEGER NOT NULL,
    key         TEXT    NOT NULL UNIQUE
);
CREATE INDEX notification_intents_incident ON notification_intents (incident_id);
CREATE INDEX notification_intents_due ON notification_intents (state, due_at);
