//! The catalog use cases: read declared objects, and validate / plan /
//! apply manifests like a Terraform user expects — plan shows what apply
//! will do; apply is all or nothing; prune deletes only what config owns.

use crate::audit::Actor;
use crate::manifest::{ManifestError, Manifests};
use crate::token::random_secret;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeSet;
use tocsin_domain::Name;
use tocsin_domain::catalog::{Kind, Object};
use tocsin_domain::plan::{self, Action, Current, Desired, Plan};
use tocsin_store::{CatalogWrite, Store, StoreError};

/// Length of generated integration keys (PagerDuty routing keys are 32).
const INTEGRATION_KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{} problem(s) in the manifests", .0.len())]
    Invalid(Vec<ManifestError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads a variable from the environment at plan time.
pub type EnvLookup<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

/// The process environment, for the CLI and the server.
pub fn process_env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

/// Computes what applying `manifests` would change. Fails with every
/// problem at once if the manifests are not valid against the store.
pub async fn plan(
    store: &dyn Store,
    manifests: &Manifests,
    prune: bool,
    env: EnvLookup<'_>,
) -> Result<Plan, ConfigError> {
    let current = store.list_objects(None).await?;
    let declared: BTreeSet<(Kind, &Name)> = manifests
        .declared
        .iter()
        .map(|d| (d.object.kind(), d.object.name()))
        .collect();
    let pruned = |c: &Current| prune && c.managed && !declared.contains(&(c.kind, &c.name));
    let existing: BTreeSet<(Kind, Name)> = current
        .iter()
        .filter(|c| !pruned(c))
        .map(|c| (c.kind, c.name.clone()))
        .collect();
    let mut errors = manifests.check(&existing);
    let mut desired = Vec::new();
    for (i, d) in manifests.declared.iter().enumerate() {
        let mut secret = None;
        if let Object::Integration(integration) = &d.object
            && let Some(var) = &integration.key_env
        {
            match env(var).filter(|v| !v.is_empty()) {
                Some(v) => secret = Some(v),
                None => errors.push(manifests.locate(
                    i,
                    "key_env",
                    format!(
                        "environment variable {var} is not set; export it where plan/apply runs"
                    ),
                )),
            }
        }
        let source = manifests.source_of(i).to_owned();
        desired.push(Desired {
            object: d.object.clone(),
            source,
            secret,
        });
    }
    // Objects that stay but are not declared must not lose what they refer to.
    for c in current
        .iter()
        .filter(|c| !pruned(c) && !declared.contains(&(c.kind, &c.name)))
    {
        let Ok(object) = Object::from_spec(c.kind, c.spec.clone()) else {
            continue;
        };
        for r in object.references() {
            let target_pruned = current
                .iter()
                .any(|t| t.kind == r.kind && t.name == r.name && pruned(t));
            if target_pruned {
                errors.push(ManifestError {
                    file: "(database)".into(),
                    line: 0,
                    column: 0,
                    path: format!("{}s.{}.{}", c.kind, c.name, r.path),
                    message: format!(
                        "--prune would delete {} {:?}, but {} {:?} (not in any manifest) refers to it",
                        r.kind.label(),
                        r.name.as_str(),
                        c.kind.label(),
                        c.name.as_str()
                    ),
                });
            }
        }
    }
    if !errors.is_empty() {
        return Err(ConfigError::Invalid(errors));
    }
    Ok(plan::plan(desired, &current, prune))
}

/// Writes the plan in one transaction, with one audit entry per change
/// (interface `config`; `detail.via` says where the apply came from). A
/// concurrent change to any object the plan saw makes the whole apply fail
/// with nothing written.
pub async fn apply(
    store: &dyn Store,
    plan: &Plan,
    actor: &Actor,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut writes = Vec::new();
    let mut audit = Vec::new();
    let config_actor = Actor::new(actor.label.clone(), tocsin_domain::audit::Interface::Config);
    for change in &plan.changes {
        let (verb, fields) = match &change.action {
            Action::Create => ("catalog.create", vec![]),
            Action::Update { fields } => ("catalog.update", fields.clone()),
            Action::Adopt { fields } => ("catalog.adopt", fields.clone()),
            Action::Delete => ("catalog.delete", vec![]),
            Action::Orphan => ("", vec![]),
        };
        if !verb.is_empty() {
            let source = change.desired.as_ref().map(|d| d.source.clone());
            audit.push(config_actor.entry(
                verb,
                Some((change.kind.as_str(), change.name.as_str())),
                serde_json::json!({ "via": actor.interface, "fields": fields, "source": source }),
            ));
        }
        match (&change.action, &change.desired, &change.current) {
            (Action::Create, Some(d), _) => {
                let secret = match (&d.secret, &d.object) {
                    (Some(s), _) => Some(s.clone()),
                    (None, Object::Integration(_)) => Some(random_secret(INTEGRATION_KEY_LEN)),
                    (None, _) => None,
                };
                writes.push(CatalogWrite::Create {
                    kind: change.kind,
                    name: change.name.clone(),
                    spec: d.object.spec_json(),
                    managed: true,
                    source: Some(d.source.clone()),
                    secret,
                });
            }
            (Action::Update { .. } | Action::Adopt { .. }, Some(d), Some((id, version))) => {
                writes.push(CatalogWrite::Update {
                    id: id.clone(),
                    expected_version: *version,
                    spec: d.object.spec_json(),
                    managed: true,
                    source: Some(d.source.clone()),
                    secret: d.secret.clone(),
                });
            }
            (Action::Delete, _, Some((id, version))) => writes.push(CatalogWrite::Delete {
                id: id.clone(),
                expected_version: *version,
            }),
            _ => {}
        }
    }
    if writes.is_empty() {
        return Ok(());
    }
    store.apply_catalog(&writes, &audit, now).await
}

/// A plan as the API returns it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanView {
    pub changes: Vec<ChangeView>,
    pub summary: PlanSummary,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChangeView {
    pub kind: String,
    pub name: String,
    /// create, update, adopt, delete, or orphan (managed by config, in no
    /// manifest: deleted only with prune).
    pub action: String,
    /// The fields that change, for update and adopt.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct PlanSummary {
    pub create: usize,
    pub update: usize,
    pub adopt: usize,
    pub delete: usize,
    pub orphan: usize,
    pub unchanged: usize,
}

pub fn view(plan: &Plan) -> PlanView {
    let mut summary = PlanSummary {
        unchanged: plan.unchanged,
        ..Default::default()
    };
    let changes = plan
        .changes
        .iter()
        .map(|c| {
            let (action, fields) = match &c.action {
                Action::Create => ("create", vec![]),
                Action::Update { fields } => ("update", fields.clone()),
                Action::Adopt { fields } => ("adopt", fields.clone()),
                Action::Delete => ("delete", vec![]),
                Action::Orphan => ("orphan", vec![]),
            };
            match action {
                "create" => summary.create += 1,
                "update" => summary.update += 1,
                "adopt" => summary.adopt += 1,
                "delete" => summary.delete += 1,
                _ => summary.orphan += 1,
            }
            ChangeView {
                kind: c.kind.to_string(),
                name: c.name.to_string(),
                action: action.into(),
                fields,
            }
        })
        .collect();
    PlanView { changes, summary }
}

/// The plan as a person reads it in a terminal.
pub fn render(plan: &Plan) -> String {
    let v = view(plan);
    let mut out = String::new();
    for c in &v.changes {
        let label = Kind::parse(&c.kind).map(Kind::label).unwrap_or("object");
        let fields = if c.fields.is_empty() {
            String::new()
        } else {
            format!(" ({})", c.fields.join(", "))
        };
        let line = match c.action.as_str() {
            "create" => format!("  + create {label} {}", c.name),
            "update" => format!("  ~ update {label} {}{fields}", c.name),
            "adopt" => format!(
                "  ~ adopt {label} {} (made by hand; config will manage it){fields}",
                c.name
            ),
            "delete" => format!("  - delete {label} {}", c.name),
            _ => format!(
                "  ! keep {label} {}: managed by config but in no manifest (apply --prune deletes it)",
                c.name
            ),
        };
        out.push_str(&line);
        out.push('\n');
    }
    let s = &v.summary;
    if plan.is_empty() {
        out.push_str(&format!(
            "No changes. {} object(s) up to date.\n",
            s.unchanged
        ));
    } else {
        out.push_str(&format!(
            "Plan: {} to create, {} to change, {} to adopt, {} to delete; {} unchanged.\n",
            s.create, s.update, s.adopt, s.delete, s.unchanged
        ));
    }
    out
}

/// An object as read back from the store.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ObjectView {
    pub kind: String,
    pub name: String,
    /// Set when config apply manages the object: edit its manifest instead.
    pub managed_by_config: bool,
    /// The manifest file it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub version: i64,
    /// The object's fields, as declared.
    #[schema(value_type = Object)]
    pub spec: serde_json::Value,
}

impl From<Current> for ObjectView {
    fn from(c: Current) -> Self {
        ObjectView {
            kind: c.kind.to_string(),
            name: c.name.to_string(),
            managed_by_config: c.managed,
            source: c.source,
            version: c.version,
            spec: c.spec,
        }
    }
}

pub async fn list(store: &dyn Store, kind: Kind) -> Result<Vec<ObjectView>, StoreError> {
    Ok(store
        .list_objects(Some(kind))
        .await?
        .into_iter()
        .map(ObjectView::from)
        .collect())
}

pub async fn get(
    store: &dyn Store,
    kind: Kind,
    name: &Name,
) -> Result<Option<ObjectView>, StoreError> {
    Ok(store.get_object(kind, name).await?.map(ObjectView::from))
}
