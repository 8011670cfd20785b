//! Splitting a command line into words, and quoting text so that it splits
//! back into the same words.
//!
//! Words are separated by whitespace. A word that *starts* with `"`, `“`
//! or `”` is a quoted string running to the matching close (`"` closes `"`;
//! `”` closes `“` and `”`), whitespace and newlines included; inside it `\`
//! before `\`, `"`, `“` or `”` stands for that character, any other `\` is
//! itself. A quote inside a word (`5"`, `don't`) is an ordinary character,
//! so prose needs no care. One more place opens a quoted string: right
//! after the `=` of a `key=` word, so `reason="stuck workers"` is one word.

use std::iter::Peekable;
use std::str::CharIndices;

/// One word of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// The word as meant: quotes removed, escapes applied.
    pub value: String,
    /// Byte range in the input, quotes included.
    pub start: usize,
    pub end: usize,
    /// The whole word was a quoted string: it is taken as text, never as a
    /// keyword, a flag or an incident number.
    pub quoted: bool,
}

/// A quoted string that is never closed: the quote and its byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unterminated {
    pub quote: char,
    pub at: usize,
}

impl Unterminated {
    /// 1-based character position of the opening quote, as people count.
    pub fn column(&self, input: &str) -> usize {
        input.get(..self.at).map_or(0, |s| s.chars().count()) + 1
    }
}

/// The closing quote for an opening one.
fn closing(c: char) -> Option<char> {
    match c {
        '"' => Some('"'),
        '“' | '”' => Some('”'),
        _ => None,
    }
}

fn escapable(c: char) -> bool {
    matches!(c, '\\' | '"' | '“' | '”')
}

/// Characters of a `key` before `=` that may open a quoted value.
fn key_like(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

type Chars<'a> = Peekable<CharIndices<'a>>;

/// Reads a quoted body after its opening quote, through the closing one.
fn quoted_body(it: &mut Chars<'_>, close: char) -> Option<String> {
    let mut s = String::new();
    while let Some((_, c)) = it.next() {
        if c == close {
            return Some(s);
        }
        if c == '\\'
            && let Some(&(_, n)) = it.peek()
            && escapable(n)
        {
            it.next();
            s.push(n);
            continue;
        }
        s.push(c);
    }
    None
}

pub(crate) fn tokenize(input: &str) -> Result<Vec<Token>, Unterminated> {
    let mut out = Vec::new();
    let mut it = input.char_indices().peekable();
    let here = |it: &mut Chars<'_>| it.peek().map_or(input.len(), |&(i, _)| i);
    while let Some(&(start, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
            continue;
        }
        if let Some(close) = closing(c) {
            it.next();
            let value = quoted_body(&mut it, close).ok_or(Unterminated {
                quote: c,
                at: start,
            })?;
            let end = here(&mut it);
            out.push(Token {
                value,
                start,
                end,
                quoted: true,
            });
            continue;
        }
        let mut value = String::new();
        while let Some(&(_, c)) = it.peek() {
            if c.is_whitespace() {
                break;
            }
            it.next();
            if c == '='
                && key_like(&value)
                && let Some(&(at, q)) = it.peek()
                && let Some(close) = closing(q)
            {
                it.next();
                value.push('=');
                let v = quoted_body(&mut it, close).ok_or(Unterminated { quote: q, at })?;
                value.push_str(&v);
                break;
            }
            value.push(c);
        }
        let end = here(&mut it);
        out.push(Token {
            value,
            start,
            end,
            quoted: false,
        });
    }
    Ok(out)
}

/// `s` as one quoted word: `"…"` with `\` and `"` escaped.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A parameter value as written after `key=`: bare when it is one plain
/// word, else quoted.
pub(crate) fn quote_value(s: &str) -> String {
    let plain = !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || escapable(c) || closing(c).is_some());
    if plain { s.to_owned() } else { quote(s) }
}

/// Free text written so that it reads back as itself: verbatim when its
/// words cannot be mistaken for anything (`ambiguous` says what the
/// command would mistake), quoted otherwise.
pub(crate) fn text(s: &str, ambiguous: impl Fn(&[Token]) -> bool) -> String {
    let verbatim = s.trim() == s
        && match tokenize(s).as_deref() {
            Err(_) | Ok([]) => false,
            Ok([only]) if only.quoted => false,
            Ok(toks) => !ambiguous(toks),
        };
    if verbatim { s.to_owned() } else { quote(s) }
}
