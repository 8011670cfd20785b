//! The state machine.

use super::Policy;
use crate::ingest::{Event, EventAction};
use crate::noise::Muted;
use crate::{Name, Severity};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Open,
    Acknowledged,
    Resolved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Triggered,
    Acknowledged,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Resolved => "resolved",
        }
    }
}

impl IncidentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Triggered => "triggered",
            IncidentStatus::Acknowledged => "acknowledged",
            IncidentStatus::Resolved => "resolved",
        }
    }
}

/// An alert as the rules see it. `id` is `None` until the store saves it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertState {
    pub id: Option<i64>,
    pub service: Name,
    pub dedup_key: String,
    pub status: AlertStatus,
    pub severity: Severity,
    pub summary: String,
    pub group: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub count: i64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Index into [`Snapshot::incidents`].
    pub incident: Option<usize>,
    /// Why it opened no incident although its severity pages: a silence
    /// or a maintenance window matched it when it was last triggered.
    pub muted: Option<Muted>,
    /// Changed by this batch: the store writes it.
    pub dirty: bool,
}

/// An incident as the rules see it. `id` is `None` until the store saves it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentState {
    pub id: Option<i64>,
    pub service: Name,
    pub title: String,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub group: Option<String>,
    pub created_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    /// Alerts still open (or acknowledged) in it.
    pub open_alerts: i64,
    /// Whether it paged (a page was due when it opened); its resolution is
    /// then notified too.
    pub paged: bool,
    /// The escalation run that is current (a reopen by hand starts the
    /// next); jobs about the incident are keyed by it.
    pub run: i64,
    pub dirty: bool,
}

/// What is open, for the services a batch touches (and the services they
/// depend on). The rules mutate it; the store persists the dirty parts.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Open and acknowledged alerts, by index.
    pub alerts: Vec<AlertState>,
    pub incidents: Vec<IncidentState>,
    /// Dependencies, grouping, silences and maintenance windows.
    pub policy: Arc<Policy>,
    by_key: HashMap<(Name, String), usize>,
}

impl Snapshot {
    pub fn new(
        alerts: Vec<AlertState>,
        incidents: Vec<IncidentState>,
        policy: Arc<Policy>,
    ) -> Self {
        let by_key = alerts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.status != AlertStatus::Resolved)
            .map(|(i, a)| ((a.service.clone(), a.dedup_key.clone()), i))
            .collect();
        Snapshot {
            alerts,
            incidents,
            policy,
            by_key,
        }
    }

    fn open_incident(&self, pred: impl Fn(&IncidentState) -> bool) -> Option<usize> {
        // The newest matching open incident.
        self.incidents
            .iter()
            .enumerate()
            .filter(|(_, i)| i.status != IncidentStatus::Resolved && pred(i))
            .max_by_key(|(_, i)| i.created_at)
            .map(|(idx, _)| idx)
    }
}

/// What happened to one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new alert; `incident` is the incident it joined or opened, none
    /// when it is informational or `muted`.
    Opened {
        alert: usize,
        incident: Option<usize>,
        new_incident: bool,
        via_dependency: bool,
        muted: Option<Muted>,
    },
    /// One more occurrence of an open alert.
    Counted {
        alert: usize,
    },
    Acknowledged {
        alert: usize,
    },
    Resolved {
        alert: usize,
    },
    /// A note on an open alert.
    Noted {
        alert: usize,
    },
    /// Nothing to do (ack/resolve of no open alert).
    Ignored {
        reason: &'static str,
    },
    /// A change event: recorded per service, no alert.
    Change,
}

/// The result for one event: its outcome and the incident it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    /// Index into [`Snapshot::incidents`] of the incident the event lands on.
    pub incident: Option<usize>,
    /// The incident starts paging (a new incident whose severity pages).
    pub page: bool,
    /// The incident resolved with this event; notify if it had paged.
    pub incident_resolved: bool,
}

impl Decision {
    fn plain(outcome: Outcome, incident: Option<usize>) -> Decision {
        Decision {
            outcome,
            incident,
            page: false,
            incident_resolved: false,
        }
    }
}

/// Applies one event for `service` to the snapshot.
pub fn decide(s: &mut Snapshot, service: &Name, event: &Event, now: Timestamp) -> Decision {
    let key = (service.clone(), event.dedup_key.clone());
    match event.action {
        EventAction::Change => Decision::plain(Outcome::Change, None),
        EventAction::Note => match s.by_key.get(&key).copied() {
            Some(i) => Decision::plain(Outcome::Noted { alert: i }, s.alerts[i].incident),
            None => Decision::plain(
                Outcome::Ignored {
                    reason: "no open alert with this dedup key",
                },
                None,
            ),
        },
        EventAction::Trigger => match s.by_key.get(&key).copied() {
            Some(i) => count(s, i, service, event, now),
            None => open(s, service, event, now),
        },
        EventAction::Acknowledge => match s.by_key.get(&key).copied() {
            Some(i) => {
                let a = &mut s.alerts[i];
                a.last_seen = now;
                a.dirty = true;
                if a.status == AlertStatus::Open {
                    a.status = AlertStatus::Acknowledged;
                }
                let inc = a.incident;
                if let Some(ix) = inc {
                    let incident = &mut s.incidents[ix];
                    if incident.status == IncidentStatus::Triggered {
                        incident.status = IncidentStatus::Acknowledged;
                        incident.acknowledged_at = Some(now);
                        incident.dirty = true;
                    }
                }
                Decision::plain(Outcome::Acknowledged { alert: i }, inc)
            }
            None => Decision::plain(
                Outcome::Ignored {
                    reason: "no open alert with this dedup key",
                },
                None,
            ),
        },
        EventAction::Resolve => match s.by_key.remove(&key) {
            Some(i) => {
                let a = &mut s.alerts[i];
                a.status = AlertStatus::Resolved;
                a.last_seen = now;
                a.dirty = true;
                let inc = a.incident;
                let mut resolved = false;
                if let Some(ix) = inc {
                    let incident = &mut s.incidents[ix];
                    incident.open_alerts = (incident.open_alerts - 1).max(0);
                    incident.dirty = true;
                    if incident.open_alerts == 0 && incident.status != IncidentStatus::Resolved {
                        incident.status = IncidentStatus::Resolved;
                        incident.resolved_at = Some(now);
                        resolved = true;
                    }
                }
                Decision {
                    outcome: Outcome::Resolved { alert: i },
                    incident: inc,
                    page: false,
                    incident_resolved: resolved,
                }
            }
            None => Decision::plain(
                Outcome::Ignored {
                    reason: "no open alert with this dedup key",
                },
                None,
            ),
        },
    }
}

/// One more occurrence of an open alert. An alert without an incident
/// (muted, or informational until now) gets one once it pages and nothing
/// mutes it any more: a silence that expired while the problem goes on
/// pages with the next occurrence.
fn count(s: &mut Snapshot, i: usize, service: &Name, event: &Event, now: Timestamp) -> Decision {
    {
        let a = &mut s.alerts[i];
        a.count += 1;
        a.last_seen = now;
        a.summary.clone_from(&event.summary);
        a.severity = event.severity;
        a.labels.clone_from(&event.labels);
        a.dirty = true;
    }
    let mut page = false;
    if s.alerts[i].incident.is_none() && event.severity.pages() {
        let muted = s.policy.mutes.muted(service, &event.labels, now);
        if muted.is_none() {
            let at = attach(s, service, event, now);
            s.alerts[i].incident = at.incident;
            page = at.page;
        }
        s.alerts[i].muted = muted;
    } else if let Some(ix) = s.alerts[i].incident {
        let inc = &mut s.incidents[ix];
        if event.severity < inc.severity {
            inc.severity = event.severity;
            inc.dirty = true;
        }
    }
    Decision {
        outcome: Outcome::Counted { alert: i },
        incident: s.alerts[i].incident,
        page,
        incident_resolved: false,
    }
}

/// Where a paging alert goes.
struct Attach {
    incident: Option<usize>,
    new_incident: bool,
    via_dependency: bool,
    page: bool,
}

/// Finds the incident a paging alert belongs to, or opens one (which
/// pages), and counts the alert in it.
fn attach(s: &mut Snapshot, service: &Name, event: &Event, now: Timestamp) -> Attach {
    let policy = s.policy.clone();
    let mut incident = None;
    let mut via_dependency = false;
    let mut new_incident = false;
    // 1. A broken dependency already has an incident: join it.
    if let Some(deps) = policy.depends_on.get(service) {
        incident = s.open_incident(|i| deps.contains(&i.service));
        via_dependency = incident.is_some();
    }
    // 2. The service's own open incident for the same group (within the
    // grouping window, if the service has one).
    let group = policy.group_key(service, event);
    if incident.is_none() {
        let since = policy.window(service).map(|w| now - w);
        incident = s.open_incident(|i| {
            &i.service == service && i.group == group && since.is_none_or(|t| i.created_at > t)
        });
    }
    // 3. A new incident, which pages.
    if incident.is_none() {
        s.incidents.push(IncidentState {
            id: None,
            service: service.clone(),
            title: event.summary.clone(),
            severity: event.severity,
            status: IncidentStatus::Triggered,
            group,
            created_at: now,
            acknowledged_at: None,
            resolved_at: None,
            open_alerts: 0,
            paged: true,
            run: 0,
            dirty: true,
        });
        incident = Some(s.incidents.len() - 1);
        new_incident = true;
    }
    if let Some(ix) = incident {
        let inc = &mut s.incidents[ix];
        inc.open_alerts += 1;
        inc.dirty = true;
        // A worse alert raises the incident's severity.
        if event.severity < inc.severity {
            inc.severity = event.severity;
        }
    }
    Attach {
        incident,
        new_incident,
        via_dependency,
        page: new_incident,
    }
}

fn open(s: &mut Snapshot, service: &Name, event: &Event, now: Timestamp) -> Decision {
    let mut at = Attach {
        incident: None,
        new_incident: false,
        via_dependency: false,
        page: false,
    };
    let mut muted = None;
    if event.severity.pages() {
        muted = s.policy.mutes.muted(service, &event.labels, now);
        if muted.is_none() {
            at = attach(s, service, event, now);
        }
    }
    let group = s.policy.group_key(service, event);
    s.alerts.push(AlertState {
        id: None,
        service: service.clone(),
        dedup_key: event.dedup_key.clone(),
        status: AlertStatus::Open,
        severity: event.severity,
        summary: event.summary.clone(),
        group,
        labels: event.labels.clone(),
        count: 1,
        first_seen: now,
        last_seen: now,
        incident: at.incident,
        muted: muted.clone(),
        dirty: true,
    });
    let alert = s.alerts.len() - 1;
    s.by_key
        .insert((service.clone(), event.dedup_key.clone()), alert);
    Decision {
        outcome: Outcome::Opened {
            alert,
            incident: at.incident,
            new_incident: at.new_incident,
            via_dependency: at.via_dependency,
            muted,
        },
        incident: at.incident,
        page: at.page,
        incident_resolved: false,
    }
}
