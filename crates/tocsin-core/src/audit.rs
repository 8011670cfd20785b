//! Building audit entries: every use case that changes something says who
//! did it and from where, and the store writes the entry in the same
//! transaction as the change.

use serde_json::Value;
use tocsin_domain::audit::{AuditEntry, Interface};

/// Who is acting and through which interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `alice`, `token:ci-apply`, `cli:root`.
    pub label: String,
    pub interface: Interface,
}

impl Actor {
    pub fn new(label: impl Into<String>, interface: Interface) -> Self {
        Actor {
            label: label.into(),
            interface,
        }
    }

    /// The operator at a terminal: the OS user, as far as the environment says.
    pub fn cli() -> Self {
        let who = std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "unknown".into());
        Actor::new(format!("cli:{who}"), Interface::Cli)
    }

    pub fn system() -> Self {
        Actor::new("system", Interface::System)
    }

    pub fn entry(&self, action: &str, object: Option<(&str, &str)>, detail: Value) -> AuditEntry {
        AuditEntry {
            actor: self.label.clone(),
            interface: self.interface,
            action: action.to_owned(),
            object_kind: object.map(|(k, _)| k.to_owned()),
            object_name: object.map(|(_, n)| n.to_owned()),
            detail,
        }
    }
}
