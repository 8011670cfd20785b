-- The outbox. Every notification to send — a page for a person by their
-- rules, a resolution to where a page went, later status updates — is a
-- row here, written in the same transaction as the change that causes it,
-- with a deterministic key; a `notify.deliver` job per row sends it.
-- Replaces notification_intents (whose rows move over; pending ones get
-- their delivery job). Kept in step with the other backend.

CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id),
    purpose      TEXT    NOT NULL CHECK (purpose IN ('page', 'resolved', 'update', 'dead_letter')),
    -- the person; NULL for a destination that is not a person's
    user_name    TEXT,
    -- the contact method's name
    contact      TEXT    NOT NULL,
    -- email, slack, … (the channel)
    kind         TEXT    NOT NULL,
    address      TEXT    NOT NULL,
    due_at       INTEGER NOT NULL,
    level        INTEGER NOT NULL,
    cycle        INTEGER NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('queued', 'sending', 'delivered', 'failed', 'dead', 'cancelled')),
    attempts     INTEGER NOT NULL,
    -- while sending: until when the attempt holds it (a crashed attempt's
    -- hold runs out and the next one takes it)
    lease_until  INTEGER,
    last_error   TEXT,
    -- what the channel kept of the delivered message (Slack channel:ts, a Message-ID)
    reference    TEXT,
    -- the reference of the earlier message this one follows (a resolution edits or threads it)
    previous     TEXT,
    -- the key of the notification whose message carried this one (a bundle)
    bundle       TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    delivered_at INTEGER,
    key          TEXT    NOT NULL UNIQUE
);

INSERT INTO notifications (id, incident_id, purpose, user_name, contact, kind, address, due_at,
                           level, cycle, state, attempts, created_at, updated_at, key)
SELECT id, incident_id, 'page', user_name, contact, kind, address, due_at, level, cycle,
       CASE state WHEN 'pending' THEN 'queued' WHEN 'sent' THEN 'delivered'
                  WHEN 'failed' THEN 'failed' ELSE 'cancelled' END,
       0, created_at, created_at, key
FROM notification_intents;

DROP TABLE notification_intents;

CREATE INDEX notifications_incident ON notifications (incident_id);
CREATE INDEX notifications_destination ON notifications (kind, address, state, due_at);

INSERT INTO jobs (kind, key, payload, state, attempts, due_at, created_at, updated_at)
SELECT 'notify.deliver', 'deliver:' || key, '{"notification":' || json_quote(key) || '}',
       'pending', 0, due_at, created_at, created_at
FROM notifications WHERE state IN ('queued', 'failed')
ON CONFLICT (key) DO NOTHING;

-- Per-destination rate limit (the generic cell rate algorithm): the
-- theoretical arrival time of the next message, in ms.
CREATE TABLE notify_destinations (
    kind    TEXT    NOT NULL,
    address TEXT    NOT NULL,
    tat     INTEGER NOT NULL,
    PRIMARY KEY (kind, address)
);

-- Secrets this instance makes for itself once and shares with the others
-- through the database (the key that signs acknowledge links).
CREATE TABLE instance_secrets (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
