//! Who is on call: the schedules of the catalog, compiled by
//! [`tocsin_domain::oncall`], asked for an instant or a range. Used by the
//! API, the CLI (`tocsin oncall`) and the UI alike.

use crate::audit::Actor;
use crate::catalog::ObjectView;
use crate::manifest::{ManifestError, Manifests};
use crate::noise::{self, Authority, NoiseError};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use tocsin_domain::Name;
use tocsin_domain::access::Principal;
use tocsin_domain::catalog::{Kind, Object, ScheduleOverride};
use tocsin_domain::oncall::{ScheduleRule, Shift};
use tocsin_domain::plan::Current;
use tocsin_store::{Store, StoreError};

/// The longest range a shift query may cover.
pub const MAX_RANGE_DAYS: i64 = 366;

/// How far ahead [`on_call`] looks for the end of the current shift.
const UNTIL_HORIZON_DAYS: i64 = 62;

#[derive(Debug, thiserror::Error)]
pub enum OnCallError {
    #[error("{0}")]
    NotFound(String),
    /// The request itself is wrong (range too long, end before start).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who is on call in one schedule at an instant.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OnCallNow {
    pub schedule: String,
    pub team: Option<String>,
    /// Nobody when empty: a gap in coverage.
    pub users: Vec<String>,
    /// When this changes next (within two months), RFC 3339.
    pub until: Option<String>,
}

/// A schedule over a range, for drawing: the final shifts, each layer's
/// own, and the gaps.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScheduleView {
    pub schedule: String,
    pub time_zone: String,
    pub from: String,
    pub to: String,
    #[serde(rename = "final")]
    pub final_shifts: Vec<ShiftView>,
    pub layers: Vec<LayerView>,
    /// Where nobody is on call.
    pub gaps: Vec<ShiftView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LayerView {
    pub name: String,
    pub shifts: Vec<ShiftView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShiftView {
    pub start: String,
    pub end: String,
    pub users: Vec<String>,
}

impl From<&Shift> for ShiftView {
    fn from(s: &Shift) -> Self {
        ShiftView {
            start: s.start.to_string(),
            end: s.end.to_string(),
            users: s.users.iter().map(Name::to_string).collect(),
        }
    }
}

/// The compiled schedules of the catalog (those that compile; validation
/// keeps the others out of a catalog), with their team. Overrides made at
/// run time (`schedule_override` objects) apply after the schedule's own,
/// by start time.
pub async fn schedules(store: &dyn Store) -> Result<Vec<(ScheduleRule, Option<Name>)>, StoreError> {
    let mut runtime: Vec<(Option<Timestamp>, ScheduleOverride)> = Vec::new();
    for c in store.list_objects(Some(Kind::ScheduleOverride)).await? {
        if let Ok(Object::ScheduleOverride(o)) = Object::from_spec(Kind::ScheduleOverride, c.spec) {
            runtime.push((o.start.parse().ok(), o));
        }
    }
    runtime.sort_by_key(|(start, _)| *start);
    let mut out = Vec::new();
    for c in store.list_objects(Some(Kind::Schedule)).await? {
        let Ok(Object::Schedule(mut s)) = Object::from_spec(Kind::Schedule, c.spec) else {
            continue;
        };
        s.overrides.extend(
            runtime
                .iter()
                .filter(|(_, o)| o.schedule == s.name)
                .map(|(_, o)| o.as_override()),
        );
        match ScheduleRule::compile(&s) {
            Ok(rule) => out.push((rule, s.team.clone())),
            Err(e) => {
                tracing::warn!(schedule = %s.name, error = %e, "schedule does not compile; skipped")
            }
        }
    }
    Ok(out)
}

/// Schedule `name` as it pages, from a read of the whole catalog: its own
/// overrides, then those made at run time (`schedule_override` objects),
/// by start time. `None` if there is no such schedule or it does not
/// compile.
pub(crate) fn compiled_schedule(objects: &[Current], name: &Name) -> Option<ScheduleRule> {
    let mut s = objects
        .iter()
        .find(|o| o.kind == Kind::Schedule && &o.name == name)
        .and_then(
            |o| match Object::from_spec(Kind::Schedule, o.spec.clone()) {
                Ok(Object::Schedule(s)) => Some(s),
                _ => None,
            },
        )?;
    let mut runtime: Vec<(Option<Timestamp>, ScheduleOverride)> = objects
        .iter()
        .filter(|o| o.kind == Kind::ScheduleOverride)
        .filter_map(
            |o| match Object::from_spec(Kind::ScheduleOverride, o.spec.clone()) {
                Ok(Object::ScheduleOverride(o)) if &o.schedule == name => {
                    Some((o.start.parse().ok(), o))
                }
                _ => None,
            },
        )
        .collect();
    runtime.sort_by_key(|(start, _)| *start);
    s.overrides
        .extend(runtime.iter().map(|(_, o)| o.as_override()));
    ScheduleRule::compile(&s).ok()
}

/// Who is on call at `at`, per schedule, optionally only one team's or one
/// schedule.
pub async fn on_call(
    store: &dyn Store,
    team: Option<&Name>,
    schedule: Option<&Name>,
    at: Timestamp,
) -> Result<Vec<OnCallNow>, OnCallError> {
    let all = schedules(store).await?;
    if let Some(s) = schedule
        && !all.iter().any(|(r, _)| r.name() == s)
    {
        return Err(OnCallError::NotFound(format!(
            "no schedule named {:?}",
            s.as_str()
        )));
    }
    let horizon = at + SignedDuration::from_hours(24 * UNTIL_HORIZON_DAYS);
    Ok(all
        .into_iter()
        .filter(|(r, t)| {
            schedule.is_none_or(|s| r.name() == s) && team.is_none_or(|tm| t.as_ref() == Some(tm))
        })
        .map(|(r, t)| OnCallNow {
            schedule: r.name().to_string(),
            team: t.map(|t| t.to_string()),
            users: r.on_call_at(at).iter().map(Name::to_string).collect(),
            until: r.next_change(at, horizon).map(|t| t.to_string()),
        })
        .collect())
}

/// One schedule over [from, to).
pub async fn shifts(
    store: &dyn Store,
    schedule: &Name,
    from: Timestamp,
    to: Timestamp,
) -> Result<ScheduleView, OnCallError> {
    if to <= from {
        return Err(OnCallError::Invalid("`to` must be after `from`".into()));
    }
    if to.duration_since(from) > SignedDuration::from_hours(24 * MAX_RANGE_DAYS) {
        return Err(OnCallError::Invalid(format!(
            "a range covers at most {MAX_RANGE_DAYS} days"
        )));
    }
    let rule = schedules(store)
        .await?
        .into_iter()
        .map(|(r, _)| r)
        .find(|r| r.name() == schedule)
        .ok_or_else(|| {
            OnCallError::NotFound(format!("no schedule named {:?}", schedule.as_str()))
        })?;
    let layers = rule
        .layer_names()
        .into_iter()
        .enumerate()
        .map(|(i, name)| LayerView {
            name: name.to_string(),
            shifts: rule
                .layer_shifts(i, from, to)
                .iter()
                .map(ShiftView::from)
                .collect(),
        })
        .collect();
    Ok(ScheduleView {
        schedule: rule.name().to_string(),
        time_zone: rule.time_zone().iana_name().unwrap_or("UTC").to_owned(),
        from: from.to_string(),
        to: to.to_string(),
        final_shifts: rule
            .final_shifts(from, to)
            .iter()
            .map(ShiftView::from)
            .collect(),
        layers,
        gaps: rule
            .gaps(from, to)
            .into_iter()
            .map(|(s, e)| ShiftView {
                start: s.to_string(),
                end: e.to_string(),
                users: Vec::new(),
            })
            .collect(),
    })
}

/// A user's shifts over [from, to) across every schedule, by start.
pub async fn user_shifts(
    store: &dyn Store,
    user: &Name,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(Name, Shift)>, OnCallError> {
    if to <= from || to.duration_since(from) > SignedDuration::from_hours(24 * MAX_RANGE_DAYS) {
        return Err(OnCallError::Invalid(format!(
            "a range is after its start and covers at most {MAX_RANGE_DAYS} days"
        )));
    }
    let mut out: Vec<(Name, Shift)> = schedules(store)
        .await?
        .into_iter()
        .flat_map(|(rule, _)| {
            let name = rule.name().clone();
            rule.final_shifts(from, to)
                .into_iter()
                .filter(|s| s.users.contains(user))
                .map(move |s| (name.clone(), s))
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort_by_key(|(_, s)| s.start);
    Ok(out)
}

/// How far ahead `validate` and `plan` look for coverage gaps.
pub const GAP_HORIZON_DAYS: i64 = 14;

/// Warnings (not problems: a gap may be meant) for schedules in the
/// manifests that leave nobody on call in the next [`GAP_HORIZON_DAYS`]
/// days from `now`, located at the schedule.
pub fn coverage_warnings(m: &Manifests, now: Timestamp) -> Vec<ManifestError> {
    let to = now + SignedDuration::from_hours(24 * GAP_HORIZON_DAYS);
    let mut out = Vec::new();
    for (i, d) in m.declared.iter().enumerate() {
        let Object::Schedule(s) = &d.object else {
            continue;
        };
        let Ok(rule) = ScheduleRule::compile(s) else {
            continue;
        };
        let gaps = rule.gaps(now, to);
        let Some((first_start, first_end)) = gaps.first() else {
            continue;
        };
        let zone = rule.time_zone().clone();
        let local = |t: &Timestamp| {
            t.to_zoned(zone.clone())
                .strftime("%a %Y-%m-%d %H:%M %Z")
                .to_string()
        };
        let total: SignedDuration = gaps.iter().map(|(a, b)| b.duration_since(*a)).sum();
        out.push(m.locate(
            i,
            "layers",
            format!(
                "warning: nobody is on call for {} in the next {GAP_HORIZON_DAYS} days ({} gap(s), the first {} – {}); add a layer or widen its restrictions if that is not meant",
                hours(total),
                gaps.len(),
                local(first_start),
                local(first_end),
            ),
        ));
    }
    out
}

fn hours(d: SignedDuration) -> String {
    let h = d.as_secs() / 3600;
    let m = (d.as_secs() % 3600) / 60;
    if m == 0 {
        format!("{h} h")
    } else {
        format!("{h} h {m} min")
    }
}

/// An override to make at run time.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOverride {
    /// Default: `override-` and a random suffix.
    pub name: Option<String>,
    /// Who covers.
    pub user: String,
    /// Whom they cover for; absent: the whole schedule.
    pub replaces: Option<String>,
    /// RFC 3339.
    pub start: String,
    /// RFC 3339.
    pub end: String,
    pub reason: Option<String>,
}

/// Adds an override to a schedule: a manager of the schedule's team (an
/// admin for a schedule of no team) may, also when the schedule itself is
/// managed in Git.
pub async fn create_override(
    store: &dyn Store,
    who: &Principal,
    actor: &Actor,
    schedule: &Name,
    req: NewOverride,
    now: Timestamp,
) -> Result<ObjectView, NoiseError> {
    let team = match store.get_object(Kind::Schedule, schedule).await? {
        Some(c) => match Object::from_spec(Kind::Schedule, c.spec) {
            Ok(Object::Schedule(s)) => s.team,
            _ => None,
        },
        None => {
            return Err(NoiseError::NotFound(format!(
                "no schedule named {:?}",
                schedule.as_str()
            )));
        }
    };
    let mut problems = Vec::new();
    let name = noise::new_name(req.name.as_deref(), "override", &mut problems)
        .unwrap_or_else(noise::placeholder_name);
    let mut person = |field: &str, v: &str| match Name::parse(v.trim()) {
        Ok(n) => n,
        Err(e) => {
            problems.push((field.to_owned(), e.to_string()));
            noise::placeholder_name()
        }
    };
    let user = person("user", &req.user);
    let replaces = req
        .replaces
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .map(|r| person("replaces", r));
    let object = Object::ScheduleOverride(ScheduleOverride {
        name,
        schedule: schedule.clone(),
        user,
        replaces,
        start: req.start,
        end: req.end,
        reason: req.reason,
        created_by: Some(actor.label.clone()),
    });
    noise::create(
        store,
        who,
        actor,
        object,
        Authority::Manage(team.as_ref()),
        problems,
        now,
    )
    .await
}

/// Removes a run-time override; same permission as adding one.
pub async fn delete_override(
    store: &dyn Store,
    who: &Principal,
    actor: &Actor,
    name: &Name,
    now: Timestamp,
) -> Result<(), NoiseError> {
    let current = noise::unmanaged(store, Kind::ScheduleOverride, name).await?;
    let team = match Object::from_spec(Kind::ScheduleOverride, current.spec.clone()) {
        Ok(Object::ScheduleOverride(o)) => {
            match store.get_object(Kind::Schedule, &o.schedule).await? {
                Some(c) => match Object::from_spec(Kind::Schedule, c.spec) {
                    Ok(Object::Schedule(s)) => s.team,
                    _ => None,
                },
                None => None,
            }
        }
        _ => None,
    };
    noise::manage(who, team.as_ref())?;
    noise::delete(store, actor, current, now).await
}
