//! DNS: one query of the declared record type, to the declared resolver
//! (UDP, then TCP, on its address) or the system's (`/etc/resolv.conf`);
//! the answers judged by `tocsin_domain::monitor::evaluate_dns`.

use crate::since;
use hickory_resolver::Resolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RecordType as WireType;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tocsin_domain::monitor::{ProbeResult, RecordType, evaluate_dns};

pub(crate) async fn probe(
    name: &str,
    record_type: RecordType,
    expect: &[String],
    resolver: Option<SocketAddr>,
    timeout: Duration,
    start: Instant,
) -> ProbeResult {
    let query = format!("{name} {record_type}");
    let fail = |reason: String| ProbeResult::fail(since(start), reason);
    let server = resolver.map_or_else(|| "the system resolver".to_owned(), |a| a.to_string());
    let builder = match resolver {
        Some(addr) => {
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            let server = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
            Resolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![server]),
                TokioRuntimeProvider::default(),
            )
        }
        None => match Resolver::builder_tokio() {
            Ok(b) => b,
            Err(e) => {
                return fail(format!(
                    "cannot read the system's resolver configuration: {e}"
                ));
            }
        },
    };
    let mut builder = builder;
    let opts = builder.options_mut();
    opts.timeout = timeout;
    opts.attempts = 1;
    // Each run asks afresh: a cached answer would hide a change.
    opts.cache_size = 0;
    let client = match builder.build() {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot set up the resolver: {e}")),
    };
    match client.lookup(name, wire_type(record_type)).await {
        Ok(lookup) => {
            let answers: Vec<String> = lookup
                .answers()
                .iter()
                .filter(|r| r.record_type() == wire_type(record_type))
                .map(|r| r.data.to_string())
                .collect();
            evaluate_dns(&query, expect, &answers, since(start))
        }
        Err(e) if e.is_nx_domain() => {
            fail(format!("{query}: no such name (NXDOMAIN from {server})"))
        }
        Err(e) if e.is_no_records_found() => fail(format!("{query}: no answers from {server}")),
        Err(e) => fail(format!("{query}: lookup via {server} failed: {e}")),
    }
}

fn wire_type(t: RecordType) -> WireType {
    match t {
        RecordType::A => WireType::A,
        RecordType::Aaaa => WireType::AAAA,
        RecordType::Cname => WireType::CNAME,
        RecordType::Mx => WireType::MX,
        RecordType::Txt => WireType::TXT,
        RecordType::Ns => WireType::NS,
    }
}
