//! [`CatalogStore`](tocsin_store::CatalogStore): listing and reading
//! objects, and applying a batch of writes.
//!
//! A batch runs in one write transaction ([`crate::Dialect::begin_write`];
//! each backend's says why its compare-and-set is safe there): creates are
//! inserts that a taken name turns into a conflict, updates and deletes are
//! compare-and-set on the version, and a miss is reported with the object's
//! kind and name. The batch's audit entries are written last, in the same
//! transaction, so a batch that conflicts leaves no entry.
//!
//! Invariant: listings are sorted in Rust ([`tocsin_store::sql::sort_objects`]),
//! never by the database's collation.

/// Expanded by [`crate::impl_store!`], in its scope.
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_catalog_store {
    ($store:ty) => {
        #[async_trait]
        impl CatalogStore for $store {
            async fn list_objects(&self, kind: Option<Kind>) -> Result<Vec<Current>, StoreError> {
                let rows: Vec<ObjectRow> = match kind {
                    Some(kind) => {
                        sqlx::query_as(sql::LIST_OBJECTS_OF_KIND)
                            .bind(kind.as_str())
                            .fetch_all(self.pool())
                            .await
                    }
                    None => {
                        sqlx::query_as(sql::LIST_OBJECTS)
                            .fetch_all(self.pool())
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

            async fn get_object(
                &self,
                kind: Kind,
                name: &Name,
            ) -> Result<Option<Current>, StoreError> {
                let row: Option<ObjectRow> = sqlx::query_as(sql::GET_OBJECT)
                    .bind(kind.as_str())
                    .bind(name.as_str())
                    .fetch_optional(self.pool())
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
                // Nothing of the batch, and none of its audit entries, may
                // remain when any write fails.
                audited(self, "catalog batch", audit, now, async |conn| {
                    apply_writes(conn, writes, now).await
                })
                .await
            }
        }

        async fn apply_writes(
            conn: &mut Conn,
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
                        sqlx::query::<Db>(sql::INSERT_OBJECT)
                            .bind($crate::__private::uuid::Uuid::new_v4().to_string())
                            .bind(kind.as_str())
                            .bind(name.as_str())
                            .bind(spec.to_string())
                            .bind(*managed)
                            .bind(source.as_deref())
                            .bind(secret.as_deref())
                            .bind(now)
                            .execute(&mut *conn)
                            .await
                            .map_err(unique_or(|| sql::already_exists(*kind, name)))?;
                    }
                    CatalogWrite::Update {
                        id,
                        expected_version,
                        spec,
                        managed,
                        source,
                        secret,
                    } => {
                        let done = sqlx::query::<Db>(sql::UPDATE_OBJECT)
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
                        let done = sqlx::query::<Db>(sql::DELETE_OBJECT)
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

        /// The conflict for a missed compare-and-set, naming the object if it
        /// still exists.
        async fn changed_since_read(conn: &mut Conn, id: &str) -> StoreError {
            let found: Result<Option<(String, String)>, _> = sqlx::query_as(sql::OBJECT_KIND_NAME)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await;
            match found {
                Ok(found) => sql::changed_since_read(id, found),
                Err(e) => map(e),
            }
        }
    };
}
