//! What the rules need from the catalog, compiled once per catalog load:
//! the dependency graph, each service's grouping, and the silences and
//! maintenance windows that mute alerts.

use crate::Name;
use crate::catalog::Object;
use crate::ingest::Event;
use crate::noise::Mutes;
use jiff::SignedDuration;
use std::collections::HashMap;

/// How a service's alerts group into incidents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grouping {
    /// Labels whose values form the group key; empty: the sender's group.
    pub by: Vec<String>,
    /// Join only incidents opened less than this long ago.
    pub window: Option<SignedDuration>,
}

#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Direct dependencies: service → services it needs.
    pub depends_on: HashMap<Name, Vec<Name>>,
    pub grouping: HashMap<Name, Grouping>,
    pub mutes: Mutes,
}

impl Policy {
    /// The policy the catalog declares. Silences and windows that do not
    /// compile (which validation prevents for anything applied) are left
    /// out and returned with the reason, for the caller to log.
    pub fn from_objects<'a>(
        objects: impl IntoIterator<Item = &'a Object> + Clone,
    ) -> (Policy, Vec<(Name, String)>) {
        let mut depends_on = HashMap::new();
        let mut grouping = HashMap::new();
        for o in objects.clone() {
            if let Object::Service(s) = o {
                if !s.depends_on.is_empty() {
                    depends_on.insert(s.name.clone(), s.depends_on.clone());
                }
                if let Some(g) = &s.alert_grouping {
                    grouping.insert(
                        s.name.clone(),
                        Grouping {
                            by: g.by.clone(),
                            window: g.window_duration(),
                        },
                    );
                }
            }
        }
        let (mutes, skipped) = Mutes::from_objects(objects);
        (
            Policy {
                depends_on,
                grouping,
                mutes,
            },
            skipped,
        )
    }

    /// The group an event of `service` belongs to: the values of the
    /// service's grouping labels (`alertname=DiskFull,cluster=eu`), else
    /// the sender's group key.
    pub fn group_key(&self, service: &Name, event: &Event) -> Option<String> {
        match self.grouping.get(service) {
            Some(g) if !g.by.is_empty() => Some(
                g.by.iter()
                    .map(|l| {
                        let v = event.labels.get(l).map_or("", String::as_str);
                        format!("{l}={v}")
                    })
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => event.group.clone(),
        }
    }

    /// How long after opening an incident of `service` still takes alerts.
    pub fn window(&self, service: &Name) -> Option<SignedDuration> {
        self.grouping.get(service).and_then(|g| g.window)
    }
}
