//! What a notification says, independent of the channel that carries it.
//! A [`Message`] is built by the core from an incident, its service's
//! record (customer impact, dependents, runbooks) and recent changes, and
//! rendered by each channel in its own idiom (`tocsin-notify`). The first
//! lines of every rendering answer: which service, how bad, from where,
//! what breaks for customers, what else is affected, what to do first.
//!
//! Invariants: a message carries its idempotency `key`, stable across
//! retries, restarts and instances; channels that can deduplicate on the
//! receiving side (webhook header, Matrix transaction id, email Message-ID)
//! pass it on.

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
}

impl Message {
    /// The one-line headline every channel starts with:
    /// `[DRILL] Sev1 #42 checkout: Error rate above 5 %`.
    pub fn headline(&self) -> String {
        let i = &self.incident;
        let drill = if i.drill { "[DRILL] " } else { "" };
        // A drill's title carries the mark too; say it once, first.
        let title = match i.drill {
            true => i.title.trim_start_matches("[DRILL]").trim_start(),
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
