//! The normalized event.

use crate::Severity;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// PagerDuty's limit for a dedup key; we apply it to every format.
pub const MAX_DEDUP_KEY_LEN: usize = 255;
/// PagerDuty's limit for a summary; longer ones are cut, not refused.
pub const MAX_SUMMARY_LEN: usize = 1024;

/// What the event does to its alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventAction {
    /// Opens the alert, or counts one more occurrence of an open one.
    Trigger,
    /// Someone is on it: stops escalation, keeps the alert open.
    Acknowledge,
    /// The problem is gone.
    Resolve,
    /// A note on the alert (Opsgenie "add note"): lands on its incident's
    /// timeline, changes nothing.
    Note,
    /// A change to the system (deploy, config change): no alert, kept per
    /// service and shown with incidents as "recent changes".
    Change,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub href: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// One event from any source, after parsing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub action: EventAction,
    /// The alert's identity within its service (PagerDuty `dedup_key`,
    /// Opsgenie alias, Alertmanager fingerprint). Empty for change events.
    pub dedup_key: String,
    pub summary: String,
    /// Where it happened (host, job, instance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub severity: Severity,
    /// The sender's own word for the severity (`warning`, `P3`), which
    /// [`severity`](Self::severity) was mapped from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_severity: Option<String>,
    /// When it happened according to the sender, if it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// Sender's grouping hint (PagerDuty `group`, Alertmanager group key):
    /// alerts of one group belong to one incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Labels for silences and grouping (Alertmanager labels, Opsgenie tags
    /// as `tag=…`, PagerDuty component/group/class/source).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Everything else the sender said, as given.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Link>,
    /// A note to add to the alert (Opsgenie "add note", acknowledge notes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Event {
    /// Cuts the summary to [`MAX_SUMMARY_LEN`] characters, on a character
    /// boundary, marking the cut.
    pub fn truncate_summary(s: &str) -> String {
        if s.chars().count() <= MAX_SUMMARY_LEN {
            return s.to_owned();
        }
        let mut out: String = s.chars().take(MAX_SUMMARY_LEN - 1).collect();
        out.push('…');
        out
    }
}
