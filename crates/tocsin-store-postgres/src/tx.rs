//! Write transactions on PostgreSQL (READ COMMITTED, the server default).

use sqlx::{Postgres, Transaction};
use tocsin_store::StoreError;

use crate::PostgresStore;
use crate::error::map;

impl PostgresStore {
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(map)
    }
}

/// Commits when `result` is `Ok`, rolls back otherwise. Should the rollback
/// itself fail, dropping the transaction rolls back on the connection's next
/// use; the error of the work (`what`) is the one to report.
pub(crate) async fn finish<T>(
    tx: Transaction<'static, Postgres>,
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
