//! The Microsoft Teams channel: a Workflows webhook ("When a Teams webhook
//! request is received"; the address is its URL) receiving a message with
//! one Adaptive Card (version 1.4): the headline, the details as text
//! blocks and a fact set, and `Action.OpenUrl` buttons to open (and, when
//! the message carries a link, acknowledge) the incident.
//!
//! Workflows accept with 202 (some flows answer 200); 429 and 5xx are
//! transient, other statuses permanent.

use crate::console::{change_line, incident_line, non_empty};
use crate::http;
use async_trait::async_trait;
use serde_json::{Value, json};
use std::time::Duration;
use tocsin_core::notify::{Channel, Delivery, SEND_TIMEOUT, SendError, Sent};
use tocsin_domain::Severity;
use tocsin_domain::catalog::ContactKind;
use tocsin_domain::notify::{Message, MessageKind};

/// The card schema version: 1.4 is what Teams renders on every client.
pub const CARD_VERSION: &str = "1.4";
/// The attachment's content type for an Adaptive Card.
pub const CARD_CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";

/// How the Teams channel is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long one attempt may take.
    pub timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            timeout: SEND_TIMEOUT,
        }
    }
}

/// Posts Adaptive Cards to Teams Workflows webhooks.
#[derive(Debug)]
pub struct TeamsChannel {
    client: reqwest::Client,
}

impl TeamsChannel {
    pub fn new(config: Config) -> Result<Self, http::BuildError> {
        Ok(Self {
            client: http::client(config.timeout)?,
        })
    }
}

/// The webhook body: `{"type":"message","attachments":[{contentType,
/// contentUrl: null, content: <AdaptiveCard>}]}`.
pub fn render(message: &Message) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": CARD_CONTENT_TYPE,
            "contentUrl": null,
            "content": card(message),
        }],
    })
}

/// The Adaptive Card alone.
pub fn card(m: &Message) -> Value {
    json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": { "width": "Full" },
        "body": body(m),
        "actions": actions(m),
    })
}

fn text(text: &str) -> Value {
    json!({ "type": "TextBlock", "text": text, "wrap": true })
}

fn heading(text: &str) -> Value {
    json!({ "type": "TextBlock", "text": text, "wrap": true, "weight": "Bolder", "spacing": "Medium" })
}

/// Lines shown one per block: Teams ignores single line breaks inside a
/// TextBlock's markdown.
fn lines(text: &str) -> impl Iterator<Item = Value> + '_ {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| json!({ "type": "TextBlock", "text": l, "wrap": true, "spacing": "None" }))
}

/// A template's body: one block per line, as Teams ignores single line
/// breaks; a blank line leaves a gap before the next block.
fn template_blocks(text: &str) -> Vec<Value> {
    let mut blocks = Vec::new();
    let mut gap = true;
    for line in text.lines() {
        if line.trim().is_empty() {
            gap = true;
            continue;
        }
        let spacing = if gap { "Medium" } else { "None" };
        blocks.push(json!({ "type": "TextBlock", "text": line, "wrap": true, "spacing": spacing }));
        gap = false;
    }
    blocks
}

fn headline_color(m: &Message) -> &'static str {
    match (m.kind, m.incident.severity) {
        (MessageKind::Resolved, _) => "Good",
        (MessageKind::DeadLetter, _) => "Warning",
        (_, Severity::Sev1 | Severity::Sev2) => "Attention",
        (_, Severity::Sev3) => "Warning",
        _ => "Default",
    }
}

fn body(m: &Message) -> Vec<Value> {
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": m.headline(),
        "wrap": true,
        "size": "Large",
        "weight": "Bolder",
        "color": headline_color(m),
    })];
    if let Some(text) = &m.body {
        body.extend(template_blocks(text));
        return body;
    }
    let mut facts = vec![
        ("Source", m.incident.source.clone()),
        ("Status", m.incident.status.clone()),
    ];
    match m.kind {
        MessageKind::Resolved => {}
        MessageKind::Bundle => {
            body.extend(
                std::iter::once(&m.incident)
                    .chain(&m.also)
                    .map(|i| text(&format!("- {}", incident_line(i)))),
            );
        }
        MessageKind::DeadLetter => {
            if let Some(reason) = non_empty(m.text.as_deref()) {
                body.push(text(&format!("**Reason:** {reason}")));
            }
        }
        MessageKind::Page | MessageKind::Update => {
            if m.kind == MessageKind::Update
                && let Some(update) = non_empty(m.text.as_deref())
            {
                body.push(json!({
                    "type": "Container",
                    "style": "emphasis",
                    "items": [text(&format!("**Update:** {update}"))],
                }));
            }
            if let Some(who) = non_empty(m.recipient.as_deref()) {
                facts.push(("For", who.to_owned()));
            }
            if let Some(impact) = non_empty(m.impact.as_deref()) {
                facts.push(("Impact", impact.to_owned()));
            }
            if !m.affected.is_empty() {
                facts.push(("Affected", m.affected.join(", ")));
            }
            if let Some(slo) = non_empty(m.slo.as_deref()) {
                facts.push(("SLO", slo.to_owned()));
            }
        }
    }
    body.push(json!({
        "type": "FactSet",
        "facts": facts
            .iter()
            .map(|(title, value)| json!({ "title": title, "value": value }))
            .collect::<Vec<_>>(),
    }));
    if matches!(m.kind, MessageKind::Page | MessageKind::Update) {
        if let Some(steps) = non_empty(m.first_steps.as_deref()) {
            body.push(heading("First steps"));
            body.extend(lines(steps));
        }
        if !m.runbooks.is_empty() {
            body.push(heading("Runbooks"));
            body.extend(
                m.runbooks
                    .iter()
                    .map(|r| json!({ "type": "TextBlock", "text": format!("[{}]({})", r.title, r.url), "wrap": true, "spacing": "None" })),
            );
        }
        if !m.changes.is_empty() {
            body.push(heading("Recent changes"));
            body.extend(m.changes.iter().map(|c| {
                json!({ "type": "TextBlock", "text": change_line(c), "wrap": true, "isSubtle": true, "spacing": "None" })
            }));
        }
    }
    body
}

fn actions(m: &Message) -> Vec<Value> {
    let mut actions = Vec::new();
    if !m.actions.incident_url.trim().is_empty() {
        actions.push(json!({
            "type": "Action.OpenUrl",
            "title": "Open incident",
            "url": m.actions.incident_url,
        }));
    }
    if m.kind != MessageKind::Resolved
        && let Some(ack) = non_empty(m.actions.acknowledge_url.as_deref())
    {
        actions.push(json!({
            "type": "Action.OpenUrl",
            "title": "Acknowledge",
            "url": ack,
        }));
    }
    actions
}

#[async_trait]
impl Channel for TeamsChannel {
    fn kind(&self) -> ContactKind {
        ContactKind::Teams
    }

    async fn send(&self, delivery: Delivery<'_>) -> Result<Sent, SendError> {
        let url = http::require_url("teams", delivery.address)?;
        let body = render(delivery.message);
        let answer = http::send("teams", self.client.post(url).json(&body)).await?;
        match answer.error() {
            None => Ok(Sent { reference: None }),
            Some(error) => Err(error),
        }
    }
}
