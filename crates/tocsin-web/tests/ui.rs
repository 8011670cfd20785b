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
        "href=\"/teams/payments#schedule-payments-primary\"",
        "href=\"/users/alice\"",
        "schedules work",
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
