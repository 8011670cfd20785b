//! The Mattermost front end over HTTP: the real server on `127.0.0.1:0`
//! over a fresh SQLite file with the demo catalog, requests carrying a
//! token as Mattermost's slash commands and tocsin's buttons do. The
//! Mattermost username `bob` is the catalog user bob.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use tocsin_core::clock::ManualClock;
use tocsin_domain::Name;
use tocsin_domain::alerting::IncidentStatus;
use tocsin_domain::catalog::Kind;
use tocsin_store::Store;
use tocsin_web::chat::mattermost::{ACTIONS_PATH, COMMANDS_PATH};

const TOKEN: &str = "xr3j5x3p4pfk7n8ma7ojpbhgz1";
const OTHER_TOKEN: &str = "9h2mgk4nqbd8tyfwx1e5c7rr3a";

struct App {
    base: String,
    store: Arc<dyn Store>,
    _clock: ManualClock,
    http: reqwest::Client,
    /// Keeps the server running.
    _inner: support::App,
}

/// The demo catalog, bob with a responder account, incident #1 triggered
/// on ledger; the hub set up with [`OTHER_TOKEN`] and [`TOKEN`] when
/// `tokens` is set.
async fn spawn(tokens: bool) -> App {
    let inner = support::spawn_with(true, |state| {
        if tokens {
            state.mattermost_tokens = Arc::new(vec![OTHER_TOKEN.to_owned(), TOKEN.to_owned()]);
        }
        state.public_url = Some(Arc::new("https://hub.example.com/".to_owned()));
        state.runbooks = tocsin_core::runbook::Runbooks::new(vec!["/bin/echo".into()]);
    })
    .await;
    inner.add_responder("bob").await;
    let app = App {
        base: inner.base.clone(),
        store: inner.store.clone(),
        _clock: inner.clock.clone(),
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

    /// Posts a slash command as Mattermost would.
    async fn post_command(&self, token: &str, user_name: &str, text: &str) -> reqwest::Response {
        let form = [
            ("token", token),
            ("team_id", "rdc9bgriktyx9p4kowh3dmgqyc"),
            ("channel_id", "5cqbmmwjt3dcxx9uqu8dbpduph"),
            ("user_id", "q5s2hhw3ajbj3edp6cz8wbnb4h"),
            ("user_name", user_name),
            ("command", "/tocsin"),
            ("text", text),
            (
                "response_url",
                "https://chat.example.com/hooks/commands/abc",
            ),
            ("trigger_id", "t1"),
        ];
        self.http
            .post(format!("{}{COMMANDS_PATH}", self.base))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    async fn command(&self, user_name: &str, text: &str) -> Value {
        let res = self.post_command(TOKEN, user_name, text).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    /// Posts a button press as Mattermost would, with `context`.
    async fn post_action(&self, user_name: &str, context: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{ACTIONS_PATH}", self.base))
            .json(&json!({
                "user_id": "q5s2hhw3ajbj3edp6cz8wbnb4h",
                "user_name": user_name,
                "channel_id": "5cqbmmwjt3dcxx9uqu8dbpduph",
                "team_id": "rdc9bgriktyx9p4kowh3dmgqyc",
                "post_id": "p1",
                "type": "button",
                "context": context,
            }))
            .send()
            .await
            .unwrap()
    }

    async fn status_of(&self, number: i64) -> IncidentStatus {
        self.store
            .get_incident(number)
            .await
            .unwrap()
            .expect("the incident")
            .status
    }

    async fn assert_acknowledged_via_mattermost(&self) {
        assert_eq!(self.status_of(1).await, IncidentStatus::Acknowledged);
        let timeline = self.store.timeline_after(1, 0, 100).await.unwrap();
        let ack = timeline
            .iter()
            .find(|e| e.kind.contains("acknowledged"))
            .unwrap_or_else(|| panic!("an acknowledgement in {timeline:?}"));
        assert_eq!(ack.detail["via"], "mattermost", "{ack:?}");
        assert!(ack.actor.contains("bob"), "{ack:?}");
    }
}

#[tokio::test]
async fn slash_command_with_a_token_acknowledges_via_mattermost() {
    let app = spawn(true).await;
    assert_eq!(app.status_of(1).await, IncidentStatus::Triggered);
    let answer = app.command("bob", "ack 1").await;
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    app.assert_acknowledged_via_mattermost().await;
}

#[tokio::test]
async fn wrong_or_missing_token_is_refused() {
    let app = spawn(true).await;
    let res = app.post_command("not-a-token", "bob", "ack 1").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app.post_command("", "bob", "ack 1").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.status_of(1).await, IncidentStatus::Triggered);
}

#[tokio::test]
async fn token_in_the_authorization_header_is_accepted() {
    let app = spawn(true).await;
    let res = app
        .http
        .post(format!("{}{COMMANDS_PATH}", app.base))
        .header("authorization", format!("Token {OTHER_TOKEN}"))
        .form(&[("user_name", "bob"), ("text", "ack 1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    app.assert_acknowledged_via_mattermost().await;
}

#[tokio::test]
async fn unknown_mattermost_user_is_told_how_to_link() {
    let app = spawn(true).await;
    let answer = app.command("nobody", "ack 1").await;
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    let text = answer["text"].as_str().unwrap();
    assert!(text.contains("Mattermost username"), "{text}");
    assert!(text.contains("nobody"), "{text}");
    assert_eq!(app.status_of(1).await, IncidentStatus::Triggered);
}

#[tokio::test]
async fn acknowledge_action_acknowledges() {
    let app = spawn(true).await;
    let res = app
        .post_action(
            "bob",
            json!({"action": "acknowledge", "incident": 1, "token": TOKEN}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    let text = answer["ephemeral_text"].as_str().unwrap();
    assert!(text.contains("acknowledged"), "{text}");
    app.assert_acknowledged_via_mattermost().await;
}

#[tokio::test]
async fn action_with_a_bad_token_is_refused() {
    let app = spawn(true).await;
    for context in [
        json!({"action": "acknowledge", "incident": 1, "token": "forged"}),
        json!({"action": "acknowledge", "incident": 1}),
    ] {
        let res = app.post_action("bob", context).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.status_of(1).await, IncidentStatus::Triggered);
}

#[tokio::test]
async fn action_without_an_incident_is_refused_privately() {
    let app = spawn(true).await;
    let res = app
        .post_action(
            "bob",
            json!({"action": "resolve", "incident": "soon", "token": TOKEN}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    let text = answer["ephemeral_text"].as_str().unwrap();
    assert!(text.contains("does not name an incident"), "{text}");
    assert_eq!(app.status_of(1).await, IncidentStatus::Triggered);
}

#[tokio::test]
async fn help_is_ephemeral() {
    let app = spawn(true).await;
    let answer = app.command("bob", "help").await;
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    assert!(answer["text"].as_str().unwrap().contains("ack"), "{answer}");
}

#[tokio::test]
async fn without_a_token_mattermost_is_unavailable() {
    let app = spawn(false).await;
    let res = app.post_command(TOKEN, "bob", "ack 1").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = res.text().await.unwrap();
    assert!(body.contains("--mattermost-token"), "{body}");
    let res = app
        .post_action(
            "bob",
            json!({"action": "acknowledge", "incident": 1, "token": TOKEN}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.status_of(1).await, IncidentStatus::Triggered);
}

#[tokio::test]
async fn a_runbook_action_is_confirmed_with_a_button() {
    let app = spawn(true).await;
    let m = tocsin_core::manifest::parse(vec![tocsin_core::manifest::Source {
        path: "runbooks.yaml".into(),
        text: r#"
runbook_actions:
  - name: say-hello
    team: payments
    parameters:
      - { name: target, required: true, pattern: "web-[0-9]+" }
    command: ["/bin/echo", "hello {{ params.target }}"]
"#
        .into(),
    }]);
    assert!(m.errors.is_empty(), "{:?}", m.errors);
    let now = tocsin_core::clock::Clock::now(&app._clock);
    let plan = tocsin_core::catalog::plan(app.store.as_ref(), &m, false, &|_| None)
        .await
        .unwrap();
    tocsin_core::catalog::apply(
        app.store.as_ref(),
        &plan,
        &tocsin_core::audit::Actor::system(),
        now,
    )
    .await
    .unwrap();

    let answer = app.command("bob", "run say-hello on web-2 #1").await;
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    let actions = &answer["attachments"][0]["actions"];
    let run = &actions[0]["integration"];
    assert_eq!(
        run["url"], "https://hub.example.com/chat/mattermost/actions",
        "{answer}"
    );
    assert_eq!(run["context"]["action"], "confirm");
    // The token the command came with, so the hub accepts the press.
    assert_eq!(run["context"]["token"], TOKEN);
    assert_eq!(actions[1]["integration"]["context"]["action"], "cancel");
    let context = run["context"].clone();

    // Cancel runs nothing; Run it runs it once.
    let res = app
        .post_action("bob", json!({ "action": "cancel", "token": TOKEN }))
        .await;
    let cancelled: Value = res.json().await.unwrap();
    assert!(
        cancelled["ephemeral_text"]
            .as_str()
            .unwrap()
            .contains("nothing ran"),
        "{cancelled}"
    );
    let res = app.post_action("bob", context.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let done: Value = res.json().await.unwrap();
    let text = done["ephemeral_text"].as_str().unwrap();
    assert!(
        text.contains("succeeded") && text.contains("hello web-2"),
        "{done}"
    );
    let again: Value = app
        .post_action("bob", context.clone())
        .await
        .json()
        .await
        .unwrap();
    assert!(
        again["ephemeral_text"]
            .as_str()
            .unwrap()
            .contains("already ran"),
        "{again}"
    );
    // Without the command's token the press is not Mattermost's.
    let mut forged = context;
    forged["token"] = json!("not-a-token");
    assert_eq!(
        app.post_action("bob", forged).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
