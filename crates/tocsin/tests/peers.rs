//! Real third-party senders against the real binary: Prometheus
//! Alertmanager (its `pagerduty_configs`, `opsgenie_configs` and
//! `webhook_configs` receivers), the PagerDuty Python client `pdpyras` and
//! the Opsgenie Python SDK, each talking to `tocsin serve` unchanged except
//! for the URL.
//!
//! Each test is skipped, with a note on stderr, when its peer is not
//! installed — unless `TOCSIN_PEER_TESTS=1` (CI sets it), when a missing
//! peer is a failure. Everything listens on 127.0.0.1 on a free port; every
//! child process is killed when its guard drops, also when a test fails.
//! State is read from the server's SQLite file, opened in client mode
//! (there is no incidents API yet). Waits poll with a deadline.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tocsin_core::clock::{Clock, SystemClock};
use tocsin_domain::Name;
use tocsin_domain::alerting::IncidentStatus;
use tocsin_domain::ingest::EventAction;
use tocsin_store::ingest::{JOB_INCIDENT_PAGE, JOB_INCIDENT_RESOLVED};
use tocsin_store::{IncidentQuery, IncidentRecord, Store};
use tocsin_store_sqlite::{OpenMode, SqliteStore};

/// Set to `1` to make a missing peer a failure instead of a skip.
const PEER_VAR: &str = "TOCSIN_PEER_TESTS";

/// How long a process may take to start, and Alertmanager to deliver.
const START_DEADLINE: Duration = Duration::from_secs(20);
const DELIVERY_DEADLINE: Duration = Duration::from_secs(60);

/// Whether a missing peer fails the test.
fn peers_required() -> bool {
    std::env::var(PEER_VAR).is_ok_and(|v| v == "1")
}

/// Says the test is skipped because `what` is missing, or fails it when
/// [`PEER_VAR`] is set.
fn missing(test: &str, what: &str, install: &str) {
    assert!(
        !peers_required(),
        "{test}: {what} is not installed and {PEER_VAR}=1 requires it; install it with: {install}"
    );
    eprintln!(
        "{test}: skipped: {what} is not installed (install it with: {install}; \
         set {PEER_VAR}=1 to make this a failure)"
    );
}

/// The program's path, if it is an executable file on `PATH`.
fn on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Whether `python3` on `PATH` can import `module`.
fn python_has(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A port nobody listens on now (bound, read, released; whoever uses it
/// next fails loudly if it was taken in between).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A short pause between two polls; every loop around it has a deadline.
async fn pause() {
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// A child process that is killed when dropped.
struct Guard {
    name: &'static str,
    child: Child,
}

impl Guard {
    /// Panics when the process has exited (it should be serving).
    fn assert_running(&mut self, log: &str) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("{} exited with {status}:\n{log}", self.name);
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A temporary directory with manifests, tocsin's data directory and the
/// peers' files; `tocsin serve` runs on it once [`Env::serve`] is called.
struct Env {
    dir: tempfile::TempDir,
    /// `(variable, key)` pairs exported to `tocsin apply` for `key_env`.
    keys: Vec<(String, String)>,
}

impl Env {
    fn new(keys: &[(&str, &str)]) -> Env {
        Env {
            dir: tempfile::Builder::new()
                .prefix("tocsin-peers-")
                .tempdir()
                .unwrap(),
            keys: keys
                .iter()
                .map(|(v, k)| ((*v).to_owned(), (*k).to_owned()))
                .collect(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn tocsin(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tocsin"));
        c.arg("--data-dir").arg(self.path("data"));
        for var in [
            "TOCSIN_DATABASE_URL",
            "TOCSIN_DATA_DIR",
            "TOCSIN_LISTEN",
            "TOCSIN_LOG_FORMAT",
        ] {
            c.env_remove(var);
        }
        c.env("RUST_LOG", "info")
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        c
    }

    /// `tocsin apply <manifest> --yes`, with the keys in the environment.
    fn apply(&self, manifest: &str) {
        let dir = self.path("manifests");
        self.write("manifests/catalog.yaml", manifest);
        let mut cmd = self.tocsin();
        cmd.arg("apply").arg(&dir).arg("--yes");
        for (var, key) in &self.keys {
            cmd.env(var, key);
        }
        let out = cmd.output().expect("run tocsin apply");
        assert!(
            out.status.success(),
            "tocsin apply failed with {}:\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts `tocsin serve --listen 127.0.0.1:0` and waits for its address.
    async fn serve(&self) -> Serve {
        let mut child = self
            .tocsin()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tocsin serve");
        let log = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let mut serve = Serve {
            guard: Guard {
                name: "tocsin serve",
                child,
            },
            log,
            addr: String::new(),
            db: self.path("data/tocsin.db"),
        };
        let started = Instant::now();
        loop {
            let log = serve.log();
            if let Some(rest) = log.split("listening on http://").nth(1) {
                serve.addr = rest.split_whitespace().next().unwrap().to_owned();
                break;
            }
            serve.guard.assert_running(&log);
            assert!(
                started.elapsed() < START_DEADLINE,
                "tocsin serve did not log its address within {START_DEADLINE:?}:\n{log}"
            );
            pause().await;
        }
        serve
    }
}

/// A running `tocsin serve`.
struct Serve {
    guard: Guard,
    log: Arc<Mutex<String>>,
    /// `127.0.0.1:PORT`.
    addr: String,
    db: PathBuf,
}

impl Serve {
    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's database, opened as a CLI command would (no lock).
    async fn store(&self) -> Box<dyn Store> {
        let store = SqliteStore::open(&self.db, OpenMode::Client)
            .await
            .unwrap_or_else(|e| panic!("open {} in client mode: {e}", self.db.display()));
        Box::new(store)
    }
}

async fn incidents(store: &dyn Store, service: &str) -> Vec<IncidentRecord> {
    store
        .list_incidents(&IncidentQuery {
            service: Some(Name::parse(service).unwrap()),
            open_only: false,
            before_number: None,
            limit: 100,
        })
        .await
        .expect("list incidents")
}

/// The one incident of `service`.
async fn only_incident(store: &dyn Store, service: &str, what: &str) -> IncidentRecord {
    let list = incidents(store, service).await;
    assert_eq!(
        list.len(),
        1,
        "{what}: {service} should have exactly one incident: {list:#?}"
    );
    list.into_iter().next().unwrap()
}

async fn assert_job(store: &dyn Store, kind: &str, incident: &IncidentRecord, what: &str) {
    let key = format!("{kind}:{}", incident.number);
    let job = store.job_by_key(&key).await.expect("read a job");
    assert!(
        job.is_some(),
        "{what}: incident #{} on {} should have its job {key}",
        incident.number,
        incident.service.as_str()
    );
}

// --- Prometheus Alertmanager -------------------------------------------

const AM_PD_KEY: &str = "am-pd-4b1f0c8e2d7a4e6b9c3f5a1d0e2b4c6d";
const AM_OG_KEY: &str = "am-og-8c2e4a6b-1d3f-4e5a-9b7c-0d2e4f6a8b1c";
const AM_WEBHOOK_KEY: &str = "am-wh-1e3c5a7b9d0f2e4c6a8b0d1f3e5a7c9b";

/// One service per Alertmanager receiver, so each receiver's incident can
/// be told apart.
const AM_MANIFEST: &str = "\
teams:
  - name: platform
services:
  - name: via-pagerduty
    team: platform
  - name: via-opsgenie
    team: platform
  - name: via-webhook
    team: platform
integrations:
  - name: am-pagerduty
    service: via-pagerduty
    format: pagerduty
    key_env: TOCSIN_PEER_PD_KEY
  - name: am-opsgenie
    service: via-opsgenie
    format: opsgenie
    key_env: TOCSIN_PEER_OG_KEY
  - name: am-webhook
    service: via-webhook
    format: alertmanager
    key_env: TOCSIN_PEER_AM_KEY
";

const AM_SERVICES: [&str; 3] = ["via-pagerduty", "via-opsgenie", "via-webhook"];

/// Every alert goes to all three receivers (`continue: true`), grouped by
/// alert name, flushed every second. The Opsgenie receiver also sends
/// `update_alerts` requests, the most it ever sends.
fn alertmanager_config(tocsin: &str) -> String {
    format!(
        "\
route:
  receiver: nobody
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - receiver: pagerduty
      continue: true
    - receiver: opsgenie
      continue: true
    - receiver: webhook
      continue: true
receivers:
  - name: nobody
  - name: pagerduty
    pagerduty_configs:
      - url: http://{tocsin}/v2/enqueue
        routing_key: {AM_PD_KEY}
        send_resolved: true
  - name: opsgenie
    opsgenie_configs:
      - api_url: http://{tocsin}/
        api_key: {AM_OG_KEY}
        # Also PUT message and description after every create.
        update_alerts: true
        send_resolved: true
  - name: webhook
    webhook_configs:
      - url: http://{tocsin}/integrations/{AM_WEBHOOK_KEY}/alertmanager
        send_resolved: true
"
    )
}

/// A running Alertmanager and where its log goes.
struct Alertmanager {
    guard: Guard,
    base: String,
    log: PathBuf,
}

impl Alertmanager {
    async fn start(program: &Path, env: &Env, tocsin: &str) -> Alertmanager {
        let config = env.write("alertmanager/am.yml", &alertmanager_config(tocsin));
        let storage = env.path("alertmanager/data");
        std::fs::create_dir_all(&storage).unwrap();
        let log = env.path("alertmanager/am.log");
        let out = File::create(&log).unwrap();
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let child = Command::new(program)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", storage.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--web.external-url={base}"))
            // Empty: no cluster listener (else it binds 0.0.0.0:9094).
            .arg("--cluster.listen-address=")
            .arg("--log.level=debug")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
        let mut am = Alertmanager {
            guard: Guard {
                name: "prometheus-alertmanager",
                child,
            },
            base,
            log,
        };
        let client = http();
        let started = Instant::now();
        loop {
            let ready = client
                .get(format!("{}/-/ready", am.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return am;
            }
            let log = am.log();
            am.guard.assert_running(&log);
            assert!(
                started.elapsed() < START_DEADLINE,
                "Alertmanager was not ready within {START_DEADLINE:?}:\n{log}"
            );
            pause().await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `POST /api/v2/alerts`.
    async fn post_alerts(&self, alerts: &Value) {
        let res = http()
            .post(format!("{}/api/v2/alerts", self.base))
            .json(alerts)
            .send()
            .await
            .expect("POST /api/v2/alerts to Alertmanager");
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "Alertmanager refused the alerts with {status}: {text}"
        );
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Two alerts of one alert name (one group), `startsAt` five minutes ago;
/// with `ends_at`, the same alerts resolved.
fn am_alerts(starts_at: jiff::Timestamp, ends_at: Option<jiff::Timestamp>) -> Value {
    let alerts: Vec<Value> = ["db1", "db2"]
        .iter()
        .map(|instance| {
            let mut a = json!({
                "labels": {
                    "alertname": "DiskFull",
                    "instance": instance,
                    "job": "node",
                    "severity": "critical",
                },
                "annotations": {"summary": format!("Disk full on {instance}")},
                "startsAt": starts_at.to_string(),
                "generatorURL": "http://prometheus.example.com/graph?g0.expr=up",
            });
            if let Some(t) = ends_at {
                a["endsAt"] = json!(t.to_string());
            }
            a
        })
        .collect();
    Value::Array(alerts)
}

/// Polls until `done` holds for the incidents of every service of
/// [`AM_SERVICES`]; panics with both logs at the deadline.
async fn wait_for_incidents(
    store: &dyn Store,
    serve: &mut Serve,
    am: &mut Alertmanager,
    what: &str,
    done: impl Fn(&[IncidentRecord]) -> bool,
) {
    let started = Instant::now();
    loop {
        let mut all = Vec::new();
        let mut pending = Vec::new();
        for service in AM_SERVICES {
            let list = incidents(store, service).await;
            if !done(&list) {
                pending.push(service);
            }
            all.push((service, list));
        }
        if pending.is_empty() {
            return;
        }
        let am_log = am.log();
        am.guard.assert_running(&am_log);
        let serve_log = serve.log();
        serve.guard.assert_running(&serve_log);
        assert!(
            started.elapsed() < DELIVERY_DEADLINE,
            "{what}: not done within {DELIVERY_DEADLINE:?} for {pending:?}\n\
             incidents: {all:#?}\n--- Alertmanager log:\n{am_log}\n--- tocsin log:\n{serve_log}"
        );
        pause().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_receivers_open_and_resolve_incidents() {
    const TEST: &str = "alertmanager_receivers_open_and_resolve_incidents";
    let Some(program) = on_path("prometheus-alertmanager") else {
        missing(
            TEST,
            "prometheus-alertmanager",
            "apt-get install -y prometheus-alertmanager",
        );
        return;
    };
    let env = Env::new(&[
        ("TOCSIN_PEER_PD_KEY", AM_PD_KEY),
        ("TOCSIN_PEER_OG_KEY", AM_OG_KEY),
        ("TOCSIN_PEER_AM_KEY", AM_WEBHOOK_KEY),
    ]);
    env.apply(AM_MANIFEST);
    let mut serve = env.serve().await;
    let mut am = Alertmanager::start(&program, &env, &serve.addr).await;
    let store = serve.store().await;

    // Fire two alerts: each receiver delivers the group once.
    let starts_at = SystemClock.now() - jiff::SignedDuration::from_mins(5);
    am.post_alerts(&am_alerts(starts_at, None)).await;
    wait_for_incidents(store.as_ref(), &mut serve, &mut am, "firing", |list| {
        !list.is_empty()
    })
    .await;
    // Severity as each receiver sends it by default: pagerduty_configs
    // says "error" (Sev2) whatever the labels, opsgenie_configs sends no
    // priority (P3, Sev3), the webhook carries the `severity` label
    // ("critical", Sev1).
    for (service, severity) in [
        ("via-pagerduty", tocsin_domain::Severity::Sev2),
        ("via-opsgenie", tocsin_domain::Severity::Sev3),
        ("via-webhook", tocsin_domain::Severity::Sev1),
    ] {
        let inc = only_incident(store.as_ref(), service, "after firing").await;
        assert_eq!(
            inc.status,
            IncidentStatus::Triggered,
            "{service}: a firing alert opens a triggered incident: {inc:?}"
        );
        assert_eq!(inc.severity, severity, "{service}: {inc:?}");
        assert_job(store.as_ref(), JOB_INCIDENT_PAGE, &inc, service).await;
    }
    // What each receiver's alerts look like: PagerDuty and Opsgenie send
    // the group as one alert (keyed by the group key's hash); the webhook
    // sends each alert, keyed by its fingerprint.
    let webhook = only_incident(store.as_ref(), "via-webhook", "webhook").await;
    let alerts = store.incident_alerts(webhook.number).await.unwrap();
    assert_eq!(
        alerts.len(),
        2,
        "one alert per Alertmanager alert: {alerts:#?}"
    );
    for service in ["via-pagerduty", "via-opsgenie"] {
        let inc = only_incident(store.as_ref(), service, service).await;
        let alerts = store.incident_alerts(inc.number).await.unwrap();
        assert_eq!(
            alerts.len(),
            1,
            "{service}: one alert per group: {alerts:#?}"
        );
        assert_eq!(
            alerts[0].dedup_key.len(),
            64,
            "{service}: Alertmanager's key is the group key's SHA-256: {alerts:#?}"
        );
    }

    // Resolve them: each receiver sends the resolution.
    let ends_at = SystemClock.now() - jiff::SignedDuration::from_secs(1);
    am.post_alerts(&am_alerts(starts_at, Some(ends_at))).await;
    wait_for_incidents(store.as_ref(), &mut serve, &mut am, "resolved", |list| {
        !list.is_empty() && list.iter().all(|i| i.status == IncidentStatus::Resolved)
    })
    .await;
    for service in AM_SERVICES {
        let inc = only_incident(store.as_ref(), service, "after resolving").await;
        assert!(inc.resolved_at.is_some(), "{service}: {inc:?}");
        assert_eq!(inc.open_alerts, 0, "{service}: {inc:?}");
        assert_job(store.as_ref(), JOB_INCIDENT_RESOLVED, &inc, service).await;
        let timeline = store.incident_events(inc.number, 100).await.unwrap();
        assert!(
            timeline
                .iter()
                .any(|e| e.event.action == EventAction::Resolve),
            "{service}: the resolution is on the timeline: {timeline:#?}"
        );
    }
    // Alertmanager never got a refusal (it would retry, or give up and
    // then never send the resolution).
    let requests = requests_seen(&serve).await;
    eprintln!("{TEST}: requests tocsin answered: {requests:#?}");
    let refused: Vec<_> = requests
        .iter()
        .filter(|(_, _, status, _)| !status.starts_with('2'))
        .collect();
    assert!(
        refused.is_empty(),
        "tocsin refused some of Alertmanager's requests: {refused:?}\n--- Alertmanager log:\n{}",
        am.log()
    );
    for (method, route) in [
        ("POST", "/v2/enqueue"),
        ("POST", "/v2/alerts"),
        ("POST", "/v2/alerts/{identifier}/{op}"),
        ("PUT", "/v2/alerts/{identifier}/{op}"),
        ("POST", "/integrations/{key}/{format}"),
    ] {
        assert!(
            requests.iter().any(|(m, r, ..)| m == method && r == route),
            "Alertmanager sent {method} {route}: {requests:?}"
        );
    }
    store.close().await;
}

/// `(method, route, status, count)` of the requests tocsin counted, from
/// `/metrics`, except GETs (the test's own).
async fn requests_seen(serve: &Serve) -> Vec<(String, String, String, f64)> {
    let text = http()
        .get(format!("{}/metrics", serve.base()))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .unwrap();
    let label = |line: &str, name: &str| {
        line.split(&format!("{name}=\""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_owned()
    };
    text.lines()
        .filter(|l| l.starts_with("tocsin_http_requests_total{"))
        .map(|l| {
            let count = l.rsplit(' ').next().unwrap().parse().unwrap_or(0.0);
            (
                label(l, "method"),
                label(l, "route"),
                label(l, "status"),
                count,
            )
        })
        .filter(|(method, ..)| method != "GET")
        .collect()
}

// --- PagerDuty Python client (pdpyras) ---------------------------------

const PD_KEY: &str = "pdpyras-0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f";

const PD_MANIFEST: &str = "\
teams:
  - name: data
services:
  - name: batch
    team: data
integrations:
  - name: batch-pd
    service: batch
    format: pagerduty
    key_env: TOCSIN_PEER_PD_KEY
";

/// Drives `pdpyras` one step per run: `script BASE KEY STEP [DEDUP_KEY]`;
/// prints what the client returns.
const PDPYRAS_SCRIPT: &str = r#"
import sys, warnings
warnings.simplefilter("ignore")
import pdpyras

base, key, step = sys.argv[1:4]
arg = sys.argv[4] if len(sys.argv) > 4 else None
if step == "change":
    s = pdpyras.ChangeEventsAPISession(key)
else:
    s = pdpyras.EventsAPISession(key)
s.url = base
# These machines export REQUESTS_CA_BUNDLE; nothing of the environment
# (proxies, CA bundles) should apply to a loopback test.
s.trust_env = False
if step == "trigger":
    print(s.trigger("Disk full on db1", "db1", dedup_key=arg, severity="critical",
                    custom_details={"free": "0 bytes"},
                    links=[{"href": "https://grafana.example.com/d/db1", "text": "Dashboard"}]))
elif step == "acknowledge":
    print(s.acknowledge(arg))
elif step == "resolve":
    print(s.resolve(arg))
elif step == "change":
    print(s.submit("Deployed batch v2.0.1", source="ci", custom_details={"build": 42},
                   links=[{"href": "https://ci.example.com/42", "text": "build 42"}]))
else:
    sys.exit("unknown step " + step)
"#;

/// Runs a Python script file with arguments; returns its stdout, trimmed.
fn python(script: &Path, args: &[&str], what: &str) -> String {
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: run python3: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success(),
        "{what}: python3 {} failed with {}\nstdout:\n{stdout}\nstderr:\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdpyras_triggers_acknowledges_resolves_and_logs_changes() {
    const TEST: &str = "pdpyras_triggers_acknowledges_resolves_and_logs_changes";
    if !python_has("pdpyras") {
        missing(TEST, "python3 with pdpyras", "pip install pdpyras");
        return;
    }
    let env = Env::new(&[("TOCSIN_PEER_PD_KEY", PD_KEY)]);
    env.apply(PD_MANIFEST);
    let script = env.write("pdpyras_steps.py", PDPYRAS_SCRIPT);
    let serve = env.serve().await;
    let base = serve.base();
    let store = serve.store().await;
    let run = |args: &[&str], what: &str| {
        let mut all = vec![base.as_str(), PD_KEY];
        all.extend_from_slice(args);
        python(&script, &all, what)
    };

    // Trigger twice with a dedup key: one incident, the repeat counted.
    for what in ["trigger", "repeat"] {
        let key = run(&["trigger", "db1/disk"], what);
        assert_eq!(key, "db1/disk", "{what}: pdpyras returns the dedup key");
    }
    let inc = only_incident(store.as_ref(), "batch", "after trigger").await;
    assert_eq!(inc.status, IncidentStatus::Triggered, "{inc:?}");
    assert_eq!(inc.title, "Disk full on db1");
    assert_job(store.as_ref(), JOB_INCIDENT_PAGE, &inc, "trigger").await;
    let alerts = store.incident_alerts(inc.number).await.unwrap();
    assert!(
        alerts.len() == 1 && alerts[0].count == 2,
        "the repeat is counted: {alerts:#?}"
    );

    let key = run(&["acknowledge", "db1/disk"], "acknowledge");
    assert_eq!(key, "db1/disk");
    let inc = only_incident(store.as_ref(), "batch", "after acknowledge").await;
    assert_eq!(inc.status, IncidentStatus::Acknowledged, "{inc:?}");

    run(&["resolve", "db1/disk"], "resolve");
    let inc = only_incident(store.as_ref(), "batch", "after resolve").await;
    assert_eq!(inc.status, IncidentStatus::Resolved, "{inc:?}");
    assert_job(store.as_ref(), JOB_INCIDENT_RESOLVED, &inc, "resolve").await;

    // Without a dedup key, tocsin makes one and pdpyras hands it back.
    let generated = run(&["trigger"], "trigger without dedup key");
    assert!(
        generated.len() == 32 && generated.chars().all(|c| c.is_ascii_hexdigit()),
        "a generated dedup key: {generated:?}"
    );
    run(&["resolve", &generated], "resolve by the generated key");
    let list = incidents(store.as_ref(), "batch").await;
    assert!(
        list.len() == 2 && list.iter().all(|i| i.status == IncidentStatus::Resolved),
        "a second incident, opened and resolved by the generated key: {list:#?}"
    );

    // A change event.
    run(&["change"], "change event");
    let changes = store
        .recent_changes(
            &Name::parse("batch").unwrap(),
            jiff::Timestamp::UNIX_EPOCH,
            10,
        )
        .await
        .unwrap();
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0].event.summary, "Deployed batch v2.0.1");
    assert_eq!(changes[0].event.source.as_deref(), Some("ci"));
    assert!(
        changes[0].event.occurred_at.is_some(),
        "pdpyras's timestamp is read"
    );
    store.close().await;
    drop(serve);
}

// --- Opsgenie SDK -------------------------------------------------------

const OG_KEY: &str = "ogsdk-5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a";

const OG_MANIFEST: &str = "\
teams:
  - name: finance
services:
  - name: billing
    team: finance
integrations:
  - name: billing-og
    service: billing
    format: opsgenie
    key_env: TOCSIN_PEER_OG_KEY
";

/// Drives the Opsgenie SDK one step per run: `script BASE KEY STEP ALIAS`;
/// prints the request id tocsin answered.
const OPSGENIE_SCRIPT: &str = r#"
import sys
import opsgenie_sdk

base, key, step, alias = sys.argv[1:5]
conf = opsgenie_sdk.Configuration()
conf.host = base
conf.api_key["Authorization"] = key
# Fail at once rather than retry for a minute.
conf.retry_enabled = False
api = opsgenie_sdk.AlertApi(opsgenie_sdk.ApiClient(configuration=conf))
if step == "create":
    r = api.create_alert(create_alert_payload=opsgenie_sdk.CreateAlertPayload(
        message="Invoice run failed", alias=alias,
        description="The monthly invoice run stopped at customer 1234.",
        tags=["billing", "batch"], details={"run": "2026-03"}, entity="invoices",
        source="opsgenie-sdk", priority="P1"))
elif step == "acknowledge":
    r = api.acknowledge_alert(identifier=alias, identifier_type="alias",
        acknowledge_alert_payload=opsgenie_sdk.AcknowledgeAlertPayload(
            user="alice", source="opsgenie-sdk", note="on it"))
elif step == "note":
    r = api.add_note(identifier=alias, identifier_type="alias",
        add_note_to_alert_payload=opsgenie_sdk.AddNoteToAlertPayload(
            user="alice", source="opsgenie-sdk", note="rerunning from customer 1234"))
elif step == "close":
    r = api.close_alert(identifier=alias, identifier_type="alias",
        close_alert_payload=opsgenie_sdk.CloseAlertPayload(
            user="alice", source="opsgenie-sdk", note="run complete"))
elif step == "status":
    r = api.get_request_status(request_id=alias)
    print(r.data.alert_id)
    sys.exit(0)
elif step == "acknowledge-id":
    r = api.acknowledge_alert(identifier=alias,
        acknowledge_alert_payload=opsgenie_sdk.AcknowledgeAlertPayload(
            user="alice", source="opsgenie-sdk", note="on it"))
elif step == "close-id":
    r = api.close_alert(identifier=alias,
        close_alert_payload=opsgenie_sdk.CloseAlertPayload(
            user="alice", source="opsgenie-sdk", note="run complete"))
else:
    sys.exit("unknown step " + step)
print(r.request_id)
"#;

/// A hub with the billing integration and the SDK step script, or `None`
/// (after saying so) when the SDK is not installed.
async fn opsgenie_peer(test: &str) -> Option<(Env, PathBuf, Serve)> {
    if !python_has("opsgenie_sdk") {
        missing(
            test,
            "python3 with opsgenie-sdk",
            "pip install opsgenie-sdk",
        );
        return None;
    }
    let env = Env::new(&[("TOCSIN_PEER_OG_KEY", OG_KEY)]);
    env.apply(OG_MANIFEST);
    let script = env.write("opsgenie_steps.py", OPSGENIE_SCRIPT);
    let serve = env.serve().await;
    Some((env, script, serve))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opsgenie_sdk_creates_acknowledges_notes_and_closes_by_alias() {
    const TEST: &str = "opsgenie_sdk_creates_acknowledges_notes_and_closes_by_alias";
    let Some((_env, script, serve)) = opsgenie_peer(TEST).await else {
        return;
    };
    let base = serve.base();
    let store = serve.store().await;
    let alias = "invoice-run-2026-03";
    let run = |step: &str| {
        let id = python(&script, &[&base, OG_KEY, step, alias], step);
        assert!(
            uuid::Uuid::parse_str(&id).is_ok(),
            "{step}: the SDK read tocsin's request id: {id:?}"
        );
    };

    run("create");
    let inc = only_incident(store.as_ref(), "billing", "after create").await;
    assert_eq!(inc.status, IncidentStatus::Triggered, "{inc:?}");
    assert_eq!(inc.title, "Invoice run failed");
    assert_eq!(inc.severity, tocsin_domain::Severity::Sev1, "P1 is Sev1");
    assert_job(store.as_ref(), JOB_INCIDENT_PAGE, &inc, "create").await;
    let alerts = store.incident_alerts(inc.number).await.unwrap();
    assert_eq!(alerts[0].dedup_key, alias, "the alias is the dedup key");

    run("acknowledge");
    let inc = only_incident(store.as_ref(), "billing", "after acknowledge").await;
    assert_eq!(inc.status, IncidentStatus::Acknowledged, "{inc:?}");

    run("note");
    run("close");
    let inc = only_incident(store.as_ref(), "billing", "after close").await;
    assert_eq!(inc.status, IncidentStatus::Resolved, "{inc:?}");
    assert_job(store.as_ref(), JOB_INCIDENT_RESOLVED, &inc, "close").await;
    let timeline = store.incident_events(inc.number, 100).await.unwrap();
    let actions: Vec<EventAction> = timeline.iter().map(|e| e.event.action).collect();
    assert_eq!(
        actions,
        [
            EventAction::Trigger,
            EventAction::Acknowledge,
            EventAction::Note,
            EventAction::Resolve
        ],
        "every SDK call is on the timeline"
    );
    assert_eq!(
        timeline[2].event.note.as_deref(),
        Some("rerunning from customer 1234")
    );
    store.close().await;
    drop(serve);
}

/// The SDK's usual flow: create, ask the request's status for the alert
/// id, then acknowledge and close by id (`identifierType=id`, the SDK's
/// default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opsgenie_sdk_finds_the_alert_id_by_request_and_acts_by_id() {
    const TEST: &str = "opsgenie_sdk_finds_the_alert_id_by_request_and_acts_by_id";
    let Some((_env, script, serve)) = opsgenie_peer(TEST).await else {
        return;
    };
    let base = serve.base();
    let store = serve.store().await;
    let request = python(&script, &[&base, OG_KEY, "create", "payroll"], "create");
    let alert_id = python(&script, &[&base, OG_KEY, "status", &request], "status");
    let inc = only_incident(store.as_ref(), "billing", "after create").await;
    let alerts = store.incident_alerts(inc.number).await.unwrap();
    assert_eq!(
        alert_id,
        alerts[0].id.to_string(),
        "the status names the alert"
    );
    python(
        &script,
        &[&base, OG_KEY, "acknowledge-id", &alert_id],
        "ack",
    );
    let inc = only_incident(store.as_ref(), "billing", "after acknowledge").await;
    assert_eq!(inc.status, IncidentStatus::Acknowledged, "{inc:?}");
    python(&script, &[&base, OG_KEY, "close-id", &alert_id], "close");
    let inc = only_incident(store.as_ref(), "billing", "after close").await;
    assert_eq!(inc.status, IncidentStatus::Resolved, "{inc:?}");
    store.close().await;
    drop(serve);
}
