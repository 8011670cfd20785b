//! The PostgreSQL backend of the tocsin store: any number of `tocsin serve`
//! instances on one database.
//!
//! [`PostgresStore::connect`] checks the server answers with one direct
//! connection (so a wrong host or password fails at once, with a message
//! that says what to check) and then keeps a pool of up to
//! [`MAX_CONNECTIONS`].
//!
//! The trait methods are written once for both backends, in
//! `tocsin-store-sqlx`, and expanded here by its `impl_store!`; this crate
//! holds only what PostgreSQL does differently: connecting, the plain
//! `BEGIN`, the `SKIP LOCKED` job claim and the migrations-table check
//! (`dialect.rs`), and what SQLSTATEs mean (`error.rs`).
//!
//! Invariants: SQL text shared with SQLite comes from
//! [`tocsin_store::sql`]; only PostgreSQL-specific statements live here.
//! Every trait method is one statement or one transaction; audit entries
//! passed to a change are written in its transaction. Timestamps are
//! BIGINT Unix milliseconds and JSON is TEXT, as on SQLite. Migrations in
//! `migrations/` have the same versions and file names as the SQLite ones.
//! No error message contains the connection URL (it may hold a password).

mod dialect;
mod error;
#[cfg(feature = "testing")]
pub mod testing;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use std::time::Duration;
use tocsin_store::StoreError;

/// The schema, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Enough for the engine's workers and the web server of one instance,
/// small enough that several instances stay under PostgreSQL's default
/// `max_connections` (100).
pub const MAX_CONNECTIONS: u32 = 10;

/// The engine's claims, leases and locks (short statements): see
/// [`tocsin_store_sqlx::Dialect::relaxed_pool`].
pub const RELAXED_CONNECTIONS: u32 = 3;

/// How long a caller waits for a pooled connection, and how long
/// [`PostgresStore::connect`] waits for the server to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`Store`](tocsin_store::Store) on a PostgreSQL database.
#[derive(Debug)]
pub struct PostgresStore {
    pool: PgPool,
    /// Sessions with `synchronous_commit = off`: see
    /// [`tocsin_store_sqlx::Dialect::relaxed_pool`].
    relaxed: PgPool,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`).
    /// Does not migrate: call [`Store::migrate`](tocsin_store::Store::migrate).
    ///
    /// Errors: [`StoreError::Unavailable`] when the URL is invalid or the
    /// server cannot be reached or refuses us, naming the host and port and
    /// what to check, never the password.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            StoreError::Unavailable(format!("the PostgreSQL URL is not valid: {e}"))
        })?;
        let unreachable = |why: String| {
            StoreError::Unavailable(format!(
                "cannot connect to PostgreSQL at {} (database \"{}\", user \"{}\"): {why}; check \
                 that the server is running and reachable from here, and the database, user and \
                 password in the URL",
                target(&options),
                options.get_database().unwrap_or(options.get_username()),
                options.get_username(),
            ))
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
            Err(_) => {
                return Err(unreachable(format!(
                    "no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
            Ok(Err(e)) => return Err(unreachable(e.to_string())),
            Ok(Ok(probe)) => {
                if let Err(e) = probe.close().await {
                    tracing::debug!(error = %e, "closing the PostgreSQL probe connection");
                }
            }
        }
        let relaxed = PgPoolOptions::new()
            .max_connections(RELAXED_CONNECTIONS)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_lazy_with(options.clone().options([("synchronous_commit", "off")]));
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_lazy_with(options);
        Ok(PostgresStore { pool, relaxed })
    }
}

/// `host:port`, or the Unix socket, for messages.
fn target(options: &PgConnectOptions) -> String {
    match options.get_socket() {
        Some(socket) => format!("socket {}", socket.display()),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    }
}

tocsin_store_sqlx::impl_store!(PostgresStore);
