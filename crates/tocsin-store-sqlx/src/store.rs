//! [`Store`](tocsin_store::Store) itself: readiness, migrating and
//! migration status, closing.
//!
//! Invariant: the applied versions are read from sqlx's own table with
//! [`tocsin_store::sql::APPLIED_MIGRATIONS`], counting only successful
//! migrations; a database without that table (a new one) has none applied.

use sqlx::migrate::Migrator;

/// The up-migration versions `migrator` embeds, in order.
pub fn known_versions(migrator: &Migrator) -> Vec<i64> {
    migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .collect()
}

/// Expanded by [`crate::impl_store!`], in its scope.
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_store_admin {
    ($store:ty) => {
        /// The versions recorded as applied; none when the migrations table
        /// does not exist yet (a new database).
        async fn applied_versions(store: &$store) -> Result<Vec<i64>, StoreError> {
            let exists: bool = sqlx::query_scalar(<$store as Dialect>::MIGRATIONS_TABLE_EXISTS)
                .fetch_one(store.pool())
                .await
                .map_err(map)?;
            if !exists {
                return Ok(Vec::new());
            }
            sqlx::query_scalar(sql::APPLIED_MIGRATIONS)
                .fetch_all(store.pool())
                .await
                .map_err(map)
        }

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> Backend {
                <$store as Dialect>::BACKEND
            }

            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query(sql::PING)
                    .execute(self.pool())
                    .await
                    .map_err(map)?;
                Ok(())
            }

            async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
                let before = applied_versions(self).await?;
                <$store as Dialect>::migrator()
                    .run(self.pool())
                    .await
                    .map_err($crate::map_migrate::<$store>)?;
                let after = applied_versions(self).await?;
                Ok(after.into_iter().filter(|v| !before.contains(v)).collect())
            }

            async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
                Ok(MigrationStatus {
                    known: $crate::known_versions(<$store as Dialect>::migrator()),
                    applied: applied_versions(self).await?,
                })
            }

            async fn close(&self) {
                self.relaxed_pool().close().await;
                self.pool().close().await;
            }
        }
    };
}
