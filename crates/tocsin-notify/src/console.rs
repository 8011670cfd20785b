//! The console channel: a message's plain-text rendering written to
//! tocsin's own log (tracing, target `tocsin::console`, level info). For
//! development, demos and tests: it never fails.
//!
//! The plain-text rendering here is also the body of channels that show
//! plain text (ntfy), so every text channel reads the same way.

use async_trait::async_trait;
use jiff::Timestamp;
use tocsin_core::notify::{Channel, Delivery, SendError, Sent};
use tocsin_domain::catalog::ContactKind;
use tocsin_domain::notify::{ChangeLine, IncidentLine, Message, MessageKind};

/// The log target, so operators can filter these lines in or out.
pub const TARGET: &str = "tocsin::console";

/// Writes each message to the log.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsoleChannel;

impl ConsoleChannel {
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl Channel for ConsoleChannel {
    fn kind(&self) -> ContactKind {
        ContactKind::Console
    }

    async fn send(&self, delivery: Delivery<'_>) -> Result<Sent, SendError> {
        let text = render(delivery.message);
        tracing::info!(
            target: "tocsin::console",
            address = delivery.address,
            key = %delivery.message.key,
            "{text}"
        );
        Ok(Sent { reference: None })
    }
}

/// The whole message as plain text: the headline, then [`body`].
pub fn render(message: &Message) -> String {
    let body = body(message);
    if body.is_empty() {
        message.headline()
    } else {
        format!("{}\n{body}", message.headline())
    }
}

/// Everything after the headline, one section per line (or indented
/// lines), empty sections left out; then the links to act.
pub fn body(message: &Message) -> String {
    let m = message;
    let mut out = sections(m);
    if !m.actions.incident_url.is_empty() {
        out.push(format!("Open incident: {}", m.actions.incident_url));
    }
    if m.kind != MessageKind::Resolved
        && let Some(ack) = non_empty(m.actions.acknowledge_url.as_deref())
    {
        out.push(format!("Acknowledge: {ack}"));
    }
    out.join("\n")
}

/// The lines between the headline and the links, for channels that show
/// links as buttons of their own (ntfy): a template's body when the
/// message has one, else tocsin's own sections.
pub(crate) fn sections(m: &Message) -> Vec<String> {
    if let Some(body) = &m.body {
        return body.lines().map(str::to_owned).collect();
    }
    let mut out: Vec<String> = Vec::new();
    match m.kind {
        MessageKind::Resolved => {
            out.push(origin(m));
        }
        MessageKind::Bundle => {
            out.extend(
                std::iter::once(&m.incident)
                    .chain(&m.also)
                    .map(|i| format!("  - {}", incident_line(i))),
            );
        }
        MessageKind::DeadLetter => {
            if let Some(text) = non_empty(m.text.as_deref()) {
                out.push(format!("Reason: {text}"));
            }
            out.push(origin(m));
        }
        MessageKind::Page | MessageKind::Update => {
            if m.kind == MessageKind::Update
                && let Some(text) = non_empty(m.text.as_deref())
            {
                out.push(format!("Update: {text}"));
            }
            out.push(origin(m));
            if let Some(impact) = non_empty(m.impact.as_deref()) {
                out.push(format!("Impact: {impact}"));
            }
            if !m.affected.is_empty() {
                out.push(format!("Affected: {}", m.affected.join(", ")));
            }
            if let Some(slo) = non_empty(m.slo.as_deref()) {
                out.push(format!("SLO: {slo}"));
            }
            if let Some(steps) = non_empty(m.first_steps.as_deref()) {
                out.push("First steps:".to_owned());
                out.extend(steps.lines().map(|l| format!("  {l}")));
            }
            if !m.runbooks.is_empty() {
                out.push("Runbooks:".to_owned());
                out.extend(
                    m.runbooks
                        .iter()
                        .map(|r| format!("  - {}: {}", r.title, r.url)),
                );
            }
            if !m.changes.is_empty() {
                out.push("Recent changes:".to_owned());
                out.extend(m.changes.iter().map(|c| format!("  - {}", change_line(c))));
            }
        }
    }
    out
}

/// `Source: prometheus-prod · Status: triggered · For: Alice Example`.
pub(crate) fn origin(m: &Message) -> String {
    let mut parts = vec![
        format!("Source: {}", m.incident.source),
        format!("Status: {}", m.incident.status),
    ];
    if let Some(who) = non_empty(m.recipient.as_deref()) {
        parts.push(format!("For: {who}"));
    }
    parts.join(" · ")
}

/// One incident of a bundle: `Sev2 #44 search: Latency p99 above 2 s (prometheus-prod)`.
pub(crate) fn incident_line(i: &IncidentLine) -> String {
    let drill = if i.drill { "[DRILL] " } else { "" };
    format!(
        "{drill}{} #{} {}: {} ({})",
        i.severity.label(),
        i.number,
        i.service,
        i.title,
        i.source
    )
}

/// `2026-03-02 08:41 UTC Deploy checkout v2.14.0 (alice)`.
pub(crate) fn change_line(c: &ChangeLine) -> String {
    format!("{} {}", time(c.at), c.summary)
}

/// Times are shown in UTC: a message goes to people in many time zones.
pub(crate) fn time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// An optional text that is present and not blank.
pub(crate) fn non_empty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn empty_sections_are_left_out() {
        let text = render(&sample::bare());
        assert_eq!(
            text,
            "Sev3 #7 search: Disk 91 % full\n\
             Source: prometheus-prod · Status: triggered\n\
             Open incident: https://tocsin.example.com/incidents/7"
        );
    }

    #[test]
    fn drills_say_so_first() {
        assert!(render(&sample::drill()).starts_with("[DRILL] "));
    }
}
