//! The Mattermost channel: an incoming webhook (the address is its URL)
//! with a Slack-compatible body: markdown `text` with the headline, and
//! one attachment coloured by severity holding the details as markdown
//! and short fields. Mattermost answers `200 ok`; other statuses are
//! classified the common way (429 and 5xx transient, other 4xx permanent).
//!
//! With [`Actions`] set (`MattermostChannel::with_actions`), interactive
//! pages and updates of unresolved incidents carry Acknowledge / Resolve /
//! Escalate buttons (Mattermost interactive message actions) that post to
//! the hub's `/chat/mattermost/actions`. Both parts are needed: Mattermost
//! must reach the hub at a public URL, and since Mattermost does not sign
//! button requests, each button's `context` carries one of the hub's
//! Mattermost tokens, which the hub checks. Without them the attachment
//! keeps only its links.

use crate::console::{change_line, incident_line, non_empty};
use crate::http;
use async_trait::async_trait;
use serde_json::{Map, Value, json};
use std::time::Duration;
use tocsin_core::notify::{Channel, Delivery, SEND_TIMEOUT, SendError, Sent};
use tocsin_domain::Severity;
use tocsin_domain::catalog::ContactKind;
use tocsin_domain::notify::{Message, MessageKind};

/// Mattermost's default limit on a post is 16383 characters; attachments
/// count toward it, so the details stay well below.
const TEXT_MAX: usize = 6000;

/// The attachment's colour for a resolved incident.
const RESOLVED_COLOR: &str = "#2f9e44";

/// The `id`s of the buttons (Mattermost wants them alphanumeric).
pub const ACTION_ACKNOWLEDGE: &str = "ack";
pub const ACTION_RESOLVE: &str = "resolve";
pub const ACTION_ESCALATE: &str = "escalate";

/// Where the buttons post and the token they carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actions {
    /// The hub's action endpoint: `https://<hub>/chat/mattermost/actions`.
    pub url: String,
    /// One of the hub's `--mattermost-token`s, put in each button's
    /// `context` (Mattermost does not sign button requests).
    pub token: String,
}

/// How the Mattermost channel is set up.
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

/// Posts to Mattermost incoming webhooks.
#[derive(Debug)]
pub struct MattermostChannel {
    client: reqwest::Client,
    actions: Option<Actions>,
}

impl MattermostChannel {
    pub fn new(config: Config) -> Result<Self, http::BuildError> {
        Ok(Self {
            client: http::client(config.timeout)?,
            actions: None,
        })
    }

    /// Buttons on interactive pages, posting to `actions.url` (or none).
    #[must_use]
    pub fn with_actions(mut self, actions: Option<Actions>) -> Self {
        self.actions = actions;
        self
    }
}

/// The colour bar of an attachment: red for Sev1 down to grey for Sev5.
pub fn color(severity: Severity) -> &'static str {
    match severity {
        Severity::Sev1 => "#d00000",
        Severity::Sev2 => "#e8590c",
        Severity::Sev3 => "#f2c744",
        Severity::Sev4 => "#1c7ed6",
        Severity::Sev5 => "#868e96",
    }
}

/// The webhook body: `{text, attachments: [{fallback, color, title,
/// title_link, text, fields}]}`, without buttons.
pub fn render(message: &Message) -> Value {
    render_with(message, None)
}

/// The webhook body, with buttons posting to `actions` on interactive
/// pages and updates of unresolved incidents.
pub fn render_with(message: &Message, actions: Option<&Actions>) -> Value {
    let m = message;
    let mut text = format!("**{}**", m.headline());
    if m.body.is_none() {
        text.push_str(&format!("\n{}", source_line(m)));
        if m.kind == MessageKind::Update
            && let Some(update) = non_empty(m.text.as_deref())
        {
            text.push_str(&format!("\n**Update:** {update}"));
        }
    }

    let mut attachment = Map::new();
    attachment.insert("fallback".to_owned(), json!(m.headline()));
    let colour = if m.kind == MessageKind::Resolved {
        RESOLVED_COLOR
    } else {
        color(m.incident.severity)
    };
    attachment.insert("color".to_owned(), json!(colour));
    attachment.insert(
        "title".to_owned(),
        json!(format!("#{} {}", m.incident.number, m.incident.title)),
    );
    if !m.actions.incident_url.trim().is_empty() {
        attachment.insert("title_link".to_owned(), json!(m.actions.incident_url));
    }
    let details = details(m);
    if !details.is_empty() {
        attachment.insert("text".to_owned(), json!(http::truncate(&details, TEXT_MAX)));
    }
    attachment.insert("fields".to_owned(), Value::Array(fields(m)));
    if let Some(actions) = actions
        && let Some(buttons) = buttons(m, actions)
    {
        attachment.insert("actions".to_owned(), buttons);
    }
    json!({ "text": text, "attachments": [attachment] })
}

/// Acknowledge / Resolve / Escalate, when the message is an interactive
/// page or update of an unresolved incident.
fn buttons(m: &Message, actions: &Actions) -> Option<Value> {
    let fit = matches!(m.kind, MessageKind::Page | MessageKind::Update)
        && m.actions.interactive
        && m.incident.status != "resolved";
    if !fit {
        return None;
    }
    let button = |id: &str, name: &str, action: &str, style: &str| {
        json!({
            "id": id,
            "name": name,
            "style": style,
            "integration": {
                "url": actions.url,
                "context": {
                    "action": action,
                    "incident": m.incident.number,
                    "token": actions.token,
                },
            },
        })
    };
    Some(json!([
        button(ACTION_ACKNOWLEDGE, "Acknowledge", "acknowledge", "primary"),
        button(ACTION_RESOLVE, "Resolve", "resolve", "default"),
        button(ACTION_ESCALATE, "Escalate", "escalate", "danger"),
    ]))
}

/// The attachment's markdown: what breaks, what to do, what changed (or a
/// template's body, as markdown), and where to act.
fn details(m: &Message) -> String {
    let mut out: Vec<String> = Vec::new();
    match m.body.as_deref() {
        Some(body) if !body.trim().is_empty() => out.push(body.to_owned()),
        Some(_) => {}
        None => sections(m, &mut out),
    }
    let mut links = Vec::new();
    if !m.actions.incident_url.trim().is_empty() {
        links.push(format!("[Open incident]({})", m.actions.incident_url));
    }
    if m.kind != MessageKind::Resolved
        && let Some(ack) = non_empty(m.actions.acknowledge_url.as_deref())
    {
        links.push(format!("[Acknowledge]({ack})"));
    }
    if !links.is_empty() {
        out.push(links.join(" · "));
    }
    out.join("\n\n")
}

/// tocsin's own details, before the links.
fn sections(m: &Message, out: &mut Vec<String>) {
    match m.kind {
        MessageKind::Resolved => {}
        MessageKind::Bundle => {
            let list: Vec<String> = std::iter::once(&m.incident)
                .chain(&m.also)
                .map(|i| format!("- {}", incident_line(i)))
                .collect();
            out.push(list.join("\n"));
        }
        MessageKind::DeadLetter => {
            if let Some(reason) = non_empty(m.text.as_deref()) {
                out.push(format!("**Reason:** {reason}"));
            }
        }
        MessageKind::Page | MessageKind::Update => {
            let mut facts = Vec::new();
            if let Some(impact) = non_empty(m.impact.as_deref()) {
                facts.push(format!("**Impact:** {impact}"));
            }
            if !m.affected.is_empty() {
                facts.push(format!("**Affected:** {}", m.affected.join(", ")));
            }
            if let Some(slo) = non_empty(m.slo.as_deref()) {
                facts.push(format!("**SLO:** {slo}"));
            }
            if !facts.is_empty() {
                out.push(facts.join("\n"));
            }
            if let Some(steps) = non_empty(m.first_steps.as_deref()) {
                out.push(format!("**First steps**\n{steps}"));
            }
            if !m.runbooks.is_empty() {
                let links: Vec<String> = m
                    .runbooks
                    .iter()
                    .map(|r| format!("[{}]({})", r.title, r.url))
                    .collect();
                out.push(format!("**Runbooks:** {}", links.join(" · ")));
            }
            if !m.changes.is_empty() {
                let lines: Vec<String> = m
                    .changes
                    .iter()
                    .map(|c| format!("- {}", change_line(c)))
                    .collect();
                out.push(format!("**Recent changes**\n{}", lines.join("\n")));
            }
        }
    }
}

/// `Source: prometheus-prod · For: Alice Example`.
fn source_line(m: &Message) -> String {
    match non_empty(m.recipient.as_deref()) {
        Some(who) if m.kind != MessageKind::Bundle => {
            format!("Source: {} · For: {who}", m.incident.source)
        }
        _ => format!("Source: {}", m.incident.source),
    }
}

/// Short facts, shown as one row under the details.
fn fields(m: &Message) -> Vec<Value> {
    let field = |title: &str, value: &str| json!({ "short": true, "title": title, "value": value });
    vec![
        field("Severity", m.incident.severity.label()),
        field("Service", &m.incident.service),
        field("Status", &m.incident.status),
    ]
}

#[async_trait]
impl Channel for MattermostChannel {
    fn kind(&self) -> ContactKind {
        ContactKind::Mattermost
    }

    async fn send(&self, delivery: Delivery<'_>) -> Result<Sent, SendError> {
        let url = http::require_url("mattermost", delivery.address)?;
        let body = render_with(delivery.message, self.actions.as_ref());
        let answer = http::send("mattermost", self.client.post(url).json(&body)).await?;
        match answer.error() {
            None => Ok(Sent { reference: None }),
            Some(error) => Err(error),
        }
    }
}
