//! Sign-in accounts: creating them (the first admin included), passwords
//! hashed with Argon2id, roles. An account belongs to a declared user; the
//! first-admin path creates that user too when it does not exist yet.

use crate::audit::Actor;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use jiff::Timestamp;
use serde_json::json;
use tocsin_domain::Name;
use tocsin_domain::access::Role;
use tocsin_domain::catalog::{Kind, Object, User};
use tocsin_store::{CatalogWrite, NewAccount, Store, StoreError};

/// Shorter passwords are refused: with throttled sign-in, 12 characters
/// are enough; rules about character classes are not (NIST SP 800-63B).
pub const MIN_PASSWORD_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A field is wrong; `.0` names it.
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
    #[error("{0} already has an account")]
    Exists(Name),
    #[error("setup is done: an account exists already; sign in, or ask an admin")]
    SetupDone,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn hash_password(password: &str) -> Result<String, AccountError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Invalid("password", format!("cannot hash: {e}")))
}

/// Constant-time verification against a PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

pub fn check_password(password: &str) -> Result<(), AccountError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(AccountError::Invalid(
            "password",
            format!("is {n} characters long; use at least {MIN_PASSWORD_LEN}"),
        ));
    }
    Ok(())
}

/// What is needed to create an account (and its user, if new).
#[derive(Debug, Clone)]
pub struct NewUserAccount {
    pub name: String,
    pub role: Role,
    pub password: String,
    /// Used only when the user is not declared yet.
    pub full_name: Option<String>,
    pub email: Option<String>,
    pub time_zone: Option<String>,
}

/// Creates an account; creates the user in the catalog (as made by hand,
/// not managed by config) when it is not declared.
pub async fn create(
    store: &dyn Store,
    new: NewUserAccount,
    actor: &Actor,
    now: Timestamp,
) -> Result<Name, AccountError> {
    let name =
        Name::parse(new.name.trim()).map_err(|e| AccountError::Invalid("name", e.to_string()))?;
    check_password(&new.password)?;
    if store.get_account(&name).await?.is_some() {
        return Err(AccountError::Exists(name));
    }
    if store.get_object(Kind::User, &name).await?.is_none() {
        let user = User {
            name: name.clone(),
            full_name: new
                .full_name
                .clone()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| name.to_string()),
            email: new
                .email
                .clone()
                .filter(|e| !e.trim().is_empty())
                .ok_or_else(|| {
                    AccountError::Invalid("email", "is required for a new user".into())
                })?,
            time_zone: new.time_zone.clone().unwrap_or_else(|| "UTC".into()),
            contact_methods: vec![],
            notification_rules: vec![],
        };
        let object = Object::User(user);
        let problems =
            tocsin_domain::catalog::validate(std::slice::from_ref(&object), &Default::default());
        if let Some(p) = problems.first() {
            let field = match p.path.as_str() {
                "email" => "email",
                "time_zone" => "time_zone",
                _ => "full_name",
            };
            return Err(AccountError::Invalid(field, p.message.clone()));
        }
        let write = CatalogWrite::Create {
            kind: Kind::User,
            name: name.clone(),
            spec: object.spec_json(),
            managed: false,
            source: None,
            secret: None,
        };
        let audit = actor.entry("catalog.create", Some(("user", name.as_str())), json!({}));
        store.apply_catalog(&[write], &[audit], now).await?;
    }
    let account = NewAccount {
        user: name.clone(),
        role: new.role,
        password_hash: hash_password(&new.password)?,
    };
    let audit = actor.entry(
        "account.create",
        Some(("user", name.as_str())),
        json!({ "role": new.role }),
    );
    match store.create_account(&account, &[audit], now).await {
        Ok(()) => Ok(name),
        Err(StoreError::Conflict(_)) => Err(AccountError::Exists(name)),
        Err(e) => Err(e.into()),
    }
}

/// The one-time setup: allowed only while no account exists.
pub async fn setup_first_admin(
    store: &dyn Store,
    mut new: NewUserAccount,
    actor: &Actor,
    now: Timestamp,
) -> Result<Name, AccountError> {
    if store.count_accounts().await? > 0 {
        return Err(AccountError::SetupDone);
    }
    new.role = Role::Admin;
    create(store, new, actor, now).await
}

pub async fn set_role(
    store: &dyn Store,
    user: &Name,
    role: Role,
    actor: &Actor,
    now: Timestamp,
) -> Result<bool, AccountError> {
    let audit = actor.entry(
        "account.role",
        Some(("user", user.as_str())),
        json!({ "role": role }),
    );
    Ok(store.set_role(user, role, &[audit], now).await?)
}

pub async fn set_password(
    store: &dyn Store,
    user: &Name,
    password: &str,
    actor: &Actor,
    now: Timestamp,
) -> Result<bool, AccountError> {
    check_password(password)?;
    let audit = actor.entry("account.password", Some(("user", user.as_str())), json!({}));
    Ok(store
        .set_password(user, &hash_password(password)?, &[audit], now)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(verify_password("correct horse battery", &a));
        assert!(!verify_password("correct horse batterY", &a));
        assert!(!verify_password("x", "not a phc string"));
        assert!(check_password("short").is_err());
    }
}
