//! API token scopes and the token format. A token is shown once, at
//! creation; the store keeps only its SHA-256 digest (computed by the core).

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a token may do. Scopes are ordered: `admin` implies `write`
/// implies `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// Read every declared object.
    Read,
    /// Change objects (later: acknowledge, resolve, ...).
    Write,
    /// Apply configuration, manage tokens.
    Admin,
}

impl TokenScope {
    pub fn allows(self, needed: TokenScope) -> bool {
        self >= needed
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for TokenScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every token starts with this prefix so that secret scanners (and people)
/// recognise a leaked one.
pub const TOKEN_PREFIX: &str = "tcs_";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_ordered() {
        assert!(TokenScope::Admin.allows(TokenScope::Read));
        assert!(TokenScope::Write.allows(TokenScope::Write));
        assert!(!TokenScope::Read.allows(TokenScope::Write));
        assert_eq!(TokenScope::parse("admin"), Some(TokenScope::Admin));
        assert_eq!(TokenScope::parse("root"), None);
    }
}
