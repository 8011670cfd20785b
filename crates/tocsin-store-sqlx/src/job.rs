//! [`JobStore`](tocsin_store::JobStore): the durable job queue and the
//! engine's cluster locks.
//!
//! Every statement but the claim is shared; the claim, which must take each
//! due job exactly once however many instances claim at the same time, is
//! [`crate::Dialect::claim_due_jobs`]. Completion, retry, burial and lease
//! renewal are compare-and-set on the lease owner.
//!
//! Invariant: claimed jobs are returned in [`tocsin_store::sql::sort_claimed`]
//! order (oldest due first), whatever order the statement returned them in.

/// Expanded by [`crate::impl_store!`], in its scope.
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_job_store {
    ($store:ty) => {
        #[async_trait]
        impl JobStore for $store {
            async fn enqueue_job(&self, job: &NewJob, now: Timestamp) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::ENQUEUE_JOB)
                    .bind(job.kind.as_str())
                    .bind(job.key.as_str())
                    .bind(job.payload.to_string())
                    .bind(sql::millis(job.due_at))
                    .bind(sql::millis(now))
                    .execute(self.pool())
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
                let rows = self
                    .claim_due_jobs(
                        worker,
                        sql::millis_after(now, lease),
                        sql::millis(now),
                        kinds,
                        i64::from(limit),
                    )
                    .await?;
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
                    .execute(self.relaxed_pool())
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
                let done = query.execute(self.relaxed_pool()).await.map_err(map)?;
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
                    .execute(self.relaxed_pool())
                    .await
                    .map_err(map)?;
                Ok(done.rows_affected() == 1)
            }

            async fn job_by_key(&self, key: &str) -> Result<Option<JobState>, StoreError> {
                let row: Option<JobStateRow> = sqlx::query_as(sql::JOB_BY_KEY)
                    .bind(key)
                    .fetch_optional(self.pool())
                    .await
                    .map_err(map)?;
                row.map(sql::job_state_from_row).transpose()
            }

            async fn next_due_at(&self) -> Result<Option<Timestamp>, StoreError> {
                let (t,): (Option<i64>,) = sqlx::query_as(sql::NEXT_DUE_AT)
                    .fetch_one(self.pool())
                    .await
                    .map_err(map)?;
                t.map(sql::timestamp).transpose()
            }

            async fn purge_done_jobs(&self, before: Timestamp) -> Result<u64, StoreError> {
                let done = sqlx::query(sql::PURGE_DONE_JOBS)
                    .bind(sql::millis(before))
                    .execute(self.pool())
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
                    .execute(self.relaxed_pool())
                    .await
                    .map_err(map)?;
                Ok(done.rows_affected() == 1)
            }

            async fn release_lock(&self, name: &str, holder: &str) -> Result<(), StoreError> {
                sqlx::query(sql::RELEASE_LOCK)
                    .bind(name)
                    .bind(holder)
                    .execute(self.relaxed_pool())
                    .await
                    .map_err(map)?;
                Ok(())
            }
        }
    };
}
