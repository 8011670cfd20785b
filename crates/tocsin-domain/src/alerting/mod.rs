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
//!   A service's `alert_grouping` replaces the sender's group key with the
//!   values of chosen labels, and may limit joining to incidents opened
//!   within a window.
//! - A paging alert that a silence or a maintenance window matches is
//!   recorded but opens no incident (it is *muted*); if it is triggered
//!   again once nothing mutes it, it pages then.
//! - Sev5 (informational) alerts are recorded and never open an incident.
//! - Acknowledging an alert acknowledges its incident; an incident resolves
//!   when its last open alert resolves.

mod policy;
mod rules;
#[cfg(test)]
mod tests;

pub use policy::{Grouping, Policy};
pub use rules::{
    AlertState, AlertStatus, Decision, IncidentState, IncidentStatus, Outcome, Snapshot, decide,
};
