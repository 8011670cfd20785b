//! A team: people who own services.

use crate::Name;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    pub name: Name,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Users in the team, by name. Membership later scopes what a responder
    /// may act on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Name>,
}
