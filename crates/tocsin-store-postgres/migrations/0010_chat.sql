-- Chat front ends: events already answered, where a front end has read up
-- to, and one room per incident on a chat platform.
-- Kept in step with tocsin-store-sqlite.

-- A chat event already handled (a Slack event id, a Matrix event id), so
-- an event delivered twice, or seen by two instances, is answered once.
CREATE TABLE chat_receipts (
    receipt     TEXT    PRIMARY KEY,
    received_at BIGINT NOT NULL
);
CREATE INDEX chat_receipts_received ON chat_receipts (received_at);

-- Where a chat front end has read up to (a Matrix sync token).
CREATE TABLE chat_cursors (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at BIGINT NOT NULL
);

-- An incident's room on a chat platform (a Slack channel, a Matrix room):
-- the timeline is mirrored into it up to mirrored_through (a timeline
-- entry id), and the addresses in invited (a JSON array) were invited.
CREATE TABLE incident_rooms (
    incident_id      BIGINT NOT NULL REFERENCES incidents (id),
    platform         TEXT    NOT NULL,
    room             TEXT    NOT NULL,
    created_at       BIGINT NOT NULL,
    mirrored_through BIGINT NOT NULL DEFAULT 0,
    invited          TEXT    NOT NULL DEFAULT '[]',
    PRIMARY KEY (incident_id, platform)
);
