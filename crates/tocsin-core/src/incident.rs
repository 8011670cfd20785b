//! Acting on an incident by hand: acknowledge, resolve, reopen, reassign.
//!
//! Each is one compare-and-set on the incident's status and escalation run
//! as the responder saw them, written with its timeline entry (and the
//! pages, intents and jobs it causes) in one transaction; a change that lost
//! a race is refused, never applied on top of a state the person did not
//! see. Only a responder of the service's team may act.
//!
//! Escalation follows: acknowledging or resolving ends the run at its next
//! step; reopening starts a new run at level 1 at once; reassigning pages
//! the new target now and starts a new run whose level 1 comes after the
//! policy's first delay if nobody acknowledges.

use crate::escalation::{
    EscalateError, policy_of, reach_now, responder_context, step_job, target_label,
};
use crate::response::Actor;
use jiff::Timestamp;
use serde_json::json;
use tocsin_domain::alerting::IncidentStatus;
use tocsin_domain::catalog::Target;
use tocsin_domain::escalation::{self, Step};
use tocsin_store::ingest::{JOB_INCIDENT_PAGE, JOB_INCIDENT_RESOLVED, incident_job_key};
use tocsin_store::{IncidentChange, IncidentRecord, NewJob, NewTimelineEntry, Store};

fn entry(
    incident: i64,
    kind: &str,
    by: Actor<'_>,
    mut detail: serde_json::Value,
    key: String,
    now: Timestamp,
) -> NewTimelineEntry {
    if let Some(map) = detail.as_object_mut() {
        map.insert("via".into(), json!(by.via.as_str()));
    }
    NewTimelineEntry {
        incident,
        at: now,
        kind: kind.to_owned(),
        actor: by.who.label.clone(),
        detail,
        key,
    }
}

fn conflict(incident: i64, what: &str) -> EscalateError {
    EscalateError::Conflict(format!("incident #{incident} {what}"))
}

async fn apply(
    store: &dyn Store,
    change: IncidentChange,
    entries: &[NewTimelineEntry],
    intents: &[tocsin_store::NewIntent],
    jobs: &[NewJob],
    now: Timestamp,
) -> Result<IncidentRecord, EscalateError> {
    let incident = change.incident;
    if !store
        .change_incident(&change, entries, intents, jobs, now)
        .await?
    {
        return Err(conflict(
            incident,
            "changed while you were acting on it; reload it and try again",
        ));
    }
    store
        .get_incident(incident)
        .await?
        .ok_or_else(|| EscalateError::NotFound(format!("no incident #{incident}")))
}

/// Acknowledges a triggered incident: escalation stops at its next step.
pub async fn acknowledge(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    now: Timestamp,
) -> Result<IncidentRecord, EscalateError> {
    let (inc, _, _) = responder_context(store, by.who, incident).await?;
    match inc.status {
        IncidentStatus::Triggered => {}
        IncidentStatus::Acknowledged => return Err(conflict(incident, "is already acknowledged")),
        IncidentStatus::Resolved => return Err(conflict(incident, "is resolved")),
    }
    let run = inc.escalation_run;
    let change = IncidentChange {
        incident,
        from: inc.status,
        from_run: run,
        to: IncidentStatus::Acknowledged,
        run,
        acknowledged_at: Some(now),
        resolved_at: None,
        resolve_alerts: false,
    };
    let e = entry(
        incident,
        "incident.acknowledged",
        by,
        json!({ "by": by.who.label }),
        format!("incident:{incident}:r{run}:acknowledged"),
        now,
    );
    apply(store, change, &[e], &[], &[], now).await
}

/// Resolves an incident and its open alerts; if it paged, the resolution
/// is notified (`incident.resolved`).
pub async fn resolve(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    note: Option<&str>,
    now: Timestamp,
) -> Result<IncidentRecord, EscalateError> {
    let (inc, _, _) = responder_context(store, by.who, incident).await?;
    if inc.status == IncidentStatus::Resolved {
        return Err(conflict(incident, "is already resolved"));
    }
    let run = inc.escalation_run;
    let change = IncidentChange {
        incident,
        from: inc.status,
        from_run: run,
        to: IncidentStatus::Resolved,
        run,
        acknowledged_at: inc.acknowledged_at,
        resolved_at: Some(now),
        resolve_alerts: true,
    };
    let e = entry(
        incident,
        "incident.resolved",
        by,
        json!({ "by": by.who.label, "note": note, "open_alerts": inc.open_alerts }),
        format!("incident:{incident}:r{run}:resolved"),
        now,
    );
    let jobs: Vec<NewJob> = inc
        .paged
        .then(|| NewJob {
            kind: JOB_INCIDENT_RESOLVED.to_owned(),
            key: incident_job_key(JOB_INCIDENT_RESOLVED, incident, run),
            payload: json!({ "incident": incident, "run": run }),
            due_at: now,
        })
        .into_iter()
        .collect();
    apply(store, change, &[e], &[], &jobs, now).await
}

/// Reopens a resolved incident: it is triggered again and escalation
/// starts over at level 1, now, as a new run.
pub async fn reopen(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    reason: Option<&str>,
    now: Timestamp,
) -> Result<IncidentRecord, EscalateError> {
    let (inc, _, _) = responder_context(store, by.who, incident).await?;
    if inc.status != IncidentStatus::Resolved {
        return Err(conflict(
            incident,
            &format!(
                "is {}, not resolved; only a resolved incident reopens",
                inc.status.as_str()
            ),
        ));
    }
    let run = inc.escalation_run + 1;
    let change = IncidentChange {
        incident,
        from: inc.status,
        from_run: inc.escalation_run,
        to: IncidentStatus::Triggered,
        run,
        acknowledged_at: None,
        resolved_at: None,
        resolve_alerts: false,
    };
    let e = entry(
        incident,
        "incident.reopened",
        by,
        json!({ "by": by.who.label, "reason": reason, "run": run }),
        format!("incident:{incident}:r{run}:reopened"),
        now,
    );
    let page = NewJob {
        kind: JOB_INCIDENT_PAGE.to_owned(),
        key: incident_job_key(JOB_INCIDENT_PAGE, incident, run),
        payload: json!({ "incident": incident, "run": run }),
        due_at: now,
    };
    apply(store, change, &[e], &[], &[page], now).await
}

/// Hands an open incident to `target` (a person, a team, whoever is on
/// call in a schedule): they are paged now and must acknowledge; the
/// service's policy starts over at level 1 after its first delay if nobody
/// does. The run that was going stops.
pub async fn reassign(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    target: &Target,
    reason: Option<&str>,
    now: Timestamp,
) -> Result<IncidentRecord, EscalateError> {
    let (inc, service, objects) = responder_context(store, by.who, incident).await?;
    if inc.status == IncidentStatus::Resolved {
        return Err(conflict(incident, "is resolved; reopen it first"));
    }
    let run = inc.escalation_run + 1;
    let prefix = format!("reassign:{incident}:r{run}");
    let reached = reach_now(
        &objects,
        incident,
        target,
        "responder.page",
        &by.who.label,
        reason,
        &prefix,
        now,
    )?;
    let change = IncidentChange {
        incident,
        from: inc.status,
        from_run: inc.escalation_run,
        to: IncidentStatus::Triggered,
        run,
        acknowledged_at: None,
        resolved_at: None,
        resolve_alerts: false,
    };
    let mut entries = vec![entry(
        incident,
        "incident.reassigned",
        by,
        json!({
            "by": by.who.label,
            "to": target_label(target),
            "reached": reached.users.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
            "reason": reason,
            "run": run,
        }),
        format!("{prefix}:reassigned"),
        now,
    )];
    entries.extend(reached.entries);
    let jobs: Vec<NewJob> = policy_of(&objects, &service)
        .and_then(|p| {
            escalation::plan(&p, Step::FIRST)
                .and_then(|s| s.next)
                .map(|(_, d)| d)
        })
        .map(|delay| step_job(incident, run, Step::FIRST, now + delay))
        .into_iter()
        .collect();
    apply(store, change, &entries, &reached.intents, &jobs, now).await
}
