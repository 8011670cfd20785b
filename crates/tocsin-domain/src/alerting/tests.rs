use super::*;
use crate::ingest::{Event, EventAction};
use crate::{Name, Severity};
use jiff::Timestamp;
use std::collections::HashMap;

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
    let mut s = Snapshot::new(vec![], vec![], deps);
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
