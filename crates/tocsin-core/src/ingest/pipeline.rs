//! The group-commit pipeline. Handlers submit an event and wait; one writer
//! task takes whatever is queued (up to `max_batch`), stores it in one
//! transaction, then answers every waiter. Under load, batches grow and the
//! cost of a commit (an fsync) is shared; when idle, a single event is
//! written at once. Nobody is answered before their event is durable.

use crate::clock::Clock;
use crate::ingest::IntegrationIndex;
use std::sync::Arc;
use std::time::Instant;
use tocsin_store::{IngestItem, IngestResult, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone)]
pub struct IngestorConfig {
    /// Most events in one transaction.
    pub max_batch: usize,
    /// Events waiting beyond this are refused with 503 (back-pressure
    /// rather than unbounded memory).
    pub queue: usize,
    /// Woken after a batch that touched an incident (it may have enqueued
    /// a page or a resolution): the engine's [`crate::engine::Engine::waker`],
    /// so a page starts at once instead of at the engine's next idle tick.
    pub wake: Option<Arc<tokio::sync::Notify>>,
}

impl Default for IngestorConfig {
    fn default() -> Self {
        IngestorConfig {
            max_batch: 2048,
            queue: 65_536,
            wake: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The queue is full or the writer stopped: try again (503).
    #[error("ingestion is overloaded or shutting down; retry shortly")]
    Unavailable,
    /// The integration sends faster than its rate limit: retry after the
    /// duration (429 with Retry-After).
    #[error("this integration sends faster than its limit; retry in {} s", .retry_after.as_secs().max(1))]
    RateLimited { retry_after: jiff::SignedDuration },
    /// The batch could not be stored (database down): nothing was accepted.
    #[error("the event could not be stored: {0}")]
    Store(String),
}

type Reply = oneshot::Sender<Result<IngestResult, IngestError>>;

#[derive(Debug, Clone)]
pub struct Ingestor {
    tx: mpsc::Sender<(IngestItem, Reply)>,
}

impl Ingestor {
    /// Starts the writer task; it stops when every `Ingestor` clone is
    /// dropped, after writing what was queued (graceful drain).
    pub fn start(
        store: Arc<dyn Store>,
        index: Arc<IntegrationIndex>,
        clock: Arc<dyn Clock>,
        config: IngestorConfig,
    ) -> (Ingestor, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(config.queue);
        let task = tokio::spawn(writer(store, index, clock, config, rx));
        (Ingestor { tx }, task)
    }

    /// Stores several events (one request's), in the same batch when the
    /// writer is idle; returns once all are durable, in order.
    pub async fn submit_all(
        &self,
        items: Vec<IngestItem>,
    ) -> Result<Vec<IngestResult>, IngestError> {
        let mut answers = Vec::with_capacity(items.len());
        for item in items {
            let (reply, answer) = oneshot::channel();
            self.tx
                .try_send((item, reply))
                .map_err(|_| IngestError::Unavailable)?;
            answers.push(answer);
        }
        let mut results = Vec::with_capacity(answers.len());
        for a in answers {
            results.push(a.await.map_err(|_| IngestError::Unavailable)??);
        }
        Ok(results)
    }

    /// Stores one event; returns once it is durable.
    pub async fn submit(&self, item: IngestItem) -> Result<IngestResult, IngestError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send((item, reply))
            .map_err(|_| IngestError::Unavailable)?;
        answer.await.map_err(|_| IngestError::Unavailable)?
    }
}

async fn writer(
    store: Arc<dyn Store>,
    index: Arc<IntegrationIndex>,
    clock: Arc<dyn Clock>,
    config: IngestorConfig,
    mut rx: mpsc::Receiver<(IngestItem, Reply)>,
) {
    let mut batch = Vec::with_capacity(config.max_batch);
    while rx.recv_many(&mut batch, config.max_batch).await > 0 {
        let (items, replies): (Vec<IngestItem>, Vec<Reply>) = batch.drain(..).unzip();
        let started = Instant::now();
        let now = clock.now();
        let result = match index.policy(now).await {
            Ok(policy) => store.ingest(&items, &policy, now).await,
            Err(e) => Err(e),
        };
        metrics::histogram!("tocsin_ingest_batch_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("tocsin_ingest_batch_events").record(items.len() as f64);
        match result {
            Ok(results) => {
                metrics::counter!("tocsin_ingest_events_total").increment(results.len() as u64);
                if let Some(wake) = &config.wake
                    && results.iter().any(|r| r.incident.is_some())
                {
                    wake.notify_one();
                }
                for (reply, r) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(r));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, events = items.len(), "ingest batch failed; nothing in it was accepted");
                let msg = store_message(&e);
                for reply in replies {
                    let _ = reply.send(Err(IngestError::Store(msg.clone())));
                }
            }
        }
    }
    tracing::info!("ingest writer drained and stopped");
}

fn store_message(e: &StoreError) -> String {
    match e {
        StoreError::Unavailable(_) => "the database is unavailable".into(),
        _ => "the database refused the batch".into(),
    }
}
