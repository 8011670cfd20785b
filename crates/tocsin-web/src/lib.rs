//! The HTTP edge: the REST API under `/api/v1`, health and metrics
//! endpoints, and (later) the web UI, ingestion wire formats and chat
//! adapters. Handlers are thin: extract, parse into domain types, call one
//! core function, map the result.
//!
//! Invariants: no SQL here; no rule lives here that the CLI or chat would
//! need too (those belong in `tocsin-core`).

pub mod api;
mod auth;
pub mod chat;
mod health;
mod heartbeat;
pub mod ingest;
mod metrics;
mod problem;
mod server;
pub mod ui;

pub use problem::Problem;
pub use server::{AppState, Server, ServerConfig, openapi};
