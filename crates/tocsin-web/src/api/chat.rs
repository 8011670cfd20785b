//! ChatOps over the API: one command line in, the executor's answer out;
//! or a confirmation token in (what a `run` answered), the run's outcome
//! out. `tocsin chat "ack 8"` uses it; the rules (parsing, who may, what
//! each command does, confirmation tokens) are all in
//! `tocsin_core::chatops`. Also the record of recent runbook runs.

use super::response::{Params, Via};
use crate::auth::Caller;
use crate::problem::{JsonBody, Problem};
use crate::server::AppState;
use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tocsin_core::chatops;
use tocsin_domain::access::Action;
use utoipa::{IntoParams, ToSchema};

/// Either `text` (a command line) or `confirm` (a confirmation token),
/// not both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatCommand {
    /// One command line, as typed in chat: "ack 8", "help page".
    #[serde(default)]
    pub text: Option<String>,
    /// The token of an answer that asked to be confirmed (`confirm` of a
    /// `run` answer): runs what it showed, once.
    #[serde(default)]
    pub confirm: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatAnswer {
    /// Plain text: one summary line, then details.
    pub text: String,
    /// Whether the command did what was asked.
    pub ok: bool,
    /// For the channel (a change) or only for the caller (help, usage
    /// errors, refusals, confirmation prompts).
    pub public: bool,
    /// Present when the command waits for a confirmation (`run`): post
    /// `{"confirm": <this>}` within 5 minutes to run it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm: Option<String>,
}

/// Runs a chat command as the caller, or confirms one. 200 with the
/// answer even when the command was refused (`ok: false`); 422 only for a
/// malformed body (neither or both of `text` and `confirm`).
#[utoipa::path(post, path = "/api/v1/chat", tag = "response",
    request_body = ChatCommand,
    params(("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 200, body = ChatAnswer),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn chat(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    JsonBody(req): JsonBody<ChatCommand>,
) -> Result<Json<ChatAnswer>, Problem> {
    let store = state.store.as_ref();
    let now = state.clock.now();
    let a = match (req.text, req.confirm) {
        (Some(text), None) => {
            chatops::execute(store, &state.runbooks, &caller.principal, via.0, &text, now).await
        }
        (None, Some(token)) => {
            chatops::confirm(
                store,
                &state.runbooks,
                &caller.principal,
                via.0,
                &token,
                now,
            )
            .await
        }
        (text, _) => {
            let field = if text.is_some() { "confirm" } else { "text" };
            return Err(Problem::invalid(
                "the request body is not valid",
                vec![Problem::field(
                    field,
                    "give either text (a command line) or confirm (a confirmation token), not both or neither",
                )],
            ));
        }
    };
    Ok(Json(ChatAnswer {
        text: a.text,
        ok: a.ok,
        public: a.public,
        confirm: a.confirm,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// At most this many, newest first (default 50, at most 500).
    pub limit: Option<u32>,
}

/// One runbook run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunbookRunView {
    pub id: String,
    pub action: String,
    /// The command line that was confirmed.
    pub command: String,
    pub incident: Option<i64>,
    /// Who ran it.
    pub actor: String,
    /// Through which interface.
    pub via: String,
    pub started_at: Timestamp,
    /// Absent while it runs (or when tocsin stopped while it ran).
    pub finished_at: Option<Timestamp>,
    /// `succeeded`, `failed`, `timed_out` or `error`.
    pub outcome: Option<String>,
    /// What ran and what it answered (argv or method and URL, exit or
    /// HTTP status, duration, bounded output).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunbookRuns {
    pub runs: Vec<RunbookRunView>,
}

/// Recent runbook runs, newest first. Any signed-in reader may list them.
#[utoipa::path(get, path = "/api/v1/runbook-runs", tag = "response",
    params(RunsQuery),
    responses(
        (status = 200, body = RunbookRuns),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn runbook_runs(
    State(state): State<AppState>,
    caller: Caller,
    Params(q): Params<RunsQuery>,
) -> Result<Json<RunbookRuns>, Problem> {
    caller.authorize(&Action::Read)?;
    let runs = state
        .store
        .recent_runbook_runs(q.limit.unwrap_or(50))
        .await?
        .into_iter()
        .map(|r| RunbookRunView {
            id: r.id,
            action: r.action.to_string(),
            command: r.command,
            incident: r.incident,
            actor: r.actor,
            via: r.via,
            started_at: r.started_at,
            finished_at: r.finished_at,
            outcome: r.outcome.map(|o| o.as_str().to_owned()),
            detail: r.detail,
        })
        .collect();
    Ok(Json(RunbookRuns { runs }))
}
