//! The part of the sqlx store backends that is the same on SQLite and
//! PostgreSQL, written once: every trait method of [`tocsin_store::Store`]
//! and its sub-traits whose statements come from [`tocsin_store::sql`], the
//! transaction pattern (begin, work, audit entries, commit or roll back),
//! migration bookkeeping and the error mapping both backends share.
//!
//! A backend crate implements [`Dialect`] for its store type (the pool, how
//! a write transaction begins, the dialect's SQL, its error codes) and
//! invokes [`impl_store!`] once, which expands to the `impl Store`,
//! `CatalogStore`, `TokenStore`, `JobStore`, `AccountStore`, `AuditStore`,
//! `IngestStore`, `EscalationStore`, `NotifyStore`, `ResponseStore` and `RunbookStore`
//! blocks for that type. A macro rather than generic code because the
//! orphan rule puts those impls in the backend crates, and because generic
//! sqlx code would need every bound type and row tuple spelled out as
//! higher-ranked bounds on each impl; see ADR 0008.
//!
//! Invariants:
//! - No SQL text here: shared statements come from [`tocsin_store::sql`],
//!   dialect statements from the backend's [`Dialect`] impl.
//! - No backend is named here (sqlx is used without database features); what
//!   differs between backends is a [`Dialect`] item, nothing else.
//! - Every trait method is one statement or one transaction; audit entries
//!   passed to a change are written in its transaction, after its writes.

mod account;
mod audit;
mod catalog;
mod chat;
mod dialect;
mod error;
mod escalation;
mod heartbeat;
mod ingest;
mod job;
mod notify;
mod response;
mod runbook;
mod store;
mod token;
mod tx;

pub use dialect::Dialect;
pub use error::{is_foreign_key_violation, is_unique_violation, map_migrate, unique_or};
pub use store::known_versions;
pub use tx::{Outcome, finish};

/// What the macros' expansions name, so that a backend needs no dependency
/// of its own for them (and cannot pick up a different version).
#[doc(hidden)]
pub mod __private {
    pub use async_trait;
    pub use jiff;
    pub use sqlx;
    pub use tocsin_domain;
    pub use tocsin_store;
    pub use uuid;
}

/// Implements [`tocsin_store::Store`] and all its sub-traits for `$store`,
/// which must implement [`Dialect`]. Invoke once, in the backend crate that
/// defines `$store`:
///
/// ```ignore
/// tocsin_store_sqlx::impl_store!(SqliteStore);
/// ```
///
/// The expansion is one anonymous `const` block: the trait impls inside it
/// apply everywhere, its helper functions are private to it. The per-area
/// macros it invokes (one per trait, in `store.rs`, `catalog.rs`, …) use the
/// names this block brings into scope (the imports, `Db`, `Conn`, `map`,
/// `unique_or`) and those `audit.rs` adds to it (`write_audit`, `audited`).
#[macro_export]
macro_rules! impl_store {
    ($store:ty) => {
        const _: () = {
            use $crate::__private::async_trait::async_trait;
            use $crate::__private::jiff::{SignedDuration, Timestamp};
            use $crate::__private::sqlx;
            use $crate::__private::tocsin_domain::Name;
            use $crate::__private::tocsin_domain::access::Role;
            use $crate::__private::tocsin_domain::audit::AuditEntry;
            use $crate::__private::tocsin_domain::catalog::Kind;
            use $crate::__private::tocsin_domain::plan::Current;
            use $crate::__private::tocsin_store::sql::{
                self, AccountRow, AuditRow, JobStateRow, ObjectRow, SessionRow, TokenRow,
            };
            use $crate::__private::tocsin_store::{
                Account, AccountStore, AuditQuery, AuditRecord, AuditStore, Backend, CatalogStore,
                CatalogWrite, ClaimedJob, JobFailure, JobState, JobStore, MigrationStatus,
                NewAccount, NewJob, NewSession, NewToken, Session, Store, StoreError, TokenRecord,
                TokenStore,
            };
            use $crate::{Dialect, Outcome, is_foreign_key_violation, is_unique_violation};

            /// The backend's sqlx database.
            type Db = <$store as Dialect>::Db;
            /// One of its connections (what a transaction derefs to).
            type Conn = <Db as sqlx::Database>::Connection;

            fn map(e: sqlx::Error) -> StoreError {
                <$store as Dialect>::map_error(e)
            }

            /// [`map`] with a better message for a unique violation.
            fn unique_or(
                taken: impl FnOnce() -> StoreError,
            ) -> impl FnOnce(sqlx::Error) -> StoreError {
                $crate::unique_or::<$store>(taken)
            }

            $crate::__impl_store_admin!($store);
            $crate::__impl_catalog_store!($store);
            $crate::__impl_token_store!($store);
            $crate::__impl_job_store!($store);
            $crate::__impl_account_store!($store);
            $crate::__impl_audit_store!($store);
            $crate::__impl_ingest_store!($store);
            $crate::__impl_escalation_store!($store);
            $crate::__impl_notify_store!($store);
            $crate::__impl_response_store!($store);
            $crate::__impl_runbook_store!($store);
            $crate::__impl_chat_store!($store);
            $crate::__impl_heartbeat_store!($store);
        };
    };
}
