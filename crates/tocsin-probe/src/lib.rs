//! tocsin's health-check probes: one run of a declared check
//! ([`tocsin_domain::monitor::CheckKind`]) against the network, as a
//! [`ProbeResult`].
//!
//! One module per kind: [`http`] (reqwest), [`tcp`] (a connect), [`dns`]
//! (hickory-resolver), [`tls`] (a tokio-rustls handshake and the leaf
//! certificate's notAfter read with x509-parser), [`icmp`] (surge-ping).
//! Each gathers facts; the judging (statuses, body expectations, answers,
//! days left) is done by the pure rules in `tocsin_domain::monitor`.
//!
//! Invariants:
//! - Every probe returns a [`ProbeResult`]; every error (refused, timed
//!   out, bad certificate, no permission) is a failed result whose reason
//!   says what happened and, where there is one, what to do. Nothing here
//!   panics.
//! - The whole probe is bounded by the check's timeout, and an HTTP body
//!   is read up to `tocsin_domain::monitor::MAX_BODY` bytes.
//! - "Now" (for certificate expiry) is an argument: this crate never reads
//!   the wall clock. Latency is measured with the monotonic clock.
//! - No scheduling, storage or thresholds here: the caller feeds results
//!   to a `tocsin_domain::monitor::Tracker`.

pub mod dns;
pub mod http;
pub mod icmp;
pub mod tcp;
pub mod tls;

use jiff::Timestamp;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tocsin_domain::monitor::{CheckKind, ProbeResult};
use tokio_rustls::rustls::pki_types::CertificateDer;

/// Runs probes. Holds what is shared between runs: extra trusted CA
/// certificates (a private CA, or a test's), added to the system's roots.
#[derive(Debug, Clone, Default)]
pub struct Prober {
    extra_roots: Arc<Vec<CertificateDer<'static>>>,
}

impl Prober {
    /// A prober trusting the system's roots only.
    pub fn new() -> Self {
        Self::default()
    }

    /// A prober that also trusts these CA certificates (DER).
    pub fn trusting(roots: impl IntoIterator<Item = Vec<u8>>) -> Self {
        Self {
            extra_roots: Arc::new(roots.into_iter().map(CertificateDer::from).collect()),
        }
    }

    pub(crate) fn extra_roots(&self) -> &[CertificateDer<'static>] {
        &self.extra_roots
    }

    /// Runs one check once, within `timeout`. `now` is the instant a
    /// certificate's expiry is measured from.
    pub async fn probe(&self, kind: &CheckKind, timeout: Duration, now: Timestamp) -> ProbeResult {
        let start = Instant::now();
        let run = async {
            match kind {
                CheckKind::Http { .. } => http::probe(self, kind, start).await,
                CheckKind::Tcp { host, port } => tcp::probe(host, *port, start).await,
                CheckKind::Dns {
                    name,
                    record_type,
                    expect,
                    resolver,
                } => dns::probe(name, *record_type, expect, *resolver, timeout, start).await,
                CheckKind::TlsExpiry {
                    host,
                    port,
                    warn_days,
                } => tls::probe(self, host, *port, *warn_days, now, start).await,
                CheckKind::Icmp { host } => icmp::probe(host, timeout, start).await,
            }
        };
        within(timeout, start, run).await
    }
}

/// [`Prober::probe`] with the system's roots only.
pub async fn probe(kind: &CheckKind, timeout: Duration, now: Timestamp) -> ProbeResult {
    Prober::new().probe(kind, timeout, now).await
}

/// Bounds a probe by the check's timeout; running out is a failure.
async fn within(
    timeout: Duration,
    start: Instant,
    run: impl Future<Output = ProbeResult>,
) -> ProbeResult {
    match tokio::time::timeout(timeout, run).await {
        Ok(result) => result,
        Err(_) => ProbeResult::fail(
            start.elapsed(),
            format!("timed out after {} ms", timeout.as_millis()),
        ),
    }
}

/// Time since `start`, for a result.
pub(crate) fn since(start: Instant) -> Duration {
    start.elapsed()
}

/// A host and port as written in messages (IPv6 in brackets).
pub(crate) fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
