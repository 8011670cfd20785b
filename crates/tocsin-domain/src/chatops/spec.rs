//! The table of commands — name, usage, summary, details, example — that
//! both the parser's errors and `help` read, and the "did you mean" that
//! finds the closest command to a mistyped one.

use super::Command;
use super::UsageError;
use super::parse::{self, Args};

type Parser = fn(&mut Args<'_>) -> Result<Command, UsageError>;

/// One command of the language.
#[derive(Debug)]
pub struct CommandSpec {
    /// What people type first: `ack`.
    pub name: &'static str,
    /// Other words accepted for it: `acknowledge`.
    pub aliases: &'static [&'static str],
    /// Its words after the name, in sub-command order (`incident new`,
    /// `maintenance start`/`stop`); empty for most.
    pub subcommands: &'static [&'static str],
    /// The usage line(s), as shown after `usage: `.
    pub usage: &'static str,
    /// What it does, in one line.
    pub summary: &'static str,
    /// More on its arguments; may be empty.
    pub details: &'static str,
    /// A line that parses, to copy.
    pub example: &'static str,
    pub(super) parse: Parser,
}

/// `usage` of `help`, shown when the command itself was not understood.
pub(super) const HELP_USAGE: &str = "help [command]";

/// Every command, in the order `help` lists them.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "ack",
        aliases: &["acknowledge"],
        subcommands: &[],
        usage: "ack <incident>",
        summary: "Acknowledge an incident: you are on it, and escalation stops.",
        details: "",
        example: "ack #8",
        parse: parse::ack,
    },
    CommandSpec {
        name: "resolve",
        aliases: &[],
        subcommands: &[],
        usage: "resolve <incident> [note…]",
        summary: "Resolve an incident, with an optional note on what fixed it.",
        details: "",
        example: "resolve #8 Ended up just needing to restart Apache",
        parse: parse::resolve,
    },
    CommandSpec {
        name: "note",
        aliases: &[],
        subcommands: &[],
        usage: "note <incident> <text…>",
        summary: "Add a note to an incident's timeline.",
        details: "",
        example: "note #8 Restarted apache on web-2, error rate falling",
        parse: parse::note,
    },
    CommandSpec {
        name: "log",
        aliases: &[],
        subcommands: &[],
        usage: "log <text…> [--service <service>]",
        summary: "Record a change event: a deploy, an upgrade, a config change.",
        details: "--service goes at the start or the end of the text.",
        example: "log Upgraded redis to 2.8.19 --service cache",
        parse: parse::log,
    },
    CommandSpec {
        name: "incident",
        aliases: &[],
        subcommands: &["new"],
        usage: "incident new \"<title>\" [sev1-5] [service]",
        summary: "Declare a new incident.",
        details: "Quote a title of several words. The severity is written sev1 to sev5; \
                  severity and service may come in either order.",
        example: "incident new \"Checkout returns 502\" sev2 checkout",
        parse: parse::incident,
    },
    CommandSpec {
        name: "sev",
        aliases: &["severity"],
        subcommands: &[],
        usage: "sev <incident> <1-5>",
        summary: "Change an incident's severity.",
        details: "Sev1 complete outage, Sev2 major functionality broken or revenue affected, \
                  Sev3 minor problem, Sev4 redundant component failure, Sev5 false alarm or \
                  unactionable alert. Written 2, sev2 or Sev2.",
        example: "sev #8 2",
        parse: parse::sev,
    },
    CommandSpec {
        name: "role",
        aliases: &[],
        subcommands: &[],
        usage: "role <incident> ic|comms|scribe @person",
        summary: "Hand a role in an incident to someone.",
        details: "ic is the incident commander, comms the communications lead. Each is held by \
                  one person; giving it to someone else is a hand-over. Responders join with page.",
        example: "role #8 ic @alice",
        parse: parse::role,
    },
    CommandSpec {
        name: "page",
        aliases: &[],
        subcommands: &[],
        usage: "page @person|team:<team>|schedule:<schedule> [incident] [message…]",
        summary: "Page a person, a team or whoever is on call in a schedule, into an incident.",
        details: "@alice is a person, team:payments a team, schedule:payments-primary the \
                  person on call in that schedule. Quote a message that starts with a number.",
        example: "page team:payments #8 Card payments failing since 14:02",
        parse: parse::page,
    },
    CommandSpec {
        name: "escalate",
        aliases: &[],
        subcommands: &[],
        usage: "escalate <incident>",
        summary: "Escalate an incident to the next level of its escalation policy now.",
        details: "",
        example: "escalate #8",
        parse: parse::escalate,
    },
    CommandSpec {
        name: "update",
        aliases: &[],
        subcommands: &[],
        usage: "update <incident> [investigating|identified|monitoring|resolved] <text…>",
        summary: "Post a status update to the incident's stakeholders.",
        details: "The state is optional; quote text that starts with one of the state words.",
        example: "update #8 identified A bad deploy of checkout; rolling back",
        parse: parse::update,
    },
    CommandSpec {
        name: "status",
        aliases: &[],
        subcommands: &[],
        usage: "status [service]",
        summary: "Show the open incidents and the status of one service or of all.",
        details: "",
        example: "status checkout",
        parse: parse::status,
    },
    CommandSpec {
        name: "check",
        aliases: &[],
        subcommands: &[],
        usage: "check <service>",
        summary: "Run a service's health checks now and show the results.",
        details: "",
        example: "check checkout",
        parse: parse::check,
    },
    CommandSpec {
        name: "oncall",
        aliases: &["on-call"],
        subcommands: &[],
        usage: "oncall [team]",
        summary: "Show who is on call now, for one team or for all.",
        details: "",
        example: "oncall payments",
        parse: parse::oncall,
    },
    CommandSpec {
        name: "maintenance",
        aliases: &["maint"],
        subcommands: &["start", "stop"],
        usage: "maintenance start <service> [for <duration>] [reason…]\n       \
                maintenance stop <service>",
        summary: "Start or stop maintenance on a service: its alerts are recorded, nobody is paged.",
        details: "A duration is written 90m, 2h, 1h30m or 1d (units m, h, d, w), at most 7 days; \
                  without one the default applies. Quote a reason that starts with \"for\" or a \
                  duration.",
        example: "maintenance start checkout for 2h Upgrading postgres",
        parse: parse::maintenance,
    },
    CommandSpec {
        name: "run",
        aliases: &[],
        subcommands: &[],
        usage: "run <action> [on <target>] [#incident] [key=value …]",
        summary: "Run a declared runbook action, after confirmation.",
        details: "Parameters are key=value; quote a value with spaces: reason=\"stuck workers\". \
                  Name an incident as #8 to record the run on its timeline. tocsin first shows \
                  exactly what will run and asks you to confirm.",
        example: "run restart-web on web-2 #8 reason=\"stuck workers\"",
        parse: parse::run,
    },
    CommandSpec {
        name: "help",
        aliases: &[],
        subcommands: &[],
        usage: HELP_USAGE,
        summary: "List the commands, or show one command's usage and an example.",
        details: "\"<command> --help\" does the same.",
        example: "help page",
        parse: parse::help,
    },
];

/// The command a word names (its name or an alias, any case).
pub(super) fn find(word: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| {
        c.name.eq_ignore_ascii_case(word) || c.aliases.iter().any(|a| a.eq_ignore_ascii_case(word))
    })
}

/// Optimal string alignment distance (Levenshtein plus adjacent swaps),
/// over characters.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j].
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    rows[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// The closest of `candidates` to `word`: within two edits (one for words
/// of up to three letters), or the only one it is a prefix of (three
/// letters or more).
pub(super) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // Long input cannot be a typo of a short word; skip the work.
    if word.chars().count() > 20 {
        return None;
    }
    let word = word.to_lowercase();
    let limit = if word.chars().count() <= 3 { 1 } else { 2 };
    let best = candidates
        .iter()
        .map(|c| (distance(&word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    if best.is_some() {
        return best;
    }
    let mut prefixed = candidates
        .iter()
        .filter(|c| word.chars().count() >= 3 && c.starts_with(word.as_str()));
    match (prefixed.next(), prefixed.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// A word shown in a message: quoted, escaped, cut to 40 characters.
pub(super) fn shown(word: &str) -> String {
    const MAX: usize = 40;
    if word.chars().count() > MAX {
        let cut: String = word.chars().take(MAX).collect();
        format!("{:?}", cut + "…")
    } else {
        format!("{word:?}")
    }
}

/// The error for a first word that is no command.
pub(super) fn unknown_command(word: &str) -> UsageError {
    let mut names: Vec<&str> = Vec::new();
    for c in COMMANDS {
        names.push(c.name);
        names.extend(c.aliases);
    }
    match closest(word, &names).and_then(find) {
        Some(spec) => UsageError {
            command: None,
            problem: format!(
                "{} is not a command; did you mean \"{}\"? \"help\" lists them all",
                shown(word),
                spec.name
            ),
            usage: spec.usage,
        },
        None => UsageError {
            command: None,
            problem: format!("{} is not a command; \"help\" lists them all", shown(word)),
            usage: HELP_USAGE,
        },
    }
}

/// Help: with no topic, every command and its summary; with one, that
/// command's usage, description and example. An unknown topic says so and
/// lists the commands.
pub fn help(topic: Option<&str>) -> String {
    let word = topic.and_then(|t| t.split_whitespace().next());
    match word {
        None => list(),
        Some(w) => match find(w) {
            Some(spec) => one(spec),
            None => format!("{}\n\n{}", unknown_command(w).problem, list()),
        },
    }
}

fn list() -> String {
    let width = COMMANDS.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut out = String::from("Commands (an incident is written 8 or #8):\n");
    for c in COMMANDS {
        out.push_str(&format!("  {:width$}  {}\n", c.name, c.summary));
    }
    out.push_str("\"help <command>\" shows its usage and an example.");
    out
}

fn one(spec: &CommandSpec) -> String {
    let mut out = format!("usage: {}\n{}\n", spec.usage, spec.summary);
    if !spec.details.is_empty() {
        out.push_str(spec.details);
        out.push('\n');
    }
    if !spec.aliases.is_empty() {
        out.push_str(&format!("Also written: {}\n", spec.aliases.join(", ")));
    }
    out.push_str(&format!("example: {}", spec.example));
    out
}
