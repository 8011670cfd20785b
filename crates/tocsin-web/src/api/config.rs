//! Config as code over HTTP, for CI pipelines: send the manifest files,
//! get the plan, or apply it.

use crate::auth::Caller;
use crate::problem::{FieldProblem, JsonBody, Problem};
use crate::server::AppState;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use tocsin_core::catalog::{self, ConfigError, PlanView};
use tocsin_core::manifest::{self, ManifestError, Source};
use tocsin_domain::access::Action;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManifestRequest {
    /// Every manifest file of the configuration: a file missing here is a
    /// file whose objects are not declared.
    pub files: Vec<ManifestFile>,
    /// Delete objects managed by config that no manifest declares any more.
    #[serde(default)]
    pub prune: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// The file's path in the repository, used in error messages and as the
    /// objects' source.
    pub path: String,
    /// The YAML text.
    pub content: String,
}

fn located(errors: Vec<ManifestError>) -> Problem {
    let n = errors.len();
    let fields = errors
        .into_iter()
        .map(|e| FieldProblem {
            field: e.path,
            message: e.message,
            file: Some(e.file),
            line: (e.line > 0).then_some(e.line),
            column: (e.column > 0).then_some(e.column),
        })
        .collect();
    Problem::invalid(
        format!("{n} problem(s) in the manifests; nothing was changed"),
        fields,
    )
}

async fn compute(
    state: &AppState,
    req: ManifestRequest,
) -> Result<tocsin_domain::plan::Plan, Problem> {
    if req.files.is_empty() {
        return Err(Problem::invalid(
            "no manifest files were sent",
            vec![Problem::field("files", "must list at least one file")],
        ));
    }
    let sources = req
        .files
        .into_iter()
        .map(|f| Source {
            path: f.path,
            text: f.content,
        })
        .collect();
    let manifests = manifest::parse(sources);
    match catalog::plan(
        state.store.as_ref(),
        &manifests,
        req.prune,
        &catalog::process_env,
    )
    .await
    {
        Ok(plan) => Ok(plan),
        Err(ConfigError::Invalid(errors)) => Err(located(errors)),
        Err(ConfigError::Store(e)) => Err(e.into()),
    }
}

/// Shows what applying these manifests would change; changes nothing.
#[utoipa::path(post, path = "/api/v1/config/plan", tag = "config",
    request_body = ManifestRequest,
    responses(
        (status = 200, body = PlanView),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn plan(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<ManifestRequest>,
) -> Result<Json<PlanView>, Problem> {
    caller.authorize(&Action::Read)?;
    let plan = compute(&state, req).await?;
    Ok(Json(catalog::view(&plan)))
}

/// Applies the manifests in one transaction: everything or nothing.
#[utoipa::path(post, path = "/api/v1/config/apply", tag = "config",
    request_body = ManifestRequest,
    responses(
        (status = 200, description = "Applied; the body is the plan that was carried out", body = PlanView),
        (status = 409, description = "An object changed while applying; plan again", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn apply(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<ManifestRequest>,
) -> Result<Json<PlanView>, Problem> {
    caller.authorize(&Action::Administer)?;
    let plan = compute(&state, req).await?;
    catalog::apply(
        state.store.as_ref(),
        &plan,
        &caller.actor(),
        state.clock.now(),
    )
    .await?;
    tracing::info!(token = %caller.token.name, changes = plan.changes.len(), "config applied over the API");
    Ok(Json(catalog::view(&plan)))
}
