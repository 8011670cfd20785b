//! Pure types and rules of tocsin: names, the declared catalog (teams, users,
//! services, schedules, escalation policies, integrations, silences,
//! maintenance windows, message templates), what mutes an alert (`noise`),
//! what a notification says and how templates reword it (`notify`),
//! severities, API token scopes, and the diff that turns a desired catalog
//! into a plan.
//!
//! Invariants: no I/O, no async, no database or HTTP types. Time, when a rule
//! needs it, is an argument.

pub mod access;
pub mod alerting;
pub mod audit;
pub mod catalog;
pub mod chatops;
pub mod escalation;
pub mod heartbeat;
pub mod ingest;
pub mod monitor;
pub mod name;
pub mod noise;
pub mod notify;
pub mod oncall;
pub mod plan;
pub mod response;
pub mod review;
pub mod runbook;
pub mod severity;
pub mod token;

pub use name::{Name, NameError};
pub use severity::Severity;
