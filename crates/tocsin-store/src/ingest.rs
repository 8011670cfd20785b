//! Durable ingestion: a batch of events is stored, and the alerting rules
//! (`tocsin_domain::alerting`) applied to it, in one transaction. One
//! transaction per batch is the group commit that lets durability and
//! throughput coexist: the HTTP layer answers 2xx only after the batch
//! holding its event committed.
//!
//! Within the transaction the store loads the snapshot of what is open for
//! the batch's services (and the services they depend on), runs the rules
//! event by event, then writes: every event, the alerts and incidents that
//! changed, and the engine jobs for incidents that page (`incident.page`)
//! or resolve after paging (`incident.resolved`). On PostgreSQL, ingest
//! batches of all instances are serialized by a transaction-level advisory
//! lock, so two instances never open two incidents for one problem.

use crate::StoreError;
use async_trait::async_trait;
use jiff::Timestamp;
use std::collections::BTreeMap;
use std::sync::Arc;
use tocsin_domain::Name;
use tocsin_domain::Severity;
use tocsin_domain::alerting::{AlertStatus, IncidentStatus, Policy};
use tocsin_domain::ingest::Event;
use tocsin_domain::noise::Muted;

/// Job kinds the ingest transaction enqueues (handled by the escalation and
/// notification work).
pub const JOB_INCIDENT_PAGE: &str = "incident.page";
pub const JOB_INCIDENT_RESOLVED: &str = "incident.resolved";

/// The key of an incident's `incident.page` / `incident.resolved` job in
/// escalation run `run`: one per run, so a reopened incident pages again.
pub fn incident_job_key(kind: &str, incident: i64, run: i64) -> String {
    if run == 0 {
        format!("{kind}:{incident}")
    } else {
        format!("{kind}:{incident}:r{run}")
    }
}

/// One event to store, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestItem {
    pub integration: Name,
    pub service: Name,
    pub event: Event,
    pub received_at: Timestamp,
    /// The request id answered to the sender, where its format has one
    /// (Opsgenie), to find the event again by it.
    pub request_id: Option<String>,
}

/// What storing one event did.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestResult {
    pub alert_id: Option<i64>,
    /// The incident number (`#8`) the event landed on.
    pub incident: Option<i64>,
    /// `opened`, `muted` (opened, but a silence or maintenance window
    /// keeps it from paging), `counted`, `acknowledged`, `resolved`,
    /// `noted`, `ignored`, `change`.
    pub outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRecord {
    /// The incident's number, shown as `#8`.
    pub number: i64,
    pub service: Name,
    pub title: String,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub group: Option<String>,
    pub created_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub open_alerts: i64,
    pub paged: bool,
    /// Which escalation run is current: 0 for the first page; a reopen or
    /// a reassignment starts the next.
    pub escalation_run: i64,
    /// What responders wrote about it (declared incidents, or later).
    pub summary: Option<String>,
    /// When it was closed: resolved and done with (see
    /// [`tocsin_domain::response::Lifecycle`]); a reopen clears it.
    pub closed_at: Option<Timestamp>,
    /// The incident it was merged into (it is then resolved).
    pub merged_into: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    pub id: i64,
    pub service: Name,
    pub dedup_key: String,
    pub status: AlertStatus,
    pub severity: Severity,
    pub summary: String,
    pub count: i64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub incident: Option<i64>,
    pub labels: BTreeMap<String, String>,
    /// Why it opened no incident although it pages.
    pub muted: Option<Muted>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: i64,
    pub received_at: Timestamp,
    pub integration: Name,
    pub service: Name,
    pub event: Event,
    pub alert_id: Option<i64>,
    pub incident: Option<i64>,
}

/// Filters for listing incidents, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentQuery {
    pub service: Option<Name>,
    /// Only incidents not resolved.
    pub open_only: bool,
    pub before_number: Option<i64>,
    pub limit: u32,
}

#[async_trait]
pub trait IngestStore {
    /// Stores the batch and applies the alerting rules, all or nothing.
    /// `policy` is what the catalog declares (dependencies, grouping,
    /// silences, maintenance windows). Results are in the order of `items`.
    async fn ingest(
        &self,
        items: &[IngestItem],
        policy: &Arc<Policy>,
        now: Timestamp,
    ) -> Result<Vec<IngestResult>, StoreError>;

    async fn list_incidents(
        &self,
        query: &IncidentQuery,
    ) -> Result<Vec<IncidentRecord>, StoreError>;

    async fn get_incident(&self, number: i64) -> Result<Option<IncidentRecord>, StoreError>;

    /// The alerts of an incident, oldest first.
    async fn incident_alerts(&self, number: i64) -> Result<Vec<AlertRecord>, StoreError>;

    /// The events of an incident (its timeline's event part), oldest first,
    /// at most `limit`.
    async fn incident_events(
        &self,
        number: i64,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StoreError>;

    /// Change events of a service since `since`, newest first.
    async fn recent_changes(
        &self,
        service: &Name,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StoreError>;

    async fn get_alert(&self, id: i64) -> Result<Option<AlertRecord>, StoreError>;

    /// Alerts not resolved, newest first, at most `limit` (for silence
    /// previews).
    async fn open_alerts(&self, limit: u32) -> Result<Vec<AlertRecord>, StoreError>;

    /// The first event stored under a request id.
    async fn event_by_request(&self, request_id: &str) -> Result<Option<EventRecord>, StoreError>;

    /// How many events are stored (for tests and the kill test).
    async fn count_events(&self) -> Result<i64, StoreError>;
}
