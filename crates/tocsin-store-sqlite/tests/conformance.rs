//! The store conformance suite on SQLite, plus what only SQLite does: the
//! single-instance lock, client mode beside a server, creating the file.
//! Each test gets a database file in its own temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use tocsin_store::conformance::{self, TestStore};
use tocsin_store::{Backend, JobStore, Store, StoreError};
use tocsin_store_sqlite::{OpenMode, SqliteStore, testing};

/// A fresh, migrated server-mode store; its directory lives as long as the
/// test.
async fn fresh_store() -> Option<TestStore> {
    let (dir, path) = testing::fresh_file();
    let store = SqliteStore::open(&path, OpenMode::Server)
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    Some(TestStore::new(Arc::new(store)).with_guard(dir))
}

tocsin_store::conformance_tests!(fresh_store());

#[tokio::test]
async fn migrate_on_a_new_file() {
    let (_dir, path) = testing::fresh_file();
    let store = SqliteStore::open(&path, OpenMode::Client)
        .await
        .expect("open");
    assert_eq!(store.backend(), Backend::Sqlite);
    conformance::migrate_fresh_database(Arc::new(store)).await;
}

/// Two pools on one file (a server and a CLI command, or a server's
/// workers) claim 200 due jobs at once: each job is claimed exactly once,
/// SQLite serialising the claim statements.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_take_each_job_once() {
    let (_dir, path) = testing::fresh_file();
    let a = Arc::new(
        SqliteStore::open(&path, OpenMode::Server)
            .await
            .expect("open a"),
    );
    let b = Arc::new(
        SqliteStore::open(&path, OpenMode::Client)
            .await
            .expect("open b"),
    );
    a.migrate().await.expect("migrate");
    conformance::concurrent_claims_take_each_job_once(a.clone(), b.clone()).await;
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn open_creates_missing_directories() {
    let (dir, _) = testing::fresh_file();
    let path = dir.path().join("a/b/tocsin.db");
    let store = SqliteStore::open(&path, OpenMode::Client)
        .await
        .expect("open in a missing directory");
    store.ping().await.expect("ping");
    assert!(path.exists(), "the database file is created");
    store.close().await;
}

#[tokio::test]
async fn a_second_server_is_refused_with_the_first_ones_pid() {
    let (_dir, path) = testing::fresh_file();
    let first = SqliteStore::open(&path, OpenMode::Server)
        .await
        .expect("first server");
    assert!(first.holds_server_lock());

    let err = SqliteStore::open(&path, OpenMode::Server)
        .await
        .expect_err("a second server must be refused");
    let StoreError::Locked(msg) = err else {
        panic!("expected Locked, got {err:?}")
    };
    let pid = format!("pid {}", std::process::id());
    assert!(
        msg.contains(&pid),
        "the message names the holder's pid: {msg}"
    );
    assert!(
        msg.contains(&path.display().to_string()),
        "the message names the file: {msg}"
    );
    assert!(
        msg.contains("PostgreSQL"),
        "the message says how to run several instances: {msg}"
    );

    // A CLI command beside the server takes no lock and sees its writes.
    first.migrate().await.expect("migrate");
    let client = SqliteStore::open(&path, OpenMode::Client)
        .await
        .expect("client beside a server");
    assert!(!client.holds_server_lock());
    assert!(
        client
            .migration_status()
            .await
            .expect("status")
            .is_current()
    );
    client.close().await;

    // The lock goes with the store.
    first.close().await;
    drop(first);
    let again = SqliteStore::open(&path, OpenMode::Server)
        .await
        .expect("a server after the first one stopped");
    again.close().await;
}

#[tokio::test]
async fn acknowledged_writes_survive_reopening() {
    let (_dir, path) = testing::fresh_file();
    let store = SqliteStore::open(&path, OpenMode::Server)
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    let job = tocsin_store::NewJob {
        kind: "notify".into(),
        key: "k".into(),
        payload: serde_json::json!({}),
        due_at: jiff::Timestamp::constant(1_767_225_600, 0),
    };
    assert!(
        store
            .enqueue_job(&job, jiff::Timestamp::constant(1_767_225_600, 0))
            .await
            .expect("enqueue")
    );
    store.close().await;
    drop(store);

    let reopened = SqliteStore::open(&path, OpenMode::Server)
        .await
        .expect("reopen");
    assert!(
        reopened
            .migration_status()
            .await
            .expect("status")
            .is_current(),
        "the schema persists"
    );
    assert!(
        reopened
            .job_by_key("k")
            .await
            .expect("job_by_key")
            .is_some(),
        "the job persists"
    );
    reopened.close().await;
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_reported() {
    let (_dir, path) = testing::fresh_file();
    std::fs::write(
        &path,
        b"this is not an SQLite database, but it is long enough to have a header........",
    )
    .expect("write");
    let result = async {
        let store = SqliteStore::open(&path, OpenMode::Client).await?;
        store.migrate().await
    }
    .await;
    assert!(
        result.is_err(),
        "a non-database file must not be used: {result:?}"
    );
}

/// Two stores on one file ingest the same storm at once: one incident, one
/// page (SQLite's write lock serializes the batches).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_ingest_pages_once() {
    let (_dir, path) = testing::fresh_file();
    let a = Arc::new(
        SqliteStore::open(&path, OpenMode::Server)
            .await
            .expect("open a"),
    );
    let b = Arc::new(
        SqliteStore::open(&path, OpenMode::Client)
            .await
            .expect("open b"),
    );
    a.migrate().await.expect("migrate");
    conformance::concurrent_ingest_pages_once(a.clone(), b.clone()).await;
    a.close().await;
    b.close().await;
}

/// The incident list's filters on 100,000 incidents (by hand:
/// `cargo test -p tocsin-store-sqlite --test conformance -- --ignored`).
#[tokio::test]
#[ignore = "seeds 100,000 incidents; run by hand"]
async fn search_incidents_at_scale() {
    let (_dir, path) = testing::fresh_file();
    let store = Arc::new(
        SqliteStore::open(&path, OpenMode::Server)
            .await
            .expect("open"),
    );
    store.migrate().await.expect("migrate");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("a second pool");
    for statement in conformance::SEED_SEARCH_AT_SCALE {
        sqlx::raw_sql(*statement)
            .execute(&pool)
            .await
            .expect("seed");
    }
    pool.close().await;
    conformance::search_incidents_at_scale(store.clone()).await;
    store.close().await;
}
