//! Heartbeats: the state pings wrote per heartbeat and the recent pings
//! (runs, durations, logs). The declaration is a catalog object; the
//! rules are `tocsin_domain::heartbeat`, applied here inside the
//! transaction that records a batch of pings, so that concurrent pings of
//! one heartbeat are applied one after the other.
//!
//! Invariants:
//! - [`HeartbeatStore::record_pings`] is one transaction for the whole
//!   batch (the group commit that makes thousands of durable pings per
//!   second possible); a ping is acknowledged only after it returns.
//! - `alert_open` is written only by [`HeartbeatStore::set_heartbeat_alert`]
//!   (after the trigger or resolve event is stored), never by a ping, so a
//!   ping racing the engine cannot lose the fact that an alert is open.
//! - The engine's status writes are a compare-and-set on `version`, which
//!   every ping bumps.

use crate::StoreError;
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;
use tocsin_domain::Name;
use tocsin_domain::heartbeat::{PingKind, Rule, State, Status};

/// One ping to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPing {
    pub heartbeat: Name,
    /// The heartbeat's declared rule, to evaluate its status after the
    /// ping.
    pub rule: Arc<Rule>,
    pub kind: PingKind,
    pub exit_status: Option<u8>,
    /// The run id (`?rid=`).
    pub rid: Option<String>,
    /// `GET`, `POST`, `HEAD`.
    pub method: &'static str,
    /// The request body, already cut at the heartbeat's limit.
    pub body: String,
    /// Whether the body was cut.
    pub truncated: bool,
    pub at: Timestamp,
}

/// What recording one ping did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingRecorded {
    /// The heartbeat's status right after the ping.
    pub status: Status,
    /// The run it ended, if it ended one.
    pub duration: Option<SignedDuration>,
}

/// A heartbeat's stored state.
#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatRecord {
    pub name: Name,
    pub state: State,
    /// As last evaluated (by a ping or the engine); the live status is
    /// `state.status(rule, now)`.
    pub status: Status,
    pub last_ping_at: Option<Timestamp>,
    /// When time alone may next change the status.
    pub check_at: Option<Timestamp>,
    /// A trigger was stored for it and not resolved.
    pub alert_open: bool,
    pub version: i64,
    pub updated_at: Timestamp,
}

/// One recorded ping.
#[derive(Debug, Clone, PartialEq)]
pub struct PingRecord {
    pub id: i64,
    pub heartbeat: Name,
    pub at: Timestamp,
    pub kind: PingKind,
    pub exit_status: Option<u8>,
    pub rid: Option<String>,
    pub duration: Option<SignedDuration>,
    pub method: String,
    pub body: String,
    pub truncated: bool,
}

#[async_trait]
pub trait HeartbeatStore {
    /// Records a batch of pings in one transaction, in order: each ping
    /// row, and each heartbeat's state after its pings with its status at
    /// the last ping's time. Results are in the order of `pings`.
    async fn record_pings(&self, pings: &[NewPing]) -> Result<Vec<PingRecorded>, StoreError>;

    /// Every heartbeat that has been pinged, by name.
    async fn heartbeats(&self) -> Result<Vec<HeartbeatRecord>, StoreError>;

    async fn heartbeat(&self, name: &Name) -> Result<Option<HeartbeatRecord>, StoreError>;

    /// Heartbeats whose status time may have changed (`check_at <= now`)
    /// or whose alert does not follow their status (down without an open
    /// alert, an open alert while not down).
    async fn heartbeats_due(&self, now: Timestamp) -> Result<Vec<HeartbeatRecord>, StoreError>;

    /// Writes the status and `check_at` the engine evaluated, if the row
    /// is still at `version` (no ping since it was read): `false` and
    /// nothing written otherwise.
    async fn set_heartbeat_status(
        &self,
        name: &Name,
        version: i64,
        status: Status,
        check_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Records that a trigger (`true`) or resolve (`false`) for the
    /// heartbeat was stored.
    async fn set_heartbeat_alert(&self, name: &Name, open: bool) -> Result<(), StoreError>;

    /// The newest pings of a heartbeat first, at most `limit` (capped at
    /// [`crate::sql::MAX_HEARTBEAT_PINGS`]).
    async fn heartbeat_pings(&self, name: &Name, limit: u32)
    -> Result<Vec<PingRecord>, StoreError>;

    /// Deletes all but the newest `keep` pings of `name`; returns how
    /// many went.
    async fn prune_heartbeat_pings(&self, name: &Name, keep: u32) -> Result<u64, StoreError>;
}
