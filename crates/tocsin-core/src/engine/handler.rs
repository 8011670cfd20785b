//! What the engine runs: job handlers (one per job kind) and singleton
//! modules (run by one instance of the cluster at a time).

use async_trait::async_trait;
use jiff::Timestamp;
use tocsin_store::ClaimedJob;

/// Why a job did not succeed; decides whether it is tried again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// May work later (a receiver is down, a timeout): retried with backoff.
    #[error("transient: {0}")]
    Transient(String),
    /// Will never work (bad address, rejected payload): buried at once.
    #[error("permanent: {0}")]
    Permanent(String),
    /// Not now, and the handler knows when (a rate limit's next slot, a
    /// receiver's `Retry-After`, its own backoff): rescheduled at `at`,
    /// without counting towards the engine's attempt limit — the handler
    /// decides itself when to give up.
    #[error("retry at {at}: {error}")]
    RetryAt { at: Timestamp, error: String },
}

#[async_trait]
pub trait JobHandler: Send + Sync + std::fmt::Debug + 'static {
    /// The job kind this handler runs (`notify.deliver`).
    fn kind(&self) -> &'static str;

    /// Does the work. Must be idempotent: after a crash between the side
    /// effect and its record, the job runs again.
    async fn run(&self, job: &ClaimedJob) -> Result<(), JobError>;
}

/// Work that scans the whole database ("every heartbeat that is overdue"),
/// where two instances doing it at once would be wasteful or wrong.
#[async_trait]
pub trait Module: Send + Sync + std::fmt::Debug + 'static {
    /// Also the name of its cluster lock.
    fn name(&self) -> &'static str;

    async fn tick(&self, now: Timestamp) -> Result<(), String>;
}
