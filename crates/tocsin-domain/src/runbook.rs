//! Runbook actions ([`RunbookAction`]) as rules: the checks of a declared
//! action's parameters and templates, the values typed in chat checked
//! against its parameters ([`check_params`]), who may run it
//! ([`may_run`]), and what exactly runs ([`render`] → [`Plan`]). Running
//! the plan is the core's (`tocsin_core::runbook`).
//!
//! Templates are minijinja, configured as message templates are (strict
//! about undefined variables, bounded by fuel, no escaping). They see
//! [`VARIABLES`]: `params` (every declared parameter by name, typed; an
//! optional one not given is `none`, which prints as nothing), `action`
//! (its name), `incident` (the number the command named, or `none`) and
//! `by` (who runs it).
//!
//! Invariants:
//! - A program's path (`command[0]`) is an absolute path written in the
//!   manifest, never a template: chat chooses arguments, not programs.
//! - An HTTP action's scheme and host are written in the manifest, never
//!   a template: chat cannot send the request elsewhere.
//! - A value typed in chat reaches a template only after its parameter's
//!   checks (type, choices, pattern, length, no control characters).

use crate::Name;
use crate::access::{Principal, Role};
use crate::catalog::{ParamType, Parameter, RunbookAction, Scalar};
use crate::notify::template::{self, describe};
use jiff::SignedDuration;
use minijinja::Environment;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The longest description kept, in characters.
pub const DESCRIPTION_MAX: usize = 500;

/// How long an action may run when its manifest says nothing.
pub const DEFAULT_TIMEOUT: SignedDuration = SignedDuration::from_secs(30);

/// The longest timeout an action may declare.
pub const MAX_TIMEOUT: SignedDuration = SignedDuration::from_mins(10);

/// The longest value a parameter takes from chat, in characters.
pub const VALUE_MAX: usize = 1000;

/// The variables a runbook template sees.
pub const VARIABLES: [&str; 4] = ["params", "action", "incident", "by"];

/// The HTTP methods an action may use.
pub const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// `30s`, `2m`, `1m30s`: at least a second, at most [`MAX_TIMEOUT`].
pub fn parse_timeout(s: &str) -> Result<SignedDuration, String> {
    let bad = || format!("{s:?} is not a timeout; write e.g. 30s, 2m or 1m30s");
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut secs: i64 = 0;
    while !rest.is_empty() {
        let n_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (num, after) = rest.split_at(n_len);
        let u_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(u_len);
        let per = match unit {
            "s" => 1,
            "m" | "min" => 60,
            _ => return Err(bad()),
        };
        let n: i64 = num.parse().map_err(|_| bad())?;
        secs = n
            .checked_mul(per)
            .and_then(|x| secs.checked_add(x))
            .ok_or_else(bad)?;
        rest = after;
    }
    let d = SignedDuration::from_secs(secs);
    if secs < 1 {
        return Err(format!("{s:?} is no time at all; at least 1s"));
    }
    if d > MAX_TIMEOUT {
        return Err(format!(
            "{s:?} is longer than the 10m an action may run; split longer work or run it elsewhere"
        ));
    }
    Ok(d)
}

/// The action's timeout ([`DEFAULT_TIMEOUT`] when absent; a declared one
/// was checked when the catalog was applied).
pub fn timeout(a: &RunbookAction) -> SignedDuration {
    a.timeout
        .as_deref()
        .and_then(|t| parse_timeout(t).ok())
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// A parameter's value, typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Text(String),
    Integer(i64),
    Boolean(bool),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(s) => f.write_str(s),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Boolean(b) => write!(f, "{b}"),
        }
    }
}

/// A regular expression matching a whole value.
fn whole(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
}

/// A value of parameter `p` as typed in chat (or its default written as
/// text), checked: `Err` says why not, in words.
fn typed(p: &Parameter, raw: &str) -> Result<Value, String> {
    if raw.chars().count() > VALUE_MAX {
        return Err(format!("is longer than {VALUE_MAX} characters"));
    }
    if raw.chars().any(char::is_control) {
        return Err("contains a control character (a line break, a tab, …)".to_owned());
    }
    match p.kind {
        ParamType::Integer => raw
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| format!("{raw:?} is not an integer")),
        ParamType::Boolean => match raw.to_ascii_lowercase().as_str() {
            "true" | "yes" => Ok(Value::Boolean(true)),
            "false" | "no" => Ok(Value::Boolean(false)),
            _ => Err(format!("{raw:?} is not a boolean; write true or false")),
        },
        ParamType::Choice => match p.choices.iter().any(|c| c == raw) {
            true => Ok(Value::Text(raw.to_owned())),
            false => Err(format!("{raw:?} is not one of {}", p.choices.join(", "))),
        },
        ParamType::String => {
            if let Some(pattern) = &p.pattern {
                let re =
                    whole(pattern).map_err(|e| format!("its pattern does not compile: {e}"))?;
                if !re.is_match(raw) {
                    return Err(format!("{raw:?} does not match the pattern {pattern}"));
                }
            }
            Ok(Value::Text(raw.to_owned()))
        }
    }
}

/// Problems with one declared parameter, as `(field, message)`.
pub(crate) fn parameter_problems(p: &Parameter) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut report = |field: &str, m: String| out.push((field.to_owned(), m));
    match p.kind {
        ParamType::Choice if p.choices.is_empty() => report(
            "choices",
            "a choice parameter needs its choices: choices: [a, b]".into(),
        ),
        ParamType::Choice => {
            for (i, c) in p.choices.iter().enumerate() {
                if p.choices[..i].contains(c) {
                    report(&format!("choices[{i}]"), format!("{c:?} is listed twice"));
                }
                if c.is_empty() || c.chars().any(char::is_control) {
                    report(
                        &format!("choices[{i}]"),
                        "must be a non-empty word without control characters".into(),
                    );
                }
            }
        }
        kind if !p.choices.is_empty() => report(
            "choices",
            format!(
                "only a choice parameter has choices; this one is {}",
                kind.as_str()
            ),
        ),
        _ => {}
    }
    let mut pattern_ok = true;
    if let Some(pattern) = &p.pattern {
        if p.kind != ParamType::String {
            report(
                "pattern",
                format!(
                    "only a string parameter has a pattern; this one is {}",
                    p.kind.as_str()
                ),
            );
        } else if let Err(e) = whole(pattern) {
            pattern_ok = false;
            let first = e.to_string();
            let line = first.lines().last().unwrap_or_default().trim().to_owned();
            report("pattern", format!("is not a regular expression: {line}"));
        }
    }
    if let Some(d) = &p.default {
        if p.required {
            report(
                "default",
                "a required parameter takes no default; drop one of them".into(),
            );
        }
        let kind_ok = matches!(
            (p.kind, d),
            (ParamType::Integer, Scalar::Integer(_))
                | (ParamType::Boolean, Scalar::Boolean(_))
                | (ParamType::String | ParamType::Choice, Scalar::Text(_))
        );
        if !kind_ok {
            report(
                "default",
                format!(
                    "{:?} is not a value of a {} parameter",
                    d.as_text(),
                    p.kind.as_str()
                ),
            );
        } else if pattern_ok && let Err(e) = typed(p, &d.as_text()) {
            report("default", e);
        }
    }
    out
}

/// What a template sees.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Context {
    /// Every declared parameter; `None` for an optional one not given.
    pub params: BTreeMap<String, Option<Value>>,
    pub action: String,
    pub incident: Option<i64>,
    pub by: String,
}

/// One wrong value typed in chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter (`target` for the value after `on`).
    pub parameter: String,
    pub reason: String,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "parameter {}: {}", self.parameter, self.reason)
    }
}

/// Checks the values typed in chat (`target` after `on`, `key=value`
/// pairs) against the action's parameters: every problem, each naming
/// its parameter, or every parameter's value (defaults applied).
pub fn check_params(
    a: &RunbookAction,
    target: Option<&Name>,
    given: &BTreeMap<Name, String>,
) -> Result<BTreeMap<String, Option<Value>>, Vec<ParamError>> {
    let mut errors = Vec::new();
    let mut err = |parameter: &str, reason: String| {
        errors.push(ParamError {
            parameter: parameter.to_owned(),
            reason,
        })
    };
    let declared: Vec<&str> = a.parameters.iter().map(|p| p.name.as_str()).collect();
    let mut raw: BTreeMap<&str, String> = BTreeMap::new();
    if let Some(t) = target {
        if a.parameter("target").is_none() {
            err(
                "target",
                format!("{} takes no target; leave out \"on {t}\"", a.name),
            );
        } else if given.keys().any(|k| k.as_str() == "target") {
            err(
                "target",
                "is given twice (after \"on\" and as target=); give it once".into(),
            );
        } else {
            raw.insert("target", t.to_string());
        }
    }
    for (k, v) in given {
        if declared.contains(&k.as_str()) {
            raw.insert(k.as_str(), v.clone());
        } else {
            let takes = match declared.as_slice() {
                [] => "it takes no parameters".to_owned(),
                d => format!("it takes {}", d.join(", ")),
            };
            err(
                k.as_str(),
                format!("{} has no such parameter; {takes}", a.name),
            );
        }
    }
    let mut out = BTreeMap::new();
    for p in &a.parameters {
        let name = p.name.as_str();
        let value = match raw.get(name) {
            Some(v) if v.is_empty() && p.required => {
                err(name, "must not be empty".into());
                None
            }
            Some(v) => match typed(p, v) {
                Ok(v) => Some(v),
                Err(e) => {
                    err(name, e);
                    None
                }
            },
            None if p.required => {
                let how = match name {
                    "target" => format!("run {} on <target>", a.name),
                    _ => format!("{name}=<value>"),
                };
                err(name, format!("is required; write {how}"));
                None
            }
            None => p.default.as_ref().and_then(|d| typed(p, &d.as_text()).ok()),
        };
        out.insert(name.to_owned(), value);
    }
    match errors.is_empty() {
        true => Ok(out),
        false => Err(errors),
    }
}

/// Whether `who` may run `a`: admins always; else the least role
/// (`allowed.role`, default responder) and membership of one of
/// `allowed.teams` or being one of `allowed.users` — with neither listed,
/// membership of the owning team. `Err` says why not.
pub fn may_run(a: &RunbookAction, who: &Principal) -> Result<(), String> {
    if who.role == Role::Admin {
        return Ok(());
    }
    let allowed = a.allowed.clone().unwrap_or_default();
    let role = allowed.role.unwrap_or(Role::Responder);
    let teams: Vec<Name> = match (allowed.teams.is_empty(), allowed.users.is_empty()) {
        (true, true) => vec![a.team.clone()],
        _ => allowed.teams.clone(),
    };
    let mut whom = Vec::new();
    if !teams.is_empty() {
        let t: Vec<&str> = teams.iter().map(Name::as_str).collect();
        whom.push(format!("members of {}", t.join(", ")));
    }
    if !allowed.users.is_empty() {
        let u: Vec<&str> = allowed.users.iter().map(Name::as_str).collect();
        whom.push(u.join(", "));
    }
    let whom = format!(
        "{} with the role {} or above, and admins",
        whom.join(" and "),
        role.as_str()
    );
    if who.role < role {
        return Err(format!(
            "you may not run {}: it is for {whom}; you are {}",
            a.name,
            who.role.as_str()
        ));
    }
    let member = teams.iter().any(|t| who.teams.contains(t));
    let named = who.user.as_ref().is_some_and(|u| allowed.users.contains(u));
    if member || named {
        Ok(())
    } else {
        Err(format!("you may not run {}: it is for {whom}", a.name))
    }
}

/// What runs, rendered: exactly what the confirmation prompt shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Plan {
    /// A program with its arguments, run without a shell.
    Command { argv: Vec<String> },
    /// An HTTP request.
    Http {
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        body: Option<String>,
    },
}

impl Plan {
    /// In words, for the prompt and the record: the argv (each argument
    /// that is not one plain word in single quotes, for reading only —
    /// no shell is involved), or the method and URL.
    pub fn describe(&self) -> String {
        match self {
            Plan::Command { argv } => argv
                .iter()
                .map(|a| display_arg(a))
                .collect::<Vec<_>>()
                .join(" "),
            Plan::Http {
                method, url, body, ..
            } => match body {
                Some(b) => format!("{method} {url} (body of {} bytes)", b.len()),
                None => format!("{method} {url}"),
            },
        }
    }
}

fn display_arg(a: &str) -> String {
    let plain = !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        a.to_owned()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

/// The engine runbook templates render in: message templates' (strict,
/// fuel, no escaping, `none` as nothing) plus a `urlencode` filter that
/// percent-encodes everything but RFC 3986's unreserved characters (`none`
/// becomes empty), for values put into URLs.
fn environment() -> Environment<'static> {
    let mut env = template::environment();
    env.add_filter("urlencode", |v: minijinja::Value| -> String {
        if v.is_none() || v.is_undefined() {
            return String::new();
        }
        let text = match v.as_str() {
            Some(s) => s.to_owned(),
            None => v.to_string(),
        };
        let mut out = String::with_capacity(text.len());
        for b in text.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    });
    env
}

/// Whether a text holds template syntax.
fn templated(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// A URL's scheme and host part (up to the first `/` after `://`), if it
/// has an http(s) scheme.
fn fixed_origin(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host_end = rest.find('/').unwrap_or(rest.len());
    let origin_len = url.len() - rest.len() + host_end;
    let origin = url.get(..origin_len)?;
    (host_end > 0).then_some(origin)
}

/// Whether a header name is an HTTP token.
fn header_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// Each template of an action: its field path and source.
fn templates(a: &RunbookAction) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    if let Some(argv) = &a.command {
        for (i, arg) in argv.iter().enumerate().skip(1) {
            out.push((format!("command[{i}]"), arg.as_str()));
        }
    }
    if let Some(h) = &a.http {
        out.push(("http.url".to_owned(), h.url.as_str()));
        for (k, v) in &h.headers {
            out.push((format!("http.headers.{k}"), v.as_str()));
        }
        if let Some(b) = &h.body {
            out.push(("http.body".to_owned(), b.as_str()));
        }
    }
    out
}

/// A sample value of a parameter, for checking templates.
fn sample(p: &Parameter) -> Value {
    if let Some(v) = p.default.as_ref().and_then(|d| typed(p, &d.as_text()).ok()) {
        return v;
    }
    match p.kind {
        ParamType::Integer => Value::Integer(1),
        ParamType::Boolean => Value::Boolean(true),
        ParamType::Choice => Value::Text(p.choices.first().cloned().unwrap_or_default()),
        ParamType::String => Value::Text("sample".to_owned()),
    }
}

/// The two sample contexts a template must render in: every parameter
/// given, and only the required ones.
fn samples(a: &RunbookAction) -> [Context; 2] {
    let cx = |all: bool| Context {
        params: a
            .parameters
            .iter()
            .map(|p| {
                let v = (all || p.required || p.default.is_some()).then(|| sample(p));
                (p.name.to_string(), v)
            })
            .collect(),
        action: a.name.to_string(),
        incident: all.then_some(8),
        by: "alice".to_owned(),
    };
    [cx(true), cx(false)]
}

/// Problems with an action's command, request and templates, as
/// `(field, message)`: the program's path, the URL's fixed origin, the
/// method, header names, templates that do not compile, use a variable or
/// parameter that does not exist, or fail to render for sample values.
pub(crate) fn template_problems(a: &RunbookAction) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(argv) = &a.command {
        match argv.first() {
            None => out.push((
                "command".to_owned(),
                "is empty; list the program's absolute path, then its arguments".to_owned(),
            )),
            Some(p) if templated(p) => out.push((
                "command[0]".to_owned(),
                "the program must be written out, not a template: chat chooses arguments, not programs"
                    .to_owned(),
            )),
            Some(p) if !p.starts_with('/') => out.push((
                "command[0]".to_owned(),
                format!(
                    "{p:?} is not an absolute path; write the program's full path (e.g. /usr/bin/systemctl), which must be on the hub's --runbook-command list"
                ),
            )),
            Some(_) => {}
        }
    }
    if let Some(h) = &a.http {
        if !METHODS.contains(&h.method.as_str()) {
            out.push((
                "http.method".to_owned(),
                format!(
                    "{:?} is not a method an action may use ({})",
                    h.method,
                    METHODS.join(", ")
                ),
            ));
        }
        match fixed_origin(&h.url) {
            None => out.push((
                "http.url".to_owned(),
                format!("{:?} is not an http(s) URL", h.url),
            )),
            Some(origin) if templated(origin) => out.push((
                "http.url".to_owned(),
                "the scheme and host must be written out, not templated: chat cannot send the request elsewhere"
                    .to_owned(),
            )),
            Some(_) => {}
        }
        for k in h.headers.keys() {
            if !header_name(k) {
                out.push((
                    format!("http.headers.{k}"),
                    format!("{k:?} is not a header name"),
                ));
            }
        }
    }
    let declared: BTreeSet<&str> = a.parameters.iter().map(|p| p.name.as_str()).collect();
    let contexts = samples(a);
    for (field, source) in templates(a) {
        let mut env = environment();
        if let Err(e) = env.add_template_owned("t", source.to_owned()) {
            out.push((field, format!("does not compile: {}", describe(&e, source))));
            continue;
        }
        let Ok(template) = env.get_template("t") else {
            continue;
        };
        let globals: Vec<&str> = env.globals().map(|(name, _)| name).collect();
        let mut unknown = Vec::new();
        for path in template.undeclared_variables(true) {
            let mut parts = path.split('.');
            let first = parts.next().unwrap_or_default();
            if globals.contains(&first) {
                continue;
            }
            if !VARIABLES.contains(&first) {
                unknown.push(format!(
                    "`{first}` is not a variable an action can use (there are: {})",
                    VARIABLES.join(", ")
                ));
            } else if first == "params"
                && let Some(p) = parts.next()
                && !declared.contains(p)
            {
                let known: Vec<&str> = declared.iter().copied().collect();
                unknown.push(format!(
                    "`params.{p}` is not a declared parameter (there are: {})",
                    match known.as_slice() {
                        [] => "none".to_owned(),
                        k => k.join(", "),
                    }
                ));
            }
        }
        unknown.sort();
        unknown.dedup();
        if !unknown.is_empty() {
            out.extend(unknown.into_iter().map(|u| (field.clone(), u)));
            continue;
        }
        for cx in &contexts {
            if let Err(e) = render_one(&env, cx) {
                out.push((
                    field.clone(),
                    format!("{} (rendering sample values)", describe(&e, source)),
                ));
                break;
            }
        }
    }
    out
}

fn render_one(env: &Environment<'_>, cx: &Context) -> Result<String, minijinja::Error> {
    env.get_template("t")?
        .render(minijinja::Value::from_serialize(cx))
}

/// Renders one template of field `field`.
fn render_field(field: &str, source: &str, cx: &Context) -> Result<String, String> {
    let mut env = environment();
    env.add_template_owned("t", source.to_owned())
        .and_then(|()| render_one(&env, cx))
        .map_err(|e| format!("{field}: {}", describe(&e, source)))
}

/// What `a` runs with these values: each template rendered. `Err` names
/// the field that failed and why (a stored action written by another
/// version, or a value that makes a template fail).
pub fn render(a: &RunbookAction, cx: &Context) -> Result<Plan, String> {
    if let Some(argv) = &a.command {
        let mut out = Vec::with_capacity(argv.len());
        for (i, arg) in argv.iter().enumerate() {
            out.push(match i {
                0 => arg.clone(),
                _ => render_field(&format!("command[{i}]"), arg, cx)?,
            });
        }
        if out.iter().any(|a| a.contains('\0')) {
            return Err("command: an argument renders with a NUL character".to_owned());
        }
        return Ok(Plan::Command { argv: out });
    }
    let Some(h) = &a.http else {
        return Err(format!("{} declares neither command nor http", a.name));
    };
    let url = render_field("http.url", &h.url, cx)?;
    if fixed_origin(&url) != fixed_origin(&h.url) || url.contains(char::is_whitespace) {
        return Err(format!(
            "http.url: renders to {url:?}, not a URL on the declared host"
        ));
    }
    let mut headers = Vec::new();
    for (k, v) in &h.headers {
        let value = render_field(&format!("http.headers.{k}"), v, cx)?;
        if value.contains(['\r', '\n']) {
            return Err(format!("http.headers.{k}: renders with a line break"));
        }
        headers.push((k.clone(), value));
    }
    let body = h
        .body
        .as_deref()
        .map(|b| render_field("http.body", b, cx))
        .transpose()?;
    Ok(Plan::Http {
        method: h.method.clone(),
        url,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests;
