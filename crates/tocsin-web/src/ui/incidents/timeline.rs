//! One timeline per incident: the events ingestion attached to it and its
//! timeline entries (pages, acknowledgements, notes, role changes,
//! updates…), merged in time order. Each line says when, what (in the
//! words of `tocsin_domain::response::timeline::describe`, the same as in
//! chat and the review), who, and through which interface.
//!
//! An entry (`<li data-id>`) or an event (`<li data-event-id>`) is one
//! `<li>` rendered by `templates/incident_entry.html`, both inside the
//! incident page and on its own ([`EntryItem`]), so that the live view
//! adds exactly what a reload would show.

use askama::Template;
use jiff::Timestamp;
use serde_json::Value;
use tocsin_domain::ingest::EventAction;
use tocsin_domain::response::Interface;
use tocsin_domain::response::timeline::{describe, is_milestone};
use tocsin_store::{EventRecord, TimelineRecord};

/// Every interface a change can come from, to recognise the one an entry
/// names.
const INTERFACES: [Interface; 7] = [
    Interface::Web,
    Interface::Api,
    Interface::Cli,
    Interface::Slack,
    Interface::Mattermost,
    Interface::Matrix,
    Interface::System,
];

/// How many of an incident's events its timeline shows (the oldest ones):
/// the page and the live view read the same.
pub const EVENT_LIMIT: u32 = 1000;

/// Actors that are the hub itself rather than a person.
const SYSTEM_ACTORS: [&str; 3] = ["escalation", "notifications", "reminders"];

/// One line of the timeline.
#[derive(Debug, Clone)]
pub struct TimelineItem {
    /// The timeline entry's id (what a pin names); `None` for an event.
    pub id: Option<i64>,
    /// The ingested event's id; `None` for a timeline entry.
    pub event_id: Option<i64>,
    pub at: Timestamp,
    /// RFC 3339, for `<time datetime>`.
    pub datetime: String,
    /// To the second, UTC.
    pub when: String,
    /// The entry's kind (`note`, `incident.acknowledged`) or `event.trigger`.
    pub kind: String,
    /// A person's name, `escalation`, or the integration an event came in by.
    pub who: String,
    /// `web`, `slack`, `system`, `integration`; empty when the entry does
    /// not say.
    pub via: String,
    pub text: String,
    pub pinned: bool,
    /// A moment the review lists without being pinned (status, roles…).
    pub milestone: bool,
}

fn seconds(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The interface an entry came from: its detail's `via` when that names an
/// interface (in pages, `via` names the target paged instead), the hub
/// itself for the engine's entries, else unknown.
fn interface_of(actor: &str, detail: &Value) -> String {
    let via = detail.get("via").and_then(Value::as_str).unwrap_or("");
    if let Some(i) = INTERFACES.iter().find(|i| i.as_str() == via) {
        return i.as_str().to_owned();
    }
    if SYSTEM_ACTORS.contains(&actor) {
        return Interface::System.as_str().to_owned();
    }
    if actor.ends_with("(acknowledge link)") {
        return "acknowledge link".to_owned();
    }
    String::new()
}

impl TimelineItem {
    pub fn entry(r: &TimelineRecord, pinned: bool) -> TimelineItem {
        TimelineItem {
            id: Some(r.id),
            event_id: None,
            at: r.at,
            datetime: r.at.to_string(),
            when: seconds(r.at),
            kind: r.kind.clone(),
            who: r.actor.clone(),
            via: interface_of(&r.actor, &r.detail),
            text: describe(&r.kind, &r.detail),
            pinned,
            milestone: is_milestone(&r.kind),
        }
    }

    pub fn event(e: &EventRecord) -> TimelineItem {
        let what = match e.event.action {
            EventAction::Trigger => "triggered",
            EventAction::Acknowledge => "acknowledged",
            EventAction::Resolve => "resolved",
            EventAction::Note => "note",
            EventAction::Change => "change",
        };
        let mut text = match (e.event.action, &e.event.note) {
            (EventAction::Note, Some(n)) => n.clone(),
            _ => e.event.summary.clone(),
        };
        if text.is_empty() {
            text.clone_from(&e.event.dedup_key);
        }
        TimelineItem {
            id: None,
            event_id: Some(e.id),
            at: e.received_at,
            datetime: e.received_at.to_string(),
            when: seconds(e.received_at),
            kind: format!("event.{what}"),
            who: e.integration.to_string(),
            via: "integration".to_owned(),
            text: format!("{what}: {text}"),
            pinned: false,
            milestone: false,
        }
    }
}

/// Events and entries in time order; at the same instant an event comes
/// before the entries it caused.
pub fn merged(
    events: &[EventRecord],
    entries: &[TimelineRecord],
    pinned: &[i64],
) -> Vec<TimelineItem> {
    let mut all: Vec<TimelineItem> = events.iter().map(TimelineItem::event).collect();
    all.extend(
        entries
            .iter()
            .map(|r| TimelineItem::entry(r, pinned.contains(&r.id))),
    );
    all.sort_by_key(|i| i.at); // stable: events first at equal times
    all
}

/// One timeline `<li>` on its own: what the live view sends for an entry
/// or an event that arrived after the page was drawn.
#[derive(Template)]
#[template(path = "incident_entry.html")]
pub struct EntryItem {
    pub e: TimelineItem,
    pub number: i64,
    /// The session's CSRF token, for the pin form.
    pub csrf: String,
    /// Whether to offer the pin button (the reader may act on the incident).
    pub can_act: bool,
}
