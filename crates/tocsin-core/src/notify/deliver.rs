//! Delivering the outbox: the `notify.deliver` job handler.
//!
//! One job per notification, on the durable engine (lease, claim across
//! instances). A run: a notification already final does nothing; a page
//! whose incident was acknowledged or resolved meanwhile is cancelled;
//! otherwise the destination's rate limit is asked for a slot (none: the
//! job comes back when one frees, and what piled up by then goes as one
//! bundle); the notification (and, for a page, every other page due for
//! the same destination) moves to *sending*, the message is built and sent,
//! and the outcome is recorded with its timeline entries in one
//! transaction: delivered; failed (another attempt after a backoff with
//! jitter, or the receiver's `Retry-After`); or dead — at once for a
//! permanent failure, after [`DeliveryPolicy::dead_after`] of transient
//! ones — which tells the admins by their own contact methods.
//!
//! Guarantee: at least once, deduplicated by key. A crash between the
//! send and its record leaves the notification *sending*; the job's lease
//! expires and the next attempt sends again with the same key, which the
//! channels that can (webhook `Idempotency-Key`, Matrix transaction id,
//! email `Message-ID`) hand to the receiver to drop the repeat. Nothing
//! else sends twice: one job per key, one claim at a time.

use super::channel::{Channel, Delivery, SEND_TIMEOUT, SendError};
use super::content::{self, Links};
use crate::clock::Clock;
use crate::directory::Directory;
use crate::engine::{JobError, JobHandler};
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use tocsin_domain::Name;
use tocsin_domain::access::Role;
use tocsin_domain::alerting::IncidentStatus;
use tocsin_domain::catalog::ContactKind;
use tocsin_store::notify::{
    AttemptOutcome, JOB_NOTIFY_DELIVER, NotificationRecord, Purpose, RateLimit,
};
use tocsin_store::{IncidentRecord, NewIntent, NewTimelineEntry, Store, StoreError};

/// How delivery behaves; the defaults suit production.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// Per destination: a burst, then one message per interval; what comes
    /// faster waits and goes out bundled.
    pub limit: RateLimit,
    /// Transient failures for this long make a notification dead.
    pub dead_after: SignedDuration,
    /// First retry after this; doubles per attempt up to `max_backoff`.
    pub base_backoff: SignedDuration,
    pub max_backoff: SignedDuration,
    /// At most this many pages in one bundle.
    pub bundle_max: u32,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            limit: RateLimit {
                interval: SignedDuration::from_secs(20),
                burst: 3,
            },
            dead_after: SignedDuration::from_hours(1),
            base_backoff: SignedDuration::from_secs(5),
            max_backoff: SignedDuration::from_mins(5),
            bundle_max: 50,
        }
    }
}

/// The channels this instance can send through, by contact kind.
#[derive(Debug, Default, Clone)]
pub struct Channels {
    by_kind: HashMap<ContactKind, Arc<dyn Channel>>,
}

impl Channels {
    pub fn with(mut self, channel: Arc<dyn Channel>) -> Self {
        self.by_kind.insert(channel.kind(), channel);
        self
    }

    pub fn get(&self, kind: &str) -> Option<&Arc<dyn Channel>> {
        let kind: ContactKind = serde_json::from_value(json!(kind)).ok()?;
        self.by_kind.get(&kind)
    }

    pub fn kinds(&self) -> Vec<ContactKind> {
        self.by_kind.keys().copied().collect()
    }
}

/// How long an attempt holds the notifications it sends: longer than a
/// send may take, so that only a dead attempt's hold runs out.
const SEND_HOLD: SignedDuration = SignedDuration::from_secs(60);

/// How long a read of the catalog serves deliveries: what a message says
/// about a service or a person may be this much behind an edit.
const DIRECTORY_TTL: SignedDuration = SignedDuration::from_secs(2);

/// Where a delivery's time went, for the debug log: each phase's
/// milliseconds since the one before.
struct Phases {
    last: std::time::Instant,
    spent: Vec<(&'static str, f64)>,
}

impl Default for Phases {
    fn default() -> Self {
        Phases {
            last: std::time::Instant::now(),
            spent: Vec::new(),
        }
    }
}

impl Phases {
    fn mark(&mut self, phase: &'static str) {
        let now = std::time::Instant::now();
        self.spent
            .push((phase, now.duration_since(self.last).as_secs_f64() * 1e3));
        self.last = now;
    }
}

impl std::fmt::Display for Phases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (phase, ms)) in self.spent.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{phase}={ms:.2}ms")?;
        }
        Ok(())
    }
}

/// Runs `notify.deliver` jobs.
#[derive(Debug)]
pub struct Deliverer {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    channels: Channels,
    links: Links,
    policy: DeliveryPolicy,
    /// The catalog as last read, and when: reading and parsing every
    /// object for each of a thousand deliveries would dominate them.
    directory: tokio::sync::Mutex<Option<(Timestamp, Arc<Directory>)>>,
}

fn store_error(e: StoreError) -> JobError {
    JobError::Transient(e.to_string())
}

/// `base * 2^(attempts-1)`, capped, plus up to 20 % jitter.
fn backoff(p: &DeliveryPolicy, attempts: i64) -> SignedDuration {
    let exp = attempts.saturating_sub(1).clamp(0, 20) as u32;
    let raw = p.base_backoff.as_millis().saturating_mul(1i128 << exp);
    let capped = i64::try_from(raw.min(p.max_backoff.as_millis())).unwrap_or(i64::MAX);
    let jitter = rand::random_range(0..=capped / 5);
    SignedDuration::from_millis(capped + jitter)
}

fn entry(
    n: &NotificationRecord,
    kind: &str,
    detail: serde_json::Value,
    now: Timestamp,
) -> NewTimelineEntry {
    NewTimelineEntry {
        incident: n.incident,
        at: now,
        kind: kind.to_owned(),
        actor: "notifications".to_owned(),
        detail,
        key: format!("{}:{kind}:{}", n.key, n.attempts + 1),
    }
}

fn describe(n: &NotificationRecord) -> serde_json::Value {
    json!({
        "user": n.user.as_ref().map(Name::as_str),
        "contact": n.contact,
        "channel": n.kind,
        "purpose": n.purpose.as_str(),
    })
}

impl Deliverer {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        channels: Channels,
        links: Links,
        policy: DeliveryPolicy,
    ) -> Self {
        Deliverer {
            store,
            clock,
            channels,
            links,
            policy,
            directory: tokio::sync::Mutex::new(None),
        }
    }

    /// The catalog, read at most every [`DIRECTORY_TTL`].
    async fn directory(&self, now: Timestamp) -> Result<Arc<Directory>, StoreError> {
        let mut cached = self.directory.lock().await;
        if let Some((at, d)) = cached.as_ref()
            && now.duration_since(*at) < DIRECTORY_TTL
            && *at <= now
        {
            return Ok(d.clone());
        }
        let d = Arc::new(Directory::load(self.store.as_ref()).await?);
        *cached = Some((now, d.clone()));
        Ok(d)
    }

    async fn finish(
        &self,
        carried: &[NotificationRecord],
        outcome: AttemptOutcome,
        entries: Vec<NewTimelineEntry>,
        follow_ups: Vec<NewIntent>,
        now: Timestamp,
    ) -> Result<(), JobError> {
        let keys: Vec<String> = carried.iter().map(|n| n.key.clone()).collect();
        self.store
            .finish_attempt(&keys, &outcome, &entries, &follow_ups, now)
            .await
            .map_err(store_error)
    }

    /// Delivers the notification with `key` (the job's work).
    pub async fn deliver(&self, key: &str) -> Result<(), JobError> {
        let store = self.store.as_ref();
        let now = self.clock.now();
        let mut phases = Phases::default();
        let Some(n) = store.notification(key).await.map_err(store_error)? else {
            return Ok(());
        };
        if n.state.is_final() {
            return Ok(());
        }
        if let Some(until) = n.lease_until.filter(|u| *u > now) {
            // Another attempt (a bundle this rode in) holds it: look again
            // when that hold runs out, in case that attempt died.
            return Err(JobError::RetryAt {
                at: until,
                error: "being sent by another attempt".into(),
            });
        }
        if n.due_at > now {
            // Rescheduled by a failed bundle it rode in.
            return Err(JobError::RetryAt {
                at: n.due_at,
                error: "not due yet".into(),
            });
        }
        let Some(incident) = store.get_incident(n.incident).await.map_err(store_error)? else {
            return Ok(());
        };
        if n.purpose == Purpose::Page && incident.status != IncidentStatus::Triggered {
            let reason = format!(
                "incident #{} was {} before this page went out",
                incident.number,
                incident.status.as_str()
            );
            let e = entry(
                &n,
                "notification.cancelled",
                json!({ "reason": reason, "notification": describe(&n) }),
                now,
            );
            return self
                .finish(
                    &[n],
                    AttemptOutcome::Cancelled { reason },
                    vec![e],
                    Vec::new(),
                    now,
                )
                .await;
        }
        let Some(channel) = self.channels.get(&n.kind).cloned() else {
            let error = format!(
                "this tocsin has no {} channel configured (see docs/notifications.md)",
                n.kind
            );
            return self.bury(vec![n], error, now).await;
        };
        phases.mark("checked");
        if let Some(at) = store
            .take_send_slot(&n.kind, &n.address, self.policy.limit, now)
            .await
            .map_err(store_error)?
        {
            return Err(JobError::RetryAt {
                at,
                error: format!("{} destination at its rate limit", n.kind),
            });
        }
        phases.mark("slot");
        // A page takes along every other page due for the same destination.
        let mut carried = vec![(n.clone(), incident)];
        if n.purpose == Purpose::Page {
            let due = store
                .due_for_destination(&n.kind, &n.address, now, self.policy.bundle_max)
                .await
                .map_err(store_error)?;
            for o in due {
                if o.key == n.key || o.purpose != Purpose::Page {
                    continue;
                }
                if let Some(i) = store.get_incident(o.incident).await.map_err(store_error)?
                    && i.status == IncidentStatus::Triggered
                {
                    carried.push((o, i));
                }
            }
        }
        phases.mark("bundle");
        let keys: Vec<String> = carried.iter().map(|(c, _)| c.key.clone()).collect();
        let hold = now + SEND_HOLD;
        let moved = store
            .start_attempt(&keys, now, hold)
            .await
            .map_err(store_error)?;
        if !moved.contains(&n.key) {
            // Another attempt took it meanwhile: come back after its hold.
            return Err(JobError::RetryAt {
                at: hold,
                error: "taken by another attempt".into(),
            });
        }
        carried.retain(|(c, _)| moved.contains(&c.key));
        if n.state == tocsin_store::notify::DeliveryState::Sending {
            tracing::warn!(key = %n.key, "an earlier attempt was interrupted; sending again with the same key");
        }
        phases.mark("hold");
        let directory = self.directory(now).await.map_err(store_error)?;
        let also: Vec<IncidentRecord> = carried.iter().skip(1).map(|(_, i)| i.clone()).collect();
        let (lead, lead_incident) = &carried[0];
        let message = content::message(
            store,
            &directory,
            &self.links,
            lead,
            lead_incident,
            &also,
            now,
        )
        .await
        .map_err(store_error)?;
        phases.mark("content");
        let sent = tokio::time::timeout(
            SEND_TIMEOUT + std::time::Duration::from_secs(1),
            channel.send(Delivery {
                address: &n.address,
                message: &message,
                previous: n.previous.as_deref(),
            }),
        )
        .await
        .unwrap_or_else(|_| Err(SendError::transient("timed out")));
        phases.mark("send");
        let now = self.clock.now();
        let carried: Vec<NotificationRecord> = carried.into_iter().map(|(c, _)| c).collect();
        let attempt = n.attempts + 1;
        match sent {
            Ok(sent) => {
                let bundle = (carried.len() > 1).then(|| n.key.clone());
                let entries = carried
                    .iter()
                    .map(|c| {
                        entry(
                            c,
                            "notification.delivered",
                            json!({
                                "notification": describe(c),
                                "attempt": attempt,
                                "bundled_with": carried.len() - 1,
                            }),
                            now,
                        )
                    })
                    .collect();
                let done = self
                    .finish(
                        &carried,
                        AttemptOutcome::Delivered {
                            reference: sent.reference,
                            bundle,
                        },
                        entries,
                        Vec::new(),
                        now,
                    )
                    .await;
                phases.mark("record");
                tracing::debug!(key = %n.key, carried = carried.len(), phases = %phases, "notification delivered");
                done
            }
            Err(SendError::Transient {
                reason,
                retry_after,
            }) => {
                if now.duration_since(n.created_at) >= self.policy.dead_after {
                    let error = format!(
                        "gave up after {attempt} attempts over {}: {reason}",
                        self.policy.dead_after
                    );
                    return self.bury(carried, error, now).await;
                }
                let wait = backoff(&self.policy, attempt).max(
                    retry_after
                        .and_then(|d| SignedDuration::try_from(d).ok())
                        .unwrap_or_default(),
                );
                let retry_at = now + wait;
                let entries = carried
                    .iter()
                    .map(|c| {
                        entry(
                            c,
                            "notification.failed",
                            json!({
                                "notification": describe(c),
                                "attempt": attempt,
                                "error": reason,
                                "retry_at": retry_at.to_string(),
                            }),
                            now,
                        )
                    })
                    .collect();
                self.finish(
                    &carried,
                    AttemptOutcome::Failed {
                        error: reason.clone(),
                        retry_at,
                    },
                    entries,
                    Vec::new(),
                    now,
                )
                .await?;
                Err(JobError::RetryAt {
                    at: retry_at,
                    error: reason,
                })
            }
            Err(SendError::Permanent { reason }) => self.bury(carried, reason, now).await,
        }
    }

    /// Dead: on the incident's timeline, and told to the admins by their
    /// own contact methods (never for a dead letter itself).
    async fn bury(
        &self,
        carried: Vec<NotificationRecord>,
        error: String,
        now: Timestamp,
    ) -> Result<(), JobError> {
        let entries = carried
            .iter()
            .map(|c| {
                entry(
                    c,
                    "notification.dead",
                    json!({ "notification": describe(c), "error": error }),
                    now,
                )
            })
            .collect();
        let mut follow_ups = Vec::new();
        for c in carried.iter().filter(|c| c.purpose != Purpose::DeadLetter) {
            follow_ups.extend(self.tell_admins(c, now).await.map_err(store_error)?);
        }
        metrics::counter!("tocsin_notifications_dead_total").increment(carried.len() as u64);
        tracing::error!(key = %carried.first().map(|c| c.key.as_str()).unwrap_or(""), %error, "notification dead");
        self.finish(
            &carried,
            AttemptOutcome::Dead { error },
            entries,
            follow_ups,
            now,
        )
        .await
    }

    /// Dead-letter notices for every admin who is a declared user, by each
    /// of their contact methods except the destination that failed.
    async fn tell_admins(
        &self,
        dead: &NotificationRecord,
        now: Timestamp,
    ) -> Result<Vec<NewIntent>, StoreError> {
        let admins: Vec<Name> = self
            .store
            .list_accounts()
            .await?
            .into_iter()
            .filter(|a| a.role == Role::Admin)
            .map(|a| a.user)
            .collect();
        if admins.is_empty() {
            return Ok(Vec::new());
        }
        let directory = self.directory(now).await?;
        let mut out = Vec::new();
        for admin in admins {
            let Some(user) = directory.users.get(&admin) else {
                continue;
            };
            for m in &user.spec.contact_methods {
                let kind = serde_json::to_value(m.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                if kind == dead.kind && m.address == dead.address {
                    continue;
                }
                out.push(NewIntent {
                    incident: dead.incident,
                    user: Some(admin.clone()),
                    contact: m.name.clone(),
                    kind: m.kind,
                    address: m.address.clone(),
                    due_at: now,
                    level: 0,
                    cycle: 0,
                    purpose: Purpose::DeadLetter,
                    previous: None,
                    key: format!("dead:{}:{}:{}", dead.key, admin, m.name),
                    text: None,
                });
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl JobHandler for Deliverer {
    fn kind(&self) -> &'static str {
        JOB_NOTIFY_DELIVER
    }

    async fn run(&self, job: &tocsin_store::ClaimedJob) -> Result<(), JobError> {
        let key = job
            .payload
            .get("notification")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| {
                JobError::Permanent(format!("payload without notification: {}", job.payload))
            })?;
        self.deliver(key).await
    }
}
