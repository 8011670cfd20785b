//! Incident severity on the common Sev1–Sev5 scale (PRODUCT.md).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Sev1 is the worst. The order of the variants is the order of urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Complete outage.
    Sev1,
    /// Major functionality broken or revenue affected.
    Sev2,
    /// Minor problem.
    Sev3,
    /// Redundant component failure.
    Sev4,
    /// False alarm or unactionable alert: recorded, never pages.
    Sev5,
}

impl Severity {
    pub const ALL: [Severity; 5] = [Self::Sev1, Self::Sev2, Self::Sev3, Self::Sev4, Self::Sev5];

    /// Whether an alert of this severity may page a human at all.
    pub fn pages(self) -> bool {
        self != Self::Sev5
    }

    /// How people write it: `Sev1`.
    pub fn label(self) -> &'static str {
        ["Sev1", "Sev2", "Sev3", "Sev4", "Sev5"][self as usize]
    }

    /// What it means, in the common scale's words.
    pub fn definition(self) -> &'static str {
        [
            "complete outage",
            "major functionality broken or revenue affected",
            "minor problem",
            "redundant component failure",
            "false alarm or unactionable alert; never pages",
        ][self as usize]
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.to_string().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = *self as u8 + 1;
        write!(f, "sev{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_orders() {
        for s in Severity::ALL {
            assert_eq!(Severity::parse(&s.to_string()), Some(s));
        }
        assert_eq!(Severity::parse("SEV2"), Some(Severity::Sev2));
        assert_eq!(Severity::parse("sev6"), None);
        assert!(Severity::Sev1 < Severity::Sev3);
        assert!(!Severity::Sev5.pages());
    }
}
