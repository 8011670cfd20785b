//! The outbox: notifications to deliver, each with a deterministic key and
//! a `notify.deliver` job written in the same transaction as the change
//! that causes it (an escalation step, a resolution). Delivery records each
//! attempt's outcome, with its timeline entries, in one transaction; a
//! per-destination rate limit is kept here so that every instance obeys the
//! same one.

use crate::{NewIntent, NewTimelineEntry, StoreError};
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use tocsin_domain::Name;

/// The job kind that delivers one notification (`{"notification": key}`).
pub const JOB_NOTIFY_DELIVER: &str = "notify.deliver";

/// The key of the job that delivers notification `key`.
pub fn deliver_job_key(key: &str) -> String {
    format!("deliver:{key}")
}

/// Why a notification is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    Page,
    Resolved,
    Update,
    DeadLetter,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Page => "page",
            Purpose::Resolved => "resolved",
            Purpose::Update => "update",
            Purpose::DeadLetter => "dead_letter",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Purpose::Page,
            Purpose::Resolved,
            Purpose::Update,
            Purpose::DeadLetter,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its due time, its destination's rate limit or a retry.
    Queued,
    /// An attempt started; if it stays so past its job's lease, the
    /// process died mid-attempt and the next attempt sends again.
    Sending,
    Delivered,
    /// The last attempt failed; another comes.
    Failed,
    /// Given up (a permanent failure, or transient ones for too long).
    Dead,
    /// Not needed any more (acknowledged before it was due).
    Cancelled,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sending => "sending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
            DeliveryState::Dead => "dead",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            DeliveryState::Queued,
            DeliveryState::Sending,
            DeliveryState::Delivered,
            DeliveryState::Failed,
            DeliveryState::Dead,
            DeliveryState::Cancelled,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }

    /// Whether nothing more will happen to it.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeliveryState::Delivered | DeliveryState::Dead | DeliveryState::Cancelled
        )
    }
}

/// One notification in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRecord {
    pub incident: i64,
    pub purpose: Purpose,
    pub user: Option<Name>,
    pub contact: String,
    /// The channel: `email`, `slack`, … as in manifests.
    pub kind: String,
    pub address: String,
    pub due_at: Timestamp,
    pub state: DeliveryState,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub reference: Option<String>,
    pub previous: Option<String>,
    pub bundle: Option<String>,
    pub created_at: Timestamp,
    /// While sending: until when the attempt holds it.
    pub lease_until: Option<Timestamp>,
    pub key: String,
}

/// What an attempt came to, for the notifications it carried.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    /// `reference`: what the channel kept. `bundle`: the key of the
    /// notification whose message carried the others.
    Delivered {
        reference: Option<String>,
        bundle: Option<String>,
    },
    /// Another attempt comes at `retry_at`.
    Failed {
        error: String,
        retry_at: Timestamp,
    },
    Dead {
        error: String,
    },
    Cancelled {
        reason: String,
    },
}

/// A rate limit: at most `burst` messages at once, then one per
/// `interval` (the generic cell rate algorithm).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub interval: SignedDuration,
    pub burst: u32,
}

#[async_trait]
pub trait NotifyStore {
    /// Adds notifications (rows whose key exists are skipped) with their
    /// delivery jobs and timeline entries, in one transaction.
    async fn enqueue_notifications(
        &self,
        notifications: &[NewIntent],
        entries: &[NewTimelineEntry],
        now: Timestamp,
    ) -> Result<(), StoreError>;

    async fn notification(&self, key: &str) -> Result<Option<NotificationRecord>, StoreError>;

    /// What the notification says beyond the incident's record (a
    /// stakeholder update's text), if anything.
    async fn notification_text(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Queued or failed notifications for one destination that are due by
    /// `now`, oldest first, at most `limit`.
    async fn due_for_destination(
        &self,
        kind: &str,
        address: &str,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError>;

    /// Takes a send slot for a destination: `None` when a message may go
    /// now (the slot is taken), or the earliest time one may.
    async fn take_send_slot(
        &self,
        kind: &str,
        address: &str,
        limit: RateLimit,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError>;

    /// Moves the notifications that are queued, failed, or sending under a
    /// hold that ran out (an interrupted attempt) to sending, held until
    /// `hold_until`, with one more attempt; returns the keys it moved. The
    /// first key leads: when it cannot be taken, nothing is.
    async fn start_attempt(
        &self,
        keys: &[String],
        now: Timestamp,
        hold_until: Timestamp,
    ) -> Result<Vec<String>, StoreError>;

    /// Records an attempt's outcome for `keys`, with its timeline entries
    /// and any notifications it causes (with their jobs), in one
    /// transaction. Only notifications that are sending change.
    async fn finish_attempt(
        &self,
        keys: &[String],
        outcome: &AttemptOutcome,
        entries: &[NewTimelineEntry],
        follow_ups: &[NewIntent],
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// The incident's notifications of `purpose`, oldest first.
    async fn incident_notifications(
        &self,
        incident: i64,
        purpose: Option<Purpose>,
    ) -> Result<Vec<NotificationRecord>, StoreError>;

    /// Dead notifications, newest first, at most `limit`.
    async fn dead_notifications(&self, limit: u32) -> Result<Vec<NotificationRecord>, StoreError>;

    /// A secret shared by every instance, made once by `make` (the first
    /// caller's value wins).
    async fn instance_secret(&self, name: &str, make: String) -> Result<String, StoreError>;
}
