//! API tokens. Only a SHA-256 digest of the secret is stored.

use crate::StoreError;
use async_trait::async_trait;
use jiff::Timestamp;
use tocsin_domain::Name;
use tocsin_domain::audit::AuditEntry;
use tocsin_domain::token::TokenScope;

#[derive(Debug, Clone, PartialEq)]
pub struct NewToken {
    pub id: String,
    /// What it is for ("ci-apply"); unique among live tokens.
    pub name: String,
    pub scope: TokenScope,
    /// Hex SHA-256 of the token text.
    pub digest: String,
    /// The user it acts for (tokens made with the CLI belong to nobody).
    pub owner: Option<Name>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub scope: TokenScope,
    pub owner: Option<Name>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

#[async_trait]
pub trait TokenStore {
    /// Conflict if a live token has the same name.
    async fn create_token(
        &self,
        token: &NewToken,
        audit: &[AuditEntry],
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// The live (not revoked) token with this digest, marking it used at `now`.
    async fn use_token(
        &self,
        digest: &str,
        now: Timestamp,
    ) -> Result<Option<TokenRecord>, StoreError>;

    /// Every token, revoked ones included, oldest first.
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;

    /// Revokes the live token with this name; false if there is none.
    async fn revoke_token(
        &self,
        name: &str,
        audit: &[AuditEntry],
        now: Timestamp,
    ) -> Result<bool, StoreError>;
}
