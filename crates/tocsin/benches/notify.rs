//! Notifications through the outbox of the real `tocsin serve`, to a local
//! webhook receiver on loopback: the delay from an incident's event to its
//! first delivery, and deliveries per second when many pages are due at
//! once; and, when it is installed, Prometheus Alertmanager's delay from an
//! alert to its webhook in the same run (it keeps nothing on disk).
//!
//! ```sh
//! cargo bench -p tocsin --bench notify
//! TOCSIN_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//! TOCSIN_BENCH_INCIDENTS=300 cargo bench -p tocsin --bench notify
//! ```
//!
//! Delay: incidents one after another (the next when the previous page
//! arrived), each a PagerDuty trigger for a service whose policy pages one
//! person with a webhook; measured from sending the event to the receiver
//! having the page (ingest commit, the engine's page step, the outbox row,
//! its delivery job, rendering, the HTTP post). Deliveries per second: one
//! incident whose policy pages a team of 1,000, each with a webhook. Storm:
//! incidents for a
//! service whose policy pages a team of 64, each with a webhook, sent at
//! once; pages delivered per second until the last one arrived (several
//! pages due for one person at once travel as one bundle: the requests are
//! counted too). The per-destination rate limit is lifted
//! (`--notify-burst`). Asserts only that everything arrived.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use axum::extract::State;
use axum::routing::post;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{env_num, pct, rss_mib, start_alertmanager, start_tocsin};

const LAT_KEY: &str = "11111111111111111111111111111111";
const FAN_KEY: &str = "22222222222222222222222222222222";
const WIDE_KEY: &str = "33333333333333333333333333333333";
/// The storm's team.
const TEAM: usize = 64;
/// The people one wide incident pages at once.
const WIDE: usize = 1000;

/// When each title (tocsin) or alertname (Alertmanager) first arrived, how
/// many pages arrived in all (a bundle carries several), and in how many
/// requests.
#[derive(Clone, Default)]
struct Received {
    first: Arc<Mutex<HashMap<String, Instant>>>,
    count: Arc<Mutex<u64>>,
    requests: Arc<Mutex<u64>>,
}

async fn hook(State(r): State<Received>, body: axum::body::Bytes) -> &'static str {
    let now = Instant::now();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let mut names = Vec::new();
    if let Some(t) = v["message"]["incident"]["title"].as_str() {
        names.push(t.to_owned());
    }
    for a in v["alerts"].as_array().into_iter().flatten() {
        if let Some(n) = a["labels"]["alertname"].as_str() {
            names.push(n.to_owned());
        }
    }
    let carried = 1 + v["message"]["also"].as_array().map_or(0, Vec::len) as u64;
    *r.count.lock().unwrap() += carried;
    *r.requests.lock().unwrap() += 1;
    let mut first = r.first.lock().unwrap();
    for n in names {
        first.entry(n).or_insert(now);
    }
    "ok"
}

async fn receiver() -> (Received, String) {
    let r = Received::default();
    let app = axum::Router::new()
        .route("/{who}", post(hook))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (r, format!("http://{addr}"))
}

fn org(receiver: &str) -> String {
    let mut users = String::from("users:\n");
    let mut members = Vec::new();
    for i in 0..WIDE {
        users.push_str(&format!(
            "  - {{ name: u{i}, full_name: User {i}, email: u{i}@example.com, time_zone: UTC, \
             contact_methods: [{{ name: hook, type: webhook, address: \"{receiver}/u{i}\" }}] }}\n"
        ));
        members.push(format!("u{i}"));
    }
    format!(
        "{users}teams:\n  - {{ name: bench, members: [{}] }}\n  - {{ name: wide, members: [{}] }}\n\
         escalation_policies:\n\
         \x20 - {{ name: one, team: bench, levels: [{{ targets: [{{ user: u0 }}], delay_minutes: 30 }}] }}\n\
         \x20 - {{ name: all, team: bench, levels: [{{ targets: [{{ team: bench }}], delay_minutes: 30 }}] }}\n\
         \x20 - {{ name: everyone, team: wide, levels: [{{ targets: [{{ team: wide }}], delay_minutes: 30 }}] }}\n\
         services:\n\
         \x20 - {{ name: lat, team: bench, escalation_policy: one }}\n\
         \x20 - {{ name: fan, team: bench, escalation_policy: all }}\n\
         \x20 - {{ name: wide, team: wide, escalation_policy: everyone }}\n\
         integrations:\n\
         \x20 - {{ name: lat-pd, service: lat, format: pagerduty, key_env: LAT_KEY }}\n\
         \x20 - {{ name: fan-pd, service: fan, format: pagerduty, key_env: FAN_KEY }}\n\
         \x20 - {{ name: wide-pd, service: wide, format: pagerduty, key_env: WIDE_KEY }}\n",
        members[..TEAM].join(", "),
        members.join(", ")
    )
}

fn trigger(key: &str, name: &str) -> String {
    format!(
        r#"{{"routing_key":"{key}","event_action":"trigger","dedup_key":"{name}","payload":{{"summary":"{name}","source":"bench","severity":"critical","group":"{name}"}}}}"#
    )
}

async fn wait_for(r: &Received, name: &str, limit: Duration) -> Option<Instant> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(t) = r.first.lock().unwrap().get(name) {
            return Some(*t);
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    None
}

/// Sequential incidents; the delay of each in µs, sorted.
async fn delays(
    client: &reqwest::Client,
    url: &str,
    r: &Received,
    n: u64,
    body: impl Fn(&str) -> String,
    prefix: &str,
) -> Vec<u64> {
    let mut out = Vec::new();
    for i in 0..n {
        let name = format!("{prefix}-{i}");
        let t = Instant::now();
        let res = client
            .post(url)
            .header("content-type", "application/json")
            .body(body(&name))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        let got = wait_for(r, &name, Duration::from_secs(30))
            .await
            .unwrap_or_else(|| panic!("{name} never arrived"));
        out.push(got.duration_since(t).as_micros() as u64);
    }
    out.sort_unstable();
    out
}

fn print_delays(name: &str, d: &[u64]) {
    println!(
        "{name:<28} delay to first delivery: p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  ({} incidents)",
        pct(d, 0.50),
        pct(d, 0.99),
        d.last().copied().unwrap_or(0) as f64 / 1000.0,
        d.len()
    );
}

fn main() {
    let incidents = env_num("TOCSIN_BENCH_INCIDENTS", 200);
    let fan = env_num("TOCSIN_BENCH_FAN_INCIDENTS", 50);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "notify benchmark: {incidents} incidents one by one (delay); one incident paging {WIDE} people; a storm of {fan} incidents × {TEAM} people; webhook receiver on loopback"
    );
    let (received, base) = rt.block_on(receiver());
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut targets: Vec<(String, Option<String>)> = vec![("tocsin sqlite".into(), None)];
    match rt.block_on(tocsin_store_postgres::testing::fresh_database()) {
        Some(url) => targets.push(("tocsin postgres".into(), Some(url))),
        None => println!("(PostgreSQL skipped: set TOCSIN_TEST_POSTGRES_URL)"),
    }
    for (run, (name, url)) in targets.iter().enumerate() {
        let server = start_tocsin(
            url.as_deref(),
            &org(&base),
            &[
                ("LAT_KEY", LAT_KEY),
                ("FAN_KEY", FAN_KEY),
                ("WIDE_KEY", WIDE_KEY),
            ],
            &["--notify-burst", "1000000", "--notify-interval", "1"],
        );
        let pid = server.child.id();
        let before = rss_mib(pid);
        let enqueue = format!("http://{}/v2/enqueue", server.addr);
        let d = rt.block_on(delays(
            &client,
            &enqueue,
            &received,
            incidents,
            |n| trigger(LAT_KEY, n),
            &format!("lat{run}"),
        ));
        print_delays(name, &d);
        // One incident paging a thousand people: a thousand messages.
        let start_requests = *received.requests.lock().unwrap();
        let t = Instant::now();
        rt.block_on(async {
            let res = client
                .post(&enqueue)
                .header("content-type", "application/json")
                .body(trigger(WIDE_KEY, &format!("wide{run}")))
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success());
            let deadline = Instant::now() + Duration::from_secs(300);
            while *received.requests.lock().unwrap() - start_requests < WIDE as u64 {
                assert!(Instant::now() < deadline, "not every page arrived");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{:<28} one incident paging {WIDE} people: {WIDE} messages in {secs:.2} s = {:.0} deliveries/s",
            "",
            WIDE as f64 / secs
        );
        let start_count = *received.count.lock().unwrap();
        let start_requests = *received.requests.lock().unwrap();
        let t = Instant::now();
        let expected = fan * TEAM as u64;
        rt.block_on(async {
            let mut sends = Vec::new();
            for i in 0..fan {
                let (client, url) = (client.clone(), enqueue.clone());
                let body = trigger(FAN_KEY, &format!("fan{run}-{i}"));
                sends.push(tokio::spawn(async move {
                    let res = client
                        .post(url)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert!(res.status().is_success());
                }));
            }
            for s in sends {
                s.await.unwrap();
            }
            let deadline = Instant::now() + Duration::from_secs(300);
            while *received.count.lock().unwrap() - start_count < expected {
                assert!(Instant::now() < deadline, "not every page arrived");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        let secs = t.elapsed().as_secs_f64();
        let requests = *received.requests.lock().unwrap() - start_requests;
        println!(
            "{:<28} throughput: {expected} pages delivered in {secs:.2} s = {:.0} pages/s, in {requests} requests (bundles: one per person when several are due)  RSS {before:.0} → {:.0} MiB",
            "",
            expected as f64 / secs,
            rss_mib(pid)
        );
        drop(server);
        if let Some(url) = url {
            rt.block_on(tocsin_store_postgres::testing::drop_database(url));
        }
    }
    let am_config = format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n\
         receivers:\n  - name: hook\n    webhook_configs:\n      - url: {base}/am\n        send_resolved: false\n"
    );
    match start_alertmanager(&am_config) {
        Some(am) => {
            let url = format!("http://{}/api/v2/alerts", am.addr);
            let d = rt.block_on(delays(
                &client,
                &url,
                &received,
                incidents,
                |n| format!(r#"[{{"labels":{{"alertname":"{n}","severity":"critical"}}}}]"#),
                "am",
            ));
            print_delays("alertmanager (in memory)", &d);
        }
        None => println!("(Alertmanager skipped: install prometheus-alertmanager)"),
    }
}
