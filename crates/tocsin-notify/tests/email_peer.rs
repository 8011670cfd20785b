//! The email channel against a real SMTP server: aiosmtpd, driven by
//! `tests/peers/smtp_server.py` (plain, STARTTLS, implicit TLS, AUTH, and
//! chosen refusals per recipient). What arrives is read back with Python's
//! standard mail parser (`tests/peers/parse_mail.py`), so the checks are
//! about what a real mail reader sees.
//!
//! TLS uses a small CA and a leaf certificate for 127.0.0.1/localhost made
//! with rcgen (rustls refuses a lone self-signed certificate as a server
//! certificate); the channel trusts the CA through
//! `Config::extra_root_ca_pem`.
//!
//! Skipped, with a note on stderr, when aiosmtpd is not installed — unless
//! `TOCSIN_PEER_TESTS=1` (CI sets it), when that is a failure. Every
//! server listens on 127.0.0.1 on a free port and is killed when its guard
//! drops, also when a test fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tocsin_core::notify::{Channel, Delivery, SendError, Sent};
use tocsin_domain::notify::Message;
use tocsin_notify::email::{Config, EmailChannel, Security, message_id};
use tocsin_notify::sample;

/// Set to `1` to make a missing peer a failure instead of a skip.
const PEER_VAR: &str = "TOCSIN_PEER_TESTS";
const INSTALL: &str = "python3 -m pip install aiosmtpd";
const START_DEADLINE: Duration = Duration::from_secs(20);

fn peers_required() -> bool {
    std::env::var(PEER_VAR).is_ok_and(|v| v == "1")
}

/// Whether aiosmtpd is here; says the test is skipped when it is not, or
/// fails it when [`PEER_VAR`] requires the peer.
fn have_aiosmtpd(test: &str) -> bool {
    let here = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !here {
        assert!(
            !peers_required(),
            "{test}: aiosmtpd is not installed and {PEER_VAR}=1 requires it; install it with: {INSTALL}"
        );
        eprintln!(
            "{test}: skipped: aiosmtpd is not installed (install it with: {INSTALL}; \
             set {PEER_VAR}=1 to make this a failure)"
        );
    }
    here
}

fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A CA and a leaf for 127.0.0.1/localhost, as PEM files in `dir`.
struct Pki {
    ca_pem: String,
    chain: PathBuf,
    key: PathBuf,
}

fn make_pki(dir: &Path) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "tocsin test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();

    let mut leaf =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf.signed_by(&leaf_key, &ca).unwrap();

    let chain = dir.join("chain.pem");
    let key = dir.join("key.pem");
    std::fs::write(&chain, format!("{}{}", leaf.pem(), ca.pem())).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    Pki {
        ca_pem: ca.pem(),
        chain,
        key,
    }
}

/// A running `smtp_server.py`, killed on drop.
struct Smtp {
    child: Child,
    port: u16,
    out: PathBuf,
    _dir: tempfile::TempDir,
    pki: Option<Pki>,
}

#[derive(Default)]
struct Options<'a> {
    mode: &'a str,
    auth: Option<(&'a str, &'a str)>,
    replies: &'a [&'a str],
}

impl Smtp {
    fn start(options: Options<'_>) -> Smtp {
        let dir = tempfile::Builder::new()
            .prefix("tocsin-smtp-")
            .tempdir()
            .unwrap();
        let out = dir.path().join("mail");
        let port = free_port();
        let mode = if options.mode.is_empty() {
            "plain"
        } else {
            options.mode
        };
        let mut cmd = Command::new("python3");
        cmd.arg(peers_dir().join("smtp_server.py"))
            .arg("--port")
            .arg(port.to_string())
            .arg("--mode")
            .arg(mode)
            .arg("--out")
            .arg(&out);
        let pki = (mode != "plain").then(|| make_pki(dir.path()));
        if let Some(pki) = &pki {
            cmd.arg("--cert").arg(&pki.chain).arg("--key").arg(&pki.key);
        }
        if let Some((user, password)) = options.auth {
            cmd.args(["--user", user, "--password", password]);
        }
        for reply in options.replies {
            cmd.args(["--reply", reply]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn smtp_server.py");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut smtp = Smtp {
            child,
            port,
            out,
            _dir: dir,
            pki,
        };
        match rx.recv_timeout(START_DEADLINE) {
            Ok(line) if line.starts_with("listening on") => {}
            other => {
                let status = smtp.child.try_wait().ok().flatten();
                panic!("smtp_server.py did not start ({status:?}): {other:?}");
            }
        }
        smtp
    }

    fn config(&self, security: Security, host: &str) -> Config {
        Config {
            host: host.to_owned(),
            port: self.port,
            security,
            username: None,
            password: None,
            from: "tocsin <pager@tocsin.example.com>".to_owned(),
            timeout: Duration::from_secs(5),
            extra_root_ca_pem: self.pki.as_ref().map(|p| p.ca_pem.clone()),
        }
    }

    /// The received messages' files, oldest first.
    fn received(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.out) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A received mail as Python's mail parser reads it.
struct Mail(Value);

impl Mail {
    fn read(path: &Path) -> Mail {
        let out = Command::new("python3")
            .arg(peers_dir().join("parse_mail.py"))
            .arg(path)
            .output()
            .expect("run parse_mail.py");
        assert!(
            out.status.success(),
            "parse_mail.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Mail(serde_json::from_slice(&out.stdout).unwrap())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.0["headers"][name].as_str()
    }

    fn part(&self, content_type: &str) -> &str {
        let parts = self.0["parts"].as_array().unwrap();
        parts
            .iter()
            .find(|p| p["type"] == content_type)
            .and_then(|p| p["text"].as_str())
            .unwrap_or_else(|| panic!("no {content_type} part in {:#}", self.0))
    }
}

async fn send(
    channel: &EmailChannel,
    to: &str,
    message: &Message,
    previous: Option<&str>,
) -> Result<Sent, SendError> {
    channel
        .send(Delivery {
            address: to,
            message,
            previous,
        })
        .await
}

/// Checks one received page: headers, both parts, the links.
fn check_page(mail: &Mail, message: &Message, reference: &str) {
    assert_eq!(mail.0["defects"], serde_json::json!([]), "{:#}", mail.0);
    assert_eq!(mail.0["multipart"], "multipart/alternative");
    assert_eq!(mail.header("Subject"), Some(message.headline().as_str()));
    assert_eq!(mail.header("Message-ID"), Some(reference));
    assert_eq!(mail.header("To"), Some("alice@example.com"));
    assert_eq!(
        mail.header("From"),
        Some("tocsin <pager@tocsin.example.com>")
    );
    assert_eq!(mail.header("Auto-Submitted"), Some("auto-generated"));
    let text = mail.part("text/plain");
    let html = mail.part("text/html");
    assert!(text.starts_with(&message.headline()), "{text}");
    assert!(
        text.contains("Service: checkout · Sev1 · triggered"),
        "{text}"
    );
    assert!(text.contains("Customer impact: Customers cannot pay"));
    if let Some(ack) = &message.actions.acknowledge_url {
        assert!(text.contains(ack.as_str()), "{text}");
        assert!(html.contains(&format!("<a href=\"{ack}\">")), "{html}");
    }
    assert!(html.contains(&message.actions.incident_url), "{html}");
    assert!(html.contains("provider&#39;s status page"), "{html}");
}

#[tokio::test]
async fn plain_smtp_delivers_threads_and_keeps_message_ids_on_retry() {
    if !have_aiosmtpd("plain_smtp_delivers_threads_and_keeps_message_ids_on_retry") {
        return;
    }
    let smtp = Smtp::start(Options::default());
    let channel = EmailChannel::new(&smtp.config(Security::None, "127.0.0.1")).unwrap();
    let page = sample::page();

    let sent = send(&channel, "alice@example.com", &page, None)
        .await
        .unwrap();
    let reference = sent.reference.clone().unwrap();
    assert_eq!(reference, message_id(&page.key, "tocsin.example.com"));
    let files = smtp.received();
    assert_eq!(files.len(), 1);
    check_page(&Mail::read(&files[0]), &page, &reference);

    // A retry of the same message carries the same Message-ID.
    let again = send(&channel, "alice@example.com", &page, None)
        .await
        .unwrap();
    assert_eq!(again.reference.as_deref(), Some(reference.as_str()));
    let files = smtp.received();
    assert_eq!(files.len(), 2);
    assert_eq!(
        Mail::read(&files[1]).header("Message-ID"),
        Some(reference.as_str())
    );

    // The resolution threads under the page.
    let resolved = sample::resolved();
    let r = send(&channel, "alice@example.com", &resolved, Some(&reference))
        .await
        .unwrap();
    let files = smtp.received();
    let mail = Mail::read(&files[2]);
    assert_eq!(mail.header("Message-ID"), r.reference.as_deref());
    assert_ne!(r.reference.as_deref(), Some(reference.as_str()));
    assert_eq!(mail.header("In-Reply-To"), Some(reference.as_str()));
    assert_eq!(mail.header("References"), Some(reference.as_str()));
    assert!(mail.header("Subject").unwrap().starts_with("Resolved: "));
    assert!(mail.part("text/plain").contains("is resolved"));

    // A bundle lists every incident; a drill says so.
    send(&channel, "alice@example.com", &sample::bundle(), None)
        .await
        .unwrap();
    send(&channel, "alice@example.com", &sample::drill(), None)
        .await
        .unwrap();
    let files = smtp.received();
    let bundle = Mail::read(&files[3]);
    for n in ["#42 checkout", "#44 search", "#45 orders"] {
        assert!(bundle.part("text/plain").contains(n), "{n}");
        assert!(bundle.part("text/html").contains(n), "{n}");
    }
    let drill = Mail::read(&files[4]);
    assert!(drill.header("Subject").unwrap().starts_with("[DRILL] "));
    assert!(drill.part("text/plain").contains("fire drill"));
}

#[tokio::test]
async fn starttls_with_auth_delivers_and_a_wrong_password_is_permanent() {
    if !have_aiosmtpd("starttls_with_auth_delivers_and_a_wrong_password_is_permanent") {
        return;
    }
    let smtp = Smtp::start(Options {
        mode: "starttls",
        auth: Some(("pager", "s3cret")),
        ..Options::default()
    });
    let mut config = smtp.config(Security::StartTls, "127.0.0.1");
    config.username = Some("pager".to_owned());
    config.password = Some("s3cret".to_owned());
    let channel = EmailChannel::new(&config).unwrap();
    let page = sample::page();
    let sent = send(&channel, "alice@example.com", &page, None)
        .await
        .unwrap();
    let files = smtp.received();
    assert_eq!(files.len(), 1);
    check_page(&Mail::read(&files[0]), &page, &sent.reference.unwrap());

    config.password = Some("wrong".to_owned());
    let wrong = EmailChannel::new(&config).unwrap();
    let err = send(&wrong, "alice@example.com", &page, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SendError::Permanent { reason } if reason.contains("535")),
        "{err:?}"
    );

    // Without the test CA the certificate is not trusted: not delivered.
    config.password = Some("s3cret".to_owned());
    config.extra_root_ca_pem = None;
    let untrusting = EmailChannel::new(&config).unwrap();
    assert!(
        send(&untrusting, "alice@example.com", &page, None)
            .await
            .is_err()
    );
    assert_eq!(smtp.received().len(), 1);
}

#[tokio::test]
async fn implicit_tls_delivers() {
    if !have_aiosmtpd("implicit_tls_delivers") {
        return;
    }
    let smtp = Smtp::start(Options {
        mode: "tls",
        auth: Some(("pager", "s3cret")),
        ..Options::default()
    });
    let mut config = smtp.config(Security::Tls, "localhost");
    config.username = Some("pager".to_owned());
    config.password = Some("s3cret".to_owned());
    let channel = EmailChannel::new(&config).unwrap();
    let page = sample::page();
    let sent = send(&channel, "alice@example.com", &page, None)
        .await
        .unwrap();
    let files = smtp.received();
    assert_eq!(files.len(), 1);
    check_page(&Mail::read(&files[0]), &page, &sent.reference.unwrap());
}

#[tokio::test]
async fn refusals_and_a_down_server_are_classified() {
    if !have_aiosmtpd("refusals_and_a_down_server_are_classified") {
        return;
    }
    let smtp = Smtp::start(Options {
        replies: &["nobody@example.com=550", "later@example.com=451"],
        ..Options::default()
    });
    let channel = EmailChannel::new(&smtp.config(Security::None, "127.0.0.1")).unwrap();
    let page = sample::bare();

    let err = send(&channel, "nobody@example.com", &page, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SendError::Permanent { reason } if reason.contains("550")),
        "{err:?}"
    );
    let err = send(&channel, "later@example.com", &page, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SendError::Transient { reason, .. } if reason.contains("451")),
        "{err:?}"
    );
    let err = send(&channel, "not an address", &page, None)
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Permanent { .. }), "{err:?}");
    // STARTTLS required but not offered: a setup to fix, not to retry.
    let no_starttls = EmailChannel::new(&smtp.config(Security::StartTls, "127.0.0.1")).unwrap();
    let err = send(&no_starttls, "alice@example.com", &page, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SendError::Permanent { reason } if reason.contains("STARTTLS")),
        "{err:?}"
    );
    assert!(smtp.received().is_empty());

    // Nobody listens: worth a retry.
    let mut down = smtp.config(Security::None, "127.0.0.1");
    down.port = free_port();
    let channel = EmailChannel::new(&down).unwrap();
    let err = send(&channel, "alice@example.com", &page, None)
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");

    // Same for a TLS relay that is down.
    let mut down_tls = down.clone();
    down_tls.security = Security::Tls;
    let channel = EmailChannel::new(&down_tls).unwrap();
    let err = send(&channel, "alice@example.com", &page, None)
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
}
