//! The UI in a real browser: headless Chromium driven over WebDriver
//! (chromedriver), against the real server with the demo catalog. It
//! checks what only a browser shows: that forms submit as written, links
//! lead where they say, the dependency picture is drawn, a phone-wide
//! window needs no sideways scrolling, and an incident's timeline updates
//! live in a second person's open page.
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
    /// One browser profile per session, so sessions share no cookies.
    profiles: Vec<tempfile::TempDir>,
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
        profiles: Vec::new(),
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

/// A new browser with a profile of its own.
async fn open_browser(driver: &mut Driver) -> Client {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().display().to_string();
    driver.profiles.push(dir);
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
    let mut driver = start_driver().await;
    let c = open_browser(&mut driver).await;
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

impl Session {
    /// Waits (at most 10 s) until the script `check` returns true.
    async fn wait_for(&self, what: &str, check: &str, args: Vec<serde_json::Value>) {
        for _ in 0..100 {
            let v = self.c.execute(check, args.clone()).await.unwrap();
            if v == serde_json::Value::Bool(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{what}: not within 10 s on {}\n{}",
            self.path().await,
            self.c.source().await.unwrap_or_default()
        );
    }

    /// How many timeline entries on the page contain `text`.
    async fn entries_with(&self, text: &str) -> i64 {
        self.c
            .execute(
                "return Array.from(document.querySelectorAll('#timeline li[data-id]'))\
                 .filter(li => li.textContent.includes(arguments[0])).length;",
                vec![json!(text)],
            )
            .await
            .unwrap()
            .as_i64()
            .unwrap()
    }
}

/// Two people on one incident: alice declares, acknowledges and writes a
/// note in her browser; carol, who only watches, sees each entry arrive
/// in her open page without reloading it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_browser_sees_the_timeline_live() {
    if !browser_available() {
        return;
    }
    let app = spawn(true).await;
    let mut driver = start_driver().await;
    let shots = std::env::var_os("TOCSIN_BROWSER_SCREENSHOTS").map(std::path::PathBuf::from);
    let a = Session {
        c: open_browser(&mut driver).await,
        base: app.base.clone(),
        shots: shots.clone(),
    };
    let b = Session {
        c: open_browser(&mut driver).await,
        base: app.base.clone(),
        shots,
    };

    // alice declares an incident through the form, paging the on-call.
    a.sign_in("alice").await;
    a.goto("/incidents/declare").await;
    a.fill("#title", "Card payments fail at checkout").await;
    a.c.find(Locator::Css("#service"))
        .await
        .unwrap()
        .select_by_value("checkout")
        .await
        .unwrap();
    let page_now = a.c.find(Locator::Css("#page")).await.unwrap();
    if !page_now.is_selected().await.unwrap() {
        page_now.click().await.unwrap();
    }
    a.click("form[action='/incidents/declare'] button[type=submit]")
        .await;
    let page = a.path().await;
    let n: i64 = page
        .strip_prefix("/incidents/")
        .and_then(|p| p.split(['?', '#']).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("declaring leads to the incident, not {page}"));

    // carol opens the same page and leaves it open.
    b.sign_in("carol").await;
    b.goto(&format!("/incidents/{n}")).await;
    assert_eq!(
        b.text("main h1").await,
        format!("#{n} Card payments fail at checkout")
    );
    let incident = b.c.find(Locator::Css("ol#timeline")).await.unwrap();
    assert_eq!(
        incident.attr("data-incident").await.unwrap().as_deref(),
        Some(n.to_string().as_str())
    );
    b.c.execute("window.tocsinOldPage = true;", vec![])
        .await
        .unwrap();
    assert_eq!(b.entries_with("acknowledged by alice").await, 0);

    // alice acknowledges, then writes a note.
    a.click(&format!(
        "form[action='/incidents/{n}/acknowledge'] button[type=submit]"
    ))
    .await;
    assert!(
        a.text("#timeline").await.contains("acknowledged by alice"),
        "alice's page shows her acknowledgement"
    );
    let note = "Rolled back the 10:02 deploy; errors are dropping";
    a.fill("#note-text", note).await;
    a.click("#note button[type=submit]").await;
    assert_eq!(a.entries_with(note).await, 1, "alice's page shows her note");

    // carol's page, never reloaded, has both, once each.
    b.wait_for(
        "the note in the second browser",
        "return Array.from(document.querySelectorAll('#timeline li[data-id]'))\
         .some(li => li.textContent.includes(arguments[0]));",
        vec![json!(note)],
    )
    .await;
    assert_eq!(b.entries_with(note).await, 1, "drawn once");
    assert_eq!(b.entries_with("acknowledged by alice").await, 1);
    let same_page =
        b.c.execute("return window.tocsinOldPage === true;", vec![])
            .await
            .unwrap();
    assert_eq!(same_page, json!(true), "carol's page was not reloaded");
    // In time order, the note last; a watcher gets no pin buttons.
    let last = b.text("#timeline li[data-id]:last-child").await;
    assert!(last.contains(note), "{last}");
    assert!(
        b.c.find(Locator::Css("#timeline form")).await.is_err(),
        "no pin button for a viewer"
    );
    b.shot("timeline-live").await;

    // alice resolves it and writes the review: advice appears under the
    // section while she types, and stays after saving.
    a.click(&format!(
        "form[action='/incidents/{n}/resolve'] button[type=submit]"
    ))
    .await;
    a.goto(&format!("/incidents/{n}/review")).await;
    assert!(
        a.text("#key_moments")
            .await
            .contains("acknowledged by alice"),
        "the draft lists the milestones"
    );
    let summary = a.c.find(Locator::Css("#summary")).await.unwrap();
    summary.clear().await.unwrap();
    summary
        .send_keys("Checkout failed after a deploy. Bob should have checked the retries.")
        .await
        .unwrap();
    a.wait_for(
        "advice while typing",
        "const q = document.querySelector('#advice-summary q');\
         return q !== null && q.textContent === 'should have';",
        vec![],
    )
    .await;
    assert!(
        a.text("#advice-overall")
            .await
            .starts_with("1 phrase may read as blame")
    );
    a.shot("review-advice").await;
    a.click("#review button[value=save]").await;
    assert!(a.text("main .flash.ok").await.contains("Review saved."));
    assert!(a.text("#advice-summary").await.contains("should have"));

    a.c.close().await.unwrap();
    b.c.close().await.unwrap();
}
