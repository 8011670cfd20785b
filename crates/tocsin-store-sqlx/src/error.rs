//! The error mapping both backends share: the constraint-violation tests
//! (sqlx reports them as an [`ErrorKind`] on every database) and what a
//! failed migration means for an operator. Which database error codes mean
//! "unavailable" or "corrupt" is per backend ([`Dialect::map_error`]).
//!
//! Invariant: callers that can word a better conflict message (which name is
//! taken, which account is missing) test [`is_unique_violation`] or
//! [`is_foreign_key_violation`] first; everything else goes through
//! [`Dialect::map_error`].

use sqlx::error::ErrorKind;
use sqlx::migrate::MigrateError;
use tocsin_store::StoreError;

use crate::Dialect;

pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation)
}

pub fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == ErrorKind::ForeignKeyViolation)
}

/// The error mapping of an insert whose unique violation has a better
/// message than "a unique value is taken": `taken()` (which name, which
/// account); any other error goes through [`Dialect::map_error`].
pub fn unique_or<D: Dialect>(
    taken: impl FnOnce() -> StoreError,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| {
        if is_unique_violation(&e) {
            taken()
        } else {
            D::map_error(e)
        }
    }
}

/// A migration error, worded for whoever runs `tocsin migrate`.
pub fn map_migrate<D: Dialect>(e: MigrateError) -> StoreError {
    match e {
        MigrateError::Execute(e) => D::map_error(e),
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
