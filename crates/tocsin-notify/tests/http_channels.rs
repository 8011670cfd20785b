//! The HTTP channels against in-process receivers on `127.0.0.1:0` that
//! speak each service's documented request and answer shapes: what
//! arrives (method, path, headers, authentication, signature, JSON shape)
//! and how each answer (success, refusals, rate limits, outages, a
//! receiver that never answers) maps to `Sent` or `SendError`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tocsin_core::clock::{Clock, ManualClock};
use tocsin_core::notify::{Channel, Delivery, SendError, Sent};
use tocsin_domain::notify::Message;
use tocsin_notify::testing::{BOT_USER, Failure, SlackPeer};
use tocsin_notify::{console, mattermost, ntfy, sample, slack, teams, webhook};

/// Short, so the hanging receiver's test ends quickly; no test measures time.
const TIMEOUT: Duration = Duration::from_millis(300);

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// What the receiver answers.
enum Reply {
    Answer {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Never answers.
    Hang,
}

fn reply(status: u16, body: impl Into<String>) -> Reply {
    Reply::Answer {
        status,
        headers: Vec::new(),
        body: body.into(),
    }
}

fn reply_with(status: u16, headers: &[(&'static str, &str)], body: impl Into<String>) -> Reply {
    Reply::Answer {
        status,
        headers: headers.iter().map(|(n, v)| (*n, (*v).to_owned())).collect(),
        body: body.into(),
    }
}

type Responder = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

#[derive(Clone)]
struct Receiver {
    seen: Arc<Mutex<Vec<Seen>>>,
    respond: Responder,
}

impl Receiver {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn only(&self) -> Seen {
        let seen = self.seen();
        assert_eq!(seen.len(), 1, "expected exactly one request: {seen:?}");
        seen.into_iter().next().unwrap()
    }
}

async fn record(
    State(receiver): State<Receiver>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen {
        method,
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned()),
        headers,
        body: body.to_vec(),
    };
    let answer = (receiver.respond)(&seen);
    receiver.seen.lock().unwrap().push(seen);
    match answer {
        Reply::Hang => std::future::pending().await,
        Reply::Answer {
            status,
            headers,
            body,
        } => {
            let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
            for (name, value) in headers {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            response
        }
    }
}

/// Starts a receiver; returns its base URL (`http://127.0.0.1:port`).
async fn serve(respond: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> (String, Receiver) {
    let receiver = Receiver {
        seen: Arc::default(),
        respond: Arc::new(respond),
    };
    let app = Router::new().fallback(record).with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, receiver)
}

/// A port nothing listens on.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    base
}

async fn send(
    channel: &dyn Channel,
    address: &str,
    message: &Message,
    previous: Option<&str>,
) -> Result<Sent, SendError> {
    channel
        .send(Delivery {
            address,
            message,
            previous,
        })
        .await
}

fn transient_after(result: Result<Sent, SendError>) -> Option<Duration> {
    match result {
        Err(SendError::Transient { retry_after, .. }) => retry_after,
        other => panic!("expected a transient failure, got {other:?}"),
    }
}

fn permanent_reason(result: Result<Sent, SendError>) -> String {
    match result {
        Err(SendError::Permanent { reason }) => reason,
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

// ---------------------------------------------------------------- webhook

const SECRET: &str = "whsec-test-secret";

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new("2026-03-02T09:00:05Z".parse().unwrap()))
}

fn webhook_channel(secret: Option<&str>, clock: Arc<ManualClock>) -> webhook::WebhookChannel {
    webhook::WebhookChannel::new(
        webhook::Config {
            secret: secret.map(str::to_owned),
            timeout: TIMEOUT,
        },
        clock,
    )
    .unwrap()
}

#[tokio::test]
async fn webhook_posts_the_signed_envelope() {
    let (base, receiver) = serve(|_| reply(204, "")).await;
    let clock = clock();
    let channel = webhook_channel(Some(SECRET), clock.clone());
    let message = sample::page();
    let sent = send(&channel, &format!("{base}/hooks/tocsin"), &message, None)
        .await
        .unwrap();
    assert_eq!(sent, Sent { reference: None });

    let seen = receiver.only();
    assert_eq!(seen.method, Method::POST);
    assert_eq!(seen.path, "/hooks/tocsin");
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(
        seen.header("user-agent"),
        Some(concat!("tocsin/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(seen.header("idempotency-key"), Some(message.key.as_str()));
    assert_eq!(seen.header("x-tocsin-event"), Some("page"));

    let signature = seen.header("x-tocsin-signature").unwrap();
    assert!(signature.starts_with(&format!("t={},v1=", clock.now().as_second())));
    let window = Duration::from_secs(300);
    assert_eq!(
        webhook::verify_signature(SECRET, signature, &seen.body, clock.now(), window),
        Ok(())
    );
    assert_eq!(
        webhook::verify_signature("wrong", signature, &seen.body, clock.now(), window),
        Err(webhook::SignatureError::Mismatch)
    );

    let body = seen.json();
    assert_eq!(body["version"], 1);
    assert_eq!(body["event"], "page");
    assert_eq!(body["key"], message.key.as_str());
    let carried: Message = serde_json::from_value(body["message"].clone()).unwrap();
    assert_eq!(carried, message);
}

#[tokio::test]
async fn webhook_events_and_keys_follow_the_message() {
    let (base, receiver) = serve(|_| reply(200, "")).await;
    let channel = webhook_channel(None, clock());
    for message in [
        sample::resolved(),
        sample::update(),
        sample::bundle(),
        sample::dead_letter(),
    ] {
        send(&channel, &base, &message, None).await.unwrap();
    }
    let seen = receiver.seen();
    let events: Vec<&str> = seen
        .iter()
        .map(|s| s.header("x-tocsin-event").unwrap())
        .collect();
    assert_eq!(events, ["resolved", "update", "bundle", "dead_letter"]);
    for s in &seen {
        assert_eq!(
            s.header("x-tocsin-signature"),
            None,
            "no secret, no signature"
        );
        assert_eq!(s.header("idempotency-key"), s.json()["key"].as_str());
    }
}

#[tokio::test]
async fn webhook_retries_are_byte_for_byte_the_same_message() {
    let (base, receiver) = serve(|_| reply(200, "")).await;
    let clock = clock();
    let channel = webhook_channel(Some(SECRET), clock.clone());
    let message = sample::page();
    send(&channel, &base, &message, None).await.unwrap();
    clock.advance(jiff::SignedDuration::from_secs(60));
    send(&channel, &base, &message, None).await.unwrap();
    let seen = receiver.seen();
    assert_eq!(seen[0].body, seen[1].body);
    assert_eq!(
        seen[0].header("idempotency-key"),
        seen[1].header("idempotency-key")
    );
    // Each attempt is signed at its own time.
    assert_ne!(
        seen[0].header("x-tocsin-signature"),
        seen[1].header("x-tocsin-signature")
    );
}

#[tokio::test]
async fn webhook_failures_are_classified() {
    let (base, _) = serve(|seen| match seen.path.as_str() {
        "/gone" => reply(404, "no such hook"),
        "/busy" => reply_with(429, &[("retry-after", "7")], "slow down"),
        "/down" => reply(503, "maintenance"),
        "/moved" => reply_with(301, &[("location", "http://elsewhere.example/")], ""),
        _ => Reply::Hang,
    })
    .await;
    let channel = webhook_channel(Some(SECRET), clock());
    let m = sample::page();
    let reason = permanent_reason(send(&channel, &format!("{base}/gone"), &m, None).await);
    assert!(reason.contains("404"), "{reason}");
    assert_eq!(
        transient_after(send(&channel, &format!("{base}/busy"), &m, None).await),
        Some(Duration::from_secs(7))
    );
    assert_eq!(
        transient_after(send(&channel, &format!("{base}/down"), &m, None).await),
        None
    );
    // Redirects are not followed.
    permanent_reason(send(&channel, &format!("{base}/moved"), &m, None).await);
    // A receiver that never answers times out: worth a retry.
    transient_after(send(&channel, &format!("{base}/hang"), &m, None).await);
    // Nobody listening: worth a retry.
    transient_after(send(&channel, &closed_port().await, &m, None).await);
    // Not a URL: never.
    permanent_reason(send(&channel, "not a url", &m, None).await);
}

#[tokio::test]
async fn transport_failures_do_not_reveal_the_url() {
    let channel = webhook_channel(None, clock());
    let address = format!("{}/secret-token-123", closed_port().await);
    let result = send(&channel, &address, &sample::page(), None).await;
    let Err(SendError::Transient { reason, .. }) = result else {
        panic!("expected a transient failure: {result:?}");
    };
    assert!(!reason.contains("secret-token-123"), "{reason}");
}

// ------------------------------------------------------------------ slack

const BOT_TOKEN: &str = "xoxb-test-token";

fn slack_channel(api_base: &str, bot_token: Option<&str>) -> slack::SlackChannel {
    slack::SlackChannel::new(slack::Config {
        bot_token: bot_token.map(str::to_owned),
        api_base: api_base.to_owned(),
        timeout: TIMEOUT,
    })
    .unwrap()
}

/// Slack's incoming webhooks: `200 ok`, or an HTTP error with the code as
/// a plain-text body.
fn slack_incoming(seen: &Seen) -> Reply {
    let path = seen.path.as_str();
    match path {
        "/services/T000/B000/archived" => reply(410, "channel_is_archived"),
        "/services/T000/B000/deleted" => reply(404, "channel_not_found"),
        "/services/T000/B000/prohibited" => reply(403, "action_prohibited"),
        "/services/T000/B000/limited" => reply_with(429, &[("retry-after", "30")], "rate_limited"),
        "/services/T000/B000/outage" => reply(500, "internal_error"),
        _ => {
            let Ok(body) = serde_json::from_slice::<Value>(&seen.body) else {
                return reply(400, "invalid_payload");
            };
            if body["text"].as_str().is_none_or(str::is_empty) {
                return reply(400, "no_text");
            }
            reply(200, "ok")
        }
    }
}

#[tokio::test]
async fn slack_incoming_webhook_posts_text_and_blocks() {
    let (base, receiver) = serve(slack_incoming).await;
    // No bot token needed for a webhook URL.
    let channel = slack_channel("http://127.0.0.1:9/unused", None);
    let message = sample::page();
    let sent = send(
        &channel,
        &format!("{base}/services/T000/B000/XXXX"),
        &message,
        None,
    )
    .await
    .unwrap();
    assert_eq!(sent.reference, None);
    let seen = receiver.only();
    assert_eq!(seen.method, Method::POST);
    assert!(
        seen.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(seen.header("authorization"), None);
    let body = seen.json();
    assert_eq!(body["text"], message.headline());
    assert_eq!(body["blocks"][0]["type"], "header");
    assert_eq!(body.get("channel"), None);
}

#[tokio::test]
async fn slack_incoming_webhook_failures_are_classified() {
    let (base, _) = serve(slack_incoming).await;
    let channel = slack_channel("http://127.0.0.1:9/unused", None);
    let m = sample::page();
    let hook = |name: &str| format!("{base}/services/T000/B000/{name}");
    for (name, code) in [
        ("archived", "channel_is_archived"),
        ("deleted", "channel_not_found"),
        ("prohibited", "action_prohibited"),
    ] {
        let reason = permanent_reason(send(&channel, &hook(name), &m, None).await);
        assert!(reason.contains(code), "{reason}");
    }
    assert_eq!(
        transient_after(send(&channel, &hook("limited"), &m, None).await),
        Some(Duration::from_secs(30))
    );
    transient_after(send(&channel, &hook("outage"), &m, None).await);
}

/// The local Slack Web API (`tocsin_notify::testing::SlackPeer`) with
/// #general (`C0123`, the bot in it) and a member `U0456`.
async fn slack_peer() -> SlackPeer {
    let peer = SlackPeer::start(BOT_TOKEN).await;
    peer.add_channel("C0123", "general", &[BOT_USER]);
    peer.add_user("U0456", None);
    peer
}

#[tokio::test]
async fn slack_web_api_posts_and_keeps_channel_and_ts() {
    let peer = slack_peer().await;
    let channel = slack_channel(&peer.base, Some(BOT_TOKEN));
    let message = sample::page();
    let sent = send(&channel, "C0123", &message, None).await.unwrap();
    let posted = peer.posted();
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(
        sent.reference.as_deref(),
        Some(format!("C0123:{}", posted[0].ts).as_str())
    );

    let call = &peer.calls()[0];
    assert_eq!(call.method, "chat.postMessage");
    assert!(call.json, "sent as JSON");
    assert_eq!(call.args["channel"], "C0123");
    assert_eq!(call.args["text"], message.headline());
    assert_eq!(call.args["blocks"], slack::render(&message)["blocks"]);

    // A member id: Slack answers with the DM's channel, which is kept.
    let sent = send(&channel, "U0456", &message, None).await.unwrap();
    assert!(
        sent.reference.as_deref().unwrap().starts_with("D0456:"),
        "{sent:?}"
    );
}

#[tokio::test]
async fn slack_resolution_edits_the_original_message() {
    let peer = slack_peer().await;
    let channel = slack_channel(&peer.base, Some(BOT_TOKEN));
    let page = send(&channel, "C0123", &sample::page(), None)
        .await
        .unwrap();
    let previous = page.reference.as_deref();

    let resolved = sample::resolved();
    let sent = send(&channel, "C0123", &resolved, previous).await.unwrap();
    assert_eq!(sent.reference, page.reference);
    let update = sample::update();
    send(&channel, "C0123", &update, previous).await.unwrap();

    let calls = peer.calls();
    let methods: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(methods, ["chat.postMessage", "chat.update", "chat.update"]);
    let ts = previous.unwrap().split_once(':').unwrap().1;
    let body = &calls[1].args;
    assert_eq!(body["channel"], "C0123");
    assert_eq!(body["ts"], ts);
    assert_eq!(body["text"], resolved.headline());
    assert!(body["blocks"].is_array());
    assert_eq!(calls[2].args["ts"], ts);
    // One message in the channel, edited.
    let posted = peer.posted();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].text, slack::render(&update)["text"]);
}

#[tokio::test]
async fn slack_pages_are_posted_even_with_a_previous_reference() {
    let peer = slack_peer().await;
    let channel = slack_channel(&peer.base, Some(BOT_TOKEN));
    send(&channel, "C0123", &sample::page(), Some("C0123:1.2"))
        .await
        .unwrap();
    let methods: Vec<String> = peer.calls().into_iter().map(|c| c.method).collect();
    assert_eq!(methods, ["chat.postMessage"]);
}

#[tokio::test]
async fn slack_posts_anew_when_the_original_cannot_be_edited() {
    let peer = slack_peer().await;
    let channel = slack_channel(&peer.base, Some(BOT_TOKEN));
    let sent = send(&channel, "C0123", &sample::resolved(), Some("C0123:1.2"))
        .await
        .unwrap();
    let posted = peer.posted();
    assert_eq!(
        sent.reference.as_deref(),
        Some(format!("C0123:{}", posted[0].ts).as_str())
    );
    let methods: Vec<String> = peer.calls().into_iter().map(|c| c.method).collect();
    assert_eq!(methods, ["chat.update", "chat.postMessage"]);
}

#[tokio::test]
async fn slack_web_api_failures_are_classified() {
    let peer = slack_peer().await;
    let channel = slack_channel(&peer.base, Some(BOT_TOKEN));
    let m = sample::page();
    let post = "chat.postMessage";
    peer.fail_next(post, Failure::Http(429, Some(12)));
    assert_eq!(
        transient_after(send(&channel, "C0123", &m, None).await),
        Some(Duration::from_secs(12))
    );
    peer.fail_next(post, Failure::Code("ratelimited"));
    assert_eq!(
        transient_after(send(&channel, "C0123", &m, None).await),
        None
    );
    peer.fail_next(post, Failure::Http(503, None));
    transient_after(send(&channel, "C0123", &m, None).await);
    peer.fail_next(post, Failure::Hang);
    transient_after(send(&channel, "C0123", &m, None).await);
    let reason = permanent_reason(send(&channel, "CMISSING", &m, None).await);
    assert!(reason.contains("channel_not_found"), "{reason}");
    peer.revoke_scope("chat:write");
    let reason = permanent_reason(send(&channel, "C0123", &m, None).await);
    assert!(
        reason.contains("missing_scope") && reason.contains("chat:write"),
        "{reason}"
    );

    let wrong_token = slack_channel(&peer.base, Some("xoxb-revoked"));
    let reason = permanent_reason(send(&wrong_token, "C0123", &m, None).await);
    assert!(reason.contains("invalid_auth"), "{reason}");
}

#[tokio::test]
async fn slack_channel_ids_need_a_bot_token() {
    let peer = slack_peer().await;
    let channel = slack_channel(&peer.base, None);
    let reason = permanent_reason(send(&channel, "C0123", &sample::page(), None).await);
    assert!(reason.contains("bot token"), "{reason}");
    assert!(peer.calls().is_empty());
}

// ------------------------------------------------------------- mattermost

/// Mattermost's incoming webhooks: `200 ok`; a body it cannot use is a 400
/// with a JSON error.
fn mattermost_incoming(seen: &Seen) -> Reply {
    if seen.path == "/hooks/limited" {
        return reply_with(429, &[("retry-after", "3")], "too many requests");
    }
    if seen.path != "/hooks/xyz" {
        return reply(
            404,
            json!({ "id": "web.incoming_webhook.invalid.app_error", "message": "Invalid webhook.", "status_code": 404 })
                .to_string(),
        );
    }
    let body: Value = serde_json::from_slice(&seen.body).unwrap_or_default();
    if body["text"].as_str().is_none_or(str::is_empty) && !body["attachments"].is_array() {
        return reply(
            400,
            json!({ "id": "web.incoming_webhook.text.app_error", "message": "No text specified.", "status_code": 400 })
                .to_string(),
        );
    }
    reply(200, "ok")
}

fn mattermost_channel() -> mattermost::MattermostChannel {
    mattermost::MattermostChannel::new(mattermost::Config { timeout: TIMEOUT }).unwrap()
}

#[tokio::test]
async fn mattermost_posts_text_and_an_attachment() {
    let (base, receiver) = serve(mattermost_incoming).await;
    let channel = mattermost_channel();
    let message = sample::page();
    send(&channel, &format!("{base}/hooks/xyz"), &message, None)
        .await
        .unwrap();
    let seen = receiver.only();
    assert_eq!(seen.method, Method::POST);
    assert!(
        seen.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let body = seen.json();
    assert!(body["text"].as_str().unwrap().contains(&message.headline()));
    let attachment = &body["attachments"][0];
    assert_eq!(attachment["fallback"], message.headline());
    assert_eq!(attachment["color"], "#d00000");
    assert_eq!(
        attachment["title_link"],
        message.actions.incident_url.as_str()
    );
    assert!(
        attachment["fields"].as_array().unwrap().iter().all(|f| {
            f["short"].is_boolean() && f["title"].is_string() && f["value"].is_string()
        })
    );
}

#[tokio::test]
async fn mattermost_failures_are_classified() {
    let (base, _) = serve(mattermost_incoming).await;
    let channel = mattermost_channel();
    let m = sample::page();
    let reason = permanent_reason(send(&channel, &format!("{base}/hooks/nope"), &m, None).await);
    assert!(reason.contains("Invalid webhook"), "{reason}");
    assert_eq!(
        transient_after(send(&channel, &format!("{base}/hooks/limited"), &m, None).await),
        Some(Duration::from_secs(3))
    );
    permanent_reason(send(&channel, "town-square", &m, None).await);
}

// ------------------------------------------------------------------ teams

/// A Teams Workflows webhook: 202 Accepted for a message with one Adaptive
/// Card attachment; 400 for anything else.
fn teams_workflow(seen: &Seen) -> Reply {
    if seen.path.starts_with("/limited") {
        return reply_with(429, &[("retry-after", "20")], "");
    }
    if seen.path.starts_with("/broken") {
        return reply(502, "");
    }
    let body: Value = serde_json::from_slice(&seen.body).unwrap_or_default();
    let attachment = &body["attachments"][0];
    let card = &attachment["content"];
    let valid = body["type"] == "message"
        && body["attachments"].as_array().map(Vec::len) == Some(1)
        && attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        && attachment.get("contentUrl") == Some(&Value::Null)
        && card["type"] == "AdaptiveCard"
        && card["version"] == "1.4"
        && card["body"].is_array();
    if !valid {
        return reply(
            400,
            json!({ "error": { "code": "InvalidRequestContent", "message": "The input body for trigger 'manual' of type 'Request' did not match its schema definition." } })
                .to_string(),
        );
    }
    if seen.path.starts_with("/ok200") {
        reply(200, "")
    } else {
        reply(202, "")
    }
}

fn teams_channel() -> teams::TeamsChannel {
    teams::TeamsChannel::new(teams::Config { timeout: TIMEOUT }).unwrap()
}

#[tokio::test]
async fn teams_posts_an_adaptive_card() {
    let (base, receiver) = serve(teams_workflow).await;
    let channel = teams_channel();
    let message = sample::page();
    let address = format!("{base}/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=s");
    send(&channel, &address, &message, None).await.unwrap();
    send(&channel, &format!("{base}/ok200"), &message, None)
        .await
        .unwrap();

    let seen = &receiver.seen()[0];
    assert_eq!(seen.method, Method::POST);
    assert_eq!(
        seen.path,
        "/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=s"
    );
    let card = &seen.json()["attachments"][0]["content"];
    assert_eq!(card["body"][0]["text"], message.headline());
    let actions: Vec<(&str, &str)> = card["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["type"].as_str().unwrap(), a["title"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("Action.OpenUrl", "Open incident"),
            ("Action.OpenUrl", "Acknowledge")
        ]
    );
}

#[tokio::test]
async fn teams_failures_are_classified() {
    let (base, _) = serve(teams_workflow).await;
    let channel = teams_channel();
    let m = sample::bare();
    assert_eq!(
        transient_after(send(&channel, &format!("{base}/limited"), &m, None).await),
        Some(Duration::from_secs(20))
    );
    transient_after(send(&channel, &format!("{base}/broken"), &m, None).await);
}

// ------------------------------------------------------------------- ntfy

/// An ntfy server: JSON published to the root URL, answered with the
/// message (its `id`); topics may be protected by an access token.
fn ntfy_server(seen: &Seen) -> Reply {
    let error = |http: u16, code: u32, error: &str| {
        reply(
            http,
            json!({ "code": code, "http": http, "error": error, "link": "https://ntfy.sh/docs/publish/" })
                .to_string(),
        )
    };
    if seen.method != Method::POST && seen.method != Method::PUT {
        return error(405, 40500, "method not allowed");
    }
    let prefix = if seen.path.starts_with("/ntfy/") {
        "/ntfy/"
    } else {
        "/"
    };
    if seen.path != prefix {
        return error(404, 40401, "page not found");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&seen.body) else {
        return error(
            400,
            40017,
            "invalid request: request body must be message JSON",
        );
    };
    let topic = body["topic"].as_str().unwrap_or_default();
    if topic == "protected" && seen.header("authorization") != Some("Bearer tk_test") {
        return error(403, 40301, "forbidden");
    }
    if topic == "busy" {
        return reply_with(429, &[("retry-after", "60")], "");
    }
    if !(1..=5).contains(&body["priority"].as_u64().unwrap_or(3)) {
        return error(400, 40007, "invalid priority");
    }
    reply(
        200,
        json!({
            "id": "sPs71M8A2T",
            "time": 1_772_442_000,
            "expires": 1_772_485_200,
            "event": "message",
            "topic": topic,
            "title": body["title"],
            "message": body["message"],
            "priority": body["priority"],
        })
        .to_string(),
    )
}

fn ntfy_channel(server: &str, token: Option<&str>) -> ntfy::NtfyChannel {
    ntfy::NtfyChannel::new(ntfy::Config {
        server: server.to_owned(),
        token: token.map(str::to_owned),
        timeout: TIMEOUT,
    })
    .unwrap()
}

#[tokio::test]
async fn ntfy_publishes_json_to_the_server_root() {
    let (base, receiver) = serve(ntfy_server).await;
    let channel = ntfy_channel(&base, Some("tk_test"));
    let message = sample::page();
    let sent = send(&channel, "protected", &message, None).await.unwrap();
    assert_eq!(sent.reference.as_deref(), Some("sPs71M8A2T"));

    let seen = receiver.only();
    assert_eq!(seen.method, Method::POST);
    assert_eq!(seen.path, "/");
    assert_eq!(seen.header("authorization"), Some("Bearer tk_test"));
    let body = seen.json();
    assert_eq!(body["topic"], "protected");
    assert_eq!(body["title"], message.headline());
    assert_eq!(body["priority"], 5);
    assert_eq!(body["click"], message.actions.incident_url.as_str());
    assert!(
        body["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("rotating_light"))
    );
    assert_eq!(body["actions"][0]["action"], "view");
    assert_eq!(body["actions"][1]["action"], "http");
    assert_eq!(body["actions"][1]["method"], "POST");
    assert_eq!(
        body["actions"][1]["url"],
        message.actions.acknowledge_url.as_deref().unwrap()
    );
}

#[tokio::test]
async fn ntfy_addresses_may_be_full_urls() {
    let (base, receiver) = serve(ntfy_server).await;
    let channel = ntfy_channel("http://127.0.0.1:9", None);
    send(
        &channel,
        &format!("{base}/ntfy/alice-oncall"),
        &sample::bare(),
        None,
    )
    .await
    .unwrap();
    let seen = receiver.only();
    assert_eq!(seen.path, "/ntfy/");
    assert_eq!(seen.json()["topic"], "alice-oncall");
    assert_eq!(seen.json()["priority"], 3);
    assert_eq!(seen.header("authorization"), None);
}

#[tokio::test]
async fn ntfy_failures_are_classified() {
    let (base, receiver) = serve(ntfy_server).await;
    let channel = ntfy_channel(&base, None);
    let m = sample::page();
    let reason = permanent_reason(send(&channel, "protected", &m, None).await);
    assert!(reason.contains("forbidden"), "{reason}");
    assert_eq!(
        transient_after(send(&channel, "busy", &m, None).await),
        Some(Duration::from_secs(60))
    );
    let before = receiver.seen().len();
    permanent_reason(send(&channel, "not a topic!", &m, None).await);
    assert_eq!(
        receiver.seen().len(),
        before,
        "an invalid topic is never sent"
    );
}

// ---------------------------------------------------------------- console

#[tokio::test]
async fn console_never_fails() {
    let channel = console::ConsoleChannel::new();
    for message in [sample::page(), sample::bare(), sample::dead_letter()] {
        let sent = send(&channel, "anything", &message, Some("whatever")).await;
        assert_eq!(sent, Ok(Sent { reference: None }));
    }
}

#[test]
fn every_channel_names_its_kind() {
    use tocsin_domain::catalog::ContactKind;
    let kinds = [
        console::ConsoleChannel::new().kind(),
        webhook_channel(None, clock()).kind(),
        slack_channel("http://127.0.0.1:9", None).kind(),
        mattermost_channel().kind(),
        teams_channel().kind(),
        ntfy_channel("http://127.0.0.1:9", None).kind(),
    ];
    assert_eq!(
        kinds,
        [
            ContactKind::Console,
            ContactKind::Webhook,
            ContactKind::Slack,
            ContactKind::Mattermost,
            ContactKind::Teams,
            ContactKind::Ntfy,
        ]
    );
}
