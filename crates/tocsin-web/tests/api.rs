//! Black-box tests of the HTTP API: the real server on `127.0.0.1:0`, a
//! fresh migrated database, driven with an HTTP client through the public
//! routes only.
//!
//! The main scenario (plan, apply, read back, re-apply, prune, invalid
//! manifests) runs on SQLite always and on PostgreSQL when
//! `TOCSIN_TEST_POSTGRES_URL` is set (unset: the PostgreSQL variant says it
//! skipped; set but unreachable: it fails).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use tocsin_core::clock::SystemClock;
use tocsin_domain::token::TokenScope;
use tocsin_store::Store;
use tocsin_web::{AppState, Server, ServerConfig};

/// Every catalog list route.
const KIND_PATHS: [&str; 9] = [
    "users",
    "teams",
    "schedules",
    "escalation-policies",
    "services",
    "integrations",
    "silences",
    "maintenance-windows",
    "schedule-overrides",
];

/// A running server and what a test needs to talk to it.
struct App {
    base: String,
    client: reqwest::Client,
    /// Secrets of tokens created directly in the store.
    admin: String,
    read: String,
    store: Arc<dyn Store>,
    backend: &'static str,
    /// Dropping it stops the server (graceful shutdown).
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// Keeps the SQLite directory alive as long as the server.
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL test database, dropped by [`App::finish`].
    pg_url: Option<String>,
}

/// Starts the server on a fresh, migrated SQLite file.
async fn spawn_app() -> App {
    let (dir, path) = tocsin_store_sqlite::testing::fresh_file();
    let store =
        tocsin_store_sqlite::SqliteStore::open(&path, tocsin_store_sqlite::OpenMode::Server)
            .await
            .expect("open the SQLite store");
    start(Arc::new(store), "sqlite", Some(dir), None).await
}

/// Starts the server on a fresh PostgreSQL database, or `None` when
/// `TOCSIN_TEST_POSTGRES_URL` is unset. Panics when it is set but the
/// server cannot be reached.
async fn spawn_app_postgres() -> Option<App> {
    let url = tocsin_store_postgres::testing::fresh_database().await?;
    let store = tocsin_store_postgres::PostgresStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connect to the fresh test database: {e}"));
    Some(start(Arc::new(store), "postgres", None, Some(url)).await)
}

async fn start(
    store: Arc<dyn Store>,
    backend: &'static str,
    dir: Option<tempfile::TempDir>,
    pg_url: Option<String>,
) -> App {
    store.migrate().await.expect("migrate the fresh database");
    let clock = Arc::new(SystemClock);
    let now = tocsin_core::clock::Clock::now(clock.as_ref());
    let admin = tocsin_core::token::create(
        store.as_ref(),
        "test-admin",
        TokenScope::Admin,
        None,
        &tocsin_core::audit::Actor::system(),
        now,
    )
    .await
    .expect("create the admin token")
    .secret;
    let read = tocsin_core::token::create(
        store.as_ref(),
        "test-read",
        TokenScope::Read,
        None,
        &tocsin_core::audit::Actor::system(),
        now,
    )
    .await
    .expect("create the read token")
    .secret;
    let server = Server::build(
        &ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
        },
        AppState::new(store.clone(), clock),
    )
    .await
    .expect("bind 127.0.0.1:0");
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    App {
        base: format!("http://{addr}"),
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
        admin,
        read,
        store,
        backend,
        stop: Some(stop),
        server: Some(task),
        _dir: dir,
        pg_url,
    }
}

impl App {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    async fn post_raw(&self, path: &str, content_type: &str, body: &str) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.admin)
            .header(CONTENT_TYPE, content_type)
            .body(body.to_owned())
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// GET with the admin token, expecting 200 and JSON.
    async fn get_json(&self, path: &str) -> Value {
        let res = self.get(path, Some(&self.admin)).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "GET {path}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {text}"))
    }

    /// Names of the objects listed at `/api/v1/<kind>`.
    async fn names(&self, kind: &str) -> BTreeSet<String> {
        let list = self.get_json(&format!("/api/v1/{kind}")).await;
        list.as_array()
            .unwrap_or_else(|| panic!("/api/v1/{kind} is not a list: {list}"))
            .iter()
            .map(|o| o["name"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn assert_catalog_empty(&self, why: &str) {
        for kind in KIND_PATHS {
            let names = self.names(kind).await;
            assert!(
                names.is_empty(),
                "{why}: {kind} should be empty, got {names:?}"
            );
        }
    }

    /// Plans (or applies) with the admin token, expecting 200.
    async fn config(&self, action: &str, files: &[(&str, &str)], prune: bool) -> Value {
        let path = format!("/api/v1/config/{action}");
        let res = self
            .post(&path, Some(&self.admin), &request(files, prune))
            .await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{action}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Stops the server and drops the PostgreSQL test database.
    async fn finish(mut self) {
        drop(self.stop.take());
        if let Some(task) = self.server.take() {
            task.await
                .expect("server task panicked")
                .expect("server failed");
        }
        self.store.close().await;
        if let Some(url) = self.pg_url.take() {
            tocsin_store_postgres::testing::drop_database(&url).await;
        }
    }
}

fn request(files: &[(&str, &str)], prune: bool) -> Value {
    json!({
        "files": files
            .iter()
            .map(|(path, content)| json!({"path": path, "content": content}))
            .collect::<Vec<_>>(),
        "prune": prune,
    })
}

/// Asserts a problem+json answer with `status` and returns its body.
async fn problem(res: reqwest::Response, status: StatusCode) -> Value {
    let got = res.status();
    let content_type = res
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "status; body: {text}");
    assert_eq!(
        content_type, "application/problem+json",
        "content type of a {status} answer; body: {text}"
    );
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("problem body is not JSON ({e}): {text}"));
    assert_eq!(body["status"], status.as_u16(), "status field: {body}");
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("https://")),
        "type must be a URI: {body}"
    );
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "title: {body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|t| !t.is_empty()),
        "detail: {body}"
    );
    body
}

fn summary(plan: &Value) -> Value {
    plan["summary"].clone()
}

fn summary_of(create: u64, update: u64, delete: u64, orphan: u64, unchanged: u64) -> Value {
    json!({
        "create": create,
        "update": update,
        "adopt": 0,
        "delete": delete,
        "orphan": orphan,
        "unchanged": unchanged,
    })
}

/// `(kind, name, action)` of every change in a plan.
fn changes(plan: &Value) -> BTreeSet<(String, String, String)> {
    plan["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("no changes list: {plan}"))
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap().to_owned(),
                c["name"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn change(kind: &str, name: &str, action: &str) -> (String, String, String) {
    (kind.to_owned(), name.to_owned(), action.to_owned())
}

const PEOPLE: &str = "\
users:
  - name: alice
    full_name: Alice Martin
    email: alice@example.com
    time_zone: Europe/Paris
teams:
  - name: payments
    members: [alice]
";

const SERVICES: &str = "\
services:
  - name: checkout
    description: The checkout API.
    team: payments
    depends_on: [ledger]
  - name: ledger
    team: payments
integrations:
  - name: checkout-generic
    service: checkout
    format: generic
";

/// SERVICES with a new description for checkout.
const SERVICES_EDITED: &str = "\
services:
  - name: checkout
    description: The checkout API behind the Pay button.
    team: payments
    depends_on: [ledger]
  - name: ledger
    team: payments
integrations:
  - name: checkout-generic
    service: checkout
    format: generic
";

/// SERVICES_EDITED without ledger.
const SERVICES_WITHOUT_LEDGER: &str = "\
services:
  - name: checkout
    description: The checkout API behind the Pay button.
    team: payments
integrations:
  - name: checkout-generic
    service: checkout
    format: generic
";

const PEOPLE_PATH: &str = "catalog/people.yaml";
const SERVICES_PATH: &str = "catalog/payments/services.yaml";

/// Three files, three problems of different sorts: a reference to a team
/// nobody declares, a time zone that does not exist, and a team declared in
/// two files.
const INVALID: [(&str, &str); 3] = [
    (
        "a.yaml",
        "teams:\n  - name: payments\nservices:\n  - name: checkout\n    team: paymnts\n",
    ),
    (
        "b.yaml",
        "users:\n  - name: bob\n    full_name: Bob\n    email: bob@example.com\n    time_zone: Mars/Olympus\n",
    ),
    ("c.yaml", "teams:\n  - name: payments\n"),
];

/// The whole config-as-code story over the API, on one backend.
async fn main_scenario(app: &App) {
    // Ready, on the right backend, with the schema current.
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["status"], "ok", "{ready}");
    assert_eq!(ready["database"], app.backend, "{ready}");
    assert!(
        ready["migrations_applied"].as_u64().unwrap() > 0
            && ready["migrations_applied"] == ready["migrations_known"],
        "migrations: {ready}"
    );
    app.assert_catalog_empty("a fresh database").await;

    // Invalid manifests: every problem, located; nothing written.
    for action in ["plan", "apply"] {
        let res = app
            .post(
                &format!("/api/v1/config/{action}"),
                Some(&app.admin),
                &request(&INVALID, false),
            )
            .await;
        let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        let errors = body["errors"].as_array().unwrap();
        let located: BTreeSet<(String, u64, u64, String)> = errors
            .iter()
            .map(|e| {
                (
                    e["file"].as_str().unwrap().to_owned(),
                    e["line"].as_u64().unwrap(),
                    e["column"].as_u64().unwrap(),
                    e["field"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let want: BTreeSet<(String, u64, u64, String)> = [
            ("a.yaml", 5, 11, "services[0].team"),
            ("b.yaml", 5, 16, "users[0].time_zone"),
            ("c.yaml", 2, 11, "teams[0].name"),
        ]
        .into_iter()
        .map(|(f, l, c, p)| (f.to_owned(), l, c, p.to_owned()))
        .collect();
        assert_eq!(located, want, "{action}: problems: {body:#}");
        assert_eq!(errors.len(), 3, "{action}: one entry per problem: {body:#}");
        let message = |field: &str| {
            errors
                .iter()
                .find(|e| e["field"] == field)
                .unwrap()
                .get("message")
                .and_then(Value::as_str)
                .unwrap()
                .to_owned()
        };
        assert!(
            message("services[0].team").contains("no team named \"paymnts\""),
            "{body:#}"
        );
        assert!(
            message("users[0].time_zone").contains("Mars/Olympus"),
            "{body:#}"
        );
        assert!(
            message("teams[0].name").contains("declared twice")
                && message("teams[0].name").contains("a.yaml:2:11"),
            "the duplicate names the first place: {body:#}"
        );
        assert!(
            body["detail"].as_str().unwrap().contains("3 problem"),
            "{body:#}"
        );
        app.assert_catalog_empty(&format!("after an invalid {action}"))
            .await;
    }

    let files = [(PEOPLE_PATH, PEOPLE), (SERVICES_PATH, SERVICES)];
    let created: BTreeSet<_> = [
        change("user", "alice", "create"),
        change("team", "payments", "create"),
        change("service", "checkout", "create"),
        change("service", "ledger", "create"),
        change("integration", "checkout-generic", "create"),
    ]
    .into();

    // Plan shows the creations and writes nothing.
    let plan = app.config("plan", &files, false).await;
    assert_eq!(summary(&plan), summary_of(5, 0, 0, 0, 0), "{plan:#}");
    assert_eq!(changes(&plan), created, "{plan:#}");
    app.assert_catalog_empty("after plan").await;

    // Apply carries out the same plan.
    let applied = app.config("apply", &files, false).await;
    assert_eq!(summary(&applied), summary_of(5, 0, 0, 0, 0), "{applied:#}");
    assert_eq!(changes(&applied), created, "{applied:#}");

    assert_eq!(app.names("users").await, BTreeSet::from(["alice".into()]));
    assert_eq!(
        app.names("teams").await,
        BTreeSet::from(["payments".into()])
    );
    assert_eq!(
        app.names("services").await,
        BTreeSet::from(["checkout".into(), "ledger".into()])
    );
    assert_eq!(
        app.names("integrations").await,
        BTreeSet::from(["checkout-generic".into()])
    );
    for (kind, path) in [
        ("users", PEOPLE_PATH),
        ("teams", PEOPLE_PATH),
        ("services", SERVICES_PATH),
        ("integrations", SERVICES_PATH),
    ] {
        for o in app
            .get_json(&format!("/api/v1/{kind}"))
            .await
            .as_array()
            .unwrap()
        {
            assert_eq!(o["managed_by_config"], true, "{kind}: {o}");
            assert_eq!(o["source"], path, "{kind}: {o}");
        }
    }
    let checkout = app.get_json("/api/v1/services/checkout").await;
    assert_eq!(checkout["kind"], "service", "{checkout}");
    assert_eq!(checkout["name"], "checkout", "{checkout}");
    assert_eq!(checkout["managed_by_config"], true, "{checkout}");
    assert_eq!(checkout["source"], SERVICES_PATH, "{checkout}");
    assert_eq!(checkout["spec"]["team"], "payments", "{checkout}");
    assert_eq!(
        checkout["spec"]["depends_on"],
        json!(["ledger"]),
        "{checkout}"
    );
    let alice = app.get_json("/api/v1/users/alice").await;
    assert_eq!(alice["spec"]["time_zone"], "Europe/Paris", "{alice}");
    // The generated integration key is a secret: never in the API.
    let integration = app.get_json("/api/v1/integrations/checkout-generic").await;
    assert_eq!(
        integration["spec"],
        json!({"name": "checkout-generic", "service": "checkout", "format": "generic"}),
        "{integration}"
    );

    // Applying the same files again changes nothing.
    let again = app.config("apply", &files, false).await;
    assert_eq!(summary(&again), summary_of(0, 0, 0, 0, 5), "{again:#}");
    assert_eq!(changes(&again), BTreeSet::new(), "{again:#}");
    let checkout_again = app.get_json("/api/v1/services/checkout").await;
    assert_eq!(
        checkout_again["version"], checkout["version"],
        "an apply without changes must not bump versions"
    );

    // An edited field is an update naming the field.
    let files = [(PEOPLE_PATH, PEOPLE), (SERVICES_PATH, SERVICES_EDITED)];
    let plan = app.config("plan", &files, false).await;
    assert_eq!(summary(&plan), summary_of(0, 1, 0, 0, 4), "{plan:#}");
    assert_eq!(plan["changes"][0]["action"], "update", "{plan:#}");
    assert_eq!(plan["changes"][0]["name"], "checkout", "{plan:#}");
    assert_eq!(
        plan["changes"][0]["fields"],
        json!(["description"]),
        "{plan:#}"
    );
    app.config("apply", &files, false).await;
    let checkout = app.get_json("/api/v1/services/checkout").await;
    assert_eq!(
        checkout["spec"]["description"], "The checkout API behind the Pay button.",
        "{checkout}"
    );

    // Removed from the files without prune: an orphan, kept.
    let files = [
        (PEOPLE_PATH, PEOPLE),
        (SERVICES_PATH, SERVICES_WITHOUT_LEDGER),
    ];
    let plan = app.config("plan", &files, false).await;
    assert!(
        changes(&plan).contains(&change("service", "ledger", "orphan")),
        "{plan:#}"
    );
    assert_eq!(summary(&plan)["orphan"], 1, "{plan:#}");
    assert_eq!(summary(&plan)["delete"], 0, "{plan:#}");
    let applied = app.config("apply", &files, false).await;
    assert_eq!(summary(&applied)["orphan"], 1, "{applied:#}");
    let ledger = app.get_json("/api/v1/services/ledger").await;
    assert_eq!(
        ledger["managed_by_config"], true,
        "an orphan stays managed by config: {ledger}"
    );

    // With prune: deleted, and gone.
    let plan = app.config("plan", &files, true).await;
    assert_eq!(
        changes(&plan),
        BTreeSet::from([change("service", "ledger", "delete")]),
        "{plan:#}"
    );
    app.get_json("/api/v1/services/ledger").await;
    let applied = app.config("apply", &files, true).await;
    assert_eq!(summary(&applied), summary_of(0, 0, 1, 0, 4), "{applied:#}");
    let res = app.get("/api/v1/services/ledger", Some(&app.admin)).await;
    let body = problem(res, StatusCode::NOT_FOUND).await;
    assert!(
        body["detail"].as_str().unwrap().contains("ledger"),
        "the 404 names what is missing: {body}"
    );
    assert_eq!(
        app.names("services").await,
        BTreeSet::from(["checkout".into()])
    );

    // Nothing left to do.
    let plan = app.config("plan", &files, true).await;
    assert_eq!(summary(&plan), summary_of(0, 0, 0, 0, 4), "{plan:#}");
}

#[tokio::test]
async fn config_as_code_over_the_api_on_sqlite() {
    let app = spawn_app().await;
    main_scenario(&app).await;
    app.finish().await;
}

#[tokio::test]
async fn config_as_code_over_the_api_on_postgres() {
    let Some(app) = spawn_app_postgres().await else {
        eprintln!(
            "skipped: set TOCSIN_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run this scenario on PostgreSQL"
        );
        return;
    };
    main_scenario(&app).await;
    app.finish().await;
}

#[tokio::test]
async fn health_and_metrics() {
    let app = spawn_app().await;
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );

    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status(), StatusCode::OK, "readyz needs no token");
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "ok", "{ready}");
    assert_eq!(ready["database"], "sqlite", "{ready}");

    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status(), StatusCode::OK);
    let content_type = metrics.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("text/plain"),
        "Prometheus text format: {content_type}"
    );
    let text = metrics.text().await.unwrap();
    let healthz_counted = text.lines().any(|l| {
        l.starts_with("tocsin_http_requests_total{")
            && l.contains("route=\"/healthz\"")
            && l.contains("status=\"200\"")
    });
    assert!(
        healthz_counted,
        "/metrics counts the /healthz request in tocsin_http_requests_total:\n{text}"
    );
    assert!(
        text.contains("tocsin_http_request_duration_seconds"),
        "/metrics has the latency histogram:\n{text}"
    );
    app.finish().await;
}

#[tokio::test]
async fn authentication_and_scopes() {
    let app = spawn_app().await;

    // No token, a token in the wrong scheme, an unknown token: 401.
    let anonymous = app
        .client
        .get(app.url("/api/v1/services"))
        .send()
        .await
        .unwrap();
    let challenge = anonymous
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = problem(anonymous, StatusCode::UNAUTHORIZED).await;
    assert!(
        challenge
            .as_deref()
            .is_some_and(|c| c.starts_with("Bearer")),
        "a 401 says how to authenticate: WWW-Authenticate = {challenge:?}"
    );
    assert!(
        body["detail"].as_str().unwrap().contains("Bearer"),
        "{body}"
    );
    let basic = app
        .client
        .get(app.url("/api/v1/services"))
        .basic_auth("admin", Some("secret"))
        .send()
        .await
        .unwrap();
    problem(basic, StatusCode::UNAUTHORIZED).await;
    let unknown = app
        .get(
            "/api/v1/services",
            Some("tcs_notarealtokenatall0000000000000"),
        )
        .await;
    problem(unknown, StatusCode::UNAUTHORIZED).await;
    let anonymous_apply = app
        .post(
            "/api/v1/config/apply",
            None,
            &request(&[(PEOPLE_PATH, PEOPLE)], false),
        )
        .await;
    problem(anonymous_apply, StatusCode::UNAUTHORIZED).await;

    // A read token reads and plans, but may not apply.
    let res = app.get("/api/v1/services", Some(&app.read)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let files = request(&[(PEOPLE_PATH, PEOPLE)], false);
    let res = app
        .post("/api/v1/config/plan", Some(&app.read), &files)
        .await;
    assert_eq!(res.status(), StatusCode::OK, "a read token may plan");
    let res = app
        .post("/api/v1/config/apply", Some(&app.read), &files)
        .await;
    let body = problem(res, StatusCode::FORBIDDEN).await;
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("needs the admin role") && detail.contains("token scope read"),
        "the 403 names the scope needed and the scope held: {detail}"
    );
    app.assert_catalog_empty("after a forbidden apply").await;

    // A revoked token stops working at once.
    let now = tocsin_core::clock::Clock::now(&SystemClock);
    assert!(app.store.revoke_token("test-read", &[], now).await.unwrap());
    let res = app.get("/api/v1/services", Some(&app.read)).await;
    problem(res, StatusCode::UNAUTHORIZED).await;
    app.finish().await;
}

#[tokio::test]
async fn bad_request_bodies_are_problems() {
    let app = spawn_app().await;
    let plan = "/api/v1/config/plan";

    // Not JSON at all.
    let res = app
        .post_raw(plan, "application/json", "{\"files\": [")
        .await;
    let body = problem(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["errors"][0]["field"], "body", "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("line 1"),
        "the syntax error is located: {body}"
    );

    // JSON of the wrong shape: the missing field is named.
    let res = app
        .post_raw(
            plan,
            "application/json",
            r#"{"files": [{"path": "x.yaml"}]}"#,
        )
        .await;
    let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("missing field `content`"),
        "{body}"
    );

    // An unknown field is refused, not ignored.
    let res = app
        .post_raw(
            plan,
            "application/json",
            r#"{"files": [{"path": "x.yaml", "content": ""}], "prnue": true}"#,
        )
        .await;
    let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(body["detail"].as_str().unwrap().contains("prnue"), "{body}");

    // Not JSON by content type.
    let res = app.post_raw(plan, "text/plain", "files").await;
    let body = problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("application/json"),
        "{body}"
    );

    // No files at all.
    let res = app
        .post(plan, Some(&app.admin), &json!({"files": []}))
        .await;
    let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "files", "{body}");

    // YAML that does not parse: located in the file.
    let res = app
        .post(
            plan,
            Some(&app.admin),
            &request(&[("broken.yaml", "teams:\n  - name: [unclosed\n")], false),
        )
        .await;
    let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let e = &body["errors"][0];
    assert_eq!(e["file"], "broken.yaml", "{body:#}");
    assert!(e["line"].as_u64().is_some(), "{body:#}");
    app.finish().await;
}

#[tokio::test]
async fn unknown_names_and_routes_are_404_problems() {
    let app = spawn_app().await;
    for kind in KIND_PATHS {
        let res = app
            .get(&format!("/api/v1/{kind}/no-such-thing"), Some(&app.read))
            .await;
        let body = problem(res, StatusCode::NOT_FOUND).await;
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("\"no-such-thing\""),
            "{kind}: {body}"
        );
    }
    let res = app
        .get("/api/v1/services/Not_A_Name", Some(&app.read))
        .await;
    let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "name", "{body}");
    let res = app.get("/api/v1/no-such-route", Some(&app.read)).await;
    let body = problem(res, StatusCode::NOT_FOUND).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("/api/v1/no-such-route"),
        "{body}"
    );
    let res = app
        .client
        .delete(app.url("/api/v1/services"))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    let body = problem(res, StatusCode::METHOD_NOT_ALLOWED).await;
    assert!(
        body["detail"].as_str().unwrap().contains("DELETE"),
        "{body}"
    );
    app.finish().await;
}

/// `docs/openapi.json` is generated from the code; this fails when they
/// drift apart.
#[tokio::test]
async fn openapi_document_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let generated = serde_json::to_string_pretty(&tocsin_web::openapi()).unwrap() + "\n";
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated)
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is not the OpenAPI document the code generates ({}); regenerate it with:\n    UPDATE_OPENAPI=1 cargo test -p tocsin-web --test api openapi\nand commit it",
        path.display(),
        if committed.is_empty() {
            "missing or empty"
        } else {
            "it differs"
        }
    );

    // The served document is the same one.
    let app = spawn_app().await;
    let served = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(served.status(), StatusCode::OK);
    let served: Value = served.json().await.unwrap();
    let generated: Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(
        served, generated,
        "/api/v1/openapi.json serves the document"
    );
    for path in [
        "/api/v1/services",
        "/api/v1/services/{name}",
        "/api/v1/config/plan",
        "/api/v1/config/apply",
        "/healthz",
        "/readyz",
    ] {
        assert!(
            served["paths"].get(path).is_some(),
            "the document describes {path}"
        );
    }
    app.finish().await;
}

/// A token acting for `user` (an account with `role`), created directly.
async fn token_for(
    app: &App,
    user: &str,
    role: tocsin_domain::access::Role,
    scope: TokenScope,
) -> String {
    let now = tocsin_core::clock::Clock::now(&SystemClock);
    let system = tocsin_core::audit::Actor::system();
    if app
        .store
        .get_account(&tocsin_domain::Name::parse(user).unwrap())
        .await
        .unwrap()
        .is_none()
    {
        let new = tocsin_core::account::NewUserAccount {
            name: user.into(),
            role,
            password: "a long enough password".into(),
            full_name: None,
            email: Some(format!("{user}@example.com")),
            time_zone: None,
        };
        tocsin_core::account::create(app.store.as_ref(), new, &system, now)
            .await
            .unwrap();
    }
    let owner = tocsin_domain::Name::parse(user).unwrap();
    tocsin_core::token::create(
        app.store.as_ref(),
        &format!("{user}-{scope}"),
        scope,
        Some(&owner),
        &system,
        now,
    )
    .await
    .unwrap()
    .secret
}

#[tokio::test]
async fn roles_scope_tokens_and_the_audit_log() {
    use tocsin_domain::access::Role;
    let app = spawn_app().await;
    let now = tocsin_core::clock::Clock::now(&SystemClock);
    tocsin_core::demo::load_if_empty(app.store.as_ref(), now)
        .await
        .unwrap();
    // alice is a member of payments in the demo; a responder.
    let alice = token_for(&app, "alice", Role::Responder, TokenScope::Write).await;
    let me: Value = app
        .get("/api/v1/me", Some(&alice))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"], "alice", "{me}");
    assert_eq!(me["role"], "responder", "{me}");
    assert_eq!(me["teams"], json!(["payments"]), "{me}");

    // A token never acts above its owner's current role.
    let dave = token_for(&app, "dave", Role::Viewer, TokenScope::Write).await;
    let me: Value = app
        .get("/api/v1/me", Some(&dave))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["role"].as_str(), me["scope"].as_str()),
        (Some("viewer"), Some("write")),
        "{me}"
    );

    // A responder may create write tokens for themselves, not admin ones.
    let res = app
        .post(
            "/api/v1/tokens",
            Some(&alice),
            &json!({ "name": "laptop", "scope": "admin" }),
        )
        .await;
    let body = problem(res, StatusCode::FORBIDDEN).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("may create tokens up to scope write, not admin"),
        "{body}"
    );
    let res = app
        .post(
            "/api/v1/tokens",
            Some(&alice),
            &json!({ "name": "laptop", "scope": "write" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let issued: Value = res.json().await.unwrap();
    assert_eq!(issued["owner"], "alice", "{issued}");
    assert!(
        issued["secret"].as_str().unwrap().starts_with("tcs_"),
        "{issued}"
    );
    let res = app
        .post(
            "/api/v1/tokens",
            Some(&alice),
            &json!({ "name": "laptop", "scope": "sudo" }),
        )
        .await;
    let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "scope", "{body}");

    // Own tokens only, unless admin.
    let listed: Value = app
        .get("/api/v1/tokens", Some(&alice))
        .await
        .json()
        .await
        .unwrap();
    let names: BTreeSet<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, BTreeSet::from(["alice-write", "laptop"]));
    let res = app
        .client
        .delete(app.url("/api/v1/tokens/test-read"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    let body = problem(res, StatusCode::FORBIDDEN).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("needs the admin role"),
        "{body}"
    );
    let res = app
        .client
        .delete(app.url("/api/v1/tokens/laptop"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .client
        .delete(app.url("/api/v1/tokens/laptop"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::NOT_FOUND).await;

    // The audit log: admins only; every change with who and from where.
    let res = app.get("/api/v1/audit", Some(&alice)).await;
    let body = problem(res, StatusCode::FORBIDDEN).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("token:alice-write has role responder"),
        "{body}"
    );
    let entries: Value = app
        .get("/api/v1/audit?interface=api", Some(&app.admin))
        .await
        .json()
        .await
        .unwrap();
    let seen: Vec<(&str, &str, &str)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap(),
                e["action"].as_str().unwrap(),
                e["object_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("token:alice-write", "token.revoke", "laptop"),
            ("token:alice-write", "token.create", "laptop")
        ],
        "newest first, API changes only"
    );
    let applied: Value = app
        .get(
            "/api/v1/audit?interface=config&action=catalog.create&kind=service&limit=2",
            Some(&app.admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(applied.as_array().unwrap().len(), 2, "{applied}");
    assert_eq!(applied[0]["detail"]["via"], "system", "{applied}");
    let res = app
        .get("/api/v1/audit?interface=fax", Some(&app.admin))
        .await;
    let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "interface", "{body}");
}

impl App {
    async fn delete(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DELETE {path}: {e}"))
    }

    async fn json_of(res: reqwest::Response, status: StatusCode, what: &str) -> Value {
        let got = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(got, status, "{what}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"))
    }

    /// Sends one generic event to an integration of the demo.
    async fn send_event(&self, integration: &str, body: Value) {
        let key = self
            .store
            .get_object(
                tocsin_domain::catalog::Kind::Integration,
                &tocsin_domain::Name::parse(integration).unwrap(),
            )
            .await
            .unwrap()
            .and_then(|o| o.secret)
            .expect("the integration has a key");
        let res = self
            .client
            .post(self.url(&format!("/integrations/{key}/events")))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::ACCEPTED,
            "{}",
            res.text().await.unwrap()
        );
    }

    async fn open_incidents(&self) -> usize {
        self.get_json("/api/v1/incidents?open=true")
            .await
            .as_array()
            .unwrap()
            .len()
    }
}

/// The fields a problem's errors name.
fn problem_fields(problem: &Value) -> BTreeSet<String> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

fn disk_event(key: &str) -> Value {
    json!({"action": "trigger", "dedup_key": key, "summary": format!("{key}: disk full"),
           "severity": "sev2", "group": key, "labels": {"alertname": "DiskFull"}})
}

/// Silences and maintenance windows through the API: preview, create with
/// the team check, a muted alert recorded without paging, expiry (after
/// which the alert pages), refusals that name the field, and objects
/// managed by config left to their manifests.
#[tokio::test]
async fn silences_and_maintenance_windows_over_the_api() {
    use tocsin_domain::access::Role;
    let app = spawn_app().await;
    let now = tocsin_core::clock::Clock::now(&SystemClock);
    tocsin_core::demo::load_if_empty(app.store.as_ref(), now)
        .await
        .unwrap();
    let alice = token_for(&app, "alice", Role::Responder, TokenScope::Write).await;
    let admin = app.admin.clone();

    app.send_event("platform-generic", disk_event("disk-1"))
        .await;
    assert_eq!(app.open_incidents().await, 1);

    // Preview before saving.
    let preview = App::json_of(
        app.post(
            "/api/v1/silences/preview",
            Some(&admin),
            &json!({"matchers": ["alertname=DiskFull", "service=postgres"]}),
        )
        .await,
        StatusCode::OK,
        "preview",
    )
    .await;
    assert_eq!(preview["matching"][0]["dedup_key"], "disk-1", "{preview}");
    assert_eq!(preview["matching"][0]["service"], "postgres", "{preview}");
    let bad = problem(
        app.post(
            "/api/v1/silences/preview",
            Some(&admin),
            &json!({"matchers": ["alertname=~\"(\""]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "matchers[0]", "{bad}");

    // alice (payments) may not silence the platform team's postgres, nor
    // everything.
    for matchers in [json!(["service=postgres"]), json!(["alertname=DiskFull"])] {
        let res = app
            .post(
                "/api/v1/silences",
                Some(&alice),
                &json!({"matchers": matchers, "duration": "1h"}),
            )
            .await;
        problem(res, StatusCode::FORBIDDEN).await;
    }
    let invalid = problem(
        app.post(
            "/api/v1/silences",
            Some(&admin),
            &json!({"matchers": ["env=~\".*\""]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields = problem_fields(&invalid);
    assert!(
        fields.contains("ends_at") && fields.contains("matchers"),
        "no end, and a matcher set that matches everything: {invalid}"
    );

    let made = App::json_of(
        app.post(
            "/api/v1/silences",
            Some(&admin),
            &json!({"name": "disk", "matchers": ["alertname=DiskFull"], "duration": "1h",
                    "comment": "resizing volumes"}),
        )
        .await,
        StatusCode::CREATED,
        "create silence",
    )
    .await;
    assert_eq!(made["active"], true, "{made}");
    assert_eq!(made["managed_by_config"], false, "{made}");
    assert_eq!(made["spec"]["created_by"], "token:test-admin", "{made}");
    let again = app
        .post(
            "/api/v1/silences",
            Some(&admin),
            &json!({"name": "disk", "matchers": ["alertname=DiskFull"], "duration": "1h"}),
        )
        .await;
    problem(again, StatusCode::CONFLICT).await;

    // A new alert the silence matches is recorded, muted, and pages nobody.
    app.send_event("platform-generic", disk_event("disk-2"))
        .await;
    assert_eq!(app.open_incidents().await, 1, "muted: no new incident");
    let open = app.store.open_alerts(10).await.unwrap();
    let disk2 = open.iter().find(|a| a.dedup_key == "disk-2").unwrap();
    assert_eq!(
        disk2.muted.as_ref().map(|m| m.as_stored()).as_deref(),
        Some("silence:disk")
    );

    // Expired: it stays listed as ended, and the alert's next trigger pages.
    let ended = App::json_of(
        app.delete("/api/v1/silences/disk", &admin).await,
        StatusCode::OK,
        "expire",
    )
    .await;
    assert_eq!(ended["active"], false, "{ended}");
    assert!(app.names("silences").await.contains("disk"));
    app.send_event("platform-generic", disk_event("disk-2"))
        .await;
    assert_eq!(app.open_incidents().await, 2, "pages once not muted");

    // Maintenance: alice may put her team's checkout in maintenance.
    let window = App::json_of(
        app.post(
            "/api/v1/maintenance-windows",
            Some(&alice),
            &json!({"name": "checkout-deploy", "services": ["checkout"], "duration": "2h",
                    "reason": "database migration"}),
        )
        .await,
        StatusCode::CREATED,
        "create window",
    )
    .await;
    assert_eq!(window["active"], true, "{window}");
    let res = app
        .post(
            "/api/v1/maintenance-windows",
            Some(&alice),
            &json!({"services": ["postgres"], "duration": "2h"}),
        )
        .await;
    problem(res, StatusCode::FORBIDDEN).await;
    let bad = problem(
        app.post(
            "/api/v1/maintenance-windows",
            Some(&admin),
            &json!({"services": ["checkout", "nope"], "duration": "forever"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields = problem_fields(&bad);
    assert_eq!(
        fields,
        BTreeSet::from(["duration".to_owned(), "services[1]".to_owned()]),
        "{bad}"
    );
    let res = app
        .delete("/api/v1/maintenance-windows/checkout-deploy", &alice)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(
        !app.names("maintenance-windows")
            .await
            .contains("checkout-deploy")
    );

    // What config manages is changed in its manifest.
    let managed = problem(
        app.delete("/api/v1/silences/staging-kafka-lag", &admin)
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        managed["detail"].as_str().unwrap().contains("manifest"),
        "{managed}"
    );
    // Every change is in the audit log.
    let audit = app.get_json("/api/v1/audit?limit=50").await;
    let text = audit.to_string();
    for needle in ["silence.expire", "checkout-deploy"] {
        assert!(text.contains(needle), "audit has {needle}: {text}");
    }
    app.finish().await;
}

/// Who is on call, and a schedule's shifts, from the demo's weekly
/// payments-primary rotation (alice, bob, carol from Mon 2026-01-05 09:00
/// Paris).
#[tokio::test]
async fn who_is_on_call_over_the_api() {
    let app = spawn_app().await;
    let now = tocsin_core::clock::Clock::now(&SystemClock);
    tocsin_core::demo::load_if_empty(app.store.as_ref(), now)
        .await
        .unwrap();
    let rows = app
        .get_json("/api/v1/oncall?schedule=payments-primary&at=2026-03-02T10:00:00Z")
        .await;
    assert_eq!(rows[0]["users"], json!(["carol"]), "{rows}");
    assert_eq!(rows[0]["team"], "payments", "{rows}");
    assert_eq!(rows[0]["until"], "2026-03-09T08:00:00Z", "{rows}");
    let team = app
        .get_json("/api/v1/oncall?team=payments&at=2026-03-02T10:00:00Z")
        .await;
    assert!(
        team.as_array()
            .unwrap()
            .iter()
            .all(|r| r["team"] == "payments"),
        "{team}"
    );

    let view = app
        .get_json(
            "/api/v1/schedules/payments-primary/shifts?from=2026-03-02T00:00:00Z&to=2026-03-16T00:00:00Z",
        )
        .await;
    let finals: Vec<(String, String, Value)> = view["final"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["start"].as_str().unwrap().to_owned(),
                s["end"].as_str().unwrap().to_owned(),
                s["users"].clone(),
            )
        })
        .collect();
    assert_eq!(
        finals,
        [
            (
                "2026-03-02T00:00:00Z".into(),
                "2026-03-02T08:00:00Z".into(),
                json!(["bob"])
            ),
            (
                "2026-03-02T08:00:00Z".into(),
                "2026-03-09T08:00:00Z".into(),
                json!(["carol"])
            ),
            (
                "2026-03-09T08:00:00Z".into(),
                "2026-03-16T00:00:00Z".into(),
                json!(["alice"])
            ),
        ],
        "{view}"
    );
    assert_eq!(view["layers"][0]["name"], "weekly", "{view}");
    assert_eq!(view["gaps"], json!([]), "{view}");
    assert_eq!(view["time_zone"], "Europe/Paris", "{view}");

    let bad = problem(
        app.get("/api/v1/oncall?at=soon", Some(&app.read)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "at", "{bad}");
    problem(
        app.get("/api/v1/oncall?schedule=nope", Some(&app.read))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.get(
            "/api/v1/schedules/payments-primary/shifts?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z",
            Some(&app.read),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(
        app.get(
            "/api/v1/schedules/payments-primary/shifts?from=2026-01-01T00:00:00Z&to=2028-01-01T00:00:00Z",
            Some(&app.read),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    app.finish().await;
}

/// A person's shifts as an iCalendar feed, with the token in the URL as
/// calendar apps need.
#[tokio::test]
async fn the_oncall_feed_is_icalendar() {
    let app = spawn_app().await;
    let now = tocsin_core::clock::Clock::now(&SystemClock);
    tocsin_core::demo::load_if_empty(app.store.as_ref(), now)
        .await
        .unwrap();
    let res = app
        .client
        .get(app.url(&format!(
            "/api/v1/users/carol/oncall.ics?token={}",
            app.read
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()[CONTENT_TYPE].to_str().unwrap(),
        "text/calendar; charset=utf-8"
    );
    let body = res.text().await.unwrap();
    assert!(body.starts_with("BEGIN:VCALENDAR\r\n"), "{body}");
    assert!(
        body.contains("SUMMARY:On call: payments-primary\r\n"),
        "{body}"
    );
    // Weekly turns of a week: each event lasts a week, from 08:00 or 09:00
    // UTC (09:00 Paris).
    assert!(body.matches("BEGIN:VEVENT").count() >= 4, "{body}");
    let res = app
        .get("/api/v1/users/carol/oncall.ics", Some(&app.read))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "a Bearer token works too");
    problem(
        app.get("/api/v1/users/carol/oncall.ics", None).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(
        app.get("/api/v1/users/nobody/oncall.ics", Some(&app.read))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    app.finish().await;
}

/// A manager covers for someone on a schedule managed in Git: the override
/// changes who is on call for its span only; responders may not; mistakes
/// name their field.
#[tokio::test]
async fn a_manager_adds_and_removes_an_override() {
    use tocsin_domain::access::Role;
    let app = spawn_app().await;
    let now = tocsin_core::clock::Clock::now(&SystemClock);
    tocsin_core::demo::load_if_empty(app.store.as_ref(), now)
        .await
        .unwrap();
    let bob = token_for(&app, "bob", Role::Manager, TokenScope::Write).await;
    let alice = token_for(&app, "alice", Role::Responder, TokenScope::Write).await;
    let who = |at: &'static str| {
        let app = &app;
        async move {
            app.get_json(&format!("/api/v1/oncall?schedule=payments-primary&at={at}"))
                .await[0]["users"]
                .clone()
        }
    };
    let body = json!({"user": "alice", "replaces": "carol", "reason": "carol at the dentist",
                      "start": "2026-03-02T12:00:00Z", "end": "2026-03-02T18:00:00Z"});
    problem(
        app.post(
            "/api/v1/schedules/payments-primary/overrides",
            Some(&alice),
            &body,
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let res = app
        .post(
            "/api/v1/schedules/payments-primary/overrides",
            Some(&bob),
            &body,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let made: Value = res.json().await.unwrap();
    assert_eq!(made["managed_by_config"], false, "{made}");
    let name = made["name"].as_str().unwrap().to_owned();
    assert_eq!(who("2026-03-02T13:00:00Z").await, json!(["alice"]));
    assert_eq!(who("2026-03-02T19:00:00Z").await, json!(["carol"]));

    let bad = problem(
        app.post(
            "/api/v1/schedules/payments-primary/overrides",
            Some(&bob),
            &json!({"user": "nobody", "start": "2026-03-02T12:00:00Z", "end": "2026-03-02T11:00:00Z"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let mut fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["end", "user"], "{bad}");
    problem(
        app.post("/api/v1/schedules/nope/overrides", Some(&bob), &body)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let res = app
        .client
        .delete(app.url(&format!("/api/v1/schedule-overrides/{name}")))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(who("2026-03-02T13:00:00Z").await, json!(["carol"]));
    app.finish().await;
}

/// Escalating by hand over the API: each call fires the next level of the
/// policy (platform-default: the follow-the-sun schedule, then dave and
/// erin), for responders of the service's team only.
#[tokio::test]
async fn an_incident_is_escalated_by_hand() {
    use tocsin_domain::access::Role;
    let app = spawn_app().await;
    let now = tocsin_core::clock::Clock::now(&SystemClock);
    tocsin_core::demo::load_if_empty(app.store.as_ref(), now)
        .await
        .unwrap();
    app.send_event("platform-generic", disk_event("disk-9"))
        .await;
    let dave = token_for(&app, "dave", Role::Responder, TokenScope::Write).await;
    let alice = token_for(&app, "alice", Role::Responder, TokenScope::Write).await;
    problem(
        app.post("/api/v1/incidents/1/escalate", Some(&alice), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    for level in [1, 2] {
        let r = App::json_of(
            app.post("/api/v1/incidents/1/escalate", Some(&dave), &json!({}))
                .await,
            StatusCode::OK,
            "escalate",
        )
        .await;
        assert_eq!(r["level"], level, "{r}");
    }
    let detail = app.get_json("/api/v1/incidents/1").await;
    let paged: Vec<&str> = detail["escalation"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "escalation.page")
        .map(|e| e["detail"]["user"].as_str().unwrap())
        .collect();
    assert!(
        paged.contains(&"dave") && paged.contains(&"erin"),
        "{detail}"
    );
    assert!(
        detail["escalation"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "escalation.manual" && e["actor"] == "token:dave-write"),
        "{detail}"
    );
    assert!(
        !detail["notifications"].as_array().unwrap().is_empty(),
        "{detail}"
    );
    problem(
        app.post("/api/v1/incidents/99/escalate", Some(&dave), &json!({}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Paging someone by hand: a person, a whole team; mistakes named.
    let r = App::json_of(
        app.post(
            "/api/v1/incidents/1/page",
            Some(&dave),
            &json!({"user": "alice", "message": "you know this disk"}),
        )
        .await,
        StatusCode::OK,
        "page alice",
    )
    .await;
    assert_eq!(r["paged"], json!(["alice"]), "{r}");
    let r = App::json_of(
        app.post(
            "/api/v1/incidents/1/page",
            Some(&dave),
            &json!({"team": "payments"}),
        )
        .await,
        StatusCode::OK,
        "page a team",
    )
    .await;
    assert_eq!(r["paged"], json!(["alice", "bob", "carol"]), "{r}");
    let bad = problem(
        app.post(
            "/api/v1/incidents/1/page",
            Some(&dave),
            &json!({"user": "alice", "team": "payments"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "user", "{bad}");
    problem(
        app.post(
            "/api/v1/incidents/1/page",
            Some(&dave),
            &json!({"user": "nobody"}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let detail = app.get_json("/api/v1/incidents/1").await;
    let by_hand = detail["escalation"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "responder.page")
        .count();
    assert_eq!(by_hand, 4, "{detail}");

    // The lifecycle by hand: acknowledge (once), reassign, resolve, reopen.
    let r = App::json_of(
        app.post("/api/v1/incidents/1/acknowledge", Some(&dave), &json!({}))
            .await,
        StatusCode::OK,
        "acknowledge",
    )
    .await;
    assert_eq!(r["status"], "acknowledged", "{r}");
    problem(
        app.post("/api/v1/incidents/1/acknowledge", Some(&dave), &json!({}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    let r = App::json_of(
        app.post(
            "/api/v1/incidents/1/reassign",
            Some(&dave),
            &json!({"user": "erin", "message": "end of my shift"}),
        )
        .await,
        StatusCode::OK,
        "reassign",
    )
    .await;
    assert_eq!(r["status"], "triggered", "{r}");
    problem(
        app.post("/api/v1/incidents/1/resolve", Some(&alice), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let bad = problem(
        app.post(
            "/api/v1/incidents/1/resolve",
            Some(&dave),
            &json!({"note": 5}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "note", "{bad}");
    let r = App::json_of(
        app.post(
            "/api/v1/incidents/1/resolve",
            Some(&dave),
            &json!({"note": "freed 40 GB"}),
        )
        .await,
        StatusCode::OK,
        "resolve",
    )
    .await;
    assert_eq!(
        (r["status"].as_str(), r["open_alerts"].as_i64()),
        (Some("resolved"), Some(0)),
        "{r}"
    );
    let res = app
        .client
        .post(app.url("/api/v1/incidents/1/reopen"))
        .bearer_auth(&dave)
        .send()
        .await
        .unwrap();
    let r = App::json_of(res, StatusCode::OK, "reopen without a body").await;
    assert_eq!(r["status"], "triggered", "{r}");
    let detail = app.get_json("/api/v1/incidents/1").await;
    let kinds: Vec<&str> = detail["escalation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "incident.acknowledged",
        "incident.reassigned",
        "incident.resolved",
        "incident.reopened",
    ] {
        assert!(kinds.contains(&k), "{k}: {kinds:?}");
    }
    app.finish().await;
}

// ---------------------------------------------------------------------------
// Incident response

impl App {
    /// Any method, with a token, an optional JSON body and extra headers.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method.clone(), self.url(path))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// `call`, expecting `status` and JSON.
    async fn call_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
        status: StatusCode,
    ) -> Value {
        let what = format!("{method} {path}");
        App::json_of(
            self.call(method, path, token, body, &[]).await,
            status,
            &what,
        )
        .await
    }

    /// The numbers listed by `GET /api/v1/incidents?{query}`.
    async fn numbers(&self, query: &str) -> Vec<i64> {
        let list = self.get_json(&format!("/api/v1/incidents?{query}")).await;
        list.as_array()
            .unwrap_or_else(|| panic!("{query}: not a list: {list}"))
            .iter()
            .map(|i| i["number"].as_i64().unwrap())
            .collect()
    }
}

/// The kinds of the items of an incident's timeline, in order.
fn timeline_kinds(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {page}"))
        .iter()
        .map(|i| i["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// A Sev2 from declaration to a closed review, entirely over the API:
/// severity, a commander hand-over, responders paged from another team,
/// a pinned note, stakeholders with a cadence and an update, resolve,
/// close refused until the review is done, the review saved with its
/// version (a stale one refused), action items, the Markdown export, and
/// every step on the one timeline.
#[tokio::test]
async fn a_sev2_is_run_from_declaration_to_a_closed_review() {
    use reqwest::Method;
    use tocsin_domain::access::Role;
    let app = spawn_app().await;
    let now = tocsin_core::clock::Clock::now(&SystemClock);
    tocsin_core::demo::load_if_empty(app.store.as_ref(), now)
        .await
        .unwrap();
    let alice = token_for(&app, "alice", Role::Responder, TokenScope::Write).await;
    let bob = token_for(&app, "bob", Role::Responder, TokenScope::Write).await;
    let dave = token_for(&app, "dave", Role::Responder, TokenScope::Write).await;

    // Declared from the CLI (the header says so), without paging: it opens
    // acknowledged with alice as commander.
    let res = app
        .call(
            Method::POST,
            "/api/v1/incidents",
            &alice,
            Some(&json!({
                "title": "Card payments time out",
                "service": "checkout",
                "also_services": ["ledger"],
                "severity": "sev3",
                "summary": "Checkout answers 504 on card payments",
                "page": false,
            })),
            &[("X-Tocsin-Interface", "cli")],
        )
        .await;
    assert_eq!(
        res.headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned()),
        Some("/api/v1/incidents/1".to_owned())
    );
    let inc = App::json_of(res, StatusCode::CREATED, "declare").await;
    assert_eq!(
        (
            inc["number"].as_i64(),
            inc["status"].as_str(),
            inc["lifecycle"].as_str(),
            inc["severity"].as_str()
        ),
        (
            Some(1),
            Some("acknowledged"),
            Some("acknowledged"),
            Some("sev3")
        ),
        "{inc}"
    );
    assert_eq!(inc["also_services"], json!(["ledger"]), "{inc}");
    assert_eq!(inc["roles"][0]["role"], "commander", "{inc}");
    assert_eq!(inc["roles"][0]["user"], "alice", "{inc}");

    // Severity up, commander handed over to bob.
    let inc = app
        .call_json(
            Method::PATCH,
            "/api/v1/incidents/1",
            &alice,
            Some(&json!({"severity": "sev2", "title": "Card payments time out at checkout"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(inc["severity"], "sev2", "{inc}");
    assert_eq!(inc["title"], "Card payments time out at checkout", "{inc}");
    let inc = app
        .call_json(
            Method::PUT,
            "/api/v1/incidents/1/roles/ic",
            &alice,
            Some(&json!({"user": "bob"})),
            StatusCode::OK,
        )
        .await;
    let commanders: Vec<&str> = inc["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["role"] == "commander")
        .map(|r| r["user"].as_str().unwrap())
        .collect();
    assert_eq!(commanders, ["bob"], "{inc}");
    // Giving someone the role they hold changes nothing.
    app.call_json(
        Method::PUT,
        "/api/v1/incidents/1/roles/commander",
        &alice,
        Some(&json!({"user": "bob"})),
        StatusCode::OK,
    )
    .await;
    let inc = app
        .call_json(
            Method::PUT,
            "/api/v1/incidents/1/roles/scribe",
            &alice,
            Some(&json!({"user": "carol"})),
            StatusCode::OK,
        )
        .await;
    assert!(
        inc["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["role"] == "scribe" && r["user"] == "carol"),
        "{inc}"
    );
    app.call_json(
        Method::DELETE,
        "/api/v1/incidents/1/roles/scribe/carol",
        &alice,
        None,
        StatusCode::OK,
    )
    .await;

    // dave (platform) may not act on a payments incident ...
    problem(
        app.post(
            "/api/v1/incidents/1/notes",
            Some(&dave),
            &json!({"text": "looking"}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // ... until the platform team is paged in as responders.
    let inc = app
        .call_json(
            Method::POST,
            "/api/v1/incidents/1/responders",
            &alice,
            Some(&json!({"team": "platform", "message": "the database looks slow"})),
            StatusCode::OK,
        )
        .await;
    let responders: Vec<&str> = inc["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["role"] == "responder")
        .map(|r| r["user"].as_str().unwrap())
        .collect();
    assert_eq!(responders, ["dave", "erin"], "{inc}");
    let note = app
        .call_json(
            Method::POST,
            "/api/v1/incidents/1/notes",
            &dave,
            Some(&json!({"text": "connection pool exhausted on the primary"})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(
        (note["source"].as_str(), note["kind"].as_str()),
        (Some("entry"), Some("note")),
        "{note}"
    );
    let note_id = note["id"].as_i64().unwrap();
    let inc = app
        .call_json(
            Method::PUT,
            &format!("/api/v1/incidents/1/pins/{note_id}"),
            &alice,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(inc["pinned"], json!([note_id]), "{inc}");
    // Pinning twice is fine; an entry that does not exist is 404.
    app.call_json(
        Method::PUT,
        &format!("/api/v1/incidents/1/pins/{note_id}"),
        &alice,
        None,
        StatusCode::OK,
    )
    .await;
    problem(
        app.call(
            Method::PUT,
            "/api/v1/incidents/1/pins/99999",
            &alice,
            None,
            &[],
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Stakeholders, a cadence, an update.
    for s in ["team:payments", "email:leads@example.com", "erin"] {
        app.call_json(
            Method::POST,
            "/api/v1/incidents/1/stakeholders",
            &alice,
            Some(&json!({ "stakeholder": s })),
            StatusCode::OK,
        )
        .await;
    }
    let inc = app
        .call_json(
            Method::DELETE,
            "/api/v1/incidents/1/stakeholders/erin",
            &alice,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        inc["stakeholders"],
        json!(["team:payments", "email:leads@example.com"]),
        "{inc}"
    );
    let inc = app
        .call_json(
            Method::PUT,
            "/api/v1/incidents/1/cadence",
            &alice,
            Some(&json!({"every_minutes": 30})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(inc["cadence"]["every_minutes"], 30, "{inc}");
    assert!(inc["cadence"]["next_update_due"].is_string(), "{inc}");
    let inc = app
        .call_json(
            Method::POST,
            "/api/v1/incidents/1/updates",
            &alice,
            Some(&json!({"state": "identified", "body": "The database connection pool is exhausted; raising it."})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(inc["updates"][0]["state"], "identified", "{inc}");
    assert_eq!(inc["updates"][0]["audience"], "internal", "{inc}");

    // Resolved (the existing endpoint); closing waits for the review.
    app.call_json(
        Method::POST,
        "/api/v1/incidents/1/resolve",
        &alice,
        Some(&json!({"note": "pool raised to 200"})),
        StatusCode::OK,
    )
    .await;
    let refused = problem(
        app.call(Method::POST, "/api/v1/incidents/1/close", &alice, None, &[])
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("needs its review marked done"),
        "{refused}"
    );

    // The review: a draft (version 0) from the record, saved with its
    // version; a second save from the same version is refused.
    let res = app
        .call(Method::GET, "/api/v1/incidents/1/review", &alice, None, &[])
        .await;
    assert_eq!(
        res.headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned()),
        Some("\"0\"".to_owned())
    );
    let draft = App::json_of(res, StatusCode::OK, "review draft").await;
    assert_eq!(
        (draft["version"].as_i64(), draft["done"].as_bool()),
        (Some(0), Some(false)),
        "{draft}"
    );
    assert_eq!(draft["facts"]["severity"], "sev2", "{draft}");
    assert_eq!(draft["facts"]["commander"], "bob", "{draft}");
    let moments = draft["review"]["key_moments"].as_array().unwrap();
    assert!(
        moments.iter().any(|m| m["text"]
            .as_str()
            .unwrap()
            .contains("connection pool exhausted")),
        "the pinned note is a key moment: {draft}"
    );
    let mut doc = draft["review"].clone();
    doc["summary"] = json!("Card payments timed out for 40 minutes.");
    doc["contributing_factors"] =
        json!("The operator should have noticed the pool alarm. The pool size was a default.");
    let saved = app
        .call_json(
            Method::PUT,
            "/api/v1/incidents/1/review",
            &alice,
            Some(&json!({"version": 0, "review": doc})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(saved["version"], 1, "{saved}");
    assert!(
        saved["advice"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["field"] == "contributing_factors" && a["category"] == "counterfactual"),
        "blameless advice: {saved}"
    );
    let stale = problem(
        app.call(
            Method::PUT,
            "/api/v1/incidents/1/review",
            &bob,
            Some(&json!({"version": 0, "review": doc})),
            &[],
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        stale["detail"]
            .as_str()
            .unwrap()
            .contains("saved by someone else meanwhile"),
        "{stale}"
    );

    // Action items: one overdue, listed across incidents, then done.
    let item = app
        .call_json(
            Method::POST,
            "/api/v1/incidents/1/action-items",
            &alice,
            Some(&json!({"title": "Alert on pool saturation", "owner": "bob", "due_on": "2020-01-31"})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(
        (item["overdue"].as_bool(), item["team"].as_str()),
        (Some(true), Some("payments")),
        "{item}"
    );
    let item_id = item["id"].as_i64().unwrap();
    let overdue = app
        .get_json("/api/v1/action-items?team=payments&overdue=true")
        .await;
    assert_eq!(overdue[0]["id"], item_id, "{overdue}");
    let by_owner = app.get_json("/api/v1/action-items?owner=alice").await;
    assert_eq!(by_owner, json!([]), "{by_owner}");
    let done = app
        .call_json(
            Method::PATCH,
            &format!("/api/v1/action-items/{item_id}"),
            &alice,
            Some(&json!({"done": true})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (done["done"].as_bool(), done["overdue"].as_bool()),
        (Some(true), Some(false)),
        "{done}"
    );
    let listed = app.get_json("/api/v1/incidents/1/action-items").await;
    assert_eq!(listed[0]["done"], true, "{listed}");

    // Marked done with If-Match instead of a version in the body.
    let res = app
        .call(
            Method::PUT,
            "/api/v1/incidents/1/review",
            &alice,
            Some(&json!({"done": true, "review": doc})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(
        res.headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned()),
        Some("\"2\"".to_owned())
    );
    let saved = App::json_of(res, StatusCode::OK, "review done").await;
    assert_eq!(saved["done"], true, "{saved}");

    let inc = app
        .call_json(
            Method::POST,
            "/api/v1/incidents/1/close",
            &alice,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (inc["lifecycle"].as_str(), inc["closed_at"].is_string()),
        (Some("closed"), true),
        "{inc}"
    );

    // The Markdown export.
    let res = app
        .call(
            Method::GET,
            "/api/v1/incidents/1/review.md",
            &alice,
            None,
            &[],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert!(header("content-type").starts_with("text/markdown"));
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"incident-1-review.md\""
    );
    let md = res.text().await.unwrap();
    for section in [
        "# Review of incident #1: Card payments time out at checkout",
        "## Summary\n\nCard payments timed out for 40 minutes.",
        "## Customer impact",
        "## Key moments",
        "## Contributing factors",
        "## What went well",
        "## What was hard",
        "## Action items\n\n- [x] Alert on pool saturation — bob, due 2020-01-31",
        "| Incident commander | bob |",
    ] {
        assert!(md.contains(section), "{section:?} in:\n{md}");
    }

    // Every step is on the one timeline, in time order, saying where it
    // came from.
    let page = app.get_json("/api/v1/incidents/1/timeline").await;
    let kinds = timeline_kinds(&page);
    for k in [
        "incident.declared",
        "incident.described",
        "incident.severity",
        "role.handed_over",
        "role.assigned",
        "role.unassigned",
        "responders.added",
        "responder.page",
        "note",
        "stakeholder.added",
        "stakeholder.removed",
        "update.cadence",
        "update.posted",
        "incident.resolved",
        "review.saved",
        "review.done",
        "action_item.added",
        "action_item.done",
        "incident.closed",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing from {kinds:?}");
    }
    let items = page["items"].as_array().unwrap();
    let ats: Vec<jiff::Timestamp> = items
        .iter()
        .map(|i| i["at"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ats.windows(2).all(|w| w[0] <= w[1]), "time order: {page}");
    let declared = items
        .iter()
        .find(|i| i["kind"] == "incident.declared")
        .unwrap();
    assert!(
        declared["text"].as_str().unwrap().contains("(from cli)"),
        "{declared}"
    );
    assert_eq!(declared["source"], "entry");
    let pinned_note = items.iter().find(|i| i["id"] == note_id).unwrap();
    assert_eq!(pinned_note["pinned"], true, "{pinned_note}");
    // A live view asks only for what is new.
    let after = page["after"].as_i64().unwrap();
    let newer = app
        .get_json(&format!("/api/v1/incidents/1/timeline?after={after}"))
        .await;
    assert_eq!(newer["items"], json!([]), "{newer}");
    let tail = app
        .get_json(&format!("/api/v1/incidents/1/timeline?after={}", after - 2))
        .await;
    assert_eq!(tail["items"].as_array().unwrap().len(), 2, "{tail}");

    // The incident itself carries its response.
    let detail = app.get_json("/api/v1/incidents/1").await;
    assert_eq!(detail["lifecycle"], "closed", "{detail}");
    assert_eq!(detail["summary"], "Checkout answers 504 on card payments");
    assert_eq!(detail["also_services"], json!(["ledger"]));
    assert_eq!(detail["cadence"]["every_minutes"], 30);
    assert_eq!(detail["updates"].as_array().unwrap().len(), 1);
    assert!(detail["roles"].as_array().unwrap().len() >= 3, "{detail}");
    app.finish().await;
}

/// The incident list's filters: status (closed apart from resolved),
/// severity, service (an added service counts), team (its services), text,
/// time range, keyset paging; merging; and wrong values named.
#[tokio::test]
async fn the_incident_list_filters_and_merges() {
    use reqwest::Method;
    let app = spawn_app().await;
    let now = tocsin_core::clock::Clock::now(&SystemClock);
    tocsin_core::demo::load_if_empty(app.store.as_ref(), now)
        .await
        .unwrap();
    let admin = app.admin.clone();
    let declare = |body: Value| {
        let app = &app;
        let admin = &admin;
        async move {
            app.call_json(
                Method::POST,
                "/api/v1/incidents",
                admin,
                Some(&body),
                StatusCode::CREATED,
            )
            .await
        }
    };
    declare(json!({"title": "Checkout latency high", "service": "checkout", "severity": "sev3", "page": false})).await;
    declare(
        json!({"title": "Ledger export stuck", "service": "ledger", "severity": "sev2",
                   "summary": "nightly export did not finish", "page": false}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let c = declare(json!({"title": "Postgres primary down", "service": "postgres", "severity": "sev1", "page": false})).await;
    declare(
        json!({"title": "Kafka consumer lag", "service": "kafka", "severity": "sev4",
                   "also_services": ["checkout"]}),
    )
    .await;
    for n in [1, 2] {
        app.call_json(
            Method::POST,
            &format!("/api/v1/incidents/{n}/resolve"),
            &admin,
            None,
            StatusCode::OK,
        )
        .await;
    }
    // A Sev3 closes without a review.
    app.call_json(
        Method::POST,
        "/api/v1/incidents/1/close",
        &admin,
        None,
        StatusCode::OK,
    )
    .await;

    // The shape stays what it was, with the new fields.
    let list = app.get_json("/api/v1/incidents").await;
    let first = &list[0];
    for field in [
        "number",
        "service",
        "title",
        "severity",
        "status",
        "created_at",
        "open_alerts",
        "paged",
        "lifecycle",
        "summary",
        "closed_at",
        "merged_into",
    ] {
        assert!(first.get(field).is_some(), "{field} in {first}");
    }
    assert_eq!(app.numbers("").await, [4, 3, 2, 1]);
    assert_eq!(app.numbers("status=closed").await, [1]);
    assert_eq!(app.numbers("status=resolved").await, [2]);
    assert_eq!(app.numbers("status=resolved,closed").await, [2, 1]);
    assert_eq!(app.numbers("status=closed&status=resolved").await, [2, 1]);
    assert_eq!(app.numbers("status=triggered").await, [4]);
    assert_eq!(app.numbers("open=true").await, [4, 3]);
    assert_eq!(
        app.numbers("open=true&status=closed").await,
        Vec::<i64>::new()
    );
    assert_eq!(app.numbers("severity=sev1").await, [3]);
    assert_eq!(app.numbers("severity=sev1,sev4").await, [4, 3]);
    assert_eq!(app.numbers("service=checkout").await, [4, 1]);
    assert_eq!(app.numbers("team=platform").await, [4, 3]);
    assert_eq!(app.numbers("team=payments").await, [4, 2, 1]);
    assert_eq!(app.numbers("team=payments&service=ledger").await, [2]);
    assert_eq!(app.numbers("q=ledger").await, [2]);
    assert_eq!(
        app.numbers("q=NIGHTLY").await,
        [2],
        "the summary is searched"
    );
    assert_eq!(app.numbers("q=primary%20down").await, [3]);
    let mid = c["created_at"].as_str().unwrap();
    let mid = mid.replace('+', "%2B");
    assert_eq!(app.numbers(&format!("from={mid}")).await, [4, 3]);
    assert_eq!(app.numbers(&format!("until={mid}")).await, [2, 1]);
    assert_eq!(app.numbers("limit=2").await, [4, 3]);
    assert_eq!(app.numbers("before=3&limit=2").await, [2, 1]);
    // The older filters still work.
    assert_eq!(app.numbers("service=ledger&open=false").await, [2]);

    // Wrong values are named.
    for (query, field) in [
        ("status=bogus", "status"),
        ("severity=sev9", "severity"),
        ("from=yesterday", "from"),
        ("until=2026-13-01", "until"),
        ("team=nope", "team"),
        ("service=Not%20a%20name", "service"),
        ("before=x", "before"),
        ("colour=red", "colour"),
    ] {
        let body = problem(
            app.get(&format!("/api/v1/incidents?{query}"), Some(&admin))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
    }

    // Merging #4 into #3: #4 is resolved and points at #3.
    let into = app
        .call_json(
            Method::POST,
            "/api/v1/incidents/4/merge",
            &admin,
            Some(&json!({"into": 3})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(into["number"], 3, "{into}");
    let merged = app.get_json("/api/v1/incidents/4").await;
    assert_eq!(
        (merged["lifecycle"].as_str(), merged["merged_into"].as_i64()),
        (Some("resolved"), Some(3)),
        "{merged}"
    );
    let kinds = timeline_kinds(&app.get_json("/api/v1/incidents/3/timeline").await);
    assert!(kinds.iter().any(|k| k == "incident.merged_in"), "{kinds:?}");
    let bad = problem(
        app.call(
            Method::POST,
            "/api/v1/incidents/3/merge",
            &admin,
            Some(&json!({"into": 3})),
            &[],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "into", "{bad}");
    app.finish().await;
}

/// Bad input names the field (422), a viewer may read but not act (403),
/// an unknown incident is 404.
#[tokio::test]
async fn incident_response_refusals_name_the_field_and_the_permission() {
    use reqwest::Method;
    use tocsin_domain::access::Role;
    let app = spawn_app().await;
    let now = tocsin_core::clock::Clock::now(&SystemClock);
    tocsin_core::demo::load_if_empty(app.store.as_ref(), now)
        .await
        .unwrap();
    let alice = token_for(&app, "alice", Role::Responder, TokenScope::Write).await;
    let viewer = token_for(&app, "vic", Role::Viewer, TokenScope::Write).await;
    app.call_json(
        Method::POST,
        "/api/v1/incidents",
        &alice,
        Some(&json!({"title": "Checkout errors", "service": "checkout", "severity": "sev2", "page": false})),
        StatusCode::CREATED,
    )
    .await;

    let field_of = |res: reqwest::Response| async move {
        let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        body["errors"][0]["field"].as_str().unwrap().to_owned()
    };
    let cases: Vec<(Method, &str, Option<Value>, &str)> = vec![
        (
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": " ", "service": "checkout"})),
            "title",
        ),
        (
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": 5, "service": "checkout"})),
            "title",
        ),
        (
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": "x", "service": "nope"})),
            "service",
        ),
        (
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": "x", "service": "checkout", "severity": "sev9"})),
            "severity",
        ),
        (
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": "x", "service": "checkout", "also_services": ["nope"]})),
            "also_services",
        ),
        (Method::POST, "/api/v1/incidents", None, "body"),
        (
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"service": "checkout"})),
            "title",
        ),
        (
            Method::POST,
            "/api/v1/incidents",
            Some(json!({"title": "x", "service": "checkout", "sevrity": "sev1"})),
            "sevrity",
        ),
        (
            Method::PUT,
            "/api/v1/incidents/1/review",
            Some(json!({"version": 0, "review": {"summry": "x"}})),
            "review.summry",
        ),
        (
            Method::PATCH,
            "/api/v1/incidents/1",
            Some(json!({"severity": "critical"})),
            "severity",
        ),
        (
            Method::PATCH,
            "/api/v1/incidents/1",
            Some(json!({})),
            "body",
        ),
        (
            Method::PUT,
            "/api/v1/incidents/1/roles/captain",
            Some(json!({"user": "bob"})),
            "role",
        ),
        (
            Method::PUT,
            "/api/v1/incidents/1/roles/ic",
            Some(json!({"user": "nobody"})),
            "user",
        ),
        (
            Method::POST,
            "/api/v1/incidents/1/notes",
            Some(json!({"text": ""})),
            "text",
        ),
        (
            Method::POST,
            "/api/v1/incidents/1/notes",
            Some(json!({"text": ["a"]})),
            "text",
        ),
        (
            Method::POST,
            "/api/v1/incidents/1/stakeholders",
            Some(json!({"stakeholder": "fax:123"})),
            "stakeholder",
        ),
        (
            Method::PUT,
            "/api/v1/incidents/1/cadence",
            Some(json!({"every_minutes": 1})),
            "every_minutes",
        ),
        (
            Method::POST,
            "/api/v1/incidents/1/updates",
            Some(json!({"state": "panicking", "body": "x"})),
            "state",
        ),
        (
            Method::POST,
            "/api/v1/incidents/1/updates",
            Some(json!({"state": "identified", "audience": "world", "body": "x"})),
            "audience",
        ),
        (
            Method::POST,
            "/api/v1/incidents/1/responders",
            Some(json!({"user": "bob", "team": "payments"})),
            "user",
        ),
        (
            Method::POST,
            "/api/v1/incidents/1/action-items",
            Some(json!({"title": "x", "owner": "bob", "due_on": "tomorrow"})),
            "due_on",
        ),
        (
            Method::POST,
            "/api/v1/incidents/1/action-items",
            Some(json!({"title": "x", "owner": "nobody", "due_on": "2030-01-01"})),
            "owner",
        ),
        (
            Method::PUT,
            "/api/v1/incidents/1/review",
            Some(json!({"review": {}})),
            "version",
        ),
        (
            Method::PUT,
            "/api/v1/incidents/1/review",
            Some(json!({"version": 0, "review": {"key_moments": [{"at": "noon", "text": "x"}]}})),
            "review.key_moments[0].at",
        ),
        (
            Method::GET,
            "/api/v1/action-items?overdue=maybe",
            None,
            "query",
        ),
    ];
    for (method, path, body, field) in cases {
        let what = format!("{method} {path} {body:?}");
        let got = field_of(app.call(method, path, &alice, body.as_ref(), &[]).await).await;
        assert_eq!(got, field, "{what}");
    }
    let got = field_of(
        app.call(
            Method::POST,
            "/api/v1/incidents/1/notes",
            &alice,
            Some(&json!({"text": "x"})),
            &[("X-Tocsin-Interface", "slack")],
        )
        .await,
    )
    .await;
    assert_eq!(got, "X-Tocsin-Interface");

    // The review is written once resolved.
    let early = problem(
        app.call(
            Method::PUT,
            "/api/v1/incidents/1/review",
            &alice,
            Some(&json!({"version": 0, "review": {"summary": "x"}})),
            &[],
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        early["detail"]
            .as_str()
            .unwrap()
            .contains("once it is resolved"),
        "{early}"
    );

    // Viewers (and read tokens) read, and are refused every change.
    for token in [&viewer, &app.read] {
        assert_eq!(
            app.get("/api/v1/incidents", Some(token)).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            app.get("/api/v1/incidents/1/timeline", Some(token))
                .await
                .status(),
            StatusCode::OK
        );
        for (method, path, body) in [
            (
                Method::POST,
                "/api/v1/incidents",
                json!({"title": "x", "service": "checkout"}),
            ),
            (
                Method::PATCH,
                "/api/v1/incidents/1",
                json!({"severity": "sev1"}),
            ),
            (
                Method::POST,
                "/api/v1/incidents/1/notes",
                json!({"text": "x"}),
            ),
            (
                Method::PUT,
                "/api/v1/incidents/1/roles/ic",
                json!({"user": "vic"}),
            ),
            (Method::POST, "/api/v1/incidents/1/close", json!({})),
        ] {
            let what = format!("{method} {path}");
            let body = problem(
                app.call(method, path, token, Some(&body), &[]).await,
                StatusCode::FORBIDDEN,
            )
            .await;
            assert_eq!(
                body["type"], "https://tocsin.dev/problems/forbidden",
                "{what}"
            );
        }
    }
    problem(
        app.call(
            Method::PATCH,
            "/api/v1/incidents/99",
            &alice,
            Some(&json!({"severity": "sev1"})),
            &[],
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.get("/api/v1/incidents/99/timeline", Some(&alice)).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // The blameless check, for the editor.
    let r = app
        .call_json(
            Method::POST,
            "/api/v1/reviews/check",
            &alice,
            Some(&json!({"text": "Bob should have checked the config; we just restarted it."})),
            StatusCode::OK,
        )
        .await;
    let categories: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["category"].as_str().unwrap())
        .collect();
    assert!(
        categories.contains(&"counterfactual") && categories.contains(&"minimising"),
        "{r}"
    );
    app.finish().await;
}

#[tokio::test]
async fn a_chat_command_runs_over_the_api() {
    use tocsin_domain::access::Role;
    let app = spawn_app().await;
    let now = tocsin_core::clock::Clock::now(&SystemClock);
    tocsin_core::demo::load_if_empty(app.store.as_ref(), now)
        .await
        .unwrap();
    app.send_event("platform-generic", disk_event("disk-chat"))
        .await;
    let dave = token_for(&app, "dave", Role::Responder, TokenScope::Write).await;
    let chat = |text: &str, via: &str| {
        app.client
            .post(app.url("/api/v1/chat"))
            .bearer_auth(&dave)
            .header("X-Tocsin-Interface", via)
            .json(&json!({ "text": text }))
            .send()
    };
    let r = App::json_of(
        chat("ack 1", "cli").await.unwrap(),
        StatusCode::OK,
        "chat ack",
    )
    .await;
    assert_eq!(
        r,
        json!({"text": r["text"], "ok": true, "public": true}),
        "{r}"
    );
    assert!(
        r["text"]
            .as_str()
            .unwrap()
            .starts_with("#1 acknowledged by token:dave-write"),
        "{r}"
    );
    let detail = app.get_json("/api/v1/incidents/1").await;
    assert!(
        detail["escalation"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "incident.acknowledged" && e["detail"]["via"] == "cli"),
        "{detail}"
    );
    // Refused or unknown: still 200, private, ok false.
    let r = App::json_of(
        chat("akc 1", "api").await.unwrap(),
        StatusCode::OK,
        "chat typo",
    )
    .await;
    assert_eq!(
        (r["ok"].clone(), r["public"].clone()),
        (json!(false), json!(false)),
        "{r}"
    );
    // A malformed body is a 422 problem; no token is a 401.
    problem(
        app.post("/api/v1/chat", Some(&dave), &json!({"txt": "ack 1"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let r = app
        .post("/api/v1/chat", None, &json!({"text": "help"}))
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    app.finish().await;
}
