//! Slack: slash commands and the buttons on tocsin's Slack messages.
//!
//! Every request is checked against the app's signing secret on the raw
//! body before anything is parsed: `X-Slack-Request-Timestamp` within
//! [`MAX_SKEW`] of the hub's clock and `X-Slack-Signature` =
//! `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`, compared in
//! constant time; otherwise 401. Without a signing secret the endpoints
//! answer 503 saying how to set one. The Slack member is matched to the
//! catalog user with a `slack` contact method of that member id
//! (`docs/chatops.md`, "Slack").

use super::{Member, member};
use crate::problem::Problem;
use crate::server::AppState;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, State};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use sha2::Sha256;
use tocsin_core::chatops;
use tocsin_domain::catalog::ContactKind;
use tocsin_domain::response::Interface;

pub const COMMANDS_PATH: &str = "/chat/slack/commands";
pub const INTERACTIONS_PATH: &str = "/chat/slack/interactions";

/// How far a request's timestamp may be from the hub's clock, either way.
pub const MAX_SKEW: i64 = 5 * 60;

/// The buttons' `action_id`s, as `tocsin-notify`'s Slack channel sets them.
const ACTION_ACKNOWLEDGE: &str = "tocsin.acknowledge";
const ACTION_RESOLVE: &str = "tocsin.resolve";
const ACTION_ESCALATE: &str = "tocsin.escalate";
const ACTION_OPEN: &str = "tocsin.open";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(COMMANDS_PATH, post(command))
        .route(INTERACTIONS_PATH, post(interaction))
}

/// Why a request was not accepted as Slack's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    MissingTimestamp,
    Stale,
    MissingSignature,
    BadSignature,
}

impl Rejected {
    fn detail(self) -> &'static str {
        match self {
            Rejected::MissingTimestamp => "X-Slack-Request-Timestamp is missing or not a number",
            Rejected::Stale => {
                "X-Slack-Request-Timestamp is more than 5 minutes from the hub's clock"
            }
            Rejected::MissingSignature => "X-Slack-Signature is missing or not v0=<hex>",
            Rejected::BadSignature => "X-Slack-Signature does not match the signing secret",
        }
    }
}

/// Checks a request's timestamp and signature on its raw body.
pub fn verify(
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: Timestamp,
) -> Result<(), Rejected> {
    let timestamp = headers
        .get("x-slack-request-timestamp")
        .and_then(|v| v.to_str().ok())
        .ok_or(Rejected::MissingTimestamp)?;
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| Rejected::MissingTimestamp)?;
    if now.as_second().abs_diff(seconds) > MAX_SKEW.unsigned_abs() {
        return Err(Rejected::Stale);
    }
    let given = headers
        .get("x-slack-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("v0="))
        .and_then(|hex_sig| hex::decode(hex_sig).ok())
        .ok_or(Rejected::MissingSignature)?;
    let mut mac = signer(secret);
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&given).map_err(|_| Rejected::BadSignature)
}

/// The `X-Slack-Signature` Slack would send for `body` at `timestamp`.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = signer(secret);
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn signer(secret: &str) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    #[allow(clippy::expect_used)]
    Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length")
}

/// The raw body, verified; or the answer to give instead.
fn verified(state: &AppState, headers: &HeaderMap, body: &Bytes) -> Result<(), Problem> {
    let Some(secret) = state.slack_signing_secret.as_deref() else {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "slack-not-configured",
            "Slack is not set up",
            "this hub has no Slack signing secret: start `tocsin serve` with \
             --slack-signing-secret (or TOCSIN_SLACK_SIGNING_SECRET)",
        ));
    };
    verify(secret, headers, body, state.clock.now()).map_err(|r| {
        tracing::warn!(reason = r.detail(), "Slack request refused");
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "slack-signature",
            "Not signed by Slack",
            r.detail(),
        )
    })
}

/// Parses a verified form body.
async fn form<T: DeserializeOwned>(body: Bytes) -> Result<T, Problem> {
    let request = Request::builder()
        .method("POST")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-input",
                "Invalid input",
                e.to_string(),
            )
        })?;
    Form::<T>::from_request(request, &())
        .await
        .map(|Form(t)| t)
        .map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-input",
                "Invalid input",
                e.body_text(),
            )
        })
}

#[derive(Debug, Deserialize)]
struct SlashCommand {
    #[serde(default)]
    text: String,
    user_id: String,
}

async fn command(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(p) = verified(&state, &headers, &body) {
        return p.into_response();
    }
    let cmd: SlashCommand = match form(body).await {
        Ok(c) => c,
        Err(p) => return p.into_response(),
    };
    let answer = run_as(&state, &cmd.user_id, &cmd.text).await;
    Json(json!({
        "response_type": if answer.public { "in_channel" } else { "ephemeral" },
        "text": answer.text,
    }))
    .into_response()
}

#[derive(Debug, Deserialize)]
struct InteractionForm {
    payload: String,
}

#[derive(Debug, Deserialize)]
struct Interaction {
    #[serde(rename = "type")]
    kind: String,
    user: SlackUser,
    #[serde(default)]
    actions: Vec<Action>,
}

#[derive(Debug, Deserialize)]
struct SlackUser {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Action {
    action_id: String,
    #[serde(default)]
    value: String,
}

async fn interaction(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(p) = verified(&state, &headers, &body) {
        return p.into_response();
    }
    let form: InteractionForm = match form(body).await {
        Ok(f) => f,
        Err(p) => return p.into_response(),
    };
    let payload: Interaction = match serde_json::from_str(&form.payload) {
        Ok(p) => p,
        Err(e) => {
            return Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-input",
                "Invalid input",
                format!("payload is not a Slack interaction: {e}"),
            )
            .into_response();
        }
    };
    // Other interactions (shortcuts, view submissions) are not ours.
    let Some(action) = payload
        .actions
        .first()
        .filter(|_| payload.kind == "block_actions")
    else {
        return StatusCode::OK.into_response();
    };
    let verb = match action.action_id.as_str() {
        ACTION_ACKNOWLEDGE => "ack",
        ACTION_RESOLVE => "resolve",
        ACTION_ESCALATE => "escalate",
        // A link button: Slack opens the URL; nothing to do.
        ACTION_OPEN => return StatusCode::OK.into_response(),
        other => {
            return button_answer(&format!("tocsin does not know the button {other:?}."));
        }
    };
    let number = action.value.trim().trim_start_matches('#');
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return button_answer(&format!(
            "This button does not name an incident ({:?}).",
            action.value
        ));
    }
    let answer = run_as(&state, &payload.user.id, &format!("{verb} {number}")).await;
    button_answer(&answer.text)
}

/// A button's answer: only for whoever pressed it; the original message
/// is left alone (the notification pipeline updates it).
fn button_answer(text: &str) -> Response {
    Json(json!({
        "response_type": "ephemeral",
        "replace_original": false,
        "text": text,
    }))
    .into_response()
}

/// Runs `text` as the tocsin user linked to the Slack member `user_id`.
async fn run_as(state: &AppState, user_id: &str, text: &str) -> chatops::Answer {
    let refused = |text: String| chatops::Answer {
        text,
        ok: false,
        public: false,
    };
    match member(state.store.as_ref(), ContactKind::Slack, user_id).await {
        Ok(Member::Known(principal)) => {
            chatops::execute(
                state.store.as_ref(),
                &principal,
                Interface::Slack,
                text,
                state.clock.now(),
            )
            .await
        }
        Ok(Member::NoAccount(user)) => refused(format!(
            "Your Slack account is linked to the tocsin user {user}, who has no tocsin \
             account yet. Ask a tocsin admin to create one \
             (`tocsin user create {user}`); then try again."
        )),
        Ok(Member::Unknown) => refused(format!(
            "tocsin does not know who you are on Slack. To link your Slack account, add a \
             contact method of type `slack` with your Slack member id ({user_id}) to your \
             user in the manifests, e.g. `{{ name: slack, type: slack, address: {user_id} }}`, \
             and apply them."
        )),
        Err(e) => {
            tracing::error!(error = %e, "looking up a Slack member");
            refused("tocsin could not look you up just now; try again in a moment.".into())
        }
    }
}
