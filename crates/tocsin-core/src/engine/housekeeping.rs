//! Housekeeping: done jobs are kept a while for inspection, then deleted;
//! expired sign-in sessions are deleted; silences, maintenance windows and
//! schedule overrides made at run time are deleted a week after they ended;
//! chat receipts (events answered) are forgotten after a week, long after
//! any platform stops redelivering.

use super::Module;
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use std::sync::{Arc, Mutex};
use tocsin_store::Store;

/// Deletes done jobs older than `keep` and expired sessions, at most once
/// per `every`.
#[derive(Debug)]
pub struct Housekeeping {
    store: Arc<dyn Store>,
    keep: SignedDuration,
    every: SignedDuration,
    last: Mutex<Option<Timestamp>>,
}

impl Housekeeping {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            keep: SignedDuration::from_hours(24 * 7),
            every: SignedDuration::from_hours(1),
            last: Mutex::new(None),
        }
    }
}

#[async_trait]
impl Module for Housekeeping {
    fn name(&self) -> &'static str {
        "engine.housekeeping"
    }

    async fn tick(&self, now: Timestamp) -> Result<(), String> {
        let due = {
            let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            last.is_none_or(|l| now.duration_since(l) >= self.every)
        };
        if !due {
            return Ok(());
        }
        let before = now.checked_sub(self.keep).map_err(|e| e.to_string())?;
        let n = self
            .store
            .purge_done_jobs(before)
            .await
            .map_err(|e| e.to_string())?;
        let sessions = self
            .store
            .purge_expired_sessions(now)
            .await
            .map_err(|e| e.to_string())?;
        let ended = crate::noise::purge_ended(self.store.as_ref(), now, self.keep)
            .await
            .map_err(|e| e.to_string())?;
        let receipts = self
            .store
            .purge_receipts(before)
            .await
            .map_err(|e| e.to_string())?;
        if n > 0 || sessions > 0 || ended > 0 || receipts > 0 {
            tracing::info!(
                jobs = n,
                sessions,
                ended,
                receipts,
                "housekeeping: deleted old done jobs, expired sessions, silences, windows and overrides that ended, and old chat receipts"
            );
        }
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
        Ok(())
    }
}
