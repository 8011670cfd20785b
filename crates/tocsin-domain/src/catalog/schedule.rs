//! A schedule: who is on call when. This is the declared shape; the rotation
//! math that turns it into shifts is [`crate::oncall`] (rules in
//! docs/schedules.md).

use super::Checks;
use crate::Name;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub name: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Name>,
    /// IANA time zone the schedule is shown in; layers default to it.
    pub time_zone: String,
    /// Rotation layers; a later layer wins where it has someone on call.
    pub layers: Vec<Layer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
    /// Rotations that replace the layers for a period (holidays, an event week).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub temporary: Vec<Temporary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Temporary {
    /// RFC 3339 instants; the temporary rotation applies in [start, end).
    pub start: String,
    pub end: String,
    /// Layers with the same shape and rules as the schedule's own.
    pub layers: Vec<Layer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub name: Name,
    /// Users, in rotation order.
    pub participants: Vec<Name>,
    /// Turn length as a calendar span: `1d`, `1w`, `12h`, `2w`.
    pub turn: String,
    /// Wall-clock hand-off time in the layer's zone, `HH:MM`.
    #[serde(default = "default_handoff")]
    pub handoff: String,
    /// The date of the first turn (`YYYY-MM-DD`).
    pub start: String,
    /// Defaults to the schedule's zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// When set, the layer only covers these windows (business hours...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restrictions: Vec<Restriction>,
}

fn default_handoff() -> String {
    "09:00".to_owned()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restriction {
    /// Days of the week (`mon`..`sun`); empty means every day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<String>,
    /// `HH:MM`, in the layer's zone.
    pub from: String,
    /// `HH:MM`; earlier than `from` means the window crosses midnight.
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// Who is on call during the override.
    pub user: Name,
    /// Whom they replace; absent means the whole schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Name>,
    /// RFC 3339 instants.
    pub start: String,
    pub end: String,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Schedule {
    pub(super) fn check(&self, c: &mut Checks) {
        c.time_zone("time_zone", &self.time_zone);
        if self.layers.is_empty() {
            c.problem("layers", "a schedule needs at least one layer");
        }
        for (i, l) in self.layers.iter().enumerate() {
            l.check(c, &format!("layers[{i}]"));
        }
        for (i, o) in self.overrides.iter().enumerate() {
            let start = c.instant(format!("overrides[{i}].start"), &o.start);
            let end = c.instant(format!("overrides[{i}].end"), &o.end);
            if let (Some(s), Some(e)) = (start, end)
                && e <= s
            {
                c.problem(format!("overrides[{i}].end"), "must be after start");
            }
        }
        let mut periods = Vec::new();
        for (i, t) in self.temporary.iter().enumerate() {
            let start = c.instant(format!("temporary[{i}].start"), &t.start);
            let end = c.instant(format!("temporary[{i}].end"), &t.end);
            match (start, end) {
                (Some(s), Some(e)) if e <= s => {
                    c.problem(format!("temporary[{i}].end"), "must be after start")
                }
                (Some(s), Some(e)) => periods.push((i, s, e)),
                _ => {}
            }
            if t.layers.is_empty() {
                c.problem(
                    format!("temporary[{i}].layers"),
                    "a temporary rotation needs at least one layer",
                );
            }
            for (j, l) in t.layers.iter().enumerate() {
                l.check(c, &format!("temporary[{i}].layers[{j}]"));
            }
        }
        for (x, &(i, s, e)) in periods.iter().enumerate() {
            if let Some(&(k, _, _)) = periods[..x].iter().find(|(_, s2, e2)| s < *e2 && *s2 < e) {
                c.problem(
                    format!("temporary[{i}]"),
                    format!("overlaps temporary[{k}]"),
                );
            }
        }
    }
}

impl Layer {
    /// The rules for one layer; `at` is its path (`layers[0]`,
    /// `temporary[1].layers[0]`).
    fn check(&self, c: &mut Checks, at: &str) {
        let l = self;
        let field = |f: &str| format!("{at}.{f}");
        if l.participants.is_empty() {
            c.problem(
                field("participants"),
                "a layer needs at least one participant",
            );
        }
        match l.turn.parse::<jiff::Span>() {
            Ok(span)
                if span.is_positive()
                    && span
                        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
                        .is_ok_and(|d| d < jiff::SignedDuration::from_hours(1)) =>
            {
                c.problem(
                    field("turn"),
                    format!(
                        "{:?} is shorter than an hour (a month is written 1mo, a minute 1m)",
                        l.turn
                    ),
                )
            }
            Ok(span) if span.is_positive() => {}
            Ok(_) => c.problem(field("turn"), "must be longer than zero"),
            Err(_) => c.problem(
                field("turn"),
                format!("{:?} is not a span; write e.g. 1d, 1w, 12h", l.turn),
            ),
        }
        c.clock_time(field("handoff"), &l.handoff);
        if l.start.parse::<jiff::civil::Date>().is_err() {
            c.problem(
                field("start"),
                format!("{:?} is not a date (YYYY-MM-DD)", l.start),
            );
        }
        if let Some(tz) = &l.time_zone {
            c.time_zone(field("time_zone"), tz);
        }
        for (j, r) in l.restrictions.iter().enumerate() {
            let field = |f: &str| format!("{at}.restrictions[{j}].{f}");
            for (k, d) in r.days.iter().enumerate() {
                if !DAYS.contains(&d.as_str()) {
                    c.problem(
                        format!("{at}.restrictions[{j}].days[{k}]"),
                        format!("{d:?} is not a day; use one of {}", DAYS.join(", ")),
                    );
                }
            }
            c.clock_time(field("from"), &r.from);
            c.clock_time(field("to"), &r.to);
            if r.from == r.to {
                c.problem(field("to"), "an empty window: from and to are the same");
            }
        }
    }
}
