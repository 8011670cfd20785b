//! ICMP echo: one ping with surge-ping.
//!
//! Opening an ICMP socket needs either unprivileged ICMP ("ping") sockets,
//! allowed for the process's group by the `net.ipv4.ping_group_range`
//! sysctl, or raw sockets (root or CAP_NET_RAW). When neither is allowed
//! the result says so and how to allow it.

use crate::since;
use std::io::ErrorKind;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use surge_ping::{Client, Config, ICMP, PingIdentifier, PingSequence, SurgeError};
use tocsin_domain::monitor::ProbeResult;

/// What to do when ICMP sockets are refused; part of the failure reason.
pub const HOW_TO_ALLOW: &str = "ICMP sockets are not permitted for this process: allow \
     unprivileged ping with `sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"` \
     (persist it in /etc/sysctl.d/), or run tocsin with CAP_NET_RAW \
     (e.g. `setcap cap_net_raw+ep /usr/bin/tocsin`, or AmbientCapabilities=CAP_NET_RAW in its systemd unit)";

pub(crate) async fn probe(host: &str, timeout: Duration, start: Instant) -> ProbeResult {
    let fail = |reason: String| ProbeResult::fail(since(start), reason);
    let ip = match resolve(host).await {
        Ok(ip) => ip,
        Err(reason) => return fail(reason),
    };
    let config = match ip {
        IpAddr::V4(_) => Config::default(),
        IpAddr::V6(_) => Config::builder().kind(ICMP::V6).build(),
    };
    let client = match Client::new(&config) {
        Ok(c) => c,
        Err(e) => return fail(socket_error(&e)),
    };
    // The identifier tells our replies from other pingers' on the host.
    let ident = PingIdentifier(std::process::id() as u16);
    let mut pinger = client.pinger(ip, ident).await;
    pinger.timeout(timeout);
    match pinger.ping(PingSequence(0), &[0; 16]).await {
        Ok((_, rtt)) => ProbeResult::ok(
            since(start),
            format!("reply from {ip} in {} µs", rtt.as_micros()),
        ),
        Err(SurgeError::Timeout { .. }) => fail(format!("{host}: no echo reply from {ip}")),
        Err(SurgeError::IOError(e)) if e.kind() == ErrorKind::PermissionDenied => {
            fail(socket_error(&e))
        }
        Err(e) => fail(format!("{host}: ping failed: {e}")),
    }
}

/// The host's first address (an IP literal is used as is).
async fn resolve(host: &str) -> Result<IpAddr, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip);
    }
    match tokio::net::lookup_host((host, 0)).await {
        Ok(mut addrs) => addrs
            .next()
            .map(|a| a.ip())
            .ok_or_else(|| format!("{host}: the name has no address")),
        Err(e) => Err(format!("{host}: cannot resolve the name: {e}")),
    }
}

/// Why an ICMP socket could not be used: EACCES/EPERM mean ICMP is not
/// allowed for this process, and the reason says how to allow it.
fn socket_error(e: &std::io::Error) -> String {
    if e.kind() == ErrorKind::PermissionDenied {
        HOW_TO_ALLOW.to_owned()
    } else {
        format!("cannot open an ICMP socket: {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_sockets_say_how_to_allow_icmp() {
        // EACCES (ping_group_range excludes us) and EPERM (no CAP_NET_RAW).
        for errno in [13, 1] {
            let e = std::io::Error::from_raw_os_error(errno);
            assert_eq!(socket_error(&e), HOW_TO_ALLOW, "errno {errno}");
        }
        let other = std::io::Error::from(ErrorKind::AddrNotAvailable);
        assert!(socket_error(&other).starts_with("cannot open an ICMP socket: "));
    }
}
