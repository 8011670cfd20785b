//! Escalation as steps: what a policy says to do at each level, who its
//! targets reach at the moment the level fires, and which notifications a
//! person's rules ask for. Pure: the engine (which runs the steps on time,
//! once, across restarts and instances) and the store call these.
//!
//! - A run starts at level 0 of cycle 0. Step `(level, cycle)` pages the
//!   level's targets, then waits the level's delay before
//!   `(level + 1, cycle)`; after the last level the whole policy runs again
//!   from level 0, `repeat` more times; then the run ends.
//! - A schedule target reaches whoever is on call in it when the level
//!   fires (not when the incident opened); a team target reaches every
//!   member; a user target that person. A person reached through two
//!   targets of one level is notified once, credited to the first target.
//! - A person's notification rules say which contact method to use how many
//!   minutes after they are paged; with no rules, every contact method at
//!   once; with no contact methods, their email at once.
//! - Acknowledging or resolving the incident ends the run: the engine checks
//!   the incident before each step, so nothing here knows about it.

use crate::Name;
use crate::catalog::{ContactKind, EscalationPolicy, Target, User};
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeSet;

/// Where a run is: the level within the policy and how many times the
/// policy has already run through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Step {
    pub level: usize,
    pub cycle: u32,
}

impl Step {
    pub const FIRST: Step = Step { level: 0, cycle: 0 };
}

/// What one step does.
#[derive(Debug, Clone, PartialEq)]
pub struct StepPlan<'a> {
    pub targets: &'a [Target],
    /// The next step and how long after this one it fires; `None` when the
    /// run ends here.
    pub next: Option<(Step, SignedDuration)>,
}

/// The step's targets and what follows it; `None` for a step the policy
/// does not have (a stale job after the policy shrank).
pub fn plan(policy: &EscalationPolicy, at: Step) -> Option<StepPlan<'_>> {
    let level = policy.levels.get(at.level)?;
    if at.cycle > policy.repeat {
        return None;
    }
    let delay = SignedDuration::from_mins(i64::from(level.delay_minutes));
    let next = if at.level + 1 < policy.levels.len() {
        Some(Step {
            level: at.level + 1,
            cycle: at.cycle,
        })
    } else if at.cycle < policy.repeat {
        Some(Step {
            level: 0,
            cycle: at.cycle + 1,
        })
    } else {
        None
    };
    Some(StepPlan {
        targets: &level.targets,
        next: next.map(|s| (s, delay)),
    })
}

/// A person a step reaches, and through which target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    pub user: Name,
    pub via: Target,
}

/// The people `targets` reach now: `on_call` answers who is on call in a
/// schedule at this moment, `members` a team's members. Each person once,
/// in target order.
pub fn reach(
    targets: &[Target],
    on_call: impl Fn(&Name) -> Vec<Name>,
    members: impl Fn(&Name) -> Vec<Name>,
) -> Vec<Reached> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for t in targets {
        let users = match t {
            Target::User(u) => vec![u.clone()],
            Target::Schedule(s) => on_call(s),
            Target::Team(team) => members(team),
        };
        for user in users {
            if seen.insert(user.clone()) {
                out.push(Reached {
                    user,
                    via: t.clone(),
                });
            }
        }
    }
    out
}

/// One notification a person's rules ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub user: Name,
    /// The contact method's name (`email` for the fallback).
    pub contact: Name,
    pub kind: ContactKind,
    pub address: String,
    pub due: Timestamp,
}

/// The notifications for `user`, paged at `paged_at`, by due time.
pub fn intents(user: &User, paged_at: Timestamp) -> Vec<Intent> {
    let intent = |contact: &Name, kind, address: &str, minutes: u32| Intent {
        user: user.name.clone(),
        contact: contact.clone(),
        kind,
        address: address.to_owned(),
        due: paged_at + SignedDuration::from_mins(i64::from(minutes)),
    };
    let mut out: Vec<Intent> = if user.notification_rules.is_empty() {
        user.contact_methods
            .iter()
            .map(|c| intent(&c.name, c.kind, &c.address, 0))
            .collect()
    } else {
        user.notification_rules
            .iter()
            .filter_map(|r| {
                let c = user.contact_methods.iter().find(|c| c.name == r.contact)?;
                Some(intent(&c.name, c.kind, &c.address, r.after_minutes))
            })
            .collect()
    };
    if out.is_empty() {
        out.push(intent(
            &Name::from_static("email"),
            ContactKind::Email,
            &user.email,
            0,
        ));
    }
    out.sort_by_key(|i| i.due);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ContactMethod, Level, NotificationRule};

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn policy(repeat: u32) -> EscalationPolicy {
        EscalationPolicy {
            name: n("p"),
            description: None,
            team: None,
            repeat,
            levels: vec![
                Level {
                    delay_minutes: 5,
                    targets: vec![Target::Schedule(n("primary"))],
                },
                Level {
                    delay_minutes: 10,
                    targets: vec![Target::Team(n("payments")), Target::User(n("alice"))],
                },
            ],
        }
    }

    #[test]
    fn steps_walk_the_levels_then_repeat_then_end() {
        let p = policy(1);
        let mut at = Step::FIRST;
        let mut walked = vec![];
        while let Some(sp) = plan(&p, at) {
            walked.push((at.level, at.cycle, sp.targets.len()));
            match sp.next {
                Some((next, _)) => at = next,
                None => break,
            }
        }
        assert_eq!(walked, [(0, 0, 1), (1, 0, 2), (0, 1, 1), (1, 1, 2)]);
        assert_eq!(
            plan(&p, Step::FIRST).unwrap().next,
            Some((Step { level: 1, cycle: 0 }, SignedDuration::from_mins(5)))
        );
        assert!(
            plan(&p, Step { level: 2, cycle: 0 }).is_none(),
            "no such level"
        );
        assert!(
            plan(&p, Step { level: 0, cycle: 2 }).is_none(),
            "past the repeats"
        );
    }

    #[test]
    fn targets_reach_each_person_once_at_firing_time() {
        let p = policy(0);
        let level2 = plan(&p, Step { level: 1, cycle: 0 }).unwrap().targets;
        let reached = reach(level2, |_| vec![], |_| vec![n("alice"), n("bob")]);
        let users: Vec<&str> = reached.iter().map(|r| r.user.as_str()).collect();
        assert_eq!(users, ["alice", "bob"]);
        assert_eq!(
            reached[0].via,
            Target::Team(n("payments")),
            "the first target"
        );
        let level1 = plan(&p, Step::FIRST).unwrap().targets;
        assert!(
            reach(level1, |_| vec![], |_| vec![]).is_empty(),
            "a gap reaches nobody"
        );
        assert_eq!(
            reach(level1, |_| vec![n("carol")], |_| vec![])[0].user,
            n("carol")
        );
    }

    #[test]
    fn rules_decide_when_each_contact_is_used() {
        let t: Timestamp = "2026-03-02T09:00:00Z".parse().unwrap();
        let mut u = User {
            name: n("alice"),
            full_name: "Alice".into(),
            email: "alice@example.com".into(),
            time_zone: "UTC".into(),
            contact_methods: vec![
                ContactMethod {
                    name: n("chat"),
                    kind: ContactKind::Slack,
                    address: "U123".into(),
                },
                ContactMethod {
                    name: n("phone-push"),
                    kind: ContactKind::Ntfy,
                    address: "alice-pages".into(),
                },
            ],
            notification_rules: vec![
                NotificationRule {
                    contact: n("phone-push"),
                    after_minutes: 2,
                },
                NotificationRule {
                    contact: n("chat"),
                    after_minutes: 0,
                },
            ],
        };
        let due: Vec<(String, i64)> = intents(&u, t)
            .iter()
            .map(|i| (i.contact.to_string(), i.due.duration_since(t).as_mins()))
            .collect();
        assert_eq!(due, [("chat".into(), 0), ("phone-push".into(), 2)]);
        u.notification_rules.clear();
        assert_eq!(intents(&u, t).len(), 2, "no rules: every method at once");
        u.contact_methods.clear();
        let fallback = intents(&u, t);
        assert_eq!(
            (fallback[0].kind, fallback[0].address.as_str()),
            (ContactKind::Email, "alice@example.com")
        );
    }
}
