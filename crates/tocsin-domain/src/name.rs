//! `Name`: the identifier of every declared object (`payments`, `alice`,
//! `checkout-api`). It is what manifests, URLs, chat commands and the CLI use,
//! so it is restricted to a portable, URL-safe, case-insensitive-safe form.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest name accepted; long enough for `team-region-purpose` styles,
/// short enough to fit a chat line and a URL segment.
pub const MAX_NAME_LEN: usize = 63;

/// A validated object name: 1–63 characters of lowercase ASCII letters,
/// digits, `-`, `_` or `.`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

/// Why a string is not a [`Name`]; the message is shown to users as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("must not be empty")]
    Empty,
    #[error("is {0} characters long; the limit is {MAX_NAME_LEN}")]
    TooLong(usize),
    #[error("must start with a lowercase letter or a digit")]
    BadStart,
    #[error("contains {0:?}; use lowercase letters, digits, '-', '_' or '.'")]
    BadChar(char),
}

impl Name {
    /// A name written in the code (`"drill"`), which a test proves valid;
    /// built without checking, so it cannot fail at run time.
    pub fn from_static(s: &'static str) -> Self {
        debug_assert!(Name::parse(s).is_ok(), "{s:?} is not a valid name");
        Self(s.to_owned())
    }

    /// Parses a name, saying precisely what is wrong when it is not one.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let first = s.chars().next().ok_or(NameError::Empty)?;
        let len = s.chars().count();
        if len > MAX_NAME_LEN {
            return Err(NameError::TooLong(len));
        }
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Err(NameError::BadStart);
        }
        if let Some(c) = s.chars().find(|c| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
        }) {
            return Err(NameError::BadChar(c));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Name {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Name> for String {
    fn from(n: Name) -> Self {
        n.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` honours width and alignment (`{:<28}` in CLI tables).
        f.pad(&self.0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn static_names_in_the_code_are_valid() {
        for s in ["drill", "invalid", "api", "email"] {
            assert_eq!(super::Name::from_static(s), super::Name::parse(s).unwrap());
        }
    }

    use super::*;

    #[test]
    fn accepts_and_rejects() {
        for ok in ["a", "payments", "checkout-api", "db_1", "eu.west", "9lives"] {
            assert!(Name::parse(ok).is_ok(), "{ok}");
        }
        let cases = [
            ("", NameError::Empty),
            ("Payments", NameError::BadStart),
            ("-x", NameError::BadStart),
            ("pay ments", NameError::BadChar(' ')),
            ("payMents", NameError::BadChar('M')),
        ];
        for (input, want) in cases {
            assert_eq!(Name::parse(input), Err(want), "{input:?}");
        }
        assert_eq!(Name::parse(&"a".repeat(64)), Err(NameError::TooLong(64)));
    }

    proptest::proptest! {
        #[test]
        fn parse_agrees_with_the_rule(s in "\\PC{0,70}") {
            let ok = !s.is_empty()
                && s.chars().count() <= MAX_NAME_LEN
                && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
            proptest::prop_assert_eq!(Name::parse(&s).is_ok(), ok);
        }

        #[test]
        fn valid_names_round_trip(s in "[a-z0-9][a-z0-9._-]{0,62}") {
            let n = Name::parse(&s).unwrap();
            let json = serde_json::to_string(&n).unwrap();
            proptest::prop_assert_eq!(serde_json::from_str::<Name>(&json).unwrap(), n);
        }
    }
}
