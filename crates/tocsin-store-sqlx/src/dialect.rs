//! [`Dialect`]: everything a backend supplies to the shared implementation,
//! and so the complete list of what may differ between SQLite and
//! PostgreSQL at run time (connection setup and the SQLite lock file happen
//! before a store exists and are the backends' own business).
//!
//! Invariants: an item belongs here only if the two backends really need
//! different code for it; anything they would write alike goes in the
//! shared macros instead. The trait is public only because the backends
//! implement it; its methods (which hand out the pool and transactions) are
//! called by [`crate::impl_store!`]'s expansion alone, and nothing outside
//! the store crates depends on this crate, so no transaction handle crosses
//! the store boundary.

use sqlx::migrate::Migrator;
use sqlx::{Database, Pool, Transaction};
use std::future::Future;
use tocsin_store::sql::{AlertInsert, AlertRow, AlertUpdate, ClaimedRow, EventInsert};
use tocsin_store::{Backend, StoreError};

/// A store type's dialect: what [`crate::impl_store!`] needs from it.
pub trait Dialect: Send + Sync + 'static {
    /// The sqlx database.
    type Db: Database;

    /// What [`tocsin_store::Store::backend`] answers.
    const BACKEND: Backend;

    /// One row, one boolean column: whether sqlx's `_sqlx_migrations` table
    /// exists yet (it does not on a new database). No parameters.
    const MIGRATIONS_TABLE_EXISTS: &'static str;

    /// The pool every statement outside a transaction runs on.
    fn pool(&self) -> &Pool<Self::Db>;

    /// The pool for writes whose loss a restart repairs, committed without
    /// waiting for the disk (SQLite `synchronous = NORMAL`, PostgreSQL
    /// `synchronous_commit = off`): job claims, leases and their results,
    /// module locks, a delivery's rate-limit slot and send hold. A power
    /// cut may undo the last of them, never corrupt anything, and what it
    /// undoes is redone (a job claimed again runs again; its handler is
    /// idempotent by key). Never for anything acknowledged to a person or
    /// a sender — events, catalog changes, notifications and their
    /// outcomes wait for the disk. A process crash loses nothing either
    /// way; this only saves a flush per write on the engine's hot path.
    fn relaxed_pool(&self) -> &Pool<Self::Db>;

    /// [`Dialect::begin_write`] on [`Dialect::relaxed_pool`].
    fn begin_relaxed(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Db>, StoreError>> + Send;

    /// The backend's migrations, embedded at build time.
    fn migrator() -> &'static Migrator;

    /// How an sqlx error becomes a [`StoreError`]: what is a conflict, what
    /// means "unavailable", what is a bug. Callers that can word a better
    /// conflict test [`crate::is_unique_violation`] or
    /// [`crate::is_foreign_key_violation`] first.
    fn map_error(e: sqlx::Error) -> StoreError;

    /// Begins the transaction every change runs in. It must make the
    /// compare-and-set statements of a catalog batch safe against a
    /// concurrent batch (a version check and its write see the same row).
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Db>, StoreError>> + Send;

    /// The live (not resolved) alerts of `service` with these dedup keys,
    /// within an ingest transaction. `keys` is not empty.
    fn live_alerts(
        conn: &mut <Self::Db as Database>::Connection,
        service: &str,
        keys: &[&str],
    ) -> impl Future<Output = Result<Vec<AlertRow>, StoreError>> + Send;

    /// Inserts an ingest batch's new alerts; returns `(id, service, dedup
    /// key)` per row, in any order. `rows` is not empty.
    fn insert_alerts(
        conn: &mut <Self::Db as Database>::Connection,
        rows: &[AlertInsert],
    ) -> impl Future<Output = Result<Vec<(i64, String, String)>, StoreError>> + Send;

    /// Writes an ingest batch's changes to existing alerts in one round
    /// trip. `rows` is not empty.
    fn update_alerts(
        conn: &mut <Self::Db as Database>::Connection,
        rows: &[AlertUpdate],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Inserts an ingest batch's events. `rows` is not empty.
    fn insert_events(
        conn: &mut <Self::Db as Database>::Connection,
        rows: &[EventInsert],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Begins an ingest transaction. Batches from all instances must be
    /// applied one after the other (two instances must not open two
    /// incidents for one problem), so this takes whatever lock makes that
    /// so, in as few round trips as the backend allows.
    fn begin_ingest(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Db>, StoreError>> + Send;

    /// Claims due jobs in one statement, so that two claims at once (from
    /// this pool or another process) never take the same job. `kinds` is
    /// not empty and `limit` not zero. Due means pending with
    /// `due_at <= now`, or running with `lease_until <= now`; the claimed
    /// rows become running for `worker` until `lease_until`, with one more
    /// attempt and `updated_at = now`. Returns them in any order.
    fn claim_due_jobs(
        &self,
        worker: &str,
        lease_until: i64,
        now: i64,
        kinds: &[String],
        limit: i64,
    ) -> impl Future<Output = Result<Vec<ClaimedRow>, StoreError>> + Send;
}
