//! Reading incidents: the list with its filters, and one incident with its
//! alerts, its events, its response (roles, stakeholders, updates) and its
//! service's recent changes; acknowledging, resolving, reopening,
//! escalating, paging and reassigning by hand. The rest of running an
//! incident is in `response`.

use super::response::ResponseView;
use crate::auth::Caller;
use crate::problem::Problem;
use crate::server::AppState;
use axum::Json;
use axum::extract::{Path, State};
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tocsin_domain::Name;
use tocsin_domain::access::Action;
use tocsin_domain::response::Lifecycle;
use tocsin_store::response::IncidentFilter;
use tocsin_store::{AlertRecord, EventRecord, IncidentRecord};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentView {
    /// The number people say: `#8`.
    pub number: i64,
    pub service: String,
    pub title: String,
    /// sev1 … sev5.
    pub severity: String,
    /// triggered, acknowledged or resolved.
    pub status: String,
    /// Where it is in its life: triggered, acknowledged, resolved, or
    /// closed (resolved and done with).
    pub lifecycle: String,
    /// What responders wrote about it.
    pub summary: Option<String>,
    pub created_at: String,
    pub acknowledged_at: Option<String>,
    pub resolved_at: Option<String>,
    pub closed_at: Option<String>,
    /// The incident it was merged into.
    pub merged_into: Option<i64>,
    pub open_alerts: i64,
    /// Whether it paged when it opened.
    pub paged: bool,
}

impl From<IncidentRecord> for IncidentView {
    fn from(r: IncidentRecord) -> Self {
        IncidentView {
            number: r.number,
            service: r.service.to_string(),
            title: r.title,
            severity: r.severity.to_string(),
            status: r.status.as_str().to_owned(),
            lifecycle: Lifecycle::of(r.status, r.closed_at).as_str().to_owned(),
            summary: r.summary,
            created_at: r.created_at.to_string(),
            acknowledged_at: r.acknowledged_at.map(|t| t.to_string()),
            resolved_at: r.resolved_at.map(|t| t.to_string()),
            closed_at: r.closed_at.map(|t| t.to_string()),
            merged_into: r.merged_into,
            open_alerts: r.open_alerts,
            paged: r.paged,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    pub id: i64,
    pub service: String,
    pub dedup_key: String,
    pub status: String,
    pub severity: String,
    pub summary: String,
    /// How many times it was seen.
    pub count: i64,
    pub first_seen: String,
    pub last_seen: String,
    pub labels: BTreeMap<String, String>,
    /// Why it opened no incident although it pages: `silence:<name>` or
    /// `maintenance:<name>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub muted_by: Option<String>,
}

impl From<AlertRecord> for AlertView {
    fn from(a: AlertRecord) -> Self {
        AlertView {
            id: a.id,
            service: a.service.to_string(),
            dedup_key: a.dedup_key,
            status: a.status.as_str().to_owned(),
            severity: a.severity.to_string(),
            summary: a.summary,
            count: a.count,
            first_seen: a.first_seen.to_string(),
            last_seen: a.last_seen.to_string(),
            labels: a.labels,
            muted_by: a.muted.map(|m| m.as_stored()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub received_at: String,
    pub integration: String,
    /// The normalized event, as stored.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

impl From<EventRecord> for EventView {
    fn from(e: EventRecord) -> Self {
        EventView {
            received_at: e.received_at.to_string(),
            integration: e.integration.to_string(),
            event: serde_json::to_value(&e.event).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: IncidentView,
    /// Roles, other services, stakeholders, cadence, updates, pins.
    #[serde(flatten)]
    pub response: ResponseView,
    pub alerts: Vec<AlertView>,
    /// Every event that landed on the incident, oldest first (at most 1,000).
    pub events: Vec<EventView>,
    /// Change events of the service in the 24 hours before the incident.
    pub recent_changes: Vec<EventView>,
    /// Escalation's record: each level reached, each person paged, why it
    /// stopped; oldest first.
    pub escalation: Vec<TimelineView>,
    /// The incident's notifications (pages by each person's rules), by due
    /// time, with their delivery state (docs/notifications.md).
    pub notifications: Vec<IntentView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineView {
    pub at: String,
    /// `escalation.level`, `escalation.page`, `escalation.stopped`, …
    pub kind: String,
    pub actor: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntentView {
    pub user: String,
    pub contact: String,
    /// email, slack, ntfy, …
    pub kind: String,
    pub address: String,
    pub due_at: String,
    /// 1-based.
    pub level: i64,
    pub cycle: i64,
    /// `queued`, `sending`, `delivered`, `failed` (retrying), `dead` or
    /// `cancelled` (acknowledged before it was due).
    pub state: String,
}

/// The list's filters. Every filter is optional and they combine with AND;
/// the list filters (`status`, `severity`, `service`, `team`) may repeat
/// or be comma-separated, for any of several values.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentParams {
    /// triggered, acknowledged, resolved (not closed yet) or closed.
    pub status: Option<Vec<String>>,
    /// sev1 … sev5.
    pub severity: Option<Vec<String>>,
    /// Incidents of this service (primary or added).
    pub service: Option<Vec<String>>,
    /// Incidents of any service this team owns.
    pub team: Option<Vec<String>>,
    /// Opened at or after this RFC 3339 instant.
    pub from: Option<String>,
    /// Opened before this RFC 3339 instant.
    pub until: Option<String>,
    /// Words that must all appear in the title or summary.
    pub q: Option<String>,
    /// Only incidents not resolved (`status=triggered,acknowledged`).
    pub open: Option<bool>,
    /// Only incidents numbered below this (keyset paging: pass the last
    /// number of the previous page).
    pub before: Option<i64>,
    /// At most this many, newest first (default 50, at most 1000).
    pub limit: Option<u32>,
}

fn invalid_query(field: &str, message: impl Into<String>) -> Problem {
    let message = message.into();
    Problem::invalid(
        format!("the incident query is not valid: {field}: {message}"),
        vec![Problem::field(field, message)],
    )
}

impl IncidentParams {
    /// Reads the query's pairs, naming the parameter that is wrong.
    fn parse(pairs: Vec<(String, String)>) -> Result<IncidentParams, Problem> {
        let mut p = IncidentParams::default();
        let list = |v: &mut Option<Vec<String>>, value: &str| {
            v.get_or_insert_with(Vec::new).extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            );
        };
        for (key, value) in pairs {
            let number = |v: &str| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| invalid_query(&key, format!("{v:?} is not a number")))
            };
            match key.as_str() {
                "status" => list(&mut p.status, &value),
                "severity" => list(&mut p.severity, &value),
                "service" => list(&mut p.service, &value),
                "team" => list(&mut p.team, &value),
                "from" => p.from = Some(value).filter(|v| !v.is_empty()),
                "until" => p.until = Some(value).filter(|v| !v.is_empty()),
                "q" => p.q = Some(value).filter(|v| !v.trim().is_empty()),
                "open" => {
                    p.open = Some(match value.trim() {
                        "true" | "1" | "" => true,
                        "false" | "0" => false,
                        other => {
                            return Err(invalid_query(
                                "open",
                                format!("{other:?} is not true or false"),
                            ));
                        }
                    })
                }
                "before" => p.before = Some(number(&value)?),
                "limit" => {
                    p.limit = Some(
                        u32::try_from(number(&value)?)
                            .map_err(|_| invalid_query("limit", "must be positive"))?,
                    )
                }
                other => {
                    return Err(invalid_query(
                        other,
                        "unknown parameter; use status, severity, service, team, from, until, q, open, before or limit",
                    ));
                }
            }
        }
        Ok(p)
    }
}

/// Incidents, newest first, with filters.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(IncidentParams),
    responses(
        (status = 200, body = Vec<IncidentView>),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_incidents(
    State(state): State<AppState>,
    caller: Caller,
    super::response::Params(pairs): super::response::Params<Vec<(String, String)>>,
) -> Result<Json<Vec<IncidentView>>, Problem> {
    caller.authorize(&Action::Read)?;
    let p = IncidentParams::parse(pairs)?;
    let Some(filter) = incident_filter(&state, &p).await? else {
        return Ok(Json(Vec::new()));
    };
    let rows = state.store.search_incidents(&filter).await?;
    Ok(Json(rows.into_iter().map(IncidentView::from).collect()))
}

/// The store's filter for `p`, or `None` when nothing can match (a team
/// with no services, `open` with only resolved statuses).
async fn incident_filter(
    state: &AppState,
    p: &IncidentParams,
) -> Result<Option<IncidentFilter>, Problem> {
    use tocsin_domain::Severity;
    let mut lifecycle = Vec::new();
    for s in p.status.iter().flatten() {
        lifecycle.push(Lifecycle::parse(s).ok_or_else(|| {
            invalid_query(
                "status",
                format!("{s:?} is not one of triggered, acknowledged, resolved, closed"),
            )
        })?);
    }
    if p.open == Some(true) {
        let open = [Lifecycle::Triggered, Lifecycle::Acknowledged];
        if lifecycle.is_empty() {
            lifecycle = open.to_vec();
        } else {
            lifecycle.retain(|l| open.contains(l));
            if lifecycle.is_empty() {
                return Ok(None);
            }
        }
    }
    let mut severities = Vec::new();
    for s in p.severity.iter().flatten() {
        severities.push(Severity::parse(s).ok_or_else(|| {
            invalid_query("severity", format!("{s:?} is not a severity (sev1 … sev5)"))
        })?);
    }
    let names = |field: &str, values: &Option<Vec<String>>| -> Result<Vec<Name>, Problem> {
        values
            .iter()
            .flatten()
            .map(|v| Name::parse(v).map_err(|e| invalid_query(field, format!("{v:?}: {e}"))))
            .collect()
    };
    let mut services = names("service", &p.service)?;
    let teams = names("team", &p.team)?;
    if !teams.is_empty() {
        let directory = tocsin_core::directory::Directory::load(state.store.as_ref()).await?;
        let mut owned: Vec<Name> = Vec::new();
        for team in &teams {
            if !directory.teams.contains_key(team) {
                return Err(invalid_query("team", format!("no team named {team}")));
            }
            owned.extend(
                directory
                    .services_of_team(team)
                    .into_iter()
                    .map(|e| e.spec.name.clone()),
            );
        }
        if services.is_empty() {
            services = owned;
        } else {
            services.retain(|s| owned.contains(s));
        }
        if services.is_empty() {
            return Ok(None);
        }
    }
    let instant = |field: &str, v: &Option<String>| -> Result<Option<jiff::Timestamp>, Problem> {
        v.as_deref()
            .map(|s| {
                s.parse::<jiff::Timestamp>().map_err(|_| {
                    invalid_query(
                        field,
                        format!("{s:?} is not an RFC 3339 instant (2026-03-02T10:00:00Z)"),
                    )
                })
            })
            .transpose()
    };
    Ok(Some(IncidentFilter {
        lifecycle,
        severities,
        services,
        from: instant("from", &p.from)?,
        until: instant("until", &p.until)?,
        text: p.q.clone(),
        before_number: p.before,
        limit: p.limit.unwrap_or(50).clamp(1, 1000),
    }))
}

/// One incident with its alerts, events and the service's recent changes.
#[utoipa::path(get, path = "/api/v1/incidents/{number}", tag = "incidents",
    params(("number" = i64, Path, description = "The incident's number")),
    responses(
        (status = 200, body = IncidentDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_incident(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<i64>,
) -> Result<Json<IncidentDetail>, Problem> {
    caller.authorize(&Action::Read)?;
    let store = state.store.as_ref();
    let incident = store
        .get_incident(number)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no incident #{number}")))?;
    let alerts = store.incident_alerts(number).await?;
    let events = store.incident_events(number, 1000).await?;
    let since = incident
        .created_at
        .checked_sub(SignedDuration::from_hours(24))
        .unwrap_or(incident.created_at);
    let changes = store.recent_changes(&incident.service, since, 20).await?;
    Ok(Json(IncidentDetail {
        incident: incident.into(),
        response: super::response::response_of(&state, number).await?,
        alerts: alerts.into_iter().map(AlertView::from).collect(),
        events: events.into_iter().map(EventView::from).collect(),
        recent_changes: changes.into_iter().map(EventView::from).collect(),
        escalation: store
            .incident_timeline(number)
            .await?
            .into_iter()
            .map(|t| TimelineView {
                at: t.at.to_string(),
                kind: t.kind,
                actor: t.actor,
                detail: t.detail,
            })
            .collect(),
        notifications: intents(store, number)
            .await?
            .into_iter()
            .map(|i| IntentView {
                user: i.user.map(|u| u.to_string()).unwrap_or_default(),
                contact: i.contact.to_string(),
                kind: i.kind,
                address: i.address,
                due_at: i.due_at.to_string(),
                level: i.level + 1,
                cycle: i.cycle,
                state: i.state,
            })
            .collect(),
    }))
}

/// The incident's notifications.
async fn intents(
    store: &dyn tocsin_store::Store,
    number: i64,
) -> Result<Vec<tocsin_store::IntentRecord>, Problem> {
    Ok(store.incident_intents(number).await?)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Escalated {
    /// The level that fired now (1-based).
    pub level: usize,
    /// How many times the policy had already run through.
    pub cycle: u32,
}

/// Escalates by hand: the next level of the service's policy fires now
/// (also for an acknowledged incident, to get more help). A responder of
/// the service's team may.
#[utoipa::path(post, path = "/api/v1/incidents/{number}/escalate", tag = "incidents",
    params(("number" = i64, Path, description = "The incident's number")),
    responses(
        (status = 200, body = Escalated),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn escalate(
    State(state): State<AppState>,
    caller: Caller,
    via: super::response::Via,
    Path(number): Path<i64>,
) -> Result<Json<Escalated>, Problem> {
    use tocsin_core::escalation;
    let step = escalation::escalate(
        state.store.as_ref(),
        tocsin_core::response::Actor {
            who: &caller.principal,
            via: via.0,
        },
        number,
        state.clock.now(),
    )
    .await
    .map_err(escalate_problem)?;
    Ok(Json(Escalated {
        level: step.level + 1,
        cycle: step.cycle,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageRequest {
    /// Exactly one of user, team, schedule.
    pub user: Option<String>,
    pub team: Option<String>,
    /// Whoever is on call in it now.
    pub schedule: Option<String>,
    /// Why (shown with the page).
    pub message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Paged {
    pub paged: Vec<String>,
}

/// Pages a person, a team or a schedule's on-call on this incident (to add
/// a responder or hand it over). A responder of the service's team may.
#[utoipa::path(post, path = "/api/v1/incidents/{number}/page", tag = "incidents",
    request_body = PageRequest,
    params(("number" = i64, Path, description = "The incident's number")),
    responses(
        (status = 200, body = Paged),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<i64>,
    crate::problem::JsonBody(req): crate::problem::JsonBody<PageRequest>,
) -> Result<Json<Paged>, Problem> {
    use tocsin_core::escalation;
    let target = page_target(&req)?;
    let paged = escalation::page(
        state.store.as_ref(),
        &caller.principal,
        number,
        &target,
        req.message.as_deref(),
        state.clock.now(),
    )
    .await
    .map_err(escalate_problem)?;
    Ok(Json(Paged {
        paged: paged.into_iter().map(|n| n.to_string()).collect(),
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// What fixed it (resolve) or why (reopen); shown on the timeline.
    pub note: Option<String>,
}

/// Acknowledges a triggered incident: escalation stops. A responder of the
/// service's team may; 409 if it is not triggered (any more).
#[utoipa::path(post, path = "/api/v1/incidents/{number}/acknowledge", tag = "incidents",
    params(("number" = i64, Path, description = "The incident's number")),
    responses(
        (status = 200, body = IncidentView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn acknowledge(
    State(state): State<AppState>,
    caller: Caller,
    via: super::response::Via,
    Path(number): Path<i64>,
) -> Result<Json<IncidentView>, Problem> {
    let inc = tocsin_core::incident::acknowledge(
        state.store.as_ref(),
        tocsin_core::response::Actor {
            who: &caller.principal,
            via: via.0,
        },
        number,
        state.clock.now(),
    )
    .await
    .map_err(escalate_problem)?;
    Ok(Json(inc.into()))
}

/// Resolves an incident and its open alerts; escalation stops, and the
/// people who were paged are told. 409 if it is already resolved.
#[utoipa::path(post, path = "/api/v1/incidents/{number}/resolve", tag = "incidents",
    request_body(content = NoteRequest, description = "Optional; an empty body is fine"),
    params(("number" = i64, Path, description = "The incident's number")),
    responses(
        (status = 200, body = IncidentView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    via: super::response::Via,
    Path(number): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<IncidentView>, Problem> {
    let note = crate::problem::optional_json::<NoteRequest>(&body)?.note;
    let inc = tocsin_core::incident::resolve(
        state.store.as_ref(),
        tocsin_core::response::Actor {
            who: &caller.principal,
            via: via.0,
        },
        number,
        note.as_deref(),
        state.clock.now(),
    )
    .await
    .map_err(escalate_problem)?;
    Ok(Json(inc.into()))
}

/// Reopens a resolved incident: it is triggered again and escalation starts
/// over at level 1 now. 409 unless it is resolved.
#[utoipa::path(post, path = "/api/v1/incidents/{number}/reopen", tag = "incidents",
    request_body(content = NoteRequest, description = "Optional; an empty body is fine"),
    params(("number" = i64, Path, description = "The incident's number")),
    responses(
        (status = 200, body = IncidentView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reopen(
    State(state): State<AppState>,
    caller: Caller,
    via: super::response::Via,
    Path(number): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<IncidentView>, Problem> {
    let note = crate::problem::optional_json::<NoteRequest>(&body)?.note;
    let inc = tocsin_core::incident::reopen(
        state.store.as_ref(),
        tocsin_core::response::Actor {
            who: &caller.principal,
            via: via.0,
        },
        number,
        note.as_deref(),
        state.clock.now(),
    )
    .await
    .map_err(escalate_problem)?;
    Ok(Json(inc.into()))
}

/// Hands the incident to a person, a team or a schedule's on-call: they are
/// paged now and must acknowledge; if nobody does, the service's policy
/// starts over at level 1 after its first delay. Same body as `page`.
#[utoipa::path(post, path = "/api/v1/incidents/{number}/reassign", tag = "incidents",
    request_body = PageRequest,
    params(("number" = i64, Path, description = "The incident's number")),
    responses(
        (status = 200, body = IncidentView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reassign(
    State(state): State<AppState>,
    caller: Caller,
    via: super::response::Via,
    Path(number): Path<i64>,
    crate::problem::JsonBody(req): crate::problem::JsonBody<PageRequest>,
) -> Result<Json<IncidentView>, Problem> {
    let target = page_target(&req)?;
    let inc = tocsin_core::incident::reassign(
        state.store.as_ref(),
        tocsin_core::response::Actor {
            who: &caller.principal,
            via: via.0,
        },
        number,
        &target,
        req.message.as_deref(),
        state.clock.now(),
    )
    .await
    .map_err(escalate_problem)?;
    Ok(Json(inc.into()))
}

/// The one target a page or reassignment names.
pub(super) fn page_target(req: &PageRequest) -> Result<tocsin_domain::catalog::Target, Problem> {
    use tocsin_domain::catalog::Target;
    let given: Vec<(&str, &String)> = [
        ("user", req.user.as_ref()),
        ("team", req.team.as_ref()),
        ("schedule", req.schedule.as_ref()),
    ]
    .into_iter()
    .filter_map(|(f, v)| v.map(|v| (f, v)))
    .collect();
    let [(field, value)] = given.as_slice() else {
        return Err(Problem::invalid(
            "say whom to page",
            vec![Problem::field(
                "user",
                "give exactly one of user, team, schedule",
            )],
        ));
    };
    let name = Name::parse(value).map_err(|e| {
        Problem::invalid(
            "the request is not valid",
            vec![Problem::field(field, e.to_string())],
        )
    })?;
    Ok(match *field {
        "user" => Target::User(name),
        "team" => Target::Team(name),
        _ => Target::Schedule(name),
    })
}

fn escalate_problem(e: tocsin_core::escalation::EscalateError) -> Problem {
    use tocsin_core::escalation::EscalateError;
    match e {
        EscalateError::NotFound(m) => Problem::not_found(m),
        EscalateError::Denied(m) => Problem::new(
            axum::http::StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            m,
        ),
        EscalateError::Conflict(m) => {
            Problem::new(axum::http::StatusCode::CONFLICT, "conflict", "Conflict", m)
        }
        EscalateError::Store(s) => s.into(),
    }
}
