-- The first schema: declared objects, API tokens, durable jobs, engine locks.
--
-- Kept in step with tocsin-store-postgres/migrations/0001_initial.sql: same
-- file name, same tables and columns, so the shared SQL in tocsin-store runs
-- on both. Timestamps are INTEGER Unix milliseconds (so `due_at <= $now` is a
-- plain integer comparison on an index) and JSON is TEXT, as on PostgreSQL.
-- Migrations are append-only: never edit this file once released.

-- Declared objects; `spec` is the object's JSON, `version` is bumped on every
-- write for compare-and-set updates.
CREATE TABLE catalog_objects (
    id         TEXT    NOT NULL PRIMARY KEY,
    kind       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    spec       TEXT    NOT NULL,
    managed    INTEGER NOT NULL CHECK (managed IN (0, 1)),
    source     TEXT,
    secret     TEXT,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (kind, name)
);

-- API tokens: only the SHA-256 digest of the secret is stored. A name is
-- unique among live tokens; a revoked token keeps its name for the record.
CREATE TABLE api_tokens (
    id           TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    scope        TEXT    NOT NULL,
    digest       TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- Durable jobs. AUTOINCREMENT so that an id is never reused after a purge:
-- ids appear in logs and must keep naming one job.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL,
    key         TEXT    NOT NULL UNIQUE,
    payload     TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    due_at      INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX jobs_state_due ON jobs (state, due_at);

-- One holder per engine module at a time, with an expiry the holder renews.
CREATE TABLE engine_locks (
    name       TEXT    NOT NULL PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    version    INTEGER NOT NULL
);
