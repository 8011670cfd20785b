//! Resolutions go where the pages went: the `incident.resolved` job
//! handler. Every destination a page of the incident was delivered to (or
//! was being sent to) gets one resolution, in the same channel, following
//! the page (Slack edits it, email and Matrix thread under it). Pages not
//! sent yet are cancelled by their own delivery jobs.

use crate::clock::Clock;
use crate::engine::{JobError, JobHandler};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;
use tocsin_domain::catalog::ContactKind;
use tocsin_store::ingest::JOB_INCIDENT_RESOLVED;
use tocsin_store::notify::{DeliveryState, Purpose};
use tocsin_store::{NewIntent, Store, StoreError};

/// Runs `incident.resolved` jobs.
#[derive(Debug)]
pub struct Resolutions {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl Resolutions {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Resolutions { store, clock }
    }
}

/// Enqueues the resolution of `incident` (run `run`) to every destination
/// its pages reached.
pub async fn enqueue_resolutions(
    store: &dyn Store,
    incident: i64,
    run: i64,
    now: jiff::Timestamp,
) -> Result<usize, StoreError> {
    let pages = store
        .incident_notifications(incident, Some(Purpose::Page))
        .await?;
    // The newest reached page per destination.
    let mut by_destination = BTreeMap::new();
    for p in pages {
        if matches!(p.state, DeliveryState::Delivered | DeliveryState::Sending) {
            by_destination.insert((p.kind.clone(), p.address.clone()), p);
        }
    }
    let mut out = Vec::new();
    for ((kind, address), p) in by_destination {
        let Ok(contact) = tocsin_domain::Name::parse(&p.contact) else {
            continue;
        };
        let user = p.user.clone();
        let Ok(contact_kind) = serde_json::from_value::<ContactKind>(serde_json::json!(kind))
        else {
            continue;
        };
        out.push(NewIntent {
            incident,
            user,
            contact,
            kind: contact_kind,
            address: address.clone(),
            due_at: now,
            level: 0,
            cycle: 0,
            purpose: Purpose::Resolved,
            // A bundle's message is not this incident's alone: post anew.
            previous: p.reference.clone().filter(|_| p.bundle.is_none()),
            key: format!("resolved:{incident}:r{run}:{kind}:{address}"),
            text: None,
        });
    }
    store.enqueue_notifications(&out, &[], now).await?;
    Ok(out.len())
}

#[async_trait]
impl JobHandler for Resolutions {
    fn kind(&self) -> &'static str {
        JOB_INCIDENT_RESOLVED
    }

    async fn run(&self, job: &tocsin_store::ClaimedJob) -> Result<(), JobError> {
        let incident = job
            .payload
            .get("incident")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| {
                JobError::Permanent(format!("payload without incident: {}", job.payload))
            })?;
        let run = job
            .payload
            .get("run")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        enqueue_resolutions(self.store.as_ref(), incident, run, self.clock.now())
            .await
            .map(|_| ())
            .map_err(|e| JobError::Transient(e.to_string()))
    }
}
