//! TCP: healthy when a connection is established.

use crate::{host_port, since};
use std::io::ErrorKind;
use std::time::Instant;
use tocsin_domain::monitor::ProbeResult;
use tokio::net::TcpStream;

pub(crate) async fn probe(host: &str, port: u16, start: Instant) -> ProbeResult {
    let target = host_port(host, port);
    match TcpStream::connect((host, port)).await {
        Ok(stream) => {
            let peer = stream
                .peer_addr()
                .map_or_else(|_| target.clone(), |a| a.to_string());
            ProbeResult::ok(since(start), format!("connected to {peer}"))
        }
        Err(e) => ProbeResult::fail(since(start), connect_error(&target, &e)),
    }
}

/// A connect error in words, shared with the TLS probe.
pub(crate) fn connect_error(target: &str, e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::ConnectionRefused => {
            format!("{target}: connection refused (nothing listening, or a firewall rejects it)")
        }
        ErrorKind::TimedOut => format!("{target}: connect timed out"),
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
            format!("{target}: unreachable ({e})")
        }
        _ => format!("{target}: cannot connect: {e}"),
    }
}
