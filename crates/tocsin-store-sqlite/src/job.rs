//! [`JobStore`] on SQLite.
//!
//! The claim is the one dialect-specific statement: a single
//! `UPDATE ... RETURNING` whose subquery picks the due jobs. SQLite runs a
//! statement atomically under the database write lock, so two claims (from
//! this pool or from another process) never take the same job; there is no
//! `SKIP LOCKED` to need. The kinds are passed as one JSON array and
//! expanded with `json_each`, since SQLite has no array parameters.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use tocsin_store::sql::{self, ClaimedRow, JobStateRow};
use tocsin_store::{ClaimedJob, JobFailure, JobState, JobStore, NewJob, StoreError};

use crate::SqliteStore;
use crate::error::map;

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

#[async_trait]
impl JobStore for SqliteStore {
    async fn enqueue_job(&self, job: &NewJob, now: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::ENQUEUE_JOB)
            .bind(job.kind.as_str())
            .bind(job.key.as_str())
            .bind(job.payload.to_string())
            .bind(sql::millis(job.due_at))
            .bind(sql::millis(now))
            .execute(&self.pool)
            .await
            .map_err(map)?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim_jobs(
        &self,
        kinds: &[String],
        worker: &str,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        if kinds.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let kinds = serde_json::to_string(kinds)
            .map_err(|e| StoreError::Other(format!("encoding job kinds: {e}")))?;
        let rows: Vec<ClaimedRow> = sqlx::query_as(CLAIM_JOBS)
            .bind(worker)
            .bind(sql::millis_after(now, lease))
            .bind(sql::millis(now))
            .bind(kinds)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        let mut jobs = rows
            .into_iter()
            .map(sql::claimed_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        sql::sort_claimed(&mut jobs);
        Ok(jobs)
    }

    async fn complete_job(
        &self,
        id: i64,
        worker: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::COMPLETE_JOB)
            .bind(id)
            .bind(worker)
            .bind(sql::millis(now))
            .execute(&self.pool)
            .await
            .map_err(map)?;
        Ok(done.rows_affected() == 1)
    }

    async fn fail_job(
        &self,
        id: i64,
        worker: &str,
        failure: &JobFailure,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let query = match failure {
            JobFailure::Retry { retry_at, error } => sqlx::query(sql::RETRY_JOB)
                .bind(id)
                .bind(worker)
                .bind(sql::millis(*retry_at))
                .bind(error.as_str())
                .bind(sql::millis(now)),
            JobFailure::Dead { error } => sqlx::query(sql::BURY_JOB)
                .bind(id)
                .bind(worker)
                .bind(error.as_str())
                .bind(sql::millis(now)),
        };
        let done = query.execute(&self.pool).await.map_err(map)?;
        Ok(done.rows_affected() == 1)
    }

    async fn renew_lease(
        &self,
        id: i64,
        worker: &str,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::RENEW_LEASE)
            .bind(id)
            .bind(worker)
            .bind(sql::millis(until))
            .execute(&self.pool)
            .await
            .map_err(map)?;
        Ok(done.rows_affected() == 1)
    }

    async fn job_by_key(&self, key: &str) -> Result<Option<JobState>, StoreError> {
        let row: Option<JobStateRow> = sqlx::query_as(sql::JOB_BY_KEY)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(map)?;
        row.map(sql::job_state_from_row).transpose()
    }

    async fn purge_done_jobs(&self, before: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query(sql::PURGE_DONE_JOBS)
            .bind(sql::millis(before))
            .execute(&self.pool)
            .await
            .map_err(map)?;
        Ok(done.rows_affected())
    }

    async fn try_lock(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        ttl: SignedDuration,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::TRY_LOCK)
            .bind(name)
            .bind(holder)
            .bind(sql::millis_after(now, ttl))
            .bind(sql::millis(now))
            .execute(&self.pool)
            .await
            .map_err(map)?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_lock(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query(sql::RELEASE_LOCK)
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await
            .map_err(map)?;
        Ok(())
    }
}
