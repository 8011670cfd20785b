//! Alertmanager label matchers: `alertname="DiskFull"`, `env!=staging`,
//! `instance=~"db-.*"`, `job!~"test.*"`.

use crate::catalog::is_label_name;
use regex::Regex;
use std::collections::BTreeMap;
use std::fmt;

/// How a matcher compares a label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`: the value is exactly this.
    Equal,
    /// `!=`: the value is anything but this.
    NotEqual,
    /// `=~`: the whole value matches the regular expression.
    Regex,
    /// `!~`: the whole value does not match the regular expression.
    NotRegex,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One parsed matcher. Equality compares the label, operator and value.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    /// The value with quotes and escapes removed; for the regex operators,
    /// the expression as written (without the anchors).
    pub value: String,
    /// For `=~` and `!~`: `^(?:value)$`, anchored like Alertmanager.
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.label == other.label && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

const OPERATORS: &str = "use one of =, !=, =~, !~";

/// Characters that start (or look like the start of) an operator.
fn is_operator_char(c: char) -> bool {
    matches!(c, '=' | '!' | '~' | '<' | '>')
}

impl Matcher {
    /// Parses `label op value`, spaces around each part allowed; the value
    /// may be double-quoted (then `\"`, `\\` and `\n` are escapes). The
    /// error message says what is wrong.
    pub fn parse(s: &str) -> Result<Matcher, String> {
        let text = s.trim();
        if text.is_empty() {
            return Err(
                "an empty matcher; write label, operator and value, e.g. alertname=\"DiskFull\""
                    .to_owned(),
            );
        }
        let Some(at) = text.find(is_operator_char) else {
            return Err(format!("{text:?} has no operator; {OPERATORS}"));
        };
        let label = text[..at].trim_end();
        if label.is_empty() {
            return Err(format!("{text:?} has no label name before the operator"));
        }
        if !is_label_name(label) {
            return Err(format!(
                "{label:?} is not a label name (letters, digits and _, not starting with a digit)"
            ));
        }
        let rest = &text[at..];
        let op = [
            ("=~", MatchOp::Regex),
            ("!=", MatchOp::NotEqual),
            ("!~", MatchOp::NotRegex),
            ("=", MatchOp::Equal),
        ]
        .into_iter()
        .find(|(tok, _)| rest.starts_with(tok));
        let Some((tok, op)) = op else {
            let end = rest
                .find(|c: char| !is_operator_char(c))
                .unwrap_or(rest.len());
            return Err(format!("unknown operator {:?}; {OPERATORS}", &rest[..end]));
        };
        let value = unquote(rest[tok.len()..].trim())?;
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(compile(&value)?),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Matcher {
            label: label.to_owned(),
            op,
            value,
            regex,
        })
    }

    /// Whether the labels satisfy this matcher. A label that is absent
    /// counts as the empty string (Alertmanager semantics): `env=""` matches
    /// alerts without `env`, `env!="prod"` matches them too.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.label).map(String::as_str).unwrap_or("");
        self.matches_value(v)
    }

    /// Whether a label value (the empty string for an absent label) matches.
    pub fn matches_value(&self, v: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => v == self.value,
            (MatchOp::NotEqual, _) => v != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(v),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(v),
            // Not reachable through `parse`, which always compiles.
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }
}

/// Compiles a matcher's expression anchored at both ends, reporting errors
/// against the expression as written.
fn compile(value: &str) -> Result<Regex, String> {
    Regex::new(value).map_err(|e| {
        // A syntax error's text is a small drawing ending in
        // "error: <what>"; keep the last line.
        let text = e.to_string();
        let what = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or(&text)
            .trim();
        let what = what.strip_prefix("error: ").unwrap_or(what);
        format!("{value:?} is not a valid regular expression: {what}")
    })?;
    Regex::new(&format!("^(?:{value})$"))
        .map_err(|e| format!("{value:?} is not a valid regular expression: {e}"))
}

/// The value as written: a double-quoted string with escapes, or the bare
/// text.
fn unquote(raw: &str) -> Result<String, String> {
    let Some(body) = raw.strip_prefix('"') else {
        return Ok(raw.to_owned());
    };
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let after = &body[i + 1..];
                if !after.trim().is_empty() {
                    return Err(format!(
                        "unexpected {:?} after the closing quote of the value",
                        after.trim()
                    ));
                }
                return Ok(out);
            }
            '\\' => match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, other)) => {
                    return Err(format!(
                        "unknown escape \\{other} in the value; use \\\", \\\\ or \\n"
                    ));
                }
                None => break,
            },
            other => out.push(other),
        }
    }
    Err(format!("the value {raw} has no closing quote"))
}

/// A value quoted the way [`unquote`] reads it.
fn quote(value: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("\"")?;
    for c in value.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            other => write!(f, "{other}")?,
        }
    }
    f.write_str("\"")
}

impl fmt::Display for Matcher {
    /// The canonical form: `label op "value"`, without spaces, which
    /// [`Matcher::parse`] reads back to an equal matcher.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.label, self.op)?;
        quote(&self.value, f)
    }
}
