//! The Matrix ChatOps bot and the incident rooms against a real
//! homeserver: Synapse, started by the shared harness
//! (`support/synapse.rs`, which says how to install it), and a hub's
//! SQLite store with a catalog (`support/catalog.rs`).
//!
//! People are registered on Synapse and type in rooms as a Matrix client
//! would; the bot is driven one sync at a time ([`MatrixBot::sync_once`],
//! with no long poll), and what it did is read back from the store and
//! from the rooms. One test runs every scenario in turn, because starting
//! Synapse takes seconds and its guard must kill it when the test ends.
//!
//! Skipped, with a note on stderr, when the venv is missing — unless
//! `TOCSIN_PEER_TESTS=1` (CI sets it), when that is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::catalog;
use support::synapse::{Person, Synapse, synapse_python};
use tocsin_core::clock::{Clock, ManualClock, SystemClock};
use tocsin_core::engine::Module;
use tocsin_core::rooms::{IncidentRooms, RoomIncident, RoomService};
use tocsin_core::runbook::Runbooks;
use tocsin_domain::access::Role;
use tocsin_domain::alerting::IncidentStatus;
use tocsin_domain::catalog::Kind;
use tocsin_domain::ingest::{Event, EventAction};
use tocsin_domain::{Name, Severity};
use tocsin_notify::matrix::{BotError, CONFIRM_FIELD, CURSOR, MatrixBot, MatrixRooms, SyncReport};
use tocsin_store::{IngestItem, Store};

/// Alice (an account, a responder of the team that owns `cache`) is
/// `@alice:localhost` on Matrix; Bob is in the catalog with a Matrix id
/// but has no account. The action `say-hello` runs `/bin/echo`.
const MANIFEST: &str = r#"
users:
  - name: alice
    full_name: Alice Doe
    email: alice@example.com
    time_zone: UTC
    contact_methods:
      - { name: matrix, type: matrix, address: "@alice:localhost" }
  - name: bob
    full_name: Bob Roe
    email: bob@example.com
    time_zone: UTC
    contact_methods:
      - { name: matrix, type: matrix, address: "@bob:localhost" }
teams:
  - name: ops
    members: [alice, bob]
services:
  - name: cache
    team: ops
runbook_actions:
  - name: say-hello
    description: Says hello to a host
    team: ops
    parameters:
      - { name: target, required: true }
    command: ["/bin/echo", "hello {{ params.target }}"]
"#;

/// Syncs until `want` commands have been answered (the homeserver may
/// take a moment to hand a new event to `/sync`); the reports, merged.
async fn answered(bot: &mut MatrixBot, want: usize) -> SyncReport {
    let mut all = SyncReport::default();
    for _ in 0..50 {
        let r = bot.sync_once().await.unwrap();
        all.joined.extend(r.joined);
        all.answered.extend(r.answered);
        all.already_answered += r.already_answered;
        all.skipped_backlog |= r.skipped_backlog;
        if all.answered.len() >= want {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the bot answered {} of {want} commands", all.answered.len());
}

/// Syncs a few times and checks nothing is answered.
async fn quiet(bot: &mut MatrixBot) -> SyncReport {
    let mut all = SyncReport::default();
    for _ in 0..3 {
        let r = bot.sync_once().await.unwrap();
        assert!(r.answered.is_empty(), "answered {r:?}");
        all.joined.extend(r.joined);
        all.already_answered += r.already_answered;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    all
}

/// The bot's answer to `command` in `room`, as `reader` sees it: the
/// notice replying to it (exactly one).
async fn answer_to(reader: &Person, room: &str, bot: &str, command: &str) -> Value {
    let replies: Vec<Value> = reader
        .messages(room)
        .await
        .into_iter()
        .filter(|e| {
            e["sender"] == bot
                && e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == command
        })
        .collect();
    assert_eq!(replies.len(), 1, "one answer to {command}: {replies:#?}");
    let reply = replies.into_iter().next().unwrap();
    assert_eq!(reply["content"]["msgtype"], "m.notice", "{reply}");
    reply
}

fn body(event: &Value) -> &str {
    event["content"]["body"].as_str().unwrap_or_default()
}

/// An open Sev2 incident on `cache`, from an alert; its number.
async fn incident(store: &dyn Store, key: &str, now: jiff::Timestamp) -> i64 {
    let event = Event {
        action: EventAction::Trigger,
        dedup_key: key.into(),
        summary: format!("{key} is failing"),
        source: None,
        severity: Severity::Sev2,
        sender_severity: None,
        occurred_at: None,
        component: None,
        group: Some(key.into()),
        class: None,
        labels: Default::default(),
        details: Value::Null,
        links: vec![],
        images: vec![],
        note: None,
    };
    let item = IngestItem {
        integration: Name::parse("cache-prometheus").unwrap(),
        service: Name::parse("cache").unwrap(),
        event,
        received_at: now,
        request_id: None,
    };
    store
        .ingest(&[item], &Default::default(), now)
        .await
        .unwrap()[0]
        .incident
        .unwrap()
}

/// The timeline entries of `kind` on incident `n`.
async fn entries(store: &dyn Store, n: i64, kind: &str) -> Vec<tocsin_store::TimelineRecord> {
    store
        .incident_timeline(n)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responders_run_incidents_from_synapse_rooms() {
    let Some(python) = synapse_python("responders_run_incidents_from_synapse_rooms") else {
        return;
    };
    let synapse = Synapse::start(&python).await;
    let tocsin = synapse.register("tocsin").await;
    let alice = synapse.register("alice").await;
    let bob = synapse.register("bob").await;
    let mallory = synapse.register("mallory").await;
    assert_eq!(alice.user_id, "@alice:localhost");

    let (_db, store) = catalog::sqlite().await;
    let clock = ManualClock::new(SystemClock.now());
    catalog::apply(store.as_ref(), MANIFEST, clock.now()).await;
    catalog::account(store.as_ref(), "alice", Role::Responder, clock.now()).await;
    let first = incident(store.as_ref(), "redis-latency", clock.now()).await;
    let runbooks = Runbooks::new(vec!["/bin/echo".into()]);
    let new_bot = || {
        MatrixBot::new(
            &tocsin.config(),
            store.clone(),
            Arc::new(clock.clone()),
            runbooks.clone(),
        )
        .unwrap()
        .with_poll(Duration::ZERO)
    };

    // --- The first start skips the backlog ------------------------------
    let ops = alice
        .create_room(json!({ "preset": "private_chat", "name": "ops" }))
        .await;
    for person in [&tocsin, &bob, &mallory] {
        alice
            .call(
                Method::POST,
                &["rooms", &ops, "invite"],
                Some(json!({ "user_id": person.user_id })),
            )
            .await;
    }
    // The bot account was in the room before tocsin ever ran.
    tocsin.join(&ops).await;
    bob.join(&ops).await;
    mallory.join(&ops).await;
    let old = alice
        .say(&ops, "!tocsin note #1 typed before tocsin ran")
        .await;
    let mut bot = new_bot();
    let r = bot.sync_once().await.unwrap();
    assert!(r.skipped_backlog, "{r:?}");
    assert!(r.answered.is_empty(), "{r:?}");
    assert!(store.chat_cursor(CURSOR).await.unwrap().is_some());
    quiet(&mut bot).await;
    assert!(entries(store.as_ref(), first, "note").await.is_empty());
    assert!(
        alice
            .messages(&ops)
            .await
            .iter()
            .all(|e| e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] != old.as_str()),
        "the backlog is not answered"
    );
    let before_ack = store.chat_cursor(CURSOR).await.unwrap().unwrap();

    // --- Acknowledge -----------------------------------------------------
    let ack = alice.say(&ops, &format!("!tocsin ack {first}")).await;
    let r = answered(&mut bot, 1).await;
    assert_eq!(r.answered, [ack.as_str()]);
    let inc = store.get_incident(first).await.unwrap().unwrap();
    assert_eq!(inc.status, IncidentStatus::Acknowledged);
    let acked = entries(store.as_ref(), first, "incident.acknowledged").await;
    assert_eq!(acked.len(), 1, "{acked:?}");
    assert_eq!(acked[0].actor, "alice");
    assert_eq!(acked[0].detail["via"], "matrix", "{:?}", acked[0].detail);
    let reply = answer_to(&alice, &ops, &tocsin.user_id, &ack).await;
    assert!(
        body(&reply).starts_with(&format!("#{first} acknowledged by alice")),
        "{reply}"
    );
    assert_eq!(
        reply["content"]["m.mentions"]["user_ids"],
        json!([alice.user_id])
    );

    // --- A note, addressing the bot by name ------------------------------
    let note = alice
        .say(
            &ops,
            &format!("tocsin: note #{first} Restarted redis on cache-1"),
        )
        .await;
    answered(&mut bot, 1).await;
    let notes = entries(store.as_ref(), first, "note").await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].actor, "alice");
    assert!(
        notes[0]
            .detail
            .to_string()
            .contains("Restarted redis on cache-1"),
        "{:?}",
        notes[0].detail
    );
    let reply = answer_to(&alice, &ops, &tocsin.user_id, &note).await;
    assert!(body(&reply).contains("note added by alice"), "{reply}");

    // --- A change logged -------------------------------------------------
    let log = alice
        .say(
            &ops,
            "@tocsin:localhost: log Upgraded redis --service cache",
        )
        .await;
    answered(&mut bot, 1).await;
    let changes = store
        .recent_changes(
            &Name::parse("cache").unwrap(),
            clock.now() - SignedDuration::from_hours(1),
            10,
        )
        .await
        .unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].event.summary, "Upgraded redis");
    assert_eq!(changes[0].event.details["via"], "matrix");
    let reply = answer_to(&alice, &ops, &tocsin.user_id, &log).await;
    assert!(
        body(&reply).starts_with("Change logged for cache by alice"),
        "{reply}"
    );

    // --- Maintenance -----------------------------------------------------
    let maint = alice
        .say(
            &ops,
            "!tocsin maintenance start cache for 1h Upgrading redis",
        )
        .await;
    answered(&mut bot, 1).await;
    let windows: Vec<String> = store
        .list_objects(Some(Kind::MaintenanceWindow))
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name.to_string())
        .filter(|n| n.starts_with("chat-cache-"))
        .collect();
    assert_eq!(windows.len(), 1, "{windows:?}");
    let reply = answer_to(&alice, &ops, &tocsin.user_id, &maint).await;
    assert!(
        body(&reply).starts_with("Maintenance started on cache by alice"),
        "{reply}"
    );

    // --- A runbook action, confirmed by replying to the prompt ----------
    let run = alice
        .say(&ops, &format!("!tocsin run say-hello on web-1 #{first}"))
        .await;
    answered(&mut bot, 1).await;
    let prompt = answer_to(&alice, &ops, &tocsin.user_id, &run).await;
    assert!(
        body(&prompt).starts_with("Confirm: run say-hello"),
        "{prompt}"
    );
    assert!(
        body(&prompt).contains("Reply `!tocsin confirm` to this message (within 5 minutes)"),
        "{prompt}"
    );
    assert_eq!(prompt["content"][CONFIRM_FIELD]["user"], "@alice:localhost");
    assert!(store.recent_runbook_runs(10).await.unwrap().is_empty());
    let prompt_id = prompt["event_id"].as_str().unwrap().to_owned();
    // Nobody else may confirm it.
    let stolen = bob.reply(&ops, &prompt_id, "!tocsin confirm").await;
    answered(&mut bot, 1).await;
    let reply = answer_to(&alice, &ops, &tocsin.user_id, &stolen).await;
    assert!(
        body(&reply).contains("Only @alice:localhost, who asked for this, can confirm it"),
        "{reply}"
    );
    assert!(store.recent_runbook_runs(10).await.unwrap().is_empty());
    // A confirmation that replies to no prompt.
    let stray = alice.say(&ops, "!tocsin confirm").await;
    answered(&mut bot, 1).await;
    let reply = answer_to(&alice, &ops, &tocsin.user_id, &stray).await;
    assert!(body(&reply).starts_with("Nothing to confirm"), "{reply}");
    // Alice confirms, as a client replies (with the quoted fallback).
    let yes = alice
        .reply(
            &ops,
            &prompt_id,
            &format!("> <{}> Confirm: run say-hello\n\nyes", tocsin.user_id),
        )
        .await;
    answered(&mut bot, 1).await;
    let runs = store.recent_runbook_runs(10).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].action.as_str(), "say-hello");
    assert_eq!(runs[0].actor, "alice");
    assert_eq!(runs[0].via, "matrix");
    assert_eq!(runs[0].incident, Some(first));
    assert_eq!(
        runs[0].outcome.map(|o| o.as_str()),
        Some("succeeded"),
        "{runs:?}"
    );
    assert_eq!(entries(store.as_ref(), first, "runbook.run").await.len(), 1);
    let reply = answer_to(&alice, &ops, &tocsin.user_id, &yes).await;
    assert!(body(&reply).contains("hello web-1"), "{reply}");

    // --- Who is asking ---------------------------------------------------
    let unknown = mallory.say(&ops, &format!("!tocsin ack {first}")).await;
    answered(&mut bot, 1).await;
    let reply = answer_to(&alice, &ops, &tocsin.user_id, &unknown).await;
    assert!(
        body(&reply).contains(
            "add a contact method of type `matrix` with your user id (@mallory:localhost)"
        ),
        "{reply}"
    );
    let no_account = bob.say(&ops, "!tocsin status").await;
    answered(&mut bot, 1).await;
    let reply = answer_to(&alice, &ops, &tocsin.user_id, &no_account).await;
    assert!(body(&reply).contains("tocsin user create bob"), "{reply}");

    // --- Chatter, and the bot's own notices, are left alone -------------
    alice.say(&ops, "thanks all, looking better now").await;
    bob.send_content(
        &ops,
        json!({ "msgtype": "m.notice", "body": "!tocsin ack 1" }),
    )
    .await;
    quiet(&mut bot).await;

    // --- A direct chat: every message is a command -----------------------
    let dm = alice
        .create_room(json!({
            "preset": "trusted_private_chat",
            "is_direct": true,
            "invite": [tocsin.user_id],
        }))
        .await;
    let r = quiet(&mut bot).await;
    assert_eq!(r.joined, [dm.as_str()], "the bot joins when invited");
    assert!(tocsin.joined_members(&dm).await.contains(&tocsin.user_id));
    let status = alice.say(&dm, "status cache").await;
    answered(&mut bot, 1).await;
    let reply = answer_to(&alice, &dm, &tocsin.user_id, &status).await;
    assert!(body(&reply).starts_with("Status of cache"), "{reply}");

    // --- Seen again from an older position: answered once ---------------
    let answers_before = alice.messages(&ops).await.len();
    store
        .set_chat_cursor(CURSOR, &before_ack, clock.now())
        .await
        .unwrap();
    // Eleven commands were answered since that position. Synapse may
    // replay them over several syncs (it caches sync answers for a while).
    let mut again = new_bot();
    let mut seen_again = 0;
    for _ in 0..60 {
        let r = again.sync_once().await.unwrap();
        assert!(r.answered.is_empty(), "answered again: {r:?}");
        seen_again += r.already_answered;
        if seen_again >= 11 {
            break;
        }
    }
    assert_eq!(seen_again, 11);
    quiet(&mut again).await;
    assert_eq!(alice.messages(&ops).await.len(), answers_before);
    assert_eq!(entries(store.as_ref(), first, "note").await.len(), 1);
    assert_eq!(store.recent_runbook_runs(10).await.unwrap().len(), 1);

    // --- A restart misses nothing sent while the bot was down -----------
    // More was said than one sync holds: the gap is read back.
    drop(again);
    drop(bot);
    let mut while_down = Vec::new();
    for i in 1..=3 {
        while_down.push(
            alice
                .say(
                    &ops,
                    &format!("!tocsin note #{first} typed while down ({i})"),
                )
                .await,
        );
        alice.say(&ops, "chatter while tocsin restarts").await;
    }
    let mut bot = new_bot().with_timeline_limit(2);
    let r = answered(&mut bot, 3).await;
    assert_eq!(r.answered, while_down, "in the order they were typed");
    assert_eq!(entries(store.as_ref(), first, "note").await.len(), 4);
    for command in &while_down {
        answer_to(&alice, &ops, &tocsin.user_id, command).await;
    }
    let mut bot = new_bot();

    // --- One room per serious incident ----------------------------------
    let declare = alice
        .say(&ops, "!tocsin incident new \"Cache is down\" sev1 cache")
        .await;
    answered(&mut bot, 1).await;
    let reply = answer_to(&alice, &ops, &tocsin.user_id, &declare).await;
    let sev1: i64 = body(&reply)
        .strip_prefix('#')
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no incident number in {reply}"));
    let rooms_service = Arc::new(MatrixRooms::new(&tocsin.config()).unwrap());
    let rooms = IncidentRooms::new(
        store.clone(),
        rooms_service.clone(),
        Severity::Sev1,
        Some("https://hub.example".into()),
    );
    rooms.tick(clock.now()).await.unwrap();
    let record = store
        .incident_room(sev1, "matrix")
        .await
        .unwrap()
        .expect("a room is recorded for the Sev1 incident");
    let room = record.room.clone();
    assert!(
        store
            .incident_room(first, "matrix")
            .await
            .unwrap()
            .is_none(),
        "a Sev2 incident gets no room"
    );
    let slug = format!("inc-{sev1}-cache-is-down");
    let by_alias = alice
        .call(
            Method::GET,
            &["directory", "room", &format!("#{slug}:localhost")],
            None,
        )
        .await;
    assert_eq!(by_alias["room_id"], room.as_str());
    assert!(
        alice.invites().await.contains(&room),
        "alice, the commander, is invited"
    );
    assert_eq!(record.invited, ["@alice:localhost"]);
    alice.join(&room).await;
    assert_eq!(
        alice.state(&room, "m.room.name").await["name"],
        format!("#{sev1} Cache is down")
    );
    let topic = alice.state(&room, "m.room.topic").await;
    assert_eq!(
        topic["topic"],
        format!("#{sev1} · Sev1 · cache: Cache is down · https://hub.example/incidents/{sev1}")
    );
    let lines = alice.messages(&room).await;
    assert!(!lines.is_empty());
    assert!(
        lines.iter().all(
            |e| e["sender"] == tocsin.user_id.as_str() && e["content"]["msgtype"] == "m.notice"
        )
    );
    assert!(
        lines.iter().any(|e| body(e).contains("declared")),
        "{lines:#?}"
    );
    // A second tick posts nothing again; opening again finds the room.
    rooms.tick(clock.now()).await.unwrap();
    assert_eq!(alice.messages(&room).await.len(), lines.len());
    let inc = store.get_incident(sev1).await.unwrap().unwrap();
    let again = rooms_service
        .open(&RoomIncident {
            number: sev1,
            title: inc.title,
            severity: inc.severity,
            service: inc.service,
            link: None,
        })
        .await
        .unwrap();
    assert_eq!(again, room);
    // A note typed in the incident room is run, and mirrored back.
    let in_room = alice
        .say(
            &room,
            &format!("!tocsin note #{sev1} Failing over to the replica"),
        )
        .await;
    answered(&mut bot, 1).await;
    answer_to(&alice, &room, &tocsin.user_id, &in_room).await;
    rooms.tick(clock.now()).await.unwrap();
    let lines = alice.messages(&room).await;
    assert!(
        lines.iter().any(|e| e["sender"] == tocsin.user_id.as_str()
            && body(e).starts_with('[')
            && body(e).contains("alice (from matrix): Failing over to the replica")),
        "{lines:#?}"
    );

    // --- Running until shutdown: the long poll answers, and stops -------
    drop(bot);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(
        MatrixBot::new(
            &tocsin.config(),
            store.clone(),
            Arc::new(clock.clone()),
            runbooks.clone(),
        )
        .unwrap()
        .with_poll(Duration::from_secs(30))
        .run(stopped),
    );
    let live = alice
        .say(
            &ops,
            &format!("!tocsin note #{first} answered by the running bot"),
        )
        .await;
    let mut waited = 0;
    while !alice
        .messages(&ops)
        .await
        .iter()
        .any(|e| e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == live.as_str())
    {
        waited += 1;
        assert!(waited < 100, "the running bot did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    answer_to(&alice, &ops, &tocsin.user_id, &live).await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the bot stops within its long poll")
        .unwrap();

    // --- A refused token is an error that says what to fix --------------
    let mut refused = MatrixBot::new(
        &tocsin_notify::matrix::Config {
            homeserver: synapse.base.clone(),
            access_token: "not-a-token".into(),
        },
        store.clone(),
        Arc::new(clock.clone()),
        runbooks.clone(),
    )
    .unwrap();
    match refused.sync_once().await {
        Err(e @ BotError::BadToken { .. }) => {
            let said = e.to_string();
            assert!(said.contains(&synapse.base), "{said}");
            assert!(said.contains("M_UNKNOWN_TOKEN"), "{said}");
            assert!(said.contains("--matrix-token"), "{said}");
        }
        other => panic!("want a bad token, got {other:?}"),
    }
}
