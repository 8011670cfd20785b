//! Ingestion use cases: knowing which integration a key belongs to, limiting
//! each integration's rate, and the group-commit pipeline that stores events durably before anyone is told
//! they were accepted.

mod keys;
mod limit;
mod pipeline;

pub use keys::{IntegrationIndex, KnownIntegration};
pub use limit::{RateLimit, RateLimiter};
pub use pipeline::{IngestError, Ingestor, IngestorConfig};
