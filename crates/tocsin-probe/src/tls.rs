//! TLS certificate expiry: a handshake (the chain and the host name
//! verified against the system's roots and the prober's extra ones), then
//! the leaf certificate's notAfter judged by
//! `tocsin_domain::monitor::evaluate_expiry`.

use crate::tcp::connect_error;
use crate::{Prober, host_port, since};
use jiff::Timestamp;
use std::sync::Arc;
use std::time::Instant;
use tocsin_domain::monitor::{ProbeResult, evaluate_expiry};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::ServerName;

pub(crate) async fn probe(
    prober: &Prober,
    host: &str,
    port: u16,
    warn_days: u32,
    now: Timestamp,
    start: Instant,
) -> ProbeResult {
    let target = host_port(host, port);
    let fail = |reason: String| ProbeResult::fail(since(start), reason);
    let config = match client_config(prober) {
        Ok(c) => c,
        Err(reason) => return fail(reason),
    };
    let name = match ServerName::try_from(host.to_owned()) {
        Ok(n) => n,
        Err(e) => return fail(format!("{host:?} is not a valid host name: {e}")),
    };
    let tcp = match TcpStream::connect((host, port)).await {
        Ok(s) => s,
        Err(e) => return fail(connect_error(&target, &e)),
    };
    let tls = match TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
    {
        Ok(s) => s,
        Err(e) => return fail(format!("{target}: TLS handshake failed: {e}")),
    };
    let Some(leaf) = tls.get_ref().1.peer_certificates().and_then(|c| c.first()) else {
        return fail(format!("{target}: the server sent no certificate"));
    };
    let not_after = match x509_parser::parse_x509_certificate(leaf) {
        Ok((_, cert)) => cert.validity().not_after.timestamp(),
        Err(e) => return fail(format!("{target}: cannot read the certificate: {e}")),
    };
    match Timestamp::from_second(not_after) {
        Ok(not_after) => evaluate_expiry(not_after, now, warn_days, since(start)),
        Err(e) => fail(format!(
            "{target}: the certificate's notAfter is out of range: {e}"
        )),
    }
}

/// rustls with the platform verifier, plus the prober's extra roots.
fn client_config(prober: &Prober) -> Result<ClientConfig, String> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
        prober.extra_roots().iter().cloned(),
        provider.clone(),
    )
    .map_err(|e| format!("cannot load the trusted certificates: {e}"))?;
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}
