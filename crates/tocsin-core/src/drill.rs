//! Fire drills: a test incident sent through the real path — ingestion,
//! the incident, escalation, the notification intents — so a team learns
//! whether paging works before an outage tells them. A drill is marked in
//! every place a person sees it: the incident title and summary start with
//! `[DRILL]`, and the alert carries the label `drill=true`.
//!
//! It is sent as a critical alert, so it pages like a real Sev1. It is not
//! grouped with a real open incident: its group key is its own.

use crate::clock::Clock;
use crate::ingest::{IngestError, Ingestor};
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;
use tocsin_domain::access::{Action, Principal};
use tocsin_domain::catalog::{Kind, Object};
use tocsin_domain::ingest::{Event, EventAction};
use tocsin_domain::{Name, Severity};
use tocsin_store::{IngestItem, Store, StoreError, TimelineRecord};

/// The integration name drill events are recorded under.
pub const VIA: &str = "drill";

#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Denied(String),
    #[error("the drill could not be sent: {0}")]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A drill that started.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DrillStarted {
    /// The drill incident's number.
    pub incident: Option<i64>,
    /// Send it back to end the drill.
    pub dedup_key: String,
    pub started_at: String,
}

/// One step of the drill's report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DrillStep {
    /// `paged` (escalation reached someone), `nobody` (a level reached
    /// nobody), `delivered` (a notification arrived: `via` is the contact
    /// method), `failed` (a delivery attempt failed), `acknowledged`.
    pub what: String,
    /// Seconds after the drill started.
    pub after_seconds: i64,
    /// 1-based escalation level.
    pub level: i64,
    /// Who was paged (empty for a level that reached nobody).
    pub user: Option<String>,
    /// The target that reached them (`schedule:primary`).
    pub via: Option<String>,
}

async fn service_team(store: &dyn Store, service: &Name) -> Result<Name, DrillError> {
    match store.get_object(Kind::Service, service).await? {
        Some(c) => match Object::from_spec(Kind::Service, c.spec) {
            Ok(Object::Service(s)) => Ok(s.team),
            _ => Err(DrillError::NotFound(format!(
                "service {service} does not read"
            ))),
        },
        None => Err(DrillError::NotFound(format!(
            "no service named {:?}",
            service.as_str()
        ))),
    }
}

fn drill_event(action: EventAction, service: &Name, key: &str, who: &str) -> Event {
    let summary = format!(
        "[DRILL] Fire drill for {service}, started by {who}: no action needed beyond acknowledging"
    );
    let labels: BTreeMap<String, String> = [("drill".to_owned(), "true".to_owned())]
        .into_iter()
        .collect();
    Event {
        action,
        dedup_key: key.to_owned(),
        summary,
        source: Some(VIA.to_owned()),
        severity: Severity::Sev1,
        sender_severity: None,
        occurred_at: None,
        component: None,
        group: Some(key.to_owned()),
        class: Some("drill".to_owned()),
        labels,
        details: serde_json::Value::Null,
        links: vec![],
        images: vec![],
        note: None,
    }
}

/// Starts a drill for `service`: a responder of its team may.
pub async fn start(
    store: &dyn Store,
    ingestor: &Ingestor,
    clock: &dyn Clock,
    who: &Principal,
    service: &Name,
) -> Result<DrillStarted, DrillError> {
    let team = service_team(store, service).await?;
    who.authorize(&Action::Respond { team: &team })
        .map_err(|d| DrillError::Denied(d.to_string()))?;
    let now = clock.now();
    let key = format!("drill-{}", uuid::Uuid::new_v4().simple());
    let item = IngestItem {
        integration: via(),
        service: service.clone(),
        event: drill_event(EventAction::Trigger, service, &key, &who.label),
        received_at: now,
        request_id: None,
    };
    let r = ingestor.submit(item).await?;
    Ok(DrillStarted {
        incident: r.incident,
        dedup_key: key,
        started_at: now.to_string(),
    })
}

/// Ends a drill: resolves its alert (and so its incident).
pub async fn end(
    store: &dyn Store,
    ingestor: &Ingestor,
    clock: &dyn Clock,
    who: &Principal,
    service: &Name,
    dedup_key: &str,
) -> Result<(), DrillError> {
    let team = service_team(store, service).await?;
    who.authorize(&Action::Respond { team: &team })
        .map_err(|d| DrillError::Denied(d.to_string()))?;
    if !dedup_key.starts_with("drill-") {
        return Err(DrillError::NotFound(format!(
            "{dedup_key:?} is not a drill"
        )));
    }
    let item = IngestItem {
        integration: via(),
        service: service.clone(),
        event: drill_event(EventAction::Resolve, service, dedup_key, &who.label),
        received_at: clock.now(),
        request_id: None,
    };
    ingestor.submit(item).await?;
    Ok(())
}

/// Who was reached at which level, whose notifications arrived, and who
/// acknowledged — each with how long after `started` it happened.
pub fn report(timeline: &[TimelineRecord], started: Timestamp) -> Vec<DrillStep> {
    timeline
        .iter()
        .filter_map(|t| {
            let after = t.at.duration_since(started).as_secs();
            let level = t
                .detail
                .get("level")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(0);
            let text = |k: &str| t.detail.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            let step = |what: &str, user: Option<String>, via: Option<String>| DrillStep {
                what: what.to_owned(),
                after_seconds: after,
                level,
                user,
                via,
            };
            let n = &t.detail["notification"];
            let contact = || {
                Some(format!(
                    "{} ({})",
                    n["contact"].as_str().unwrap_or(""),
                    n["channel"].as_str().unwrap_or("")
                ))
            };
            let person = || n["user"].as_str().map(str::to_owned);
            match t.kind.as_str() {
                "escalation.page" => Some(step("paged", text("user"), text("via"))),
                "escalation.nobody" => Some(step("nobody", None, None)),
                "notification.delivered" => Some(step("delivered", person(), contact())),
                "notification.failed" | "notification.dead" => {
                    Some(step("failed", person(), contact()))
                }
                "incident.acknowledged" => Some(step("acknowledged", text("by"), None)),
                _ => None,
            }
        })
        .collect()
}

fn via() -> Name {
    Name::from_static(VIA)
}
