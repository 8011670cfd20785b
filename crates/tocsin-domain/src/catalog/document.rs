//! The shape of one manifest document: lists of objects keyed by kind.
//!
//! ```yaml
//! teams:
//!   - name: payments
//! services:
//!   - name: checkout
//!     team: payments
//! ```

use super::{EscalationPolicy, Integration, Kind, Object, Schedule, Service, Team, User};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub teams: Vec<Team>,
    #[serde(default)]
    pub schedules: Vec<Schedule>,
    #[serde(default)]
    pub escalation_policies: Vec<EscalationPolicy>,
    #[serde(default)]
    pub services: Vec<Service>,
    #[serde(default)]
    pub integrations: Vec<Integration>,
}

impl Document {
    /// The objects with their path inside the document (`services[2]`).
    pub fn into_objects(self) -> Vec<(String, Object)> {
        fn tag<T>(
            kind: Kind,
            v: Vec<T>,
            f: fn(T) -> Object,
        ) -> impl Iterator<Item = (String, Object)> {
            v.into_iter()
                .enumerate()
                .map(move |(i, o)| (format!("{}[{i}]", kind.plural()), f(o)))
        }
        tag(Kind::User, self.users, Object::User)
            .chain(tag(Kind::Team, self.teams, Object::Team))
            .chain(tag(Kind::Schedule, self.schedules, Object::Schedule))
            .chain(tag(
                Kind::EscalationPolicy,
                self.escalation_policies,
                Object::EscalationPolicy,
            ))
            .chain(tag(Kind::Service, self.services, Object::Service))
            .chain(tag(
                Kind::Integration,
                self.integrations,
                Object::Integration,
            ))
            .collect()
    }
}
