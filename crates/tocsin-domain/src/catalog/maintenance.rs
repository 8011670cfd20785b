//! A maintenance window: while it is on, alerts of its services are
//! recorded but page nobody. It happens once or repeats daily, weekly or
//! monthly in civil time of its zone; how occurrences are computed (DST,
//! month ends) is written in [`crate::noise`].

use super::Checks;
use crate::Name;
use crate::noise::window;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindow {
    pub name: Name,
    /// The services whose alerts are recorded but page nobody during the
    /// window.
    pub services: Vec<Name>,
    /// Local start of the first occurrence, `YYYY-MM-DDTHH:MM` (civil time
    /// in `time_zone`), or an RFC 3339 instant.
    pub starts_at: String,
    /// How long each occurrence lasts: a jiff span such as `2h`, `90m`,
    /// `1d`.
    pub duration: String,
    /// IANA zone for civil times and recurrence; default UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// none (default), daily, weekly, monthly.
    #[serde(default, skip_serializing_if = "Repeat::is_none")]
    pub repeat: Repeat,
    /// No occurrence starts after this (RFC 3339 or `YYYY-MM-DD` local
    /// date, inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// How a maintenance window recurs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Repeat {
    /// Once.
    #[default]
    None,
    Daily,
    Weekly,
    Monthly,
}

impl Repeat {
    pub fn is_none(&self) -> bool {
        *self == Repeat::None
    }
}

impl MaintenanceWindow {
    pub(super) fn check(&self, c: &mut Checks) {
        if self.services.is_empty() {
            c.problem(
                "services",
                "a maintenance window needs at least one service",
            );
        }
        for (i, s) in self.services.iter().enumerate() {
            if self.services[..i].contains(s) {
                c.problem(
                    format!("services[{i}]"),
                    format!("{:?} is listed twice", s.as_str()),
                );
            }
        }
        // With an unknown zone (reported), the other fields are still
        // checked, read in UTC.
        let tz = match &self.time_zone {
            Some(name) => {
                c.time_zone("time_zone", name);
                jiff::tz::TimeZone::get(name).unwrap_or(jiff::tz::TimeZone::UTC)
            }
            None => jiff::tz::TimeZone::UTC,
        };
        let start = match window::parse_start(&self.starts_at, &tz) {
            Ok((t, _)) => Some(t),
            Err(e) => {
                c.problem("starts_at", e);
                None
            }
        };
        match window::parse_duration(&self.duration) {
            Ok(d) => {
                if let Err(e) = window::overlap(d, self.repeat) {
                    c.problem("duration", e);
                }
            }
            Err(e) => c.problem("duration", e),
        }
        if let Some(u) = &self.until {
            match window::parse_until(u, &tz) {
                Ok(until) => {
                    if start.is_some_and(|s| until < s) {
                        c.problem("until", window::UNTIL_BEFORE_START);
                    }
                }
                Err(e) => c.problem("until", e),
            }
        }
    }
}
