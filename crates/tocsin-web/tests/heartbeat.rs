//! The healthchecks.io ping URLs against the real server: every URL form
//! by GET, POST and HEAD, `rid`, the slug form, the body kept as the
//! run's log (cut at `max_log_bytes`), unknown UUIDs; the heartbeats API
//! and page; and a cron script's `curl` lines, unchanged but for the host.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::StatusCode;
use std::sync::Arc;
use support::App;
use tocsin_core::audit::Actor;
use tocsin_core::clock::Clock;
use tocsin_core::manifest::{self, Source};
use tocsin_domain::Name;
use tocsin_domain::heartbeat::PingKind;
use tocsin_domain::token::TokenScope;
use tocsin_store::{PingRecord, Store};

const UUID: &str = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";

const HEARTBEATS: &str = r#"
heartbeats:
  - name: nightly-backup
    service: checkout
    uuid: 5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278
    schedule: "30 2 * * *"
    time_zone: Europe/Berlin
    grace: 30m
    max_log_bytes: 100
  - name: cleanup
    service: checkout
    period: 1h
    grace: 5m
"#;

async fn app() -> App {
    let app = support::spawn(true).await;
    let m = manifest::parse(vec![Source {
        path: "heartbeats.yaml".into(),
        text: HEARTBEATS.into(),
    }]);
    assert!(m.errors.is_empty(), "{:?}", m.errors);
    let plan = tocsin_core::catalog::plan(app.store.as_ref(), &m, false, &|_| None)
        .await
        .unwrap_or_else(|e| panic!("plan: {e:?}"));
    tocsin_core::catalog::apply(app.store.as_ref(), &plan, &Actor::system(), app.clock.now())
        .await
        .unwrap();
    app
}

async fn pings(store: &Arc<dyn Store>, name: &str) -> Vec<PingRecord> {
    store
        .heartbeat_pings(&Name::parse(name).unwrap(), 100)
        .await
        .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test]
async fn every_url_form_by_get_post_and_head() {
    let app = app().await;
    let c = client();
    let url = |suffix: &str| format!("{}/ping/{UUID}{suffix}", app.base);

    let res = c.get(url("")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "text/plain; charset=utf-8"
    );
    assert_eq!(res.headers()["ping-body-limit"].to_str().unwrap(), "100");
    assert_eq!(res.text().await.unwrap(), "OK");

    let res = c.head(url("/start")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "", "HEAD has no body");

    for (suffix, status) in [
        ("/fail", StatusCode::OK),
        ("/log", StatusCode::OK),
        ("/0", StatusCode::OK),
        ("/1", StatusCode::OK),
        ("/255", StatusCode::OK),
        ("/256", StatusCode::NOT_FOUND),
        ("/stop", StatusCode::NOT_FOUND),
    ] {
        let res = c
            .post(url(suffix))
            .body(format!("body of {suffix}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{suffix}");
    }
    let got = pings(&app.store, "nightly-backup").await;
    let seen: Vec<(PingKind, Option<u8>, &str)> = got
        .iter()
        .rev()
        .map(|p| (p.kind, p.exit_status, p.method.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (PingKind::Success, None, "GET"),
            (PingKind::Start, None, "HEAD"),
            (PingKind::Fail, None, "POST"),
            (PingKind::Log, None, "POST"),
            (PingKind::Success, Some(0), "POST"),
            (PingKind::Fail, Some(1), "POST"),
            (PingKind::Fail, Some(255), "POST"),
        ]
    );
    assert_eq!(got[0].body, "body of /255");
    assert_eq!(got[3].body, "body of /log");
}

#[tokio::test]
async fn unknown_uuid_rid_body_and_slug() {
    let app = app().await;
    let c = client();

    let res = c
        .get(format!(
            "{}/ping/00000000-0000-4000-8000-000000000000",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.text().await.unwrap(), "not found");

    // rid: a UUID tying the start to its end; anything else is refused.
    let rid = "7d3f3a3e-9f60-4c5e-8f0c-1b9a7d0a4c11";
    for suffix in ["/start", ""] {
        let res = c
            .get(format!("{}/ping/{UUID}{suffix}?rid={rid}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = c
        .get(format!("{}/ping/{UUID}?rid=not-a-uuid", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.text().await.unwrap(), "invalid uuid format for rid");
    let got = pings(&app.store, "nightly-backup").await;
    assert_eq!(got.len(), 2, "the refused ping is not recorded");
    assert_eq!(got[0].rid.as_deref(), Some(rid));
    assert_eq!(got[0].duration, Some(jiff::SignedDuration::ZERO));

    // The body is the log, cut at max_log_bytes (100).
    let long = "x".repeat(150);
    let res = c
        .post(format!("{}/ping/{UUID}/log", app.base))
        .body(long)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let got = pings(&app.store, "nightly-backup").await;
    assert_eq!(got[0].body.len(), 100);
    assert!(got[0].truncated);

    // The slug form with the organisation's ping key.
    let key = app
        .store
        .instance_secret(tocsin_core::heartbeat::PING_KEY_NAME, String::new())
        .await
        .unwrap();
    assert_eq!(key.len(), 22, "made when the heartbeats were first read");
    let res = c
        .post(format!("{}/ping/{key}/cleanup/fail", app.base))
        .body("disk full")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let got = pings(&app.store, "cleanup").await;
    assert_eq!(
        (got[0].kind, got[0].body.as_str()),
        (PingKind::Fail, "disk full")
    );
    let res = c
        .get(format!("{}/ping/{key}/no-such-heartbeat", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = c
        .get(format!("{}/ping/wrongkeywrongkeywrongk/cleanup", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn api_and_page_list_heartbeats_with_runs() {
    let app = app().await;
    let c = client();
    c.get(format!("{}/ping/{UUID}/start", app.base))
        .send()
        .await
        .unwrap();
    app.clock.advance(jiff::SignedDuration::from_secs(42));
    c.post(format!("{}/ping/{UUID}", app.base))
        .body("backup done: 3 GB")
        .send()
        .await
        .unwrap();

    let token = tocsin_core::token::create(
        app.store.as_ref(),
        "reader",
        TokenScope::Read,
        None,
        &Actor::system(),
        app.clock.now(),
    )
    .await
    .unwrap()
    .secret;
    let list: serde_json::Value = c
        .get(format!("{}/api/v1/heartbeats", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cleanup", "nightly-backup"]);
    assert_eq!(list[0]["status"], "new");
    assert_eq!(list[1]["status"], "up");
    assert_eq!(list[1]["uuid"], UUID);
    // 2026-03-02 10:00 UTC → the next 02:30 in Berlin is 01:30 UTC.
    assert_eq!(list[1]["next_expected"], "2026-03-03T01:30:00Z");

    let one: serde_json::Value = c
        .get(format!("{}/api/v1/heartbeats/nightly-backup", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["pings"][0]["duration_ms"], 42_000);
    assert_eq!(one["pings"][0]["body"], "backup done: 3 GB");
    let missing = c
        .get(format!("{}/api/v1/heartbeats/nope", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let browser = app.signed_in("carol").await;
    let (status, html) = browser.page("/heartbeats").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("nightly-backup"), "{html}");
    assert!(html.contains("/ping/5bf66975"), "{html}");
    let (status, html) = browser.page("/heartbeats/nightly-backup").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("backup done: 3 GB"), "{html}");
    assert!(html.contains("42s"), "{html}");
}

/// Declared health checks through the catalog API: the list, one by name
/// with its spec as written, and an unknown name.
#[tokio::test]
async fn api_lists_and_reads_declared_monitors() {
    let app = support::spawn(true).await;
    let m = manifest::parse(vec![Source {
        path: "monitors.yaml".into(),
        text: r#"
monitors:
  - name: checkout-tls
    service: checkout
    type: tls
    host: checkout.example.com
  - name: checkout-health
    service: checkout
    type: http
    url: https://checkout.example.com/healthz
    expect_status: "200-299, 404"
    expect_json: { path: $.db.ok, equals: true }
    interval: 30s
"#
        .into(),
    }]);
    assert!(m.errors.is_empty(), "{:?}", m.errors);
    let plan = tocsin_core::catalog::plan(app.store.as_ref(), &m, false, &|_| None)
        .await
        .unwrap_or_else(|e| panic!("plan: {e:?}"));
    tocsin_core::catalog::apply(app.store.as_ref(), &plan, &Actor::system(), app.clock.now())
        .await
        .unwrap();
    let token = tocsin_core::token::create(
        app.store.as_ref(),
        "reader",
        TokenScope::Read,
        None,
        &Actor::system(),
        app.clock.now(),
    )
    .await
    .unwrap()
    .secret;
    let c = client();
    let list: serde_json::Value = c
        .get(format!("{}/api/v1/monitors", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["checkout-health", "checkout-tls"], "{list}");

    let one = c
        .get(format!("{}/api/v1/monitors/checkout-health", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), StatusCode::OK);
    let one: serde_json::Value = one.json().await.unwrap();
    assert_eq!(one["kind"], "monitor", "{one}");
    assert_eq!(one["spec"]["type"], "http", "{one}");
    assert_eq!(one["spec"]["expect_status"], "200-299, 404", "{one}");
    assert_eq!(one["spec"]["expect_json"]["equals"], true, "{one}");
    assert_eq!(one["spec"]["interval"], "30s", "{one}");

    let missing = c
        .get(format!("{}/api/v1/monitors/nope", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let anonymous = c
        .get(format!("{}/api/v1/monitors", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

/// A cron script as healthchecks.io documents it, unchanged but for the
/// host: start, the job, its exit status with its output as the log.
#[tokio::test]
async fn a_cron_script_with_curl_works_unchanged_but_for_the_host() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("TOCSIN_PEER_TESTS").is_none(),
            "curl is not installed"
        );
        eprintln!("skipped: curl is not installed");
        return;
    }
    let app = app().await;
    let script = r#"
set -u
URL="$BASE/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"
curl -fsS -m 10 --retry 5 -o /dev/null "$URL/start"
log=$(sh -c 'echo "dumping db"; echo "pg_dump: error: disk full" >&2; exit 3' 2>&1)
curl -fsS -m 10 --retry 5 --data-raw "$log" "$URL/$?" >/dev/null
curl -fsS -m 10 --retry 5 -o /dev/null "$URL"
curl -fsS -m 10 --retry 5 -o /dev/null "$BASE/ping/00000000-0000-4000-8000-000000000000" || echo "unknown: $?"
"#;
    let out = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("BASE", &app.base)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("unknown: 22"),
        "curl -f fails on the 404: {stdout} {stderr}"
    );
    let got = pings(&app.store, "nightly-backup").await;
    let seen: Vec<(PingKind, Option<u8>)> =
        got.iter().rev().map(|p| (p.kind, p.exit_status)).collect();
    assert_eq!(
        seen,
        [
            (PingKind::Start, None),
            (PingKind::Fail, Some(3)),
            (PingKind::Success, None)
        ]
    );
    assert_eq!(got[1].body, "dumping db\npg_dump: error: disk full");
    assert_eq!(got[1].method, "POST");
}
