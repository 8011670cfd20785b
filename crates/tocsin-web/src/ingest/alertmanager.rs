//! Prometheus Alertmanager's webhook receiver (`webhook_configs`), payload
//! version "4".
//!
//! Follows the shape in Alertmanager's configuration documentation
//! (`<webhook_config>`): `{version, groupKey, truncatedAlerts, status,
//! receiver, groupLabels, commonLabels, commonAnnotations, externalURL,
//! alerts: [{status, labels, annotations, startsAt, endsAt, generatorURL,
//! fingerprint}]}`. Alertmanager posts the whole group on every change and
//! every repeat interval, so each alert of the group becomes one event
//! (firing → trigger, resolved → resolve) deduplicated by its fingerprint;
//! repeats are counted, not duplicated, by the alert rules downstream.
//!
//! Alertmanager defines no response body: any 2xx is success, and it
//! retries 5xx and 429. We answer [`success_body`] and, for a refused
//! body, [`super::problem`] (problem+json naming the field). Alerts cut by
//! `max_alerts` (`truncatedAlerts`) never reach us; the doc says so.
//!
//! The mapping (shared with Grafana) is in `webhook.rs` and
//! `docs/ingestion.md`.

use super::webhook::{self, Payload, Sender};
use super::{FormatError, decode};
use serde_json::Value;
use tocsin_domain::ingest::{Event, SeverityMap};

/// The one payload version we read.
pub const VERSION: &str = "4";

/// Parses a webhook notification into one event per alert, in order.
pub fn parse(body: &[u8], map: &SeverityMap) -> Result<Vec<Event>, FormatError> {
    let p: Payload = decode(body)?;
    match p.version.as_deref() {
        Some(VERSION) => {}
        Some(other) => {
            return Err(FormatError::new(
                "version",
                format!(
                    "payload version {other:?} is not supported; tocsin reads Alertmanager's webhook version \"{VERSION}\""
                ),
            ));
        }
        None => {
            return Err(FormatError::new(
                "version",
                format!("is required (Alertmanager sends \"{VERSION}\")"),
            ));
        }
    }
    webhook::events(p, map, Sender::Alertmanager)
}

/// The 2xx body: how many events the notification carried.
pub fn success_body(events: usize) -> Value {
    super::accepted_body(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use tocsin_domain::Severity::*;
    use tocsin_domain::ingest::EventAction;

    /// A notification as Alertmanager 0.25 posts it: one firing and one
    /// resolved alert in a group.
    const REAL: &str = r#"{"receiver":"tocsin","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"HighLatency","instance":"api-1:8080","job":"api","severity":"critical"},"annotations":{"description":"p99 latency is 2.3s","runbook_url":"https://runbooks.example.com/latency","summary":"API p99 over 1s"},"startsAt":"2024-03-01T12:00:00.123Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph?g0.expr=histogram_quantile%280.99%29+%3E+1&g0.tab=1","fingerprint":"3f1d2a8e4b6c7d90"},{"status":"resolved","labels":{"alertname":"HighLatency","instance":"api-2:8080","job":"api","severity":"warning"},"annotations":{},"startsAt":"2024-03-01T11:50:00Z","endsAt":"2024-03-01T11:58:00Z","generatorURL":"http://prometheus:9090/graph?g0.expr=x","fingerprint":"a1b2c3d4e5f60718"}],"groupLabels":{"alertname":"HighLatency"},"commonLabels":{"alertname":"HighLatency","job":"api"},"commonAnnotations":{},"externalURL":"http://alertmanager:9093","version":"4","groupKey":"{}:{alertname=\"HighLatency\"}","truncatedAlerts":0}"#;

    fn map() -> SeverityMap {
        SeverityMap::default()
    }

    #[test]
    fn real_payload() {
        let ev = parse(REAL.as_bytes(), &map()).unwrap();
        assert_eq!(ev.len(), 2);

        let f = &ev[0];
        assert_eq!(f.action, EventAction::Trigger);
        assert_eq!(f.dedup_key, "3f1d2a8e4b6c7d90");
        assert_eq!(f.summary, "API p99 over 1s");
        assert_eq!(f.severity, Sev1);
        assert_eq!(f.source.as_deref(), Some("api-1:8080"));
        assert_eq!(f.class.as_deref(), Some("HighLatency"));
        assert_eq!(f.group.as_deref(), Some("{}:{alertname=\"HighLatency\"}"));
        assert_eq!(f.labels["job"], "api");
        assert_eq!(
            f.occurred_at.map(|t| t.to_string()).as_deref(),
            Some("2024-03-01T12:00:00.123Z")
        );
        assert_eq!(
            f.details["annotations"]["description"],
            "p99 latency is 2.3s"
        );
        assert_eq!(f.details["startsAt"], "2024-03-01T12:00:00.123Z");
        assert!(f.details.get("endsAt").is_none(), "zero time is not an end");
        let texts: Vec<_> = f
            .links
            .iter()
            .map(|l| l.text.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(texts, ["Source", "Runbook", "Alertmanager"]);
        assert_eq!(f.links[2].href, "http://alertmanager:9093");

        let r = &ev[1];
        assert_eq!(r.action, EventAction::Resolve);
        assert_eq!(r.dedup_key, "a1b2c3d4e5f60718");
        assert_eq!(r.severity, Sev3);
        assert_eq!(
            r.summary,
            "HighLatency instance=api-2:8080 job=api severity=warning"
        );
        assert_eq!(
            r.occurred_at.map(|t| t.to_string()).as_deref(),
            Some("2024-03-01T11:58:00Z")
        );
        assert_eq!(r.details["endsAt"], "2024-03-01T11:58:00Z");
    }

    #[test]
    fn missing_fingerprint_hashes_the_labels() {
        let body = |labels: Value| {
            json!({"version": "4", "alerts": [{"status": "firing", "labels": labels}]}).to_string()
        };
        let a = parse(
            body(json!({"alertname": "X", "job": "a"})).as_bytes(),
            &map(),
        )
        .unwrap();
        let b = parse(
            body(json!({"job": "a", "alertname": "X"})).as_bytes(),
            &map(),
        )
        .unwrap();
        let c = parse(
            body(json!({"alertname": "X", "job": "b"})).as_bytes(),
            &map(),
        )
        .unwrap();
        assert_eq!(a[0].dedup_key, b[0].dedup_key);
        assert_ne!(a[0].dedup_key, c[0].dedup_key);
        assert_eq!(a[0].severity, Sev3, "no severity label: the default");
        assert_eq!(a[0].details, Value::Null);
    }

    #[test]
    fn empty_group_is_no_events() {
        assert!(
            parse(br#"{"version":"4","alerts":[]}"#, &map())
                .unwrap()
                .is_empty()
        );
        assert!(parse(br#"{"version":"4"}"#, &map()).unwrap().is_empty());
    }

    #[test]
    fn refusals_name_the_field() {
        let long = "f".repeat(256);
        let cases: Vec<(String, &str, &str)> = vec![
            ("nope".into(), "body", "is not valid JSON"),
            ("[]".into(), "body", "must be a JSON object"),
            (
                r#"{"alerts":[]}"#.into(),
                "version",
                "is required (Alertmanager sends \"4\")",
            ),
            (
                r#"{"version":"3","alerts":[]}"#.into(),
                "version",
                "payload version \"3\" is not supported",
            ),
            (
                r#"{"version":4,"alerts":[]}"#.into(),
                "version",
                "invalid type: integer `4`",
            ),
            (
                r#"{"version":"4","alerts":[{}]}"#.into(),
                "alerts[0].status",
                "is required",
            ),
            (
                r#"{"version":"4","alerts":[{"status":"firing"},{"status":"pending"}]}"#.into(),
                "alerts[1].status",
                "must be firing or resolved (got \"pending\")",
            ),
            (
                r#"{"version":"4","alerts":[{"status":"firing","labels":{"severity":2}}]}"#.into(),
                "alerts[0].labels.severity",
                "invalid type: integer `2`, expected a string",
            ),
            (
                r#"{"version":"4","alerts":[{"status":"firing","startsAt":"soon"}]}"#.into(),
                "alerts[0].startsAt",
                "\"soon\" is not an RFC 3339 timestamp",
            ),
            (
                format!(
                    r#"{{"version":"4","alerts":[{{"status":"firing","fingerprint":"{long}"}}]}}"#
                ),
                "alerts[0].fingerprint",
                "is 256 characters long",
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
        assert_eq!(success_body(2), json!({"status": "success", "events": 2}));
        let e = parse(b"{", &map()).unwrap_err();
        let p = super::super::problem(&e);
        assert_eq!(p.status, 400);
        let e = parse(br#"{"version":"3"}"#, &map()).unwrap_err();
        let p = super::super::problem(&e);
        assert_eq!(p.status, 422);
        assert_eq!(p.errors[0].field, "version");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body, &map());
        }

        #[test]
        fn every_alert_becomes_one_event(
            alerts in proptest::collection::vec(
                (any::<bool>(), proptest::collection::btree_map("[a-z_]{1,10}", "[ -~]{0,12}", 0..6)),
                0..20,
            ),
        ) {
            let wire: Vec<Value> = alerts.iter().map(|(firing, labels)| json!({
                "status": if *firing { "firing" } else { "resolved" },
                "labels": labels,
            })).collect();
            let body = json!({"version": "4", "alerts": wire}).to_string();
            let ev = parse(body.as_bytes(), &map()).unwrap();
            prop_assert_eq!(ev.len(), alerts.len());
            for (e, (firing, labels)) in ev.iter().zip(alerts.iter()) {
                let want = if *firing { EventAction::Trigger } else { EventAction::Resolve };
                prop_assert_eq!(e.action, want);
                prop_assert_eq!(&e.labels, labels);
                prop_assert!(!e.dedup_key.is_empty());
            }
        }
    }
}
