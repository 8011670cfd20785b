//! PagerDuty Events API v2: alert events (`POST /v2/enqueue`) and change
//! events (`POST /v2/change/enqueue`).
//!
//! Follows PagerDuty's public documentation: "Send an Alert Event" and
//! "Send a Change Event" (developer docs, Events API v2), the PD-CEF field
//! table, and the Events API v2 OpenAPI document for the response shapes:
//! `202 {"status":"success","message":"Event processed","dedup_key":…}`,
//! `400 {"status":"invalid event","message":"Event object is invalid",
//! "errors":[…]}`, and for a body that is not an event object at all
//! `400 {"status":"Unrecognized object","message":"Event object format is
//! unrecognized","errors":[…]}`. Payloads are limited to 512 KB.
//!
//! Rules kept from the original: `event_action` is trigger, acknowledge or
//! resolve; `dedup_key` is at most 255 characters, required for acknowledge
//! and resolve, and generated (a UUID) for a trigger without one; a trigger
//! needs `payload.summary`, `payload.source` and `payload.severity`
//! (critical, error, warning, info); the summary is cut at 1024 characters
//! rather than refused. Acknowledge and resolve ignore payload rules:
//! Alertmanager sends its whole payload with every resolve.
//!
//! Where we differ: PagerDuty's routing key is exactly 32 characters; ours
//! is an integration key, which an operator may bring from the environment,
//! so any non-empty key up to [`MAX_ROUTING_KEY_LEN`] parses (whether it is
//! a known key is the handler's question). A severity word the
//! organisation's [`SeverityMap`] knows (or `sev1`…`sev5`) is accepted too.

use super::{FormatError, check_dedup_key, check_len, decode, parse_time};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;
use tocsin_domain::Severity;
use tocsin_domain::ingest::{Event, EventAction, Link, SeverityMap};

/// The longest routing key we read.
pub const MAX_ROUTING_KEY_LEN: usize = 128;

/// An alert event: which integration it is for, and the event.
#[derive(Debug, Clone, PartialEq)]
pub struct PdEvent {
    pub routing_key: String,
    /// `event.dedup_key` is the sender's, or a fresh one for a trigger that
    /// had none; answer it with [`success_body`].
    pub event: Event,
}

/// A change event (action [`EventAction::Change`], empty dedup key).
#[derive(Debug, Clone, PartialEq)]
pub struct PdChange {
    pub routing_key: String,
    pub event: Event,
}

/// Why an event was refused: every problem found, in field order. One
/// problem against [`super::BODY`] means the body was not an event object
/// at all (PagerDuty's "Unrecognized object").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdError {
    pub errors: Vec<FormatError>,
}

impl PdError {
    fn one(e: FormatError) -> Self {
        PdError { errors: vec![e] }
    }

    /// The body could not be read as an event object.
    pub fn is_unrecognized(&self) -> bool {
        self.errors.iter().any(FormatError::is_malformed_body)
    }

    /// PagerDuty answers every refused event with 400.
    pub fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    /// The error body, in PagerDuty's shape.
    pub fn body(&self) -> Value {
        let (status, message) = if self.is_unrecognized() {
            ("Unrecognized object", "Event object format is unrecognized")
        } else {
            ("invalid event", "Event object is invalid")
        };
        json!({
            "status": status,
            "message": message,
            "errors": super::lines(&self.errors),
        })
    }
}

impl fmt::Display for PdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&super::lines(&self.errors).join("; "))
    }
}

impl std::error::Error for PdError {}

/// The 202 body for an accepted alert event.
pub fn success_body(dedup_key: &str) -> Value {
    json!({
        "status": "success",
        "message": "Event processed",
        "dedup_key": dedup_key,
    })
}

/// The 202 body for an accepted change event.
pub fn change_success_body() -> Value {
    json!({
        "status": "success",
        "message": "Change event processed",
    })
}

#[derive(Debug, Deserialize)]
struct WireEvent {
    routing_key: Option<String>,
    event_action: Option<String>,
    dedup_key: Option<String>,
    payload: Option<WirePayload>,
    client: Option<String>,
    client_url: Option<String>,
    links: Option<Vec<WireLink>>,
    images: Option<Vec<WireImage>>,
}

#[derive(Debug, Deserialize)]
struct WirePayload {
    summary: Option<String>,
    source: Option<String>,
    severity: Option<String>,
    timestamp: Option<String>,
    component: Option<String>,
    group: Option<String>,
    class: Option<String>,
    #[serde(default)]
    custom_details: Value,
}

#[derive(Debug, Deserialize)]
struct WireLink {
    href: Option<String>,
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireImage {
    src: Option<String>,
    href: Option<String>,
    alt: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireChange {
    routing_key: Option<String>,
    payload: Option<WireChangePayload>,
    links: Option<Vec<WireLink>>,
}

#[derive(Debug, Deserialize)]
struct WireChangePayload {
    summary: Option<String>,
    source: Option<String>,
    timestamp: Option<String>,
    #[serde(default)]
    custom_details: Value,
}

/// Collects every problem instead of stopping at the first, as PagerDuty's
/// `errors` list does.
#[derive(Default)]
struct Problems(Vec<FormatError>);

impl Problems {
    fn take<T>(&mut self, r: Result<T, FormatError>) -> Option<T> {
        r.map_err(|e| self.0.push(e)).ok()
    }

    fn push(&mut self, field: &str, reason: impl Into<String>) {
        self.0.push(FormatError::new(field, reason));
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, PdError> {
        match value {
            Some(v) if self.0.is_empty() => Ok(v),
            _ => Err(PdError { errors: self.0 }),
        }
    }
}

/// A string that must be present and not blank.
fn required(field: &str, v: Option<String>, why: &str) -> Result<String, FormatError> {
    match v {
        Some(s) if !s.trim().is_empty() => Ok(s),
        Some(_) => Err(FormatError::new(field, format!("must not be blank{why}"))),
        None => Err(FormatError::new(field, format!("is required{why}"))),
    }
}

fn routing_key(v: Option<String>) -> Result<String, FormatError> {
    let key = required("routing_key", v, "")?;
    check_len("routing_key", &key, MAX_ROUTING_KEY_LEN)?;
    Ok(key)
}

fn action(v: Option<&str>) -> Result<EventAction, FormatError> {
    match v {
        Some("trigger") => Ok(EventAction::Trigger),
        Some("acknowledge") => Ok(EventAction::Acknowledge),
        Some("resolve") => Ok(EventAction::Resolve),
        Some(other) => Err(FormatError::new(
            "event_action",
            format!("must be one of trigger, acknowledge, resolve (got {other:?})"),
        )),
        None => Err(FormatError::new(
            "event_action",
            "is required (trigger, acknowledge or resolve)",
        )),
    }
}

fn links(v: Option<Vec<WireLink>>, p: &mut Problems) -> Vec<Link> {
    let mut out = Vec::new();
    for (i, l) in v.unwrap_or_default().into_iter().enumerate() {
        let field = format!("links[{i}].href");
        if let Some(href) = p.take(required(&field, l.href, "")) {
            out.push(Link {
                href,
                text: super::non_blank(l.text),
            });
        }
    }
    out
}

fn images(v: Option<Vec<WireImage>>, p: &mut Problems) -> Vec<Link> {
    let mut out = Vec::new();
    for (i, img) in v.unwrap_or_default().into_iter().enumerate() {
        let field = format!("images[{i}].src");
        if let Some(src) = p.take(required(&field, img.src, "")) {
            // Our image is its source; the click-through link, if any, is
            // kept as the text when there is no alt text to show.
            out.push(Link {
                href: src,
                text: super::non_blank(img.alt).or_else(|| super::non_blank(img.href)),
            });
        }
    }
    out
}

/// Parses an alert event (`/v2/enqueue`).
pub fn parse_event(body: &[u8], map: &SeverityMap) -> Result<PdEvent, PdError> {
    let w: WireEvent = decode(body).map_err(PdError::one)?;
    let mut p = Problems::default();

    let routing_key = p.take(routing_key(w.routing_key));
    let action = p.take(action(w.event_action.as_deref()));
    let is_trigger = action == Some(EventAction::Trigger);
    let why = match action {
        Some(EventAction::Trigger) => " for trigger events",
        Some(EventAction::Acknowledge) => " for acknowledge events",
        _ => " for resolve events",
    };

    let dedup_key = match super::non_blank(w.dedup_key) {
        Some(k) => p.take(check_dedup_key("dedup_key", &k)).map(|()| k),
        None if is_trigger => Some(super::random_dedup_key()),
        None if action.is_some() => {
            p.push("dedup_key", format!("is required{why}"));
            None
        }
        None => None,
    };

    let payload = match w.payload {
        Some(pl) => Some(pl),
        None if is_trigger => {
            p.push("payload", "is required for trigger events");
            None
        }
        None => None,
    };

    let mut summary = String::new();
    let mut severity = map.default;
    let mut sender_severity = None;
    let mut source = None;
    let mut occurred_at = None;
    let (mut component, mut group, mut class) = (None, None, None);
    let mut details = Value::Null;
    if let Some(pl) = payload {
        if is_trigger {
            summary = p
                .take(required("payload.summary", pl.summary, why))
                .unwrap_or_default();
            source = p.take(required("payload.source", pl.source, why));
            if let Some(word) = p.take(required("payload.severity", pl.severity, why)) {
                sender_severity = Some(word.clone());
                match known_pd_severity(map, &word) {
                    Some(s) => severity = s,
                    None => p.push(
                        "payload.severity",
                        format!("must be one of critical, error, warning, info (got {word:?})"),
                    ),
                }
            }
        } else {
            summary = pl.summary.unwrap_or_default();
            source = super::non_blank(pl.source);
            if let Some(word) = super::non_blank(pl.severity) {
                severity = map.pagerduty(&word);
                sender_severity = Some(word);
            }
        }
        if let Some(ts) = super::non_blank(pl.timestamp) {
            occurred_at = p.take(parse_time("payload.timestamp", &ts));
        }
        component = super::non_blank(pl.component);
        group = super::non_blank(pl.group);
        class = super::non_blank(pl.class);
        details = pl.custom_details;
    }

    let client = super::non_blank(w.client);
    let mut all_links = Vec::new();
    if let Some(l) = super::link(
        w.client_url.as_deref(),
        client.as_deref().unwrap_or("client"),
    ) {
        all_links.push(l);
    }
    all_links.extend(links(w.links, &mut p));
    let images = images(w.images, &mut p);

    let mut labels = BTreeMap::new();
    for (k, v) in [
        ("source", &source),
        ("component", &component),
        ("group", &group),
        ("class", &class),
        ("client", &client),
    ] {
        if let Some(v) = v {
            labels.insert(k.to_owned(), v.clone());
        }
    }

    let event = match (routing_key, action, dedup_key) {
        (Some(routing_key), Some(action), Some(dedup_key)) => Some(PdEvent {
            routing_key,
            event: Event {
                action,
                dedup_key,
                summary: Event::truncate_summary(&summary),
                source,
                severity,
                sender_severity,
                occurred_at,
                component,
                group,
                class,
                labels,
                details,
                links: all_links,
                images,
                note: None,
            },
        }),
        _ => None,
    };
    p.finish(event)
}

/// PagerDuty's four words, plus whatever the organisation's map adds.
fn known_pd_severity(map: &SeverityMap, word: &str) -> Option<Severity> {
    let w = word.trim().to_ascii_lowercase();
    map.pagerduty
        .get(&w)
        .copied()
        .or_else(|| Severity::parse(&w))
}

/// Parses a change event (`/v2/change/enqueue`). Change events never page:
/// their severity is Sev5.
pub fn parse_change(body: &[u8]) -> Result<PdChange, PdError> {
    let w: WireChange = decode(body).map_err(PdError::one)?;
    let mut p = Problems::default();
    let routing_key = p.take(routing_key(w.routing_key));
    let why = " for change events";
    let mut summary = None;
    let mut source = None;
    let mut occurred_at = None;
    let mut details = Value::Null;
    match w.payload {
        Some(pl) => {
            summary = p.take(required("payload.summary", pl.summary, why));
            source = super::non_blank(pl.source);
            if let Some(ts) = super::non_blank(pl.timestamp) {
                occurred_at = p.take(parse_time("payload.timestamp", &ts));
            }
            details = pl.custom_details;
        }
        None => p.push("payload", "is required for change events"),
    }
    let links = links(w.links, &mut p);
    let labels: BTreeMap<String, String> = source
        .iter()
        .map(|s| ("source".to_owned(), s.clone()))
        .collect();
    let change = match (routing_key, summary) {
        (Some(routing_key), Some(summary)) => Some(PdChange {
            routing_key,
            event: Event {
                action: EventAction::Change,
                dedup_key: String::new(),
                summary: Event::truncate_summary(&summary),
                source,
                severity: Severity::Sev5,
                sender_severity: None,
                occurred_at,
                component: None,
                group: None,
                class: None,
                labels,
                details,
                links,
                images: Vec::new(),
                note: None,
            },
        }),
        _ => None,
    };
    p.finish(change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tocsin_domain::Severity::*;

    fn map() -> SeverityMap {
        SeverityMap::default()
    }

    fn ok(body: &str) -> PdEvent {
        match parse_event(body.as_bytes(), &map()) {
            Ok(e) => e,
            Err(e) => panic!("refused: {e}\n{body}"),
        }
    }

    /// What `pdpyras.EventsAPISession.trigger("Disk full", "db1")` posts:
    /// no dedup_key, severity defaulted to critical.
    const PDPYRAS_TRIGGER: &str = r#"{"event_action": "trigger", "payload": {"summary": "Disk full", "source": "db1", "severity": "critical"}, "routing_key": "0123456789abcdef0123456789abcdef"}"#;

    /// What `pdpyras` posts for `acknowledge("srv01/disk")` / `resolve(...)`.
    const PDPYRAS_ACK: &str = r#"{"event_action": "acknowledge", "dedup_key": "srv01/disk", "routing_key": "0123456789abcdef0123456789abcdef"}"#;
    const PDPYRAS_RESOLVE: &str = r#"{"event_action": "resolve", "dedup_key": "srv01/disk", "routing_key": "0123456789abcdef0123456789abcdef"}"#;

    /// What Alertmanager 0.25's `pagerduty_configs` (default templates,
    /// `routing_key` set) posts for a firing group. Its dedup_key is the
    /// SHA-256 of the group key; its custom_details are the default
    /// firing/resolved/num_firing/num_resolved strings.
    const ALERTMANAGER_TRIGGER: &str = r#"{"routing_key":"k3y0000000000000000000000000000a","dedup_key":"5b1a0d8c1cf7e1f4f5d0d1f2b7bb7bd1fd27e4e0d8d40c2d9e3f6d0b1c2a3f4e","event_action":"trigger","payload":{"summary":"[FIRING:1] HighLatency api (critical)","source":"Alertmanager","severity":"error","custom_details":{"firing":"Labels:\n - alertname = HighLatency\n - job = api\n - severity = critical\nAnnotations:\n - summary = p99 over 1s\nSource: http://prometheus:9090/graph?g0.expr=...\n","num_firing":"1","num_resolved":"0","resolved":""}},"client":"Alertmanager","client_url":"http://127.0.0.1:9093/#/alerts?receiver=pd"}
"#;

    /// Alertmanager's resolve: the same message with event_action resolve,
    /// payload included.
    const ALERTMANAGER_RESOLVE: &str = r#"{"routing_key":"k3y0000000000000000000000000000a","dedup_key":"5b1a0d8c1cf7e1f4f5d0d1f2b7bb7bd1fd27e4e0d8d40c2d9e3f6d0b1c2a3f4e","event_action":"resolve","payload":{"summary":"[RESOLVED] HighLatency api (critical)","source":"Alertmanager","severity":"error","custom_details":{"firing":"","num_firing":"0","num_resolved":"1","resolved":"Labels:\n - alertname = HighLatency\n"}},"client":"Alertmanager","client_url":"http://127.0.0.1:9093/#/alerts?receiver=pd"}
"#;

    /// PagerDuty's documented full example.
    const DOCS_FULL: &str = r#"{
      "payload": {
        "summary": "Example alert on host1.example.com",
        "timestamp": "2015-07-17T08:42:58.315+0000",
        "source": "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003",
        "severity": "info",
        "component": "postgres",
        "group": "prod-datapipe",
        "class": "deploy",
        "custom_details": {"ping time": "1500ms", "load avg": 0.75}
      },
      "routing_key": "samplekeyhere",
      "dedup_key": "samplekeyhere",
      "images": [{"src": "https://www.example.com/logo.png", "href": "https://example.com/", "alt": "Example text"}],
      "links": [{"href": "https://example.com/", "text": "Link text"}],
      "event_action": "trigger",
      "client": "Sample Monitoring Service",
      "client_url": "https://monitoring.example.com"
    }"#;

    #[test]
    fn real_clients() {
        let e = ok(PDPYRAS_TRIGGER);
        assert_eq!(e.routing_key, "0123456789abcdef0123456789abcdef");
        assert_eq!(e.event.action, EventAction::Trigger);
        assert_eq!(e.event.dedup_key.len(), 32, "generated UUID key");
        assert_eq!(e.event.summary, "Disk full");
        assert_eq!(e.event.source.as_deref(), Some("db1"));
        assert_eq!(e.event.severity, Sev1);

        for (body, action) in [
            (PDPYRAS_ACK, EventAction::Acknowledge),
            (PDPYRAS_RESOLVE, EventAction::Resolve),
        ] {
            let e = ok(body);
            assert_eq!(e.event.action, action);
            assert_eq!(e.event.dedup_key, "srv01/disk");
            assert_eq!(e.event.summary, "");
        }

        let e = ok(ALERTMANAGER_TRIGGER);
        assert_eq!(e.event.action, EventAction::Trigger);
        assert_eq!(e.event.dedup_key.len(), 64);
        assert_eq!(e.event.severity, Sev2);
        assert_eq!(e.event.details["num_firing"], "1");
        assert_eq!(e.event.labels["client"], "Alertmanager");
        assert_eq!(
            e.event.links[0].href,
            "http://127.0.0.1:9093/#/alerts?receiver=pd"
        );
        assert_eq!(e.event.links[0].text.as_deref(), Some("Alertmanager"));

        let r = ok(ALERTMANAGER_RESOLVE);
        assert_eq!(r.event.action, EventAction::Resolve);
        assert_eq!(r.event.dedup_key, e.event.dedup_key);

        let d = ok(DOCS_FULL);
        assert_eq!(d.event.severity, Sev5);
        assert_eq!(
            d.event.occurred_at.map(|t| t.as_millisecond()),
            Some(1_437_122_578_315)
        );
        assert_eq!(d.event.component.as_deref(), Some("postgres"));
        assert_eq!(d.event.group.as_deref(), Some("prod-datapipe"));
        assert_eq!(d.event.class.as_deref(), Some("deploy"));
        assert_eq!(d.event.labels["group"], "prod-datapipe");
        assert_eq!(d.event.details["load avg"], 0.75);
        assert_eq!(d.event.links.len(), 2);
        assert_eq!(d.event.links[1].text.as_deref(), Some("Link text"));
        assert_eq!(d.event.images[0].href, "https://www.example.com/logo.png");
        assert_eq!(d.event.images[0].text.as_deref(), Some("Example text"));
    }

    #[test]
    fn refusals_name_the_field() {
        let long_key = "k".repeat(256);
        let long_rk = "r".repeat(129);
        let cases: Vec<(String, &[&str])> = vec![
            ("".into(), &["body: is not valid JSON"]),
            ("[]".into(), &["body: must be a JSON object"]),
            ("{}".into(), &["routing_key: is required", "event_action: is required"]),
            (
                r#"{"routing_key":"k","event_action":"explode"}"#.into(),
                &["event_action: must be one of trigger, acknowledge, resolve (got \"explode\")"],
            ),
            (
                r#"{"routing_key":"k","event_action":"trigger"}"#.into(),
                &["payload: is required for trigger events"],
            ),
            (
                r#"{"routing_key":"k","event_action":"trigger","payload":{}}"#.into(),
                &[
                    "payload.summary: is required for trigger events",
                    "payload.source: is required for trigger events",
                    "payload.severity: is required for trigger events",
                ],
            ),
            (
                r#"{"routing_key":"k","event_action":"trigger","payload":{"summary":" ","source":"h","severity":"fatal"}}"#.into(),
                &[
                    "payload.summary: must not be blank for trigger events",
                    "payload.severity: must be one of critical, error, warning, info (got \"fatal\")",
                ],
            ),
            (
                r#"{"routing_key":"k","event_action":"resolve"}"#.into(),
                &["dedup_key: is required for resolve events"],
            ),
            (
                r#"{"routing_key":"k","event_action":"acknowledge","dedup_key":""}"#.into(),
                &["dedup_key: is required for acknowledge events"],
            ),
            (
                format!(r#"{{"routing_key":"k","event_action":"resolve","dedup_key":"{long_key}"}}"#),
                &["dedup_key: is 256 characters long; the limit is 255"],
            ),
            (
                format!(r#"{{"routing_key":"{long_rk}","event_action":"resolve","dedup_key":"x"}}"#),
                &["routing_key: is 129 characters long; the limit is 128"],
            ),
            (
                r#"{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info","timestamp":"last tuesday"}}"#.into(),
                &["payload.timestamp: \"last tuesday\" is not an RFC 3339 timestamp"],
            ),
            (
                r#"{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info"},"links":[{"text":"t"}],"images":[{"alt":"a"}]}"#.into(),
                &["links[0].href: is required", "images[0].src: is required"],
            ),
            (
                r#"{"routing_key":"k","event_action":"trigger","payload":{"summary":5}}"#.into(),
                &["payload.summary: invalid type: integer `5`, expected a string"],
            ),
        ];
        for (i, (body, want)) in cases.iter().enumerate() {
            let err = parse_event(body.as_bytes(), &map()).unwrap_err();
            let got = super::super::lines(&err.errors);
            assert_eq!(got.len(), want.len(), "case {i}: {got:?}");
            for (g, w) in got.iter().zip(want.iter()) {
                assert!(g.starts_with(w), "case {i}: got {g:?}, want {w:?}");
            }
            assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn long_summary_is_cut_not_refused() {
        let body = json!({
            "routing_key": "k", "event_action": "trigger",
            "payload": {"summary": "x".repeat(5000), "source": "h", "severity": "warning"}
        })
        .to_string();
        let e = ok(&body);
        assert_eq!(e.event.summary.chars().count(), 1024);
        assert_eq!(e.event.severity, Sev3);
    }

    #[test]
    fn severity_words_from_the_map_and_our_scale() {
        let mut m = map();
        m.pagerduty.insert("fatal".into(), Sev1);
        for (word, want) in [("fatal", Sev1), ("SEV4", Sev4), ("Critical", Sev1)] {
            let body = json!({
                "routing_key": "k", "event_action": "trigger",
                "payload": {"summary": "s", "source": "h", "severity": word}
            })
            .to_string();
            let e = parse_event(body.as_bytes(), &m).unwrap();
            assert_eq!(e.event.severity, want, "{word}");
        }
    }

    #[test]
    fn error_bodies() {
        let invalid =
            parse_event(br#"{"routing_key":"k","event_action":"resolve"}"#, &map()).unwrap_err();
        assert_eq!(
            invalid.body(),
            json!({
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": ["dedup_key: is required for resolve events"],
            })
        );
        let unrecognized = parse_event(b"not json", &map()).unwrap_err();
        assert!(unrecognized.is_unrecognized());
        assert_eq!(unrecognized.body()["status"], "Unrecognized object");
        assert_eq!(
            unrecognized.body()["message"],
            "Event object format is unrecognized"
        );
        assert_eq!(
            success_body("abc"),
            json!({"status": "success", "message": "Event processed", "dedup_key": "abc"})
        );
    }

    /// What `pdpyras.ChangeEventsAPISession.submit(...)` posts, and the
    /// documented example.
    #[test]
    fn change_events() {
        let pdpyras = r#"{"routing_key": "0123456789abcdef0123456789abcdef", "payload": {"summary": "Deployed v1.2.3", "timestamp": "2024-03-01T12:00:00.123456Z", "source": "ci", "custom_details": {"build": 42}}, "links": [{"href": "https://ci.example.com/42", "text": "build"}]}"#;
        let c = parse_change(pdpyras.as_bytes()).unwrap();
        assert_eq!(c.routing_key, "0123456789abcdef0123456789abcdef");
        assert_eq!(c.event.action, EventAction::Change);
        assert_eq!(c.event.dedup_key, "");
        assert_eq!(c.event.summary, "Deployed v1.2.3");
        assert_eq!(c.event.severity, Sev5);
        assert_eq!(c.event.source.as_deref(), Some("ci"));
        assert_eq!(c.event.details["build"], 42);
        assert_eq!(c.event.links[0].text.as_deref(), Some("build"));
        assert!(c.event.occurred_at.is_some());

        let cases: &[(&str, &[&str])] = &[
            (
                "{}",
                &[
                    "routing_key: is required",
                    "payload: is required for change events",
                ],
            ),
            (
                r#"{"routing_key":"k","payload":{"source":"ci"}}"#,
                &["payload.summary: is required for change events"],
            ),
            (
                r#"{"routing_key":"k","payload":{"summary":"s","timestamp":"nope"}}"#,
                &["payload.timestamp: \"nope\" is not"],
            ),
        ];
        for (i, (body, want)) in cases.iter().enumerate() {
            let err = parse_change(body.as_bytes()).unwrap_err();
            let got = super::super::lines(&err.errors);
            assert_eq!(got.len(), want.len(), "case {i}: {got:?}");
            for (g, w) in got.iter().zip(want.iter()) {
                assert!(g.starts_with(w), "case {i}: got {g:?}, want {w:?}");
            }
        }
        assert_eq!(
            change_success_body(),
            json!({"status": "success", "message": "Change event processed"})
        );
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 ./:_-]{1,60}".prop_filter("not blank", |s| !s.trim().is_empty())
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_event(&body, &map());
            let _ = parse_change(&body);
        }

        #[test]
        fn valid_trigger_round_trips(
            routing_key in "[a-z0-9]{1,128}",
            dedup_key in proptest::option::of(text()),
            summary in text(),
            source in text(),
            severity in prop::sample::select(vec!["critical", "error", "warning", "info"]),
            component in proptest::option::of(text()),
            group in proptest::option::of(text()),
            class in proptest::option::of(text()),
            detail in proptest::collection::btree_map("[a-z]{1,8}", "[ -~]{0,20}", 0..5),
            secs in 0i64..4_000_000_000,
        ) {
            let ts = jiff::Timestamp::from_second(secs).unwrap();
            let mut payload = json!({
                "summary": summary, "source": source, "severity": severity,
                "timestamp": ts.to_string(), "custom_details": detail,
            });
            for (k, v) in [("component", &component), ("group", &group), ("class", &class)] {
                if let Some(v) = v { payload[k] = json!(v); }
            }
            let mut body = json!({"routing_key": routing_key, "event_action": "trigger", "payload": payload});
            if let Some(k) = &dedup_key { body["dedup_key"] = json!(k); }
            let e = parse_event(body.to_string().as_bytes(), &map()).unwrap();
            prop_assert_eq!(&e.routing_key, &routing_key);
            match &dedup_key {
                Some(k) => prop_assert_eq!(&e.event.dedup_key, k),
                None => prop_assert_eq!(e.event.dedup_key.len(), 32),
            }
            prop_assert_eq!(&e.event.summary, &summary);
            prop_assert_eq!(e.event.source.as_ref(), Some(&source));
            prop_assert_eq!(e.event.severity, map().pagerduty(severity));
            prop_assert_eq!(e.event.occurred_at, Some(ts));
            prop_assert_eq!(&e.event.component, &component);
            prop_assert_eq!(&e.event.group, &group);
            prop_assert_eq!(&e.event.class, &class);
            prop_assert_eq!(e.event.labels.get("source"), Some(&source));
            prop_assert_eq!(&e.event.details, &json!(detail));
        }
    }
}
