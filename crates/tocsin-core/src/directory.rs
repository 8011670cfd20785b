//! The catalog as people look things up in it: one snapshot of every
//! declared object, parsed, with the questions a responder asks — which
//! services match a search, what needs this service, what a team owns,
//! which teams a person is in. The web UI reads it; chat and the CLI can
//! ask the same questions without a rule living in an adapter.
//!
//! A snapshot is one store read (`list_objects(None)`), so a page costs
//! one round trip however many objects it shows. Integration keys are
//! dropped on the way in: nothing read through here can leak one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use tocsin_domain::Name;
use tocsin_domain::catalog::{
    EscalationPolicy, Heartbeat, Integration, MaintenanceWindow, MessageTemplate, Monitor, Object,
    RunbookAction, Schedule, ScheduleOverride, Service, Silence, Team, User,
};
use tocsin_domain::notify::template::Templates;
use tocsin_domain::plan::Current;
use tocsin_store::{Store, StoreError};

/// One object with what the store knows about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<T> {
    pub spec: T,
    /// Managed by config apply: edits belong in its manifest.
    pub managed: bool,
    /// The manifest file, for managed objects.
    pub source: Option<String>,
    pub version: i64,
}

impl<T> Entry<T> {
    /// An object's spec with its stored (managed, source, version).
    fn new(spec: T, (managed, source, version): (bool, Option<String>, i64)) -> Self {
        Entry {
            spec,
            managed,
            source,
            version,
        }
    }
}

/// Every declared object, by kind and name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directory {
    pub users: BTreeMap<Name, Entry<User>>,
    pub teams: BTreeMap<Name, Entry<Team>>,
    pub schedules: BTreeMap<Name, Entry<Schedule>>,
    pub policies: BTreeMap<Name, Entry<EscalationPolicy>>,
    pub services: BTreeMap<Name, Entry<Service>>,
    pub integrations: BTreeMap<Name, Entry<Integration>>,
    pub heartbeats: BTreeMap<Name, Entry<Heartbeat>>,
    pub monitors: BTreeMap<Name, Entry<Monitor>>,
    pub silences: BTreeMap<Name, Entry<Silence>>,
    pub maintenance_windows: BTreeMap<Name, Entry<MaintenanceWindow>>,
    pub schedule_overrides: BTreeMap<Name, Entry<ScheduleOverride>>,
    pub message_templates: BTreeMap<Name, Entry<MessageTemplate>>,
    pub runbook_actions: BTreeMap<Name, Entry<RunbookAction>>,
    /// [`Self::message_templates`] compiled, on first use (most snapshots,
    /// the web UI's, never render a message).
    templates: TemplateCache,
}

/// The compiled templates of a snapshot. Not part of a snapshot's
/// equality: they follow from its `message_templates`.
#[derive(Debug, Clone, Default)]
struct TemplateCache(OnceLock<Templates>);

impl PartialEq for TemplateCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Directory {
    /// Reads the whole catalog in one store call.
    pub async fn load(store: &dyn Store) -> Result<Directory, StoreError> {
        Ok(Directory::from_rows(store.list_objects(None).await?))
    }

    /// Builds the snapshot from stored rows. A row whose spec no longer
    /// parses (written by a newer version) is skipped with a warning rather
    /// than failing every page.
    pub fn from_rows(rows: Vec<Current>) -> Directory {
        let mut d = Directory::default();
        for row in rows {
            let object = match Object::from_spec(row.kind, row.spec) {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!(kind = %row.kind, name = %row.name, error = %e, "stored object does not parse; not shown");
                    continue;
                }
            };
            let name = row.name;
            let meta = (row.managed, row.source, row.version);
            match object {
                Object::User(o) => _ = d.users.insert(name, Entry::new(o, meta)),
                Object::Team(o) => _ = d.teams.insert(name, Entry::new(o, meta)),
                Object::Schedule(o) => _ = d.schedules.insert(name, Entry::new(o, meta)),
                Object::EscalationPolicy(o) => _ = d.policies.insert(name, Entry::new(o, meta)),
                Object::Service(o) => _ = d.services.insert(name, Entry::new(o, meta)),
                Object::Integration(o) => _ = d.integrations.insert(name, Entry::new(o, meta)),
                Object::Heartbeat(o) => _ = d.heartbeats.insert(name, Entry::new(o, meta)),
                Object::Monitor(o) => _ = d.monitors.insert(name, Entry::new(*o, meta)),
                Object::Silence(o) => _ = d.silences.insert(name, Entry::new(o, meta)),
                Object::MaintenanceWindow(o) => {
                    _ = d.maintenance_windows.insert(name, Entry::new(o, meta))
                }
                Object::ScheduleOverride(o) => {
                    _ = d.schedule_overrides.insert(name, Entry::new(o, meta))
                }
                Object::MessageTemplate(o) => {
                    _ = d.message_templates.insert(name, Entry::new(o, meta))
                }
                Object::RunbookAction(o) => _ = d.runbook_actions.insert(name, Entry::new(o, meta)),
            }
        }
        d
    }

    /// The declared message templates, compiled on the first call (later
    /// changes to `message_templates` are not seen: a snapshot is read once).
    pub fn templates(&self) -> &Templates {
        self.templates
            .0
            .get_or_init(|| Templates::new(self.message_templates.values().map(|e| &e.spec)))
    }

    /// Services matching every word of `query` (case-insensitive) in
    /// their name, description, tags or owning team, by name. An empty
    /// query matches all: the list is the catalog.
    pub fn search_services(&self, query: &str) -> Vec<&Entry<Service>> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        self.services
            .values()
            .filter(|e| matches_all(&e.spec, &words))
            .collect()
    }

    /// Services that declare a dependency on `service`: who is hit when it breaks.
    pub fn dependents(&self, service: &Name) -> Vec<&Name> {
        self.services
            .values()
            .filter(|e| e.spec.depends_on.contains(service))
            .map(|e| &e.spec.name)
            .collect()
    }

    pub fn services_of_team(&self, team: &Name) -> Vec<&Entry<Service>> {
        self.services
            .values()
            .filter(|e| e.spec.team == *team)
            .collect()
    }

    pub fn schedules_of_team(&self, team: &Name) -> Vec<&Entry<Schedule>> {
        self.schedules
            .values()
            .filter(|e| e.spec.team.as_ref() == Some(team))
            .collect()
    }

    pub fn policies_of_team(&self, team: &Name) -> Vec<&Entry<EscalationPolicy>> {
        self.policies
            .values()
            .filter(|e| e.spec.team.as_ref() == Some(team))
            .collect()
    }

    /// Teams that list `user` as a member.
    pub fn teams_of_user(&self, user: &Name) -> Vec<&Entry<Team>> {
        self.teams
            .values()
            .filter(|e| e.spec.members.contains(user))
            .collect()
    }

    pub fn integrations_of_service(&self, service: &Name) -> Vec<&Entry<Integration>> {
        self.integrations
            .values()
            .filter(|e| e.spec.service == *service)
            .collect()
    }

    /// The people a schedule rotates through, in first-seen order.
    pub fn schedule_participants<'a>(&self, schedule: &'a Schedule) -> Vec<&'a Name> {
        let mut seen = BTreeSet::new();
        schedule
            .layers
            .iter()
            .flat_map(|l| l.participants.iter())
            .filter(|n| seen.insert(*n))
            .collect()
    }
}

fn matches_all(s: &Service, words: &[String]) -> bool {
    words.iter().all(|w| {
        s.name.as_str().contains(w.as_str())
            || s.team.as_str().contains(w.as_str())
            || s.description
                .as_deref()
                .is_some_and(|d| d.to_lowercase().contains(w.as_str()))
            || s.tags.iter().any(|t| t.to_lowercase().contains(w.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_domain::catalog::Kind;

    fn row(kind: Kind, spec: serde_json::Value) -> Current {
        let name = Name::parse(spec["name"].as_str().unwrap()).unwrap();
        Current {
            id: name.to_string(),
            kind,
            name,
            spec,
            managed: false,
            source: None,
            version: 1,
            secret: Some("k".into()),
        }
    }

    fn sample() -> Directory {
        let svc = |name: &str, team: &str, deps: &[&str], tags: &[&str], desc: &str| {
            row(
                Kind::Service,
                serde_json::json!({ "name": name, "team": team, "depends_on": deps, "tags": tags, "description": desc }),
            )
        };
        Directory::from_rows(vec![
            row(
                Kind::Team,
                serde_json::json!({ "name": "payments", "members": ["alice"] }),
            ),
            svc(
                "checkout",
                "payments",
                &["ledger", "postgres"],
                &["tier-1", "Customer-Facing"],
                "The Pay button",
            ),
            svc(
                "ledger",
                "payments",
                &["postgres"],
                &["tier-1"],
                "Money book",
            ),
            svc("postgres", "platform", &[], &["database"], "Main cluster"),
            row(
                Kind::User,
                serde_json::json!({ "name": "bad", "unknown_field": 1 }),
            ),
        ])
    }

    #[test]
    fn search_matches_every_word_in_name_description_tags_or_team() {
        let d = sample();
        let names = |q: &str| {
            d.search_services(q)
                .iter()
                .map(|e| e.spec.name.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(""), ["checkout", "ledger", "postgres"]);
        assert_eq!(
            names("PAY"),
            ["checkout", "ledger"],
            "team payments, and 'Pay' in a description"
        );
        assert_eq!(
            names("customer-facing"),
            ["checkout"],
            "tags, case-insensitive"
        );
        assert_eq!(names("tier-1 book"), ["ledger"], "all words must match");
        assert_eq!(names("platform"), ["postgres"]);
        assert!(names("nothing-like-this").is_empty());
    }

    #[test]
    fn reverse_dependencies_and_lookups() {
        let d = sample();
        let pg = Name::parse("postgres").unwrap();
        let got: Vec<&str> = d.dependents(&pg).iter().map(|n| n.as_str()).collect();
        assert_eq!(got, ["checkout", "ledger"]);
        assert!(d.dependents(&Name::parse("checkout").unwrap()).is_empty());
        let alice = Name::parse("alice").unwrap();
        assert_eq!(d.teams_of_user(&alice).len(), 1);
        assert_eq!(
            d.services_of_team(&Name::parse("payments").unwrap()).len(),
            2
        );
        assert!(
            d.users.is_empty(),
            "an unparseable row is skipped, not fatal"
        );
    }
}
