//! Matrix: a message posted as an `m.room.message` (plain body and
//! `org.matrix.custom.html`) by a bot account, over the client-server API
//! with plain HTTP requests.
//!
//! An address is a room id (`!opaque:server`, or just `!opaque` from room
//! version 12 on), a room alias (`#ops:server`, resolved through the room
//! directory) or a user id (`@alice:server`: a direct-message room, found
//! in the bot's `m.direct` account data or created once and recorded
//! there, so every page to that person lands in the same room, across
//! restarts too).
//!
//! Invariants:
//! - The transaction id of a send is derived from the message's
//!   idempotency key and the room, so a retried send is deduplicated by
//!   the homeserver: one event, however many attempts.
//! - A resolution or update with the page's reference
//!   (`"<room id>|<event id>"`, what [`Sent::reference`] holds) is posted
//!   as a reply to the page.
//! - Rate limits (429, `M_LIMIT_EXCEEDED`), 5xx and transport failures are
//!   transient, with the homeserver's retry delay when it gives one; a
//!   refusal (`M_FORBIDDEN`, `M_UNKNOWN_TOKEN`, `M_NOT_FOUND`, other 4xx)
//!   is permanent and says the errcode.

use crate::email::{html_body, text_body};
use async_trait::async_trait;
use reqwest::header::RETRY_AFTER;
use reqwest::{Method, StatusCode, Url};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;
use tocsin_core::notify::{Channel, Delivery, SEND_TIMEOUT, SendError, Sent};
use tocsin_domain::catalog::ContactKind;
use tocsin_domain::notify::{Message, MessageKind};

/// The bot's homeserver and its access token.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// The homeserver's client-server API base, `https://matrix.example.com`.
    pub homeserver: String,
    /// The bot account's access token.
    pub access_token: String,
}

impl std::fmt::Debug for Config {
    /// Never prints the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("homeserver", &self.homeserver)
            .field("access_token", &"<redacted>")
            .finish()
    }
}

/// Why a [`MatrixChannel`] cannot be built from its [`Config`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("matrix: homeserver {url:?} is not an http(s) URL: {reason}")]
    Homeserver { url: String, reason: String },
    #[error("matrix: the access token is empty")]
    NoToken,
    #[error("matrix: cannot build the HTTP client: {0}")]
    Client(String),
}

/// A message as Matrix event content: the plain body and its HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub body: String,
    pub formatted_body: String,
}

/// Renders a message for Matrix. Pure.
pub fn render(message: &Message) -> Rendered {
    Rendered {
        body: text_body(message).trim_end().to_owned(),
        formatted_body: html_body(message).trim_end().to_owned(),
    }
}

/// What an address names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target<'a> {
    Room(&'a str),
    Alias(&'a str),
    User(&'a str),
}

fn target(address: &str) -> Result<Target<'_>, SendError> {
    let a = address.trim();
    let clean = a.len() > 1 && !a.contains(|c: char| c == '/' || c.is_whitespace());
    // Room ids carry no server name since room version 12 (`!<hash>`);
    // aliases and user ids always do.
    let well_formed = clean && a.len() > 3 && a.contains(':');
    match a.chars().next() {
        Some('!') if clean => Ok(Target::Room(a)),
        Some('#') if well_formed => Ok(Target::Alias(a)),
        Some('@') if well_formed => Ok(Target::User(a)),
        _ => Err(SendError::permanent(format!(
            "{address:?} is not a Matrix room id (!room), room alias (#room:server) \
             or user id (@user:server)"
        ))),
    }
}

/// Posts to Matrix rooms as one bot account.
pub struct MatrixChannel {
    http: reqwest::Client,
    base: Url,
    token: String,
    /// Aliases and user ids already resolved to a room id.
    rooms: Mutex<HashMap<String, String>>,
    /// The bot's own user id (from `whoami`), once asked.
    me: Mutex<Option<String>>,
    /// Held while finding or creating a direct-message room, so two pages
    /// to one person at once do not create two rooms.
    direct: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for MatrixChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatrixChannel")
            .field("homeserver", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// A failed request: the classified error, and the errcode when the
/// homeserver gave one (some callers treat `M_NOT_FOUND` as an answer).
#[derive(Debug)]
struct Failure {
    error: SendError,
    errcode: Option<String>,
}

impl From<SendError> for Failure {
    fn from(error: SendError) -> Self {
        Failure {
            error,
            errcode: None,
        }
    }
}

impl MatrixChannel {
    pub fn new(config: &Config) -> Result<MatrixChannel, ConfigError> {
        let base = Url::parse(config.homeserver.trim()).map_err(|e| ConfigError::Homeserver {
            url: config.homeserver.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(ConfigError::Homeserver {
                url: config.homeserver.clone(),
                reason: "the scheme must be http or https".to_owned(),
            });
        }
        if config.access_token.trim().is_empty() {
            return Err(ConfigError::NoToken);
        }
        let http = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("tocsin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::Client(e.to_string()))?;
        Ok(MatrixChannel {
            http,
            base,
            token: config.access_token.trim().to_owned(),
            rooms: Mutex::new(HashMap::new()),
            me: Mutex::new(None),
            direct: tokio::sync::Mutex::new(()),
        })
    }

    /// `<base>/_matrix/client/v3/<segments…>`, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["_matrix", "client", "v3"])
                .extend(segments);
        }
        url
    }

    /// One request; a 2xx answer's JSON body, or the classified failure.
    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&Value>,
    ) -> Result<Value, Failure> {
        let url = self.url(segments);
        let mut request = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.map_err(transport_error)?;
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| {
                Failure::from(SendError::transient(format!(
                    "Matrix answered {status} with a body that is not JSON: {e}"
                )))
            });
        }
        Err(classify(status, retry_after, &text))
    }

    /// The room an address stands for, resolving (and caching) aliases and
    /// direct-message rooms.
    async fn room_for(&self, target: Target<'_>) -> Result<String, Failure> {
        let key = match target {
            Target::Room(room) => return Ok(room.to_owned()),
            Target::Alias(a) | Target::User(a) => a,
        };
        if let Some(room) = self.cached(key) {
            return Ok(room);
        }
        let room = match target {
            Target::Alias(alias) => self.resolve_alias(alias).await?,
            _ => {
                let _one_at_a_time = self.direct.lock().await;
                if let Some(room) = self.cached(key) {
                    return Ok(room);
                }
                self.direct_room(key).await?
            }
        };
        if let Ok(mut rooms) = self.rooms.lock() {
            rooms.insert(key.to_owned(), room.clone());
        }
        Ok(room)
    }

    fn cached(&self, key: &str) -> Option<String> {
        self.rooms.lock().ok()?.get(key).cloned()
    }

    fn forget(&self, key: &str) {
        if let Ok(mut rooms) = self.rooms.lock() {
            rooms.remove(key);
        }
    }

    async fn resolve_alias(&self, alias: &str) -> Result<String, Failure> {
        let answer = self
            .call(Method::GET, &["directory", "room", alias], None)
            .await?;
        string_field(&answer, "room_id", "the room directory")
    }

    async fn whoami(&self) -> Result<String, Failure> {
        if let Some(me) = self.me.lock().ok().and_then(|m| m.clone()) {
            return Ok(me);
        }
        let answer = self.call(Method::GET, &["account", "whoami"], None).await?;
        let me = string_field(&answer, "user_id", "whoami")?;
        if let Ok(mut slot) = self.me.lock() {
            *slot = Some(me.clone());
        }
        Ok(me)
    }

    /// The bot's `m.direct` account data (user id → room ids); empty when
    /// it was never set.
    async fn direct_map(&self, me: &str) -> Result<Map<String, Value>, Failure> {
        match self
            .call(Method::GET, &["user", me, "account_data", "m.direct"], None)
            .await
        {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Ok(Map::new()),
            Err(f) if f.errcode.as_deref() == Some("M_NOT_FOUND") => Ok(Map::new()),
            Err(f) => Err(f),
        }
    }

    /// Whether `user` is still in (or invited to) `room`, as the bot sees it.
    async fn still_direct(&self, room: &str, user: &str) -> Result<bool, Failure> {
        match self
            .call(
                Method::GET,
                &["rooms", room, "state", "m.room.member", user],
                None,
            )
            .await
        {
            Ok(member) => Ok(matches!(
                member.get("membership").and_then(Value::as_str),
                Some("join" | "invite")
            )),
            // The bot left the room or never saw it: not usable.
            Err(f) if matches!(f.error, SendError::Permanent { .. }) => Ok(false),
            Err(f) => Err(f),
        }
    }

    /// The direct-message room with `user`: the newest usable one in
    /// `m.direct`, else a new one, recorded there.
    async fn direct_room(&self, user: &str) -> Result<String, Failure> {
        let me = self.whoami().await?;
        let mut direct = self.direct_map(&me).await?;
        let known: Vec<String> = direct
            .get(user)
            .and_then(Value::as_array)
            .map(|rooms| {
                rooms
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        for room in known.iter().rev() {
            if self.still_direct(room, user).await? {
                return Ok(room.clone());
            }
        }
        let created = self
            .call(
                Method::POST,
                &["createRoom"],
                Some(&json!({
                    "is_direct": true,
                    "invite": [user],
                    "preset": "trusted_private_chat",
                    "name": "tocsin pages",
                })),
            )
            .await?;
        let room = string_field(&created, "room_id", "createRoom")?;
        let mut rooms: Vec<Value> = known.into_iter().map(Value::String).collect();
        rooms.push(Value::String(room.clone()));
        direct.insert(user.to_owned(), Value::Array(rooms));
        // The room exists now: a failure to record it costs a second room
        // after a restart, not this page.
        if let Err(f) = self
            .call(
                Method::PUT,
                &["user", &me, "account_data", "m.direct"],
                Some(&Value::Object(direct)),
            )
            .await
        {
            tracing::warn!(room = %room, user, error = %f.error, "matrix: could not record the direct-message room in m.direct");
        }
        Ok(room)
    }
}

#[async_trait]
impl Channel for MatrixChannel {
    fn kind(&self) -> ContactKind {
        ContactKind::Matrix
    }

    async fn send(&self, delivery: Delivery<'_>) -> Result<Sent, SendError> {
        let target = target(delivery.address)?;
        let room = self.room_for(target).await.map_err(|f| f.error)?;
        let content = content(delivery.message, &room, delivery.previous);
        let txn = transaction_id(&delivery.message.key, &room);
        let sent = self
            .call(
                Method::PUT,
                &["rooms", &room, "send", "m.room.message", &txn],
                Some(&content),
            )
            .await;
        let answer = match sent {
            Ok(answer) => answer,
            Err(f) => {
                // A room we resolved may be gone for us (kicked, alias
                // moved): look it up afresh next time.
                if let (Target::Alias(key) | Target::User(key), SendError::Permanent { .. }) =
                    (target, &f.error)
                {
                    self.forget(key);
                }
                return Err(f.error);
            }
        };
        let event = string_field(&answer, "event_id", "send").map_err(|f| f.error)?;
        Ok(Sent {
            reference: Some(format!("{room}|{event}")),
        })
    }
}

/// The event content: `m.text` with HTML, a reply to the page for a
/// resolution or update that knows the page's event in this room.
fn content(message: &Message, room: &str, previous: Option<&str>) -> Value {
    let rendered = render(message);
    let mut content = json!({
        "msgtype": "m.text",
        "body": rendered.body,
        "format": "org.matrix.custom.html",
        "formatted_body": rendered.formatted_body,
    });
    if let Some(event) = reply_to(message.kind, room, previous) {
        content["m.relates_to"] = json!({ "m.in_reply_to": { "event_id": event } });
    }
    content
}

/// The event a message replies to: only for a resolution or update, and
/// only when the earlier event is in the same room.
fn reply_to<'a>(kind: MessageKind, room: &str, previous: Option<&'a str>) -> Option<&'a str> {
    if !matches!(kind, MessageKind::Resolved | MessageKind::Update) {
        return None;
    }
    let previous = previous?.trim();
    let event = match previous.split_once('|') {
        Some((in_room, event)) if in_room == room => event,
        Some(_) => return None,
        None => previous,
    };
    event.starts_with('$').then_some(event)
}

/// A transaction id from the idempotency key and the room: URL-safe,
/// the same on every retry, different per room.
fn transaction_id(key: &str, room: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(key.as_bytes());
    hasher.update([0]);
    hasher.update(room.as_bytes());
    let digest = hasher.finalize();
    let mut txn = String::from("tocsin.");
    for b in &digest[..16] {
        let _ = write!(txn, "{b:02x}");
    }
    txn
}

fn string_field(answer: &Value, field: &str, what: &str) -> Result<String, Failure> {
    answer
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            Failure::from(SendError::transient(format!(
                "Matrix {what} answered without {field}: {answer}"
            )))
        })
}

fn transport_error(e: reqwest::Error) -> Failure {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    Failure::from(SendError::transient(format!("Matrix: {what}: {e}")))
}

/// A non-2xx answer: rate limits, 408 and 5xx are transient, other 4xx
/// permanent; the reason names the errcode and the homeserver's text.
fn classify(status: StatusCode, retry_after: Option<Duration>, body: &str) -> Failure {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let errcode = parsed
        .get("errcode")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let text: String = parsed
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or(body)
        .chars()
        .take(300)
        .collect();
    let reason = format!(
        "Matrix {}: {}: {text}",
        status.as_u16(),
        errcode.as_deref().unwrap_or("no errcode")
    );
    let limited =
        status == StatusCode::TOO_MANY_REQUESTS || errcode.as_deref() == Some("M_LIMIT_EXCEEDED");
    let error = if limited || status == StatusCode::REQUEST_TIMEOUT || status.is_server_error() {
        let from_body = parsed
            .get("retry_after_ms")
            .and_then(Value::as_u64)
            .map(Duration::from_millis);
        SendError::Transient {
            reason,
            retry_after: retry_after.or(from_body),
        }
    } else {
        SendError::permanent(reason)
    };
    Failure { error, errcode }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn addresses_are_recognized() {
        assert_eq!(
            target("!abc:example.org").ok(),
            Some(Target::Room("!abc:example.org"))
        );
        assert_eq!(
            target("!GpsMGtOiUi3IU").ok(),
            Some(Target::Room("!GpsMGtOiUi3IU"))
        );
        assert_eq!(
            target(" #ops:example.org ").ok(),
            Some(Target::Alias("#ops:example.org"))
        );
        assert_eq!(
            target("@alice:example.org").ok(),
            Some(Target::User("@alice:example.org"))
        );
        for bad in [
            "alice",
            "@alice",
            "",
            "#a/b:example.org",
            "https://matrix.to/#/@a:b",
        ] {
            assert!(
                matches!(target(bad), Err(SendError::Permanent { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn transaction_ids_are_stable_url_safe_and_per_room() {
        let a = transaction_id("escalation:42:0:0:intent:alice:matrix", "!r:x");
        assert_eq!(
            a,
            transaction_id("escalation:42:0:0:intent:alice:matrix", "!r:x")
        );
        assert_ne!(
            a,
            transaction_id("escalation:42:0:0:intent:alice:matrix", "!s:x")
        );
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'));
    }

    #[test]
    fn replies_only_to_an_event_in_the_same_room() {
        let prev = Some("!r:x|$page");
        assert_eq!(reply_to(MessageKind::Resolved, "!r:x", prev), Some("$page"));
        assert_eq!(
            reply_to(MessageKind::Update, "!r:x", Some("$page")),
            Some("$page")
        );
        assert_eq!(reply_to(MessageKind::Resolved, "!other:x", prev), None);
        assert_eq!(reply_to(MessageKind::Page, "!r:x", prev), None);
        let c = content(&sample::resolved(), "!r:x", prev);
        assert_eq!(c["m.relates_to"]["m.in_reply_to"]["event_id"], "$page");
        assert_eq!(c["format"], "org.matrix.custom.html");
        let page = content(&sample::page(), "!r:x", None);
        assert!(page.get("m.relates_to").is_none());
        assert!(
            page["body"]
                .as_str()
                .unwrap()
                .starts_with("Sev1 #42 checkout")
        );
    }

    #[test]
    fn errors_are_classified() {
        let limited = classify(
            StatusCode::TOO_MANY_REQUESTS,
            None,
            r#"{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests","retry_after_ms":2500}"#,
        );
        assert_eq!(
            limited.error,
            SendError::Transient {
                reason: "Matrix 429: M_LIMIT_EXCEEDED: Too many requests".to_owned(),
                retry_after: Some(Duration::from_millis(2500)),
            }
        );
        let header = classify(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(3)),
            r#"{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":2500}"#,
        );
        assert!(matches!(
            header.error,
            SendError::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(3)
        ));
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, None, "<html>").error,
            SendError::Transient { .. }
        ));
        for (status, code) in [
            (StatusCode::FORBIDDEN, "M_FORBIDDEN"),
            (StatusCode::UNAUTHORIZED, "M_UNKNOWN_TOKEN"),
            (StatusCode::NOT_FOUND, "M_NOT_FOUND"),
        ] {
            let f = classify(
                status,
                None,
                &format!(r#"{{"errcode":"{code}","error":"no"}}"#),
            );
            assert_eq!(f.errcode.as_deref(), Some(code));
            match f.error {
                SendError::Permanent { reason } => assert!(reason.contains(code), "{reason}"),
                other => panic!("{code} should be permanent: {other:?}"),
            }
        }
    }

    #[test]
    fn configs_are_checked_and_tokens_hidden() {
        let config = Config {
            homeserver: "https://matrix.example.com".to_owned(),
            access_token: "syt_secret".to_owned(),
        };
        assert!(!format!("{config:?}").contains("syt_secret"));
        let channel = MatrixChannel::new(&config).unwrap();
        assert_eq!(
            channel
                .url(&["rooms", "!r:x", "send", "m.room.message", "t1"])
                .as_str(),
            "https://matrix.example.com/_matrix/client/v3/rooms/!r:x/send/m.room.message/t1"
        );
        assert_eq!(
            channel.url(&["directory", "room", "#ops:x"]).as_str(),
            "https://matrix.example.com/_matrix/client/v3/directory/room/%23ops:x"
        );
        for bad in ["matrix.example.com", "ftp://x", ""] {
            let c = Config {
                homeserver: bad.to_owned(),
                ..config.clone()
            };
            assert!(MatrixChannel::new(&c).is_err(), "{bad}");
        }
    }
}
