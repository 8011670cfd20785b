//! The persistence port: what tocsin needs from a database, as traits whose
//! methods are domain operations. Each method is one transaction; no
//! transaction handle crosses this boundary.
//!
//! Backends (`tocsin-store-sqlite`, `tocsin-store-postgres`) implement
//! [`Store`] and run the [`conformance`] suite so that both behave the same.
//! Timestamps are passed in (`now`), never read from a clock here, and are
//! stored as integer Unix milliseconds on both backends.
//!
//! Invariants: nothing here names sqlx; SQL shared by both backends lives in
//! [`sql`] and nowhere else outside the backend crates.

pub mod account;
pub mod audit;
pub mod catalog;
pub mod chat;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod error;
pub mod escalation;
pub mod heartbeat;
pub mod ingest;
pub mod job;
pub mod notify;
pub mod response;
pub mod runbook;
pub mod sql;
pub mod token;

pub use account::{Account, AccountStore, NewAccount, NewSession, Session};
pub use audit::{AuditQuery, AuditRecord, AuditStore};
pub use catalog::{CatalogStore, CatalogWrite};
pub use chat::{ChatStore, RoomRecord};
pub use error::StoreError;
pub use escalation::{
    EscalationStore, IncidentChange, IntentRecord, JOB_ESCALATION_STEP, NewIntent,
    NewTimelineEntry, TimelineRecord,
};
pub use heartbeat::{HeartbeatRecord, HeartbeatStore, NewPing, PingRecord, PingRecorded};
pub use ingest::{
    AlertRecord, EventRecord, IncidentQuery, IncidentRecord, IngestItem, IngestResult, IngestStore,
};
pub use job::{ClaimedJob, JobFailure, JobState, JobStore, NewJob};
pub use response::{
    ActionItemQuery, ActionItemRecord, IncidentFilter, NewActionItem, NewIncident, Responded,
    ResponseChange, ResponseRecord, ResponseStore, ReviewRecord, RoleRecord, UpdateRecord,
};
pub use runbook::{NewRunbookRun, RunOutcome, RunbookRunRecord, RunbookStore};
pub use token::{NewToken, TokenRecord, TokenStore};

use async_trait::async_trait;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Migration state, for `/readyz` and `tocsin migrate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Versions known to this binary.
    pub known: Vec<i64>,
    /// Versions applied to the database.
    pub applied: Vec<i64>,
}

impl MigrationStatus {
    /// Whether the database has every migration this binary knows (and no
    /// unknown newer one, which would mean an older binary on a newer schema).
    pub fn is_current(&self) -> bool {
        self.known == self.applied
    }
}

/// Everything tocsin persists.
#[async_trait]
pub trait Store:
    CatalogStore
    + TokenStore
    + JobStore
    + AccountStore
    + AuditStore
    + IngestStore
    + EscalationStore
    + notify::NotifyStore
    + response::ResponseStore
    + runbook::RunbookStore
    + chat::ChatStore
    + heartbeat::HeartbeatStore
    + Send
    + Sync
    + std::fmt::Debug
    + 'static
{
    fn backend(&self) -> Backend;

    /// A cheap round trip, for readiness.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Applies pending migrations; returns the versions it applied.
    async fn migrate(&self) -> Result<Vec<i64>, StoreError>;

    async fn migration_status(&self) -> Result<MigrationStatus, StoreError>;

    /// Closes the pool, waiting for connections to finish.
    async fn close(&self);
}
