//! A heartbeat (dead man's switch): a job that must ping tocsin every
//! period, or at each occurrence of a cron schedule in a time zone, within
//! a grace time. A missed or failed ping is an alert for its service
//! through the normal pipeline. The rules (deadline, late, down, runs)
//! live in [`crate::heartbeat`]; this file holds the declared shape and
//! its checks.
//!
//! Ping URLs: `/ping/<uuid>` with the declared `uuid` (keep the one a
//! job already uses, e.g. from healthchecks.io) or, when none is
//! declared, one tocsin derives from the organisation's ping key and the
//! name (stable while the database is kept); and
//! `/ping/<ping-key>/<name>`, the slug form, with the organisation's ping
//! key.

use super::Checks;
use crate::heartbeat::{DEFAULT_MAX_LOG_BYTES, Expect, MAX_LOG_BYTES, Rule};
use crate::noise::window;
use crate::{Name, Severity};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// Also the slug in `/ping/<ping-key>/<name>`.
    pub name: Name,
    /// The service a missed or failed ping alerts.
    pub service: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The ping URL's UUID (`/ping/<uuid>`); absent = derived by tocsin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// A success is expected every period (`1h`, `15m`, `1d`); or give
    /// `schedule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// A cron expression (five fields, or six with seconds; `L`, `W`,
    /// `#`, names, `@daily` …): a success is expected at each occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// IANA zone the schedule is read in; default UTC. Only with
    /// `schedule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// How long past the expected time before it is down (and how long a
    /// started run may last before it is late): `5m`, `1h`.
    pub grace: String,
    /// The alert's severity; default sev3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// How many bytes of a ping's request body are kept as its log;
    /// default 10000, at most 100000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_log_bytes: Option<u64>,
    /// Pings are recorded but time is ignored and nothing alerts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
}

impl Heartbeat {
    /// The rule the heartbeat declares, or the first problem with it as
    /// (field, reason).
    pub fn rule(&self) -> Result<Rule, (&'static str, String)> {
        let grace = window::parse_duration(&self.grace).map_err(|e| ("grace", e))?;
        let expect = match (&self.period, &self.schedule) {
            (Some(p), None) => {
                if self.time_zone.is_some() {
                    return Err((
                        "time_zone",
                        "a time zone applies only to a cron schedule".into(),
                    ));
                }
                Expect::Period(window::parse_duration(p).map_err(|e| ("period", e))?)
            }
            (None, Some(s)) => {
                let tz = match &self.time_zone {
                    Some(name) => TimeZone::get(name).map_err(|_| {
                        (
                            "time_zone",
                            format!(
                                "{name:?} is not a known IANA time zone (e.g. Europe/Berlin, UTC)"
                            ),
                        )
                    })?,
                    None => TimeZone::UTC,
                };
                Expect::cron(s, tz).map_err(|e| ("schedule", e))?
            }
            (Some(_), Some(_)) => {
                return Err((
                    "schedule",
                    "give either period or schedule, not both".into(),
                ));
            }
            (None, None) => {
                return Err((
                    "period",
                    "a heartbeat needs a period (e.g. 1h) or a cron schedule".into(),
                ));
            }
        };
        Ok(Rule {
            expect,
            grace,
            paused: self.paused,
        })
    }

    /// The declared UUID, parsed (`None` when none is declared or it does
    /// not parse; [`Heartbeat::check`] reports the latter).
    pub fn declared_uuid(&self) -> Option<uuid::Uuid> {
        self.uuid
            .as_deref()
            .and_then(|u| uuid::Uuid::try_parse(u).ok())
    }

    /// The body bytes kept per ping.
    pub fn log_limit(&self) -> u64 {
        self.max_log_bytes
            .unwrap_or(DEFAULT_MAX_LOG_BYTES)
            .min(MAX_LOG_BYTES)
    }

    /// The alert's severity.
    pub fn alert_severity(&self) -> Severity {
        self.severity.unwrap_or(Severity::Sev3)
    }

    pub(super) fn check(&self, c: &mut Checks) {
        // Every field on its own, so that each bad one is named.
        if let Err(e) = window::parse_duration(&self.grace) {
            c.problem("grace", e);
        }
        match (&self.period, &self.schedule) {
            (Some(p), None) => {
                if let Err(e) = window::parse_duration(p) {
                    c.problem("period", e);
                }
                if self.time_zone.is_some() {
                    c.problem("time_zone", "a time zone applies only to a cron schedule");
                }
            }
            (None, Some(s)) => {
                if let Some(tz) = &self.time_zone {
                    c.time_zone("time_zone", tz);
                }
                if let Err(e) = Expect::cron(s, TimeZone::UTC) {
                    c.problem("schedule", e);
                }
            }
            (Some(_), Some(_)) => c.problem("schedule", "give either period or schedule, not both"),
            (None, None) => c.problem(
                "period",
                "a heartbeat needs a period (e.g. 1h) or a cron schedule",
            ),
        }
        if let Some(u) = &self.uuid
            && uuid::Uuid::try_parse(u).is_err()
        {
            c.problem(
                "uuid",
                format!("{u:?} is not a UUID (e.g. 5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278)"),
            );
        }
        if let Some(n) = self.max_log_bytes
            && n > MAX_LOG_BYTES
        {
            c.problem(
                "max_log_bytes",
                format!("{n} is more than the {MAX_LOG_BYTES} bytes a ping's log may keep"),
            );
        }
    }
}

/// Two heartbeats declaring the same UUID: one ping URL cannot mean two.
pub(super) fn duplicate_uuids(objects: &[super::Object]) -> Vec<super::Problem> {
    let mut seen: std::collections::BTreeMap<uuid::Uuid, usize> = Default::default();
    let mut problems = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        let super::Object::Heartbeat(h) = o else {
            continue;
        };
        let Some(u) = h.declared_uuid() else {
            continue;
        };
        match seen.get(&u) {
            Some(&first) => problems.push(super::Problem {
                object: i,
                path: "uuid".into(),
                message: format!("UUID {u} is declared by another heartbeat too"),
                first: Some(first),
            }),
            None => _ = seen.insert(u, i),
        }
    }
    problems
}
