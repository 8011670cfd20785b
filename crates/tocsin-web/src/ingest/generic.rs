//! tocsin's own generic JSON event, for senders that speak none of the
//! other formats (scripts, CI, `tocsin send`).
//!
//! The shape is ours and documented in `docs/ingestion.md`:
//! `{"action": "trigger"|"acknowledge"|"resolve"|"change", "dedup_key",
//! "summary", "source", "severity", "component", "group", "class",
//! "labels": {…}, "details": any, "links": [{"href", "text"}], "note",
//! "occurred_at"}`. It is strict where the foreign formats are lenient:
//! unknown fields are refused (a typo must not silently drop data), and so
//! are fields an action does not use. Answers: [`success_body`] (202) and
//! [`super::problem`] (problem+json: 400 for an unreadable body, 422 naming
//! the field otherwise).

use super::{FormatError, check_dedup_key, decode, known_severity, non_blank, parse_time};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tocsin_domain::Severity;
use tocsin_domain::ingest::{Event, EventAction, Link, SeverityMap};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    action: Option<String>,
    dedup_key: Option<String>,
    summary: Option<String>,
    source: Option<String>,
    severity: Option<String>,
    component: Option<String>,
    group: Option<String>,
    class: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    details: Option<Value>,
    links: Option<Vec<WireLink>>,
    note: Option<String>,
    occurred_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireLink {
    href: String,
    text: Option<String>,
}

/// Parses one generic event.
pub fn parse(body: &[u8], map: &SeverityMap) -> Result<Event, FormatError> {
    let w: Wire = decode(body)?;

    let action = match w.action.as_deref() {
        Some("trigger") => EventAction::Trigger,
        Some("acknowledge") => EventAction::Acknowledge,
        Some("resolve") => EventAction::Resolve,
        Some("change") => EventAction::Change,
        Some(other) => {
            return Err(FormatError::new(
                "action",
                format!("must be one of trigger, acknowledge, resolve, change (got {other:?})"),
            ));
        }
        None => {
            return Err(FormatError::new(
                "action",
                "is required (trigger, acknowledge, resolve or change)",
            ));
        }
    };
    let name = match action {
        EventAction::Trigger => "trigger",
        EventAction::Acknowledge => "acknowledge",
        EventAction::Resolve => "resolve",
        EventAction::Change => "change",
        EventAction::Note => "note",
    };

    let given_key = w.dedup_key.filter(|k| !k.is_empty());
    if let Some(k) = &given_key {
        check_dedup_key("dedup_key", k)?;
    }
    let dedup_key = match (action, given_key) {
        (EventAction::Change, Some(_)) => {
            return Err(FormatError::new(
                "dedup_key",
                "is not used by change events (they open no alert); leave it out",
            ));
        }
        (EventAction::Change, None) => String::new(),
        (_, Some(k)) if k.trim().is_empty() => {
            return Err(FormatError::new("dedup_key", "must not be blank"));
        }
        (_, Some(k)) => k,
        (EventAction::Trigger, None) => super::random_dedup_key(),
        (_, None) => {
            return Err(FormatError::new(
                "dedup_key",
                format!("is required for {name} events"),
            ));
        }
    };

    let summary = match (action, non_blank(w.summary)) {
        (EventAction::Trigger | EventAction::Change, None) => {
            return Err(FormatError::new(
                "summary",
                format!("is required for {name} events"),
            ));
        }
        (_, s) => s.unwrap_or_default(),
    };

    let sender_severity = non_blank(w.severity);
    let severity = match (action, sender_severity.as_deref()) {
        (EventAction::Change, Some(_)) => {
            return Err(FormatError::new(
                "severity",
                "is not used by change events (they never page); leave it out",
            ));
        }
        (EventAction::Change, None) => Severity::Sev5,
        (_, None) => map.default,
        (_, Some(word)) => known_severity(map, word).ok_or_else(|| {
            FormatError::new(
                "severity",
                format!(
                    "{word:?} is not a severity: use sev1…sev5 or a known word ({})",
                    known_words(map)
                ),
            )
        })?,
    };

    let occurred_at = match non_blank(w.occurred_at) {
        Some(s) => Some(parse_time("occurred_at", &s)?),
        None => None,
    };

    let mut links = Vec::new();
    for (i, l) in w.links.unwrap_or_default().into_iter().enumerate() {
        if l.href.trim().is_empty() {
            return Err(FormatError::new(
                format!("links[{i}].href"),
                "must not be blank",
            ));
        }
        links.push(Link {
            href: l.href,
            text: non_blank(l.text),
        });
    }

    Ok(Event {
        action,
        dedup_key,
        summary: Event::truncate_summary(&summary),
        source: non_blank(w.source),
        severity,
        sender_severity,
        occurred_at,
        component: non_blank(w.component),
        group: non_blank(w.group),
        class: non_blank(w.class),
        labels: w.labels.unwrap_or_default(),
        details: w.details.unwrap_or(Value::Null),
        links,
        images: Vec::new(),
        note: non_blank(w.note),
    })
}

/// The words the map knows, for the error message.
fn known_words(map: &SeverityMap) -> String {
    let mut words: Vec<&str> = map
        .pagerduty
        .keys()
        .chain(map.labels.keys())
        .map(String::as_str)
        .collect();
    words.sort_unstable();
    words.dedup();
    words.join(", ")
}

/// The 202 body; `dedup_key` is the sender's or the one made for a trigger
/// without one (absent for change events).
pub fn success_body(dedup_key: &str) -> Value {
    if dedup_key.is_empty() {
        json!({ "status": "success" })
    } else {
        json!({ "status": "success", "dedup_key": dedup_key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tocsin_domain::Severity::*;

    fn map() -> SeverityMap {
        SeverityMap::default()
    }

    fn ok(body: &str) -> Event {
        match parse(body.as_bytes(), &map()) {
            Ok(e) => e,
            Err(e) => panic!("refused: {e}\n{body}"),
        }
    }

    #[test]
    fn accepted() {
        let e = ok(r#"{
            "action": "trigger", "dedup_key": "backup/nightly", "summary": "Nightly backup failed",
            "source": "db1", "severity": "sev2", "group": "backups",
            "labels": {"team": "dba"}, "details": {"exit": 3},
            "links": [{"href": "https://ci.example.com/1", "text": "log"}],
            "occurred_at": "2024-03-01T02:00:00+01:00"
        }"#);
        assert_eq!(e.action, EventAction::Trigger);
        assert_eq!(e.dedup_key, "backup/nightly");
        assert_eq!(e.severity, Sev2);
        assert_eq!(e.group.as_deref(), Some("backups"));
        assert_eq!(e.labels["team"], "dba");
        assert_eq!(e.details["exit"], 3);
        assert_eq!(e.links[0].text.as_deref(), Some("log"));
        assert_eq!(
            e.occurred_at.map(|t| t.to_string()).as_deref(),
            Some("2024-03-01T01:00:00Z")
        );

        let cases: &[(&str, EventAction, Severity)] = &[
            (
                r#"{"action":"trigger","summary":"s","severity":"critical"}"#,
                EventAction::Trigger,
                Sev1,
            ),
            (
                r#"{"action":"trigger","summary":"s","severity":"Warning"}"#,
                EventAction::Trigger,
                Sev3,
            ),
            (
                r#"{"action":"trigger","summary":"s"}"#,
                EventAction::Trigger,
                Sev3,
            ),
            (
                r#"{"action":"acknowledge","dedup_key":"k","note":"on it"}"#,
                EventAction::Acknowledge,
                Sev3,
            ),
            (
                r#"{"action":"resolve","dedup_key":"k"}"#,
                EventAction::Resolve,
                Sev3,
            ),
            (
                r#"{"action":"change","summary":"Deployed v2"}"#,
                EventAction::Change,
                Sev5,
            ),
        ];
        for (i, (body, action, sev)) in cases.iter().enumerate() {
            let e = ok(body);
            assert_eq!(e.action, *action, "case {i}");
            assert_eq!(e.severity, *sev, "case {i}");
        }
        assert_eq!(
            ok(r#"{"action":"trigger","summary":"s"}"#).dedup_key.len(),
            32
        );
        assert_eq!(ok(r#"{"action":"change","summary":"s"}"#).dedup_key, "");
        assert_eq!(
            ok(r#"{"action":"acknowledge","dedup_key":"k","note":"on it"}"#)
                .note
                .as_deref(),
            Some("on it")
        );
    }

    #[test]
    fn refusals_name_the_field() {
        let cases: Vec<(String, &str, &str)> = vec![
            ("".into(), "body", "is not valid JSON"),
            ("null".into(), "body", "must be a JSON object"),
            ("{}".into(), "action", "is required"),
            (
                r#"{"action":"fire"}"#.into(),
                "action",
                "must be one of trigger, acknowledge, resolve, change (got \"fire\")",
            ),
            (
                r#"{"action":"trigger","summmary":"s"}"#.into(),
                "summmary",
                "is not a known field (expected one of `action`",
            ),
            (
                r#"{"action":"trigger"}"#.into(),
                "summary",
                "is required for trigger events",
            ),
            (
                r#"{"action":"change","summary":" "}"#.into(),
                "summary",
                "is required for change events",
            ),
            (
                r#"{"action":"resolve"}"#.into(),
                "dedup_key",
                "is required for resolve events",
            ),
            (
                r#"{"action":"acknowledge","dedup_key":"  "}"#.into(),
                "dedup_key",
                "must not be blank",
            ),
            (
                format!(
                    r#"{{"action":"resolve","dedup_key":"{}"}}"#,
                    "k".repeat(256)
                ),
                "dedup_key",
                "is 256 characters long",
            ),
            (
                r#"{"action":"change","summary":"s","dedup_key":"k"}"#.into(),
                "dedup_key",
                "is not used by change events",
            ),
            (
                r#"{"action":"change","summary":"s","severity":"sev1"}"#.into(),
                "severity",
                "is not used by change events",
            ),
            (
                r#"{"action":"trigger","summary":"s","severity":"sev9"}"#.into(),
                "severity",
                "\"sev9\" is not a severity: use sev1…sev5 or a known word (critical, error,",
            ),
            (
                r#"{"action":"trigger","summary":"s","labels":{"a":1}}"#.into(),
                "labels.a",
                "invalid type: integer `1`, expected a string",
            ),
            (
                r#"{"action":"trigger","summary":"s","links":[{"text":"t"}]}"#.into(),
                "links[0].href",
                "is required",
            ),
            (
                r#"{"action":"trigger","summary":"s","links":[{"href":""}]}"#.into(),
                "links[0].href",
                "must not be blank",
            ),
            (
                r#"{"action":"trigger","summary":"s","links":[{"href":"h","title":"t"}]}"#.into(),
                "links[0].title",
                "is not a known field",
            ),
            (
                r#"{"action":"trigger","summary":"s","occurred_at":"2024-03-01"}"#.into(),
                "occurred_at",
                "\"2024-03-01\" is not an RFC 3339",
            ),
        ];
        for (i, (body, field, reason)) in cases.iter().enumerate() {
            let e = parse(body.as_bytes(), &map()).unwrap_err();
            assert_eq!(e.field, *field, "case {i}: {e}");
            assert!(e.reason.starts_with(reason), "case {i}: {e}");
        }
    }

    #[test]
    fn bodies() {
        assert_eq!(
            success_body("k"),
            json!({"status": "success", "dedup_key": "k"})
        );
        assert_eq!(success_body(""), json!({"status": "success"}));
        let e = parse(br#"{"action":"x"}"#, &map()).unwrap_err();
        let p = super::super::problem(&e);
        assert_eq!(p.status, 422);
        assert_eq!(p.kind, "https://tocsin.dev/problems/invalid-input");
        assert_eq!(p.errors[0].field, "action");
        let p = super::super::problem(&parse(b"{", &map()).unwrap_err());
        assert_eq!(p.status, 400);
        assert_eq!(p.kind, "https://tocsin.dev/problems/invalid-body");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body, &map());
        }

        #[test]
        fn every_sev_word_round_trips(n in 1u8..=5, summary in "[a-z ]{1,40}".prop_filter("not blank", |s| !s.trim().is_empty())) {
            let body = json!({"action": "trigger", "summary": summary, "severity": format!("sev{n}")}).to_string();
            let e = parse(body.as_bytes(), &map()).unwrap();
            prop_assert_eq!(e.severity.to_string(), format!("sev{n}"));
            prop_assert_eq!(e.summary, summary);
        }
    }
}
