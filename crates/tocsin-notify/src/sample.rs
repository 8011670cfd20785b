//! Sample messages for tests and snapshot renderings (also used by other
//! crates' tests). Fixed times and texts, so renderings are stable.

use jiff::Timestamp;
use tocsin_domain::Severity;
use tocsin_domain::catalog::{ContactKind, MessageTemplate};
use tocsin_domain::notify::template::Templates;
use tocsin_domain::notify::{Actions, ChangeLine, IncidentLine, LinkLine, Message, MessageKind};

fn at(s: &str) -> Timestamp {
    s.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

fn incident(number: i64, title: &str, service: &str, severity: Severity) -> IncidentLine {
    IncidentLine {
        number,
        title: title.to_owned(),
        service: service.to_owned(),
        severity,
        status: "triggered".to_owned(),
        source: "prometheus-prod".to_owned(),
        opened_at: at("2026-03-02T09:00:00Z"),
        drill: false,
    }
}

/// A Sev1 page for a person, with every section filled in.
pub fn page() -> Message {
    Message {
        key: "escalation:42:0:0:intent:alice:slack".to_owned(),
        kind: MessageKind::Page,
        incident: incident(42, "Error rate above 5 % on /pay", "checkout", Severity::Sev1),
        recipient: Some("Alice Example".to_owned()),
        impact: Some("Customers cannot pay; orders are lost.".to_owned()),
        affected: vec!["storefront".to_owned(), "mobile-api".to_owned()],
        slo: Some("checkout availability 99.9 %: 4 % of the 30-day budget burnt in the last hour".to_owned()),
        first_steps: Some("1. Check the payment provider's status page.\n2. Roll back the last deploy if it is under an hour old.".to_owned()),
        runbooks: vec![LinkLine {
            title: "Checkout runbook".to_owned(),
            url: "https://wiki.example.com/runbooks/checkout".to_owned(),
        }],
        changes: vec![ChangeLine {
            at: at("2026-03-02T08:41:00Z"),
            summary: "Deploy checkout v2.14.0 (alice)".to_owned(),
        }],
        actions: Actions {
            incident_url: "https://tocsin.example.com/incidents/42".to_owned(),
            acknowledge_url: Some("https://tocsin.example.com/ack/42?sig=abc123".to_owned()),
            interactive: true,
        },
        text: None,
        also: Vec::new(),
        title: None,
        body: None,
    }
}

/// The resolution of [`page`].
pub fn resolved() -> Message {
    let mut m = page();
    m.key = "resolve:42:slack:alice".to_owned();
    m.kind = MessageKind::Resolved;
    m.incident.status = "resolved".to_owned();
    m.actions.acknowledge_url = None;
    m.actions.interactive = false;
    m
}

/// A page with nothing optional: no impact, runbook, changes or SLO.
pub fn bare() -> Message {
    Message {
        key: "escalation:7:0:1:intent:bob:email".to_owned(),
        kind: MessageKind::Page,
        incident: incident(7, "Disk 91 % full", "search", Severity::Sev3),
        recipient: None,
        impact: None,
        affected: Vec::new(),
        slo: None,
        first_steps: None,
        runbooks: Vec::new(),
        changes: Vec::new(),
        actions: Actions {
            incident_url: "https://tocsin.example.com/incidents/7".to_owned(),
            acknowledge_url: None,
            interactive: false,
        },
        text: None,
        also: Vec::new(),
        title: None,
        body: None,
    }
}

/// A fire drill page: marked as a drill everywhere.
pub fn drill() -> Message {
    let mut m = page();
    m.key = "escalation:43:0:0:intent:alice:slack".to_owned();
    m.incident.number = 43;
    m.incident.title = "[DRILL] Fire drill for checkout".to_owned();
    m.incident.source = "drill".to_owned();
    m.incident.drill = true;
    m
}

/// Three pages for one person bundled into one message during a storm.
pub fn bundle() -> Message {
    let mut m = page();
    m.key = "bundle:alice:slack:42,44,45".to_owned();
    m.kind = MessageKind::Bundle;
    m.also = vec![
        incident(44, "Latency p99 above 2 s", "search", Severity::Sev2),
        incident(45, "Queue depth above 10,000", "orders", Severity::Sev3),
    ];
    m
}

/// A status update on an incident.
pub fn update() -> Message {
    let mut m = page();
    m.key = "update:42:3:slack:C0123".to_owned();
    m.kind = MessageKind::Update;
    m.incident.status = "acknowledged".to_owned();
    m.text = Some(
        "Identified: the payment provider rejects our new TLS client certificate; rolling back."
            .to_owned(),
    );
    m
}

/// An admin told that a page could not be delivered.
pub fn dead_letter() -> Message {
    let mut m = page();
    m.key = "dead-letter:escalation:42:0:0:intent:alice:slack".to_owned();
    m.kind = MessageKind::DeadLetter;
    m.recipient = Some("Admins".to_owned());
    m.actions.acknowledge_url = None;
    m.actions.interactive = false;
    m.text = Some(
        "slack to Alice Example failed 5 times: slack: chat.postMessage refused: channel_not_found"
            .to_owned(),
    );
    m
}

/// The template [`templated`] is rendered with: a short title, and a body
/// with a blank line and characters every markup must escape.
#[allow(clippy::expect_used)] // a literal, checked by the snapshot tests
pub fn template() -> MessageTemplate {
    serde_json::from_value(serde_json::json!({
        "name": "house-style",
        "messages": ["page"],
        "title": "{{ severity }} {{ incident.service }} is failing: {{ incident.title }}",
        "body": "Customers: {{ impact }}\n\
                 Runbooks: {{ runbooks | map(attribute='url') | join(', ') }}\n\
                 \n\
                 Stuck? Ask in #payments & page <payments-lead>.\n",
    }))
    .expect("the sample template has a template's shape")
}

/// [`page`] reworded by the organisation's template ([`template`]).
pub fn templated() -> Message {
    let mut m = page();
    let _ = Templates::new([&template()]).apply(&mut m, ContactKind::Slack);
    m
}
