//! A hub's catalog for a test: manifests applied to a store as
//! `tocsin config apply` would, and accounts for its people.

use jiff::Timestamp;
use std::sync::Arc;
use tocsin_core::account::{self, NewUserAccount};
use tocsin_core::audit::Actor;
use tocsin_core::manifest::{self, Source};
use tocsin_domain::access::Role;
use tocsin_store::Store;
use tocsin_store_sqlite::{OpenMode, SqliteStore};

/// A fresh, migrated SQLite store in a temporary directory (kept alive by
/// the returned guard).
pub async fn sqlite() -> (tempfile::TempDir, Arc<dyn Store>) {
    let (dir, path) = tocsin_store_sqlite::testing::fresh_file();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, OpenMode::Server).await.unwrap());
    store.migrate().await.unwrap();
    (dir, store)
}

/// Applies `yaml` (one manifest document) to `store`, failing the test on
/// any problem.
pub async fn apply(store: &dyn Store, yaml: &str, now: Timestamp) {
    let manifests = manifest::parse(vec![Source {
        path: "catalog.yaml".into(),
        text: yaml.to_owned(),
    }]);
    assert!(manifests.errors.is_empty(), "{:?}", manifests.errors);
    let plan = tocsin_core::catalog::plan(store, &manifests, false, &|_: &str| None)
        .await
        .unwrap();
    tocsin_core::catalog::apply(store, &plan, &Actor::system(), now)
        .await
        .unwrap();
}

/// Gives the catalog user `name` an account with `role`.
pub async fn account(store: &dyn Store, name: &str, role: Role, now: Timestamp) {
    account::create(
        store,
        NewUserAccount {
            name: name.into(),
            role,
            password: "correct horse battery staple".into(),
            full_name: None,
            email: None,
            time_zone: None,
        },
        &Actor::system(),
        now,
    )
    .await
    .unwrap();
}
