//! An escalation policy: ordered levels of targets, each with a delay before
//! the next level, repeated. Its behaviour belongs to the escalation work.

use super::Checks;
use crate::Name;
use serde::{Deserialize, Serialize};

/// More repeats than this only delays the moment a human notices that
/// nobody answers; it is almost always a typo.
pub const MAX_REPEAT: u32 = 9;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicy {
    pub name: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Name>,
    /// How many times the whole policy runs again after the last level.
    #[serde(default)]
    pub repeat: u32,
    pub levels: Vec<Level>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// Minutes to wait for an acknowledgement before the next level.
    pub delay_minutes: u32,
    pub targets: Vec<Target>,
}

/// Written in YAML as `- user: alice`, `- schedule: primary`, `- team: payments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    User(Name),
    /// Whoever is on call in the schedule when the level fires.
    Schedule(Name),
    /// Every member of the team.
    Team(Name),
}

impl EscalationPolicy {
    pub(super) fn check(&self, c: &mut Checks) {
        if self.levels.is_empty() {
            c.problem("levels", "a policy needs at least one level");
        }
        if self.repeat > MAX_REPEAT {
            c.problem(
                "repeat",
                format!("{} is more than the limit of {MAX_REPEAT}", self.repeat),
            );
        }
        for (i, l) in self.levels.iter().enumerate() {
            if l.targets.is_empty() {
                c.problem(
                    format!("levels[{i}].targets"),
                    "a level needs at least one target",
                );
            }
            if l.delay_minutes == 0 && (i + 1 < self.levels.len() || self.repeat > 0) {
                c.problem(
                    format!("levels[{i}].delay_minutes"),
                    "must be at least 1: the next level would be paged at the same instant",
                );
            }
        }
    }
}
