//! Engine and config-apply throughput on SQLite and PostgreSQL.
//!
//! Run by hand: `cargo bench -p tocsin-core --bench engine`
//! (PostgreSQL too with `TOCSIN_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres`;
//! size with `TOCSIN_BENCH_JOBS`, default 20000). Prints figures; asserts nothing.
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
    fn name(&self) -> &'static str {
        match self {
            Db::Sqlite(..) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }
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
    for db in &dbs {
        jobs(db, n, 1).await;
        if matches!(db, Db::Postgres(_)) {
            jobs(db, n, 2).await;
        }
    }
    for db in &dbs {
        let fresh = match db {
            Db::Sqlite(..) => {
                let (dir, path) = tocsin_store_sqlite::testing::fresh_file();
                Db::Sqlite(dir, path)
            }
            Db::Postgres(_) => Db::Postgres(
                tocsin_store_postgres::testing::fresh_database()
                    .await
                    .unwrap(),
            ),
        };
        apply(&fresh, 200).await;
        if let Db::Postgres(url) = &fresh {
            tocsin_store_postgres::testing::drop_database(url).await;
        }
    }
    for db in &dbs {
        if let Db::Postgres(url) = db {
            tocsin_store_postgres::testing::drop_database(url).await;
        }
    }
}
