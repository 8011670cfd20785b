//! [`AccountStore`] on PostgreSQL: every statement is shared with SQLite.
//! Changes that carry audit entries run in one write transaction with them.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::PgConnection;
use tocsin_domain::Name;
use tocsin_domain::access::Role;
use tocsin_domain::audit::AuditEntry;
use tocsin_store::sql::{self, AccountRow, SessionRow};
use tocsin_store::{Account, AccountStore, NewAccount, NewSession, Session, StoreError};

use crate::PostgresStore;
use crate::audit::write_audit;
use crate::error::{is_foreign_key_violation, is_unique_violation, map};
use crate::tx::finish;

#[async_trait]
impl AccountStore for PostgresStore {
    async fn create_account(
        &self,
        account: &NewAccount,
        audit: &[AuditEntry],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let result = insert_account(&mut tx, account, audit, now).await;
        finish(tx, result, "account creation").await
    }

    async fn get_account(&self, user: &Name) -> Result<Option<Account>, StoreError> {
        let row: Option<AccountRow> = sqlx::query_as(sql::GET_ACCOUNT)
            .bind(user.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(map)?;
        row.map(sql::account_from_row).transpose()
    }

    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        let rows: Vec<AccountRow> = sqlx::query_as(sql::LIST_ACCOUNTS)
            .fetch_all(&self.pool)
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
            .fetch_one(&self.pool)
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
        let mut tx = self.begin_write().await?;
        let result = update_password(&mut tx, user, password_hash, audit, now).await;
        finish(tx, result, "password change").await
    }

    async fn set_role(
        &self,
        user: &Name,
        role: Role,
        audit: &[AuditEntry],
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = update_role(&mut tx, user, role, audit, now).await;
        finish(tx, result, "role change").await
    }

    async fn create_session(&self, session: &NewSession, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query(sql::INSERT_SESSION)
            .bind(session.digest.as_str())
            .bind(session.user.as_str())
            .bind(session.csrf.as_str())
            .bind(sql::millis(now))
            .bind(sql::millis(session.expires_at))
            .execute(&self.pool)
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
            .fetch_optional(&self.pool)
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
            .execute(&self.pool)
            .await
            .map_err(map)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_session(&self, digest: &str) -> Result<(), StoreError> {
        sqlx::query(sql::DELETE_SESSION)
            .bind(digest)
            .execute(&self.pool)
            .await
            .map_err(map)?;
        Ok(())
    }

    async fn purge_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query(sql::PURGE_EXPIRED_SESSIONS)
            .bind(sql::millis(now))
            .execute(&self.pool)
            .await
            .map_err(map)?;
        Ok(done.rows_affected())
    }
}

async fn insert_account(
    conn: &mut PgConnection,
    account: &NewAccount,
    audit: &[AuditEntry],
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(sql::INSERT_ACCOUNT)
        .bind(account.user.as_str())
        .bind(account.role.as_str())
        .bind(account.password_hash.as_str())
        .bind(sql::millis(now))
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                sql::account_exists(&account.user)
            } else {
                map(e)
            }
        })?;
    write_audit(conn, audit, now).await
}

async fn update_password(
    conn: &mut PgConnection,
    user: &Name,
    password_hash: &str,
    audit: &[AuditEntry],
    now: Timestamp,
) -> Result<bool, StoreError> {
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
    write_audit(conn, audit, now).await?;
    Ok(true)
}

async fn update_role(
    conn: &mut PgConnection,
    user: &Name,
    role: Role,
    audit: &[AuditEntry],
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(sql::SET_ROLE)
        .bind(user.as_str())
        .bind(role.as_str())
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
