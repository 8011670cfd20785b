//! Ingestion wire formats: one module per format, each turning the raw body
//! of a request into normalized [`Event`](tocsin_domain::ingest::Event)s and
//! building that format's own success and error bodies. Formats and mapping
//! are documented in `docs/ingestion.md`.
//!
//! Invariants:
//! - Parsers are pure: bytes (plus the request's path and query pieces where
//!   the format puts data there) and a [`SeverityMap`] in, events or a
//!   [`FormatError`] out. No I/O, no clock, no store, no HTTP types; the only
//!   randomness is a fresh dedup key where the format says the server makes
//!   one (PagerDuty, generic) and request ids the caller asks for.
//! - No parser panics on any input (property tests here, `fuzz/` at the
//!   repository root); every refusal names the field and says why.
//! - Every parser refuses a body over [`MAX_BODY_BYTES`] before reading it.
//!
//! [`SeverityMap`]: tocsin_domain::ingest::SeverityMap

pub mod alertmanager;
pub mod generic;
pub mod grafana;
pub mod opsgenie;
pub mod pagerduty;
pub mod routes;
mod webhook;

use crate::problem::Problem;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tocsin_domain::Severity;
use tocsin_domain::ingest::{Link, MAX_DEDUP_KEY_LEN, SeverityMap};

/// The largest body any ingestion endpoint reads: PagerDuty's documented
/// limit for an Events API v2 payload, applied to every format.
pub const MAX_BODY_BYTES: usize = 512 * 1024;

/// The field name used when the body as a whole is unusable (not JSON, not
/// an object, too large) rather than one field in it.
pub const BODY: &str = "body";

/// Why a request was refused: which field (a path such as
/// `alerts[2].labels.severity`, or [`BODY`]) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FormatError {
    pub field: String,
    pub reason: String,
}

impl FormatError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        FormatError {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Whether the body as a whole could not be read (bad JSON, not an
    /// object, too large), as opposed to one field being wrong. Formats
    /// that distinguish the two (PagerDuty's "Unrecognized object", our
    /// `invalid-body`) use this.
    pub fn is_malformed_body(&self) -> bool {
        self.field == BODY
    }
}

/// Refuses a body over [`MAX_BODY_BYTES`].
pub(crate) fn check_size(body: &[u8]) -> Result<(), FormatError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(FormatError::new(
            BODY,
            format!(
                "is {} bytes; the limit is {MAX_BODY_BYTES} bytes",
                body.len()
            ),
        ));
    }
    Ok(())
}

/// Deserializes `body` into a wire struct, turning serde's error into a
/// [`FormatError`] that names the field by its path. Syntax errors and a
/// top-level value that is not an object are reported against [`BODY`].
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, FormatError> {
    check_size(body)?;
    // serde would also read a struct from an array of its fields in order;
    // no sender means that, so anything but an object is refused here.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) => FormatError::new(BODY, "must be a JSON object"),
                Err(e) => FormatError::new(BODY, format!("is not valid JSON: {e}")),
            },
        );
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let malformed = !inner.is_data();
        let field = if malformed || path == "." || path.is_empty() {
            String::new()
        } else {
            path
        };
        refine(field, malformed, &inner.to_string())
    })?;
    de.end()
        .map_err(|e| FormatError::new(BODY, format!("is not valid JSON: {e}")))?;
    Ok(value)
}

/// Rewrites serde's messages into "field: reason" form. serde reports a
/// missing or unknown field against the object that holds it; we name the
/// field itself.
fn refine(parent: String, malformed: bool, message: &str) -> FormatError {
    let join = |name: &str| {
        if parent.is_empty() {
            name.to_owned()
        } else {
            format!("{parent}.{name}")
        }
    };
    if malformed {
        return FormatError::new(BODY, format!("is not valid JSON: {message}"));
    }
    if let Some(name) = backticked(message, "missing field `") {
        return FormatError::new(join(name), "is required");
    }
    if let Some(name) = backticked(message, "unknown field `") {
        // The path already ends with the unknown key.
        let field = if parent == name || parent.ends_with(&format!(".{name}")) {
            parent.clone()
        } else {
            join(name)
        };
        let expected = message
            .split_once(", expected ")
            .map(|(_, rest)| strip_position(rest))
            .unwrap_or_default();
        let reason = if expected.is_empty() {
            "is not a known field".to_owned()
        } else {
            format!("is not a known field (expected {expected})")
        };
        return FormatError::new(field, reason);
    }
    if let Some(name) = backticked(message, "duplicate field `") {
        return FormatError::new(join(name), "is given twice");
    }
    if parent.is_empty() && message.starts_with("invalid type") {
        return FormatError::new(
            BODY,
            format!("must be a JSON object ({})", strip_position(message)),
        );
    }
    let field = if parent.is_empty() {
        BODY.to_owned()
    } else {
        parent
    };
    FormatError::new(field, strip_position(message))
}

/// The name in "prefix`name`…", if `message` starts with `prefix`.
fn backticked<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    message.strip_prefix(prefix)?.split('`').next()
}

/// serde_json appends " at line L column C"; a field path says more.
fn strip_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |i| &message[..i])
}

/// Parses a sender's timestamp: RFC 3339, plus the ISO 8601 basic offset
/// form (`+0000`) that PagerDuty's own examples use.
pub(crate) fn parse_time(field: &str, s: &str) -> Result<Timestamp, FormatError> {
    s.trim().parse::<Timestamp>().map_err(|e| {
        FormatError::new(
            field,
            format!("{s:?} is not an RFC 3339 timestamp with an offset ({e})"),
        )
    })
}

/// Refuses a string longer than `max` characters (not bytes: every wire
/// format here counts characters).
pub(crate) fn check_len(field: &str, s: &str, max: usize) -> Result<(), FormatError> {
    let n = s.chars().count();
    if n > max {
        return Err(FormatError::new(
            field,
            format!("is {n} characters long; the limit is {max}"),
        ));
    }
    Ok(())
}

/// Checks a dedup key given by the sender.
pub(crate) fn check_dedup_key(field: &str, key: &str) -> Result<(), FormatError> {
    check_len(field, key, MAX_DEDUP_KEY_LEN)
}

/// A fresh random dedup key (UUID v4, 32 hex digits), for a trigger that
/// came without one.
pub(crate) fn random_dedup_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A stable key derived from content: the SHA-256 of `content` in hex,
/// after a prefix that says what was hashed.
pub(crate) fn content_key(prefix: &str, content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    format!("{prefix}{}", hex::encode(digest))
}

/// A severity word we know: `sev1`…`sev5`, or a word in one of the map's
/// tables (PagerDuty words, label values). `None` for anything else, so
/// formats that must refuse unknown words can.
pub(crate) fn known_severity(map: &SeverityMap, word: &str) -> Option<Severity> {
    let w = word.trim().to_ascii_lowercase();
    Severity::parse(&w)
        .or_else(|| map.pagerduty.get(&w).copied())
        .or_else(|| map.labels.get(&w).copied())
}

/// A link, unless its address is empty (senders fill unset template
/// fields with "").
pub(crate) fn link(href: Option<&str>, text: &str) -> Option<Link> {
    let href = href?.trim();
    if href.is_empty() {
        return None;
    }
    Some(Link {
        href: href.to_owned(),
        text: Some(text.to_owned()),
    })
}

/// `Some(s)` unless `s` is empty or blank: the formats here send "" for
/// "not set".
pub(crate) fn non_blank(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

/// tocsin's own error body, for the formats that define none (Alertmanager,
/// Grafana, generic): RFC 9457 problem+json like the REST API, `400
/// invalid-body` when the body could not be read at all, `422
/// invalid-input` otherwise, with the field named in `errors`.
pub fn problem(e: &FormatError) -> Problem {
    let p = if e.is_malformed_body() {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-body",
            "Invalid request body",
            e.to_string(),
        )
    } else {
        Problem::invalid(e.to_string(), Vec::new())
    };
    p.with_errors(vec![Problem::field(&e.field, e.reason.clone())])
}

/// tocsin's own success body, for the formats that define none: how many
/// events the request carried.
pub(crate) fn accepted_body(events: usize) -> Value {
    json!({ "status": "success", "events": events })
}

/// Lists problems as "field: reason" lines, the shape every error body
/// here uses for its list.
pub(crate) fn lines(errors: &[FormatError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Probe {
        name: String,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default)]
        inner: Option<Inner>,
        #[serde(default)]
        labels: BTreeMap<String, String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        href: String,
    }

    #[test]
    fn decode_names_the_field() {
        let cases: &[(&str, &str, &str)] = &[
            ("", "body", "is not valid JSON"),
            ("{", "body", "is not valid JSON"),
            ("[1]", "body", "must be a JSON object"),
            (r#"["a", [], {}, {}]"#, "body", "must be a JSON object"),
            ("42", "body", "must be a JSON object"),
            ("[1", "body", "is not valid JSON"),
            (r#"{"name":"a"} x"#, "body", "is not valid JSON"),
            ("{}", "name", "is required"),
            (r#"{"name": 5}"#, "name", "invalid type: integer `5`"),
            (r#"{"name":"a","tags":[1]}"#, "tags[0]", "invalid type"),
            (r#"{"name":"a","inner":{}}"#, "inner.href", "is required"),
            (
                r#"{"name":"a","inner":{"href":"x","y":1}}"#,
                "inner.y",
                "is not a known field",
            ),
            (
                r#"{"name":"a","bogus":1}"#,
                "bogus",
                "is not a known field (expected one of `name`",
            ),
            (r#"{"name":"a","name":"b"}"#, "name", "is given twice"),
            (
                r#"{"name":"a","labels":{"sev":3}}"#,
                "labels.sev",
                "invalid type",
            ),
        ];
        for (i, (body, field, reason)) in cases.iter().enumerate() {
            let e = decode::<Probe>(body.as_bytes()).unwrap_err();
            assert_eq!(e.field, *field, "case {i}: {e}");
            assert!(e.reason.starts_with(reason), "case {i}: {e}");
            if !e.is_malformed_body() {
                assert!(!e.reason.contains(" at line "), "case {i}: {e}");
            }
        }
    }

    #[test]
    fn size_limit() {
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        let e = decode::<Probe>(&big).unwrap_err();
        assert!(e.is_malformed_body());
        assert!(e.reason.contains("limit"), "{e}");
    }

    #[test]
    fn timestamps() {
        for ok in [
            "2015-07-17T08:42:58.315+0000",
            "2024-03-01T12:00:00Z",
            "2024-03-01T12:00:00.123456Z",
            "2021-10-12T09:51:03.157076+02:00",
            "0001-01-01T00:00:00Z",
        ] {
            assert!(parse_time("t", ok).is_ok(), "{ok}");
        }
        for bad in ["", "yesterday", "2024-03-01T12:00:00", "2024-03-01"] {
            let e = parse_time("payload.timestamp", bad).unwrap_err();
            assert_eq!(e.field, "payload.timestamp");
        }
    }

    #[test]
    fn display_is_field_colon_reason() {
        assert_eq!(
            FormatError::new("payload.summary", "is required").to_string(),
            "payload.summary: is required"
        );
    }

    #[test]
    fn severity_words() {
        let m = SeverityMap::default();
        assert_eq!(known_severity(&m, "Critical"), Some(Severity::Sev1));
        assert_eq!(known_severity(&m, "sev4"), Some(Severity::Sev4));
        assert_eq!(known_severity(&m, "page"), Some(Severity::Sev1));
        assert_eq!(known_severity(&m, "bogus"), None);
    }
}
