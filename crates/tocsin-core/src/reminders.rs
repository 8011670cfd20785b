//! Reminders that keep the response moving: an overdue stakeholder update
//! (the `incident.update_reminder` job, one per incident and due time) and
//! overdue action items (an engine module that looks once an hour and
//! reminds each owner at most once a day).
//!
//! A reminder goes to the person by the contact methods of their
//! immediate notification rules, through the outbox like any message, and
//! is on the incident's timeline.

use crate::clock::Clock;
use crate::engine::{JobError, JobHandler, Module};
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use serde_json::json;
use std::sync::{Arc, Mutex};
use tocsin_domain::Name;
use tocsin_domain::catalog::{Kind, Object};
use tocsin_domain::response::Role;
use tocsin_store::notify::Purpose;
use tocsin_store::response::{
    ActionItemQuery, JOB_UPDATE_REMINDER, ResponseChange, update_reminder_key,
};
use tocsin_store::{NewIntent, NewJob, NewTimelineEntry, Store};

/// The messages to `user` now, by their immediate contact methods.
pub(crate) fn to_person(
    objects: &[tocsin_domain::plan::Current],
    incident: i64,
    user: &Name,
    text: &str,
    key_prefix: &str,
    now: Timestamp,
) -> Vec<NewIntent> {
    let Some(Ok(Object::User(u))) = objects
        .iter()
        .find(|o| o.kind == Kind::User && &o.name == user)
        .map(|o| Object::from_spec(Kind::User, o.spec.clone()))
    else {
        return Vec::new();
    };
    tocsin_domain::escalation::intents(&u, now)
        .into_iter()
        .filter(|i| i.due <= now)
        .map(|i| NewIntent {
            incident,
            key: format!("{key_prefix}:{}:{}", i.user, i.contact),
            user: Some(i.user),
            contact: i.contact,
            kind: i.kind,
            address: i.address,
            due_at: now,
            level: 0,
            cycle: 0,
            purpose: Purpose::Update,
            previous: None,
            text: Some(text.to_owned()),
        })
        .collect()
}

fn transient(e: impl std::fmt::Display) -> JobError {
    JobError::Transient(e.to_string())
}

/// Runs `incident.update_reminder` jobs.
#[derive(Debug)]
pub struct UpdateReminders {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl UpdateReminders {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        UpdateReminders { store, clock }
    }

    /// Reminds the commander (else the responders, else nobody but the
    /// timeline) that the update due at `due` has not been posted, and
    /// looks again a cadence later.
    pub async fn remind(&self, incident: i64, due: Timestamp) -> Result<(), JobError> {
        let store = self.store.as_ref();
        let now = self.clock.now();
        let Some(inc) = store.get_incident(incident).await.map_err(transient)? else {
            return Ok(());
        };
        if inc.status == tocsin_domain::alerting::IncidentStatus::Resolved {
            return Ok(());
        }
        let r = store.response(incident).await.map_err(transient)?;
        let (Some(every), Some(next)) = (r.every_minutes, r.next_update_due) else {
            return Ok(());
        };
        if next != due {
            return Ok(()); // an update (or a new cadence) moved it
        }
        let objects = store.list_objects(None).await.map_err(transient)?;
        let commander: Vec<Name> = r
            .roles
            .iter()
            .filter(|x| x.role == Role::Commander)
            .map(|x| x.user.clone())
            .collect();
        let people = if commander.is_empty() {
            r.roles.iter().map(|x| x.user.clone()).collect()
        } else {
            commander
        };
        let late = now.duration_since(due);
        let text = format!(
            "The stakeholder update for incident #{incident} is overdue (due {} min ago). \
             Post one (status: investigating, identified, monitoring or resolved) \
             so stakeholders know where things stand.",
            late.as_mins().max(0)
        );
        let key = format!("update_reminder:{incident}:{}", now.as_millisecond());
        let notifications: Vec<NewIntent> = people
            .iter()
            .flat_map(|p| to_person(&objects, incident, p, &text, &key, now))
            .collect();
        let names: Vec<&str> = people.iter().map(Name::as_str).collect();
        let entry = NewTimelineEntry {
            incident,
            at: now,
            kind: "update.overdue".into(),
            actor: "reminders".into(),
            detail: json!({
                "due": due.to_string(),
                "reminded": if names.is_empty() { "nobody (no commander or responder)".to_owned() } else { names.join(", ") },
                "via": "system",
            }),
            key: format!("{key}:entry"),
        };
        let again = now + SignedDuration::from_mins(every);
        let job = NewJob {
            kind: JOB_UPDATE_REMINDER.into(),
            key: update_reminder_key(incident, again),
            payload: json!({ "incident": incident, "due": due.to_string() }),
            due_at: again,
        };
        store
            .respond(&[], &[entry], &notifications, &[job], now)
            .await
            .map_err(transient)?;
        Ok(())
    }
}

#[async_trait]
impl JobHandler for UpdateReminders {
    fn kind(&self) -> &'static str {
        JOB_UPDATE_REMINDER
    }

    async fn run(&self, job: &tocsin_store::ClaimedJob) -> Result<(), JobError> {
        let incident = job.payload["incident"]
            .as_i64()
            .ok_or_else(|| JobError::Permanent("payload has no incident".into()))?;
        let due: Timestamp = job.payload["due"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| JobError::Permanent("payload has no due time".into()))?;
        self.remind(incident, due).await
    }
}

/// Reminds owners of overdue action items, at most once a day each.
#[derive(Debug)]
pub struct ActionItemReminders {
    store: Arc<dyn Store>,
    every: SignedDuration,
    last: Mutex<Option<Timestamp>>,
}

impl ActionItemReminders {
    pub fn new(store: Arc<dyn Store>) -> Self {
        ActionItemReminders {
            store,
            every: SignedDuration::from_hours(1),
            last: Mutex::new(None),
        }
    }

    /// One pass: every open item due before today (UTC) whose owner was not
    /// reminded in the last day. Returns how many were reminded.
    pub async fn pass(&self, now: Timestamp) -> Result<usize, String> {
        let store = self.store.as_ref();
        let today = now.to_zoned(TimeZone::UTC).date();
        let items = store
            .action_items(&ActionItemQuery {
                open_only: true,
                due_before: Some(today),
                limit: 1000,
                ..ActionItemQuery::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        let objects = store.list_objects(None).await.map_err(|e| e.to_string())?;
        let mut reminded = 0;
        for item in items {
            if item
                .reminded_at
                .is_some_and(|r| now.duration_since(r) < SignedDuration::from_hours(23))
            {
                continue;
            }
            let text = format!(
                "Action item from incident #{} is overdue (due {}): {}",
                item.incident, item.due_on, item.title
            );
            let key = format!("action_item_reminder:{}:{today}", item.id);
            let notifications = to_person(&objects, item.incident, &item.owner, &text, &key, now);
            let entry = NewTimelineEntry {
                incident: item.incident,
                at: now,
                kind: "action_item.overdue".into(),
                actor: "reminders".into(),
                detail: json!({
                    "id": item.id,
                    "title": item.title,
                    "owner": item.owner,
                    "due_on": item.due_on.to_string(),
                    "via": "system",
                }),
                key: format!("{key}:entry"),
            };
            store
                .respond(
                    &[ResponseChange::ActionItemReminded {
                        id: item.id,
                        at: now,
                    }],
                    &[entry],
                    &notifications,
                    &[],
                    now,
                )
                .await
                .map_err(|e| e.to_string())?;
            reminded += 1;
        }
        Ok(reminded)
    }
}

#[async_trait]
impl Module for ActionItemReminders {
    fn name(&self) -> &'static str {
        "review.action_item_reminders"
    }

    async fn tick(&self, now: Timestamp) -> Result<(), String> {
        {
            let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|l| now.duration_since(l) < self.every) {
                return Ok(());
            }
        }
        self.pass(now).await?;
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
        Ok(())
    }
}
