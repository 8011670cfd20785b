//! Grafana alerting's webhook contact point.
//!
//! Follows Grafana's "Configure the webhook notifier for Alerting" page:
//! the Alertmanager webhook shape (`receiver, status, alerts, groupLabels,
//! commonLabels, commonAnnotations, externalURL, version, groupKey,
//! truncatedAlerts`) plus `orgId`, `title`, `state`, `message` at the top
//! and, per alert, `values` (or `valueString` on older versions),
//! `silenceURL`, `dashboardURL`, `panelURL` and `imageURL`. Grafana sends
//! its own `version` ("1"), which we do not check.
//!
//! Mapping: as Alertmanager's (one event per alert, firing → trigger,
//! resolved → resolve, fingerprint as the dedup key); in addition the
//! dashboard, panel and silence URLs become links, `imageURL` an image, and
//! `values` / `valueString` go into the details. The top-level `title` and
//! `message` are renderings of the whole group and are not kept per alert.
//!
//! Grafana defines no response body; any 2xx is success.

use super::webhook::{self, Payload, Sender};
use super::{FormatError, decode};
use serde_json::Value;
use tocsin_domain::ingest::{Event, SeverityMap};

/// Parses a Grafana webhook notification into one event per alert.
pub fn parse(body: &[u8], map: &SeverityMap) -> Result<Vec<Event>, FormatError> {
    let p: Payload = decode(body)?;
    webhook::events(p, map, Sender::Grafana)
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

    /// Grafana's documented example, with an image and a resolved alert.
    const DOCS: &str = r#"{
      "receiver": "My Super Webhook",
      "status": "firing",
      "orgId": 1,
      "alerts": [
        {
          "status": "firing",
          "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1", "severity": "high"},
          "annotations": {
            "description": "The system has high memory usage",
            "runbook_url": "https://myrunbook.com/runbook/1234",
            "summary": "This alert was triggered for zone us-1"
          },
          "startsAt": "2021-10-12T09:51:03.157076+02:00",
          "endsAt": "0001-01-01T00:00:00Z",
          "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
          "fingerprint": "c6eadffa33fcdf37",
          "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
          "dashboardURL": "https://play.grafana.org/d/abc",
          "panelURL": "https://play.grafana.org/d/abc?viewPanel=2",
          "imageURL": "https://play.grafana.org/render/abc.png",
          "values": {"B": 44.23943737541908, "C": 1}
        },
        {
          "status": "resolved",
          "labels": {"alertname": "High CPU usage", "team": "blue", "zone": "eu-1"},
          "annotations": {"summary": "CPU back to normal"},
          "startsAt": "2021-10-12T09:56:03.157076+02:00",
          "endsAt": "2021-10-12T10:06:03.157076+02:00",
          "generatorURL": "https://play.grafana.org/alerting/d1rdpdv7k/edit",
          "fingerprint": "bc97ff14869b13e3",
          "silenceURL": "https://play.grafana.org/alerting/silence/new",
          "dashboardURL": "",
          "panelURL": "",
          "valueString": "[ var='B' labels={} value=14151.33 ]"
        }
      ],
      "groupLabels": {},
      "commonLabels": {"team": "blue"},
      "commonAnnotations": {},
      "externalURL": "https://play.grafana.org/",
      "version": "1",
      "groupKey": "{}:{}",
      "truncatedAlerts": 0,
      "title": "[FIRING:2]  (blue)",
      "state": "alerting",
      "message": "**Firing**\n\nLabels:\n - alertname = High memory usage\n"
    }"#;

    fn map() -> SeverityMap {
        SeverityMap::default()
    }

    #[test]
    fn documented_payload() {
        let ev = parse(DOCS.as_bytes(), &map()).unwrap();
        assert_eq!(ev.len(), 2);
        let f = &ev[0];
        assert_eq!(f.action, EventAction::Trigger);
        assert_eq!(f.dedup_key, "c6eadffa33fcdf37");
        assert_eq!(f.summary, "This alert was triggered for zone us-1");
        assert_eq!(f.severity, Sev2);
        assert_eq!(f.group.as_deref(), Some("{}:{}"));
        let texts: Vec<_> = f
            .links
            .iter()
            .map(|l| l.text.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(
            texts,
            [
                "Alert rule",
                "Runbook",
                "Dashboard",
                "Panel",
                "Silence",
                "Grafana"
            ]
        );
        assert_eq!(f.images.len(), 1);
        assert_eq!(f.images[0].href, "https://play.grafana.org/render/abc.png");
        assert_eq!(f.details["values"]["C"], 1);
        assert!(f.occurred_at.is_some());

        let r = &ev[1];
        assert_eq!(r.action, EventAction::Resolve);
        assert_eq!(r.dedup_key, "bc97ff14869b13e3");
        assert_eq!(r.severity, Sev3);
        assert!(r.images.is_empty());
        let texts: Vec<_> = r
            .links
            .iter()
            .map(|l| l.text.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(
            texts,
            ["Alert rule", "Silence", "Grafana"],
            "empty URLs are no links"
        );
        assert_eq!(
            r.details["valueString"],
            "[ var='B' labels={} value=14151.33 ]"
        );
        assert_eq!(
            r.occurred_at.map(|t| t.to_string()).as_deref(),
            Some("2021-10-12T08:06:03.157076Z")
        );
    }

    #[test]
    fn refusals_name_the_field() {
        let cases: &[(&str, &str, &str)] = &[
            ("", "body", "is not valid JSON"),
            (
                r#"{"alerts":{}}"#,
                "alerts",
                "invalid type: map, expected a sequence",
            ),
            (
                r#"{"alerts":[{"status":"alerting"}]}"#,
                "alerts[0].status",
                "must be firing or resolved",
            ),
            (
                r#"{"alerts":[{"status":"firing","silenceURL":7}]}"#,
                "alerts[0].silenceURL",
                "invalid type",
            ),
            (
                r#"{"alerts":[{"status":"firing","endsAt":"x"}]}"#,
                "alerts[0].endsAt",
                "\"x\" is not",
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
        assert_eq!(success_body(0), json!({"status": "success", "events": 0}));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body, &map());
        }
    }
}
