//! What one run of a check found.

use std::time::Duration;

/// One probe's outcome. `reason` says in words why it failed ("expected
/// status 200–399, got 503") so the alert it may open explains itself;
/// `detail` is what was seen either way ("HTTP 200, 1532 bytes").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub ok: bool,
    /// Time from the start of the probe to its verdict (for HTTP, to the
    /// end of the body).
    pub latency: Duration,
    /// Why it failed; `None` when `ok`.
    pub reason: Option<String>,
    /// What was observed, for the check's history.
    pub detail: Option<String>,
}

impl ProbeResult {
    /// A success.
    pub fn ok(latency: Duration, detail: impl Into<String>) -> Self {
        Self {
            ok: true,
            latency,
            reason: None,
            detail: Some(detail.into()),
        }
    }

    /// A failure with its reason.
    pub fn fail(latency: Duration, reason: impl Into<String>) -> Self {
        Self {
            ok: false,
            latency,
            reason: Some(reason.into()),
            detail: None,
        }
    }

    /// The same result with `detail` set.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}
