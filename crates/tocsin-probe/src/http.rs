//! HTTP(S): one request as declared; the status, latency (to the end of
//! the body, read up to [`MAX_BODY`]) and body judged by
//! `tocsin_domain::monitor::evaluate_http`.

use crate::{Prober, since};
use reqwest::redirect::Policy;
use std::time::Instant;
use tocsin_domain::monitor::{
    CheckKind, HttpAnswer, HttpExpectations, MAX_BODY, ProbeResult, evaluate_http,
};

/// How many redirects are followed when the check follows them.
const MAX_REDIRECTS: usize = 10;

pub(crate) async fn probe(prober: &Prober, kind: &CheckKind, start: Instant) -> ProbeResult {
    let CheckKind::Http {
        method,
        url,
        headers,
        body,
        expect_status,
        expect,
        max_latency,
        follow_redirects,
        verify_tls,
    } = kind
    else {
        return ProbeResult::fail(since(start), "not an HTTP check");
    };
    let fail = |reason: String| ProbeResult::fail(since(start), reason);

    let mut builder = reqwest::Client::builder()
        .redirect(if *follow_redirects {
            Policy::limited(MAX_REDIRECTS)
        } else {
            Policy::none()
        })
        .tls_danger_accept_invalid_certs(!verify_tls);
    for der in prober.extra_roots() {
        match reqwest::Certificate::from_der(der) {
            Ok(cert) => builder = builder.add_root_certificate(cert),
            Err(e) => return fail(format!("a trusted CA certificate is unusable: {e}")),
        }
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot set up the HTTP client: {}", chain(&e))),
    };
    let method = match reqwest::Method::from_bytes(method.as_str().as_bytes()) {
        Ok(m) => m,
        Err(e) => return fail(format!("bad method: {e}")),
    };
    let mut request = client.request(method, url.as_str());
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(body) = body {
        request = request.body(body.clone());
    }
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => return fail(request_error(url, &e)),
    };
    let status = response.status().as_u16();
    let mut read = Vec::new();
    let mut truncated = false;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_BODY - read.len();
                if chunk.len() > room {
                    read.extend_from_slice(&chunk[..room]);
                    truncated = true;
                    break;
                }
                read.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return fail(format!("{url}: reading the body failed: {}", chain(&e))),
        }
    }
    let mut result = evaluate_http(
        HttpExpectations {
            status: expect_status,
            body: expect.as_ref(),
            max_latency: *max_latency,
        },
        HttpAnswer {
            status,
            body: &read,
            truncated,
            latency: since(start),
        },
    );
    // A redirect not followed is worth naming when it is why the check failed.
    if !result.ok
        && (300..400).contains(&status)
        && let Some(to) = response.headers().get(reqwest::header::LOCATION)
    {
        let to = String::from_utf8_lossy(to.as_bytes()).into_owned();
        result.reason = result
            .reason
            .map(|r| format!("{r} (redirect to {to}, not followed)"));
    }
    result
}

/// A request error in words: the cause chain, with the likely kind first.
fn request_error(url: &str, e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_redirect() {
        "too many redirects"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_builder() {
        "bad request (check the URL and headers)"
    } else {
        "request failed"
    };
    format!("{url}: {what}: {}", chain(e))
}

/// An error and its sources, joined: reqwest's own message alone rarely
/// says *why* ("error sending request"); the certificate or refusal is
/// further down.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
