//! Runbook actions through the web front ends: the incident page's command
//! box shows the prompt with a Confirm button (a CSRF-checked form carrying
//! the token) that runs the action once, and `POST /api/v1/chat` answers a
//! `run` with its token and runs it on `{"confirm": …}`; the recent runs
//! are listed at `GET /api/v1/runbook-runs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::PathBuf;
use support::{csrf_of, spawn_with};
use tocsin_core::clock::Clock;
use tocsin_core::manifest::{self, Source};
use tocsin_core::runbook::Runbooks;
use tocsin_domain::token::TokenScope;

const ACTION: &str = r#"
runbook_actions:
  - name: say-hello
    team: payments
    parameters:
      - { name: target, required: true }
    command: ["/bin/echo", "hello {{ params.target }}"]
"#;

async fn app() -> support::App {
    let app = spawn_with(true, |s| {
        s.runbooks = Runbooks::new(vec![PathBuf::from("/bin/echo")]);
    })
    .await;
    let m = manifest::parse(vec![Source {
        path: "runbooks.yaml".into(),
        text: ACTION.into(),
    }]);
    let plan = tocsin_core::catalog::plan(app.store.as_ref(), &m, false, &|_| None)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    tocsin_core::catalog::apply(
        app.store.as_ref(),
        &plan,
        &tocsin_core::audit::Actor::system(),
        app.clock.now(),
    )
    .await
    .unwrap();
    app
}

/// The value of the hidden `token` field.
fn token_of(html: &str) -> String {
    let start = html.find("name=\"token\" value=\"").expect("a token field") + 20;
    let end = html[start..].find('"').unwrap();
    html[start..start + end].to_owned()
}

#[tokio::test]
async fn the_command_box_asks_then_runs_once() {
    let app = app().await;
    let a = app.signed_in("alice").await;
    let csrf = a.csrf().await;
    let res = a
        .post(
            "/incidents/declare",
            &[
                ("csrf", &csrf),
                ("title", "Checkout rejects cards"),
                ("service", "checkout"),
                ("severity", "sev3"),
                ("summary", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let n: i64 = support::location(&res)
        .trim_start_matches("/incidents/")
        .trim_end_matches("?done=declared")
        .parse()
        .unwrap();

    let line = format!("run say-hello on web-2 #{n}");
    let res = a
        .post(
            &format!("/incidents/{n}/command"),
            &[("csrf", &csrf), ("text", &line)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("It will run: /bin/echo &#39;hello web-2&#39;"),
        "{body}"
    );
    assert!(body.contains("id=\"command-confirm\""), "{body}");
    assert!(
        body.contains(&format!("action=\"/incidents/{n}/command/confirm\"")),
        "{body}"
    );
    let token = token_of(&body);
    assert!(
        app.store.recent_runbook_runs(10).await.unwrap().is_empty(),
        "nothing ran before the confirmation"
    );

    // Without the session's CSRF token nothing runs.
    let res = a
        .post(
            &format!("/incidents/{n}/command/confirm"),
            &[("csrf", "forged"), ("token", &token)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(app.store.recent_runbook_runs(10).await.unwrap().is_empty());

    let confirm = |t: String| {
        let a = &a;
        let csrf = csrf.clone();
        async move {
            a.post(
                &format!("/incidents/{n}/command/confirm"),
                &[("csrf", &csrf), ("token", &t)],
            )
            .await
        }
    };
    let res = confirm(token.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert!(body.contains("succeeded (exit 0"), "{body}");
    assert!(body.contains("hello web-2"), "{body}");
    assert!(!body.contains("id=\"command-confirm\""), "no second button");
    let runs = app.store.recent_runbook_runs(10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].actor.as_str(), runs[0].via.as_str()),
        ("alice", "web")
    );
    let timeline = app.store.incident_timeline(n).await.unwrap();
    let e = timeline.iter().find(|e| e.kind == "runbook.run").unwrap();
    assert_eq!(e.detail["output"], "hello web-2\n");
    assert_eq!(e.detail["via"], "web");

    // Clicked again: told it already ran, nothing runs.
    let body = confirm(token.clone()).await.text().await.unwrap();
    assert!(body.contains("already ran"), "{body}");
    assert_eq!(app.store.recent_runbook_runs(10).await.unwrap().len(), 1);

    // A forged token is the box's error.
    let res = confirm(format!("{token}0")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("not one tocsin made"), "{body}");
    let _ = csrf_of(&body);
}

#[tokio::test]
async fn the_chat_api_returns_and_takes_the_token() {
    let app = app().await;
    let issued = tocsin_core::token::create(
        app.store.as_ref(),
        "ops",
        TokenScope::Admin,
        None,
        &tocsin_core::audit::Actor::system(),
        app.clock.now(),
    )
    .await
    .unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let post = |body: Value| {
        let http = http.clone();
        let url = format!("{}/api/v1/chat", app.base);
        let secret = issued.secret.clone();
        async move {
            http.post(url)
                .bearer_auth(secret)
                .header("X-Tocsin-Interface", "cli")
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let res = post(json!({ "text": "run say-hello on web-1" })).await;
    assert_eq!(res.status(), StatusCode::OK);
    let asked: Value = res.json().await.unwrap();
    assert_eq!(
        (asked["ok"].as_bool(), asked["public"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(
        asked["text"]
            .as_str()
            .unwrap()
            .contains("It will run: /bin/echo 'hello web-1'"),
        "{asked}"
    );
    let token = asked["confirm"].as_str().unwrap().to_owned();

    let plain: Value = post(json!({ "text": "help" })).await.json().await.unwrap();
    assert!(plain.get("confirm").is_none(), "{plain}");

    for bad in [json!({}), json!({ "text": "help", "confirm": token })] {
        let res = post(bad.clone()).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    let ran: Value = post(json!({ "confirm": token }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (ran["ok"].as_bool(), ran["public"].as_bool()),
        (Some(true), Some(true)),
        "{ran}"
    );
    assert!(
        ran["text"].as_str().unwrap().contains("hello web-1"),
        "{ran}"
    );
    let again: Value = post(json!({ "confirm": token }))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        again["text"].as_str().unwrap().contains("already ran"),
        "{again}"
    );

    let runs: Value = http
        .get(format!("{}/api/v1/runbook-runs?limit=5", app.base))
        .bearer_auth(&issued.secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let runs = runs["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["action"], "say-hello");
    assert_eq!(runs[0]["outcome"], "succeeded");
    assert_eq!(runs[0]["via"], "cli");
    assert_eq!(runs[0]["actor"], "token:ops");
    assert_eq!(runs[0]["detail"]["output"], "hello web-1\n");

    let listed: Value = http
        .get(format!("{}/api/v1/runbook-actions", app.base))
        .bearer_auth(&issued.secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed.to_string().contains("say-hello"), "{listed}");
}
