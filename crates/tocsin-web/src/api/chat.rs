//! ChatOps over the API: one command line in, the executor's answer out.
//! `tocsin chat "ack 8"` uses it; the rules (parsing, who may, what each
//! command does) are all in `tocsin_core::chatops`.

use super::response::Via;
use crate::auth::Caller;
use crate::problem::{JsonBody, Problem};
use crate::server::AppState;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tocsin_core::chatops;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatCommand {
    /// One command line, as typed in chat: "ack 8", "help page".
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatAnswer {
    /// Plain text: one summary line, then details.
    pub text: String,
    /// Whether the command did what was asked.
    pub ok: bool,
    /// For the channel (a change) or only for the caller (help, usage
    /// errors, refusals).
    pub public: bool,
}

/// Runs a chat command as the caller. 200 with the answer even when the
/// command was refused (`ok: false`); 422 only for a malformed body.
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
) -> Json<ChatAnswer> {
    let a = chatops::execute(
        state.store.as_ref(),
        &caller.principal,
        via.0,
        &req.text,
        state.clock.now(),
    )
    .await;
    Json(ChatAnswer {
        text: a.text,
        ok: a.ok,
        public: a.public,
    })
}
