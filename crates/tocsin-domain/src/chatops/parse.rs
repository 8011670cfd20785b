//! From a line to a [`Command`]: the entry point, the argument reader the
//! commands share, and one function per command (named in the table).

use super::lex::{self, Token};
use super::spec::{self, CommandSpec, HELP_USAGE, shown};
use super::{Command, MAX_MAINTENANCE, PageTarget, UsageError};
use crate::response::{Role, UpdateState, check_text, check_title};
use crate::{Name, Severity};
use jiff::SignedDuration;
use std::collections::BTreeMap;

/// Words a front end may leave in front of the command.
const PREFIXES: [&str; 3] = ["tocsin", "/tocsin", "@tocsin"];

/// Parses one command line. An empty line (or a bare `tocsin`) asks for
/// help.
pub fn parse(input: &str) -> Result<Command, UsageError> {
    let toks = match lex::tokenize(input) {
        Ok(t) => t,
        Err(e) => {
            let spec = input
                .split_whitespace()
                .find(|w| !is_prefix(w))
                .and_then(spec::find);
            return Err(UsageError {
                command: spec.map(|s| s.name),
                problem: format!(
                    "the quote {} at character {} is never closed",
                    e.quote,
                    e.column(input)
                ),
                usage: spec.map_or(HELP_USAGE, |s| s.usage),
            });
        }
    };
    let mut toks = toks.as_slice();
    if let Some(first) = toks.first()
        && !first.quoted
        && is_prefix(&first.value)
    {
        toks = &toks[1..];
    }
    let Some((first, rest)) = toks.split_first() else {
        return Ok(Command::Help { topic: None });
    };
    let Some(spec) = spec::find(&first.value) else {
        return Err(spec::unknown_command(&first.value));
    };
    if let [only] = rest
        && is_help_flag(only)
    {
        return Ok(Command::Help {
            topic: Some(spec.name.to_owned()),
        });
    }
    let mut args = Args {
        spec,
        input,
        toks: rest,
        pos: 0,
    };
    (spec.parse)(&mut args)
}

fn is_prefix(word: &str) -> bool {
    PREFIXES.iter().any(|p| p.eq_ignore_ascii_case(word))
}

pub(super) fn is_help_flag(t: &Token) -> bool {
    !t.quoted && t.value.eq_ignore_ascii_case("--help")
}

/// The arguments after the command word, read left to right.
#[derive(Debug)]
pub(crate) struct Args<'a> {
    spec: &'static CommandSpec,
    input: &'a str,
    toks: &'a [Token],
    pos: usize,
}

impl<'a> Args<'a> {
    fn err(&self, problem: impl Into<String>) -> UsageError {
        UsageError {
            command: Some(self.spec.name),
            problem: problem.into(),
            usage: self.spec.usage,
        }
    }

    fn peek(&self) -> Option<&'a Token> {
        self.toks.get(self.pos)
    }

    /// The next word that is not quoted, if any.
    fn peek_bare(&self) -> Option<&'a str> {
        self.peek().filter(|t| !t.quoted).map(|t| t.value.as_str())
    }

    /// The next word; `what` names it when it is missing.
    fn next(&mut self, what: &str) -> Result<&'a Token, UsageError> {
        let t = self
            .toks
            .get(self.pos)
            .ok_or_else(|| self.err(format!("missing {what}")))?;
        self.pos += 1;
        Ok(t)
    }

    fn done(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn end(&self) -> Result<(), UsageError> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(self.err(format!(
                "{} is one word too many; nothing more is expected here",
                shown(&t.value)
            ))),
        }
    }

    fn incident(&mut self) -> Result<i64, UsageError> {
        let t = self.next("the incident (write its number: 8 or #8)")?;
        incident_number(&t.value).map_err(|p| self.err(p))
    }

    fn name(&mut self, kind: &str) -> Result<Name, UsageError> {
        let t = self.next(&format!("the {kind}"))?;
        name(kind, &t.value).map_err(|p| self.err(p))
    }

    /// The words `from..to` as text: a single quoted word is its value,
    /// anything else the input exactly as typed.
    fn region(&self, from: usize, to: usize) -> String {
        let toks = self.toks.get(from..to).unwrap_or_default();
        match (toks, toks.first(), toks.last()) {
            ([only], _, _) if only.quoted => only.value.clone(),
            (_, Some(first), Some(last)) => self
                .input
                .get(first.start..last.end)
                .unwrap_or_default()
                .to_owned(),
            _ => String::new(),
        }
    }

    fn checked_text(&self, field: &'static str, s: &str) -> Result<String, UsageError> {
        check_text(field, s).map_err(|e| self.err(format!("the {} {}", e.field, e.reason)))
    }

    /// The rest of the line as required text.
    fn text(&mut self, field: &'static str) -> Result<String, UsageError> {
        if self.done() {
            return Err(self.err(format!("missing the {field} text")));
        }
        let s = self.region(self.pos, self.toks.len());
        self.pos = self.toks.len();
        self.checked_text(field, &s)
    }

    /// The rest of the line as optional text.
    fn opt_text(&mut self, field: &'static str) -> Result<Option<String>, UsageError> {
        if self.done() {
            return Ok(None);
        }
        self.text(field).map(Some)
    }
}

/// `8` or `#8`, at least 1.
fn incident_number(v: &str) -> Result<i64, String> {
    if !looks_like_incident(v) {
        return Err(format!(
            "{} is not an incident; write its number: 8 or #8",
            shown(v)
        ));
    }
    let digits = v.strip_prefix('#').unwrap_or(v);
    match digits.parse::<i64>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) => Err(format!(
            "{} is not an incident; numbers start at 1",
            shown(v)
        )),
        Err(_) => Err(format!("{} is too large for an incident number", shown(v))),
    }
}

/// What is read as an incident where one is optional: `#` and digits.
pub(super) fn looks_like_incident(v: &str) -> bool {
    let digits = v.strip_prefix('#').unwrap_or(v);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn name(kind: &str, v: &str) -> Result<Name, String> {
    Name::parse(v).map_err(|e| format!("{} is not a {kind} name: it {e}", shown(v)))
}

/// A person: `@alice` or `alice`.
fn person(v: &str) -> Result<Name, String> {
    name("person's", v.strip_prefix('@').unwrap_or(v))
}

/// `sevN`/`SevN` or, where `bare` allows, `N`.
fn severity(v: &str, bare: bool) -> Result<Severity, String> {
    let digits = v
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case("sev"))
        .map_or(if bare { Some(v) } else { None }, |_| v.get(3..));
    let n = digits
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse::<usize>().ok());
    match n
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| Severity::ALL.get(i))
    {
        Some(s) => Ok(*s),
        None => {
            let scale: Vec<String> = Severity::ALL
                .iter()
                .map(|s| format!("{} {}", s.label(), s.definition()))
                .collect();
            let range = if bare { "1–5" } else { "sev1–sev5" };
            Err(format!(
                "{} is not a severity; use {range} ({})",
                shown(v),
                scale.join(", ")
            ))
        }
    }
}

/// A word that is meant as a severity in `incident new`: `sev` and digits,
/// or digits alone.
pub(super) fn severity_like(v: &str) -> bool {
    let digits = v
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case("sev"))
        .map_or(Some(v), |_| v.get(3..));
    digits.is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a word is written as a duration (number-unit groups), whatever
/// its value.
pub(super) fn looks_like_duration(v: &str) -> bool {
    duration_minutes(v).is_some()
}

/// Minutes of a duration word; `Some(None)` when it is written as one but
/// overflows.
fn duration_minutes(v: &str) -> Option<Option<u64>> {
    let lower = v.to_ascii_lowercase();
    let mut rest = lower.as_str();
    let mut total: Option<u64> = Some(0);
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n_len == 0 {
            return None;
        }
        let (num, after) = rest.split_at(n_len);
        let u_len = after.bytes().take_while(u8::is_ascii_lowercase).count();
        let (unit, after) = after.split_at(u_len);
        let per: u64 = match unit {
            "m" | "min" | "mins" => 1,
            "h" => 60,
            "d" => 24 * 60,
            "w" => 7 * 24 * 60,
            _ => return None,
        };
        let add = num.parse::<u64>().ok().and_then(|n| n.checked_mul(per));
        total = total.zip(add).and_then(|(t, a)| t.checked_add(a));
        rest = after;
    }
    Some(total)
}

fn duration(v: &str) -> Result<SignedDuration, String> {
    let max = MAX_MAINTENANCE.as_mins();
    let minutes = match duration_minutes(v) {
        None => {
            return Err(format!(
                "{} is not a duration; write e.g. 90m, 2h, 1h30m or 1d",
                shown(v)
            ));
        }
        Some(m) => m.and_then(|m| i64::try_from(m).ok()),
    };
    match minutes {
        Some(0) => Err(format!("{} is no time at all", shown(v))),
        Some(m) if m <= max => Ok(SignedDuration::from_mins(m)),
        _ => Err(format!(
            "{} is too long; chat starts at most {} days of maintenance (plan longer windows in the catalog)",
            shown(v),
            max / (24 * 60)
        )),
    }
}

/// Whether a word of `log` text is the `--service` flag.
pub(super) fn is_service_flag(t: &Token) -> bool {
    !t.quoted && {
        let v = t.value.to_ascii_lowercase();
        v == "--service" || v.starts_with("--service=")
    }
}

// The commands, in table order.

pub(super) fn ack(a: &mut Args<'_>) -> Result<Command, UsageError> {
    let incident = a.incident()?;
    a.end()?;
    Ok(Command::Ack { incident })
}

pub(super) fn resolve(a: &mut Args<'_>) -> Result<Command, UsageError> {
    let incident = a.incident()?;
    let note = a.opt_text("note")?;
    Ok(Command::Resolve { incident, note })
}

pub(super) fn note(a: &mut Args<'_>) -> Result<Command, UsageError> {
    let incident = a.incident()?;
    let text = a.text("note")?;
    Ok(Command::Note { incident, text })
}

pub(super) fn log(a: &mut Args<'_>) -> Result<Command, UsageError> {
    let toks = a.toks;
    let flags: Vec<usize> = (0..toks.len())
        .filter(|&i| is_service_flag(&toks[i]))
        .collect();
    let (mut from, mut to) = (0, toks.len());
    let mut service = None;
    match flags.as_slice() {
        [] => {}
        [i] => {
            let i = *i;
            let (value, used) = match toks[i].value.split_once('=') {
                Some((_, v)) => (v.to_owned(), 1),
                None => match toks.get(i + 1) {
                    Some(t) => (t.value.clone(), 2),
                    None => return Err(a.err("--service needs a service name after it")),
                },
            };
            if i == 0 {
                from = used;
            } else if i + used == toks.len() {
                to = i;
            } else {
                return Err(a.err(
                    "put --service <service> at the start or the end of the text, not inside it",
                ));
            }
            service = Some(name("service", &value).map_err(|p| a.err(p))?);
        }
        _ => return Err(a.err("--service is given more than once")),
    }
    if from >= to {
        return Err(a.err("missing the text: say what changed"));
    }
    let text = a.region(from, to);
    let text = a.checked_text("text", &text)?;
    a.pos = toks.len();
    Ok(Command::Log { text, service })
}

pub(super) fn incident(a: &mut Args<'_>) -> Result<Command, UsageError> {
    let sub = a.next("\"new\": incident new \"<title>\"")?;
    if !sub.value.eq_ignore_ascii_case("new") {
        return Err(a.err(format!(
            "{} is not something to do with an incident; did you mean \"new\"?",
            shown(&sub.value)
        )));
    }
    let t = a.next("the title")?;
    let title = check_title(&t.value).map_err(|e| a.err(format!("the title {}", e.reason)))?;
    if let Some(next) = a.peek() {
        if !t.quoted && severity_like(&t.value) {
            return Err(a.err("missing the title: incident new \"<title>\" [sev1-5] [service]"));
        }
        if !t.quoted {
            return Err(a.err(format!(
                "put a title of several words in quotes: incident new \"{} …\"",
                t.value
            )));
        }
        if next.start == t.end {
            return Err(a.err(format!(
                "put a space after the title's closing quote (before {})",
                shown(&next.value)
            )));
        }
    }
    let (mut given_severity, mut service) = (None, None);
    while let Some(t) = a.peek() {
        a.pos += 1;
        if severity_like(&t.value) {
            if given_severity.is_some() {
                return Err(a.err(format!("{} is a second severity", shown(&t.value))));
            }
            let s = severity(&t.value, false).map_err(|p| a.err(p))?;
            given_severity = Some(s);
        } else {
            if service.is_some() {
                return Err(a.err(format!(
                    "{} is a second service; an incident starts on one",
                    shown(&t.value)
                )));
            }
            service = Some(name("service", &t.value).map_err(|p| a.err(p))?);
        }
    }
    Ok(Command::IncidentNew {
        title,
        severity: given_severity,
        service,
    })
}

pub(super) fn sev(a: &mut Args<'_>) -> Result<Command, UsageError> {
    let incident = a.incident()?;
    let t = a.next("the severity (1–5)")?;
    let severity = severity(&t.value, true).map_err(|p| a.err(p))?;
    a.end()?;
    Ok(Command::Sev { incident, severity })
}

pub(super) fn role(a: &mut Args<'_>) -> Result<Command, UsageError> {
    let incident = a.incident()?;
    let first = a.next("the role (ic, comms or scribe)")?;
    let second = a.next("the person (@name)")?;
    // `role 8 @alice ic` is as clear as `role 8 ic @alice`.
    let (r, p) = if first.value.starts_with('@') && !second.value.starts_with('@') {
        (second, first)
    } else {
        (first, second)
    };
    let role = match Role::parse(&r.value) {
        Some(Role::Responder) => {
            return Err(a.err(
                "responders join by being paged (page @person <incident>); role takes ic, comms or scribe",
            ));
        }
        Some(role) => role,
        None => {
            return Err(a.err(format!(
                "{} is not a role; use ic (incident commander), comms (communications lead) or scribe",
                shown(&r.value)
            )));
        }
    };
    let person = person(&p.value).map_err(|e| a.err(e))?;
    a.end()?;
    Ok(Command::Role {
        incident,
        role,
        person,
    })
}

fn page_target(v: &str) -> Result<PageTarget, String> {
    if let Some(n) = v.strip_prefix('@') {
        return person(n).map(PageTarget::User);
    }
    if let Some((kind, n)) = v.split_once(':') {
        return match kind.to_ascii_lowercase().as_str() {
            "user" => person(n).map(PageTarget::User),
            "team" => name("team", n).map(PageTarget::Team),
            "schedule" => name("schedule", n).map(PageTarget::Schedule),
            _ => Err(format!(
                "{} is not a kind of page target; use @person, team:<team> or schedule:<schedule>",
                shown(kind)
            )),
        };
    }
    if looks_like_incident(v) {
        return Err(format!(
            "{} is an incident; whom to page comes first: page @person {v}",
            shown(v)
        ));
    }
    match Name::parse(v) {
        Ok(_) => Err(format!(
            "{} does not say what it is: write @{v} for a person, team:{v} for a team or schedule:{v} for a schedule",
            shown(v)
        )),
        Err(_) => Err(format!(
            "{} is not whom to page: write @person, team:<team> or schedule:<schedule>",
            shown(v)
        )),
    }
}

pub(super) fn page(a: &mut Args<'_>) -> Result<Command, UsageError> {
    let t = a.next("whom to page: @person, team:<team> or schedule:<schedule>")?;
    let target = page_target(&t.value).map_err(|p| a.err(p))?;
    let incident = match a.peek_bare() {
        Some(v) if looks_like_incident(v) => Some(a.incident()?),
        _ => None,
    };
    let message = a.opt_text("message")?;
    Ok(Command::Page {
        target,
        incident,
        message,
    })
}

pub(super) fn escalate(a: &mut Args<'_>) -> Result<Command, UsageError> {
    let incident = a.incident()?;
    a.end()?;
    Ok(Command::Escalate { incident })
}

pub(super) fn update(a: &mut Args<'_>) -> Result<Command, UsageError> {
    let incident = a.incident()?;
    let state = a.peek_bare().and_then(UpdateState::parse);
    if state.is_some() {
        a.pos += 1;
    }
    if a.done() {
        return Err(a.err("missing the update text: say what is happening"));
    }
    let text = a.text("update")?;
    Ok(Command::Update {
        incident,
        state,
        text,
    })
}

pub(super) fn status(a: &mut Args<'_>) -> Result<Command, UsageError> {
    let service = if a.done() {
        None
    } else {
        Some(a.name("service")?)
    };
    a.end()?;
    Ok(Command::Status { service })
}

pub(super) fn check(a: &mut Args<'_>) -> Result<Command, UsageError> {
    let service = a.name("service")?;
    a.end()?;
    Ok(Command::Check { service })
}

pub(super) fn oncall(a: &mut Args<'_>) -> Result<Command, UsageError> {
    let team = match a.peek() {
        None => None,
        Some(t) => {
            a.pos += 1;
            let v = t.value.as_str();
            let v = match v.split_once(':') {
                Some((k, n)) if k.eq_ignore_ascii_case("team") => n,
                _ => v,
            };
            Some(name("team", v).map_err(|p| a.err(p))?)
        }
    };
    a.end()?;
    Ok(Command::Oncall { team })
}

pub(super) fn maintenance(a: &mut Args<'_>) -> Result<Command, UsageError> {
    let sub = a.next("\"start\" or \"stop\"")?;
    match sub.value.to_ascii_lowercase().as_str() {
        "start" => {
            let service = a.name("service")?;
            let duration = match a.peek_bare() {
                Some(w) if w.eq_ignore_ascii_case("for") => {
                    a.pos += 1;
                    let t = a.next("the duration after \"for\" (e.g. 2h)")?;
                    Some(duration(&t.value).map_err(|p| {
                        a.err(format!("{p} (quote a reason that starts with \"for\")"))
                    })?)
                }
                Some(w) if looks_like_duration(w) => {
                    a.pos += 1;
                    Some(duration(w).map_err(|p| a.err(p))?)
                }
                _ => None,
            };
            let reason = a.opt_text("reason")?;
            Ok(Command::MaintenanceStart {
                service,
                duration,
                reason,
            })
        }
        "stop" => {
            let service = a.name("service")?;
            a.end()?;
            Ok(Command::MaintenanceStop { service })
        }
        other => {
            let hint = spec::closest(other, a.spec.subcommands)
                .map(|s| format!("did you mean \"{s}\"?"))
                .unwrap_or_else(|| "use start or stop".to_owned());
            Err(a.err(format!(
                "{} is not start or stop; {hint}",
                shown(&sub.value)
            )))
        }
    }
}

pub(super) fn run(a: &mut Args<'_>) -> Result<Command, UsageError> {
    let action = a.name("runbook action")?;
    let mut target = None;
    let mut incident = None;
    let mut params = BTreeMap::new();
    while let Some(t) = a.peek() {
        a.pos += 1;
        if !t.quoted && t.value.starts_with('#') {
            if incident.is_some() {
                return Err(a.err(format!(
                    "{} is a second incident; a run is recorded on one",
                    shown(&t.value)
                )));
            }
            incident = Some(incident_number(&t.value).map_err(|p| a.err(p))?);
            continue;
        }
        if !t.quoted && t.value.eq_ignore_ascii_case("on") {
            if target.is_some() {
                return Err(a.err("\"on\" is given more than once; an action runs on one target"));
            }
            let n = a.next("the target after \"on\"")?;
            target = Some(name("target", &n.value).map_err(|p| a.err(p))?);
            continue;
        }
        let Some((k, v)) = t.value.split_once('=').filter(|_| !t.quoted) else {
            return Err(a.err(format!(
                "{} is not a parameter; write key=value (quote a value with spaces: key=\"a b\")",
                shown(&t.value)
            )));
        };
        let key = Name::parse(k)
            .map_err(|e| a.err(format!("{} is not a parameter name: it {e}", shown(k))))?;
        if params.insert(key, v.to_owned()).is_some() {
            return Err(a.err(format!("parameter {} is given twice", shown(k))));
        }
    }
    Ok(Command::Run {
        action,
        target,
        incident,
        params,
    })
}

pub(super) fn help(a: &mut Args<'_>) -> Result<Command, UsageError> {
    let Some(t) = a.peek() else {
        return Ok(Command::Help { topic: None });
    };
    a.pos += 1;
    let Some(spec) = spec::find(&t.value) else {
        let mut e = spec::unknown_command(&t.value);
        e.command = Some(a.spec.name);
        e.usage = a.spec.usage;
        return Err(e);
    };
    // `help incident new`, `help maintenance start`.
    if let Some(w) = a.peek()
        && spec
            .subcommands
            .iter()
            .any(|s| s.eq_ignore_ascii_case(&w.value))
    {
        a.pos += 1;
    }
    a.end()?;
    Ok(Command::Help {
        topic: Some(spec.name.to_owned()),
    })
}
