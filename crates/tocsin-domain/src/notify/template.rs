//! Message templates: an organisation's own headline (`title`) and body
//! for the messages tocsin sends, declared as `message_templates` in
//! manifests ([`MessageTemplate`]) and rendered with minijinja.
//!
//! What a template sees: every field of the [`Message`] as a top-level
//! variable ([`VARIABLES`]), plus `headline` (tocsin's own headline) and
//! `severity` (`Sev1`). A variable that does not exist is an error, not an
//! empty string (minijinja's strict undefined behaviour), so a misspelt
//! `{{ incident.sevrity }}` is refused when the manifest is validated
//! rather than sending an empty line at 3 a.m.; a field that is absent
//! (`impact` of a service that declares none) is `none` and prints as
//! nothing.
//!
//! Invariants:
//! - Rendering never loses a message: [`Templates::apply`] leaves the
//!   message as tocsin would have sent it when a template fails, and says
//!   why; the caller logs it and sends.
//! - Rendering is bounded: at most [`FUEL`] steps of minijinja's engine,
//!   at most [`TITLE_MAX`] characters of title and [`BODY_MAX`] of body
//!   (longer output is cut with `…`).
//! - A title is one line: runs of whitespace, line breaks included, become
//!   one space. A drill keeps its `[DRILL]` mark ([`Message::headline`]).
//! - Output is plain text, not escaped here: each channel escapes the
//!   body in its own markup (HTML for email and Matrix, Slack's mrkdwn).

use crate::Name;
use crate::Severity;
use crate::catalog::{ContactKind, MessageTemplate};
use crate::notify::{Actions, ChangeLine, IncidentLine, LinkLine, Message, MessageKind};
use jiff::Timestamp;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};
use serde::Serialize;
use std::fmt;

/// How many steps of minijinja's engine one rendering may take: far more
/// than a message needs (a bundle of a hundred incidents in a loop takes a
/// few thousand), little enough that a runaway loop ends in milliseconds.
pub const FUEL: u64 = 50_000;

/// The longest title kept, in characters (Slack cuts headers at 150).
pub const TITLE_MAX: usize = 250;

/// The longest body kept, in characters.
pub const BODY_MAX: usize = 10_000;

/// The variables a template sees, besides minijinja's own functions.
pub const VARIABLES: [&str; 14] = [
    "kind",
    "headline",
    "severity",
    "incident",
    "recipient",
    "impact",
    "affected",
    "slo",
    "first_steps",
    "runbooks",
    "changes",
    "actions",
    "text",
    "also",
];

/// Which part of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Title,
    Body,
}

impl Field {
    /// The manifest field: `title`, `body`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Body => "body",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A template that could not render one message: the message goes out
/// with tocsin's own headline and body instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message template {:?}, {field}: {reason}", template.as_str())]
pub struct TemplateError {
    pub template: Name,
    pub field: Field,
    pub reason: String,
}

/// What a template sees (see [`VARIABLES`]).
#[derive(Debug, Serialize)]
struct Context<'a> {
    kind: MessageKind,
    headline: String,
    severity: &'static str,
    incident: &'a IncidentLine,
    recipient: &'a Option<String>,
    impact: &'a Option<String>,
    affected: &'a [String],
    slo: &'a Option<String>,
    first_steps: &'a Option<String>,
    runbooks: &'a [LinkLine],
    changes: &'a [ChangeLine],
    actions: &'a Actions,
    text: &'a Option<String>,
    also: &'a [IncidentLine],
}

impl<'a> Context<'a> {
    fn of(m: &'a Message) -> Self {
        Context {
            kind: m.kind,
            headline: m.default_headline(),
            severity: m.incident.severity.label(),
            incident: &m.incident,
            recipient: &m.recipient,
            impact: &m.impact,
            affected: &m.affected,
            slo: &m.slo,
            first_steps: &m.first_steps,
            runbooks: &m.runbooks,
            changes: &m.changes,
            actions: &m.actions,
            text: &m.text,
            also: &m.also,
        }
    }
}

/// The engine every template renders in: strict about undefined
/// variables, bounded by fuel, no auto-escaping (channels escape), `none`
/// printed as nothing, and block tags on their own line leaving no blank
/// line behind.
pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_formatter(|out, state, value| match value.is_none() {
        true => Ok(()),
        false => minijinja::escape_formatter(out, state, value),
    });
    env
}

/// A compiled field: its name in the environment, or why it does not
/// compile (a stored template written by another version).
type Compiled = Result<String, String>;

#[derive(Debug, Clone)]
struct Entry {
    spec: MessageTemplate,
    title: Option<Compiled>,
    body: Option<Compiled>,
}

/// The declared templates, compiled once, ready to apply to messages.
#[derive(Debug, Clone)]
pub struct Templates {
    env: Environment<'static>,
    /// By name: ties (which validation refuses) go to the first name.
    entries: Vec<Entry>,
}

impl Default for Templates {
    fn default() -> Self {
        Templates::new([])
    }
}

impl PartialEq for Templates {
    /// Two sets are equal when they were built from the same templates.
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|(a, b)| a.spec == b.spec)
    }
}

impl Templates {
    /// Compiles `declared`. A template that does not compile is kept: the
    /// messages it applies to fall back to the default rendering, each
    /// with an error saying why.
    pub fn new<'a>(declared: impl IntoIterator<Item = &'a MessageTemplate>) -> Templates {
        let mut env = environment();
        let mut specs: Vec<&MessageTemplate> = declared.into_iter().collect();
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        let mut entries = Vec::with_capacity(specs.len());
        for spec in specs {
            let mut compile = |field: Field, source: &Option<String>| {
                source.as_ref().map(|source| {
                    let id = format!("{}.{field}", spec.name);
                    env.add_template_owned(id.clone(), source.clone())
                        .map(|()| id)
                        .map_err(|e| format!("does not compile: {}", describe(&e, source)))
                })
            };
            let title = compile(Field::Title, &spec.title);
            let body = compile(Field::Body, &spec.body);
            entries.push(Entry {
                spec: spec.clone(),
                title,
                body,
            });
        }
        Templates { env, entries }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The template for `kind` messages on `channel`: the one naming the
    /// channel before one for every channel, then the one naming the
    /// message kind before one for every kind.
    pub fn pick(&self, kind: MessageKind, channel: ContactKind) -> Option<&MessageTemplate> {
        self.entry(kind, channel).map(|e| &e.spec)
    }

    fn entry(&self, kind: MessageKind, channel: ContactKind) -> Option<&Entry> {
        let mut best: Option<&Entry> = None;
        for e in self
            .entries
            .iter()
            .filter(|e| e.spec.applies(kind, channel))
        {
            if best.is_none_or(|b| e.spec.specificity() > b.spec.specificity()) {
                best = Some(e);
            }
        }
        best
    }

    /// Sets the message's [`title`](Message::title) and
    /// [`body`](Message::body) from the template that applies to it on
    /// `channel`; returns the template's name, or `None` when no template
    /// applies. On an error the message is left as it was, so it still
    /// goes out with tocsin's own headline and body.
    pub fn apply(
        &self,
        message: &mut Message,
        channel: ContactKind,
    ) -> Result<Option<&Name>, TemplateError> {
        let Some(entry) = self.entry(message.kind, channel) else {
            return Ok(None);
        };
        let context = Value::from_serialize(Context::of(message));
        let field_text = |field: Field, compiled: &Option<Compiled>| {
            let error = |reason: String| TemplateError {
                template: entry.spec.name.clone(),
                field,
                reason,
            };
            match compiled {
                None => Ok(None),
                Some(Err(reason)) => Err(error(reason.clone())),
                Some(Ok(id)) => {
                    let source = match field {
                        Field::Title => entry.spec.title.as_deref(),
                        Field::Body => entry.spec.body.as_deref(),
                    };
                    render(&self.env, id, field, &context)
                        .map(Some)
                        .map_err(|e| error(describe(&e, source.unwrap_or_default())))
                }
            }
        };
        let title = field_text(Field::Title, &entry.title)?;
        let body = field_text(Field::Body, &entry.body)?;
        // An empty title keeps tocsin's headline: a message always has one.
        message.title = title.filter(|t| !t.is_empty());
        message.body = body;
        Ok(Some(&entry.spec.name))
    }
}

/// Renders one field and shapes its output: a title on one line, a body
/// without trailing whitespace or leading blank lines; both cut to length.
fn render(
    env: &Environment<'static>,
    id: &str,
    field: Field,
    context: &Value,
) -> Result<String, minijinja::Error> {
    let out = env.get_template(id)?.render(context)?;
    Ok(match field {
        Field::Title => cut(
            &out.split_whitespace().collect::<Vec<_>>().join(" "),
            TITLE_MAX,
        ),
        Field::Body => {
            let trimmed = out.trim_end();
            let start = trimmed
                .split_inclusive('\n')
                .take_while(|l| l.trim().is_empty())
                .map(str::len)
                .sum::<usize>();
            cut(&trimmed[start..], BODY_MAX)
        }
    })
}

/// At most `max` characters, the last one `…` when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some(_) => {
            let kept: String = text.chars().take(max.saturating_sub(1)).collect();
            format!("{kept}…")
        }
    }
}

/// minijinja's error in words, with the line and the expression at fault:
/// ``line 2: `incident.sevrity` is not defined``.
pub(crate) fn describe(e: &minijinja::Error, source: &str) -> String {
    let at = match e.line() {
        Some(line) => format!("line {line}: "),
        None => String::new(),
    };
    let what = match e.kind() {
        ErrorKind::UndefinedError => match e.range().and_then(|r| source.get(r)).map(str::trim) {
            Some(expr) if !expr.is_empty() => format!("`{expr}` is not defined"),
            _ => "a value is not defined".to_owned(),
        },
        ErrorKind::OutOfFuel => {
            format!("takes too long to render (more than {FUEL} steps)")
        }
        kind => match e.detail() {
            Some(detail) => format!("{kind}: {detail}"),
            None => kind.to_string(),
        },
    };
    format!("{at}{what}")
}

/// Every problem with one declared template, as `(field, message)`: a
/// field that does not compile, a variable that does not exist, a
/// rendering that fails (or a title that renders empty) for a sample
/// message of a kind it applies to, with every optional field filled in
/// and with none.
pub(crate) fn problems(t: &MessageTemplate) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let kinds = t.message_kinds();
    for (field, source) in [(Field::Title, &t.title), (Field::Body, &t.body)] {
        let Some(source) = source else { continue };
        let mut report = |message: String| out.push((field.as_str().to_owned(), message));
        if source.trim().is_empty() {
            report("must not be empty; leave it out to keep tocsin's own".to_owned());
            continue;
        }
        let mut env = environment();
        if let Err(e) = env.add_template_owned("t", source.clone()) {
            report(format!("does not compile: {}", describe(&e, source)));
            continue;
        }
        let Ok(template) = env.get_template("t") else {
            continue;
        };
        let globals: Vec<&str> = env.globals().map(|(name, _)| name).collect();
        let mut unknown: Vec<(usize, String)> = template
            .undeclared_variables(true)
            .into_iter()
            .filter_map(|path| {
                let why = unknown_variable(&path, &globals).err()?;
                // The first line that mentions it (the engine gives none).
                let line = source.lines().position(|l| l.contains(&path));
                Some((line.map_or(0, |l| l + 1), why))
            })
            .collect();
        unknown.sort();
        if !unknown.is_empty() {
            for (line, why) in unknown {
                report(match line {
                    0 => why,
                    line => format!("line {line}: {why}"),
                });
            }
            continue;
        }
        'kinds: for kind in &kinds {
            for (filled, message) in [(true, sample(*kind, true)), (false, sample(*kind, false))] {
                let what = match filled {
                    true => format!("{} message", words(*kind)),
                    false => format!("{} message with no optional fields", words(*kind)),
                };
                let context = Value::from_serialize(Context::of(&message));
                match render(&env, "t", field, &context) {
                    Err(e) => {
                        report(format!("{} (rendering {what})", describe(&e, source)));
                        break 'kinds;
                    }
                    Ok(text) if field == Field::Title && text.is_empty() => {
                        report(format!(
                            "renders empty for {what}; leave that kind out of `messages` \
                             or give every kind a title"
                        ));
                        break 'kinds;
                    }
                    Ok(_) => {}
                }
            }
        }
    }
    out
}

/// `a page`, `an update`, `a dead letter`.
fn words(kind: MessageKind) -> String {
    let article = match kind {
        MessageKind::Update => "an",
        _ => "a",
    };
    format!("{article} {}", kind.as_str().replace('_', " "))
}

/// Checks a variable path a template uses (`incident.severity`) against
/// the context: the first part must be a variable or one of minijinja's
/// functions, and each further part a field of the part before while that
/// part is a record. Lists and texts are left to the sample renderings.
fn unknown_variable(path: &str, globals: &[&str]) -> Result<(), String> {
    let mut parts = path.split('.');
    let first = parts.next().unwrap_or_default();
    if globals.contains(&first) {
        return Ok(());
    }
    let sample = sample(MessageKind::Page, true);
    let context = serde_json::to_value(Context::of(&sample)).unwrap_or_default();
    let Some(mut at) = context.get(first) else {
        return Err(format!(
            "`{first}` is not a variable a template can use (there are: {})",
            VARIABLES.join(", ")
        ));
    };
    let mut seen = first.to_owned();
    for part in parts {
        let Some(fields) = at.as_object() else {
            return Ok(());
        };
        match fields.get(part) {
            Some(next) => at = next,
            None => {
                let known: Vec<&str> = fields.keys().map(String::as_str).collect();
                return Err(format!(
                    "`{seen}.{part}` is not defined: {seen} has {}",
                    known.join(", ")
                ));
            }
        }
        seen = format!("{seen}.{part}");
    }
    Ok(())
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

fn sample_incident(number: i64, title: &str, service: &str, severity: Severity) -> IncidentLine {
    IncidentLine {
        number,
        title: title.to_owned(),
        service: service.to_owned(),
        severity,
        status: "triggered".to_owned(),
        source: "prometheus-prod".to_owned(),
        opened_at: at("2026-03-02T09:00:00Z"),
        drill: false,
    }
}

/// A message of `kind` as tocsin builds them, to try templates on (here
/// and in other crates' tests): `filled` with every optional field a
/// message of that kind can carry, or with none.
pub fn sample(kind: MessageKind, filled: bool) -> Message {
    let mut incident = sample_incident(
        42,
        "Error rate above 5 % on /pay",
        "checkout",
        Severity::Sev1,
    );
    let text = match kind {
        MessageKind::Update => Some("Identified: rolling back the last deploy.".to_owned()),
        MessageKind::DeadLetter => Some("slack to Alice Example failed 5 times".to_owned()),
        _ => None,
    };
    let also = match kind {
        MessageKind::Bundle => vec![
            sample_incident(44, "Latency p99 above 2 s", "search", Severity::Sev2),
            sample_incident(45, "Queue depth above 10,000", "orders", Severity::Sev3),
        ],
        _ => Vec::new(),
    };
    if kind == MessageKind::Resolved {
        incident.status = "resolved".to_owned();
    }
    let mut m = Message {
        key: format!("sample:{}", kind.as_str()),
        kind,
        incident,
        recipient: None,
        impact: None,
        affected: Vec::new(),
        slo: None,
        first_steps: None,
        runbooks: Vec::new(),
        changes: Vec::new(),
        actions: Actions {
            incident_url: "https://tocsin.example.com/incidents/42".to_owned(),
            acknowledge_url: None,
            interactive: false,
        },
        text: None,
        also,
        title: None,
        body: None,
    };
    if filled {
        m.recipient = Some("Alice Example".to_owned());
        m.impact = Some("Customers cannot pay.".to_owned());
        m.affected = vec!["storefront".to_owned(), "mobile-api".to_owned()];
        m.slo = Some("checkout availability 99.9 %: 4 % of the budget burnt".to_owned());
        m.first_steps = Some("1. Check the provider's status page.\n2. Roll back.".to_owned());
        m.runbooks = vec![LinkLine {
            title: "Checkout runbook".to_owned(),
            url: "https://wiki.example.com/runbooks/checkout".to_owned(),
        }];
        m.changes = vec![ChangeLine {
            at: at("2026-03-02T08:41:00Z"),
            summary: "Deploy checkout v2.14.0".to_owned(),
        }];
        m.text = text;
        if matches!(kind, MessageKind::Page | MessageKind::Bundle) {
            m.actions.acknowledge_url = Some("https://tocsin.example.com/ack/42.x".to_owned());
            m.actions.interactive = true;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn template(name: &str, title: Option<&str>, body: Option<&str>) -> MessageTemplate {
        MessageTemplate {
            name: n(name),
            messages: Vec::new(),
            channels: Vec::new(),
            title: title.map(str::to_owned),
            body: body.map(str::to_owned),
        }
    }

    fn page() -> Message {
        sample(MessageKind::Page, true)
    }

    #[test]
    fn no_template_leaves_the_message_alone() {
        let mut m = page();
        let before = m.clone();
        assert_eq!(
            Templates::default().apply(&mut m, ContactKind::Slack),
            Ok(None)
        );
        assert_eq!(m, before);
    }

    #[test]
    fn a_template_sets_title_and_body() {
        let t = template(
            "short",
            Some("{{ severity }} {{ incident.service }}: {{ incident.title }}"),
            Some("{% if impact %}\nImpact: {{ impact }}\n{% endif %}\nFor {{ recipient }}\n"),
        );
        let set = Templates::new([&t]);
        let mut m = page();
        assert_eq!(set.apply(&mut m, ContactKind::Slack), Ok(Some(&n("short"))));
        assert_eq!(m.headline(), "Sev1 checkout: Error rate above 5 % on /pay");
        assert_eq!(
            m.body.as_deref(),
            Some("Impact: Customers cannot pay.\nFor Alice Example")
        );
        // Absent fields print as nothing; the body is still set.
        let mut bare = sample(MessageKind::Page, false);
        set.apply(&mut bare, ContactKind::Email).unwrap();
        assert_eq!(bare.body.as_deref(), Some("For"));
    }

    #[test]
    fn the_most_specific_template_wins() {
        let everywhere = template("everywhere", Some("all: {{ headline }}"), None);
        let mut slack = template("slack", Some("slack: {{ headline }}"), None);
        slack.channels = vec![ContactKind::Slack];
        let mut pages = template("pages", Some("pages: {{ headline }}"), None);
        pages.messages = vec![MessageKind::Page];
        let mut slack_pages = template("slack-pages", Some("slack pages"), None);
        slack_pages.channels = vec![ContactKind::Slack];
        slack_pages.messages = vec![MessageKind::Page];
        let set = Templates::new([&everywhere, &slack, &pages, &slack_pages]);
        let picked = |kind, channel| set.pick(kind, channel).map(|t| t.name.to_string());
        use ContactKind::{Email, Slack};
        use MessageKind::{Page, Resolved};
        assert_eq!(picked(Page, Slack).as_deref(), Some("slack-pages"));
        assert_eq!(picked(Resolved, Slack).as_deref(), Some("slack"));
        assert_eq!(picked(Page, Email).as_deref(), Some("pages"));
        assert_eq!(picked(Resolved, Email).as_deref(), Some("everywhere"));
        // A channel beats a message kind.
        let set = Templates::new([&slack, &pages]);
        assert_eq!(
            set.pick(Page, Slack).map(|t| t.name.as_str()),
            Some("slack")
        );
    }

    #[test]
    fn a_failing_template_falls_back_and_says_why() {
        // `also[5]` exists in no message: fine to compile, fails to render.
        let t = template("bad", Some("ok"), Some("{{ also[5].title }}"));
        let set = Templates::new([&t]);
        let mut m = page();
        let before = m.clone();
        let err = set.apply(&mut m, ContactKind::Email).unwrap_err();
        assert_eq!(err.template, n("bad"));
        assert_eq!(err.field, Field::Body);
        assert!(err.reason.contains("line 1"), "{err}");
        assert_eq!(m, before, "nothing of the template is kept");
        assert_eq!(m.headline(), before.default_headline());

        // A stored template that no longer compiles.
        let broken = template("broken", Some("{{ headline "), None);
        let mut m = page();
        let err = Templates::new([&broken])
            .apply(&mut m, ContactKind::Email)
            .unwrap_err();
        assert!(err.reason.starts_with("does not compile: line 1"), "{err}");
        assert_eq!(m.title, None);
    }

    #[test]
    fn runaway_templates_run_out_of_fuel() {
        let t = template(
            "loop",
            None,
            Some("{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}"),
        );
        let mut m = page();
        let err = Templates::new([&t])
            .apply(&mut m, ContactKind::Email)
            .unwrap_err();
        assert!(err.reason.contains("takes too long"), "{err}");
    }

    #[test]
    fn drills_keep_their_mark_once() {
        let mut m = page();
        m.incident.drill = true;
        m.incident.title = "[DRILL] Fire drill for checkout".to_owned();
        for title in ["{{ headline }}", "[DRILL] Short", "Short"] {
            let t = template("t", Some(title), None);
            let mut m = m.clone();
            Templates::new([&t])
                .apply(&mut m, ContactKind::Slack)
                .unwrap();
            let headline = m.headline();
            assert!(headline.starts_with("[DRILL] "), "{headline}");
            assert_eq!(headline.matches("[DRILL]").count(), 1, "{headline}");
        }
    }

    #[test]
    fn titles_are_one_line_and_cut() {
        let t = template(
            "t",
            Some("  {{ incident.title }}\n\n  {{ severity }}  "),
            None,
        );
        let mut m = page();
        Templates::new([&t])
            .apply(&mut m, ContactKind::Slack)
            .unwrap();
        assert_eq!(
            m.title.as_deref(),
            Some("Error rate above 5 % on /pay Sev1")
        );

        let t = template(
            "t",
            Some("{% for i in range(100) %}word {% endfor %}"),
            None,
        );
        let mut m = page();
        Templates::new([&t])
            .apply(&mut m, ContactKind::Slack)
            .unwrap();
        let title = m.title.unwrap();
        assert_eq!(title.chars().count(), TITLE_MAX);
        assert!(title.ends_with('…'));

        // A title that renders empty keeps tocsin's headline.
        let t = template("t", Some("{% if false %}x{% endif %}"), None);
        let mut m = page();
        Templates::new([&t])
            .apply(&mut m, ContactKind::Slack)
            .unwrap();
        assert_eq!(m.title, None);
        assert_eq!(m.headline(), m.default_headline());
    }

    #[test]
    fn misspelt_variables_are_problems_naming_field_and_variable() {
        let t = template("t", Some("{{ incident.sevrity }}"), Some("{{ impcat }}"));
        let got = problems(&t);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, "title");
        assert!(
            got[0]
                .1
                .starts_with("line 1: `incident.sevrity` is not defined"),
            "{got:?}"
        );
        assert!(got[0].1.contains("severity"), "lists the fields: {got:?}");
        assert_eq!(got[1].0, "body");
        assert!(got[1].1.contains("`impcat` is not a variable"), "{got:?}");
    }

    #[test]
    fn runtime_errors_name_the_line_the_expression_and_the_message() {
        // A loop variable's field is only known when rendering.
        let mut t = template(
            "t",
            None,
            Some("Runbooks:\n{% for r in runbooks %}\n- {{ r.titel }}\n{% endfor %}"),
        );
        let got = problems(&t);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "body");
        assert_eq!(
            got[0].1,
            "line 3: `r.titel` is not defined (rendering a page message)"
        );
        // Only the kinds it applies to are tried.
        t.body = Some("{{ also[1].title }}".to_owned());
        t.messages = vec![MessageKind::Bundle];
        assert_eq!(problems(&t), vec![]);
        t.messages = vec![];
        assert_eq!(problems(&t).len(), 1);
    }

    #[test]
    fn syntax_errors_give_the_line_and_reason() {
        let t = template("t", None, Some("ok\n{% if impact %}\nno end"));
        let got = problems(&t);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "body");
        assert!(
            got[0]
                .1
                .starts_with("does not compile: line 3: syntax error: "),
            "{got:?}"
        );
    }

    #[test]
    fn a_title_rendering_empty_for_a_kind_it_applies_to_is_a_problem() {
        let mut t = template(
            "t",
            Some("{% if kind == 'page' %}PAGE {{ headline }}{% endif %}"),
            None,
        );
        let got = problems(&t);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].1.starts_with("renders empty for a resolved message"),
            "{got:?}"
        );
        t.messages = vec![MessageKind::Page];
        assert_eq!(problems(&t), vec![]);
    }

    #[test]
    fn ordinary_templates_have_no_problems() {
        let bodies = [
            "{% for i in also %}{{ loop.index }}. {{ i.title }} ({{ i.severity }})\n{% endfor %}",
            "{% set n = affected | length %}{{ n }} affected: {{ affected | join(', ') }}",
            "{% if recipient is defined and recipient %}For {{ recipient }}{% endif %}",
            "{% macro line(c) %}{{ c.at }} {{ c.summary }}{% endmacro %}\
             {% for c in changes %}{{ line(c) }}\n{% endfor %}",
            "{{ kind == 'page' }} {{ actions.acknowledge_url or actions.incident_url }}",
            "{{ (text or '') | upper }} {{ incident.opened_at }} {{ range(2) | list }}",
            "{{ runbooks | map(attribute='url') | join(' ') }} {{ first_steps | default('') }}",
        ];
        for body in bodies {
            let t = template("t", None, Some(body));
            assert_eq!(problems(&t), vec![], "{body}");
        }
    }

    /// The examples in docs/notifications.md, with the output shown there.
    #[test]
    fn the_documented_examples_render_as_shown() {
        let slack = template(
            "slack-short",
            Some("{{ severity }} {{ incident.service }}: {{ incident.title }}"),
            None,
        );
        let email = template(
            "email-pages",
            None,
            Some(concat!(
                "{{ incident.service }} ({{ severity }}, {{ incident.status }}), ",
                "from {{ incident.source }}.\n",
                "{% if impact %}\n",
                "What customers see: {{ impact }}\n",
                "{% endif %}\n",
                "{% if first_steps %}\n",
                "\n",
                "First steps:\n",
                "{{ first_steps }}\n",
                "{% endif %}\n",
                "{% for r in runbooks %}\n",
                "Runbook: {{ r.title }}: {{ r.url }}\n",
                "{% endfor %}\n",
            )),
        );
        assert_eq!(problems(&slack), vec![]);
        assert_eq!(problems(&email), vec![]);
        let mut m = page();
        Templates::new([&slack])
            .apply(&mut m, ContactKind::Slack)
            .unwrap();
        assert_eq!(m.headline(), "Sev1 checkout: Error rate above 5 % on /pay");
        let mut m = page();
        Templates::new([&email])
            .apply(&mut m, ContactKind::Email)
            .unwrap();
        assert_eq!(
            m.body.as_deref(),
            Some(concat!(
                "checkout (Sev1, triggered), from prometheus-prod.\n",
                "What customers see: Customers cannot pay.\n",
                "\n",
                "First steps:\n",
                "1. Check the provider's status page.\n",
                "2. Roll back.\n",
                "Runbook: Checkout runbook: https://wiki.example.com/runbooks/checkout",
            ))
        );
    }

    #[test]
    fn every_variable_is_there_for_every_kind() {
        let body = VARIABLES
            .iter()
            .map(|v| format!("{v}={{{{ {v} }}}}"))
            .collect::<Vec<_>>()
            .join("\n");
        let t = template("t", None, Some(&body));
        assert_eq!(problems(&t), vec![]);
        let mut m = sample(MessageKind::DeadLetter, true);
        Templates::new([&t])
            .apply(&mut m, ContactKind::Email)
            .unwrap();
        let body = m.body.unwrap();
        assert!(body.contains("kind=dead_letter"), "{body}");
        assert!(body.contains("severity=Sev1"), "{body}");
        assert!(
            body.contains("headline=Undelivered notification: Sev1 #42 checkout"),
            "{body}"
        );
    }
}
