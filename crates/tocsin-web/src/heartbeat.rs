//! healthchecks.io-compatible ping endpoints: `/ping/<uuid>[/start|/fail|
//! /log|/<exit-status>]` and the slug form `/ping/<ping-key>/<name>[…]`,
//! by GET, POST or HEAD, with `?rid=<uuid>`; the request body is kept as
//! the ping's log (cut at the heartbeat's `max_log_bytes`). A thin
//! adapter: the rules are `tocsin_core::heartbeat::receive`.
//!
//! Answers as healthchecks.io gives them: `200 OK` (text/plain, body
//! `OK`, with a `Ping-Body-Limit` header) only after the ping is durable;
//! `404 not found`; `400 invalid uuid format for rid`; `413` for a body
//! over [`MAX_REQUEST_BYTES`]; `503` when the writer is overloaded or the
//! database is unavailable (retry: `curl --retry` does).

use crate::server::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use tocsin_core::heartbeat::{IncomingPing, PingError, PingRefused, receive};

/// The largest request body accepted (1 MiB); what is kept of it is the
/// heartbeat's `max_log_bytes` (default 10,000, at most 100,000 bytes).
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ping/{*path}", get(ping).post(ping))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
}

fn text(status: StatusCode, body: &'static str) -> Response {
    let mut res = (status, body).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    // Pings come from scripts and, sometimes, browsers on other origins.
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

async fn ping(
    State(state): State<AppState>,
    method: Method,
    Path(path): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let method = match method {
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        _ => "GET",
    };
    let incoming = IncomingPing {
        path: &path,
        rid: query.get("rid").map(String::as_str),
        method,
        body: &body,
    };
    match receive(
        &state.heartbeats,
        &state.pinger,
        incoming,
        state.clock.now(),
    )
    .await
    {
        Ok(received) => {
            let mut res = text(StatusCode::OK, "OK");
            res.headers_mut()
                .insert("ping-body-limit", HeaderValue::from(received.log_limit));
            res
        }
        Err(PingRefused::NotFound) => text(StatusCode::NOT_FOUND, "not found"),
        Err(PingRefused::BadRid) => text(StatusCode::BAD_REQUEST, "invalid uuid format for rid"),
        Err(PingRefused::Failed(PingError::NotFound)) => text(StatusCode::NOT_FOUND, "not found"),
        Err(PingRefused::Failed(PingError::Unavailable | PingError::Store(_))) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "service unavailable, retry shortly",
        ),
    }
}
