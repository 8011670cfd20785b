//! An override made at run time (a manager in the UI or the API): someone
//! covers a span for another person, or for the whole schedule. Declared
//! overrides live in the schedule's own `overrides`; these live beside it,
//! so a schedule managed in Git can still be covered tonight.

use super::{Checks, Override};
use crate::Name;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleOverride {
    pub name: Name,
    pub schedule: Name,
    /// Who is on call during the override.
    pub user: Name,
    /// Whom they replace; absent means the whole schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Name>,
    /// RFC 3339 instants; the override is [start, end).
    pub start: String,
    pub end: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

impl ScheduleOverride {
    /// As an override of its schedule.
    pub fn as_override(&self) -> Override {
        Override {
            user: self.user.clone(),
            replaces: self.replaces.clone(),
            start: self.start.clone(),
            end: self.end.clone(),
        }
    }

    pub(super) fn check(&self, c: &mut Checks) {
        let start = c.instant("start", &self.start);
        let end = c.instant("end", &self.end);
        if let (Some(s), Some(e)) = (start, end)
            && e <= s
        {
            c.problem("end", "must be after start");
        }
        if self.replaces.as_ref() == Some(&self.user) {
            c.problem("replaces", "a person cannot cover for themselves");
        }
    }
}
