//! A [`Command`] written back in the canonical syntax, such that parsing
//! the line gives the same command.

use super::Command;
use super::lex::{self, Token};
use super::parse::{is_help_flag, is_service_flag, looks_like_duration, looks_like_incident};
use crate::response::{Role, UpdateState};
use jiff::SignedDuration;
use std::fmt;

/// The first word, if it is not quoted.
fn first_bare(toks: &[Token]) -> Option<&str> {
    toks.first().filter(|t| !t.quoted).map(|t| t.value.as_str())
}

/// `1d2h30m`: days, hours and minutes, the zero ones left out.
fn duration(d: SignedDuration) -> String {
    let mins = d.as_mins();
    let (days, hours, mins) = (mins / (24 * 60), mins / 60 % 24, mins % 60);
    let mut out = String::new();
    for (n, unit) in [(days, "d"), (hours, "h"), (mins, "m")] {
        if n != 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if out.is_empty() {
        out.push_str("0m");
    }
    out
}

fn role(r: Role) -> &'static str {
    match r {
        Role::Commander => "ic",
        Role::Communications => "comms",
        Role::Scribe => "scribe",
        Role::Responder => "responder",
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = |s: &str| lex::text(s, |_| false);
        match self {
            Command::Ack { incident } => write!(f, "ack #{incident}"),
            Command::Resolve { incident, note } => {
                write!(f, "resolve #{incident}")?;
                if let Some(n) = note {
                    write!(f, " {}", plain(n))?;
                }
                Ok(())
            }
            Command::Note { incident, text } => write!(f, "note #{incident} {}", plain(text)),
            Command::Log { text, service } => {
                let text = lex::text(text, |toks| {
                    toks.iter().any(is_service_flag) || matches!(toks, [only] if is_help_flag(only))
                });
                write!(f, "log {text}")?;
                if let Some(s) = service {
                    write!(f, " --service {s}")?;
                }
                Ok(())
            }
            Command::IncidentNew {
                title,
                severity,
                service,
            } => {
                write!(f, "incident new {}", lex::quote(title))?;
                if let Some(s) = severity {
                    write!(f, " {s}")?;
                }
                if let Some(s) = service {
                    write!(f, " {s}")?;
                }
                Ok(())
            }
            Command::Sev { incident, severity } => {
                write!(f, "sev #{incident} {}", *severity as u8 + 1)
            }
            Command::Role {
                incident,
                role: r,
                person,
            } => write!(f, "role #{incident} {} @{person}", role(*r)),
            Command::Page {
                target,
                incident,
                message,
            } => {
                write!(f, "page {target}")?;
                if let Some(i) = incident {
                    write!(f, " #{i}")?;
                }
                if let Some(m) = message {
                    let m = lex::text(m, |toks| first_bare(toks).is_some_and(looks_like_incident));
                    write!(f, " {m}")?;
                }
                Ok(())
            }
            Command::Escalate { incident } => write!(f, "escalate #{incident}"),
            Command::Update {
                incident,
                state,
                text,
            } => {
                write!(f, "update #{incident}")?;
                if let Some(s) = state {
                    write!(f, " {}", s.as_str())?;
                }
                let text = lex::text(text, |toks| {
                    first_bare(toks).and_then(UpdateState::parse).is_some()
                });
                write!(f, " {text}")
            }
            Command::Status { service } => match service {
                Some(s) => write!(f, "status {s}"),
                None => f.write_str("status"),
            },
            Command::Check { service } => write!(f, "check {service}"),
            Command::Oncall { team } => match team {
                Some(t) => write!(f, "oncall {t}"),
                None => f.write_str("oncall"),
            },
            Command::MaintenanceStart {
                service,
                duration: d,
                reason,
            } => {
                write!(f, "maintenance start {service}")?;
                if let Some(d) = d {
                    write!(f, " for {}", duration(*d))?;
                }
                if let Some(r) = reason {
                    let r = lex::text(r, |toks| {
                        first_bare(toks).is_some_and(|w| {
                            w.eq_ignore_ascii_case("for") || looks_like_duration(w)
                        })
                    });
                    write!(f, " {r}")?;
                }
                Ok(())
            }
            Command::MaintenanceStop { service } => write!(f, "maintenance stop {service}"),
            Command::Run {
                action,
                target,
                incident,
                params,
            } => {
                write!(f, "run {action}")?;
                if let Some(t) = target {
                    write!(f, " on {t}")?;
                }
                if let Some(i) = incident {
                    write!(f, " #{i}")?;
                }
                for (k, v) in params {
                    write!(f, " {k}={}", lex::quote_value(v))?;
                }
                Ok(())
            }
            Command::Help { topic } => match topic {
                Some(t) => write!(f, "help {t}"),
                None => f.write_str("help"),
            },
        }
    }
}
