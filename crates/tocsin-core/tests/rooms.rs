//! Incident rooms on a recording platform: a serious incident gets one
//! room, its responders are invited once, its timeline is mirrored line by
//! line without repeats, and a failing platform is retried after a pause
//! from where it stopped. On both backends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod support;

use async_trait::async_trait;
use jiff::SignedDuration;
use std::sync::{Arc, Mutex};
use support::{Db, api, demo_incident, responder};
use tocsin_core::clock::Clock;
use tocsin_core::engine::Module;
use tocsin_core::rooms::{IncidentRooms, RoomError, RoomIncident, RoomService};
use tocsin_domain::catalog::ContactKind;
use tocsin_domain::response::Role;
use tocsin_domain::{Name, Severity};

/// What the platform was asked, in order; `fail_posts` makes the next
/// posts fail (transiently).
#[derive(Debug, Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
    fail_posts: Mutex<bool>,
}

impl Recorder {
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

#[async_trait]
impl RoomService for Recorder {
    fn platform(&self) -> &'static str {
        "slack"
    }

    fn contact_kind(&self) -> ContactKind {
        ContactKind::Slack
    }

    async fn open(&self, incident: &RoomIncident) -> Result<String, RoomError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("open {} | {}", incident.slug(), incident.topic()));
        Ok(format!("C{}", incident.number))
    }

    async fn invite(&self, room: &str, addresses: &[String]) -> Result<(), RoomError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("invite {room} {}", addresses.join(",")));
        Ok(())
    }

    async fn post(&self, room: &str, key: &str, text: &str) -> Result<(), RoomError> {
        if *self.fail_posts.lock().unwrap() {
            return Err(RoomError::Transient("slack is down".into()));
        }
        self.calls
            .lock()
            .unwrap()
            .push(format!("post {room} {key} {text}"));
        Ok(())
    }
}

fn posts(calls: &[String]) -> Vec<&String> {
    calls.iter().filter(|c| c.starts_with("post ")).collect()
}

async fn rooms_open_invite_and_mirror(db: Db) {
    let store = db.open(true).await;
    let (clock, n) = demo_incident(&store, "2026-03-02T10:00:00Z").await;
    let platform = Arc::new(Recorder::default());
    let rooms = IncidentRooms::new(
        store.clone(),
        platform.clone(),
        Severity::Sev2,
        Some("https://hub.example/".into()),
    );
    assert_eq!(rooms.name(), "incident-rooms.slack");

    // bob (Slack member U024BE7LH) takes command before the first tick.
    let alice = responder("alice");
    let bob = Name::parse("bob").unwrap();
    tocsin_core::response::assign_role(
        store.as_ref(),
        api(&alice),
        n,
        Role::Commander,
        &bob,
        clock.now(),
    )
    .await
    .unwrap();

    rooms.tick(clock.now()).await.unwrap();
    let calls = platform.take();
    assert_eq!(
        calls[0],
        format!(
            "open inc-{n}-checkout-returns-5xx | #{n} · Sev2 · checkout: Checkout returns 5xx · https://hub.example/incidents/{n}"
        )
    );
    assert_eq!(calls[1], format!("invite C{n} U024BE7LH"), "{calls:#?}");
    let lines = posts(&calls);
    assert!(!lines.is_empty(), "{calls:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("commander") && l.contains("bob")),
        "the role change is mirrored: {lines:#?}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.contains(&format!("post C{n} tocsin-{n}-"))),
        "{lines:#?}"
    );
    let room = store.incident_room(n, "slack").await.unwrap().unwrap();
    assert_eq!(room.room, format!("C{n}"));
    assert_eq!(room.invited, ["U024BE7LH"]);

    // Nothing new: nothing opened, invited or posted again.
    rooms.tick(clock.now()).await.unwrap();
    assert_eq!(platform.take(), Vec::<String>::new());

    // A note: one new line, the writer named.
    clock.advance(SignedDuration::from_mins(1));
    tocsin_core::response::note(
        store.as_ref(),
        api(&alice),
        n,
        "Rolled back the deploy",
        clock.now(),
    )
    .await
    .unwrap();
    rooms.tick(clock.now()).await.unwrap();
    let calls = platform.take();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert!(
        calls[0].ends_with("[10:01:00 UTC] alice (from api): Rolled back the deploy"),
        "{calls:#?}"
    );

    // The platform fails: the line waits, is retried after the pause, and
    // is posted once.
    clock.advance(SignedDuration::from_mins(1));
    tocsin_core::incident::acknowledge(store.as_ref(), api(&alice), n, clock.now())
        .await
        .unwrap();
    *platform.fail_posts.lock().unwrap() = true;
    rooms.tick(clock.now()).await.unwrap();
    *platform.fail_posts.lock().unwrap() = false;
    rooms.tick(clock.now()).await.unwrap();
    assert_eq!(platform.calls(), Vec::<String>::new(), "still pausing");
    clock.advance(SignedDuration::from_secs(31));
    rooms.tick(clock.now()).await.unwrap();
    let calls = platform.take();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert!(calls[0].contains("acknowledged by alice"), "{calls:#?}");
    rooms.tick(clock.now()).await.unwrap();
    assert_eq!(platform.take(), Vec::<String>::new());

    // A second instance's module (same store) does not open another room.
    let other = IncidentRooms::new(store.clone(), platform.clone(), Severity::Sev2, None);
    other.tick(clock.now()).await.unwrap();
    assert!(
        platform.take().iter().all(|c| !c.starts_with("open")),
        "one room per incident"
    );
}
on_both_backends!(rooms_open_invite_and_mirror);

/// Less serious incidents than the threshold get no room.
async fn rooms_only_for_serious_incidents(db: Db) {
    let store = db.open(true).await;
    let (clock, _n) = demo_incident(&store, "2026-03-02T10:00:00Z").await;
    let platform = Arc::new(Recorder::default());
    let rooms = IncidentRooms::new(store.clone(), platform.clone(), Severity::Sev1, None);
    rooms.tick(clock.now()).await.unwrap();
    assert_eq!(
        platform.take(),
        Vec::<String>::new(),
        "a Sev2 is below Sev1"
    );
}
on_both_backends!(rooms_only_for_serious_incidents);
