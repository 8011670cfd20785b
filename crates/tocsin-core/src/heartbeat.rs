//! Heartbeats (dead man's switches) as use cases: which heartbeat a ping
//! URL names ([`HeartbeatIndex`]), recording pings durably and fast
//! ([`Pinger`], a group commit like the ingest pipeline's), the engine
//! module that turns a heartbeat gone down into an alert for its service
//! and a return into a resolve ([`HeartbeatMonitor`]), and what the web
//! page and the API show ([`overview`], [`detail`]).
//!
//! Choices (documented in `docs/heartbeats.md`):
//! - A heartbeat's UUID is the declared `uuid`, or else derived from the
//!   organisation's ping key and its name (HMAC-SHA256), so it is stable
//!   while the database is kept and cannot be guessed from the name.
//! - The ping key (slug URLs `/ping/<ping-key>/<name>`) is one per
//!   organisation (this hub), made on first use and kept as an instance
//!   secret.
//! - Alerts go through [`tocsin_store::IngestStore::ingest`] as events of
//!   the pseudo-integration [`INTEGRATION`], dedup key
//!   `heartbeat:<name>`, so dedup, grouping, silences, maintenance and
//!   escalation apply as to any alert.
//!
//! Invariants: a ping is answered only after the transaction holding it
//! committed; the module's alert is stored before `alert_open` is set, so
//! a crash between the two sends the event again (deduplicated by key),
//! never loses it.

use crate::engine::Module;
use crate::ingest::IntegrationIndex;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;
use tocsin_domain::Name;
use tocsin_domain::catalog::{Heartbeat, Kind, Object};
use tocsin_domain::heartbeat::{PingKind, PingTarget, Rule, Status, parse_ping_path};
use tocsin_domain::ingest::{Event, EventAction};
use tocsin_store::{
    HeartbeatRecord, IngestItem, NewPing, PingRecord, PingRecorded, Store, StoreError,
};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// The integration name heartbeat alerts are stored under.
pub const INTEGRATION: &str = "heartbeat";

/// The instance secret holding the organisation's ping key.
pub const PING_KEY_NAME: &str = "heartbeat.ping_key";

/// How many pings per heartbeat are kept (older ones are pruned).
pub const KEEP_PINGS: u32 = 100;

/// The dedup key of a heartbeat's alert.
pub fn dedup_key(name: &Name) -> String {
    format!("heartbeat:{name}")
}

/// The UUID of a heartbeat that declares none: HMAC-SHA256 of its name
/// under the ping key, as a version 4 (random-looking) UUID.
pub fn derived_uuid(ping_key: &str, name: &Name) -> Uuid {
    let bytes = match Hmac::<Sha256>::new_from_slice(ping_key.as_bytes()) {
        Ok(mut mac) => {
            mac.update(b"heartbeat:");
            mac.update(name.as_str().as_bytes());
            let out = mac.finalize().into_bytes();
            let mut b = [0u8; 16];
            b.copy_from_slice(&out[..16]);
            b
        }
        // HMAC takes a key of any length; this arm is unreachable.
        Err(_) => [0u8; 16],
    };
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// A declared heartbeat, ready for pings.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownHeartbeat {
    pub spec: Heartbeat,
    pub uuid: Uuid,
    pub rule: Arc<Rule>,
}

#[derive(Debug, Default)]
struct Loaded {
    by_uuid: HashMap<Uuid, Arc<KnownHeartbeat>>,
    by_name: HashMap<Name, Arc<KnownHeartbeat>>,
    ping_key: String,
    at: Option<Timestamp>,
}

/// Ping URL → declared heartbeat, from the catalog, kept in memory.
/// Reloaded when a UUID is unknown (at most every `reload_every`), when
/// older than `max_age`, and by [`HeartbeatIndex::reload`]; one reload at
/// a time, so a burst of pings does not read the catalog once each.
#[derive(Debug)]
pub struct HeartbeatIndex {
    store: Arc<dyn Store>,
    loaded: RwLock<Loaded>,
    reloading: tokio::sync::Mutex<()>,
    reload_every: SignedDuration,
    max_age: SignedDuration,
}

impl HeartbeatIndex {
    pub fn new(store: Arc<dyn Store>) -> Self {
        HeartbeatIndex {
            store,
            loaded: RwLock::new(Loaded::default()),
            reloading: tokio::sync::Mutex::new(()),
            reload_every: SignedDuration::from_millis(250),
            max_age: SignedDuration::from_secs(5),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        self.loaded.read().unwrap_or_else(|p| p.into_inner())
    }

    fn find(l: &Loaded, target: &PingTarget) -> Option<Arc<KnownHeartbeat>> {
        match target {
            PingTarget::Uuid(u) => l.by_uuid.get(u).cloned(),
            PingTarget::Slug { key, slug } => {
                if l.ping_key.is_empty() || !constant_time_eq(key, &l.ping_key) {
                    return None;
                }
                let name = Name::parse(slug).ok()?;
                l.by_name.get(&name).cloned()
            }
        }
    }

    /// The heartbeat a ping URL names, if any.
    pub async fn lookup(
        &self,
        target: &PingTarget,
        now: Timestamp,
    ) -> Result<Option<Arc<KnownHeartbeat>>, StoreError> {
        let (hit, stale, may_reload) = {
            let l = self.read();
            let age = l.at.map(|at| now.duration_since(at));
            (
                Self::find(&l, target),
                age.is_none_or(|a| a > self.max_age),
                age.is_none_or(|a| a > self.reload_every),
            )
        };
        if (hit.is_none() && may_reload) || stale {
            self.reload_if_older(
                now,
                if stale {
                    self.max_age
                } else {
                    self.reload_every
                },
            )
            .await?;
            return Ok(Self::find(&self.read(), target));
        }
        Ok(hit)
    }

    /// Every declared heartbeat, by name.
    pub async fn all(&self, now: Timestamp) -> Result<Vec<Arc<KnownHeartbeat>>, StoreError> {
        self.reload_if_older(now, self.max_age).await?;
        let mut all: Vec<_> = self.read().by_name.values().cloned().collect();
        all.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
        Ok(all)
    }

    /// One declared heartbeat by name.
    pub async fn by_name(
        &self,
        name: &Name,
        now: Timestamp,
    ) -> Result<Option<Arc<KnownHeartbeat>>, StoreError> {
        self.reload_if_older(now, self.max_age).await?;
        Ok(self.read().by_name.get(name).cloned())
    }

    /// The organisation's ping key (for slug URLs).
    pub async fn ping_key(&self, now: Timestamp) -> Result<String, StoreError> {
        self.reload_if_older(now, self.max_age).await?;
        Ok(self.read().ping_key.clone())
    }

    /// Reloads unless another caller did within `age` while this one
    /// waited for its turn.
    async fn reload_if_older(&self, now: Timestamp, age: SignedDuration) -> Result<(), StoreError> {
        let fresh = |l: &Loaded| l.at.is_some_and(|at| now.duration_since(at) <= age);
        if fresh(&self.read()) {
            return Ok(());
        }
        let _turn = self.reloading.lock().await;
        if fresh(&self.read()) {
            return Ok(());
        }
        self.reload(now).await
    }

    /// Reads the catalog's heartbeats and the ping key again.
    pub async fn reload(&self, now: Timestamp) -> Result<(), StoreError> {
        let ping_key = self
            .store
            .instance_secret(PING_KEY_NAME, crate::token::random_secret(22))
            .await?;
        let mut loaded = Loaded {
            ping_key,
            at: Some(now),
            ..Loaded::default()
        };
        for o in self.store.list_objects(Some(Kind::Heartbeat)).await? {
            let Ok(Object::Heartbeat(spec)) = Object::from_spec(o.kind, o.spec) else {
                tracing::warn!(name = %o.name, "stored heartbeat does not parse; ignored");
                continue;
            };
            let rule = match spec.rule() {
                Ok(r) => Arc::new(r),
                Err((field, why)) => {
                    tracing::warn!(name = %spec.name, field, reason = %why, "heartbeat ignored");
                    continue;
                }
            };
            let uuid = spec
                .declared_uuid()
                .unwrap_or_else(|| derived_uuid(&loaded.ping_key, &spec.name));
            let known = Arc::new(KnownHeartbeat { spec, uuid, rule });
            loaded.by_uuid.insert(uuid, known.clone());
            loaded.by_name.insert(known.spec.name.clone(), known);
        }
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = loaded;
        Ok(())
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Settings of the ping writer.
#[derive(Debug, Clone)]
pub struct PingerConfig {
    /// Most pings in one transaction.
    pub max_batch: usize,
    /// Pings waiting beyond this are refused (503) rather than held in
    /// unbounded memory.
    pub queue: usize,
    /// Woken after a batch that left a heartbeat down, so its alert is
    /// raised at once rather than at the engine's next idle tick.
    pub wake: Option<Arc<tokio::sync::Notify>>,
}

impl Default for PingerConfig {
    fn default() -> Self {
        PingerConfig {
            max_batch: 4096,
            queue: 65_536,
            wake: None,
        }
    }
}

/// Why a ping was not recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PingError {
    /// No heartbeat behind this URL.
    #[error("not found")]
    NotFound,
    /// The queue is full or the writer stopped: retry (503).
    #[error("pings are overloaded or shutting down; retry shortly")]
    Unavailable,
    /// The batch could not be stored: nothing in it was recorded.
    #[error("the ping could not be stored: {0}")]
    Store(String),
}

type Reply = oneshot::Sender<Result<PingRecorded, PingError>>;

/// The group-commit ping writer: handlers submit and wait; one task
/// takes whatever is queued (up to `max_batch`), records it in one
/// transaction and answers every waiter after the commit.
#[derive(Debug, Clone)]
pub struct Pinger {
    tx: mpsc::Sender<(NewPing, Reply)>,
}

impl Pinger {
    /// Starts the writer task; it stops when every clone is dropped,
    /// after writing what was queued.
    pub fn start(
        store: Arc<dyn Store>,
        config: PingerConfig,
    ) -> (Pinger, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let task = tokio::spawn(ping_writer(store, config, rx));
        (Pinger { tx }, task)
    }

    /// Records one ping; returns once it is durable.
    pub async fn submit(&self, ping: NewPing) -> Result<PingRecorded, PingError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send((ping, reply))
            .map_err(|_| PingError::Unavailable)?;
        answer.await.map_err(|_| PingError::Unavailable)?
    }
}

async fn ping_writer(
    store: Arc<dyn Store>,
    config: PingerConfig,
    mut rx: mpsc::Receiver<(NewPing, Reply)>,
) {
    let mut batch = Vec::with_capacity(config.max_batch);
    while rx.recv_many(&mut batch, config.max_batch.max(1)).await > 0 {
        let (pings, replies): (Vec<NewPing>, Vec<Reply>) = batch.drain(..).unzip();
        let started = Instant::now();
        let result = store.record_pings(&pings).await;
        metrics::histogram!("tocsin_heartbeat_batch_seconds")
            .record(started.elapsed().as_secs_f64());
        metrics::histogram!("tocsin_heartbeat_batch_pings").record(pings.len() as f64);
        match result {
            Ok(results) => {
                metrics::counter!("tocsin_heartbeat_pings_total").increment(results.len() as u64);
                if let Some(wake) = &config.wake
                    && results.iter().any(|r| r.status == Status::Down)
                {
                    wake.notify_one();
                }
                for (reply, r) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(r));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, pings = pings.len(), "heartbeat ping batch failed; nothing in it was recorded");
                let msg = match e {
                    StoreError::Unavailable(_) => "the database is unavailable",
                    _ => "the database refused the batch",
                };
                for reply in replies {
                    let _ = reply.send(Err(PingError::Store(msg.into())));
                }
            }
        }
    }
    tracing::info!("heartbeat ping writer drained and stopped");
}

/// A ping as received by an adapter.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingPing<'a> {
    /// What follows `/ping/`.
    pub path: &'a str,
    /// The `rid` query parameter, unparsed.
    pub rid: Option<&'a str>,
    pub method: &'static str,
    pub body: &'a [u8],
}

/// Why an incoming ping was refused, in healthchecks.io's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PingRefused {
    #[error("not found")]
    NotFound,
    #[error("invalid uuid format for rid")]
    BadRid,
    #[error(transparent)]
    Failed(#[from] PingError),
}

/// What a recorded ping answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub recorded: PingRecorded,
    /// The body bytes this heartbeat keeps (healthchecks.io's
    /// `Ping-Body-Limit`).
    pub log_limit: u64,
}

/// Records an incoming ping: parses the URL, finds the heartbeat, keeps
/// at most its `max_log_bytes` of the body (the rest is dropped and the
/// ping marked truncated), and waits until it is durable.
pub async fn receive(
    index: &HeartbeatIndex,
    pinger: &Pinger,
    ping: IncomingPing<'_>,
    now: Timestamp,
) -> Result<Received, PingRefused> {
    let path = parse_ping_path(ping.path).ok_or(PingRefused::NotFound)?;
    let rid = match ping.rid.filter(|r| !r.is_empty()) {
        Some(r) => Some(
            Uuid::try_parse(r)
                .map_err(|_| PingRefused::BadRid)?
                .to_string(),
        ),
        None => None,
    };
    let known = index
        .lookup(&path.target, now)
        .await
        .map_err(|e| PingError::Store(e.to_string()))?
        .ok_or(PingRefused::NotFound)?;
    let limit = usize::try_from(known.spec.log_limit()).unwrap_or(usize::MAX);
    let truncated = ping.body.len() > limit;
    let kept = &ping.body[..ping.body.len().min(limit)];
    let body = String::from_utf8_lossy(kept).into_owned();
    let recorded = pinger
        .submit(NewPing {
            heartbeat: known.spec.name.clone(),
            rule: known.rule.clone(),
            kind: path.kind,
            exit_status: path.exit_status,
            rid,
            method: ping.method,
            body,
            truncated,
            at: now,
        })
        .await?;
    Ok(Received {
        recorded,
        log_limit: known.spec.log_limit(),
    })
}

/// The engine module: heartbeats whose time has come get their status
/// evaluated; one gone down raises a trigger for its service, one back
/// from down a resolve. Every minute it looks at all of them (a changed
/// declaration moves deadlines) and prunes old pings.
#[derive(Debug)]
pub struct HeartbeatMonitor {
    store: Arc<dyn Store>,
    index: Arc<HeartbeatIndex>,
    policy: Arc<IntegrationIndex>,
    full_every: SignedDuration,
    last_full: Mutex<Option<Timestamp>>,
}

impl HeartbeatMonitor {
    pub fn new(store: Arc<dyn Store>) -> Self {
        HeartbeatMonitor {
            index: Arc::new(HeartbeatIndex::new(store.clone())),
            policy: Arc::new(IntegrationIndex::new(store.clone())),
            store,
            full_every: SignedDuration::from_mins(1),
            last_full: Mutex::new(None),
        }
    }

    async fn alert(
        &self,
        hb: &KnownHeartbeat,
        row: &HeartbeatRecord,
        trigger: bool,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let name = &hb.spec.name;
        let summary = if !trigger {
            format!("Heartbeat {name} is up again")
        } else if let Some(failed) = row.state.failed_at {
            format!("Heartbeat {name} reported a failure at {failed}")
        } else {
            match row.state.last_success {
                Some(t) => format!("Heartbeat {name} is down: no ping since {t}"),
                None => format!("Heartbeat {name} is down: a run started and did not finish"),
            }
        };
        let event = Event {
            action: if trigger {
                EventAction::Trigger
            } else {
                EventAction::Resolve
            },
            dedup_key: dedup_key(name),
            summary,
            source: Some(format!("heartbeat {name}")),
            severity: hb.spec.alert_severity(),
            sender_severity: None,
            occurred_at: Some(now),
            component: None,
            group: None,
            class: Some("heartbeat".into()),
            labels: [("heartbeat".to_owned(), name.to_string())].into(),
            details: serde_json::json!({
                "heartbeat": name.as_str(),
                "description": hb.spec.description,
                "last_ping": row.state.last_ping,
                "last_success": row.state.last_success,
                "failed_at": row.state.failed_at,
                "expected": row.state.expected(&hb.rule),
                "grace": hb.rule.grace.to_string(),
            }),
            links: vec![],
            images: vec![],
            note: None,
        };
        let item = IngestItem {
            integration: Name::parse(INTEGRATION)
                .map_err(|e| StoreError::Corrupt(format!("integration name: {e}")))?,
            service: hb.spec.service.clone(),
            event,
            received_at: now,
            request_id: None,
        };
        let policy = self.policy.policy(now).await?;
        self.store.ingest(&[item], &policy, now).await?;
        self.store.set_heartbeat_alert(name, trigger).await
    }

    /// One pass over `rows`.
    async fn pass(
        &self,
        rows: Vec<HeartbeatRecord>,
        full: bool,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        for row in rows {
            let Some(hb) = self.index.by_name(&row.name, now).await? else {
                continue;
            };
            let status = row.state.status(&hb.rule, now);
            let check_at = row.state.next_change(&hb.rule, now);
            if (status != row.status || check_at != row.check_at)
                && !self
                    .store
                    .set_heartbeat_status(&row.name, row.version, status, check_at, now)
                    .await?
            {
                // A ping came in meanwhile: the next cycle sees it.
                continue;
            }
            let down = status == Status::Down;
            if down != row.alert_open {
                self.alert(&hb, &row, down, now).await?;
                tracing::info!(heartbeat = %row.name, %status, "heartbeat alert {}", if down { "raised" } else { "resolved" });
            }
            if full {
                self.store
                    .prune_heartbeat_pings(&row.name, KEEP_PINGS)
                    .await?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Module for HeartbeatMonitor {
    fn name(&self) -> &'static str {
        "heartbeat.monitor"
    }

    async fn tick(&self, now: Timestamp) -> Result<(), String> {
        let full = {
            let last = self.last_full.lock().unwrap_or_else(|p| p.into_inner());
            last.is_none_or(|l| now.duration_since(l) >= self.full_every)
        };
        let rows = if full {
            self.store.heartbeats().await
        } else {
            self.store.heartbeats_due(now).await
        }
        .map_err(|e| e.to_string())?;
        self.pass(rows, full, now)
            .await
            .map_err(|e| e.to_string())?;
        if full {
            *self.last_full.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
        }
        Ok(())
    }
}

/// One heartbeat as the page and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HeartbeatView {
    #[schema(value_type = String)]
    pub name: Name,
    #[schema(value_type = String)]
    pub service: Name,
    pub description: Option<String>,
    /// `/ping/<uuid>`.
    pub uuid: String,
    /// `period` or the cron `schedule` with its zone, in words of the
    /// declaration.
    pub expects: String,
    pub grace: String,
    /// new, up, late, down, paused: as of now.
    #[schema(value_type = String)]
    pub status: Status,
    #[schema(value_type = Option<String>)]
    pub last_ping: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub last_success: Option<Timestamp>,
    /// The next expected success.
    #[schema(value_type = Option<String>)]
    pub next_expected: Option<Timestamp>,
    /// When it is late if no success comes (a started run counts).
    #[schema(value_type = Option<String>)]
    pub deadline: Option<Timestamp>,
    /// A run is in progress (started, not finished).
    pub running: bool,
    /// An alert is open for it.
    pub alert_open: bool,
}

/// One recorded ping, for the page and the API.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PingView {
    #[schema(value_type = String)]
    pub at: Timestamp,
    /// success, start, fail, log.
    #[schema(value_type = String)]
    pub kind: PingKind,
    pub exit_status: Option<u8>,
    pub rid: Option<String>,
    /// Milliseconds from the start of the run it ended.
    pub duration_ms: Option<i64>,
    pub method: String,
    pub body: String,
    pub truncated: bool,
}

impl From<PingRecord> for PingView {
    fn from(p: PingRecord) -> Self {
        PingView {
            at: p.at,
            kind: p.kind,
            exit_status: p.exit_status,
            rid: p.rid,
            duration_ms: p
                .duration
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            method: p.method,
            body: p.body,
            truncated: p.truncated,
        }
    }
}

fn view(hb: &KnownHeartbeat, row: Option<&HeartbeatRecord>, now: Timestamp) -> HeartbeatView {
    let state = row.map(|r| r.state.clone()).unwrap_or_default();
    let expects = match (&hb.spec.period, &hb.spec.schedule) {
        (Some(p), _) => format!("every {p}"),
        (None, Some(s)) => format!("{s} ({})", hb.spec.time_zone.as_deref().unwrap_or("UTC")),
        (None, None) => String::new(),
    };
    HeartbeatView {
        name: hb.spec.name.clone(),
        service: hb.spec.service.clone(),
        description: hb.spec.description.clone(),
        uuid: hb.uuid.to_string(),
        expects,
        grace: hb.spec.grace.clone(),
        status: state.status(&hb.rule, now),
        last_ping: state.last_ping,
        last_success: state.last_success,
        next_expected: state.expected(&hb.rule),
        deadline: state.deadline(&hb.rule),
        running: !state.runs.is_empty(),
        alert_open: row.is_some_and(|r| r.alert_open),
    }
}

/// The status now of each declared heartbeat of `service` (or of every
/// service), by name: what chat's `status` reports. Reads the catalog and
/// the stored states once; a heartbeat whose rule does not build is left
/// out (the index logs it).
pub async fn statuses(
    store: &dyn Store,
    service: Option<&Name>,
    now: Timestamp,
) -> Result<Vec<(Name, Name, Status)>, StoreError> {
    let rows: HashMap<Name, HeartbeatRecord> = store
        .heartbeats()
        .await?
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    let mut out = Vec::new();
    for o in store.list_objects(Some(Kind::Heartbeat)).await? {
        let Ok(Object::Heartbeat(spec)) = Object::from_spec(o.kind, o.spec) else {
            continue;
        };
        if service.is_some_and(|s| s != &spec.service) {
            continue;
        }
        let Ok(rule) = spec.rule() else { continue };
        let state = rows
            .get(&spec.name)
            .map(|r| r.state.clone())
            .unwrap_or_default();
        let status = state.status(&rule, now);
        out.push((spec.name, spec.service, status));
    }
    Ok(out)
}

/// Every declared heartbeat with its status now, by name.
pub async fn overview(
    store: &dyn Store,
    index: &HeartbeatIndex,
    now: Timestamp,
) -> Result<Vec<HeartbeatView>, StoreError> {
    let rows: HashMap<Name, HeartbeatRecord> = store
        .heartbeats()
        .await?
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    Ok(index
        .all(now)
        .await?
        .iter()
        .map(|hb| view(hb, rows.get(&hb.spec.name), now))
        .collect())
}

/// One heartbeat with its newest pings (at most `limit`).
pub async fn detail(
    store: &dyn Store,
    index: &HeartbeatIndex,
    name: &Name,
    limit: u32,
    now: Timestamp,
) -> Result<Option<(HeartbeatView, Vec<PingView>)>, StoreError> {
    let Some(hb) = index.by_name(name, now).await? else {
        return Ok(None);
    };
    let row = store.heartbeat(name).await?;
    let pings = store.heartbeat_pings(name, limit).await?;
    Ok(Some((
        view(&hb, row.as_ref(), now),
        pings.into_iter().map(PingView::from).collect(),
    )))
}
