//! The PostgreSQL backend of the tocsin store: any number of `tocsin serve`
//! instances on one database.
//!
//! [`PostgresStore::connect`] checks the server answers with one direct
//! connection (so a wrong host or password fails at once, with a message
//! that says what to check) and then keeps a pool of up to
//! [`MAX_CONNECTIONS`].
//!
//! Invariants: SQL text shared with SQLite comes from
//! [`tocsin_store::sql`]; only PostgreSQL-specific statements live here.
//! Every trait method is one statement or one transaction; audit entries
//! passed to a change are written in its transaction. Timestamps are
//! BIGINT Unix milliseconds and JSON is TEXT, as on SQLite. Migrations in
//! `migrations/` have the same versions and file names as the SQLite ones.
//! No error message contains the connection URL (it may hold a password).

mod account;
mod audit;
mod catalog;
mod error;
mod job;
#[cfg(feature = "testing")]
pub mod testing;
mod token;
mod tx;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use std::time::Duration;
use tocsin_store::{Backend, MigrationStatus, Store, StoreError, sql};

use crate::error::{map, map_migrate};

/// The schema, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Enough for the engine's workers and the web server of one instance,
/// small enough that several instances stay under PostgreSQL's default
/// `max_connections` (100).
pub const MAX_CONNECTIONS: u32 = 10;

/// How long a caller waits for a pooled connection, and how long
/// [`PostgresStore::connect`] waits for the server to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`Store`] on a PostgreSQL database.
#[derive(Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`).
    /// Does not migrate: call [`Store::migrate`].
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
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_lazy_with(options);
        Ok(PostgresStore { pool })
    }

    /// The versions recorded as applied; none when the migrations table does
    /// not exist yet (a new database).
    async fn applied_versions(&self) -> Result<Vec<i64>, StoreError> {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(map)?;
        if !exists {
            return Ok(Vec::new());
        }
        sqlx::query_scalar(sql::APPLIED_MIGRATIONS)
            .fetch_all(&self.pool)
            .await
            .map_err(map)
    }
}

/// `host:port`, or the Unix socket, for messages.
fn target(options: &PgConnectOptions) -> String {
    match options.get_socket() {
        Some(socket) => format!("socket {}", socket.display()),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    }
}

/// The up-migration versions this binary embeds, in order.
fn known_versions() -> Vec<i64> {
    MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .collect()
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query(sql::PING)
            .execute(&self.pool)
            .await
            .map_err(map)?;
        Ok(())
    }

    /// Concurrent instances may all call this at start-up: sqlx takes a
    /// PostgreSQL advisory lock, so one migrates and the others then find
    /// nothing to do.
    async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let before = self.applied_versions().await?;
        MIGRATOR.run(&self.pool).await.map_err(map_migrate)?;
        let after = self.applied_versions().await?;
        Ok(after.into_iter().filter(|v| !before.contains(v)).collect())
    }

    async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        Ok(MigrationStatus {
            known: known_versions(),
            applied: self.applied_versions().await?,
        })
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
