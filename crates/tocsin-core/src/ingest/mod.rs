//! Ingestion use cases: knowing which integration a key belongs to, and the
//! group-commit pipeline that stores events durably before anyone is told
//! they were accepted.

mod keys;
mod pipeline;

pub use keys::{IntegrationIndex, KnownIntegration};
pub use pipeline::{IngestError, Ingestor, IngestorConfig};
