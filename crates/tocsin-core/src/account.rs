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
    /// Demoting this account would leave nobody able to manage accounts
    /// (only the terminal could then recover).
    #[error("{0} is the last admin; make another account admin first, then change {0}'s role")]
    LastAdmin(Name),
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

/// Changes an account's role; false if `user` has no account.
///
/// Refuses to demote the last admin: without one, nobody can grant roles
/// or read the audit log from the UI or the API. The count is read just
/// before the write, not in its transaction, so two admins demoting each
/// other at the same instant could both pass; that needs two admins acting
/// at once, and `tocsin user set-role` on the server repairs it.
pub async fn set_role(
    store: &dyn Store,
    user: &Name,
    role: Role,
    actor: &Actor,
    now: Timestamp,
) -> Result<bool, AccountError> {
    if role != Role::Admin {
        let accounts = store.list_accounts().await?;
        let is_admin = |a: &&tocsin_store::Account| a.role == Role::Admin;
        let target_is_admin = accounts.iter().filter(is_admin).any(|a| &a.user == user);
        if target_is_admin && accounts.iter().filter(is_admin).count() == 1 {
            return Err(AccountError::LastAdmin(user.clone()));
        }
    }
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
    use tocsin_store::AccountStore;

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

    async fn add(store: &dyn Store, name: &str, role: Role, now: Timestamp) -> Name {
        let new = NewUserAccount {
            name: name.into(),
            role,
            password: "correct horse battery".into(),
            full_name: None,
            email: Some(format!("{name}@example.com")),
            time_zone: None,
        };
        create(store, new, &Actor::system(), now).await.unwrap()
    }

    #[tokio::test]
    async fn the_last_admin_cannot_be_demoted() {
        let (_dir, path) = tocsin_store_sqlite::testing::fresh_file();
        let store =
            tocsin_store_sqlite::SqliteStore::open(&path, tocsin_store_sqlite::OpenMode::Server)
                .await
                .unwrap();
        store.migrate().await.unwrap();
        let now: Timestamp = "2026-03-02T10:00:00Z".parse().unwrap();
        let actor = Actor::system();
        let root = add(&store, "root", Role::Admin, now).await;
        let bob = add(&store, "bob", Role::Viewer, now).await;
        let role_of = async |n: &Name| store.get_account(n).await.unwrap().unwrap().role;

        for role in [Role::Manager, Role::Viewer] {
            let err = set_role(&store, &root, role, &actor, now)
                .await
                .unwrap_err();
            assert!(
                matches!(&err, AccountError::LastAdmin(n) if *n == root),
                "{err:?}"
            );
            assert!(err.to_string().contains("root is the last admin"), "{err}");
        }
        assert_eq!(role_of(&root).await, Role::Admin, "nothing changed");
        assert!(
            set_role(&store, &root, Role::Admin, &actor, now)
                .await
                .unwrap(),
            "keeping the role is no demotion"
        );
        assert!(
            set_role(&store, &bob, Role::Responder, &actor, now)
                .await
                .unwrap(),
            "others change freely"
        );
        let nobody = Name::parse("nobody").unwrap();
        assert!(
            !set_role(&store, &nobody, Role::Viewer, &actor, now)
                .await
                .unwrap(),
            "no account: false, as before"
        );

        // With a second admin, either may step down, but not both.
        assert!(
            set_role(&store, &bob, Role::Admin, &actor, now)
                .await
                .unwrap()
        );
        assert!(
            set_role(&store, &root, Role::Viewer, &actor, now)
                .await
                .unwrap()
        );
        assert!(matches!(
            set_role(&store, &bob, Role::Viewer, &actor, now).await,
            Err(AccountError::LastAdmin(_))
        ));
        assert_eq!(role_of(&bob).await, Role::Admin);
        assert_eq!(role_of(&root).await, Role::Viewer);
    }
}
