//! A silence: alerts whose labels match are recorded but page nobody until
//! it ends. Matchers use Alertmanager's syntax and semantics; the rules for
//! testing alerts against them live in [`crate::noise`].

use super::Checks;
use crate::Name;
use crate::noise::{self, Matcher};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Silence {
    pub name: Name,
    /// Alertmanager matcher syntax, one per entry: `alertname="DiskFull"`,
    /// `env!=staging`, `instance=~"db-.*"`, `job!~"test.*"`. Value quotes
    /// optional.
    pub matchers: Vec<String>,
    /// RFC 3339; absent = from when it was created (always active from the
    /// start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    /// RFC 3339, required.
    pub ends_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Who created it (filled in by the API; free text in manifests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

impl Silence {
    pub(super) fn check(&self, c: &mut Checks) {
        if self.matchers.is_empty() {
            c.problem("matchers", noise::mutes::NO_MATCHERS);
        }
        let mut parsed = Vec::new();
        let mut all_parsed = true;
        for (i, m) in self.matchers.iter().enumerate() {
            match Matcher::parse(m) {
                Ok(m) => parsed.push(m),
                Err(e) => {
                    all_parsed = false;
                    c.problem(format!("matchers[{i}]"), e);
                }
            }
        }
        if all_parsed && !parsed.is_empty() && noise::mutes::matches_everything(&parsed) {
            c.problem("matchers", noise::mutes::MATCHES_EMPTY);
        }
        let start = self
            .starts_at
            .as_deref()
            .and_then(|s| c.instant("starts_at", s));
        let end = c.instant("ends_at", &self.ends_at);
        if let (Some(s), Some(e)) = (start, end)
            && e <= s
        {
            c.problem("ends_at", noise::mutes::ENDS_BEFORE_START);
        }
    }
}
