//! The webhook body that Prometheus Alertmanager (`webhook_configs`,
//! payload version 4) and Grafana alerting (webhook contact point, the same
//! shape plus a few fields) both send, and its mapping to events: one event
//! per alert in the group, firing → trigger, resolved → resolve.
//!
//! Shapes followed: Alertmanager's configuration docs (`<webhook_config>`,
//! "the Alertmanager will send HTTP POST requests in the following JSON
//! format") and Grafana's "Configure the webhook notifier for Alerting"
//! page. Only the wire structs and the mapping live here; the two public
//! modules decide which fields and versions they accept.

use super::{FormatError, check_dedup_key, content_key, link, non_blank, parse_time};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use tocsin_domain::ingest::{Event, EventAction, Link, SeverityMap};

/// The group notification.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Payload {
    pub version: Option<String>,
    pub group_key: Option<String>,
    #[serde(rename = "externalURL")]
    pub external_url: Option<String>,
    pub alerts: Option<Vec<Alert>>,
}

/// One alert of the group.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Alert {
    status: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    #[serde(rename = "generatorURL")]
    generator_url: Option<String>,
    fingerprint: Option<String>,
    // Grafana only.
    values: Option<Value>,
    value_string: Option<String>,
    #[serde(rename = "silenceURL")]
    silence_url: Option<String>,
    #[serde(rename = "dashboardURL")]
    dashboard_url: Option<String>,
    #[serde(rename = "panelURL")]
    panel_url: Option<String>,
    #[serde(rename = "imageURL")]
    image_url: Option<String>,
}

/// Which sender, for link texts and the Grafana-only fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sender {
    Alertmanager,
    Grafana,
}

/// Alertmanager and Grafana write Go's zero time for "not ended yet".
const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// Maps every alert of the group to an event, in order.
pub(super) fn events(
    p: Payload,
    map: &SeverityMap,
    sender: Sender,
) -> Result<Vec<Event>, FormatError> {
    let group = non_blank(p.group_key);
    let external = non_blank(p.external_url);
    p.alerts
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, a)| event(i, a, group.as_deref(), external.as_deref(), map, sender))
        .collect()
}

fn event(
    i: usize,
    a: Alert,
    group: Option<&str>,
    external: Option<&str>,
    map: &SeverityMap,
    sender: Sender,
) -> Result<Event, FormatError> {
    let at = |name: &str| format!("alerts[{i}].{name}");

    let action = match a.status.as_deref() {
        Some("firing") => EventAction::Trigger,
        Some("resolved") => EventAction::Resolve,
        Some(other) => {
            return Err(FormatError::new(
                at("status"),
                format!("must be firing or resolved (got {other:?})"),
            ));
        }
        None => {
            return Err(FormatError::new(
                at("status"),
                "is required (firing or resolved)",
            ));
        }
    };
    let labels = a.labels.unwrap_or_default();
    let annotations = a.annotations.unwrap_or_default();

    let dedup_key = match non_blank(a.fingerprint) {
        Some(f) => {
            check_dedup_key(&at("fingerprint"), &f)?;
            f
        }
        None => labels_key(&labels),
    };

    let starts_at = time(&at("startsAt"), a.starts_at.as_deref())?;
    let ends_at = time(&at("endsAt"), a.ends_at.as_deref())?;
    let occurred_at = match action {
        EventAction::Resolve => ends_at.or(starts_at),
        _ => starts_at,
    };

    let mut links = Vec::new();
    let (rule_text, home_text) = match sender {
        Sender::Alertmanager => ("Source", "Alertmanager"),
        Sender::Grafana => ("Alert rule", "Grafana"),
    };
    links.extend(link(a.generator_url.as_deref(), rule_text));
    links.extend(link(
        annotations.get("runbook_url").map(String::as_str),
        "Runbook",
    ));
    links.extend(link(a.dashboard_url.as_deref(), "Dashboard"));
    links.extend(link(a.panel_url.as_deref(), "Panel"));
    links.extend(link(a.silence_url.as_deref(), "Silence"));
    links.extend(link(external, home_text));
    let images: Vec<Link> = link(a.image_url.as_deref(), "Image").into_iter().collect();

    let mut details = Map::new();
    if !annotations.is_empty() {
        let ann = annotations
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        details.insert("annotations".into(), Value::Object(ann));
    }
    if let Some(s) = non_blank(a.starts_at).filter(|_| starts_at.is_some()) {
        details.insert("startsAt".into(), Value::String(s));
    }
    if let Some(s) = non_blank(a.ends_at).filter(|_| ends_at.is_some()) {
        details.insert("endsAt".into(), Value::String(s));
    }
    if let Some(v) = a.values.filter(|v| !v.is_null()) {
        details.insert("values".into(), v);
    }
    if let Some(v) = non_blank(a.value_string) {
        details.insert("valueString".into(), Value::String(v));
    }

    Ok(Event {
        action,
        dedup_key,
        summary: Event::truncate_summary(&summary(&labels, &annotations)),
        source: non_blank(
            labels
                .get("instance")
                .or_else(|| labels.get("job"))
                .cloned(),
        ),
        severity: map.label(labels.get("severity").map(String::as_str)),
        sender_severity: labels.get("severity").cloned(),
        occurred_at,
        component: None,
        group: group.map(str::to_owned),
        class: non_blank(labels.get("alertname").cloned()),
        labels,
        details: if details.is_empty() {
            Value::Null
        } else {
            Value::Object(details)
        },
        links,
        images,
        note: None,
    })
}

/// A timestamp, or `None` when absent or Go's zero time.
fn time(field: &str, s: Option<&str>) -> Result<Option<Timestamp>, FormatError> {
    let Some(s) = s.filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    let t = parse_time(field, s)?;
    Ok((t.as_second() > GO_ZERO_TIME_SECONDS).then_some(t))
}

/// annotations.summary, else annotations.description, else the alert name
/// and its other labels ("HighLatency instance=a job=api").
fn summary(labels: &BTreeMap<String, String>, annotations: &BTreeMap<String, String>) -> String {
    for key in ["summary", "description"] {
        if let Some(s) = annotations.get(key).filter(|s| !s.trim().is_empty()) {
            return s.clone();
        }
    }
    let mut out = labels
        .get("alertname")
        .cloned()
        .unwrap_or_else(|| "alert".to_owned());
    for (k, v) in labels.iter().filter(|(k, _)| *k != "alertname") {
        out.push_str(&format!(" {k}={v}"));
    }
    out
}

/// A stable key for an alert that came without a fingerprint: the hash of
/// its labels (a sorted map, so the same labels give the same key).
fn labels_key(labels: &BTreeMap<String, String>) -> String {
    let mut canonical = String::new();
    for (k, v) in labels {
        // Lengths first, so that no two label sets share an encoding.
        canonical.push_str(&format!("{}:{k}{}:{v}", k.len(), v.len()));
    }
    content_key("labels:", canonical.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_key_is_stable_and_distinct() {
        let a: BTreeMap<String, String> =
            [("a".into(), "1".into()), ("b".into(), "2".into())].into();
        let b: BTreeMap<String, String> =
            [("b".into(), "2".into()), ("a".into(), "1".into())].into();
        let c: BTreeMap<String, String> = [("a".into(), "1b".into())].into();
        assert_eq!(labels_key(&a), labels_key(&b));
        assert_ne!(labels_key(&a), labels_key(&c));
        assert!(labels_key(&a).starts_with("labels:"));
        assert!(labels_key(&a).len() <= 255);
    }

    #[test]
    fn summary_fallbacks() {
        let labels: BTreeMap<String, String> = [
            ("alertname".into(), "HighLatency".into()),
            ("job".into(), "api".into()),
            ("instance".into(), "a:9090".into()),
        ]
        .into();
        let mut ann = BTreeMap::new();
        assert_eq!(
            summary(&labels, &ann),
            "HighLatency instance=a:9090 job=api"
        );
        ann.insert("description".into(), "long text".into());
        assert_eq!(summary(&labels, &ann), "long text");
        ann.insert("summary".into(), "short".into());
        assert_eq!(summary(&labels, &ann), "short");
        assert_eq!(summary(&BTreeMap::new(), &BTreeMap::new()), "alert");
    }
}
