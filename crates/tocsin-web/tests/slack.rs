//! The Slack front end over HTTP: the real server on `127.0.0.1:0` over a
//! fresh SQLite file with the demo catalog, requests signed as Slack signs
//! them. Bob's `slack` contact method in the demo is `U024BE7LH`.
//!
//! The Events API and everything answered through the Web API run against
//! the local Slack-shaped peer (`tocsin_notify::testing::SlackPeer`), which
//! records what it was sent.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tocsin_core::clock::{Clock, ManualClock};
use tocsin_core::runbook::Runbooks;
use tocsin_domain::Name;
use tocsin_domain::alerting::IncidentStatus;
use tocsin_domain::catalog::Kind;
use tocsin_notify::slack_api::WebApi;
use tocsin_notify::testing::{BOT_ID, BOT_USER, SlackPeer, TEAM};
use tocsin_store::Store;
use tocsin_web::chat::slack::{COMMANDS_PATH, INTERACTIONS_PATH, sign};
use tocsin_web::chat::slack_events::EVENTS_PATH;

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const BOB: &str = "U024BE7LH";
/// Alice has no `slack` contact method; her Slack profile has her email.
const ALICE: &str = "U0ALICE";
/// A member no catalog user matches, by id or by email.
const NOBODY: &str = "U0NOBODY";
const BOT_TOKEN: &str = "xoxb-events-test";
const CHANNEL: &str = "C0INCIDENTS";

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
    spawn_full(secret, None).await
}

/// The Slack peer with bob, alice, nobody and the bot in #incidents.
async fn slack_peer() -> SlackPeer {
    let peer = SlackPeer::start(BOT_TOKEN).await;
    peer.add_user(BOB, Some("bob@example.com"));
    peer.add_user(ALICE, Some("Alice@Example.COM"));
    peer.add_user(NOBODY, Some("nobody@elsewhere.example"));
    peer.add_channel(CHANNEL, "incidents", &[BOT_USER, BOB, ALICE, NOBODY]);
    peer
}

/// [`spawn`] with the secret, the Web API of `peer` (when given), a
/// runbook action `say-hello` that may run `/bin/echo`.
async fn spawn_full(secret: bool, peer: Option<&SlackPeer>) -> App {
    let api = peer.map(|p| WebApi::new(&p.token, &p.base, Duration::from_secs(2)).unwrap());
    let inner = support::spawn_with(true, |state| {
        if secret {
            state.slack_signing_secret = Some(Arc::new(SECRET.to_owned()));
        }
        state.slack_api = api;
        state.runbooks = Runbooks::new(vec![PathBuf::from("/bin/echo")]);
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

// ------------------------------------------------------------ Events API

const ACTIONS: &str = r#"
runbook_actions:
  - name: say-hello
    description: Says hello to a host
    team: payments
    parameters:
      - { name: target, required: true, pattern: "web-[0-9]+" }
    command: ["/bin/echo", "hello {{ params.target }}"]
"#;

impl App {
    /// Posts a JSON body as Slack's Events API does, signed at `at`.
    async fn post_event(
        &self,
        body: &Value,
        at: Timestamp,
        secret: &str,
        retry: Option<u32>,
    ) -> reqwest::Response {
        let body = body.to_string();
        let timestamp = at.as_second().to_string();
        let mut request = self
            .http
            .post(format!("{}{EVENTS_PATH}", self.base))
            .header("content-type", "application/json")
            .header("x-slack-request-timestamp", &timestamp)
            .header(
                "x-slack-signature",
                sign(secret, &timestamp, body.as_bytes()),
            );
        if let Some(n) = retry {
            request = request
                .header("x-slack-retry-num", n.to_string())
                .header("x-slack-retry-reason", "http_timeout");
        }
        request.body(body).send().await.unwrap()
    }

    /// Delivers an event signed now; Slack's answer must be an empty 200.
    async fn deliver(&self, body: &Value, retry: Option<u32>) {
        let res = self.post_event(body, self.clock.now(), SECRET, retry).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.text().await.unwrap(), "");
    }

    /// Applies `yaml` on top of the demo catalog.
    async fn declare(&self, yaml: &str) {
        let m = tocsin_core::manifest::parse(vec![tocsin_core::manifest::Source {
            path: "runbooks.yaml".into(),
            text: yaml.into(),
        }]);
        assert!(m.errors.is_empty(), "{:?}", m.errors);
        let plan = tocsin_core::catalog::plan(self.store.as_ref(), &m, false, &|_| None)
            .await
            .unwrap_or_else(|e| panic!("plan: {e:?}"));
        tocsin_core::catalog::apply(
            self.store.as_ref(),
            &plan,
            &tocsin_core::audit::Actor::system(),
            self.clock.now(),
        )
        .await
        .unwrap();
    }
}

/// An `event_callback` envelope around `event`, as Slack sends it.
fn envelope(event_id: &str, event: Value) -> Value {
    json!({
        "token": "deprecated-verification-token",
        "team_id": TEAM,
        "api_app_id": "A0TOCSIN",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1772445000,
        "authorizations": [{
            "enterprise_id": null,
            "team_id": TEAM,
            "user_id": BOT_USER,
            "is_bot": true,
            "is_enterprise_install": false,
        }],
        "is_ext_shared_channel": false,
    })
}

/// `@tocsin <text>` by `user` in #incidents at `ts`.
fn mention(event_id: &str, user: &str, text: &str, ts: &str) -> Value {
    envelope(
        event_id,
        json!({
            "type": "app_mention",
            "user": user,
            "text": format!("<@{BOT_USER}> {text}"),
            "ts": ts,
            "channel": CHANNEL,
            "event_ts": ts,
        }),
    )
}

/// A direct message to the app.
fn direct(event_id: &str, user: &str, text: &str, ts: &str) -> Value {
    envelope(
        event_id,
        json!({
            "type": "message",
            "channel_type": "im",
            "user": user,
            "text": text,
            "ts": ts,
            "channel": format!("D{}", &user[1..]),
            "event_ts": ts,
        }),
    )
}

#[tokio::test]
async fn url_verification_answers_the_challenge() {
    let peer = slack_peer().await;
    let app = spawn_full(true, Some(&peer)).await;
    let body = json!({
        "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    });
    let res = app.post_event(&body, app.clock.now(), SECRET, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(
        answer["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    // Forged, unless signed with the secret.
    let res = app
        .post_event(&body, app.clock.now(), "not the secret", None)
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_responder_works_an_incident_by_mentions() {
    let peer = slack_peer().await;
    let app = spawn_full(true, Some(&peer)).await;
    app.declare(ACTIONS).await;

    // ack: done, and answered in the mention's thread in the channel.
    app.deliver(&mention("Ev01", BOB, "ack 1", "1772445000.000100"), None)
        .await;
    let posted = peer.wait_for_posts(1).await;
    let reply = &posted[0];
    assert_eq!(reply.method, "chat.postMessage", "{reply:?}");
    assert_eq!(reply.channel, CHANNEL);
    assert_eq!(reply.thread_ts.as_deref(), Some("1772445000.000100"));
    assert!(
        reply.text.starts_with("#1 acknowledged by bob"),
        "{reply:?}"
    );
    assert_eq!(app.status_of(1).await, IncidentStatus::Acknowledged);
    let timeline = app.store.timeline_after(1, 0, 100).await.unwrap();
    let ack = timeline
        .iter()
        .find(|e| e.kind.contains("acknowledged"))
        .unwrap_or_else(|| panic!("an acknowledgement in {timeline:?}"));
    assert_eq!(ack.detail["via"], "slack", "{ack:?}");
    let calls = peer.calls_of("chat.postMessage");
    assert!(calls[0].json, "chat.postMessage is sent as JSON");

    // note: Slack's escaping undone on the way in, done on the way out.
    app.deliver(
        &mention(
            "Ev02",
            BOB,
            "note 1 Restarted ledger-1 &amp; lag &lt; 1s",
            "1772445060.000100",
        ),
        None,
    )
    .await;
    let reply = peer.wait_for_posts(2).await.pop().unwrap();
    assert_eq!(reply.thread_ts.as_deref(), Some("1772445060.000100"));
    assert!(reply.text.starts_with("#1: note added by bob"), "{reply:?}");
    assert!(
        reply.text.contains("ledger-1 &amp; lag &lt; 1s"),
        "{reply:?}"
    );
    let notes: Vec<_> = app
        .store
        .timeline_after(1, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "note")
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].detail.to_string().contains("ledger-1 & lag < 1s"),
        "{notes:?}"
    );

    // log: a change for the service.
    app.deliver(
        &mention(
            "Ev03",
            BOB,
            "log Upgraded redis to 2.8.19 --service ledger",
            "1772445120.000100",
        ),
        None,
    )
    .await;
    let reply = peer.wait_for_posts(3).await.pop().unwrap();
    assert!(
        reply.text.starts_with("Change logged for ledger by bob"),
        "{reply:?}"
    );
    assert!(reply.text.contains("Upgraded redis to 2.8.19"), "{reply:?}");

    // maintenance: a window on ledger.
    app.deliver(
        &mention(
            "Ev04",
            BOB,
            "maintenance start ledger for 2h",
            "1772445180.000100",
        ),
        None,
    )
    .await;
    let reply = peer.wait_for_posts(4).await.pop().unwrap();
    assert!(
        reply
            .text
            .starts_with("Maintenance started on ledger by bob"),
        "{reply:?}"
    );
    let windows = app
        .store
        .list_objects(Some(Kind::MaintenanceWindow))
        .await
        .unwrap();
    assert!(
        windows
            .iter()
            .any(|w| w.name.as_str().starts_with("chat-ledger-")),
        "{windows:?}"
    );

    // run: a prompt only bob sees, with Run it / Cancel buttons.
    app.deliver(
        &mention(
            "Ev05",
            BOB,
            "run say-hello on web-2 #1",
            "1772445240.000100",
        ),
        None,
    )
    .await;
    let prompt = peer.wait_for_posts(5).await.pop().unwrap();
    assert_eq!(prompt.method, "chat.postEphemeral", "{prompt:?}");
    assert_eq!(prompt.user.as_deref(), Some(BOB));
    assert_eq!(prompt.thread_ts.as_deref(), Some("1772445240.000100"));
    assert!(prompt.text.contains("/bin/echo"), "{prompt:?}");
    let buttons = &prompt.blocks[1]["elements"];
    assert_eq!(buttons[0]["action_id"], "tocsin.confirm", "{prompt:?}");
    assert_eq!(buttons[1]["action_id"], "tocsin.cancel", "{prompt:?}");
    let token = buttons[0]["value"].as_str().unwrap().to_owned();
    let ran = |app: &App| {
        let store = app.store.clone();
        async move {
            store
                .incident_timeline(1)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.kind == "runbook.run")
                .count()
        }
    };
    assert_eq!(ran(&app).await, 0, "nothing runs before the confirmation");

    // "Run it": Slack gets its 200 at once; the outcome goes to the
    // response_url, public, and the action ran once.
    let payload = json!({
        "type": "block_actions",
        "user": { "id": BOB, "username": "bob" },
        "channel": { "id": CHANNEL },
        "container": { "type": "message", "message_ts": prompt.ts, "is_ephemeral": true },
        "response_url": peer.response_url("run-1"),
        "actions": [{ "action_id": "tocsin.confirm", "value": token, "type": "button" }],
    })
    .to_string();
    let res = app
        .post(
            INTERACTIONS_PATH,
            &[("payload", payload.as_str())],
            app.clock.now(),
            SECRET,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let outcome = peer.wait_for_posts(6).await.pop().unwrap();
    assert_eq!(outcome.method, "response_url", "{outcome:?}");
    assert_eq!(outcome.channel, "run-1");
    assert_eq!(outcome.blocks["response_type"], "in_channel", "{outcome:?}");
    assert!(outcome.text.contains("succeeded"), "{outcome:?}");
    assert!(outcome.text.contains("hello web-2"), "{outcome:?}");
    assert_eq!(ran(&app).await, 1);

    // Cancel on another prompt: replaced, nothing runs.
    let payload = json!({
        "type": "block_actions",
        "user": { "id": BOB },
        "response_url": peer.response_url("run-2"),
        "actions": [{ "action_id": "tocsin.cancel", "value": "cancel", "type": "button" }],
    })
    .to_string();
    let res = app
        .post(
            INTERACTIONS_PATH,
            &[("payload", payload.as_str())],
            app.clock.now(),
            SECRET,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let cancelled = peer.wait_for_posts(7).await.pop().unwrap();
    assert_eq!(cancelled.blocks["replace_original"], true, "{cancelled:?}");
    assert!(cancelled.text.contains("nothing ran"), "{cancelled:?}");
    assert_eq!(ran(&app).await, 1);
}

#[tokio::test]
async fn a_redelivered_event_runs_once() {
    let peer = slack_peer().await;
    let app = spawn_full(true, Some(&peer)).await;
    let note = mention("Ev0NOTE", BOB, "note 1 Looking at it", "1772445000.000200");
    app.deliver(&note, None).await;
    peer.wait_for_posts(1).await;
    // Slack thought we were too slow and sends it again, twice.
    app.deliver(&note, Some(1)).await;
    app.deliver(&note, Some(2)).await;
    // Something else after it, to know the hub is done with the retries.
    app.deliver(&mention("Ev0HELP", BOB, "help", "1772445001.000100"), None)
        .await;
    let posted = peer.wait_for_posts(2).await;
    let notes = app
        .store
        .timeline_after(1, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "note")
        .count();
    assert_eq!(notes, 1, "the note was added once");
    assert_eq!(posted.len(), 2, "{posted:#?}");
    assert_eq!(posted[1].method, "chat.postEphemeral", "help is private");
    assert_eq!(posted[1].user.as_deref(), Some(BOB));
}

#[tokio::test]
async fn forged_and_stale_events_are_refused() {
    let peer = slack_peer().await;
    let app = spawn_full(true, Some(&peer)).await;
    let ack = mention("Ev0FORGED", BOB, "ack 1", "1772445000.000300");
    let res = app
        .post_event(&ack, app.clock.now(), "not the secret", None)
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let six_minutes_ago = app.clock.now() - SignedDuration::from_mins(6);
    let res = app.post_event(&ack, six_minutes_ago, SECRET, None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Unsigned.
    let res = app
        .http
        .post(format!("{}{EVENTS_PATH}", app.base))
        .header("content-type", "application/json")
        .body(ack.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The genuine one still runs (the forgeries did not use up its id).
    app.deliver(&ack, None).await;
    peer.wait_for_posts(1).await;
    assert_eq!(app.status_of(1).await, IncidentStatus::Acknowledged);
}

#[tokio::test]
async fn the_app_ignores_itself_and_other_messages() {
    let peer = slack_peer().await;
    let app = spawn_full(true, Some(&peer)).await;
    let mut own = direct("Ev0OWN", BOT_USER, "ack 1", "1772445000.000400");
    own["event"]["bot_id"] = json!(BOT_ID);
    app.deliver(&own, None).await;
    let mut edited = direct("Ev0EDIT", BOB, "ack 1", "1772445000.000500");
    edited["event"]["subtype"] = json!("message_changed");
    app.deliver(&edited, None).await;
    let mut channel = direct("Ev0CHAN", BOB, "ack 1", "1772445000.000600");
    channel["event"]["channel_type"] = json!("channel");
    app.deliver(&channel, None).await;
    // A DM to the app is answered in the DM, not in a thread.
    app.deliver(&direct("Ev0DM", BOB, "oncall", "1772445000.000700"), None)
        .await;
    let posted = peer.wait_for_posts(1).await;
    assert_eq!(posted.len(), 1, "{posted:#?}");
    assert_eq!(posted[0].method, "chat.postMessage");
    assert_eq!(posted[0].channel, "D024BE7LH");
    assert_eq!(posted[0].thread_ts, None);
    assert!(posted[0].text.starts_with("On call"), "{:?}", posted[0]);
    assert_eq!(app.status_of(1).await, IncidentStatus::Triggered);
}

#[tokio::test]
async fn a_member_known_only_by_email_is_matched() {
    let peer = slack_peer().await;
    let app = spawn_full(true, Some(&peer)).await;
    // A slash command: alice has no `slack` contact method, but her Slack
    // profile's email is her catalog email (in another case).
    let answer = app.command(ALICE, "ack 1").await;
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .starts_with("#1 acknowledged by alice"),
        "{answer}"
    );
    let lookups = peer.calls_of("users.info");
    assert_eq!(lookups.len(), 1, "{lookups:?}");
    assert!(!lookups[0].json, "users.info takes a form body");
    assert_eq!(lookups[0].args["user"], ALICE);
    // A mention: the same person.
    app.deliver(
        &mention("Ev0ALICE", ALICE, "note 1 on it", "1772445000.000800"),
        None,
    )
    .await;
    let reply = peer.wait_for_posts(1).await.pop().unwrap();
    assert!(
        reply.text.starts_with("#1: note added by alice"),
        "{reply:?}"
    );
    // Bob is known by his member id: Slack is not asked.
    app.command(BOB, "help").await;
    assert_eq!(peer.calls_of("users.info").len(), 2);
}

#[tokio::test]
async fn an_unknown_member_is_told_how_to_link_in_private() {
    let peer = slack_peer().await;
    let app = spawn_full(true, Some(&peer)).await;
    app.deliver(
        &mention("Ev0WHO", NOBODY, "ack 1", "1772445000.000900"),
        None,
    )
    .await;
    let reply = peer.wait_for_posts(1).await.pop().unwrap();
    assert_eq!(reply.method, "chat.postEphemeral", "{reply:?}");
    assert_eq!(reply.user.as_deref(), Some(NOBODY));
    assert!(reply.text.contains("type `slack`"), "{reply:?}");
    assert!(reply.text.contains(NOBODY), "{reply:?}");
    assert!(reply.text.contains("type `email`"), "{reply:?}");
    assert_eq!(app.status_of(1).await, IncidentStatus::Triggered);
}

#[tokio::test]
async fn a_slash_command_run_carries_the_confirmation_buttons() {
    let peer = slack_peer().await;
    let app = spawn_full(true, Some(&peer)).await;
    app.declare(ACTIONS).await;
    let answer = app.command(BOB, "run say-hello on web-2 #1").await;
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    let button = &answer["blocks"][1]["elements"][0];
    assert_eq!(button["action_id"], "tocsin.confirm", "{answer}");
    let token = button["value"].as_str().unwrap();
    // Without a response_url the outcome is the button's answer.
    let payload = button_payload(BOB, "tocsin.confirm", token);
    let res = app
        .post(
            INTERACTIONS_PATH,
            &[("payload", payload.as_str())],
            app.clock.now(),
            SECRET,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let outcome: Value = res.json().await.unwrap();
    assert!(
        outcome["text"].as_str().unwrap().contains("hello web-2"),
        "{outcome}"
    );
    // Someone else's token: refused, nothing runs again.
    let payload = button_payload(ALICE, "tocsin.confirm", token);
    let res = app
        .post(
            INTERACTIONS_PATH,
            &[("payload", payload.as_str())],
            app.clock.now(),
            SECRET,
        )
        .await;
    let refused: Value = res.json().await.unwrap();
    assert!(
        refused["text"].as_str().unwrap().contains("only they may"),
        "{refused}"
    );
}

fn button_payload(user_id: &str, action_id: &str, value: &str) -> String {
    json!({
        "type": "block_actions",
        "user": { "id": user_id },
        "actions": [{ "action_id": action_id, "value": value, "type": "button" }],
    })
    .to_string()
}

#[tokio::test]
async fn without_a_bot_token_events_run_nothing() {
    let app = spawn(true).await;
    app.deliver(
        &mention("Ev0NOBOT", BOB, "ack 1", "1772445000.001000"),
        None,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.status_of(1).await, IncidentStatus::Triggered);
}
