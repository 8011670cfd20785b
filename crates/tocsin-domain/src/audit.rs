//! The audit trail: every change, with who, when, what, and from which
//! interface. Entries are written in the same transaction as the change
//! they describe, so there is no change without its entry.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interface {
    Ui,
    Api,
    Cli,
    /// `apply` of manifests (from the CLI or the API; `detail.via` says which).
    Config,
    Chat,
    /// tocsin itself (the engine, start-up).
    System,
}

impl Interface {
    pub const ALL: [Interface; 6] = [
        Interface::Ui,
        Interface::Api,
        Interface::Cli,
        Interface::Config,
        Interface::Chat,
        Interface::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Interface::Ui => "ui",
            Interface::Api => "api",
            Interface::Cli => "cli",
            Interface::Config => "config",
            Interface::Chat => "chat",
            Interface::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Interface> {
        Interface::ALL.into_iter().find(|i| i.as_str() == s)
    }
}

impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// `alice`, `token:ci-apply`, `cli:root`, `system`.
    pub actor: String,
    pub interface: Interface,
    /// Dotted verb: `catalog.create`, `catalog.update`, `token.create`,
    /// `account.role`, `session.login`.
    pub action: String,
    /// The object changed, when there is one.
    pub object_kind: Option<String>,
    pub object_name: Option<String>,
    /// What changed (fields, scope...). Never a secret.
    pub detail: serde_json::Value,
}
