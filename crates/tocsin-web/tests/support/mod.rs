//! What the UI tests, the browser test and the page benchmark share: the
//! real server on `127.0.0.1:0` over a fresh SQLite file with a manual
//! clock, the demo catalog, a few accounts, and a cookie-keeping client.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::Timestamp;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use std::sync::Arc;
use tocsin_core::account::{self, NewUserAccount};
use tocsin_core::audit::Actor;
use tocsin_core::clock::ManualClock;
use tocsin_domain::Name;
use tocsin_domain::access::Role;
use tocsin_domain::catalog::{Kind, Object};
use tocsin_store::Store;
use tocsin_web::{AppState, Server, ServerConfig};

/// Every test account has this password.
pub const PASSWORD: &str = "correct horse battery";

pub struct App {
    pub base: String,
    pub store: Arc<dyn Store>,
    pub clock: ManualClock,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

/// The server on a fresh database; with the demo catalog and accounts
/// alice (responder), carol (viewer), dave (admin) and frank (responder,
/// a user made by hand, not by config) when `demo` is set.
pub async fn spawn(demo: bool) -> App {
    spawn_with(demo, |_| {}).await
}

/// [`spawn`] with the server's state adjusted first (a chat secret, …).
pub async fn spawn_with(demo: bool, configure: impl FnOnce(&mut AppState)) -> App {
    let (dir, path) = tocsin_store_sqlite::testing::fresh_file();
    let store =
        tocsin_store_sqlite::SqliteStore::open(&path, tocsin_store_sqlite::OpenMode::Server)
            .await
            .expect("open the SQLite store");
    let store: Arc<dyn Store> = Arc::new(store);
    store.migrate().await.expect("migrate");
    let clock = ManualClock::new("2026-03-02T10:00:00Z".parse::<Timestamp>().unwrap());
    let now = tocsin_core::clock::Clock::now(&clock);
    if demo {
        tocsin_core::demo::load_if_empty(store.as_ref(), now)
            .await
            .expect("load the demo");
        for (name, role) in [
            ("alice", Role::Responder),
            ("carol", Role::Viewer),
            ("dave", Role::Admin),
            ("frank", Role::Responder),
        ] {
            let new = NewUserAccount {
                name: name.into(),
                role,
                password: PASSWORD.into(),
                full_name: Some(format!("{name} Example")),
                email: Some(format!("{name}@example.com")),
                time_zone: None,
            };
            account::create(store.as_ref(), new, &Actor::system(), now)
                .await
                .expect("create account");
        }
    }
    let mut state = AppState::new(store.clone(), Arc::new(clock.clone()));
    configure(&mut state);
    let server = Server::build(
        &ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
        },
        state,
    )
    .await
    .expect("bind");
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    App {
        base: format!("http://{addr}"),
        store,
        clock,
        _stop: stop,
        _dir: dir,
    }
}

impl App {
    /// A responder account for `name` (a declared user).
    pub async fn add_responder(&self, name: &str) {
        let new = NewUserAccount {
            name: name.into(),
            role: Role::Responder,
            password: PASSWORD.into(),
            full_name: None,
            email: None,
            time_zone: None,
        };
        let now = tocsin_core::clock::Clock::now(&self.clock);
        account::create(self.store.as_ref(), new, &Actor::system(), now)
            .await
            .expect("create account");
    }
}

/// A browser: its own cookie jar, redirects shown rather than followed.
pub struct Browser {
    pub base: String,
    pub http: reqwest::Client,
}

impl App {
    pub fn browser(&self) -> Browser {
        let http = reqwest::Client::builder()
            .no_proxy()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            base: self.base.clone(),
            http,
        }
    }

    pub async fn signed_in(&self, user: &str) -> Browser {
        let b = self.browser();
        let res = b
            .post(
                "/login",
                &[
                    ("user", user),
                    ("password", PASSWORD),
                    ("next", "/services"),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "sign-in of {user}");
        b
    }

    pub async fn user(&self, name: &str) -> (tocsin_domain::catalog::User, i64) {
        let row = self
            .store
            .get_object(Kind::User, &Name::parse(name).unwrap())
            .await
            .unwrap()
            .unwrap();
        let Ok(Object::User(u)) = Object::from_spec(Kind::User, row.spec) else {
            panic!("not a user")
        };
        (u, row.version)
    }
}

impl Browser {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// Status and body of a page.
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let res = self.get(path).await;
        (res.status(), res.text().await.unwrap())
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// The CSRF token of the session, as the page's forms carry it.
    pub async fn csrf(&self) -> String {
        let (status, body) = self.page("/services").await;
        assert_eq!(status, StatusCode::OK);
        csrf_of(&body)
    }
}

pub fn csrf_of(html: &str) -> String {
    let start = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[start..].split('"').next().unwrap().to_owned()
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}
