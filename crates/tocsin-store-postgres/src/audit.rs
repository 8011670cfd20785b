//! [`AuditStore`] on PostgreSQL, and the audit writes other methods make inside
//! their own transactions. Every statement is shared with SQLite.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::PgConnection;
use tocsin_domain::audit::AuditEntry;
use tocsin_store::sql::{self, AuditRow};
use tocsin_store::{AuditQuery, AuditRecord, AuditStore, StoreError};

use crate::PostgresStore;
use crate::error::map;
use crate::tx::finish;

/// Writes `entries`, all at `now`, on the caller's transaction.
pub(crate) async fn write_audit(
    conn: &mut PgConnection,
    entries: &[AuditEntry],
    now: Timestamp,
) -> Result<(), StoreError> {
    let at = sql::millis(now);
    for entry in entries {
        let (actor, interface, action, object_kind, object_name, detail) = sql::audit_values(entry);
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

#[async_trait]
impl AuditStore for PostgresStore {
    async fn record_audit(&self, entries: &[AuditEntry], now: Timestamp) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let result = write_audit(&mut tx, entries, now).await;
        finish(tx, result, "audit write").await
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
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        rows.into_iter().map(sql::audit_from_row).collect()
    }
}
