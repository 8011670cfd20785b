//! Health checks as rules: what a check declares ([`Check`], [`CheckKind`]),
//! what one run of it found ([`ProbeResult`]), how an answer is judged
//! against the declared expectations ([`evaluate_http`], [`evaluate_dns`],
//! [`evaluate_expiry`]), and when consecutive results open or resolve an
//! alert ([`Tracker`]).
//!
//! The probes themselves (sockets, HTTP, TLS handshakes, ICMP) live in
//! `tocsin-probe`; they gather the facts and call the judges here, so
//! every rule is unit-tested without I/O.
//!
//! Invariants: no I/O, no async; time (a certificate's "now") is an
//! argument. A failed result always carries a reason in words.

mod evaluate;
mod json_path;
mod result;
mod spec;
mod tracker;

pub use evaluate::{HttpAnswer, HttpExpectations, evaluate_dns, evaluate_expiry, evaluate_http};
pub use json_path::{JsonPath, JsonPathError};
pub use result::ProbeResult;
pub use spec::{
    BodyExpectation, Check, CheckKind, DEFAULT_INTERVAL, DEFAULT_TIMEOUT, HttpMethod, MAX_BODY,
    RecordType, SpecError, StatusRange, StatusSet,
};
pub use tracker::{Tracker, Transition};
