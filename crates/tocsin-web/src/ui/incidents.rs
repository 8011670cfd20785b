//! `/incidents` and `/incidents/{number}`: what ingestion opened, read-only
//! for now — the list (open first by default), and one incident with its
//! alerts (muted ones say why), every event that landed on it in order (its
//! timeline's event part) and its service's changes in the 24 hours before
//! it opened ("recent changes"). Acting on incidents (acknowledge, roles,
//! notes, a live timeline) comes with the incident response work.

use super::common::{path_name, when};
use super::{Nav, SignedIn, UiError};
use crate::server::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::SignedDuration;
use serde::Deserialize;
use tocsin_domain::ingest::EventAction;
use tocsin_store::{EventRecord, IncidentQuery, IncidentRecord};

/// Incidents per page.
const PAGE: u32 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(list))
        .route("/incidents/{number}", get(show))
        .route("/incidents/{number}/escalate", post(escalate))
        .route("/incidents/{number}/page", post(page))
        .route("/incidents/{number}/acknowledge", post(acknowledge))
        .route("/incidents/{number}/resolve", post(resolve))
        .route("/incidents/{number}/reopen", post(reopen))
}

#[derive(Debug, Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
}

/// What a lifecycle button does.
#[derive(Debug, Clone, Copy)]
enum Act {
    Acknowledge,
    Resolve,
    Reopen,
}

async fn acknowledge(
    state: State<AppState>,
    me: SignedIn,
    number: Path<String>,
    form: Form<NoteForm>,
) -> Result<Response, UiError> {
    act(state, me, number, form, Act::Acknowledge).await
}

async fn resolve(
    state: State<AppState>,
    me: SignedIn,
    number: Path<String>,
    form: Form<NoteForm>,
) -> Result<Response, UiError> {
    act(state, me, number, form, Act::Resolve).await
}

async fn reopen(
    state: State<AppState>,
    me: SignedIn,
    number: Path<String>,
    form: Form<NoteForm>,
) -> Result<Response, UiError> {
    act(state, me, number, form, Act::Reopen).await
}

/// Acknowledge / resolve / reopen by hand; back to the incident.
async fn act(
    State(state): State<AppState>,
    me: SignedIn,
    Path(number): Path<String>,
    Form(form): Form<NoteForm>,
    what: Act,
) -> Result<Response, UiError> {
    use tocsin_core::incident;
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("incidents");
    let n = number
        .parse::<i64>()
        .map_err(|_| UiError::not_found(&nav, format!("there is no incident #{number}")))?;
    let store = state.store.as_ref();
    let now = state.clock.now();
    let note = Some(form.note.trim()).filter(|m| !m.is_empty());
    let done = match what {
        Act::Acknowledge => incident::acknowledge(store, &me.principal, n, now).await,
        Act::Resolve => incident::resolve(store, &me.principal, n, note, now).await,
        Act::Reopen => incident::reopen(store, &me.principal, n, note, now).await,
    };
    done.map_err(|e| escalate_error(&nav, e))?;
    Ok(Redirect::to(&format!("/incidents/{n}")).into_response())
}

fn escalate_error(nav: &Nav, e: tocsin_core::escalation::EscalateError) -> UiError {
    use tocsin_core::escalation::EscalateError;
    match e {
        EscalateError::NotFound(m) => UiError::not_found(nav, m),
        EscalateError::Denied(m) => UiError::forbidden(nav, m),
        EscalateError::Conflict(m) => UiError::unprocessable(nav, m),
        EscalateError::Store(e) => e.into(),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Debug, Deserialize)]
pub struct PageForm {
    #[serde(default)]
    csrf: String,
    /// `user:alice`, `team:payments`, `schedule:primary`.
    #[serde(default)]
    target: String,
    #[serde(default)]
    message: String,
    /// `reassign` hands the incident over; otherwise a responder is added.
    #[serde(default)]
    mode: String,
}

/// "Page someone": a person, a team or a schedule's on-call, by hand.
async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Path(number): Path<String>,
    Form(form): Form<PageForm>,
) -> Result<Response, UiError> {
    use tocsin_domain::catalog::Target;
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("incidents");
    let n = number
        .parse::<i64>()
        .map_err(|_| UiError::not_found(&nav, format!("there is no incident #{number}")))?;
    let bad = || UiError::unprocessable(&nav, "choose whom to page from the list");
    let (kind, name) = form.target.split_once(':').ok_or_else(bad)?;
    let name = tocsin_domain::Name::parse(name).map_err(|_| bad())?;
    let target = match kind {
        "user" => Target::User(name),
        "team" => Target::Team(name),
        "schedule" => Target::Schedule(name),
        _ => return Err(bad()),
    };
    let message = Some(form.message.trim()).filter(|m| !m.is_empty());
    let (store, who, now) = (state.store.as_ref(), &me.principal, state.clock.now());
    let done = if form.mode == "reassign" {
        tocsin_core::incident::reassign(store, who, n, &target, message, now)
            .await
            .map(|_| ())
    } else {
        tocsin_core::escalation::page(store, who, n, &target, message, now)
            .await
            .map(|_| ())
    };
    done.map_err(|e| escalate_error(&nav, e))?;
    Ok(Redirect::to(&format!("/incidents/{n}")).into_response())
}

/// "Escalate now": the next level fires at once; back to the page.
async fn escalate(
    State(state): State<AppState>,
    me: SignedIn,
    Path(number): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, UiError> {
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("incidents");
    let n = number
        .parse::<i64>()
        .map_err(|_| UiError::not_found(&nav, format!("there is no incident #{number}")))?;
    tocsin_core::escalation::escalate(state.store.as_ref(), &me.principal, n, state.clock.now())
        .await
        .map_err(|e| escalate_error(&nav, e))?;
    Ok(Redirect::to(&format!("/incidents/{n}")).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    /// `all` shows resolved incidents too.
    #[serde(default)]
    show: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    before: String,
}

#[derive(Debug)]
struct Row {
    number: i64,
    title: String,
    service: String,
    severity: String,
    status: &'static str,
    opened: String,
    open_alerts: i64,
}

impl From<IncidentRecord> for Row {
    fn from(r: IncidentRecord) -> Self {
        Row {
            number: r.number,
            title: r.title,
            service: r.service.to_string(),
            severity: r.severity.to_string(),
            status: r.status.as_str(),
            opened: when(r.created_at),
            open_alerts: r.open_alerts,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "incidents.html")]
struct ListPage {
    nav: Nav,
    all: bool,
    service: String,
    rows: Vec<Row>,
    older: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    me: SignedIn,
    Query(f): Query<Filters>,
) -> Result<ListPage, UiError> {
    let nav = me.nav("incidents");
    let service = match f.service.trim() {
        "" => None,
        s => Some(path_name(s, "service", &nav)?),
    };
    let all = f.show == "all";
    let before_number = f.before.trim().parse::<i64>().ok();
    let query = IncidentQuery {
        service: service.clone(),
        open_only: !all,
        before_number,
        limit: PAGE,
    };
    let records = state.store.list_incidents(&query).await?;
    let older = (records.len() == PAGE as usize)
        .then(|| records.last().map(|r| r.number))
        .flatten()
        .map(|n| {
            let mut q = format!("/incidents?before={n}");
            if all {
                q.push_str("&show=all");
            }
            if let Some(s) = &service {
                q.push_str(&format!("&service={s}"));
            }
            q
        });
    Ok(ListPage {
        nav,
        all,
        service: service.map(|s| s.to_string()).unwrap_or_default(),
        rows: records.into_iter().map(Row::from).collect(),
        older,
    })
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
struct EventRow {
    at: String,
    source: String,
    what: &'static str,
    text: String,
}

impl From<EventRecord> for EventRow {
    fn from(e: EventRecord) -> Self {
        let what = match e.event.action {
            EventAction::Trigger => "triggered",
            EventAction::Acknowledge => "acknowledged",
            EventAction::Resolve => "resolved",
            EventAction::Note => "note",
            EventAction::Change => "change",
        };
        let mut text = match (e.event.action, &e.event.note) {
            (EventAction::Note, Some(n)) => n.clone(),
            _ => e.event.summary.clone(),
        };
        if text.is_empty() {
            text = e.event.dedup_key.clone();
        }
        EventRow {
            at: when(e.received_at),
            source: e.integration.to_string(),
            what,
            text,
        }
    }
}

#[derive(Debug)]
struct PageRow {
    at: String,
    text: String,
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

fn n_of(d: &serde_json::Value, k: &str) -> i64 {
    d.get(k).and_then(serde_json::Value::as_i64).unwrap_or(0)
}

/// A timeline entry of escalation in words.
fn escalation_text(kind: &str, d: &serde_json::Value) -> String {
    let s = |k: &str| d.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
    let n = |k: &str| d.get(k).and_then(serde_json::Value::as_i64).unwrap_or(0);
    match kind {
        "escalation.level" => format!("level {} of policy {} fired", n("level"), s("policy")),
        "escalation.page" => format!(
            "paged {} (level {}, via {})",
            s("user"),
            n("level"),
            s("via")
        ),
        "escalation.stopped" => format!("escalation stopped: incident {}", s("reason")),
        "escalation.nobody" => format!("level {}: nobody to page", n("level")),
        "escalation.none" => s("reason").to_owned(),
        "escalation.manual" => format!("{} escalated by hand to level {}", s("by"), n("level")),
        "responder.page" => format!("paged {} by hand (via {})", s("user"), s("via")),
        "incident.acknowledged" => format!("acknowledged by {}", s("by")),
        "incident.resolved" => match s("note") {
            "" => format!("resolved by {}", s("by")),
            note => format!("resolved by {}: {note}", s("by")),
        },
        "incident.reopened" => match s("reason") {
            "" => format!("reopened by {}; escalation starts again", s("by")),
            why => format!("reopened by {}: {why}; escalation starts again", s("by")),
        },
        "incident.reassigned" => format!("reassigned by {} to {}", s("by"), s("to")),
        "notification.delivered"
        | "notification.failed"
        | "notification.dead"
        | "notification.cancelled" => {
            let n = &d["notification"];
            let who = n["user"].as_str().unwrap_or("");
            let via = format!(
                "{} ({})",
                n["contact"].as_str().unwrap_or(""),
                n["channel"].as_str().unwrap_or("")
            );
            let what = n["purpose"].as_str().unwrap_or("").replace('_', " ");
            match kind {
                "notification.delivered" => format!("{what} delivered to {who} by {via}"),
                "notification.failed" => format!(
                    "{what} to {who} by {via} failed (attempt {}): {}; retrying",
                    n_of(d, "attempt"),
                    s("error")
                ),
                "notification.dead" => {
                    format!("{what} to {who} by {via} given up: {}", s("error"))
                }
                _ => format!("{what} to {who} by {via} cancelled: {}", s("reason")),
            }
        }
        other => other.to_owned(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "incident.html")]
struct IncidentPage {
    nav: Nav,
    i: Row,
    paged: bool,
    acknowledged: Option<String>,
    resolved: Option<String>,
    alerts: Vec<AlertRow>,
    timeline: Vec<EventRow>,
    changes: Vec<EventRow>,
    paging: Vec<PageRow>,
    intents: Vec<IntentRow>,
    /// Whom the "page someone" form offers: names of people, teams, schedules.
    page_users: Vec<String>,
    page_teams: Vec<String>,
    page_schedules: Vec<String>,
}

async fn show(
    State(state): State<AppState>,
    me: SignedIn,
    Path(number): Path<String>,
) -> Result<IncidentPage, UiError> {
    let nav = me.nav("incidents");
    let missing = || UiError::not_found(&nav, format!("there is no incident #{number}"));
    let n = number
        .trim_start_matches('#')
        .parse::<i64>()
        .map_err(|_| missing())?;
    let store = state.store.as_ref();
    let incident = store.get_incident(n).await?.ok_or_else(missing)?;
    let alerts = store.incident_alerts(n).await?;
    let events = store.incident_events(n, 1000).await?;
    let since = incident
        .created_at
        .checked_sub(SignedDuration::from_hours(24))
        .unwrap_or(incident.created_at);
    let changes = store.recent_changes(&incident.service, since, 20).await?;
    let directory = tocsin_core::directory::Directory::load(store).await?;
    let paging = store
        .incident_timeline(n)
        .await?
        .into_iter()
        .map(|t| PageRow {
            at: when(t.at),
            text: escalation_text(&t.kind, &t.detail),
        })
        .collect();
    let intents = store
        .incident_notifications(n, None)
        .await?
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
        .collect();
    Ok(IncidentPage {
        paged: incident.paged,
        acknowledged: incident.acknowledged_at.map(when),
        resolved: incident.resolved_at.map(when),
        i: Row::from(incident),
        alerts: alerts
            .into_iter()
            .map(|a| AlertRow {
                dedup_key: a.dedup_key,
                summary: a.summary,
                severity: a.severity.to_string(),
                status: a.status.as_str(),
                count: a.count,
                first_seen: when(a.first_seen),
                last_seen: when(a.last_seen),
            })
            .collect(),
        timeline: events.into_iter().map(EventRow::from).collect(),
        changes: changes.into_iter().map(EventRow::from).collect(),
        paging,
        intents,
        page_users: directory.users.keys().map(|n| n.to_string()).collect(),
        page_teams: directory.teams.keys().map(|n| n.to_string()).collect(),
        page_schedules: directory.schedules.keys().map(|n| n.to_string()).collect(),
        nav,
    })
}
