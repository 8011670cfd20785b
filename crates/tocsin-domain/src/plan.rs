//! Plan: the difference between a desired catalog (from manifests) and the
//! current one (from the store), in the terms a Terraform user expects:
//! create, update (with the fields that change), delete (only with prune,
//! and only objects that config manages), and adopt (an object made by hand
//! that a manifest now declares).

use crate::Name;
use crate::catalog::{Kind, Object};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// An object as the store holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub id: String,
    pub kind: Kind,
    pub name: Name,
    pub spec: serde_json::Value,
    /// Whether config apply owns the object (it may then update and prune it).
    pub managed: bool,
    /// The manifest file it came from, for managed objects.
    pub source: Option<String>,
    /// Bumped on every write; apply checks it so a concurrent edit is not
    /// silently overwritten.
    pub version: i64,
    /// The object's secret (an integration key), never shown.
    pub secret: Option<String>,
}

/// An object as the manifests declare it.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub object: Object,
    pub source: String,
    /// A secret whose value the manifest determines (read from the
    /// environment); `None` keeps the current one (or generates one).
    pub secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Create,
    /// `fields` lists the top-level fields that change; `(secret)` and
    /// `(source)` stand for the key and the manifest file.
    Update {
        fields: Vec<String>,
    },
    /// Declared in a manifest, made by hand: apply takes it over.
    Adopt {
        fields: Vec<String>,
    },
    Delete,
    /// Managed by config but in no manifest: deleted only with `--prune`.
    Orphan,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: Kind,
    pub name: Name,
    pub action: Action,
    /// For create/update/adopt.
    pub desired: Option<Desired>,
    /// For update/adopt/delete: the row and the version the plan saw.
    pub current: Option<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub unchanged: usize,
}

impl Plan {
    /// Whether applying would write anything.
    pub fn is_empty(&self) -> bool {
        self.changes.iter().all(|c| c.action == Action::Orphan)
    }

    pub fn count(&self, f: impl Fn(&Action) -> bool) -> usize {
        self.changes.iter().filter(|c| f(&c.action)).count()
    }
}

/// Computes the plan. Creates and updates come in dependency order (users
/// before teams before services...), deletes in reverse.
pub fn plan(desired: Vec<Desired>, current: &[Current], prune: bool) -> Plan {
    let by_key: BTreeMap<(Kind, &Name), &Current> =
        current.iter().map(|c| ((c.kind, &c.name), c)).collect();
    let mut seen = BTreeSet::new();
    let mut changes = Vec::new();
    let mut unchanged = 0;
    let mut desired = desired;
    desired.sort_by(|a, b| {
        (a.object.kind(), a.object.name()).cmp(&(b.object.kind(), b.object.name()))
    });
    for d in desired {
        let kind = d.object.kind();
        let name = d.object.name().clone();
        seen.insert((kind, name.clone()));
        match by_key.get(&(kind, &name)) {
            None => changes.push(Change {
                kind,
                name,
                action: Action::Create,
                desired: Some(d),
                current: None,
            }),
            Some(cur) => {
                let mut fields = changed_fields(&cur.spec, &d.object.spec_json());
                if d.secret.is_some() && d.secret != cur.secret {
                    fields.push("(secret)".into());
                }
                if cur.managed && cur.source.as_deref() != Some(d.source.as_str()) {
                    fields.push("(source)".into());
                }
                let action = if !cur.managed {
                    Action::Adopt { fields }
                } else if fields.is_empty() {
                    unchanged += 1;
                    continue;
                } else {
                    Action::Update { fields }
                };
                let current = Some((cur.id.clone(), cur.version));
                changes.push(Change {
                    kind,
                    name,
                    action,
                    desired: Some(d),
                    current,
                });
            }
        }
    }
    let mut gone: Vec<&Current> = current
        .iter()
        .filter(|c| c.managed && !seen.contains(&(c.kind, c.name.clone())))
        .collect();
    gone.sort_by(|a, b| (b.kind, &b.name).cmp(&(a.kind, &a.name)));
    for c in gone {
        changes.push(Change {
            kind: c.kind,
            name: c.name.clone(),
            action: if prune {
                Action::Delete
            } else {
                Action::Orphan
            },
            desired: None,
            current: Some((c.id.clone(), c.version)),
        });
    }
    Plan { changes, unchanged }
}

/// Top-level fields whose values differ; a field absent on one side counts.
fn changed_fields(old: &serde_json::Value, new: &serde_json::Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let o = old.as_object().unwrap_or(&empty);
    let n = new.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
    keys.into_iter()
        .filter(|k| o.get(*k) != n.get(*k))
        .map(|k| k.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Team;

    fn team(name: &str, desc: Option<&str>) -> Object {
        Object::Team(Team {
            name: Name::parse(name).unwrap(),
            description: desc.map(str::to_owned),
            members: vec![],
        })
    }

    fn cur(o: &Object, managed: bool) -> Current {
        Current {
            id: format!("id-{}", o.name()),
            kind: o.kind(),
            name: o.name().clone(),
            spec: o.spec_json(),
            managed,
            source: managed.then(|| "a.yaml".to_owned()),
            version: 1,
            secret: None,
        }
    }

    fn want(o: Object) -> Desired {
        Desired {
            object: o,
            source: "a.yaml".into(),
            secret: None,
        }
    }

    #[test]
    fn create_update_unchanged_orphan_delete() {
        let current = vec![
            cur(&team("same", None), true),
            cur(&team("edited", None), true),
            cur(&team("gone", None), true),
            cur(&team("handmade", None), false),
            cur(&team("byhand-kept", None), false),
        ];
        let desired = vec![
            want(team("same", None)),
            want(team("edited", Some("new words"))),
            want(team("fresh", None)),
            want(team("handmade", None)),
        ];
        let p = plan(desired.clone(), &current, false);
        let actions: Vec<(String, Action)> = p
            .changes
            .iter()
            .map(|c| (c.name.to_string(), c.action.clone()))
            .collect();
        assert_eq!(
            actions,
            vec![
                (
                    "edited".into(),
                    Action::Update {
                        fields: vec!["description".into()]
                    }
                ),
                ("fresh".into(), Action::Create),
                ("handmade".into(), Action::Adopt { fields: vec![] }),
                ("gone".into(), Action::Orphan),
            ]
        );
        assert_eq!(p.unchanged, 1);
        let pruned = plan(desired, &current, true);
        assert_eq!(
            pruned.changes.last().map(|c| &c.action),
            Some(&Action::Delete)
        );
        // Objects made by hand are never pruned.
        assert!(
            !pruned
                .changes
                .iter()
                .any(|c| c.name.as_str() == "byhand-kept")
        );
    }

    #[test]
    fn secret_and_source_changes_are_updates() {
        let t = team("t", None);
        let mut c = cur(&t, true);
        c.secret = Some("old".into());
        let mut d = want(t.clone());
        d.secret = Some("new".into());
        d.source = "b.yaml".into();
        let p = plan(vec![d], &[c], false);
        assert_eq!(
            p.changes[0].action,
            Action::Update {
                fields: vec!["(secret)".into(), "(source)".into()]
            }
        );
        assert!(plan(vec![], &[], true).is_empty());
    }
}

/// Model-based property: carrying out a plan (the way a store does) makes
/// the catalog match the manifests, never touches hand-made objects it does
/// not adopt, and planning again finds nothing to do.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::catalog::Team;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn team(name: &str, desc: Option<u8>) -> Object {
        Object::Team(Team {
            name: Name::parse(name).unwrap(),
            description: desc.map(|d| format!("d{d}")),
            members: vec![],
        })
    }

    /// Stores objects by name: (spec, managed, source, version).
    type Db = BTreeMap<Name, (serde_json::Value, bool, Option<String>, i64)>;

    fn current(db: &Db) -> Vec<Current> {
        db.iter()
            .map(|(n, (spec, managed, source, version))| Current {
                id: n.to_string(),
                kind: Kind::Team,
                name: n.clone(),
                spec: spec.clone(),
                managed: *managed,
                source: source.clone(),
                version: *version,
                secret: None,
            })
            .collect()
    }

    fn carry_out(db: &mut Db, plan: &Plan) {
        for c in &plan.changes {
            match (&c.action, &c.desired) {
                (Action::Create | Action::Update { .. } | Action::Adopt { .. }, Some(d)) => {
                    let version = db.get(&c.name).map_or(1, |row| row.3 + 1);
                    db.insert(
                        c.name.clone(),
                        (d.object.spec_json(), true, Some(d.source.clone()), version),
                    );
                }
                (Action::Delete, _) => {
                    db.remove(&c.name);
                }
                _ => {}
            }
        }
    }

    fn names() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["a", "b", "c", "d", "e", "f"]).prop_map(str::to_owned)
    }

    proptest! {
        #[test]
        fn applying_a_plan_converges(
            existing in prop::collection::btree_map(names(), (prop::option::of(0u8..3), any::<bool>()), 0..6),
            wanted in prop::collection::btree_map(names(), (prop::option::of(0u8..3), 0u8..2), 0..6),
            prune in any::<bool>(),
        ) {
            let mut db: Db = existing
                .iter()
                .map(|(n, (desc, managed))| {
                    let o = team(n, *desc);
                    (o.name().clone(), (o.spec_json(), *managed, managed.then(|| "x.yaml".to_owned()), 1))
                })
                .collect();
            let before = db.clone();
            let desired: Vec<Desired> = wanted
                .iter()
                .map(|(n, (desc, file))| Desired { object: team(n, *desc), source: format!("f{file}.yaml"), secret: None })
                .collect();
            let p = plan(desired.clone(), &current(&db), prune);
            carry_out(&mut db, &p);

            for d in &desired {
                let row = db.get(d.object.name()).expect("declared object exists");
                prop_assert_eq!(&row.0, &d.object.spec_json());
                prop_assert!(row.1, "declared objects are managed");
            }
            for (name, row) in &before {
                let declared = wanted.contains_key(name.as_str());
                if !declared && !row.1 {
                    prop_assert_eq!(db.get(name), Some(row), "hand-made objects are untouched");
                }
                if !declared && row.1 {
                    prop_assert_eq!(db.contains_key(name), !prune, "orphans go only with prune");
                }
            }
            let again = plan(desired, &current(&db), prune);
            prop_assert!(again.is_empty(), "re-plan after apply: {:?}", again.changes);
        }
    }
}
