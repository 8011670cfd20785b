//! Editing one's own profile: the part of a user object a person keeps up
//! to date themselves — time zone, contact methods, notification rules.
//! Name, full name and email stay as declared: others know the person by
//! them. A user managed by config is edited in its manifest, never here,
//! or the next apply would silently undo the change.
//!
//! The web form, the API and the CLI all go through [`update`], so the
//! rule of what may change and how the write is built lives once.

use crate::audit::Actor;
use jiff::Timestamp;
use serde_json::json;
use std::collections::BTreeSet;
use tocsin_domain::Name;
use tocsin_domain::catalog::{
    self, ContactKind, ContactMethod, Kind, NotificationRule, Object, User,
};
use tocsin_store::{CatalogWrite, Store, StoreError};

/// The contact method types, as written in manifests and forms.
pub const CONTACT_TYPES: [&str; 7] = [
    "email",
    "slack",
    "mattermost",
    "matrix",
    "teams",
    "ntfy",
    "webhook",
];

/// One contact method as typed into a form (not yet parsed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactInput {
    pub name: String,
    /// One of [`CONTACT_TYPES`].
    pub kind: String,
    pub address: String,
}

/// One notification rule as typed into a form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleInput {
    /// A contact method's name.
    pub contact: String,
    /// Whole minutes; empty means 0 (at once).
    pub after_minutes: String,
}

/// The new values of the editable fields; the lists replace the old ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileInput {
    pub time_zone: String,
    pub contact_methods: Vec<ContactInput>,
    pub notification_rules: Vec<RuleInput>,
}

/// A problem with one field, its path relative to the user object
/// (`contact_methods[1].address`) so a form can show it next to the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub path: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("no user named {0} is declared")]
    NotFound(Name),
    #[error("user {name} is managed in Git ({}); change it there and apply", .file.as_deref().unwrap_or("a manifest"))]
    ManagedByConfig { name: Name, file: Option<String> },
    #[error("{} problem(s) in the profile", .0.len())]
    Invalid(Vec<FieldProblem>),
    #[error(
        "the profile was changed meanwhile (in another tab or by someone else); reload it and make the change again"
    )]
    Conflict,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ProfileError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => ProfileError::Conflict,
            other => ProfileError::Store(other),
        }
    }
}

/// The user object with `input`'s values in its editable fields, checked
/// by the same rules as a manifest; every problem at once.
pub fn apply_input(
    current: &User,
    input: &ProfileInput,
    existing: &BTreeSet<(Kind, Name)>,
) -> Result<User, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    // Rows that parse go into the new object; these map their position
    // there back to the row typed, so every problem lands on its row.
    let mut contact_rows = Vec::new();
    let mut unparsed_contacts = BTreeSet::new();
    let mut contact_methods = Vec::new();
    for (i, c) in input.contact_methods.iter().enumerate() {
        let name = Name::parse(c.name.trim())
            .map_err(|e| (format!("contact_methods[{i}].name"), e.to_string()));
        let kind = parse_contact_kind(c.kind.trim()).ok_or_else(|| {
            (
                format!("contact_methods[{i}].type"),
                format!(
                    "{:?} is not a contact type; use one of {}",
                    c.kind,
                    CONTACT_TYPES.join(", ")
                ),
            )
        });
        match (name, kind) {
            (Ok(name), Ok(kind)) => {
                contact_rows.push(i);
                contact_methods.push(ContactMethod {
                    name,
                    kind,
                    address: c.address.trim().to_owned(),
                });
            }
            (name, kind) => {
                unparsed_contacts.insert(c.name.trim().to_owned());
                for (path, message) in [name.err(), kind.err()].into_iter().flatten() {
                    problems.push(FieldProblem { path, message });
                }
            }
        }
    }
    let mut rule_rows = Vec::new();
    let mut notification_rules = Vec::new();
    for (i, r) in input.notification_rules.iter().enumerate() {
        let contact = Name::parse(r.contact.trim());
        let minutes = r.after_minutes.trim();
        let after = if minutes.is_empty() {
            Ok(0)
        } else {
            minutes.parse::<u32>()
        };
        if let Err(e) = &contact {
            problems.push(FieldProblem {
                path: format!("notification_rules[{i}].contact"),
                message: e.to_string(),
            });
        }
        if after.is_err() {
            problems.push(FieldProblem {
                path: format!("notification_rules[{i}].after_minutes"),
                message: format!("{minutes:?} is not a whole number of minutes (0 = at once)"),
            });
        }
        if let (Ok(contact), Ok(after_minutes)) = (contact, after) {
            rule_rows.push(i);
            notification_rules.push(NotificationRule {
                contact,
                after_minutes,
            });
        }
    }
    let user = User {
        time_zone: input.time_zone.trim().to_owned(),
        contact_methods,
        notification_rules,
        ..current.clone()
    };
    let object = Object::User(user);
    for p in catalog::validate(std::slice::from_ref(&object), existing) {
        let path = remap(&p.path, "contact_methods", &contact_rows)
            .or_else(|| remap(&p.path, "notification_rules", &rule_rows))
            .unwrap_or(p.path);
        // A rule naming a contact method whose own row did not parse
        // would only repeat that row's problem.
        let repeats = path.starts_with("notification_rules[")
            && path.ends_with(".contact")
            && input
                .notification_rules
                .get(row_index(&path).unwrap_or(usize::MAX))
                .is_some_and(|r| unparsed_contacts.contains(r.contact.trim()));
        if !repeats {
            problems.push(FieldProblem {
                path,
                message: p.message,
            });
        }
    }
    match object {
        Object::User(user) if problems.is_empty() => Ok(user),
        _ => Err(problems),
    }
}

fn parse_contact_kind(s: &str) -> Option<ContactKind> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

/// `contact_methods[k].x` of the built object → `contact_methods[rows[k]].x` of the input.
fn remap(path: &str, list: &str, rows: &[usize]) -> Option<String> {
    let rest = path.strip_prefix(list)?.strip_prefix('[')?;
    let (k, tail) = rest.split_once(']')?;
    let row = rows.get(k.parse::<usize>().ok()?)?;
    Some(format!("{list}[{row}]{tail}"))
}

fn row_index(path: &str) -> Option<usize> {
    path.split_once('[')?.1.split_once(']')?.0.parse().ok()
}

/// The editable fields that differ.
pub fn changed_fields(before: &User, after: &User) -> Vec<&'static str> {
    let mut fields = Vec::new();
    if before.time_zone != after.time_zone {
        fields.push("time_zone");
    }
    if before.contact_methods != after.contact_methods {
        fields.push("contact_methods");
    }
    if before.notification_rules != after.notification_rules {
        fields.push("notification_rules");
    }
    fields
}

/// Saves `input` as `user`'s profile; returns the fields that changed
/// (none: nothing was written). Whether the actor may edit this profile is
/// the caller's check (`Action::EditProfile`). The write carries the
/// version read, so a concurrent edit fails with [`ProfileError::Conflict`]
/// instead of being overwritten; the audit entry is in the same transaction.
pub async fn update(
    store: &dyn Store,
    user: &Name,
    input: &ProfileInput,
    actor: &Actor,
    now: Timestamp,
) -> Result<Vec<&'static str>, ProfileError> {
    let Some(row) = store.get_object(Kind::User, user).await? else {
        return Err(ProfileError::NotFound(user.clone()));
    };
    if row.managed {
        return Err(ProfileError::ManagedByConfig {
            name: user.clone(),
            file: row.source,
        });
    }
    let current = match Object::from_spec(Kind::User, row.spec) {
        Ok(Object::User(u)) => u,
        _ => {
            return Err(ProfileError::Invalid(vec![FieldProblem {
                path: String::new(),
                message: "the stored user does not parse; an admin must fix it".into(),
            }]));
        }
    };
    let existing: BTreeSet<(Kind, Name)> = store
        .list_objects(None)
        .await?
        .into_iter()
        .map(|c| (c.kind, c.name))
        .collect();
    let updated = apply_input(&current, input, &existing).map_err(ProfileError::Invalid)?;
    let fields = changed_fields(&current, &updated);
    if fields.is_empty() {
        return Ok(fields);
    }
    let write = CatalogWrite::Update {
        id: row.id,
        expected_version: row.version,
        spec: Object::User(updated).spec_json(),
        managed: false,
        source: None,
        secret: None,
    };
    let audit = actor.entry(
        "profile.update",
        Some(("user", user.as_str())),
        json!({ "fields": fields }),
    );
    store.apply_catalog(&[write], &[audit], now).await?;
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> User {
        serde_json::from_value(json!({
            "name": "alice", "full_name": "Alice", "email": "alice@example.com", "time_zone": "UTC",
            "contact_methods": [{ "name": "work-email", "type": "email", "address": "alice@example.com" }],
        }))
        .unwrap()
    }

    fn contact(name: &str, kind: &str, address: &str) -> ContactInput {
        ContactInput {
            name: name.into(),
            kind: kind.into(),
            address: address.into(),
        }
    }

    fn rule(contact: &str, after: &str) -> RuleInput {
        RuleInput {
            contact: contact.into(),
            after_minutes: after.into(),
        }
    }

    #[test]
    fn only_the_editable_fields_change() {
        let input = ProfileInput {
            time_zone: " Europe/Paris ".into(),
            contact_methods: vec![
                contact("work-email", "email", "alice@example.com"),
                contact("phone", "ntfy", "tocsin-alice"),
            ],
            notification_rules: vec![rule("phone", ""), rule("work-email", "5")],
        };
        let got = apply_input(&alice(), &input, &BTreeSet::new()).unwrap();
        assert_eq!(got.time_zone, "Europe/Paris");
        assert_eq!(got.full_name, "Alice");
        assert_eq!(got.email, "alice@example.com");
        assert_eq!(got.contact_methods.len(), 2);
        assert_eq!(got.notification_rules[0].after_minutes, 0);
        assert_eq!(got.notification_rules[1].after_minutes, 5);
        assert_eq!(
            changed_fields(&alice(), &got),
            ["time_zone", "contact_methods", "notification_rules"]
        );
        assert!(changed_fields(&alice(), &alice()).is_empty());
    }

    #[test]
    fn every_problem_is_reported_on_the_row_typed() {
        let input = ProfileInput {
            time_zone: "Mars/Olympus".into(),
            contact_methods: vec![
                contact("Bad Name", "email", "x@example.com"),
                contact("pager", "carrier-pigeon", "coo"),
                contact("mail", "email", "not-an-address"),
                contact("hook", "webhook", "ftp://example.com"),
            ],
            notification_rules: vec![
                rule("pager", "soon"),
                rule("nobody", "1"),
                rule("mail", "2"),
            ],
        };
        let mut got: Vec<String> = apply_input(&alice(), &input, &BTreeSet::new())
            .unwrap_err()
            .into_iter()
            .map(|p| p.path)
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                "contact_methods[0].name",
                "contact_methods[1].type",
                "contact_methods[2].address",
                "contact_methods[3].address",
                "notification_rules[0].after_minutes",
                "notification_rules[1].contact",
                "time_zone",
            ]
        );
    }
}
