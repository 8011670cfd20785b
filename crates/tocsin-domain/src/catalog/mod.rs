//! The declared catalog: the objects a user writes down (in YAML manifests
//! or through the API) and the rules that make a set of them consistent.
//!
//! Every problem is reported, not only the first: [`validate`] returns them
//! all, each with the object it belongs to and a field path relative to
//! that object (`levels[0].targets[1].schedule`). Adapters turn the path
//! into a file, line and column.

mod escalation;
mod heartbeat;
mod integration;
mod kind;
mod maintenance;
mod message_template;
mod monitor;
mod runbook_action;
mod schedule;
mod schedule_override;
mod service;
mod silence;
mod team;
mod user;

pub use escalation::{EscalationPolicy, Level, MAX_REPEAT, Target};
pub use heartbeat::Heartbeat;
pub use integration::{Integration, IntegrationFormat};
pub use kind::Kind;
pub use maintenance::{MaintenanceWindow, Repeat};
pub use message_template::{MessageTemplate, Specificity};
pub use monitor::{
    DEFAULT_THRESHOLD, DEFAULT_TLS_PORT, DEFAULT_WARN_DAYS, ExpectJson, MIN_INTERVAL, Monitor,
    MonitorType,
};
pub use runbook_action::{Allowed, HttpCall, ParamType, Parameter, RunbookAction, Scalar};
pub use schedule::{Layer, Override, Restriction, Schedule, Temporary};
pub use schedule_override::ScheduleOverride;
pub use service::{AlertGrouping, Link, Service, is_label_name};
pub use silence::Silence;
pub use team::Team;
pub use user::{ContactKind, ContactMethod, NotificationRule, User};

use crate::Name;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One declared object of any kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "spec", rename_all = "snake_case")]
pub enum Object {
    User(User),
    Team(Team),
    Schedule(Schedule),
    EscalationPolicy(EscalationPolicy),
    Service(Service),
    Integration(Integration),
    Heartbeat(Heartbeat),
    /// Boxed: the flat shape of every check type is the largest by far.
    Monitor(Box<Monitor>),
    Silence(Silence),
    ScheduleOverride(ScheduleOverride),
    MaintenanceWindow(MaintenanceWindow),
    MessageTemplate(MessageTemplate),
    RunbookAction(RunbookAction),
}

impl Object {
    pub fn kind(&self) -> Kind {
        match self {
            Object::User(_) => Kind::User,
            Object::Team(_) => Kind::Team,
            Object::Schedule(_) => Kind::Schedule,
            Object::EscalationPolicy(_) => Kind::EscalationPolicy,
            Object::Service(_) => Kind::Service,
            Object::Integration(_) => Kind::Integration,
            Object::Heartbeat(_) => Kind::Heartbeat,
            Object::Monitor(_) => Kind::Monitor,
            Object::Silence(_) => Kind::Silence,
            Object::ScheduleOverride(_) => Kind::ScheduleOverride,
            Object::MaintenanceWindow(_) => Kind::MaintenanceWindow,
            Object::MessageTemplate(_) => Kind::MessageTemplate,
            Object::RunbookAction(_) => Kind::RunbookAction,
        }
    }

    pub fn name(&self) -> &Name {
        match self {
            Object::User(o) => &o.name,
            Object::Team(o) => &o.name,
            Object::Schedule(o) => &o.name,
            Object::EscalationPolicy(o) => &o.name,
            Object::Service(o) => &o.name,
            Object::Integration(o) => &o.name,
            Object::Heartbeat(o) => &o.name,
            Object::Monitor(o) => &o.name,
            Object::Silence(o) => &o.name,
            Object::ScheduleOverride(o) => &o.name,
            Object::MaintenanceWindow(o) => &o.name,
            Object::MessageTemplate(o) => &o.name,
            Object::RunbookAction(o) => &o.name,
        }
    }

    /// The object's fields as JSON (without the kind tag): what is stored
    /// and what the API returns.
    pub fn spec_json(&self) -> serde_json::Value {
        let tagged = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        tagged
            .get("spec")
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    }

    /// Rebuilds an object from its kind and stored spec.
    pub fn from_spec(kind: Kind, spec: serde_json::Value) -> Result<Object, serde_json::Error> {
        serde_json::from_value(serde_json::json!({ "kind": kind.as_str(), "spec": spec }))
    }

    /// Every name this object refers to, with the field that holds it.
    pub fn references(&self) -> Vec<Reference> {
        let mut refs = Vec::new();
        let mut add = |path: String, kind: Kind, name: &Name| {
            refs.push(Reference {
                path,
                kind,
                name: name.clone(),
            })
        };
        match self {
            Object::User(_) => {}
            Object::Team(t) => {
                for (i, m) in t.members.iter().enumerate() {
                    add(format!("members[{i}]"), Kind::User, m);
                }
            }
            Object::Schedule(s) => {
                if let Some(t) = &s.team {
                    add("team".into(), Kind::Team, t);
                }
                for (i, l) in s.layers.iter().enumerate() {
                    for (j, p) in l.participants.iter().enumerate() {
                        add(format!("layers[{i}].participants[{j}]"), Kind::User, p);
                    }
                }
                for (i, o) in s.overrides.iter().enumerate() {
                    add(format!("overrides[{i}].user"), Kind::User, &o.user);
                    if let Some(r) = &o.replaces {
                        add(format!("overrides[{i}].replaces"), Kind::User, r);
                    }
                }
                for (i, t) in s.temporary.iter().enumerate() {
                    for (j, l) in t.layers.iter().enumerate() {
                        for (k, p) in l.participants.iter().enumerate() {
                            add(
                                format!("temporary[{i}].layers[{j}].participants[{k}]"),
                                Kind::User,
                                p,
                            );
                        }
                    }
                }
            }
            Object::EscalationPolicy(p) => {
                if let Some(t) = &p.team {
                    add("team".into(), Kind::Team, t);
                }
                for (i, l) in p.levels.iter().enumerate() {
                    for (j, t) in l.targets.iter().enumerate() {
                        let (field, kind, name) = match t {
                            Target::User(n) => ("user", Kind::User, n),
                            Target::Schedule(n) => ("schedule", Kind::Schedule, n),
                            Target::Team(n) => ("team", Kind::Team, n),
                        };
                        add(format!("levels[{i}].targets[{j}].{field}"), kind, name);
                    }
                }
            }
            Object::Service(s) => {
                add("team".into(), Kind::Team, &s.team);
                if let Some(p) = &s.escalation_policy {
                    add("escalation_policy".into(), Kind::EscalationPolicy, p);
                }
                for (i, d) in s.depends_on.iter().enumerate() {
                    add(format!("depends_on[{i}]"), Kind::Service, d);
                }
            }
            Object::Integration(i) => add("service".into(), Kind::Service, &i.service),
            Object::Heartbeat(h) => add("service".into(), Kind::Service, &h.service),
            Object::Monitor(m) => add("service".into(), Kind::Service, &m.service),
            Object::Silence(_) => {}
            Object::ScheduleOverride(o) => {
                add("schedule".into(), Kind::Schedule, &o.schedule);
                add("user".into(), Kind::User, &o.user);
                if let Some(r) = &o.replaces {
                    add("replaces".into(), Kind::User, r);
                }
            }
            Object::MaintenanceWindow(w) => {
                for (i, s) in w.services.iter().enumerate() {
                    add(format!("services[{i}]"), Kind::Service, s);
                }
            }
            Object::MessageTemplate(_) => {}
            Object::RunbookAction(a) => {
                add("team".into(), Kind::Team, &a.team);
                if let Some(allowed) = &a.allowed {
                    for (i, t) in allowed.teams.iter().enumerate() {
                        add(format!("allowed.teams[{i}]"), Kind::Team, t);
                    }
                    for (i, u) in allowed.users.iter().enumerate() {
                        add(format!("allowed.users[{i}]"), Kind::User, u);
                    }
                }
            }
        }
        refs
    }

    /// Rules about this object alone.
    fn check(&self, c: &mut Checks) {
        match self {
            Object::User(o) => o.check(c),
            Object::Team(_) => {}
            Object::Schedule(o) => o.check(c),
            Object::EscalationPolicy(o) => o.check(c),
            Object::Service(o) => o.check(c),
            Object::Integration(o) => o.check(c),
            Object::Heartbeat(o) => o.check(c),
            Object::Monitor(o) => o.check_fields(c),
            Object::Silence(o) => o.check(c),
            Object::ScheduleOverride(o) => o.check(c),
            Object::MaintenanceWindow(o) => o.check(c),
            Object::MessageTemplate(o) => o.check(c),
            Object::RunbookAction(o) => o.check(c),
        }
    }
}

/// A name held by a field of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub path: String,
    pub kind: Kind,
    pub name: Name,
}

/// One problem with one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Index of the object in the slice given to [`validate`].
    pub object: usize,
    /// Field path relative to the object (`team`, `layers[0].turn`).
    pub path: String,
    pub message: String,
    /// For duplicates: the index of the object declared first.
    pub first: Option<usize>,
}

/// Collects problems for one object.
#[derive(Debug)]
pub(crate) struct Checks {
    object: usize,
    problems: Vec<Problem>,
}

impl Checks {
    pub(crate) fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            object: self.object,
            path: path.into(),
            message: message.into(),
            first: None,
        });
    }

    pub(crate) fn time_zone(&mut self, path: impl Into<String>, tz: &str) {
        if jiff::tz::TimeZone::get(tz).is_err() {
            self.problem(
                path,
                format!("{tz:?} is not a known IANA time zone (e.g. Europe/Berlin, UTC)"),
            );
        }
    }

    pub(crate) fn url(&mut self, path: impl Into<String>, url: &str) {
        let ok = ["http://", "https://"]
            .iter()
            .any(|p| url.strip_prefix(p).is_some_and(|rest| !rest.is_empty()))
            && !url.contains(char::is_whitespace);
        if !ok {
            self.problem(path, format!("{url:?} is not an http(s) URL"));
        }
    }

    pub(crate) fn clock_time(&mut self, path: impl Into<String>, s: &str) {
        let ok = s.len() == 5 && s.parse::<jiff::civil::Time>().is_ok();
        if !ok {
            self.problem(path, format!("{s:?} is not a time of day (HH:MM)"));
        }
    }

    pub(crate) fn instant(&mut self, path: impl Into<String>, s: &str) -> Option<jiff::Timestamp> {
        match s.parse::<jiff::Timestamp>() {
            Ok(t) => Some(t),
            Err(_) => {
                self.problem(
                    path,
                    format!("{s:?} is not an RFC 3339 instant (2026-03-29T09:00:00+02:00)"),
                );
                None
            }
        }
    }
}

/// Checks a whole catalog: each object's own rules, names declared twice,
/// references to objects that do not exist, and message templates that
/// would compete for the same messages. `existing` holds objects that are
/// not in `objects` but will still exist (unmanaged ones in the store);
/// references to them are fine.
pub fn validate(objects: &[Object], existing: &BTreeSet<(Kind, Name)>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut first_seen: BTreeMap<(Kind, &Name), usize> = BTreeMap::new();
    for (i, o) in objects.iter().enumerate() {
        let mut c = Checks {
            object: i,
            problems: Vec::new(),
        };
        o.check(&mut c);
        problems.append(&mut c.problems);
        if let Some(&first) = first_seen.get(&(o.kind(), o.name())) {
            problems.push(Problem {
                object: i,
                path: "name".into(),
                message: format!(
                    "{} {:?} is declared twice",
                    o.kind().label(),
                    o.name().as_str()
                ),
                first: Some(first),
            });
        } else {
            first_seen.insert((o.kind(), o.name()), i);
        }
    }
    for (i, o) in objects.iter().enumerate() {
        for r in o.references() {
            let known = first_seen.contains_key(&(r.kind, &r.name))
                || existing.contains(&(r.kind, r.name.clone()));
            if !known {
                problems.push(Problem {
                    object: i,
                    path: r.path,
                    message: format!(
                        "no {} named {:?} is declared",
                        r.kind.label(),
                        r.name.as_str()
                    ),
                    first: None,
                });
            }
        }
    }
    let (at, templates): (Vec<usize>, Vec<&MessageTemplate>) = objects
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            Object::MessageTemplate(t) => Some((i, t)),
            _ => None,
        })
        .unzip();
    problems.extend(heartbeat::duplicate_uuids(objects));
    for (later, first, message) in message_template::overlaps(&templates) {
        problems.push(Problem {
            object: at[later],
            path: "name".into(),
            message,
            first: Some(at[first]),
        });
    }
    problems
}

#[cfg(test)]
mod tests;
