//! Silences and maintenance windows made at run time (API, later chat):
//! checked by the same rules as manifests, authorized by the teams of the
//! services they touch, written with their audit entry in one transaction,
//! and marked *not* managed by config, so `apply --prune` leaves them
//! alone. Objects that config manages are changed in their manifest.
//!
//! Who may: a silence or window that names services (a window's
//! `services`, a silence's `service="…"` matchers) needs the responder role
//! in each of their teams; a silence that names no service reaches every
//! team's alerts and needs an admin.

use crate::audit::Actor;
use crate::catalog::ObjectView;
use crate::token::random_secret;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use tocsin_domain::Name;
use tocsin_domain::access::{Action, Principal};
use tocsin_domain::catalog::{self, Kind, MaintenanceWindow, Object, Repeat, Silence};
use tocsin_domain::noise::{MatchOp, Matcher, SERVICE_LABEL, SilenceRule, WindowRule};
use tocsin_store::{AlertRecord, CatalogWrite, Store, StoreError};

/// How many open alerts a preview looks at.
pub const PREVIEW_LIMIT: u32 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum NoiseError {
    /// Field path → reason, every problem at once.
    #[error("{} problem(s)", .0.len())]
    Invalid(Vec<(String, String)>),
    #[error("{0}")]
    Denied(String),
    #[error("{0}")]
    NotFound(String),
    /// Exists already, or managed by config.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A silence to create. Either `ends_at` or `duration` says when it ends.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    /// Default: `silence-` and a random suffix.
    pub name: Option<String>,
    /// Alertmanager matchers: `alertname="DiskFull"`, `service=checkout`, `instance=~"db-.*"`.
    pub matchers: Vec<String>,
    /// RFC 3339; default now.
    pub starts_at: Option<String>,
    /// RFC 3339.
    pub ends_at: Option<String>,
    /// Instead of `ends_at`: how long from the start (`2h`, `30m`).
    pub duration: Option<String>,
    pub comment: Option<String>,
}

/// A maintenance window to create.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWindow {
    /// Default: `maintenance-` and a random suffix.
    pub name: Option<String>,
    pub services: Vec<String>,
    /// `YYYY-MM-DDTHH:MM` in `time_zone`, or RFC 3339; default now.
    pub starts_at: Option<String>,
    /// How long each occurrence lasts (`2h`).
    pub duration: String,
    /// IANA zone; default UTC.
    pub time_zone: Option<String>,
    /// none, daily, weekly or monthly.
    #[serde(default)]
    #[schema(value_type = String)]
    pub repeat: Repeat,
    pub until: Option<String>,
    pub reason: Option<String>,
}

/// What a silence would match now.
#[derive(Debug, Clone)]
pub struct Preview {
    /// Open alerts it matches, newest first.
    pub matching: Vec<AlertRecord>,
    /// How many open alerts were looked at.
    pub checked: usize,
}

pub async fn create_silence(
    store: &dyn Store,
    who: &Principal,
    actor: &Actor,
    req: NewSilence,
    now: Timestamp,
) -> Result<ObjectView, NoiseError> {
    let mut problems = Vec::new();
    let name = new_name(req.name.as_deref(), "silence", &mut problems);
    let starts = req.starts_at.clone().unwrap_or_else(|| now.to_string());
    let ends_at = match (&req.ends_at, &req.duration) {
        (Some(e), None) => Some(e.clone()),
        (None, Some(d)) => match (span(d), starts.parse::<Timestamp>()) {
            (Some(d), Ok(s)) => Some((s + d).to_string()),
            (None, _) => {
                problems.push((
                    "duration".into(),
                    format!("{d:?} is not a positive span; write e.g. 30m, 2h, 1d"),
                ));
                None
            }
            (_, Err(_)) => None, // reported by the silence's own check
        },
        (Some(_), Some(_)) => {
            problems.push((
                "duration".into(),
                "give ends_at or duration, not both".into(),
            ));
            None
        }
        (None, None) => {
            problems.push((
                "ends_at".into(),
                "say when the silence ends: ends_at (RFC 3339) or duration (2h)".into(),
            ));
            None
        }
    };
    // With a problem already found, placeholders let the rest of the
    // request be checked too (every problem at once); nothing is written.
    let name = name.unwrap_or_else(placeholder_name);
    let ends_at = ends_at.unwrap_or_else(|| "9999-12-31T00:00:00Z".to_owned());
    let silence = Silence {
        name,
        matchers: req.matchers,
        starts_at: Some(starts),
        ends_at,
        comment: req.comment,
        created_by: Some(actor.label.clone()),
    };
    let services = silence_services(&silence);
    let object = Object::Silence(silence);
    create(
        store,
        who,
        actor,
        object,
        Authority::Services(&services),
        problems,
        now,
    )
    .await
}

pub async fn create_window(
    store: &dyn Store,
    who: &Principal,
    actor: &Actor,
    req: NewWindow,
    now: Timestamp,
) -> Result<ObjectView, NoiseError> {
    let mut problems = Vec::new();
    let name = new_name(req.name.as_deref(), "maintenance", &mut problems);
    let mut services = Vec::new();
    for (i, s) in req.services.iter().enumerate() {
        match Name::parse(s) {
            Ok(n) => services.push(n),
            Err(e) => problems.push((format!("services[{i}]"), e.to_string())),
        }
    }
    let name = name.unwrap_or_else(placeholder_name);
    let window = MaintenanceWindow {
        name,
        services: services.clone(),
        starts_at: req.starts_at.unwrap_or_else(|| now.to_string()),
        duration: req.duration,
        time_zone: req.time_zone,
        repeat: req.repeat,
        until: req.until,
        reason: req.reason,
        created_by: Some(actor.label.clone()),
    };
    create(
        store,
        who,
        actor,
        Object::MaintenanceWindow(window),
        Authority::Services(&services),
        problems,
        now,
    )
    .await
}

/// Ends a silence now (it stays listed, as in Alertmanager). A silence
/// that already ended is left as it is.
pub async fn expire_silence(
    store: &dyn Store,
    who: &Principal,
    actor: &Actor,
    name: &Name,
    now: Timestamp,
) -> Result<ObjectView, NoiseError> {
    let current = unmanaged(store, Kind::Silence, name).await?;
    let Ok(Object::Silence(mut s)) = Object::from_spec(Kind::Silence, current.spec.clone()) else {
        return Err(StoreError::Corrupt(format!("silence {name}: spec does not parse")).into());
    };
    authorize(store, who, &silence_services(&s)).await?;
    let ends = s.ends_at.parse::<Timestamp>().ok();
    if ends.is_some_and(|e| e <= now) {
        return Ok(ObjectView::from(current));
    }
    // A silence that has not started yet ends before it starts.
    let starts = s
        .starts_at
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok());
    if starts.is_some_and(|st| st > now) {
        s.starts_at = Some(now.to_string());
    }
    s.ends_at = now.to_string();
    let entry = actor.entry(
        "silence.expire",
        Some((Kind::Silence.as_str(), name.as_str())),
        serde_json::json!({}),
    );
    store
        .apply_catalog(
            &[CatalogWrite::Update {
                id: current.id.clone(),
                expected_version: current.version,
                spec: Object::Silence(s).spec_json(),
                managed: false,
                source: None,
                secret: None,
            }],
            &[entry],
            now,
        )
        .await?;
    read_back(store, Kind::Silence, name).await
}

/// Deletes a maintenance window made at run time.
pub async fn delete_window(
    store: &dyn Store,
    who: &Principal,
    actor: &Actor,
    name: &Name,
    now: Timestamp,
) -> Result<(), NoiseError> {
    let current = unmanaged(store, Kind::MaintenanceWindow, name).await?;
    match Object::from_spec(Kind::MaintenanceWindow, current.spec.clone()) {
        Ok(Object::MaintenanceWindow(w)) => authorize(store, who, &w.services).await?,
        // A stored window that no longer reads names no services to check
        // teams against: only an admin may remove it.
        _ => who
            .authorize(&Action::Administer)
            .map_err(|d| NoiseError::Denied(d.to_string()))?,
    }
    delete(store, actor, current, now).await
}

/// Deletes a run-time object (checked by [`unmanaged`]), with its audit
/// entry; the caller has authorized.
pub(crate) async fn delete(
    store: &dyn Store,
    actor: &Actor,
    current: tocsin_domain::plan::Current,
    now: Timestamp,
) -> Result<(), NoiseError> {
    let entry = actor.entry(
        "catalog.delete",
        Some((current.kind.as_str(), current.name.as_str())),
        serde_json::json!({ "via": actor.interface }),
    );
    store
        .apply_catalog(
            &[CatalogWrite::Delete {
                id: current.id,
                expected_version: current.version,
            }],
            &[entry],
            now,
        )
        .await?;
    Ok(())
}

/// The open alerts these matchers would silence now. Every matcher must
/// parse; the problems name `matchers[i]`.
pub async fn preview(store: &dyn Store, matchers: &[String]) -> Result<Preview, NoiseError> {
    let mut parsed = Vec::new();
    let mut problems = Vec::new();
    for (i, m) in matchers.iter().enumerate() {
        match Matcher::parse(m) {
            Ok(m) => parsed.push(m),
            Err(e) => problems.push((format!("matchers[{i}]"), e)),
        }
    }
    if parsed.is_empty() && problems.is_empty() {
        problems.push(("matchers".into(), "give at least one matcher".into()));
    }
    if !problems.is_empty() {
        return Err(NoiseError::Invalid(problems));
    }
    let open = store.open_alerts(PREVIEW_LIMIT).await?;
    let checked = open.len();
    let matching = open
        .into_iter()
        .filter(|a| {
            let mut labels = a.labels.clone();
            labels.insert(SERVICE_LABEL.to_owned(), a.service.as_str().to_owned());
            parsed.iter().all(|m| m.matches(&labels))
        })
        .collect();
    Ok(Preview { matching, checked })
}

/// Whether a stored silence is in force at `now` (for lists).
pub fn silence_active(spec: &serde_json::Value, now: Timestamp) -> bool {
    match Object::from_spec(Kind::Silence, spec.clone()) {
        Ok(Object::Silence(s)) => SilenceRule::compile(&s).is_ok_and(|r| r.active_at(now)),
        _ => false,
    }
}

/// Whether a stored maintenance window has an occurrence on at `now`.
pub fn window_active(spec: &serde_json::Value, now: Timestamp) -> bool {
    match Object::from_spec(Kind::MaintenanceWindow, spec.clone()) {
        Ok(Object::MaintenanceWindow(w)) => {
            WindowRule::compile(&w).is_ok_and(|r| r.occurrence_at(now).is_some())
        }
        _ => false,
    }
}

/// Who may create a run-time object.
pub(crate) enum Authority<'a> {
    /// Responder in the team of each service (admin when none is named).
    Services(&'a [Name]),
    /// Manager of the team (admin when the object has no team).
    Manage(Option<&'a Name>),
}

/// Creates a run-time (not config-managed) object: checked like manifests,
/// authorized, audited, in one transaction.
pub(crate) async fn create(
    store: &dyn Store,
    who: &Principal,
    actor: &Actor,
    object: Object,
    authority: Authority<'_>,
    mut problems: Vec<(String, String)>,
    now: Timestamp,
) -> Result<ObjectView, NoiseError> {
    let services: &[Name] = match authority {
        Authority::Services(s) => s,
        Authority::Manage(_) => &[],
    };
    let current = store.list_objects(None).await?;
    let existing: BTreeSet<(Kind, Name)> =
        current.iter().map(|c| (c.kind, c.name.clone())).collect();
    for p in catalog::validate(std::slice::from_ref(&object), &existing) {
        problems.push((p.path, p.message));
    }
    // A silence's `service="…"` must name a service (validation checks
    // only references, and a matcher is not one).
    if matches!(object, Object::Silence(_)) {
        for s in services {
            if !existing.contains(&(Kind::Service, s.clone())) {
                problems.push((
                    "matchers".into(),
                    format!("no service named {:?} is declared", s.as_str()),
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(NoiseError::Invalid(problems));
    }
    match authority {
        Authority::Services(s) => authorize(store, who, s).await?,
        Authority::Manage(team) => manage(who, team)?,
    }
    let (kind, name) = (object.kind(), object.name().clone());
    if existing.contains(&(kind, name.clone())) {
        return Err(NoiseError::Conflict(format!(
            "a {} named {:?} exists already; choose another name",
            kind.label(),
            name.as_str()
        )));
    }
    let entry = actor.entry(
        "catalog.create",
        Some((kind.as_str(), name.as_str())),
        serde_json::json!({ "via": actor.interface }),
    );
    store
        .apply_catalog(
            &[CatalogWrite::Create {
                kind,
                name: name.clone(),
                spec: object.spec_json(),
                managed: false,
                source: None,
                secret: None,
            }],
            &[entry],
            now,
        )
        .await?;
    read_back(store, kind, &name).await
}

/// The services a silence is limited to: its `service="…"` matchers.
fn silence_services(s: &Silence) -> Vec<Name> {
    s.matchers
        .iter()
        .filter_map(|m| Matcher::parse(m).ok())
        .filter(|m| m.label == SERVICE_LABEL && m.op == MatchOp::Equal)
        .filter_map(|m| Name::parse(&m.value).ok())
        .collect()
}

/// A manager of `team`, or an admin for objects of no team.
pub(crate) fn manage(who: &Principal, team: Option<&Name>) -> Result<(), NoiseError> {
    let action = match team {
        Some(team) => Action::Manage { team },
        None => Action::Administer,
    };
    who.authorize(&action)
        .map_err(|d| NoiseError::Denied(d.to_string()))
}

async fn authorize(
    store: &dyn Store,
    who: &Principal,
    services: &[Name],
) -> Result<(), NoiseError> {
    if services.is_empty() {
        return who.authorize(&Action::Administer).map_err(|d| {
            NoiseError::Denied(format!(
                "{d}: a silence without a service=\"…\" matcher mutes every team's alerts"
            ))
        });
    }
    for s in services {
        let team = match store.get_object(Kind::Service, s).await? {
            Some(c) => match Object::from_spec(Kind::Service, c.spec) {
                Ok(Object::Service(svc)) => svc.team,
                _ => continue,
            },
            None => continue,
        };
        who.authorize(&Action::Respond { team: &team })
            .map_err(|d| NoiseError::Denied(d.to_string()))?;
    }
    Ok(())
}

pub(crate) async fn unmanaged(
    store: &dyn Store,
    kind: Kind,
    name: &Name,
) -> Result<tocsin_domain::plan::Current, NoiseError> {
    let current = store.get_object(kind, name).await?.ok_or_else(|| {
        NoiseError::NotFound(format!("no {} named {:?}", kind.label(), name.as_str()))
    })?;
    if current.managed {
        return Err(NoiseError::Conflict(format!(
            "{} {:?} is managed by config ({}); change it in its manifest and apply",
            kind.label(),
            name.as_str(),
            current.source.as_deref().unwrap_or("a manifest")
        )));
    }
    Ok(current)
}

async fn read_back(store: &dyn Store, kind: Kind, name: &Name) -> Result<ObjectView, NoiseError> {
    store
        .get_object(kind, name)
        .await?
        .map(ObjectView::from)
        .ok_or_else(|| NoiseError::NotFound(format!("{} {name} vanished", kind.label())))
}

pub(crate) fn new_name(
    given: Option<&str>,
    prefix: &str,
    problems: &mut Vec<(String, String)>,
) -> Option<Name> {
    let text = match given.map(str::trim).filter(|s| !s.is_empty()) {
        Some(n) => n.to_owned(),
        None => format!("{prefix}-{}", random_secret(8).to_ascii_lowercase()),
    };
    match Name::parse(&text) {
        Ok(n) => Some(n),
        Err(e) => {
            problems.push(("name".into(), e.to_string()));
            None
        }
    }
}

pub(crate) fn placeholder_name() -> Name {
    Name::from_static("invalid")
}

fn span(s: &str) -> Option<SignedDuration> {
    s.parse::<jiff::Span>()
        .ok()?
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .ok()
        .filter(|d| d.is_positive())
}

/// A silence or window as the API lists it, with whether it is on now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoiseView {
    #[serde(flatten)]
    pub object: ObjectView,
    /// In force at the time of the request.
    pub active: bool,
}

/// Deletes run-time silences, maintenance windows and schedule overrides
/// that ended more than `keep` ago (config-managed ones are the manifests'
/// business), with a `system` audit entry each; returns how many. Run by
/// housekeeping, so lists stay short; the audit log keeps the history.
pub async fn purge_ended(
    store: &dyn Store,
    now: Timestamp,
    keep: SignedDuration,
) -> Result<usize, StoreError> {
    let cutoff = now - keep;
    let mut writes = Vec::new();
    let mut audit = Vec::new();
    let system = Actor::system();
    for c in store.list_objects(None).await? {
        if c.managed {
            continue;
        }
        let ended: Option<Timestamp> = match Object::from_spec(c.kind, c.spec.clone()) {
            Ok(Object::Silence(s)) => s.ends_at.parse().ok(),
            Ok(Object::ScheduleOverride(o)) => o.end.parse().ok(),
            Ok(Object::MaintenanceWindow(w)) => {
                WindowRule::compile(&w)
                    .ok()
                    .and_then(|r| match (w.repeat, r.until) {
                        (Repeat::None, _) => Some(r.first + r.duration),
                        (_, Some(until)) => Some(until + r.duration),
                        (_, None) => None,
                    })
            }
            _ => None,
        };
        if ended.is_some_and(|e| e < cutoff) {
            audit.push(system.entry(
                "catalog.delete",
                Some((c.kind.as_str(), c.name.as_str())),
                serde_json::json!({ "reason": "ended", "kept_days": keep.as_hours() / 24 }),
            ));
            writes.push(CatalogWrite::Delete {
                id: c.id,
                expected_version: c.version,
            });
        }
    }
    if writes.is_empty() {
        return Ok(0);
    }
    store.apply_catalog(&writes, &audit, now).await?;
    Ok(writes.len())
}
