//! A user: a person who can be paged, with the ways to reach them.

use super::Checks;
use crate::Name;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: Name,
    pub full_name: String,
    pub email: String,
    /// IANA time zone (`Europe/Berlin`); shifts and quiet hours are shown in it.
    pub time_zone: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact_methods: Vec<ContactMethod>,
    /// When each contact method is used after a page starts; empty means
    /// "every contact method at once".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notification_rules: Vec<NotificationRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactMethod {
    /// How rules refer to it (`work-email`).
    pub name: Name,
    #[serde(rename = "type")]
    pub kind: ContactKind,
    /// The address in the channel's own terms: an email address, a Slack
    /// member id, a Matrix user id, an ntfy topic, a webhook URL.
    pub address: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    Email,
    Slack,
    Mattermost,
    Matrix,
    Teams,
    Ntfy,
    Webhook,
    /// Printed to tocsin's own log: for development and tests.
    Console,
}

impl ContactKind {
    pub const ALL: [ContactKind; 8] = [
        ContactKind::Email,
        ContactKind::Slack,
        ContactKind::Mattermost,
        ContactKind::Matrix,
        ContactKind::Teams,
        ContactKind::Ntfy,
        ContactKind::Webhook,
        ContactKind::Console,
    ];

    /// As written in manifests (`type: slack`) and stored on notifications.
    pub const fn as_str(self) -> &'static str {
        match self {
            ContactKind::Email => "email",
            ContactKind::Slack => "slack",
            ContactKind::Mattermost => "mattermost",
            ContactKind::Matrix => "matrix",
            ContactKind::Teams => "teams",
            ContactKind::Ntfy => "ntfy",
            ContactKind::Webhook => "webhook",
            ContactKind::Console => "console",
        }
    }

    /// The kind named `s` (`slack`), as [`as_str`](Self::as_str) writes it.
    pub fn parse(s: &str) -> Option<ContactKind> {
        ContactKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationRule {
    /// The contact method's name.
    pub contact: Name,
    /// Minutes after the page starts; 0 is at once.
    #[serde(default)]
    pub after_minutes: u32,
}

impl User {
    pub(super) fn check(&self, c: &mut Checks) {
        if self.full_name.trim().is_empty() {
            c.problem("full_name", "must not be empty");
        }
        if !looks_like_email(&self.email) {
            c.problem("email", format!("{:?} is not an email address", self.email));
        }
        c.time_zone("time_zone", &self.time_zone);
        let mut seen = std::collections::BTreeSet::new();
        for (i, m) in self.contact_methods.iter().enumerate() {
            if !seen.insert(&m.name) {
                c.problem(
                    format!("contact_methods[{i}].name"),
                    format!("contact method {:?} is declared twice", m.name.as_str()),
                );
            }
            let at = format!("contact_methods[{i}].address");
            match m.kind {
                ContactKind::Email if !looks_like_email(&m.address) => {
                    c.problem(at, format!("{:?} is not an email address", m.address))
                }
                ContactKind::Webhook => c.url(at, &m.address),
                _ if m.address.trim().is_empty() => c.problem(at, "must not be empty"),
                _ => {}
            }
        }
        for (i, r) in self.notification_rules.iter().enumerate() {
            if !self.contact_methods.iter().any(|m| m.name == r.contact) {
                c.problem(
                    format!("notification_rules[{i}].contact"),
                    format!(
                        "user {:?} has no contact method named {:?}",
                        self.name.as_str(),
                        r.contact.as_str()
                    ),
                );
            }
        }
    }
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}
