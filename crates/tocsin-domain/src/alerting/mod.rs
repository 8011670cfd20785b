//! From events to alerts to incidents: the rules, on an in-memory snapshot
//! of what is open. The store loads the snapshot and persists the result in
//! one transaction; these rules never see a database.
//!
//! - An event updates the alert for its `(service, dedup key)`: a trigger
//!   for an open alert is counted, not duplicated; a trigger after a
//!   resolve opens a new alert.
//! - An alert that opens joins an open incident: first the open incident of
//!   a service it depends on (dependency suppression: a storm from one broken
//!   dependency pages once), else the open incident of its own service with
//!   the same group key; else it opens a new incident, which pages.
//! - Sev5 (informational) alerts are recorded and never open an incident.
//! - Acknowledging an alert acknowledges its incident; an incident resolves
//!   when its last open alert resolves.

mod rules;
#[cfg(test)]
mod tests;

pub use rules::{
    AlertState, AlertStatus, Decision, IncidentState, IncidentStatus, Outcome, Snapshot, decide,
};
