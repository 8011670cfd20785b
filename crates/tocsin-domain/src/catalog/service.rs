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
    /// What breaks for customers when this service does; the first lines
    /// of every page say it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<String>,
    /// What a responder does first (a runbook's opening steps); pages
    /// carry it with the runbook links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_steps: Option<String>,
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
    /// How this service's alerts are grouped into incidents; without it,
    /// alerts with the sender's group key share the open incident of that
    /// group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_grouping: Option<AlertGrouping>,
}

/// Grouping rules for a service's alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertGrouping {
    /// Labels whose values make the group: alerts with the same values
    /// share an incident (`[alertname, cluster]`). Empty: the sender's
    /// group key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by: Vec<String>,
    /// An alert joins an open incident of its group only if that incident
    /// opened less than this long ago (`30m`, `2h`); later alerts open a new
    /// incident. Absent: as long as the incident is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
}

impl AlertGrouping {
    /// The window as exact time; `None` when absent or not a valid span
    /// (which [`Service`]'s checks report).
    pub fn window_duration(&self) -> Option<jiff::SignedDuration> {
        let span = self.window.as_deref()?.parse::<jiff::Span>().ok()?;
        span.to_duration(jiff::SpanRelativeTo::days_are_24_hours())
            .ok()
            .filter(|d| d.is_positive())
    }
}

/// A label name as Prometheus allows it: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
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
        if let Some(g) = &self.alert_grouping {
            for (i, label) in g.by.iter().enumerate() {
                if !is_label_name(label) {
                    c.problem(
                        format!("alert_grouping.by[{i}]"),
                        format!("{label:?} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)"),
                    );
                }
            }
            if let Some(w) = &g.window
                && g.window_duration().is_none()
            {
                c.problem(
                    "alert_grouping.window",
                    format!("{w:?} is not a positive span in days or less; write e.g. 30m, 2h, 1d"),
                );
            }
            if g.by.is_empty() && g.window.is_none() {
                c.problem(
                    "alert_grouping",
                    "say how to group: `by` (labels), `window` (a span), or both",
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
