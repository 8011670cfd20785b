//! Mattermost: its Slack-compatible slash commands and the buttons
//! (interactive message actions) on tocsin's Mattermost messages.
//!
//! Mattermost does not sign its requests. A slash command carries the
//! command's token (the `token` field, also sent as `Authorization: Token
//! …`), and a button carries whatever its `context` holds, so tocsin puts
//! one of its tokens there. Either must equal one of the configured tokens
//! (`tocsin serve --mattermost-token`), compared in constant time;
//! otherwise 401. Without any token the endpoints answer 503 saying how to
//! set one. The Mattermost user is matched by their username to the
//! catalog user of that name (`docs/chatops.md`, "Mattermost"): a
//! `mattermost` contact method's address is an incoming webhook URL, not a
//! member id.

use super::{Member, Run, member_named};
use crate::problem::Problem;
use crate::server::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::{Value, json};
use tocsin_core::chatops;
use tocsin_domain::response::Interface;

pub const COMMANDS_PATH: &str = "/chat/mattermost/commands";
pub const ACTIONS_PATH: &str = "/chat/mattermost/actions";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(COMMANDS_PATH, post(command))
        .route(ACTIONS_PATH, post(action))
}

/// Whether `given` equals one of `tokens`. Every token is compared, each
/// in time independent of where the bytes differ.
pub fn token_matches(tokens: &[String], given: &str) -> bool {
    let mut found = false;
    for token in tokens {
        found |= constant_time_eq(token.as_bytes(), given.as_bytes());
    }
    found && !given.is_empty()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    std::hint::black_box(diff) == 0
}

fn not_configured() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "mattermost-not-configured",
        "Mattermost is not set up",
        "this hub has no Mattermost token: start `tocsin serve` with \
         --mattermost-token (or TOCSIN_MATTERMOST_TOKENS)",
    )
}

/// Checks `given` against the configured tokens; or the answer to give.
fn verified(state: &AppState, given: Option<&str>) -> Result<(), Problem> {
    if state.mattermost_tokens.is_empty() {
        return Err(not_configured());
    }
    if given.is_some_and(|t| token_matches(&state.mattermost_tokens, t)) {
        return Ok(());
    }
    tracing::warn!("Mattermost request with a missing or unknown token refused");
    Err(Problem::new(
        StatusCode::UNAUTHORIZED,
        "mattermost-token",
        "Not from Mattermost",
        "the token is missing or is not one of this hub's Mattermost tokens",
    ))
}

#[derive(Debug, Deserialize)]
struct SlashCommand {
    #[serde(default)]
    token: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    user_name: String,
}

async fn command(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(cmd): Form<SlashCommand>,
) -> Response {
    // Mattermost sends the token both in the form and as
    // `Authorization: Token …`.
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Token "))
        .map(str::trim);
    let given = Some(cmd.token.as_str())
        .filter(|t| !t.is_empty())
        .or(header_token);
    if let Err(p) = verified(&state, given) {
        return p.into_response();
    }
    let answer = run_as(&state, &cmd.user_name, Run::Line(&cmd.text)).await;
    let mut reply = json!({
        "response_type": if answer.public { "in_channel" } else { "ephemeral" },
        "text": answer.text,
    });
    if let (Some(confirm), Some(token)) = (answer.confirm.as_deref(), given) {
        match confirmation(&state, confirm, token) {
            Some(attachment) => reply["attachments"] = json!([attachment]),
            None => {
                reply["text"] = json!(format!(
                    "{}\n\nThis hub has no --public-url, so Mattermost cannot show a \
                     confirmation button; confirm from the incident page or with `tocsin chat`.",
                    answer.text
                ));
            }
        }
    }
    Json(reply).into_response()
}

/// The confirmation prompt's buttons ("Run it", "Cancel"), posting back
/// to the hub's actions endpoint with the command's `token` (Mattermost
/// does not sign button requests) and the confirmation token; `None` when
/// the hub does not know the URL Mattermost reaches it at.
fn confirmation(state: &AppState, confirm: &str, token: &str) -> Option<Value> {
    let base = state
        .public_url
        .as_deref()
        .map(|u| u.trim().trim_end_matches('/'))
        .filter(|u| !u.is_empty())?;
    let url = format!("{base}{ACTIONS_PATH}");
    Some(json!({
        "fallback": "Confirm the command",
        "actions": [
            {
                "id": "tocsinconfirm",
                "name": "Run it",
                "style": "primary",
                "integration": {
                    "url": url,
                    "context": { "action": "confirm", "confirm": confirm, "token": token },
                },
            },
            {
                "id": "tocsincancel",
                "name": "Cancel",
                "style": "default",
                "integration": {
                    "url": url,
                    "context": { "action": "cancel", "token": token },
                },
            },
        ],
    }))
}

/// An interactive message action request, as Mattermost posts it.
#[derive(Debug, Deserialize)]
struct ActionRequest {
    #[serde(default)]
    user_name: String,
    #[serde(default)]
    context: ActionContext,
}

/// What tocsin put in the button's `context`.
#[derive(Debug, Default, Deserialize)]
struct ActionContext {
    #[serde(default)]
    token: String,
    #[serde(default)]
    action: String,
    /// The incident number: `8`, `"8"` or `"#8"`.
    #[serde(default)]
    incident: Value,
    /// For `confirm`: the confirmation token of the command.
    #[serde(default)]
    confirm: String,
}

async fn action(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let request: ActionRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            if state.mattermost_tokens.is_empty() {
                return not_configured().into_response();
            }
            return Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-input",
                "Invalid input",
                format!("the body is not a Mattermost action request: {e}"),
            )
            .into_response();
        }
    };
    if let Err(p) = verified(&state, Some(&request.context.token)) {
        return p.into_response();
    }
    let verb = match request.context.action.as_str() {
        "acknowledge" | "ack" => "ack",
        "resolve" => "resolve",
        "escalate" => "escalate",
        "confirm" => {
            let answer = run_as(
                &state,
                &request.user_name,
                Run::Confirm(&request.context.confirm),
            )
            .await;
            return action_answer(&answer.text);
        }
        "cancel" => return action_answer("Cancelled; nothing ran."),
        other => {
            return action_answer(&format!("tocsin does not know the button {other:?}."));
        }
    };
    let Some(number) = incident_number(&request.context.incident) else {
        return action_answer(&format!(
            "This button does not name an incident ({}).",
            request.context.incident
        ));
    };
    let line = format!("{verb} {number}");
    let answer = run_as(&state, &request.user_name, Run::Line(&line)).await;
    action_answer(&answer.text)
}

fn incident_number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => {
            let digits = s.trim().trim_start_matches('#');
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse().ok()
        }
        _ => None,
    }
}

/// A button's answer: shown only to whoever pressed it; the original post
/// is left alone (the notification pipeline posts updates).
fn action_answer(text: &str) -> Response {
    Json(json!({ "ephemeral_text": text })).into_response()
}

/// Runs a command line (or confirms one) as the tocsin user whose name is
/// the Mattermost username.
async fn run_as(state: &AppState, user_name: &str, run: Run<'_>) -> chatops::Answer {
    let refused = |text: String| chatops::Answer {
        text,
        ok: false,
        public: false,
        confirm: None,
    };
    match member_named(state.store.as_ref(), user_name).await {
        Ok(Member::Known(principal)) => {
            super::run(state, &principal, Interface::Mattermost, run).await
        }
        Ok(Member::NoAccount(user)) => refused(format!(
            "Your Mattermost username is the tocsin user {user}, who has no tocsin \
             account yet. Ask a tocsin admin to create one \
             (`tocsin user create {user}`); then try again."
        )),
        Ok(Member::Unknown) => refused(format!(
            "tocsin does not know who you are on Mattermost. tocsin matches your \
             Mattermost username ({user_name:?}) to the user of that name in the \
             catalog, and there is none. Ask a tocsin admin to add a user named \
             {user_name:?} to the manifests and apply them, or use the Mattermost \
             username that matches your tocsin user."
        )),
        Err(e) => {
            tracing::error!(error = %e, "looking up a Mattermost user");
            refused("tocsin could not look you up just now; try again in a moment.".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_only_exactly() {
        let tokens = vec!["abc".to_owned(), "defg".to_owned()];
        assert!(token_matches(&tokens, "abc"));
        assert!(token_matches(&tokens, "defg"));
        assert!(!token_matches(&tokens, "ab"));
        assert!(!token_matches(&tokens, "abcd"));
        assert!(!token_matches(&tokens, ""));
        assert!(!token_matches(&[], "abc"));
    }

    #[test]
    fn incident_numbers_are_read_from_numbers_and_strings() {
        assert_eq!(incident_number(&json!(8)), Some(8));
        assert_eq!(incident_number(&json!("#8")), Some(8));
        assert_eq!(incident_number(&json!(" 12 ")), Some(12));
        assert_eq!(incident_number(&json!("x8")), None);
        assert_eq!(incident_number(&json!(-1)), None);
        assert_eq!(incident_number(&Value::Null), None);
    }
}
