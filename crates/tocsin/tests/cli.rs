//! Black-box tests of the `tocsin` binary: each runs the real executable
//! with its own data directory in a temporary directory, and reads only what
//! a user sees (exit code, stdout, stderr, HTTP answers of `serve`).
//!
//! Servers listen on `127.0.0.1:0`; their address is read from the
//! "listening on" log line. Waits poll with a deadline; every child process
//! is killed when its guard drops, also when a test fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a server may take to start or stop.
const DEADLINE: Duration = Duration::from_secs(20);

/// The repository root (for `examples/`).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A temporary workspace: a data directory and room for manifests.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::Builder::new()
                .prefix("tocsin-cli-")
                .tempdir()
                .unwrap(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn data_dir(&self) -> PathBuf {
        self.path("data")
    }

    /// Writes a file (creating its directories) and returns its path.
    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Copies the repository's examples into `rel` and returns the directory.
    fn examples(&self, rel: &str) -> PathBuf {
        let to = self.path(rel);
        std::fs::create_dir_all(&to).unwrap();
        for f in ["people.yaml", "payments.yaml", "platform.yaml"] {
            std::fs::copy(repo_root().join("examples").join(f), to.join(f)).unwrap();
        }
        to
    }

    /// `tocsin --data-dir <tmp>/data`, with an environment that cannot leak
    /// in from the caller's shell and no stdin (as in CI).
    fn tocsin(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tocsin"));
        c.arg("--data-dir").arg(self.data_dir());
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

    /// Runs `tocsin <args>` to completion.
    fn run(&self, args: &[&str]) -> Run {
        Run::of(self.tocsin().args(args))
    }

    /// Runs `tocsin <args>` with `input` on stdin.
    fn run_stdin(&self, args: &[&str], input: &str) -> Run {
        use std::io::Write;
        let mut cmd = self.tocsin();
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let what = format!("{args:?}");
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run tocsin {what}: {e}"));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let Output {
            status,
            stdout,
            stderr,
        } = child.wait_with_output().unwrap();
        Run {
            what,
            status,
            stdout: String::from_utf8(stdout).unwrap(),
            stderr: String::from_utf8(stderr).unwrap(),
        }
    }

    /// Applies a one-service organisation whose `generic` integration has
    /// `key`, for tests that send events to a running hub.
    fn generic_hub(&self, key: &str) {
        let root = self.dir.path().join("generic-hub");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(
            root.join("org.yaml"),
            "users:\n  - { name: ops, full_name: Ops, email: ops@example.com, time_zone: UTC }\n\
             teams:\n  - { name: ops, members: [ops] }\n\
             services:\n  - { name: web, team: ops }\n\
             integrations:\n  - { name: web-generic, service: web, format: generic, key_env: WEB_KEY }\n",
        )
        .unwrap();
        let mut apply = self.tocsin();
        apply
            .env("WEB_KEY", key)
            .args(["apply", root.to_str().unwrap(), "--yes"]);
        Run::of(&mut apply).assert_success("apply the generic hub");
    }

    /// `tocsin get KIND -o json` as JSON.
    fn get_json(&self, kind: &str) -> Value {
        let r = self.run(&["get", kind, "-o", "json"]);
        r.assert_success(&format!("get {kind}"));
        serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("get {kind} -o json is not JSON ({e}): {}", r.stdout))
    }

    fn assert_catalog_empty(&self, why: &str) {
        for kind in [
            "users",
            "teams",
            "schedules",
            "escalation-policies",
            "services",
            "integrations",
            "silences",
            "maintenance-windows",
            "schedule-overrides",
        ] {
            let list = self.get_json(kind);
            assert_eq!(list, Value::Array(vec![]), "{why}: {kind} should be empty");
        }
    }
}

/// The outcome of a finished command.
struct Run {
    what: String,
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    fn of(cmd: &mut Command) -> Run {
        let what = format!("{:?}", cmd.get_args().collect::<Vec<_>>());
        let Output {
            status,
            stdout,
            stderr,
        } = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run tocsin {what}: {e}"));
        Run {
            what,
            status,
            stdout: String::from_utf8(stdout).unwrap(),
            stderr: String::from_utf8(stderr).unwrap(),
        }
    }

    fn assert_success(&self, why: &str) -> &Run {
        assert!(
            self.status.success(),
            "{why}: tocsin {} failed with {}\nstdout:\n{}\nstderr:\n{}",
            self.what,
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    fn assert_failure(&self, why: &str) -> &Run {
        assert!(
            !self.status.success(),
            "{why}: tocsin {} should fail but succeeded\nstdout:\n{}\nstderr:\n{}",
            self.what,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// A `tocsin serve` in the background. Dropping it kills the process.
struct Serve {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Serve {
    fn start(env: &Env, extra: &[&str]) -> Serve {
        Serve::spawn(env.tocsin(), extra)
    }

    fn spawn(mut cmd: Command, extra: &[&str]) -> Serve {
        let mut child = cmd
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tocsin serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Serve { child, stderr }
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the "listening on http://ADDR" line and returns ADDR.
    fn wait_listening(&mut self) -> String {
        let log = self.wait_for("listening on http://");
        let addr = log.split("listening on http://").nth(1).unwrap();
        addr.split_whitespace().next().unwrap().to_owned()
    }

    /// Waits until the log contains `needle`; returns the log.
    fn wait_for(&mut self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("tocsin serve exited with {status} before logging {needle:?}:\n{log}");
            }
            assert!(
                start.elapsed() < DEADLINE,
                "tocsin serve did not log {needle:?} within {DEADLINE:?}:\n{log}"
            );
            pause(Duration::from_millis(20));
        }
    }

    /// Waits for the process to exit on its own.
    fn wait_exit(&mut self) -> ExitStatus {
        wait_with_deadline(&mut self.child, &self.stderr)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The pause between two polls of a child process. These tests run no
/// async runtime while polling and wait on real processes, so a real (short)
/// sleep is what is wanted; every loop around it has a deadline.
#[allow(clippy::disallowed_methods)]
fn pause(d: Duration) {
    std::thread::sleep(d);
}

fn wait_with_deadline(child: &mut Child, log: &Mutex<String>) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            // Let the reader thread catch the last lines.
            pause(Duration::from_millis(50));
            return status;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "tocsin did not exit within {DEADLINE:?}:\n{}",
            log.lock().unwrap()
        );
        pause(Duration::from_millis(20));
    }
}

/// Three files with a problem each: a missing team, an unknown time zone, a
/// team declared twice.
fn broken_tree(env: &Env) -> PathBuf {
    env.write(
        "broken/a.yaml",
        "teams:\n  - name: payments\nservices:\n  - name: checkout\n    team: paymnts\n",
    );
    env.write(
        "broken/people/b.yaml",
        "users:\n  - name: bob\n    full_name: Bob\n    email: bob@example.com\n    time_zone: Mars/Olympus\n",
    );
    env.write("broken/z.yaml", "teams:\n  - name: payments\n");
    env.path("broken")
}

#[test]
fn validate_accepts_the_examples() {
    let r = Run::of(
        Command::new(env!("CARGO_BIN_EXE_tocsin"))
            .args(["validate", "examples/"])
            .current_dir(repo_root())
            .stdin(Stdio::null()),
    );
    r.assert_success("the shipped examples are valid");
    assert!(
        r.stdout.contains("3 file(s)") && r.stdout.contains("valid."),
        "{}",
        r.stdout
    );
}

#[test]
fn validate_reports_every_problem_located() {
    let env = Env::new();
    let root = broken_tree(&env);
    let r = env.run(&["validate", root.to_str().unwrap()]);
    r.assert_failure("a broken tree");
    assert_eq!(r.status.code(), Some(1), "exit code 1: {}", r.stderr);
    let a = root.join("a.yaml").display().to_string();
    let b = root.join("people/b.yaml").display().to_string();
    let z = root.join("z.yaml").display().to_string();
    let mut want = vec![
        format!(
            "{b}:5:16: users[0].time_zone: \"Mars/Olympus\" is not a known IANA time zone (e.g. Europe/Berlin, UTC)"
        ),
        format!(
            "{z}:2:11: teams[0].name: team \"payments\" is declared twice (first declared at {a}:2:11)"
        ),
        format!("{a}:5:11: services[0].team: no team named \"paymnts\" is declared"),
    ];
    let mut got: Vec<String> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with(root.to_str().unwrap()))
        .map(str::to_owned)
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "stderr:\n{}", r.stderr);
    assert!(r.stderr.contains("3 problem(s) found"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "errors go to stderr: {}", r.stdout);
}

#[test]
fn apply_then_plan_has_no_changes() {
    let env = Env::new();
    let examples = env.examples("manifests");
    let m = examples.to_str().unwrap();
    let r = env.run(&["plan", m, "--detailed-exitcode"]);
    assert_eq!(
        r.status.code(),
        Some(2),
        "pending changes exit 2: {}",
        r.stderr
    );
    let r = env.run(&["apply", m, "--yes"]);
    r.assert_success("apply the examples");
    assert!(
        r.stdout.contains("+ create service checkout"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Applied."), "{}", r.stdout);
    let r = env.run(&["plan", m]);
    r.assert_success("plan after apply");
    assert!(
        r.stdout.starts_with("No changes."),
        "plan after apply: {}",
        r.stdout
    );
    let r = env.run(&["plan", m, "--detailed-exitcode"]);
    assert_eq!(r.status.code(), Some(0), "no changes exit 0: {}", r.stderr);
    let r = env.run(&["apply", m, "--yes"]);
    r.assert_success("apply again");
    assert!(r.stdout.starts_with("No changes."), "{}", r.stdout);
    assert!(!r.stdout.contains("Applied."), "{}", r.stdout);
}

#[test]
fn plan_shows_updated_fields() {
    let env = Env::new();
    let examples = env.examples("manifests");
    let m = examples.to_str().unwrap();
    env.run(&["apply", m, "--yes"]).assert_success("apply");
    let file = examples.join("payments.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = text.replace(
        "The checkout API behind the \"Pay\" button.",
        "The checkout API.",
    );
    assert_ne!(
        text, edited,
        "the example's description changed; update this test"
    );
    std::fs::write(&file, edited).unwrap();
    let r = env.run(&["plan", m]);
    r.assert_success("plan an edit");
    assert!(
        r.stdout
            .lines()
            .any(|l| l == "  ~ update service checkout (description)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("1 to change"), "{}", r.stdout);
    env.run(&["apply", m, "--yes"])
        .assert_success("apply the edit");
    let checkout: Value = serde_json::from_str(
        &env.run(&["get", "services", "checkout", "-o", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(checkout["spec"]["description"], "The checkout API.");
}

#[test]
fn removed_objects_are_orphans_until_pruned() {
    let env = Env::new();
    let examples = env.examples("manifests");
    let m = examples.to_str().unwrap();
    env.run(&["apply", m, "--yes"]).assert_success("apply");
    let file = examples.join("platform.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let cut = text
        .find("integrations:")
        .expect("platform.yaml declares integrations");
    std::fs::write(&file, &text[..cut]).unwrap();

    let r = env.run(&["plan", m]);
    r.assert_success("plan without the integration");
    assert!(
        r.stdout.contains(
            "  ! keep integration platform-generic: managed by config but in no manifest (apply --prune deletes it)"
        ),
        "{}",
        r.stdout
    );
    env.run(&["apply", m, "--yes"])
        .assert_success("apply without prune");
    env.run(&["get", "integrations", "platform-generic"])
        .assert_success("an orphan is kept without --prune");

    let r = env.run(&["plan", m, "--prune"]);
    r.assert_success("plan --prune");
    assert!(
        r.stdout.contains("  - delete integration platform-generic"),
        "{}",
        r.stdout
    );
    let r = env.run(&["apply", m, "--prune", "--yes"]);
    r.assert_success("apply --prune");
    assert!(r.stdout.contains("1 to delete"), "{}", r.stdout);
    let r = env.run(&["get", "integrations", "platform-generic"]);
    r.assert_failure("pruned");
    assert!(
        r.stderr
            .contains("no integration named \"platform-generic\""),
        "{}",
        r.stderr
    );
    let r = env.run(&["plan", m, "--prune"]);
    assert!(r.stdout.starts_with("No changes."), "{}", r.stdout);
}

#[test]
fn apply_without_yes_off_a_terminal_refuses() {
    let env = Env::new();
    let examples = env.examples("manifests");
    let r = env.run(&["apply", examples.to_str().unwrap()]);
    r.assert_failure("no --yes and no terminal");
    assert!(
        r.stderr.contains("refusing to apply") && r.stderr.contains("--yes"),
        "{}",
        r.stderr
    );
    env.assert_catalog_empty("after a refused apply");
}

#[test]
fn invalid_manifests_change_nothing() {
    let env = Env::new();
    let root = broken_tree(&env);
    let r = env.run(&["apply", root.to_str().unwrap(), "--yes"]);
    r.assert_failure("apply a broken tree");
    assert!(r.stderr.contains("nothing was changed"), "{}", r.stderr);
    assert!(
        r.stderr.contains("services[0].team"),
        "the problems are listed: {}",
        r.stderr
    );
    env.assert_catalog_empty("after an invalid apply");
}

#[test]
fn integration_keys_come_from_the_environment() {
    let env = Env::new();
    let file = env.write(
        "keyed/all.yaml",
        "users:\n  - name: alice\n    full_name: Alice\n    email: alice@example.com\n    time_zone: UTC\n\
         teams:\n  - name: payments\n    members: [alice]\n\
         services:\n  - name: checkout\n    team: payments\n\
         integrations:\n  - name: checkout-am\n    service: checkout\n    format: alertmanager\n    key_env: TOCSIN_TEST_CHECKOUT_KEY\n",
    );
    let dir = env.path("keyed");
    let d = dir.to_str().unwrap();

    let r = Run::of(
        env.tocsin()
            .args(["plan", d])
            .env_remove("TOCSIN_TEST_CHECKOUT_KEY"),
    );
    r.assert_failure("plan with the key variable unset");
    let want = format!(
        "{}:16:14: integrations[0].key_env: environment variable TOCSIN_TEST_CHECKOUT_KEY is not set; export it where plan/apply runs",
        file.display()
    );
    assert!(
        r.stderr.lines().any(|l| l == want),
        "want the line\n{want}\nin stderr:\n{}",
        r.stderr
    );
    let r = Run::of(
        env.tocsin()
            .args(["plan", d])
            .env("TOCSIN_TEST_CHECKOUT_KEY", ""),
    );
    r.assert_failure("an empty key is no key");

    let r = Run::of(
        env.tocsin()
            .args(["apply", d, "--yes"])
            .env("TOCSIN_TEST_CHECKOUT_KEY", "k3y-from-the-vault"),
    );
    r.assert_success("apply with the key variable set");
    assert!(
        r.stdout.contains("+ create integration checkout-am"),
        "{}",
        r.stdout
    );
    let integration: Value = serde_json::from_str(
        &env.run(&["get", "integrations", "checkout-am", "-o", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(
        integration["spec"]["key_env"], "TOCSIN_TEST_CHECKOUT_KEY",
        "{integration}"
    );
    assert!(
        !integration.to_string().contains("k3y-from-the-vault"),
        "the key itself is never shown: {integration}"
    );
}

#[test]
fn ambiguous_database_urls_are_refused() {
    let env = Env::new();
    let bare = env.path("x.db");
    let r = env.run(&["--database-url", bare.to_str().unwrap(), "get", "services"]);
    r.assert_failure("a bare path");
    assert!(
        r.stderr.contains("has no scheme") && r.stderr.contains("sqlite://"),
        "{}",
        r.stderr
    );
    assert!(!bare.exists(), "a refused URL must not create {bare:?}");

    let r = env.run(&["--database-url", "mysql://x", "get", "services"]);
    r.assert_failure("an unknown scheme");
    assert!(
        r.stderr.contains("scheme \"mysql\" is not supported"),
        "{}",
        r.stderr
    );

    let r = Run::of(
        env.tocsin()
            .args(["get", "services"])
            .env("TOCSIN_DATABASE_URL", "mysql://x"),
    );
    r.assert_failure("the environment variable is checked the same way");
    assert!(r.stderr.contains("\"mysql\""), "{}", r.stderr);

    // A sqlite:// URL is used as given.
    let file = env.path("elsewhere/tocsin.db");
    let url = format!("sqlite://{}", file.display());
    env.run(&["--database-url", &url, "migrate"])
        .assert_success("sqlite:// URL");
    assert!(file.exists(), "sqlite:// creates {file:?}");
    assert!(
        !env.data_dir().join("tocsin.db").exists(),
        "the data dir is not used when a URL is given"
    );
}

#[test]
fn tokens_are_created_listed_and_revoked() {
    let env = Env::new();
    let r = env.run(&["token", "create", "--name", "ci-apply", "--scope", "admin"]);
    r.assert_success("token create");
    let secret = r.stdout.trim().to_owned();
    assert!(
        secret.starts_with("tcs_") && secret.len() > 20 && !secret.contains(char::is_whitespace),
        "stdout is the token alone: {:?}",
        r.stdout
    );
    assert!(r.stderr.contains("shown only this once"), "{}", r.stderr);

    let r = env.run(&["token", "list"]);
    r.assert_success("token list");
    let row = r
        .stdout
        .lines()
        .find(|l| l.starts_with("ci-apply "))
        .unwrap_or_else(|| panic!("ci-apply is listed: {}", r.stdout));
    assert!(row.contains("admin") && row.ends_with("live"), "{row}");
    assert!(
        !r.stdout.contains(&secret[4..]),
        "the secret is never listed: {}",
        r.stdout
    );

    env.run(&["token", "revoke", "ci-apply"])
        .assert_success("token revoke");
    let r = env.run(&["token", "list"]);
    let row = r
        .stdout
        .lines()
        .find(|l| l.starts_with("ci-apply "))
        .unwrap();
    assert!(row.ends_with("revoked"), "{row}");
    let r = env.run(&["token", "revoke", "ci-apply"]);
    r.assert_failure("revoking twice");
    assert!(r.stderr.contains("no live token"), "{}", r.stderr);

    let r = env.run(&["token", "create", "--name", "x", "--scope", "root"]);
    r.assert_failure("an unknown scope");
    assert!(r.stderr.contains("read, write or admin"), "{}", r.stderr);
}

#[test]
fn get_prints_json() {
    let env = Env::new();
    let examples = env.examples("manifests");
    env.run(&["apply", examples.to_str().unwrap(), "--yes"])
        .assert_success("apply");
    let services = env.get_json("services");
    assert_eq!(
        sorted_names(&services),
        ["checkout", "edge-proxy", "kafka", "ledger", "postgres"]
    );
    for s in services.as_array().unwrap() {
        assert_eq!(s["managed_by_config"], true, "{s}");
        assert!(
            s["source"].as_str().unwrap().ends_with(".yaml"),
            "the source is the manifest file: {s}"
        );
    }
    let r = env.run(&[
        "get",
        "escalation-policies",
        "payments-default",
        "-o",
        "json",
    ]);
    r.assert_success("get one");
    let policy: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(policy["name"], "payments-default", "{policy}");
    assert_eq!(policy["kind"], "escalation_policy", "{policy}");

    let r = env.run(&["get", "services"]);
    r.assert_success("table output");
    assert!(r.stdout.starts_with("NAME"), "{}", r.stdout);
    assert!(r.stdout.contains("checkout"), "{}", r.stdout);

    let r = env.run(&["get", "servics"]);
    r.assert_failure("an unknown kind");
    assert!(r.stderr.contains("escalation-policies"), "{}", r.stderr);
}

#[test]
fn a_second_serve_on_the_same_data_is_refused() {
    let env = Env::new();
    let mut first = Serve::start(&env, &[]);
    first.wait_listening();
    let mut second = Serve::start(&env, &[]);
    let status = second.wait_exit();
    assert!(
        !status.success(),
        "the second serve must not run:\n{}",
        second.log()
    );
    assert!(
        second
            .log()
            .contains(&format!("another tocsin serve (pid {})", first.pid())),
        "the refusal names the running server:\n{}",
        second.log()
    );
    assert!(
        first.child.try_wait().unwrap().is_none(),
        "the first serve keeps running"
    );
}

#[test]
fn serve_stops_cleanly_on_sigterm() {
    let env = Env::new();
    let mut serve = Serve::start(&env, &[]);
    serve.wait_listening();
    let kill = Command::new("kill")
        .args(["-TERM", &serve.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(kill.success(), "kill -TERM failed");
    let status = serve.wait_exit();
    assert!(
        status.success(),
        "serve exits 0 on SIGTERM, got {status}:\n{}",
        serve.log()
    );
    assert!(serve.log().contains("stopped"), "{}", serve.log());
    // The lock is released: a new server can start on the same data.
    let mut again = Serve::start(&env, &[]);
    again.wait_listening();
}

#[test]
fn serve_demo_answers_with_the_printed_token() {
    let env = Env::new();
    let mut serve = Serve::start(&env, &["--demo"]);
    let addr = serve.wait_listening();
    let log = serve.wait_for("demo sign-in");
    let token = log
        .lines()
        .find(|l| l.starts_with("demo API token"))
        .and_then(|l| l.rsplit(": ").next())
        .unwrap_or_else(|| panic!("no demo token line:\n{log}"))
        .trim()
        .to_owned();
    assert!(token.starts_with("tcs_"), "{token:?}");
    assert!(
        !log.contains('\u{1b}'),
        "no terminal colour codes in logs that go to a pipe:\n{log}"
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{addr}/api/v1/services");
    let (status, body) = runtime.block_on(async {
        let res = client.get(&url).bearer_auth(&token).send().await.unwrap();
        (res.status(), res.text().await.unwrap())
    });
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let services: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        sorted_names(&services),
        ["checkout", "edge-proxy", "kafka", "ledger", "postgres"]
    );
    let unauthenticated =
        runtime.block_on(async { client.get(&url).send().await.unwrap().status() });
    assert_eq!(unauthenticated, reqwest::StatusCode::UNAUTHORIZED);
    assert!(
        log.contains(&format!(
            "try: curl -H 'Authorization: Bearer {token}' http://{addr}/"
        )),
        "the hint uses the bound address:\n{log}"
    );

    // The newcomer signs in to the web UI with the printed password.
    let password = log
        .lines()
        .find(|l| l.starts_with("demo sign-in"))
        .and_then(|l| l.rsplit(": ").next())
        .unwrap_or_else(|| panic!("no demo sign-in line:\n{log}"))
        .trim()
        .to_owned();
    let browser = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = runtime.block_on(async {
        browser
            .post(format!("http://{addr}/login"))
            .form(&[
                ("user", "alice"),
                ("password", password.as_str()),
                ("next", "/services"),
            ])
            .send()
            .await
            .unwrap()
    });
    assert_eq!(
        res.status(),
        reqwest::StatusCode::SEE_OTHER,
        "sign-in redirects"
    );
    let cookie = res.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with("tocsin_session=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let page = runtime.block_on(async {
        let res = browser
            .get(format!("http://{addr}/services/checkout"))
            .header(reqwest::header::COOKIE, &session)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::OK);
        res.text().await.unwrap()
    });
    assert!(
        page.contains("Checkout returns 5xx"),
        "the service page shows its runbook"
    );
}

/// On PostgreSQL (when `TOCSIN_TEST_POSTGRES_URL` is set): the same
/// apply/plan cycle through `--database-url`, and several servers on one
/// database are allowed (the single-instance lock is SQLite's alone).
#[test]
fn postgres_by_url() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(url) = runtime.block_on(tocsin_store_postgres::testing::fresh_database()) else {
        eprintln!(
            "skipped: set TOCSIN_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run the CLI on PostgreSQL"
        );
        return;
    };
    let env = Env::new();
    let examples = env.examples("manifests");
    let m = examples.to_str().unwrap();
    let with_url = |args: &[&str]| Run::of(env.tocsin().arg("--database-url").arg(&url).args(args));
    with_url(&["apply", m, "--yes"]).assert_success("apply on PostgreSQL");
    let r = with_url(&["plan", m]);
    r.assert_success("plan on PostgreSQL");
    assert!(r.stdout.starts_with("No changes."), "{}", r.stdout);
    let r = with_url(&["get", "services", "-o", "json"]);
    r.assert_success("get on PostgreSQL");
    let services: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(services.as_array().unwrap().len(), 5, "{services}");
    assert!(
        !env.data_dir().join("tocsin.db").exists(),
        "no SQLite file is made when a PostgreSQL URL is given"
    );

    let serve = |env: &Env| {
        let mut c = env.tocsin();
        c.env("TOCSIN_DATABASE_URL", &url);
        Serve::spawn(c, &[])
    };
    let mut first = serve(&env);
    first.wait_listening();
    let mut second = serve(&env);
    second.wait_listening();
    assert!(
        first.child.try_wait().unwrap().is_none(),
        "both servers run:\n{}",
        first.log()
    );
    assert!(
        !first.log().contains(&url) && !second.log().contains(&url),
        "the database URL (it may hold a password) is not logged"
    );
    drop(first);
    drop(second);
    runtime.block_on(tocsin_store_postgres::testing::drop_database(&url));
}

/// The `name` of every object in a JSON list, sorted.
fn sorted_names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list
        .as_array()
        .expect("a JSON list")
        .iter()
        .map(|s| s["name"].as_str().expect("a name").to_owned())
        .collect();
    names.sort_unstable();
    names
}

#[test]
fn user_accounts_from_the_terminal() {
    let env = Env::new();
    // The first admin on an empty install: the user is created too.
    let r = env.run(&[
        "user",
        "create",
        "root",
        "--admin",
        "--email",
        "root@example.com",
    ]);
    r.assert_success("create the first admin");
    let password = r.stdout.trim();
    assert!(
        password.len() >= 12,
        "a generated password is printed once: {:?}",
        r.stdout
    );
    let r = env.run(&["user", "list"]);
    r.assert_success("list");
    assert!(
        r.stdout
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["root", "admin"])),
        "{}",
        r.stdout
    );
    let users = env.get_json("users");
    assert_eq!(sorted_names(&users), ["root"]);
    assert_eq!(
        users[0]["managed_by_config"], false,
        "made by hand: {users}"
    );

    // A new user needs an email; a short password is refused.
    let r = env.run(&["user", "create", "bob"]);
    r.assert_failure("no email for a new user");
    assert!(
        r.stderr.contains("email: is required for a new user"),
        "{}",
        r.stderr
    );
    let r = env.run_stdin(
        &[
            "user",
            "create",
            "bob",
            "--email",
            "bob@example.com",
            "--password-stdin",
        ],
        "short\n",
    );
    r.assert_failure("short password");
    assert!(
        r.stderr
            .contains("password: is 5 characters long; use at least 12"),
        "{}",
        r.stderr
    );
    let r = env.run(&["user", "create", "root", "--role", "boss"]);
    r.assert_failure("unknown role");
    assert!(r.stderr.contains("\"boss\" is not a role"), "{}", r.stderr);
    let r = env.run(&["user", "create", "root", "--email", "x@example.com"]);
    r.assert_failure("duplicate");
    assert!(
        r.stderr.contains("root already has an account"),
        "{}",
        r.stderr
    );

    // The last admin is not demoted; once another admin exists, it is.
    let r = env.run(&["user", "set-role", "root", "viewer"]);
    r.assert_failure("demote the last admin");
    assert!(
        r.stderr
            .contains("root is the last admin; make another account admin first"),
        "{}",
        r.stderr
    );
    env.run(&[
        "user",
        "create",
        "ops",
        "--admin",
        "--email",
        "ops@example.com",
    ])
    .assert_success("a second admin");
    env.run(&["user", "set-role", "root", "viewer"])
        .assert_success("set role");
    let r = env.run(&["user", "list"]);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["root", "viewer"])),
        "{}",
        r.stdout
    );
    let r = env.run(&["user", "set-role", "nobody", "admin"]);
    r.assert_failure("no such account");
    env.run_stdin(
        &["user", "set-password", "root", "--password-stdin"],
        "a brand new passphrase\n",
    )
    .assert_success("set password");
}

/// `tocsin send` fires a test alert and `tocsin log` records a change,
/// through a generic integration of a running hub or, with `--service`,
/// through the API with a token; bad input is reported with the field.
#[test]
fn send_and_log_reach_a_running_hub() {
    let env = Env::new();
    env.generic_hub("web-key-123");
    let r = env.run(&["token", "create", "--name", "deploys", "--scope", "write"]);
    r.assert_success("token create");
    let token = r.stdout.trim().to_owned();
    let mut serve = Serve::start(&env, &[]);
    let addr = serve.wait_listening();
    let server = format!("http://{addr}");
    let log_for = |args: &[&str], token: &str| {
        let mut c = env.tocsin();
        c.args(args)
            .args(["--server", &server])
            .env("TOCSIN_TOKEN", token);
        Run::of(&mut c)
    };
    log_for(&["log", "Deployed web 1.4.2", "--service", "web"], &token)
        .assert_success("log --service");
    let r = log_for(&["log", "x", "--service", "nope"], &token);
    r.assert_failure("unknown service");
    assert!(r.stderr.contains("no service named"), "{}", r.stderr);
    let r = log_for(&["log", "x", "--service", "web"], "tcs_not-a-token");
    r.assert_failure("bad token");
    assert!(r.stderr.contains("401"), "{}", r.stderr);
    let send = |args: &[&str]| {
        let mut c = env.tocsin();
        c.args(args)
            .args(["--server", &server, "--key", "web-key-123"]);
        Run::of(&mut c)
    };
    let r = send(&[
        "send",
        "Test alert from the CLI",
        "--dedup-key",
        "cli-test",
        "--severity",
        "sev2",
    ]);
    r.assert_success("send");
    assert!(
        r.stdout.contains("\"dedup_key\":\"cli-test\""),
        "{}",
        r.stdout
    );
    send(&["log", "Upgraded redis to 2.8.19"]).assert_success("log");
    let r = send(&["send", "x", "--severity", "sev9"]);
    r.assert_failure("bad severity");
    assert!(
        r.stderr.contains("severity: \"sev9\" is not a severity"),
        "{}",
        r.stderr
    );
    let mut wrong = env.tocsin();
    wrong.args(["send", "x", "--server", &server, "--key", "nope"]);
    let r = Run::of(&mut wrong);
    r.assert_failure("unknown key");
    assert!(r.stderr.contains("401"), "{}", r.stderr);
    let _ = serve.child.kill();

    // What the hub stored, read back from the database.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let path = env.data_dir().join("tocsin.db");
        let store =
            tocsin_store_sqlite::SqliteStore::open(&path, tocsin_store_sqlite::OpenMode::Client)
                .await
                .unwrap();
        use tocsin_store::IngestStore;
        let incidents = store
            .list_incidents(&tocsin_store::IncidentQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(incidents.len(), 1, "{incidents:?}");
        assert_eq!(incidents[0].title, "Test alert from the CLI");
        let since = jiff::Timestamp::UNIX_EPOCH;
        let web = tocsin_domain::Name::parse("web").unwrap();
        let changes = store.recent_changes(&web, since, 10).await.unwrap();
        let summaries: Vec<&str> = changes.iter().map(|c| c.event.summary.as_str()).collect();
        assert_eq!(
            summaries,
            ["Upgraded redis to 2.8.19", "Deployed web 1.4.2"],
            "newest first"
        );
        assert_eq!(changes[1].integration.as_str(), "api");
    });
}

/// Kill -9 in the middle of a stream of events: every event that was
/// answered 202 is in the database afterwards (durable before the answer).
#[test]
fn a_killed_server_loses_nothing_it_accepted() {
    let env = Env::new();
    env.generic_hub("kill-key-1");
    let mut serve = Serve::start(&env, &[]);
    let addr = serve.wait_listening();
    let url = format!("http://{addr}/integrations/kill-key-1/events");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let accepted = Arc::new(Mutex::new(Vec::<String>::new()));
    let senders: Vec<_> = (0..8)
        .map(|s| {
            let (url, accepted) = (url.clone(), accepted.clone());
            runtime.spawn(async move {
                let client = reqwest::Client::builder().no_proxy().build().unwrap();
                for i in 0..100_000 {
                    let key = format!("s{s}-e{i}");
                    let body = serde_json::json!({ "action": "trigger", "dedup_key": key, "summary": "load", "severity": "sev3" });
                    match client.post(&url).json(&body).send().await {
                        Ok(r) if r.status() == reqwest::StatusCode::ACCEPTED => accepted.lock().unwrap().push(key),
                        _ => break, // the server is gone
                    }
                }
            })
        })
        .collect();
    // Let the stream run, then kill without warning once some events were accepted.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while accepted.lock().unwrap().len() < 300 {
        assert!(
            std::time::Instant::now() < deadline,
            "no load reached the server"
        );
        pause(Duration::from_millis(10));
    }
    serve.child.kill().unwrap(); // SIGKILL
    let _ = serve.child.wait();
    for s in senders {
        let _ = runtime.block_on(s);
    }
    let accepted = accepted.lock().unwrap().clone();
    assert!(accepted.len() >= 300);

    runtime.block_on(async {
        use tocsin_store::IngestStore;
        let path = env.data_dir().join("tocsin.db");
        let store =
            tocsin_store_sqlite::SqliteStore::open(&path, tocsin_store_sqlite::OpenMode::Client)
                .await
                .unwrap();
        let stored = store.count_events().await.unwrap();
        assert!(
            stored as usize >= accepted.len(),
            "{} events were answered 202 but only {stored} are stored",
            accepted.len()
        );
        // Each accepted key, checked: its alert exists.
        let incidents = store
            .list_incidents(&tocsin_store::IncidentQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        let alerts = store.incident_alerts(incidents[0].number).await.unwrap();
        let keys: std::collections::HashSet<&str> =
            alerts.iter().map(|a| a.dedup_key.as_str()).collect();
        let missing: Vec<&String> = accepted
            .iter()
            .filter(|k| !keys.contains(k.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "accepted but lost after kill -9: {:?}",
            &missing[..missing.len().min(5)]
        );
        eprintln!(
            "kill -9 after {} accepted events: {stored} stored, none lost",
            accepted.len()
        );
    });
}

/// `tocsin oncall` answers from the database at a given instant; `validate`
/// warns about a schedule that leaves nobody on call (and still succeeds).
#[test]
fn oncall_answers_and_validate_warns_about_gaps() {
    let env = Env::new();
    let examples = env.examples("manifests");
    env.run(&["apply", examples.to_str().unwrap(), "--yes"])
        .assert_success("apply");
    // payments-primary: weekly alice, bob, carol from Mon 2026-01-05 09:00
    // Paris; on 2026-03-02 at 11:00 Paris it is turn 8: carol, until the
    // next Monday 09:00 Paris (08:00 UTC).
    let r = env.run(&[
        "oncall",
        "--schedule",
        "payments-primary",
        "--at",
        "2026-03-02T10:00:00Z",
        "-o",
        "json",
    ]);
    r.assert_success("oncall");
    let rows: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(rows[0]["users"], serde_json::json!(["carol"]), "{rows}");
    assert_eq!(rows[0]["until"], "2026-03-09T08:00:00Z", "{rows}");
    let r = env.run(&["oncall", "--at", "2026-03-02T07:59:59Z"]);
    r.assert_success("oncall table");
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("payments-primary") && l.contains("bob")),
        "{}",
        r.stdout
    );
    let r = env.run(&["oncall", "--schedule", "nope"]);
    r.assert_failure("unknown schedule");
    assert!(r.stderr.contains("no schedule named"), "{}", r.stderr);
    let r = env.run(&["oncall", "--at", "yesterday"]);
    r.assert_failure("bad instant");
    assert!(r.stderr.contains("RFC 3339"), "{}", r.stderr);

    let dir = env.write(
        "gappy/org.yaml",
        "users:\n  - { name: ann, full_name: Ann, email: ann@example.com, time_zone: UTC }\n\
         schedules:\n  - name: office-hours\n    time_zone: Europe/Berlin\n    layers:\n      \
         - name: days\n        participants: [ann]\n        turn: 1w\n        start: \"2026-01-05\"\n        \
         restrictions:\n          - { days: [mon, tue, wed, thu, fri], from: \"09:00\", to: \"17:00\" }\n",
    );
    let r = env.run(&["validate", dir.parent().unwrap().to_str().unwrap()]);
    r.assert_success("a gap is a warning, not a problem");
    assert!(
        r.stderr.contains("org.yaml:")
            && r.stderr.contains("warning: nobody is on call")
            && r.stderr.contains("layers"),
        "{}",
        r.stderr
    );
}

/// `tocsin drill SERVICE` on a running demo hub: the drill incident goes
/// through the real escalation, the first level's person is reported as
/// reached, and the drill ends resolved.
#[test]
fn a_fire_drill_reports_who_was_reached() {
    let env = Env::new();
    let mut serve = Serve::start(&env, &["--demo"]);
    let addr = serve.wait_listening();
    let log = serve.wait_for("demo sign-in");
    let token = log
        .lines()
        .find(|l| l.starts_with("demo API token"))
        .and_then(|l| l.rsplit(": ").next())
        .unwrap_or_else(|| panic!("no demo token line:\n{log}"))
        .trim()
        .to_owned();
    let server = format!("http://{addr}");
    let mut drill = env.tocsin();
    drill
        .args(["drill", "checkout", "--server", &server, "--watch", "4"])
        .env("TOCSIN_TOKEN", &token);
    let r = Run::of(&mut drill);
    r.assert_success("drill");
    assert!(
        r.stdout.contains("drill incident #1 started"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("level 1: ") && r.stdout.contains("via schedule:payments-primary"),
        "{}",
        r.stdout
    );
    // The page's notifications went through the outbox: this demo has no
    // SMTP relay or Matrix bot, so they are reported as failed deliveries.
    assert!(
        r.stdout.contains("delivery to ") || r.stdout.contains("delivered to "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("drill ended: incident #1 resolved"),
        "{}",
        r.stdout
    );
    let mut unknown = env.tocsin();
    unknown
        .args(["drill", "nope", "--server", &server, "--watch", "1"])
        .env("TOCSIN_TOKEN", &token);
    let r = Run::of(&mut unknown);
    r.assert_failure("unknown service");
    assert!(r.stderr.contains("no service named"), "{}", r.stderr);
    let _ = serve.child.kill();
}

/// `tocsin incident …` on a running demo hub: declare, note, severity,
/// roles, an update, list with filters, show (with the timeline saying it
/// came from the CLI), acknowledge, resolve, close refused until the review
/// is done, the review as Markdown, and the API's refusals as messages.
#[test]
fn incidents_are_run_from_the_terminal() {
    let env = Env::new();
    let mut serve = Serve::start(&env, &["--demo"]);
    let addr = serve.wait_listening();
    let log = serve.wait_for("demo sign-in");
    let token = log
        .lines()
        .find(|l| l.starts_with("demo API token"))
        .and_then(|l| l.rsplit(": ").next())
        .unwrap_or_else(|| panic!("no demo token line:\n{log}"))
        .trim()
        .to_owned();
    let server = format!("http://{addr}");
    let incident = |args: &[&str]| {
        let mut c = env.tocsin();
        c.arg("incident")
            .args(args)
            .args(["--server", &server])
            .env("TOCSIN_TOKEN", &token);
        Run::of(&mut c)
    };

    let r = incident(&[
        "declare",
        "Checkout is slow",
        "--service",
        "checkout",
        "--severity",
        "sev3",
        "--summary",
        "p99 above 3 s since the deploy",
        "--no-page",
    ]);
    r.assert_success("declare");
    assert!(
        r.stdout
            .contains("declared incident #1 (sev3, acknowledged): Checkout is slow"),
        "{}",
        r.stdout
    );
    let r = incident(&["note", "1", "rolled back the deploy"]);
    r.assert_success("note");
    assert!(r.stdout.contains("note added to #1"), "{}", r.stdout);
    let r = incident(&["sev", "1", "2"]);
    r.assert_success("sev");
    assert!(r.stdout.contains("incident #1 is sev2"), "{}", r.stdout);
    let r = incident(&["role", "1", "ic", "alice"]);
    r.assert_success("role");
    assert!(r.stdout.contains("commander"), "{}", r.stdout);
    assert!(r.stdout.contains("alice"), "{}", r.stdout);
    incident(&[
        "update",
        "1",
        "--state",
        "identified",
        "The 1.4.2 deploy slowed checkout; rolled back.",
    ])
    .assert_success("update");

    // A second one, paging: triggered until acknowledged.
    incident(&[
        "declare",
        "Kafka lag",
        "--service",
        "kafka",
        "--severity",
        "4",
    ])
    .assert_success("declare paging");
    let r = incident(&["list"]);
    r.assert_success("list");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines[0].starts_with('#') && lines[0].contains("TITLE"),
        "{}",
        r.stdout
    );
    assert!(
        lines[1].starts_with("#2") && lines[1].contains("triggered") && lines[1].contains("sev4"),
        "{}",
        r.stdout
    );
    assert!(
        lines[2].starts_with("#1")
            && lines[2].contains("sev2")
            && lines[2].contains("Checkout is slow"),
        "{}",
        r.stdout
    );
    let r = incident(&["list", "--severity", "2", "--team", "payments"]);
    r.assert_success("list filtered");
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
    assert!(r.stdout.contains("#1"), "{}", r.stdout);
    let r = incident(&["list", "--query", "kafka", "-o", "json"]);
    r.assert_success("list json");
    let list: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["number"], 2);
    let r = incident(&["list", "--status", "closed"]);
    r.assert_success("list closed");
    assert!(r.stderr.contains("no incident matches"), "{}", r.stderr);
    incident(&["ack", "2"]).assert_success("ack");
    let r = incident(&["ack", "2"]);
    r.assert_failure("ack twice");
    assert!(r.stderr.contains("already acknowledged"), "{}", r.stderr);

    let r = incident(&["show", "1"]);
    r.assert_success("show");
    for want in [
        "#1 Checkout is slow",
        "sev2 · acknowledged · checkout",
        "summary: p99 above 3 s since the deploy",
        "commander",
        "alice",
        "(from cli)",
        "rolled back the deploy",
        "severity changed from Sev3 to Sev2",
        "internal update (identified)",
    ] {
        assert!(r.stdout.contains(want), "{want:?} in:\n{}", r.stdout);
    }

    // Errors are the API's problem details.
    let r = incident(&["sev", "1", "9"]);
    r.assert_failure("bad severity");
    assert!(r.stderr.contains("severity"), "{}", r.stderr);
    let r = incident(&["note", "99", "x"]);
    r.assert_failure("unknown incident");
    assert!(r.stderr.contains("no incident #99"), "{}", r.stderr);
    let r = incident(&["role", "1", "captain", "alice"]);
    r.assert_failure("bad role");
    assert!(r.stderr.contains("not a role"), "{}", r.stderr);

    incident(&["resolve", "1", "rolled back"]).assert_success("resolve");
    let r = incident(&["close", "1"]);
    r.assert_failure("close before the review");
    assert!(
        r.stderr.contains("needs its review marked done"),
        "{}",
        r.stderr
    );
    let r = incident(&["review", "1"]);
    r.assert_success("review");
    assert!(r.stdout.contains("draft"), "{}", r.stdout);
    let r = incident(&["review", "1", "--markdown"]);
    r.assert_success("review markdown");
    assert!(
        r.stdout
            .starts_with("# Review of incident #1: Checkout is slow"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("## Key moments"), "{}", r.stdout);
    let mut no_token = env.tocsin();
    no_token
        .args(["incident", "list", "--server", &server])
        .env_remove("TOCSIN_TOKEN");
    let r = Run::of(&mut no_token);
    r.assert_failure("no token");
    assert!(r.stderr.contains("TOCSIN_TOKEN"), "{}", r.stderr);
    let _ = serve.child.kill();
}

/// `tocsin chat "…"` on a running demo hub: a command runs and prints the
/// answer; a command that is not understood prints why and exits 1.
#[test]
fn chat_commands_are_run_from_the_terminal() {
    let env = Env::new();
    let mut serve = Serve::start(&env, &["--demo"]);
    let addr = serve.wait_listening();
    let log = serve.wait_for("demo sign-in");
    let token = log
        .lines()
        .find(|l| l.starts_with("demo API token"))
        .and_then(|l| l.rsplit(": ").next())
        .unwrap_or_else(|| panic!("no demo token line:\n{log}"))
        .trim()
        .to_owned();
    let server = format!("http://{addr}");
    let chat = |line: &str| {
        let mut c = env.tocsin();
        c.args(["chat", line, "--server", &server])
            .env("TOCSIN_TOKEN", &token);
        Run::of(&mut c)
    };

    let r = chat(r#"incident new "Checkout is slow" sev3 checkout"#);
    r.assert_success("chat incident new");
    assert!(
        r.stdout.starts_with("#1 declared by ") && r.stdout.contains("Checkout is slow"),
        "{}",
        r.stdout
    );
    let r = chat("note 1 rolled back the deploy");
    r.assert_success("chat note");
    assert!(r.stdout.starts_with("#1: note added by "), "{}", r.stdout);
    let r = chat("akc 1");
    r.assert_failure("chat typo");
    assert!(r.stdout.contains("did you mean \"ack\""), "{}", r.stdout);
    let _ = serve.child.kill();
}

/// `tocsin chat "run …"` prints exactly what would run; without a terminal
/// to ask on and without `--yes` it runs nothing and exits 1. A program
/// the hub does not allow is refused before any prompt.
#[test]
fn chat_run_asks_for_a_confirmation() {
    let env = Env::new();
    let mut serve = Serve::start(&env, &["--demo", "--runbook-command", "/usr/bin/systemctl"]);
    let addr = serve.wait_listening();
    let log = serve.wait_for("demo sign-in");
    let token = log
        .lines()
        .find(|l| l.starts_with("demo API token"))
        .and_then(|l| l.rsplit(": ").next())
        .unwrap_or_else(|| panic!("no demo token line:\n{log}"))
        .trim()
        .to_owned();
    let server = format!("http://{addr}");
    let chat = |line: &str| {
        let mut c = env.tocsin();
        c.args(["chat", line, "--server", &server])
            .env("TOCSIN_TOKEN", &token);
        Run::of(&mut c)
    };
    let r = chat("run restart-checkout on checkout-2");
    r.assert_failure("a run without a terminal or --yes");
    assert!(
        r.stdout
            .contains("It will run: /usr/bin/systemctl restart checkout@checkout-2.service"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("Not run") && r.stderr.contains("--yes"),
        "{}",
        r.stderr
    );
    let r = chat("run restart-checkout on db-1");
    r.assert_failure("a value that does not match");
    assert!(
        r.stdout
            .contains("parameter target: \"db-1\" does not match the pattern checkout-[0-9]+"),
        "{}",
        r.stdout
    );
    let _ = serve.child.kill();

    // A hub that does not allow the program says how to allow it.
    let env = Env::new();
    let mut serve = Serve::start(&env, &["--demo"]);
    let addr = serve.wait_listening();
    let log = serve.wait_for("demo sign-in");
    let token = log
        .lines()
        .find(|l| l.starts_with("demo API token"))
        .and_then(|l| l.rsplit(": ").next())
        .unwrap()
        .trim()
        .to_owned();
    let mut c = env.tocsin();
    c.args([
        "chat",
        "run restart-checkout on checkout-2",
        "--yes",
        "--server",
        &format!("http://{addr}"),
    ])
    .env("TOCSIN_TOKEN", &token);
    let r = Run::of(&mut c);
    r.assert_failure("a program the hub does not allow");
    assert!(
        r.stdout.contains(
            "/usr/bin/systemctl is not allowed on this hub; start tocsin serve with --runbook-command /usr/bin/systemctl"
        ),
        "{}",
        r.stdout
    );
    let _ = serve.child.kill();
}
