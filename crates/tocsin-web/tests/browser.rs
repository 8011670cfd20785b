//! The UI in a real browser: headless Chromium driven over WebDriver
//! (chromedriver), against the real server with the demo catalog. It
//! checks what only a browser shows: that forms submit as written, links
//! lead where they say, the dependency picture is drawn, and a phone-wide
//! window needs no sideways scrolling.
//!
//! Needs `/usr/bin/chromedriver` and `/usr/bin/chromium` (Debian:
//! `apt-get install chromium chromium-driver`). Without them the test
//! says so on stderr and passes, unless `TOCSIN_BROWSER_TESTS` is set (CI
//! sets it): then a missing browser is a failure, never a silent skip.
//! Set `TOCSIN_BROWSER_SCREENSHOTS=DIR` to keep a PNG of each page visited.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{PASSWORD, spawn};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver, stopped when dropped (it ends the browsers it started).
struct Driver {
    child: Child,
    url: String,
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// False (with a note on stderr) when the browser is not installed and not required.
fn browser_available() -> bool {
    let present = Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists();
    if present {
        return true;
    }
    if std::env::var_os("TOCSIN_BROWSER_TESTS").is_some() {
        panic!(
            "TOCSIN_BROWSER_TESTS is set but {CHROMEDRIVER} or {CHROMIUM} is missing; install them with \
             `apt-get install --no-install-recommends chromium chromium-driver`"
        );
    }
    eprintln!(
        "SKIPPED browser tests: {CHROMEDRIVER} or {CHROMIUM} is missing (apt-get install chromium chromium-driver; \
         set TOCSIN_BROWSER_TESTS=1 to make this a failure)"
    );
    false
}

async fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        profile: tempfile::tempdir().unwrap(),
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on port {port} within 10 s");
}

async fn open_browser(driver: &Driver) -> Client {
    let profile = driver.profile.path().display().to_string();
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,900",
        &format!("--user-data-dir={profile}"),
    ];
    let caps = json!({ "goog:chromeOptions": { "binary": CHROMIUM, "args": args } });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("open a Chromium session through chromedriver")
}

/// The browser and the server's address, with helpers for each step.
struct Session {
    c: Client,
    base: String,
    shots: Option<std::path::PathBuf>,
}

impl Session {
    async fn goto(&self, path: &str) {
        self.c.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    async fn text(&self, css: &str) -> String {
        match self.c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap(),
            Err(e) => panic!(
                "{css} not on {}: {e}\n{}",
                self.path().await,
                self.c.source().await.unwrap_or_default()
            ),
        }
    }

    async fn path(&self) -> String {
        let url = self.c.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    async fn fill(&self, css: &str, value: &str) {
        let e = self.c.find(Locator::Css(css)).await.unwrap();
        e.clear().await.unwrap();
        e.send_keys(value).await.unwrap();
    }

    /// Clicks something that loads a new page and waits for that page:
    /// a marker set on the old document is gone once the new one is
    /// loaded, which works whether or not the URL changes.
    async fn click(&self, css: &str) {
        self.c
            .execute("window.tocsinOldPage = true;", vec![])
            .await
            .unwrap();
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
        for _ in 0..200 {
            let ready = self
                .c
                .execute("return window.tocsinOldPage === undefined && document.readyState === 'complete';", vec![])
                .await;
            if matches!(ready, Ok(serde_json::Value::Bool(true))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("clicking {css} did not load a page within 10 s");
    }

    async fn sign_in(&self, user: &str) {
        self.goto("/login").await;
        self.fill("#user", user).await;
        self.fill("#password", PASSWORD).await;
        self.click("main form button[type=submit]").await;
        assert_eq!(
            self.path().await,
            "/services",
            "{user} lands on the catalog"
        );
    }

    async fn sign_out(&self) {
        self.click("header form[action='/logout'] button").await;
        assert_eq!(self.path().await, "/login");
    }

    /// Keeps a picture of the page when asked to.
    async fn shot(&self, name: &str) {
        if let Some(dir) = &self.shots {
            std::fs::write(
                dir.join(format!("{name}.png")),
                self.c.screenshot().await.unwrap(),
            )
            .unwrap();
        }
    }

    /// Page width beyond the window: sideways scrolling on a phone.
    async fn overflow(&self) -> i64 {
        let v = self
            .c
            .execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth;", vec![])
            .await
            .unwrap();
        v.as_i64().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let app = spawn(true).await;
    let driver = start_driver().await;
    let c = open_browser(&driver).await;
    let shots = std::env::var_os("TOCSIN_BROWSER_SCREENSHOTS").map(std::path::PathBuf::from);
    let s = Session {
        c,
        base: app.base.clone(),
        shots,
    };

    // Signing in: / sends a stranger to the sign-in page.
    s.goto("/").await;
    assert!(s.path().await.starts_with("/login"), "{}", s.path().await);
    s.fill("#user", "alice").await;
    s.fill("#password", "wrong password").await;
    s.click("main form button[type=submit]").await;
    assert!(s.text("main .flash.error").await.contains("not right"));
    s.shot("login-refused").await;
    s.fill("#password", PASSWORD).await;
    s.click("main form button[type=submit]").await;
    assert_eq!(s.path().await, "/services");
    assert_eq!(s.text("header a[href='/profile']").await, "alice");

    // The jump bag: search the catalog, open the service.
    s.fill("#q", "checkout").await;
    s.click("form.search button").await;
    assert_eq!(s.path().await, "/services?q=checkout");
    s.shot("services-search").await;
    s.click("main table a[href='/services/checkout']").await;
    assert_eq!(s.path().await, "/services/checkout");
    assert_eq!(s.text("main h1").await, "checkout");
    let runbook =
        s.c.find(Locator::LinkText("Checkout returns 5xx"))
            .await
            .expect("a runbook link");
    assert_eq!(
        runbook.attr("href").await.unwrap().as_deref(),
        Some("https://wiki.example.com/runbooks/checkout-5xx")
    );
    let picture =
        s.c.find(Locator::Css("figure.deps svg[role=img]"))
            .await
            .expect("the dependency picture");
    assert!(picture.is_displayed().await.unwrap());
    let (_, _, w, h) = picture.rectangle().await.unwrap();
    assert!(w > 300.0 && h > 100.0, "drawn at a readable size: {w}x{h}");
    let label = s.text("#h-deps").await;
    assert_eq!(label, "Dependencies");
    s.shot("service-checkout").await;
    // The same page on a phone: everything fits the width.
    s.c.set_window_size(390, 844).await.unwrap();
    assert!(
        s.overflow().await <= 0,
        "the service page scrolls sideways on a phone"
    );
    s.shot("service-checkout-phone").await;
    s.goto("/services").await;
    assert!(
        s.overflow().await <= 0,
        "the service list scrolls sideways on a phone"
    );
    s.c.set_window_size(1280, 900).await.unwrap();
    // A dependency is a link away.
    s.goto("/services/checkout").await;
    s.click("#h-deps ~ .grid a[href='/services/ledger']").await;
    assert_eq!(s.text("main h1").await, "ledger");

    // A token: the secret once, then never again.
    s.goto("/settings/tokens").await;
    s.fill("#name", "from-the-browser").await;
    s.c.find(Locator::Css("#scope"))
        .await
        .unwrap()
        .select_by_value("write")
        .await
        .unwrap();
    s.click("form[action='/settings/tokens'] button[type=submit]")
        .await;
    let secret = s.text("#secret").await;
    assert!(secret.starts_with("tcs_") && secret.len() > 20, "{secret}");
    assert!(
        s.text("[role=alert]")
            .await
            .contains("shown only this once")
    );
    s.shot("token-created").await;
    s.goto("/settings/tokens").await;
    assert!(
        s.c.find(Locator::Css("#secret")).await.is_err(),
        "no secret on the list page"
    );
    assert!(
        !s.c.source().await.unwrap().contains(&secret),
        "the secret is gone for good"
    );
    assert!(s.text("main table").await.contains("from-the-browser"));
    s.sign_out().await;

    // Refused, with the reason: a viewer opens the audit log.
    s.sign_in("carol").await;
    assert!(
        s.c.find(Locator::Css("header a[href='/admin/audit']"))
            .await
            .is_err(),
        "no audit link for a viewer"
    );
    s.goto("/admin/audit").await;
    assert_eq!(s.text("main h1").await, "Not allowed");
    assert!(
        s.text("main [role=alert]")
            .await
            .contains("carol has role viewer; this needs the admin role")
    );
    s.shot("audit-refused").await;
    s.sign_out().await;

    // The admin sees the token creation, made through the UI.
    s.sign_in("dave").await;
    s.goto("/admin/audit").await;
    s.fill("#action", "token.create").await;
    s.click("form.filters button").await;
    let table = s.text("main table").await;
    assert!(
        table.contains("alice") && table.contains("ui") && table.contains("from-the-browser"),
        "{table}"
    );
    s.shot("audit").await;

    // Accounts: erin (declared) gets one and its password once; alice a
    // new role, through the select on her row.
    s.click("header a[href='/admin/accounts']").await;
    assert_eq!(s.path().await, "/admin/accounts");
    for (css, value) in [("#user", "erin"), ("#role", "viewer")] {
        s.c.find(Locator::Css(css))
            .await
            .unwrap()
            .select_by_value(value)
            .await
            .unwrap();
    }
    s.click("form[action='/admin/accounts'] button[type=submit]")
        .await;
    let password = s.text("#password").await;
    assert_eq!(password.len(), 20, "{password}");
    s.shot("account-created").await;
    s.c.find(Locator::Css("#role-alice"))
        .await
        .unwrap()
        .select_by_value("manager")
        .await
        .unwrap();
    s.click("#account-alice button[type=submit]").await;
    assert_eq!(s.path().await, "/admin/accounts?done=role");
    assert!(s.text("main .flash.ok").await.contains("Role changed"));
    s.c.set_window_size(390, 844).await.unwrap();
    assert!(
        s.overflow().await <= 0,
        "the accounts page scrolls sideways on a phone"
    );
    s.shot("accounts-phone").await;
    s.c.set_window_size(1280, 900).await.unwrap();

    // An unknown path is a page, with the menu to go on from.
    s.goto("/no-such-page").await;
    assert_eq!(s.text("main h1").await, "Not found");
    assert_eq!(s.text("header a[href='/profile']").await, "dave");
    s.sign_out().await;

    // erin signs in with the password she was given.
    s.fill("#user", "erin").await;
    s.fill("#password", &password).await;
    s.click("main form button[type=submit]").await;
    assert_eq!(s.text("header a[href='/profile']").await, "erin");

    s.c.close().await.unwrap();
}
