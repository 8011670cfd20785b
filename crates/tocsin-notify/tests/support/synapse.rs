//! A real Synapse homeserver for the Matrix tests (`matrix_peer.rs`, the
//! channel; `matrix_bot.rs`, the bot and incident rooms): started from a
//! Python venv (env `TOCSIN_SYNAPSE_VENV`, default
//! `~/.cache/tocsin-peers/synapse`; make it with
//! `python3 -m venv V && V/bin/pip install matrix-synapse`), configured
//! into a temporary directory: server name `localhost`, one client
//! listener on 127.0.0.1 on a free port, SQLite, no key servers,
//! registration only through the shared secret, rate limits raised.
//!
//! People (and the bot) are registered through the shared-secret admin
//! API and driven as a Matrix client would ([`Person`]).
//!
//! A test asks [`synapse_python`] first: when the venv is missing it is
//! skipped, with a note on stderr — unless `TOCSIN_PEER_TESTS=1` (CI sets
//! it), when that is a failure.

use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tocsin_notify::matrix::{Config, MatrixChannel};

/// Set to `1` to make a missing peer a failure instead of a skip.
pub const PEER_VAR: &str = "TOCSIN_PEER_TESTS";
pub const VENV_VAR: &str = "TOCSIN_SYNAPSE_VENV";
/// Transaction ids of the messages people send, unique in the process.
static TXN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
const START_DEADLINE: Duration = Duration::from_secs(90);
const SHARED_SECRET: &str = "tocsin-test-registration-secret";
/// A fixed ed25519 signing key: this homeserver lives for one test on
/// loopback and never federates.
const SIGNING_KEY: &str = "ed25519 a_test q4HUgpLhS5FhsVrJwB2fJzHGRbKsKtyBhqUOT0gyzsk\n";

pub fn peers_required() -> bool {
    std::env::var(PEER_VAR).is_ok_and(|v| v == "1")
}

/// The venv Synapse runs from: `TOCSIN_SYNAPSE_VENV`, else under the
/// user's cache directory (where `.ci/run` creates it too).
pub fn venv() -> PathBuf {
    if let Some(v) = std::env::var_os(VENV_VAR).filter(|v| !v.is_empty()) {
        return PathBuf::from(v);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("tocsin-peers/synapse")
}

/// The venv's python when it can import Synapse; else says the test is
/// skipped, or fails it when [`PEER_VAR`] requires the peer.
pub fn synapse_python(test: &str) -> Option<PathBuf> {
    let venv = venv();
    let python = venv.join("bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import synapse.app.homeserver"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    let install = format!(
        "python3 -m venv {0} && {0}/bin/pip install matrix-synapse",
        venv.display()
    );
    assert!(
        !peers_required(),
        "{test}: Synapse is not installed in {} and {PEER_VAR}=1 requires it; install it with: {install}",
        venv.display()
    );
    eprintln!(
        "{test}: skipped: Synapse is not installed in {} (install it with: {install}, or point \
         {VENV_VAR} at a venv that has it; set {PEER_VAR}=1 to make this a failure)",
        venv.display()
    );
    None
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Generous limits: the test sends in bursts, and a rate limit would make
/// it flaky rather than prove anything.
const LIMIT: &str = "{per_second: 1000, burst_count: 1000}";

fn homeserver_yaml(dir: &Path, port: u16) -> String {
    let d = dir.display();
    format!(
        "\
server_name: localhost
pid_file: {d}/homeserver.pid
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: {d}/homeserver.db
media_store_path: {d}/media_store
signing_key_path: {d}/signing.key
trusted_key_servers: []
suppress_key_server_warning: true
registration_shared_secret: {SHARED_SECRET}
macaroon_secret_key: tocsin-test-macaroon-secret
form_secret: tocsin-test-form-secret
report_stats: false
enable_registration: false
rc_message: {LIMIT}
rc_registration: {LIMIT}
rc_room_creation: {LIMIT}
rc_login:
  address: {LIMIT}
  account: {LIMIT}
  failed_attempts: {LIMIT}
rc_joins:
  local: {LIMIT}
  remote: {LIMIT}
rc_invites:
  per_room: {LIMIT}
  per_user: {LIMIT}
  per_issuer: {LIMIT}
"
    )
}

/// A running Synapse, killed on drop.
pub struct Synapse {
    child: Child,
    pub base: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Synapse {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Synapse {
    pub async fn start(python: &Path) -> Synapse {
        let dir = tempfile::Builder::new()
            .prefix("tocsin-synapse-")
            .tempdir()
            .unwrap();
        let port = free_port();
        let config = dir.path().join("homeserver.yaml");
        std::fs::write(&config, homeserver_yaml(dir.path(), port)).unwrap();
        std::fs::write(dir.path().join("signing.key"), SIGNING_KEY).unwrap();
        let log = dir.path().join("synapse.log");
        let out = File::create(&log).unwrap();
        let child = Command::new(python)
            .args(["-m", "synapse.app.homeserver", "--config-path"])
            .arg(&config)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("spawn synapse");
        let mut synapse = Synapse {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let up = http
                .get(format!("{}/_matrix/client/versions", synapse.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if up {
                break;
            }
            if let Ok(Some(status)) = synapse.child.try_wait() {
                panic!("synapse exited with {status}:\n{}", synapse.log_tail());
            }
            assert!(
                started.elapsed() < START_DEADLINE,
                "synapse did not answer within {START_DEADLINE:?}:\n{}",
                synapse.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        synapse
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }

    /// Registers a user through the shared-secret admin API (nonce, then
    /// HMAC-SHA1 over nonce, user, password and "notadmin", NUL-separated).
    pub async fn register(&self, user: &str) -> Person {
        let http = reqwest::Client::new();
        let url = format!("{}/_synapse/admin/v1/register", self.base);
        let nonce: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        let nonce = nonce["nonce"].as_str().unwrap();
        let password = format!("{user}-password");
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(SHARED_SECRET.as_bytes()).unwrap();
        for (i, part) in [nonce, user, &password, "notadmin"].iter().enumerate() {
            if i > 0 {
                mac.update(b"\0");
            }
            mac.update(part.as_bytes());
        }
        let mac = hex::encode(mac.finalize().into_bytes());
        let answer = http
            .post(&url)
            .json(&json!({
                "nonce": nonce,
                "username": user,
                "password": password,
                "admin": false,
                "mac": mac,
            }))
            .send()
            .await
            .unwrap();
        let status = answer.status();
        let body: Value = answer.json().await.unwrap();
        assert!(status.is_success(), "register {user}: {status} {body}");
        Person {
            http,
            base: Url::parse(&self.base).unwrap(),
            token: body["access_token"].as_str().unwrap().to_owned(),
            user_id: body["user_id"].as_str().unwrap().to_owned(),
        }
    }
}

/// A Matrix account driven by the test, as a client would.
pub struct Person {
    pub http: reqwest::Client,
    pub base: Url,
    pub token: String,
    pub user_id: String,
}

impl Person {
    pub async fn call(&self, method: Method, segments: &[&str], body: Option<Value>) -> Value {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .unwrap()
            .extend(["_matrix", "client", "v3"])
            .extend(segments);
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::OK, "{method} {url}: {body}");
        body
    }

    pub async fn create_room(&self, body: Value) -> String {
        let answer = self.call(Method::POST, &["createRoom"], Some(body)).await;
        answer["room_id"].as_str().unwrap().to_owned()
    }

    pub async fn join(&self, room: &str) {
        self.call(Method::POST, &["join", room], Some(json!({})))
            .await;
    }

    pub async fn event(&self, room: &str, event: &str) -> Value {
        self.call(Method::GET, &["rooms", room, "event", event], None)
            .await
    }

    /// The `m.room.message` events of a room, oldest first.
    pub async fn messages(&self, room: &str) -> Vec<Value> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .unwrap()
            .extend(["_matrix", "client", "v3", "rooms", room, "messages"]);
        url.query_pairs_mut()
            .append_pair("dir", "b")
            .append_pair("limit", "100");
        let answer: Value = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut chunk: Vec<Value> = answer["chunk"]
            .as_array()
            .unwrap_or_else(|| panic!("/messages: {answer}"))
            .iter()
            .filter(|e| e["type"] == "m.room.message")
            .cloned()
            .collect();
        chunk.reverse();
        chunk
    }

    /// Sends a text message; its event id.
    pub async fn say(&self, room: &str, body: &str) -> String {
        self.send_content(room, json!({ "msgtype": "m.text", "body": body }))
            .await
    }

    /// Sends a text message replying to `to`; its event id.
    pub async fn reply(&self, room: &str, to: &str, body: &str) -> String {
        self.send_content(
            room,
            json!({
                "msgtype": "m.text",
                "body": body,
                "m.relates_to": { "m.in_reply_to": { "event_id": to } },
            }),
        )
        .await
    }

    pub async fn send_content(&self, room: &str, content: Value) -> String {
        let txn = format!("t{}", TXN.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
        let answer = self
            .call(
                Method::PUT,
                &["rooms", room, "send", "m.room.message", &txn],
                Some(content),
            )
            .await;
        answer["event_id"].as_str().unwrap().to_owned()
    }

    /// The rooms this person is invited to (not joined), from a full sync.
    pub async fn invites(&self) -> Vec<String> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .unwrap()
            .extend(["_matrix", "client", "v3", "sync"]);
        url.query_pairs_mut().append_pair("timeout", "0");
        let answer: Value = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["rooms"]["invite"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// A room's state event of `kind` (`m.room.name`, `m.room.topic`).
    pub async fn state(&self, room: &str, kind: &str) -> Value {
        self.call(Method::GET, &["rooms", room, "state", kind, ""], None)
            .await
    }

    /// The user ids joined to a room.
    pub async fn joined_members(&self, room: &str) -> Vec<String> {
        let answer = self
            .call(Method::GET, &["rooms", room, "joined_members"], None)
            .await;
        answer["joined"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The bot's account as a Matrix config.
    pub fn config(&self) -> Config {
        Config {
            homeserver: self.base.to_string(),
            access_token: self.token.clone(),
        }
    }

    pub fn channel(&self) -> MatrixChannel {
        MatrixChannel::new(&Config {
            homeserver: self.base.to_string(),
            access_token: self.token.clone(),
        })
        .unwrap()
    }
}
