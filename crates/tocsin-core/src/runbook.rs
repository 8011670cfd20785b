//! Runbook actions, run: finding a declared action, checking the values
//! typed in chat and who asks ([`prepare`]), the signed confirmation token
//! that binds the caller, the command line and a run id ([`RunSigner`]),
//! and running what was confirmed — a program (argv, no shell) or an HTTP
//! request — with a timeout and bounded output ([`Runbooks::run`]).
//!
//! The chat glue (prompt, confirm, the record on the timeline or in the
//! audit log, never running twice) is in [`crate::chatops`].
//!
//! Invariants:
//! - A program runs only if its path is on the hub's allow-list
//!   (`tocsin serve --runbook-command`), with its arguments as argv, never
//!   through a shell; it is killed when its timeout passes (and when the
//!   future running it is dropped).
//! - At most [`OUTPUT_MAX`] bytes of each stream (stdout, stderr, an HTTP
//!   body) are kept; the rest is read and dropped, and the output says it
//!   was cut.
//! - HTTP actions follow no redirects: a request goes to the declared host
//!   and nowhere else.

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use tocsin_domain::Name;
use tocsin_domain::access::Principal;
use tocsin_domain::catalog::{Kind, Object, RunbookAction};
use tocsin_domain::runbook::{self, Context, Plan, Value};
use tocsin_store::{RunOutcome, Store, StoreError};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The most bytes kept of each output stream (stdout, stderr, HTTP body).
pub const OUTPUT_MAX: usize = 4096;

/// How long a confirmation token may be used.
pub const CONFIRM_VALIDITY: SignedDuration = SignedDuration::from_mins(5);

/// The name under which the confirmation key is kept in the store.
pub const CONFIRM_KEY_NAME: &str = "runbook-confirm";

/// What a hub may run: the programs command actions may start, and the
/// HTTP client for HTTP actions. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Runbooks {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Absolute paths of the programs command actions may run.
    commands: Vec<PathBuf>,
    /// `Err`: why the HTTP client could not be built (HTTP actions then
    /// answer that, command actions still run).
    client: Result<reqwest::Client, String>,
}

impl Default for Runbooks {
    /// No program allowed; HTTP actions run.
    fn default() -> Self {
        Runbooks::new(Vec::new())
    }
}

impl Runbooks {
    /// A hub that may run the programs at `commands` (absolute paths, as
    /// `tocsin serve --runbook-command` lists them).
    pub fn new(commands: Vec<PathBuf>) -> Runbooks {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tocsin/", env!("CARGO_PKG_VERSION"), " runbook"))
            .build()
            .map_err(|e| {
                tracing::error!(error = %e, "building the runbook HTTP client");
                format!("tocsin could not set up its HTTP client: {e}")
            });
        Runbooks {
            inner: Arc::new(Inner { commands, client }),
        }
    }

    /// The programs command actions may run.
    pub fn commands(&self) -> &[PathBuf] {
        &self.inner.commands
    }

    /// Whether a program may run here; `Err` says how to allow it.
    pub fn allowed(&self, program: &str) -> Result<(), String> {
        let p = Path::new(program);
        if self.inner.commands.iter().any(|c| c == p) {
            return Ok(());
        }
        Err(format!(
            "{program} is not allowed on this hub; start tocsin serve with --runbook-command {program} \
             (or add it to TOCSIN_RUNBOOK_COMMANDS) to allow it"
        ))
    }

    /// Runs `plan` for at most `timeout`.
    pub async fn run(&self, plan: &Plan, timeout: SignedDuration) -> RunResult {
        let started = std::time::Instant::now();
        let limit = timeout.unsigned_abs();
        let mut result = match plan {
            Plan::Command { argv } => run_command(self, argv, limit).await,
            Plan::Http {
                method,
                url,
                headers,
                body,
            } => match &self.inner.client {
                Ok(client) => run_http(client, method, url, headers, body.as_deref(), limit).await,
                Err(e) => RunResult::error(e.clone()),
            },
        };
        result.duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        result
    }
}

/// What a run came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    pub outcome: RunOutcome,
    /// A program's exit status (`None`: killed by a signal, or not a
    /// program).
    pub exit_status: Option<i32>,
    /// An HTTP action's status code.
    pub http_status: Option<u16>,
    pub duration_ms: i64,
    /// What it printed (stdout, then stderr after a `[stderr]` line) or
    /// the HTTP body; each stream at most [`OUTPUT_MAX`] bytes, a cut one
    /// ending in `… (truncated)`.
    pub output: String,
    /// Why it could not start, for [`RunOutcome::Error`].
    pub error: Option<String>,
}

impl RunResult {
    fn error(why: String) -> RunResult {
        RunResult {
            outcome: RunOutcome::Error,
            exit_status: None,
            http_status: None,
            duration_ms: 0,
            output: String::new(),
            error: Some(why),
        }
    }

    /// The record's fields (merged into a timeline entry's or audit
    /// entry's detail).
    pub fn detail(&self) -> serde_json::Value {
        serde_json::json!({
            "outcome": self.outcome.as_str(),
            "exit_status": self.exit_status,
            "http_status": self.http_status,
            "duration_ms": self.duration_ms,
            "output": self.output,
            "error": self.error,
        })
    }
}

/// One output stream, kept up to [`OUTPUT_MAX`] bytes.
#[derive(Debug, Default)]
struct Capture {
    kept: Vec<u8>,
    truncated: bool,
}

impl Capture {
    fn take(&mut self, chunk: &[u8]) {
        let room = OUTPUT_MAX.saturating_sub(self.kept.len());
        if chunk.len() > room {
            self.truncated = true;
        }
        self.kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    fn text(&self) -> String {
        let mut s = String::from_utf8_lossy(&self.kept).into_owned();
        if self.truncated {
            s.push_str("\n… (truncated)");
        }
        s
    }

    /// Reads `r` to its end (or until the future is dropped), keeping the
    /// start.
    async fn drain(&mut self, mut r: impl AsyncRead + Unpin) {
        let mut buf = [0u8; 8192];
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => self.take(&buf[..n]),
            }
        }
    }
}

fn command_output(out: &Capture, err: &Capture) -> String {
    let mut text = out.text();
    if !err.kept.is_empty() {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("[stderr]\n");
        text.push_str(&err.text());
    }
    text
}

async fn run_command(r: &Runbooks, argv: &[String], limit: std::time::Duration) -> RunResult {
    let Some((program, args)) = argv.split_first() else {
        return RunResult::error("the command is empty".to_owned());
    };
    if let Err(e) = r.allowed(program) {
        return RunResult::error(e);
    }
    let mut child = match tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return RunResult::error(format!("{program} could not be started: {e}")),
    };
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return RunResult::error("the program's output could not be read".to_owned());
    };
    let (mut out, mut err) = (Capture::default(), Capture::default());
    let finished = tokio::time::timeout(limit, async {
        let (_, _, status) = tokio::join!(out.drain(stdout), err.drain(stderr), child.wait());
        status
    })
    .await;
    match finished {
        Ok(Ok(status)) => RunResult {
            outcome: match status.success() {
                true => RunOutcome::Succeeded,
                false => RunOutcome::Failed,
            },
            exit_status: status.code(),
            http_status: None,
            duration_ms: 0,
            output: command_output(&out, &err),
            error: None,
        },
        Ok(Err(e)) => RunResult::error(format!("waiting for {program}: {e}")),
        Err(_) => {
            // Kill and reap it; kill_on_drop is the backstop.
            if let Err(e) = child.kill().await {
                tracing::warn!(error = %e, program, "killing a runbook command that timed out");
            }
            RunResult {
                outcome: RunOutcome::TimedOut,
                exit_status: None,
                http_status: None,
                duration_ms: 0,
                output: command_output(&out, &err),
                error: None,
            }
        }
    }
}

async fn run_http(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<&str>,
    limit: std::time::Duration,
) -> RunResult {
    let method = match reqwest::Method::from_bytes(method.as_bytes()) {
        Ok(m) => m,
        Err(_) => return RunResult::error(format!("{method:?} is not an HTTP method")),
    };
    let mut req = client.request(method, url);
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    if let Some(b) = body {
        req = req.body(b.to_owned());
    }
    let mut capture = Capture::default();
    let mut status = None;
    let done = tokio::time::timeout(limit, async {
        let mut res = req.send().await?;
        status = Some(res.status().as_u16());
        while let Some(chunk) = res.chunk().await? {
            capture.take(&chunk);
        }
        Ok::<(), reqwest::Error>(())
    })
    .await;
    let outcome = match (&done, status) {
        (Err(_), _) => RunOutcome::TimedOut,
        (Ok(_), Some(s)) if (200..300).contains(&s) => RunOutcome::Succeeded,
        (Ok(_), Some(_)) => RunOutcome::Failed,
        (Ok(_), None) => RunOutcome::Error,
    };
    let error = match done {
        Ok(Err(e)) if status.is_none() => Some(format!("the request to {url} failed: {e}")),
        _ => None,
    };
    RunResult {
        outcome,
        exit_status: None,
        http_status: status,
        duration_ms: 0,
        output: capture.text(),
        error,
    }
}

/// An action, ready to confirm or run: the checked values and exactly
/// what runs.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub action: RunbookAction,
    pub params: std::collections::BTreeMap<String, Option<Value>>,
    pub plan: Plan,
    pub timeout: SignedDuration,
}

impl Prepared {
    /// A digest of what runs, so a confirmation runs what it showed.
    pub fn digest(&self) -> String {
        let json =
            serde_json::to_string(&(&self.plan, self.timeout.as_millis())).unwrap_or_default();
        hex::encode(&Sha256::digest(json.as_bytes())[..16])
    }
}

/// Why an action cannot be prepared, said to the caller.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Finds action `name` in the catalog, checks the values (every problem,
/// each naming its parameter) and whether `who` may run it, and renders
/// what would run.
pub async fn prepare(
    store: &dyn Store,
    r: &Runbooks,
    who: &Principal,
    name: &Name,
    target: Option<&Name>,
    given: &std::collections::BTreeMap<Name, String>,
    incident: Option<i64>,
) -> Result<Prepared, PrepareError> {
    let refuse = |m: String| PrepareError::Refused(m);
    let action = match store.get_object(Kind::RunbookAction, name).await? {
        Some(o) => match Object::from_spec(Kind::RunbookAction, o.spec) {
            Ok(Object::RunbookAction(a)) => a,
            _ => {
                return Err(refuse(format!(
                    "runbook action {name} is stored in a shape this version cannot read; apply its manifest again"
                )));
            }
        },
        None => {
            let known: Vec<String> = store
                .list_objects(Some(Kind::RunbookAction))
                .await?
                .into_iter()
                .map(|o| o.name.to_string())
                .collect();
            let hint = match known.as_slice() {
                [] => "none is declared (runbook_actions in the manifests)".to_owned(),
                k => format!("declared: {}", k.join(", ")),
            };
            return Err(refuse(format!("no runbook action named {name}; {hint}")));
        }
    };
    runbook::may_run(&action, who).map_err(refuse)?;
    let params = runbook::check_params(&action, target, given).map_err(|errors| {
        refuse(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    let cx = Context {
        params: params.clone(),
        action: action.name.to_string(),
        incident,
        by: who.label.clone(),
    };
    let plan = runbook::render(&action, &cx).map_err(|e| refuse(format!("{name}: {e}")))?;
    if let Plan::Command { argv } = &plan
        && let Some(program) = argv.first()
    {
        r.allowed(program).map_err(refuse)?;
    }
    let timeout = runbook::timeout(&action);
    Ok(Prepared {
        action,
        params,
        plan,
        timeout,
    })
}

/// What a confirmation token carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// The run's id: the key of its record, so it runs once.
    pub run: String,
    /// Who may confirm: [`confirmer`] of the person asked.
    pub caller: String,
    /// The canonical command line.
    pub line: String,
    /// [`Prepared::digest`] of what was shown.
    pub digest: String,
    pub expires: Timestamp,
}

/// Why a confirmation token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmError {
    #[error("this confirmation is not one tocsin made; run the command again")]
    Invalid,
    #[error("this confirmation expired (they last 5 minutes); run the command again")]
    Expired,
    #[error("this confirmation is for {0}; only they may confirm it. Run the command yourself")]
    OtherPerson(String),
}

/// Who a confirmation is bound to: the person (whatever interface or
/// token they confirm through), else the principal's label.
pub fn confirmer(who: &Principal) -> String {
    who.user
        .as_ref()
        .map_or_else(|| who.label.clone(), ToString::to_string)
}

/// Signs and checks confirmation tokens:
/// `r1.{run}.{expires}.{hex caller}.{hex line}.{digest}.{mac}`, the MAC an
/// HMAC-SHA256 over everything before it with a key every instance shares
/// (kept in the store, [`CONFIRM_KEY_NAME`]).
#[derive(Clone)]
pub struct RunSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for RunSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunSigner(…)")
    }
}

impl RunSigner {
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        RunSigner { key: key.into() }
    }

    /// The shared key from the store, made on first use.
    pub async fn from_store(store: &dyn Store) -> Result<Self, StoreError> {
        let fresh = hex::encode(rand::random::<[u8; 32]>());
        let key = store.instance_secret(CONFIRM_KEY_NAME, fresh).await?;
        Ok(RunSigner::new(key.into_bytes()))
    }

    fn mac(&self, payload: &str) -> Option<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        mac.update(payload.as_bytes());
        Some(mac)
    }

    pub fn token(&self, c: &Confirmation) -> String {
        let payload = format!(
            "r1.{}.{}.{}.{}.{}",
            c.run,
            c.expires.as_second(),
            hex::encode(c.caller.as_bytes()),
            hex::encode(c.line.as_bytes()),
            c.digest
        );
        let sig = self
            .mac(&payload)
            .map(|m| hex::encode(m.finalize().into_bytes()))
            .unwrap_or_default();
        format!("{payload}.{sig}")
    }

    /// What a genuine token carries, expired or not (the caller decides
    /// what an expired one still may do: say that it already ran).
    pub fn open(&self, token: &str) -> Result<Confirmation, ConfirmError> {
        let token = token.trim();
        let (payload, sig) = token.rsplit_once('.').ok_or(ConfirmError::Invalid)?;
        let sig = hex::decode(sig).map_err(|_| ConfirmError::Invalid)?;
        self.mac(payload)
            .ok_or(ConfirmError::Invalid)?
            .verify_slice(&sig)
            .map_err(|_| ConfirmError::Invalid)?;
        let parts: Vec<&str> = payload.split('.').collect();
        let [version, run, expires, caller, line, digest] = parts.as_slice() else {
            return Err(ConfirmError::Invalid);
        };
        let text = |h: &str| {
            hex::decode(h)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or(ConfirmError::Invalid)
        };
        if *version != "r1" {
            return Err(ConfirmError::Invalid);
        }
        let expires = expires
            .parse::<i64>()
            .ok()
            .and_then(|s| Timestamp::from_second(s).ok())
            .ok_or(ConfirmError::Invalid)?;
        Ok(Confirmation {
            run: (*run).to_owned(),
            caller: text(caller)?,
            line: text(line)?,
            digest: (*digest).to_owned(),
            expires,
        })
    }
}

/// A new run id: unique, unguessable, and one [`Name`]-safe word.
pub fn new_run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confirmation(now: Timestamp) -> Confirmation {
        Confirmation {
            run: new_run_id(),
            caller: "alice".into(),
            line: "run restart-web on web-2 #8 reason=\"a b\"".into(),
            digest: "00ff".into(),
            expires: now + CONFIRM_VALIDITY,
        }
    }

    #[test]
    fn tokens_open_only_when_genuine() {
        let now: Timestamp = "2026-03-02T10:00:00Z".parse().unwrap();
        let s = RunSigner::new(b"k".to_vec());
        let c = confirmation(now);
        let t = s.token(&c);
        assert_eq!(s.open(&t), Ok(c.clone()));
        let other = RunSigner::new(b"other".to_vec());
        assert_eq!(other.open(&t), Err(ConfirmError::Invalid));
        let caller_hex = hex::encode("alice");
        let forged = t.replace(&caller_hex, &hex::encode("mallo"));
        assert_eq!(s.open(&forged), Err(ConfirmError::Invalid));
        assert_eq!(s.open("nonsense"), Err(ConfirmError::Invalid));
        assert_eq!(s.open(""), Err(ConfirmError::Invalid));
    }

    #[test]
    fn captures_are_bounded() {
        let mut c = Capture::default();
        c.take(&[b'a'; 4000]);
        c.take(&[b'b'; 200]);
        assert_eq!(c.kept.len(), OUTPUT_MAX);
        assert!(c.text().ends_with("bbb\n… (truncated)"));
    }

    #[test]
    fn allow_list_names_the_flag() {
        let r = Runbooks::new(vec![PathBuf::from("/bin/echo")]);
        assert_eq!(r.allowed("/bin/echo"), Ok(()));
        let e = r.allowed("/usr/bin/x").unwrap_err();
        assert!(
            e.contains("/usr/bin/x is not allowed on this hub; start tocsin serve with --runbook-command /usr/bin/x"),
            "{e}"
        );
    }
}
