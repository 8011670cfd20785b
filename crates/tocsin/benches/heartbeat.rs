//! Heartbeat ping throughput and latency of the real `tocsin serve`:
//! many concurrent keep-alive clients send healthchecks.io pings
//! (`GET /ping/<uuid>`) on loopback for a bounded time, as a fleet of cron
//! jobs does at the top of the minute. Every ping is answered 200 only
//! after the transaction holding it committed (group commit).
//!
//! ```sh
//! cargo bench -p tocsin --bench heartbeat
//! # PostgreSQL too, and knobs:
//! TOCSIN_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//! TOCSIN_BENCH_SECONDS=10 TOCSIN_BENCH_CLIENTS=256 TOCSIN_BENCH_HEARTBEATS=1000 \
//!   cargo bench -p tocsin --bench heartbeat
//! ```
//!
//! Prints pings/s, p50/p99/max latency, the server's resident memory and
//! the average group-commit batch. Asserts only that the load succeeded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::{env_num, pct, rss_mib, start_tocsin};

fn uuid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

struct Report {
    pings: u64,
    errors: u64,
    secs: f64,
    latencies_us: Vec<u64>,
}

/// `clients` tasks, each with its own keep-alive connection, pinging
/// heartbeat `n % heartbeats` for `secs` seconds, all starting together.
async fn load(base: String, clients: u64, secs: u64, heartbeats: u64) -> Report {
    let counter = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Arc::new(tokio::sync::Barrier::new(clients as usize + 1));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (base, counter, errors, start) =
            (base.clone(), counter.clone(), errors.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut lat = Vec::with_capacity(100_000);
            start.wait().await;
            let deadline = Instant::now() + Duration::from_secs(secs);
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let url = format!("{base}/ping/{}", uuid(n % heartbeats));
                let t = Instant::now();
                match client.get(&url).send().await {
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
    start.wait().await;
    let started = Instant::now();
    let mut latencies_us = Vec::new();
    for t in tasks {
        latencies_us.extend(t.await.unwrap());
    }
    latencies_us.sort_unstable();
    Report {
        pings: latencies_us.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        secs: started.elapsed().as_secs_f64(),
        latencies_us,
    }
}

fn main() {
    let secs = env_num("TOCSIN_BENCH_SECONDS", 10);
    let clients = env_num("TOCSIN_BENCH_CLIENTS", 256);
    let heartbeats = env_num("TOCSIN_BENCH_HEARTBEATS", 1000).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "heartbeat benchmark: {clients} keep-alive clients, {heartbeats} heartbeats, {secs} s per target, durable pings"
    );
    let mut org = String::from(
        "users:\n  - { name: ops, full_name: Ops, email: ops@example.com, time_zone: UTC }\n\
         teams:\n  - { name: ops, members: [ops] }\n\
         services:\n  - { name: bench, team: ops }\n\
         heartbeats:\n",
    );
    for n in 0..heartbeats {
        writeln!(
            org,
            "  - {{ name: job-{n}, service: bench, uuid: {}, period: 1h, grace: 5m }}",
            uuid(n)
        )
        .unwrap();
    }
    let mut targets: Vec<(String, Option<String>)> = vec![("tocsin sqlite".into(), None)];
    match rt.block_on(tocsin_store_postgres::testing::fresh_database()) {
        Some(url) => targets.push(("tocsin postgres".into(), Some(url))),
        None => println!("(PostgreSQL skipped: set TOCSIN_TEST_POSTGRES_URL)"),
    }
    for (name, url) in &targets {
        let server = start_tocsin(url.as_deref(), &org, &[], &[]);
        let pid = server.child.id();
        let before = rss_mib(pid);
        let base = format!("http://{}", server.addr);
        // One ping first, so the heartbeat index is loaded before the burst.
        rt.block_on(async {
            let r = reqwest::get(format!("{base}/ping/{}", uuid(0)))
                .await
                .unwrap();
            assert!(r.status().is_success(), "warm-up ping: {}", r.status());
        });
        let r = rt.block_on(load(base.clone(), clients, secs, heartbeats));
        println!(
            "{name:<18} {:>8.0} pings/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  errors {:>5}  RSS {:>5.0} → {:>5.0} MiB  ({} pings in {:.1} s)",
            r.pings as f64 / r.secs,
            pct(&r.latencies_us, 0.50),
            pct(&r.latencies_us, 0.99),
            r.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0,
            r.errors,
            before,
            rss_mib(pid),
            r.pings,
            r.secs,
        );
        let metrics = rt.block_on(async {
            reqwest::get(format!("{base}/metrics"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        });
        let value = |name: &str| {
            metrics
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let batches = value("tocsin_heartbeat_batch_pings_count");
        println!(
            "{:<18} {batches:.0} commits, {:.1} pings and {:.2} ms per commit on average",
            "",
            value("tocsin_heartbeat_batch_pings_sum") / batches.max(1.0),
            value("tocsin_heartbeat_batch_seconds_sum") * 1000.0 / batches.max(1.0),
        );
        assert!(r.pings > 0, "no ping succeeded");
        drop(server);
        if let Some(url) = url {
            rt.block_on(tocsin_store_postgres::testing::drop_database(url));
        }
    }
}
