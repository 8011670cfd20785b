//! Use cases and the engine: what tocsin does, independent of how it is
//! reached (HTTP, CLI, chat) and of which database holds the data.
//!
//! Invariants: no SQL and no HTTP types here; time comes from a [`clock::Clock`];
//! the store is reached only through `tocsin_store` traits.

pub mod account;
pub mod audit;
pub mod catalog;
pub mod chat_identity;
pub mod chatops;
pub mod clock;
pub mod demo;
pub mod directory;
pub mod drill;
pub mod engine;
pub mod escalation;
pub mod heartbeat;
pub mod incident;
pub mod ingest;
pub mod manifest;
pub mod noise;
pub mod notify;
pub mod oncall;
pub mod profile;
pub mod reminders;
pub mod response;
pub mod review;
pub mod rooms;
pub mod runbook;
pub mod session;
pub mod token;
