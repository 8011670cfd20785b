//! Upgrading a database that holds data: notification intents written
//! before the outbox migration (version 7) survive it — the pending one is
//! queued with its delivery job, the sent one delivered; incidents written
//! before the response migration (version 8) read back with its new fields
//! empty.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use tocsin_store::Store;
use tocsin_store_sqlite::{OpenMode, SqliteStore};
use tocsin_store_sqlx::Dialect;

#[tokio::test]
async fn pending_intents_survive_the_outbox_migration() {
    let (_dir, path) = tocsin_store_sqlite::testing::fresh_file();
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    <SqliteStore as Dialect>::migrator()
        .run_to(6, &pool)
        .await
        .unwrap();
    for statement in tocsin_store::conformance::BEFORE_OUTBOX {
        sqlx::raw_sql(*statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, OpenMode::Server).await.unwrap());
    assert!(store.migrate().await.unwrap().contains(&7));
    tocsin_store::conformance::outbox_upgrade_kept_intents(store.clone()).await;
    store.close().await;
}

#[tokio::test]
async fn incidents_survive_the_response_migration() {
    let (_dir, path) = tocsin_store_sqlite::testing::fresh_file();
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    <SqliteStore as Dialect>::migrator()
        .run_to(7, &pool)
        .await
        .unwrap();
    for statement in tocsin_store::conformance::BEFORE_RESPONSE {
        sqlx::raw_sql(*statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, OpenMode::Server).await.unwrap());
    let applied = store.migrate().await.unwrap();
    assert_eq!(applied.first(), Some(&8), "applied {applied:?}: from 8 on");
    tocsin_store::conformance::response_upgrade_kept_incidents(store.clone()).await;
    store.close().await;
}
