//! What a check declares: its kind with the kind's fields, and the
//! common interval, timeout and thresholds.

use super::JsonPath;
use regex::Regex;
use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

/// How often a check runs when the declaration does not say.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// How long one run may take when the declaration does not say.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an HTTP body is read and judged; the rest is ignored, so a
/// huge or endless answer cannot exhaust the hub's memory.
pub const MAX_BODY: usize = 1024 * 1024;

/// A declared check.
#[derive(Debug, Clone)]
pub struct Check {
    pub kind: CheckKind,
    pub interval: Duration,
    pub timeout: Duration,
    /// Consecutive failures that open an alert.
    pub fail_after: NonZeroU32,
    /// Consecutive successes that resolve it.
    pub recover_after: NonZeroU32,
}

impl Check {
    /// A check of `kind` with the default interval and timeout, opening on
    /// the first failure and resolving on the first success.
    pub fn new(kind: CheckKind) -> Self {
        Self {
            kind,
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            fail_after: NonZeroU32::MIN,
            recover_after: NonZeroU32::MIN,
        }
    }
}

/// What is probed and what counts as healthy.
#[derive(Debug, Clone)]
pub enum CheckKind {
    Http {
        method: HttpMethod,
        url: String,
        headers: Vec<(String, String)>,
        /// Sent as the request body (for POST checks).
        body: Option<String>,
        /// Healthy statuses; default 200–399.
        expect_status: StatusSet,
        expect: Option<BodyExpectation>,
        /// Slower than this (to the end of the body) fails.
        max_latency: Option<Duration>,
        follow_redirects: bool,
        verify_tls: bool,
    },
    Tcp {
        host: String,
        port: u16,
    },
    Dns {
        name: String,
        record_type: RecordType,
        /// Answers that must all be present; empty = any answer will do.
        expect: Vec<String>,
        /// The resolver to ask; `None` = the system's.
        resolver: Option<SocketAddr>,
    },
    TlsExpiry {
        host: String,
        port: u16,
        /// Fail when the leaf certificate expires within this many days.
        warn_days: u32,
    },
    Icmp {
        host: String,
    },
}

impl CheckKind {
    /// A GET of `url` with every default: status 200–399, no body
    /// expectation, no latency limit, redirects followed, TLS verified.
    pub fn http_get(url: impl Into<String>) -> Self {
        Self::Http {
            method: HttpMethod::Get,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            expect_status: StatusSet::default(),
            expect: None,
            max_latency: None,
            follow_redirects: true,
            verify_tls: true,
        }
    }

    /// The kind's name as written in manifests.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Http { .. } => "http",
            Self::Tcp { .. } => "tcp",
            Self::Dns { .. } => "dns",
            Self::TlsExpiry { .. } => "tls_expiry",
            Self::Icmp { .. } => "icmp",
        }
    }
}

/// A problem in a check's declaration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("unknown HTTP method {0:?} (use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS)")]
    Method(String),
    #[error("bad status {0:?}: use codes 100–599 or ranges like 200-299, separated by commas")]
    Status(String),
    #[error("unknown record type {0:?} (use A, AAAA, CNAME, MX, TXT or NS)")]
    RecordType(String),
    #[error("bad regular expression: {0}")]
    Regex(String),
    #[error("{0}")]
    JsonPath(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
        }
    }

    pub fn parse(s: &str) -> Result<Self, SpecError> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            "OPTIONS" => Self::Options,
            _ => return Err(SpecError::Method(s.to_owned())),
        })
    }
}

/// An inclusive range of HTTP statuses (a single code is `lo == hi`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange {
    pub lo: u16,
    pub hi: u16,
}

impl fmt::Display for StatusRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}–{}", self.lo, self.hi)
        }
    }
}

/// The statuses a check accepts: codes and ranges. Default 200–399.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSet(Vec<StatusRange>);

impl Default for StatusSet {
    fn default() -> Self {
        Self(vec![StatusRange { lo: 200, hi: 399 }])
    }
}

impl StatusSet {
    /// Parses `"200"`, `"200-299"`, `"200-299, 404"`.
    pub fn parse(s: &str) -> Result<Self, SpecError> {
        let bad = || SpecError::Status(s.to_owned());
        let code = |t: &str| -> Result<u16, SpecError> {
            t.trim()
                .parse::<u16>()
                .ok()
                .filter(|c| (100..=599).contains(c))
                .ok_or_else(bad)
        };
        let mut ranges = Vec::new();
        for part in s.split(',') {
            let range = match part.split_once('-') {
                Some((lo, hi)) => StatusRange {
                    lo: code(lo)?,
                    hi: code(hi)?,
                },
                None => {
                    let c = code(part)?;
                    StatusRange { lo: c, hi: c }
                }
            };
            if range.lo > range.hi {
                return Err(bad());
            }
            ranges.push(range);
        }
        Ok(Self(ranges))
    }

    pub fn from_ranges(ranges: Vec<StatusRange>) -> Self {
        Self(ranges)
    }

    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|r| (r.lo..=r.hi).contains(&status))
    }
}

impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// What the body of a healthy HTTP answer holds.
#[derive(Debug, Clone)]
pub enum BodyExpectation {
    /// The text appears in the body (case-sensitive).
    Keyword(String),
    /// The body matches the regular expression.
    Regex(Regex),
    /// The body is JSON and the value at the path equals this value.
    JsonPath {
        path: JsonPath,
        equals: serde_json::Value,
    },
}

impl BodyExpectation {
    pub fn regex(pattern: &str) -> Result<Self, SpecError> {
        Regex::new(pattern)
            .map(Self::Regex)
            .map_err(|e| SpecError::Regex(e.to_string()))
    }

    pub fn json_path(path: &str, equals: serde_json::Value) -> Result<Self, SpecError> {
        let path = JsonPath::parse(path).map_err(|e| SpecError::JsonPath(e.to_string()))?;
        Ok(Self::JsonPath { path, equals })
    }
}

/// DNS record types a check can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordType {
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Ns,
}

impl RecordType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::Aaaa => "AAAA",
            Self::Cname => "CNAME",
            Self::Mx => "MX",
            Self::Txt => "TXT",
            Self::Ns => "NS",
        }
    }

    pub fn parse(s: &str) -> Result<Self, SpecError> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "A" => Self::A,
            "AAAA" => Self::Aaaa,
            "CNAME" => Self::Cname,
            "MX" => Self::Mx,
            "TXT" => Self::Txt,
            "NS" => Self::Ns,
            _ => return Err(SpecError::RecordType(s.to_owned())),
        })
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_sets_parse_and_contain() {
        let s = StatusSet::parse("200-299, 404").unwrap_or_default();
        assert_eq!(s.to_string(), "200–299, 404");
        assert!(s.contains(204) && s.contains(404) && !s.contains(301));
        assert!(StatusSet::default().contains(302));
        assert!(!StatusSet::default().contains(400));
        for bad in ["", "abc", "99", "600", "300-200", "200-"] {
            assert_eq!(
                StatusSet::parse(bad),
                Err(SpecError::Status(bad.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn methods_and_record_types_parse() {
        assert_eq!(HttpMethod::parse("post"), Ok(HttpMethod::Post));
        assert!(HttpMethod::parse("FETCH").is_err());
        assert_eq!(RecordType::parse("aaaa"), Ok(RecordType::Aaaa));
        assert!(RecordType::parse("SRV").is_err());
    }
}
