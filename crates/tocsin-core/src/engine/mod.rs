//! The durable engine: timed and background work that must survive
//! restarts and run exactly once per item across instances.
//!
//! Work lives in the store as jobs with a due time. Each cycle an engine
//! (1) runs its singleton modules, each only while it holds that module's
//! cluster lock, and (2) claims due jobs for the kinds it has handlers for,
//! under a lease, runs them and records the outcome. Any instance can run a
//! cycle; a crash mid-cycle is harmless because an unfinished job's lease
//! expires and another cycle claims it again.
//!
//! Guarantee: a job runs at least once; two live workers never hold it at
//! the same time; a handler that finishes after losing its lease cannot
//! overwrite the new holder's result. Handlers must therefore be idempotent
//! for the rare case where a worker dies after the side effect and before
//! recording it (the notification outbox handles this with idempotency
//! keys).

mod handler;
mod housekeeping;

pub use handler::{JobError, JobHandler, Module};
pub use housekeeping::Housekeeping;

use crate::clock::Clock;
use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::sync::Arc;
use tocsin_store::{ClaimedJob, JobFailure, Store, StoreError};
use tokio::sync::watch;

/// Tunables; the defaults suit production.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How long a claim lasts. A handler gets a little less than this to
    /// finish, so its result lands before anyone else may claim the job.
    pub lease: SignedDuration,
    /// Jobs claimed per cycle.
    pub batch: u32,
    /// Claimed jobs run side by side, at most this many at once.
    pub concurrency: usize,
    /// Pause between cycles when there was nothing to do.
    pub idle_pause: std::time::Duration,
    /// After this many attempts a failing job is buried as dead.
    pub max_attempts: i32,
    /// First retry delay; doubles per attempt up to `max_backoff`.
    pub base_backoff: SignedDuration,
    pub max_backoff: SignedDuration,
    /// How long a module lock lasts without renewal.
    pub lock_ttl: SignedDuration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            lease: SignedDuration::from_secs(60),
            batch: 32,
            concurrency: 16,
            idle_pause: std::time::Duration::from_millis(500),
            max_attempts: 10,
            base_backoff: SignedDuration::from_secs(10),
            max_backoff: SignedDuration::from_secs(3600),
            lock_ttl: SignedDuration::from_secs(30),
        }
    }
}

/// What became of one claimed job.
enum Ran {
    Completed,
    Retried,
    Dead,
    Lost,
    Unrecorded,
}

/// What one cycle did, for tests and logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CycleReport {
    pub modules_run: Vec<&'static str>,
    pub completed: usize,
    pub retried: usize,
    pub dead: usize,
    /// Results dropped because the lease had been lost.
    pub lost: usize,
}

impl CycleReport {
    pub fn jobs(&self) -> usize {
        self.completed + self.retried + self.dead + self.lost
    }
}

#[derive(Debug)]
pub struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// Unique per process: lease owner and lock holder.
    worker: String,
    handlers: HashMap<String, Arc<dyn JobHandler>>,
    modules: Vec<Arc<dyn Module>>,
    config: EngineConfig,
    /// Cuts an idle pause short: work was just enqueued in this process.
    wake: Arc<tokio::sync::Notify>,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, worker: impl Into<String>) -> Self {
        Self {
            store,
            clock,
            worker: worker.into(),
            handlers: HashMap::new(),
            modules: Vec::new(),
            config: EngineConfig::default(),
            wake: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Notify it when this process enqueued work due now (ingestion that
    /// opened an incident): an idle engine starts a cycle at once.
    pub fn waker(&self) -> Arc<tokio::sync::Notify> {
        self.wake.clone()
    }

    pub fn with_config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    pub fn with_handler(mut self, handler: Arc<dyn JobHandler>) -> Self {
        self.handlers.insert(handler.kind().to_owned(), handler);
        self
    }

    pub fn with_module(mut self, module: Arc<dyn Module>) -> Self {
        self.modules.push(module);
        self
    }

    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// One pass: modules, then one batch of due jobs.
    pub async fn cycle(&self) -> Result<CycleReport, StoreError> {
        let mut report = CycleReport::default();
        for m in &self.modules {
            let now = self.clock.now();
            if self
                .store
                .try_lock(m.name(), &self.worker, now, self.config.lock_ttl)
                .await?
            {
                if let Err(e) = m.tick(now).await {
                    tracing::warn!(module = m.name(), error = %e, "engine module failed");
                }
                report.modules_run.push(m.name());
            }
        }
        let kinds: Vec<String> = self.handlers.keys().cloned().collect();
        if kinds.is_empty() {
            return Ok(report);
        }
        let now = self.clock.now();
        let jobs = self
            .store
            .claim_jobs(
                &kinds,
                &self.worker,
                now,
                self.config.lease,
                self.config.batch,
            )
            .await?;
        // Side by side: a delivery mostly waits on a receiver.
        use futures_util::StreamExt;
        let outcomes: Vec<Result<Ran, StoreError>> = futures_util::stream::iter(jobs)
            .map(|job| self.run_job(job))
            .buffer_unordered(self.config.concurrency.max(1))
            .collect()
            .await;
        for o in outcomes {
            match o? {
                Ran::Completed => report.completed += 1,
                Ran::Retried => report.retried += 1,
                Ran::Dead => report.dead += 1,
                Ran::Lost => report.lost += 1,
                Ran::Unrecorded => {}
            }
        }
        Ok(report)
    }

    async fn run_job(&self, job: ClaimedJob) -> Result<Ran, StoreError> {
        let Some(handler) = self.handlers.get(&job.kind) else {
            return Ok(Ran::Unrecorded); // claimed only for known kinds; unreachable in practice
        };
        let mut ran = Ran::Unrecorded;
        // Leave a tenth of the lease (at least a second) to record the result.
        let margin = (self.config.lease / 10).max(SignedDuration::from_secs(1));
        let budget = (self.config.lease - margin).unsigned_abs();
        let started = std::time::Instant::now();
        let waited = self.clock.now().duration_since(job.due_at);
        let outcome = match tokio::time::timeout(budget, handler.run(&job)).await {
            Ok(r) => r,
            Err(_) => Err(JobError::Transient(format!("timed out after {budget:?}"))),
        };
        tracing::debug!(
            job = job.id,
            kind = %job.kind,
            waited_ms = waited.as_secs_f64() * 1e3,
            ran_ms = started.elapsed().as_secs_f64() * 1e3,
            "job ran"
        );
        let now = self.clock.now();
        let recorded = match outcome {
            Ok(()) => {
                let ok = self.store.complete_job(job.id, &self.worker, now).await?;
                if ok {
                    ran = Ran::Completed;
                }
                ok
            }
            Err(err) => {
                // A handler that set its own time is not failing, only waiting.
                let deferred = matches!(err, JobError::RetryAt { .. });
                let failure = self.failure_for(&job, err, now);
                let ok = self
                    .store
                    .fail_job(job.id, &self.worker, &failure, now)
                    .await?;
                if ok {
                    match &failure {
                        JobFailure::Retry { error, retry_at } => {
                            if deferred {
                                tracing::debug!(job = job.id, kind = %job.kind, %retry_at, %error, "job deferred");
                            } else {
                                tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, %retry_at, %error, "job failed; will retry");
                            }
                            ran = Ran::Retried;
                        }
                        JobFailure::Dead { error } => {
                            tracing::error!(job = job.id, kind = %job.kind, attempts = job.attempts, %error, "job failed for good");
                            ran = Ran::Dead;
                        }
                    }
                }
                ok
            }
        };
        let outcome = if recorded { "recorded" } else { "lease_lost" };
        metrics::counter!("tocsin_engine_jobs_total", "kind" => job.kind.clone(), "outcome" => outcome)
            .increment(1);
        if !recorded {
            tracing::warn!(job = job.id, kind = %job.kind, "lease lost before the result was recorded");
            ran = Ran::Lost;
        }
        Ok(ran)
    }

    fn failure_for(&self, job: &ClaimedJob, err: JobError, now: Timestamp) -> JobFailure {
        match err {
            JobError::Permanent(error) => JobFailure::Dead { error },
            JobError::RetryAt { at, error } => JobFailure::Retry {
                retry_at: at.max(now),
                error,
            },
            JobError::Transient(error) if job.attempts >= self.config.max_attempts => {
                JobFailure::Dead {
                    error: format!("gave up after {} attempts: {error}", job.attempts),
                }
            }
            JobError::Transient(error) => {
                let retry_at = now
                    .checked_add(backoff(&self.config, job.attempts))
                    .unwrap_or(now);
                JobFailure::Retry { retry_at, error }
            }
        }
    }

    /// How long to rest after a cycle with nothing to do: until the next
    /// job comes due, at most `idle_pause` (so modules still tick and jobs
    /// enqueued by other instances are seen; a job enqueued by this
    /// instance and due at once waits at most that long too).
    async fn idle_pause(&self) -> std::time::Duration {
        let Ok(Some(due)) = self.store.next_due_at().await else {
            return self.config.idle_pause;
        };
        let until = due.duration_since(self.clock.now());
        // Due already, yet the cycle found nothing to claim: another kind
        // (no handler here) or another engine's lease. Rest as usual
        // rather than spin.
        if !until.is_positive() {
            return self.config.idle_pause;
        }
        std::time::Duration::try_from(until)
            .unwrap_or(self.config.idle_pause)
            .min(self.config.idle_pause)
    }

    /// Runs cycles until `shutdown` turns true, then releases module locks
    /// so another instance takes over at once.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.worker, "engine started");
        while !*shutdown.borrow() {
            let busy = match self.cycle().await {
                Ok(report) => report.jobs() > 0,
                Err(e) => {
                    tracing::error!(error = %e, "engine cycle failed; retrying");
                    false
                }
            };
            if !busy {
                let pause = self.idle_pause().await;
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = self.wake.notified() => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        for m in &self.modules {
            if let Err(e) = self.store.release_lock(m.name(), &self.worker).await {
                tracing::warn!(module = m.name(), error = %e, "could not release module lock");
            }
        }
        tracing::info!(worker = %self.worker, "engine stopped");
    }
}

/// `base * 2^(attempts-1)`, capped, with up to 20 % jitter so that jobs
/// failing together do not retry together.
fn backoff(config: &EngineConfig, attempts: i32) -> SignedDuration {
    let exp = attempts.saturating_sub(1).clamp(0, 20) as u32;
    let raw = config.base_backoff.as_millis().saturating_mul(1i128 << exp);
    let capped = raw.min(config.max_backoff.as_millis()) as i64;
    let jitter = rand::random_range(0..=capped / 5);
    SignedDuration::from_millis(capped + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let c = EngineConfig::default();
        let b1 = backoff(&c, 1).as_secs();
        let b3 = backoff(&c, 3).as_secs();
        assert!((10..=12).contains(&b1), "{b1}");
        assert!((40..=48).contains(&b3), "{b3}");
        assert!(backoff(&c, 40).as_secs() <= 3600 * 12 / 10);
    }
}
