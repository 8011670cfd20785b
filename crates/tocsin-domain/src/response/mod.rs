//! Incident response: the words people use while running an incident —
//! roles, stakeholder update states, who may see an update, from which
//! interface a change came — and the rules about them that need no store:
//! what a declared incident must say, which roles one person holds, when
//! the next stakeholder update is due.
//!
//! Severity definitions are in [`crate::Severity`]; statuses in
//! [`crate::alerting::IncidentStatus`]. *Closed* is not a status of its own
//! in storage: a resolved incident whose review is done is closed
//! ([`Lifecycle`]).

pub mod timeline;

use crate::Severity;
use crate::alerting::IncidentStatus;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A role in an incident. The commander, communications lead and scribe
/// are held by one person each at a time (a hand-over replaces the holder);
/// responders are as many as needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Commander,
    Communications,
    Scribe,
    Responder,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Commander,
        Role::Communications,
        Role::Scribe,
        Role::Responder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Commander => "commander",
            Role::Communications => "communications",
            Role::Scribe => "scribe",
            Role::Responder => "responder",
        }
    }

    /// Words for people: "incident commander".
    pub fn label(self) -> &'static str {
        match self {
            Role::Commander => "incident commander",
            Role::Communications => "communications lead",
            Role::Scribe => "scribe",
            Role::Responder => "responder",
        }
    }

    /// Whether one person holds it at a time.
    pub fn is_single(self) -> bool {
        self != Role::Responder
    }

    /// `commander`, `ic`, `comms`, `communications`, `scribe`, `responder`.
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "commander" | "ic" | "incident_commander" | "incident-commander" => {
                Some(Role::Commander)
            }
            "communications" | "comms" | "communications_lead" | "communications-lead" => {
                Some(Role::Communications)
            }
            "scribe" => Some(Role::Scribe),
            "responder" => Some(Role::Responder),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state a stakeholder update announces, in Statuspage's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateState {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl UpdateState {
    pub const ALL: [UpdateState; 4] = [
        UpdateState::Investigating,
        UpdateState::Identified,
        UpdateState::Monitoring,
        UpdateState::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UpdateState::Investigating => "investigating",
            UpdateState::Identified => "identified",
            UpdateState::Monitoring => "monitoring",
            UpdateState::Resolved => "resolved",
        }
    }

    /// "Investigating".
    pub fn label(self) -> &'static str {
        match self {
            UpdateState::Investigating => "Investigating",
            UpdateState::Identified => "Identified",
            UpdateState::Monitoring => "Monitoring",
            UpdateState::Resolved => "Resolved",
        }
    }

    pub fn parse(s: &str) -> Option<UpdateState> {
        let s = s.trim();
        UpdateState::ALL
            .into_iter()
            .find(|u| u.as_str().eq_ignore_ascii_case(s))
    }
}

/// Who an update is for: the internal stakeholders of the incident, or
/// also the public status page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Internal,
    Public,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Internal => "internal",
            Audience::Public => "public",
        }
    }

    pub fn parse(s: &str) -> Option<Audience> {
        match s.trim().to_ascii_lowercase().as_str() {
            "internal" => Some(Audience::Internal),
            "public" => Some(Audience::Public),
            _ => None,
        }
    }
}

/// Where a change came from, recorded with it on the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interface {
    Web,
    Api,
    Cli,
    Slack,
    Mattermost,
    Matrix,
    /// The engine itself (escalation, reminders).
    System,
}

impl Interface {
    pub fn as_str(self) -> &'static str {
        match self {
            Interface::Web => "web",
            Interface::Api => "api",
            Interface::Cli => "cli",
            Interface::Slack => "slack",
            Interface::Mattermost => "mattermost",
            Interface::Matrix => "matrix",
            Interface::System => "system",
        }
    }
}

/// Where an incident is in its life, as people say it: its stored status,
/// or *closed* once resolved with its review done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    Triggered,
    Acknowledged,
    Resolved,
    Closed,
}

impl Lifecycle {
    pub fn of(status: IncidentStatus, closed_at: Option<Timestamp>) -> Lifecycle {
        match (status, closed_at) {
            (IncidentStatus::Resolved, Some(_)) => Lifecycle::Closed,
            (IncidentStatus::Triggered, _) => Lifecycle::Triggered,
            (IncidentStatus::Acknowledged, _) => Lifecycle::Acknowledged,
            (IncidentStatus::Resolved, None) => Lifecycle::Resolved,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Triggered => "triggered",
            Lifecycle::Acknowledged => "acknowledged",
            Lifecycle::Resolved => "resolved",
            Lifecycle::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Lifecycle> {
        match s.trim().to_ascii_lowercase().as_str() {
            "triggered" => Some(Lifecycle::Triggered),
            "acknowledged" => Some(Lifecycle::Acknowledged),
            "resolved" => Some(Lifecycle::Resolved),
            "closed" => Some(Lifecycle::Closed),
            _ => None,
        }
    }
}

/// Longest title a declared incident may have (characters).
pub const TITLE_MAX: usize = 200;
/// Longest note, summary or update body (characters).
pub const TEXT_MAX: usize = 10_000;

/// A problem with what someone typed: the field and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    pub field: &'static str,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        FieldError {
            field,
            reason: reason.into(),
        }
    }
}

/// A title: required, one line, at most [`TITLE_MAX`] characters.
pub fn check_title(title: &str) -> Result<String, FieldError> {
    let t = title.trim();
    if t.is_empty() {
        return Err(FieldError::new("title", "must not be empty"));
    }
    if t.contains(['\n', '\r']) {
        return Err(FieldError::new("title", "must be one line"));
    }
    let n = t.chars().count();
    if n > TITLE_MAX {
        return Err(FieldError::new(
            "title",
            format!("is {n} characters long; at most {TITLE_MAX}"),
        ));
    }
    Ok(t.to_owned())
}

/// Free text (a note, a summary, an update): required, at most
/// [`TEXT_MAX`] characters.
pub fn check_text(field: &'static str, text: &str) -> Result<String, FieldError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    let n = t.chars().count();
    if n > TEXT_MAX {
        return Err(FieldError::new(
            field,
            format!("is {n} characters long; at most {TEXT_MAX}"),
        ));
    }
    Ok(t.to_owned())
}

/// Shortest and longest cadence for stakeholder updates.
pub const CADENCE_MIN: SignedDuration = SignedDuration::from_mins(5);
pub const CADENCE_MAX: SignedDuration = SignedDuration::from_hours(24);

/// A cadence the commander sets, in minutes.
pub fn check_cadence(minutes: i64) -> Result<SignedDuration, FieldError> {
    let d = SignedDuration::from_mins(minutes);
    if d < CADENCE_MIN || d > CADENCE_MAX {
        return Err(FieldError::new(
            "every_minutes",
            format!(
                "must be between {} and {} minutes",
                CADENCE_MIN.as_mins(),
                CADENCE_MAX.as_mins()
            ),
        ));
    }
    Ok(d)
}

/// The cadence an incident gets when nobody set one: Sev1 every 30
/// minutes, Sev2 every hour, others none.
pub fn default_cadence(severity: Severity) -> Option<SignedDuration> {
    match severity {
        Severity::Sev1 => Some(SignedDuration::from_mins(30)),
        Severity::Sev2 => Some(SignedDuration::from_hours(1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_the_short_words_people_type() {
        assert_eq!(Role::parse("IC"), Some(Role::Commander));
        assert_eq!(Role::parse("comms"), Some(Role::Communications));
        assert_eq!(Role::parse("scribe"), Some(Role::Scribe));
        assert_eq!(Role::parse("captain"), None);
        assert!(Role::Commander.is_single() && !Role::Responder.is_single());
    }

    #[test]
    fn closed_is_resolved_with_a_done_review() {
        let t: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            Lifecycle::of(IncidentStatus::Resolved, Some(t)),
            Lifecycle::Closed
        );
        assert_eq!(
            Lifecycle::of(IncidentStatus::Resolved, None),
            Lifecycle::Resolved
        );
        assert_eq!(Lifecycle::parse("Closed"), Some(Lifecycle::Closed));
    }

    #[test]
    fn titles_and_texts_say_what_is_wrong() {
        assert_eq!(check_title("  Checkout down ").unwrap(), "Checkout down");
        assert_eq!(check_title(" ").unwrap_err().field, "title");
        assert!(check_title("a\nb").unwrap_err().reason.contains("one line"));
        let long = "x".repeat(TITLE_MAX + 1);
        assert!(check_title(&long).unwrap_err().reason.contains("201"));
        assert_eq!(
            check_text("note", "").unwrap_err().to_string(),
            "note: must not be empty"
        );
    }

    #[test]
    fn cadence_is_bounded() {
        assert!(check_cadence(30).is_ok());
        assert_eq!(check_cadence(1).unwrap_err().field, "every_minutes");
        assert!(check_cadence(24 * 60 + 1).is_err());
        assert_eq!(default_cadence(Severity::Sev3), None);
    }
}
