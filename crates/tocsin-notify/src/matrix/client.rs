//! The client-server API as the bot account: URLs, the access token, one
//! request with its answer or classified failure. Shared by the channel,
//! the bot and the incident rooms so that all three treat the homeserver
//! alike.
//!
//! Invariants:
//! - Rate limits (429, `M_LIMIT_EXCEEDED`), 408, 5xx and transport
//!   failures are transient, with the homeserver's retry delay when it
//!   gives one; a refusal (`M_FORBIDDEN`, `M_UNKNOWN_TOKEN`,
//!   `M_NOT_FOUND`, other 4xx) is permanent and says the errcode.
//! - The access token is never logged or printed.

use super::{Config, ConfigError};
use reqwest::header::RETRY_AFTER;
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;
use tocsin_core::notify::{SEND_TIMEOUT, SendError};

/// The bot account on its homeserver.
pub(crate) struct Client {
    http: reqwest::Client,
    base: Url,
    token: String,
    /// The bot's own user id (from `whoami`), once asked.
    me: Mutex<Option<String>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("homeserver", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// A failed request: the classified error, and the errcode and status
/// when the homeserver answered (some callers treat `M_NOT_FOUND` or
/// `M_ROOM_IN_USE` as an answer).
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: SendError,
    pub(crate) errcode: Option<String>,
    pub(crate) status: Option<StatusCode>,
}

impl From<SendError> for Failure {
    fn from(error: SendError) -> Self {
        Failure {
            error,
            errcode: None,
            status: None,
        }
    }
}

impl Failure {
    /// Whether the homeserver refused the access token itself: nothing
    /// will work until an operator replaces it.
    pub(crate) fn bad_token(&self) -> bool {
        self.status == Some(StatusCode::UNAUTHORIZED)
            || matches!(
                self.errcode.as_deref(),
                Some("M_UNKNOWN_TOKEN" | "M_MISSING_TOKEN")
            )
    }

    pub(crate) fn transient(&self) -> bool {
        matches!(self.error, SendError::Transient { .. })
    }

    pub(crate) fn errcode_is(&self, code: &str) -> bool {
        self.errcode.as_deref() == Some(code)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl Client {
    /// A client for `config`; requests time out after `SEND_TIMEOUT`
    /// unless a call says otherwise (the long poll of `/sync`).
    pub(crate) fn new(config: &Config) -> Result<Client, ConfigError> {
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
        Ok(Client {
            http,
            base,
            token: config.access_token.trim().to_owned(),
            me: Mutex::new(None),
        })
    }

    /// The homeserver's base URL, for logs.
    pub(crate) fn homeserver(&self) -> &str {
        self.base.as_str()
    }

    /// `<base>/_matrix/client/v3/<segments…>`, each segment percent-encoded.
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["_matrix", "client", "v3"])
                .extend(segments);
        }
        url
    }

    /// One request; a 2xx answer's JSON body, or the classified failure.
    pub(crate) async fn call(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&Value>,
    ) -> Result<Value, Failure> {
        self.call_with(method, segments, &[], body, None).await
    }

    /// [`Client::call`] with query parameters and, when given, a timeout
    /// of its own instead of `SEND_TIMEOUT`.
    pub(crate) async fn call_with(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<Value, Failure> {
        let mut url = self.url(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
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

    /// The bot's own user id, asked once.
    pub(crate) async fn whoami(&self) -> Result<String, Failure> {
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

    /// The room an alias names, from the room directory.
    pub(crate) async fn resolve_alias(&self, alias: &str) -> Result<String, Failure> {
        let answer = self
            .call(Method::GET, &["directory", "room", alias], None)
            .await?;
        string_field(&answer, "room_id", "the room directory")
    }

    /// Sends an `m.room.message` with `content`; the transaction id comes
    /// from `key` and the room, so a retry is one event. Its event id.
    pub(crate) async fn send_message(
        &self,
        room: &str,
        key: &str,
        content: &Value,
    ) -> Result<String, Failure> {
        let txn = transaction_id(key, room);
        let answer = self
            .call(
                Method::PUT,
                &["rooms", room, "send", "m.room.message", &txn],
                Some(content),
            )
            .await?;
        string_field(&answer, "event_id", "send")
    }
}

/// A transaction id from an idempotency key and the room: URL-safe,
/// the same on every retry, different per room.
pub(crate) fn transaction_id(key: &str, room: &str) -> String {
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

/// The server name of a user id or alias (`@tocsin:example.org:8448` →
/// `example.org:8448`).
pub(crate) fn server_name(id: &str) -> Option<&str> {
    id.split_once(':')
        .map(|(_, server)| server)
        .filter(|s| !s.is_empty())
}

/// Whether `id` looks like a Matrix user id: `@localpart:server`, no
/// spaces or slashes.
pub(crate) fn is_user_id(id: &str) -> bool {
    id.len() > 3
        && id.starts_with('@')
        && id.contains(':')
        && !id.contains(|c: char| c == '/' || c.is_whitespace())
}

pub(crate) fn string_field(answer: &Value, field: &str, what: &str) -> Result<String, Failure> {
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
pub(crate) fn classify(status: StatusCode, retry_after: Option<Duration>, body: &str) -> Failure {
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
    Failure {
        error,
        errcode,
        status: Some(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn server_names_and_user_ids() {
        assert_eq!(server_name("@tocsin:localhost"), Some("localhost"));
        assert_eq!(
            server_name("@tocsin:example.org:8448"),
            Some("example.org:8448")
        );
        assert_eq!(server_name("@tocsin"), None);
        assert!(is_user_id("@alice:example.org"));
        for bad in ["alice", "@alice", "@a b:x", "#ops:x", "@a/b:x"] {
            assert!(!is_user_id(bad), "{bad}");
        }
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
            assert_eq!(f.bad_token(), code == "M_UNKNOWN_TOKEN");
            match f.error {
                SendError::Permanent { reason } => assert!(reason.contains(code), "{reason}"),
                other => panic!("{code} should be permanent: {other:?}"),
            }
        }
    }

    #[test]
    fn configs_are_checked_and_urls_encoded() {
        let config = Config {
            homeserver: "https://matrix.example.com".to_owned(),
            access_token: "syt_secret".to_owned(),
        };
        assert!(!format!("{config:?}").contains("syt_secret"));
        let client = Client::new(&config).unwrap();
        assert!(!format!("{client:?}").contains("syt_secret"));
        assert_eq!(
            client
                .url(&["rooms", "!r:x", "send", "m.room.message", "t1"])
                .as_str(),
            "https://matrix.example.com/_matrix/client/v3/rooms/!r:x/send/m.room.message/t1"
        );
        assert_eq!(
            client.url(&["directory", "room", "#ops:x"]).as_str(),
            "https://matrix.example.com/_matrix/client/v3/directory/room/%23ops:x"
        );
        for bad in ["matrix.example.com", "ftp://x", ""] {
            let c = Config {
                homeserver: bad.to_owned(),
                ..config.clone()
            };
            assert!(Client::new(&c).is_err(), "{bad}");
        }
        let no_token = Config {
            access_token: " ".to_owned(),
            ..config
        };
        assert_eq!(Client::new(&no_token).err(), Some(ConfigError::NoToken));
    }
}
