//! The demo organisation: the manifests in `examples/`, compiled in, so that
//! `tocsin serve --demo` shows a newcomer something at once.

use crate::catalog::{self, ConfigError};
use crate::manifest::{self, Source};
use jiff::Timestamp;
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
    catalog::apply(store, &plan, now).await?;
    Ok(true)
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
