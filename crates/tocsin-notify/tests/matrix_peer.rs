//! The Matrix channel against a real homeserver: Synapse, started from a
//! Python venv (env `TOCSIN_SYNAPSE_VENV`, default
//! `~/.cache/tocsin-peers/synapse`; make it with
//! `python3 -m venv V && V/bin/pip install matrix-synapse`), configured
//! into a temporary directory: server name `localhost`, one client
//! listener on 127.0.0.1 on a free port, SQLite, no key servers,
//! registration only through the shared secret, rate limits raised.
//!
//! A bot and a person are registered through the shared-secret admin API;
//! the person reads back what the bot posted, as a Matrix client would.
//! One test runs every scenario in turn, because starting Synapse takes
//! seconds and its guard must kill it when the test ends, also on failure.
//!
//! Skipped, with a note on stderr, when the venv is missing — unless
//! `TOCSIN_PEER_TESTS=1` (CI sets it), when that is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tocsin_core::notify::{Channel, Delivery, SendError, Sent};
use tocsin_domain::notify::Message;
use tocsin_notify::matrix::{Config, MatrixChannel, render};
use tocsin_notify::sample;

/// Set to `1` to make a missing peer a failure instead of a skip.
const PEER_VAR: &str = "TOCSIN_PEER_TESTS";
const VENV_VAR: &str = "TOCSIN_SYNAPSE_VENV";
const START_DEADLINE: Duration = Duration::from_secs(90);
const SHARED_SECRET: &str = "tocsin-test-registration-secret";
/// A fixed ed25519 signing key: this homeserver lives for one test on
/// loopback and never federates.
const SIGNING_KEY: &str = "ed25519 a_test q4HUgpLhS5FhsVrJwB2fJzHGRbKsKtyBhqUOT0gyzsk\n";

fn peers_required() -> bool {
    std::env::var(PEER_VAR).is_ok_and(|v| v == "1")
}

/// The venv Synapse runs from: `TOCSIN_SYNAPSE_VENV`, else under the
/// user's cache directory (where `.ci/run` creates it too).
fn venv() -> PathBuf {
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
fn synapse_python(test: &str) -> Option<PathBuf> {
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

fn free_port() -> u16 {
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
struct Synapse {
    child: Child,
    base: String,
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
    async fn start(python: &Path) -> Synapse {
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

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }

    /// Registers a user through the shared-secret admin API (nonce, then
    /// HMAC-SHA1 over nonce, user, password and "notadmin", NUL-separated).
    async fn register(&self, user: &str) -> Person {
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
struct Person {
    http: reqwest::Client,
    base: Url,
    token: String,
    user_id: String,
}

impl Person {
    async fn call(&self, method: Method, segments: &[&str], body: Option<Value>) -> Value {
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

    async fn create_room(&self, body: Value) -> String {
        let answer = self.call(Method::POST, &["createRoom"], Some(body)).await;
        answer["room_id"].as_str().unwrap().to_owned()
    }

    async fn join(&self, room: &str) {
        self.call(Method::POST, &["join", room], Some(json!({})))
            .await;
    }

    async fn event(&self, room: &str, event: &str) -> Value {
        self.call(Method::GET, &["rooms", room, "event", event], None)
            .await
    }

    /// The `m.room.message` events of a room, oldest first.
    async fn messages(&self, room: &str) -> Vec<Value> {
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

    fn channel(&self) -> MatrixChannel {
        MatrixChannel::new(&Config {
            homeserver: self.base.to_string(),
            access_token: self.token.clone(),
        })
        .unwrap()
    }
}

async fn send(
    channel: &MatrixChannel,
    address: &str,
    message: &Message,
    previous: Option<&str>,
) -> Result<Sent, SendError> {
    channel
        .send(Delivery {
            address,
            message,
            previous,
        })
        .await
}

/// `"<room>|<event>"` → (room, event).
fn split(sent: &Sent) -> (String, String) {
    let reference = sent.reference.as_deref().unwrap();
    let (room, event) = reference.split_once('|').unwrap();
    (room.to_owned(), event.to_owned())
}

fn assert_permanent(result: Result<Sent, SendError>, errcode: &str) {
    match result {
        Err(SendError::Permanent { reason }) => {
            assert!(reason.contains(errcode), "want {errcode}: {reason}")
        }
        other => panic!("want a permanent {errcode}, got {other:?}"),
    }
}

#[tokio::test]
async fn synapse_receives_pages_replies_and_direct_messages() {
    let Some(python) = synapse_python("synapse_receives_pages_replies_and_direct_messages") else {
        return;
    };
    let synapse = Synapse::start(&python).await;
    let bot = synapse.register("tocsin").await;
    let alice = synapse.register("alice").await;
    let channel = bot.channel();

    // --- A page to a room id, read back by a member ---------------------
    let room = bot
        .create_room(json!({
            "preset": "private_chat",
            "room_alias_name": "ops",
            "invite": [alice.user_id],
        }))
        .await;
    alice.join(&room).await;
    let page = sample::page();
    let sent = send(&channel, &room, &page, None).await.unwrap();
    let (in_room, page_event) = split(&sent);
    assert_eq!(in_room, room);
    let event = alice.event(&room, &page_event).await;
    let rendered = render(&page);
    assert_eq!(event["sender"], bot.user_id.as_str());
    assert_eq!(event["content"]["msgtype"], "m.text");
    assert_eq!(event["content"]["body"], rendered.body.as_str());
    assert_eq!(event["content"]["format"], "org.matrix.custom.html");
    assert_eq!(
        event["content"]["formatted_body"],
        rendered.formatted_body.as_str()
    );
    let body = event["content"]["body"].as_str().unwrap();
    assert!(body.starts_with("Sev1 #42 checkout: Error rate above 5 % on /pay"));
    assert!(body.contains("https://tocsin.example.com/ack/42?sig=abc123"));

    // --- A retried send is one event ------------------------------------
    let again = send(&channel, &room, &page, None).await.unwrap();
    assert_eq!(again, sent, "the homeserver deduplicates by transaction id");
    assert_eq!(alice.messages(&room).await.len(), 1);

    // --- The resolution replies to the page -----------------------------
    let resolved = send(
        &channel,
        &room,
        &sample::resolved(),
        sent.reference.as_deref(),
    )
    .await
    .unwrap();
    let (_, resolved_event) = split(&resolved);
    let event = alice.event(&room, &resolved_event).await;
    assert_eq!(
        event["content"]["m.relates_to"]["m.in_reply_to"]["event_id"],
        page_event.as_str()
    );
    assert!(
        event["content"]["body"]
            .as_str()
            .unwrap()
            .starts_with("Resolved: ")
    );

    // --- A room alias resolves to the same room -------------------------
    let via_alias = send(&channel, "#ops:localhost", &sample::bare(), None)
        .await
        .unwrap();
    assert_eq!(split(&via_alias).0, room);
    assert_eq!(alice.messages(&room).await.len(), 3);

    // --- A user id gets one direct-message room -------------------------
    let first = send(&channel, &alice.user_id, &sample::page(), None)
        .await
        .unwrap();
    let (dm, first_event) = split(&first);
    assert_ne!(dm, room);
    let second = send(&channel, &alice.user_id, &sample::bare(), None)
        .await
        .unwrap();
    assert_eq!(
        split(&second).0,
        dm,
        "the second page goes to the same room"
    );
    let direct = bot
        .call(
            Method::GET,
            &["user", &bot.user_id, "account_data", "m.direct"],
            None,
        )
        .await;
    assert_eq!(direct[alice.user_id.as_str()], json!([dm]));
    // After a restart (an empty cache) the room is found in m.direct.
    let restarted = bot.channel();
    let third = send(&restarted, &alice.user_id, &sample::drill(), None)
        .await
        .unwrap();
    assert_eq!(split(&third).0, dm);
    // Alice was invited; once she joins she reads the page.
    alice.join(&dm).await;
    let event = alice.event(&dm, &first_event).await;
    assert_eq!(event["content"]["body"], rendered.body.as_str());
    let in_dm = alice.messages(&dm).await;
    assert_eq!(in_dm.len(), 3);
    assert!(
        in_dm[2]["content"]["body"]
            .as_str()
            .unwrap()
            .starts_with("[DRILL] ")
    );

    // --- Refusals are permanent, a dead homeserver transient -----------
    let elsewhere = alice.create_room(json!({ "preset": "private_chat" })).await;
    assert_permanent(send(&channel, &elsewhere, &page, None).await, "M_FORBIDDEN");
    assert_permanent(
        send(&channel, "#nowhere:localhost", &page, None).await,
        "M_NOT_FOUND",
    );
    let bad_token = MatrixChannel::new(&Config {
        homeserver: synapse.base.clone(),
        access_token: "not-a-token".to_owned(),
    })
    .unwrap();
    assert_permanent(
        send(&bad_token, &room, &page, None).await,
        "M_UNKNOWN_TOKEN",
    );
    let down = MatrixChannel::new(&Config {
        homeserver: format!("http://127.0.0.1:{}", free_port()),
        access_token: bot.token.clone(),
    })
    .unwrap();
    let err = send(&down, &room, &page, None).await.unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
}
