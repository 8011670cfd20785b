//! A monitor: a health check declared for a service (an HTTP endpoint, a
//! TCP port, a DNS name, a TLS certificate's expiry or a host's ICMP
//! echo). The rules (judging an answer, thresholds) live in
//! [`crate::monitor`]; this file holds the declared shape, its checks and
//! [`Monitor::check`], which builds the domain [`Check`].
//!
//! One flat shape for every type: `type` says which fields apply, and a
//! field of another type is refused ("only for type http"). The DNS name
//! to ask for is `query` (the object's own `name` is its name).

use super::Checks;
use crate::Name;
use crate::monitor::{
    BodyExpectation, Check, CheckKind, DEFAULT_INTERVAL, DEFAULT_TIMEOUT, HttpMethod, RecordType,
    StatusSet,
};
use crate::noise::window;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

/// The shortest interval a monitor may run at.
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);
/// Consecutive failures that open an alert, and successes that resolve
/// it, when the declaration does not say.
pub const DEFAULT_THRESHOLD: u32 = 2;
/// The TLS port when a `tls` monitor does not say.
pub const DEFAULT_TLS_PORT: u16 = 443;
/// Days before a certificate's expiry that a `tls` monitor fails, when it
/// does not say.
pub const DEFAULT_WARN_DAYS: u32 = 14;

/// What a monitor probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorType {
    Http,
    Tcp,
    Dns,
    /// A TLS certificate's expiry.
    Tls,
    Icmp,
}

impl MonitorType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Tcp => "tcp",
            Self::Dns => "dns",
            Self::Tls => "tls",
            Self::Icmp => "icmp",
        }
    }
}

/// `expect_json`: the value at a JSON path of the body equals this value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectJson {
    /// The JSON-path subset of `docs/monitors.md` (`$.db.ok`).
    pub path: String,
    pub equals: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monitor {
    pub name: Name,
    /// The service a failing check alerts.
    pub service: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub check_type: MonitorType,

    // http
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// GET (default), HEAD, POST, PUT, PATCH, DELETE, OPTIONS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Codes and ranges (`200-299, 404`); default 200-399.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_keyword: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_json: Option<ExpectJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_latency: Option<String>,
    /// Default on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_redirects: Option<bool>,
    /// Default on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_tls: Option<bool>,

    // tcp, tls, icmp
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// tcp: required; tls: default 443.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// tls: default 14.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_days: Option<u32>,

    // dns
    /// The name to ask for (end it with `.` to skip search domains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    /// Answers that must all be present; empty = any answer will do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<String>,
    /// `ip:port` of the server to ask; default the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolver: Option<String>,

    // every type
    /// Default 60s, at least 10s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Default 10s; shorter than the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_after: Option<u32>,
    /// Default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recover_after: Option<u32>,
    /// Declared but not run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
}

type FieldProblem = (&'static str, String);

impl Monitor {
    /// The check the monitor declares, or the first problem with it as
    /// (field, reason).
    pub fn check(&self) -> Result<Check, FieldProblem> {
        self.build().map_err(|mut problems| problems.swap_remove(0))
    }

    pub(super) fn check_fields(&self, c: &mut Checks) {
        if let Err(problems) = self.build() {
            for (path, message) in problems {
                c.problem(path, message);
            }
        }
    }

    /// The check, or every problem (never an empty list).
    fn build(&self) -> Result<Check, Vec<FieldProblem>> {
        let mut p: Vec<FieldProblem> = Vec::new();
        self.foreign_fields(&mut p);
        let kind = match self.check_type {
            MonitorType::Http => self.http(&mut p),
            MonitorType::Tcp => {
                let host = self.host(&mut p);
                let port = match self.port {
                    None => {
                        p.push(("port", "a tcp monitor needs a port".into()));
                        None
                    }
                    Some(port) => valid_port(port, &mut p),
                };
                host.zip(port)
                    .map(|(host, port)| CheckKind::Tcp { host, port })
            }
            MonitorType::Dns => self.dns(&mut p),
            MonitorType::Tls => {
                let host = self.host(&mut p);
                let port = valid_port(self.port.unwrap_or(DEFAULT_TLS_PORT), &mut p);
                host.zip(port).map(|(host, port)| CheckKind::TlsExpiry {
                    host,
                    port,
                    warn_days: self.warn_days.unwrap_or(DEFAULT_WARN_DAYS),
                })
            }
            MonitorType::Icmp => self.host(&mut p).map(|host| CheckKind::Icmp { host }),
        };
        let interval = match &self.interval {
            None => Some(DEFAULT_INTERVAL),
            Some(s) => match duration(s) {
                Err(e) => {
                    p.push(("interval", e));
                    None
                }
                Ok(d) if d < MIN_INTERVAL => {
                    p.push((
                        "interval",
                        format!(
                            "{s:?} is shorter than the {}s a monitor must wait between runs",
                            MIN_INTERVAL.as_secs()
                        ),
                    ));
                    None
                }
                Ok(d) => Some(d),
            },
        };
        let timeout = match &self.timeout {
            None => Some(DEFAULT_TIMEOUT),
            Some(s) => duration(s).map_err(|e| p.push(("timeout", e))).ok(),
        };
        if let (Some(i), Some(t)) = (interval, timeout)
            && t >= i
        {
            p.push((
                "timeout",
                format!(
                    "the timeout ({}) must be shorter than the interval ({}): one run ends before the next starts",
                    words(t),
                    words(i)
                ),
            ));
        }
        let fail_after = threshold("fail_after", self.fail_after, &mut p);
        let recover_after = threshold("recover_after", self.recover_after, &mut p);
        match (kind, interval, timeout, fail_after, recover_after) {
            (Some(kind), Some(interval), Some(timeout), Some(fail_after), Some(recover_after))
                if p.is_empty() =>
            {
                Ok(Check {
                    kind,
                    interval,
                    timeout,
                    fail_after,
                    recover_after,
                })
            }
            _ => Err(p),
        }
    }

    /// Fields set that the monitor's type does not use.
    fn foreign_fields(&self, p: &mut Vec<FieldProblem>) {
        use MonitorType::{Dns, Http, Icmp, Tcp, Tls};
        let set: [(&'static str, bool, &[MonitorType]); 18] = [
            ("url", self.url.is_some(), &[Http]),
            ("method", self.method.is_some(), &[Http]),
            ("headers", !self.headers.is_empty(), &[Http]),
            ("body", self.body.is_some(), &[Http]),
            ("expect_status", self.expect_status.is_some(), &[Http]),
            ("expect_keyword", self.expect_keyword.is_some(), &[Http]),
            ("expect_regex", self.expect_regex.is_some(), &[Http]),
            ("expect_json", self.expect_json.is_some(), &[Http]),
            ("max_latency", self.max_latency.is_some(), &[Http]),
            ("follow_redirects", self.follow_redirects.is_some(), &[Http]),
            ("verify_tls", self.verify_tls.is_some(), &[Http]),
            ("host", self.host.is_some(), &[Tcp, Tls, Icmp]),
            ("port", self.port.is_some(), &[Tcp, Tls]),
            ("warn_days", self.warn_days.is_some(), &[Tls]),
            ("query", self.query.is_some(), &[Dns]),
            ("record_type", self.record_type.is_some(), &[Dns]),
            ("expect", !self.expect.is_empty(), &[Dns]),
            ("resolver", self.resolver.is_some(), &[Dns]),
        ];
        for (field, is_set, types) in set {
            if is_set && !types.contains(&self.check_type) {
                let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
                let message = match names.as_slice() {
                    [one] => format!("only for type {one}"),
                    [init @ .., last] => format!("only for types {} and {last}", init.join(", ")),
                    [] => continue,
                };
                p.push((
                    field,
                    format!("{message}; this monitor is {}", self.check_type.as_str()),
                ));
            }
        }
    }

    fn http(&self, p: &mut Vec<FieldProblem>) -> Option<CheckKind> {
        let url = match &self.url {
            None => {
                p.push(("url", "an http monitor needs a url".into()));
                None
            }
            Some(u) => {
                let ok = ["http://", "https://"]
                    .iter()
                    .any(|pre| u.strip_prefix(pre).is_some_and(|rest| !rest.is_empty()))
                    && !u.contains(char::is_whitespace);
                if ok {
                    Some(u.clone())
                } else {
                    p.push(("url", format!("{u:?} is not an http(s) URL")));
                    None
                }
            }
        };
        let method = match &self.method {
            None => Some(HttpMethod::Get),
            Some(m) => HttpMethod::parse(m)
                .map_err(|e| p.push(("method", e.to_string())))
                .ok(),
        };
        for (name, value) in &self.headers {
            let token = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
            if !token {
                p.push(("headers", format!("{name:?} is not an HTTP header name")));
            }
            if value.contains(['\r', '\n']) {
                p.push((
                    "headers",
                    format!("the value of {name:?} holds a line break"),
                ));
            }
        }
        let expect_status = match &self.expect_status {
            None => Some(StatusSet::default()),
            Some(s) => StatusSet::parse(s)
                .map_err(|e| p.push(("expect_status", e.to_string())))
                .ok(),
        };
        let given = [
            ("expect_keyword", self.expect_keyword.is_some()),
            ("expect_regex", self.expect_regex.is_some()),
            ("expect_json", self.expect_json.is_some()),
        ];
        if given.iter().filter(|(_, set)| *set).count() > 1 {
            for (field, _) in given.iter().filter(|(_, set)| *set).skip(1) {
                p.push((
                    field,
                    "give only one of expect_keyword, expect_regex and expect_json".into(),
                ));
            }
        }
        let mut expect_ok = true;
        let mut expect = None;
        if let Some(json) = &self.expect_json {
            match BodyExpectation::json_path(&json.path, json.equals.clone()) {
                Ok(e) => expect = Some(e),
                Err(e) => {
                    p.push(("expect_json.path", e.to_string()));
                    expect_ok = false;
                }
            }
        }
        if let Some(re) = &self.expect_regex {
            match BodyExpectation::regex(re) {
                Ok(e) => expect = Some(e),
                Err(e) => {
                    p.push(("expect_regex", e.to_string()));
                    expect_ok = false;
                }
            }
        }
        if let Some(k) = &self.expect_keyword {
            if k.is_empty() {
                p.push(("expect_keyword", "must not be empty".into()));
                expect_ok = false;
            } else {
                expect = Some(BodyExpectation::Keyword(k.clone()));
            }
        }
        let max_latency = match &self.max_latency {
            None => Some(None),
            Some(s) => duration(s)
                .map(Some)
                .map_err(|e| p.push(("max_latency", e)))
                .ok(),
        };
        let (url, method, expect_status, max_latency) =
            (url?, method?, expect_status?, max_latency?);
        expect_ok.then(|| CheckKind::Http {
            method,
            url,
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            body: self.body.clone(),
            expect_status,
            expect,
            max_latency,
            follow_redirects: self.follow_redirects.unwrap_or(true),
            verify_tls: self.verify_tls.unwrap_or(true),
        })
    }

    fn dns(&self, p: &mut Vec<FieldProblem>) -> Option<CheckKind> {
        let name = match &self.query {
            None => {
                p.push((
                    "query",
                    "a dns monitor needs the name to ask for (query)".into(),
                ));
                None
            }
            Some(q) if q.is_empty() || q.contains(char::is_whitespace) => {
                p.push(("query", format!("{q:?} is not a DNS name")));
                None
            }
            Some(q) => Some(q.clone()),
        };
        let record_type = match &self.record_type {
            None => {
                p.push((
                    "record_type",
                    "a dns monitor needs a record_type (A, AAAA, CNAME, MX, TXT or NS)".into(),
                ));
                None
            }
            Some(t) => RecordType::parse(t)
                .map_err(|e| p.push(("record_type", e.to_string())))
                .ok(),
        };
        let resolver = match &self.resolver {
            None => Some(None),
            Some(r) => match r.parse::<SocketAddr>() {
                Ok(a) => Some(Some(a)),
                Err(_) => {
                    p.push((
                        "resolver",
                        format!("{r:?} is not ip:port (e.g. 1.1.1.1:53 or [2606:4700::1111]:53)"),
                    ));
                    None
                }
            },
        };
        Some(CheckKind::Dns {
            name: name?,
            record_type: record_type?,
            expect: self.expect.clone(),
            resolver: resolver?,
        })
    }

    fn host(&self, p: &mut Vec<FieldProblem>) -> Option<String> {
        match &self.host {
            None => {
                p.push((
                    "host",
                    format!("a {} monitor needs a host", self.check_type.as_str()),
                ));
                None
            }
            Some(h) if h.contains("://") || h.contains('/') => {
                p.push((
                    "host",
                    format!("{h:?} is a URL; give only the host name or address"),
                ));
                None
            }
            Some(h) if h.is_empty() || h.contains(char::is_whitespace) => {
                p.push(("host", format!("{h:?} is not a host name or address")));
                None
            }
            Some(h) => Some(h.clone()),
        }
    }
}

fn valid_port(port: u16, p: &mut Vec<FieldProblem>) -> Option<u16> {
    if port == 0 {
        p.push(("port", "port 0 cannot be connected to (use 1–65535)".into()));
        None
    } else {
        Some(port)
    }
}

fn threshold(field: &'static str, n: Option<u32>, p: &mut Vec<FieldProblem>) -> Option<NonZeroU32> {
    match NonZeroU32::new(n.unwrap_or(DEFAULT_THRESHOLD)) {
        Some(n) => Some(n),
        None => {
            p.push((field, "must be at least 1".into()));
            None
        }
    }
}

fn duration(s: &str) -> Result<Duration, String> {
    let d = window::parse_duration(s)?;
    Duration::try_from(d).map_err(|_| "must be longer than zero".to_owned())
}

fn words(d: Duration) -> String {
    if d.subsec_millis() != 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs())
    }
}
