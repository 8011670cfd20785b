//! [`TokenStore`] on SQLite: every statement is shared with PostgreSQL.
//! Creating and revoking write their audit entries in the same transaction.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::SqliteConnection;
use tocsin_domain::audit::AuditEntry;
use tocsin_store::sql::{self, TokenRow};
use tocsin_store::{NewToken, StoreError, TokenRecord, TokenStore};

use crate::SqliteStore;
use crate::audit::write_audit;
use crate::error::{is_unique_violation, map};
use crate::tx::finish;

#[async_trait]
impl TokenStore for SqliteStore {
    async fn create_token(
        &self,
        token: &NewToken,
        audit: &[AuditEntry],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = insert_token(&mut tx, token, audit, now).await;
        finish(tx, result, "token creation").await
    }

    async fn use_token(
        &self,
        digest: &str,
        now: Timestamp,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let row: Option<TokenRow> = sqlx::query_as(sql::USE_TOKEN)
            .bind(digest)
            .bind(sql::millis(now))
            .fetch_optional(&self.pool)
            .await
            .map_err(map)?;
        row.map(sql::token_from_row).transpose()
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows: Vec<TokenRow> = sqlx::query_as(sql::LIST_TOKENS)
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        rows.into_iter().map(sql::token_from_row).collect()
    }

    async fn revoke_token(
        &self,
        name: &str,
        audit: &[AuditEntry],
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = revoke(&mut tx, name, audit, now).await;
        finish(tx, result, "token revocation").await
    }
}

async fn insert_token(
    conn: &mut SqliteConnection,
    token: &NewToken,
    audit: &[AuditEntry],
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(sql::INSERT_TOKEN)
        .bind(token.id.as_str())
        .bind(token.name.as_str())
        .bind(token.scope.as_str())
        .bind(token.digest.as_str())
        .bind(token.owner.as_ref().map(|o| o.as_str()))
        .bind(sql::millis(now))
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                sql::token_name_taken(&token.name)
            } else {
                map(e)
            }
        })?;
    write_audit(conn, audit, now).await
}

async fn revoke(
    conn: &mut SqliteConnection,
    name: &str,
    audit: &[AuditEntry],
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(sql::REVOKE_TOKEN)
        .bind(name)
        .bind(sql::millis(now))
        .execute(&mut *conn)
        .await
        .map_err(map)?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    write_audit(conn, audit, now).await?;
    Ok(true)
}
