//! A runbook action: a declared, reviewed operation that responders may
//! run from chat (`run restart-web on web-2`) — an HTTP request or a
//! program run with its arguments as argv (never through a shell), each
//! part a minijinja template over the action's typed parameters.
//!
//! This file holds the declared shape and the rules checked before it is
//! applied; checking the values typed in chat, who may run an action and
//! rendering what runs live in [`crate::runbook`]; running it is the
//! core's.

use super::Checks;
use crate::Name;
use crate::access::Role;
use crate::runbook;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunbookAction {
    pub name: Name,
    /// What it does, shown in its confirmation prompt and listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The team that owns it.
    pub team: Name,
    /// Who may run it; absent = the owning team's members (responders and
    /// up). Admins always may.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Allowed>,
    /// Its parameters; the value after `on` in chat is the parameter named
    /// `target`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    /// How long it may run: `30s`, `2m`, `1m30s`; default 30 s, at most
    /// 10 min. A program still running then is killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// An HTTP request to make (exactly one of `http` and `command`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCall>,
    /// A program to run: `[absolute path, arguments…]`, the arguments
    /// templates, the path not (it must be on the hub's allow-list,
    /// `tocsin serve --runbook-command`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
}

/// Who may run an action, besides admins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowed {
    /// Members of these teams. With neither `teams` nor `users`, the
    /// owning team.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<Name>,
    /// These people, whatever their teams.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<Name>,
    /// The least role they need (`responder`, `manager`, `admin`);
    /// default `responder`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// The kind of value a parameter takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    #[default]
    String,
    Integer,
    Boolean,
    /// One of `choices`.
    Choice,
}

impl ParamType {
    pub const fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Boolean => "boolean",
            ParamType::Choice => "choice",
        }
    }
}

/// A default value as written in YAML: `3`, `true`, `web-1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Boolean(bool),
    Integer(i64),
    Text(String),
}

impl Scalar {
    /// As typed in chat (`true`, `3`, `web-1`).
    pub fn as_text(&self) -> String {
        match self {
            Scalar::Boolean(b) => b.to_string(),
            Scalar::Integer(i) => i.to_string(),
            Scalar::Text(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    pub name: Name,
    #[serde(rename = "type", default)]
    pub kind: ParamType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The values a `choice` parameter takes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// The value when none is given (not with `required`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Scalar>,
    /// A regular expression a `string` value must match as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

/// An HTTP request; `url`, header values and `body` are templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCall {
    /// `GET`, `POST` (default), `PUT`, `PATCH`, `DELETE`.
    #[serde(default = "default_method")]
    pub method: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

fn default_method() -> String {
    "POST".to_owned()
}

impl RunbookAction {
    /// The parameter named `name`, if declared.
    pub fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name.as_str() == name)
    }

    pub(super) fn check(&self, c: &mut Checks) {
        if let Some(d) = &self.description
            && d.chars().count() > runbook::DESCRIPTION_MAX
        {
            c.problem(
                "description",
                format!(
                    "is longer than {} characters; keep it to a line or two",
                    runbook::DESCRIPTION_MAX
                ),
            );
        }
        if let Some(t) = &self.timeout
            && let Err(e) = runbook::parse_timeout(t)
        {
            c.problem("timeout", e);
        }
        if let Some(a) = &self.allowed
            && a.role == Some(Role::Viewer)
        {
            c.problem(
                "allowed.role",
                "viewers only read; use responder, manager or admin",
            );
        }
        for (i, p) in self.parameters.iter().enumerate() {
            if self.parameters[..i].iter().any(|q| q.name == p.name) {
                c.problem(
                    format!("parameters[{i}].name"),
                    format!("parameter {:?} is declared twice", p.name.as_str()),
                );
            }
            for (field, message) in runbook::parameter_problems(p) {
                c.problem(format!("parameters[{i}].{field}"), message);
            }
        }
        match (&self.http, &self.command) {
            (None, None) => c.problem(
                "command",
                "a runbook action needs either `command` (a program to run) or `http` (a request to make)",
            ),
            (Some(_), Some(_)) => c.problem(
                "http",
                "give either `http` or `command`, not both: an action does one thing",
            ),
            _ => {}
        }
        for (field, message) in runbook::template_problems(self) {
            c.problem(field, message);
        }
    }
}
