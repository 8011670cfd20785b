//! Running an incident, on both backends, with the demo organisation: a
//! Sev2 from declaration to closed review, merging, reopening a closed
//! incident, commander hand-over races, overdue stakeholder updates and
//! action items reminding their people. Time is a [`ManualClock`].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod support;
use support::*;

use jiff::SignedDuration;
use std::sync::Arc;
use tocsin_core::clock::{Clock, ManualClock};
use tocsin_core::engine::{Engine, Module};
use tocsin_core::incident;
use tocsin_core::reminders::{ActionItemReminders, UpdateReminders};
use tocsin_core::response::{self, Actor, Declaration, ResponseError};
use tocsin_core::review;
use tocsin_domain::alerting::IncidentStatus;
use tocsin_domain::catalog::Target;
use tocsin_domain::response::{Audience, Interface, Lifecycle, Role, UpdateState};
use tocsin_domain::{Name, Severity};
use tocsin_store::Store;
use tocsin_store::notify::Purpose;

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn web(who: &tocsin_domain::access::Principal) -> Actor<'_> {
    Actor {
        who,
        via: Interface::Web,
    }
}

async fn kinds(store: &Arc<dyn Store>, n: i64) -> Vec<String> {
    store
        .incident_timeline(n)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.kind)
        .collect()
}

fn declaration(title: &str, severity: Severity, page: bool) -> Declaration {
    Declaration {
        title: title.into(),
        service: name("checkout"),
        also_services: vec![name("ledger")],
        severity,
        summary: Some("Card payments fail for some customers".into()),
        page,
    }
}

/// Carol declares a Sev3 without paging (she is on it: commander), raises
/// it to Sev2, hands command to alice, pages bob in, notes and pins what
/// fixed it, resolves; closing is refused until the review is done; a
/// stale save of the review is refused; marked done, it closes. Every step
/// is on the timeline.
async fn a_sev2_runs_from_declaration_to_closed_review(db: Db) {
    let store = db.open(true).await;
    let clock = ManualClock::new(at("2026-03-02T10:00:00Z"));
    tocsin_core::demo::load_if_empty(store.as_ref(), clock.now())
        .await
        .unwrap();
    let carol = responder("carol");
    let s = store.as_ref();
    let bad = response::declare(
        s,
        web(&carol),
        &declaration(" ", Severity::Sev3, false),
        clock.now(),
    )
    .await;
    assert!(
        matches!(bad, Err(ResponseError::Invalid(ref e)) if e.field == "title"),
        "{bad:?}"
    );
    let inc = response::declare(
        s,
        web(&carol),
        &declaration("Card payments failing", Severity::Sev3, false),
        clock.now(),
    )
    .await
    .unwrap();
    let n = inc.number;
    assert_eq!(inc.status, IncidentStatus::Acknowledged);
    let r = store.response(n).await.unwrap();
    assert_eq!(r.roles.len(), 1);
    assert_eq!(
        (r.roles[0].role, r.roles[0].user.as_str()),
        (Role::Commander, "carol")
    );
    assert_eq!(r.also_services, [name("ledger")]);

    clock.advance(SignedDuration::from_mins(2));
    let inc = response::set_severity(s, web(&carol), n, Severity::Sev2, clock.now())
        .await
        .unwrap();
    assert_eq!(inc.severity, Severity::Sev2);
    let r = response::assign_role(
        s,
        web(&carol),
        n,
        Role::Commander,
        &name("alice"),
        clock.now(),
    )
    .await
    .unwrap();
    let commanders: Vec<&str> = r
        .roles
        .iter()
        .filter(|x| x.role == Role::Commander)
        .map(|x| x.user.as_str())
        .collect();
    assert_eq!(commanders, ["alice"], "a hand-over, not a second commander");
    let r = response::add_responders(
        s,
        web(&carol),
        n,
        &Target::User(name("bob")),
        Some("need payments DB access"),
        clock.now(),
    )
    .await
    .unwrap();
    assert!(
        r.roles
            .iter()
            .any(|x| x.role == Role::Responder && x.user.as_str() == "bob")
    );
    let bob_paged = store
        .incident_notifications(n, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|x| x.user.as_ref().is_some_and(|u| u.as_str() == "bob"))
        .count();
    assert!(bob_paged > 0, "bob is paged through his own rules");

    clock.advance(SignedDuration::from_mins(10));
    response::note(
        s,
        web(&carol),
        n,
        "Restarted the payment workers; errors stopped",
        clock.now(),
    )
    .await
    .unwrap();
    let note_id = store
        .incident_timeline(n)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.kind == "note")
        .unwrap()
        .id;
    response::pin(s, web(&carol), n, note_id, true, clock.now())
        .await
        .unwrap();
    clock.advance(SignedDuration::from_mins(3));
    incident::resolve(s, web(&carol), n, Some("workers restarted"), clock.now())
        .await
        .unwrap();

    let required = [Severity::Sev1, Severity::Sev2];
    let refused = response::close(s, web(&carol), n, &required, clock.now()).await;
    assert!(
        matches!(refused, Err(ResponseError::Conflict(ref m)) if m.contains("review")),
        "{refused:?}"
    );
    let draft = review::load(s, &carol, n).await.unwrap();
    assert_eq!(draft.version, 0);
    assert_eq!(
        draft.review.summary,
        "Card payments fail for some customers"
    );
    let moments: Vec<&str> = draft
        .review
        .key_moments
        .iter()
        .map(|m| m.text.as_str())
        .collect();
    assert!(
        moments
            .iter()
            .any(|m| m.contains("Restarted the payment workers")),
        "{moments:?}"
    );
    assert!(
        moments.iter().any(|m| m.contains("Sev3 to Sev2")),
        "{moments:?}"
    );
    assert_eq!(draft.facts.commander.as_deref(), Some("alice"));
    let mut text = draft.review.clone();
    text.contributing_factors = "The worker pool should have been restarted sooner.".into();
    let saved = review::save(s, web(&carol), n, &text, false, 0, clock.now())
        .await
        .unwrap();
    assert_eq!(saved.version, 1);
    assert!(
        saved
            .advice
            .iter()
            .any(|(field, f)| *field == "contributing_factors" && f.phrase.contains("should have")),
        "the blameless check advises"
    );
    let stale = review::save(s, web(&carol), n, &text, true, 0, clock.now()).await;
    assert!(
        matches!(stale, Err(ResponseError::Conflict(_))),
        "{stale:?}"
    );
    review::save(s, web(&carol), n, &text, true, 1, clock.now())
        .await
        .unwrap();
    let md = review::markdown(s, &carol, n).await.unwrap();
    assert!(
        md.contains("## Contributing factors") && md.contains("| Severity | Sev2 |"),
        "{md}"
    );
    let closed = response::close(s, web(&carol), n, &required, clock.now())
        .await
        .unwrap();
    assert_eq!(
        Lifecycle::of(closed.status, closed.closed_at),
        Lifecycle::Closed
    );
    let resolved = store
        .incident_timeline(n)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.kind == "incident.resolved")
        .unwrap();
    assert_eq!(resolved.detail["via"], "web", "the interface is recorded");
    assert_eq!(
        tocsin_domain::response::timeline::describe(&resolved.kind, &resolved.detail),
        "resolved by carol: workers restarted"
    );
    let k = kinds(&store, n).await;
    for expected in [
        "incident.declared",
        "incident.severity",
        "role.handed_over",
        "responders.added",
        "responder.page",
        "note",
        "incident.resolved",
        "review.saved",
        "review.done",
        "incident.closed",
    ] {
        assert!(
            k.contains(&expected.to_owned()),
            "{expected} missing from {k:?}"
        );
    }
    store.close().await;
}
on_both_backends!(a_sev2_runs_from_declaration_to_closed_review);

/// Two people hand command over at once: one wins, the other is told the
/// incident changed, and there is never a second commander.
async fn commander_hand_overs_race_safely(db: Db) {
    let store = db.open(true).await;
    let clock = ManualClock::new(at("2026-03-02T10:00:00Z"));
    tocsin_core::demo::load_if_empty(store.as_ref(), clock.now())
        .await
        .unwrap();
    let carol = responder("carol");
    let alice = responder("alice");
    let n = response::declare(
        store.as_ref(),
        web(&carol),
        &declaration("Latency", Severity::Sev2, false),
        clock.now(),
    )
    .await
    .unwrap()
    .number;
    let (to_alice, to_bob) = (name("alice"), name("bob"));
    let (a, b) = tokio::join!(
        response::assign_role(
            store.as_ref(),
            web(&carol),
            n,
            Role::Commander,
            &to_alice,
            clock.now()
        ),
        response::assign_role(
            store.as_ref(),
            web(&alice),
            n,
            Role::Commander,
            &to_bob,
            clock.now()
        ),
    );
    // Both may succeed one after the other (a hand-over of a hand-over) if
    // the second read after the first wrote; what never happens is two
    // commanders, or a loser that is not told.
    for r in [&a, &b] {
        assert!(
            r.is_ok() || matches!(r, Err(ResponseError::Conflict(_))),
            "{r:?}"
        );
    }
    let commanders = store
        .response(n)
        .await
        .unwrap()
        .roles
        .into_iter()
        .filter(|r| r.role == Role::Commander)
        .count();
    assert_eq!(commanders, 1);
    let unknown = response::assign_role(
        store.as_ref(),
        web(&carol),
        n,
        Role::Scribe,
        &name("nobody"),
        clock.now(),
    )
    .await;
    assert!(matches!(unknown, Err(ResponseError::Invalid(ref e)) if e.field == "user"));
    store.close().await;
}
on_both_backends!(commander_hand_overs_race_safely);

/// An alert's incident merged into a declared one: its alerts continue
/// there, it is resolved and points at the other; both timelines say so.
async fn merging_moves_alerts_and_resolves_the_duplicate(db: Db) {
    let store = db.open(true).await;
    let clock = ManualClock::new(at("2026-03-02T10:00:00Z"));
    tocsin_core::demo::load_if_empty(store.as_ref(), clock.now())
        .await
        .unwrap();
    let carol = responder("carol");
    let main = response::declare(
        store.as_ref(),
        web(&carol),
        &Declaration {
            service: name("ledger"),
            also_services: vec![],
            ..declaration("Payments API down", Severity::Sev1, false)
        },
        clock.now(),
    )
    .await
    .unwrap()
    .number;
    let dup = checkout_incident(&store, clock.now(), "trigger")
        .await
        .unwrap();
    assert_ne!(dup, main);
    let into = response::merge(store.as_ref(), web(&carol), dup, main, clock.now())
        .await
        .unwrap();
    assert_eq!(into.number, main);
    assert_eq!(into.open_alerts, 1);
    let merged = store.get_incident(dup).await.unwrap().unwrap();
    assert_eq!(merged.status, IncidentStatus::Resolved);
    assert_eq!(merged.merged_into, Some(main));
    assert_eq!(store.incident_alerts(main).await.unwrap().len(), 1);
    assert!(
        kinds(&store, dup)
            .await
            .contains(&"incident.merged".to_owned())
    );
    assert!(
        kinds(&store, main)
            .await
            .contains(&"incident.merged_in".to_owned())
    );
    let again = response::merge(store.as_ref(), web(&carol), dup, main, clock.now()).await;
    assert!(
        matches!(again, Err(ResponseError::Conflict(_))),
        "{again:?}"
    );
    store.close().await;
}
on_both_backends!(merging_moves_alerts_and_resolves_the_duplicate);

/// A closed incident that is reopened is open again, and once resolved
/// again it is resolved — not closed — until it is closed again.
async fn a_reopened_closed_incident_needs_closing_again(db: Db) {
    let store = db.open(true).await;
    let clock = ManualClock::new(at("2026-03-02T10:00:00Z"));
    tocsin_core::demo::load_if_empty(store.as_ref(), clock.now())
        .await
        .unwrap();
    let carol = responder("carol");
    let s = store.as_ref();
    let n = response::declare(
        s,
        web(&carol),
        &declaration("Blip", Severity::Sev4, false),
        clock.now(),
    )
    .await
    .unwrap()
    .number;
    incident::resolve(s, web(&carol), n, None, clock.now())
        .await
        .unwrap();
    let closed = response::close(s, web(&carol), n, &[Severity::Sev1], clock.now())
        .await
        .unwrap();
    assert!(closed.closed_at.is_some(), "Sev4 needs no review here");
    let reopened = incident::reopen(s, web(&carol), n, Some("back again"), clock.now())
        .await
        .unwrap();
    assert_eq!(
        Lifecycle::of(reopened.status, reopened.closed_at),
        Lifecycle::Triggered
    );
    let resolved = incident::resolve(s, web(&carol), n, None, clock.now())
        .await
        .unwrap();
    assert_eq!(
        Lifecycle::of(resolved.status, resolved.closed_at),
        Lifecycle::Resolved
    );
    store.close().await;
}
on_both_backends!(a_reopened_closed_incident_needs_closing_again);

fn reminder_engine(store: &Arc<dyn Store>, clock: &ManualClock) -> Engine {
    let c: Arc<dyn Clock> = Arc::new(clock.clone());
    Engine::new(store.clone(), c.clone(), "reminders")
        .with_handler(Arc::new(UpdateReminders::new(store.clone(), c)))
}

/// Stakeholders get each update (a channel as written, a team's members
/// by their own rules) with its text; with a 30-minute cadence the
/// commander is reminded when an update is overdue — not before, not for
/// a due time a later update moved.
async fn overdue_updates_remind_the_commander(db: Db) {
    let store = db.open(true).await;
    let clock = ManualClock::new(at("2026-03-02T10:00:00Z"));
    tocsin_core::demo::load_if_empty(store.as_ref(), clock.now())
        .await
        .unwrap();
    let carol = responder("carol");
    let s = store.as_ref();
    let n = response::declare(
        s,
        web(&carol),
        &declaration("Slow checkout", Severity::Sev2, false),
        clock.now(),
    )
    .await
    .unwrap()
    .number;
    response::add_stakeholder(s, web(&carol), n, "email:leads@example.com", clock.now())
        .await
        .unwrap();
    response::add_stakeholder(s, web(&carol), n, "team:payments", clock.now())
        .await
        .unwrap();
    let bad = response::add_stakeholder(s, web(&carol), n, "pager:123", clock.now()).await;
    assert!(
        matches!(bad, Err(ResponseError::Invalid(ref e)) if e.field == "stakeholder"),
        "{bad:?}"
    );
    response::set_cadence(s, web(&carol), n, Some(30), clock.now())
        .await
        .unwrap();
    let e = reminder_engine(&store, &clock);

    clock.advance(SignedDuration::from_mins(10));
    response::post_update(
        s,
        web(&carol),
        n,
        UpdateState::Identified,
        Audience::Internal,
        "A slow query in the payments DB; rolling back the index change.",
        clock.now(),
    )
    .await
    .unwrap();
    let updates: Vec<_> = store
        .incident_notifications(n, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|x| x.purpose == Purpose::Update)
        .collect();
    assert!(
        updates
            .iter()
            .any(|x| x.address == "leads@example.com" && x.user.is_none())
    );
    assert!(
        updates
            .iter()
            .any(|x| x.user.as_ref().is_some_and(|u| u.as_str() == "alice"))
    );
    let text = store
        .notification_text(&updates[0].key)
        .await
        .unwrap()
        .unwrap();
    assert!(text.starts_with("Identified: A slow query"), "{text}");
    let r = store.response(n).await.unwrap();
    assert_eq!(r.next_update_due, Some(at("2026-03-02T10:40:00Z")));

    // 10:31: the first reminder's due time (10:30) was moved by the update.
    clock.set(at("2026-03-02T10:31:00Z"));
    e.cycle().await.unwrap();
    assert!(
        !kinds(&store, n)
            .await
            .contains(&"update.overdue".to_owned())
    );
    // 10:41: overdue; carol (commander) is reminded, once.
    clock.set(at("2026-03-02T10:41:00Z"));
    e.cycle().await.unwrap();
    e.cycle().await.unwrap();
    let overdue = kinds(&store, n)
        .await
        .iter()
        .filter(|k| *k == "update.overdue")
        .count();
    assert_eq!(overdue, 1);
    let reminders: Vec<_> = store
        .incident_notifications(n, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|x| x.purpose == Purpose::Update && x.key.starts_with("update_reminder:"))
        .collect();
    assert!(!reminders.is_empty());
    assert!(
        reminders
            .iter()
            .all(|x| x.user.as_ref().is_some_and(|u| u.as_str() == "carol"))
    );
    let text = store
        .notification_text(&reminders[0].key)
        .await
        .unwrap()
        .unwrap();
    assert!(text.contains("overdue"), "{text}");
    store.close().await;
}
on_both_backends!(overdue_updates_remind_the_commander);

/// An action item due yesterday reminds its owner once a day, and no
/// more once it is done.
async fn overdue_action_items_remind_their_owner_daily(db: Db) {
    let store = db.open(true).await;
    let clock = ManualClock::new(at("2026-03-02T10:00:00Z"));
    tocsin_core::demo::load_if_empty(store.as_ref(), clock.now())
        .await
        .unwrap();
    let carol = responder("carol");
    let s = store.as_ref();
    let n = response::declare(
        s,
        web(&carol),
        &declaration("Disk full", Severity::Sev3, false),
        clock.now(),
    )
    .await
    .unwrap()
    .number;
    incident::resolve(s, web(&carol), n, None, clock.now())
        .await
        .unwrap();
    let item = review::add_action_item(
        s,
        web(&carol),
        n,
        "Alert on disk usage at 80 %",
        &name("bob"),
        "2026-03-05".parse().unwrap(),
        clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(item.team, Some(name("payments")));
    let module = ActionItemReminders::new(store.clone());
    assert_eq!(module.pass(clock.now()).await.unwrap(), 0, "not due yet");
    clock.set(at("2026-03-06T09:00:00Z"));
    assert_eq!(module.pass(clock.now()).await.unwrap(), 1);
    clock.set(at("2026-03-06T15:00:00Z"));
    assert_eq!(module.pass(clock.now()).await.unwrap(), 0, "once a day");
    clock.set(at("2026-03-07T09:30:00Z"));
    assert_eq!(
        module.pass(clock.now()).await.unwrap(),
        1,
        "the next day again"
    );
    review::set_action_item_done(s, web(&carol), n, item.id, true, clock.now())
        .await
        .unwrap();
    clock.set(at("2026-03-08T09:30:00Z"));
    assert_eq!(module.pass(clock.now()).await.unwrap(), 0, "done: no more");
    module.tick(clock.now()).await.unwrap();
    let told = store
        .incident_notifications(n, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|x| x.key.starts_with("action_item_reminder:"))
        .filter(|x| x.user.as_ref().is_some_and(|u| u.as_str() == "bob"))
        .count();
    assert!(told >= 2, "{told}");
    store.close().await;
}
on_both_backends!(overdue_action_items_remind_their_owner_daily);

/// A viewer reads but does not act; a responder of another team may
/// declare on any service but not act on its incidents unless given a role.
async fn who_may_act(db: Db) {
    let store = db.open(true).await;
    let clock = ManualClock::new(at("2026-03-02T10:00:00Z"));
    tocsin_core::demo::load_if_empty(store.as_ref(), clock.now())
        .await
        .unwrap();
    let s = store.as_ref();
    let mut viewer = responder("dave");
    viewer.role = tocsin_domain::access::Role::Viewer;
    let refused = response::declare(
        s,
        web(&viewer),
        &declaration("x", Severity::Sev3, false),
        clock.now(),
    )
    .await;
    assert!(
        matches!(refused, Err(ResponseError::Denied(_))),
        "{refused:?}"
    );
    let mut outsider = responder("dave");
    outsider.teams = [name("platform")].into();
    let n = response::declare(
        s,
        web(&outsider),
        &declaration("Seen from platform", Severity::Sev3, false),
        clock.now(),
    )
    .await
    .unwrap()
    .number;
    // dave declared it without paging: he is its commander, so he may act.
    response::note(s, web(&outsider), n, "checking", clock.now())
        .await
        .unwrap();
    let mut stranger = responder("erin");
    stranger.teams = [name("platform")].into();
    let denied = response::note(s, web(&stranger), n, "hello", clock.now()).await;
    assert!(
        matches!(denied, Err(ResponseError::Denied(_))),
        "{denied:?}"
    );
    store.close().await;
}
on_both_backends!(who_may_act);
