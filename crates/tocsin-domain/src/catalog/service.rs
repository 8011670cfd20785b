//! A service: something that can be broken. Its record is the incident
//! "jump bag": owners, who to call, links, runbooks, dependencies.

use super::Checks;
use crate::Name;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The owning team.
    pub team: Name,
    /// Who is paged; without one the owning team is told but nobody is paged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_policy: Option<Name>,
    /// Dashboards, logs, repositories, access.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runbooks: Vec<Link>,
    /// Services this one needs to work.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Name>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub title: String,
    pub url: String,
}

impl Service {
    pub(super) fn check(&self, c: &mut Checks) {
        for (field, links) in [("links", &self.links), ("runbooks", &self.runbooks)] {
            for (i, l) in links.iter().enumerate() {
                if l.title.trim().is_empty() {
                    c.problem(format!("{field}[{i}].title"), "must not be empty");
                }
                c.url(format!("{field}[{i}].url"), &l.url);
            }
        }
        for (i, d) in self.depends_on.iter().enumerate() {
            if *d == self.name {
                c.problem(
                    format!("depends_on[{i}]"),
                    "a service cannot depend on itself",
                );
            }
        }
        for (i, t) in self.tags.iter().enumerate() {
            if t.trim().is_empty() || t.contains(char::is_whitespace) {
                c.problem(
                    format!("tags[{i}]"),
                    format!("{t:?} is not a tag: no spaces, not empty"),
                );
            }
        }
    }
}
