//! The SQLite backend of the tocsin store: one file, one `tocsin serve`.
//!
//! [`SqliteStore::open`] opens (creating if needed) the database in WAL mode
//! with `synchronous = FULL`, so a write that returned is on disk even if the
//! process is killed right after, and a 5 s busy timeout, so a CLI command
//! writing beside the server waits instead of failing. In
//! [`OpenMode::Server`] it also takes the single-instance lock (see
//! [`lock`]).
//!
//! The trait methods are written once for both backends, in
//! `tocsin-store-sqlx`, and expanded here by its `impl_store!`; this crate
//! holds only what SQLite does differently: opening the file, the lock,
//! `BEGIN IMMEDIATE`, the job claim and the migrations-table check
//! (`dialect.rs`), and what SQLite's result codes mean (`error.rs`).
//!
//! Invariants: SQL text shared with PostgreSQL comes from
//! [`tocsin_store::sql`]; only SQLite-specific statements live here. Every
//! trait method is one statement or one transaction; audit entries passed to
//! a change are written in its transaction. Timestamps are integer Unix
//! milliseconds. Migrations in `migrations/` have the same versions and
//! file names as the PostgreSQL ones.

mod dialect;
mod error;
mod lock;
#[cfg(feature = "testing")]
pub mod testing;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tocsin_store::StoreError;

use crate::error::map;
use crate::lock::ServerLock;

/// The schema, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a statement waits for another connection's write lock before
/// failing: long enough to ride out a concurrent `apply`, short enough that a
/// stuck writer shows up as an error.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Writers are serialised by SQLite anyway; a few connections let readers
/// (the web UI, `/readyz`) proceed beside a writer under WAL.
const MAX_CONNECTIONS: u32 = 8;
/// The engine's claims, leases and locks: see
/// [`tocsin_store_sqlx::Dialect::relaxed_pool`].
const RELAXED_CONNECTIONS: u32 = 3;

/// Waiting longer than this for a pooled connection means something is stuck.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Who is opening the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// `tocsin serve`: takes the single-instance lock, refusing to start when
    /// another server holds it.
    Server,
    /// A CLI command that may run while a server is up (`apply`,
    /// `token create`): no lock.
    Client,
}

/// A [`Store`](tocsin_store::Store) on one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The same file, committing without a flush: see
    /// [`tocsin_store_sqlx::Dialect::relaxed_pool`].
    relaxed: SqlitePool,
    path: PathBuf,
    /// Held for the store's lifetime in [`OpenMode::Server`].
    lock: Option<ServerLock>,
}

impl SqliteStore {
    /// Opens the database at `path`, creating its directory and the file if
    /// missing. Does not migrate: call [`Store::migrate`](tocsin_store::Store::migrate).
    ///
    /// Errors: [`StoreError::Locked`] when another server holds the file (in
    /// [`OpenMode::Server`]); [`StoreError::Unavailable`] when the directory
    /// or file cannot be created or opened.
    pub async fn open(path: &Path, mode: OpenMode) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!(
                    "cannot create the directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let lock = match mode {
            OpenMode::Server => Some(ServerLock::acquire(path)?),
            OpenMode::Client => None,
        };
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let relaxed_options = options.clone().synchronous(SqliteSynchronous::Normal);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A local file cannot drop the connection the way a network can;
            // pinging it before every use costs a round trip to the
            // connection's thread, which under load is most of an ingest
            // batch's time.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|e| match map(e) {
                StoreError::Unavailable(m) | StoreError::Other(m) => StoreError::Unavailable(
                    format!("cannot open the SQLite database {}: {m}", path.display()),
                ),
                other => other,
            })?;
        // Opened after the first pool, which created the file and set WAL.
        let relaxed = SqlitePoolOptions::new()
            .max_connections(RELAXED_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .connect_with(relaxed_options)
            .await
            .map_err(map)?;
        tracing::debug!(
            path = %path.display(),
            ?mode,
            lock = ?lock.as_ref().map(ServerLock::path),
            "opened SQLite store"
        );
        Ok(SqliteStore {
            pool,
            relaxed,
            path: path.to_owned(),
            lock,
        })
    }

    /// The database file this store uses.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this store holds the single-instance lock.
    pub fn holds_server_lock(&self) -> bool {
        self.lock.is_some()
    }
}

tocsin_store_sqlx::impl_store!(SqliteStore);
