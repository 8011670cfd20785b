//! API tokens: issued once, stored as a digest, checked on every request.

use jiff::Timestamp;
use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};
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

pub async fn create(
    store: &dyn Store,
    name: &str,
    scope: TokenScope,
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
    };
    store.create_token(&record, now).await?;
    Ok(IssuedToken {
        name: name.to_owned(),
        scope,
        secret,
    })
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
