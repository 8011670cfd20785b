//! The store conformance suite on PostgreSQL, plus what only PostgreSQL
//! does: several instances claiming jobs at once, and connection errors.
//!
//! Needs `TOCSIN_TEST_POSTGRES_URL` (see `tocsin_store_postgres::testing`);
//! without it the database tests skip. Each test gets its own database,
//! dropped when the test passes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use tocsin_store::conformance::{self, TestStore};
use tocsin_store::{Backend, Store, StoreError};
use tocsin_store_postgres::{PostgresStore, testing};

/// A fresh, migrated store on a new database, dropped after the test.
async fn fresh_store() -> Option<TestStore> {
    let url = testing::fresh_database().await?;
    let store = PostgresStore::connect(&url)
        .await
        .expect("connect to the test database");
    store.migrate().await.expect("migrate");
    Some(
        TestStore::new(Arc::new(store))
            .with_cleanup(async move { testing::drop_database(&url).await }),
    )
}

tocsin_store::conformance_tests!(fresh_store());

#[tokio::test]
async fn migrate_on_a_new_database() {
    let Some(url) = testing::fresh_database().await else {
        return;
    };
    let store = Arc::new(PostgresStore::connect(&url).await.expect("connect"));
    assert_eq!(store.backend(), Backend::Postgres);
    conformance::migrate_fresh_database(store.clone()).await;
    store.close().await;
    testing::drop_database(&url).await;
}

/// Two instances (two pools) claim 200 due jobs at once: each job is
/// claimed exactly once (`FOR UPDATE SKIP LOCKED`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_take_each_job_once() {
    let Some(url) = testing::fresh_database().await else {
        return;
    };
    let a = Arc::new(PostgresStore::connect(&url).await.expect("connect a"));
    let b = Arc::new(PostgresStore::connect(&url).await.expect("connect b"));
    a.migrate().await.expect("migrate");
    conformance::concurrent_claims_take_each_job_once(a.clone(), b.clone()).await;
    a.close().await;
    b.close().await;
    testing::drop_database(&url).await;
}

/// Runs without a server: nothing listens on port 1.
#[tokio::test]
async fn unreachable_server_is_unavailable_without_the_password() {
    let err = PostgresStore::connect("postgres://tocsin:hunter2@127.0.0.1:1/tocsin")
        .await
        .expect_err("nothing listens on port 1");
    let StoreError::Unavailable(msg) = err else {
        panic!("expected Unavailable, got {err:?}")
    };
    assert!(
        msg.contains("127.0.0.1:1"),
        "the message names host and port: {msg}"
    );
    assert!(
        msg.contains("check"),
        "the message says what to check: {msg}"
    );
    assert!(
        !msg.contains("hunter2"),
        "the message must not contain the password: {msg}"
    );
}

#[tokio::test]
async fn invalid_url_is_unavailable_without_the_password() {
    let err = PostgresStore::connect("postgres://tocsin:hunter2@127.0.0.1:notaport/tocsin")
        .await
        .expect_err("invalid port");
    let StoreError::Unavailable(msg) = err else {
        panic!("expected Unavailable, got {err:?}")
    };
    assert!(
        !msg.contains("hunter2"),
        "the message must not contain the password: {msg}"
    );
}

/// Two instances ingest the same storm at once: one incident, one page
/// (the ingest advisory lock serializes their batches).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_ingest_pages_once() {
    let Some(url) = testing::fresh_database().await else {
        return;
    };
    let a = Arc::new(PostgresStore::connect(&url).await.expect("connect a"));
    let b = Arc::new(PostgresStore::connect(&url).await.expect("connect b"));
    a.migrate().await.expect("migrate");
    conformance::concurrent_ingest_pages_once(a.clone(), b.clone()).await;
    a.close().await;
    b.close().await;
    testing::drop_database(&url).await;
}

/// The incident list's filters on 100,000 incidents (by hand:
/// `cargo test -p tocsin-store-postgres --test conformance -- --ignored`).
#[tokio::test]
#[ignore = "seeds 100,000 incidents; run by hand"]
async fn search_incidents_at_scale() {
    let Some(url) = testing::fresh_database().await else {
        return;
    };
    let store = Arc::new(PostgresStore::connect(&url).await.expect("connect"));
    store.migrate().await.expect("migrate");
    let pool = sqlx::PgPool::connect(&url).await.expect("a second pool");
    for statement in conformance::SEED_SEARCH_AT_SCALE {
        sqlx::raw_sql(*statement)
            .execute(&pool)
            .await
            .expect("seed");
    }
    sqlx::raw_sql("ANALYZE")
        .execute(&pool)
        .await
        .expect("analyze");
    pool.close().await;
    conformance::search_incidents_at_scale(store.clone()).await;
    store.close().await;
    testing::drop_database(&url).await;
}
