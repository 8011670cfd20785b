-- The outbox. Every notification to send — a page for a person by their
-- rules, a resolution to where a page went, later status updates — is a
-- row here, written in the same transaction as the change that causes it,
-- with a deterministic key; a `notify.deliver` job per row sends it.
-- Replaces notification_intents (whose rows move over; pending ones get
-- their delivery job). Kept in step with the other backend.

ALTER TABLE notification_intents RENAME TO notifications;
ALTER TABLE notifications DROP CONSTRAINT notification_intents_state_check;
UPDATE notifications SET state = CASE state WHEN 'pending' THEN 'queued' WHEN 'sent' THEN 'delivered'
                                            WHEN 'failed' THEN 'failed' ELSE 'cancelled' END;
ALTER TABLE notifications
    ADD CONSTRAINT notifications_state_check
        CHECK (state IN ('queued', 'sending', 'delivered', 'failed', 'dead', 'cancelled')),
    ADD COLUMN purpose TEXT NOT NULL DEFAULT 'page'
        CHECK (purpose IN ('page', 'resolved', 'update', 'dead_letter')),
    ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN lease_until BIGINT,
    ADD COLUMN last_error TEXT,
    ADD COLUMN reference TEXT,
    ADD COLUMN previous TEXT,
    ADD COLUMN bundle TEXT,
    ADD COLUMN updated_at BIGINT,
    ADD COLUMN delivered_at BIGINT,
    ALTER COLUMN user_name DROP NOT NULL;
UPDATE notifications SET updated_at = created_at;
ALTER TABLE notifications ALTER COLUMN updated_at SET NOT NULL,
                          ALTER COLUMN purpose DROP DEFAULT,
                          ALTER COLUMN attempts DROP DEFAULT;
ALTER INDEX notification_intents_incident RENAME TO notifications_incident;
DROP INDEX notification_intents_due;
CREATE INDEX notifications_destination ON notifications (kind, address, state, due_at);

INSERT INTO jobs (kind, key, payload, state, attempts, due_at, created_at, updated_at)
SELECT 'notify.deliver', 'deliver:' || key, json_build_object('notification', key)::text,
       'pending', 0, due_at, created_at, created_at
FROM notifications WHERE state IN ('queued', 'failed')
ON CONFLICT (key) DO NOTHING;

CREATE TABLE notify_destinations (
    kind    TEXT   NOT NULL,
    address TEXT   NOT NULL,
    tat     BIGINT NOT NULL,
    PRIMARY KEY (kind, address)
);

CREATE TABLE instance_secrets (
    name       TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
