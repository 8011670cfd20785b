//! API tokens: issued once, stored as a digest, checked on every request.

use crate::audit::Actor;
use jiff::Timestamp;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::json;
use sha2::{Digest, Sha256};
use tocsin_domain::Name;
use tocsin_domain::token::{TOKEN_PREFIX, TokenScope};
use tocsin_store::{NewToken, Store, StoreError, TokenRecord};

/// Random characters after the prefix: 32 alphanumerics ≈ 190 bits.
const SECRET_LEN: usize = 32;

/// A freshly created token. `secret` exists only here: show it once.
#[derive(Debug)]
pub struct IssuedToken {
    pub name: String,
    pub scope: TokenScope,
    pub secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("name: {0}")]
    BadName(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Generates a random secret (tokens, integration keys).
pub fn random_secret(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// Creates a token for `owner` (or for nobody, from the CLI). Whether the
/// actor may create it is the caller's check (`Action::CreateToken`).
pub async fn create(
    store: &dyn Store,
    name: &str,
    scope: TokenScope,
    owner: Option<&Name>,
    actor: &Actor,
    now: Timestamp,
) -> Result<IssuedToken, TokenError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(TokenError::BadName("must be 1 to 100 characters".into()));
    }
    let secret = format!("{TOKEN_PREFIX}{}", random_secret(SECRET_LEN));
    let record = NewToken {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        scope,
        digest: digest(&secret),
        owner: owner.cloned(),
    };
    let audit = actor.entry(
        "token.create",
        Some(("token", name)),
        json!({ "scope": scope, "owner": owner }),
    );
    store.create_token(&record, &[audit], now).await?;
    Ok(IssuedToken {
        name: name.to_owned(),
        scope,
        secret,
    })
}

/// Revokes the live token `name`; false if there is none.
pub async fn revoke(
    store: &dyn Store,
    name: &str,
    actor: &Actor,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let audit = actor.entry("token.revoke", Some(("token", name)), json!({}));
    store.revoke_token(name, &[audit], now).await
}

/// The live token matching `presented`, if any.
pub async fn authenticate(
    store: &dyn Store,
    presented: &str,
    now: Timestamp,
) -> Result<Option<TokenRecord>, StoreError> {
    if !presented.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    store.use_token(&digest(presented), now).await
}
