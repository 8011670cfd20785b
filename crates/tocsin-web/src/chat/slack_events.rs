//! Slack's Events API: mentions of the app in channels (`app_mention`) and
//! direct messages to it (`message` with `channel_type: im`) run as
//! command lines, answered with the Web API.
//!
//! Requests are verified as slash commands are ([`super::slack::verify`]:
//! the signing secret on the raw body, 5 minutes). `url_verification`
//! answers the challenge. An `event_callback` that is a command is
//! answered `200` at once (Slack wants an answer within 3 seconds and
//! redelivers otherwise) and run in a task of its own:
//! the member is matched ([`super::slack::slack_member`]), the line run
//! through `tocsin_core::chatops`, and the answer posted — a public one
//! with `chat.postMessage` in the channel as a reply in the mention's
//! thread, a private one with `chat.postEphemeral` to the member; in a DM
//! every answer is an ordinary message there (only the member sees it, and
//! an ephemeral one would vanish on reload).
//!
//! Invariants:
//! - A command runs at most once: the event id is recorded
//!   (`ChatStore::receive_once("slack:<event_id>")`) before the task
//!   starts; a redelivery (`X-Slack-Retry-Num`), or the same event seen by
//!   another instance, is acknowledged and skipped.
//! - The app never answers itself: messages with a `bot_id`, from the
//!   app's own member id, or with a subtype (`bot_message`,
//!   `message_changed`, …) are ignored.
//! - Without the Web API (`--slack-bot-token`) nothing is run: its answer
//!   could not be shown.

use super::Run;
use super::slack::{command_line, message, run_as, verified};
use crate::problem::Problem;
use crate::server::AppState;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

pub const EVENTS_PATH: &str = "/chat/slack/events";

pub fn router() -> Router<AppState> {
    Router::new().route(EVENTS_PATH, post(events))
}

/// An Events API request body: its outer envelope.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    challenge: String,
    #[serde(default)]
    event_id: String,
    #[serde(default)]
    event: Option<Event>,
    /// Whom the event is delivered for: the app's bot user among them.
    #[serde(default)]
    authorizations: Vec<Authorization>,
}

#[derive(Debug, Deserialize)]
struct Authorization {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    is_bot: bool,
}

/// The inner event; only what tocsin reads of it.
#[derive(Debug, Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    subtype: Option<String>,
    #[serde(default)]
    bot_id: Option<String>,
    #[serde(default)]
    user: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    ts: String,
    #[serde(default)]
    thread_ts: Option<String>,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    channel_type: Option<String>,
}

/// A command to run, read from an event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Request {
    member: String,
    channel: String,
    /// The thread to answer in (none in a DM).
    thread_ts: Option<String>,
    /// Whether the event came from a DM with the app.
    direct: bool,
    /// The text as Slack sent it.
    text: String,
    /// The app's own member id, when the envelope says.
    bot: Option<String>,
}

/// The command an event carries, if it is one tocsin answers.
fn request_of(envelope: &Envelope) -> Option<Request> {
    let event = envelope.event.as_ref()?;
    let bot = envelope
        .authorizations
        .iter()
        .find(|a| a.is_bot && !a.user_id.is_empty())
        .map(|a| a.user_id.clone());
    if event.subtype.is_some()
        || event.bot_id.is_some()
        || event.user.is_empty()
        || event.channel.is_empty()
        || bot.as_deref() == Some(event.user.as_str())
    {
        return None;
    }
    let direct = match event.kind.as_str() {
        // A mention in a DM also arrives as the DM's `message` event.
        "app_mention" if event.channel.starts_with('D') => return None,
        "app_mention" => false,
        "message" if event.channel_type.as_deref() == Some("im") => true,
        _ => return None,
    };
    let thread_ts = if direct {
        None
    } else {
        Some(event.thread_ts.clone().unwrap_or_else(|| event.ts.clone()))
    };
    Some(Request {
        member: event.user.clone(),
        channel: event.channel.clone(),
        thread_ts,
        direct,
        text: event.text.clone(),
        bot,
    })
}

async fn events(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(p) = verified(&state, &headers, &body) {
        return p.into_response();
    }
    let envelope: Envelope = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(e) => {
            return Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-input",
                "Invalid input",
                format!("the body is not a Slack Events API request: {e}"),
            )
            .into_response();
        }
    };
    match envelope.kind.as_str() {
        "url_verification" => {
            return Json(json!({ "challenge": envelope.challenge })).into_response();
        }
        "event_callback" => {}
        // `app_rate_limited` and whatever Slack adds: nothing to do.
        _ => return StatusCode::OK.into_response(),
    }
    let Some(request) = request_of(&envelope) else {
        return StatusCode::OK.into_response();
    };
    let Some(api) = state.slack_api.clone() else {
        tracing::warn!(
            "a Slack event asks for a command, but this hub has no Slack bot token to answer \
             with: start `tocsin serve` with --slack-bot-token (TOCSIN_SLACK_BOT_TOKEN)"
        );
        return StatusCode::OK.into_response();
    };
    let receipt = if envelope.event_id.is_empty() {
        format!(
            "slack:{}:{}",
            request.channel,
            request.thread_ts.as_deref().unwrap_or_default()
        )
    } else {
        format!("slack:{}", envelope.event_id)
    };
    match state.store.receive_once(&receipt, state.clock.now()).await {
        Ok(true) => {}
        Ok(false) => {
            let retry = headers
                .get("x-slack-retry-num")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::debug!(%receipt, retry, "Slack event already answered; skipped");
            return StatusCode::OK.into_response();
        }
        Err(e) => {
            // Slack redelivers after an error: the command can run then.
            tracing::error!(error = %e, "recording a Slack event");
            return Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store-unavailable",
                "Try again",
                "tocsin could not record the event; Slack will deliver it again",
            )
            .into_response();
        }
    }
    tokio::spawn(async move { answer(state, api, request).await });
    StatusCode::OK.into_response()
}

/// Runs the request's command and posts the answer.
async fn answer(state: AppState, api: tocsin_notify::slack_api::WebApi, request: Request) {
    let line = command_line(
        state.store.as_ref(),
        &request.text,
        Some(
            request
                .bot
                .as_deref()
                .unwrap_or_else(|| first_mention(&request.text)),
        ),
    )
    .await;
    let answer = run_as(&state, &request.member, Run::Line(&line)).await;
    let reply: Value = message(&answer);
    let thread = request.thread_ts.as_deref();
    let sent = if answer.public || request.direct {
        api.post_message(&request.channel, thread, &reply)
            .await
            .map(|_| ())
    } else {
        api.post_ephemeral(&request.channel, &request.member, thread, &reply)
            .await
    };
    if let Err(e) = sent {
        tracing::warn!(
            error = %e,
            channel = %request.channel,
            "answering a Slack event"
        );
    }
}

/// The member id of the first mention in `text` (`<@U…>`): the app's,
/// in an `app_mention`, when the envelope does not say who the app is.
fn first_mention(text: &str) -> &str {
    text.find("<@")
        .map(|i| &text[i + 2..])
        .and_then(|rest| rest.find(['>', '|']).map(|end| &rest[..end]))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(event: Value) -> Envelope {
        serde_json::from_value(json!({
            "type": "event_callback",
            "event_id": "Ev1",
            "authorizations": [{ "user_id": "UBOT", "is_bot": true }],
            "event": event,
        }))
        .unwrap()
    }

    #[test]
    fn mentions_are_answered_in_their_thread() {
        let r = request_of(&envelope(json!({
            "type": "app_mention", "user": "U1", "text": "<@UBOT> ack 1",
            "ts": "1.1", "channel": "C1",
        })))
        .unwrap();
        assert_eq!(r.thread_ts.as_deref(), Some("1.1"));
        assert!(!r.direct);
        assert_eq!(r.bot.as_deref(), Some("UBOT"));
        let r = request_of(&envelope(json!({
            "type": "app_mention", "user": "U1", "text": "<@UBOT> ack 1",
            "ts": "1.2", "thread_ts": "1.1", "channel": "C1",
        })))
        .unwrap();
        assert_eq!(r.thread_ts.as_deref(), Some("1.1"));
    }

    #[test]
    fn direct_messages_are_answered_but_not_other_messages() {
        let dm = request_of(&envelope(json!({
            "type": "message", "channel_type": "im", "user": "U1", "text": "help",
            "ts": "1.1", "channel": "D1",
        })))
        .unwrap();
        assert!(dm.direct);
        assert_eq!(dm.thread_ts, None);
        for event in [
            json!({ "type": "message", "channel_type": "channel", "user": "U1", "text": "ack 1", "ts": "1", "channel": "C1" }),
            json!({ "type": "message", "channel_type": "im", "subtype": "bot_message", "bot_id": "B1", "text": "x", "ts": "1", "channel": "D1" }),
            json!({ "type": "message", "channel_type": "im", "subtype": "message_changed", "ts": "1", "channel": "D1" }),
            json!({ "type": "message", "channel_type": "im", "user": "UBOT", "text": "#1 acknowledged", "ts": "1", "channel": "D1" }),
            json!({ "type": "message", "channel_type": "im", "user": "UBOT", "bot_id": "B1", "text": "x", "ts": "1", "channel": "D1" }),
            json!({ "type": "app_mention", "user": "U1", "text": "<@UBOT> help", "ts": "1", "channel": "D1" }),
            json!({ "type": "reaction_added", "user": "U1", "ts": "1", "channel": "C1" }),
        ] {
            assert_eq!(request_of(&envelope(event.clone())), None, "{event}");
        }
    }

    #[test]
    fn the_first_mention_is_found() {
        assert_eq!(first_mention("<@UBOT> ack 1"), "UBOT");
        assert_eq!(first_mention("hey <@UBOT|tocsin> ack 1"), "UBOT");
        assert_eq!(first_mention("ack 1"), "");
    }
}
