//! The audit log. Changes write their entries inside their own transaction
//! (see the `audit` parameters of the mutating methods); events that change
//! nothing else (a sign-in) are recorded on their own.

use crate::StoreError;
use async_trait::async_trait;
use jiff::Timestamp;
use tocsin_domain::audit::{AuditEntry, Interface};

#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Increasing: newer entries have larger ids.
    pub id: i64,
    pub at: Timestamp,
    pub entry: AuditEntry,
}

/// Filters combine with AND; `None` means any.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub interface: Option<Interface>,
    /// Entries whose action starts with this (`catalog.`, `token.create`).
    pub action_prefix: Option<String>,
    pub object_kind: Option<String>,
    pub object_name: Option<String>,
    /// For paging: only entries older than this id.
    pub before_id: Option<i64>,
    /// At most this many (newest first).
    pub limit: u32,
}

#[async_trait]
pub trait AuditStore {
    async fn record_audit(&self, entries: &[AuditEntry], now: Timestamp) -> Result<(), StoreError>;

    /// Newest first.
    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
}
