//! How sqlx errors from SQLite become [`StoreError`]s: the one place that
//! decides which SQLite result codes mean a conflict, "the database is
//! unavailable", a damaged file, or a bug. (The constraint-violation tests
//! and migration errors, alike on both backends, are in
//! `tocsin-store-sqlx`.)
//!
//! Invariant: callers that can word a better conflict message (which name is
//! taken, which account is missing) test `is_unique_violation` or
//! `is_foreign_key_violation` first; everything else goes through [`map`].

use sqlx::error::ErrorKind;
use tocsin_store::StoreError;

/// SQLite primary result codes (the low byte of an extended code) that mean
/// the file cannot be used right now rather than that a statement is wrong.
/// <https://www.sqlite.org/rescode.html>
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
const SQLITE_NOMEM: i32 = 7;
const SQLITE_READONLY: i32 = 8;
const SQLITE_IOERR: i32 = 10;
const SQLITE_CORRUPT: i32 = 11;
const SQLITE_FULL: i32 = 13;
const SQLITE_CANTOPEN: i32 = 14;
const SQLITE_NOTADB: i32 = 26;

pub(crate) fn map(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(db) => {
            let primary = db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .map(|c| c & 0xff);
            match primary {
                _ if db.kind() == ErrorKind::UniqueViolation => {
                    StoreError::Conflict(format!("a unique value is taken: {}", db.message()))
                }
                Some(SQLITE_BUSY | SQLITE_LOCKED) => StoreError::Unavailable(format!(
                    "the SQLite database stayed locked by another connection for longer than \
                     the busy timeout: {}",
                    db.message()
                )),
                Some(
                    SQLITE_NOMEM | SQLITE_READONLY | SQLITE_IOERR | SQLITE_FULL | SQLITE_CANTOPEN,
                ) => StoreError::Unavailable(format!(
                    "the SQLite file cannot be used (check the disk, its free space and \
                         permissions): {}",
                    db.message()
                )),
                Some(SQLITE_CORRUPT | SQLITE_NOTADB) => StoreError::Corrupt(format!(
                    "the SQLite file is damaged or is not a database: {}",
                    db.message()
                )),
                _ => StoreError::Other(db.message().to_owned()),
            }
        }
        sqlx::Error::Io(e) => {
            StoreError::Unavailable(format!("I/O error on the SQLite database: {e}"))
        }
        e @ (sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            StoreError::Corrupt(e.to_string())
        }
        other => StoreError::Other(other.to_string()),
    }
}
