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
use tocsin_domain::oncall::ScheduleRule;
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
        run_step(self.store.as_ref(), incident, step, self.clock.now())
            .await
            .map_err(transient)
    }
}

/// One step of an incident's escalation, at `now`, because its time came.
pub async fn run_step(
    store: &dyn Store,
    incident: i64,
    step: Step,
    now: Timestamp,
) -> Result<(), StoreError> {
    run(store, incident, step, now, None).await
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
    who: &Principal,
    incident: i64,
    now: Timestamp,
) -> Result<Step, EscalateError> {
    let inc = store
        .get_incident(incident)
        .await?
        .ok_or_else(|| EscalateError::NotFound(format!("no incident #{incident}")))?;
    if inc.status == IncidentStatus::Resolved {
        return Err(EscalateError::Conflict(format!(
            "incident #{incident} is resolved; there is nothing to escalate"
        )));
    }
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
    let policy = policy_of(&objects, &service).ok_or_else(|| {
        EscalateError::Conflict(format!(
            "service {} has no escalation policy; page someone directly",
            service.name
        ))
    })?;
    let last = store
        .incident_timeline(incident)
        .await?
        .into_iter()
        .rfind(|t| t.kind == "escalation.level")
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
    run(store, incident, next, now, Some(&who.label)).await?;
    Ok(next)
}

fn policy_of(
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

async fn run(
    store: &dyn Store,
    incident: i64,
    step: Step,
    now: Timestamp,
    manual_by: Option<&str>,
) -> Result<(), StoreError> {
    let key = |what: &str| format!("escalation:{incident}:{}:{}:{what}", step.cycle, step.level);
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
    let objects = store.list_objects(None).await?;
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
    let on_call = |schedule: &Name| match find(Kind::Schedule, schedule) {
        Some(Object::Schedule(s)) => ScheduleRule::compile(&s)
            .map(|r| r.on_call_at(now))
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let members = |team: &Name| match find(Kind::Team, team) {
        Some(Object::Team(t)) => t.members,
        _ => Vec::new(),
    };
    let reached = escalation::reach(plan.targets, on_call, members);
    let mut entries = Vec::new();
    if let Some(by) = manual_by {
        entries.push(NewTimelineEntry {
            actor: by.to_owned(),
            ..entry(
                "escalation.manual",
                "manual",
                json!({ "by": by, "level": step.level + 1, "cycle": step.cycle }),
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
            "targets": plan.targets.iter().map(target_label).collect::<Vec<_>>(),
            "reached": reached.iter().map(|r| r.user.as_str()).collect::<Vec<_>>(),
        }),
    ));
    let mut intents = Vec::new();
    for r in &reached {
        entries.push(entry(
            "escalation.page",
            &format!("page:{}", r.user),
            json!({ "user": r.user, "via": target_label(&r.via), "level": step.level + 1 }),
        ));
        if let Some(Object::User(u)) = find(Kind::User, &r.user) {
            for i in escalation::intents(&u, now) {
                intents.push(NewIntent {
                    incident,
                    key: key(&format!("intent:{}:{}", i.user, i.contact)),
                    user: i.user,
                    contact: i.contact,
                    kind: i.kind,
                    address: i.address,
                    due_at: i.due,
                    level: step.level,
                    cycle: step.cycle,
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
    let next = plan.next.map(|(n, delay)| NewJob {
        kind: JOB_ESCALATION_STEP.to_owned(),
        key: format!("escalation:{incident}:{}:{}:step", n.cycle, n.level),
        payload: json!({ "incident": incident, "level": n.level, "cycle": n.cycle }),
        due_at: now + delay,
    });
    store
        .record_step(&entries, &intents, next.as_ref(), now)
        .await
}

fn target_label(t: &Target) -> String {
    match t {
        Target::User(u) => format!("user:{u}"),
        Target::Schedule(s) => format!("schedule:{s}"),
        Target::Team(t) => format!("team:{t}"),
    }
}

/// A responder pages someone on an incident by hand — a person, a team or
/// whoever is on call in a schedule now — to add a responder or hand the
/// incident over. Each person reached is on the timeline and gets
/// notification intents by their own rules.
pub async fn page(
    store: &dyn Store,
    who: &Principal,
    incident: i64,
    target: &Target,
    message: Option<&str>,
    now: Timestamp,
) -> Result<Vec<Name>, EscalateError> {
    let inc = store
        .get_incident(incident)
        .await?
        .ok_or_else(|| EscalateError::NotFound(format!("no incident #{incident}")))?;
    let objects = store.list_objects(None).await?;
    let find = |kind: Kind, name: &Name| {
        objects
            .iter()
            .find(|o| o.kind == kind && &o.name == name)
            .and_then(|o| Object::from_spec(kind, o.spec.clone()).ok())
    };
    let Some(Object::Service(service)) = find(Kind::Service, &inc.service) else {
        return Err(EscalateError::NotFound(format!(
            "no service named {}",
            inc.service
        )));
    };
    who.authorize(&Action::Respond {
        team: &service.team,
    })
    .map_err(|d| EscalateError::Denied(d.to_string()))?;
    let (kind, name) = match target {
        Target::User(n) => (Kind::User, n),
        Target::Team(n) => (Kind::Team, n),
        Target::Schedule(n) => (Kind::Schedule, n),
    };
    if find(kind, name).is_none() {
        return Err(EscalateError::NotFound(format!(
            "no {} named {:?}",
            kind.label(),
            name.as_str()
        )));
    }
    let on_call = |schedule: &Name| match find(Kind::Schedule, schedule) {
        Some(Object::Schedule(s)) => ScheduleRule::compile(&s)
            .map(|r| r.on_call_at(now))
            .unwrap_or_default(),
        _ => Vec::new(),
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
    let stamp = now.as_millisecond();
    let key = |what: &str| format!("page:{incident}:{stamp}:{}:{what}", target_label(target));
    let mut entries = Vec::new();
    let mut intents = Vec::new();
    for r in &reached {
        entries.push(NewTimelineEntry {
            incident,
            at: now,
            kind: "responder.page".to_owned(),
            actor: who.label.clone(),
            detail: json!({ "user": r.user, "via": target_label(&r.via), "message": message }),
            key: key(r.user.as_str()),
        });
        if let Some(Object::User(u)) = find(Kind::User, &r.user) {
            for i in escalation::intents(&u, now) {
                intents.push(NewIntent {
                    incident,
                    key: key(&format!("intent:{}:{}", i.user, i.contact)),
                    user: i.user,
                    contact: i.contact,
                    kind: i.kind,
                    address: i.address,
                    due_at: i.due,
                    level: 0,
                    cycle: 0,
                });
            }
        }
    }
    store.record_step(&entries, &intents, None, now).await?;
    Ok(reached.into_iter().map(|r| r.user).collect())
}
