//! Running escalation on the durable engine. An incident that pages
//! (`incident.page`, enqueued by ingestion) starts its service's policy at
//! level 1; each step (`escalation.step`) first checks the incident — an
//! acknowledged or resolved incident ends the run, on the timeline — then
//! reaches the level's targets as they are *now* (whoever is on call when
//! the level fires), records the people paged and their notification
//! intents, and enqueues the next step after the level's delay. Everything
//! a step writes, the next job included, is one transaction with
//! idempotency keys, so a step that runs twice (a crash after the commit,
//! a lease that expired) changes nothing the second time, and two engines
//! never page twice.
//!
//! The rules are [`tocsin_domain::escalation`]; delivery of the intents is
//! the notifications work.

use crate::clock::Clock;
use crate::engine::{JobError, JobHandler};
use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::json;
use std::sync::Arc;
use tocsin_domain::Name;
use tocsin_domain::access::{Action, Principal};
use tocsin_domain::alerting::IncidentStatus;
use tocsin_domain::catalog::{Kind, Object, Target};
use tocsin_domain::escalation::{self, Step};
use tocsin_store::ingest::JOB_INCIDENT_PAGE;
use tocsin_store::{JOB_ESCALATION_STEP, NewIntent, NewJob, NewTimelineEntry, Store, StoreError};

/// The actor escalation's timeline entries name.
const ACTOR: &str = "escalation";

/// Runs `incident.page` (level 1 of cycle 0) and `escalation.step` jobs.
#[derive(Debug)]
pub struct Escalator {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    kind: &'static str,
}

impl Escalator {
    /// One handler per job kind: [`Escalator::pages`] and
    /// [`Escalator::steps`]; register both.
    pub fn pages(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Escalator {
            store,
            clock,
            kind: JOB_INCIDENT_PAGE,
        }
    }

    pub fn steps(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Escalator {
            store,
            clock,
            kind: JOB_ESCALATION_STEP,
        }
    }
}

fn transient(e: StoreError) -> JobError {
    JobError::Transient(e.to_string())
}

#[async_trait]
impl JobHandler for Escalator {
    fn kind(&self) -> &'static str {
        self.kind
    }

    async fn run(&self, job: &tocsin_store::ClaimedJob) -> Result<(), JobError> {
        let incident = job
            .payload
            .get("incident")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| {
                JobError::Permanent(format!("payload without incident: {}", job.payload))
            })?;
        let step = Step {
            level: job
                .payload
                .get("level")
                .and_then(serde_json::Value::as_u64)
                .and_then(|l| usize::try_from(l).ok())
                .unwrap_or(0),
            cycle: job
                .payload
                .get("cycle")
                .and_then(serde_json::Value::as_u64)
                .and_then(|c| u32::try_from(c).ok())
                .unwrap_or(0),
        };
        let run = job
            .payload
            .get("run")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        run_step(self.store.as_ref(), incident, run, step, self.clock.now())
            .await
            .map_err(transient)
    }
}

/// One step of an incident's escalation run `run`, at `now`, because its
/// time came. A step of a run that a reopen or reassignment superseded
/// does nothing.
pub async fn run_step(
    store: &dyn Store,
    incident: i64,
    run: i64,
    step: Step,
    now: Timestamp,
) -> Result<(), StoreError> {
    fire(store, incident, run, step, now, None).await
}

/// The idempotency key of what step `step` of run `run` writes.
pub(crate) fn step_key(incident: i64, run: i64, step: Step, what: &str) -> String {
    if run == 0 {
        format!("escalation:{incident}:{}:{}:{what}", step.cycle, step.level)
    } else {
        format!(
            "escalation:{incident}:r{run}:{}:{}:{what}",
            step.cycle, step.level
        )
    }
}

/// The job that runs step `step` of run `run` at `due_at`.
pub(crate) fn step_job(incident: i64, run: i64, step: Step, due_at: Timestamp) -> NewJob {
    NewJob {
        kind: JOB_ESCALATION_STEP.to_owned(),
        key: step_key(incident, run, step, "step"),
        payload: json!({ "incident": incident, "level": step.level, "cycle": step.cycle, "run": run }),
        due_at,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EscalateError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Denied(String),
    /// Nothing to escalate to (resolved, no policy, past the last level).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A responder escalates by hand: the level after the last one reached
/// (level 1 if none was) fires now, also for an acknowledged incident (to
/// get more help); the following level then comes after this level's
/// delay. The step that was scheduled for later finds its work done.
pub async fn escalate(
    store: &dyn Store,
    by: crate::response::Actor<'_>,
    incident: i64,
    now: Timestamp,
) -> Result<Step, EscalateError> {
    let (inc, service, objects) = responder_context(store, by.who, incident).await?;
    if inc.status == IncidentStatus::Resolved {
        return Err(EscalateError::Conflict(format!(
            "incident #{incident} is resolved; there is nothing to escalate"
        )));
    }
    let policy = policy_of(&objects, &service).ok_or_else(|| {
        EscalateError::Conflict(format!(
            "service {} has no escalation policy; page someone directly",
            service.name
        ))
    })?;
    let run = inc.escalation_run;
    let last = store
        .incident_timeline(incident)
        .await?
        .into_iter()
        .rfind(|t| {
            t.kind == "escalation.level"
                && t.detail
                    .get("run")
                    .and_then(serde_json::Value::as_i64)
                    .unwrap_or(0)
                    == run
        })
        .map(|t| Step {
            level: t
                .detail
                .get("level")
                .and_then(serde_json::Value::as_u64)
                .and_then(|l| usize::try_from(l).ok())
                .unwrap_or(1)
                .saturating_sub(1),
            cycle: t
                .detail
                .get("cycle")
                .and_then(serde_json::Value::as_u64)
                .and_then(|c| u32::try_from(c).ok())
                .unwrap_or(0),
        });
    let next = match last {
        None => Step::FIRST,
        Some(step) => escalation::plan(&policy, step)
            .and_then(|p| p.next)
            .map(|(n, _)| n)
            .ok_or_else(|| {
                EscalateError::Conflict(format!(
                    "policy {} has no level after level {}; page someone directly",
                    policy.name,
                    step.level + 1
                ))
            })?,
    };
    fire(
        store,
        incident,
        run,
        next,
        now,
        Some((&by.who.label, by.via)),
    )
    .await?;
    Ok(next)
}

pub(crate) fn policy_of(
    objects: &[tocsin_domain::plan::Current],
    service: &tocsin_domain::catalog::Service,
) -> Option<tocsin_domain::catalog::EscalationPolicy> {
    let name = service.escalation_policy.as_ref()?;
    let o = objects
        .iter()
        .find(|o| o.kind == Kind::EscalationPolicy && &o.name == name)?;
    match Object::from_spec(Kind::EscalationPolicy, o.spec.clone()) {
        Ok(Object::EscalationPolicy(p)) => Some(p),
        _ => None,
    }
}

async fn fire(
    store: &dyn Store,
    incident: i64,
    run: i64,
    step: Step,
    now: Timestamp,
    manual_by: Option<(&str, tocsin_domain::response::Interface)>,
) -> Result<(), StoreError> {
    let key = |what: &str| step_key(incident, run, step, what);
    let entry = |kind: &str, what: &str, detail: serde_json::Value| NewTimelineEntry {
        incident,
        at: now,
        kind: kind.to_owned(),
        actor: ACTOR.to_owned(),
        detail,
        key: key(what),
    };
    let Some(inc) = store.get_incident(incident).await? else {
        return Ok(());
    };
    if inc.escalation_run != run {
        // Reopened or reassigned since: the newer run's entry says so.
        return Ok(());
    }
    let stops = match manual_by {
        None => inc.status != IncidentStatus::Triggered,
        Some(_) => inc.status == IncidentStatus::Resolved,
    };
    if stops {
        let why = inc.status.as_str();
        let e = entry(
            "escalation.stopped",
            "stopped",
            json!({ "reason": why, "level": step.level + 1, "cycle": step.cycle }),
        );
        return store.record_step(&[e], &[], None, now).await;
    }
    let objects = step_objects(store, &inc.service, step).await?;
    let find = |kind: Kind, name: &Name| {
        objects
            .iter()
            .find(|o| o.kind == kind && &o.name == name)
            .and_then(|o| Object::from_spec(kind, o.spec.clone()).ok())
    };
    let policy = match find(Kind::Service, &inc.service) {
        Some(Object::Service(s)) => policy_of(&objects, &s),
        _ => None,
    };
    let Some(policy) = policy else {
        let e = entry(
            "escalation.none",
            "none",
            json!({ "service": inc.service, "reason": "the service has no escalation policy: nobody is paged" }),
        );
        return store.record_step(&[e], &[], None, now).await;
    };
    let Some(plan) = escalation::plan(&policy, step) else {
        return Ok(());
    };
    // Run-time overrides count: a manager's cover is who gets paged.
    let on_call = |schedule: &Name| {
        crate::oncall::compiled_schedule(&objects, schedule)
            .map(|r| r.on_call_at(now))
            .unwrap_or_default()
    };
    let members = |team: &Name| match find(Kind::Team, team) {
        Some(Object::Team(t)) => t.members,
        _ => Vec::new(),
    };
    let reached = escalation::reach(plan.targets, on_call, members);
    let mut entries = Vec::new();
    if let Some((by, via)) = manual_by {
        entries.push(NewTimelineEntry {
            actor: by.to_owned(),
            ..entry(
                "escalation.manual",
                "manual",
                json!({ "by": by, "via": via.as_str(), "level": step.level + 1, "cycle": step.cycle }),
            )
        });
    }
    entries.push(entry(
        "escalation.level",
        "level",
        json!({
            "policy": policy.name,
            "level": step.level + 1,
            "cycle": step.cycle,
            "run": run,
            "targets": plan.targets.iter().map(target_label).collect::<Vec<_>>(),
            "reached": reached.iter().map(|r| r.user.as_str()).collect::<Vec<_>>(),
        }),
    ));
    // A few people: read each; a crowd (a whole team): read them all once.
    let people = if reached.len() > 8 {
        Some(store.list_objects(Some(Kind::User)).await?)
    } else {
        None
    };
    let mut intents = Vec::new();
    for r in &reached {
        entries.push(entry(
            "escalation.page",
            &format!("page:{}", r.user),
            json!({ "user": r.user, "via": target_label(&r.via), "level": step.level + 1 }),
        ));
        let person = match &people {
            Some(all) => all
                .iter()
                .find(|c| c.name == r.user)
                .and_then(|c| Object::from_spec(Kind::User, c.spec.clone()).ok()),
            None => match store.get_object(Kind::User, &r.user).await? {
                Some(c) => Object::from_spec(Kind::User, c.spec).ok(),
                None => None,
            },
        };
        if let Some(Object::User(u)) = person {
            for i in escalation::intents(&u, now) {
                intents.push(NewIntent {
                    incident,
                    key: key(&format!("intent:{}:{}", i.user, i.contact)),
                    user: Some(i.user),
                    contact: i.contact,
                    kind: i.kind,
                    address: i.address,
                    due_at: i.due,
                    level: step.level,
                    cycle: step.cycle,
                    purpose: tocsin_store::notify::Purpose::Page,
                    previous: None,
                    text: None,
                });
            }
        }
    }
    if reached.is_empty() {
        entries.push(entry(
            "escalation.nobody",
            "nobody",
            json!({ "level": step.level + 1, "reason": "no target of this level has anyone to page now" }),
        ));
    }
    let next = plan
        .next
        .map(|(n, delay)| step_job(incident, run, n, now + delay));
    store
        .record_step(&entries, &intents, next.as_ref(), now)
        .await
}

/// What one step reads of the catalog, object by object rather than the
/// whole catalog (which grows with every person and service): the
/// service, its policy, and the step's schedules (with the run-time
/// overrides) and teams. The people reached are read after.
async fn step_objects(
    store: &dyn Store,
    service: &Name,
    step: Step,
) -> Result<Vec<tocsin_domain::plan::Current>, StoreError> {
    let mut out = Vec::new();
    let Some(svc) = store.get_object(Kind::Service, service).await? else {
        return Ok(out);
    };
    let policy_name = match Object::from_spec(Kind::Service, svc.spec.clone()) {
        Ok(Object::Service(s)) => s.escalation_policy,
        _ => None,
    };
    out.push(svc);
    let Some(policy_name) = policy_name else {
        return Ok(out);
    };
    let Some(pol) = store
        .get_object(Kind::EscalationPolicy, &policy_name)
        .await?
    else {
        return Ok(out);
    };
    let policy = match Object::from_spec(Kind::EscalationPolicy, pol.spec.clone()) {
        Ok(Object::EscalationPolicy(p)) => p,
        _ => return Ok(out),
    };
    out.push(pol);
    let Some(plan) = escalation::plan(&policy, step) else {
        return Ok(out);
    };
    let mut overrides = false;
    for t in plan.targets {
        let (kind, name) = match t {
            Target::User(_) => continue,
            Target::Team(n) => (Kind::Team, n),
            Target::Schedule(n) => {
                overrides = true;
                (Kind::Schedule, n)
            }
        };
        if let Some(c) = store.get_object(kind, name).await? {
            out.push(c);
        }
    }
    if overrides {
        out.extend(store.list_objects(Some(Kind::ScheduleOverride)).await?);
    }
    Ok(out)
}

pub(crate) fn target_label(t: &Target) -> String {
    match t {
        Target::User(u) => format!("user:{u}"),
        Target::Schedule(s) => format!("schedule:{s}"),
        Target::Team(t) => format!("team:{t}"),
    }
}

/// An incident with its service and the catalog it was read with.
pub(crate) type Context = (
    tocsin_store::IncidentRecord,
    tocsin_domain::catalog::Service,
    Vec<tocsin_domain::plan::Current>,
);

/// The incident, its service and its catalog, once `who` may respond to it.
pub(crate) async fn responder_context(
    store: &dyn Store,
    who: &Principal,
    incident: i64,
) -> Result<Context, EscalateError> {
    let inc = store
        .get_incident(incident)
        .await?
        .ok_or_else(|| EscalateError::NotFound(format!("no incident #{incident}")))?;
    let objects = store.list_objects(None).await?;
    let service = objects
        .iter()
        .find(|o| o.kind == Kind::Service && o.name == inc.service)
        .and_then(|o| Object::from_spec(Kind::Service, o.spec.clone()).ok());
    let Some(Object::Service(service)) = service else {
        return Err(EscalateError::NotFound(format!(
            "no service named {}",
            inc.service
        )));
    };
    who.authorize(&Action::Respond {
        team: &service.team,
    })
    .map_err(|d| EscalateError::Denied(d.to_string()))?;
    Ok((inc, service, objects))
}

/// Whom a page by hand reached, and what to write for it.
#[derive(Debug)]
pub(crate) struct Reached {
    pub users: Vec<Name>,
    pub entries: Vec<NewTimelineEntry>,
    pub intents: Vec<NewIntent>,
}

/// Who `target` reaches now, as timeline entries of `kind` by `actor` and
/// notification intents, keyed under `key_prefix`. Conflict when the
/// target names nothing or reaches nobody now.
#[allow(clippy::too_many_arguments)]
pub(crate) fn reach_now(
    objects: &[tocsin_domain::plan::Current],
    incident: i64,
    target: &Target,
    kind: &str,
    actor: &str,
    message: Option<&str>,
    key_prefix: &str,
    now: Timestamp,
) -> Result<Reached, EscalateError> {
    let find = |kind: Kind, name: &Name| {
        objects
            .iter()
            .find(|o| o.kind == kind && &o.name == name)
            .and_then(|o| Object::from_spec(kind, o.spec.clone()).ok())
    };
    let (k, name) = match target {
        Target::User(n) => (Kind::User, n),
        Target::Team(n) => (Kind::Team, n),
        Target::Schedule(n) => (Kind::Schedule, n),
    };
    if find(k, name).is_none() {
        return Err(EscalateError::NotFound(format!(
            "no {} named {:?}",
            k.label(),
            name.as_str()
        )));
    }
    // Run-time overrides count: a manager's cover is who gets paged.
    let on_call = |schedule: &Name| {
        crate::oncall::compiled_schedule(objects, schedule)
            .map(|r| r.on_call_at(now))
            .unwrap_or_default()
    };
    let members = |team: &Name| match find(Kind::Team, team) {
        Some(Object::Team(t)) => t.members,
        _ => Vec::new(),
    };
    let reached = escalation::reach(std::slice::from_ref(target), on_call, members);
    if reached.is_empty() {
        return Err(EscalateError::Conflict(format!(
            "{} has nobody to page now",
            target_label(target)
        )));
    }
    let key = |what: &str| format!("{key_prefix}:{}:{what}", target_label(target));
    let mut entries = Vec::new();
    let mut intents = Vec::new();
    for r in &reached {
        entries.push(NewTimelineEntry {
            incident,
            at: now,
            kind: kind.to_owned(),
            actor: actor.to_owned(),
            detail: json!({ "user": r.user, "via": target_label(&r.via), "message": message }),
            key: key(r.user.as_str()),
        });
        if let Some(Object::User(u)) = find(Kind::User, &r.user) {
            for i in escalation::intents(&u, now) {
                intents.push(NewIntent {
                    incident,
                    key: key(&format!("intent:{}:{}", i.user, i.contact)),
                    user: Some(i.user),
                    contact: i.contact,
                    kind: i.kind,
                    address: i.address,
                    due_at: i.due,
                    level: 0,
                    cycle: 0,
                    purpose: tocsin_store::notify::Purpose::Page,
                    previous: None,
                    text: None,
                });
            }
        }
    }
    Ok(Reached {
        users: reached.into_iter().map(|r| r.user).collect(),
        entries,
        intents,
    })
}

/// A responder pages someone on an incident by hand — a person, a team or
/// whoever is on call in a schedule now — to add a responder. Each person
/// reached is on the timeline and gets notification intents by their own
/// rules.
pub async fn page(
    store: &dyn Store,
    who: &Principal,
    incident: i64,
    target: &Target,
    message: Option<&str>,
    now: Timestamp,
) -> Result<Vec<Name>, EscalateError> {
    let (_, _, objects) = responder_context(store, who, incident).await?;
    let prefix = format!("page:{incident}:{}", now.as_millisecond());
    let r = reach_now(
        &objects,
        incident,
        target,
        "responder.page",
        &who.label,
        message,
        &prefix,
        now,
    )?;
    store.record_step(&r.entries, &r.intents, None, now).await?;
    Ok(r.users)
}
