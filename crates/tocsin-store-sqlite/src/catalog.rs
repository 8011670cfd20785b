//! [`CatalogStore`] on SQLite.
//!
//! A batch runs in a `BEGIN IMMEDIATE` transaction (see [`crate::tx`]): it
//! takes the write lock up front, so the version checks and the writes see
//! the same snapshot and a concurrent writer waits (busy timeout) instead of
//! failing half way with `SQLITE_BUSY` when a read transaction tries to
//! upgrade. The batch's audit entries are written last, in the same
//! transaction, so a batch that conflicts leaves no entry.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::{Sqlite, SqliteConnection};
use tocsin_domain::Name;
use tocsin_domain::audit::AuditEntry;
use tocsin_domain::catalog::Kind;
use tocsin_domain::plan::Current;
use tocsin_store::sql::{self, ObjectRow};
use tocsin_store::{CatalogStore, CatalogWrite, StoreError};

use crate::SqliteStore;
use crate::audit::write_audit;
use crate::error::{is_unique_violation, map};
use crate::tx::finish;

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn list_objects(&self, kind: Option<Kind>) -> Result<Vec<Current>, StoreError> {
        let rows: Vec<ObjectRow> = match kind {
            Some(kind) => {
                sqlx::query_as(sql::LIST_OBJECTS_OF_KIND)
                    .bind(kind.as_str())
                    .fetch_all(&self.pool)
                    .await
            }
            None => {
                sqlx::query_as(sql::LIST_OBJECTS)
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(map)?;
        let mut objects = rows
            .into_iter()
            .map(sql::object_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        sql::sort_objects(&mut objects);
        Ok(objects)
    }

    async fn get_object(&self, kind: Kind, name: &Name) -> Result<Option<Current>, StoreError> {
        let row: Option<ObjectRow> = sqlx::query_as(sql::GET_OBJECT)
            .bind(kind.as_str())
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(map)?;
        row.map(sql::object_from_row).transpose()
    }

    async fn apply_catalog(
        &self,
        writes: &[CatalogWrite],
        audit: &[AuditEntry],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        // Nothing of the batch, and none of its audit entries, may remain
        // when any write fails.
        let result = match apply_writes(&mut tx, writes, now).await {
            Ok(()) => write_audit(&mut tx, audit, now).await,
            Err(e) => Err(e),
        };
        finish(tx, result, "catalog batch").await
    }
}

async fn apply_writes(
    conn: &mut SqliteConnection,
    writes: &[CatalogWrite],
    now: Timestamp,
) -> Result<(), StoreError> {
    let now = sql::millis(now);
    for write in writes {
        match write {
            CatalogWrite::Create {
                kind,
                name,
                spec,
                managed,
                source,
                secret,
            } => {
                let inserted = sqlx::query::<Sqlite>(sql::INSERT_OBJECT)
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(kind.as_str())
                    .bind(name.as_str())
                    .bind(spec.to_string())
                    .bind(*managed)
                    .bind(source.as_deref())
                    .bind(secret.as_deref())
                    .bind(now)
                    .execute(&mut *conn)
                    .await;
                match inserted {
                    Ok(_) => {}
                    Err(e) if is_unique_violation(&e) => {
                        return Err(sql::already_exists(*kind, name));
                    }
                    Err(e) => return Err(map(e)),
                }
            }
            CatalogWrite::Update {
                id,
                expected_version,
                spec,
                managed,
                source,
                secret,
            } => {
                let done = sqlx::query::<Sqlite>(sql::UPDATE_OBJECT)
                    .bind(id.as_str())
                    .bind(*expected_version)
                    .bind(spec.to_string())
                    .bind(*managed)
                    .bind(source.as_deref())
                    .bind(secret.as_deref())
                    .bind(now)
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
                if done.rows_affected() != 1 {
                    return Err(changed_since_read(conn, id).await);
                }
            }
            CatalogWrite::Delete {
                id,
                expected_version,
            } => {
                let done = sqlx::query::<Sqlite>(sql::DELETE_OBJECT)
                    .bind(id.as_str())
                    .bind(*expected_version)
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
                if done.rows_affected() != 1 {
                    return Err(changed_since_read(conn, id).await);
                }
            }
        }
    }
    Ok(())
}

/// The conflict for a missed compare-and-set, naming the object if it still
/// exists.
async fn changed_since_read(conn: &mut SqliteConnection, id: &str) -> StoreError {
    let found: Result<Option<(String, String)>, _> = sqlx::query_as(sql::OBJECT_KIND_NAME)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await;
    match found {
        Ok(found) => sql::changed_since_read(id, found),
        Err(e) => map(e),
    }
}
