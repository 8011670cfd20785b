-- Sign-in accounts, their sessions, the audit log, and token owners.
--
-- Kept in step with tocsin-store-sqlite/migrations/0002_accounts_sessions_audit.sql:
-- same file name, same tables and columns. Timestamps are BIGINT Unix
-- milliseconds and JSON is TEXT, as in 0001. Migrations are append-only:
-- never edit this file once released.

-- One account per declared user (by name): the role and the Argon2id hash.
CREATE TABLE accounts (
    user_name     TEXT   NOT NULL PRIMARY KEY,
    role          TEXT   NOT NULL CHECK (role IN ('viewer', 'responder', 'manager', 'admin')),
    password_hash TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- Sessions, known by the SHA-256 digest of the cookie value. They go with
-- their account.
CREATE TABLE sessions (
    digest     TEXT   NOT NULL PRIMARY KEY,
    user_name  TEXT   NOT NULL REFERENCES accounts (user_name) ON DELETE CASCADE,
    csrf       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
-- Ending every session of a user (a password change), and the cascade.
CREATE INDEX sessions_user_name ON sessions (user_name);

-- Every change, newest with the largest id (ids page the log).
CREATE TABLE audit_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT   NOT NULL,
    interface   TEXT   NOT NULL,
    action      TEXT   NOT NULL,
    object_kind TEXT,
    object_name TEXT,
    detail      TEXT   NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor);
CREATE INDEX audit_log_at ON audit_log (at);

-- The user a token acts for; NULL for tokens made with the CLI.
ALTER TABLE api_tokens ADD COLUMN owner TEXT;
