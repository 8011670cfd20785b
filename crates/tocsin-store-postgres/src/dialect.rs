//! What PostgreSQL does differently: how a write transaction begins, the
//! job claim, how to tell that the migrations table exists. Everything else
//! about [`Store`](tocsin_store::Store) is written once, in
//! `tocsin-store-sqlx`, and expanded for [`PostgresStore`] in the crate
//! root.
//!
//! Invariant: SQL text here is only what PostgreSQL cannot share with
//! SQLite; shared statements come from [`tocsin_store::sql`].

use sqlx::migrate::Migrator;
use sqlx::{Pool, Postgres, Transaction};
use tocsin_store::sql::ClaimedRow;
use tocsin_store::{Backend, StoreError};
use tocsin_store_sqlx::Dialect;

use crate::error::map;
use crate::{MIGRATOR, PostgresStore};

/// `$1` worker, `$2` lease_until, `$3` now, `$4` kinds (text[]), `$5` limit.
/// Due means pending and due, or running with an expired lease (its worker
/// died or stalled); oldest due first, ties by enqueue order. The CTE is not
/// inlined (it locks rows), so the limit applies once.
const CLAIM_JOBS: &str = "WITH due AS ( \
         SELECT id FROM jobs \
         WHERE kind = ANY($4) \
           AND ((state = 'pending' AND due_at <= $3) OR (state = 'running' AND lease_until <= $3)) \
         ORDER BY due_at, id \
         LIMIT $5 \
         FOR UPDATE SKIP LOCKED) \
     UPDATE jobs \
     SET state = 'running', lease_owner = $1, lease_until = $2, attempts = jobs.attempts + 1, \
         updated_at = $3 \
     FROM due WHERE jobs.id = due.id \
     RETURNING jobs.id, jobs.kind, jobs.key, jobs.payload, jobs.due_at, jobs.attempts, \
         jobs.lease_until";

impl Dialect for PostgresStore {
    type Db = Postgres;

    const BACKEND: Backend = Backend::Postgres;

    /// A transaction-level advisory lock (released at commit); the number
    /// is tocsin's, arbitrary but fixed.
    const INGEST_LOCK: Option<&'static str> = Some("SELECT pg_advisory_xact_lock(7676001)");

    const PARAMS: tocsin_store::sql::Params = tocsin_store::sql::Params::Numbered;

    const MIGRATIONS_TABLE_EXISTS: &'static str =
        "SELECT to_regclass('_sqlx_migrations') IS NOT NULL";

    fn pool(&self) -> &Pool<Postgres> {
        &self.pool
    }

    /// Concurrent instances may all migrate at start-up: sqlx takes a
    /// PostgreSQL advisory lock, so one migrates and the others then find
    /// nothing to do.
    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    fn map_error(e: sqlx::Error) -> StoreError {
        map(e)
    }

    /// A plain `BEGIN`: READ COMMITTED, the server default. That is enough
    /// for a catalog batch's compare-and-set: an
    /// `UPDATE ... WHERE id = $1 AND version = $2` waits for a concurrent
    /// writer's row lock and re-checks the version against the row it
    /// committed, so of two batches that read the same version only one
    /// writes. A taken name is caught by the `UNIQUE (kind, name)` constraint.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(map)
    }

    /// The due jobs are picked and row-locked with `FOR UPDATE SKIP LOCKED`
    /// in a CTE, then updated in the same statement. Two instances claiming
    /// at once each skip the rows the other has locked, so no job is claimed
    /// twice and neither waits. A row another claim updated after our
    /// snapshot is re-checked against the `WHERE` once locked (READ
    /// COMMITTED), so a job just taken is not taken again.
    async fn claim_due_jobs(
        &self,
        worker: &str,
        lease_until: i64,
        now: i64,
        kinds: &[String],
        limit: i64,
    ) -> Result<Vec<ClaimedRow>, StoreError> {
        sqlx::query_as(CLAIM_JOBS)
            .bind(worker)
            .bind(lease_until)
            .bind(now)
            .bind(kinds)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(map)
    }
}
