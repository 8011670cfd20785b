//! [`AuditStore`](tocsin_store::AuditStore), and the two pieces every
//! audited change is built from: `write_audit` (the entries, on the
//! change's transaction) and `audited` (the change and its entries in one
//! write transaction).
//!
//! Invariants: all entries of one change carry the change's `now` and are
//! written after it, in its transaction; a change that fails, or changes
//! nothing, leaves no entry.

/// Expanded by [`crate::impl_store!`], in its scope.
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_audit_store {
    ($store:ty) => {
        /// Writes `entries`, all at `now`, on the caller's transaction.
        async fn write_audit(
            conn: &mut Conn,
            entries: &[AuditEntry],
            now: Timestamp,
        ) -> Result<(), StoreError> {
            let at = sql::millis(now);
            for entry in entries {
                let (actor, interface, action, object_kind, object_name, detail) =
                    sql::audit_values(entry);
                sqlx::query(sql::INSERT_AUDIT)
                    .bind(at)
                    .bind(actor)
                    .bind(interface)
                    .bind(action)
                    .bind(object_kind)
                    .bind(object_name)
                    .bind(detail)
                    .execute(&mut *conn)
                    .await
                    .map_err(map)?;
            }
            Ok(())
        }

        /// Runs `change` in a write transaction ([`Dialect::begin_write`])
        /// and, if it changed something ([`Outcome`]), writes `audit` after
        /// it in the same transaction; then commits. Nothing of the change,
        /// and none of its entries, remains when any step fails. `what`
        /// names the change in the warning of a failed rollback.
        async fn audited<T: Outcome>(
            store: &$store,
            what: &str,
            audit: &[AuditEntry],
            now: Timestamp,
            change: impl AsyncFnOnce(&mut Conn) -> Result<T, StoreError>,
        ) -> Result<T, StoreError> {
            let mut tx = store.begin_write().await?;
            let result = match change(&mut *tx).await {
                Ok(outcome) if outcome.changed() => {
                    write_audit(&mut tx, audit, now).await.map(|()| outcome)
                }
                other => other,
            };
            $crate::finish::<$store, T>(tx, result, what).await
        }

        #[async_trait]
        impl AuditStore for $store {
            async fn record_audit(
                &self,
                entries: &[AuditEntry],
                now: Timestamp,
            ) -> Result<(), StoreError> {
                if entries.is_empty() {
                    return Ok(());
                }
                audited(self, "audit write", entries, now, async |_| Ok(())).await
            }

            async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
                let rows: Vec<AuditRow> = sqlx::query_as(sql::LIST_AUDIT)
                    .bind(query.actor.as_deref())
                    .bind(query.interface.map(|i| i.as_str()))
                    .bind(query.action_prefix.as_deref())
                    .bind(query.object_kind.as_deref())
                    .bind(query.object_name.as_deref())
                    .bind(query.before_id)
                    .bind(sql::audit_limit(query))
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                rows.into_iter().map(sql::audit_from_row).collect()
            }
        }
    };
}
