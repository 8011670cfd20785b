//! The generic webhook channel: the whole [`Message`] as JSON in a
//! versioned envelope, POSTed to the address (a URL), for receivers that
//! build their own integrations.
//!
//! Invariants: the body is serialized once and those exact bytes are both
//! signed and sent; `Idempotency-Key` is the message's key, identical on
//! every retry, so a receiver can deduplicate (delivery is at least once).
//! Signature: `X-Tocsin-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "<t>.<body>">`, checked by [`verify_signature`] (constant time, with a
//! freshness window against replays).

use crate::http;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use tocsin_core::clock::Clock;
use tocsin_core::notify::{Channel, Delivery, SEND_TIMEOUT, SendError, Sent};
use tocsin_domain::catalog::ContactKind;
use tocsin_domain::notify::Message;

/// The envelope's `version`: bumped only on an incompatible change.
pub const ENVELOPE_VERSION: u32 = 1;
/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Tocsin-Signature";
/// Header carrying the event (`page`, `resolved`, …), so receivers can
/// route without parsing the body.
pub const EVENT_HEADER: &str = "X-Tocsin-Event";
/// Header carrying the message's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

type HmacSha256 = Hmac<Sha256>;

/// How the webhook channel is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Shared with receivers to sign each request; unsigned when `None`.
    pub secret: Option<String>,
    /// How long one attempt may take.
    pub timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            secret: None,
            timeout: SEND_TIMEOUT,
        }
    }
}

/// Posts the JSON envelope to the address.
#[derive(Debug)]
pub struct WebhookChannel {
    client: reqwest::Client,
    secret: Option<String>,
    /// The signature's timestamp comes from here (time is an input).
    clock: Arc<dyn Clock>,
}

impl WebhookChannel {
    pub fn new(config: Config, clock: Arc<dyn Clock>) -> Result<Self, http::BuildError> {
        Ok(Self {
            client: http::client(config.timeout)?,
            secret: config.secret.filter(|s| !s.is_empty()),
            clock,
        })
    }
}

/// The event name of a message: its kind in snake case (`dead_letter`).
pub fn event(message: &Message) -> String {
    match serde_json::to_value(message.kind) {
        Ok(Value::String(s)) => s,
        _ => "unknown".to_owned(),
    }
}

/// The envelope: `{"version":1,"event":…,"key":…,"message":<Message>}`.
pub fn render(message: &Message) -> Value {
    json!({
        "version": ENVELOPE_VERSION,
        "event": event(message),
        "key": message.key,
        "message": message,
    })
}

/// The `X-Tocsin-Signature` value for `body` sent at `timestamp` (unix
/// seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mac = mac(secret, timestamp, body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[allow(clippy::expect_used)] // a true invariant, not an input check
fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length (RFC 2104)");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the signature's timestamp is outside the allowed window")]
    Stale,
    #[error("no signature matches the body")]
    Mismatch,
}

/// Checks an `X-Tocsin-Signature` header against the raw body, as a
/// receiver must: the timestamp within `tolerance` of `now` (either way),
/// and one of the `v1` signatures equal to the HMAC (compared in constant
/// time). Several `v1=` entries are accepted, for receivers rotating
/// secrets behind a proxy.
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now: Timestamp,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (name, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed("expected name=value pairs"))?;
        match name {
            "t" => {
                let t: i64 = value
                    .parse()
                    .map_err(|_| SignatureError::Malformed("t is not a number"))?;
                timestamp = Some(t);
            }
            "v1" => signatures
                .push(hex::decode(value).map_err(|_| SignatureError::Malformed("v1 is not hex"))?),
            _ => {} // later schemes: ignored, not refused
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed("no t"))?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed("no v1"));
    }
    let age = now.as_second().abs_diff(timestamp);
    if age > tolerance.as_secs() {
        return Err(SignatureError::Stale);
    }
    let expected = mac(secret, timestamp, body);
    if signatures
        .iter()
        .any(|s| expected.clone().verify_slice(s).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[async_trait]
impl Channel for WebhookChannel {
    fn kind(&self) -> ContactKind {
        ContactKind::Webhook
    }

    async fn send(&self, delivery: Delivery<'_>) -> Result<Sent, SendError> {
        let url = http::require_url("webhook", delivery.address)?;
        let message = delivery.message;
        let body = serde_json::to_vec(&render(message))
            .map_err(|e| SendError::permanent(format!("webhook: cannot encode: {e}")))?;
        let mut request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(IDEMPOTENCY_HEADER, &message.key)
            .header(EVENT_HEADER, event(message));
        if let Some(secret) = &self.secret {
            let signature = sign(secret, self.clock.now().as_second(), &body);
            request = request.header(SIGNATURE_HEADER, signature);
        }
        let answer = http::send("webhook", request.body(body)).await?;
        match answer.error() {
            None => Ok(Sent { reference: None }),
            Some(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_772_442_000;

    fn now() -> Timestamp {
        Timestamp::from_second(NOW).unwrap()
    }

    #[test]
    fn a_signature_verifies_and_binds_the_body() {
        let header = sign("s3cret", NOW, b"{\"a\":1}");
        let window = Duration::from_secs(300);
        assert_eq!(
            verify_signature("s3cret", &header, b"{\"a\":1}", now(), window),
            Ok(())
        );
        assert_eq!(
            verify_signature("s3cret", &header, b"{\"a\":2}", now(), window),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature("other", &header, b"{\"a\":1}", now(), window),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_signed_string_is_timestamp_dot_body() {
        // Recomputed independently of `sign`, as a receiver would.
        let mut mac = HmacSha256::new_from_slice(b"k").unwrap();
        mac.update(format!("{NOW}.body").as_bytes());
        let hex = hex::encode(mac.finalize().into_bytes());
        assert_eq!(sign("k", NOW, b"body"), format!("t={NOW},v1={hex}"));
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let window = Duration::from_secs(300);
        let old = sign("k", NOW - 301, b"x");
        assert_eq!(
            verify_signature("k", &old, b"x", now(), window),
            Err(SignatureError::Stale)
        );
        let future = sign("k", NOW + 301, b"x");
        assert_eq!(
            verify_signature("k", &future, b"x", now(), window),
            Err(SignatureError::Stale)
        );
        let edge = sign("k", NOW - 300, b"x");
        assert_eq!(verify_signature("k", &edge, b"x", now(), window), Ok(()));
    }

    #[test]
    fn malformed_headers_are_refused() {
        let window = Duration::from_secs(300);
        for header in ["", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=zz", "garbage"] {
            assert!(
                matches!(
                    verify_signature("k", header, b"x", now(), window),
                    Err(SignatureError::Malformed(_))
                ),
                "{header:?}"
            );
        }
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let good = sign("k", NOW, b"x");
        let v1 = good.split(",v1=").nth(1).unwrap();
        let header = format!("t={NOW},v1={},v1={v1}", "00".repeat(32));
        assert_eq!(
            verify_signature("k", &header, b"x", now(), Duration::from_secs(5)),
            Ok(())
        );
    }

    #[test]
    fn events_are_snake_case() {
        assert_eq!(event(&crate::sample::page()), "page");
        let mut m = crate::sample::page();
        m.kind = tocsin_domain::notify::MessageKind::DeadLetter;
        assert_eq!(event(&m), "dead_letter");
    }
}
