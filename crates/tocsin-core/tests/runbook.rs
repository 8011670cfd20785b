//! Runbook actions from chat on both backends: declared in manifests,
//! prompted with exactly what will run and a signed token, confirmed once,
//! run for real (programs with argv, an HTTP request to a local server),
//! bounded by a timeout, and recorded on the incident's timeline or in the
//! audit log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod support;
use support::*;

use jiff::{SignedDuration, Timestamp};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tocsin_core::chatops::{Answer, confirm, execute};
use tocsin_core::clock::Clock;
use tocsin_core::runbook::Runbooks;
use tocsin_domain::Name;
use tocsin_domain::access::{Principal, Role};
use tocsin_domain::response::Interface;
use tocsin_store::{AuditQuery, RunOutcome, Store};

fn person(name: &str, role: Role, teams: &[&str]) -> Principal {
    Principal {
        user: Some(Name::parse(name).unwrap()),
        label: name.into(),
        role,
        teams: teams.iter().map(|t| Name::parse(t).unwrap()).collect(),
    }
}

/// Applies `yaml` (runbook actions) on top of the demo catalog.
async fn declare(store: &Arc<dyn Store>, yaml: &str, now: Timestamp) {
    apply_yaml(store, "runbooks.yaml", yaml, now).await;
}

const ACTIONS: &str = r#"
runbook_actions:
  - name: say-hello
    description: Says hello to a host
    team: payments
    parameters:
      - { name: target, required: true, pattern: "web-[0-9]+" }
      - { name: reason }
      - { name: times, type: integer, default: 1 }
      - { name: loud, type: boolean, default: false }
      - { name: mode, type: choice, choices: [graceful, hard], default: graceful }
    command: ["/bin/echo", "hello {{ params.target }}", "{{ params.reason }}", "x{{ params.times }}"]
  - name: fail
    team: payments
    command: ["/bin/false"]
  - name: slow
    team: payments
    timeout: 1s
    parameters:
      - { name: file, required: true }
    command: ["/bin/sh", "-c", "echo $$ > \"$0\"; exec /bin/sleep 5", "{{ params.file }}"]
  - name: chatty
    team: payments
    command: ["/bin/sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo 0123456789; i=$((i+1)); done; echo oops >&2; exit 3"]
  - name: forbidden
    team: payments
    command: ["/usr/bin/env"]
  - name: managers-only
    team: payments
    allowed: { role: manager }
    command: ["/bin/echo", "ok"]
  - name: platform-thing
    team: platform
    allowed: { users: [carol] }
    command: ["/bin/echo", "platform"]
"#;

fn runbooks() -> Runbooks {
    Runbooks::new(
        ["/bin/echo", "/bin/false", "/bin/sh"]
            .into_iter()
            .map(PathBuf::from)
            .collect(),
    )
}

async fn say(
    store: &Arc<dyn Store>,
    r: &Runbooks,
    who: &Principal,
    text: &str,
    now: Timestamp,
) -> Answer {
    execute(store.as_ref(), r, who, Interface::Cli, text, now).await
}

async fn yes(
    store: &Arc<dyn Store>,
    r: &Runbooks,
    who: &Principal,
    token: &str,
    now: Timestamp,
) -> Answer {
    confirm(store.as_ref(), r, who, Interface::Cli, token, now).await
}

#[track_caller]
fn prompt(a: &Answer, shows: &str) -> String {
    assert!(a.ok, "{a:?}");
    assert!(!a.public, "a prompt is for the caller only: {a:?}");
    assert!(a.text.contains(shows), "{:?} should show {shows:?}", a.text);
    a.confirm
        .clone()
        .unwrap_or_else(|| panic!("no token: {a:?}"))
}

#[track_caller]
fn refused(a: &Answer, says: &str) {
    assert!(!a.ok, "{a:?}");
    assert!(!a.public, "{a:?}");
    assert!(a.confirm.is_none(), "{a:?}");
    assert!(a.text.contains(says), "{:?} should say {says:?}", a.text);
}

async fn runbook_entries(store: &Arc<dyn Store>, n: i64) -> Vec<serde_json::Value> {
    store
        .incident_timeline(n)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "runbook.run")
        .map(|e| e.detail)
        .collect()
}

/// The last run of `action` on the timeline of `n`.
async fn last_run(store: &Arc<dyn Store>, n: i64, action: &str) -> serde_json::Value {
    runbook_entries(store, n)
        .await
        .into_iter()
        .rfind(|e| e["action"] == action)
        .unwrap_or_else(|| panic!("no run of {action} on #{n}"))
}

async fn command_actions_run_once_and_are_recorded(db: Db) {
    let store = db.open(true).await;
    let (clock, n) = demo_incident(&store, "2026-03-10T10:00:00Z").await;
    let now = clock.now();
    declare(&store, ACTIONS, now).await;
    let r = runbooks();
    let alice = responder("alice");

    // The prompt shows exactly the argv, runs nothing yet.
    let a = say(
        &store,
        &r,
        &alice,
        &format!("run say-hello on web-2 #{n} reason=\"stuck workers\""),
        now,
    )
    .await;
    let token = prompt(
        &a,
        "It will run: /bin/echo 'hello web-2' 'stuck workers' x1",
    );
    assert!(a.text.contains("Says hello to a host"), "{}", a.text);
    assert!(a.text.contains("Timeout: 30s"), "{}", a.text);
    assert!(
        runbook_entries(&store, n).await.is_empty(),
        "nothing ran yet"
    );

    let done = yes(&store, &r, &alice, &token, now).await;
    assert!(done.ok && done.public, "{done:?}");
    assert!(
        done.text
            .starts_with(&format!("say-hello on web-2 (#{n}) succeeded (exit 0")),
        "{}",
        done.text
    );
    assert!(
        done.text.contains("hello web-2 stuck workers x1"),
        "{}",
        done.text
    );
    let entries = runbook_entries(&store, n).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!(e["outcome"], "succeeded");
    assert_eq!(e["exit_status"], 0);
    assert_eq!(e["output"], "hello web-2 stuck workers x1\n");
    assert_eq!(e["action"], "say-hello");
    assert_eq!(e["target"], "web-2");
    assert_eq!(e["params"]["reason"], "stuck workers");
    assert_eq!(e["params"]["times"], 1);
    assert_eq!(e["params"]["loud"], false);
    assert_eq!(e["by"], "alice");
    assert_eq!(e["via"], "cli");
    assert!(e["duration_ms"].as_i64().unwrap() >= 0);
    let line = tocsin_domain::response::timeline::describe("runbook.run", e);
    assert!(
        line.contains("alice (from cli) ran say-hello on web-2: succeeded (exit 0"),
        "{line}"
    );

    // Confirming again (a double click, a retry) runs nothing.
    let again = yes(&store, &r, &alice, &token, now).await;
    assert!(!again.public, "{again:?}");
    assert!(again.text.contains("already ran"), "{}", again.text);
    assert_eq!(runbook_entries(&store, n).await.len(), 1, "ran once");

    // Two confirmations at once: one runs, the other is told it ran.
    let token = prompt(
        &say(
            &store,
            &r,
            &alice,
            &format!("run say-hello on web-3 #{n}"),
            now,
        )
        .await,
        "hello web-3",
    );
    let (x, y) = tokio::join!(
        yes(&store, &r, &alice, &token, now),
        yes(&store, &r, &alice, &token, now)
    );
    let ran = [&x, &y].iter().filter(|a| a.public).count();
    assert_eq!(ran, 1, "exactly one ran: {x:?} {y:?}");
    assert!(
        [&x, &y].iter().any(|a| a.text.contains("already")),
        "{x:?} {y:?}"
    );
    assert_eq!(runbook_entries(&store, n).await.len(), 2);

    // Exit status 1: failed, recorded.
    let token = prompt(
        &say(&store, &r, &alice, &format!("run fail #{n}"), now).await,
        "It will run: /bin/false",
    );
    let failed = yes(&store, &r, &alice, &token, now).await;
    assert!(!failed.ok && failed.public, "{failed:?}");
    assert!(
        failed.text.contains("failed: exit status 1"),
        "{}",
        failed.text
    );
    let last = last_run(&store, n, "fail").await;
    assert_eq!(
        (last["outcome"].as_str(), last["exit_status"].as_i64()),
        (Some("failed"), Some(1))
    );

    // Output is bounded, stderr kept apart, the status kept.
    let token = prompt(
        &say(&store, &r, &alice, &format!("run chatty #{n}"), now).await,
        "/bin/sh",
    );
    let chatty = yes(&store, &r, &alice, &token, now).await;
    assert!(chatty.text.contains("exit status 3"), "{}", chatty.text);
    let last = last_run(&store, n, "chatty").await;
    let out = last["output"].as_str().unwrap();
    assert!(out.starts_with("0123456789\n"), "{out}");
    assert!(out.contains("… (truncated)\n[stderr]\noops"), "{out}");
    assert!(out.len() < 4096 + 100, "{}", out.len());

    // A timeout kills the program.
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let token = prompt(
        &say(
            &store,
            &r,
            &alice,
            &format!("run slow #{n} file={}", pid_file.display()),
            now,
        )
        .await,
        "Timeout: 1s",
    );
    let started = std::time::Instant::now();
    let slow = yes(&store, &r, &alice, &token, now).await;
    let took = started.elapsed();
    assert!(!slow.ok && slow.public, "{slow:?}");
    assert!(
        slow.text.contains("timed out after 1s and was killed"),
        "{}",
        slow.text
    );
    assert!(took < std::time::Duration::from_secs(4), "took {took:?}");
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let pid = pid.trim();
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the sleep (pid {pid}) must be killed"
    );
    let last = last_run(&store, n, "slow").await;
    assert_eq!(last["outcome"], "timed_out");
    let record = store
        .recent_runbook_runs(50)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.action.as_str() == "slow")
        .unwrap();
    assert_eq!(record.outcome, Some(RunOutcome::TimedOut));
    assert_eq!(record.incident, Some(n));

    // A program not on the allow-list is refused before any prompt.
    refused(
        &say(&store, &r, &alice, "run forbidden", now).await,
        "/usr/bin/env is not allowed on this hub; start tocsin serve with --runbook-command /usr/bin/env",
    );

    // Without an incident the run lands in the audit log.
    let token = prompt(
        &say(&store, &r, &alice, "run say-hello on web-1", now).await,
        "hello web-1",
    );
    assert!(yes(&store, &r, &alice, &token, now).await.ok);
    let audit = store
        .list_audit(&AuditQuery {
            action_prefix: Some("runbook.".into()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    let a = &audit[0].entry;
    assert_eq!(a.actor, "alice");
    assert_eq!(a.interface, tocsin_domain::audit::Interface::Cli);
    assert_eq!(a.object_name.as_deref(), Some("say-hello"));
    assert_eq!(a.detail["output"], "hello web-1  x1\n");
    assert_eq!(a.detail["target"], "web-1");
}
on_both_backends!(command_actions_run_once_and_are_recorded);

/// What the local server received.
#[derive(Debug, Clone, Default)]
struct Received {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    body: String,
}

async fn http_actions_send_what_they_showed(db: Db) {
    use axum::extract::State;
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    async fn record(
        State(got): State<Arc<Mutex<Vec<Received>>>>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: String,
    ) -> (StatusCode, &'static str) {
        let status = match uri.path().ends_with("/broken") {
            true => StatusCode::INTERNAL_SERVER_ERROR,
            false => StatusCode::ACCEPTED,
        };
        got.lock().unwrap().push(Received {
            method: method.to_string(),
            uri: uri.to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
            body,
        });
        (status, "restart queued")
    }
    let app = axum::Router::new().fallback(record).with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let store = db.open(true).await;
    let (clock, n) = demo_incident(&store, "2026-03-10T10:00:00Z").await;
    let now = clock.now();
    declare(
        &store,
        &format!(
            r#"
runbook_actions:
  - name: restart-web
    team: payments
    parameters:
      - {{ name: target, required: true }}
      - {{ name: reason }}
    http:
      method: PUT
      url: "http://{addr}/hosts/{{{{ params.target }}}}/restart?reason={{{{ params.reason | urlencode }}}}"
      headers:
        Content-Type: application/json
        X-Requested-By: "{{{{ by }}}}"
      body: '{{"incident": {{{{ incident }}}}, "target": {{{{ params.target | tojson }}}}}}'
  - name: broken
    team: payments
    http:
      url: "http://{addr}/broken"
"#
        ),
        now,
    )
    .await;
    let r = Runbooks::default();
    let alice = responder("alice");
    let token = prompt(
        &say(
            &store,
            &r,
            &alice,
            &format!("run restart-web on web-2 #{n} reason=\"stuck workers\""),
            now,
        )
        .await,
        &format!("It will send: PUT http://{addr}/hosts/web-2/restart?reason=stuck%20workers"),
    );
    let done = yes(&store, &r, &alice, &token, now).await;
    assert!(done.ok && done.public, "{done:?}");
    assert!(done.text.contains("succeeded (HTTP 202"), "{}", done.text);
    assert!(done.text.contains("restart queued"), "{}", done.text);
    let received = got.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "{received:?}");
    let req = &received[0];
    assert_eq!(req.method, "PUT");
    assert_eq!(req.uri, "/hosts/web-2/restart?reason=stuck%20workers");
    let header = |k: &str| {
        req.headers
            .iter()
            .find(|(h, _)| h == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("content-type"), Some("application/json"));
    assert_eq!(header("x-requested-by"), Some("alice"));
    assert_eq!(
        req.body,
        format!("{{\"incident\": {n}, \"target\": \"web-2\"}}")
    );
    let e = last_run(&store, n, "restart-web").await;
    assert_eq!(e["http_status"], 202);
    assert_eq!(e["output"], "restart queued");

    let token = prompt(
        &say(&store, &r, &alice, &format!("run broken #{n}"), now).await,
        &format!("It will send: POST http://{addr}/broken"),
    );
    let broken = yes(&store, &r, &alice, &token, now).await;
    assert!(!broken.ok && broken.public, "{broken:?}");
    assert!(broken.text.contains("failed: HTTP 500"), "{}", broken.text);
    assert_eq!(last_run(&store, n, "broken").await["outcome"], "failed");
}
on_both_backends!(http_actions_send_what_they_showed);

async fn bad_values_and_callers_are_refused(db: Db) {
    let store = db.open(true).await;
    let (clock, n) = demo_incident(&store, "2026-03-10T10:00:00Z").await;
    let now = clock.now();
    declare(&store, ACTIONS, now).await;
    let r = runbooks();
    let alice = responder("alice");
    let ask = |line: String| {
        let store = store.clone();
        let r = r.clone();
        let alice = alice.clone();
        async move { say(&store, &r, &alice, &line, now).await }
    };
    refused(
        &ask("run say-hello".into()).await,
        "parameter target: is required; write run say-hello on <target>",
    );
    refused(
        &ask("run say-hello on db-1".into()).await,
        "parameter target: \"db-1\" does not match the pattern web-[0-9]+",
    );
    refused(
        &ask("run say-hello on web-1 times=many".into()).await,
        "parameter times: \"many\" is not an integer",
    );
    refused(
        &ask("run say-hello on web-1 loud=maybe".into()).await,
        "parameter loud: \"maybe\" is not a boolean",
    );
    refused(
        &ask("run say-hello on web-1 mode=soft".into()).await,
        "parameter mode: \"soft\" is not one of graceful, hard",
    );
    let a = ask("run say-hello on web-1 colour=red times=x".into()).await;
    refused(&a, "parameter colour: say-hello has no such parameter");
    refused(&a, "parameter times: \"x\" is not an integer");
    refused(
        &ask("run fail on web-1".into()).await,
        "parameter target: fail takes no target",
    );
    refused(
        &ask("run nope".into()).await,
        "run nope: no runbook action named nope; declared: chatty, fail",
    );
    refused(
        &ask("run fail #999".into()).await,
        "run fail: no incident #999",
    );

    // Who may run what.
    let bob_elsewhere = person("bob", Role::Responder, &["platform"]);
    refused(
        &say(&store, &r, &bob_elsewhere, "run fail", now).await,
        "you may not run fail: it is for members of payments with the role responder or above, and admins",
    );
    refused(
        &say(
            &store,
            &r,
            &person("val", Role::Viewer, &["payments"]),
            "run fail",
            now,
        )
        .await,
        "you are viewer",
    );
    refused(
        &say(&store, &r, &alice, "run managers-only", now).await,
        "with the role manager or above",
    );
    prompt(
        &say(
            &store,
            &r,
            &person("mia", Role::Manager, &["payments"]),
            "run managers-only",
            now,
        )
        .await,
        "/bin/echo ok",
    );
    refused(
        &say(
            &store,
            &r,
            &person("dave", Role::Responder, &["platform"]),
            "run platform-thing",
            now,
        )
        .await,
        "it is for carol with the role responder",
    );
    prompt(
        &say(
            &store,
            &r,
            &person("carol", Role::Responder, &["payments"]),
            "run platform-thing",
            now,
        )
        .await,
        "/bin/echo platform",
    );
    prompt(
        &say(
            &store,
            &r,
            &person("root", Role::Admin, &[]),
            "run fail",
            now,
        )
        .await,
        "/bin/false",
    );
    assert!(
        store.recent_runbook_runs(10).await.unwrap().is_empty(),
        "nothing ran"
    );
    let _ = n;
}
on_both_backends!(bad_values_and_callers_are_refused);

async fn confirmations_are_checked(db: Db) {
    let store = db.open(true).await;
    let (clock, n) = demo_incident(&store, "2026-03-10T10:00:00Z").await;
    let now = clock.now();
    declare(&store, ACTIONS, now).await;
    let r = runbooks();
    let alice = responder("alice");
    let line = format!("run say-hello on web-2 #{n}");
    let token = prompt(&say(&store, &r, &alice, &line, now).await, "hello web-2");

    // Forged: any change to the token.
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    refused(
        &yes(&store, &r, &alice, &forged, now).await,
        "this confirmation is not one tocsin made",
    );
    let hexed = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let swapped = token.replace(&hexed("web-2"), &hexed("web-9"));
    assert_ne!(swapped, token);
    refused(
        &yes(&store, &r, &alice, &swapped, now).await,
        "not one tocsin made",
    );
    refused(
        &yes(&store, &r, &alice, "", now).await,
        "not one tocsin made",
    );

    // Someone else's.
    let carol = person("carol", Role::Responder, &["payments"]);
    refused(
        &yes(&store, &r, &carol, &token, now).await,
        "this confirmation is for alice; only they may confirm it",
    );

    // Expired after 5 minutes.
    refused(
        &yes(
            &store,
            &r,
            &alice,
            &token,
            now + SignedDuration::from_secs(5 * 60 + 1),
        )
        .await,
        "this confirmation expired",
    );
    assert!(runbook_entries(&store, n).await.is_empty(), "nothing ran");

    // Within 5 minutes it works.
    let done = yes(
        &store,
        &r,
        &alice,
        &token,
        now + SignedDuration::from_mins(4),
    )
    .await;
    assert!(done.ok, "{done:?}");

    // The action changed between the prompt and the confirmation.
    let token = prompt(&say(&store, &r, &alice, &line, now).await, "hello web-2");
    declare(
        &store,
        &ACTIONS.replace(
            "\"hello {{ params.target }}\"",
            "\"bye {{ params.target }}\"",
        ),
        now,
    )
    .await;
    refused(
        &yes(&store, &r, &alice, &token, now).await,
        "the action changed since you asked",
    );
    assert_eq!(runbook_entries(&store, n).await.len(), 1);

    // A hub that no longer allows the program refuses at confirmation too.
    let token = prompt(
        &say(&store, &r, &alice, "run fail", now).await,
        "/bin/false",
    );
    let stricter = Runbooks::new(vec![PathBuf::from("/bin/echo")]);
    refused(
        &yes(&store, &stricter, &alice, &token, now).await,
        "/bin/false is not allowed on this hub",
    );
}
on_both_backends!(confirmations_are_checked);
