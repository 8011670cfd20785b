//! The probes against local peers on 127.0.0.1:0: an axum HTTP server, a
//! TLS server with rcgen certificates (a small CA and a leaf: rustls
//! refuses a lone self-signed certificate), a TCP port open and closed, a
//! tiny UDP DNS responder, and ICMP to 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::{SignedDuration, Timestamp};
use std::net::SocketAddr;
use std::time::Duration;
use tocsin_domain::monitor::{
    BodyExpectation, CheckKind, HttpMethod, ProbeResult, RecordType, StatusSet,
};
use tocsin_probe::{Prober, icmp, probe};

const TIMEOUT: Duration = Duration::from_secs(5);

fn now() -> Timestamp {
    "2026-11-22T09:00:00Z".parse().unwrap()
}

fn reason(r: &ProbeResult) -> &str {
    assert_eq!(r.ok, r.reason.is_none(), "{r:?}");
    r.reason.as_deref().unwrap_or("")
}

// ---------------------------------------------------------------- HTTP

async fn http_peer() -> SocketAddr {
    use axum::Router;
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::routing::{get, post};
    let app = Router::new()
        .route("/ok", get(|| async { "all healthy" }))
        .route(
            "/down",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "all healthy, eventually"
            }),
        )
        .route(
            "/redirect",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/ok")]) }),
        )
        .route(
            "/echo",
            post(|headers: HeaderMap, body: String| async move {
                let token = headers.get("x-probe").and_then(|v| v.to_str().ok());
                if token == Some("secret") && body == "ping" {
                    (StatusCode::OK, "pong".to_owned())
                } else {
                    (StatusCode::BAD_REQUEST, format!("got {token:?} {body:?}"))
                }
            }),
        )
        .route(
            "/json",
            get(|| async { r#"{"db":{"ok":true},"queues":[{"depth":3}]}"# }),
        )
        .route("/big", get(|| async { "x".repeat(3 * 1024 * 1024) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn get(addr: SocketAddr, path: &str) -> CheckKind {
    CheckKind::http_get(format!("http://{addr}{path}"))
}

fn with(kind: CheckKind, f: impl FnOnce(&mut CheckKind)) -> CheckKind {
    let mut kind = kind;
    f(&mut kind);
    kind
}

fn set_expect(kind: &mut CheckKind, e: BodyExpectation) {
    if let CheckKind::Http { expect, .. } = kind {
        *expect = Some(e);
    }
}

#[tokio::test]
async fn http_200_with_keyword_is_ok_and_missing_keyword_fails() {
    let addr = http_peer().await;
    let ok = with(get(addr, "/ok"), |k| {
        set_expect(k, BodyExpectation::Keyword("healthy".into()))
    });
    let r = probe(&ok, TIMEOUT, now()).await;
    assert!(r.ok, "{r:?}");
    assert!(
        r.detail
            .as_deref()
            .unwrap()
            .starts_with("HTTP 200, 11 bytes")
    );

    let missing = with(get(addr, "/ok"), |k| {
        set_expect(k, BodyExpectation::Keyword("database up".into()))
    });
    let r = probe(&missing, TIMEOUT, now()).await;
    assert_eq!(reason(&r), "keyword \"database up\" not found in the body");
}

#[tokio::test]
async fn http_503_fails_naming_the_status() {
    let addr = http_peer().await;
    let r = probe(&get(addr, "/down"), TIMEOUT, now()).await;
    assert_eq!(reason(&r), "expected status 200–399, got 503");
}

#[tokio::test]
async fn http_slower_than_max_latency_fails() {
    let addr = http_peer().await;
    let slow = with(get(addr, "/slow"), |k| {
        if let CheckKind::Http { max_latency, .. } = k {
            *max_latency = Some(Duration::from_millis(100));
        }
    });
    let r = probe(&slow, TIMEOUT, now()).await;
    assert!(reason(&r).starts_with("too slow: answered in "), "{r:?}");
    assert!(reason(&r).ends_with("over the 100 ms limit"), "{r:?}");
    assert!(r.latency >= Duration::from_millis(300));
}

#[tokio::test]
async fn http_beyond_the_timeout_fails() {
    let addr = http_peer().await;
    let r = probe(&get(addr, "/slow"), Duration::from_millis(100), now()).await;
    assert_eq!(reason(&r), "timed out after 100 ms");
}

#[tokio::test]
async fn http_redirects_followed_or_not() {
    let addr = http_peer().await;
    let followed = with(get(addr, "/redirect"), |k| {
        set_expect(k, BodyExpectation::Keyword("healthy".into()))
    });
    let r = probe(&followed, TIMEOUT, now()).await;
    assert!(r.ok, "{r:?}");

    let not_followed = with(get(addr, "/redirect"), |k| {
        if let CheckKind::Http {
            follow_redirects,
            expect_status,
            ..
        } = k
        {
            *follow_redirects = false;
            *expect_status = StatusSet::parse("200").unwrap();
        }
    });
    let r = probe(&not_followed, TIMEOUT, now()).await;
    assert_eq!(
        reason(&r),
        "expected status 200, got 302 (redirect to /ok, not followed)"
    );
}

#[tokio::test]
async fn http_post_sends_body_and_headers() {
    let addr = http_peer().await;
    let post = |token: &str| {
        let token = token.to_owned();
        with(get(addr, "/echo"), move |k| {
            if let CheckKind::Http {
                method,
                headers,
                body,
                ..
            } = k
            {
                *method = HttpMethod::Post;
                *headers = vec![("X-Probe".into(), token)];
                *body = Some("ping".into());
            }
        })
    };
    let r = probe(&post("secret"), TIMEOUT, now()).await;
    assert!(r.ok, "{r:?}");
    let r = probe(&post("wrong"), TIMEOUT, now()).await;
    assert_eq!(reason(&r), "expected status 200–399, got 400");
}

#[tokio::test]
async fn http_json_path_is_checked() {
    let addr = http_peer().await;
    let check = |path: &str, value: serde_json::Value| {
        let e = BodyExpectation::json_path(path, value).unwrap();
        with(get(addr, "/json"), move |k| set_expect(k, e))
    };
    let r = probe(&check("$.db.ok", serde_json::json!(true)), TIMEOUT, now()).await;
    assert!(r.ok, "{r:?}");
    let r = probe(
        &check("$.queues[0].depth", serde_json::json!(0)),
        TIMEOUT,
        now(),
    )
    .await;
    assert_eq!(reason(&r), "$.queues[0].depth: expected 0, got 3");
}

#[tokio::test]
async fn http_body_is_read_up_to_the_bound() {
    let addr = http_peer().await;
    let r = probe(&get(addr, "/big"), TIMEOUT, now()).await;
    assert!(r.ok, "{r:?}");
    assert!(
        r.detail
            .as_deref()
            .unwrap()
            .starts_with("HTTP 200, 1048576+ bytes"),
        "{r:?}"
    );
}

#[tokio::test]
async fn http_connection_refused_fails_with_the_cause() {
    let port = closed_port().await;
    let r = probe(
        &CheckKind::http_get(format!("http://127.0.0.1:{port}/")),
        TIMEOUT,
        now(),
    )
    .await;
    assert!(reason(&r).contains("cannot connect"), "{r:?}");
}

// ---------------------------------------------------------------- TLS

struct Pki {
    ca_der: Vec<u8>,
    chain: Vec<Vec<u8>>,
    key_der: Vec<u8>,
}

/// A CA and a leaf for localhost expiring on 2030-01-10.
fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose, date_time_ymd,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "tocsin probe test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.not_before = date_time_ymd(2025, 1, 1);
    leaf.not_after = date_time_ymd(2030, 1, 10);
    let key = KeyPair::generate().unwrap();
    let leaf = leaf.signed_by(&key, &ca).unwrap();
    Pki {
        ca_der: ca.der().to_vec(),
        chain: vec![leaf.der().to_vec(), ca.der().to_vec()],
        key_der: key.serialize_der(),
    }
}

/// A TLS server answering every request with a tiny HTTP 200.
async fn tls_peer(pki: &Pki) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::crypto::aws_lc_rs;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let chain = pki
        .chain
        .iter()
        .cloned()
        .map(CertificateDer::from)
        .collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.key_der.clone()));
    let config = ServerConfig::builder_with_provider(aws_lc_rs::default_provider().into())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                if matches!(tls.read(&mut buf).await, Ok(n) if n > 0) {
                    let _ = tls
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        )
                        .await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    port
}

fn expiry(port: u16, warn_days: u32) -> CheckKind {
    CheckKind::TlsExpiry {
        host: "localhost".into(),
        port,
        warn_days,
    }
}

fn at(date: &str) -> Timestamp {
    date.parse().unwrap()
}

#[tokio::test]
async fn tls_expiring_within_warn_days_fails_naming_the_date() {
    let pki = pki();
    let port = tls_peer(&pki).await;
    let prober = Prober::trusting([pki.ca_der.clone()]);
    let three_days_before = at("2030-01-07T00:00:00Z");
    let r = prober
        .probe(&expiry(port, 14), TIMEOUT, three_days_before)
        .await;
    assert_eq!(
        reason(&r),
        "certificate expires on 2030-01-10 00:00 UTC, in 3 days (warning at 14 days)"
    );
}

#[tokio::test]
async fn tls_expiring_in_90_days_is_ok() {
    let pki = pki();
    let port = tls_peer(&pki).await;
    let prober = Prober::trusting([pki.ca_der.clone()]);
    let ninety_days_before = at("2030-01-10T00:00:00Z") - SignedDuration::from_hours(24 * 90);
    let r = prober
        .probe(&expiry(port, 14), TIMEOUT, ninety_days_before)
        .await;
    assert!(r.ok, "{r:?}");
    assert_eq!(
        r.detail.as_deref(),
        Some("certificate expires on 2030-01-10 00:00 UTC, in 90 days")
    );
}

#[tokio::test]
async fn tls_untrusted_chain_fails_with_the_reason() {
    let pki = pki();
    let port = tls_peer(&pki).await;
    let r = probe(&expiry(port, 14), TIMEOUT, now()).await;
    let why = reason(&r);
    assert!(
        why.starts_with(&format!("localhost:{port}: TLS handshake failed: ")),
        "{r:?}"
    );
    assert!(why.to_lowercase().contains("certificate"), "{r:?}");
}

#[tokio::test]
async fn tls_wrong_host_name_fails() {
    let pki = pki();
    let port = tls_peer(&pki).await;
    let prober = Prober::trusting([pki.ca_der.clone()]);
    let kind = CheckKind::TlsExpiry {
        host: "127.0.0.1".into(),
        port,
        warn_days: 14,
    };
    let r = prober.probe(&kind, TIMEOUT, now()).await;
    assert!(reason(&r).contains("TLS handshake failed"), "{r:?}");
}

#[tokio::test]
async fn https_verify_tls_on_fails_off_is_ok() {
    let pki = pki();
    let port = tls_peer(&pki).await;
    let url = format!("https://localhost:{port}/");
    let verified = CheckKind::http_get(url.clone());
    let r = probe(&verified, TIMEOUT, now()).await;
    assert!(reason(&r).contains("cannot connect"), "{r:?}");
    assert!(reason(&r).to_lowercase().contains("certificate"), "{r:?}");

    let unverified = with(CheckKind::http_get(url), |k| {
        if let CheckKind::Http { verify_tls, .. } = k {
            *verify_tls = false;
        }
    });
    let r = probe(&unverified, TIMEOUT, now()).await;
    assert!(r.ok, "{r:?}");

    // Trusting the CA makes the verified check pass too.
    let r = Prober::trusting([pki.ca_der.clone()])
        .probe(&verified, TIMEOUT, now())
        .await;
    assert!(r.ok, "{r:?}");
}

// ---------------------------------------------------------------- TCP

async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[tokio::test]
async fn tcp_open_port_is_ok_closed_port_is_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let tcp = |port| CheckKind::Tcp {
        host: "127.0.0.1".into(),
        port,
    };
    let r = probe(&tcp(port), TIMEOUT, now()).await;
    assert!(r.ok, "{r:?}");
    assert_eq!(r.detail, Some(format!("connected to 127.0.0.1:{port}")));

    let closed = closed_port().await;
    let r = probe(&tcp(closed), TIMEOUT, now()).await;
    assert!(
        reason(&r).starts_with(&format!("127.0.0.1:{closed}: connection refused")),
        "{r:?}"
    );
}

// ---------------------------------------------------------------- DNS

/// A UDP DNS responder answering every A query with 10.1.2.3 and any
/// other type with no records (NOERROR, empty answer section).
async fn dns_peer() -> SocketAddr {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            if let Some(answer) = answer(&buf[..n]) {
                let _ = socket.send_to(&answer, from).await;
            }
        }
    });
    addr
}

fn answer(query: &[u8]) -> Option<Vec<u8>> {
    // Header (12 bytes), then the question: labels up to a zero byte, type, class.
    let mut end = 12;
    while *query.get(end)? != 0 {
        end += 1 + usize::from(query[end]);
    }
    let qtype = u16::from_be_bytes([*query.get(end + 1)?, *query.get(end + 2)?]);
    end += 5;
    let mut out = query.get(..12)?.to_vec();
    out[2] = 0x81 | (query[2] & 0x01); // response, recursion desired copied
    out[3] = 0x80; // recursion available, NOERROR
    let answers: u16 = if qtype == 1 { 1 } else { 0 };
    out[4..12].copy_from_slice(&[0, 1, 0, answers as u8, 0, 0, 0, 0]);
    out.extend_from_slice(query.get(12..end)?);
    if qtype == 1 {
        out.extend_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3]);
    }
    Some(out)
}

fn dns(resolver: SocketAddr, record_type: RecordType, expect: &[&str]) -> CheckKind {
    CheckKind::Dns {
        name: "svc.tocsin.test.".into(),
        record_type,
        expect: expect.iter().map(|s| (*s).to_owned()).collect(),
        resolver: Some(resolver),
    }
}

#[tokio::test]
async fn dns_answers_are_checked_against_a_local_responder() {
    let addr = dns_peer().await;
    let r = probe(&dns(addr, RecordType::A, &["10.1.2.3"]), TIMEOUT, now()).await;
    assert!(r.ok, "{r:?}");
    assert_eq!(r.detail.as_deref(), Some("10.1.2.3"));

    let r = probe(&dns(addr, RecordType::A, &["10.9.9.9"]), TIMEOUT, now()).await;
    assert_eq!(
        reason(&r),
        "svc.tocsin.test. A: expected 10.9.9.9, got 10.1.2.3"
    );

    let r = probe(&dns(addr, RecordType::Mx, &[]), TIMEOUT, now()).await;
    assert!(
        reason(&r).starts_with("svc.tocsin.test. MX: no answers"),
        "{r:?}"
    );
}

#[tokio::test]
async fn dns_unreachable_resolver_fails() {
    // A bound UDP socket that never answers.
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let r = probe(
        &dns(addr, RecordType::A, &[]),
        Duration::from_millis(500),
        now(),
    )
    .await;
    assert!(!r.ok);
    assert!(!reason(&r).is_empty());
}

// ---------------------------------------------------------------- ICMP

#[tokio::test]
async fn icmp_to_localhost_is_ok_or_says_how_to_allow_it() {
    let r = probe(
        &CheckKind::Icmp {
            host: "127.0.0.1".into(),
        },
        TIMEOUT,
        now(),
    )
    .await;
    if !r.ok {
        assert_eq!(reason(&r), icmp::HOW_TO_ALLOW);
        assert!(icmp::HOW_TO_ALLOW.contains("net.ipv4.ping_group_range=\"0 2147483647\""));
        assert!(icmp::HOW_TO_ALLOW.contains("CAP_NET_RAW"));
    }
}
