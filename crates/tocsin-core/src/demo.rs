//! The demo organisation: the manifests in `examples/`, compiled in, so that
//! `tocsin serve --demo` shows a newcomer something at once.

use crate::account::{self, AccountError, NewUserAccount};
use crate::audit::Actor;
use crate::catalog::{self, ConfigError};
use crate::manifest::{self, Source};
use jiff::Timestamp;
use tocsin_domain::Name;
use tocsin_domain::access::Role;
use tocsin_store::Store;

const FILES: &[(&str, &str)] = &[
    (
        "examples/people.yaml",
        include_str!("../../../examples/people.yaml"),
    ),
    (
        "examples/payments.yaml",
        include_str!("../../../examples/payments.yaml"),
    ),
    (
        "examples/platform.yaml",
        include_str!("../../../examples/platform.yaml"),
    ),
];

pub fn sources() -> Vec<Source> {
    FILES
        .iter()
        .map(|(path, text)| Source {
            path: (*path).to_owned(),
            text: (*text).to_owned(),
        })
        .collect()
}

/// Applies the demo manifests if the catalog is empty; returns whether it did.
pub async fn load_if_empty(store: &dyn Store, now: Timestamp) -> Result<bool, ConfigError> {
    if !store.list_objects(None).await?.is_empty() {
        return Ok(false);
    }
    let manifests = manifest::parse(sources());
    // The demo has no secrets to read: its integrations get generated keys.
    let plan = catalog::plan(store, &manifests, false, &|_| None).await?;
    catalog::apply(store, &plan, &crate::audit::Actor::system(), now).await?;
    Ok(true)
}

/// The demo's sign-in: `alice` as admin, with a fresh password each start
/// (the previous one was shown once and is gone); returns the user and the
/// password.
pub async fn accounts(store: &dyn Store, now: Timestamp) -> Result<(String, String), AccountError> {
    let actor = Actor::system();
    let password = crate::token::random_secret(16);
    let alice = Name::parse("alice").map_err(|e| AccountError::Invalid("name", e.to_string()))?;
    if store.get_account(&alice).await?.is_some() {
        account::set_password(store, &alice, &password, &actor, now).await?;
    } else {
        let new = NewUserAccount {
            name: "alice".into(),
            role: Role::Admin,
            password: password.clone(),
            // Used only if the catalog has no user alice (not the demo's).
            full_name: Some("Alice Martin".into()),
            email: Some("alice@example.com".into()),
            time_zone: None,
        };
        account::create(store, new, &actor, now).await?;
    }
    Ok(("alice".into(), password))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_demo_manifests_are_valid() {
        let m = manifest::parse(sources());
        let problems: Vec<String> = m
            .check(&BTreeSet::new())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(problems, Vec::<String>::new());
        assert!(m.declared.len() >= 15, "{}", m.declared.len());
    }
}
