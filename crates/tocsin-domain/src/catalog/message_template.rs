//! A message template: an organisation's own headline and body for the
//! notifications tocsin sends, per kind of message and per channel,
//! written in minijinja (Jinja2) syntax. Rendering and the variables a
//! template sees live in [`crate::notify::template`]; this file holds the
//! declared shape and the rules checked before it is applied.
//!
//! Precedence: for one message kind on one channel, a template that names
//! the channel beats one for every channel; then one that names the
//! message kind beats one for every kind. Two templates that would apply
//! to the same pair at the same precedence are refused ([`overlaps`]),
//! so which one applies never depends on declaration order.

use super::{Checks, ContactKind};
use crate::Name;
use crate::notify::MessageKind;
use crate::notify::template;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageTemplate {
    pub name: Name,
    /// The messages it applies to (`page`, `resolved`, `update`, `bundle`,
    /// `dead_letter`); empty = every message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<MessageKind>,
    /// The channels it applies to (`slack`, `email`, … as a contact
    /// method's `type`); empty = every channel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<ContactKind>,
    /// Replaces the headline. Rendered on one line: runs of whitespace,
    /// line breaks included, become one space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Replaces the sections between the headline and the links to act.
    /// Plain text; each channel escapes it in its own markup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// How specific a template is: naming the channel counts first, then
/// naming the message kind. Higher wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Specificity {
    pub channel: bool,
    pub message: bool,
}

impl MessageTemplate {
    pub fn specificity(&self) -> Specificity {
        Specificity {
            channel: !self.channels.is_empty(),
            message: !self.messages.is_empty(),
        }
    }

    /// Whether it applies to `kind` messages sent through `channel`.
    pub fn applies(&self, kind: MessageKind, channel: ContactKind) -> bool {
        (self.messages.is_empty() || self.messages.contains(&kind))
            && (self.channels.is_empty() || self.channels.contains(&channel))
    }

    /// The message kinds it applies to.
    pub fn message_kinds(&self) -> Vec<MessageKind> {
        MessageKind::ALL
            .into_iter()
            .filter(|k| self.messages.is_empty() || self.messages.contains(k))
            .collect()
    }

    pub(super) fn check(&self, c: &mut Checks) {
        if self.title.is_none() && self.body.is_none() {
            c.problem("title", "a message template needs a title, a body or both");
        }
        for (i, k) in self.messages.iter().enumerate() {
            if self.messages[..i].contains(k) {
                c.problem(
                    format!("messages[{i}]"),
                    format!("{} is listed twice", k.as_str()),
                );
            }
        }
        for (i, k) in self.channels.iter().enumerate() {
            if self.channels[..i].contains(k) {
                c.problem(
                    format!("channels[{i}]"),
                    format!("{} is listed twice", k.as_str()),
                );
            }
        }
        for (field, message) in template::problems(self) {
            c.problem(field, message);
        }
    }
}

/// Pairs of templates that apply to the same (message kind, channel) at the
/// same precedence: `(later, first, message)`, indexes into `templates`,
/// each pair once.
pub(super) fn overlaps(templates: &[&MessageTemplate]) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    for (i, later) in templates.iter().enumerate() {
        for (j, first) in templates[..i].iter().enumerate() {
            // Same name: already reported as declared twice.
            if later.name == first.name || later.specificity() != first.specificity() {
                continue;
            }
            let theirs = first.message_kinds();
            let kinds: Vec<MessageKind> = later
                .message_kinds()
                .into_iter()
                .filter(|k| theirs.contains(k))
                .collect();
            let channels: Vec<ContactKind> = ContactKind::ALL
                .into_iter()
                .filter(|c| {
                    (later.channels.is_empty() || later.channels.contains(c))
                        && (first.channels.is_empty() || first.channels.contains(c))
                })
                .collect();
            if kinds.is_empty() || channels.is_empty() {
                continue;
            }
            let kinds = match later.messages.is_empty() {
                true => "every message".to_owned(),
                false => format!(
                    "{} messages",
                    words(kinds.iter().map(|k| k.as_str()).collect())
                ),
            };
            let channels = match later.channels.is_empty() {
                true => "every channel".to_owned(),
                false => words(channels.iter().map(|c| c.as_str()).collect()),
            };
            out.push((
                i,
                j,
                format!(
                    "message templates {:?} and {:?} both apply to {kinds} on {channels} \
                     with the same precedence; narrow the messages or channels of one",
                    first.name.as_str(),
                    later.name.as_str(),
                ),
            ));
        }
    }
    out
}

/// `a`, `a and b`, `a, b and c`.
fn words(items: Vec<&str>) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}
