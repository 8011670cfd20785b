//! What SQLite does differently: how a write transaction begins, the job
//! claim, how to tell that the migrations table exists. Everything else
//! about [`Store`](tocsin_store::Store) is written once, in
//! `tocsin-store-sqlx`, and expanded for [`SqliteStore`] in the crate root.
//!
//! Invariant: SQL text here is only what SQLite cannot share with
//! PostgreSQL; shared statements come from [`tocsin_store::sql`].

use sqlx::migrate::Migrator;
use sqlx::{Pool, Sqlite, SqliteConnection, Transaction};
use tocsin_store::sql::{
    self, AlertInsert, AlertRow, AlertUpdate, ClaimedRow, EventInsert, Params,
};
use tocsin_store::{Backend, StoreError};
use tocsin_store_sqlx::Dialect;

use crate::error::map;
use crate::{MIGRATOR, SqliteStore};

/// `$1` worker, `$2` lease_until, `$3` now, `$4` kinds (JSON array),
/// `$5` limit. Due means pending and due, or running with an expired lease
/// (its worker died or stalled); oldest due first, ties by enqueue order.
const CLAIM_JOBS: &str = "UPDATE jobs \
     SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, \
         updated_at = $3 \
     WHERE id IN ( \
         SELECT id FROM jobs \
         WHERE kind IN (SELECT value FROM json_each($4)) \
           AND ((state = 'pending' AND due_at <= $3) OR (state = 'running' AND lease_until <= $3)) \
         ORDER BY due_at, id \
         LIMIT $5) \
     RETURNING id, kind, key, payload, due_at, attempts, lease_until";

impl Dialect for SqliteStore {
    type Db = Sqlite;

    const BACKEND: Backend = Backend::Sqlite;

    const MIGRATIONS_TABLE_EXISTS: &'static str = "SELECT EXISTS (SELECT 1 FROM sqlite_master \
         WHERE type = 'table' AND name = '_sqlx_migrations')";

    fn pool(&self) -> &Pool<Sqlite> {
        &self.pool
    }

    fn relaxed_pool(&self) -> &Pool<Sqlite> {
        &self.relaxed
    }

    async fn begin_relaxed(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.relaxed
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map)
    }

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    fn map_error(e: sqlx::Error) -> StoreError {
        map(e)
    }

    /// `BEGIN IMMEDIATE`: it takes the write lock up front, so a
    /// transaction's reads and writes (a catalog batch's version checks and
    /// its writes) see one snapshot, and a concurrent writer waits (busy
    /// timeout) instead of failing half way with `SQLITE_BUSY` when a read
    /// transaction tries to upgrade.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(map)
    }

    /// `BEGIN IMMEDIATE` already takes SQLite's single write lock.
    async fn begin_ingest(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.begin_write().await
    }
    /// Multi-row statements with anonymous `?` parameters (sqlx-sqlite
    /// binds `$N` by looking each name up, which is quadratic in a
    /// multi-row statement; `?` in constant time each), at most
    /// [`sql::MAX_ROWS_PER_STATEMENT`] rows per statement.
    async fn live_alerts(
        conn: &mut SqliteConnection,
        service: &str,
        keys: &[&str],
    ) -> Result<Vec<AlertRow>, StoreError> {
        let mut rows = Vec::new();
        for chunk in keys.chunks(sql::MAX_ROWS_PER_STATEMENT) {
            let text = sql::live_alerts_by_keys(Params::Anonymous, chunk.len());
            let mut q = sqlx::query_as::<_, AlertRow>(sqlx::AssertSqlSafe(text))
                .persistent(false)
                .bind(service.to_owned());
            for key in chunk {
                q = q.bind((*key).to_owned());
            }
            rows.extend(q.fetch_all(&mut *conn).await.map_err(map)?);
        }
        Ok(rows)
    }

    async fn insert_alerts(
        conn: &mut SqliteConnection,
        rows: &[AlertInsert],
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        let mut ids = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(sql::MAX_ROWS_PER_STATEMENT) {
            let text = sql::insert_alerts(Params::Anonymous, chunk.len());
            let mut q = sqlx::query_as::<_, (i64, String, String)>(sqlx::AssertSqlSafe(text))
                .persistent(false);
            for a in chunk {
                q = q
                    .bind(a.service.clone())
                    .bind(a.dedup_key.clone())
                    .bind(a.status)
                    .bind(a.severity.clone())
                    .bind(a.summary.clone())
                    .bind(a.group_key.clone())
                    .bind(a.labels.clone())
                    .bind(a.count)
                    .bind(a.first_seen)
                    .bind(a.last_seen)
                    .bind(a.incident_id)
                    .bind(a.muted_by.clone());
            }
            ids.extend(q.fetch_all(&mut *conn).await.map_err(map)?);
        }
        Ok(ids)
    }

    async fn update_alerts(
        conn: &mut SqliteConnection,
        rows: &[AlertUpdate],
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(sql::MAX_ROWS_PER_STATEMENT) {
            let text = sql::update_alerts_sqlite(chunk.len());
            let mut q = sqlx::query(sqlx::AssertSqlSafe(text)).persistent(false);
            for a in chunk {
                q = q
                    .bind(a.id)
                    .bind(a.status)
                    .bind(a.severity.clone())
                    .bind(a.summary.clone())
                    .bind(a.count)
                    .bind(a.last_seen)
                    .bind(a.incident_id)
                    .bind(a.labels.clone())
                    .bind(a.muted_by.clone());
            }
            q.execute(&mut *conn).await.map_err(map)?;
        }
        Ok(())
    }

    async fn insert_events(
        conn: &mut SqliteConnection,
        rows: &[EventInsert],
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(sql::MAX_ROWS_PER_STATEMENT) {
            let text = sql::insert_events(Params::Anonymous, chunk.len());
            let mut q = sqlx::query(sqlx::AssertSqlSafe(text)).persistent(false);
            for e in chunk {
                q = q
                    .bind(e.received_at)
                    .bind(e.integration.clone())
                    .bind(e.service.clone())
                    .bind(e.action.clone())
                    .bind(e.dedup_key.clone())
                    .bind(e.alert_id)
                    .bind(e.incident_id)
                    .bind(e.body.clone())
                    .bind(e.request_id.clone());
            }
            q.execute(&mut *conn).await.map_err(map)?;
        }
        Ok(())
    }

    /// A single `UPDATE ... RETURNING` whose subquery picks the due jobs.
    /// SQLite runs a statement atomically under the database write lock, so
    /// two claims (from this pool or from another process) never take the
    /// same job; there is no `SKIP LOCKED` to need. The kinds are passed as
    /// one JSON array and expanded with `json_each`, since SQLite has no
    /// array parameters.
    async fn claim_due_jobs(
        &self,
        worker: &str,
        lease_until: i64,
        now: i64,
        kinds: &[String],
        limit: i64,
    ) -> Result<Vec<ClaimedRow>, StoreError> {
        let kinds = serde_json::to_string(kinds)
            .map_err(|e| StoreError::Other(format!("encoding job kinds: {e}")))?;
        sqlx::query_as(CLAIM_JOBS)
            .bind(worker)
            .bind(lease_until)
            .bind(now)
            .bind(kinds)
            .bind(limit)
            .fetch_all(&self.relaxed)
            .await
            .map_err(map)
    }
}
