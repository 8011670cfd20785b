-- The first schema: declared objects, API tokens, durable jobs, engine locks.
--
-- Kept in step with tocsin-store-sqlite/migrations/0001_initial.sql: same
-- file name, same tables and columns, so the shared SQL in tocsin-store runs
-- on both. Timestamps are BIGINT Unix milliseconds and JSON is TEXT (not
-- JSONB) so that bound values and SQL text are the same on both backends;
-- nothing queries inside the JSON. Migrations are append-only: never edit
-- this file once released.

-- Declared objects; `spec` is the object's JSON, `version` is bumped on every
-- write for compare-and-set updates.
CREATE TABLE catalog_objects (
    id         TEXT    NOT NULL PRIMARY KEY,
    kind       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    spec       TEXT    NOT NULL,
    managed    BOOLEAN NOT NULL,
    source     TEXT,
    secret     TEXT,
    version    BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    UNIQUE (kind, name)
);

-- API tokens: only the SHA-256 digest of the secret is stored. A name is
-- unique among live tokens; a revoked token keeps its name for the record.
CREATE TABLE api_tokens (
    id           TEXT   NOT NULL PRIMARY KEY,
    name         TEXT   NOT NULL,
    scope        TEXT   NOT NULL,
    digest       TEXT   NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- Durable jobs, claimed with FOR UPDATE SKIP LOCKED.
CREATE TABLE jobs (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        TEXT    NOT NULL,
    key         TEXT    NOT NULL UNIQUE,
    payload     TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    due_at      BIGINT  NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error  TEXT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX jobs_state_due ON jobs (state, due_at);

-- One holder per engine module at a time, with an expiry the holder renews.
CREATE TABLE engine_locks (
    name       TEXT   NOT NULL PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    version    BIGINT NOT NULL
);
