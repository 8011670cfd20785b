//! What chat front ends keep: the chat events already answered (so an event
//! delivered twice, or seen by two instances, is answered once), where a
//! front end has read up to (a Matrix sync token), and one room per
//! incident on a chat platform with how far its timeline is mirrored.

use crate::StoreError;
use async_trait::async_trait;
use jiff::Timestamp;
use tocsin_domain::Severity;

/// An incident's room on a chat platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRecord {
    pub incident: i64,
    /// `slack`, `matrix`: whose room it is.
    pub platform: String,
    /// The platform's id for it (a Slack channel id, a Matrix room id).
    pub room: String,
    pub created_at: Timestamp,
    /// The last timeline entry id posted into the room (0: none yet).
    pub mirrored_through: i64,
    /// The addresses (member ids, Matrix user ids) invited so far.
    pub invited: Vec<String>,
}

#[async_trait]
pub trait ChatStore {
    /// Records `receipt` (a platform-qualified event id, `slack:Ev0…`);
    /// `true` the first time, `false` when it was already recorded.
    async fn receive_once(&self, receipt: &str, now: Timestamp) -> Result<bool, StoreError>;

    /// Forgets receipts recorded before `before`; how many.
    async fn purge_receipts(&self, before: Timestamp) -> Result<u64, StoreError>;

    /// A front end's saved position, by name (`matrix.since`).
    async fn chat_cursor(&self, name: &str) -> Result<Option<String>, StoreError>;

    async fn set_chat_cursor(
        &self,
        name: &str,
        value: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Open incidents (triggered or acknowledged, not merged) of severity
    /// `worst` or worse with no room on `platform`, oldest first, at most
    /// `limit`.
    async fn incidents_needing_room(
        &self,
        platform: &str,
        worst: Severity,
        limit: u32,
    ) -> Result<Vec<i64>, StoreError>;

    /// Records the incident's room on `platform` unless one is recorded;
    /// returns the one that is (the first writer's, when two race).
    async fn record_room(
        &self,
        incident: i64,
        platform: &str,
        room: &str,
        now: Timestamp,
    ) -> Result<RoomRecord, StoreError>;

    /// The rooms on `platform` still worth tending: their incident is not
    /// closed and is open or was resolved at or after `resolved_since`.
    async fn rooms_to_tend(
        &self,
        platform: &str,
        resolved_since: Timestamp,
        limit: u32,
    ) -> Result<Vec<RoomRecord>, StoreError>;

    /// The room of `incident` on `platform`, if it has one.
    async fn incident_room(
        &self,
        incident: i64,
        platform: &str,
    ) -> Result<Option<RoomRecord>, StoreError>;

    /// Moves the room's mirror forward to `mirrored_through` (never back)
    /// and records who has been invited.
    async fn advance_room(
        &self,
        incident: i64,
        platform: &str,
        mirrored_through: i64,
        invited: &[String],
    ) -> Result<(), StoreError>;
}
