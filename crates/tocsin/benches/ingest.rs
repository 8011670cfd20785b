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

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const ROUTING_KEY: &str = "0123456789abcdef0123456789abcdef";

struct Server {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident memory of a process, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn start_tocsin(database_url: Option<&str>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("org.yaml"),
        "users:\n  - { name: ops, full_name: Ops, email: ops@example.com, time_zone: UTC }\n\
         teams:\n  - { name: ops, members: [ops] }\n\
         services:\n  - { name: bench, team: ops }\n\
         integrations:\n  - { name: bench-pd, service: bench, format: pagerduty, key_env: BENCH_KEY }\n",
    )
    .unwrap();
    let tocsin = env!("CARGO_BIN_EXE_tocsin");
    let mut base = Command::new(tocsin);
    base.arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("BENCH_KEY", ROUTING_KEY)
        .env("RUST_LOG", "warn,tocsin=info");
    if let Some(url) = database_url {
        base.arg("--database-url").arg(url);
    }
    let mut apply = Command::new(tocsin);
    apply
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("BENCH_KEY", ROUTING_KEY);
    if let Some(url) = database_url {
        apply.arg("--database-url").arg(url);
    }
    let out = apply
        .arg("apply")
        .arg(dir.path().join("org.yaml"))
        .arg("--yes")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "apply: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = base
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("tocsin exited before listening")
            .unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        addr,
        _dir: dir,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_alertmanager() -> Option<Server> {
    let bin = ["prometheus-alertmanager", "alertmanager"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })?;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("am.yml");
    std::fs::write(
        &config,
        "route:\n  receiver: devnull\nreceivers:\n  - name: devnull\n",
    )
    .unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .arg(format!("--web.external-url=http://{addr}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let server = Server {
        child,
        addr,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(&server.addr).is_ok() {
            return Some(server);
        }
        #[allow(clippy::disallowed_methods)] // a real process starting up: real time is the point
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

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

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
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
        let server = start_tocsin(url.as_deref());
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
    match start_alertmanager() {
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
