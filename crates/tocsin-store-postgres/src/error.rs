//! How sqlx errors from PostgreSQL become [`StoreError`]s: the one place
//! that decides which SQLSTATEs mean a conflict, "the database is
//! unavailable", or a bug. (The constraint-violation tests and migration
//! errors, alike on both backends, are in `tocsin-store-sqlx`.)
//!
//! Invariants: callers that can word a better conflict message (which name
//! is taken, which account is missing) test `is_unique_violation` or
//! `is_foreign_key_violation` first; everything else goes through [`map`].
//! Messages never contain the connection URL (it may hold a password).

use sqlx::error::ErrorKind;
use tocsin_store::StoreError;

/// SQLSTATEs that mean the server is going away or cannot take us now,
/// rather than that a statement is wrong: class 08 (connection exception),
/// 53 (insufficient resources: too many connections, disk full) and 57P
/// (operator intervention: shutdown, crash recovery).
/// <https://www.postgresql.org/docs/current/errcodes-appendix.html>
fn is_unavailable_state(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || code.starts_with("57P")
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
