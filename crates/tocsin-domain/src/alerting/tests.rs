use super::*;
use crate::ingest::{Event, EventAction};
use crate::{Name, Severity};
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::Arc;

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn ev(action: EventAction, key: &str, sev: Severity, group: Option<&str>) -> Event {
    Event {
        action,
        dedup_key: key.into(),
        summary: format!("{key} is broken"),
        source: None,
        severity: sev,
        sender_severity: None,
        occurred_at: None,
        component: None,
        group: group.map(str::to_owned),
        class: None,
        labels: Default::default(),
        details: serde_json::Value::Null,
        links: vec![],
        images: vec![],
        note: None,
    }
}

fn t(min: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + min * 60).unwrap()
}

use EventAction::*;
use Severity::*;

#[test]
fn dedup_counts_and_reopens_after_resolve() {
    let mut s = Snapshot::default();
    let svc = n("checkout");
    let d1 = decide(&mut s, &svc, &ev(Trigger, "k", Sev2, None), t(0));
    assert!(
        d1.page
            && matches!(
                d1.outcome,
                Outcome::Opened {
                    new_incident: true,
                    ..
                }
            )
    );
    let d2 = decide(&mut s, &svc, &ev(Trigger, "k", Sev2, None), t(1));
    assert_eq!(d2.outcome, Outcome::Counted { alert: 0 });
    assert!(!d2.page);
    assert_eq!((s.alerts.len(), s.alerts[0].count), (1, 2));
    let d3 = decide(&mut s, &svc, &ev(Resolve, "k", Sev2, None), t(2));
    assert!(d3.incident_resolved);
    assert_eq!(s.incidents[0].status, IncidentStatus::Resolved);
    let d4 = decide(&mut s, &svc, &ev(Resolve, "k", Sev2, None), t(3));
    assert!(matches!(d4.outcome, Outcome::Ignored { .. }));
    let d5 = decide(&mut s, &svc, &ev(Trigger, "k", Sev2, None), t(4));
    assert!(d5.page, "a trigger after resolve is a new problem");
    assert_eq!((s.alerts.len(), s.incidents.len()), (2, 2));
}

#[test]
fn one_group_is_one_incident() {
    let mut s = Snapshot::default();
    let svc = n("checkout");
    let pages: usize = (0..50)
        .map(|i| {
            decide(
                &mut s,
                &svc,
                &ev(Trigger, &format!("a{i}"), Sev3, Some("g1")),
                t(i),
            )
            .page as usize
        })
        .sum();
    assert_eq!(pages, 1);
    assert_eq!(s.incidents.len(), 1);
    assert_eq!(s.incidents[0].open_alerts, 50);
    // Another group of the same service is another problem.
    assert!(decide(&mut s, &svc, &ev(Trigger, "b", Sev3, Some("g2")), t(60)).page);
    // Worse alerts raise the incident's severity.
    decide(&mut s, &svc, &ev(Trigger, "c", Sev1, Some("g1")), t(61));
    assert_eq!(s.incidents[0].severity, Sev1);
    // The incident resolves with its last alert.
    for i in 0..50 {
        assert!(
            !decide(
                &mut s,
                &svc,
                &ev(Resolve, &format!("a{i}"), Sev3, None),
                t(70)
            )
            .incident_resolved
        );
    }
    assert!(decide(&mut s, &svc, &ev(Resolve, "c", Sev1, None), t(71)).incident_resolved);
}

#[test]
fn a_broken_dependency_pages_once() {
    let deps = HashMap::from([
        (n("checkout"), vec![n("postgres")]),
        (n("ledger"), vec![n("postgres")]),
    ]);
    let policy = Policy {
        depends_on: deps,
        ..Policy::default()
    };
    let mut s = Snapshot::new(vec![], vec![], Arc::new(policy));
    assert!(
        decide(
            &mut s,
            &n("postgres"),
            &ev(Trigger, "pg-down", Sev1, None),
            t(0)
        )
        .page
    );
    let mut pages = 0;
    for i in 0..10_000 {
        let svc = if i % 2 == 0 {
            n("checkout")
        } else {
            n("ledger")
        };
        let d = decide(
            &mut s,
            &svc,
            &ev(Trigger, &format!("x{i}"), Sev2, Some(&format!("g{i}"))),
            t(1),
        );
        assert!(matches!(
            d.outcome,
            Outcome::Opened {
                via_dependency: true,
                new_incident: false,
                ..
            }
        ));
        pages += d.page as usize;
    }
    assert_eq!((pages, s.incidents.len()), (0, 1), "one incident, one page");
    assert_eq!(s.incidents[0].open_alerts, 10_001);
}

#[test]
fn informational_alerts_never_page() {
    let mut s = Snapshot::default();
    let d = decide(
        &mut s,
        &n("checkout"),
        &ev(Trigger, "fyi", Sev5, None),
        t(0),
    );
    assert_eq!((d.page, d.incident), (false, None));
    assert!(s.incidents.is_empty());
    assert_eq!(s.alerts.len(), 1);
}

#[test]
fn acknowledging_an_alert_acknowledges_its_incident() {
    let mut s = Snapshot::default();
    let svc = n("checkout");
    decide(&mut s, &svc, &ev(Trigger, "k", Sev2, None), t(0));
    let d = decide(&mut s, &svc, &ev(Acknowledge, "k", Sev2, None), t(1));
    assert_eq!(d.outcome, Outcome::Acknowledged { alert: 0 });
    assert_eq!(s.incidents[0].status, IncidentStatus::Acknowledged);
    assert_eq!(s.incidents[0].acknowledged_at, Some(t(1)));
    assert!(matches!(
        decide(&mut s, &svc, &ev(Acknowledge, "zz", Sev2, None), t(2)).outcome,
        Outcome::Ignored { .. }
    ));
}

fn labelled(key: &str, sev: Severity, labels: &[(&str, &str)]) -> Event {
    let mut e = ev(Trigger, key, sev, Some("sender-group"));
    e.labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    e
}

fn with_policy(policy: Policy) -> Snapshot {
    Snapshot::new(vec![], vec![], Arc::new(policy))
}

fn grouping(svc: &str, by: &[&str], window_min: Option<i64>) -> Policy {
    Policy {
        grouping: HashMap::from([(
            n(svc),
            Grouping {
                by: by.iter().map(|s| (*s).to_owned()).collect(),
                window: window_min.map(jiff::SignedDuration::from_mins),
            },
        )]),
        ..Policy::default()
    }
}

#[test]
fn grouping_labels_replace_the_senders_group() {
    let mut s = with_policy(grouping("checkout", &["alertname", "cluster"], None));
    let svc = n("checkout");
    let a = decide(
        &mut s,
        &svc,
        &labelled(
            "a",
            Sev2,
            &[("alertname", "Disk"), ("cluster", "eu"), ("host", "1")],
        ),
        t(0),
    );
    let b = decide(
        &mut s,
        &svc,
        &labelled(
            "b",
            Sev2,
            &[("alertname", "Disk"), ("cluster", "eu"), ("host", "2")],
        ),
        t(1),
    );
    let c = decide(
        &mut s,
        &svc,
        &labelled("c", Sev2, &[("alertname", "Disk"), ("cluster", "us")]),
        t(2),
    );
    assert!(a.page && !b.page && c.page, "same labels join, others open");
    assert_eq!(a.incident, b.incident);
    assert_ne!(a.incident, c.incident);
    assert_eq!(
        s.incidents[0].group.as_deref(),
        Some("alertname=Disk,cluster=eu")
    );
}

#[test]
fn a_grouping_window_limits_how_long_an_incident_takes_alerts() {
    let mut s = with_policy(grouping("checkout", &[], Some(30)));
    let svc = n("checkout");
    let first = decide(&mut s, &svc, &ev(Trigger, "a", Sev3, Some("g")), t(0));
    let within = decide(&mut s, &svc, &ev(Trigger, "b", Sev3, Some("g")), t(29));
    let after = decide(&mut s, &svc, &ev(Trigger, "c", Sev3, Some("g")), t(31));
    assert!(first.page && !within.page && after.page);
    assert_eq!(first.incident, within.incident);
    assert_ne!(first.incident, after.incident);
}

fn silence(name: &str, matchers: &[&str], from: i64, to: i64) -> crate::catalog::Object {
    crate::catalog::Object::Silence(crate::catalog::Silence {
        name: n(name),
        matchers: matchers.iter().map(|m| (*m).to_owned()).collect(),
        starts_at: Some(t(from).to_string()),
        ends_at: t(to).to_string(),
        comment: None,
        created_by: None,
    })
}

fn window(name: &str, services: &[&str], from: i64, minutes: i64) -> crate::catalog::Object {
    crate::catalog::Object::MaintenanceWindow(crate::catalog::MaintenanceWindow {
        name: n(name),
        services: services.iter().map(|s| n(s)).collect(),
        starts_at: t(from).to_string(),
        duration: format!("{minutes}m"),
        time_zone: None,
        repeat: crate::catalog::Repeat::None,
        until: None,
        reason: None,
        created_by: None,
    })
}

fn muting(objects: &[crate::catalog::Object]) -> Snapshot {
    let (policy, skipped) = Policy::from_objects(objects);
    assert!(skipped.is_empty(), "{skipped:?}");
    with_policy(policy)
}

#[test]
fn a_silenced_alert_is_recorded_and_pages_once_the_silence_ends() {
    let mut s = muting(&[silence("disk", &["alertname=Disk"], 0, 60)]);
    let svc = n("checkout");
    let disk = labelled("d", Sev1, &[("alertname", "Disk")]);
    let d = decide(&mut s, &svc, &disk, t(10));
    assert_eq!((d.page, d.incident), (false, None));
    assert!(matches!(
        d.outcome,
        Outcome::Opened {
            muted: Some(crate::noise::Muted::Silence(_)),
            ..
        }
    ));
    assert_eq!(s.alerts.len(), 1, "recorded");
    // Another alert is not silenced (on another service, so that it does
    // not open the incident the silenced one would join later).
    let other = labelled("o", Sev1, &[("alertname", "Cpu")]);
    assert!(decide(&mut s, &n("ledger"), &other, t(11)).page);
    // Still silenced: counted, no page.
    let again = decide(&mut s, &svc, &disk, t(59));
    assert_eq!((again.page, again.incident), (false, None));
    // The silence ended and the problem goes on: the next occurrence pages.
    let later = decide(&mut s, &svc, &disk, t(61));
    assert!(later.page && later.incident.is_some());
    assert_eq!(s.alerts[0].muted, None);
    assert_eq!(s.alerts[0].count, 3);
    // Resolving it resolves its incident, which had paged.
    let r = decide(&mut s, &svc, &ev(Resolve, "d", Sev1, None), t(62));
    assert!(r.incident_resolved);
}

#[test]
fn a_silence_can_match_the_service() {
    let mut s = muting(&[silence("co", &["service=checkout"], 0, 60)]);
    let e = labelled("x", Sev2, &[("service", "something-else")]);
    assert!(!decide(&mut s, &n("checkout"), &e, t(1)).page);
    assert!(decide(&mut s, &n("ledger"), &e, t(1)).page);
}

#[test]
fn maintenance_mutes_only_its_services_and_only_while_on() {
    let mut s = muting(&[window("patch", &["db"], 10, 60)]);
    let e = |k: &str| ev(Trigger, k, Sev1, Some(k));
    assert!(decide(&mut s, &n("db"), &e("before"), t(9)).page);
    let during = decide(&mut s, &n("db"), &e("during"), t(10));
    assert_eq!((during.page, during.incident), (false, None));
    assert!(matches!(
        during.outcome,
        Outcome::Opened {
            muted: Some(crate::noise::Muted::Maintenance(_)),
            ..
        }
    ));
    assert!(decide(&mut s, &n("web"), &e("elsewhere"), t(20)).page);
    assert!(decide(&mut s, &n("db"), &e("after"), t(71)).page);
}

#[test]
fn resolving_what_paged_is_never_muted() {
    // An incident paged, then maintenance started: its resolution still
    // resolves (and so is notified).
    let mut s = muting(&[window("patch", &["db"], 10, 60)]);
    let d = decide(&mut s, &n("db"), &ev(Trigger, "k", Sev1, None), t(0));
    assert!(d.page);
    let r = decide(&mut s, &n("db"), &ev(Resolve, "k", Sev1, None), t(20));
    assert!(r.incident_resolved);
    assert!(s.incidents[0].paged);
}
