//! Ingestion throughput, latency and memory of the real `tocsin serve`,
//! driven over HTTP by concurrent keep-alive clients on loopback; and, when
//! it is installed, Prometheus Alertmanager through the same load in the
//! same run for comparison.
//!
//! ```sh
//! cargo bench -p tocsin --bench ingest
//! # PostgreSQL too, and knobs:
//! TOCSIN_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//! TOCSIN_BENCH_SECONDS=10 TOCSIN_BENCH_CLIENTS=64 cargo bench -p tocsin --bench ingest
//! ```
//!
//! Each request is one PagerDuty Events v2 trigger with a distinct dedup
//! key (so every event opens a new alert: the worst case for storage);
//! tocsin answers 202 only after the event is committed. Alertmanager gets
//! one distinct alert per `POST /api/v2/alerts` and keeps it in memory only.
//! Prints requests/s, p50/p99/max latency and the server's resident memory
//! at the start and end of the run. Asserts only that the load succeeded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::{env_num, pct, rss_mib, start_alertmanager, start_tocsin};

const ROUTING_KEY: &str = "0123456789abcdef0123456789abcdef";

struct Report {
    requests: u64,
    errors: u64,
    secs: f64,
    latencies_us: Vec<u64>,
}

/// `clients` tasks, each with its own keep-alive connection, sending
/// requests built by `body(n)` for `secs` seconds.
async fn load(url: String, clients: u64, secs: u64, body: fn(u64) -> String) -> Report {
    let counter = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (url, counter, errors) = (url.clone(), counter.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut lat = Vec::with_capacity(100_000);
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                let res = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body(n))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed().as_micros() as u64);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            lat
        }));
    }
    let mut latencies_us = Vec::new();
    for t in tasks {
        latencies_us.extend(t.await.unwrap());
    }
    latencies_us.sort_unstable();
    Report {
        requests: latencies_us.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        secs: started.elapsed().as_secs_f64(),
        latencies_us,
    }
}

fn print(name: &str, r: &Report, rss: (f64, f64)) {
    println!(
        "{name:<26} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  errors {:>5}  RSS {:>5.0} → {:>5.0} MiB  ({} requests in {:.1} s)",
        r.requests as f64 / r.secs,
        pct(&r.latencies_us, 0.50),
        pct(&r.latencies_us, 0.99),
        r.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0,
        r.errors,
        rss.0,
        rss.1,
        r.requests,
        r.secs,
    );
}

fn pagerduty_body(n: u64) -> String {
    format!(
        r#"{{"routing_key":"{ROUTING_KEY}","event_action":"trigger","dedup_key":"bench-{n}","payload":{{"summary":"bench alert {n}","source":"host-{}","severity":"warning"}}}}"#,
        n % 100
    )
}

fn alertmanager_body(n: u64) -> String {
    format!(
        r#"[{{"labels":{{"alertname":"bench","instance":"host-{n}","severity":"warning"}},"annotations":{{"summary":"bench alert {n}"}}}}]"#
    )
}

fn main() {
    let secs = env_num("TOCSIN_BENCH_SECONDS", 10);
    let clients = env_num("TOCSIN_BENCH_CLIENTS", 64);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "ingest benchmark: {clients} keep-alive clients, {secs} s per target, one distinct alert per request"
    );
    let mut targets: Vec<(String, Option<String>)> = vec![("tocsin sqlite".into(), None)];
    match rt.block_on(tocsin_store_postgres::testing::fresh_database()) {
        Some(url) => targets.push(("tocsin postgres".into(), Some(url))),
        None => println!("(PostgreSQL skipped: set TOCSIN_TEST_POSTGRES_URL)"),
    }
    for (name, url) in &targets {
        let org = "users:\n  - { name: ops, full_name: Ops, email: ops@example.com, time_zone: UTC }\n\
             teams:\n  - { name: ops, members: [ops] }\n\
             services:\n  - { name: bench, team: ops }\n\
             integrations:\n  - { name: bench-pd, service: bench, format: pagerduty, key_env: BENCH_KEY }\n";
        let server = start_tocsin(url.as_deref(), org, &[("BENCH_KEY", ROUTING_KEY)], &[]);
        let pid = server.child.id();
        let before = rss_mib(pid);
        let r = rt.block_on(load(
            format!("http://{}/v2/enqueue", server.addr),
            clients,
            secs,
            pagerduty_body,
        ));
        print(name, &r, (before, rss_mib(pid)));
        let metrics = rt.block_on(async {
            let url = format!("http://{}/metrics", server.addr);
            reqwest::get(url).await.unwrap().text().await.unwrap()
        });
        let value = |name: &str| {
            metrics
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let batches = value("tocsin_ingest_batch_events_count");
        println!(
            "{:<26} {batches:.0} commits, {:.1} events and {:.2} ms per commit on average",
            "",
            value("tocsin_ingest_batch_events_sum") / batches.max(1.0),
            value("tocsin_ingest_batch_seconds_sum") * 1000.0 / batches.max(1.0),
        );
        drop(server);
        if let Some(url) = url {
            rt.block_on(tocsin_store_postgres::testing::drop_database(url));
        }
    }
    match start_alertmanager("route:\n  receiver: devnull\nreceivers:\n  - name: devnull\n") {
        Some(am) => {
            let pid = am.child.id();
            let before = rss_mib(pid);
            let r = rt.block_on(load(
                format!("http://{}/api/v2/alerts", am.addr),
                clients,
                secs,
                alertmanager_body,
            ));
            print("alertmanager (in memory)", &r, (before, rss_mib(pid)));
        }
        None => println!("(Alertmanager skipped: install prometheus-alertmanager)"),
    }
}
