//! [`TokenStore`] on PostgreSQL: every statement is shared with SQLite.

use async_trait::async_trait;
use jiff::Timestamp;
use tocsin_store::sql::{self, TokenRow};
use tocsin_store::{NewToken, StoreError, TokenRecord, TokenStore};

use crate::PostgresStore;
use crate::error::{is_unique_violation, map};

#[async_trait]
impl TokenStore for PostgresStore {
    async fn create_token(&self, token: &NewToken, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query(sql::INSERT_TOKEN)
            .bind(token.id.as_str())
            .bind(token.name.as_str())
            .bind(token.scope.as_str())
            .bind(token.digest.as_str())
            .bind(sql::millis(now))
            .execute(&self.pool)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    sql::token_name_taken(&token.name)
                } else {
                    map(e)
                }
            })?;
        Ok(())
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

    async fn revoke_token(&self, name: &str, now: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::REVOKE_TOKEN)
            .bind(name)
            .bind(sql::millis(now))
            .execute(&self.pool)
            .await
            .map_err(map)?;
        Ok(done.rows_affected() > 0)
    }
}
