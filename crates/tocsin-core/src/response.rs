//! Running an incident: declaring one by hand, its severity, summary and
//! services, roles and hand-overs, responders added by paging, notes and
//! key moments, stakeholders and their updates on a cadence, merging and
//! closing.
//!
//! Every change is one [`ResponseStore::respond`] call: the change, its
//! timeline entry (who, when, from which interface) and what it causes
//! (pages, update notifications, reminder jobs) in one transaction, and a
//! compare-and-set on what the person saw, so that two people acting at
//! once never write over each other unseen.
//!
//! Who may act: a responder of the incident's service's team, an admin, or
//! anyone who holds a role in the incident (a responder added from another
//! team can take notes). Anyone with the responder role may declare an
//! incident on any service — one notices other teams' outages too.

use crate::escalation::{EscalateError, reach_now, target_label};
use jiff::Timestamp;
use serde_json::json;
use tocsin_domain::access::{Action, Principal};
use tocsin_domain::alerting::IncidentStatus;
use tocsin_domain::catalog::{Kind, Object, Service, Target};
use tocsin_domain::response::{
    self as rules, Audience, FieldError, Interface, Lifecycle, Role, UpdateState,
};
use tocsin_domain::{Name, Severity};
use tocsin_store::response::{
    DeclaredEntry, JOB_UPDATE_REMINDER, NewIncident, Responded, ResponseChange, ResponseRecord,
    update_reminder_key,
};
use tocsin_store::{IncidentRecord, NewIntent, NewJob, NewTimelineEntry, Store, StoreError};

/// Why a response action was refused.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Denied(String),
    /// The incident is not in a state where this makes sense, or it
    /// changed while the person was acting.
    #[error("{0}")]
    Conflict(String),
    /// What was typed is wrong: the field and why.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<EscalateError> for ResponseError {
    fn from(e: EscalateError) -> Self {
        match e {
            EscalateError::NotFound(m) => ResponseError::NotFound(m),
            EscalateError::Denied(m) => ResponseError::Denied(m),
            EscalateError::Conflict(m) => ResponseError::Conflict(m),
            EscalateError::Store(e) => ResponseError::Store(e),
        }
    }
}

/// Who acts and through what.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub who: &'a Principal,
    pub via: Interface,
}

impl Actor<'_> {
    fn label(&self) -> &str {
        &self.who.label
    }

    /// A timeline entry by this actor, saying who and through what.
    pub(crate) fn entry(
        &self,
        incident: i64,
        kind: &str,
        mut detail: serde_json::Value,
        key: String,
        now: Timestamp,
    ) -> NewTimelineEntry {
        if let Some(map) = detail.as_object_mut() {
            map.insert("by".into(), json!(self.who.label));
            map.insert("via".into(), json!(self.via.as_str()));
        }
        NewTimelineEntry {
            incident,
            at: now,
            kind: kind.to_owned(),
            actor: self.who.label.clone(),
            detail,
            key,
        }
    }
}

/// A key no other write has: for entries that are new each time (notes).
fn fresh_key(what: &str, incident: i64, now: Timestamp) -> String {
    format!(
        "{what}:{incident}:{}:{:016x}",
        now.as_millisecond(),
        rand::random::<u64>()
    )
}

fn not_found(incident: i64) -> ResponseError {
    ResponseError::NotFound(format!("no incident #{incident}"))
}

fn conflict(incident: i64, what: &str) -> ResponseError {
    ResponseError::Conflict(format!("incident #{incident} {what}"))
}

fn changed(incident: i64) -> ResponseError {
    conflict(
        incident,
        "changed while you were acting on it; reload it and try again",
    )
}

fn find_object(
    objects: &[tocsin_domain::plan::Current],
    kind: Kind,
    name: &Name,
) -> Option<Object> {
    objects
        .iter()
        .find(|o| o.kind == kind && &o.name == name)
        .and_then(|o| Object::from_spec(kind, o.spec.clone()).ok())
}

fn service_of(objects: &[tocsin_domain::plan::Current], name: &Name) -> Option<Service> {
    match find_object(objects, Kind::Service, name) {
        Some(Object::Service(s)) => Some(s),
        _ => None,
    }
}

/// An incident someone may act on, with its response record and the
/// catalog.
#[derive(Debug)]
pub struct Context {
    pub incident: IncidentRecord,
    pub response: ResponseRecord,
    pub objects: Vec<tocsin_domain::plan::Current>,
}

/// Reads the incident for someone who only reads it (anyone signed in).
pub async fn read_context(store: &dyn Store, incident: i64) -> Result<Context, ResponseError> {
    let inc = store
        .get_incident(incident)
        .await?
        .ok_or_else(|| not_found(incident))?;
    Ok(Context {
        incident: inc,
        response: store.response(incident).await?,
        objects: store.list_objects(None).await?,
    })
}

/// Reads the incident and checks that `who` may act on it.
pub async fn context(
    store: &dyn Store,
    who: &Principal,
    incident: i64,
) -> Result<Context, ResponseError> {
    let inc = store
        .get_incident(incident)
        .await?
        .ok_or_else(|| not_found(incident))?;
    let objects = store.list_objects(None).await?;
    let response = store.response(incident).await?;
    let team = service_of(&objects, &inc.service).map(|s| s.team);
    let allowed = match &team {
        Some(team) => who.authorize(&Action::Respond { team }),
        None => who.authorize(&Action::Administer),
    };
    if let Err(denied) = allowed {
        let holds_role = who
            .user
            .as_ref()
            .is_some_and(|u| response.roles.iter().any(|r| &r.user == u));
        if !holds_role || who.role < tocsin_domain::access::Role::Responder {
            return Err(ResponseError::Denied(denied.to_string()));
        }
    }
    Ok(Context {
        incident: inc,
        response,
        objects,
    })
}

async fn respond(
    store: &dyn Store,
    incident: i64,
    changes: &[ResponseChange],
    entries: &[NewTimelineEntry],
    notifications: &[NewIntent],
    jobs: &[NewJob],
    now: Timestamp,
) -> Result<Vec<i64>, ResponseError> {
    match store
        .respond(changes, entries, notifications, jobs, now)
        .await?
    {
        Responded::Applied { action_items } => Ok(action_items),
        Responded::Conflict { .. } => Err(changed(incident)),
    }
}

/// One change with its timeline entry.
async fn record(
    store: &dyn Store,
    incident: i64,
    change: ResponseChange,
    entry: NewTimelineEntry,
    now: Timestamp,
) -> Result<(), ResponseError> {
    respond(store, incident, &[change], &[entry], &[], &[], now)
        .await
        .map(|_| ())
}

async fn reread(store: &dyn Store, incident: i64) -> Result<IncidentRecord, ResponseError> {
    store
        .get_incident(incident)
        .await?
        .ok_or_else(|| not_found(incident))
}

/// What someone declares.
#[derive(Debug, Clone, PartialEq)]
pub struct Declaration {
    pub title: String,
    pub service: Name,
    pub also_services: Vec<Name>,
    pub severity: Severity,
    pub summary: Option<String>,
    /// Page the service's escalation policy. Without it the incident opens
    /// acknowledged, with the declarer as commander.
    pub page: bool,
}

/// Declares an incident by hand.
pub async fn declare(
    store: &dyn Store,
    by: Actor<'_>,
    d: &Declaration,
    now: Timestamp,
) -> Result<IncidentRecord, ResponseError> {
    if by.who.role < tocsin_domain::access::Role::Responder {
        return Err(ResponseError::Denied(format!(
            "{} has role {}; declaring an incident needs responder or more",
            by.label(),
            by.who.role
        )));
    }
    let title = rules::check_title(&d.title)?;
    let summary = d
        .summary
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| rules::check_text("summary", s))
        .transpose()?;
    let objects = store.list_objects(None).await?;
    if service_of(&objects, &d.service).is_none() {
        return Err(FieldError::new("service", format!("no service named {}", d.service)).into());
    }
    let mut also = Vec::new();
    for s in &d.also_services {
        if service_of(&objects, s).is_none() {
            return Err(FieldError::new("services", format!("no service named {s}")).into());
        }
        if s != &d.service && !also.contains(s) {
            also.push(s.clone());
        }
    }
    let commander = by.who.user.clone().filter(|_| !d.page);
    let new = NewIncident {
        service: d.service.clone(),
        also_services: also.clone(),
        title: title.clone(),
        severity: d.severity,
        summary: summary.clone(),
        page: d.page,
        commander,
        entry: DeclaredEntry {
            actor: by.label().to_owned(),
            detail: json!({
                "by": by.label(),
                "via": by.via.as_str(),
                "title": title,
                "severity": d.severity.to_string(),
                "service": d.service,
                "also_services": also,
                "summary": summary,
                "page": d.page,
            }),
        },
    };
    let number = store.declare_incident(&new, now).await?;
    reread(store, number).await
}

/// Raises or lowers the severity.
pub async fn set_severity(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    to: Severity,
    now: Timestamp,
) -> Result<IncidentRecord, ResponseError> {
    let c = context(store, by.who, incident).await?;
    let from = c.incident.severity;
    if from == to {
        return Err(conflict(incident, &format!("is already {}", to.label())));
    }
    let e = by.entry(
        incident,
        "incident.severity",
        json!({ "from": from.to_string(), "to": to.to_string() }),
        fresh_key("severity", incident, now),
        now,
    );
    record(
        store,
        incident,
        ResponseChange::Severity { incident, from, to },
        e,
        now,
    )
    .await?;
    reread(store, incident).await
}

/// Changes the title and/or the summary.
pub async fn describe(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    title: Option<&str>,
    summary: Option<&str>,
    now: Timestamp,
) -> Result<IncidentRecord, ResponseError> {
    let title = title.map(rules::check_title).transpose()?;
    let summary = summary
        .map(|s| rules::check_text("summary", s))
        .transpose()?;
    if title.is_none() && summary.is_none() {
        return Err(FieldError::new("title", "give a title or a summary to change").into());
    }
    context(store, by.who, incident).await?;
    let e = by.entry(
        incident,
        "incident.described",
        json!({ "title": title, "summary": summary }),
        fresh_key("described", incident, now),
        now,
    );
    record(
        store,
        incident,
        ResponseChange::Describe {
            incident,
            title,
            summary,
        },
        e,
        now,
    )
    .await?;
    reread(store, incident).await
}

/// Adds a service the incident touches.
pub async fn add_service(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    service: &Name,
    now: Timestamp,
) -> Result<ResponseRecord, ResponseError> {
    let c = context(store, by.who, incident).await?;
    if service_of(&c.objects, service).is_none() {
        return Err(FieldError::new("service", format!("no service named {service}")).into());
    }
    if &c.incident.service == service || c.response.also_services.contains(service) {
        return Err(conflict(incident, &format!("already touches {service}")));
    }
    let e = by.entry(
        incident,
        "incident.service_added",
        json!({ "service": service }),
        format!("service:{incident}:{service}"),
        now,
    );
    record(
        store,
        incident,
        ResponseChange::AddService {
            incident,
            service: service.clone(),
        },
        e,
        now,
    )
    .await?;
    Ok(store.response(incident).await?)
}

/// Gives `role` to `user`: for commander, communications lead and scribe a
/// hand-over from whoever held it (on the timeline as such).
pub async fn assign_role(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    role: Role,
    user: &Name,
    now: Timestamp,
) -> Result<ResponseRecord, ResponseError> {
    let c = context(store, by.who, incident).await?;
    if !matches!(
        find_object(&c.objects, Kind::User, user),
        Some(Object::User(_))
    ) {
        return Err(FieldError::new("user", format!("no user named {user}")).into());
    }
    let holders: Vec<&Name> = c
        .response
        .roles
        .iter()
        .filter(|r| r.role == role)
        .map(|r| &r.user)
        .collect();
    if holders.contains(&user) {
        return Err(conflict(
            incident,
            &format!("already has {user} as {}", role.label()),
        ));
    }
    let from = role
        .is_single()
        .then(|| holders.first().map(|u| (*u).clone()))
        .flatten();
    let kind = if from.is_some() {
        "role.handed_over"
    } else {
        "role.assigned"
    };
    let e = by.entry(
        incident,
        kind,
        json!({ "role": role.as_str(), "user": user, "from": from }),
        fresh_key("role", incident, now),
        now,
    );
    record(
        store,
        incident,
        ResponseChange::AssignRole {
            incident,
            role,
            user: user.clone(),
            from,
            at: now,
            by: by.label().to_owned(),
        },
        e,
        now,
    )
    .await?;
    Ok(store.response(incident).await?)
}

/// Takes `role` from `user`.
pub async fn unassign_role(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    role: Role,
    user: &Name,
    now: Timestamp,
) -> Result<ResponseRecord, ResponseError> {
    let c = context(store, by.who, incident).await?;
    if !c
        .response
        .roles
        .iter()
        .any(|r| r.role == role && &r.user == user)
    {
        return Err(conflict(
            incident,
            &format!("does not have {user} as {}", role.label()),
        ));
    }
    let e = by.entry(
        incident,
        "role.unassigned",
        json!({ "role": role.as_str(), "user": user }),
        fresh_key("role", incident, now),
        now,
    );
    record(
        store,
        incident,
        ResponseChange::UnassignRole {
            incident,
            role,
            user: user.clone(),
        },
        e,
        now,
    )
    .await?;
    Ok(store.response(incident).await?)
}

/// Adds responders by paging a person, a team or whoever is on call in a
/// schedule: they are paged now through their own notification rules and
/// listed as responders.
pub async fn add_responders(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    target: &Target,
    message: Option<&str>,
    now: Timestamp,
) -> Result<ResponseRecord, ResponseError> {
    let c = context(store, by.who, incident).await?;
    if c.incident.status == IncidentStatus::Resolved {
        return Err(conflict(incident, "is resolved; reopen it first"));
    }
    let message = message
        .filter(|m| !m.trim().is_empty())
        .map(|m| rules::check_text("message", m))
        .transpose()?;
    let prefix = fresh_key("responders", incident, now);
    let reached = reach_now(
        &c.objects,
        incident,
        target,
        "responder.page",
        by.label(),
        message.as_deref(),
        &prefix,
        now,
    )?;
    let mut entries = vec![by.entry(
        incident,
        "responders.added",
        json!({
            "target": target_label(target),
            "reached": reached.users,
            "message": message,
        }),
        format!("{prefix}:added"),
        now,
    )];
    entries.extend(reached.entries);
    let changes: Vec<ResponseChange> = reached
        .users
        .iter()
        .filter(|u| {
            !c.response
                .roles
                .iter()
                .any(|r| r.role == Role::Responder && &r.user == *u)
        })
        .map(|u| ResponseChange::AssignRole {
            incident,
            role: Role::Responder,
            user: u.clone(),
            from: None,
            at: now,
            by: by.label().to_owned(),
        })
        .collect();
    respond(
        store,
        incident,
        &changes,
        &entries,
        &reached.intents,
        &[],
        now,
    )
    .await?;
    Ok(store.response(incident).await?)
}

/// Adds a note to the timeline; returns nothing but the entry is there.
pub async fn note(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    text: &str,
    now: Timestamp,
) -> Result<(), ResponseError> {
    let text = rules::check_text("text", text)?;
    context(store, by.who, incident).await?;
    let e = by.entry(
        incident,
        "note",
        json!({ "text": text }),
        fresh_key("note", incident, now),
        now,
    );
    respond(store, incident, &[], &[e], &[], &[], now).await?;
    Ok(())
}

/// Pins (or unpins) a timeline entry as a key moment: the review lists
/// pinned moments first.
pub async fn pin(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    entry: i64,
    pinned: bool,
    now: Timestamp,
) -> Result<ResponseRecord, ResponseError> {
    let c = context(store, by.who, incident).await?;
    if c.response.pinned.contains(&entry) == pinned {
        let state = if pinned { "pinned" } else { "not pinned" };
        return Err(conflict(
            incident,
            &format!("has entry {entry} {state} already"),
        ));
    }
    respond(
        store,
        incident,
        &[ResponseChange::Pin {
            incident,
            entry,
            pinned,
        }],
        &[],
        &[],
        &[],
        now,
    )
    .await
    .map_err(|e| match e {
        ResponseError::Conflict(_) => ResponseError::NotFound(format!(
            "incident #{incident} has no timeline entry {entry}"
        )),
        other => other,
    })?;
    Ok(store.response(incident).await?)
}

/// Sets how often stakeholders get an update (`None`: no cadence). The
/// next update is due one period from now; a reminder goes to the
/// commander when it is overdue.
pub async fn set_cadence(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    every_minutes: Option<i64>,
    now: Timestamp,
) -> Result<ResponseRecord, ResponseError> {
    let every = every_minutes.map(rules::check_cadence).transpose()?;
    let c = context(store, by.who, incident).await?;
    if c.incident.status == IncidentStatus::Resolved {
        return Err(conflict(incident, "is resolved; no more updates are due"));
    }
    let next_due = every.map(|d| now + d);
    let e = by.entry(
        incident,
        "update.cadence",
        json!({ "every_minutes": every_minutes, "next_due": next_due.map(|t| t.to_string()) }),
        fresh_key("cadence", incident, now),
        now,
    );
    let jobs: Vec<NewJob> = next_due
        .map(|due| reminder_job(incident, due))
        .into_iter()
        .collect();
    respond(
        store,
        incident,
        &[ResponseChange::Cadence {
            incident,
            every_minutes,
            next_due,
        }],
        &[e],
        &[],
        &jobs,
        now,
    )
    .await?;
    Ok(store.response(incident).await?)
}

fn reminder_job(incident: i64, due: Timestamp) -> NewJob {
    NewJob {
        kind: JOB_UPDATE_REMINDER.to_owned(),
        key: update_reminder_key(incident, due),
        payload: json!({ "incident": incident, "due": due.to_string() }),
        due_at: due,
    }
}

/// Adds a stakeholder: a user, `team:NAME`, or a destination
/// `kind:address` (`slack:C0123`, `email:leads@example.com`).
pub async fn add_stakeholder(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    stakeholder: &str,
    now: Timestamp,
) -> Result<ResponseRecord, ResponseError> {
    let c = context(store, by.who, incident).await?;
    let s = parse_stakeholder(&c.objects, stakeholder)?;
    let canonical = s.to_string();
    if c.response.stakeholders.contains(&canonical) {
        return Err(conflict(incident, &format!("already has {canonical}")));
    }
    let e = by.entry(
        incident,
        "stakeholder.added",
        json!({ "stakeholder": canonical }),
        fresh_key("stakeholder", incident, now),
        now,
    );
    let change = ResponseChange::AddStakeholder {
        incident,
        stakeholder: canonical,
    };
    record(store, incident, change, e, now).await?;
    Ok(store.response(incident).await?)
}

pub async fn remove_stakeholder(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    stakeholder: &str,
    now: Timestamp,
) -> Result<ResponseRecord, ResponseError> {
    let c = context(store, by.who, incident).await?;
    if !c.response.stakeholders.iter().any(|s| s == stakeholder) {
        return Err(conflict(
            incident,
            &format!("has no stakeholder {stakeholder}"),
        ));
    }
    let e = by.entry(
        incident,
        "stakeholder.removed",
        json!({ "stakeholder": stakeholder }),
        fresh_key("stakeholder", incident, now),
        now,
    );
    record(
        store,
        incident,
        ResponseChange::RemoveStakeholder {
            incident,
            stakeholder: stakeholder.to_owned(),
        },
        e,
        now,
    )
    .await?;
    Ok(store.response(incident).await?)
}

/// A stakeholder as written down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stakeholder {
    User(Name),
    Team(Name),
    /// A destination: a contact kind and its address.
    Destination(tocsin_domain::catalog::ContactKind, String),
}

impl std::fmt::Display for Stakeholder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stakeholder::User(u) => write!(f, "user:{u}"),
            Stakeholder::Team(t) => write!(f, "team:{t}"),
            Stakeholder::Destination(k, a) => {
                let kind = serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                write!(f, "{kind}:{a}")
            }
        }
    }
}

/// Reads `user:alice`, `alice`, `team:payments`, `slack:C0123`, …
pub fn parse_stakeholder(
    objects: &[tocsin_domain::plan::Current],
    s: &str,
) -> Result<Stakeholder, ResponseError> {
    let s = s.trim();
    let bad = |why: String| ResponseError::Invalid(FieldError::new("stakeholder", why));
    let (kind, rest) = s.split_once(':').unwrap_or(("user", s));
    match kind {
        "user" | "team" => {
            let name = Name::parse(rest.trim())
                .map_err(|e| bad(format!("{rest:?} is not a name: {e}")))?;
            let k = if kind == "user" {
                Kind::User
            } else {
                Kind::Team
            };
            if find_object(objects, k, &name).is_none() {
                return Err(bad(format!("no {kind} named {name}")));
            }
            Ok(if kind == "user" {
                Stakeholder::User(name)
            } else {
                Stakeholder::Team(name)
            })
        }
        other => {
            let k: tocsin_domain::catalog::ContactKind = serde_json::from_value(json!(other))
                .map_err(|_| {
                    bad(format!(
                        "{other:?} is neither user, team nor a channel kind (slack, email, …)"
                    ))
                })?;
            let address = rest.trim();
            if address.is_empty() {
                return Err(bad(format!("{other}: needs an address after the colon")));
            }
            Ok(Stakeholder::Destination(k, address.to_owned()))
        }
    }
}

/// Where an update to `stakeholders` goes: each person by the contact
/// methods of their immediate notification rules (a team: each member),
/// each destination as written. One message per destination.
fn update_notifications(
    objects: &[tocsin_domain::plan::Current],
    incident: i64,
    text: &str,
    stakeholders: &[String],
    key_prefix: &str,
    now: Timestamp,
) -> Vec<NewIntent> {
    let mut out: Vec<NewIntent> = Vec::new();
    let mut people: Vec<Name> = Vec::new();
    for s in stakeholders {
        match parse_stakeholder(objects, s) {
            Ok(Stakeholder::User(u)) => people.push(u),
            Ok(Stakeholder::Team(t)) => {
                if let Some(Object::Team(team)) = find_object(objects, Kind::Team, &t) {
                    people.extend(team.members);
                }
            }
            Ok(Stakeholder::Destination(kind, address)) => out.push(NewIntent {
                incident,
                user: None,
                contact: Name::from_static("stakeholders"),
                kind,
                address: address.clone(),
                due_at: now,
                level: 0,
                cycle: 0,
                purpose: tocsin_store::notify::Purpose::Update,
                previous: None,
                key: format!("{key_prefix}:{s}"),
                text: Some(text.to_owned()),
            }),
            Err(_) => {} // removed from the catalog since: nobody to tell
        }
    }
    people.sort();
    people.dedup();
    for p in people {
        if let Some(Object::User(u)) = find_object(objects, Kind::User, &p) {
            for i in tocsin_domain::escalation::intents(&u, now) {
                if i.due > now {
                    continue;
                }
                out.push(NewIntent {
                    incident,
                    key: format!("{key_prefix}:user:{}:{}", i.user, i.contact),
                    user: Some(i.user),
                    contact: i.contact,
                    kind: i.kind,
                    address: i.address,
                    due_at: now,
                    level: 0,
                    cycle: 0,
                    purpose: tocsin_store::notify::Purpose::Update,
                    previous: None,
                    text: Some(text.to_owned()),
                });
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|n| seen.insert((n.kind, n.address.clone())));
    out
}

/// Posts a stakeholder update: on the timeline, to every stakeholder, and
/// (when public) to the status page; the next one is due a cadence from
/// now.
#[allow(clippy::too_many_arguments)]
pub async fn post_update(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    state: UpdateState,
    audience: Audience,
    body: &str,
    now: Timestamp,
) -> Result<ResponseRecord, ResponseError> {
    let body = rules::check_text("body", body)?;
    let c = context(store, by.who, incident).await?;
    let key = fresh_key("update", incident, now);
    let next_due = c
        .response
        .every_minutes
        .filter(|_| c.incident.status != IncidentStatus::Resolved && state != UpdateState::Resolved)
        .map(|m| now + jiff::SignedDuration::from_mins(m));
    let message = format!("{}: {body}", state.label());
    let notifications = update_notifications(
        &c.objects,
        incident,
        &message,
        &c.response.stakeholders,
        &key,
        now,
    );
    let e = by.entry(
        incident,
        "update.posted",
        json!({
            "state": state.as_str(),
            "audience": audience.as_str(),
            "body": body,
            "told": notifications.len(),
        }),
        format!("{key}:posted"),
        now,
    );
    let jobs: Vec<NewJob> = next_due
        .map(|due| reminder_job(incident, due))
        .into_iter()
        .collect();
    respond(
        store,
        incident,
        &[ResponseChange::Update {
            incident,
            state,
            audience,
            body,
            author: by.label().to_owned(),
            at: now,
            next_due,
            key,
        }],
        &[e],
        &notifications,
        &jobs,
        now,
    )
    .await?;
    Ok(store.response(incident).await?)
}

/// Merges `from` into `into`: `from`'s alerts continue in `into`, `from`
/// is resolved and points at `into`. Both timelines say so.
pub async fn merge(
    store: &dyn Store,
    by: Actor<'_>,
    from: i64,
    into: i64,
    now: Timestamp,
) -> Result<IncidentRecord, ResponseError> {
    if from == into {
        return Err(FieldError::new("into", "an incident cannot be merged into itself").into());
    }
    let a = context(store, by.who, from).await?;
    let b = context(store, by.who, into).await?;
    if a.incident.status == IncidentStatus::Resolved {
        return Err(conflict(from, "is resolved; only an open incident merges"));
    }
    if b.incident.status == IncidentStatus::Resolved {
        return Err(conflict(into, "is resolved; merge into an open incident"));
    }
    let key = fresh_key("merge", from, now);
    let entries = [
        by.entry(
            from,
            "incident.merged",
            json!({ "into": into, "alerts": a.incident.open_alerts }),
            format!("{key}:from"),
            now,
        ),
        by.entry(
            into,
            "incident.merged_in",
            json!({ "from": from, "title": a.incident.title, "alerts": a.incident.open_alerts }),
            format!("{key}:into"),
            now,
        ),
    ];
    respond(
        store,
        from,
        &[ResponseChange::Merge {
            from,
            into,
            at: now,
        }],
        &entries,
        &[],
        &[],
        now,
    )
    .await?;
    reread(store, into).await
}

/// Closes a resolved incident. For the severities in `review_required`,
/// its review must be done first.
pub async fn close(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    review_required: &[Severity],
    now: Timestamp,
) -> Result<IncidentRecord, ResponseError> {
    let c = context(store, by.who, incident).await?;
    match Lifecycle::of(c.incident.status, c.incident.closed_at) {
        Lifecycle::Closed => return Err(conflict(incident, "is already closed")),
        Lifecycle::Resolved => {}
        other => {
            return Err(conflict(
                incident,
                &format!("is {}; resolve it before closing", other.as_str()),
            ));
        }
    }
    if review_required.contains(&c.incident.severity) {
        let done = store.review(incident).await?.is_some_and(|r| r.done);
        if !done {
            return Err(conflict(
                incident,
                &format!(
                    "is {} and needs its review marked done before it closes",
                    c.incident.severity.label()
                ),
            ));
        }
    }
    let e = by.entry(
        incident,
        "incident.closed",
        json!({}),
        format!("incident:{incident}:closed"),
        now,
    );
    record(
        store,
        incident,
        ResponseChange::Close { incident, at: now },
        e,
        now,
    )
    .await?;
    reread(store, incident).await
}
