//! The hub watches itself: liveness, readiness and its own metrics.

use crate::problem::Problem;
use crate::server::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Liveness: the process answers. Never touches the database, so a
/// database outage does not get the process restarted.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    pub status: &'static str,
    pub database: &'static str,
    /// Migration versions applied / known to this binary.
    pub migrations_applied: usize,
    pub migrations_known: usize,
}

/// Readiness: the database answers and its schema is the one this binary
/// expects.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, body = Ready),
    (status = 503, body = Problem, content_type = "application/problem+json"),
))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Ready>, Problem> {
    let unready = |detail: String| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            "Not ready",
            detail,
        )
    };
    state
        .store
        .ping()
        .await
        .map_err(|e| unready(format!("database unreachable: {e}")))?;
    let m = state
        .store
        .migration_status()
        .await
        .map_err(|e| unready(format!("cannot read migration state: {e}")))?;
    if !m.is_current() {
        return Err(unready(format!(
            "database schema has {} migration(s) applied, this binary knows {}; run `tocsin migrate`",
            m.applied.len(),
            m.known.len()
        )));
    }
    Ok(Json(Ready {
        status: "ok",
        database: state.store.backend().as_str(),
        migrations_applied: m.applied.len(),
        migrations_known: m.known.len(),
    }))
}
