//! Heartbeats on both backends with a manual clock: a missed ping goes
//! late then down and opens an incident for the heartbeat's service
//! through the normal pipeline; a ping resolves it; a failure is down at
//! once; a run started and never finished is late after the grace.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod support;
use support::*;

use jiff::SignedDuration;
use std::sync::Arc;
use tocsin_core::clock::{Clock, ManualClock};
use tocsin_core::engine::Engine;
use tocsin_core::heartbeat::{
    HeartbeatIndex, HeartbeatMonitor, IncomingPing, Pinger, PingerConfig, Received, overview,
    receive,
};
use tocsin_domain::Name;
use tocsin_domain::alerting::IncidentStatus;
use tocsin_domain::heartbeat::Status;
use tocsin_store::{IncidentQuery, Store};

const UUID: &str = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";

const HEARTBEATS: &str = r#"
heartbeats:
  - name: nightly-backup
    service: checkout
    description: The checkout database's backup
    uuid: 5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278
    period: 1h
    grace: 5m
    severity: sev2
"#;

struct World {
    store: Arc<dyn Store>,
    clock: ManualClock,
    index: HeartbeatIndex,
    pinger: Pinger,
    engine: Engine,
}

impl World {
    async fn new(db: &Db) -> World {
        let store = db.open(true).await;
        let clock = ManualClock::new(at("2026-01-05T10:00:00Z"));
        tocsin_core::demo::load_if_empty(store.as_ref(), clock.now())
            .await
            .unwrap();
        apply_yaml(&store, "heartbeats.yaml", HEARTBEATS, clock.now()).await;
        let (pinger, _) = Pinger::start(store.clone(), PingerConfig::default());
        let c: Arc<dyn Clock> = Arc::new(clock.clone());
        let engine = Engine::new(store.clone(), c, "heartbeat-test")
            .with_module(Arc::new(HeartbeatMonitor::new(store.clone())));
        World {
            index: HeartbeatIndex::new(store.clone()),
            store,
            clock,
            pinger,
            engine,
        }
    }

    async fn ping(&self, path: &str, rid: Option<&str>, body: &str) -> Received {
        receive(
            &self.index,
            &self.pinger,
            IncomingPing {
                path,
                rid,
                method: "POST",
                body: body.as_bytes(),
            },
            self.clock.now(),
        )
        .await
        .unwrap_or_else(|e| panic!("ping {path}: {e}"))
    }

    fn advance(&self, mins: i64) {
        self.clock.advance(SignedDuration::from_mins(mins));
    }

    async fn cycle(&self) {
        self.engine.cycle().await.unwrap();
    }

    async fn status(&self) -> Status {
        overview(self.store.as_ref(), &self.index, self.clock.now())
            .await
            .unwrap()[0]
            .status
    }

    /// The checkout incidents, newest first: (status, title).
    async fn incidents(&self) -> Vec<(IncidentStatus, String)> {
        self.store
            .list_incidents(&IncidentQuery {
                service: Some(Name::parse("checkout").unwrap()),
                limit: 10,
                ..IncidentQuery::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|i| (i.status, i.title))
            .collect()
    }
}

async fn missed_ping_goes_late_then_down_and_resolves(db: Db) {
    let w = World::new(&db).await;
    assert_eq!(w.status().await, Status::New);
    assert_eq!(w.ping(UUID, None, "").await.recorded.status, Status::Up);
    w.advance(59);
    w.cycle().await;
    assert_eq!(w.status().await, Status::Up);
    w.advance(2); // 61 minutes: past the period, within the grace
    w.cycle().await;
    assert_eq!(w.status().await, Status::Late);
    assert!(w.incidents().await.is_empty(), "late does not alert");
    w.advance(5); // 66 minutes: past period + grace
    w.cycle().await;
    assert_eq!(w.status().await, Status::Down);
    let incidents = w.incidents().await;
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0].0, IncidentStatus::Triggered);
    assert!(
        incidents[0].1.contains("nightly-backup"),
        "{}",
        incidents[0].1
    );
    // Another cycle raises nothing twice.
    w.advance(1);
    w.cycle().await;
    assert_eq!(w.incidents().await.len(), 1);
    let alerts = w.store.open_alerts(10).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].dedup_key, "heartbeat:nightly-backup");
    assert_eq!(alerts[0].count, 1);
    // The job pings again: resolved.
    assert_eq!(w.ping(UUID, None, "").await.recorded.status, Status::Up);
    w.cycle().await;
    assert_eq!(w.incidents().await[0].0, IncidentStatus::Resolved);
    assert!(w.store.open_alerts(10).await.unwrap().is_empty());
}
on_both_backends!(missed_ping_goes_late_then_down_and_resolves);

async fn fail_ping_is_down_at_once(db: Db) {
    let w = World::new(&db).await;
    w.ping(UUID, None, "").await;
    w.advance(10);
    let r = w
        .ping(
            &format!("{UUID}/1"),
            None,
            "pg_dump: error: connection refused",
        )
        .await;
    assert_eq!(r.recorded.status, Status::Down);
    w.cycle().await;
    let incidents = w.incidents().await;
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0].0, IncidentStatus::Triggered);
    // Exit status 0 is a success: resolved.
    w.advance(1);
    assert_eq!(
        w.ping(&format!("{UUID}/0"), None, "").await.recorded.status,
        Status::Up
    );
    w.cycle().await;
    assert_eq!(w.incidents().await[0].0, IncidentStatus::Resolved);
    let pings = w
        .store
        .heartbeat_pings(&Name::parse("nightly-backup").unwrap(), 10)
        .await
        .unwrap();
    assert_eq!(pings[1].exit_status, Some(1));
    assert_eq!(pings[1].body, "pg_dump: error: connection refused");
}
on_both_backends!(fail_ping_is_down_at_once);

async fn start_without_finish_is_late(db: Db) {
    let w = World::new(&db).await;
    w.ping(UUID, None, "").await;
    w.advance(10);
    let rid = "7d3f3a3e-9f60-4c5e-8f0c-1b9a7d0a4c11";
    w.ping(&format!("{UUID}/start"), Some(rid), "").await;
    w.advance(4);
    w.cycle().await;
    assert_eq!(w.status().await, Status::Up, "within the grace");
    w.advance(2); // 6 minutes after the start, grace 5m
    w.cycle().await;
    assert_eq!(w.status().await, Status::Late);
    assert!(w.incidents().await.is_empty());
    w.advance(5); // start + 2 × grace
    w.cycle().await;
    assert_eq!(w.status().await, Status::Down);
    assert_eq!(w.incidents().await.len(), 1);
    // It finishes after all: the run's time is measured, the alert resolved.
    let r = w.ping(UUID, Some(rid), "done").await;
    assert_eq!(r.recorded.duration, Some(SignedDuration::from_mins(11)));
    w.cycle().await;
    assert_eq!(w.incidents().await[0].0, IncidentStatus::Resolved);
}
on_both_backends!(start_without_finish_is_late);

async fn slug_urls_use_the_organisation_ping_key(db: Db) {
    let w = World::new(&db).await;
    let key = w.index.ping_key(w.clock.now()).await.unwrap();
    assert_eq!(key.len(), 22);
    let r = w
        .ping(&format!("{key}/nightly-backup/start"), None, "")
        .await;
    assert_eq!(r.recorded.status, Status::Up);
    assert_eq!(r.log_limit, 10_000);
    let wrong = receive(
        &w.index,
        &w.pinger,
        IncomingPing {
            path: "wrongwrongwrongwrongwr/nightly-backup",
            rid: None,
            method: "GET",
            body: b"",
        },
        w.clock.now(),
    )
    .await;
    assert_eq!(
        wrong.unwrap_err(),
        tocsin_core::heartbeat::PingRefused::NotFound
    );
}
on_both_backends!(slug_urls_use_the_organisation_ping_key);

/// Chat's `status` names a heartbeat that is late or down, and says all is
/// well otherwise.
async fn chat_status_reports_heartbeats(db: Db) {
    let w = World::new(&db).await;
    let status = async |line: &str| {
        tocsin_core::chatops::execute(
            w.store.as_ref(),
            &tocsin_core::runbook::Runbooks::default(),
            &responder("alice"),
            tocsin_domain::response::Interface::Api,
            line,
            w.clock.now(),
        )
        .await
        .text
    };
    w.ping(UUID, None, "").await;
    let text = status("status checkout").await;
    assert!(
        text.contains("Heartbeats: 1 declared, none late or down"),
        "{text}"
    );
    w.advance(61);
    w.cycle().await;
    let text = status("status").await;
    assert!(
        text.contains("Heartbeats: 1 of 1 late or down\n  nightly-backup (checkout): late"),
        "{text}"
    );
    let text = status("status ledger").await;
    assert!(text.starts_with("Status of ledger"), "{text}");
    assert!(!text.contains("Heartbeats"), "another service's: {text}");
}
on_both_backends!(chat_status_reports_heartbeats);
