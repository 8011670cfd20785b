//! Fire drills over the API: start one for a service, read who it reached,
//! end it. `tocsin drill SERVICE` drives these.

use crate::auth::Caller;
use crate::problem::Problem;
use crate::server::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use tocsin_core::drill::{self, DrillError, DrillStarted, DrillStep};
use tocsin_domain::Name;
use tocsin_domain::access::Action;

impl From<DrillError> for Problem {
    fn from(e: DrillError) -> Self {
        match e {
            DrillError::NotFound(m) => Problem::not_found(m),
            DrillError::Denied(m) => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", m)
            }
            DrillError::Ingest(e) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                e.to_string(),
            ),
            DrillError::Store(s) => s.into(),
        }
    }
}

fn service(name: &str) -> Result<Name, Problem> {
    Name::parse(name).map_err(|_| Problem::not_found(format!("no service named {name:?}")))
}

/// Starts a fire drill: a `[DRILL]` Sev1 incident through the service's
/// real escalation. A responder of the service's team may.
#[utoipa::path(post, path = "/api/v1/services/{name}/drills", tag = "oncall",
    params(("name" = String, Path, description = "The service")),
    responses(
        (status = 201, body = DrillStarted),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<DrillStarted>), Problem> {
    let started = drill::start(
        state.store.as_ref(),
        &state.ingestor,
        state.clock.as_ref(),
        &caller.principal,
        &service(&name)?,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(started)))
}

/// Who a drill incident reached, at which level, how many seconds after it
/// started.
#[utoipa::path(get, path = "/api/v1/incidents/{number}/drill-report", tag = "oncall",
    params(("number" = i64, Path, description = "The drill incident")),
    responses(
        (status = 200, body = Vec<DrillStep>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<i64>,
) -> Result<Json<Vec<DrillStep>>, Problem> {
    caller.authorize(&Action::Read)?;
    let incident = state
        .store
        .get_incident(number)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no incident #{number}")))?;
    let timeline = state.store.incident_timeline(number).await?;
    Ok(Json(drill::report(&timeline, incident.created_at)))
}

/// Ends a drill (resolves its incident).
#[utoipa::path(delete, path = "/api/v1/services/{name}/drills/{key}", tag = "oncall",
    params(("name" = String, Path, description = "The service"),
           ("key" = String, Path, description = "The drill's dedup key")),
    responses(
        (status = 204),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn end(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, key)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    drill::end(
        state.store.as_ref(),
        &state.ingestor,
        state.clock.as_ref(),
        &caller.principal,
        &service(&name)?,
        &key,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
