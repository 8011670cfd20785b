//! The Slack front end over HTTP: the real server on `127.0.0.1:0` over a
//! fresh SQLite file with the demo catalog, requests signed as Slack signs
//! them. Bob's `slack` contact method in the demo is `U024BE7LH`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use tocsin_core::clock::{Clock, ManualClock};
use tocsin_domain::Name;
use tocsin_domain::alerting::IncidentStatus;
use tocsin_domain::catalog::Kind;
use tocsin_store::Store;
use tocsin_web::chat::slack::{COMMANDS_PATH, INTERACTIONS_PATH, sign};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const BOB: &str = "U024BE7LH";

struct App {
    base: String,
    store: Arc<dyn Store>,
    clock: ManualClock,
    http: reqwest::Client,
    /// Keeps the server running.
    _inner: support::App,
}

/// The demo catalog, bob with a responder account, incident #1 triggered
/// on ledger; the hub set up with [`SECRET`] when `secret` is set.
async fn spawn(secret: bool) -> App {
    let inner = support::spawn_with(true, |state| {
        if secret {
            state.slack_signing_secret = Some(Arc::new(SECRET.to_owned()));
        }
    })
    .await;
    inner.add_responder("bob").await;
    let app = App {
        base: inner.base.clone(),
        store: inner.store.clone(),
        clock: inner.clock.clone(),
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
        _inner: inner,
    };
    app.trigger_ledger().await;
    app
}

impl App {
    /// Incident #1, triggered on ledger (payments) through its PagerDuty
    /// integration.
    async fn trigger_ledger(&self) {
        let key = self
            .store
            .get_object(Kind::Integration, &Name::parse("ledger-pagerduty").unwrap())
            .await
            .unwrap()
            .unwrap()
            .secret
            .unwrap();
        let res = self
            .http
            .post(format!("{}/v2/enqueue", self.base))
            .json(&json!({
                "routing_key": key,
                "event_action": "trigger",
                "dedup_key": "ledger-lag",
                "payload": {"summary": "Ledger lag", "source": "ledger-1", "severity": "critical"},
            }))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{:?}", res.text().await);
        assert_eq!(self.status_of(1).await, IncidentStatus::Triggered);
    }

    /// Posts a form body as Slack would, signed at `at` with `secret`.
    async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        at: Timestamp,
        secret: &str,
    ) -> reqwest::Response {
        let body = form_body(form);
        let timestamp = at.as_second().to_string();
        self.http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", &timestamp)
            .header(
                "x-slack-signature",
                sign(secret, &timestamp, body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .unwrap()
    }

    async fn command(&self, user_id: &str, text: &str) -> Value {
        let res = self
            .post(
                COMMANDS_PATH,
                &slash(user_id, text),
                self.clock.now(),
                SECRET,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    async fn status_of(&self, number: i64) -> IncidentStatus {
        self.store
            .get_incident(number)
            .await
            .unwrap()
            .expect("the incident")
            .status
    }
}

fn form_body(form: &[(&str, &str)]) -> String {
    reqwest::Url::parse_with_params("http://x/", form)
        .unwrap()
        .query()
        .unwrap_or_default()
        .to_owned()
}

fn slash<'a>(user_id: &'a str, text: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("token", "deprecated"),
        ("team_id", "T0001"),
        ("channel_id", "C2147483705"),
        ("user_id", user_id),
        ("user_name", "bob"),
        ("command", "/tocsin"),
        ("text", text),
        ("response_url", "https://hooks.slack.com/commands/1234/5678"),
    ]
}

fn button(user_id: &str, action_id: &str, value: &str) -> String {
    json!({
        "type": "block_actions",
        "user": { "id": user_id, "username": "bob" },
        "actions": [{ "action_id": action_id, "value": value, "type": "button" }],
    })
    .to_string()
}

#[tokio::test]
async fn signed_slash_command_acknowledges_via_slack() {
    let app = spawn(true).await;
    assert_eq!(app.status_of(1).await, IncidentStatus::Triggered);
    let answer = app.command(BOB, "ack 1").await;
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    assert_eq!(app.status_of(1).await, IncidentStatus::Acknowledged);
    let timeline = app.store.timeline_after(1, 0, 100).await.unwrap();
    let ack = timeline
        .iter()
        .find(|e| e.kind.contains("acknowledged"))
        .unwrap_or_else(|| panic!("an acknowledgement in {timeline:?}"));
    assert_eq!(ack.detail["via"], "slack", "{ack:?}");
    assert!(ack.actor.contains("bob"), "{ack:?}");
}

#[tokio::test]
async fn forged_signature_is_refused() {
    let app = spawn(true).await;
    let res = app
        .post(
            COMMANDS_PATH,
            &slash(BOB, "ack 1"),
            app.clock.now(),
            "not the secret",
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let payload = button(BOB, "tocsin.acknowledge", "1");
    let res = app
        .post(
            INTERACTIONS_PATH,
            &[("payload", payload.as_str())],
            app.clock.now(),
            "not the secret",
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.status_of(1).await, IncidentStatus::Triggered);
}

#[tokio::test]
async fn stale_timestamp_is_refused() {
    let app = spawn(true).await;
    let six_minutes_ago = app.clock.now() - SignedDuration::from_mins(6);
    let res = app
        .post(COMMANDS_PATH, &slash(BOB, "ack 1"), six_minutes_ago, SECRET)
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.status_of(1).await, IncidentStatus::Triggered);
}

#[tokio::test]
async fn unknown_slack_member_is_told_how_to_link() {
    let app = spawn(true).await;
    let answer = app.command("U0NOBODY", "ack 1").await;
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    let text = answer["text"].as_str().unwrap();
    assert!(text.contains("type `slack`"), "{text}");
    assert!(text.contains("U0NOBODY"), "{text}");
    assert_eq!(app.status_of(1).await, IncidentStatus::Triggered);
}

#[tokio::test]
async fn acknowledge_button_acknowledges() {
    let app = spawn(true).await;
    let payload = button(BOB, "tocsin.acknowledge", "1");
    let res = app
        .post(
            INTERACTIONS_PATH,
            &[("payload", payload.as_str())],
            app.clock.now(),
            SECRET,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    assert_eq!(answer["replace_original"], false, "{answer}");
    assert_eq!(app.status_of(1).await, IncidentStatus::Acknowledged);

    // The link button needs nothing from the hub.
    let payload = button(BOB, "tocsin.open", "1");
    let res = app
        .post(
            INTERACTIONS_PATH,
            &[("payload", payload.as_str())],
            app.clock.now(),
            SECRET,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().is_empty());
}

#[tokio::test]
async fn help_is_ephemeral() {
    let app = spawn(true).await;
    let answer = app.command(BOB, "help").await;
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    assert!(answer["text"].as_str().unwrap().contains("ack"), "{answer}");
}

#[tokio::test]
async fn without_a_signing_secret_slack_is_unavailable() {
    let app = spawn(false).await;
    let res = app
        .post(COMMANDS_PATH, &slash(BOB, "help"), app.clock.now(), SECRET)
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.text().await.unwrap().contains("--slack-signing-secret"));
}
