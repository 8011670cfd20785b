//! The ChatOps executor on both backends: each command runs the use case
//! it names, lands on the timeline (or the audit log) with who and through
//! which interface, and answers in words; refusals and help stay private.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod support;
use support::*;

use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;
use tocsin_core::chatops::{Answer, execute};
use tocsin_core::clock::Clock;
use tocsin_domain::Name;
use tocsin_domain::access::{Principal, Role};
use tocsin_domain::catalog::Kind;
use tocsin_domain::response::Interface;
use tocsin_store::Store;

async fn say(store: &Arc<dyn Store>, who: &Principal, text: &str, now: Timestamp) -> Answer {
    execute(
        store.as_ref(),
        &tocsin_core::runbook::Runbooks::default(),
        who,
        Interface::Cli,
        text,
        now,
    )
    .await
}

/// The last timeline entry of `kind` on `incident`, with its detail.
async fn last_entry(store: &Arc<dyn Store>, incident: i64, kind: &str) -> serde_json::Value {
    store
        .incident_timeline(incident)
        .await
        .unwrap()
        .into_iter()
        .rfind(|e| e.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} entry on #{incident}"))
        .detail
}

fn assert_public(a: &Answer, starts: &str) {
    assert!(a.ok, "{a:?}");
    assert!(a.public, "{a:?}");
    assert!(
        a.text.starts_with(starts),
        "{:?} should start {starts:?}",
        a.text
    );
}

fn assert_refused(a: &Answer, contains: &str) {
    assert!(!a.ok, "{a:?}");
    assert!(!a.public, "{a:?}");
    assert!(
        a.text.contains(contains),
        "{:?} should say {contains:?}",
        a.text
    );
}

async fn responder_runs_an_incident(db: Db) {
    let store = db.open(true).await;
    let (clock, n) = demo_incident(&store, "2026-03-10T10:00:00Z").await;
    let alice = responder("alice");
    let now = clock.now();

    let a = say(&store, &alice, &format!("ack {n}"), now).await;
    assert_public(&a, &format!("#{n} acknowledged by alice"));
    assert_eq!(
        last_entry(&store, n, "incident.acknowledged").await["via"],
        "cli"
    );

    let a = say(
        &store,
        &alice,
        &format!("note #{n} Restarted apache on web-2"),
        now,
    )
    .await;
    assert_public(&a, &format!("#{n}: note added by alice"));
    let e = last_entry(&store, n, "note").await;
    assert_eq!(e["text"], "Restarted apache on web-2");
    assert_eq!(e["via"], "cli");

    let a = say(
        &store,
        &alice,
        &format!("resolve {n} Needed a restart"),
        now,
    )
    .await;
    assert_public(&a, &format!("#{n} resolved by alice"));
    let e = last_entry(&store, n, "incident.resolved").await;
    assert_eq!(e["note"], "Needed a restart");
    assert_eq!(e["via"], "cli");

    let a = say(
        &store,
        &alice,
        "log Upgraded redis to 2.8.19 --service checkout",
        now,
    )
    .await;
    assert_public(&a, "Change logged for checkout by alice");
    let changes = store
        .recent_changes(
            &Name::parse("checkout").unwrap(),
            now - SignedDuration::from_hours(1),
            10,
        )
        .await
        .unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");

    let a = say(
        &store,
        &alice,
        r#"incident new "Checkout returns 502" sev2 checkout"#,
        now,
    )
    .await;
    assert!(a.ok && a.public, "{a:?}");
    let m: i64 = a.text[1..a.text.find(' ').unwrap()].parse().unwrap();
    assert!(
        a.text.contains("declared by alice: Checkout returns 502"),
        "{a:?}"
    );
    let e = last_entry(&store, m, "incident.declared").await;
    assert_eq!(e["via"], "cli");
    assert_eq!(e["severity"], "sev2");

    let a = say(&store, &alice, &format!("sev #{m} 1"), now).await;
    assert_public(
        &a,
        &format!("#{m} severity changed from Sev2 to Sev1 by alice"),
    );
    assert_eq!(
        last_entry(&store, m, "incident.severity").await["via"],
        "cli"
    );

    let a = say(&store, &alice, &format!("role #{m} scribe @carol"), now).await;
    assert_public(&a, &format!("#{m}: carol is now scribe"));
    let e = last_entry(&store, m, "role.assigned").await;
    assert_eq!(
        (e["user"].as_str(), e["via"].as_str()),
        (Some("carol"), Some("cli"))
    );

    let a = say(&store, &alice, &format!("page @bob #{m} Need a hand"), now).await;
    assert_public(&a, &format!("#{m}: @bob paged by alice"));
    assert!(a.text.contains("new responders: bob"), "{a:?}");
    let e = last_entry(&store, m, "responders.added").await;
    assert_eq!(e["via"], "cli");
    assert_eq!(e["message"], "Need a hand");

    let a = say(
        &store,
        &alice,
        &format!("update #{m} identified A bad deploy; rolling back"),
        now,
    )
    .await;
    assert_public(&a, &format!("#{m}: update posted by alice (Identified"));
    let e = last_entry(&store, m, "update.posted").await;
    assert_eq!(
        (
            e["state"].as_str(),
            e["audience"].as_str(),
            e["via"].as_str()
        ),
        (Some("identified"), Some("internal"), Some("cli"))
    );
    let a = say(&store, &alice, &format!("update #{m} Rollback done"), now).await;
    assert_public(&a, &format!("#{m}: update posted by alice (Identified"));

    let a = say(&store, &alice, &format!("escalate #{m}"), now).await;
    assert_public(&a, &format!("#{m} escalated to level 1 by alice"));
    assert_eq!(
        last_entry(&store, m, "escalation.manual").await["by"],
        "alice"
    );

    let a = say(
        &store,
        &alice,
        "maintenance start checkout for 2h Upgrading postgres",
        now,
    )
    .await;
    assert_public(&a, "Maintenance started on checkout by alice");
    let windows = store
        .list_objects(Some(Kind::MaintenanceWindow))
        .await
        .unwrap();
    let w = windows
        .iter()
        .find(|w| w.name.as_str().starts_with("chat-checkout-"))
        .expect("the window");
    assert!(!w.managed);
    assert_eq!(w.spec["duration"], "120m");
    assert_eq!(w.spec["reason"], "Upgrading postgres");
    let name = w.name.clone();

    let later = now + SignedDuration::from_mins(5);
    let a = say(&store, &alice, "maintenance stop checkout", later).await;
    assert_public(&a, "Maintenance ended on checkout by alice");
    assert!(
        store
            .get_object(Kind::MaintenanceWindow, &name)
            .await
            .unwrap()
            .is_none()
    );
    let a = say(&store, &alice, "maintenance stop checkout", later).await;
    assert_refused(&a, "no maintenance window");

    let a = say(&store, &alice, "status checkout", later).await;
    assert!(a.ok && !a.public, "{a:?}");
    assert!(
        a.text.starts_with("Status of checkout: 1 open incident"),
        "{a:?}"
    );
    assert!(
        a.text
            .contains(&format!("#{m} Sev1 · acknowledged · checkout")),
        "{a:?}"
    );
    assert!(a.text.contains("payments-primary: "), "{a:?}");

    let a = say(&store, &alice, "oncall payments", later).await;
    assert!(a.ok && !a.public, "{a:?}");
    assert!(a.text.contains("payments-primary: "), "{a:?}");
}
on_both_backends!(responder_runs_an_incident);

async fn refusals_and_help_are_private(db: Db) {
    let store = db.open(true).await;
    let (clock, n) = demo_incident(&store, "2026-03-10T10:00:00Z").await;
    let now = clock.now();
    let viewer = Principal {
        role: Role::Viewer,
        ..responder("dave")
    };

    let a = say(&store, &viewer, &format!("ack {n}"), now).await;
    assert!(!a.ok && !a.public, "{a:?}");
    let a = say(&store, &viewer, &format!("note {n} hello"), now).await;
    assert!(!a.ok && !a.public, "{a:?}");
    assert!(
        store
            .incident_timeline(n)
            .await
            .unwrap()
            .iter()
            .all(|e| e.kind != "note"),
        "a refused note is not written"
    );
    let a = say(&store, &viewer, "log hi --service checkout", now).await;
    assert!(!a.ok && !a.public, "{a:?}");

    let a = say(&store, &viewer, "maintenance start checkout", now).await;
    assert!(!a.ok && !a.public, "{a:?}");
    assert!(
        store
            .list_objects(Some(Kind::MaintenanceWindow))
            .await
            .unwrap()
            .iter()
            .all(|w| !w.name.as_str().starts_with("chat-")),
        "a refused window is not written"
    );

    let a = say(&store, &viewer, "akc 8", now).await;
    assert_refused(&a, "did you mean \"ack\"");

    let a = say(&store, &viewer, "check checkout", now).await;
    assert_refused(&a, "not configured");
    let a = say(&store, &viewer, "run restart-web on web-2", now).await;
    assert_refused(&a, "no runbook action named restart-web");

    let a = say(&store, &viewer, "help", now).await;
    assert!(a.ok && !a.public, "{a:?}");
    assert!(a.text.starts_with("Commands"), "{a:?}");
    let a = say(&store, &viewer, "help ack", now).await;
    assert!(
        a.ok && !a.public && a.text.starts_with("usage: ack"),
        "{a:?}"
    );

    let alice = responder("alice");
    let a = say(&store, &alice, "ack 9999", now).await;
    assert_refused(&a, "no incident #9999");
    let a = say(&store, &alice, "page @bob #9999", now).await;
    assert_refused(&a, "no incident #9999");
    let a = say(&store, &alice, "update #9999 All good", now).await;
    assert_refused(&a, "no incident #9999");
    let a = say(&store, &alice, "sev #9999 2", now).await;
    assert_refused(&a, "no incident #9999");
    let a = say(&store, &alice, "page @bob", now).await;
    assert_refused(&a, "which incident");
}
on_both_backends!(refusals_and_help_are_private);
