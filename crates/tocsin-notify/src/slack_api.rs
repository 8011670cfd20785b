//! Slack's Web API: one authenticated call and how its answer is read,
//! shared by everything that talks to Slack with the bot token — the
//! Slack delivery channel ([`crate::slack`]), incident channels
//! ([`crate::slack_rooms`]) and ChatOps's replies in `tocsin-web`.
//!
//! Slack answers almost everything with HTTP 200 and `{"ok": …}`: `ok:
//! false` carries an `error` code (and for `missing_scope` the scope that
//! was `needed`), which is a [`Refusal`]. A transport failure, a 429 (with
//! `Retry-After`) or a 5xx never reached Slack's logic and is an
//! [`ApiError::Http`], already classified as transient or permanent.
//!
//! Write methods take JSON bodies; read methods (`users.info`,
//! `conversations.list`, `auth.test`) only form bodies, as Slack
//! documents each method's accepted content types.
//!
//! Invariant: the token never appears in an error's text.

use crate::http;
use serde_json::Value;
use std::time::Duration;
use tocsin_core::notify::{SEND_TIMEOUT, SendError};

/// Slack's Web API, unless a test points elsewhere.
pub const DEFAULT_API_BASE: &str = "https://slack.com/api";

/// Web API error codes that say "not now" rather than "never".
const TRANSIENT_ERRORS: &[&str] = &[
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// Error codes that mean the token itself is no good.
const BAD_TOKEN: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "no_permission",
];

/// A call's body: JSON for write methods, a form for read methods.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    Json(&'a Value),
    Form(&'a [(&'a str, &'a str)]),
}

/// Slack answered `ok: false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The method called (`conversations.create`).
    pub method: String,
    /// Slack's error code (`name_taken`, `missing_scope`).
    pub code: String,
    /// For `missing_scope`: the scope Slack said was needed.
    pub needed: Option<String>,
    /// A `Retry-After` that came with it (rate limits).
    pub retry_after: Option<Duration>,
}

impl Refusal {
    /// Whether trying again later may work (rate limits, Slack's outages).
    pub fn is_transient(&self) -> bool {
        TRANSIENT_ERRORS.contains(&self.code.as_str())
    }

    /// What went wrong and what to do about it, for logs and dead letters.
    pub fn describe(&self) -> String {
        let Refusal { method, code, .. } = self;
        let fix = if code == "missing_scope" {
            let scope = self
                .needed
                .clone()
                .or_else(|| scope_of(method).map(str::to_owned))
                .unwrap_or_else(|| "the method's scope".to_owned());
            format!(
                ": the Slack app lacks the scope {scope}; add it under OAuth & Permissions \
                 (bot token scopes) and reinstall the app"
            )
        } else if BAD_TOKEN.contains(&code.as_str()) {
            ": the bot token is not valid; check --slack-bot-token (TOCSIN_SLACK_BOT_TOKEN) \
             against the app's Bot User OAuth Token"
                .to_owned()
        } else {
            match code.as_str() {
                "channel_not_found" => {
                    ": no such channel, or the bot cannot see it (invite the app to a private channel)"
                        .to_owned()
                }
                "not_in_channel" => {
                    ": the bot is not in the channel; invite the app to it".to_owned()
                }
                "is_archived" | "channel_is_archived" => {
                    ": the channel is archived; unarchive it".to_owned()
                }
                "user_not_found" | "users_not_found" => ": no such Slack member".to_owned(),
                _ if self.is_transient() => ": Slack asks to try again later".to_owned(),
                _ => String::new(),
            }
        };
        format!("slack: {method} refused: {code}{fix}")
    }

    /// As a delivery failure: transient for rate limits and outages.
    pub fn into_send_error(self) -> SendError {
        let reason = self.describe();
        if self.is_transient() {
            SendError::Transient {
                reason,
                retry_after: self.retry_after,
            }
        } else {
            SendError::permanent(reason)
        }
    }
}

/// The bot token scope a method needs (for messages about `missing_scope`
/// when Slack does not say).
pub fn scope_of(method: &str) -> Option<&'static str> {
    Some(match method {
        "chat.postMessage" | "chat.postEphemeral" | "chat.update" => "chat:write",
        "users.info" => "users:read (and users:read.email for the email)",
        "conversations.create" | "conversations.invite" | "conversations.setTopic" => {
            "channels:manage"
        }
        "conversations.list" => "channels:read",
        "conversations.join" => "channels:join",
        _ => return None,
    })
}

/// Why a call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Slack was not reached, or answered with an HTTP error (429, 5xx)
    /// or without JSON.
    #[error("{0}")]
    Http(SendError),
    /// Slack answered `ok: false`.
    #[error("{}", .0.describe())]
    Refused(Refusal),
}

impl ApiError {
    /// Slack's error code, when Slack refused.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Refused(r) => Some(&r.code),
            ApiError::Http(_) => None,
        }
    }

    /// Whether trying again later may work.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Http(e) => matches!(e, SendError::Transient { .. }),
            ApiError::Refused(r) => r.is_transient(),
        }
    }

    /// As a delivery failure.
    pub fn into_send_error(self) -> SendError {
        match self {
            ApiError::Http(e) => e,
            ApiError::Refused(r) => r.into_send_error(),
        }
    }
}

/// Who the token is (`auth.test`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The bot's member id (`U…`): mentions of it address the app.
    pub user_id: String,
    pub team_id: String,
}

/// A Slack Web API client with a bot token. Cheap to clone (the HTTP
/// client is shared).
#[derive(Clone)]
pub struct WebApi {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for WebApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("WebApi").field("base", &self.base).finish()
    }
}

impl WebApi {
    /// A client for `base` (`https://slack.com/api`, without a trailing
    /// slash) with the bot token `xoxb-…`; each call ends within
    /// `timeout` (zero: [`SEND_TIMEOUT`]).
    pub fn new(token: &str, base: &str, timeout: Duration) -> Result<WebApi, http::BuildError> {
        let timeout = if timeout.is_zero() {
            SEND_TIMEOUT
        } else {
            timeout
        };
        Ok(WebApi {
            client: http::client(timeout)?,
            base: base.trim().trim_end_matches('/').to_owned(),
            token: token.trim().to_owned(),
        })
    }

    /// The API's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Calls `method`; Slack's whole answer when `ok` is true.
    pub async fn call(&self, method: &str, body: Body<'_>) -> Result<Value, ApiError> {
        let request = self
            .client
            .post(format!("{}/{method}", self.base))
            .bearer_auth(&self.token);
        let request = match body {
            Body::Json(v) => request
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/json; charset=utf-8",
                )
                .body(v.to_string()),
            Body::Form(fields) => request.form(fields),
        };
        let answer = http::send("slack", request).await.map_err(ApiError::Http)?;
        if let Some(error) = answer.error() {
            return Err(ApiError::Http(error));
        }
        let parsed: Value = serde_json::from_str(&answer.body).map_err(|_| {
            ApiError::Http(SendError::transient(format!(
                "slack: {method} answered HTTP {} without JSON",
                answer.status
            )))
        })?;
        if parsed.get("ok").and_then(Value::as_bool) == Some(true) {
            return Ok(parsed);
        }
        let text = |key: &str| parsed.get(key).and_then(Value::as_str).map(str::to_owned);
        Err(ApiError::Refused(Refusal {
            method: method.to_owned(),
            code: text("error").unwrap_or_else(|| "unknown_error".to_owned()),
            needed: text("needed"),
            retry_after: answer.retry_after,
        }))
    }

    /// `auth.test`: who the token belongs to.
    pub async fn auth_test(&self) -> Result<Identity, ApiError> {
        let answer = self.call("auth.test", Body::Form(&[])).await?;
        let text = |key: &str| {
            answer
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Ok(Identity {
            user_id: text("user_id"),
            team_id: text("team_id"),
        })
    }

    /// `users.info`: the member's profile email, if their profile has one
    /// and the app may read it (scope `users:read.email`).
    pub async fn member_email(&self, member: &str) -> Result<Option<String>, ApiError> {
        let answer = self
            .call("users.info", Body::Form(&[("user", member)]))
            .await?;
        Ok(answer
            .pointer("/user/profile/email")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned))
    }

    /// `chat.postMessage` of `message` (text and blocks) to `channel`,
    /// in the thread of `thread_ts` when given; the posted message's `ts`.
    pub async fn post_message(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        message: &Value,
    ) -> Result<String, ApiError> {
        let mut body = message.clone();
        if let Some(object) = body.as_object_mut() {
            object.insert("channel".to_owned(), Value::from(channel));
            if let Some(ts) = thread_ts {
                object.insert("thread_ts".to_owned(), Value::from(ts));
            }
        }
        let answer = self.call("chat.postMessage", Body::Json(&body)).await?;
        Ok(answer
            .get("ts")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned())
    }

    /// Posts `message` to an interaction's `response_url` (a Slack URL
    /// that needs no token): the way to answer a button press, which may
    /// replace the message that carried the button.
    pub async fn respond(&self, response_url: &str, message: &Value) -> Result<(), ApiError> {
        let request = self
            .client
            .post(response_url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(message.to_string());
        let answer = http::send("slack", request).await.map_err(ApiError::Http)?;
        match answer.error() {
            Some(e) => Err(ApiError::Http(e)),
            None => Ok(()),
        }
    }

    /// `chat.postEphemeral`: `message` shown only to `member` in
    /// `channel` (in the thread of `thread_ts` when given).
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        member: &str,
        thread_ts: Option<&str>,
        message: &Value,
    ) -> Result<(), ApiError> {
        let mut body = message.clone();
        if let Some(object) = body.as_object_mut() {
            object.insert("channel".to_owned(), Value::from(channel));
            object.insert("user".to_owned(), Value::from(member));
            if let Some(ts) = thread_ts {
                object.insert("thread_ts".to_owned(), Value::from(ts));
            }
        }
        self.call("chat.postEphemeral", Body::Json(&body))
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(method: &str, code: &str, needed: Option<&str>) -> Refusal {
        Refusal {
            method: method.into(),
            code: code.into(),
            needed: needed.map(str::to_owned),
            retry_after: None,
        }
    }

    #[test]
    fn refusals_name_the_error_and_what_to_do() {
        let r = refusal(
            "conversations.create",
            "missing_scope",
            Some("channels:manage"),
        );
        assert!(!r.is_transient());
        let text = r.describe();
        assert!(text.contains("missing_scope"), "{text}");
        assert!(text.contains("channels:manage"), "{text}");
        // Slack did not say which scope: our own table does.
        let text = refusal("conversations.list", "missing_scope", None).describe();
        assert!(text.contains("channels:read"), "{text}");
        let text = refusal("chat.postMessage", "invalid_auth", None).describe();
        assert!(text.contains("--slack-bot-token"), "{text}");
        assert!(refusal("chat.postMessage", "ratelimited", None).is_transient());
        assert!(matches!(
            refusal("chat.postMessage", "ratelimited", None).into_send_error(),
            SendError::Transient { .. }
        ));
        assert!(matches!(
            refusal("chat.postMessage", "channel_not_found", None).into_send_error(),
            SendError::Permanent { .. }
        ));
    }

    #[test]
    fn the_token_is_not_in_debug_output() {
        let api = WebApi::new("xoxb-secret", "http://127.0.0.1:9/api/", Duration::ZERO).unwrap();
        assert_eq!(api.base(), "http://127.0.0.1:9/api");
        assert!(!format!("{api:?}").contains("xoxb-secret"));
    }
}
