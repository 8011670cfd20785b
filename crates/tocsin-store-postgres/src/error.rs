//! How sqlx errors from PostgreSQL become [`StoreError`]s: the one place
//! that decides what is a conflict, what is "the database is unavailable"
//! and what is a bug.
//!
//! Invariant: callers that can word a better conflict message (which name is
//! taken, which account is missing) test [`is_unique_violation`] or
//! [`is_foreign_key_violation`] first; everything else goes through [`map`]. Messages never contain the connection URL (it may hold a
//! password).

use sqlx::error::ErrorKind;
use sqlx::migrate::MigrateError;
use tocsin_store::StoreError;

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation)
}

/// SQLSTATEs that mean the server is going away or cannot take us now,
/// rather than that a statement is wrong: class 08 (connection exception),
/// 53 (insufficient resources: too many connections, disk full) and 57P
/// (operator intervention: shutdown, crash recovery).
/// <https://www.postgresql.org/docs/current/errcodes-appendix.html>
fn is_unavailable_state(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || code.starts_with("57P")
}

pub(crate) fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == ErrorKind::ForeignKeyViolation)
}

pub(crate) fn map(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            if db.kind() == ErrorKind::UniqueViolation {
                StoreError::Conflict(format!("a unique value is taken: {}", db.message()))
            } else if is_unavailable_state(&code) {
                StoreError::Unavailable(format!(
                    "PostgreSQL refused the request ({code}): {}",
                    db.message()
                ))
            } else {
                StoreError::Other(format!("{} ({code})", db.message()))
            }
        }
        e @ (sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed) => StoreError::Unavailable(e.to_string()),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            StoreError::Corrupt(e.to_string())
        }
        other => StoreError::Other(other.to_string()),
    }
}

pub(crate) fn map_migrate(e: MigrateError) -> StoreError {
    match e {
        MigrateError::Execute(e) => map(e),
        MigrateError::ExecuteMigration(e, v) => {
            StoreError::Migration(format!("migration {v} failed: {e}"))
        }
        MigrateError::VersionMissing(v) => StoreError::Migration(format!(
            "the database has migration {v}, which this binary does not know: a newer tocsin \
             migrated it; run that version (or newer) instead"
        )),
        MigrateError::VersionMismatch(v) => StoreError::Migration(format!(
            "migration {v} in the database differs from the one in this binary; the database \
             was migrated by a different build of tocsin"
        )),
        MigrateError::Dirty(v) => StoreError::Migration(format!(
            "migration {v} failed part way earlier; restore a backup, or repair the schema by \
             hand and delete its row from _sqlx_migrations"
        )),
        other => StoreError::Migration(other.to_string()),
    }
}
