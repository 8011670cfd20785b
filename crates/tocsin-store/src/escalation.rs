//! What escalation writes: timeline entries (each step, each person paged,
//! why it stopped) and notification intents, with the next step's job, in
//! one transaction. Every row has an idempotency key, so a step that runs
//! again after a crash writes nothing twice.

use crate::{NewJob, StoreError};
use async_trait::async_trait;
use jiff::Timestamp;
use tocsin_domain::Name;
use tocsin_domain::alerting::IncidentStatus;
use tocsin_domain::catalog::ContactKind;

/// The job kind of an escalation step (`{"incident": N, "level": L, "cycle": C}`).
pub const JOB_ESCALATION_STEP: &str = "escalation.step";

#[derive(Debug, Clone, PartialEq)]
pub struct NewTimelineEntry {
    pub incident: i64,
    pub at: Timestamp,
    /// `escalation.level`, `escalation.page`, `escalation.stopped`, …
    pub kind: String,
    pub actor: String,
    pub detail: serde_json::Value,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRecord {
    pub id: i64,
    pub incident: i64,
    pub at: Timestamp,
    pub kind: String,
    pub actor: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewIntent {
    pub incident: i64,
    /// The person; `None` for a destination that is nobody's (a channel a
    /// stakeholder update goes to).
    pub user: Option<Name>,
    /// The person's contact method, or a label for a destination.
    pub contact: Name,
    pub kind: ContactKind,
    pub address: String,
    pub due_at: Timestamp,
    pub level: usize,
    pub cycle: u32,
    /// A page, a resolution, …
    pub purpose: crate::notify::Purpose,
    /// The reference of the earlier message this one follows.
    pub previous: Option<String>,
    pub key: String,
    /// What it says beyond the incident's record: a stakeholder update's
    /// text, a reminder.
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IntentRecord {
    pub id: i64,
    pub incident: i64,
    /// `None` for a destination that is nobody's (a stakeholder channel).
    pub user: Option<Name>,
    pub contact: Name,
    /// `email`, `slack`, … as in manifests.
    pub kind: String,
    pub address: String,
    pub due_at: Timestamp,
    pub level: i64,
    pub cycle: i64,
    /// `queued`, `sending`, `delivered`, `failed`, `dead`, `cancelled`.
    pub state: String,
}

/// A responder changes an incident's status by hand. Applied only if the
/// incident still has the status and run it was read with, so two people
/// (or a person and an alert) racing write one change, not two.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentChange {
    pub incident: i64,
    pub from: IncidentStatus,
    pub from_run: i64,
    pub to: IncidentStatus,
    pub run: i64,
    pub acknowledged_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    /// Resolving by hand resolves the incident's open alerts too, so that
    /// their next trigger opens a new incident instead of counting into a
    /// resolved one.
    pub resolve_alerts: bool,
}

#[async_trait]
pub trait EscalationStore {
    /// Applies `change` with its timeline entries, intents and jobs in one
    /// transaction (taken like an ingest batch, so it never interleaves
    /// with one). `false`: the incident changed meanwhile; nothing written.
    async fn change_incident(
        &self,
        change: &IncidentChange,
        entries: &[NewTimelineEntry],
        intents: &[NewIntent],
        jobs: &[NewJob],
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Writes a step's timeline entries and intents and enqueues the next
    /// step, all or nothing; rows whose key exists are skipped.
    async fn record_step(
        &self,
        entries: &[NewTimelineEntry],
        intents: &[NewIntent],
        next: Option<&NewJob>,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// The incident's timeline entries (not its ingested events), oldest first.
    async fn incident_timeline(&self, incident: i64) -> Result<Vec<TimelineRecord>, StoreError>;

    /// The incident's notification intents, by due time.
    async fn incident_intents(&self, incident: i64) -> Result<Vec<IntentRecord>, StoreError>;
}
