//! Declared objects (teams, users, services, ...), stored as JSON specs with
//! their kind, name, management mark and version.

use crate::StoreError;
use async_trait::async_trait;
use jiff::Timestamp;
use tocsin_domain::Name;
use tocsin_domain::audit::AuditEntry;
use tocsin_domain::catalog::Kind;
use tocsin_domain::plan::Current;

/// One write in an atomic batch.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogWrite {
    Create {
        kind: Kind,
        name: Name,
        spec: serde_json::Value,
        managed: bool,
        source: Option<String>,
        secret: Option<String>,
    },
    /// Fails the whole batch with [`StoreError::Conflict`] unless the row
    /// still has `expected_version`.
    Update {
        id: String,
        expected_version: i64,
        spec: serde_json::Value,
        managed: bool,
        source: Option<String>,
        /// `None` keeps the stored secret.
        secret: Option<String>,
    },
    Delete {
        id: String,
        expected_version: i64,
    },
}

#[async_trait]
pub trait CatalogStore {
    /// All objects of a kind (or of every kind), ordered by kind then name.
    async fn list_objects(&self, kind: Option<Kind>) -> Result<Vec<Current>, StoreError>;

    async fn get_object(&self, kind: Kind, name: &Name) -> Result<Option<Current>, StoreError>;

    /// Applies every write in one transaction: all or nothing. A create of a
    /// name that exists, or an update/delete whose version moved, is a
    /// [`StoreError::Conflict`] and nothing is written. The audit entries
    /// are written in the same transaction (none on a conflict).
    async fn apply_catalog(
        &self,
        writes: &[CatalogWrite],
        audit: &[AuditEntry],
        now: Timestamp,
    ) -> Result<(), StoreError>;
}
