//! What the HTTP channels share: one client per channel (time-limited, no
//! redirects), reading a receiver's answer without trusting its size, the
//! `Retry-After` header, and transport failures mapped to [`SendError`].
//!
//! Invariants: an attempt never outlives its configured timeout (at most
//! [`SEND_TIMEOUT`] by default); error reasons never contain the URL,
//! because webhook URLs (Slack, Teams, Mattermost) are secrets.

use reqwest::header::{DATE, HeaderMap, RETRY_AFTER};
use std::time::Duration;
use tocsin_core::notify::{SEND_TIMEOUT, SendError, classify_status};

/// `User-Agent` of every request: receivers can tell tocsin apart.
pub const USER_AGENT: &str = concat!("tocsin/", env!("CARGO_PKG_VERSION"));

/// How much of an answer's body is read: enough for any error message or
/// API answer these services give, and a receiver cannot make us buffer more.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The HTTP client could not be built (the TLS backend failed to start).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct BuildError(#[from] reqwest::Error);

/// A client whose every request (connect, send, read) ends within
/// `timeout`. Redirects are not followed: a webhook that moved is a
/// configuration error to see, and following it would hand the body (and
/// its signature or token) to a host nobody configured.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, BuildError> {
    let timeout = if timeout.is_zero() {
        SEND_TIMEOUT
    } else {
        timeout
    };
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT)
        .build()?)
}

/// A receiver's answer, read in full (up to [`MAX_ANSWER_BYTES`]).
#[derive(Debug)]
pub(crate) struct Answer {
    /// The channel's name, for failure reasons.
    pub channel: &'static str,
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: String,
}

impl Answer {
    /// The common classification of the status ([`classify_status`]).
    pub fn error(&self) -> Option<SendError> {
        classify_status(self.status, self.retry_after, self.body.trim())
            .map(|e| prefixed(self.channel, e))
    }
}

/// Sends the request and reads the answer; a transport failure (timeout,
/// refused connection, reset) is already a [`SendError`].
pub(crate) async fn send(
    channel: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<Answer, SendError> {
    let failed = |e| prefixed(channel, transport_error(e));
    let mut response = request.send().await.map_err(failed)?;
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        let room = MAX_ANSWER_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ANSWER_BYTES {
            break;
        }
    }
    Ok(Answer {
        channel,
        status,
        retry_after,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A failure before a complete answer arrived. A request that could not
/// even be built (a malformed URL) will never work: permanent; everything
/// else (timeouts, refused or reset connections) is worth a retry.
pub(crate) fn transport_error(error: reqwest::Error) -> SendError {
    let error = error.without_url();
    if error.is_builder() {
        SendError::permanent(format!("invalid request: {error}"))
    } else if error.is_timeout() {
        SendError::transient(format!("timed out: {error}"))
    } else if error.is_connect() {
        SendError::transient(format!("cannot connect: {error}"))
    } else {
        SendError::transient(format!("request failed: {error}"))
    }
}

/// `Retry-After` as delta-seconds, or as an HTTP date measured against the
/// answer's own `Date` header (so no clock is read here). Absent or
/// unreadable: `None`, and the engine's own backoff applies.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let date = headers.get(DATE)?.to_str().ok()?;
    let now = jiff::fmt::rfc2822::parse(date.trim()).ok()?.timestamp();
    let seconds = at.as_second().checked_sub(now.as_second())?;
    Some(Duration::from_secs(u64::try_from(seconds).unwrap_or(0)))
}

/// Names the channel in a failure's reason.
pub(crate) fn prefixed(channel: &str, error: SendError) -> SendError {
    match error {
        SendError::Transient {
            reason,
            retry_after,
        } => SendError::Transient {
            reason: format!("{channel}: {reason}"),
            retry_after,
        },
        SendError::Permanent { reason } => SendError::Permanent {
            reason: format!("{channel}: {reason}"),
        },
    }
}

/// Whether an address is a URL this crate will post to (HTTPS in
/// production; plain HTTP for receivers on a private network and tests).
pub(crate) fn is_url(address: &str) -> bool {
    address.starts_with("https://") || address.starts_with("http://")
}

/// The address must be a URL, or trying again will not help.
pub(crate) fn require_url<'a>(channel: &str, address: &'a str) -> Result<&'a str, SendError> {
    let address = address.trim();
    if is_url(address) {
        Ok(address)
    } else {
        Err(SendError::permanent(format!(
            "{channel}: the address must be an https:// URL"
        )))
    }
}

/// Cuts text to at most `max` characters, marking the cut, so a long
/// runbook excerpt cannot make a service reject the whole message.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(reqwest::header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(
            retry_after(&headers(&[(RETRY_AFTER, "30")])),
            Some(Duration::from_secs(30))
        );
        assert_eq!(retry_after(&headers(&[(RETRY_AFTER, "soon")])), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn retry_after_as_a_date_counts_from_the_answers_date() {
        let map = headers(&[
            (RETRY_AFTER, "Mon, 02 Mar 2026 09:01:30 GMT"),
            (DATE, "Mon, 02 Mar 2026 09:00:00 GMT"),
        ]);
        assert_eq!(retry_after(&map), Some(Duration::from_secs(90)));
        // A date in the past means "now".
        let map = headers(&[
            (RETRY_AFTER, "Mon, 02 Mar 2026 08:59:00 GMT"),
            (DATE, "Mon, 02 Mar 2026 09:00:00 GMT"),
        ]);
        assert_eq!(retry_after(&map), Some(Duration::ZERO));
        // Without the answer's Date there is nothing to measure against.
        let map = headers(&[(RETRY_AFTER, "Mon, 02 Mar 2026 09:01:30 GMT")]);
        assert_eq!(retry_after(&map), None);
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }

    #[test]
    fn only_urls_are_urls() {
        assert!(require_url("teams", "https://example.com/hook").is_ok());
        assert!(matches!(
            require_url("teams", "C0123"),
            Err(SendError::Permanent { .. })
        ));
    }
}
