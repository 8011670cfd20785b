//! The post-incident review editor, action items and the live timeline,
//! through the real server on SQLite as a browser without JavaScript
//! would use them (and, for the live timeline, as `EventSource` does).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use std::collections::BTreeSet;
use std::time::Duration;
use support::{App, Browser, csrf_of, location, spawn};
use tocsin_core::response::{Actor, Declaration};
use tocsin_domain::access::{Principal, Role};
use tocsin_domain::catalog::Kind;
use tocsin_domain::response::Interface;
use tocsin_domain::review::document::{FACTOR_PROMPTS, SECTIONS};
use tocsin_domain::{Name, Severity};
use tocsin_store::IncidentQuery;

fn alice() -> Principal {
    Principal {
        user: Some(Name::parse("alice").unwrap()),
        role: Role::Responder,
        teams: BTreeSet::from([Name::parse("payments").unwrap()]),
        label: "alice".into(),
    }
}

fn web(who: &Principal) -> Actor<'_> {
    Actor {
        who,
        via: Interface::Web,
    }
}

fn now(app: &App) -> Timestamp {
    tocsin_core::clock::Clock::now(&app.clock)
}

/// A checkout incident declared by alice and paged, acknowledged four
/// minutes later; resolved after half an hour when `resolve` is set.
async fn incident(app: &App, title: &str, resolve: bool) -> i64 {
    let store = app.store.as_ref();
    let who = alice();
    let declared = tocsin_core::response::declare(
        store,
        web(&who),
        &Declaration {
            title: title.into(),
            service: Name::parse("checkout").unwrap(),
            also_services: vec![],
            severity: Severity::Sev2,
            summary: Some("Card payments failed at checkout.".into()),
            page: true,
        },
        now(app),
    )
    .await
    .unwrap();
    let n = declared.number;
    app.clock.advance(SignedDuration::from_secs(4 * 60));
    tocsin_core::incident::acknowledge(store, web(&who), n, now(app))
        .await
        .unwrap();
    app.clock.advance(SignedDuration::from_secs(60));
    tocsin_core::response::note(store, web(&who), n, "looking at the gateway logs", now(app))
        .await
        .unwrap();
    if resolve {
        app.clock.advance(SignedDuration::from_secs(25 * 60));
        tocsin_core::incident::resolve(store, web(&who), n, Some("rolled back"), now(app))
            .await
            .unwrap();
    }
    n
}

/// The value of the hidden `version` field.
fn version_of(html: &str) -> String {
    let start = html
        .find("name=\"version\" value=\"")
        .expect("a version field")
        + 22;
    html[start..].split('"').next().unwrap().to_owned()
}

/// The text of `<textarea id="ID" …>…</textarea>`.
fn textarea<'a>(html: &'a str, id: &str) -> &'a str {
    let open = html
        .find(&format!("<textarea id=\"{id}\""))
        .unwrap_or_else(|| panic!("no textarea {id}"));
    let from = open + html[open..].find('>').unwrap() + 1;
    let len = html[from..].find("</textarea>").unwrap();
    &html[from..from + len]
}

fn review_form<'a>(
    csrf: &'a str,
    version: &'a str,
    action: &'a str,
    summary: &'a str,
    moments: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("version", version),
        ("done", ""),
        ("action", action),
        ("summary", summary),
        ("customer_impact", "Card payments failed for 30 minutes."),
        ("key_moments", moments),
        ("contributing_factors", "A retry storm after the deploy."),
        ("went_well", "Paging reached the on-call at once."),
        (
            "was_hard",
            "The gateway's errors were not on any dashboard.",
        ),
    ]
}

async fn page_ok(b: &Browser, path: &str) -> String {
    let (status, body) = b.page(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

#[tokio::test]
async fn the_draft_shows_the_facts_and_the_milestones_of_the_timeline() {
    let app = spawn(true).await;
    let n = incident(&app, "Checkout fails", true).await;
    let b = app.signed_in("alice").await;
    let body = page_ok(&b, &format!("/incidents/{n}/review")).await;
    assert!(
        body.contains("Draft made from the timeline: not saved yet."),
        "{body}"
    );
    assert_eq!(version_of(&body), "0");
    // The facts, computed from the record.
    for fact in [
        "<dt>Severity</dt><dd>Sev2</dd>",
        "<a href=\"/services/checkout\">checkout</a>",
        "<dt>Time to acknowledge</dt><dd>4 min",
        "<dt>Time to resolve</dt><dd>30 min",
        "<dt>Duration</dt><dd>30 min</dd>",
    ] {
        assert!(body.contains(fact), "{fact}: {body}");
    }
    // Milestones, in time order; a plain note is not one.
    let moments = textarea(&body, "key_moments");
    let opened = moments.find("opened: Checkout fails").expect(moments);
    let acked = moments
        .find("2026-03-02T10:04:00Z — acknowledged by alice")
        .expect(moments);
    let resolved = moments.find("resolved by alice").expect(moments);
    assert!(opened < acked && acked < resolved, "{moments}");
    assert!(!moments.contains("gateway logs"), "{moments}");
    assert_eq!(
        textarea(&body, "summary"),
        "Card payments failed at checkout."
    );
    // Every section, the prompts for contributing factors, the download.
    for (field, heading) in SECTIONS {
        assert!(
            body.contains(&format!("<label for=\"{field}\">{heading}</label>")),
            "{heading}"
        );
        assert!(body.contains(&format!("id=\"advice-{field}\"")), "{field}");
    }
    for p in FACTOR_PROMPTS {
        assert!(
            body.contains(&p.replace('\'', "&#39;")) || body.contains(p),
            "{p}"
        );
    }
    assert!(
        body.contains(&format!("href=\"/incidents/{n}/review.md\"")),
        "{body}"
    );
    assert!(body.contains(">Save</button>") && body.contains(">Save and mark done</button>"));
    assert!(body.contains("<script src=\"/static/review.js\" defer></script>"));
    let js = b.get("/static/review.js").await;
    assert_eq!(js.status(), StatusCode::OK);
    assert!(
        js.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
}

#[tokio::test]
async fn an_open_incident_has_a_draft_to_read_but_not_to_save() {
    let app = spawn(true).await;
    let n = incident(&app, "Checkout slow", false).await;
    let b = app.signed_in("alice").await;
    let body = page_ok(&b, &format!("/incidents/{n}/review")).await;
    assert!(
        body.contains("its review is written once it is resolved"),
        "{body}"
    );
    assert!(!body.contains(">Save</button>"), "{body}");
    let csrf = csrf_of(&body);
    let form = review_form(&csrf, "0", "save", "Written too early.", "");
    let res = b.post(&format!("/incidents/{n}/review"), &form).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body = res.text().await.unwrap();
    assert!(body.contains("Not saved:"), "{body}");
    assert_eq!(textarea(&body, "summary"), "Written too early.", "kept");
    assert!(app.store.review(n).await.unwrap().is_none());
}

#[tokio::test]
async fn a_save_over_a_newer_version_is_refused_and_keeps_the_text() {
    let app = spawn(true).await;
    let n = incident(&app, "Checkout fails", true).await;
    let alice_b = app.signed_in("alice").await;
    let dave_b = app.signed_in("dave").await;
    let path = format!("/incidents/{n}/review");
    // Both open the draft.
    let a_page = page_ok(&alice_b, &path).await;
    let d_page = page_ok(&dave_b, &path).await;
    let moments = textarea(&a_page, "key_moments").to_owned();
    // alice saves first, with a phrase the blameless check flags.
    let a_csrf = csrf_of(&a_page);
    let form = review_form(
        &a_csrf,
        "0",
        "save",
        "The deploy failed. Bob should have checked the retries.",
        &moments,
    );
    let res = alice_b.post(&path, &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{path}?saved=saved"));
    let body = page_ok(&alice_b, &format!("{path}?saved=saved")).await;
    assert!(body.contains("Review saved."), "{body}");
    assert!(body.contains("Version 1, saved by alice"), "{body}");
    assert_eq!(version_of(&body), "1");
    // The advice, under the summary, after saving; saving was not blocked.
    let advice = body.split("id=\"advice-summary\"").nth(1).unwrap();
    let advice = &advice[..advice.find("</div>").unwrap()];
    assert!(advice.contains("<q>should have</q>"), "{advice}");
    assert!(advice.contains("Try instead:"), "{advice}");
    assert!(
        body.contains("1 phrase may read as blame or hindsight"),
        "{body}"
    );

    // dave, still on version 0, saves: refused, his text kept, alice's shown.
    let d_csrf = csrf_of(&d_page);
    let form = review_form(
        &d_csrf,
        "0",
        "save",
        "Checkout failed after a config change.",
        &moments,
    );
    let res = dave_b.post(&path, &form).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("alice saved this review meanwhile (version 1)"),
        "{body}"
    );
    assert_eq!(
        textarea(&body, "summary"),
        "Checkout failed after a config change."
    );
    assert_eq!(
        textarea(&body, "was_hard"),
        "The gateway&#39;s errors were not on any dashboard."
    );
    let theirs = body
        .split("id=\"theirs\"")
        .nth(1)
        .expect("the saved version");
    assert!(theirs.contains("Saved meanwhile by alice"), "{theirs}");
    assert!(
        theirs.contains("Bob should have checked the retries."),
        "{theirs}"
    );
    // The form now carries the saved version: saving again is deliberate.
    assert_eq!(version_of(&body), "1");
    let stored = app.store.review(n).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(
        stored.doc["summary"],
        "The deploy failed. Bob should have checked the retries."
    );
    let form = review_form(
        &d_csrf,
        "1",
        "save",
        "Checkout failed after a config change.",
        &moments,
    );
    let res = dave_b.post(&path, &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let stored = app.store.review(n).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(
        stored.doc["summary"],
        "Checkout failed after a config change."
    );
    assert!(!stored.done);
}

#[tokio::test]
async fn a_review_is_marked_done_and_downloads_as_markdown() {
    let app = spawn(true).await;
    let n = incident(&app, "Checkout fails", true).await;
    let b = app.signed_in("alice").await;
    let path = format!("/incidents/{n}/review");
    let page = page_ok(&b, &path).await;
    let csrf = csrf_of(&page);
    // A key moment line that is not one: refused next to the field, kept.
    let form = review_form(
        &csrf,
        "0",
        "done",
        "Checkout failed.",
        "restarted the proxy",
    );
    let res = b.post(&path, &form).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"key_moments-error\""), "{body}");
    assert!(body.contains("line 1: write the time, a dash"), "{body}");
    assert_eq!(textarea(&body, "key_moments"), "restarted the proxy");
    assert!(app.store.review(n).await.unwrap().is_none());

    let moments = "2026-03-02 10:04 UTC — acknowledged by alice\n2026-03-02T10:20:00Z — rolled back the deploy";
    let form = review_form(&csrf, "0", "done", "Checkout failed.", moments);
    let res = b.post(&path, &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{path}?saved=done"));
    let stored = app.store.review(n).await.unwrap().unwrap();
    assert!(stored.done);
    assert_eq!(
        stored.doc["key_moments"][1]["text"],
        "rolled back the deploy"
    );
    assert_eq!(stored.doc["key_moments"][0]["at"], "2026-03-02T10:04:00Z");
    let body = page_ok(&b, &format!("{path}?saved=done")).await;
    assert!(body.contains("Review saved and marked done."), "{body}");
    assert!(
        body.contains("<strong class=\"badge\">Done</strong>"),
        "{body}"
    );
    assert!(body.contains(">Save and mark not done</button>"), "{body}");
    let timeline = app.store.incident_timeline(n).await.unwrap();
    assert!(timeline.iter().any(|t| t.kind == "review.done"));

    // An action item, so the export lists one.
    let form = [
        ("csrf", csrf.as_str()),
        ("title", "Alert on gateway 5xx"),
        ("owner", "bob"),
        ("due_on", "2026-03-20"),
    ];
    let res = b.post(&format!("/incidents/{n}/action-items"), &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let res = b.get(&format!("{path}.md")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_TYPE], "text/markdown; charset=utf-8");
    assert_eq!(
        res.headers()[CONTENT_DISPOSITION],
        format!("attachment; filename=\"incident-{n}-review.md\"").as_str()
    );
    let md = res.text().await.unwrap();
    assert!(
        md.starts_with(&format!("# Review of incident #{n}: Checkout fails\n")),
        "{md}"
    );
    for (_, heading) in SECTIONS {
        assert!(md.contains(&format!("## {heading}\n")), "{heading}: {md}");
    }
    for part in [
        "## Key moments\n",
        "- **2026-03-02T10:20:00Z** rolled back the deploy",
        "Checkout failed.",
        "| Time to acknowledge | 4 min |",
        "## Action items\n\n- [ ] Alert on gateway 5xx — bob, due 2026-03-20",
    ] {
        assert!(md.contains(part), "{part}: {md}");
    }
    // Anyone signed in reads it, a viewer too (reviews are for learning).
    let carol = app.signed_in("carol").await;
    let (status, body) = carol.page(&format!("{path}.md")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.starts_with("# Review of incident #1"), "{body}");
}

#[tokio::test]
async fn action_items_are_added_listed_by_team_overdue_and_ticked_off() {
    let app = spawn(true).await;
    let n = incident(&app, "Checkout fails", true).await;
    let b = app.signed_in("alice").await;
    let csrf = b.csrf().await;
    let add = format!("/incidents/{n}/action-items");
    // Problems are shown next to their field, with what was typed.
    let res = b
        .post(
            &add,
            &[
                ("csrf", csrf.as_str()),
                ("title", "Add a timeout alarm"),
                ("owner", "bob"),
                ("due_on", "next week"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"item-due-error\""), "{body}");
    assert!(
        body.contains("\"next week\" is not a date")
            || body.contains("&#34;next week&#34; is not a date"),
        "{body}"
    );
    assert!(body.contains("value=\"Add a timeout alarm\""), "{body}");
    assert!(body.contains("<option value=\"bob\" selected>"), "{body}");
    let res = b
        .post(
            &add,
            &[
                ("csrf", csrf.as_str()),
                ("title", "Add a timeout alarm"),
                ("owner", "nobody"),
                ("due_on", "2026-03-20"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("no user named nobody"));

    // One overdue already (due before today, 2026-03-02), one not; dave's
    // is listed under his team.
    for (title, owner, due) in [
        ("Add a timeout alarm", "bob", "2026-02-20"),
        ("Document the rollback", "alice", "2026-03-20"),
        ("Tune the pool size", "dave", "2026-03-03"),
    ] {
        let res = b
            .post(
                &add,
                &[
                    ("csrf", csrf.as_str()),
                    ("title", title),
                    ("owner", owner),
                    ("due_on", due),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{title}");
        assert_eq!(
            location(&res),
            format!("/incidents/{n}/review?saved=item-added#action-items")
        );
    }
    let review = page_ok(&b, &format!("/incidents/{n}/review")).await;
    assert!(
        review.contains("Add a timeout alarm") && review.contains("Overdue by 10 days"),
        "{review}"
    );

    let list = page_ok(&b, "/action-items").await;
    assert!(
        list.contains("<a href=\"/action-items\" aria-current=\"page\">Action items</a>"),
        "{list}"
    );
    assert!(
        list.contains("3 open action item(s), <strong>1 overdue</strong>"),
        "{list}"
    );
    let payments = list
        .find("<a href=\"/teams/payments\">payments</a>")
        .expect("a payments group");
    let platform = list
        .find("<a href=\"/teams/platform\">platform</a>")
        .expect("a platform group");
    assert!(payments < platform, "teams by name");
    let timeout_row = &list[list.find("Add a timeout alarm").unwrap()..];
    let timeout_row = &timeout_row[..timeout_row.find("</tr>").unwrap()];
    assert!(
        timeout_row.contains("<strong class=\"field-error\">Overdue by 10 days</strong>"),
        "{timeout_row}"
    );
    assert!(
        timeout_row.contains(&format!(
            "<a href=\"/incidents/{n}\">#{n}</a> Checkout fails"
        )),
        "{timeout_row}"
    );
    assert!(list.contains("Due tomorrow"), "{list}");

    // Filters.
    let overdue = page_ok(&b, "/action-items?overdue=1").await;
    assert!(overdue.contains("Add a timeout alarm"));
    assert!(!overdue.contains("Document the rollback") && !overdue.contains("Tune the pool size"));
    let mine = page_ok(&b, "/action-items?owner=alice").await;
    assert!(mine.contains("Document the rollback") && !mine.contains("Add a timeout alarm"));
    let platform = page_ok(&b, "/action-items?team=platform").await;
    assert!(platform.contains("Tune the pool size") && !platform.contains("Document the rollback"));
    let (status, _) = b.page("/action-items?team=Not%20A%20Name").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Ticked off from the filtered list: back to the same filters, gone.
    let id = app
        .store
        .action_items(&tocsin_store::ActionItemQuery {
            incident: Some(n),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.title == "Add a timeout alarm")
        .unwrap()
        .id;
    let res = b
        .post(
            &format!("/incidents/{n}/action-items/{id}/done"),
            &[
                ("csrf", csrf.as_str()),
                ("done", "1"),
                ("back", "list"),
                ("back_query", "overdue=1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/action-items?overdue=1");
    let overdue = page_ok(&b, "/action-items?overdue=1").await;
    assert!(overdue.contains("Nothing is overdue."), "{overdue}");
    let review = page_ok(&b, &format!("/incidents/{n}/review")).await;
    let row = review.split(&format!("id=\"item-{id}\"")).nth(1).unwrap();
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("<span>Done</span>") && row.contains("Open again"),
        "{row}"
    );
    // A redirect never leaves the list.
    let res = b
        .post(
            &format!("/incidents/{n}/action-items/{id}/done"),
            &[
                ("csrf", csrf.as_str()),
                ("done", "0"),
                ("back", "list"),
                ("back_query", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&res), "/action-items?evil.example");
    // Without the session's token nothing changes.
    let res = b
        .post(
            &format!("/incidents/{n}/action-items/{id}/done"),
            &[("csrf", "wrong"), ("done", "1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

/// Reads the event stream until `want` holds for the text so far, or 10 s.
async fn read_until(res: &mut reqwest::Response, want: impl Fn(&str) -> bool) -> String {
    let mut seen = String::new();
    let wait = async {
        while let Some(chunk) = res.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if want(&seen) {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), wait).await;
    seen
}

/// The data of the `entry` events in `stream`.
fn entries(stream: &str) -> Vec<serde_json::Value> {
    stream
        .split("\n\n")
        .filter(|e| e.lines().any(|l| l == "event: entry"))
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[tokio::test]
async fn the_live_timeline_streams_entries_written_after_connecting() {
    let app = spawn(true).await;
    let n = incident(&app, "Checkout fails", false).await;
    let last = app
        .store
        .incident_timeline(n)
        .await
        .unwrap()
        .last()
        .unwrap()
        .id;
    let b = app.signed_in("alice").await;
    let mut res = b.get(&format!("/incidents/{n}/live?after={last}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_TYPE], "text/event-stream");
    // Connected: now someone writes a note, through another interface.
    let who = alice();
    let cli = Actor {
        who: &who,
        via: Interface::Cli,
    };
    tocsin_core::response::note(
        app.store.as_ref(),
        cli,
        n,
        "restarted <the> proxy",
        now(&app),
    )
    .await
    .unwrap();
    let stream = read_until(&mut res, |s| s.contains("restarted")).await;
    assert!(stream.starts_with("retry: 1000\n"), "{stream}");
    let got = entries(&stream);
    assert_eq!(got.len(), 1, "only what came after {last}: {stream}");
    let e = &got[0];
    let id = e["id"].as_i64().unwrap();
    assert!(id > last);
    // The cursor of both: this entry, and no event (declared by hand).
    assert!(stream.contains(&format!("id: {id}.0\n")), "{stream}");
    assert_eq!(e["kind"], "note");
    assert_eq!(e["actor"], "alice");
    assert_eq!(e["via"], "cli");
    assert_eq!(e["pinned"], false);
    assert_eq!(e["text"], "alice (from cli): restarted <the> proxy");
    let html = e["html"].as_str().unwrap();
    assert!(html.starts_with(&format!("<li data-id=\"{id}\"")), "{html}");
    assert!(!html.contains("<the>"), "escaped: {html}");
    assert!(
        html.contains(&format!("action=\"/incidents/{n}/pins\"")),
        "alice may pin: {html}"
    );
    drop(res);

    // A reconnect resumes after Last-Event-ID, whatever `after` says.
    tocsin_core::response::note(app.store.as_ref(), web(&who), n, "second note", now(&app))
        .await
        .unwrap();
    let mut res = b
        .http
        .get(format!("{}/incidents/{n}/live?after=0", b.base))
        .header("Last-Event-ID", id.to_string())
        .send()
        .await
        .unwrap();
    let stream = read_until(&mut res, |s| s.contains("second note")).await;
    let got = entries(&stream);
    assert_eq!(got.len(), 1, "{stream}");
    assert_eq!(got[0]["text"], "alice: second note");
    drop(res);

    // A viewer watches, without the pin button; strangers sign in first.
    let carol = app.signed_in("carol").await;
    let mut res = carol.get(&format!("/incidents/{n}/live?after={id}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let stream = read_until(&mut res, |s| s.contains("second note")).await;
    let got = entries(&stream);
    assert_eq!(got.len(), 1, "{stream}");
    assert!(!got[0]["html"].as_str().unwrap().contains("/pins"));
    let res = app.browser().get(&format!("/incidents/{n}/live")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/login"), "{}", location(&res));
    let (status, _) = b.page("/incidents/999/live").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let js = b.get("/static/live.js").await;
    assert_eq!(js.status(), StatusCode::OK);
}

/// Sends one generic event to the demo's `platform-generic` integration
/// (service postgres), as monitoring would.
async fn send_platform(app: &App, event: serde_json::Value) {
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

/// The value of `attr` on the page's timeline list.
fn timeline_attr(page: &str, attr: &str) -> i64 {
    let ol = &page[page.find("<ol id=\"timeline\"").expect("the timeline list")..];
    let ol = &ol[..ol.find('>').unwrap()];
    let start = ol
        .find(&format!(" {attr}=\""))
        .unwrap_or_else(|| panic!("{attr} in {ol}"));
    let rest = &ol[start + attr.len() + 3..];
    rest[..rest.find('"').unwrap()].parse().unwrap()
}

/// The `event_id`s of the streamed events (not entries) in `stream`.
fn event_ids(stream: &str) -> Vec<i64> {
    entries(stream)
        .iter()
        .filter_map(|e| e["event_id"].as_i64())
        .collect()
}

#[tokio::test]
async fn the_live_timeline_streams_events_ingested_after_connecting() {
    let app = spawn(true).await;
    let disk = serde_json::json!({"action": "trigger", "dedup_key": "d1",
        "summary": "Disk <full>", "severity": "sev2"});
    send_platform(&app, disk.clone()).await;
    let query = IncidentQuery {
        limit: 10,
        ..IncidentQuery::default()
    };
    let n = app.store.list_incidents(&query).await.unwrap()[0].number;
    let first = app.store.incident_events(n, 1000).await.unwrap();
    assert_eq!(first.len(), 1);
    let b = app.signed_in("alice").await;
    let (status, page) = b.page(&format!("/incidents/{n}")).await;
    assert_eq!(status, StatusCode::OK);
    // The page gives the stream both cursors.
    assert_eq!(timeline_attr(&page, "data-after-event"), first[0].id);
    let after = timeline_attr(&page, "data-after");
    let after_event = first[0].id;
    let mut res = b
        .get(&format!(
            "/incidents/{n}/live?after={after}&after_event={after_event}"
        ))
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // Connected: the alert triggers again (counted on its open alert).
    app.clock.advance(SignedDuration::from_secs(60));
    send_platform(&app, disk).await;
    let stream = read_until(&mut res, |s| s.contains("\"event_id\"")).await;
    let got: Vec<serde_json::Value> = entries(&stream)
        .into_iter()
        .filter(|e| e.get("event_id").is_some())
        .collect();
    assert_eq!(got.len(), 1, "only what came after {after_event}: {stream}");
    let e = &got[0];
    let id = e["event_id"].as_i64().unwrap();
    assert!(id > after_event);
    assert_eq!(e["id"], serde_json::Value::Null);
    assert_eq!(e["kind"], "event.triggered");
    assert_eq!(e["actor"], "platform-generic");
    assert_eq!(e["via"], "integration");
    assert_eq!(e["text"], "triggered: Disk <full>");
    assert_eq!(e["pinned"], false);
    assert_eq!(e["at"], now(&app).to_string());
    assert!(
        stream.contains(&format!("id: {after}.{id}\n")),
        "the composite cursor: {stream}"
    );
    let html = e["html"].as_str().unwrap();
    assert!(
        html.starts_with(&format!(
            "<li data-event-id=\"{id}\" data-kind=\"event.triggered\" class=\"event\">"
        )),
        "{html}"
    );
    assert!(!html.contains("<full>"), "escaped: {html}");
    // Exactly what a reload draws.
    let (_, page) = b.page(&format!("/incidents/{n}")).await;
    assert!(page.contains(html), "{html} in {page}");
    assert_eq!(timeline_attr(&page, "data-after-event"), id);
    drop(res);

    // Monitoring acknowledges; a reconnect with the composite cursor gets
    // that and not the trigger again, whatever the query says.
    app.clock.advance(SignedDuration::from_secs(60));
    send_platform(
        &app,
        serde_json::json!({"action": "acknowledge", "dedup_key": "d1"}),
    )
    .await;
    let mut res = b
        .http
        .get(format!(
            "{}/incidents/{n}/live?after=0&after_event=0",
            b.base
        ))
        .header("Last-Event-ID", format!("{after}.{id}"))
        .send()
        .await
        .unwrap();
    let stream = read_until(&mut res, |s| s.contains("event.acknowledged")).await;
    let ids = event_ids(&stream);
    assert_eq!(ids.len(), 1, "{stream}");
    assert!(ids[0] > id, "{stream}");
    assert!(
        entries(&stream)
            .iter()
            .all(|e| e["id"].as_i64().is_none_or(|i| i > after)),
        "no entry again: {stream}"
    );
    assert!(stream.contains("acknowledged: d1"), "{stream}");
    drop(res);

    // The older, plain Last-Event-ID is the entry cursor; the event cursor
    // then comes from the query.
    let ack = ids[0];
    app.clock.advance(SignedDuration::from_secs(60));
    send_platform(
        &app,
        serde_json::json!({"action": "resolve", "dedup_key": "d1"}),
    )
    .await;
    let mut res = b
        .http
        .get(format!(
            "{}/incidents/{n}/live?after=0&after_event={ack}",
            b.base
        ))
        .header("Last-Event-ID", after.to_string())
        .send()
        .await
        .unwrap();
    let stream = read_until(&mut res, |s| s.contains("event.resolved")).await;
    let ids = event_ids(&stream);
    assert_eq!(ids.len(), 1, "{stream}");
    assert!(ids[0] > ack, "{stream}");
}

#[tokio::test]
async fn the_editor_script_gets_advice_for_the_session() {
    let app = spawn(true).await;
    let b = app.signed_in("alice").await;
    let csrf = b.csrf().await;
    let url = format!("{}/reviews/check", b.base);
    let text = "It was obviously a config change. Bob should have checked.";
    let res = b
        .http
        .post(&url)
        .header("X-CSRF-Token", &csrf)
        .json(&serde_json::json!({ "text": text }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    let phrases: Vec<&str> = body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["phrase"].as_str().unwrap())
        .collect();
    assert_eq!(phrases, ["obviously", "should have"]);
    assert_eq!(body["findings"][1]["category"], "counterfactual");
    assert!(body["findings"][1]["suggestion"].as_str().unwrap().len() > 10);
    assert!(body["summary"].as_str().unwrap().starts_with("2 phrases"));
    // Without the page's token: refused.
    let res = b
        .http
        .post(&url)
        .json(&serde_json::json!({ "text": text }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Not JSON: a clear 422.
    let res = b
        .http
        .post(&url)
        .header("X-CSRF-Token", &csrf)
        .body("text=hello")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
