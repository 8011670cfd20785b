//! What the core's scenario tests share: a database on either backend
//! (opened again for a restart or a second instance), the macro that runs
//! a scenario on both, and the demo organisation's checkout incident.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::Timestamp;
use std::path::PathBuf;
use std::sync::Arc;
use tocsin_core::clock::{Clock, ManualClock};
use tocsin_core::engine::Engine;
use tocsin_store::Store;
use tocsin_store_sqlite::{OpenMode, SqliteStore};

/// Where a test's database lives; `open` may be called again to simulate a
/// restart or a second instance.
pub enum Db {
    Sqlite(#[allow(dead_code)] tempfile::TempDir, PathBuf),
    Postgres(String),
}

impl Db {
    pub async fn sqlite() -> Db {
        let (dir, path) = tocsin_store_sqlite::testing::fresh_file();
        Db::Sqlite(dir, path)
    }

    /// A new connection (pool) to the same database, migrated. For SQLite
    /// the first opener is the server (holding the file lock), later ones
    /// clients: the single-instance rule is about processes, and these
    /// share one.
    pub async fn open(&self, server: bool) -> Arc<dyn Store> {
        let store: Arc<dyn Store> = match self {
            Db::Sqlite(_, path) => {
                let mode = if server {
                    OpenMode::Server
                } else {
                    OpenMode::Client
                };
                Arc::new(SqliteStore::open(path, mode).await.unwrap())
            }
            Db::Postgres(url) => Arc::new(
                tocsin_store_postgres::PostgresStore::connect(url)
                    .await
                    .unwrap(),
            ),
        };
        store.migrate().await.unwrap();
        store
    }
}

/// Runs a scenario on SQLite and (when configured) PostgreSQL.
macro_rules! on_both_backends {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario(super::Db::sqlite().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match tocsin_store_postgres::testing::fresh_database().await {
                    Some(url) => {
                        super::$scenario(super::Db::Postgres(url.clone())).await;
                        tocsin_store_postgres::testing::drop_database(&url).await;
                    }
                    None => eprintln!("skipped: TOCSIN_TEST_POSTGRES_URL not set"),
                }
            }
        }
    };
}

pub fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// An alert for the demo's checkout (policy payments-default: level 1 the
/// payments-primary schedule, 10 min; level 2 team payments, 15 min;
/// repeated twice); returns the incident number.
pub async fn checkout_incident(
    store: &Arc<dyn Store>,
    now: Timestamp,
    action: &str,
) -> Option<i64> {
    use tocsin_domain::ingest::{Event, EventAction};
    let action = match action {
        "trigger" => EventAction::Trigger,
        _ => EventAction::Acknowledge,
    };
    let event = Event {
        action,
        dedup_key: "checkout-5xx".into(),
        summary: "Checkout returns 5xx".into(),
        source: None,
        severity: tocsin_domain::Severity::Sev2,
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
        integration: tocsin_domain::Name::parse("checkout-alertmanager").unwrap(),
        service: tocsin_domain::Name::parse("checkout").unwrap(),
        event,
        received_at: now,
        request_id: None,
    };
    store
        .ingest(&[item], &Default::default(), now)
        .await
        .unwrap()[0]
        .incident
}

/// The demo organisation loaded at `start`, and an open checkout incident.
pub async fn demo_incident(store: &Arc<dyn Store>, start: &str) -> (ManualClock, i64) {
    let clock = ManualClock::new(at(start));
    tocsin_core::demo::load_if_empty(store.as_ref(), clock.now())
        .await
        .unwrap();
    let incident = checkout_incident(store, clock.now(), "trigger")
        .await
        .unwrap();
    (clock, incident)
}

pub fn escalator_engine(store: &Arc<dyn Store>, clock: &ManualClock, worker: &str) -> Engine {
    use tocsin_core::escalation::Escalator;
    let c: Arc<dyn Clock> = Arc::new(clock.clone());
    Engine::new(store.clone(), c.clone(), worker)
        .with_handler(Arc::new(Escalator::pages(store.clone(), c.clone())))
        .with_handler(Arc::new(Escalator::steps(store.clone(), c)))
}

pub async fn pages(store: &Arc<dyn Store>, incident: i64) -> Vec<String> {
    store
        .incident_timeline(incident)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == "escalation.page")
        .map(|e| format!("{}@{}", e.detail["user"].as_str().unwrap(), e.at))
        .collect()
}

pub fn responder(name: &str) -> tocsin_domain::access::Principal {
    tocsin_domain::access::Principal {
        user: Some(tocsin_domain::Name::parse(name).unwrap()),
        label: name.into(),
        role: tocsin_domain::access::Role::Responder,
        teams: [tocsin_domain::Name::parse("payments").unwrap()].into(),
    }
}

/// `who` acting through the API.
pub fn api(who: &tocsin_domain::access::Principal) -> tocsin_core::response::Actor<'_> {
    tocsin_core::response::Actor {
        who,
        via: tocsin_domain::response::Interface::Api,
    }
}

/// Applies the manifest `text` (as file `path`) on top of the catalog,
/// as `tocsin config apply` would; panics on any problem.
pub async fn apply_yaml(store: &Arc<dyn Store>, path: &str, text: &str, now: Timestamp) {
    use tocsin_core::manifest::{self, Source};
    let m = manifest::parse(vec![Source {
        path: path.into(),
        text: text.into(),
    }]);
    assert!(m.errors.is_empty(), "{:?}", m.errors);
    let plan = tocsin_core::catalog::plan(store.as_ref(), &m, false, &|_| None)
        .await
        .unwrap_or_else(|e| panic!("plan: {e:?}"));
    tocsin_core::catalog::apply(
        store.as_ref(),
        &plan,
        &tocsin_core::audit::Actor::system(),
        now,
    )
    .await
    .unwrap();
}
