//! The port a delivery channel implements (adapters live in
//! `tocsin-notify`): send one rendered [`Message`] to one address, and say
//! whether a failure is worth a retry.

use async_trait::async_trait;
use std::time::Duration;
use tocsin_domain::catalog::ContactKind;
use tocsin_domain::notify::Message;

/// What a channel kept of a delivered message, for a later message to the
/// same destination (Slack `chat.update` needs the channel and `ts`; a
/// Matrix reply the event id; an email thread the Message-ID).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sent {
    pub reference: Option<String>,
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again: a timeout, a refused connection, a 5xx, a 429
    /// (with the receiver's `Retry-After`, if it gave one).
    #[error("{reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Trying again will not help: a 4xx other than 408/429, an unknown
    /// recipient, a rejected address, a channel that is not configured.
    #[error("{reason}")]
    Permanent { reason: String },
}

impl SendError {
    pub fn transient(reason: impl Into<String>) -> Self {
        SendError::Transient {
            reason: reason.into(),
            retry_after: None,
        }
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        SendError::Permanent {
            reason: reason.into(),
        }
    }
}

/// One delivery: the message, where it goes, and what an earlier message
/// about the same incident to the same destination left (for channels
/// that edit or thread instead of posting anew).
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The address in the channel's terms (contact method address).
    pub address: &'a str,
    pub message: &'a Message,
    pub previous: Option<&'a str>,
}

/// A way to reach people. Implementations time out on their own (at most
/// [`SEND_TIMEOUT`]) and never panic on a receiver's answer.
#[async_trait]
pub trait Channel: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> ContactKind;

    async fn send(&self, delivery: Delivery<'_>) -> Result<Sent, SendError>;
}

/// How long one attempt may take before it counts as a transient failure.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Classifies an HTTP status the common way: 2xx is success (`None`);
/// 408, 429 and 5xx are transient; other 4xx permanent.
pub fn classify_status(
    status: u16,
    retry_after: Option<Duration>,
    body: &str,
) -> Option<SendError> {
    let body: String = body.chars().take(300).collect();
    match status {
        200..=299 => None,
        408 | 429 | 500..=599 => Some(SendError::Transient {
            reason: format!("HTTP {status}: {body}"),
            retry_after,
        }),
        _ => Some(SendError::permanent(format!("HTTP {status}: {body}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify_status(204, None, ""), None);
        assert!(matches!(
            classify_status(429, Some(Duration::from_secs(3)), "slow down"),
            Some(SendError::Transient {
                retry_after: Some(_),
                ..
            })
        ));
        assert!(matches!(
            classify_status(503, None, ""),
            Some(SendError::Transient { .. })
        ));
        assert!(matches!(
            classify_status(404, None, "no such hook"),
            Some(SendError::Permanent { .. })
        ));
    }
}
