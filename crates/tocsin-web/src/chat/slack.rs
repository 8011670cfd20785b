//! Slack: slash commands, the buttons on tocsin's Slack messages and on
//! its confirmation prompts (the Events API is in [`super::slack_events`]).
//!
//! Every request is checked against the app's signing secret on the raw
//! body before anything is parsed: `X-Slack-Request-Timestamp` within
//! [`MAX_SKEW`] of the hub's clock and `X-Slack-Signature` =
//! `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`, compared in
//! constant time; otherwise 401. Without a signing secret the endpoints
//! answer 503 saying how to set one. The Slack member is matched to the
//! catalog user with a `slack` contact method of that member id, else
//! (with the Web API) by their Slack profile's email
//! (`docs/chatops.md`, "Slack").

use super::{Member, Run, member, member_by_email, user_named_by};
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
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::Duration;
use tocsin_core::chatops;
use tocsin_domain::catalog::ContactKind;
use tocsin_domain::response::Interface;
use tocsin_notify::slack::escape;
use tocsin_store::{Store, StoreError};

pub const COMMANDS_PATH: &str = "/chat/slack/commands";
pub const INTERACTIONS_PATH: &str = "/chat/slack/interactions";

/// How far a request's timestamp may be from the hub's clock, either way.
pub const MAX_SKEW: i64 = 5 * 60;

/// The buttons' `action_id`s, as `tocsin-notify`'s Slack channel sets them.
const ACTION_ACKNOWLEDGE: &str = "tocsin.acknowledge";
const ACTION_RESOLVE: &str = "tocsin.resolve";
const ACTION_ESCALATE: &str = "tocsin.escalate";
const ACTION_OPEN: &str = "tocsin.open";
/// The confirmation prompt's buttons: "Run it" (its `value` is the
/// confirmation token) and "Cancel".
pub const ACTION_CONFIRM: &str = "tocsin.confirm";
pub const ACTION_CANCEL: &str = "tocsin.cancel";

/// Slack's limits on a button's `value` and a section's text.
const BUTTON_VALUE_MAX: usize = 2000;
const SECTION_MAX: usize = 3000;

/// How long a slash command or button waits for `users.info` (Slack
/// wants its answer within 3 seconds).
const EMAIL_LOOKUP_TIMEOUT: Duration = Duration::from_millis(1500);

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
pub(crate) fn verified(state: &AppState, headers: &HeaderMap, body: &Bytes) -> Result<(), Problem> {
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
    let text = command_line(state.store.as_ref(), &cmd.text, None).await;
    let answer = run_as(&state, &cmd.user_id, Run::Line(&text)).await;
    let mut reply = message(&answer);
    if let Some(object) = reply.as_object_mut() {
        object.insert(
            "response_type".to_owned(),
            json!(if answer.public {
                "in_channel"
            } else {
                "ephemeral"
            }),
        );
    }
    Json(reply).into_response()
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
    /// Where to answer the press (it may replace the message).
    #[serde(default)]
    response_url: String,
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
        ACTION_CONFIRM => return confirmed(state, &payload, &action.value).await,
        ACTION_CANCEL => {
            let answer = chatops::Answer {
                text: "Cancelled; nothing ran.".to_owned(),
                ok: true,
                public: false,
                confirm: None,
            };
            return button_answer(&state, &payload, &answer, true);
        }
        // A link button: Slack opens the URL; nothing to do.
        ACTION_OPEN => return StatusCode::OK.into_response(),
        other => {
            return button_answer(
                &state,
                &payload,
                &refused(format!("tocsin does not know the button {other:?}.")),
                false,
            );
        }
    };
    let number = action.value.trim().trim_start_matches('#');
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return button_answer(
            &state,
            &payload,
            &refused(format!(
                "This button does not name an incident ({:?}).",
                action.value
            )),
            false,
        );
    }
    let line = format!("{verb} {number}");
    let answer = run_as(&state, &payload.user.id, Run::Line(&line)).await;
    button_answer(&state, &payload, &answer, false)
}

/// "Run it": runs what the token confirms. With the Web API and a
/// `response_url` the run happens after Slack has its 200 (an action may
/// take longer than Slack's 3 seconds) and its outcome replaces the
/// prompt (or, when public, is posted in the channel); without, it runs
/// before the answer.
async fn confirmed(state: AppState, payload: &Interaction, token: &str) -> Response {
    let user = payload.user.id.clone();
    let token = token.to_owned();
    if let Some(api) = state.slack_api.clone()
        && !payload.response_url.is_empty()
    {
        let url = payload.response_url.clone();
        tokio::spawn(async move {
            let answer = run_as(&state, &user, Run::Confirm(&token)).await;
            let reply = response_message(&answer, !answer.public);
            if let Err(e) = api.respond(&url, &reply).await {
                tracing::warn!(error = %e, "answering a Slack confirmation");
            }
        });
        return StatusCode::OK.into_response();
    }
    let answer = run_as(&state, &user, Run::Confirm(&token)).await;
    Json(response_message(&answer, true)).into_response()
}

/// A button's answer: only for whoever pressed it, leaving the original
/// message alone unless `replace` (the notification pipeline updates
/// pages). Slack shows a `block_actions` answer only when it is posted to
/// the `response_url`, which needs the hub's Slack client; the same JSON
/// is also the HTTP answer.
fn button_answer(
    state: &AppState,
    payload: &Interaction,
    answer: &chatops::Answer,
    replace: bool,
) -> Response {
    let mut reply = message(answer);
    if let Some(object) = reply.as_object_mut() {
        object.insert("response_type".to_owned(), json!("ephemeral"));
        object.insert("replace_original".to_owned(), json!(replace));
    }
    if let Some(api) = state.slack_api.clone()
        && !payload.response_url.is_empty()
    {
        let url = payload.response_url.clone();
        let body = reply.clone();
        tokio::spawn(async move {
            if let Err(e) = api.respond(&url, &body).await {
                tracing::warn!(error = %e, "answering a Slack button");
            }
        });
    }
    Json(reply).into_response()
}

/// A `response_url` message: the answer for the person (ephemeral),
/// replacing the message with the button when `replace`; a public answer
/// goes to the channel as a new message.
fn response_message(answer: &chatops::Answer, replace: bool) -> Value {
    let mut reply = message(answer);
    if let Some(object) = reply.as_object_mut() {
        object.insert(
            "response_type".to_owned(),
            json!(if answer.public {
                "in_channel"
            } else {
                "ephemeral"
            }),
        );
        object.insert(
            "replace_original".to_owned(),
            json!(replace && !answer.public),
        );
    }
    reply
}

/// An answer as a Slack message: its text (mrkdwn-escaped, so nothing a
/// person typed can mention or link); with a confirmation, the prompt and
/// its "Run it" / "Cancel" buttons as blocks.
pub(crate) fn message(answer: &chatops::Answer) -> Value {
    let text = escape(&answer.text);
    let Some(token) = answer.confirm.as_deref() else {
        return json!({ "text": text });
    };
    if token.len() > BUTTON_VALUE_MAX {
        return json!({
            "text": format!(
                "{text}\n\nThis command is too long to confirm with a Slack button; \
                 run it from the incident page or with `tocsin chat`."
            ),
        });
    }
    json!({
        "text": text,
        "blocks": [
            {
                "type": "section",
                "text": { "type": "mrkdwn", "text": truncate(&text, SECTION_MAX) },
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": { "type": "plain_text", "text": "Run it" },
                        "style": "primary",
                        "action_id": ACTION_CONFIRM,
                        "value": token,
                    },
                    {
                        "type": "button",
                        "text": { "type": "plain_text", "text": "Cancel" },
                        "action_id": ACTION_CANCEL,
                        "value": "cancel",
                    },
                ],
            },
        ],
    })
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A command line as typed in Slack, as the command language reads it:
/// Slack's `&amp;`, `&lt;`, `&gt;` undone, the mention of `bot` (the app)
/// removed, and a mention of a member the catalog knows (`<@U024BE7LH>`,
/// `<@U024BE7LH|bob>`) written `@bob`. Other mentions stay as they are
/// (the parser then names them).
pub(crate) async fn command_line(store: &dyn Store, text: &str, bot: Option<&str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<@") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let inner = &after[..end];
        let id = inner.split('|').next().unwrap_or_default().trim();
        rest = &after[end + 1..];
        if bot.is_some_and(|b| b == id) {
            continue;
        }
        match user_named_by(store, ContactKind::Slack, id).await {
            Ok(Some(name)) => {
                out.push('@');
                out.push_str(name.as_str());
            }
            Ok(None) => {
                out.push_str("<@");
                out.push_str(inner);
                out.push('>');
            }
            Err(e) => {
                tracing::warn!(error = %e, "looking up a mentioned Slack member");
                out.push_str("<@");
                out.push_str(inner);
                out.push('>');
            }
        }
    }
    out.push_str(rest);
    unescape(out.trim())
}

/// Undoes Slack's escaping of message text.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn refused(text: String) -> chatops::Answer {
    chatops::Answer {
        text,
        ok: false,
        public: false,
        confirm: None,
    }
}

/// Who the Slack member `user_id` is: the user with a `slack` contact
/// method of that id; failing that, with the Web API, the user with an
/// `email` contact method (or email) of the member's Slack profile.
pub(crate) async fn slack_member(state: &AppState, user_id: &str) -> Result<Member, StoreError> {
    let store = state.store.as_ref();
    let found = member(store, ContactKind::Slack, user_id).await?;
    if !matches!(found, Member::Unknown) || user_id.is_empty() {
        return Ok(found);
    }
    let Some(api) = state.slack_api.as_ref() else {
        return Ok(found);
    };
    match tokio::time::timeout(EMAIL_LOOKUP_TIMEOUT, api.member_email(user_id)).await {
        Ok(Ok(Some(email))) => member_by_email(store, &email).await,
        Ok(Ok(None)) => Ok(found),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "users.info: the Slack member's email could not be read");
            Ok(found)
        }
        Err(_) => {
            tracing::warn!("users.info: Slack did not answer in time");
            Ok(found)
        }
    }
}

/// Runs a command line (or a confirmation) as the tocsin user linked to
/// the Slack member `user_id`.
pub(crate) async fn run_as(state: &AppState, user_id: &str, run: Run<'_>) -> chatops::Answer {
    match slack_member(state, user_id).await {
        Ok(Member::Known(principal)) => super::run(state, &principal, Interface::Slack, run).await,
        Ok(Member::NoAccount(user)) => refused(format!(
            "Your Slack account is linked to the tocsin user {user}, who has no tocsin \
             account yet. Ask a tocsin admin to create one \
             (`tocsin user create {user}`); then try again."
        )),
        Ok(Member::Unknown) => {
            let mut text = format!(
                "tocsin does not know who you are on Slack. To link your Slack account, add a \
                 contact method of type `slack` with your Slack member id ({user_id}) to your \
                 user in the manifests, e.g. `{{ name: slack, type: slack, address: {user_id} }}`, \
                 and apply them."
            );
            if state.slack_api.is_some() {
                text.push_str(
                    " Or give your user a contact method of type `email` with the email \
                     address of your Slack profile.",
                );
            }
            refused(text)
        }
        Err(e) => {
            tracing::error!(error = %e, "looking up a Slack member");
            refused("tocsin could not look you up just now; try again in a moment.".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_escaping_is_undone() {
        assert_eq!(unescape("a &lt; b &amp;&amp; c &gt; d"), "a < b && c > d");
        assert_eq!(unescape("&amp;lt;"), "&lt;");
    }

    #[test]
    fn confirmations_carry_run_and_cancel_buttons() {
        let answer = chatops::Answer {
            text: "Run restart-web on web-2?".into(),
            ok: true,
            public: false,
            confirm: Some("r1.token".into()),
        };
        let m = message(&answer);
        let buttons = &m["blocks"][1]["elements"];
        assert_eq!(buttons[0]["action_id"], ACTION_CONFIRM);
        assert_eq!(buttons[0]["value"], "r1.token");
        assert_eq!(buttons[1]["action_id"], ACTION_CANCEL);
        let plain = message(&refused("a <b> & c".into()));
        assert_eq!(plain, json!({ "text": "a &lt;b&gt; &amp; c" }));
    }
}
