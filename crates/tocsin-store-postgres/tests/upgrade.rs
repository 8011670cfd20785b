//! Upgrading a database that holds data: notification intents written
//! before the outbox migration (version 7) survive it — the pending one is
//! queued with its delivery job, the sent one delivered; incidents written
//! before the response migration (version 8) read back with its new fields
//! empty. Runs when
//! `TOCSIN_TEST_POSTGRES_URL` is set (CI sets it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use tocsin_store::Store;
use tocsin_store_postgres::PostgresStore;
use tocsin_store_sqlx::Dialect;

#[tokio::test]
async fn pending_intents_survive_the_outbox_migration() {
    let Some(url) = tocsin_store_postgres::testing::fresh_database().await else {
        eprintln!("skipped: TOCSIN_TEST_POSTGRES_URL not set");
        return;
    };
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    <PostgresStore as Dialect>::migrator()
        .run_to(6, &pool)
        .await
        .unwrap();
    for statement in tocsin_store::conformance::BEFORE_OUTBOX {
        sqlx::raw_sql(*statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.unwrap());
    assert!(store.migrate().await.unwrap().contains(&7));
    tocsin_store::conformance::outbox_upgrade_kept_intents(store.clone()).await;
    store.close().await;
    tocsin_store_postgres::testing::drop_database(&url).await;
}

#[tokio::test]
async fn incidents_survive_the_response_migration() {
    let Some(url) = tocsin_store_postgres::testing::fresh_database().await else {
        eprintln!("skipped: TOCSIN_TEST_POSTGRES_URL not set");
        return;
    };
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    <PostgresStore as Dialect>::migrator()
        .run_to(7, &pool)
        .await
        .unwrap();
    for statement in tocsin_store::conformance::BEFORE_RESPONSE {
        sqlx::raw_sql(*statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.unwrap());
    let applied = store.migrate().await.unwrap();
    assert_eq!(applied.first(), Some(&8), "applied {applied:?}: from 8 on");
    tocsin_store::conformance::response_upgrade_kept_incidents(store.clone()).await;
    store.close().await;
    tocsin_store_postgres::testing::drop_database(&url).await;
}
