//! Write transactions on SQLite.
//!
//! Every write transaction starts with `BEGIN IMMEDIATE`: it takes the write
//! lock up front, so its reads and writes see one snapshot and a concurrent
//! writer waits (busy timeout) instead of failing half way with
//! `SQLITE_BUSY` when a read transaction tries to upgrade.

use sqlx::{Sqlite, Transaction};
use tocsin_store::StoreError;

use crate::SqliteStore;
use crate::error::map;

impl SqliteStore {
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(map)
    }
}

/// Commits when `result` is `Ok`, rolls back otherwise. Should the rollback
/// itself fail, dropping the transaction rolls back on the connection's next
/// use; the error of the work (`what`) is the one to report.
pub(crate) async fn finish<T>(
    tx: Transaction<'static, Sqlite>,
    result: Result<T, StoreError>,
    what: &str,
) -> Result<T, StoreError> {
    match result {
        Ok(value) => {
            tx.commit().await.map_err(map)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rolling back a failed {what}");
            }
            Err(e)
        }
    }
}
