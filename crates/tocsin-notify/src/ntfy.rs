//! The ntfy channel: a push notification to a phone through an ntfy server
//! (ntfy.sh or self-hosted). The address is a topic on the configured
//! server, or a full `https://server/topic` URL. Messages are published as
//! JSON to the server's root URL: title = the headline, message = the
//! plain-text details, priority from the severity, a click that opens the
//! incident, and action buttons (open; acknowledge via an HTTP POST to the
//! signed link when the message carries one).
//!
//! The reference kept is the id ntfy gives the message. 429 and 5xx are
//! transient; other errors (unknown topic, refused token) permanent.

use crate::console::{non_empty, sections};
use crate::http;
use async_trait::async_trait;
use serde_json::{Value, json};
use std::time::Duration;
use tocsin_core::notify::{Channel, Delivery, SEND_TIMEOUT, SendError, Sent};
use tocsin_domain::Severity;
use tocsin_domain::catalog::ContactKind;
use tocsin_domain::notify::{Message, MessageKind};

/// The public server.
pub const DEFAULT_SERVER: &str = "https://ntfy.sh";

/// ntfy's default limit on a message body is 4096 bytes; longer ones are
/// refused or turned into attachments, so the body is cut below it.
const MESSAGE_MAX_BYTES: usize = 4000;

/// How the ntfy channel is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server topics are published to, unless an address is a URL.
    pub server: String,
    /// An access token (`tk_…`) for protected topics, sent as a bearer token.
    pub token: Option<String>,
    /// How long one attempt may take.
    pub timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: DEFAULT_SERVER.to_owned(),
            token: None,
            timeout: SEND_TIMEOUT,
        }
    }
}

/// Publishes to ntfy.
#[derive(Debug)]
pub struct NtfyChannel {
    client: reqwest::Client,
    server: String,
    token: Option<String>,
}

impl NtfyChannel {
    pub fn new(config: Config) -> Result<Self, http::BuildError> {
        Ok(Self {
            client: http::client(config.timeout)?,
            server: config.server.trim().trim_end_matches('/').to_owned(),
            token: config.token.filter(|t| !t.trim().is_empty()),
        })
    }
}

/// ntfy's priority: 5 (max) for Sev1, 4 Sev2, 3 Sev3, 2 Sev4 and Sev5.
pub fn priority(severity: Severity) -> u8 {
    match severity {
        Severity::Sev1 => 5,
        Severity::Sev2 => 4,
        Severity::Sev3 => 3,
        Severity::Sev4 | Severity::Sev5 => 2,
    }
}

/// Where an address publishes: `(server, topic)`.
pub fn target<'a>(server: &'a str, address: &'a str) -> Result<(&'a str, &'a str), SendError> {
    let address = address.trim().trim_end_matches('/');
    let (server, topic) = if http::is_url(address) {
        let after_scheme = address.find("://").map_or(0, |i| i + 3);
        match address[after_scheme..].rfind('/') {
            Some(slash) => {
                let at = after_scheme + slash;
                (&address[..at], &address[at + 1..])
            }
            None => {
                return Err(SendError::permanent(
                    "ntfy: the address URL names no topic (https://server/topic)",
                ));
            }
        }
    } else {
        (server, address)
    };
    let valid = !topic.is_empty()
        && topic.len() <= 64
        && topic
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok((server, topic))
    } else {
        Err(SendError::permanent(format!(
            "ntfy: `{topic}` is not a topic (1 to 64 letters, digits, - or _)"
        )))
    }
}

/// The JSON to publish, without the topic (added per address).
pub fn render(message: &Message) -> Value {
    let m = message;
    let (priority, tags): (u8, Vec<&str>) = match m.kind {
        MessageKind::Page => (priority(m.incident.severity), vec!["rotating_light"]),
        MessageKind::Bundle => {
            let worst = std::iter::once(&m.incident)
                .chain(&m.also)
                .map(|i| i.severity)
                .min()
                .unwrap_or(m.incident.severity);
            (priority(worst), vec!["rotating_light"])
        }
        MessageKind::Update => (3, vec!["loudspeaker"]),
        MessageKind::Resolved => (3, vec!["white_check_mark"]),
        MessageKind::DeadLetter => (4, vec!["warning"]),
    };
    let mut tags: Vec<String> = tags.into_iter().map(str::to_owned).collect();
    if m.incident.drill {
        tags.push("drill".to_owned());
    }
    tags.push(m.incident.service.clone());

    let mut actions = Vec::new();
    let url = m.actions.incident_url.trim();
    if !url.is_empty() {
        actions.push(json!({ "action": "view", "label": "Open incident", "url": url }));
    }
    if m.kind != MessageKind::Resolved
        && let Some(ack) = non_empty(m.actions.acknowledge_url.as_deref())
    {
        actions.push(json!({
            "action": "http",
            "label": "Acknowledge",
            "url": ack,
            "method": "POST",
            "clear": true,
        }));
    }

    let mut body = json!({
        "title": m.headline(),
        "message": cut(&sections(m).join("\n"), MESSAGE_MAX_BYTES),
        "priority": priority,
        "tags": tags,
        "actions": actions,
    });
    if !url.is_empty()
        && let Some(object) = body.as_object_mut()
    {
        object.insert("click".to_owned(), json!(url));
    }
    body
}

/// Cuts text to at most `max` bytes on a character boundary.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[async_trait]
impl Channel for NtfyChannel {
    fn kind(&self) -> ContactKind {
        ContactKind::Ntfy
    }

    async fn send(&self, delivery: Delivery<'_>) -> Result<Sent, SendError> {
        let (server, topic) = target(&self.server, delivery.address)?;
        let mut body = render(delivery.message);
        if let Some(object) = body.as_object_mut() {
            object.insert("topic".to_owned(), json!(topic));
        }
        let mut request = self.client.post(format!("{server}/")).json(&body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let answer = http::send("ntfy", request).await?;
        if let Some(error) = answer.error() {
            return Err(error);
        }
        let id = serde_json::from_str::<Value>(&answer.body)
            .ok()
            .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned));
        Ok(Sent { reference: id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_topics_or_urls() {
        let server = "https://ntfy.sh";
        assert_eq!(
            target(server, "oncall-alice").unwrap(),
            (server, "oncall-alice")
        );
        assert_eq!(
            target(server, "https://push.example.com/oncall").unwrap(),
            ("https://push.example.com", "oncall")
        );
        assert_eq!(
            target(server, "https://example.com/ntfy/oncall/").unwrap(),
            ("https://example.com/ntfy", "oncall")
        );
        for bad in ["", "two words", "https://push.example.com", "a/b"] {
            assert!(
                matches!(target(server, bad), Err(SendError::Permanent { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn priorities_follow_severity() {
        let got: Vec<u8> = Severity::ALL.into_iter().map(priority).collect();
        assert_eq!(got, [5, 4, 3, 2, 2]);
    }

    #[test]
    fn long_bodies_are_cut_on_a_character_boundary() {
        let long = "é".repeat(3000);
        let out = cut(&long, MESSAGE_MAX_BYTES);
        assert!(out.len() <= MESSAGE_MAX_BYTES);
        assert!(out.ends_with('…'));
    }
}
