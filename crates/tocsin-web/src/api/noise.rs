//! Creating and ending silences and maintenance windows at run time, and
//! previewing what a silence would match. Reading them is in `catalog`
//! (they are catalog kinds). A change is seen by ingestion before the
//! answer: the integration index reloads.

use super::incidents::AlertView;
use crate::auth::Caller;
use crate::problem::{JsonBody, Problem};
use crate::server::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tocsin_core::noise::{self, NewSilence, NewWindow, NoiseError, NoiseView};
use tocsin_domain::Name;
use tocsin_domain::access::Action;
use utoipa::ToSchema;

impl From<NoiseError> for Problem {
    fn from(e: NoiseError) -> Self {
        match e {
            NoiseError::Invalid(problems) => Problem::invalid(
                "the request is not valid",
                problems
                    .into_iter()
                    .map(|(f, m)| Problem::field(&f, m))
                    .collect(),
            ),
            NoiseError::Denied(why) => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", why)
            }
            NoiseError::NotFound(what) => Problem::not_found(what),
            NoiseError::Conflict(why) => {
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", why)
            }
            NoiseError::Store(s) => s.into(),
        }
    }
}

fn name_in_path(name: &str) -> Result<Name, Problem> {
    Name::parse(name).map_err(|e| {
        Problem::invalid(
            "the name in the URL is not a valid name",
            vec![Problem::field("name", e.to_string())],
        )
    })
}

/// Makes ingestion see the change now rather than at its next reload.
async fn refresh(state: &AppState) {
    if let Err(e) = state.integrations.reload(state.clock.now()).await {
        tracing::warn!(error = %e, "reload after a silence/maintenance change failed; the periodic reload will pick it up");
    }
}

/// 201 with the new object, once ingestion sees it.
async fn created(
    state: &AppState,
    made: Result<tocsin_core::catalog::ObjectView, NoiseError>,
) -> Result<(StatusCode, Json<NoiseView>), Problem> {
    let made = made?;
    refresh(state).await;
    Ok((StatusCode::CREATED, Json(view(made, state))))
}

fn view(object: tocsin_core::catalog::ObjectView, state: &AppState) -> NoiseView {
    let now = state.clock.now();
    let active = match object.kind.as_str() {
        "silence" => noise::silence_active(&object.spec, now),
        _ => noise::window_active(&object.spec, now),
    };
    NoiseView { object, active }
}

/// Creates a silence: alerts its matchers match are recorded but page
/// nobody until it ends.
#[utoipa::path(post, path = "/api/v1/silences", tag = "noise", request_body = NewSilence,
    responses(
        (status = 201, body = NoiseView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_silence(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<NewSilence>,
) -> Result<(StatusCode, Json<NoiseView>), Problem> {
    caller.authorize(&Action::Read)?;
    let made = noise::create_silence(
        state.store.as_ref(),
        &caller.principal,
        &caller.actor(),
        req,
        state.clock.now(),
    )
    .await;
    created(&state, made).await
}

/// Ends a silence now; it stays listed as ended.
#[utoipa::path(delete, path = "/api/v1/silences/{name}", tag = "noise",
    params(("name" = String, Path, description = "The silence's name")),
    responses(
        (status = 200, body = NoiseView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn expire_silence(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<NoiseView>, Problem> {
    let name = name_in_path(&name)?;
    let ended = noise::expire_silence(
        state.store.as_ref(),
        &caller.principal,
        &caller.actor(),
        &name,
        state.clock.now(),
    )
    .await?;
    refresh(&state).await;
    Ok(Json(view(ended, &state)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// The matchers of the silence to be.
    pub matchers: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewView {
    /// How many open alerts were looked at (the newest 10,000).
    pub checked: usize,
    /// The open alerts the matchers match, newest first.
    pub matching: Vec<AlertView>,
}

/// What a silence with these matchers would match among open alerts, before
/// saving it.
#[utoipa::path(post, path = "/api/v1/silences/preview", tag = "noise",
    request_body = PreviewRequest,
    responses(
        (status = 200, body = PreviewView),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn preview_silence(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<PreviewRequest>,
) -> Result<Json<PreviewView>, Problem> {
    caller.authorize(&Action::Read)?;
    let p = noise::preview(state.store.as_ref(), &req.matchers).await?;
    Ok(Json(PreviewView {
        checked: p.checked,
        matching: p.matching.into_iter().map(AlertView::from).collect(),
    }))
}

/// Creates a maintenance window: the services' alerts are recorded but page
/// nobody while an occurrence is on.
#[utoipa::path(post, path = "/api/v1/maintenance-windows", tag = "noise", request_body = NewWindow,
    responses(
        (status = 201, body = NoiseView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_window(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<NewWindow>,
) -> Result<(StatusCode, Json<NoiseView>), Problem> {
    caller.authorize(&Action::Read)?;
    let made = noise::create_window(
        state.store.as_ref(),
        &caller.principal,
        &caller.actor(),
        req,
        state.clock.now(),
    )
    .await;
    created(&state, made).await
}

/// Deletes a maintenance window made through the API.
#[utoipa::path(delete, path = "/api/v1/maintenance-windows/{name}", tag = "noise",
    params(("name" = String, Path, description = "The window's name")),
    responses(
        (status = 204),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_window(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, Problem> {
    let name = name_in_path(&name)?;
    noise::delete_window(
        state.store.as_ref(),
        &caller.principal,
        &caller.actor(),
        &name,
        state.clock.now(),
    )
    .await?;
    refresh(&state).await;
    Ok(StatusCode::NO_CONTENT)
}
