//! Who is on call: now or at an instant, per schedule (`GET /api/v1/oncall`),
//! and one schedule's final shifts, layers and gaps over a range
//! (`GET /api/v1/schedules/{name}/shifts`).

use crate::auth::Caller;
use crate::problem::{JsonBody, Problem};
use crate::server::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use tocsin_core::catalog::ObjectView;
use tocsin_core::oncall::{self, NewOverride, OnCallError, OnCallNow, ScheduleView};
use tocsin_domain::Name;
use tocsin_domain::access::Action;
use utoipa::IntoParams;

impl From<OnCallError> for Problem {
    fn from(e: OnCallError) -> Self {
        match e {
            OnCallError::NotFound(m) => Problem::not_found(m),
            OnCallError::Invalid(m) => Problem::invalid(m.clone(), vec![Problem::field("to", m)]),
            OnCallError::Store(s) => s.into(),
        }
    }
}

fn instant(field: &str, raw: Option<&str>, default: Timestamp) -> Result<Timestamp, Problem> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => s.parse::<Timestamp>().map_err(|_| {
            Problem::invalid(
                "the query is not valid",
                vec![Problem::field(
                    field,
                    format!("{s:?} is not an RFC 3339 instant (2026-03-29T09:00:00Z)"),
                )],
            )
        }),
    }
}

fn name(field: &str, raw: Option<&str>) -> Result<Option<Name>, Problem> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Name::parse(s).map(Some).map_err(|e| {
            Problem::invalid(
                "the query is not valid",
                vec![Problem::field(field, e.to_string())],
            )
        }),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OnCallParams {
    /// RFC 3339 instant; default now.
    pub at: Option<String>,
    /// Only this team's schedules.
    pub team: Option<String>,
    /// Only this schedule.
    pub schedule: Option<String>,
}

/// Who is on call, per schedule.
#[utoipa::path(get, path = "/api/v1/oncall", tag = "oncall", params(OnCallParams),
    responses(
        (status = 200, body = Vec<OnCallNow>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn who(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<OnCallParams>,
) -> Result<Json<Vec<OnCallNow>>, Problem> {
    caller.authorize(&Action::Read)?;
    let at = instant("at", p.at.as_deref(), state.clock.now())?;
    let team = name("team", p.team.as_deref())?;
    let schedule = name("schedule", p.schedule.as_deref())?;
    Ok(Json(
        oncall::on_call(state.store.as_ref(), team.as_ref(), schedule.as_ref(), at).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    /// RFC 3339; default now.
    pub from: Option<String>,
    /// RFC 3339; default a week after `from`. At most 366 days after it.
    pub to: Option<String>,
}

/// A schedule's final shifts, each layer's shifts and the gaps over a range.
#[utoipa::path(get, path = "/api/v1/schedules/{name}/shifts", tag = "oncall",
    params(("name" = String, Path, description = "The schedule"), RangeParams),
    responses(
        (status = 200, body = ScheduleView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn shifts(
    State(state): State<AppState>,
    caller: Caller,
    Path(schedule): Path<String>,
    Query(p): Query<RangeParams>,
) -> Result<Json<ScheduleView>, Problem> {
    caller.authorize(&Action::Read)?;
    let schedule = name("name", Some(&schedule))?
        .ok_or_else(|| Problem::not_found("no schedule named \"\""))?;
    let from = instant("from", p.from.as_deref(), state.clock.now())?;
    let to = instant(
        "to",
        p.to.as_deref(),
        from + SignedDuration::from_hours(24 * 7),
    )?;
    Ok(Json(
        oncall::shifts(state.store.as_ref(), &schedule, from, to).await?,
    ))
}

/// Adds an override to a schedule (also one managed in Git): a manager of
/// its team may.
#[utoipa::path(post, path = "/api/v1/schedules/{name}/overrides", tag = "oncall",
    request_body = NewOverride,
    params(("name" = String, Path, description = "The schedule")),
    responses(
        (status = 201, body = ObjectView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_override(
    State(state): State<AppState>,
    caller: Caller,
    Path(schedule): Path<String>,
    JsonBody(req): JsonBody<NewOverride>,
) -> Result<(StatusCode, Json<ObjectView>), Problem> {
    let schedule = Name::parse(&schedule)
        .map_err(|_| Problem::not_found(format!("no schedule named {schedule:?}")))?;
    let made = oncall::create_override(
        state.store.as_ref(),
        &caller.principal,
        &caller.actor(),
        &schedule,
        req,
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// Removes an override made at run time.
#[utoipa::path(delete, path = "/api/v1/schedule-overrides/{name}", tag = "oncall",
    params(("name" = String, Path, description = "The override")),
    responses(
        (status = 204),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_override(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, Problem> {
    let name = Name::parse(&name)
        .map_err(|_| Problem::not_found(format!("no override named {name:?}")))?;
    oncall::delete_override(
        state.store.as_ref(),
        &caller.principal,
        &caller.actor(),
        &name,
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
