//! One chat room per serious incident (a Slack channel, a Matrix room):
//! opened when the incident is, its responders invited as they join the
//! response, and its timeline mirrored into it line by line, so the people
//! working in chat see what happens elsewhere (pages, acknowledgements,
//! roles, notes, updates from the web or the CLI).
//!
//! The platform is a port, [`RoomService`], implemented at the edge (Slack
//! and Matrix, in `tocsin-notify`); what to open, whom to
//! invite and what to post is decided here, by the [`IncidentRooms`]
//! engine module (one per platform, run by whichever instance holds its
//! lock).
//!
//! Invariants:
//! - An incident has at most one room per platform: the store records the
//!   first, and opening is idempotent at the platform (a room named after
//!   the incident is found again, not made twice).
//! - The mirror's position is stored after each line, so a restart goes
//!   on from the next entry: a line is posted twice only if the process
//!   dies between posting it and recording that (and a platform that
//!   deduplicates by key — Matrix — posts it once even then).
//! - A failing platform never stops the engine: the incident is tried
//!   again after a pause that grows with each failure (a refusal waits
//!   longer than an outage).

use crate::engine::Module;
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use tocsin_domain::catalog::{ContactKind, Kind, Object};
use tocsin_domain::response::timeline;
use tocsin_domain::{Name, Severity};
use tocsin_store::{RoomRecord, Store, StoreError, TimelineRecord};

/// How many incidents get a room per tick, and how many rooms are tended.
const BATCH: u32 = 20;

/// How many timeline entries are posted into one room per tick.
const LINES_PER_TICK: u32 = 50;

/// A resolved incident's room keeps being tended this long (for the last
/// lines: the resolution, the review), unless the incident is closed first.
pub const TEND_AFTER_RESOLVED: SignedDuration = SignedDuration::from_hours(24);

/// The pause after a transient failure (doubling up to [`MAX_BACKOFF`]).
const TRANSIENT_BACKOFF: SignedDuration = SignedDuration::from_secs(30);

/// The pause after a refusal (doubling up to [`MAX_BACKOFF`]).
const PERMANENT_BACKOFF: SignedDuration = SignedDuration::from_mins(15);

const MAX_BACKOFF: SignedDuration = SignedDuration::from_hours(6);

/// What a platform needs to know to open an incident's room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomIncident {
    pub number: i64,
    pub title: String,
    pub severity: Severity,
    pub service: Name,
    /// The incident's page on the hub, when the hub knows its public URL.
    pub link: Option<String>,
}

impl RoomIncident {
    /// A name for the room that is the same every time for this incident
    /// (so opening twice finds the first room) and fits everywhere chat
    /// names must: lowercase ASCII letters, digits and dashes, at most 60
    /// characters — `inc-8-checkout-returns-502`.
    pub fn slug(&self) -> String {
        let mut slug = format!("inc-{}", self.number);
        let mut dash = true;
        for c in self.title.chars() {
            if slug.len() >= 60 {
                break;
            }
            if c.is_ascii_alphanumeric() {
                if dash {
                    slug.push('-');
                }
                slug.push(c.to_ascii_lowercase());
                dash = false;
            } else {
                dash = true;
            }
        }
        slug
    }

    /// The room's topic: what the incident is, where to run it.
    pub fn topic(&self) -> String {
        let mut topic = format!(
            "#{} · {} · {}: {}",
            self.number,
            self.severity.label(),
            self.service,
            self.title
        );
        if let Some(link) = &self.link {
            topic.push_str(" · ");
            topic.push_str(link);
        }
        topic
    }
}

/// Why a platform did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    /// Worth trying again soon: a network failure, a rate limit, a 5xx.
    #[error("{0}")]
    Transient(String),
    /// The platform refused (a bad token, a missing scope): trying again
    /// soon will not help; the message says what to fix.
    #[error("{0}")]
    Permanent(String),
}

/// A chat platform that can hold one room per incident.
#[async_trait]
pub trait RoomService: Send + Sync + std::fmt::Debug + 'static {
    /// `slack`, `matrix`: stored with the room, and the module's name.
    fn platform(&self) -> &'static str;

    /// Whose contact methods hold people's addresses on this platform.
    fn contact_kind(&self) -> ContactKind;

    /// Opens the incident's room, or finds it when a room for it exists
    /// already (by [`RoomIncident::slug`]); its platform id.
    async fn open(&self, incident: &RoomIncident) -> Result<String, RoomError>;

    /// Invites people (their addresses on this platform) into the room;
    /// someone already in it is not an error.
    async fn invite(&self, room: &str, addresses: &[String]) -> Result<(), RoomError>;

    /// Posts one line; `key` is unique per line (`tocsin-8-1234`), for the
    /// platforms that deduplicate sends.
    async fn post(&self, room: &str, key: &str, text: &str) -> Result<(), RoomError>;
}

/// The engine module that opens, fills and mirrors incident rooms on one
/// platform.
#[derive(Debug)]
pub struct IncidentRooms {
    store: Arc<dyn Store>,
    service: Arc<dyn RoomService>,
    name: &'static str,
    /// Incidents at this severity or worse get a room.
    worst: Severity,
    base_url: Option<String>,
    /// Per incident: when to try again, and the pause after the next failure.
    backoff: Mutex<HashMap<i64, (Timestamp, SignedDuration)>>,
}

impl IncidentRooms {
    /// Rooms for incidents of severity `worst` or worse; `base_url` (the
    /// hub's public URL) links each room to the incident's page.
    pub fn new(
        store: Arc<dyn Store>,
        service: Arc<dyn RoomService>,
        worst: Severity,
        base_url: Option<String>,
    ) -> IncidentRooms {
        // Made once per platform at start-up: the lock's name must be
        // 'static, and differ per platform so each runs on its own.
        let name: &'static str =
            Box::leak(format!("incident-rooms.{}", service.platform()).into_boxed_str());
        IncidentRooms {
            store,
            service,
            name,
            worst,
            base_url: base_url.map(|u| u.trim_end_matches('/').to_owned()),
            backoff: Mutex::new(HashMap::new()),
        }
    }

    fn waiting(&self, incident: i64, now: Timestamp) -> bool {
        self.backoff
            .lock()
            .map(|b| b.get(&incident).is_some_and(|(until, _)| *until > now))
            .unwrap_or(false)
    }

    fn failed(&self, incident: i64, error: &RoomError, now: Timestamp) {
        let first = match error {
            RoomError::Transient(_) => TRANSIENT_BACKOFF,
            RoomError::Permanent(_) => PERMANENT_BACKOFF,
        };
        let platform = self.service.platform();
        if let Ok(mut b) = self.backoff.lock() {
            let pause = b.get(&incident).map_or(first, |(_, p)| *p);
            let next = std::cmp::min(pause.saturating_mul(2), MAX_BACKOFF);
            b.insert(incident, (now + pause, next));
            tracing::warn!(
                incident,
                platform,
                retry_in_s = pause.as_secs(),
                "incident room: {error}"
            );
        }
    }

    fn recovered(&self, incident: i64) {
        if let Ok(mut b) = self.backoff.lock() {
            b.remove(&incident);
        }
    }

    async fn open_rooms(&self, now: Timestamp) -> Result<(), StoreError> {
        let platform = self.service.platform();
        for number in self
            .store
            .incidents_needing_room(platform, self.worst, BATCH)
            .await?
        {
            if self.waiting(number, now) {
                continue;
            }
            let Some(inc) = self.store.get_incident(number).await? else {
                continue;
            };
            let incident = RoomIncident {
                number,
                title: inc.title,
                severity: inc.severity,
                service: inc.service,
                link: self
                    .base_url
                    .as_ref()
                    .map(|b| format!("{b}/incidents/{number}")),
            };
            match self.service.open(&incident).await {
                Ok(room) => {
                    self.store.record_room(number, platform, &room, now).await?;
                    self.recovered(number);
                    tracing::info!(incident = number, platform, room, "incident room opened");
                }
                Err(e) => self.failed(number, &e, now),
            }
        }
        Ok(())
    }

    async fn tend(&self, room: RoomRecord, now: Timestamp) -> Result<(), StoreError> {
        if self.waiting(room.incident, now) {
            return Ok(());
        }
        let entries = self
            .store
            .timeline_after(room.incident, room.mirrored_through, LINES_PER_TICK)
            .await?;
        // Role changes and pages are entries too: nothing new, no one new.
        if entries.is_empty() {
            return Ok(());
        }
        let mut invited = room.invited.clone();
        let wanted = self.addresses(&room, &entries).await?;
        let new: Vec<String> = wanted
            .into_iter()
            .filter(|a| !invited.contains(a))
            .collect();
        if !new.is_empty() {
            if let Err(e) = self.service.invite(&room.room, &new).await {
                self.failed(room.incident, &e, now);
                return Ok(());
            }
            invited.extend(new);
            self.store
                .advance_room(
                    room.incident,
                    &room.platform,
                    room.mirrored_through,
                    &invited,
                )
                .await?;
        }
        for entry in entries {
            if mirrored(&entry.kind) {
                let key = format!("tocsin-{}-{}", room.incident, entry.id);
                if let Err(e) = self.service.post(&room.room, &key, &line(&entry)).await {
                    self.failed(room.incident, &e, now);
                    return Ok(());
                }
            }
            self.store
                .advance_room(room.incident, &room.platform, entry.id, &invited)
                .await?;
        }
        self.recovered(room.incident);
        Ok(())
    }

    /// The platform addresses of everyone taking part: role holders, and
    /// the people the new entries name (paged, acting).
    async fn addresses(
        &self,
        room: &RoomRecord,
        entries: &[TimelineRecord],
    ) -> Result<BTreeSet<String>, StoreError> {
        let mut people: BTreeSet<String> = self
            .store
            .response(room.incident)
            .await?
            .roles
            .into_iter()
            .map(|r| r.user.to_string())
            .collect();
        for e in entries {
            people.extend(involved(&e.actor, &e.detail));
        }
        let kind = self.service.contact_kind();
        let mut addresses = BTreeSet::new();
        for person in people {
            let Ok(name) = Name::parse(&person) else {
                continue;
            };
            let Some(row) = self.store.get_object(Kind::User, &name).await? else {
                continue;
            };
            if let Ok(Object::User(user)) = Object::from_spec(Kind::User, row.spec) {
                addresses.extend(
                    user.contact_methods
                        .into_iter()
                        .filter(|m| m.kind == kind)
                        .map(|m| m.address),
                );
            }
        }
        Ok(addresses)
    }
}

/// Whether an entry is mirrored: everything but the delivery of each
/// notification (which would drown the room during a page storm).
fn mirrored(kind: &str) -> bool {
    !kind.starts_with("notification.")
}

/// One mirrored line: the entry's time (UTC) and what it says.
fn line(entry: &TimelineRecord) -> String {
    let at = entry.at.strftime("%H:%M:%S UTC");
    format!("[{at}] {}", timeline::describe(&entry.kind, &entry.detail))
}

/// The people an entry names: who acted, who was paged or given a role.
fn involved(actor: &str, detail: &Value) -> Vec<String> {
    let mut people = vec![actor.to_owned()];
    for key in ["by", "user", "holder", "to"] {
        if let Some(v) = detail.get(key).and_then(Value::as_str) {
            people.push(v.to_owned());
        }
    }
    if let Some(list) = detail.get("users").and_then(Value::as_array) {
        people.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    people
}

#[async_trait]
impl Module for IncidentRooms {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn tick(&self, now: Timestamp) -> Result<(), String> {
        self.open_rooms(now).await.map_err(|e| e.to_string())?;
        let rooms = self
            .store
            .rooms_to_tend(self.service.platform(), now - TEND_AFTER_RESOLVED, BATCH)
            .await
            .map_err(|e| e.to_string())?;
        for room in rooms {
            self.tend(room, now).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident(title: &str) -> RoomIncident {
        RoomIncident {
            number: 8,
            title: title.into(),
            severity: Severity::Sev1,
            service: Name::parse("checkout").unwrap_or_else(|e| panic!("{e}")),
            link: Some("https://hub.example/incidents/8".into()),
        }
    }

    #[test]
    fn slug_is_chat_safe_and_bounded() {
        assert_eq!(
            incident("Checkout returns 502!").slug(),
            "inc-8-checkout-returns-502"
        );
        assert_eq!(incident("  Ünïcode — only  ").slug(), "inc-8-n-code-only");
        assert_eq!(incident("").slug(), "inc-8");
        let long = incident(&"word ".repeat(40)).slug();
        assert!(long.len() <= 64, "{long}");
        assert!(
            long.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }

    #[test]
    fn topic_names_the_incident_and_links_it() {
        assert_eq!(
            incident("Checkout down").topic(),
            "#8 · Sev1 · checkout: Checkout down · https://hub.example/incidents/8"
        );
    }

    #[test]
    fn deliveries_are_not_mirrored() {
        assert!(!mirrored("notification.delivered"));
        assert!(mirrored("incident.acknowledged"));
        assert!(mirrored("note"));
    }

    #[test]
    fn involved_names_actor_and_people() {
        let d = serde_json::json!({"by": "bob", "user": "carol", "users": ["dan"]});
        assert_eq!(involved("alice", &d), ["alice", "bob", "carol", "dan"]);
    }
}
