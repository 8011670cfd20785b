-- Incident response: what people write while running an incident beyond
-- its status — a summary, extra services, roles, pinned timeline entries,
-- stakeholders and their update cadence, stakeholder updates, merges,
-- closing — and afterwards, the review and its action items.
-- Kept in step with tocsin-store-postgres.
-- Timestamps are INTEGER Unix milliseconds; JSON is TEXT; dates are TEXT
-- 'YYYY-MM-DD' (whose order is the dates' order).

-- Closed is not a status: a closed incident is resolved with `closed_at`
-- set (the status CHECK stays as it is). A reopen clears `closed_at`.
ALTER TABLE incidents ADD COLUMN summary TEXT;
ALTER TABLE incidents ADD COLUMN closed_at INTEGER;
-- Set on the incident merged away (which is then resolved).
ALTER TABLE incidents ADD COLUMN merged_into INTEGER REFERENCES incidents (id);

-- The incident list is newest first (keyset on id) with optional filters;
-- each filter has an index that yields its rows by id, so a selective
-- filter does not scan the table. The text filter (substrings of title
-- and summary) has none: it is checked on the rows the others let through.
CREATE INDEX incidents_status_id ON incidents (status, id);
CREATE INDEX incidents_severity_id ON incidents (severity, id);
CREATE INDEX incidents_service_id ON incidents (service, id);
CREATE INDEX incidents_created ON incidents (created_at);

-- Services an incident touches besides its own (found by service for the
-- list's service filter).
CREATE TABLE incident_services (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    service     TEXT    NOT NULL,
    PRIMARY KEY (incident_id, service)
);
CREATE INDEX incident_services_service ON incident_services (service, incident_id);

-- Who holds which role. Commander, communications lead and scribe have one
-- holder each (the partial unique index); responders are as many as needed.
CREATE TABLE incident_roles (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    role        TEXT    NOT NULL
                CHECK (role IN ('commander', 'communications', 'scribe', 'responder')),
    user_name   TEXT    NOT NULL,
    assigned_at INTEGER NOT NULL,
    -- who gave it: a user, a token
    assigned_by TEXT    NOT NULL,
    PRIMARY KEY (incident_id, role, user_name)
);
CREATE UNIQUE INDEX incident_roles_single ON incident_roles (incident_id, role)
    WHERE role <> 'responder';

-- Key moments: timeline entries pinned by a responder.
ALTER TABLE timeline ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1));

-- Who is kept informed: a person, a team, or a destination 'kind:address'.
CREATE TABLE incident_stakeholders (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    stakeholder TEXT    NOT NULL,
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (incident_id, stakeholder)
);

-- How often stakeholders hear (NULL: no cadence) and when the next update
-- is due.
CREATE TABLE incident_cadence (
    incident_id   INTEGER PRIMARY KEY REFERENCES incidents (id),
    every_minutes INTEGER,
    next_due_at   INTEGER
);

-- Stakeholder updates, as written.
CREATE TABLE incident_updates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    at          INTEGER NOT NULL,
    author      TEXT    NOT NULL,
    state       TEXT    NOT NULL
                CHECK (state IN ('investigating', 'identified', 'monitoring', 'resolved')),
    audience    TEXT    NOT NULL CHECK (audience IN ('internal', 'public')),
    body        TEXT    NOT NULL,
    -- idempotency: an update sent twice is written once
    key         TEXT    NOT NULL UNIQUE
);
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, at);

-- The post-incident review: one document per incident, saved by
-- compare-and-set on its version.
CREATE TABLE incident_reviews (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents (id),
    doc         TEXT    NOT NULL,
    done        INTEGER NOT NULL CHECK (done IN (0, 1)),
    version     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT    NOT NULL
);

-- What the review decided to do, each with an owner and a due date.
CREATE TABLE action_items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    title       TEXT    NOT NULL,
    owner       TEXT    NOT NULL,
    -- the team it is listed under
    team        TEXT,
    due_on      TEXT    NOT NULL,
    done_at     INTEGER,
    reminded_at INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX action_items_incident ON action_items (incident_id, due_on);
CREATE INDEX action_items_team ON action_items (team, due_on);
CREATE INDEX action_items_owner ON action_items (owner, due_on);
-- Open items by due date: the overdue reminders and "due soon" lists.
CREATE INDEX action_items_open_due ON action_items (due_on, id) WHERE done_at IS NULL;

-- What a notification says beyond the incident's record: a stakeholder
-- update's text, a reminder. NULL for pages and resolutions.
ALTER TABLE notifications ADD COLUMN text TEXT;
