//! The kinds of declared objects, in the order they are created: an object
//! only references kinds that come before it or its own kind.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    User,
    Team,
    Schedule,
    EscalationPolicy,
    Service,
    Integration,
    Heartbeat,
    Monitor,
    Silence,
    MaintenanceWindow,
    ScheduleOverride,
    MessageTemplate,
    RunbookAction,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::User,
        Kind::Team,
        Kind::Schedule,
        Kind::EscalationPolicy,
        Kind::Service,
        Kind::Integration,
        Kind::Heartbeat,
        Kind::Monitor,
        Kind::Silence,
        Kind::MaintenanceWindow,
        Kind::ScheduleOverride,
        Kind::MessageTemplate,
        Kind::RunbookAction,
    ];

    /// The storage and API identifier (`escalation_policy`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Team => "team",
            Kind::Schedule => "schedule",
            Kind::EscalationPolicy => "escalation_policy",
            Kind::Service => "service",
            Kind::Integration => "integration",
            Kind::Heartbeat => "heartbeat",
            Kind::Monitor => "monitor",
            Kind::Silence => "silence",
            Kind::MaintenanceWindow => "maintenance_window",
            Kind::ScheduleOverride => "schedule_override",
            Kind::MessageTemplate => "message_template",
            Kind::RunbookAction => "runbook_action",
        }
    }

    /// The list key in a manifest file and the URL segment in the API
    /// (`escalation_policies`, `/api/v1/escalation-policies`).
    pub const fn plural(self) -> &'static str {
        match self {
            Kind::User => "users",
            Kind::Team => "teams",
            Kind::Schedule => "schedules",
            Kind::EscalationPolicy => "escalation_policies",
            Kind::Service => "services",
            Kind::Integration => "integrations",
            Kind::Heartbeat => "heartbeats",
            Kind::Monitor => "monitors",
            Kind::Silence => "silences",
            Kind::MaintenanceWindow => "maintenance_windows",
            Kind::ScheduleOverride => "schedule_overrides",
            Kind::MessageTemplate => "message_templates",
            Kind::RunbookAction => "runbook_actions",
        }
    }

    /// Words for messages ("escalation policy").
    pub fn label(self) -> &'static str {
        match self {
            Kind::EscalationPolicy => "escalation policy",
            Kind::MaintenanceWindow => "maintenance window",
            Kind::ScheduleOverride => "schedule override",
            Kind::MessageTemplate => "message template",
            Kind::RunbookAction => "runbook action",
            other => other.as_str(),
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        let s = s.replace('-', "_");
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.plural() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
