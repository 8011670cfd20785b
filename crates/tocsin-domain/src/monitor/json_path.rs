//! A small JSON-path subset for HTTP body expectations.
//!
//! Grammar: `$` followed by any number of steps, each either `.name`
//! (a member; letters, digits, `_` and `-`), `["name"]` (a member with
//! any characters but `"`), or `[N]` (an array index from 0). Examples:
//! `$.status`, `$.checks[0].ok`, `$["x.y"]`. No wildcards, filters,
//! slices or recursive descent: a health check names one value.

use serde_json::Value;
use std::fmt;

/// One step into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Member(String),
    Index(usize),
}

/// A parsed path (see the module documentation for the subset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

/// Why a path did not parse, with the byte position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad JSON path {path:?} at position {at}: {what} (use forms like $.a.b[0] or $[\"a b\"])")]
pub struct JsonPathError {
    pub path: String,
    pub at: usize,
    pub what: &'static str,
}

impl JsonPath {
    pub fn parse(text: &str) -> Result<Self, JsonPathError> {
        let err = |at: usize, what| JsonPathError {
            path: text.to_owned(),
            at,
            what,
        };
        let bytes = text.as_bytes();
        if bytes.first() != Some(&b'$') {
            return Err(err(0, "a path starts with $"));
        }
        let mut steps = Vec::new();
        let mut i = 1;
        while i < bytes.len() {
            match bytes[i] {
                b'.' => {
                    let start = i + 1;
                    let mut end = start;
                    while end < bytes.len()
                        && (bytes[end].is_ascii_alphanumeric() || matches!(bytes[end], b'_' | b'-'))
                    {
                        end += 1;
                    }
                    if end == start {
                        return Err(err(start, "expected a member name after ."));
                    }
                    steps.push(Step::Member(text[start..end].to_owned()));
                    i = end;
                }
                b'[' if bytes.get(i + 1) == Some(&b'"') => {
                    let start = i + 2;
                    let close = text[start..]
                        .find("\"]")
                        .ok_or_else(|| err(i, "unclosed [\"…\"]"))?;
                    steps.push(Step::Member(text[start..start + close].to_owned()));
                    i = start + close + 2;
                }
                b'[' => {
                    let start = i + 1;
                    let close = text[start..]
                        .find(']')
                        .ok_or_else(|| err(i, "unclosed [ ]"))?;
                    let index = text[start..start + close]
                        .parse::<usize>()
                        .map_err(|_| err(start, "expected an array index (0, 1, …)"))?;
                    steps.push(Step::Index(index));
                    i = start + close + 1;
                }
                _ => return Err(err(i, "expected . or [")),
            }
        }
        Ok(Self {
            text: text.to_owned(),
            steps,
        })
    }

    /// The value at this path, if there is one.
    pub fn lookup<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.steps.iter().try_fold(value, |v, step| match step {
            Step::Member(name) => v.get(name.as_str()),
            Step::Index(i) => v.get(*i),
        })
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_find_values() {
        let doc = json!({"a": {"b": [10, {"c": "x"}]}, "x.y": true, "k-1": null});
        let cases = [
            ("$", Some(doc.clone())),
            ("$.a.b[0]", Some(json!(10))),
            ("$.a.b[1].c", Some(json!("x"))),
            ("$[\"x.y\"]", Some(json!(true))),
            ("$.k-1", Some(Value::Null)),
            ("$.a.b[2]", None),
            ("$.a.missing", None),
            ("$.a[0]", None),
        ];
        for (path, want) in cases {
            let p = JsonPath::parse(path).map_err(|e| e.to_string());
            assert_eq!(p.map(|p| p.lookup(&doc).cloned()), Ok(want), "{path}");
        }
    }

    #[test]
    fn bad_paths_say_where() {
        for (path, at) in [("a.b", 0), ("$.", 2), ("$[x]", 2), ("$[0", 1), ("$a", 1)] {
            assert_eq!(JsonPath::parse(path).map_err(|e| e.at), Err(at), "{path}");
        }
    }
}
