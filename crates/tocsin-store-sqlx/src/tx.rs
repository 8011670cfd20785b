//! The shape of every change: one write transaction holding the change and
//! its audit entries. How the transaction begins is the backend's
//! ([`Dialect::begin_write`]); `audited` (expanded by
//! [`crate::impl_store!`], see `audit.rs`) runs a change in it; [`finish`]
//! ends it.
//!
//! Invariants: a change and its audit entries commit together or not at
//! all; entries are written only when the change changed something
//! ([`Outcome`]); the error reported is the work's, never the rollback's.

use sqlx::Transaction;
use tocsin_store::StoreError;

use crate::Dialect;

/// What a change reports, telling whether it changed anything and so
/// whether its audit entries are written.
pub trait Outcome {
    fn changed(&self) -> bool;
}

/// A change that either happened or failed (an insert, a catalog batch).
impl Outcome for () {
    fn changed(&self) -> bool {
        true
    }
}

/// A change that may find nothing to change (`false`: no such account or
/// token), which the trait method then reports.
impl Outcome for bool {
    fn changed(&self) -> bool {
        *self
    }
}

/// Commits when `result` is `Ok`, rolls back otherwise. Should the rollback
/// itself fail, dropping the transaction rolls back on the connection's next
/// use; the error of the work (`what`) is the one to report.
pub async fn finish<D: Dialect, T>(
    tx: Transaction<'static, D::Db>,
    result: Result<T, StoreError>,
    what: &str,
) -> Result<T, StoreError> {
    match result {
        Ok(value) => {
            tx.commit().await.map_err(D::map_error)?;
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
