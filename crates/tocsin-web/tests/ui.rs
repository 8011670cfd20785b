//! Black-box tests of the web UI: the real server on `127.0.0.1:0` with a
//! fresh SQLite file, the demo catalog and a manual clock, driven over
//! HTTP like a browser without JavaScript would (cookies kept, redirects
//! not followed, so each answer can be checked).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use jiff::SignedDuration;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use support::{PASSWORD, csrf_of, location, spawn};
use tocsin_core::account;
use tocsin_core::audit::Actor;
use tocsin_domain::Name;
use tocsin_domain::access::Role;
use tocsin_domain::catalog::Kind;

#[tokio::test]
async fn setup_creates_the_first_admin_once() {
    let app = spawn(false).await;
    let b = app.browser();
    let res = b.get("/").await;
    assert_eq!(location(&res), "/setup", "a new install starts at setup");
    let (status, body) = b.page("/setup").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Create the first admin"), "{body}");

    let form = [
        ("name", "root"),
        ("full_name", "Root Admin"),
        ("email", "root@example.com"),
        ("password", PASSWORD),
    ];
    let res = b.post("/setup", &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/services");
    let (status, body) = b.page("/admin/audit").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the new admin is signed in and is an admin: {body}"
    );

    let other = app.browser();
    let res = other
        .post(
            "/setup",
            &[
                ("name", "mallory"),
                ("email", "m@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("setup is done"));
    assert_eq!(app.store.count_accounts().await.unwrap(), 1);
    assert!(
        app.store
            .get_account(&Name::parse("mallory").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let res = other.get("/setup").await;
    assert_eq!(
        location(&res),
        "/login",
        "the setup page is gone once an account exists"
    );
}

#[tokio::test]
async fn wrong_passwords_get_a_message_then_are_throttled() {
    let app = spawn(true).await;
    let b = app.browser();
    let res = b
        .post(
            "/login",
            &[("user", "alice"), ("password", "not the password")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("the user name or password is not right"),
        "{body}"
    );
    assert!(
        body.contains("value=\"alice\""),
        "the user name is kept in the form"
    );
    for _ in 0..4 {
        let res = b
            .post("/login", &[("user", "alice"), ("password", "still wrong")])
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = b
        .post("/login", &[("user", "alice"), ("password", PASSWORD)])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    let body = res.text().await.unwrap();
    assert!(body.contains("try again in"), "{body}");
    app.clock.advance(SignedDuration::from_mins(16));
    let res = b
        .post("/login", &[("user", "alice"), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the window has passed");
}

#[tokio::test]
async fn forms_without_the_session_csrf_token_change_nothing() {
    let app = spawn(true).await;
    let b = app.signed_in("frank").await;
    let csrf = b.csrf().await;
    let before = app.user("frank").await;

    for form in [vec![], vec![("csrf", "forged")]] {
        let res = b.post("/logout", &form).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("did not come from your current session")
        );

        let mut profile = form.clone();
        profile.push(("time_zone", "Asia/Tokyo"));
        assert_eq!(
            b.post("/profile", &profile).await.status(),
            StatusCode::FORBIDDEN
        );

        let mut token = form.clone();
        token.extend([("name", "sneaky"), ("scope", "read")]);
        assert_eq!(
            b.post("/settings/tokens", &token).await.status(),
            StatusCode::FORBIDDEN
        );

        let mut password = form.clone();
        password.extend([
            ("current", PASSWORD),
            ("new", "a brand new password"),
            ("confirm", "a brand new password"),
        ]);
        assert_eq!(
            b.post("/profile/password", &password).await.status(),
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        b.page("/profile").await.0,
        StatusCode::OK,
        "still signed in"
    );
    assert_eq!(app.user("frank").await, before, "the profile is unchanged");
    assert!(
        app.store.list_tokens().await.unwrap().is_empty(),
        "no token was created"
    );
    assert_eq!(
        app.signed_in("frank").await.page("/profile").await.0,
        StatusCode::OK,
        "the password is unchanged"
    );

    let res = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
    let res = b.get("/profile").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/login"), "signed out");
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = spawn(true).await;
    let b = app.signed_in("alice").await;
    app.clock.advance(SignedDuration::from_hours(11));
    assert_eq!(
        b.page("/services").await.0,
        StatusCode::OK,
        "used within the idle time"
    );
    app.clock.advance(SignedDuration::from_hours(11));
    assert_eq!(
        b.page("/services").await.0,
        StatusCode::OK,
        "each use pushes the expiry"
    );
    app.clock
        .advance(SignedDuration::from_hours(12) + SignedDuration::from_mins(1));
    let res = b.get("/services/checkout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        "/login?next=/services/checkout",
        "back to sign-in, then back here"
    );
}

#[tokio::test]
async fn a_viewer_is_refused_with_the_reason() {
    let app = spawn(true).await;
    let b = app.signed_in("carol").await;
    let (status, body) = b.page("/admin/audit").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("carol has role viewer; this needs the admin role"),
        "{body}"
    );

    let csrf = b.csrf().await;
    let (status, body) = b.page("/settings/tokens").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<option value=\"read\""), "{body}");
    assert!(
        !body.contains("<option value=\"write\""),
        "a viewer is only offered read tokens"
    );
    let res = b
        .post(
            "/settings/tokens",
            &[("csrf", &csrf), ("name", "mine"), ("scope", "write")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("carol has role viewer and may create tokens up to scope read, not write"),
        "{body}"
    );
    assert!(app.store.list_tokens().await.unwrap().is_empty());

    let res = b
        .post("/profile", &[("csrf", &csrf), ("time_zone", "UTC")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("editing a profile needs responder or more")
    );

    let (status, body) = b.page("/settings/integrations").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("ask an admin"));
    let key = app
        .store
        .list_objects(Some(Kind::Integration))
        .await
        .unwrap()[0]
        .secret
        .clone()
        .unwrap();
    assert!(
        !body.contains(&key),
        "a viewer never sees an integration key"
    );
    let (_, body) = app
        .signed_in("dave")
        .await
        .page("/settings/integrations")
        .await;
    assert!(body.contains(&key), "an admin does");
}

#[tokio::test]
async fn the_service_page_is_the_jump_bag() {
    let app = spawn(true).await;
    let b = app.signed_in("carol").await;
    let res = b.get("/").await;
    assert_eq!(
        location(&res),
        "/services",
        "signed in, the start page is the catalog"
    );

    let (status, body) = b.page("/services?q=checkout").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("href=\"/services/checkout\""), "{body}");
    assert!(!body.contains("href=\"/services/kafka\""));
    let (_, body) = b.page("/services?q=tier-0").await;
    for s in ["postgres", "kafka", "edge-proxy"] {
        assert!(
            body.contains(&format!("href=\"/services/{s}\"")),
            "{s} is tier-0"
        );
    }
    assert!(!body.contains("href=\"/services/checkout\""));
    let (_, body) = b.page("/services?q=Takes+the+money").await;
    assert!(
        body.contains("No service matches"),
        "team descriptions are not searched: {body}"
    );
    let (_, body) = b.page("/services?q=payments").await;
    assert!(
        body.contains("href=\"/services/ledger\""),
        "the owning team is"
    );

    let (status, body) = b.page("/services/checkout").await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        "<h1>checkout</h1>",
        "href=\"/teams/payments\"",
        "https://grafana.example.com/d/checkout",
        "https://logs.example.com/app/checkout",
        "https://git.example.com/payments/checkout",
        "href=\"https://wiki.example.com/runbooks/checkout-5xx\"",
        "Checkout returns 5xx",
        "payments-default",
        "href=\"/schedules/payments-primary\"",
        "href=\"/users/alice\"",
        "pages whoever is on call when it fires",
        "<svg role=\"img\" aria-labelledby=\"deps-title deps-desc\"",
        "<title id=\"deps-title\">Dependencies of checkout</title>",
        "checkout needs: ledger, postgres, edge-proxy. Needed by: nothing.",
        "href=\"/services/ledger\"",
        "href=\"/services/postgres\"",
        "href=\"/services/edge-proxy\"",
        "No service declares it needs checkout",
        "tier-1",
        "checkout-alertmanager",
        "Prometheus Alertmanager webhook",
        "managed in Git",
        "examples/payments.yaml",
    ] {
        assert!(
            body.contains(needle),
            "{needle:?} missing from the service page"
        );
    }
    let (_, body) = b.page("/services/postgres").await;
    assert!(
        body.contains("postgres needs: nothing. Needed by: checkout, ledger."),
        "reverse dependencies: {body}"
    );
    assert!(body.contains("href=\"/services/checkout\""));

    assert_eq!(b.page("/services/nope").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        b.page("/services/Not%20A%20Name").await.0,
        StatusCode::NOT_FOUND
    );

    let (status, body) = b.page("/teams/payments").await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        "href=\"/users/alice\"",
        "href=\"/services/checkout\"",
        "id=\"schedule-payments-primary\"",
        "payments-default",
    ] {
        assert!(
            body.contains(needle),
            "{needle:?} missing from the team page"
        );
    }
    let (status, body) = b.page("/users/alice").await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        "Europe/Paris",
        "tocsin-alice",
        "ntfy push",
        "phone at once",
        "work-email after 5 min",
        "href=\"/teams/payments\"",
    ] {
        assert!(
            body.contains(needle),
            "{needle:?} missing from the user page"
        );
    }
    assert_eq!(b.page("/teams").await.0, StatusCode::OK);
    assert_eq!(b.page("/users").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_token_made_in_the_ui_is_shown_once_and_audited() {
    let app = spawn(true).await;
    let b = app.signed_in("alice").await;
    let csrf = b.csrf().await;
    let res = b
        .post(
            "/settings/tokens",
            &[("csrf", &csrf), ("name", "laptop"), ("scope", "write")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers().get(CACHE_CONTROL).unwrap(), "no-store");
    let body = res.text().await.unwrap();
    assert!(body.contains("shown only this once"), "{body}");
    let start = body.find("<code class=\"copy\" id=\"secret\">").unwrap() + 31;
    let secret = body[start..].split('<').next().unwrap().to_owned();
    assert!(secret.starts_with("tcs_"), "{secret}");

    let api = reqwest::Client::builder().no_proxy().build().unwrap();
    let res = api
        .get(format!("{}/api/v1/services", app.base))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the token works");

    let (_, body) = b.page("/settings/tokens").await;
    assert!(body.contains("laptop"));
    assert!(!body.contains(&secret), "the secret is never shown again");

    let res = b
        .post(
            "/settings/tokens",
            &[("csrf", &csrf), ("name", "laptop"), ("scope", "read")],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a live token already has that name"
    );
    assert!(res.text().await.unwrap().contains("already called"));

    // Someone else's token cannot be revoked by alice; an admin can.
    let cb = app.signed_in("frank").await;
    let frank_csrf = cb.csrf().await;
    let res = cb
        .post(
            "/settings/tokens/revoke",
            &[("csrf", &frank_csrf), ("name", "laptop")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("only its owner or an admin may revoke it")
    );
    let res = b
        .post(
            "/settings/tokens/revoke",
            &[("csrf", &csrf), ("name", "laptop")],
        )
        .await;
    assert_eq!(location(&res), "/settings/tokens?done=revoked");
    let res = api
        .get(format!("{}/api/v1/services", app.base))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "revoked");

    let admin = app.signed_in("dave").await;
    let (status, body) = admin.page("/admin/audit?action=token.").await;
    assert_eq!(status, StatusCode::OK);
    let row = body
        .split("<tr id=\"entry-")
        .find(|r| r.contains("token.create"))
        .expect("a token.create entry");
    assert!(
        row.contains("<td>alice</td>")
            && row.contains("<td>ui</td>")
            && row.contains("token laptop"),
        "{row}"
    );
    assert!(body.contains("token.revoke"));
    assert!(!body.contains("session.login"), "filtered by action prefix");
    let (_, body) = admin.page("/admin/audit?interface=system").await;
    assert!(
        !body.contains("<td>ui</td>") && body.contains("account.create"),
        "filtered by interface"
    );
    let (status, body) = admin.page("/admin/audit?interface=fax").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("is not one of"));
}

#[tokio::test]
async fn the_audit_log_pages_backwards() {
    let app = spawn(true).await;
    let entries: Vec<_> = (0..60)
        .map(|i| Actor::system().entry("test.filler", None, serde_json::json!({ "i": i })))
        .collect();
    app.store
        .record_audit(&entries, tocsin_core::clock::Clock::now(&app.clock))
        .await
        .unwrap();
    let b = app.signed_in("dave").await;
    let (_, body) = b.page("/admin/audit").await;
    let ids = |body: &str| -> Vec<i64> {
        body.split("<tr id=\"entry-")
            .skip(1)
            .map(|r| r.split('"').next().unwrap().parse().unwrap())
            .collect()
    };
    let first = ids(&body);
    assert_eq!(first.len(), 50, "one page");
    assert!(first.windows(2).all(|w| w[0] > w[1]), "newest first");
    let start = body
        .find("href=\"/admin/audit?before=")
        .expect("an older link")
        + 6;
    let older = body[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    let (_, body) = b.page(&older).await;
    let second = ids(&body);
    assert!(
        !second.is_empty() && second[0] < *first.last().unwrap(),
        "{second:?}"
    );
    assert!(body.contains(">Newest<"));
}

#[tokio::test]
async fn the_profile_is_edited_validated_and_respects_git() {
    let app = spawn(true).await;
    // alice is declared in the demo manifests: read-only here.
    let alice = app.signed_in("alice").await;
    let (status, body) = alice.page("/profile").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("managed in Git") && body.contains("examples/people.yaml"),
        "{body}"
    );
    assert!(!body.contains("action=\"/profile\""), "no edit form");
    let csrf = alice.csrf().await;
    let res = alice
        .post("/profile", &[("csrf", &csrf), ("time_zone", "UTC")])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(app.user("alice").await.0.time_zone, "Europe/Paris");

    // frank was made by hand: his to edit.
    let b = app.signed_in("frank").await;
    let (_, body) = b.page("/profile").await;
    assert!(body.contains("action=\"/profile\""), "{body}");
    let csrf = csrf_of(&body);
    let before = app.user("frank").await;
    let bad = [
        ("csrf", csrf.as_str()),
        ("time_zone", "Mars/Olympus"),
        ("cm0_name", "mail"),
        ("cm0_type", "email"),
        ("cm0_address", "not-an-address"),
        ("nr0_contact", "mail"),
        ("nr0_after", "soon"),
    ];
    let res = b.post("/profile", &bad).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    for needle in [
        "Not saved: 3 problem(s)",
        "id=\"time_zone-error\"",
        "is not a known IANA time zone",
        "id=\"cm0_address-error\"",
        "is not an email address",
        "id=\"nr0_after-error\"",
        "is not a whole number of minutes",
        "value=\"not-an-address\"",
    ] {
        assert!(body.contains(needle), "{needle:?} missing: {body}");
    }
    assert_eq!(app.user("frank").await, before, "nothing saved");

    let good = [
        ("csrf", csrf.as_str()),
        ("time_zone", "Europe/Berlin"),
        ("cm0_name", "mail"),
        ("cm0_type", "email"),
        ("cm0_address", "frank@example.com"),
        ("cm1_name", "push"),
        ("cm1_type", "ntfy"),
        ("cm1_address", "tocsin-frank"),
        ("nr0_contact", "push"),
        ("nr0_after", "0"),
        ("nr1_contact", "mail"),
        ("nr1_after", "5"),
        ("nr2_contact", ""),
        ("nr2_after", ""),
    ];
    let res = b.post("/profile", &good).await;
    assert_eq!(location(&res), "/profile?done=saved");
    let (user, version) = app.user("frank").await;
    assert_eq!(user.time_zone, "Europe/Berlin");
    assert_eq!(user.contact_methods.len(), 2);
    assert_eq!(user.notification_rules[1].after_minutes, 5);
    assert_eq!(
        user.email, before.0.email,
        "the email is not the profile's to change"
    );
    assert!(version > before.1);
    let (_, body) = b.page("/profile?done=saved").await;
    assert!(body.contains("Profile saved."));
    assert!(body.contains("value=\"tocsin-frank\""));

    // Remove the push contact and its rule in one go.
    let remove = [
        ("csrf", csrf.as_str()),
        ("time_zone", "Europe/Berlin"),
        ("cm0_name", "mail"),
        ("cm0_type", "email"),
        ("cm0_address", "frank@example.com"),
        ("cm1_name", "push"),
        ("cm1_type", "ntfy"),
        ("cm1_address", "tocsin-frank"),
        ("cm1_remove", "on"),
        ("nr0_contact", "push"),
        ("nr0_after", "0"),
        ("nr0_remove", "on"),
        ("nr1_contact", "mail"),
        ("nr1_after", "5"),
    ];
    assert_eq!(
        location(&b.post("/profile", &remove).await),
        "/profile?done=saved"
    );
    let (user, _) = app.user("frank").await;
    assert_eq!(user.contact_methods.len(), 1);
    assert_eq!(user.notification_rules.len(), 1);
    assert_eq!(
        location(&b.post("/profile", &remove).await),
        "/profile?done=unchanged"
    );

    let admin = app.signed_in("dave").await;
    let (_, body) = admin.page("/admin/audit?action=profile.update").await;
    let row = body
        .split("<tr id=\"entry-")
        .nth(1)
        .expect("a profile.update entry");
    assert!(
        row.contains("<td>frank</td>") && row.contains("<td>ui</td>") && row.contains("user frank"),
        "{row}"
    );
    assert!(row.contains("contact_methods"), "{row}");
}

#[tokio::test]
async fn the_password_is_changed_with_the_current_one() {
    let app = spawn(true).await;
    let b = app.signed_in("frank").await;
    let other = app.signed_in("frank").await;
    let csrf = b.csrf().await;
    let new = "another long passphrase";
    let res = b
        .post(
            "/profile/password",
            &[
                ("csrf", &csrf),
                ("current", "wrong"),
                ("new", new),
                ("confirm", new),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("the current password is not right")
    );
    let res = b
        .post(
            "/profile/password",
            &[
                ("csrf", &csrf),
                ("current", PASSWORD),
                ("new", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("at least 12"));
    let res = b
        .post(
            "/profile/password",
            &[
                ("csrf", &csrf),
                ("current", PASSWORD),
                ("new", new),
                ("confirm", "different"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let res = b
        .post(
            "/profile/password",
            &[
                ("csrf", &csrf),
                ("current", PASSWORD),
                ("new", new),
                ("confirm", new),
            ],
        )
        .await;
    assert_eq!(location(&res), "/profile?done=password");
    let (status, body) = b.page("/profile?done=password").await;
    assert_eq!(status, StatusCode::OK, "this browser stays signed in");
    assert!(body.contains("Password changed."));
    assert_eq!(
        other.get("/profile").await.status(),
        StatusCode::SEE_OTHER,
        "other sessions are signed out"
    );
    let fresh = app.browser();
    let res = fresh
        .post("/login", &[("user", "frank"), ("password", PASSWORD)])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "the old password is gone"
    );
    let res = fresh
        .post("/login", &[("user", "frank"), ("password", new)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

/// The password on the page that created an account.
fn shown_password(body: &str) -> String {
    let start = body
        .find("<code class=\"copy\" id=\"password\">")
        .expect("the new password")
        + 33;
    body[start..].split('<').next().unwrap().to_owned()
}

/// The audit rows whose action starts with `prefix`, as the admin sees them.
async fn audit_rows(app: &support::App, prefix: &str) -> Vec<String> {
    let (status, body) = app
        .signed_in("dave")
        .await
        .page(&format!("/admin/audit?action={prefix}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    body.split("<tr id=\"entry-")
        .skip(1)
        .map(str::to_owned)
        .collect()
}

async fn role_of(app: &support::App, user: &str) -> Role {
    app.store
        .get_account(&Name::parse(user).unwrap())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{user} has no account"))
        .role
}

#[tokio::test]
async fn an_admin_creates_accounts_and_changes_roles() {
    let app = spawn(true).await;
    let b = app.signed_in("dave").await;
    let (status, body) = b.page("/admin/accounts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("<a href=\"/admin/accounts\" aria-current=\"page\">Accounts</a>"),
        "{body}"
    );
    assert!(
        body.contains("<a href=\"/users/alice\"><strong>alice</strong></a>"),
        "{body}"
    );
    assert!(body.contains("dave</strong></a> (you)"), "{body}");
    // bob and erin are declared but cannot sign in yet: they are offered.
    for offered in ["<option value=\"bob\">", "<option value=\"erin\">"] {
        assert!(body.contains(offered), "{offered} {body}");
    }
    assert!(!body.contains("<option value=\"alice\">"), "has an account");
    let (_, body) = app.signed_in("alice").await.page("/services").await;
    assert!(
        !body.contains("/admin/accounts"),
        "no Accounts link for others"
    );

    // A declared user.
    let csrf = b.csrf().await;
    let res = b
        .post(
            "/admin/accounts",
            &[("csrf", &csrf), ("user", "bob"), ("role", "manager")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers().get(CACHE_CONTROL).unwrap(), "no-store");
    let body = res.text().await.unwrap();
    assert!(
        body.contains("Account bob created with role manager."),
        "{body}"
    );
    assert!(body.contains("shown only this once"), "{body}");
    let password = shown_password(&body);
    assert_eq!(password.len(), 20, "{password}");
    assert_eq!(role_of(&app, "bob").await, Role::Manager);
    let (_, body) = b.page("/admin/accounts").await;
    assert!(
        !body.contains(&password),
        "the password is never shown again"
    );
    assert!(!body.contains("<option value=\"bob\">"), "bob has one now");
    let res = app
        .browser()
        .post(
            "/login",
            &[
                ("user", "bob"),
                ("password", &password),
                ("next", "/profile"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "bob signs in with it");
    assert_eq!(location(&res), "/profile");

    // A new person: the user is created too, by hand, not by config.
    let res = b
        .post(
            "/admin/accounts",
            &[
                ("csrf", &csrf),
                ("new_name", "gina"),
                ("full_name", "Gina Rossi"),
                ("email", "gina@example.com"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let password = shown_password(&res.text().await.unwrap());
    let (gina, _) = app.user("gina").await;
    assert_eq!(
        (gina.full_name.as_str(), gina.email.as_str()),
        ("Gina Rossi", "gina@example.com")
    );
    assert!(
        !app.store
            .get_object(Kind::User, &Name::parse("gina").unwrap())
            .await
            .unwrap()
            .unwrap()
            .managed
    );
    let res = app
        .browser()
        .post("/login", &[("user", "gina"), ("password", &password)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "gina signs in");

    // Refusals keep what was typed and say what is wrong.
    for (form, says, invalid) in [
        (
            vec![("new_name", "hana"), ("full_name", "Hana Ito")],
            "Not created: email: is required for a new user.",
            "id=\"email\" name=\"email\" type=\"email\" value=\"\" autocomplete=\"off\" aria-invalid=\"true\"",
        ),
        (
            vec![("user", "erin"), ("new_name", "hana")],
            "keep one",
            "value=\"hana\"",
        ),
        (
            vec![],
            "choose a declared user, or type a new user name",
            "\"user-help create-error\" aria-invalid=\"true\"",
        ),
        (
            vec![("new_name", "Not A Name"), ("email", "x@example.com")],
            "Not created: user name:",
            "value=\"Not A Name\"",
        ),
        (
            vec![("new_name", "alice"), ("email", "x@example.com")],
            "alice already has an account",
            "value=\"alice\"",
        ),
        (
            vec![("user", "erin"), ("role", "boss")],
            "is not one of",
            "value=\"erin\" selected",
        ),
    ] {
        let mut full = vec![("csrf", csrf.as_str()), ("role", "viewer")];
        full.extend(form.iter().copied());
        if form.iter().any(|(k, _)| *k == "role") {
            full.remove(1);
        }
        let res = b.post("/admin/accounts", &full).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{says}");
        let body = res.text().await.unwrap();
        assert!(body.contains(says), "{says}: {body}");
        assert!(body.contains(invalid), "{invalid}: {body}");
        assert!(!body.contains("id=\"password\""), "no password shown");
    }
    assert!(
        app.store
            .get_account(&Name::parse("hana").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        app.store
            .get_account(&Name::parse("erin").unwrap())
            .await
            .unwrap()
            .is_none()
    );

    // A role change.
    let res = b
        .post(
            "/admin/accounts/role",
            &[("csrf", &csrf), ("user", "alice"), ("role", "manager")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/admin/accounts?done=role");
    assert_eq!(role_of(&app, "alice").await, Role::Manager);
    let (_, body) = b.page("/admin/accounts?done=role").await;
    assert!(body.contains("Role changed."), "{body}");
    let row = body.split("<tr id=\"account-alice\">").nth(1).unwrap();
    let row = row.split("</tr>").next().unwrap();
    assert!(row.contains("<option value=\"manager\" selected>"), "{row}");
    let res = b
        .post(
            "/admin/accounts/role",
            &[("csrf", &csrf), ("user", "nobody"), ("role", "viewer")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("there is no account for")
    );

    // Each change is in the audit log, by dave, through the UI.
    let rows = audit_rows(&app, "account.").await;
    let by_dave = |action: &str, object: &str| {
        rows.iter().any(|r| {
            r.contains(&format!("<code>{action}</code>"))
                && r.contains("<td>dave</td>")
                && r.contains("<td>ui</td>")
                && r.contains(&format!("<td>{object}</td>"))
        })
    };
    assert!(by_dave("account.create", "user bob"), "{rows:#?}");
    assert!(by_dave("account.create", "user gina"), "{rows:#?}");
    assert!(by_dave("account.role", "user alice"), "{rows:#?}");
    assert!(
        audit_rows(&app, "catalog.create")
            .await
            .iter()
            .any(|r| r.contains("<td>dave</td>") && r.contains("<td>user gina</td>")),
        "the new user is audited too"
    );
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted_in_the_ui() {
    let app = spawn(true).await;
    let b = app.signed_in("dave").await;
    let csrf = b.csrf().await;
    let res = b
        .post(
            "/admin/accounts/role",
            &[("csrf", &csrf), ("user", "dave"), ("role", "viewer")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("dave is the last admin; make another account admin first"),
        "{body}"
    );
    assert!(
        body.contains("<tr id=\"account-dave\">"),
        "the list is shown again"
    );
    assert_eq!(role_of(&app, "dave").await, Role::Admin, "nothing changed");
    assert!(
        audit_rows(&app, "account.role").await.is_empty(),
        "nothing audited"
    );

    // With a second admin, dave may step down, and lands on his profile.
    let res = b
        .post(
            "/admin/accounts/role",
            &[("csrf", &csrf), ("user", "alice"), ("role", "admin")],
        )
        .await;
    assert_eq!(location(&res), "/admin/accounts?done=role");
    let res = b
        .post(
            "/admin/accounts/role",
            &[("csrf", &csrf), ("user", "dave"), ("role", "responder")],
        )
        .await;
    assert_eq!(location(&res), "/profile?done=demoted");
    let (_, body) = b.page("/profile?done=demoted").await;
    assert!(body.contains("you are no longer an admin"), "{body}");
    assert!(
        !body.contains("/admin/accounts"),
        "no Accounts link any more"
    );
    assert_eq!(b.page("/admin/accounts").await.0, StatusCode::FORBIDDEN);
    assert_eq!(role_of(&app, "dave").await, Role::Responder);
}

#[tokio::test]
async fn accounts_are_for_admins_only_and_need_the_csrf_token() {
    let app = spawn(true).await;
    let new = account::NewUserAccount {
        name: "bob".into(),
        role: Role::Manager,
        password: PASSWORD.into(),
        full_name: None,
        email: None,
        time_zone: None,
    };
    let now = tocsin_core::clock::Clock::now(&app.clock);
    account::create(app.store.as_ref(), new, &Actor::system(), now)
        .await
        .unwrap();
    let manager = app.signed_in("bob").await;
    let reason = "bob has role manager; this needs the admin role";
    let (status, body) = manager.page("/admin/accounts").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains(reason), "{body}");
    let csrf = manager.csrf().await;
    let res = manager
        .post(
            "/admin/accounts/role",
            &[("csrf", &csrf), ("user", "bob"), ("role", "admin")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains(reason));
    let res = manager
        .post(
            "/admin/accounts",
            &[
                ("csrf", &csrf),
                ("new_name", "mallory"),
                ("email", "m@example.com"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains(reason));

    // An admin's browser, but a form from elsewhere.
    let admin = app.signed_in("dave").await;
    for csrf in [None, Some("forged")] {
        let with = |fields: &[(&'static str, &'static str)]| {
            let mut form: Vec<(&str, &str)> = fields.to_vec();
            form.extend(csrf.map(|c| ("csrf", c)));
            form
        };
        let res = admin
            .post(
                "/admin/accounts/role",
                &with(&[("user", "alice"), ("role", "admin")]),
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("did not come from your current session")
        );
        let res = admin
            .post(
                "/admin/accounts",
                &with(&[
                    ("new_name", "mallory"),
                    ("email", "m@example.com"),
                    ("role", "admin"),
                ]),
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(role_of(&app, "bob").await, Role::Manager);
    assert_eq!(role_of(&app, "alice").await, Role::Responder);
    assert!(
        app.store
            .get_account(&Name::parse("mallory").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        app.store
            .get_object(Kind::User, &Name::parse("mallory").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(audit_rows(&app, "account.role").await.is_empty());
}

#[tokio::test]
async fn unknown_pages_are_html_and_unknown_api_paths_problems() {
    let app = spawn(true).await;
    let anonymous = app.browser();
    let res = anonymous.get("/nope").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        res.headers().get(CONTENT_TYPE).unwrap(),
        "text/html; charset=utf-8"
    );
    let body = res.text().await.unwrap();
    assert!(body.contains("<h1>Not found</h1>"), "{body}");
    assert!(body.contains("there is no page at /nope"), "{body}");

    let (status, body) = app.signed_in("carol").await.page("/nope/deeper").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body.contains("<a href=\"/profile\">carol</a>"),
        "signed in, the menu stays: {body}"
    );

    for (path, accept) in [
        ("/api/v1/nope", "text/html,*/*"),
        ("/api/v1/nope", "*/*"),
        ("/nope", "application/json"),
    ] {
        let res = anonymous
            .http
            .get(format!("{}{path}", app.base))
            .header(ACCEPT, accept)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path} {accept}");
        assert_eq!(
            res.headers().get(CONTENT_TYPE).unwrap(),
            "application/problem+json",
            "{path} {accept}"
        );
        let body: serde_json::Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
        assert_eq!(body["status"], 404);
        assert_eq!(body["detail"], format!("no route for {path}"), "{body}");
    }
}

/// Sends one generic event to the demo's `platform-generic` integration
/// (service postgres).
async fn send_generic(app: &support::App, dedup_key: &str, alertname: &str) {
    send_platform(
        app,
        serde_json::json!({
            "action": "trigger",
            "dedup_key": dedup_key,
            "summary": "Disk full",
            "severity": "sev2",
            "labels": {"alertname": alertname},
        }),
    )
    .await;
}

/// The part of a page between two markers.
fn between<'a>(body: &'a str, from: &str, to: &str) -> &'a str {
    let start = body
        .find(from)
        .unwrap_or_else(|| panic!("{from:?} in {body}"));
    let rest = &body[start..];
    &rest[..rest.find(to).unwrap_or(rest.len())]
}

#[tokio::test]
async fn a_silence_is_previewed_created_and_expired_in_the_ui() {
    let app = spawn(true).await;
    send_generic(&app, "d1", "DiskFull").await;
    let b = app.signed_in("dave").await;
    let csrf = b.csrf().await;

    let (status, body) = b.page("/silences").await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        "<a href=\"/silences\" aria-current=\"page\">Silences</a>",
        "href=\"/maintenance\"",
        "id=\"silence-staging-kafka-lag\"",
        "<code>service=&#34;kafka&#34;</code>",
        "managed in Git",
        "Europe/Berlin",
        "value=\"2h\"",
        "formaction=\"/silences/preview",
    ] {
        assert!(body.contains(needle), "{needle:?} missing: {body}");
    }
    assert!(
        !body.contains("Expire silence staging-kafka-lag"),
        "config-managed silences are changed in Git"
    );

    let form = [
        ("csrf", csrf.as_str()),
        ("matchers", "alertname=DiskFull"),
        ("duration", "2h"),
        ("ends_at", ""),
        ("comment", "volume being resized"),
        ("name", "disk-full"),
    ];
    let res = b.post("/silences/preview", &form).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    let preview = between(&body, "id=\"h-preview\"", "</section>");
    assert!(preview.contains("1 open alert(s) matched now"), "{preview}");
    assert!(preview.contains("<code>d1</code>"), "{preview}");
    assert!(preview.contains("href=\"/services/postgres\""), "{preview}");
    assert!(
        body.contains(">alertname=DiskFull</textarea>"),
        "the form is filled in again"
    );
    assert!(body.contains("value=\"volume being resized\""));
    assert!(
        app.store
            .get_object(Kind::Silence, &Name::parse("disk-full").unwrap())
            .await
            .unwrap()
            .is_none(),
        "a preview creates nothing"
    );

    let res = b.post("/silences", &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/silences?done=created&name=disk-full");
    let (_, body) = b.page(&location(&res)).await;
    assert!(body.contains("Silence disk-full created"), "{body}");
    let active = between(&body, "id=\"h-active\"", "id=\"h-others\"");
    let row = between(active, "id=\"silence-disk-full\"", "</tr>");
    for needle in [
        "<code>alertname=DiskFull</code>",
        // 10:00 UTC + 2h, in dave's Europe/Berlin.
        "2026-03-02 13:00 CET",
        "volume being resized",
        "<td class=\"opt\">dave</td>",
        "aria-label=\"Expire silence disk-full\"",
    ] {
        assert!(row.contains(needle), "{needle:?} missing: {row}");
    }

    // Ingestion sees it at once.
    send_generic(&app, "d2", "DiskFull").await;
    let muted = app
        .store
        .open_alerts(100)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.dedup_key == "d2")
        .unwrap()
        .muted
        .map(|m| m.as_stored());
    assert_eq!(muted.as_deref(), Some("silence:disk-full"));

    app.clock.advance(SignedDuration::from_mins(30));
    let res = b
        .post("/silences/disk-full/expire", &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/silences?done=expired&name=disk-full");
    let (_, body) = b.page(&location(&res)).await;
    assert!(body.contains("Silence disk-full expired"), "{body}");
    assert!(
        !between(&body, "id=\"h-active\"", "id=\"h-others\"").contains("disk-full"),
        "no longer active"
    );
    let row = between(&body, "id=\"silence-disk-full\"", "</tr>");
    assert!(row.contains("ended 2026-03-02 11:30 CET"), "{row}");
    assert!(!row.contains("Expire"), "{row}");
    assert!(
        audit_rows(&app, "silence.expire").await.len() == 1,
        "the expiry is audited"
    );

    // A crafted notice names nothing that is not there.
    let (_, body) = b.page("/silences?done=created&name=free-text").await;
    assert!(body.contains("Silence created"), "{body}");
    assert!(!body.contains("free-text"));
}

#[tokio::test]
async fn silence_problems_are_shown_next_to_their_field() {
    let app = spawn(true).await;
    let b = app.signed_in("dave").await;
    let csrf = b.csrf().await;
    let res = b
        .post(
            "/silences",
            &[
                ("csrf", csrf.as_str()),
                ("matchers", "alertname=DiskFull\r\n\r\nnot a matcher"),
                ("duration", "soon"),
                ("name", "Bad Name"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("aria-describedby=\"matchers-help matchers-error\" aria-invalid=\"true\""),
        "{body}"
    );
    let matchers = between(&body, "id=\"matchers-error\"", "</ul>");
    assert!(matchers.contains("line 3 (not a matcher)"), "{matchers}");
    let duration = between(&body, "id=\"duration-error\"", "</p>");
    assert!(duration.contains("is not a positive span"), "{duration}");
    assert!(body.contains("id=\"name-error\""), "{body}");
    assert!(body.contains("value=\"Bad Name\""), "the form is kept");
    assert_eq!(
        app.store
            .list_objects(Some(Kind::Silence))
            .await
            .unwrap()
            .len(),
        1,
        "only the demo's silence"
    );

    let res = b
        .post(
            "/silences/preview",
            &[("csrf", csrf.as_str()), ("matchers", "env=~\"(\"")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(
        between(&body, "id=\"matchers-error\"", "</ul>").contains("line 1"),
        "{body}"
    );
    assert!(!body.contains("id=\"h-preview\""));
}

#[tokio::test]
async fn silences_and_windows_are_refused_with_the_reason() {
    let app = spawn(true).await;
    let alice = app.signed_in("alice").await;
    let csrf = alice.csrf().await;
    let res = alice
        .post(
            "/silences",
            &[
                ("csrf", csrf.as_str()),
                ("matchers", "service=\"postgres\"\nalertname=DiskFull"),
                ("duration", "1h"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("alice is not a member of team platform"),
        "{body}"
    );
    assert!(
        body.contains("service=&#34;postgres&#34;"),
        "the form is kept"
    );

    // A viewer sees the forms; the use case says no.
    let carol = app.signed_in("carol").await;
    let csrf = carol.csrf().await;
    let (status, body) = carol.page("/maintenance").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("New maintenance window"));
    let res = carol
        .post(
            "/maintenance",
            &[
                ("csrf", csrf.as_str()),
                ("services", "checkout"),
                ("duration", "1h"),
                ("repeat", "none"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("carol has role viewer"),);
    // Expiring a silence of another team, or one config manages: the
    // refusal is the notice above the list.
    let dave = app.signed_in("dave").await;
    let dave_csrf = dave.csrf().await;
    let res = dave
        .post(
            "/silences",
            &[
                ("csrf", dave_csrf.as_str()),
                ("matchers", "service=\"postgres\""),
                ("duration", "1h"),
                ("name", "pg-quiet"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let alice_csrf = alice.csrf().await;
    let (_, body) = alice.page("/silences").await;
    assert!(
        body.contains("aria-label=\"Expire silence pg-quiet\""),
        "the button is there; the use case decides"
    );
    let res = alice
        .post("/silences/pg-quiet/expire", &[("csrf", &alice_csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body = res.text().await.unwrap();
    let notice = between(&body, "class=\"flash error\"", "</p>");
    assert!(
        notice.contains("alice is not a member of team platform"),
        "{notice}"
    );
    assert!(
        between(&body, "id=\"h-active\"", "id=\"h-others\"").contains("pg-quiet"),
        "still active"
    );
    let res = carol
        .post("/silences/staging-kafka-lag/expire", &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body = res.text().await.unwrap();
    assert!(
        between(&body, "class=\"flash error\"", "</p>").contains("managed by config"),
        "{body}"
    );
    assert_eq!(
        app.store
            .list_objects(Some(Kind::Silence))
            .await
            .unwrap()
            .len(),
        2,
        "the demo's and pg-quiet"
    );
    assert!(
        app.store
            .list_objects(Some(Kind::MaintenanceWindow))
            .await
            .unwrap()
            .len()
            == 1
    );
}

#[tokio::test]
async fn a_maintenance_window_is_listed_on_now_and_deleted() {
    let app = spawn(true).await;
    let b = app.signed_in("alice").await;
    let csrf = b.csrf().await;
    let (status, body) = b.page("/maintenance").await;
    assert_eq!(status, StatusCode::OK);
    let row = between(&body, "id=\"window-postgres-upgrades\"", "</tr>");
    for needle in [
        "href=\"/services/postgres\"",
        "weekly on Sundays at 03:00 (Europe/Berlin), from 2030-01-06",
        "2h each",
        "Not on now",
        // 03:00 Berlin is 03:00 Paris.
        "next: 2030-01-06 03:00 CET – 2030-01-06 05:00 CET",
        "managed in Git",
    ] {
        assert!(row.contains(needle), "{needle:?} missing: {row}");
    }
    assert!(!row.contains("Delete"));
    assert!(body.contains("href=\"/silences\""));
    assert!(
        body.contains(
            "id=\"starts_at\" name=\"starts_at\" type=\"datetime-local\" value=\"2026-03-02T11:00\""
        ),
        "now, in alice's Europe/Paris: {body}"
    );
    assert!(body.contains("id=\"time_zone\" name=\"time_zone\" value=\"Europe/Paris\""));

    let res = b
        .post(
            "/maintenance",
            &[
                ("csrf", csrf.as_str()),
                ("services", "checkout"),
                ("starts_at", "2026-03-02T11:00"),
                ("duration", "25h"),
                ("time_zone", "Europe/Paris"),
                ("repeat", "daily"),
                ("until", ""),
                ("reason", "Deploy"),
                ("name", "checkout-deploy"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"duration-error\""), "{body}");
    assert!(
        body.contains("<option value=\"checkout\" selected>"),
        "{body}"
    );

    let form = [
        ("csrf", csrf.as_str()),
        ("services", "checkout"),
        ("starts_at", "2026-03-02T11:00"),
        ("duration", "2h"),
        ("time_zone", "Europe/Paris"),
        ("repeat", "none"),
        ("until", ""),
        ("reason", "Deploy"),
        ("name", "checkout-deploy"),
    ];
    let res = b.post("/maintenance", &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        "/maintenance?done=created&name=checkout-deploy"
    );
    let (_, body) = b.page(&location(&res)).await;
    assert!(body.contains("Maintenance window checkout-deploy created"));
    let row = between(&body, "id=\"window-checkout-deploy\"", "</tr>");
    for needle in [
        "href=\"/services/checkout\"",
        "once, 2026-03-02 11:00 (Europe/Paris)",
        "<strong>On now</strong>, until 2026-03-02 13:00 CET",
        "Deploy",
        "aria-label=\"Delete maintenance window checkout-deploy\"",
    ] {
        assert!(row.contains(needle), "{needle:?} missing: {row}");
    }
    assert!(
        body.find("id=\"window-checkout-deploy\"") < body.find("id=\"window-postgres-upgrades\""),
        "on now comes first"
    );
    let res = b.post("/maintenance", &form).await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "the name is taken");
    assert!(res.text().await.unwrap().contains("id=\"name-error\""));

    // The service page says so, and counts the service's silences.
    let res = b
        .post(
            "/silences",
            &[
                ("csrf", csrf.as_str()),
                ("matchers", "service=\"checkout\"\nalertname=HighLatency"),
                ("duration", "1h"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "alice's own team");
    let (_, body) = b.page("/services/checkout").await;
    assert!(
        body.contains("In maintenance until 2026-03-02 13:00 CET (checkout-deploy)"),
        "{body}"
    );
    assert!(body.contains("Silenced: 1 silence(s)"), "{body}");
    let (_, body) = b.page("/services/ledger").await;
    assert!(!body.contains("In maintenance"));
    assert!(!body.contains("Silenced:"));

    let res = b
        .post("/maintenance/postgres-upgrades/delete", &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("managed by config"));

    let res = b
        .post("/maintenance/checkout-deploy/delete", &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/maintenance?done=deleted");
    let (_, body) = b.page("/maintenance?done=deleted").await;
    assert!(body.contains("Maintenance window deleted."));
    assert!(!body.contains("window-checkout-deploy"));
    let (_, body) = b.page("/services/checkout").await;
    assert!(!body.contains("In maintenance"));
}

#[tokio::test]
async fn noise_forms_need_the_csrf_token() {
    let app = spawn(true).await;
    let b = app.signed_in("dave").await;
    for form in [vec![], vec![("csrf", "forged")]] {
        let mut silence = form.clone();
        silence.extend([("matchers", "alertname=DiskFull"), ("duration", "2h")]);
        for path in ["/silences", "/silences/preview"] {
            let res = b.post(path, &silence).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
            assert!(
                res.text()
                    .await
                    .unwrap()
                    .contains("did not come from your current session")
            );
        }
        let mut window = form.clone();
        window.extend([("services", "checkout"), ("duration", "2h")]);
        assert_eq!(
            b.post("/maintenance", &window).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            b.post("/silences/staging-kafka-lag/expire", &form)
                .await
                .status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            b.post("/maintenance/postgres-upgrades/delete", &form)
                .await
                .status(),
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        app.store
            .list_objects(Some(Kind::Silence))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.store
            .list_objects(Some(Kind::MaintenanceWindow))
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Sends one generic event of any action to the demo's platform-generic
/// integration (service postgres).
async fn send_platform(app: &support::App, event: serde_json::Value) {
    let key = app
        .store
        .get_object(Kind::Integration, &Name::parse("platform-generic").unwrap())
        .await
        .unwrap()
        .unwrap()
        .secret
        .unwrap();
    let res = app
        .browser()
        .http
        .post(format!("{}/integrations/{key}/events", app.base))
        .json(&event)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{:?}", res.text().await);
}

/// The incident list and page: what ingestion opened, its alerts, its
/// timeline of events and the service's recent changes, readable by a
/// viewer; resolved incidents are listed only when asked.
#[tokio::test]
async fn incidents_are_listed_and_shown_with_timeline_and_recent_changes() {
    let app = spawn(true).await;
    send_platform(
        &app,
        serde_json::json!({"action": "change", "summary": "Upgraded postgres to 16.4"}),
    )
    .await;
    send_generic(&app, "d1", "DiskFull").await;
    send_platform(
        &app,
        serde_json::json!({"action": "acknowledge", "dedup_key": "d1"}),
    )
    .await;
    let b = app.signed_in("carol").await;
    let (status, body) = b.page("/incidents").await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        "<a href=\"/incidents\" aria-current=\"page\">Incidents</a>",
        "<a href=\"/incidents/1\">#1</a>",
        "<a href=\"/services/postgres\">postgres</a>",
        "acknowledged",
    ] {
        assert!(body.contains(needle), "{needle:?} missing: {body}");
    }
    let (status, body) = b.page("/incidents/1").await;
    assert_eq!(status, StatusCode::OK);
    let timeline = between(&body, "id=\"timeline-h\"", "</section>");
    let trig = timeline
        .find("triggered")
        .expect("the trigger is on the timeline");
    let ack = timeline
        .find("acknowledged")
        .expect("the ack is on the timeline");
    assert!(trig < ack, "oldest first: {timeline}");
    let changes = between(&body, "id=\"changes-h\"", "</section>");
    assert!(
        changes.contains("Upgraded postgres to 16.4"),
        "recent changes: {changes}"
    );
    assert!(body.contains("<code class=\"muted\">d1</code>"), "{body}");

    // Resolved: gone from the default list, there with show=all.
    send_platform(
        &app,
        serde_json::json!({"action": "resolve", "dedup_key": "d1"}),
    )
    .await;
    let (_, body) = b.page("/incidents").await;
    assert!(body.contains("No open incident."), "{body}");
    let (_, body) = b.page("/incidents?show=all").await;
    assert!(body.contains("<a href=\"/incidents/1\">#1</a>"), "{body}");
    let (status, _) = b.page("/incidents/999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = b.page("/incidents/x").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Paging someone by hand: carol (viewer) may not, dave (platform) may.
    let csrf = b.csrf().await;
    let form = [
        ("csrf", csrf.as_str()),
        ("target", "user:alice"),
        ("message", "you know this disk"),
    ];
    let res = b.post("/incidents/1/page", &form).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let send_again = serde_json::json!({"action": "trigger", "dedup_key": "d2",
        "summary": "Disk full again", "severity": "sev2"});
    send_platform(&app, send_again).await;
    let d = app.signed_in("dave").await;
    let csrf = d.csrf().await;
    let (_, body) = d.page("/incidents?show=all").await;
    assert!(body.contains("/incidents/2"), "{body}");
    let form = [
        ("csrf", csrf.as_str()),
        ("target", "user:alice"),
        ("message", "you know this disk"),
    ];
    let res = d.post("/incidents/2/page", &form).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let (_, body) = d.page("/incidents/2").await;
    assert!(
        body.contains("paged alice by hand (via user:alice)"),
        "{body}"
    );
    let res = d
        .post(
            "/incidents/2/page",
            &[
                ("csrf", csrf.as_str()),
                ("target", "robot:x"),
                ("message", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The lifecycle buttons: acknowledge, resolve with a note, reopen,
    // reassign; each on the page's record.
    let (_, body) = d.page("/incidents/2").await;
    assert!(body.contains("/incidents/2/acknowledge"), "{body}");
    let res = d
        .post("/incidents/2/acknowledge", &[("csrf", csrf.as_str())])
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let res = d
        .post("/incidents/2/acknowledge", &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "twice");
    let res = d
        .post(
            "/incidents/2/page",
            &[
                ("csrf", csrf.as_str()),
                ("target", "user:erin"),
                ("message", "over to you"),
                ("mode", "reassign"),
            ],
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let (_, body) = d.page("/incidents/2").await;
    assert!(body.contains("reassigned by dave to user:erin"), "{body}");
    assert!(body.contains("<dd>triggered</dd>"), "{body}");
    let res = d
        .post(
            "/incidents/2/resolve",
            &[("csrf", csrf.as_str()), ("note", "freed 40 GB")],
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let (_, body) = d.page("/incidents/2").await;
    assert!(body.contains("resolved by dave: freed 40 GB"), "{body}");
    assert!(body.contains("/incidents/2/reopen"), "{body}");
    let res = d
        .post(
            "/incidents/2/reopen",
            &[("csrf", csrf.as_str()), ("note", "")],
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let (_, body) = d.page("/incidents/2").await;
    assert!(
        body.contains("reopened by dave; escalation starts again"),
        "{body}"
    );
    let res = d.post("/incidents/2/resolve", &[("csrf", "wrong")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "CSRF checked");

    // The one-click acknowledge link of a page: no session needed; GET
    // only shows a button (mail scanners follow links), POST acknowledges.
    let signer = tocsin_core::notify::AckSigner::from_store(app.store.as_ref())
        .await
        .unwrap();
    let now = tocsin_core::clock::Clock::now(&app.clock);
    let dave = tocsin_domain::Name::parse("dave").unwrap();
    let token = signer.token(2, &dave, now + jiff::SignedDuration::from_hours(1));
    let anon = reqwest::Client::builder().no_proxy().build().unwrap();
    let res = anon
        .get(format!("{}/ack/{token}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("<button type=\"submit\">Acknowledge</button>"),
        "{body}"
    );
    let (_, page) = d.page("/incidents/2").await;
    assert!(
        page.contains("<dd>triggered</dd>"),
        "GET changed nothing: {page}"
    );
    let res = anon
        .post(format!("{}/ack/{token}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Acknowledged by dave."));
    let (_, page) = d.page("/incidents/2").await;
    assert!(page.contains("<dd>acknowledged</dd>"), "{page}");
    assert!(
        page.contains("acknowledged by dave (acknowledge link)"),
        "{page}"
    );
    let res = anon
        .post(format!("{}/ack/{token}", app.base))
        .send()
        .await
        .unwrap();
    assert!(
        res.text().await.unwrap().contains("Nothing to do"),
        "twice is harmless"
    );
    let forged = token.replacen("2.", "1.", 1);
    let res = anon
        .post(format!("{}/ack/{forged}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let expired = signer.token(2, &dave, now - jiff::SignedDuration::from_secs(1));
    let res = anon
        .get(format!("{}/ack/{expired}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("expired"));
}

/// Who the demo's `payments-primary` has on call at `t`, worked out by hand
/// from its rule: weekly turns handed over on Mondays at 09:00 Paris time
/// from Monday 2026-01-05, alice, bob, carol, alice… (Paris is UTC+1 until
/// 29 March, so 09:00 there is 08:00Z.)
fn payments_primary_at(t: jiff::Timestamp) -> &'static str {
    let turn0: jiff::Timestamp = "2026-01-05T08:00:00Z".parse().unwrap();
    let weeks = t.duration_since(turn0).as_hours() / (24 * 7);
    ["alice", "bob", "carol"][(weeks % 3) as usize]
}

#[tokio::test]
async fn a_schedule_page_shows_who_is_on_call_and_the_picture() {
    let app = spawn(true).await;
    let now = tocsin_core::clock::Clock::now(&app.clock);
    // 2026-03-02T10:00Z is 8 weeks and 2 hours after turn 0: turn 8, carol,
    // until Monday 9 March 09:00 Paris.
    let who = payments_primary_at(now);
    assert_eq!(who, "carol");
    let b = app.signed_in("alice").await;
    let (status, body) = b.page("/schedules/payments-primary").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for needle in [
        "<h1>Schedule payments-primary</h1>",
        "href=\"/teams/payments\"",
        "Europe/Paris",
        "your profile's time zone",
        "<strong>carol</strong></a>",
        " until Mon 9 Mar 09:00",
        // The picture, with its text equivalent.
        "<svg role=\"img\"",
        "<title id=\"sched-title\">On-call schedule payments-primary, Mon 2 Mar 2026 – Sun 15 Mar 2026 (Europe/Paris)</title>",
        "<desc id=\"sched-desc\">",
        ">\nLayer weekly\n<",
        ">\nOverrides\n<",
        ">\nFinal\n<",
        // The table of final shifts, in Paris time from today 00:00.
        "<caption>Final shifts, Mon 2 Mar 2026 – Sun 15 Mar 2026</caption>",
        "<td>Mon 2 Mar 00:00 – Mon 2 Mar 09:00</td><td><a href=\"/users/bob\">bob</a>",
        "<td>Mon 2 Mar 09:00 – Mon 9 Mar 09:00</td><td><a href=\"/users/carol\">carol</a>",
        "<td>Mon 9 Mar 09:00 – Mon 16 Mar 00:00</td>",
        // The layer in words.
        "<strong>weekly</strong>",
        "turns of <code>1w</code>, handing over at 09:00 (Europe/Paris), the first turn on 2026-01-05",
        "No restrictions",
        "No override is declared",
        // Moving about.
        "href=\"/schedules/payments-primary?from=2026-02-16\"",
        "href=\"/schedules/payments-primary?from=2026-03-16\"",
    ] {
        assert!(
            body.contains(needle),
            "{needle:?} missing from the schedule page: {body}"
        );
    }
    assert!(
        !body.contains("Nobody is on call"),
        "no gap in a 24×7 rotation"
    );

    // Someone else sees the same schedule in their own zone (New York is
    // UTC−4 from 8 March: 08:00Z is 04:00 there).
    let (_, body) = app
        .signed_in("carol")
        .await
        .page("/schedules/payments-primary?days=7&from=2026-03-03")
        .await;
    assert!(body.contains(" until Mon 9 Mar 04:00"), "{body}");
    assert!(body.contains("Times are in America/New_York"), "{body}");
    assert!(body.contains("Tue 3 Mar 2026 – Mon 9 Mar 2026"), "{body}");
    assert!(
        body.contains("href=\"/schedules/payments-primary?from=2026-03-10&#38;days=7\""),
        "{body}"
    );

    for (query, field) in [
        ("?days=0", "days:"),
        ("?days=40", "days:"),
        ("?days=seven", "days:"),
        ("?from=bad", "from:"),
    ] {
        let (status, body) = b.page(&format!("/schedules/payments-primary{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(body.contains(field), "{query}: {body}");
    }
    let (status, body) = b.page("/schedules/no-such-schedule").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("there is no schedule named"), "{body}");
    assert_eq!(
        b.page("/schedules/Not%20A%20Name").await.0,
        StatusCode::NOT_FOUND
    );

    let (status, body) = b.page("/schedules").await;
    assert_eq!(status, StatusCode::OK);
    let row = body
        .split("<tr>")
        .find(|r| r.contains("href=\"/schedules/payments-primary\""))
        .expect("payments-primary is listed");
    assert!(row.contains("href=\"/users/carol\""), "{row}");
    assert!(row.contains("href=\"/teams/payments\""), "{row}");
    assert!(row.contains("Mon 9 Mar 09:00 CET"), "{row}");
    assert!(body.contains("href=\"/schedules/platform-follow-the-sun\""));

    let (_, body) = b.page("/teams/payments").await;
    assert!(
        body.contains("href=\"/schedules/payments-primary\""),
        "{body}"
    );
    assert!(body.contains("href=\"/schedules\""));
    let (_, body) = b.page("/services").await;
    assert!(body.contains("href=\"/schedules\""));
}

#[tokio::test]
async fn a_schedule_with_restrictions_warns_of_its_gaps() {
    let app = spawn(true).await;
    // The demo's follow-the-sun covers weekdays 07:00–19:00 in Berlin
    // (06:00–18:00Z) and in Tokyo (22:00Z the day before – 10:00Z): nobody
    // from 18:00Z to 22:00Z, and from Friday 18:00Z to Sunday 22:00Z.
    let b = app.signed_in("dave").await;
    let (status, body) = b
        .page("/schedules/platform-follow-the-sun?from=2026-03-02&days=7")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for needle in [
        "Times are in Europe/Berlin",
        "Nobody is on call: Mon 2 Mar 19:00 – Mon 2 Mar 23:00",
        "Nobody is on call: Fri 6 Mar 19:00 – Sun 8 Mar 23:00",
        "<td>Mon 2 Mar 19:00 – Mon 2 Mar 23:00</td><td><strong class=\"nobody\">nobody</strong>",
        ">\nnobody\n<",
        ">\noff\n<",
        "Only on: Mon, Tue, Wed, Thu, Fri 07:00–19:00 (Europe/Berlin)",
        "Only on: Mon, Tue, Wed, Thu, Fri 07:00–19:00 (Asia/Tokyo)",
    ] {
        assert!(body.contains(needle), "{needle:?} missing: {body}");
    }
    // dave is on call now (10:00Z is inside Berlin's window, and Tokyo's
    // closed at 10:00Z).
    assert!(
        body.contains("<strong>dave</strong></a> until Mon 2 Mar 19:00"),
        "{body}"
    );
}

#[tokio::test]
async fn a_schedule_page_draws_and_lists_overrides() {
    let app = spawn(true).await;
    let name = Name::parse("payments-primary").unwrap();
    let row = app
        .store
        .get_object(Kind::Schedule, &name)
        .await
        .unwrap()
        .unwrap();
    let mut spec = row.spec.clone();
    spec["overrides"] = serde_json::json!([
        {"user": "erin", "replaces": "carol", "start": "2026-03-04T18:00:00+01:00", "end": "2026-03-05T09:00:00+01:00"},
        {"user": "dave", "start": "2026-03-06T00:00:00+01:00", "end": "2026-03-06T20:00:00+01:00"}
    ]);
    app.store
        .apply_catalog(
            &[tocsin_store::CatalogWrite::Update {
                id: row.id.clone(),
                expected_version: row.version,
                spec,
                managed: row.managed,
                source: row.source.clone(),
                secret: None,
            }],
            &[],
            tocsin_core::clock::Clock::now(&app.clock),
        )
        .await
        .unwrap();
    let b = app.signed_in("alice").await;
    let (status, body) = b
        .page("/schedules/payments-primary?from=2026-03-04&days=3")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for needle in [
        "erin for carol: Wed 4 Mar 18:00 – Thu 5 Mar 09:00",
        "dave (whole schedule): Fri 6 Mar 00:00 – Fri 6 Mar 20:00",
        ">\nerin for carol\n<",
        ">\ndave (whole schedule)\n<",
        "<td>Wed 4 Mar 18:00 – Thu 5 Mar 09:00</td><td><a href=\"/users/erin\">erin</a>",
    ] {
        assert!(body.contains(needle), "{needle:?} missing: {body}");
    }
}

/// The run-time overrides stored for a schedule, by name.
async fn runtime_overrides(app: &support::App) -> Vec<tocsin_domain::catalog::ScheduleOverride> {
    app.store
        .list_objects(Some(Kind::ScheduleOverride))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|c| {
            match tocsin_domain::catalog::Object::from_spec(Kind::ScheduleOverride, c.spec) {
                Ok(tocsin_domain::catalog::Object::ScheduleOverride(o)) => Some(o),
                _ => None,
            }
        })
        .collect()
}

#[tokio::test]
async fn an_override_is_added_and_removed_on_the_schedule_page() {
    let app = spawn(true).await;
    let b = app.signed_in("dave").await;
    let csrf = b.csrf().await;
    let (status, body) = b.page("/schedules/payments-primary").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for needle in [
        "No override has been made here",
        "<h3 id=\"h-add\">Add an override</h3>",
        "action=\"/schedules/payments-primary/overrides\"",
        "<option value=\"alice\">alice</option>",
        "<option value=\"\" selected>The whole schedule</option>",
        "type=\"datetime-local\"",
        // dave's profile zone.
        "<legend>When (Europe/Berlin)</legend>",
    ] {
        assert!(body.contains(needle), "{needle:?} missing: {body}");
    }

    // carol is on call this week; alice covers her 12:00–18:00 in dave's
    // Europe/Berlin (like Paris, UTC+1 in March): 11:00–17:00Z.
    let form = [
        ("csrf", csrf.as_str()),
        ("user", "alice"),
        ("replaces", "carol"),
        ("start", "2026-03-02T12:00"),
        ("end", "2026-03-02T18:00"),
        ("reason", "carol at the dentist"),
    ];
    let res = b.post("/schedules/payments-primary/overrides", &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        "/schedules/payments-primary?done=override-added"
    );
    let stored = runtime_overrides(&app).await;
    assert_eq!(stored.len(), 1);
    let o = &stored[0];
    assert_eq!(
        (o.start.as_str(), o.end.as_str()),
        ("2026-03-02T11:00:00Z", "2026-03-02T17:00:00Z")
    );
    assert_eq!(o.created_by.as_deref(), Some("dave"));
    let override_name = o.name.to_string();

    let (status, body) = b.page(&location(&res)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Override added"), "{body}");
    let list = between(&body, "id=\"h-runtime\"", "id=\"h-add\"");
    for needle in [
        format!("id=\"override-{override_name}\""),
        "<a href=\"/users/alice\">alice</a> for <a href=\"/users/carol\">carol</a>".into(),
        "Mon 2 Mar 12:00 – Mon 2 Mar 18:00".into(),
        "carol at the dentist".into(),
        "<td class=\"opt\">dave</td>".into(),
        format!("action=\"/schedules/payments-primary/overrides/{override_name}/delete\""),
        ">Remove</button>".into(),
    ] {
        assert!(list.contains(&needle), "{needle:?} missing: {list}");
    }
    for needle in [
        "<td>Mon 2 Mar 09:00 – Mon 2 Mar 12:00</td><td><a href=\"/users/carol\">carol</a>",
        "<td>Mon 2 Mar 12:00 – Mon 2 Mar 18:00</td><td><a href=\"/users/alice\">alice</a>",
        "<td>Mon 2 Mar 18:00 – Mon 9 Mar 09:00</td><td><a href=\"/users/carol\">carol</a>",
        "No override is declared",
    ] {
        assert!(body.contains(needle), "{needle:?} missing: {body}");
    }
    // The picture's overrides row has it (labelled where there is room).
    let (_, body) = b.page("/schedules/payments-primary?days=1").await;
    assert!(body.contains(">\nalice for carol\n<"), "{body}");
    // At 12:30 in Berlin, alice is the one on call.
    app.clock.advance(SignedDuration::from_mins(150));
    let (_, body) = b.page("/schedules/payments-primary").await;
    assert!(
        body.contains("<strong>alice</strong></a> until Mon 2 Mar 18:00"),
        "{body}"
    );

    // alice (responder) may not: the reason is on the page, the form kept.
    let a = app.signed_in("alice").await;
    let alice_csrf = a.csrf().await;
    let mut theirs = form;
    theirs[0].1 = alice_csrf.as_str();
    let res = a
        .post("/schedules/payments-primary/overrides", &theirs)
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body = res.text().await.unwrap();
    let problems = between(&body, "id=\"override-problems\"", "</div>");
    assert!(
        problems.contains("Not allowed: alice has role responder")
            && problems.contains("needs manager or more"),
        "{problems}"
    );
    assert!(body.contains("value=\"2026-03-02T12:00\""), "{body}");
    assert!(body.contains("value=\"carol at the dentist\""), "{body}");
    let res = a
        .post(
            &format!("/schedules/payments-primary/overrides/{override_name}/delete"),
            &[("csrf", alice_csrf.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Not allowed: alice has role responder")
    );
    assert_eq!(runtime_overrides(&app).await.len(), 1);

    // An end before the start: 422, the message at the end field.
    let res = b
        .post(
            "/schedules/payments-primary/overrides",
            &[
                ("csrf", csrf.as_str()),
                ("user", "bob"),
                ("replaces", ""),
                ("start", "2026-03-03T18:00"),
                ("end", "2026-03-03T12:00"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    let error = between(&body, "id=\"o-end-error\"", "</p>");
    assert!(error.contains("must be after start"), "{error}");
    assert!(body.contains("id=\"o-end\" name=\"end\" type=\"datetime-local\" value=\"2026-03-03T12:00\" aria-invalid=\"true\""), "{body}");
    assert!(!body.contains("id=\"o-start-error\""), "{body}");
    let res = b
        .post(
            "/schedules/payments-primary/overrides",
            &[("csrf", csrf.as_str()), ("user", "bob"), ("start", "soon")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(
        between(&body, "id=\"o-start-error\"", "</p>").contains("is not a date and time"),
        "{body}"
    );
    assert_eq!(runtime_overrides(&app).await.len(), 1, "nothing made");

    // The CSRF token is needed to add and to remove.
    for token in [None, Some("forged")] {
        let mut add = vec![
            ("user", "bob"),
            ("start", "2026-03-03T12:00"),
            ("end", "2026-03-03T18:00"),
        ];
        let mut remove = vec![];
        if let Some(t) = token {
            add.push(("csrf", t));
            remove.push(("csrf", t));
        }
        let res = b.post("/schedules/payments-primary/overrides", &add).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("did not come from your current session")
        );
        let res = b
            .post(
                &format!("/schedules/payments-primary/overrides/{override_name}/delete"),
                &remove,
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(runtime_overrides(&app).await.len(), 1, "nothing changed");

    // Removed: carol has the whole week again.
    let res = b
        .post(
            &format!("/schedules/payments-primary/overrides/{override_name}/delete"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        "/schedules/payments-primary?done=override-removed"
    );
    assert!(runtime_overrides(&app).await.is_empty());
    let (_, body) = b.page(&location(&res)).await;
    for needle in [
        "Override removed",
        "No override has been made here",
        "<td>Mon 2 Mar 09:00 – Mon 9 Mar 09:00</td><td><a href=\"/users/carol\">carol</a>",
    ] {
        assert!(body.contains(needle), "{needle:?} missing: {body}");
    }
    let res = b
        .post(
            &format!("/schedules/payments-primary/overrides/{override_name}/delete"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "already gone");
    for action in ["catalog.create", "catalog.delete"] {
        let rows = audit_rows(&app, action).await;
        let ours: Vec<_> = rows.iter().filter(|r| r.contains(&override_name)).collect();
        assert_eq!(ours.len(), 1, "{action} is audited: {rows:?}");
        assert!(ours[0].contains("dave"), "{:?}", ours[0]);
    }
}

#[tokio::test]
async fn a_fire_drill_is_run_from_the_service_page() {
    let app = spawn(true).await;
    let b = app.signed_in("dave").await;
    let csrf = b.csrf().await;
    let (status, body) = b.page("/services/checkout").await;
    assert_eq!(status, StatusCode::OK);
    let call = between(&body, "id=\"h-call\"", "</section>");
    for needle in [
        "action=\"/services/checkout/drill\"",
        ">Run a fire drill</button>",
        "Sev1 incident through this service's escalation: people will be paged",
    ] {
        assert!(call.contains(needle), "{needle:?} missing: {call}");
    }

    let res = b
        .post("/services/checkout/drill", &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    assert!(to.starts_with("/incidents/"), "{to}");
    let (status, body) = b.page(&to).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let number = to.trim_start_matches("/incidents/");
    assert!(
        body.contains(&format!("<h1>#{number} [DRILL]")),
        "the title says it is a drill: {body}"
    );
    assert!(body.contains("href=\"/services/checkout\""), "{body}");

    // carol (viewer) may not; nor without the CSRF token.
    let c = app.signed_in("carol").await;
    let carol_csrf = c.csrf().await;
    let res = c
        .post("/services/checkout/drill", &[("csrf", carol_csrf.as_str())])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body = res.text().await.unwrap();
    assert!(body.contains("carol has role viewer"), "{body}");
    let res = b.post("/services/checkout/drill", &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, body) = b.page("/incidents").await;
    assert_eq!(body.matches("[DRILL]").count(), 1, "one drill only: {body}");
}

// ---------------------------------------------------------------------
// Running an incident from the web (issue 7): declaring, the incident
// page's forms, the one timeline, closing, and the filtered list.
// ---------------------------------------------------------------------

/// Declares an incident through the form as `b`; its number.
async fn declare(
    b: &support::Browser,
    csrf: &str,
    title: &str,
    service: &str,
    severity: &str,
    page: bool,
) -> i64 {
    let mut form = vec![
        ("csrf", csrf),
        ("title", title),
        ("service", service),
        ("severity", severity),
        ("summary", ""),
    ];
    if page {
        form.push(("page", "1"));
    }
    let res = b.post("/incidents/declare", &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "declare {title}");
    let to = location(&res);
    let n = to
        .strip_prefix("/incidents/")
        .and_then(|r| r.strip_suffix("?done=declared"))
        .unwrap_or_else(|| panic!("redirected to {to}"));
    n.parse().unwrap()
}

/// Posts a form of incident `n`'s page; the response.
async fn act(
    b: &support::Browser,
    n: i64,
    what: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("csrf", csrf)];
    form.extend_from_slice(fields);
    b.post(&format!("/incidents/{n}/{what}"), &form).await
}

/// Posts a form that must succeed (redirect back to incident `n`), and
/// the page it redirects to.
async fn done(
    b: &support::Browser,
    n: i64,
    what: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> String {
    let res = act(b, n, what, csrf, fields).await;
    let status = res.status();
    let to = location(&res);
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{what} {fields:?}: {}",
        res.text().await.unwrap()
    );
    assert!(to.starts_with("/incidents/"), "{to}");
    let (status, body) = b.page(&to).await;
    assert_eq!(status, StatusCode::OK);
    body
}

/// Posts a form that must be refused with 422; the page shown.
async fn refused(
    b: &support::Browser,
    n: i64,
    what: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> String {
    let res = act(b, n, what, csrf, fields).await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "{what} {fields:?}"
    );
    res.text().await.unwrap()
}

/// The timeline's `<li>` containing `text`.
fn timeline_li<'a>(body: &'a str, text: &str) -> &'a str {
    let timeline = between(body, "<ol id=\"timeline\"", "</ol>");
    timeline
        .split("<li ")
        .find(|li| li.contains(text))
        .unwrap_or_else(|| panic!("{text:?} not on the timeline: {timeline}"))
}

/// The timeline entry id of the `<li>` containing `text`.
fn entry_id(body: &str, text: &str) -> String {
    let li = timeline_li(body, text);
    let rest = li
        .strip_prefix("data-id=\"")
        .unwrap_or_else(|| panic!("not an entry: {li}"));
    rest.split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn an_incident_is_declared_from_the_form() {
    let app = spawn(true).await;
    let b = app.signed_in("alice").await;
    let (_, list) = b.page("/incidents").await;
    assert!(
        list.contains("<a class=\"button\" href=\"/incidents/declare\">Declare incident</a>"),
        "{list}"
    );
    let (status, form) = b.page("/incidents/declare").await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        "<label for=\"title\">Title</label>",
        ">Sev1 — complete outage</option>",
        "<dt>Sev2</dt><dd>major functionality broken or revenue affected</dd>",
        "name=\"page\" value=\"1\" checked",
        "<label for=\"page\">Page the service's on-call now</label>",
        "<select id=\"also\" name=\"also\" multiple",
    ] {
        assert!(form.contains(needle), "{needle:?} missing: {form}");
    }
    let csrf = csrf_of(&form);

    // An empty title: the form again, the message at the title, the rest kept.
    let res = b
        .post(
            "/incidents/declare",
            &[
                ("csrf", csrf.as_str()),
                ("title", "  "),
                ("service", "checkout"),
                ("also", "ledger"),
                ("severity", "sev2"),
                ("summary", "Card payments fail at the last step"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    for needle in [
        "<p id=\"title-error\" class=\"field-error\">title: must not be empty</p>",
        "aria-describedby=\"title-help title-error\" aria-invalid=\"true\"",
        "Card payments fail at the last step</textarea>",
        "<option value=\"checkout\" selected>checkout</option>",
        "<option value=\"ledger\" selected>ledger</option>",
        "<option value=\"sev2\" title=\"major functionality broken or revenue affected\" selected>",
    ] {
        assert!(body.contains(needle), "{needle:?} missing: {body}");
    }
    assert!(
        !body.contains("name=\"page\" value=\"1\" checked"),
        "the unticked box stays unticked"
    );
    assert!(
        app.store
            .search_incidents(&tocsin_store::IncidentFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty(),
        "nothing declared"
    );

    // Without paging: acknowledged, alice commands.
    let res = b
        .post(
            "/incidents/declare",
            &[
                ("csrf", csrf.as_str()),
                ("title", "Checkout rejects cards"),
                ("service", "checkout"),
                ("also", "ledger"),
                ("severity", "sev2"),
                ("summary", "Card payments fail at the last step"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/incidents/1?done=declared");
    let (_, body) = b.page("/incidents/1?done=declared").await;
    for needle in [
        "<h1>#1 Checkout rejects cards</h1>",
        "Incident declared.",
        "<dt>Status</dt><dd>acknowledged</dd>",
        "<dd>Sev2 <span class=\"muted\">— major functionality broken or revenue affected</span></dd>",
        "<a href=\"/services/checkout\">checkout</a>, <a href=\"/services/ledger\">ledger</a>",
        "<p id=\"summary\">Card payments fail at the last step</p>",
    ] {
        assert!(body.contains(needle), "{needle:?} missing: {body}");
    }
    let commander = between(&body, "<th scope=\"row\">incident commander</th>", "</tr>");
    assert!(
        commander.contains("<a href=\"/users/alice\">alice</a>"),
        "{commander}"
    );
    let declared = timeline_li(&body, "declared by alice as Sev2: Checkout rejects cards");
    assert!(declared.contains("— alice, via web"), "{declared}");

    // Paging: triggered, and the page job is queued with it.
    let n = declare(&b, &csrf, "Ledger batch late", "ledger", "sev3", true).await;
    assert_eq!(n, 2);
    let (_, body) = b.page("/incidents/2").await;
    assert!(body.contains("<dt>Status</dt><dd>triggered</dd>"), "{body}");
    assert!(body.contains("(paged)"), "{body}");

    // A viewer is not offered the button, nor the form, nor may post it.
    let c = app.signed_in("carol").await;
    let carol_csrf = c.csrf().await;
    let (_, list) = c.page("/incidents").await;
    assert!(!list.contains("/incidents/declare"), "{list}");
    let (status, body) = c.page("/incidents/declare").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("carol has role viewer"), "{body}");
    let res = c
        .post(
            "/incidents/declare",
            &[
                ("csrf", carol_csrf.as_str()),
                ("title", "Mine"),
                ("service", "checkout"),
                ("severity", "sev3"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(app.store.get_incident(3).await.unwrap().is_none());
}

#[tokio::test]
async fn every_form_of_the_incident_page_writes_and_shows() {
    let app = spawn(true).await;
    let b = app.signed_in("alice").await;
    let csrf = b.csrf().await;
    let n = declare(
        &b,
        &csrf,
        "Checkout rejects cards",
        "checkout",
        "sev2",
        false,
    )
    .await;

    // Severity, with the definitions in view; the same one twice is refused.
    let (_, body) = b.page(&format!("/incidents/{n}")).await;
    assert!(
        body.contains(">Sev4 — redundant component failure</option>"),
        "{body}"
    );
    let body = done(&b, n, "severity", &csrf, &[("severity", "sev1")]).await;
    assert!(body.contains("<dd>Sev1 <span class=\"muted\">— complete outage</span></dd>"));
    assert!(body.contains("Severity changed."), "{body}");
    timeline_li(&body, "severity changed from Sev2 to Sev1 by alice");
    let body = refused(&b, n, "severity", &csrf, &[("severity", "sev1")]).await;
    assert!(
        body.contains(
            "<p id=\"severity-error\" class=\"field-error\">incident #1 is already Sev1</p>"
        ),
        "{body}"
    );

    // Title and summary; an empty title keeps what was typed.
    let body = done(
        &b,
        n,
        "describe",
        &csrf,
        &[
            ("title", "Checkout rejects Visa cards"),
            ("summary", "Only Visa; Mastercard works"),
        ],
    )
    .await;
    assert!(
        body.contains("<h1>#1 Checkout rejects Visa cards</h1>"),
        "{body}"
    );
    assert!(body.contains("<p id=\"summary\">Only Visa; Mastercard works</p>"));
    let body = done(
        &b,
        n,
        "describe",
        &csrf,
        &[
            ("title", "Checkout rejects Visa cards"),
            ("summary", "Only Visa; Mastercard works"),
        ],
    )
    .await;
    assert!(body.contains("Nothing changed"), "{body}");
    let body = refused(
        &b,
        n,
        "describe",
        &csrf,
        &[("title", ""), ("summary", "Visa and Amex")],
    )
    .await;
    for needle in [
        "<p id=\"describe-error\" class=\"field-error\">title: must not be empty</p>",
        "name=\"title\" value=\"\" maxlength=\"200\" aria-invalid=\"true\"",
        "Visa and Amex</textarea>",
        "<p class=\"flash error\" role=\"status\">Not done: title: must not be empty",
    ] {
        assert!(body.contains(needle), "{needle:?} missing: {body}");
    }

    // Another service.
    let body = done(&b, n, "services", &csrf, &[("service", "ledger")]).await;
    assert!(
        body.contains(", <a href=\"/services/ledger\">ledger</a></dd>"),
        "{body}"
    );
    timeline_li(&body, "ledger added as affected by alice");

    // Roles: hand the command to bob, a scribe given and taken back, an
    // unknown user refused at the form.
    let body = done(
        &b,
        n,
        "roles",
        &csrf,
        &[("role", "commander"), ("user", "bob")],
    )
    .await;
    let commander = between(&body, "<th scope=\"row\">incident commander</th>", "</tr>");
    assert!(
        commander.contains("<a href=\"/users/bob\">bob</a>"),
        "{commander}"
    );
    assert!(!commander.contains("/users/alice\">"), "{commander}");
    timeline_li(
        &body,
        "incident commander handed over from alice to bob by alice",
    );
    let body = done(
        &b,
        n,
        "roles",
        &csrf,
        &[("role", "scribe"), ("user", "carol")],
    )
    .await;
    let scribe = between(&body, "<th scope=\"row\">scribe</th>", "</tr>");
    assert!(
        scribe.contains("<a href=\"/users/carol\">carol</a>"),
        "{scribe}"
    );
    let body = done(
        &b,
        n,
        "roles/remove",
        &csrf,
        &[("role", "scribe"), ("user", "carol")],
    )
    .await;
    let scribe = between(&body, "<th scope=\"row\">scribe</th>", "</tr>");
    assert!(scribe.contains("nobody"), "{scribe}");
    timeline_li(&body, "carol is no longer scribe");
    let body = refused(
        &b,
        n,
        "roles",
        &csrf,
        &[("role", "communications"), ("user", "nobody")],
    )
    .await;
    assert!(
        body.contains("<p id=\"role-communications-error\" class=\"field-error\">user: no user named nobody</p>"),
        "{body}"
    );
    assert!(
        body.contains("id=\"role-communications-user\" name=\"user\" aria-invalid=\"true\""),
        "{body}"
    );

    // Responders added by paging a person.
    let body = done(
        &b,
        n,
        "page",
        &csrf,
        &[("target", "user:erin"), ("message", "knows the proxy")],
    )
    .await;
    let responders = between(&body, "<th scope=\"row\">responder</th>", "</tr>");
    assert!(
        responders.contains("<a href=\"/users/erin\">erin</a>"),
        "{responders}"
    );
    timeline_li(&body, "alice added responders from user:erin: erin");
    timeline_li(&body, "paged erin by hand (via user:erin): knows the proxy");

    // A note, with who and from where; pinned as a key moment.
    let body = done(
        &b,
        n,
        "notes",
        &csrf,
        &[("text", "restarted the card tokenizer")],
    )
    .await;
    let li = timeline_li(&body, "restarted the card tokenizer");
    assert!(li.contains("data-kind=\"note\""), "{li}");
    let id = entry_id(&body, "restarted the card tokenizer");
    let text = format!(
        "<span class=\"text\" id=\"entry-{id}\">alice: restarted the card tokenizer</span>"
    );
    assert!(li.contains(&text), "{li}");
    assert!(
        li.contains(&format!(
            "<button type=\"submit\" class=\"secondary\" aria-describedby=\"entry-{id}\">Pin<span class=\"visually-hidden\"> as a key moment</span></button>"
        )),
        "{li}"
    );
    assert!(li.contains("— alice, via web"), "{li}");
    assert!(
        li.contains("<time datetime=\"2026-03-02T10:00:00Z\">2026-03-02 10:00:00 UTC</time>"),
        "{li}"
    );
    assert!(!li.contains("<strong class=\"badge\">key moment"), "{li}");
    let body = done(&b, n, "pins", &csrf, &[("entry", &id), ("pinned", "1")]).await;
    let li = timeline_li(&body, "restarted the card tokenizer");
    assert!(li.contains("class=\"pinned\""), "{li}");
    assert!(
        li.contains("<strong class=\"badge\">key moment</strong>"),
        "{li}"
    );
    assert!(li.contains(">Unpin<"), "{li}");
    assert_eq!(
        app.store.response(n).await.unwrap().pinned,
        vec![id.parse::<i64>().unwrap()]
    );
    let (_, moments) = b.page(&format!("/incidents/{n}?moments=1")).await;
    let only = between(&moments, "<ol id=\"timeline\"", "</ol>");
    assert!(only.contains("restarted the card tokenizer"), "{only}");
    assert!(
        only.contains("handed over from alice to bob"),
        "milestones stay: {only}"
    );
    assert!(!only.contains("ledger added as affected"), "{only}");
    assert!(only.contains("data-moments=\"1\""), "{only}");
    let body = refused(&b, n, "pins", &csrf, &[("entry", &id), ("pinned", "1")]).await;
    assert!(body.contains("pinned already"), "{body}");
    let body = done(&b, n, "pins", &csrf, &[("entry", &id), ("pinned", "0")]).await;
    let li = timeline_li(&body, "restarted the card tokenizer");
    assert!(!li.contains("class=\"pinned\""), "{li}");
    let body = refused(&b, n, "notes", &csrf, &[("text", "  ")]).await;
    assert!(
        body.contains("<p id=\"note-error\" class=\"field-error\">text: must not be empty</p>"),
        "{body}"
    );

    // Stakeholders: a user, a team, a channel; a wrong one explained.
    for s in ["bob", "team:platform", "slack:C0123"] {
        done(&b, n, "stakeholders", &csrf, &[("stakeholder", s)]).await;
    }
    let body = refused(&b, n, "stakeholders", &csrf, &[("stakeholder", "robot:x")]).await;
    assert!(
        body.contains("stakeholder: &#34;robot&#34; is neither user, team nor a channel kind"),
        "{body}"
    );
    assert!(
        body.contains("name=\"stakeholder\" value=\"robot:x\""),
        "kept: {body}"
    );
    let body = done(
        &b,
        n,
        "stakeholders/remove",
        &csrf,
        &[("stakeholder", "slack:C0123")],
    )
    .await;
    let list = between(&body, "<ul class=\"stakeholders\">", "</ul>");
    assert!(list.contains("<code>user:bob</code>"), "{list}");
    assert!(list.contains("<code>team:platform</code>"), "{list}");
    assert!(!list.contains("slack:C0123"), "{list}");
    let mut stakeholders = app.store.response(n).await.unwrap().stakeholders;
    stakeholders.sort();
    assert_eq!(stakeholders, ["team:platform", "user:bob"]);

    // The cadence, then overdue, then an update.
    let body = refused(&b, n, "cadence", &csrf, &[("every_minutes", "2")]).await;
    assert!(
        body.contains("every_minutes: must be between 5 and 1440 minutes"),
        "{body}"
    );
    let body = done(&b, n, "cadence", &csrf, &[("every_minutes", "30")]).await;
    assert!(
        body.contains(
            "Next update due at <strong>2026-03-02 10:30 UTC</strong>, every 30 minutes."
        ),
        "{body}"
    );
    assert!(!body.contains("(overdue)"), "{body}");
    assert!(!body.contains("Stakeholder update overdue"), "{body}");
    app.clock.advance(SignedDuration::from_mins(31));
    let (_, body) = b.page(&format!("/incidents/{n}")).await;
    assert!(
        body.contains("<strong>Stakeholder update overdue:</strong> the next update was due at 2026-03-02 10:30 UTC."),
        "{body}"
    );
    assert!(body.contains("<strong>(overdue)</strong>"), "{body}");
    let body = refused(
        &b,
        n,
        "updates",
        &csrf,
        &[
            ("state", "identified"),
            ("audience", "public"),
            ("body", ""),
        ],
    )
    .await;
    assert!(body.contains("body: must not be empty"), "{body}");
    assert!(
        body.contains("<option value=\"identified\" selected>"),
        "kept: {body}"
    );
    let body = done(
        &b,
        n,
        "updates",
        &csrf,
        &[
            ("state", "identified"),
            ("audience", "public"),
            ("body", "The Visa tokenizer was restarted"),
        ],
    )
    .await;
    let updates = between(&body, "<ol class=\"updates\"", "</ol>");
    assert!(
        updates.contains("<strong>Identified</strong> <span class=\"badge\">public</span> The Visa tokenizer was restarted <span class=\"muted\">— alice</span>"),
        "{updates}"
    );
    assert!(!body.contains("Stakeholder update overdue"), "{body}");
    assert!(
        body.contains("Next update due at <strong>2026-03-02 11:01 UTC</strong>"),
        "{body}"
    );
    timeline_li(
        &body,
        "public update (identified) by alice: The Visa tokenizer was restarted",
    );
    let record = app.store.response(n).await.unwrap();
    assert_eq!(record.updates.len(), 1);
    assert_eq!(record.every_minutes, Some(30));

    // The live view's contract: the list, its last entry and last event
    // (none: declared by hand), the script.
    let last = app
        .store
        .incident_timeline(n)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .max()
        .unwrap();
    assert!(
        body.contains(&format!(
            "<ol id=\"timeline\" class=\"timeline\" data-incident=\"{n}\" data-after=\"{last}\" data-after-event=\"0\">"
        )),
        "{body}"
    );
    assert!(body.contains("<script src=\"/static/live.js\" defer></script>"));

    // Merging a duplicate into it: refused for a wrong number, then done.
    let dup = declare(&b, &csrf, "Visa payments fail", "checkout", "sev3", false).await;
    let body = refused(&b, dup, "merge", &csrf, &[("into", "999")]).await;
    assert!(
        body.contains("<p id=\"merge-error\" class=\"field-error\">into: no incident #999</p>"),
        "{body}"
    );
    let body = refused(&b, dup, "merge", &csrf, &[("into", &dup.to_string())]).await;
    assert!(body.contains("cannot be merged into itself"), "{body}");
    let res = act(&b, dup, "merge", &csrf, &[("into", &n.to_string())]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        format!("/incidents/{n}?done=merged#timeline-h")
    );
    let (_, body) = b.page(&format!("/incidents/{n}")).await;
    timeline_li(
        &body,
        &format!("#{dup} (Visa payments fail) merged into this incident by alice"),
    );
    let (_, body) = b.page(&format!("/incidents/{dup}")).await;
    assert!(
        body.contains(&format!("Merged into <a href=\"/incidents/{n}\">#{n}</a>")),
        "{body}"
    );
    assert!(body.contains("<dt>Status</dt><dd>resolved</dd>"), "{body}");
}

#[tokio::test]
async fn closing_waits_for_a_required_review() {
    let app = spawn(true).await;
    let b = app.signed_in("dave").await;
    let csrf = b.csrf().await;
    let n = declare(
        &b,
        &csrf,
        "Primary database down",
        "postgres",
        "sev1",
        false,
    )
    .await;
    let (_, body) = b.page(&format!("/incidents/{n}")).await;
    assert!(!body.contains("/close\""), "no close while open: {body}");
    let body = refused(&b, n, "close", &csrf, &[]).await;
    assert!(
        body.contains("is acknowledged; resolve it before closing"),
        "{body}"
    );

    let body = done(&b, n, "resolve", &csrf, &[("note", "failed over")]).await;
    for needle in [
        "<dt>Status</dt><dd>resolved</dd>",
        "<button type=\"submit\" aria-describedby=\"close-help\">Close</button>",
        "Sev1 incidents close once their review is marked done.",
        &format!("<a href=\"/incidents/{n}/review\">Write the review</a>"),
    ] {
        assert!(body.contains(needle), "{needle:?} missing: {body}");
    }
    let body = refused(&b, n, "close", &csrf, &[]).await;
    assert!(
        body.contains(&format!(
            "<p id=\"status-error\" class=\"field-error\">incident #{n} is Sev1 and needs its review marked done before it closes</p>"
        )),
        "{body}"
    );
    assert!(body.contains(&format!("/incidents/{n}/review")), "{body}");
    assert!(
        app.store
            .get_incident(n)
            .await
            .unwrap()
            .unwrap()
            .closed_at
            .is_none()
    );

    let now = tocsin_core::clock::Clock::now(&app.clock);
    let wrote = app
        .store
        .respond(
            &[tocsin_store::ResponseChange::Review {
                incident: n,
                doc: serde_json::json!({"summary": "the primary's disk filled"}),
                done: true,
                expected_version: 0,
                by: "dave".into(),
                at: now,
            }],
            &[],
            &[],
            &[],
            now,
        )
        .await
        .unwrap();
    assert!(matches!(wrote, tocsin_store::Responded::Applied { .. }));
    let (_, body) = b.page(&format!("/incidents/{n}")).await;
    assert!(!body.contains("close once their review"), "{body}");
    let body = done(&b, n, "close", &csrf, &[]).await;
    assert!(body.contains("<dt>Status</dt><dd>closed</dd>"), "{body}");
    assert!(body.contains("<dt>Closed</dt>"), "{body}");
    timeline_li(&body, "closed by dave; the review is done");
    let body = refused(&b, n, "close", &csrf, &[]).await;
    assert!(body.contains("is already closed"), "{body}");

    // A Sev3 needs no review.
    let m = declare(&b, &csrf, "Slow replica", "postgres", "sev3", false).await;
    done(&b, m, "resolve", &csrf, &[]).await;
    let body = done(&b, m, "close", &csrf, &[]).await;
    assert!(body.contains("<dt>Status</dt><dd>closed</dd>"), "{body}");
}

#[tokio::test]
async fn the_incident_list_is_filtered_and_paged() {
    let app = spawn(true).await;
    let b = app.signed_in("dave").await;
    let csrf = b.csrf().await;
    let one = declare(&b, &csrf, "Checkout down", "checkout", "sev1", false).await;
    let two = declare(&b, &csrf, "Ledger lag", "ledger", "sev3", true).await;
    app.clock.advance(SignedDuration::from_hours(48));
    let b = app.signed_in("dave").await; // the session expired meanwhile
    let csrf = b.csrf().await;
    let three = declare(&b, &csrf, "Postgres replica lag", "postgres", "sev2", false).await;
    done(&b, three, "resolve", &csrf, &[]).await;
    let four = declare(&b, &csrf, "Kafka disk full", "kafka", "sev4", false).await;
    done(&b, four, "resolve", &csrf, &[]).await;
    done(&b, four, "close", &csrf, &[]).await;

    let listed = |body: &str| -> Vec<i64> {
        [one, two, three, four]
            .into_iter()
            .filter(|n| body.contains(&format!("<a href=\"/incidents/{n}\">#{n}</a>")))
            .collect()
    };
    let check = |query: &'static str, want: Vec<i64>| {
        let b = &b;
        async move {
            let (status, body) = b.page(&format!("/incidents{query}")).await;
            assert_eq!(status, StatusCode::OK, "{query}");
            assert_eq!(listed(&body), want, "{query}: {body}");
            body
        }
    };
    let body = check("", vec![one, two]).await;
    assert!(body.contains("value=\"triggered\" checked"), "{body}");
    assert!(
        body.contains("<td><abbr title=\"complete outage\">Sev1</abbr></td>"),
        "{body}"
    );
    check("?show=all", vec![one, two, three, four]).await;
    check("?f=1", vec![one, two, three, four]).await;
    let body = check("?f=1&status=resolved", vec![three]).await;
    assert!(body.contains("value=\"resolved\" checked"), "kept: {body}");
    assert!(!body.contains("value=\"triggered\" checked"), "{body}");
    check("?f=1&status=closed", vec![four]).await;
    check("?f=1&status=resolved&status=closed", vec![three, four]).await;
    check("?f=1&severity=sev1&severity=sev2", vec![one, three]).await;
    check("?f=1&service=ledger", vec![two]).await;
    let body = check("?f=1&team=platform", vec![three, four]).await;
    assert!(
        body.contains("<option value=\"platform\" selected>"),
        "{body}"
    );
    check("?f=1&team=payments", vec![one, two]).await;
    check("?f=1&team=payments&service=postgres", vec![]).await;
    check("?f=1&from=2026-03-03", vec![three, four]).await;
    check("?f=1&until=2026-03-02", vec![one, two]).await;
    check("?f=1&q=lag", vec![two, three]).await;
    let body = check("?f=1&q=replica+LAG", vec![three]).await;
    assert!(
        body.contains("name=\"q\" type=\"search\" value=\"replica LAG\""),
        "{body}"
    );
    let body = check("?f=1&from=yesterday", vec![]).await;
    assert!(
        body.contains("<p id=\"from-error\" class=\"field-error\">&#34;yesterday&#34; is not a date like 2026-03-02</p>"),
        "{body}"
    );
    let body = check("?f=1&team=nobody", vec![]).await;
    assert!(body.contains("no team named"), "{body}");
    let body = check("?f=1&status=closed&service=ledger", vec![]).await;
    assert!(
        body.contains("No incident matches these filters."),
        "{body}"
    );

    // Keyset pages keep the filters.
    for i in 0..51 {
        declare(
            &b,
            &csrf,
            &format!("Edge blip {i}"),
            "edge-proxy",
            "sev5",
            false,
        )
        .await;
    }
    let (_, body) = b.page("/incidents?f=1&service=edge-proxy&q=blip").await;
    assert_eq!(body.matches("Edge blip").count(), 50, "{body}");
    let older = between(&body, "<nav aria-label=\"Incident pages\"", "</nav>");
    let href = between(older, "href=\"", "\" rel=\"next\"")
        .trim_start_matches("href=\"")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(href.contains("service=edge-proxy"), "{href}");
    assert!(href.contains("q=blip"), "{href}");
    assert!(!href.contains("status="), "{href}");
    let (_, body) = b.page(&href).await;
    assert_eq!(body.matches("Edge blip").count(), 1, "{body}");
    assert!(body.contains("Edge blip 0<"), "the oldest is last: {body}");
    assert!(!body.contains("rel=\"next\""), "{body}");
    assert!(body.contains(">Newest incidents</a>"), "{body}");
}

#[tokio::test]
async fn a_viewer_reads_an_incident_but_cannot_act() {
    let app = spawn(true).await;
    let a = app.signed_in("alice").await;
    let alice_csrf = a.csrf().await;
    let n = declare(
        &a,
        &alice_csrf,
        "Checkout rejects cards",
        "checkout",
        "sev2",
        false,
    )
    .await;
    done(
        &a,
        n,
        "notes",
        &alice_csrf,
        &[("text", "looking at the tokenizer")],
    )
    .await;

    let c = app.signed_in("carol").await;
    let csrf = c.csrf().await;
    let (status, body) = c.page(&format!("/incidents/{n}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("You can read this incident but not act on it: carol has role viewer"),
        "{body}"
    );
    timeline_li(&body, "alice: looking at the tokenizer");
    for form in [
        "/notes\"",
        "/pins\"",
        "/severity\"",
        "/roles\"",
        "/updates\"",
        "/acknowledge\"",
    ] {
        assert!(!body.contains(form), "{form} offered to a viewer: {body}");
    }
    let before = app.store.incident_timeline(n).await.unwrap().len();
    for (what, fields) in [
        ("notes", vec![("text", "me too")]),
        ("severity", vec![("severity", "sev1")]),
        (
            "describe",
            vec![("title", "Checkout rejects cards"), ("summary", "")],
        ),
        ("roles", vec![("role", "scribe"), ("user", "carol")]),
        ("stakeholders", vec![("stakeholder", "carol")]),
        (
            "updates",
            vec![
                ("state", "investigating"),
                ("audience", "internal"),
                ("body", "hi"),
            ],
        ),
        ("resolve", vec![]),
    ] {
        let res = act(&c, n, what, &csrf, &fields).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{what}");
        let body = res.text().await.unwrap();
        assert!(body.contains("carol has role viewer"), "{what}: {body}");
    }
    assert_eq!(app.store.incident_timeline(n).await.unwrap().len(), before);

    // Bob (payments, responder) may act on a payments incident; frank (a
    // responder of no team) may not.
    let f = app.signed_in("frank").await;
    let frank_csrf = f.csrf().await;
    let res = act(&f, n, "notes", &frank_csrf, &[("text", "hello")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_command_box_speaks_the_chatops_language() {
    let app = spawn(true).await;
    let a = app.signed_in("alice").await;
    let csrf = a.csrf().await;
    let n = declare(
        &a,
        &csrf,
        "Checkout rejects cards",
        "checkout",
        "sev2",
        false,
    )
    .await;

    // Offered, labelled and described, with this incident in the examples.
    let (_, body) = a.page(&format!("/incidents/{n}")).await;
    let form = between(
        &body,
        "<section aria-labelledby=\"command-h\"",
        "</section>",
    );
    assert!(
        form.contains(&format!("action=\"/incidents/{n}/command\"")),
        "{form}"
    );
    assert!(form.contains("<label for=\"command-text\">"), "{form}");
    assert!(form.contains("aria-describedby=\"command-help\""), "{form}");
    assert!(form.contains(&format!("placeholder=\"note {n} ")), "{form}");
    assert!(form.contains("<code>help</code>"), "{form}");

    // A note typed in the box lands on the timeline, through the web.
    let line = format!("note {n} restarted apache");
    let res = act(&a, n, "command", &csrf, &[("text", &line)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"command-answer\""), "{body}");
    let li = timeline_li(&body, "alice: restarted apache");
    assert!(li.contains("— alice, via web"), "{li}");
    assert!(
        !between(
            &body,
            "<section aria-labelledby=\"command-h\"",
            "</section>"
        )
        .contains("value=\"note"),
        "the box is emptied after a command that worked"
    );

    // A word that is no command: the suggestion, the line kept.
    let before = app.store.incident_timeline(n).await.unwrap().len();
    let line = format!("pgae @bob {n} need DB help");
    let res = act(&a, n, "command", &csrf, &[("text", &line)]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    let form = between(
        &body,
        "<section aria-labelledby=\"command-h\"",
        "</section>",
    );
    assert!(form.contains("id=\"command-error\""), "{form}");
    assert!(form.contains("is not a command; did you mean"), "{form}");
    assert!(form.contains("page"), "{form}");
    assert!(form.contains(&format!("value=\"{line}\"")), "{form}");
    assert!(form.contains("aria-invalid=\"true\""), "{form}");
    assert_eq!(app.store.incident_timeline(n).await.unwrap().len(), before);

    // Without the session's CSRF token nothing runs.
    let res = a
        .post(
            &format!("/incidents/{n}/command"),
            &[("csrf", "forged"), ("text", "note 1 forged")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.store.incident_timeline(n).await.unwrap().len(), before);

    // A viewer is not offered the box, and is refused it.
    let c = app.signed_in("carol").await;
    let carol_csrf = c.csrf().await;
    let (_, body) = c.page(&format!("/incidents/{n}")).await;
    assert!(!body.contains("/command\""), "{body}");
    let line = format!("note {n} me too");
    let res = act(&c, n, "command", &carol_csrf, &[("text", &line)]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body = res.text().await.unwrap();
    assert!(body.contains("carol has role viewer"), "{body}");
    assert_eq!(app.store.incident_timeline(n).await.unwrap().len(), before);
}
