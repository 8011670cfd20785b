//! Sign-in accounts and their sessions. An account belongs to a declared
//! user (by name) and carries the user's role and password hash (Argon2id,
//! PHC string). A session is known by the SHA-256 digest of its cookie
//! value; the cookie itself is never stored.

use crate::StoreError;
use async_trait::async_trait;
use jiff::Timestamp;
use tocsin_domain::Name;
use tocsin_domain::access::Role;
use tocsin_domain::audit::AuditEntry;

#[derive(Debug, Clone, PartialEq)]
pub struct NewAccount {
    pub user: Name,
    pub role: Role,
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub user: Name,
    pub role: Role,
    pub password_hash: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    /// Hex SHA-256 of the cookie value.
    pub digest: String,
    pub user: Name,
    /// The session's CSRF token, echoed in every state-changing form.
    pub csrf: String,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user: Name,
    /// The account's current role (a role change applies at once).
    pub role: Role,
    pub csrf: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[async_trait]
pub trait AccountStore {
    /// Conflict if the user already has an account. The audit entries are
    /// written in the same transaction.
    async fn create_account(
        &self,
        account: &NewAccount,
        audit: &[AuditEntry],
        now: Timestamp,
    ) -> Result<(), StoreError>;

    async fn get_account(&self, user: &Name) -> Result<Option<Account>, StoreError>;

    /// Every account, by user name.
    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError>;

    async fn count_accounts(&self) -> Result<u64, StoreError>;

    /// Replaces the password hash and ends every session of the user;
    /// false if there is no such account.
    async fn set_password(
        &self,
        user: &Name,
        password_hash: &str,
        audit: &[AuditEntry],
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// False if there is no such account.
    async fn set_role(
        &self,
        user: &Name,
        role: Role,
        audit: &[AuditEntry],
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    async fn create_session(&self, session: &NewSession, now: Timestamp) -> Result<(), StoreError>;

    /// The session with this digest if it has not expired at `now` and its
    /// account still exists.
    async fn get_session(
        &self,
        digest: &str,
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError>;

    /// Sliding expiry; false if the session is gone.
    async fn extend_session(&self, digest: &str, expires_at: Timestamp)
    -> Result<bool, StoreError>;

    async fn delete_session(&self, digest: &str) -> Result<(), StoreError>;

    /// Deletes sessions expired at `now`; returns how many.
    async fn purge_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError>;
}
