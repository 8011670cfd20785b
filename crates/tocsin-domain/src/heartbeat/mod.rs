//! Heartbeats (dead man's switches) as rules: when the next ping is
//! expected, what a ping does to a heartbeat's state, and which status
//! (new, up, late, down, paused) follows from that state at an instant.
//!
//! The model:
//! - The *state* ([`State`]) is what pings wrote: the last success, the
//!   last failure, the runs started and not finished. It changes only on a
//!   ping ([`State::ping`]).
//! - The *status* ([`State::status`]) is derived from the state, the
//!   declared [`Rule`] and now; time alone moves a heartbeat from up to
//!   late to down. [`State::next_change`] says when the status can next
//!   change without a ping, so the engine looks only at heartbeats whose
//!   time has come.
//! - The *deadline* is the next expected success (last success + period,
//!   or the next cron occurrence after it), or a started run's start +
//!   grace, whichever is first. Past the deadline a heartbeat is late;
//!   past deadline + grace it is down. A `fail` ping makes it down at
//!   once, until the next success. A heartbeat never pinged is new and
//!   never late. A paused one ignores time.
//!
//! Cron schedules are evaluated by croner in the declared time zone;
//! across DST the rule is croner's (see [`Expect::next_after`] and
//! `docs/heartbeats.md`).
//!
//! Invariants: no I/O; time is an argument.

mod ping_url;

pub use ping_url::{PingPath, PingTarget, parse_ping_path};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How many open runs (started, not finished) a state remembers; the
/// oldest is forgotten beyond this (a job that starts and crashes every
/// time must not grow the state without bound).
pub const MAX_OPEN_RUNS: usize = 10;

/// The request body kept as a ping's log when a heartbeat declares no
/// `max_log_bytes`, and the most it may declare.
pub const DEFAULT_MAX_LOG_BYTES: u64 = 10_000;
/// See [`DEFAULT_MAX_LOG_BYTES`].
pub const MAX_LOG_BYTES: u64 = 100_000;

/// When pings are expected.
#[derive(Debug, Clone)]
pub enum Expect {
    /// A success every period.
    Period(SignedDuration),
    /// A success at each occurrence of a cron schedule, in a time zone.
    Cron {
        schedule: Box<croner::Cron>,
        tz: TimeZone,
    },
}

impl PartialEq for Expect {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Expect::Period(a), Expect::Period(b)) => a == b,
            (Expect::Cron { schedule: a, tz: x }, Expect::Cron { schedule: b, tz: y }) => {
                a.pattern.to_string() == b.pattern.to_string() && x == y
            }
            _ => false,
        }
    }
}

impl Expect {
    /// Parses a cron expression (five fields, or six with seconds;
    /// croner's extensions `L`, `W`, `#`, names, `@daily` …).
    pub fn cron(expr: &str, tz: TimeZone) -> Result<Expect, String> {
        croner::Cron::from_str(expr)
            .map(|c| Expect::Cron {
                schedule: Box::new(c),
                tz,
            })
            .map_err(|e| format!("{expr:?} is not a cron expression: {e}"))
    }

    /// The first expected instant strictly after `t`. For a cron schedule
    /// this is croner's next occurrence in the zone: on a spring-forward
    /// day a time that does not exist (02:30 in Europe/Berlin on the last
    /// Sunday of March) is expected at the first instant after the gap
    /// (03:00), as a cron daemon runs it then; on a fall-back day a time
    /// that happens twice is expected once, at its first (summer time)
    /// occurrence. `None` when a schedule has no further occurrence.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        match self {
            Expect::Period(p) => t.checked_add(*p).ok(),
            Expect::Cron { schedule, tz } => {
                let z = t.to_zoned(tz.clone());
                schedule
                    .find_next_occurrence(&z, false)
                    .ok()
                    .map(|n| n.timestamp())
            }
        }
    }
}

/// A heartbeat's declared rule, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub expect: Expect,
    /// How long after the deadline a late heartbeat goes down; also how
    /// long a started run may last before it is late.
    pub grace: SignedDuration,
    /// Paused: pings are recorded, time is ignored, nothing alerts.
    pub paused: bool,
}

/// What a ping says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PingKind {
    /// The job succeeded (`/ping/<uuid>`, exit status 0).
    Success,
    /// The job started (`/start`).
    Start,
    /// The job failed (`/fail`, exit status 1–255).
    Fail,
    /// Only a log line; the state is unchanged (`/log`).
    Log,
}

impl PingKind {
    pub const ALL: [PingKind; 4] = [
        PingKind::Success,
        PingKind::Start,
        PingKind::Fail,
        PingKind::Log,
    ];

    /// As stored and shown: `success`, `start`, `fail`, `log`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PingKind::Success => "success",
            PingKind::Start => "start",
            PingKind::Fail => "fail",
            PingKind::Log => "log",
        }
    }

    pub fn parse(s: &str) -> Option<PingKind> {
        PingKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for PingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A heartbeat's status at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Never pinged: nothing is expected yet.
    New,
    /// Pinged in time.
    Up,
    /// Past its deadline, within the grace time.
    Late,
    /// Past deadline + grace, or its last run failed: alerting.
    Down,
    /// Declared paused.
    Paused,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::New,
        Status::Up,
        Status::Late,
        Status::Down,
        Status::Paused,
    ];

    /// As stored and shown: `new`, `up`, `late`, `down`, `paused`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Up => "up",
            Status::Late => "late",
            Status::Down => "down",
            Status::Paused => "paused",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One ping as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ping {
    pub kind: PingKind,
    pub at: Timestamp,
    /// The run id (`?rid=`), tying a start to its end when runs overlap.
    pub rid: Option<String>,
}

/// A run started and not finished yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub started: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
}

/// What pings have written about a heartbeat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The last ping of any kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ping: Option<Timestamp>,
    /// The last success: the anchor of the next expected ping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<Timestamp>,
    /// Set by a failure, cleared by the next success: down until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<Timestamp>,
    /// Runs started and not finished, oldest first, at most
    /// [`MAX_OPEN_RUNS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<Run>,
}

/// What a ping did, beyond the new state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PingEffect {
    /// A success or failure that ended a started run: how long it ran.
    pub duration: Option<SignedDuration>,
}

impl State {
    /// The state after `ping`. A success or failure ends the run with the
    /// same `rid` (without one: the newest run started without one) and
    /// measures its duration; a start with the `rid` of an open run starts
    /// it again; a log line changes only `last_ping`.
    pub fn ping(&self, ping: &Ping) -> (State, PingEffect) {
        let mut s = self.clone();
        let mut effect = PingEffect::default();
        s.last_ping = Some(s.last_ping.map_or(ping.at, |l| l.max(ping.at)));
        match ping.kind {
            PingKind::Log => {}
            PingKind::Start => {
                s.runs.retain(|r| r.rid != ping.rid);
                s.runs.push(Run {
                    started: ping.at,
                    rid: ping.rid.clone(),
                });
                if s.runs.len() > MAX_OPEN_RUNS {
                    s.runs.remove(0);
                }
            }
            PingKind::Success | PingKind::Fail => {
                if let Some(i) = s.runs.iter().rposition(|r| r.rid == ping.rid) {
                    let run = s.runs.remove(i);
                    let d = ping.at.duration_since(run.started);
                    if !d.is_negative() {
                        effect.duration = Some(d);
                    }
                }
                if ping.kind == PingKind::Success {
                    s.last_success = Some(s.last_success.map_or(ping.at, |l| l.max(ping.at)));
                    s.failed_at = None;
                } else {
                    s.failed_at = Some(ping.at);
                }
            }
        }
        (s, effect)
    }

    /// The next expected success: `None` before the first success.
    pub fn expected(&self, rule: &Rule) -> Option<Timestamp> {
        self.last_success.and_then(|t| rule.expect.next_after(t))
    }

    /// The instant past which the heartbeat is late: the next expected
    /// success, or the newest open run's start + grace if earlier.
    pub fn deadline(&self, rule: &Rule) -> Option<Timestamp> {
        let run = self
            .runs
            .last()
            .and_then(|r| r.started.checked_add(rule.grace).ok());
        match (self.expected(rule), run) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The status at `now`.
    pub fn status(&self, rule: &Rule, now: Timestamp) -> Status {
        if rule.paused {
            return Status::Paused;
        }
        if self.failed_at.is_some() {
            return Status::Down;
        }
        let Some(deadline) = self.deadline(rule) else {
            // No success yet and no run open (only logs), or a schedule
            // with no further occurrence.
            return if self.last_success.is_some() {
                Status::Up
            } else {
                Status::New
            };
        };
        if now < deadline {
            return Status::Up;
        }
        match deadline.checked_add(rule.grace) {
            Ok(down) if now < down => Status::Late,
            _ => Status::Down,
        }
    }

    /// When the status can next change without a ping (the deadline, or
    /// the deadline + grace), if after `now`; `None` when time changes
    /// nothing (new, paused, failed, already down).
    pub fn next_change(&self, rule: &Rule, now: Timestamp) -> Option<Timestamp> {
        if rule.paused || self.failed_at.is_some() {
            return None;
        }
        let deadline = self.deadline(rule)?;
        let down = deadline.checked_add(rule.grace).ok()?;
        [deadline, down].into_iter().find(|t| *t > now)
    }
}

#[cfg(test)]
mod tests;
