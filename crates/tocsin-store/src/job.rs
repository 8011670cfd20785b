//! Durable jobs and cluster locks: the engine's memory.
//!
//! A job is due work with a due time. Workers claim due jobs with a lease;
//! a claim is exclusive (two workers never hold one job), and a job whose
//! lease expired (its worker died) can be claimed again. Completing or
//! rescheduling a job checks that the caller still holds the lease, so a
//! worker that lost its lease cannot overwrite the new holder's outcome.
//!
//! Locks give a name (an engine module) to one holder at a time, with a
//! time-to-live the holder renews.

use crate::StoreError;
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// The handler that runs it (`escalation.step`, `notify.deliver`).
    pub kind: String,
    /// Idempotency key, unique across all jobs: enqueuing the same key twice
    /// keeps the first job.
    pub key: String,
    pub payload: serde_json::Value,
    pub due_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub payload: serde_json::Value,
    pub due_at: Timestamp,
    /// How many times the job has been claimed, this claim included.
    pub attempts: i32,
    pub lease_until: Timestamp,
}

/// The state of a job, for tests and operators.
#[derive(Debug, Clone, PartialEq)]
pub struct JobState {
    pub id: i64,
    pub kind: String,
    pub key: String,
    /// `pending`, `running`, `done` or `dead`.
    pub state: String,
    pub attempts: i32,
    pub due_at: Timestamp,
    pub lease_owner: Option<String>,
    pub last_error: Option<String>,
}

/// What happened to a claimed job that did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub enum JobFailure {
    /// Run again at `retry_at`.
    Retry { retry_at: Timestamp, error: String },
    /// Give up: the job is kept as `dead` with the error, for operators.
    Dead { error: String },
}

#[async_trait]
pub trait JobStore {
    /// Inserts the job unless one with the same key exists; true if inserted.
    async fn enqueue_job(&self, job: &NewJob, now: Timestamp) -> Result<bool, StoreError>;

    /// Claims up to `limit` jobs of the given kinds that are due at `now`
    /// (pending with `due_at <= now`, or running with an expired lease),
    /// oldest due first, for `worker` until `now + lease`.
    async fn claim_jobs(
        &self,
        kinds: &[String],
        worker: &str,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError>;

    /// Marks a job done; false if `worker` no longer holds its lease.
    async fn complete_job(&self, id: i64, worker: &str, now: Timestamp)
    -> Result<bool, StoreError>;

    /// Reschedules or buries a job; false if `worker` no longer holds its lease.
    async fn fail_job(
        &self,
        id: i64,
        worker: &str,
        failure: &JobFailure,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Extends a lease the worker still holds; false if it was lost.
    async fn renew_lease(
        &self,
        id: i64,
        worker: &str,
        until: Timestamp,
    ) -> Result<bool, StoreError>;

    async fn job_by_key(&self, key: &str) -> Result<Option<JobState>, StoreError>;

    /// When the next job comes due: the earliest due time of a pending job
    /// or lease end of a running one; `None` when there is none. Lets an
    /// idle engine sleep exactly until there is work.
    async fn next_due_at(&self) -> Result<Option<Timestamp>, StoreError>;

    /// Deletes done jobs last updated before `before`; returns how many.
    async fn purge_done_jobs(&self, before: Timestamp) -> Result<u64, StoreError>;

    /// Takes or renews the lock `name` for `holder` until `now + ttl`.
    /// True if `holder` now holds it; false if another holder's lock has
    /// not expired.
    async fn try_lock(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        ttl: SignedDuration,
    ) -> Result<bool, StoreError>;

    /// Releases the lock if `holder` holds it.
    async fn release_lock(&self, name: &str, holder: &str) -> Result<(), StoreError>;
}
