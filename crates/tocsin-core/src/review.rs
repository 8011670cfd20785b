//! Learning from an incident: its post-incident review (drafted from the
//! record, edited, stored with a version so two editors never overwrite
//! each other unseen, exported as Markdown, marked done before the
//! incident closes) and its action items (an owner, a due date, reminders
//! when overdue).
//!
//! The blameless-language check runs on every save and view; it advises,
//! never blocks.

use crate::response::{Actor, ResponseError, context};
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::json;
use tocsin_domain::Name;
use tocsin_domain::alerting::IncidentStatus;
use tocsin_domain::catalog::{Kind, Object};
use tocsin_domain::response::{self as rules, FieldError, Role, timeline};
use tocsin_domain::review::blameless::{self, Finding};
use tocsin_domain::review::{self, ActionLine, Entry, Facts, Review};
use tocsin_store::Store;
use tocsin_store::response::{
    ActionItemQuery, ActionItemRecord, NewActionItem, Responded, ResponseChange,
};

/// A review as the editor shows it.
#[derive(Debug, Clone)]
pub struct ReviewView {
    pub review: Review,
    /// 0 while it is an unsaved draft.
    pub version: i64,
    pub done: bool,
    pub facts: Facts,
    pub items: Vec<ActionItemRecord>,
    /// Blameless-language advice per section (field name, finding).
    pub advice: Vec<(&'static str, Finding)>,
    pub updated_by: Option<String>,
    pub updated_at: Option<Timestamp>,
}

/// The advice for each text section of `r`.
pub fn advise(r: &Review) -> Vec<(&'static str, Finding)> {
    review::document::SECTIONS
        .iter()
        .flat_map(|(field, _)| {
            blameless::check(r.section(field))
                .into_iter()
                .map(move |f| (*field, f))
        })
        .collect()
}

async fn facts(store: &dyn Store, c: &crate::response::Context) -> Result<Facts, ResponseError> {
    let i = &c.incident;
    let mut services = vec![i.service.to_string()];
    services.extend(c.response.also_services.iter().map(|s| s.to_string()));
    let _ = store;
    Ok(Facts {
        number: i.number,
        title: i.title.clone(),
        severity: i.severity,
        services,
        opened_at: i.created_at,
        acknowledged_at: i.acknowledged_at,
        resolved_at: i.resolved_at,
        commander: c
            .response
            .roles
            .iter()
            .find(|r| r.role == Role::Commander)
            .map(|r| r.user.to_string()),
    })
}

/// The stored review, or a draft from the record if none is saved yet.
/// Anyone signed in may read it.
pub async fn load(
    store: &dyn Store,
    who: &tocsin_domain::access::Principal,
    incident: i64,
) -> Result<ReviewView, ResponseError> {
    who.authorize(&tocsin_domain::access::Action::Read)
        .map_err(|d| ResponseError::Denied(d.to_string()))?;
    let c = crate::response::read_context(store, incident).await?;
    let facts = facts(store, &c).await?;
    let items = store
        .action_items(&ActionItemQuery {
            incident: Some(incident),
            limit: 500,
            ..ActionItemQuery::default()
        })
        .await?;
    let (review, version, done, updated_by, updated_at) = match store.review(incident).await? {
        Some(r) => (
            serde_json::from_value(r.doc).unwrap_or_default(),
            r.version,
            r.done,
            Some(r.updated_by),
            Some(r.updated_at),
        ),
        None => {
            let impact = match c
                .objects
                .iter()
                .find(|o| o.kind == Kind::Service && o.name == c.incident.service)
                .and_then(|o| Object::from_spec(Kind::Service, o.spec.clone()).ok())
            {
                Some(Object::Service(s)) => s.impact,
                _ => None,
            };
            let mut entries = vec![Entry {
                at: c.incident.created_at,
                kind: "incident.opened".into(),
                text: format!("opened: {}", c.incident.title),
                pinned: true,
            }];
            entries.extend(
                store
                    .incident_timeline(incident)
                    .await?
                    .into_iter()
                    .filter(|t| t.kind != "incident.declared")
                    .map(|t| Entry {
                        at: t.at,
                        text: timeline::describe(&t.kind, &t.detail),
                        pinned: c.response.pinned.contains(&t.id),
                        kind: t.kind,
                    }),
            );
            let d = review::draft(c.incident.summary.as_deref(), impact.as_deref(), &entries);
            (d, 0, false, None, None)
        }
    };
    let advice = advise(&review);
    Ok(ReviewView {
        review,
        version,
        done,
        facts,
        items,
        advice,
        updated_by,
        updated_at,
    })
}

/// Longest review section (characters).
pub const SECTION_MAX: usize = 50_000;

/// Saves the review the editor had at `expected_version` (0 for the
/// draft); `done` marks it done (or not). A review is written once the
/// incident is resolved.
pub async fn save(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    review: &Review,
    done: bool,
    expected_version: i64,
    now: Timestamp,
) -> Result<ReviewView, ResponseError> {
    for (field, _) in review::document::SECTIONS {
        let n = review.section(field).chars().count();
        if n > SECTION_MAX {
            return Err(FieldError::new(
                field,
                format!("is {n} characters long; at most {SECTION_MAX}"),
            )
            .into());
        }
    }
    let c = context(store, by.who, incident).await?;
    if c.incident.status != IncidentStatus::Resolved {
        return Err(ResponseError::Conflict(format!(
            "incident #{incident} is {}; its review is written once it is resolved",
            c.incident.status.as_str()
        )));
    }
    let was_done = store.review(incident).await?.is_some_and(|r| r.done);
    let mut entries = Vec::new();
    let version = expected_version + 1;
    let kind = if done && !was_done {
        "review.done"
    } else {
        "review.saved"
    };
    entries.push(by.entry(
        incident,
        kind,
        json!({ "version": version }),
        format!("review:{incident}:v{version}"),
        now,
    ));
    let change = ResponseChange::Review {
        incident,
        doc: serde_json::to_value(review).unwrap_or_default(),
        done,
        expected_version,
        by: by.who.label.clone(),
        at: now,
    };
    match store.respond(&[change], &entries, &[], &[], now).await? {
        Responded::Applied { .. } => {}
        Responded::Conflict { .. } => {
            return Err(ResponseError::Conflict(format!(
                "the review of incident #{incident} was saved by someone else meanwhile; \
                 reload it, and copy your text over"
            )));
        }
    }
    load(store, by.who, incident).await
}

/// The review as Markdown.
pub async fn markdown(
    store: &dyn Store,
    who: &tocsin_domain::access::Principal,
    incident: i64,
) -> Result<String, ResponseError> {
    let v = load(store, who, incident).await?;
    let items: Vec<ActionLine> = v
        .items
        .iter()
        .map(|i| ActionLine {
            title: i.title.clone(),
            owner: i.owner.to_string(),
            due_on: i.due_on.to_string(),
            done: i.done_at.is_some(),
        })
        .collect();
    Ok(review::markdown(&v.review, &v.facts, &items))
}

/// Adds an action item: owned by a person, listed under their team (the
/// service's team if they are in it, else their first team), due on a
/// date.
pub async fn add_action_item(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    title: &str,
    owner: &Name,
    due_on: Date,
    now: Timestamp,
) -> Result<ActionItemRecord, ResponseError> {
    let title = rules::check_title(title).map_err(|e| FieldError::new("title", e.reason))?;
    let c = context(store, by.who, incident).await?;
    if !c
        .objects
        .iter()
        .any(|o| o.kind == Kind::User && &o.name == owner)
    {
        return Err(FieldError::new("owner", format!("no user named {owner}")).into());
    }
    let teams: Vec<Name> = c
        .objects
        .iter()
        .filter(|o| o.kind == Kind::Team)
        .filter_map(|o| match Object::from_spec(Kind::Team, o.spec.clone()) {
            Ok(Object::Team(t)) if t.members.contains(owner) => Some(t.name),
            _ => None,
        })
        .collect();
    let service_team = c
        .objects
        .iter()
        .find(|o| o.kind == Kind::Service && o.name == c.incident.service)
        .and_then(|o| match Object::from_spec(Kind::Service, o.spec.clone()) {
            Ok(Object::Service(s)) => Some(s.team),
            _ => None,
        });
    let team = match service_team {
        Some(t) if teams.contains(&t) => Some(t),
        _ => teams.first().cloned(),
    };
    let e = by.entry(
        incident,
        "action_item.added",
        json!({ "title": title, "owner": owner, "due_on": due_on.to_string() }),
        format!(
            "action_item:{incident}:{}:{:x}",
            now.as_millisecond(),
            rand::random::<u32>()
        ),
        now,
    );
    let change = ResponseChange::AddActionItem(NewActionItem {
        incident,
        title,
        owner: owner.clone(),
        team,
        due_on,
        at: now,
    });
    let id = match store.respond(&[change], &[e], &[], &[], now).await? {
        Responded::Applied { action_items } => action_items.first().copied(),
        Responded::Conflict { .. } => None,
    }
    .ok_or_else(|| ResponseError::Conflict(format!("incident #{incident} changed; try again")))?;
    store
        .action_items(&ActionItemQuery {
            incident: Some(incident),
            limit: 1000,
            ..ActionItemQuery::default()
        })
        .await?
        .into_iter()
        .find(|i| i.id == id)
        .ok_or_else(|| ResponseError::NotFound(format!("no action item {id}")))
}

/// Marks an action item done, or open again.
pub async fn set_action_item_done(
    store: &dyn Store,
    by: Actor<'_>,
    incident: i64,
    id: i64,
    done: bool,
    now: Timestamp,
) -> Result<ActionItemRecord, ResponseError> {
    context(store, by.who, incident).await?;
    let items = store
        .action_items(&ActionItemQuery {
            incident: Some(incident),
            limit: 1000,
            ..ActionItemQuery::default()
        })
        .await?;
    let item = items.iter().find(|i| i.id == id).ok_or_else(|| {
        ResponseError::NotFound(format!("incident #{incident} has no action item {id}"))
    })?;
    let mut entries = Vec::new();
    if done {
        entries.push(by.entry(
            incident,
            "action_item.done",
            json!({ "id": id, "title": item.title }),
            format!("action_item:{id}:done:{}", now.as_millisecond()),
            now,
        ));
    }
    store
        .respond(
            &[ResponseChange::ActionItemDone { id, done, at: now }],
            &entries,
            &[],
            &[],
            now,
        )
        .await?;
    store
        .action_items(&ActionItemQuery {
            incident: Some(incident),
            limit: 1000,
            ..ActionItemQuery::default()
        })
        .await?
        .into_iter()
        .find(|i| i.id == id)
        .ok_or_else(|| ResponseError::NotFound(format!("no action item {id}")))
}
