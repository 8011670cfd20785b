//! [`AccountStore`](tocsin_store::AccountStore): accounts and sessions.
//! Changes that carry audit entries run in one write transaction with them
//! (`audited`).
//!
//! Invariants: a password change also ends the user's sessions, in the same
//! transaction; a session for a missing account, or an account whose name is
//! taken, is a conflict that says so.

/// Expanded by [`crate::impl_store!`], in its scope.
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_account_store {
    ($store:ty) => {
        #[async_trait]
        impl AccountStore for $store {
            async fn create_account(
                &self,
                account: &NewAccount,
                audit: &[AuditEntry],
                now: Timestamp,
            ) -> Result<(), StoreError> {
                audited(self, "account creation", audit, now, async |conn| {
                    sqlx::query(sql::INSERT_ACCOUNT)
                        .bind(account.user.as_str())
                        .bind(account.role.as_str())
                        .bind(account.password_hash.as_str())
                        .bind(sql::millis(now))
                        .execute(&mut *conn)
                        .await
                        .map_err(unique_or(|| sql::account_exists(&account.user)))?;
                    Ok(())
                })
                .await
            }

            async fn get_account(&self, user: &Name) -> Result<Option<Account>, StoreError> {
                let row: Option<AccountRow> = sqlx::query_as(sql::GET_ACCOUNT)
                    .bind(user.as_str())
                    .fetch_optional(self.pool())
                    .await
                    .map_err(map)?;
                row.map(sql::account_from_row).transpose()
            }

            async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
                let rows: Vec<AccountRow> = sqlx::query_as(sql::LIST_ACCOUNTS)
                    .fetch_all(self.pool())
                    .await
                    .map_err(map)?;
                let mut accounts = rows
                    .into_iter()
                    .map(sql::account_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                sql::sort_accounts(&mut accounts);
                Ok(accounts)
            }

            async fn count_accounts(&self) -> Result<u64, StoreError> {
                let n: i64 = sqlx::query_scalar(sql::COUNT_ACCOUNTS)
                    .fetch_one(self.pool())
                    .await
                    .map_err(map)?;
                u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("account count {n}")))
            }

            async fn set_password(
                &self,
                user: &Name,
                password_hash: &str,
                audit: &[AuditEntry],
                now: Timestamp,
            ) -> Result<bool, StoreError> {
                audited(self, "password change", audit, now, async |conn| {
                    let done = sqlx::query(sql::SET_PASSWORD)
                        .bind(user.as_str())
                        .bind(password_hash)
                        .bind(sql::millis(now))
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?;
                    if done.rows_affected() == 0 {
                        return Ok(false);
                    }
                    sqlx::query(sql::DELETE_USER_SESSIONS)
                        .bind(user.as_str())
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?;
                    Ok(true)
                })
                .await
            }

            async fn set_role(
                &self,
                user: &Name,
                role: Role,
                audit: &[AuditEntry],
                now: Timestamp,
            ) -> Result<bool, StoreError> {
                audited(self, "role change", audit, now, async |conn| {
                    let done = sqlx::query(sql::SET_ROLE)
                        .bind(user.as_str())
                        .bind(role.as_str())
                        .bind(sql::millis(now))
                        .execute(&mut *conn)
                        .await
                        .map_err(map)?;
                    Ok(done.rows_affected() > 0)
                })
                .await
            }

            async fn create_session(
                &self,
                session: &NewSession,
                now: Timestamp,
            ) -> Result<(), StoreError> {
                sqlx::query(sql::INSERT_SESSION)
                    .bind(session.digest.as_str())
                    .bind(session.user.as_str())
                    .bind(session.csrf.as_str())
                    .bind(sql::millis(now))
                    .bind(sql::millis(session.expires_at))
                    .execute(self.pool())
                    .await
                    .map_err(|e| {
                        if is_foreign_key_violation(&e) {
                            sql::no_account(&session.user)
                        } else if is_unique_violation(&e) {
                            sql::session_exists()
                        } else {
                            map(e)
                        }
                    })?;
                Ok(())
            }

            async fn get_session(
                &self,
                digest: &str,
                now: Timestamp,
            ) -> Result<Option<Session>, StoreError> {
                let row: Option<SessionRow> = sqlx::query_as(sql::GET_SESSION)
                    .bind(digest)
                    .bind(sql::millis(now))
                    .fetch_optional(self.pool())
                    .await
                    .map_err(map)?;
                row.map(sql::session_from_row).transpose()
            }

            async fn extend_session(
                &self,
                digest: &str,
                expires_at: Timestamp,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::EXTEND_SESSION)
                    .bind(digest)
                    .bind(sql::millis(expires_at))
                    .execute(self.pool())
                    .await
                    .map_err(map)?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_session(&self, digest: &str) -> Result<(), StoreError> {
                sqlx::query(sql::DELETE_SESSION)
                    .bind(digest)
                    .execute(self.pool())
                    .await
                    .map_err(map)?;
                Ok(())
            }

            async fn purge_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
                let done = sqlx::query(sql::PURGE_EXPIRED_SESSIONS)
                    .bind(sql::millis(now))
                    .execute(self.pool())
                    .await
                    .map_err(map)?;
                Ok(done.rows_affected())
            }
        }
    };
}
