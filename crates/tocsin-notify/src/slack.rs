//! The Slack channel: Block Kit messages through an incoming webhook (the
//! address is its `https://hooks.slack.com/…` URL) or through the Web API
//! with a bot token (the address is a channel id `C…` or a member id `U…`).
//!
//! With the Web API a resolution or status update edits the original page
//! (`chat.update` on the `channel:ts` reference the page left), so a
//! channel shows one message per incident; when that message can no longer
//! be edited, a new one is posted. Interactive pages carry buttons whose
//! `action_id`s (`tocsin.acknowledge`, `tocsin.resolve`, `tocsin.escalate`)
//! and `value` (the incident number) are read by ChatOps.
//!
//! Failures: Slack's Web API answers HTTP 200 with `{"ok":false,"error":…}`;
//! rate limits and Slack's own outages are transient, every other error code
//! (unknown channel, bad token, missing scope, malformed blocks) permanent.

use crate::console::{change_line, incident_line, non_empty, origin};
use crate::http;
use crate::slack_api::{ApiError, Body, WebApi};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::time::Duration;
use tocsin_core::notify::{Channel, Delivery, SEND_TIMEOUT, SendError, Sent};
use tocsin_domain::catalog::ContactKind;
use tocsin_domain::notify::{Message, MessageKind};

pub use crate::slack_api::DEFAULT_API_BASE;

/// Slack's limits on a header block's and a text object's length.
const HEADER_MAX: usize = 150;
const TEXT_MAX: usize = 3000;
const BUTTON_MAX: usize = 75;

/// The `action_id`s of the interactive buttons, for ChatOps to match.
pub const ACTION_ACKNOWLEDGE: &str = "tocsin.acknowledge";
pub const ACTION_RESOLVE: &str = "tocsin.resolve";
pub const ACTION_ESCALATE: &str = "tocsin.escalate";
/// The link button to the incident page (Slack sends a click event for it
/// too; ChatOps only has to acknowledge it).
pub const ACTION_OPEN: &str = "tocsin.open";

/// `chat.update` errors after which the original message cannot be
/// edited, so the update is posted as a new message instead.
const NOT_EDITABLE: &[&str] = &[
    "message_not_found",
    "cant_update_message",
    "edit_window_closed",
];

/// How the Slack channel is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// A bot token (`xoxb-…`, scope `chat:write`) for addresses that are
    /// channel or member ids; incoming-webhook URLs need none.
    pub bot_token: Option<String>,
    /// The Web API's base URL, without a trailing slash.
    pub api_base: String,
    /// How long one attempt may take.
    pub timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bot_token: None,
            api_base: DEFAULT_API_BASE.to_owned(),
            timeout: SEND_TIMEOUT,
        }
    }
}

/// Posts (or edits) Slack messages.
#[derive(Debug)]
pub struct SlackChannel {
    /// For incoming webhooks.
    client: reqwest::Client,
    /// The Web API with the bot token, when one is configured.
    api: Option<WebApi>,
}

impl SlackChannel {
    pub fn new(config: Config) -> Result<Self, http::BuildError> {
        let api = match config.bot_token.filter(|t| !t.trim().is_empty()) {
            Some(token) => Some(WebApi::new(&token, &config.api_base, config.timeout)?),
            None => None,
        };
        Ok(Self {
            client: http::client(config.timeout)?,
            api,
        })
    }
}

/// A Slack message: top-level `text` (the notification's fallback, shown
/// in push notifications) and `blocks`.
pub fn render(message: &Message) -> Value {
    json!({
        "text": fallback(message),
        "blocks": blocks(message),
    })
}

/// The reference a message left, `<channel>:<ts>`, split again.
pub fn parse_reference(reference: &str) -> Option<(&str, &str)> {
    let (channel, ts) = reference.split_once(':')?;
    (!channel.is_empty() && !ts.is_empty()).then_some((channel, ts))
}

fn fallback(m: &Message) -> String {
    match (m.kind, non_empty(m.text.as_deref())) {
        (MessageKind::Update | MessageKind::DeadLetter, Some(text)) => {
            format!("{} — {text}", m.headline())
        }
        _ => m.headline(),
    }
}

fn blocks(m: &Message) -> Vec<Value> {
    let mut blocks = vec![header(&m.headline())];
    match m.body.as_deref() {
        // A template's body: plain text, escaped, so its own `*bold*` works
        // but nothing in it (an alert's title) can mention or link.
        Some(body) if !body.trim().is_empty() => blocks.push(section(&escape(body))),
        Some(_) => {}
        None => sections(m, &mut blocks),
    }
    blocks.extend(actions(m));
    blocks
}

/// tocsin's own sections between the header and the actions.
fn sections(m: &Message, blocks: &mut Vec<Value>) {
    match m.kind {
        MessageKind::Resolved => {
            blocks.push(context(&escape(&origin(m))));
        }
        MessageKind::Bundle => {
            let list: Vec<String> = std::iter::once(&m.incident)
                .chain(&m.also)
                .map(|i| format!("• {}", escape(&incident_line(i))))
                .collect();
            blocks.push(section(&list.join("\n")));
        }
        MessageKind::DeadLetter => {
            if let Some(text) = non_empty(m.text.as_deref()) {
                blocks.push(section(&format!("*Reason:* {}", escape(text))));
            }
            blocks.push(context(&escape(&origin(m))));
        }
        MessageKind::Page | MessageKind::Update => {
            if m.kind == MessageKind::Update
                && let Some(text) = non_empty(m.text.as_deref())
            {
                blocks.push(section(&format!("*Update:* {}", escape(text))));
            }
            blocks.push(context(&escape(&origin(m))));
            let mut facts = Vec::new();
            if let Some(impact) = non_empty(m.impact.as_deref()) {
                facts.push(format!("*Impact:* {}", escape(impact)));
            }
            if !m.affected.is_empty() {
                facts.push(format!("*Affected:* {}", escape(&m.affected.join(", "))));
            }
            if let Some(slo) = non_empty(m.slo.as_deref()) {
                facts.push(format!("*SLO:* {}", escape(slo)));
            }
            if !facts.is_empty() {
                blocks.push(section(&facts.join("\n")));
            }
            let mut steps = Vec::new();
            if let Some(first) = non_empty(m.first_steps.as_deref()) {
                steps.push(format!("*First steps*\n{}", escape(first)));
            }
            if !m.runbooks.is_empty() {
                let links: Vec<String> =
                    m.runbooks.iter().map(|r| link(&r.url, &r.title)).collect();
                steps.push(format!("*Runbooks:* {}", links.join(" · ")));
            }
            if !steps.is_empty() {
                blocks.push(section(&steps.join("\n")));
            }
            if !m.changes.is_empty() {
                let lines: Vec<String> =
                    m.changes.iter().map(|c| escape(&change_line(c))).collect();
                blocks.push(context(&format!("*Recent changes*\n{}", lines.join("\n"))));
            }
        }
    }
}

/// The buttons (interactive pages and updates of unresolved incidents) or
/// plain links.
fn actions(m: &Message) -> Option<Value> {
    let url = m.actions.incident_url.trim();
    let buttons_fit = matches!(m.kind, MessageKind::Page | MessageKind::Update)
        && m.actions.interactive
        && m.incident.status != "resolved";
    if buttons_fit {
        let value = m.incident.number.to_string();
        let mut elements = vec![
            button("Acknowledge", ACTION_ACKNOWLEDGE, &value, Some("primary")),
            button("Resolve", ACTION_RESOLVE, &value, None),
            button("Escalate", ACTION_ESCALATE, &value, Some("danger")),
        ];
        if !url.is_empty() {
            elements.push(json!({
                "type": "button",
                "text": plain("Open incident", BUTTON_MAX),
                "action_id": ACTION_OPEN,
                "url": url,
            }));
        }
        return Some(json!({ "type": "actions", "elements": elements }));
    }
    let mut links = Vec::new();
    if !url.is_empty() {
        links.push(link(url, "Open incident"));
    }
    if m.kind != MessageKind::Resolved
        && let Some(ack) = non_empty(m.actions.acknowledge_url.as_deref())
    {
        links.push(link(ack, "Acknowledge"));
    }
    (!links.is_empty()).then(|| section(&links.join(" · ")))
}

fn button(label: &str, action_id: &str, value: &str, style: Option<&str>) -> Value {
    let mut button = json!({
        "type": "button",
        "text": plain(label, BUTTON_MAX),
        "action_id": action_id,
        "value": value,
    });
    if let (Some(style), Some(object)) = (style, button.as_object_mut()) {
        object.insert("style".to_owned(), json!(style));
    }
    button
}

fn plain(text: &str, max: usize) -> Value {
    json!({ "type": "plain_text", "text": http::truncate(text, max), "emoji": true })
}

fn header(text: &str) -> Value {
    json!({ "type": "header", "text": plain(text, HEADER_MAX) })
}

fn section(mrkdwn: &str) -> Value {
    json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": http::truncate(mrkdwn, TEXT_MAX) },
    })
}

fn context(mrkdwn: &str) -> Value {
    json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": http::truncate(mrkdwn, TEXT_MAX) }],
    })
}

/// `<url|title>`; characters that would end the link are dropped from the
/// URL (they cannot be in a valid one) and escaped in the title.
fn link(url: &str, title: &str) -> String {
    let url: String = url
        .chars()
        .filter(|c| !matches!(c, '<' | '>' | '|'))
        .collect();
    format!("<{url}|{}>", escape(title).replace('|', "¦"))
}

/// Slack's mrkdwn reserves `&`, `<` and `>`; everything else is shown as is.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl SlackChannel {
    async fn incoming_webhook(&self, url: &str, body: &Value) -> Result<Sent, SendError> {
        let answer = http::send("slack", self.client.post(url).json(body)).await?;
        // Incoming webhooks answer 200 `ok`, or an HTTP error whose body is
        // the error code (`invalid_payload` 400, `action_prohibited` 403,
        // `channel_not_found` 404, `channel_is_archived` 410, 429, 5xx).
        match answer.error() {
            None => Ok(Sent { reference: None }),
            Some(error) => Err(error),
        }
    }
}

/// What a posted or edited message leaves: `<channel>:<ts>`.
fn sent(answer: &Value) -> Sent {
    let channel = answer.get("channel").and_then(Value::as_str);
    let ts = answer.get("ts").and_then(Value::as_str);
    Sent {
        reference: channel.zip(ts).map(|(c, t)| format!("{c}:{t}")),
    }
}

fn with(body: &Value, fields: &[(&str, &str)]) -> Value {
    let mut body = body.clone();
    if let Some(object) = body.as_object_mut() {
        for (name, value) in fields {
            object.insert((*name).to_owned(), json!(value));
        }
    }
    body
}

#[async_trait]
impl Channel for SlackChannel {
    fn kind(&self) -> ContactKind {
        ContactKind::Slack
    }

    async fn send(&self, delivery: Delivery<'_>) -> Result<Sent, SendError> {
        let address = delivery.address.trim();
        let message = delivery.message;
        let body = render(message);
        if http::is_url(address) {
            return self.incoming_webhook(address, &body).await;
        }
        let Some(api) = self.api.as_ref() else {
            return Err(SendError::permanent(format!(
                "slack: `{address}` is a channel or member id, which needs the Web API: \
                 configure a Slack bot token (scope chat:write), or make the address an \
                 incoming-webhook URL"
            )));
        };
        if address.is_empty() {
            return Err(SendError::permanent("slack: the address is empty"));
        }
        let edits = matches!(message.kind, MessageKind::Resolved | MessageKind::Update);
        if edits && let Some((channel, ts)) = delivery.previous.and_then(parse_reference) {
            let update = with(&body, &[("channel", channel), ("ts", ts)]);
            match api.call("chat.update", Body::Json(&update)).await {
                Ok(answer) => return Ok(sent(&answer)),
                Err(ApiError::Refused(r)) if NOT_EDITABLE.contains(&r.code.as_str()) => {
                    tracing::debug!(code = %r.code, "slack: the original message cannot be edited; posting anew");
                }
                Err(e) => return Err(e.into_send_error()),
            }
        }
        let post = with(&body, &[("channel", address)]);
        api.call("chat.postMessage", Body::Json(&post))
            .await
            .map(|answer| sent(&answer))
            .map_err(ApiError::into_send_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn references_split_into_channel_and_ts() {
        assert_eq!(
            parse_reference("C0123:1712345678.000100"),
            Some(("C0123", "1712345678.000100"))
        );
        assert_eq!(parse_reference("C0123"), None);
        assert_eq!(parse_reference(":1.2"), None);
    }

    #[test]
    fn error_codes_are_classified() {
        let refused = |code: &str| {
            crate::slack_api::Refusal {
                method: "chat.postMessage".into(),
                code: code.into(),
                needed: None,
                retry_after: None,
            }
            .into_send_error()
        };
        assert!(matches!(
            refused("ratelimited"),
            SendError::Transient { .. }
        ));
        for code in [
            "channel_not_found",
            "not_in_channel",
            "invalid_auth",
            "invalid_blocks",
        ] {
            assert!(matches!(refused(code), SendError::Permanent { .. }));
        }
    }

    #[test]
    fn buttons_only_when_interactive_and_unresolved() {
        let has_actions = |m: &Message| {
            render(m)["blocks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["type"] == "actions")
        };
        assert!(has_actions(&sample::page()));
        assert!(!has_actions(&sample::resolved()));
        assert!(!has_actions(&sample::bare()));
        let mut resolved_update = sample::update();
        resolved_update.incident.status = "resolved".to_owned();
        assert!(!has_actions(&resolved_update));
    }

    #[test]
    fn mrkdwn_is_escaped() {
        assert_eq!(escape("a < b & c > d"), "a &lt; b &amp; c &gt; d");
        assert_eq!(
            link("https://x/?a=1&b=<2>", "A|B"),
            "<https://x/?a=1&b=2|A¦B>"
        );
    }

    #[test]
    fn headers_fit_slacks_limit() {
        let mut m = sample::page();
        m.incident.title = "x".repeat(400);
        let text = render(&m)["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(text.chars().count(), HEADER_MAX);
    }
}
