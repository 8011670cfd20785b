//! Who may do what. Everyone signed in may read; acting is scoped by role
//! and, for responders and managers, by membership in the team that owns
//! the object. API tokens carry the same model: a token acts with a role
//! (from its scope) on behalf of the user who owns it.
//!
//! Every refusal carries a reason meant for the person refused.

use crate::Name;
use crate::token::TokenScope;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// Ordered: each role can do what the ones before it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything.
    Viewer,
    /// Acts on the incidents of their teams' services; edits their profile.
    Responder,
    /// Also manages their teams' schedules, overrides and services.
    Manager,
    /// Everything: config, accounts, every token, the audit log.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Responder, Role::Manager, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The most a token created by someone with this role may do.
    pub fn max_token_scope(self) -> TokenScope {
        match self {
            Role::Viewer => TokenScope::Read,
            Role::Responder | Role::Manager => TokenScope::Write,
            Role::Admin => TokenScope::Admin,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TokenScope {
    /// The role a token acts with.
    pub fn role(self) -> Role {
        match self {
            TokenScope::Read => Role::Viewer,
            // Up to manager: a manager's write token may manage their
            // team's schedules; the owner's role caps it.
            TokenScope::Write => Role::Manager,
            TokenScope::Admin => Role::Admin,
        }
    }
}

/// Whoever is asking: a signed-in user or a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user, if the request is on behalf of one (tokens made by the CLI
    /// belong to nobody).
    pub user: Option<Name>,
    pub role: Role,
    /// Teams the user is a member of.
    pub teams: BTreeSet<Name>,
    /// For messages and the audit log: `alice`, `token:ci-apply`.
    pub label: String,
}

/// Something one may be allowed to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'a> {
    /// Read any object, page or list.
    Read,
    /// Act on something owned by a team (an incident of its service).
    Respond { team: &'a Name },
    /// Change a team's schedules, overrides, services.
    Manage { team: &'a Name },
    /// Edit a user's profile (contact methods, time zone, preferences).
    EditProfile { user: &'a Name },
    /// Record a change (a deploy) for any service: it pages nobody, so it
    /// needs the responder role but no team (deploy pipelines hold tokens
    /// that belong to no team).
    RecordChange,
    /// Create a token with this scope for oneself.
    CreateToken { scope: TokenScope },
    /// Apply configuration, manage accounts and every token, read the audit log.
    Administer,
}

/// A refusal, with the reason to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

impl Principal {
    pub fn authorize(&self, action: &Action<'_>) -> Result<(), Denied> {
        let role = self.role;
        let deny = |why: String| Err(Denied(why));
        match action {
            Action::Read => Ok(()),
            Action::Administer if role == Role::Admin => Ok(()),
            Action::Administer => deny(format!(
                "{} has role {role}; this needs the admin role",
                self.label
            )),
            Action::Respond { team } => self.in_team(team, Role::Responder, "respond to"),
            Action::RecordChange if role >= Role::Responder => Ok(()),
            Action::RecordChange => deny(format!(
                "{} has role {role}; recording a change needs responder or more",
                self.label
            )),
            Action::Manage { team } => self.in_team(team, Role::Manager, "manage"),
            Action::EditProfile { user } => {
                if role == Role::Admin
                    || (role >= Role::Responder && self.user.as_ref() == Some(user))
                {
                    Ok(())
                } else if self.user.as_ref() == Some(user) {
                    deny(format!(
                        "{} has role {role}; editing a profile needs responder or more",
                        self.label
                    ))
                } else {
                    deny(format!("only {user} or an admin may edit {user}'s profile"))
                }
            }
            Action::CreateToken { scope } => {
                let max = role.max_token_scope();
                if *scope <= max {
                    Ok(())
                } else {
                    deny(format!(
                        "{} has role {role} and may create tokens up to scope {max}, not {scope}",
                        self.label
                    ))
                }
            }
        }
    }

    fn in_team(&self, team: &Name, needed: Role, verb: &str) -> Result<(), Denied> {
        let role = self.role;
        if role == Role::Admin {
            return Ok(());
        }
        if role < needed {
            return Err(Denied(format!(
                "{} has role {role}; to {verb} team {team}'s objects needs {needed} or more",
                self.label
            )));
        }
        if !self.teams.contains(team) {
            return Err(Denied(format!(
                "{} is not a member of team {team}",
                self.label
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role, teams: &[&str]) -> Principal {
        Principal {
            user: Some(Name::parse("alice").unwrap()),
            role,
            teams: teams.iter().map(|t| Name::parse(t).unwrap()).collect(),
            label: "alice".into(),
        }
    }

    #[test]
    fn roles_and_teams() {
        let pay = Name::parse("payments").unwrap();
        let alice = Name::parse("alice").unwrap();
        let bob = Name::parse("bob").unwrap();
        let cases: Vec<(Principal, Action, Result<(), &str>)> = vec![
            (who(Role::Viewer, &["payments"]), Action::Read, Ok(())),
            (
                who(Role::Viewer, &["payments"]),
                Action::Respond { team: &pay },
                Err(
                    "alice has role viewer; to respond to team payments's objects needs responder or more",
                ),
            ),
            (
                who(Role::Responder, &["payments"]),
                Action::Respond { team: &pay },
                Ok(()),
            ),
            (
                who(Role::Responder, &["platform"]),
                Action::Respond { team: &pay },
                Err("alice is not a member of team payments"),
            ),
            (
                who(Role::Responder, &["payments"]),
                Action::Manage { team: &pay },
                Err(
                    "alice has role responder; to manage team payments's objects needs manager or more",
                ),
            ),
            (
                who(Role::Manager, &["payments"]),
                Action::Manage { team: &pay },
                Ok(()),
            ),
            (who(Role::Admin, &[]), Action::Manage { team: &pay }, Ok(())),
            (
                who(Role::Responder, &[]),
                Action::EditProfile { user: &alice },
                Ok(()),
            ),
            (
                who(Role::Viewer, &[]),
                Action::EditProfile { user: &alice },
                Err("alice has role viewer; editing a profile needs responder or more"),
            ),
            (
                who(Role::Manager, &[]),
                Action::EditProfile { user: &bob },
                Err("only bob or an admin may edit bob's profile"),
            ),
            (
                who(Role::Responder, &[]),
                Action::CreateToken {
                    scope: TokenScope::Write,
                },
                Ok(()),
            ),
            (
                who(Role::Manager, &[]),
                Action::CreateToken {
                    scope: TokenScope::Admin,
                },
                Err("alice has role manager and may create tokens up to scope write, not admin"),
            ),
            (
                who(Role::Manager, &[]),
                Action::Administer,
                Err("alice has role manager; this needs the admin role"),
            ),
            (who(Role::Admin, &[]), Action::Administer, Ok(())),
        ];
        for (p, action, want) in cases {
            let got = p.authorize(&action).map_err(|d| d.0);
            assert_eq!(got, want.map_err(str::to_owned), "{:?} {action:?}", p.role);
        }
    }
}
