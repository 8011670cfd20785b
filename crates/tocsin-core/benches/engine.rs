//! Engine and config-apply throughput on SQLite and PostgreSQL.
//!
//! Run by hand: `cargo bench -p tocsin-core --bench engine`
//! (PostgreSQL too with `TOCSIN_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres`;
//! size with `TOCSIN_BENCH_JOBS`, default 20000, and `TOCSIN_BENCH_PENDING`,
//! default 100000, the pending escalation steps behind the firing-delay
//! probes). Prints figures; asserts nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use std::sync::Arc;
use std::time::Instant;
use tocsin_core::clock::{Clock, SystemClock};
use tocsin_core::engine::{Engine, EngineConfig, JobError, JobHandler};
use tocsin_core::{catalog, manifest};
use tocsin_store::{ClaimedJob, NewJob, Store};
use tocsin_store_sqlite::{OpenMode, SqliteStore};

#[derive(Debug)]
struct Noop;

#[async_trait]
impl JobHandler for Noop {
    fn kind(&self) -> &'static str {
        "bench.noop"
    }
    async fn run(&self, _job: &ClaimedJob) -> Result<(), JobError> {
        Ok(())
    }
}

enum Db {
    Sqlite(#[allow(dead_code)] tempfile::TempDir, std::path::PathBuf),
    Postgres(String),
}

impl Db {
    async fn open(&self, server: bool) -> Arc<dyn Store> {
        let s: Arc<dyn Store> = match self {
            Db::Sqlite(_, p) => Arc::new(
                SqliteStore::open(
                    p,
                    if server {
                        OpenMode::Server
                    } else {
                        OpenMode::Client
                    },
                )
                .await
                .unwrap(),
            ),
            Db::Postgres(url) => Arc::new(
                tocsin_store_postgres::PostgresStore::connect(url)
                    .await
                    .unwrap(),
            ),
        };
        s.migrate().await.unwrap();
        s
    }
    /// A new empty database of the same backend.
    async fn fresh(&self) -> Db {
        match self {
            Db::Sqlite(..) => {
                let (dir, path) = tocsin_store_sqlite::testing::fresh_file();
                Db::Sqlite(dir, path)
            }
            Db::Postgres(_) => Db::Postgres(
                tocsin_store_postgres::testing::fresh_database()
                    .await
                    .unwrap(),
            ),
        }
    }

    async fn drop_database(&self) {
        if let Db::Postgres(url) = self {
            tocsin_store_postgres::testing::drop_database(url).await;
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Db::Sqlite(..) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }
}

/// Records how late each probe ran after its due time.
#[derive(Debug)]
struct Probe {
    clock: SystemClock,
    late_ms: std::sync::Mutex<Vec<f64>>,
}

#[async_trait]
impl JobHandler for Probe {
    fn kind(&self) -> &'static str {
        "bench.probe"
    }
    async fn run(&self, job: &ClaimedJob) -> Result<(), JobError> {
        let late = self.clock.now().duration_since(job.due_at).as_secs_f64() * 1000.0;
        self.late_ms.lock().unwrap().push(late);
        Ok(())
    }
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// With `pending` steps waiting (due in two hours, like escalations not yet
/// due), how late do steps that come due run? 500 probes due one every
/// 20 ms, run by one engine on the real clock with its default settings.
async fn firing_delay(db: &Db, pending: usize) {
    let store = db.open(true).await;
    let clock = SystemClock;
    let later = clock.now() + jiff::SignedDuration::from_hours(2);
    let started = Instant::now();
    for i in 0..pending {
        let job = NewJob {
            kind: "bench.noop".into(),
            key: format!("pending-{i}"),
            payload: serde_json::json!({ "incident": i }),
            due_at: later,
        };
        store.enqueue_job(&job, clock.now()).await.unwrap();
    }
    let enqueue_secs = started.elapsed().as_secs_f64();
    let first_due = clock.now() + jiff::SignedDuration::from_secs(3);
    let probes = 500;
    for i in 0..probes {
        let job = NewJob {
            kind: "bench.probe".into(),
            key: format!("probe-{i}"),
            payload: serde_json::json!({}),
            due_at: first_due + jiff::SignedDuration::from_millis(20 * i as i64),
        };
        store.enqueue_job(&job, clock.now()).await.unwrap();
    }
    let rss_before = rss_mib();
    let probe = Arc::new(Probe {
        clock: SystemClock,
        late_ms: std::sync::Mutex::new(Vec::new()),
    });
    let engine = Arc::new(
        Engine::new(store.clone(), Arc::new(SystemClock), "bench")
            .with_handler(probe.clone())
            .with_handler(Arc::new(Noop)),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(engine.run(stopped));
    let deadline = Instant::now() + std::time::Duration::from_secs(40);
    while probe.late_ms.lock().unwrap().len() < probes as usize && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = stop.send(true);
    let _ = task.await;
    let mut late = probe.late_ms.lock().unwrap().clone();
    late.sort_by(f64::total_cmp);
    let pct = |p: f64| late[((late.len() as f64 - 1.0) * p).round() as usize];
    if late.is_empty() {
        println!("{:<9} firing delay: no probe ran", db.name());
    } else {
        println!(
            "{:<9} {pending} pending steps (enqueued in {enqueue_secs:.1} s): {} of {probes} probes ran, \
             late by p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; bench process RSS {rss_before:.0} → {:.0} MiB",
            db.name(),
            late.len(),
            pct(0.5),
            pct(0.99),
            late[late.len() - 1],
            rss_mib(),
        );
    }
    store.close().await;
}

fn rate(n: usize, secs: f64) -> String {
    format!("{:>9.0}/s", n as f64 / secs)
}

async fn jobs(db: &Db, n: usize, engines: usize) {
    let clock = SystemClock;
    let first = db.open(true).await;
    let mut stores = vec![first.clone()];
    for _ in 1..engines {
        stores.push(db.open(false).await);
    }
    let run = uuid::Uuid::new_v4().simple().to_string();
    let start = Instant::now();
    for i in 0..n {
        let job = NewJob {
            kind: "bench.noop".into(),
            key: format!("{run}-{i}"),
            payload: serde_json::json!({ "i": i }),
            due_at: clock.now(),
        };
        first.enqueue_job(&job, clock.now()).await.unwrap();
    }
    let enqueue = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut tasks = Vec::new();
    for (i, s) in stores.iter().enumerate() {
        let engine = Arc::new(
            Engine::new(s.clone(), Arc::new(SystemClock), format!("bench-{i}"))
                .with_config(EngineConfig {
                    batch: 64,
                    ..EngineConfig::default()
                })
                .with_handler(Arc::new(Noop)),
        );
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            loop {
                let r = engine.cycle().await.unwrap();
                if r.jobs() == 0 {
                    break done;
                }
                done += r.completed;
            }
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let drain = start.elapsed().as_secs_f64();
    assert_eq!(total, n, "jobs lost or duplicated");
    println!(
        "{:<9} {:>7} jobs  enqueue {} ({:.2} ms each)   run with {engines} engine(s) {} (claim+run+complete)",
        db.name(),
        n,
        rate(n, enqueue),
        enqueue * 1000.0 / n as f64,
        rate(n, drain),
    );
    for s in stores {
        s.close().await;
    }
}

/// A catalog of `teams` teams, each with 5 users, 10 services and an
/// integration per service.
fn big_catalog(teams: usize) -> Vec<manifest::Source> {
    (0..teams)
        .map(|t| {
            let mut y = String::from("users:\n");
            for u in 0..5 {
                y += &format!("  - {{ name: u{t}-{u}, full_name: User {u}, email: u{t}-{u}@example.com, time_zone: Europe/Berlin }}\n");
            }
            y += &format!("teams:\n  - name: team-{t}\n    members: [u{t}-0, u{t}-1, u{t}-2, u{t}-3, u{t}-4]\n");
            y += &format!("schedules:\n  - name: sched-{t}\n    time_zone: UTC\n    layers:\n      - {{ name: weekly, participants: [u{t}-0, u{t}-1], turn: 1w, start: \"2026-01-05\" }}\n");
            y += &format!("escalation_policies:\n  - name: pol-{t}\n    levels:\n      - {{ delay_minutes: 5, targets: [{{ schedule: sched-{t} }}] }}\n");
            y += "services:\n";
            for s in 0..10 {
                y += &format!("  - {{ name: svc-{t}-{s}, team: team-{t}, escalation_policy: pol-{t}, tags: [tier-1], links: [{{ title: dash, url: \"https://grafana.example.com/{t}/{s}\" }}] }}\n");
            }
            y += "integrations:\n";
            for s in 0..10 {
                y += &format!("  - {{ name: int-{t}-{s}, service: svc-{t}-{s}, format: alertmanager }}\n");
            }
            manifest::Source { path: format!("teams/team-{t}.yaml"), text: y }
        })
        .collect()
}

async fn apply(db: &Db, teams: usize) {
    let store = db.open(true).await;
    let sources = big_catalog(teams);
    let start = Instant::now();
    let m = manifest::parse(sources.clone());
    let parse = start.elapsed().as_secs_f64();
    let objects = m.declared.len();
    let start = Instant::now();
    let plan = catalog::plan(store.as_ref(), &m, false, &|_| None)
        .await
        .unwrap();
    let planned = start.elapsed().as_secs_f64();
    let start = Instant::now();
    catalog::apply(
        store.as_ref(),
        &plan,
        &tocsin_core::audit::Actor::system(),
        SystemClock.now(),
    )
    .await
    .unwrap();
    let applied = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let again = catalog::plan(store.as_ref(), &manifest::parse(sources), false, &|_| None)
        .await
        .unwrap();
    let replan = start.elapsed().as_secs_f64();
    assert!(again.is_empty());
    println!(
        "{:<9} {objects:>7} objects  parse+check {:.0} ms   plan {:.0} ms   apply {:.0} ms (one transaction)   parse+re-plan, no changes {:.0} ms",
        db.name(),
        parse * 1000.0,
        planned * 1000.0,
        applied * 1000.0,
        replan * 1000.0,
    );
    store.close().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("TOCSIN_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    println!("tocsin engine benchmark: {n} no-op jobs; catalog apply of 200 teams");
    let mut dbs = Vec::new();
    let (dir, path) = tocsin_store_sqlite::testing::fresh_file();
    dbs.push(Db::Sqlite(dir, path));
    match tocsin_store_postgres::testing::fresh_database().await {
        Some(url) => dbs.push(Db::Postgres(url)),
        None => println!("(PostgreSQL skipped: set TOCSIN_TEST_POSTGRES_URL)"),
    }
    let pending: usize = std::env::var("TOCSIN_BENCH_PENDING")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    for db in &dbs {
        let fresh = db.fresh().await;
        firing_delay(&fresh, pending).await;
        fresh.drop_database().await;
    }
    for db in &dbs {
        jobs(db, n, 1).await;
        if matches!(db, Db::Postgres(_)) {
            jobs(db, n, 2).await;
        }
    }
    for db in &dbs {
        let fresh = db.fresh().await;
        apply(&fresh, 200).await;
        fresh.drop_database().await;
    }
    for db in &dbs {
        if let Db::Postgres(url) = db {
            tocsin_store_postgres::testing::drop_database(url).await;
        }
    }
}
