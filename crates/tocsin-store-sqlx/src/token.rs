//! [`TokenStore`](tocsin_store::TokenStore): API tokens, looked up by
//! digest. Creating and revoking write their audit entries in the same
//! transaction (`audited`).
//!
//! Invariants: only digests are stored; a taken token name is a conflict
//! naming it; revoking a missing or revoked token changes nothing and
//! writes no entry.

/// Expanded by [`crate::impl_store!`], in its scope.
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_token_store {
    ($store:ty) => {
        #[async_trait]
        impl TokenStore for $store {
            async fn create_token(
                &self,
                token: &NewToken,
                audit: &[AuditEntry],
                now: Timestamp,
            ) -> Result<(), StoreError> {
                audited(self, "token creation", audit, now, async |conn| {
                    sqlx::query(sql::INSERT_TOKEN)
                        .bind(token.id.as_str())
                        .bind(token.name.as_str())
                        .bind(token.scope.as_str())
                        .bind(token.digest.as_str())
                        .bind(token.owner.as_ref().map(|o| o.as_str()))
                        .bind(sql::millis(now))
                        .execute(&mut *conn)
                        .await
                        .map_err(unique_or(|| sql::token_name_taken(&token.name)))?;
                    Ok(())
                })
                .await
            }

            async fn use_token(
                &self,
                digest: &str,
                now: Timestamp,
            ) -> Result<Option<TokenRecord>, StoreError> {
                let row: Option<TokenRow> = sqlx::query_as(sql::USE_TOKEN)
                    .bind(digest)
                    .bind(sql::millis(now))
                    .fetch_optional(self.pool())
                    .await
                    .map_err(map)?;
                row.map(sql::token_from_row).transpose()
            }

            async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
                let rows: Vec<TokenRow> = sqlx::query_as(sql::LIST_TOKENS)
                    .fetch_all(self.pool())
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
                audited(self, "token revocation", audit, now, async |conn| {
                    let done = sqlx::query(sql::REVOKE_TOKEN)
                        .bind(name)
                        .bind(sql::millis(now))
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?;
                    Ok(done.rows_affected() > 0)
                })
                .await
            }
        }
    };
}
