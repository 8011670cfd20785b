//! Incident channels on Slack: `SlackRooms` driven by the real
//! `IncidentRooms` engine module over a real store, against the local
//! Slack-shaped Web API (`tocsin_notify::testing::SlackPeer`). A serious
//! incident gets its channel `inc-N-…` with the incident's topic, its
//! responders (their `slack` member ids) are invited, and its timeline is
//! mirrored; a channel of that name made earlier is found by paging
//! through `conversations.list` (and joined); Slack's refusals are
//! classified as transient or permanent with what to fix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;
use std::time::Duration;
use tocsin_core::clock::{Clock, ManualClock};
use tocsin_core::engine::Module;
use tocsin_core::rooms::{IncidentRooms, RoomError, RoomIncident, RoomService};
use tocsin_domain::access::{Principal, Role as AccessRole};
use tocsin_domain::response::{Interface, Role};
use tocsin_domain::{Name, Severity};
use tocsin_notify::slack_api::WebApi;
use tocsin_notify::slack_rooms::SlackRooms;
use tocsin_notify::testing::{BOT_USER, Failure, SlackPeer};
use tocsin_store::Store;
use tocsin_store_sqlite::{OpenMode, SqliteStore};

const TOKEN: &str = "xoxb-rooms-test";
/// Bob's `slack` contact method in the demo catalog.
const BOB: &str = "U024BE7LH";

struct World {
    store: Arc<dyn Store>,
    clock: ManualClock,
    incident: i64,
    _dir: tempfile::TempDir,
}

/// The demo catalog on a fresh SQLite file and checkout's Sev2 incident.
async fn world() -> World {
    let (dir, path) = tocsin_store_sqlite::testing::fresh_file();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, OpenMode::Server).await.unwrap());
    store.migrate().await.unwrap();
    let clock = ManualClock::new("2026-03-02T10:00:00Z".parse::<Timestamp>().unwrap());
    tocsin_core::demo::load_if_empty(store.as_ref(), clock.now())
        .await
        .unwrap();
    let event = tocsin_domain::ingest::Event {
        action: tocsin_domain::ingest::EventAction::Trigger,
        dedup_key: "checkout-5xx".into(),
        summary: "Checkout returns 5xx".into(),
        source: None,
        severity: Severity::Sev2,
        sender_severity: None,
        occurred_at: None,
        component: None,
        group: None,
        class: None,
        labels: Default::default(),
        details: serde_json::Value::Null,
        links: vec![],
        images: vec![],
        note: None,
    };
    let item = tocsin_store::IngestItem {
        integration: Name::parse("checkout-alertmanager").unwrap(),
        service: Name::parse("checkout").unwrap(),
        event,
        received_at: clock.now(),
        request_id: None,
    };
    let incident = store
        .ingest(&[item], &Default::default(), clock.now())
        .await
        .unwrap()[0]
        .incident
        .unwrap();
    World {
        store,
        clock,
        incident,
        _dir: dir,
    }
}

fn alice() -> Principal {
    Principal {
        user: Some(Name::parse("alice").unwrap()),
        label: "alice".into(),
        role: AccessRole::Responder,
        teams: [Name::parse("payments").unwrap()].into(),
    }
}

fn rooms_on(peer: &SlackPeer, token: &str) -> SlackRooms {
    SlackRooms::new(WebApi::new(token, &peer.base, Duration::from_secs(2)).unwrap())
}

async fn peer() -> SlackPeer {
    let peer = SlackPeer::start(TOKEN).await;
    peer.add_user(BOB, Some("bob@example.com"));
    peer.add_user("U0ALICE", Some("alice@example.com"));
    peer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_gets_a_channel_with_its_responders_and_timeline() {
    let w = world().await;
    let n = w.incident;
    let peer = peer().await;
    let rooms = IncidentRooms::new(
        w.store.clone(),
        Arc::new(rooms_on(&peer, TOKEN)),
        Severity::Sev2,
        Some("https://hub.example".into()),
    );
    let alice = alice();
    let by = tocsin_core::response::Actor {
        who: &alice,
        via: Interface::Api,
    };
    tocsin_core::response::assign_role(
        w.store.as_ref(),
        by,
        n,
        Role::Commander,
        &Name::parse("bob").unwrap(),
        w.clock.now(),
    )
    .await
    .unwrap();

    rooms.tick(w.clock.now()).await.unwrap();
    let name = format!("inc-{n}-checkout-returns-5xx");
    let channel = peer
        .channel_named(&name)
        .unwrap_or_else(|| panic!("a channel {name}: {:#?}", peer.calls()));
    assert_eq!(
        channel.topic,
        format!("#{n} · Sev2 · checkout: Checkout returns 5xx · https://hub.example/incidents/{n}")
    );
    assert!(channel.members.contains(BOB), "{channel:?}");
    assert!(channel.members.contains(BOT_USER), "{channel:?}");
    let room = w.store.incident_room(n, "slack").await.unwrap().unwrap();
    assert_eq!(room.room, channel.id);
    assert_eq!(room.invited, [BOB]);

    // Methods and bodies as Slack takes them.
    let methods: Vec<String> = peer.calls().into_iter().map(|c| c.method).collect();
    assert_eq!(
        &methods[..3],
        [
            "conversations.create",
            "conversations.setTopic",
            "conversations.invite"
        ],
        "{methods:?}"
    );
    let create = &peer.calls_of("conversations.create")[0];
    assert!(create.json);
    assert_eq!(create.args["is_private"], false);

    let posted = peer.posted();
    assert!(!posted.is_empty());
    assert!(posted.iter().all(|p| p.channel == channel.id));
    assert!(
        posted
            .iter()
            .any(|p| p.text.contains("commander") && p.text.contains("bob")),
        "the role change is mirrored: {posted:#?}"
    );

    // Nothing new: nothing made, invited or posted again.
    let before = peer.calls().len();
    rooms.tick(w.clock.now()).await.unwrap();
    assert_eq!(peer.calls().len(), before, "{:#?}", &peer.calls()[before..]);

    // A note is mirrored as one line naming its writer.
    w.clock.advance(SignedDuration::from_mins(1));
    tocsin_core::response::note(
        w.store.as_ref(),
        by,
        n,
        "Rolled back <the> deploy",
        w.clock.now(),
    )
    .await
    .unwrap();
    rooms.tick(w.clock.now()).await.unwrap();
    let last = peer.posted().pop().unwrap();
    assert!(
        last.text
            .ends_with("[10:01:00 UTC] alice (from api): Rolled back &lt;the&gt; deploy"),
        "{last:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_made_earlier_is_found_by_paging_and_joined() {
    let w = world().await;
    let n = w.incident;
    let peer = peer().await;
    // 250 other channels first: the incident's is on the second page.
    for i in 0..250 {
        peer.add_channel(&format!("C1{i:07}"), &format!("general-{i}"), &[]);
    }
    let name = format!("inc-{n}-checkout-returns-5xx");
    // Made by hand (or by an attempt that died before recording it),
    // without the bot in it.
    peer.add_channel("C0EARLIER", &name, &["U0ALICE"]);

    let rooms = IncidentRooms::new(
        w.store.clone(),
        Arc::new(rooms_on(&peer, TOKEN)),
        Severity::Sev2,
        None,
    );
    rooms.tick(w.clock.now()).await.unwrap();
    let room = w.store.incident_room(n, "slack").await.unwrap().unwrap();
    assert_eq!(room.room, "C0EARLIER");
    let lists = peer.calls_of("conversations.list");
    assert_eq!(lists.len(), 2, "{lists:#?}");
    assert!(!lists[0].json, "conversations.list takes a form body");
    assert_eq!(lists[0].args["types"], "public_channel");
    assert_eq!(lists[1].args["cursor"], "dGVhbTpD200");
    let channel = peer.channel("C0EARLIER").unwrap();
    assert!(channel.members.contains(BOT_USER), "joined: {channel:?}");
    assert!(
        channel.topic.starts_with(&format!("#{n} · Sev2")),
        "{channel:?}"
    );
    assert_eq!(
        peer.calls_of("conversations.create").len(),
        1,
        "no second channel"
    );
}

fn incident() -> RoomIncident {
    RoomIncident {
        number: 8,
        title: "Checkout returns 502".into(),
        severity: Severity::Sev1,
        service: Name::parse("checkout").unwrap(),
        link: None,
    }
}

fn permanent(result: Result<impl std::fmt::Debug, RoomError>) -> String {
    match result {
        Err(RoomError::Permanent(reason)) => reason,
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

fn transient(result: Result<impl std::fmt::Debug, RoomError>) -> String {
    match result {
        Err(RoomError::Transient(reason)) => reason,
        other => panic!("expected a transient failure, got {other:?}"),
    }
}

#[tokio::test]
async fn invitations_skip_who_is_already_in_and_the_bot() {
    let peer = peer().await;
    let rooms = rooms_on(&peer, TOKEN);
    let room = rooms.open(&incident()).await.unwrap();
    assert_eq!(
        peer.channel(&room).unwrap().name,
        "inc-8-checkout-returns-502"
    );
    rooms.invite(&room, &[BOB.to_owned()]).await.unwrap();
    // Bob is in already, the bot is the bot: Slack refuses the whole call,
    // so each is invited on its own and alice still gets in.
    rooms
        .invite(
            &room,
            &[BOB.to_owned(), BOT_USER.to_owned(), "U0ALICE".to_owned()],
        )
        .await
        .unwrap();
    let members = peer.channel(&room).unwrap().members;
    assert!(
        members.contains("U0ALICE") && members.contains(BOB),
        "{members:?}"
    );
    let invites = peer.calls_of("conversations.invite");
    assert_eq!(
        invites[1].args["users"],
        format!("{BOB},{BOT_USER},U0ALICE")
    );
    assert_eq!(invites.len(), 5, "{invites:#?}");
    // An unknown member is an error to fix.
    let reason = permanent(rooms.invite(&room, &["U0NOBODY".to_owned()]).await);
    assert!(reason.contains("user_not_found"), "{reason}");
}

#[tokio::test]
async fn slack_errors_are_classified() {
    let peer = peer().await;
    let rooms = rooms_on(&peer, TOKEN);

    peer.fail_next("conversations.create", Failure::Http(429, Some(7)));
    transient(rooms.open(&incident()).await);
    peer.fail_next("conversations.create", Failure::Code("ratelimited"));
    let reason = transient(rooms.open(&incident()).await);
    assert!(reason.contains("ratelimited"), "{reason}");
    peer.fail_next("conversations.setTopic", Failure::Http(503, None));
    transient(rooms.open(&incident()).await);
    peer.fail_next("chat.postMessage", Failure::Code("internal_error"));
    transient(rooms.post("C0NONE", "k", "x").await);

    let reason = permanent(rooms.post("C0NONE", "k", "x").await);
    assert!(reason.contains("channel_not_found"), "{reason}");

    peer.revoke_scope("channels:manage");
    let reason = permanent(
        rooms_on(&peer, TOKEN)
            .open(&RoomIncident {
                number: 9,
                ..incident()
            })
            .await,
    );
    assert!(reason.contains("missing_scope"), "{reason}");
    assert!(reason.contains("channels:manage"), "{reason}");

    let reason = permanent(rooms_on(&peer, "xoxb-revoked").open(&incident()).await);
    assert!(reason.contains("invalid_auth"), "{reason}");
    assert!(reason.contains("--slack-bot-token"), "{reason}");

    // Nothing listening: a transport failure, worth a retry.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = format!("http://{}/api", listener.local_addr().unwrap());
    drop(listener);
    let offline = SlackRooms::new(WebApi::new(TOKEN, &closed, Duration::from_secs(1)).unwrap());
    transient(offline.open(&incident()).await);
}

#[tokio::test]
async fn a_channel_is_found_again_and_an_archived_namesake_is_a_refusal() {
    let peer = peer().await;
    let rooms = rooms_on(&peer, TOKEN);
    let room = rooms.open(&incident()).await.unwrap();
    // Opened again (a restart before the room was recorded): the same one.
    assert_eq!(rooms.open(&incident()).await.unwrap(), room);
    assert_eq!(
        peer.calls_of("conversations.join").len(),
        0,
        "the bot is in it"
    );

    peer.add_channel("C0OLD", "inc-10-checkout-returns-502", &[BOT_USER]);
    peer.archive("C0OLD");
    let reason = permanent(
        rooms
            .open(&RoomIncident {
                number: 10,
                ..incident()
            })
            .await,
    );
    assert!(reason.contains("#inc-10-checkout-returns-502"), "{reason}");
    assert!(reason.contains("archived"), "{reason}");
}

#[tokio::test]
async fn the_client_knows_who_it_is_and_reads_emails() {
    let peer = peer().await;
    let api = WebApi::new(TOKEN, &peer.base, Duration::from_secs(2)).unwrap();
    let me = api.auth_test().await.unwrap();
    assert_eq!(me.user_id, BOT_USER);
    assert_eq!(
        api.member_email(BOB).await.unwrap().as_deref(),
        Some("bob@example.com")
    );
    let e = api.member_email("U0NOBODY").await.unwrap_err();
    assert_eq!(e.code(), Some("user_not_found"));
    // Without users:read.email Slack leaves the email out.
    peer.revoke_scope("users:read.email");
    assert_eq!(api.member_email(BOB).await.unwrap(), None);
    peer.revoke_scope("users:read");
    let e = api.member_email(BOB).await.unwrap_err();
    assert!(e.to_string().contains("users:read"), "{e}");
    // Read methods went as forms, with the token.
    assert!(peer.calls_of("users.info").iter().all(|c| !c.json));
    let bad = WebApi::new("xoxb-wrong", &peer.base, Duration::from_secs(2)).unwrap();
    assert_eq!(
        bad.auth_test().await.unwrap_err().code(),
        Some("invalid_auth")
    );
}
