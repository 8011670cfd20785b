//! What a notification says, independent of the channel that carries it.
//! A [`Message`] is built by the core from an incident, its service's
//! record (customer impact, dependents, runbooks) and recent changes, and
//! rendered by each channel in its own idiom (`tocsin-notify`). The first
//! lines of every rendering answer: which service, how bad, from where,
//! what breaks for customers, what else is affected, what to do first.
//!
//! An organisation may replace a message's headline and body with its own
//! templates ([`template`]); the links to act and the `[DRILL]` mark stay.
//!
//! Invariants: a message carries its idempotency `key`, stable across
//! retries, restarts and instances; channels that can deduplicate on the
//! receiving side (webhook header, Matrix transaction id, email Message-ID)
//! pass it on.

pub mod template;

use crate::Severity;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Why a message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Someone is paged for an incident.
    Page,
    /// The incident a page was about is resolved.
    Resolved,
    /// A status update on the incident (text in [`Message::text`]).
    Update,
    /// Several pages for one destination at once, during a storm: the
    /// first incident is [`Message::incident`], the others [`Message::also`].
    Bundle,
    /// A notification could not be delivered: said to admins.
    DeadLetter,
}

impl MessageKind {
    pub const ALL: [MessageKind; 5] = [
        MessageKind::Page,
        MessageKind::Resolved,
        MessageKind::Update,
        MessageKind::Bundle,
        MessageKind::DeadLetter,
    ];

    /// As written in manifests and webhook events (`dead_letter`).
    pub const fn as_str(self) -> &'static str {
        match self {
            MessageKind::Page => "page",
            MessageKind::Resolved => "resolved",
            MessageKind::Update => "update",
            MessageKind::Bundle => "bundle",
            MessageKind::DeadLetter => "dead_letter",
        }
    }
}

/// One incident, in a line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentLine {
    /// Shown as `#42`.
    pub number: i64,
    pub title: String,
    pub service: String,
    pub severity: Severity,
    /// `triggered`, `acknowledged`, `resolved`.
    pub status: String,
    /// Where it comes from: the integration (`prometheus-prod`), `drill`,
    /// `manual`.
    pub source: String,
    pub opened_at: Timestamp,
    /// A fire drill: every rendering says so at the top.
    pub drill: bool,
}

/// A recent change on the service (a deploy, a flag flip).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeLine {
    pub at: Timestamp,
    pub summary: String,
}

/// A titled link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkLine {
    pub title: String,
    pub url: String,
}

/// Where a reader acts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Actions {
    /// The incident's page in the web UI.
    pub incident_url: String,
    /// A signed one-click acknowledge link (email, ntfy), if the message is
    /// for a person and the incident is not yet acknowledged.
    pub acknowledge_url: Option<String>,
    /// Interactive channels (Slack buttons) carry the incident number and
    /// act through ChatOps; this says whether to show the buttons.
    pub interactive: bool,
}

/// Everything a notification says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Idempotency key: the same message on a retry has the same key.
    pub key: String,
    pub kind: MessageKind,
    pub incident: IncidentLine,
    /// The person this is for, when it is a personal page (their name).
    pub recipient: Option<String>,
    /// What breaks for customers, from the service's declared impact.
    pub impact: Option<String>,
    /// Services that depend on this one (the dependency map).
    pub affected: Vec<String>,
    /// The SLO burning, if any ("checkout availability 99.9 %: 2 % of the
    /// monthly budget burnt in the last hour").
    pub slo: Option<String>,
    /// First steps: an excerpt of the runbook.
    pub first_steps: Option<String>,
    pub runbooks: Vec<LinkLine>,
    /// Recent changes on the service, newest first.
    pub changes: Vec<ChangeLine>,
    pub actions: Actions,
    /// Free text: a status update's body, a dead letter's reason.
    pub text: Option<String>,
    /// A bundle's other incidents.
    pub also: Vec<IncidentLine>,
    /// The headline from the organisation's message template, replacing
    /// the default one (see [`Message::headline`]). One line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The body from the organisation's message template: plain text that
    /// channels show instead of their default sections (impact, affected,
    /// SLO, first steps, runbooks, changes), escaped in their own markup.
    /// The headline and the links or buttons to act stay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// The mark every rendering of a fire drill starts with.
pub const DRILL_MARK: &str = "[DRILL]";

/// `text` without the drill marks it starts with (and the spaces after them).
fn without_drill_marks(mut text: &str) -> &str {
    while let Some(rest) = text.strip_prefix(DRILL_MARK) {
        text = rest.trim_start();
    }
    text
}

impl Message {
    /// The one-line headline every channel starts with:
    /// `[DRILL] Sev1 #42 checkout: Error rate above 5 %`. A template's
    /// [`title`](Message::title) replaces it, but a drill still says
    /// `[DRILL] ` first, once: a template cannot hide that a page is a drill.
    pub fn headline(&self) -> String {
        match self.title.as_deref().map(str::trim) {
            Some(title) if !title.is_empty() => match self.incident.drill {
                true => format!("{DRILL_MARK} {}", without_drill_marks(title)),
                false => title.to_owned(),
            },
            _ => self.default_headline(),
        }
    }

    /// The headline tocsin writes when no template gives a title.
    pub fn default_headline(&self) -> String {
        let i = &self.incident;
        let drill = if i.drill { "[DRILL] " } else { "" };
        // A drill's title carries the mark too; say it once, first.
        let title = match i.drill {
            true => without_drill_marks(&i.title),
            false => i.title.as_str(),
        };
        let what = match self.kind {
            MessageKind::Page | MessageKind::Update => String::new(),
            MessageKind::Resolved => "Resolved: ".to_owned(),
            MessageKind::Bundle => format!("{} incidents paging: ", self.also.len() + 1),
            MessageKind::DeadLetter => "Undelivered notification: ".to_owned(),
        };
        format!(
            "{drill}{what}{} #{} {}: {title}",
            i.severity.label(),
            i.number,
            i.service,
        )
    }
}
