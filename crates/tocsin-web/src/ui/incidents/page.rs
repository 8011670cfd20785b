//! `GET /incidents/{n}`: one incident and everything about it — its
//! state, severity, services and summary, who holds each role, the
//! stakeholders and their updates on a cadence, the one timeline, alerts,
//! paging and the service's recent changes — with a form for each thing a
//! responder can do. A reader who may not act sees the same page without
//! the forms, and why.
//!
//! A form whose value the core refused comes back here ([`render`] with a
//! [`Problem`]): the page again, status 422, the message next to the
//! field and what was typed kept.

use super::timeline::{EVENT_LIMIT, TimelineItem, merged};
use super::{SevChoice, definition, number, severity_choices};
use crate::server::AppState;
use crate::ui::common::when;
use crate::ui::{Nav, SignedIn, UiError};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::SignedDuration;
use serde::Deserialize;
use tocsin_core::response::{self, ResponseError};
use tocsin_domain::alerting::IncidentStatus;
use tocsin_domain::catalog::Kind;
use tocsin_domain::response::{Lifecycle, Role, UpdateState};
use tocsin_store::ResponseRecord;

/// `?done=` after a form: a fixed code, never free text.
#[derive(Debug, Default, Deserialize)]
pub struct View {
    #[serde(default)]
    done: String,
    /// `1`: the timeline shows key moments only.
    #[serde(default)]
    moments: String,
}

/// What went wrong with a form, to show next to it.
#[derive(Debug, Clone, Default)]
pub struct Problem {
    /// Which form (`note`, `roles-commander`, `describe`…).
    pub form: String,
    /// The field the core named; empty when the refusal is about the
    /// incident's state rather than a value.
    pub field: String,
    pub message: String,
    /// What was typed, to fill the form again.
    pub kept: Vec<(&'static str, String)>,
}

/// The confirmation after a form.
fn done_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "declared" => "Incident declared.",
        "acknowledged" => "Acknowledged: escalation stops.",
        "resolved" => "Resolved.",
        "reopened" => "Reopened: escalation starts again at level 1.",
        "closed" => "Closed.",
        "escalated" => "Escalated: the next level is paged now.",
        "paged" => "Paged: they are added as responders.",
        "reassigned" => "Reassigned: the new responder must acknowledge.",
        "severity" => "Severity changed.",
        "described" => "Title and summary saved.",
        "unchanged" => "Nothing changed: the title and summary already said that.",
        "service" => "Service added.",
        "role" => "Role given.",
        "unassigned" => "Role taken back.",
        "note" => "Note added to the timeline.",
        "pinned" => "Marked as a key moment.",
        "unpinned" => "No longer a key moment.",
        "cadence" => "Update cadence saved.",
        "stakeholder" => "Stakeholder added.",
        "stakeholder-removed" => "Stakeholder removed.",
        "update" => "Update posted and sent to the stakeholders.",
        "merged" => "Merged into this incident.",
        _ => return None,
    })
}

#[derive(Debug)]
struct Head {
    number: i64,
    title: String,
    service: String,
    severity_label: &'static str,
    severity_definition: &'static str,
    /// Stored status: `triggered`, `acknowledged`, `resolved`.
    status: &'static str,
    /// What people call it: the status, or `closed`.
    lifecycle: &'static str,
    opened: String,
    paged: bool,
    acknowledged: Option<String>,
    resolved: Option<String>,
    closed: Option<String>,
    merged_into: Option<i64>,
    summary: String,
    open_alerts: i64,
}

#[derive(Debug)]
struct Holder {
    user: String,
    since: String,
    by: String,
}

#[derive(Debug)]
struct RoleBlock {
    /// `commander`, what the form sends.
    role: &'static str,
    /// The form's name for a [`Problem`]: `role-commander`.
    form: String,
    /// `incident commander`.
    label: &'static str,
    single: bool,
    holders: Vec<Holder>,
    /// Users who may be given the role (those not holding it).
    candidates: Vec<String>,
}

#[derive(Debug)]
struct UpdateRow {
    at: String,
    author: String,
    state: &'static str,
    audience: &'static str,
    body: String,
}

/// An option of a select.
#[derive(Debug)]
struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Debug)]
struct AlertRow {
    dedup_key: String,
    summary: String,
    severity: String,
    status: &'static str,
    count: i64,
    first_seen: String,
    last_seen: String,
}

#[derive(Debug)]
struct ChangeRow {
    at: String,
    text: String,
    source: String,
}

#[derive(Debug)]
struct IntentRow {
    user: String,
    contact: String,
    kind: String,
    purpose: &'static str,
    due: String,
    state: &'static str,
    attempts: i64,
    error: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "incident.html")]
pub struct IncidentPage {
    nav: Nav,
    i: Head,
    /// The reader may act; else `denied` says why not.
    can_act: bool,
    denied: String,
    severities: Vec<SevChoice>,
    also_services: Vec<String>,
    /// Services that could be added.
    addable_services: Vec<String>,
    roles: Vec<RoleBlock>,
    page_users: Vec<String>,
    page_teams: Vec<String>,
    page_schedules: Vec<String>,
    stakeholders: Vec<String>,
    every_minutes: String,
    next_due: Option<String>,
    overdue: bool,
    updates: Vec<UpdateRow>,
    update_states: Vec<Choice>,
    /// The refused update was for the public.
    public_kept: bool,
    timeline: Vec<TimelineItem>,
    /// The highest timeline entry id on the page (0: none), where the live
    /// view goes on from.
    last_entry: i64,
    /// The highest ingested event id on the page (0: none), the live
    /// view's other cursor.
    last_event: i64,
    moments: bool,
    alerts: Vec<AlertRow>,
    changes: Vec<ChangeRow>,
    intents: Vec<IntentRow>,
    /// Why closing would be refused now (a required review not done).
    close_blocked: Option<String>,
    problem: Option<Problem>,
    /// The answer of a command run from the command box.
    command_answer: Option<String>,
    /// The confirmation token, when that answer asks to be confirmed
    /// (`run`): the page offers a Confirm button carrying it.
    command_confirm: Option<String>,
}

impl IncidentPage {
    /// The message for `form`, if it was refused.
    fn err(&self, form: &str) -> Option<&str> {
        self.problem
            .as_ref()
            .filter(|p| p.form == form)
            .map(|p| p.message.as_str())
    }

    /// Whether `field` of `form` is the one refused.
    fn bad(&self, form: &str, field: &str) -> bool {
        self.problem
            .as_ref()
            .is_some_and(|p| p.form == form && p.field == field)
    }

    /// What was typed into `field` of `form` when it was refused, else
    /// `current`.
    fn kept<'a>(&'a self, form: &str, field: &str, current: &'a str) -> &'a str {
        self.problem
            .as_ref()
            .filter(|p| p.form == form)
            .and_then(|p| p.kept.iter().find(|(k, _)| *k == field))
            .map_or(current, |(_, v)| v.as_str())
    }
}

pub async fn show(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Query(view): Query<View>,
) -> Result<Response, UiError> {
    let nav = me.nav("incidents");
    let n = number(&raw, &nav)?;
    let nav = match done_text(&view.done) {
        Some(text) => nav.with_flash("ok", text),
        None => nav,
    };
    let page = build(&state, &me, nav, n, view.moments == "1", None, None).await?;
    Ok(page.into_response())
}

/// The page again after a refused form: 422, the message at the form.
pub async fn render(
    state: &AppState,
    me: &SignedIn,
    n: i64,
    problem: Problem,
) -> Result<Response, UiError> {
    let nav = me.nav("incidents").with_flash(
        "error",
        format!("Not done: {} (see the form below).", problem.message),
    );
    let page = build(state, me, nav, n, false, Some(problem), None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// The page again after a command from the command box that did what was
/// asked: its answer shown at the box, its first line as the confirmation.
pub async fn answered(
    state: &AppState,
    me: &SignedIn,
    n: i64,
    answer: String,
    confirm: Option<String>,
) -> Result<Response, UiError> {
    let summary = answer.lines().next().unwrap_or_default().to_owned();
    let nav = me.nav("incidents").with_flash("ok", summary);
    let page = build(state, me, nav, n, false, None, Some((answer, confirm))).await?;
    Ok(page.into_response())
}

fn names(objects: &[tocsin_domain::plan::Current], kind: Kind) -> Vec<String> {
    let mut v: Vec<String> = objects
        .iter()
        .filter(|o| o.kind == kind)
        .map(|o| o.name.to_string())
        .collect();
    v.sort();
    v
}

async fn build(
    state: &AppState,
    me: &SignedIn,
    nav: Nav,
    n: i64,
    moments: bool,
    problem: Option<Problem>,
    command: Option<(String, Option<String>)>,
) -> Result<IncidentPage, UiError> {
    let (command_answer, command_confirm) = match command {
        Some((text, confirm)) => (Some(text), confirm),
        None => (None, None),
    };
    let store = state.store.as_ref();
    let missing = || UiError::not_found(&nav, format!("there is no incident #{n}"));
    // The core's own check decides whether the forms are offered: the page
    // never offers what the POST would refuse for want of a right.
    let (incident, record, objects, can_act, denied) =
        match response::context(store, &me.principal, n).await {
            Ok(c) => (c.incident, c.response, c.objects, true, String::new()),
            Err(ResponseError::Denied(why)) => {
                let incident = store.get_incident(n).await?.ok_or_else(missing)?;
                let record = store.response(n).await?;
                (incident, record, Vec::new(), false, why)
            }
            Err(ResponseError::NotFound(_)) => return Err(missing()),
            Err(ResponseError::Store(e)) => return Err(e.into()),
            Err(other) => return Err(UiError::unprocessable(&nav, other.to_string())),
        };
    let lifecycle = Lifecycle::of(incident.status, incident.closed_at);
    let now = state.clock.now();
    let alerts = store.incident_alerts(n).await?;
    let events = store.incident_events(n, EVENT_LIMIT).await?;
    let entries = store.incident_timeline(n).await?;
    let since = incident
        .created_at
        .checked_sub(SignedDuration::from_hours(24))
        .unwrap_or(incident.created_at);
    let changes = store.recent_changes(&incident.service, since, 20).await?;
    let intents = store.incident_notifications(n, None).await?;
    let close_blocked = if lifecycle == Lifecycle::Resolved
        && state.review_required.contains(&incident.severity)
        && !store.review(n).await?.is_some_and(|r| r.done)
    {
        Some(format!(
            "{} incidents close once their review is marked done.",
            incident.severity.label()
        ))
    } else {
        None
    };

    let kept_update = |field: &str| -> String {
        problem
            .as_ref()
            .filter(|p| p.form == "update")
            .and_then(|p| p.kept.iter().find(|(k, _)| *k == field))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let last_entry = entries.iter().map(|e| e.id).max().unwrap_or(0);
    let last_event = events.iter().map(|e| e.id).max().unwrap_or(0);
    let mut timeline = merged(&events, &entries, &record.pinned);
    if moments {
        timeline.retain(|t| t.pinned || t.milestone);
    }
    let users = names(&objects, Kind::User);
    let services = names(&objects, Kind::Service);
    let ResponseRecord {
        also_services,
        roles: held,
        stakeholders,
        every_minutes,
        next_update_due,
        updates,
        pinned: _,
    } = record;
    let open = incident.status != IncidentStatus::Resolved;
    let overdue = open && next_update_due.is_some_and(|due| due <= now);
    let roles = Role::ALL
        .into_iter()
        .map(|role| {
            let holders: Vec<Holder> = held
                .iter()
                .filter(|r| r.role == role)
                .map(|r| Holder {
                    user: r.user.to_string(),
                    since: when(r.assigned_at),
                    by: r.assigned_by.clone(),
                })
                .collect();
            let candidates = users
                .iter()
                .filter(|u| !holders.iter().any(|h| &h.user == *u))
                .cloned()
                .collect();
            RoleBlock {
                role: role.as_str(),
                form: format!("role-{}", role.as_str()),
                label: role.label(),
                single: role.is_single(),
                holders,
                candidates,
            }
        })
        .collect();
    let also: Vec<String> = also_services.iter().map(ToString::to_string).collect();
    let addable_services = services
        .into_iter()
        .filter(|s| *s != incident.service.as_str() && !also.contains(s))
        .collect();
    let head = Head {
        number: incident.number,
        title: incident.title.clone(),
        service: incident.service.to_string(),
        severity_label: incident.severity.label(),
        severity_definition: definition(incident.severity),
        status: incident.status.as_str(),
        lifecycle: lifecycle.as_str(),
        opened: when(incident.created_at),
        paged: incident.paged,
        acknowledged: incident.acknowledged_at.map(when),
        resolved: incident.resolved_at.map(when),
        closed: incident.closed_at.map(when),
        merged_into: incident.merged_into,
        summary: incident.summary.clone().unwrap_or_default(),
        open_alerts: incident.open_alerts,
    };
    Ok(IncidentPage {
        i: head,
        can_act,
        denied,
        severities: severity_choices(Some(incident.severity)),
        also_services: also,
        addable_services,
        roles,
        page_teams: names(&objects, Kind::Team),
        page_schedules: names(&objects, Kind::Schedule),
        page_users: users,
        stakeholders,
        every_minutes: every_minutes.map(|m| m.to_string()).unwrap_or_default(),
        next_due: next_update_due.filter(|_| open).map(when),
        overdue,
        updates: updates
            .into_iter()
            .rev()
            .map(|u| UpdateRow {
                at: when(u.at),
                author: u.author,
                state: u.state.label(),
                audience: u.audience.as_str(),
                body: u.body,
            })
            .collect(),
        update_states: UpdateState::ALL
            .into_iter()
            .map(|s| Choice {
                value: s.as_str(),
                label: s.label(),
                selected: kept_update("state") == s.as_str(),
            })
            .collect(),
        public_kept: kept_update("audience") == "public",
        timeline,
        last_entry,
        last_event,
        moments,
        alerts: alerts
            .into_iter()
            .map(|a| AlertRow {
                dedup_key: a.dedup_key,
                summary: a.summary,
                severity: a.severity.label().to_owned(),
                status: a.status.as_str(),
                count: a.count,
                first_seen: when(a.first_seen),
                last_seen: when(a.last_seen),
            })
            .collect(),
        changes: changes
            .into_iter()
            .map(|c| ChangeRow {
                at: when(c.received_at),
                text: if c.event.summary.is_empty() {
                    c.event.dedup_key
                } else {
                    c.event.summary
                },
                source: c.integration.to_string(),
            })
            .collect(),
        intents: intents
            .into_iter()
            .map(|i| IntentRow {
                user: i.user.map(|u| u.to_string()).unwrap_or_default(),
                contact: i.contact,
                kind: i.kind,
                purpose: i.purpose.as_str(),
                due: when(i.due_at),
                state: i.state.as_str(),
                attempts: i.attempts,
                error: i.last_error.unwrap_or_default(),
            })
            .collect(),
        close_blocked,
        problem,
        command_answer,
        command_confirm,
        nav,
    })
}
