//! Errors at the store boundary.

/// What went wrong talking to the database. Messages are meant for
/// operators: they say what to do where possible.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data changed since it was read (optimistic concurrency), or a
    /// unique name is taken. Retrying after re-reading may succeed.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or refused the connection.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Another process holds the database (SQLite is single-instance).
    #[error("{0}")]
    Locked(String),
    /// Migrating failed or the schema is newer than this binary.
    #[error("migration: {0}")]
    Migration(String),
    /// A stored value could not be decoded: a bug or a hand-edited row.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Other(String),
}
