//! What incident response writes beyond an incident's status: incidents
//! declared by hand, severity and summary changes, extra services, roles,
//! pinned timeline entries, stakeholders and their update cadence,
//! stakeholder updates, merges, closing, the post-incident review and its
//! action items.
//!
//! Writes go through one method, [`ResponseStore::respond`]: a list of
//! [`ResponseChange`]s applied in one transaction (taken like an ingest
//! batch, so it never interleaves with one) together with the timeline
//! entries, notifications and jobs they cause. A change that carries what
//! it was read with (`from`, `expected_version`) is a compare-and-set: if
//! the row moved meanwhile, nothing at all is written and `respond` returns
//! [`Responded::Conflict`] naming the change that lost.

use crate::escalation::{NewIntent, NewTimelineEntry, TimelineRecord};
use crate::ingest::IncidentRecord;
use crate::{NewJob, StoreError};
use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use tocsin_domain::response::{Audience, Lifecycle, Role, UpdateState};
use tocsin_domain::{Name, Severity};

/// The job that reminds the commander when a stakeholder update is
/// overdue (`{"incident": N}`), keyed [`update_reminder_key`].
pub const JOB_UPDATE_REMINDER: &str = "incident.update_reminder";

/// One reminder job per incident and due time, so a cadence change or a
/// new update schedules a fresh one and a stale one finds nothing to do.
pub fn update_reminder_key(incident: i64, due: Timestamp) -> String {
    format!("{JOB_UPDATE_REMINDER}:{incident}:{}", due.as_millisecond())
}

/// An incident declared by a person (not opened by alerts).
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    pub service: Name,
    /// Other services it touches.
    pub also_services: Vec<Name>,
    pub title: String,
    pub severity: Severity,
    pub summary: Option<String>,
    /// Page the service's escalation policy now (it opens triggered and
    /// paged, with an `incident.page` job for run 0 enqueued with it) —
    /// else it opens acknowledged by whoever declared it, who is then its
    /// commander.
    pub page: bool,
    /// The person declaring, who becomes commander (if `page` is false or
    /// they ask to be); `None` for a token without a person. The store
    /// gives the role to whoever is named here, assigned by the entry's
    /// actor.
    pub commander: Option<Name>,
    /// Written with `incident` = the new number.
    pub entry: DeclaredEntry,
}

/// The timeline entry kind of a declared incident.
pub const ENTRY_DECLARED: &str = "incident.declared";

/// The key of a declared incident's [`ENTRY_DECLARED`] entry: one per
/// incident.
pub fn declared_entry_key(incident: i64) -> String {
    format!("{ENTRY_DECLARED}:{incident}")
}

/// The `incident.declared` timeline entry of a [`NewIncident`]; its key is
/// [`declared_entry_key`] (`incident.declared:{number}`), its time the
/// declaration's `now`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredEntry {
    pub actor: String,
    pub detail: serde_json::Value,
}

/// One write of [`ResponseStore::respond`].
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseChange {
    /// Raise or lower the severity; applied only if it is still `from`.
    Severity {
        incident: i64,
        from: Severity,
        to: Severity,
    },
    /// Replace the title and/or the summary (`None`: leave as is).
    Describe {
        incident: i64,
        title: Option<String>,
        summary: Option<String>,
    },
    /// Add a service it touches (no-op if already there or the primary).
    AddService {
        incident: i64,
        service: Name,
    },
    /// Give `role` to `user`. For a single-holder role this is a hand-over:
    /// applied only if the current holder is `from` (`None`: nobody holds
    /// it), and the previous holder no longer holds it. For responders it
    /// adds `user` (no-op if already one; `from` is ignored).
    AssignRole {
        incident: i64,
        role: Role,
        user: Name,
        from: Option<Name>,
        at: Timestamp,
        by: String,
    },
    /// Take `role` from `user` (no-op if they do not hold it).
    UnassignRole {
        incident: i64,
        role: Role,
        user: Name,
    },
    /// Pin (or unpin) a timeline entry as a key moment.
    Pin {
        incident: i64,
        entry: i64,
        pinned: bool,
    },
    /// Add a stakeholder: a person, a team, or a destination written
    /// `kind:address` (`slack:C0123`, `email:leads@example.com`).
    AddStakeholder {
        incident: i64,
        stakeholder: String,
    },
    RemoveStakeholder {
        incident: i64,
        stakeholder: String,
    },
    /// Set the update cadence (`None`: no cadence) and when the next update
    /// is due.
    Cadence {
        incident: i64,
        every_minutes: Option<i64>,
        next_due: Option<Timestamp>,
    },
    /// A stakeholder update; also moves the next due time of a cadence to
    /// `next_due` (`None`: no update due, as after the last one; ignored
    /// when the incident has no cadence). An update whose key exists
    /// changes nothing, not even the due time.
    Update {
        incident: i64,
        state: UpdateState,
        audience: Audience,
        body: String,
        author: String,
        at: Timestamp,
        next_due: Option<Timestamp>,
        /// Idempotency: an update with an existing key is not written again.
        key: String,
    },
    /// Merge `from` into `into`: `from`'s alerts move to `into` (its open
    /// ones count there: `into`'s open alerts grow by them, `from`'s drop
    /// to zero), `from` is resolved at `at` with `merged_into` set. Its
    /// events and timeline stay where they are. Applied only if `from` is
    /// not resolved and `into` is not resolved or merged (and is not
    /// `from`).
    Merge {
        from: i64,
        into: i64,
        at: Timestamp,
    },
    /// Close a resolved incident; applied only if it is resolved and not
    /// closed.
    Close {
        incident: i64,
        at: Timestamp,
    },
    /// Save the review; applied only if the stored version is
    /// `expected_version` (0: no review yet). The new version is one more.
    Review {
        incident: i64,
        doc: serde_json::Value,
        done: bool,
        expected_version: i64,
        by: String,
        at: Timestamp,
    },
    /// Add an action item.
    AddActionItem(NewActionItem),
    /// Mark an action item done (`done: true`; one already done keeps its
    /// first `done_at`) or open again.
    ActionItemDone {
        id: i64,
        done: bool,
        at: Timestamp,
    },
    /// Record that the owner of an overdue item was reminded.
    ActionItemReminded {
        id: i64,
        at: Timestamp,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewActionItem {
    pub incident: i64,
    pub title: String,
    pub owner: Name,
    /// The team the item is listed under (the owner's or the service's).
    pub team: Option<Name>,
    pub due_on: Date,
    pub at: Timestamp,
}

/// What [`ResponseStore::respond`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Responded {
    /// Everything written; `action_items` are the ids of the items added,
    /// in order.
    Applied { action_items: Vec<i64> },
    /// The change at this index found the row moved (or missing: every
    /// change naming an incident, timeline entry or action item that does
    /// not exist is a conflict); nothing written.
    Conflict { change: usize },
}

/// A role someone holds.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleRecord {
    pub role: Role,
    pub user: Name,
    pub assigned_at: Timestamp,
    pub assigned_by: String,
}

/// A stakeholder update as written.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateRecord {
    pub id: i64,
    pub incident: i64,
    pub at: Timestamp,
    pub author: String,
    pub state: UpdateState,
    pub audience: Audience,
    pub body: String,
}

/// An incident's response record, beyond [`IncidentRecord`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResponseRecord {
    pub also_services: Vec<Name>,
    pub roles: Vec<RoleRecord>,
    pub stakeholders: Vec<String>,
    pub every_minutes: Option<i64>,
    pub next_update_due: Option<Timestamp>,
    pub updates: Vec<UpdateRecord>,
    /// Timeline entry ids pinned as key moments.
    pub pinned: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRecord {
    pub incident: i64,
    pub doc: serde_json::Value,
    pub done: bool,
    pub version: i64,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionItemRecord {
    pub id: i64,
    pub incident: i64,
    pub title: String,
    pub owner: Name,
    pub team: Option<Name>,
    pub due_on: Date,
    pub done_at: Option<Timestamp>,
    pub reminded_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// Which action items to list, by due date then id.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActionItemQuery {
    pub incident: Option<i64>,
    pub team: Option<Name>,
    pub owner: Option<Name>,
    pub open_only: bool,
    /// Only open items due before this date.
    pub due_before: Option<Date>,
    pub limit: u32,
}

/// The most words of [`IncidentFilter::text`] a search uses; more are
/// ignored.
pub const MAX_SEARCH_WORDS: usize = 8;

/// Filters for the incident list, newest first; every filter is optional
/// and they combine with AND.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncidentFilter {
    /// Any of these (empty: any).
    pub lifecycle: Vec<Lifecycle>,
    /// Any of these (empty: any).
    pub severities: Vec<Severity>,
    /// The primary service or an added one is any of these (empty: any).
    /// A team filter is turned into its services by the caller.
    pub services: Vec<Name>,
    /// Opened at or after / before.
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Words (split on whitespace) that must all appear in the title or
    /// summary, as substrings, case-insensitively. Letters A–Z fold on
    /// both backends; other letters fold as the database's `lower()` does
    /// (SQLite: not at all; PostgreSQL: by its locale). At most
    /// [`MAX_SEARCH_WORDS`] words count.
    pub text: Option<String>,
    /// Keyset pagination: numbers below this.
    pub before_number: Option<i64>,
    pub limit: u32,
}

#[async_trait]
pub trait ResponseStore {
    /// Opens a declared incident with its `incident.declared` entry (and
    /// its first `incident.page` job when it pages), in one transaction.
    /// Returns its number.
    async fn declare_incident(&self, new: &NewIncident, now: Timestamp) -> Result<i64, StoreError>;

    /// Applies `changes` with `entries`, `notifications` (each with its
    /// delivery job) and `jobs`, all or nothing; see [`Responded`].
    /// Entries, notifications and jobs whose key exists are skipped.
    async fn respond(
        &self,
        changes: &[ResponseChange],
        entries: &[NewTimelineEntry],
        notifications: &[NewIntent],
        jobs: &[NewJob],
        now: Timestamp,
    ) -> Result<Responded, StoreError>;

    /// Roles, stakeholders, cadence, updates (oldest first) and pins.
    async fn response(&self, incident: i64) -> Result<ResponseRecord, StoreError>;

    /// Timeline entries with an id above `after`, oldest first, at most
    /// `limit` — what a live view asks for.
    async fn timeline_after(
        &self,
        incident: i64,
        after: i64,
        limit: u32,
    ) -> Result<Vec<TimelineRecord>, StoreError>;

    async fn review(&self, incident: i64) -> Result<Option<ReviewRecord>, StoreError>;

    async fn action_items(
        &self,
        query: &ActionItemQuery,
    ) -> Result<Vec<ActionItemRecord>, StoreError>;

    /// The incident list with filters; fast at 100,000 incidents.
    async fn search_incidents(
        &self,
        filter: &IncidentFilter,
    ) -> Result<Vec<IncidentRecord>, StoreError>;
}
