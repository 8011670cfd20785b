//! The shape of one manifest document: a mapping from each kind's plural
//! (`users:`, `services:`, `silences:`, `maintenance_windows:`…) to a list
//! of objects of that kind. Every list is optional; any other key is an
//! error naming the keys allowed.
//!
//! The keys are [`Kind::plural`] of every kind in [`Kind::ALL`], so a new
//! kind needs only its arm in [`read_list`].

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use tocsin_domain::catalog::{
    EscalationPolicy, Heartbeat, Integration, Kind, MaintenanceWindow, MessageTemplate, Monitor,
    Object, RunbookAction, Schedule, ScheduleOverride, Service, Silence, Team, User,
};

/// The list keys, in [`Kind::ALL`] order.
const KEYS: [&str; Kind::ALL.len()] = {
    let mut keys = [""; Kind::ALL.len()];
    let mut i = 0;
    while i < keys.len() {
        keys[i] = Kind::ALL[i].plural();
        i += 1;
    }
    keys
};

/// One YAML document's objects, by kind.
#[derive(Debug, Default)]
pub(crate) struct ManifestDocument {
    lists: BTreeMap<Kind, Vec<Object>>,
}

impl ManifestDocument {
    /// The objects with their path inside the document (`services[2]`),
    /// kinds in [`Kind::ALL`] order whatever order the file lists them in.
    pub(crate) fn into_objects(self) -> Vec<(String, Object)> {
        self.lists
            .into_iter()
            .flat_map(|(kind, objects)| {
                objects
                    .into_iter()
                    .enumerate()
                    .map(move |(i, o)| (format!("{}[{i}]", kind.plural()), o))
            })
            .collect()
    }
}

/// Reads the list under a kind's key as objects of that kind.
fn read_list<'de, A: MapAccess<'de>>(map: &mut A, kind: Kind) -> Result<Vec<Object>, A::Error> {
    fn list<'de, A: MapAccess<'de>, T: DeserializeOwned>(
        map: &mut A,
        f: fn(T) -> Object,
    ) -> Result<Vec<Object>, A::Error> {
        Ok(map.next_value::<Vec<T>>()?.into_iter().map(f).collect())
    }
    match kind {
        Kind::User => list::<A, User>(map, Object::User),
        Kind::Team => list::<A, Team>(map, Object::Team),
        Kind::Schedule => list::<A, Schedule>(map, Object::Schedule),
        Kind::EscalationPolicy => list::<A, EscalationPolicy>(map, Object::EscalationPolicy),
        Kind::Service => list::<A, Service>(map, Object::Service),
        Kind::Integration => list::<A, Integration>(map, Object::Integration),
        Kind::Heartbeat => list::<A, Heartbeat>(map, Object::Heartbeat),
        Kind::Monitor => list::<A, Box<Monitor>>(map, Object::Monitor),
        Kind::Silence => list::<A, Silence>(map, Object::Silence),
        Kind::MaintenanceWindow => list::<A, MaintenanceWindow>(map, Object::MaintenanceWindow),
        Kind::ScheduleOverride => list::<A, ScheduleOverride>(map, Object::ScheduleOverride),
        Kind::MessageTemplate => list::<A, MessageTemplate>(map, Object::MessageTemplate),
        Kind::RunbookAction => list::<A, RunbookAction>(map, Object::RunbookAction),
    }
}

impl<'de> Deserialize<'de> for ManifestDocument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DocumentVisitor;

        impl<'de> Visitor<'de> for DocumentVisitor {
            type Value = ManifestDocument;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a mapping of lists by kind ({})", KEYS.join(", "))
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ManifestDocument, A::Error> {
                let mut doc = ManifestDocument::default();
                while let Some(key) = map.next_key::<String>()? {
                    let Some(kind) = Kind::ALL.into_iter().find(|k| k.plural() == key) else {
                        return Err(de::Error::unknown_field(&key, &KEYS));
                    };
                    if doc.lists.contains_key(&kind) {
                        return Err(de::Error::duplicate_field(kind.plural()));
                    }
                    let objects = read_list(&mut map, kind)?;
                    doc.lists.insert(kind, objects);
                }
                Ok(doc)
            }
        }

        deserializer.deserialize_struct("Document", &KEYS, DocumentVisitor)
    }
}
