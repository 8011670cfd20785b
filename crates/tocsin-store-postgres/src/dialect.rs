//! What PostgreSQL does differently: how a write transaction begins, the
//! job claim, how to tell that the migrations table exists. Everything else
//! about [`Store`](tocsin_store::Store) is written once, in
//! `tocsin-store-sqlx`, and expanded for [`PostgresStore`] in the crate
//! root.
//!
//! Invariant: SQL text here is only what PostgreSQL cannot share with
//! SQLite; shared statements come from [`tocsin_store::sql`].

use sqlx::migrate::Migrator;
use sqlx::{PgConnection, Pool, Postgres, Transaction};
use tocsin_store::sql::{AlertInsert, AlertRow, AlertUpdate, ClaimedRow, EventInsert};
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

/// `$1` service, `$2` dedup keys (text[]): live alerts, in [`AlertRow`]
/// order; one fixed text for any number of keys.
const LIVE_ALERTS: &str = "SELECT id, service, dedup_key, status, severity, summary, group_key, \
     labels, count, first_seen, last_seen, incident_id, muted_by FROM alerts \
     WHERE status <> 'resolved' AND service = $1 AND dedup_key = ANY($2)";

/// One array per column, in [`AlertInsert`] order.
const INSERT_ALERTS: &str = "INSERT INTO alerts (service, dedup_key, status, severity, summary, \
     group_key, labels, count, first_seen, last_seen, incident_id, muted_by) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
         $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], \
         $12::text[]) \
     RETURNING id, service, dedup_key";

/// One array per column, in [`AlertUpdate`] order.
const UPDATE_ALERTS: &str = "UPDATE alerts SET status = v.status, severity = v.severity, \
     summary = v.summary, count = v.count, last_seen = v.last_seen, incident_id = v.incident_id, \
     labels = v.labels, muted_by = v.muted_by \
     FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], \
         $7::bigint[], $8::text[], $9::text[]) \
         AS v(id, status, severity, summary, count, last_seen, incident_id, labels, muted_by) \
     WHERE alerts.id = v.id";

/// One array per column, in [`EventInsert`] order.
const INSERT_EVENTS: &str = "INSERT INTO events (received_at, integration, service, action, \
     dedup_key, alert_id, incident_id, body, request_id) \
     SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], \
         $6::bigint[], $7::bigint[], $8::text[], $9::text[])";

fn column<T, U>(rows: &[T], f: impl Fn(&T) -> U) -> Vec<U> {
    rows.iter().map(f).collect()
}

impl Dialect for PostgresStore {
    type Db = Postgres;

    const BACKEND: Backend = Backend::Postgres;

    const MIGRATIONS_TABLE_EXISTS: &'static str =
        "SELECT to_regclass('_sqlx_migrations') IS NOT NULL";

    fn pool(&self) -> &Pool<Postgres> {
        &self.pool
    }

    fn relaxed_pool(&self) -> &Pool<Postgres> {
        &self.relaxed
    }

    async fn begin_relaxed(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.relaxed.begin().await.map_err(map)
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

    /// Keys as one array parameter.
    async fn live_alerts(
        conn: &mut PgConnection,
        service: &str,
        keys: &[&str],
    ) -> Result<Vec<AlertRow>, StoreError> {
        sqlx::query_as(LIVE_ALERTS)
            .bind(service)
            .bind(keys)
            .fetch_all(&mut *conn)
            .await
            .map_err(map)
    }

    /// Column arrays unnested into rows: one prepared statement, one round
    /// trip, whatever the batch size.
    async fn insert_alerts(
        conn: &mut PgConnection,
        rows: &[AlertInsert],
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        sqlx::query_as(INSERT_ALERTS)
            .bind(column(rows, |a| a.service.clone()))
            .bind(column(rows, |a| a.dedup_key.clone()))
            .bind(column(rows, |a| a.status.to_owned()))
            .bind(column(rows, |a| a.severity.clone()))
            .bind(column(rows, |a| a.summary.clone()))
            .bind(column(rows, |a| a.group_key.clone()))
            .bind(column(rows, |a| a.labels.clone()))
            .bind(column(rows, |a| a.count))
            .bind(column(rows, |a| a.first_seen))
            .bind(column(rows, |a| a.last_seen))
            .bind(column(rows, |a| a.incident_id))
            .bind(column(rows, |a| a.muted_by.clone()))
            .fetch_all(&mut *conn)
            .await
            .map_err(map)
    }

    async fn update_alerts(
        conn: &mut PgConnection,
        rows: &[AlertUpdate],
    ) -> Result<(), StoreError> {
        sqlx::query(UPDATE_ALERTS)
            .bind(column(rows, |a| a.id))
            .bind(column(rows, |a| a.status.to_owned()))
            .bind(column(rows, |a| a.severity.clone()))
            .bind(column(rows, |a| a.summary.clone()))
            .bind(column(rows, |a| a.count))
            .bind(column(rows, |a| a.last_seen))
            .bind(column(rows, |a| a.incident_id))
            .bind(column(rows, |a| a.labels.clone()))
            .bind(column(rows, |a| a.muted_by.clone()))
            .execute(&mut *conn)
            .await
            .map_err(map)?;
        Ok(())
    }

    async fn insert_events(
        conn: &mut PgConnection,
        rows: &[EventInsert],
    ) -> Result<(), StoreError> {
        sqlx::query(INSERT_EVENTS)
            .bind(column(rows, |e| e.received_at))
            .bind(column(rows, |e| e.integration.clone()))
            .bind(column(rows, |e| e.service.clone()))
            .bind(column(rows, |e| e.action.clone()))
            .bind(column(rows, |e| e.dedup_key.clone()))
            .bind(column(rows, |e| e.alert_id))
            .bind(column(rows, |e| e.incident_id))
            .bind(column(rows, |e| e.body.clone()))
            .bind(column(rows, |e| e.request_id.clone()))
            .execute(&mut *conn)
            .await
            .map_err(map)?;
        Ok(())
    }

    /// One round trip (the simple query protocol takes several
    /// statements): begin, plan this transaction's statements with its own
    /// values (the ingest tables grow fast, and a plan cached while they
    /// were small would scan them), and take a transaction-level advisory
    /// lock, released at commit (the number is tocsin's, arbitrary but
    /// fixed).
    async fn begin_ingest(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool
            .begin_with(
                "BEGIN; SET LOCAL plan_cache_mode = force_custom_plan; \
                 SELECT pg_advisory_xact_lock(7676001)",
            )
            .await
            .map_err(map)
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
            .fetch_all(&self.relaxed)
            .await
            .map_err(map)
    }
}
