//! Heartbeats over the API: each declared heartbeat with its status now,
//! and one heartbeat with its recent pings (runs, durations, logs). The
//! declarations themselves are read and written as manifests (`tocsin
//! apply`); the ping URLs are in `crate::heartbeat`.

use crate::auth::Caller;
use crate::problem::Problem;
use crate::server::AppState;
use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use tocsin_core::heartbeat::{self, HeartbeatView, PingView};
use tocsin_domain::Name;
use tocsin_domain::access::Action;

/// How many pings [`get_heartbeat`] returns.
const RECENT_PINGS: u32 = 50;

/// One heartbeat with its newest pings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HeartbeatDetail {
    pub heartbeat: HeartbeatView,
    /// Newest first, at most 50.
    pub pings: Vec<PingView>,
}

/// Lists every declared heartbeat with its status (new, up, late, down,
/// paused), last ping and next expected ping.
#[utoipa::path(get, path = "/api/v1/heartbeats", tag = "heartbeats",
    responses(
        (status = 200, body = Vec<HeartbeatView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_heartbeats(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<HeartbeatView>>, Problem> {
    caller.authorize(&Action::Read)?;
    Ok(Json(
        heartbeat::overview(state.store.as_ref(), &state.heartbeats, state.clock.now()).await?,
    ))
}

/// Reads one heartbeat with its newest pings: kinds, run durations, logs.
#[utoipa::path(get, path = "/api/v1/heartbeats/{name}", tag = "heartbeats",
    params(("name" = String, Path, description = "The heartbeat's name")),
    responses(
        (status = 200, body = HeartbeatDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_heartbeat(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<HeartbeatDetail>, Problem> {
    caller.authorize(&Action::Read)?;
    let not_found = || Problem::not_found(format!("no heartbeat named {name:?}"));
    let parsed = Name::parse(&name).map_err(|_| not_found())?;
    let (heartbeat, pings) = heartbeat::detail(
        state.store.as_ref(),
        &state.heartbeats,
        &parsed,
        RECENT_PINGS,
        state.clock.now(),
    )
    .await?
    .ok_or_else(not_found)?;
    Ok(Json(HeartbeatDetail { heartbeat, pings }))
}
