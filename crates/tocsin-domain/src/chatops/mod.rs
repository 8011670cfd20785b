//! ChatOps: the one command language that every front end speaks — Slack,
//! Mattermost and Matrix bots, `tocsin chat "ack 8"`, the command box on
//! the incident page. This module is the language alone: [`parse`] turns a
//! line into a typed [`Command`] or a [`UsageError`] that names what was
//! wrong, [`help`] explains the commands, and `Display` on [`Command`]
//! writes the canonical line back. Running a command (who may, what it
//! changes) is the executor's business, not this module's.
//!
//! # Syntax
//!
//! `[tocsin] <command> <arguments…>`; the words are listed in
//! [`COMMANDS`] and in `docs/chatops.md`. Command names and keywords
//! (`new`, `start`, `for`, `on`, states, roles) ignore case; names of
//! services, teams, people, schedules and actions are [`Name`]s.
//!
//! - **Incidents**: `8` or `#8` (`#` is only ever an incident).
//! - **People**: `@alice` (in `role` the `@` may be left out).
//! - **Page targets**: `@alice` (a person; `user:alice` also works),
//!   `team:payments`, `schedule:payments-primary`. A bare word is refused
//!   rather than guessed, because a person, a team and a schedule may share
//!   a name.
//! - **Severities**: `1`–`5`, `sev2`, `Sev2`; in `incident new`, where a
//!   bare number could be a service, only `sevN`.
//! - **Durations**: one word of number-unit groups, units `m`/`min`, `h`,
//!   `d`, `w`: `90m`, `2h`, `1h30m`, `1d`; more than zero, at most
//!   [`MAX_MAINTENANCE`].
//! - **Text** (notes, messages, reasons, update text) is the rest of the
//!   line, kept as typed. Quoting all of it (`"…"` or `“…”`) keeps words
//!   that would otherwise be read as arguments (`page @bob "8 hosts
//!   down"`); a title of several words must be quoted. Inside quotes `\"`
//!   and `\\` escape; an unclosed quote is an error naming its position.
//!
//! `Display` writes the canonical form (`#8`, `@alice`, `sev #8 2`,
//! durations as `1d2h30m`, text quoted only when it must be), and parsing
//! it gives the same `Command` back.

mod display;
mod lex;
mod parse;
mod spec;
#[cfg(test)]
mod tests;

use crate::response::{Role, UpdateState};
use crate::{Name, Severity};
use jiff::SignedDuration;
use std::collections::BTreeMap;
use std::fmt;

pub use parse::parse;
pub use spec::{COMMANDS, CommandSpec, help};

/// The longest maintenance window a chat command may start. Longer,
/// planned windows belong in the catalog (manifests), where they are
/// reviewed.
pub const MAX_MAINTENANCE: SignedDuration = SignedDuration::from_hours(7 * 24);

/// A parsed command, with its arguments checked and typed. Incident numbers
/// are at least 1; texts are trimmed, non-empty and within
/// [`crate::response::TEXT_MAX`] (titles: one line within
/// [`crate::response::TITLE_MAX`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `ack <incident>`
    Ack { incident: i64 },
    /// `resolve <incident> [note…]`
    Resolve { incident: i64, note: Option<String> },
    /// `note <incident> <text…>`
    Note { incident: i64, text: String },
    /// `log <text…> [--service <service>]`: a change event.
    Log { text: String, service: Option<Name> },
    /// `incident new "<title>" [sevN] [service]`
    IncidentNew {
        title: String,
        severity: Option<Severity>,
        service: Option<Name>,
    },
    /// `sev <incident> <1-5>`
    Sev { incident: i64, severity: Severity },
    /// `role <incident> ic|comms|scribe @person`. Never
    /// [`Role::Responder`]: responders join by `page`.
    Role {
        incident: i64,
        role: Role,
        person: Name,
    },
    /// `page <target> [incident] [message…]`
    Page {
        target: PageTarget,
        incident: Option<i64>,
        message: Option<String>,
    },
    /// `escalate <incident>`
    Escalate { incident: i64 },
    /// `update <incident> [state] <text…>`: a stakeholder update.
    Update {
        incident: i64,
        state: Option<UpdateState>,
        text: String,
    },
    /// `status [service]`
    Status { service: Option<Name> },
    /// `check <service>`
    Check { service: Name },
    /// `oncall [team]`
    Oncall { team: Option<Name> },
    /// `maintenance start <service> [for <duration>] [reason…]`; no
    /// duration leaves the default to the executor.
    MaintenanceStart {
        service: Name,
        duration: Option<SignedDuration>,
        reason: Option<String>,
    },
    /// `maintenance stop <service>`
    MaintenanceStop { service: Name },
    /// `run <action> [on <target>] [#incident] [key=value …]`; the
    /// incident (written `#8` only, so that a numeric target stays a
    /// target) is where the run is recorded.
    Run {
        action: Name,
        target: Option<Name>,
        incident: Option<i64>,
        params: BTreeMap<Name, String>,
    },
    /// `help [command]`; the topic is a command's canonical name.
    Help { topic: Option<String> },
}

impl Command {
    /// The name of its entry in [`COMMANDS`] (`incident` for
    /// [`Command::IncidentNew`], `maintenance` for both maintenance ones).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Ack { .. } => "ack",
            Command::Resolve { .. } => "resolve",
            Command::Note { .. } => "note",
            Command::Log { .. } => "log",
            Command::IncidentNew { .. } => "incident",
            Command::Sev { .. } => "sev",
            Command::Role { .. } => "role",
            Command::Page { .. } => "page",
            Command::Escalate { .. } => "escalate",
            Command::Update { .. } => "update",
            Command::Status { .. } => "status",
            Command::Check { .. } => "check",
            Command::Oncall { .. } => "oncall",
            Command::MaintenanceStart { .. } | Command::MaintenanceStop { .. } => "maintenance",
            Command::Run { .. } => "run",
            Command::Help { .. } => "help",
        }
    }
}

/// Whom `page` pages.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PageTarget {
    /// `@alice` (or `user:alice`)
    User(Name),
    /// `team:payments`: the team's escalation path.
    Team(Name),
    /// `schedule:payments-primary`: whoever is on call in it now.
    Schedule(Name),
}

impl PageTarget {
    /// The name it holds, whatever its kind.
    pub fn name(&self) -> &Name {
        match self {
            PageTarget::User(n) | PageTarget::Team(n) | PageTarget::Schedule(n) => n,
        }
    }
}

impl fmt::Display for PageTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageTarget::User(n) => write!(f, "@{n}"),
            PageTarget::Team(n) => write!(f, "team:{n}"),
            PageTarget::Schedule(n) => write!(f, "schedule:{n}"),
        }
    }
}

/// What was wrong with a command line, for the person who typed it.
///
/// Displayed as two lines: the problem (prefixed with the command when it
/// is known) and the usage line, e.g.
///
/// ```text
/// sev: "7" is not a severity; use 1–5 (Sev1 complete outage, …)
/// usage: sev <incident> <1-5>
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    /// The command it was about, when that much was understood.
    pub command: Option<&'static str>,
    /// One line saying what was wrong.
    pub problem: String,
    /// The usage of the command (or of the one suggested, or of `help`).
    pub usage: &'static str,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = self.command {
            write!(f, "{c}: ")?;
        }
        write!(f, "{}\nusage: {}", self.problem, self.usage)
    }
}

impl std::error::Error for UsageError {}
