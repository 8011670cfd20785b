//! Running an incident over the API: declaring one, its title, summary,
//! severity and services, roles, responders, notes and pinned key moments,
//! stakeholders and their updates on a cadence, merging, closing, and the
//! merged timeline. Each handler parses the request and calls one
//! `tocsin_core::response` function; the rules live there.
//!
//! Every change is recorded on the timeline with the interface it came
//! from: `api`, or `cli` when the request says `X-Tocsin-Interface: cli`.

use super::incidents::{IncidentView, page_target};
use crate::auth::Caller;
use crate::problem::Problem;
use crate::server::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tocsin_core::response::{self as core, Actor, Declaration, ResponseError};
use tocsin_domain::access::Action;
use tocsin_domain::response::{Audience, Interface, Role, UpdateState};
use tocsin_domain::{Name, Severity};
use tocsin_store::response::ResponseRecord;
use tocsin_store::{EventRecord, TimelineRecord};
use utoipa::{IntoParams, ToSchema};

/// The request header naming the interface a change came from.
pub const INTERFACE_HEADER: &str = "X-Tocsin-Interface";

/// The interface a request acts through: `api` unless the
/// [`INTERFACE_HEADER`] says `cli` (the only other value accepted; chat
/// and the web UI record themselves).
#[derive(Debug, Clone, Copy)]
pub struct Via(pub Interface);

impl<S: Send + Sync> FromRequestParts<S> for Via {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(INTERFACE_HEADER) else {
            return Ok(Via(Interface::Api));
        };
        match value.to_str().map(|v| v.trim().to_ascii_lowercase()) {
            Ok(v) if v == "api" => Ok(Via(Interface::Api)),
            Ok(v) if v == "cli" => Ok(Via(Interface::Cli)),
            _ => Err(Problem::invalid(
                "the request headers are not valid",
                vec![Problem::field(INTERFACE_HEADER, "must be api or cli")],
            )),
        }
    }
}

/// `Query<T>`, but a query string that does not parse answers 422
/// problem+json naming it.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(t)) => Ok(Params(t)),
            Err(r) => Err(bad("query", r.body_text())),
        }
    }
}

impl Via {
    pub fn actor<'a>(self, caller: &'a Caller) -> Actor<'a> {
        Actor {
            who: &caller.principal,
            via: self.0,
        }
    }
}

impl From<ResponseError> for Problem {
    fn from(e: ResponseError) -> Self {
        match e {
            ResponseError::NotFound(m) => Problem::not_found(m),
            ResponseError::Denied(m) => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", m)
            }
            ResponseError::Conflict(m) => {
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", m)
            }
            ResponseError::Invalid(f) => Problem::invalid(
                format!("{}: {}", f.field, f.reason),
                vec![Problem::field(f.field, f.reason)],
            ),
            ResponseError::Store(s) => s.into(),
        }
    }
}

/// A core refusal whose field the request calls by another name.
pub(super) fn renamed(e: ResponseError, from: &str, to: &str) -> Problem {
    match e {
        ResponseError::Invalid(f) if f.field == from => Problem::invalid(
            format!("{to}: {}", f.reason),
            vec![Problem::field(to, f.reason)],
        ),
        other => other.into(),
    }
}

/// A JSON body that must be there: absent answers 422 naming `body`; one
/// that does not parse answers 422 naming the field.
pub(super) fn json_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, Problem> {
    crate::problem::optional_json::<Option<T>>(body)
        .map_err(name_the_key)?
        .ok_or_else(|| {
            Problem::invalid(
                "a JSON body is required",
                vec![Problem::field("body", "send a JSON object")],
            )
        })
}

/// serde reports a missing key at the object holding it; name the key
/// itself (`title`, not `body`).
fn name_the_key(mut p: Problem) -> Problem {
    for e in &mut p.errors {
        let key = ["missing field `", "unknown field `"]
            .iter()
            .find_map(|prefix| e.message.strip_prefix(prefix))
            .and_then(|rest| rest.split('`').next());
        if let Some(key) = key {
            e.field = match e.field.as_str() {
                "body" | "." | "" => key.to_owned(),
                path if path == key || path.ends_with(&format!(".{key}")) => path.to_owned(),
                path => format!("{path}.{key}"),
            };
        }
    }
    p
}

pub(super) fn bad(field: &str, message: impl Into<String>) -> Problem {
    let message = message.into();
    Problem::invalid(
        format!("{field}: {message}"),
        vec![Problem::field(field, message)],
    )
}

pub(super) fn name_of(field: &str, value: &str) -> Result<Name, Problem> {
    Name::parse(value.trim()).map_err(|e| bad(field, format!("{value:?}: {e}")))
}

pub(super) fn severity_of(field: &str, value: &str) -> Result<Severity, Problem> {
    Severity::parse(value.trim())
        .ok_or_else(|| bad(field, format!("{value:?} is not a severity (sev1 … sev5)")))
}

// ---------------------------------------------------------------------------
// Views

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    /// commander, communications, scribe or responder.
    pub role: String,
    pub user: String,
    pub assigned_at: String,
    pub assigned_by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateView {
    pub id: i64,
    pub at: String,
    pub author: String,
    /// investigating, identified, monitoring or resolved.
    pub state: String,
    /// internal or public.
    pub audience: String,
    pub body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CadenceView {
    /// Minutes between stakeholder updates; none when no cadence is set.
    pub every_minutes: Option<i64>,
    /// When the next update is due.
    pub next_update_due: Option<String>,
}

/// What an incident's response adds to the incident.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResponseView {
    /// Other services it touches (besides `service`).
    pub also_services: Vec<String>,
    /// Who holds which role, commander first.
    pub roles: Vec<RoleView>,
    /// `user:NAME`, `team:NAME` or a destination `kind:address`.
    pub stakeholders: Vec<String>,
    pub cadence: CadenceView,
    /// Stakeholder updates, oldest first.
    pub updates: Vec<UpdateView>,
    /// Timeline entry ids pinned as key moments.
    pub pinned: Vec<i64>,
}

impl From<ResponseRecord> for ResponseView {
    fn from(r: ResponseRecord) -> Self {
        ResponseView {
            also_services: r.also_services.iter().map(ToString::to_string).collect(),
            roles: r
                .roles
                .into_iter()
                .map(|r| RoleView {
                    role: r.role.as_str().to_owned(),
                    user: r.user.to_string(),
                    assigned_at: r.assigned_at.to_string(),
                    assigned_by: r.assigned_by,
                })
                .collect(),
            stakeholders: r.stakeholders,
            cadence: CadenceView {
                every_minutes: r.every_minutes,
                next_update_due: r.next_update_due.map(|t| t.to_string()),
            },
            updates: r
                .updates
                .into_iter()
                .map(|u| UpdateView {
                    id: u.id,
                    at: u.at.to_string(),
                    author: u.author,
                    state: u.state.as_str().to_owned(),
                    audience: u.audience.as_str().to_owned(),
                    body: u.body,
                })
                .collect(),
            pinned: r.pinned,
        }
    }
}

/// An incident with its response: what every change answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentState {
    #[serde(flatten)]
    pub incident: IncidentView,
    #[serde(flatten)]
    pub response: ResponseView,
}

async fn incident_state(state: &AppState, number: i64) -> Result<IncidentState, Problem> {
    let store = state.store.as_ref();
    let incident = store
        .get_incident(number)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no incident #{number}")))?;
    let response = store.response(number).await?;
    Ok(IncidentState {
        incident: incident.into(),
        response: response.into(),
    })
}

/// 200 with the incident as it is now.
async fn answer(state: &AppState, number: i64) -> Result<Json<IncidentState>, Problem> {
    Ok(Json(incident_state(state, number).await?))
}

// ---------------------------------------------------------------------------
// Declaring

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclareRequest {
    /// One line, at most 200 characters.
    pub title: String,
    /// The service that is broken.
    pub service: String,
    /// Other services it touches.
    #[serde(default)]
    pub also_services: Vec<String>,
    /// sev1 … sev5; default sev3.
    pub severity: Option<String>,
    /// What is known so far.
    pub summary: Option<String>,
    /// Page the service's escalation policy now (default true). With
    /// false the incident opens acknowledged, its declarer commander.
    pub page: Option<bool>,
}

/// Declares an incident by hand. Anyone with the responder role may, on any
/// service. 201 with the incident and `Location`.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "response",
    request_body = DeclareRequest,
    params(("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` when the change comes from the CLI; default `api`")),
    responses(
        (status = 201, body = IncidentState, headers(("Location" = String, description = "The incident's URL"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn declare(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    body: Bytes,
) -> Result<Response, Problem> {
    let req: DeclareRequest = json_body(&body)?;
    let service = name_of("service", &req.service)?;
    let also_services = req
        .also_services
        .iter()
        .enumerate()
        .map(|(i, s)| name_of(&format!("also_services[{i}]"), s))
        .collect::<Result<Vec<_>, _>>()?;
    let severity = match req.severity.as_deref() {
        Some(s) => severity_of("severity", s)?,
        None => Severity::Sev3,
    };
    let declaration = Declaration {
        title: req.title,
        service,
        also_services,
        severity,
        summary: req.summary,
        page: req.page.unwrap_or(true),
    };
    let inc = core::declare(
        state.store.as_ref(),
        via.actor(&caller),
        &declaration,
        state.clock.now(),
    )
    .await
    .map_err(|e| renamed(e, "services", "also_services"))?;
    let body = incident_state(&state, inc.number).await?;
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/incidents/{}", inc.number)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

// ---------------------------------------------------------------------------
// Title, summary, severity, services

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentPatch {
    pub title: Option<String>,
    pub summary: Option<String>,
    /// sev1 … sev5.
    pub severity: Option<String>,
}

/// Changes the title, the summary and/or the severity (each on the
/// timeline). Setting a field to what it already is changes nothing.
#[utoipa::path(patch, path = "/api/v1/incidents/{number}", tag = "response",
    request_body = IncidentPatch,
    params(("number" = i64, Path, description = "The incident's number"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 200, body = IncidentState),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_incident(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path(number): Path<i64>,
    body: Bytes,
) -> Result<Json<IncidentState>, Problem> {
    let req: IncidentPatch = json_body(&body)?;
    let severity = req
        .severity
        .as_deref()
        .map(|s| severity_of("severity", s))
        .transpose()?;
    if req.title.is_none() && req.summary.is_none() && severity.is_none() {
        return Err(bad(
            "body",
            "give a title, a summary or a severity to change",
        ));
    }
    let store = state.store.as_ref();
    let current = core::context(store, &caller.principal, number)
        .await?
        .incident;
    let by = via.actor(&caller);
    let now = state.clock.now();
    let title = req.title.as_deref().filter(|t| t.trim() != current.title);
    let summary = req
        .summary
        .as_deref()
        .filter(|s| Some(s.trim()) != current.summary.as_deref());
    if title.is_some() || summary.is_some() {
        core::describe(store, by, number, title, summary, now).await?;
    }
    if let Some(to) = severity.filter(|s| *s != current.severity) {
        core::set_severity(store, by, number, to, now).await?;
    }
    answer(&state, number).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceRequest {
    pub service: String,
}

/// Adds a service the incident touches.
#[utoipa::path(post, path = "/api/v1/incidents/{number}/services", tag = "response",
    request_body = ServiceRequest,
    params(("number" = i64, Path, description = "The incident's number"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 200, body = IncidentState),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_service(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path(number): Path<i64>,
    body: Bytes,
) -> Result<Json<IncidentState>, Problem> {
    let req: ServiceRequest = json_body(&body)?;
    let service = name_of("service", &req.service)?;
    core::add_service(
        state.store.as_ref(),
        via.actor(&caller),
        number,
        &service,
        state.clock.now(),
    )
    .await?;
    answer(&state, number).await
}

// ---------------------------------------------------------------------------
// Roles and responders

fn role_of(value: &str) -> Result<Role, Problem> {
    Role::parse(value).ok_or_else(|| {
        bad(
            "role",
            format!("{value:?} is not a role (commander or ic, communications or comms, scribe, responder)"),
        )
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    /// Who holds the role from now on.
    pub user: String,
}

/// Gives a role to a user. For commander, communications and scribe this is
/// a hand-over from whoever held it; a responder is added. Giving someone
/// a role they hold changes nothing.
#[utoipa::path(put, path = "/api/v1/incidents/{number}/roles/{role}", tag = "response",
    request_body = RoleRequest,
    params(("number" = i64, Path, description = "The incident's number"),
        ("role" = String, Path, description = "commander (ic), communications (comms), scribe or responder"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 200, body = IncidentState),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn assign_role(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path((number, role)): Path<(i64, String)>,
    body: Bytes,
) -> Result<Json<IncidentState>, Problem> {
    let role = role_of(&role)?;
    let req: RoleRequest = json_body(&body)?;
    let user = name_of("user", &req.user)?;
    let store = state.store.as_ref();
    let held = core::context(store, &caller.principal, number)
        .await?
        .response
        .roles
        .iter()
        .any(|r| r.role == role && r.user == user);
    if !held {
        core::assign_role(
            store,
            via.actor(&caller),
            number,
            role,
            &user,
            state.clock.now(),
        )
        .await?;
    }
    answer(&state, number).await
}

/// Takes a role from a user.
#[utoipa::path(delete, path = "/api/v1/incidents/{number}/roles/{role}/{user}", tag = "response",
    params(("number" = i64, Path, description = "The incident's number"),
        ("role" = String, Path, description = "commander (ic), communications (comms), scribe or responder"),
        ("user" = String, Path, description = "Who no longer holds it"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 200, body = IncidentState),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn unassign_role(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path((number, role, user)): Path<(i64, String, String)>,
) -> Result<Json<IncidentState>, Problem> {
    let role = role_of(&role)?;
    let user = name_of("user", &user)?;
    core::unassign_role(
        state.store.as_ref(),
        via.actor(&caller),
        number,
        role,
        &user,
        state.clock.now(),
    )
    .await?;
    answer(&state, number).await
}

/// Adds responders by paging a user, a team or whoever is on call in a
/// schedule now (same body as `page`); each person reached is listed as a
/// responder. 409 once the incident is resolved.
#[utoipa::path(post, path = "/api/v1/incidents/{number}/responders", tag = "response",
    request_body = super::incidents::PageRequest,
    params(("number" = i64, Path, description = "The incident's number"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 200, body = IncidentState),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_responders(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path(number): Path<i64>,
    body: Bytes,
) -> Result<Json<IncidentState>, Problem> {
    let req: super::incidents::PageRequest = json_body(&body)?;
    let target = page_target(&req)?;
    core::add_responders(
        state.store.as_ref(),
        via.actor(&caller),
        number,
        &target,
        req.message.as_deref(),
        state.clock.now(),
    )
    .await?;
    answer(&state, number).await
}

// ---------------------------------------------------------------------------
// Notes and key moments

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteText {
    /// What happened, what was tried (at most 10,000 characters).
    pub text: String,
}

/// Adds a note to the timeline. 201 with the note's timeline entry (its
/// `id` is what `pins` takes).
#[utoipa::path(post, path = "/api/v1/incidents/{number}/notes", tag = "response",
    request_body = NoteText,
    params(("number" = i64, Path, description = "The incident's number"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 201, body = TimelineItem),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_note(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path(number): Path<i64>,
    body: Bytes,
) -> Result<(StatusCode, Json<TimelineItem>), Problem> {
    let req: NoteText = json_body(&body)?;
    let store = state.store.as_ref();
    core::note(
        store,
        via.actor(&caller),
        number,
        &req.text,
        state.clock.now(),
    )
    .await?;
    // The core does not answer the entry: it is this caller's newest note
    // with this text.
    let text = req.text.trim();
    let entry = store
        .incident_timeline(number)
        .await?
        .into_iter()
        .rev()
        .find(|e| {
            e.kind == "note"
                && e.actor == caller.principal.label
                && e.detail.get("text").and_then(|t| t.as_str()) == Some(text)
        })
        .ok_or_else(|| Problem::internal(&format!("note on #{number} not found after writing")))?;
    Ok((StatusCode::CREATED, Json(TimelineItem::entry(entry, &[]))))
}

async fn pin_or_unpin(
    state: &AppState,
    caller: &Caller,
    via: Via,
    number: i64,
    entry: i64,
    pinned: bool,
) -> Result<Json<IncidentState>, Problem> {
    let store = state.store.as_ref();
    let already = core::context(store, &caller.principal, number)
        .await?
        .response
        .pinned
        .contains(&entry)
        == pinned;
    if !already {
        core::pin(
            store,
            via.actor(caller),
            number,
            entry,
            pinned,
            state.clock.now(),
        )
        .await?;
    }
    answer(state, number).await
}

/// Pins a timeline entry as a key moment (the review lists pinned moments).
#[utoipa::path(put, path = "/api/v1/incidents/{number}/pins/{entry}", tag = "response",
    params(("number" = i64, Path, description = "The incident's number"),
        ("entry" = i64, Path, description = "A timeline entry id (source `entry`)"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 200, body = IncidentState),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn pin(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path((number, entry)): Path<(i64, i64)>,
) -> Result<Json<IncidentState>, Problem> {
    pin_or_unpin(&state, &caller, via, number, entry, true).await
}

/// Unpins a timeline entry.
#[utoipa::path(delete, path = "/api/v1/incidents/{number}/pins/{entry}", tag = "response",
    params(("number" = i64, Path, description = "The incident's number"),
        ("entry" = i64, Path, description = "A timeline entry id"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 200, body = IncidentState),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn unpin(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path((number, entry)): Path<(i64, i64)>,
) -> Result<Json<IncidentState>, Problem> {
    pin_or_unpin(&state, &caller, via, number, entry, false).await
}

// ---------------------------------------------------------------------------
// Stakeholders, cadence, updates

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StakeholderRequest {
    /// A user (`alice` or `user:alice`), `team:NAME`, or a destination
    /// `kind:address` (`slack:C0123`, `email:leads@example.com`).
    pub stakeholder: String,
}

/// Adds a stakeholder: told of every update.
#[utoipa::path(post, path = "/api/v1/incidents/{number}/stakeholders", tag = "response",
    request_body = StakeholderRequest,
    params(("number" = i64, Path, description = "The incident's number"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 200, body = IncidentState),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_stakeholder(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path(number): Path<i64>,
    body: Bytes,
) -> Result<Json<IncidentState>, Problem> {
    let req: StakeholderRequest = json_body(&body)?;
    core::add_stakeholder(
        state.store.as_ref(),
        via.actor(&caller),
        number,
        &req.stakeholder,
        state.clock.now(),
    )
    .await?;
    answer(&state, number).await
}

/// Removes a stakeholder, written as listed (`user:alice`, `team:payments`,
/// `email:leads@example.com`; a bare name is a user).
#[utoipa::path(delete, path = "/api/v1/incidents/{number}/stakeholders/{stakeholder}", tag = "response",
    params(("number" = i64, Path, description = "The incident's number"),
        ("stakeholder" = String, Path, description = "As listed in `stakeholders`"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 200, body = IncidentState),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_stakeholder(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path((number, stakeholder)): Path<(i64, String)>,
) -> Result<Json<IncidentState>, Problem> {
    let stakeholder = if stakeholder.contains(':') {
        stakeholder
    } else {
        format!("user:{}", stakeholder.trim())
    };
    core::remove_stakeholder(
        state.store.as_ref(),
        via.actor(&caller),
        number,
        &stakeholder,
        state.clock.now(),
    )
    .await?;
    answer(&state, number).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CadenceRequest {
    /// Minutes between stakeholder updates (5 … 1440); null for none.
    pub every_minutes: Option<i64>,
}

/// Sets how often stakeholders get an update; the next one is due a period
/// from now, and the commander is reminded when it is overdue.
#[utoipa::path(put, path = "/api/v1/incidents/{number}/cadence", tag = "response",
    request_body = CadenceRequest,
    params(("number" = i64, Path, description = "The incident's number"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 200, body = IncidentState),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_cadence(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path(number): Path<i64>,
    body: Bytes,
) -> Result<Json<IncidentState>, Problem> {
    let req: CadenceRequest = json_body(&body)?;
    core::set_cadence(
        state.store.as_ref(),
        via.actor(&caller),
        number,
        req.every_minutes,
        state.clock.now(),
    )
    .await?;
    answer(&state, number).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    /// investigating, identified, monitoring or resolved.
    pub state: String,
    /// internal (default) or public (also on the status page).
    pub audience: Option<String>,
    pub body: String,
}

/// Posts a stakeholder update: on the timeline and sent to every
/// stakeholder; the next one is due a cadence from now.
#[utoipa::path(post, path = "/api/v1/incidents/{number}/updates", tag = "response",
    request_body = UpdateRequest,
    params(("number" = i64, Path, description = "The incident's number"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 201, body = IncidentState),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_update(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path(number): Path<i64>,
    body: Bytes,
) -> Result<(StatusCode, Json<IncidentState>), Problem> {
    let req: UpdateRequest = json_body(&body)?;
    let update_state = UpdateState::parse(&req.state).ok_or_else(|| {
        bad(
            "state",
            format!(
                "{:?} is not one of investigating, identified, monitoring, resolved",
                req.state
            ),
        )
    })?;
    let audience = match req.audience.as_deref() {
        None => Audience::Internal,
        Some(a) => Audience::parse(a)
            .ok_or_else(|| bad("audience", format!("{a:?} is neither internal nor public")))?,
    };
    core::post_update(
        state.store.as_ref(),
        via.actor(&caller),
        number,
        update_state,
        audience,
        &req.body,
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, answer(&state, number).await?))
}

// ---------------------------------------------------------------------------
// Merge and close

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The incident to merge this one into.
    pub into: i64,
}

/// Merges this incident into another: its alerts continue there, it is
/// resolved and points at the other. Answers the incident merged into.
#[utoipa::path(post, path = "/api/v1/incidents/{number}/merge", tag = "response",
    request_body = MergeRequest,
    params(("number" = i64, Path, description = "The incident to merge away"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 200, body = IncidentState),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn merge(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path(number): Path<i64>,
    body: Bytes,
) -> Result<Json<IncidentState>, Problem> {
    let req: MergeRequest = json_body(&body)?;
    let into = core::merge(
        state.store.as_ref(),
        via.actor(&caller),
        number,
        req.into,
        state.clock.now(),
    )
    .await?;
    answer(&state, into.number).await
}

/// Closes a resolved incident. Severities that need a review (Sev1 and Sev2
/// unless `tocsin serve --review-required` says otherwise) close only once
/// their review is marked done: 409 saying so.
#[utoipa::path(post, path = "/api/v1/incidents/{number}/close", tag = "response",
    params(("number" = i64, Path, description = "The incident's number"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 200, body = IncidentState),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path(number): Path<i64>,
) -> Result<Json<IncidentState>, Problem> {
    core::close(
        state.store.as_ref(),
        via.actor(&caller),
        number,
        &state.review_required,
        state.clock.now(),
    )
    .await?;
    answer(&state, number).await
}

// ---------------------------------------------------------------------------
// The timeline

/// One moment of an incident: an ingested event or a timeline entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineItem {
    /// Unique within its source.
    pub id: i64,
    pub at: String,
    /// `event` (from an integration) or `entry` (everything else).
    pub source: String,
    /// For entries their kind (`note`, `incident.severity`,
    /// `role.handed_over`, …); for events `event.` and the action
    /// (`event.trigger`, `event.resolve`, …).
    pub kind: String,
    /// The moment in words.
    pub text: String,
    /// Who: a person or token for entries, the integration for events.
    pub actor: String,
    /// Pinned as a key moment (entries only).
    pub pinned: bool,
    /// The entry's detail, or the normalized event.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl TimelineItem {
    fn entry(e: TimelineRecord, pinned: &[i64]) -> TimelineItem {
        TimelineItem {
            id: e.id,
            at: e.at.to_string(),
            source: "entry".into(),
            text: tocsin_domain::response::timeline::describe(&e.kind, &e.detail),
            kind: e.kind,
            actor: e.actor,
            pinned: pinned.contains(&e.id),
            detail: e.detail,
        }
    }

    fn event(e: EventRecord) -> TimelineItem {
        let action = serde_json::to_value(e.event.action)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let mut text = format!("{action} from {}: {}", e.integration, e.event.summary);
        if let Some(source) = &e.event.source {
            text.push_str(&format!(" (on {source})"));
        }
        TimelineItem {
            id: e.id,
            at: e.received_at.to_string(),
            source: "event".into(),
            kind: format!("event.{action}"),
            text,
            actor: e.integration.to_string(),
            pinned: false,
            detail: serde_json::to_value(&e.event).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// Only entries with an id above this (what a live view asks for).
    pub after: Option<i64>,
    /// Only events with an id above this.
    pub after_event: Option<i64>,
    /// At most this many of each source (default 500, at most 1000).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelinePage {
    /// Events and entries merged, oldest first.
    pub items: Vec<TimelineItem>,
    /// Pass as `after` to get only what comes next.
    pub after: i64,
    /// Pass as `after_event` to get only what comes next.
    pub after_event: i64,
}

/// The incident's one timeline: its ingested events and its entries (pages,
/// deliveries, acknowledgements, notes, roles, updates, …) in time order.
#[utoipa::path(get, path = "/api/v1/incidents/{number}/timeline", tag = "response",
    params(("number" = i64, Path, description = "The incident's number"), TimelineParams),
    responses(
        (status = 200, body = TimelinePage),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn timeline(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<i64>,
    Params(p): Params<TimelineParams>,
) -> Result<Json<TimelinePage>, Problem> {
    caller.authorize(&Action::Read)?;
    let store = state.store.as_ref();
    if store.get_incident(number).await?.is_none() {
        return Err(Problem::not_found(format!("no incident #{number}")));
    }
    let limit = p.limit.unwrap_or(500).clamp(1, 1000);
    let after = p.after.unwrap_or(0);
    let after_event = p.after_event.unwrap_or(0);
    let pinned = store.response(number).await?.pinned;
    let entries = store.timeline_after(number, after, limit).await?;
    let events: Vec<EventRecord> = store
        .incident_events(number, 1000)
        .await?
        .into_iter()
        .filter(|e| e.id > after_event)
        .take(limit as usize)
        .collect();
    let next_after = entries.iter().map(|e| e.id).max().unwrap_or(after);
    let next_after_event = events.iter().map(|e| e.id).max().unwrap_or(after_event);
    let mut timed: Vec<(jiff::Timestamp, u8, TimelineItem)> = events
        .into_iter()
        .map(|e| (e.received_at, 0, TimelineItem::event(e)))
        .chain(
            entries
                .into_iter()
                .map(|e| (e.at, 1, TimelineItem::entry(e, &pinned))),
        )
        .collect();
    timed.sort_by_key(|a| (a.0, a.1, a.2.id));
    Ok(Json(TimelinePage {
        items: timed.into_iter().map(|(_, _, i)| i).collect(),
        after: next_after,
        after_event: next_after_event,
    }))
}

/// The response part of `GET /incidents/{n}`.
pub(super) async fn response_of(state: &AppState, number: i64) -> Result<ResponseView, Problem> {
    Ok(state.store.response(number).await?.into())
}

/// The `If-Match` version, if the request sent one (`"3"`, `W/"3"` or `3`).
pub(super) fn if_match(headers: &HeaderMap) -> Result<Option<i64>, Problem> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let s = v.to_str().unwrap_or("").trim();
    let s = s.strip_prefix("W/").unwrap_or(s).trim_matches('"');
    s.parse::<i64>().map(Some).map_err(|_| {
        bad(
            "If-Match",
            "must be the review's ETag (its version, as \"3\")",
        )
    })
}
