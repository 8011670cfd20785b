//! Ingestion: what every wire format (PagerDuty, Opsgenie, Alertmanager,
//! Grafana, tocsin's generic JSON) is parsed into. One normalized [`Event`]
//! per alert change; the rules that turn events into alerts and incidents
//! work on this type only, never on a wire format.

mod event;
mod severity_map;

pub use event::{Event, EventAction, Link, MAX_DEDUP_KEY_LEN, MAX_SUMMARY_LEN};
pub use severity_map::SeverityMap;
