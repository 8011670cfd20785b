//! Runbook actions run from ChatOps: one record per confirmed run, keyed by
//! the run id its confirmation token carries.
//!
//! Invariants: a run is recorded ([`RunbookStore::start_runbook_run`],
//! insert-if-absent) *before* its action runs, so a confirmation sent twice
//! (a double click, a retried request, two instances) runs the action
//! once; its outcome is written once ([`RunbookStore::finish_runbook_run`]
//! changes only a run that has none), with its timeline or audit entries
//! in the same transaction.

use crate::{NewTimelineEntry, StoreError};
use async_trait::async_trait;
use jiff::Timestamp;
use tocsin_domain::Name;
use tocsin_domain::audit::AuditEntry;

/// A run about to start.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRunbookRun {
    /// The run id from the confirmation token.
    pub id: String,
    pub action: Name,
    /// The canonical command line that was confirmed.
    pub command: String,
    /// The incident whose timeline it lands on, if the command named one.
    pub incident: Option<i64>,
    /// Who ran it: a user, a token.
    pub actor: String,
    /// Through which interface (`web`, `cli`, `slack`, …).
    pub via: String,
    /// What is about to run (argv, or method and URL), as JSON.
    pub detail: serde_json::Value,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Exit status 0, or an HTTP 2xx.
    Succeeded,
    /// Another exit status (or a signal), or another HTTP status.
    Failed,
    /// Still running at its timeout: killed (a command) or abandoned (HTTP).
    TimedOut,
    /// Could not start: the program could not be executed, the request not
    /// sent.
    Error,
}

impl RunOutcome {
    pub const ALL: [RunOutcome; 4] = [
        RunOutcome::Succeeded,
        RunOutcome::Failed,
        RunOutcome::TimedOut,
        RunOutcome::Error,
    ];

    /// As stored and shown: `succeeded`, `failed`, `timed_out`, `error`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::TimedOut => "timed_out",
            RunOutcome::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<RunOutcome> {
        RunOutcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// A recorded run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunbookRunRecord {
    pub id: String,
    pub action: Name,
    pub command: String,
    pub incident: Option<i64>,
    pub actor: String,
    pub via: String,
    pub started_at: Timestamp,
    /// `None` while it runs (or when tocsin stopped while it ran).
    pub finished_at: Option<Timestamp>,
    pub outcome: Option<RunOutcome>,
    /// At the start what was to run; once finished, also what it answered.
    pub detail: serde_json::Value,
}

#[async_trait]
pub trait RunbookStore {
    /// Records that run `run.id` starts now, unless a run with that id was
    /// recorded before: `true` when this call recorded it (and so may run
    /// the action), `false` when it already existed (nothing written).
    async fn start_runbook_run(
        &self,
        run: &NewRunbookRun,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Records how run `id` ended, with `detail` replacing the run's
    /// detail, and writes `entries` (timeline) and `audit` in the same
    /// transaction. `false` (and nothing written) when the run is unknown
    /// or already has an outcome.
    async fn finish_runbook_run(
        &self,
        id: &str,
        outcome: RunOutcome,
        detail: &serde_json::Value,
        entries: &[NewTimelineEntry],
        audit: &[AuditEntry],
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    async fn runbook_run(&self, id: &str) -> Result<Option<RunbookRunRecord>, StoreError>;

    /// The newest runs first, at most `limit` (capped at
    /// [`crate::sql::MAX_RUNBOOK_RUNS`]).
    async fn recent_runbook_runs(&self, limit: u32) -> Result<Vec<RunbookRunRecord>, StoreError>;
}
