//! The outbox, end to end on both backends: an incident's pages reach a
//! real HTTP receiver through the webhook channel exactly once; a receiver
//! down for ten minutes gets everything once it is back; a process killed
//! between the send and its record sends again with the same key, which
//! the receiver drops; two instances deliver each notification once; a
//! permanent failure is dead at once and told to the admins; a storm to one
//! person is bundled; the resolution goes where the page went; a page not
//! yet due when the incident is acknowledged is cancelled; a declared
//! message template rewords what is sent. Time is a [`ManualClock`];
//! nothing sleeps.
//!
//! PostgreSQL runs when `TOCSIN_TEST_POSTGRES_URL` is set (CI sets it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use tocsin_core::clock::{Clock, ManualClock};
use tocsin_core::engine::{Engine, EngineConfig};
use tocsin_core::escalation::Escalator;
use tocsin_core::notify::{AckSigner, Channels, Deliverer, DeliveryPolicy, Links, Resolutions};
use tocsin_store::Store;
use tocsin_store::notify::{DeliveryState, Purpose};
use tocsin_store_sqlite::{OpenMode, SqliteStore};

enum Db {
    Sqlite(#[allow(dead_code)] tempfile::TempDir, PathBuf),
    Postgres(String),
}

impl Db {
    async fn open(&self, server: bool) -> Arc<dyn Store> {
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

macro_rules! on_both_backends {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (dir, path) = tocsin_store_sqlite::testing::fresh_file();
                super::$scenario(super::Db::Sqlite(dir, path)).await;
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

/// A webhook receiver that answers with `status` (200 unless set) and
/// keeps every request: its `Idempotency-Key` and body.
#[derive(Clone, Default)]
struct Receiver {
    status: Arc<AtomicU16>,
    /// Only this path fails, when set.
    only: Arc<Mutex<Option<String>>>,
    got: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let r = Receiver::default();
        r.status.store(200, Ordering::SeqCst);
        async fn hook(
            State(r): State<Receiver>,
            axum::extract::Path(who): axum::extract::Path<String>,
            headers: HeaderMap,
            body: axum::body::Bytes,
        ) -> StatusCode {
            let only = r.only.lock().unwrap().clone();
            let status = match only {
                Some(path) if path != who => 200,
                _ => r.status.load(Ordering::SeqCst),
            };
            if status == 200 {
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let body = serde_json::from_slice(&body).unwrap_or_default();
                r.got.lock().unwrap().push((key, body));
            }
            StatusCode::from_u16(status).unwrap()
        }
        let app = axum::Router::new()
            .route("/{who}", post(hook))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, format!("http://{addr}"))
    }

    fn fail_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Requests received, and how many distinct keys they carried.
    fn counts(&self) -> (usize, usize) {
        let got = self.got.lock().unwrap();
        let keys: std::collections::BTreeSet<&String> = got.iter().map(|(k, _)| k).collect();
        (got.len(), keys.len())
    }

    fn events(&self) -> Vec<(String, String)> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(k, b)| (b["event"].as_str().unwrap_or("").to_owned(), k.clone()))
            .collect()
    }
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Ann is paged by webhook at once and by a second webhook after 5
/// minutes; Ben (level 2, after 10 minutes) by webhook; Ada is an admin.
fn manifest(base: &str) -> String {
    format!(
        r#"
users:
  - name: ann
    full_name: Ann Lee
    email: ann@example.com
    time_zone: UTC
    contact_methods:
      - {{ name: hook, type: webhook, address: "{base}/ann" }}
      - {{ name: later, type: webhook, address: "{base}/ann-later" }}
    notification_rules:
      - {{ contact: hook, after_minutes: 0 }}
      - {{ contact: later, after_minutes: 5 }}
  - name: ben
    full_name: Ben Roy
    email: ben@example.com
    time_zone: UTC
    contact_methods:
      - {{ name: hook, type: webhook, address: "{base}/ben" }}
  - name: ada
    full_name: Ada Admin
    email: ada@example.com
    time_zone: UTC
    contact_methods:
      - {{ name: hook, type: webhook, address: "{base}/ada" }}
teams:
  - name: ops
    members: [ann, ben]
escalation_policies:
  - name: ops-default
    team: ops
    levels:
      - targets: [{{ user: ann }}]
        delay_minutes: 10
      - targets: [{{ user: ben }}]
        delay_minutes: 10
services:
  - name: api
    team: ops
    escalation_policy: ops-default
    impact: Customers cannot log in.
    first_steps: Check the identity provider first.
"#
    )
}

struct Hub {
    store: Arc<dyn Store>,
    clock: ManualClock,
    engine: Engine,
}

fn engine(
    store: &Arc<dyn Store>,
    clock: &ManualClock,
    worker: &str,
    policy: DeliveryPolicy,
) -> Engine {
    let c: Arc<dyn Clock> = Arc::new(clock.clone());
    let channels = Channels::default().with(Arc::new(
        tocsin_notify::webhook::WebhookChannel::new(
            tocsin_notify::webhook::Config::default(),
            c.clone(),
        )
        .unwrap(),
    ));
    let links = Links {
        base_url: "https://tocsin.example.com".into(),
        signer: AckSigner::new(b"test".to_vec()),
    };
    Engine::new(store.clone(), c.clone(), worker)
        .with_config(EngineConfig {
            lease: SignedDuration::from_secs(60),
            ..EngineConfig::default()
        })
        .with_handler(Arc::new(Escalator::pages(store.clone(), c.clone())))
        .with_handler(Arc::new(Escalator::steps(store.clone(), c.clone())))
        .with_handler(Arc::new(Resolutions::new(store.clone(), c.clone())))
        .with_handler(Arc::new(Deliverer::new(
            store.clone(),
            c,
            channels,
            links,
            policy,
        )))
}

async fn hub(db: &Db, base: &str, start: &str) -> Hub {
    hub_with(db, base, start, "").await
}

/// A hub whose catalog also declares `extra` (more lists of the same
/// manifest document).
async fn hub_with(db: &Db, base: &str, start: &str, extra: &str) -> Hub {
    let store = db.open(true).await;
    let clock = ManualClock::new(at(start));
    support::catalog::apply(
        store.as_ref(),
        &format!("{}{extra}", manifest(base)),
        clock.now(),
    )
    .await;
    let engine = engine(&store, &clock, "one", DeliveryPolicy::default());
    Hub {
        store,
        clock,
        engine,
    }
}

impl Hub {
    async fn alert(&self, key: &str, action: &str) -> Option<i64> {
        use tocsin_domain::ingest::{Event, EventAction};
        let action = match action {
            "trigger" => EventAction::Trigger,
            _ => EventAction::Resolve,
        };
        let event = Event {
            action,
            dedup_key: key.into(),
            summary: format!("{key} is failing"),
            source: None,
            severity: tocsin_domain::Severity::Sev2,
            sender_severity: None,
            occurred_at: None,
            component: None,
            group: Some(key.into()),
            class: None,
            labels: Default::default(),
            details: serde_json::Value::Null,
            links: vec![],
            images: vec![],
            note: None,
        };
        let item = tocsin_store::IngestItem {
            integration: tocsin_domain::Name::parse("api-prometheus").unwrap(),
            service: tocsin_domain::Name::parse("api").unwrap(),
            event,
            received_at: self.clock.now(),
            request_id: None,
        };
        self.store
            .ingest(&[item], &Default::default(), self.clock.now())
            .await
            .unwrap()[0]
            .incident
    }

    /// Cycles until nothing is left to do now.
    async fn settle(&self) {
        for _ in 0..20 {
            if self.engine.cycle().await.unwrap().jobs() == 0 {
                return;
            }
        }
        panic!("the engine did not settle");
    }

    async fn at(&self, t: &str) {
        self.clock.set(at(t));
        self.settle().await;
    }

    async fn states(&self, incident: i64) -> BTreeMap<String, DeliveryState> {
        self.store
            .incident_notifications(incident, None)
            .await
            .unwrap()
            .into_iter()
            .map(|n| {
                (
                    format!(
                        "{}:{}:{}",
                        n.purpose.as_str(),
                        n.user.map(|u| u.to_string()).unwrap_or_default(),
                        n.contact
                    ),
                    n.state,
                )
            })
            .collect()
    }

    async fn timeline_kinds(&self, incident: i64) -> Vec<String> {
        self.store
            .incident_timeline(incident)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .filter(|k| k.starts_with("notification."))
            .collect()
    }
}

/// 10:00 trigger: ann's hook now. 10:03 ack: her 10:05 "later" hook is
/// cancelled. 10:07 resolve: the resolution goes to ann's hook only (where
/// a page went), once.
async fn a_page_arrives_once_and_the_resolution_follows_it(db: Db) {
    let (rx, base) = Receiver::start().await;
    let h = hub(&db, &base, "2026-03-02T10:00:00Z").await;
    let number = h.alert("db-down", "trigger").await.unwrap();
    h.settle().await;
    assert_eq!(rx.counts(), (1, 1), "one page at once");
    let (event, key) = rx.events()[0].clone();
    assert_eq!(event, "page");
    assert!(key.contains("ann"), "{key}");
    let page = rx.got.lock().unwrap()[0].1.clone();
    assert_eq!(
        page["message"]["impact"], "Customers cannot log in.",
        "{page}"
    );
    assert_eq!(
        page["message"]["first_steps"],
        "Check the identity provider first."
    );
    assert!(
        page["message"]["actions"]["acknowledge_url"]
            .as_str()
            .unwrap()
            .starts_with("https://tocsin.example.com/ack/"),
        "{page}"
    );
    let ann = tocsin_domain::access::Principal {
        user: Some(tocsin_domain::Name::parse("ann").unwrap()),
        label: "ann".into(),
        role: tocsin_domain::access::Role::Responder,
        teams: [tocsin_domain::Name::parse("ops").unwrap()].into(),
    };
    h.clock.set(at("2026-03-02T10:03:00Z"));
    tocsin_core::incident::acknowledge(h.store.as_ref(), api(&ann), number, h.clock.now())
        .await
        .unwrap();
    h.at("2026-03-02T10:05:00Z").await;
    assert_eq!(
        rx.counts(),
        (1, 1),
        "acknowledged: the 5-minute rule is not sent"
    );
    h.clock.set(at("2026-03-02T10:07:00Z"));
    tocsin_core::incident::resolve(h.store.as_ref(), api(&ann), number, None, h.clock.now())
        .await
        .unwrap();
    h.settle().await;
    let events = rx.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1].0, "resolved");
    let states = h.states(number).await;
    assert_eq!(
        states["page:ann:hook"],
        DeliveryState::Delivered,
        "{states:?}"
    );
    assert_eq!(
        states["page:ann:later"],
        DeliveryState::Cancelled,
        "{states:?}"
    );
    assert_eq!(
        states["resolved:ann:hook"],
        DeliveryState::Delivered,
        "{states:?}"
    );
    let kinds = h.timeline_kinds(number).await;
    assert_eq!(
        kinds,
        [
            "notification.delivered",
            "notification.cancelled",
            "notification.delivered"
        ]
    );
    // Running everything again sends nothing more.
    h.at("2026-03-02T12:00:00Z").await;
    assert_eq!(rx.counts(), (2, 2));
    h.store.close().await;
}
on_both_backends!(a_page_arrives_once_and_the_resolution_follows_it);

/// The receiver is down from 10:00 to 10:10 (503): the page is retried
/// with backoff, each failure on the timeline, and arrives once after it
/// is back; nothing is lost, nothing doubled.
async fn a_receiver_down_for_ten_minutes_gets_everything_once_back(db: Db) {
    let (rx, base) = Receiver::start().await;
    let h = hub(&db, &base, "2026-03-02T10:00:00Z").await;
    rx.fail_with(503);
    let number = h.alert("db-down", "trigger").await.unwrap();
    h.settle().await;
    let mut t = at("2026-03-02T10:00:00Z");
    while t < at("2026-03-02T10:10:00Z") {
        t += SignedDuration::from_secs(15);
        h.clock.set(t);
        h.settle().await;
    }
    assert_eq!(rx.counts(), (0, 0));
    let failures = h
        .timeline_kinds(number)
        .await
        .iter()
        .filter(|k| *k == "notification.failed")
        .count();
    assert!(
        failures >= 4,
        "each failed attempt is on the timeline: {failures}"
    );
    rx.fail_with(200);
    // Level 2 (ben) came due at 10:10 too, and ann's 5-minute hook.
    for _ in 0..40 {
        t += SignedDuration::from_secs(15);
        h.clock.set(t);
        h.settle().await;
    }
    let (requests, keys) = rx.counts();
    assert_eq!(
        (requests, keys),
        (3, 3),
        "ann now, ann later, ben: each once"
    );
    assert!(
        h.states(number)
            .await
            .values()
            .all(|s| *s == DeliveryState::Delivered)
    );
    h.store.close().await;
}
on_both_backends!(a_receiver_down_for_ten_minutes_gets_everything_once_back);

/// A receiver answering 404 is a permanent failure: dead at once, on the
/// timeline, and the admin (ada) is told through her own hook.
async fn a_permanent_failure_is_dead_at_once_and_told_to_admins(db: Db) {
    let (rx, base) = Receiver::start().await;
    let h = hub(&db, &base, "2026-03-02T10:00:00Z").await;
    h.store
        .create_account(
            &tocsin_store::NewAccount {
                user: tocsin_domain::Name::parse("ada").unwrap(),
                role: tocsin_domain::access::Role::Admin,
                password_hash: "x".into(),
            },
            &[],
            h.clock.now(),
        )
        .await
        .unwrap();
    rx.fail_with(404);
    *rx.only.lock().unwrap() = Some("ann".into());
    let number = h.alert("db-down", "trigger").await.unwrap();
    h.settle().await;
    let states = h.states(number).await;
    assert_eq!(states["page:ann:hook"], DeliveryState::Dead, "{states:?}");
    assert!(
        h.timeline_kinds(number)
            .await
            .contains(&"notification.dead".to_owned())
    );
    assert_eq!(
        states["dead_letter:ada:hook"],
        DeliveryState::Delivered,
        "{states:?}"
    );
    let events = rx.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "dead_letter");
    assert_eq!(h.store.dead_notifications(10).await.unwrap().len(), 1);
    h.store.close().await;
}
on_both_backends!(a_permanent_failure_is_dead_at_once_and_told_to_admins);

/// Twenty incidents within a minute page ann: three go out one by one (the
/// burst), the rest wait for the next slot and arrive as one bundle.
async fn a_storm_to_one_person_is_bundled(db: Db) {
    let (rx, base) = Receiver::start().await;
    let h = hub(&db, &base, "2026-03-02T10:00:00Z").await;
    for i in 0..20 {
        h.clock
            .set(at("2026-03-02T10:00:00Z") + SignedDuration::from_secs(i * 2));
        h.alert(&format!("storm-{i}"), "trigger").await.unwrap();
        h.settle().await;
    }
    h.at("2026-03-02T10:01:00Z").await;
    h.at("2026-03-02T10:02:00Z").await;
    let events = rx.events();
    let pages = events.iter().filter(|(e, _)| e == "page").count();
    let bundles: Vec<serde_json::Value> = rx
        .got
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, b)| b["event"] == "bundle")
        .map(|(_, b)| b.clone())
        .collect();
    assert_eq!(pages, 3, "{events:?}");
    // Slots: 3 at once, then one per 20 s: at 10:00:20, 10:00:40 (whose
    // job runs at 10:01:00, when a second slot has come too).
    assert!(!bundles.is_empty() && events.len() <= 6, "{events:?}");
    let carried: usize = bundles
        .iter()
        .map(|b| 1 + b["message"]["also"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        pages + carried,
        20,
        "every incident reached ann exactly once"
    );
    h.store.close().await;
}
on_both_backends!(a_storm_to_one_person_is_bundled);

/// A process killed between the send and its record: the notification
/// stays `sending`; after the lease, a second instance sends it again with
/// the same key (the receiver sees the key twice and keeps one); every
/// other notification goes out once, shared between the two instances.
async fn a_kill_between_send_and_mark_resends_with_the_same_key(db: Db) {
    let (rx, base) = Receiver::start().await;
    let h = hub(&db, &base, "2026-03-02T10:00:00Z").await;
    let number = h.alert("db-down", "trigger").await.unwrap();
    // Run the page step, then deliver "by a process that dies": the send
    // happens, the record does not (simulated by resetting the row).
    h.engine.cycle().await.unwrap(); // incident.page: level 1 + the notification
    let n = h
        .store
        .incident_notifications(number, Some(Purpose::Page))
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.contact == "hook")
        .unwrap();
    let moved = h
        .store
        .start_attempt(
            std::slice::from_ref(&n.key),
            h.clock.now(),
            h.clock.now() + SignedDuration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(moved, std::slice::from_ref(&n.key));
    let c: Arc<dyn Clock> = Arc::new(h.clock.clone());
    let hook = tocsin_notify::webhook::WebhookChannel::new(Default::default(), c).unwrap();
    let message = tocsin_notify::sample::page();
    let message = tocsin_domain::notify::Message {
        key: n.key.clone(),
        ..message
    };
    tocsin_core::notify::Channel::send(
        &hook,
        tocsin_core::notify::Delivery {
            address: &n.address,
            message: &message,
            previous: None,
        },
    )
    .await
    .unwrap();
    // ...and dies. Its job's claim is held by "dead-process" until the
    // lease expires.
    let claimed = h
        .store
        .claim_jobs(
            &["notify.deliver".into()],
            "dead-process",
            h.clock.now(),
            SignedDuration::from_secs(60),
            10,
        )
        .await
        .unwrap();
    assert!(!claimed.is_empty());
    assert_eq!(rx.counts(), (1, 1));
    // A second instance, with its own pool, and the first one, share the rest.
    let second = engine(
        &db.open(false).await,
        &h.clock,
        "two",
        DeliveryPolicy::default(),
    );
    h.clock.set(at("2026-03-02T10:01:01Z"));
    for _ in 0..10 {
        let (a, b) = tokio::join!(h.engine.cycle(), second.cycle());
        if a.unwrap().jobs() + b.unwrap().jobs() == 0 {
            break;
        }
    }
    assert_eq!(
        rx.counts(),
        (2, 1),
        "sent again with the same key; the receiver keeps one"
    );
    assert_eq!(
        h.states(number).await["page:ann:hook"],
        DeliveryState::Delivered
    );
    // Later pages (ann's 5-minute hook, ben at 10:10): once each, with two instances.
    for t in [
        "2026-03-02T10:05:00Z",
        "2026-03-02T10:10:00Z",
        "2026-03-02T10:20:00Z",
    ] {
        h.clock.set(at(t));
        for _ in 0..10 {
            let (a, b) = tokio::join!(h.engine.cycle(), second.cycle());
            if a.unwrap().jobs() + b.unwrap().jobs() == 0 {
                break;
            }
        }
    }
    let (requests, keys) = rx.counts();
    assert_eq!(keys, 3, "ann, ann later, ben");
    assert_eq!(requests, 4, "only the interrupted one twice");
    h.store.close().await;
}
on_both_backends!(a_kill_between_send_and_mark_resends_with_the_same_key);

/// A message template declared in the manifests rewords the pages the
/// webhook sends (title and body fields of the message), and only them:
/// the resolution, which it does not name, is tocsin's own.
async fn a_declared_template_rewords_what_is_sent(db: Db) {
    let (rx, base) = Receiver::start().await;
    let templates = r#"
message_templates:
  - name: webhook-pages
    messages: [page]
    channels: [webhook]
    title: "{{ severity }} {{ incident.service }} is down: {{ incident.title }}"
    body: |
      {{ impact }}
      First: {{ first_steps }}
"#;
    let h = hub_with(&db, &base, "2026-03-02T10:00:00Z", templates).await;
    let number = h.alert("db-down", "trigger").await.unwrap();
    h.settle().await;
    assert_eq!(rx.counts(), (1, 1));
    let page = rx.got.lock().unwrap()[0].1.clone();
    assert_eq!(
        page["message"]["title"], "Sev2 api is down: db-down is failing",
        "{page}"
    );
    assert_eq!(
        page["message"]["body"],
        "Customers cannot log in.\nFirst: Check the identity provider first."
    );
    let ann = tocsin_domain::access::Principal {
        user: Some(tocsin_domain::Name::parse("ann").unwrap()),
        label: "ann".into(),
        role: tocsin_domain::access::Role::Responder,
        teams: [tocsin_domain::Name::parse("ops").unwrap()].into(),
    };
    h.clock.set(at("2026-03-02T10:03:00Z"));
    tocsin_core::incident::resolve(h.store.as_ref(), api(&ann), number, None, h.clock.now())
        .await
        .unwrap();
    h.settle().await;
    let resolved = rx.got.lock().unwrap().last().unwrap().1.clone();
    assert_eq!(resolved["event"], "resolved");
    assert!(resolved["message"].get("title").is_none(), "{resolved}");
    assert!(resolved["message"].get("body").is_none(), "{resolved}");
    h.store.close().await;
}
on_both_backends!(a_declared_template_rewords_what_is_sent);

fn api(who: &tocsin_domain::access::Principal) -> tocsin_core::response::Actor<'_> {
    tocsin_core::response::Actor {
        who,
        via: tocsin_domain::response::Interface::Api,
    }
}
