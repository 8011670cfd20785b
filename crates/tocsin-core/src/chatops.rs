//! Running a chat command: the one executor behind every front end (the
//! API's `POST /api/v1/chat`, `tocsin chat "…"`, and later the chat bots).
//!
//! A line is parsed by [`tocsin_domain::chatops::parse`]; the command then
//! calls the same use case the API and the UI call, so who may do what is
//! checked in one place (those use cases) and every change lands on the
//! incident's timeline (or the audit log) with who did it and through
//! which interface. The [`Answer`] says what happened in words, and whether
//! it is for the channel (`public`: a change everyone should see) or only
//! for the person who typed it (help, usage errors, refusals).

use crate::audit;
use crate::escalation::{EscalateError, escalate};
use crate::incident;
use crate::noise::{self, NewWindow, NoiseError};
use crate::oncall::{OnCallError, OnCallNow, on_call};
use crate::response::{self, Actor, Declaration, ResponseError};
use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;
use tocsin_domain::Name;
use tocsin_domain::Severity;
use tocsin_domain::access::{Action, Principal};
use tocsin_domain::alerting::Policy;
use tocsin_domain::audit::Interface as AuditInterface;
use tocsin_domain::catalog::{Kind, Object, Target};
use tocsin_domain::chatops::{self, Command, PageTarget};
use tocsin_domain::ingest::{Event, EventAction};
use tocsin_domain::response::{Audience, Interface, Lifecycle, UpdateState};
use tocsin_store::{IncidentFilter, IngestItem, Store, StoreError};

/// How long `maintenance start` lasts when no duration is given.
pub const DEFAULT_MAINTENANCE: SignedDuration = SignedDuration::from_hours(1);

/// How many open incidents `status` lists.
pub const STATUS_LIMIT: u32 = 10;

/// The severity of `incident new` without one.
pub const DEFAULT_SEVERITY: Severity = Severity::Sev3;

/// What a command answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Plain text, Markdown-light: one summary line, then details.
    pub text: String,
    /// Whether the command did what was asked.
    pub ok: bool,
    /// For the channel (`true`) or only for the caller (`false`).
    pub public: bool,
}

impl Answer {
    fn public(text: impl Into<String>) -> Answer {
        Answer {
            text: text.into(),
            ok: true,
            public: true,
        }
    }

    fn private(text: impl Into<String>) -> Answer {
        Answer {
            text: text.into(),
            ok: true,
            public: false,
        }
    }

    fn refused(text: impl Into<String>) -> Answer {
        Answer {
            text: text.into(),
            ok: false,
            public: false,
        }
    }
}

/// Why a command did not run, said to the person who typed it.
struct Refusal(String);

impl From<ResponseError> for Refusal {
    fn from(e: ResponseError) -> Self {
        match e {
            ResponseError::Store(s) => store_failed(&s),
            ResponseError::Invalid(f) => Refusal(format!("{}: {}", f.field, f.reason)),
            e => Refusal(e.to_string()),
        }
    }
}

impl From<EscalateError> for Refusal {
    fn from(e: EscalateError) -> Self {
        match e {
            EscalateError::Store(s) => store_failed(&s),
            e => Refusal(e.to_string()),
        }
    }
}

impl From<NoiseError> for Refusal {
    fn from(e: NoiseError) -> Self {
        match e {
            NoiseError::Invalid(problems) => Refusal(
                problems
                    .iter()
                    .map(|(f, r)| format!("{f}: {r}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            NoiseError::Store(s) => store_failed(&s),
            e => Refusal(e.to_string()),
        }
    }
}

impl From<OnCallError> for Refusal {
    fn from(e: OnCallError) -> Self {
        match e {
            OnCallError::Store(s) => store_failed(&s),
            e => Refusal(e.to_string()),
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        store_failed(&e)
    }
}

fn store_failed(e: &StoreError) -> Refusal {
    tracing::error!(error = %e, "chat command failed in the store");
    Refusal("tocsin could not reach its database; nothing was changed. Try again.".into())
}

/// The audit interface for a response interface (chat bots are `chat`).
fn audit_interface(via: Interface) -> AuditInterface {
    match via {
        Interface::Web => AuditInterface::Ui,
        Interface::Api => AuditInterface::Api,
        Interface::Cli => AuditInterface::Cli,
        Interface::Slack | Interface::Mattermost | Interface::Matrix => AuditInterface::Chat,
        Interface::System => AuditInterface::System,
    }
}

/// Runs one command line for `who`, arriving through `via`.
pub async fn execute(
    store: &dyn Store,
    who: &Principal,
    via: Interface,
    text: &str,
    now: Timestamp,
) -> Answer {
    let command = match chatops::parse(text) {
        Ok(c) => c,
        Err(e) => return Answer::refused(e.to_string()),
    };
    match run(store, who, via, command, now).await {
        Ok(a) => a,
        Err(Refusal(r)) => Answer::refused(r),
    }
}

async fn run(
    store: &dyn Store,
    who: &Principal,
    via: Interface,
    command: Command,
    now: Timestamp,
) -> Result<Answer, Refusal> {
    let by = Actor { who, via };
    let me = &who.label;
    match command {
        Command::Help { topic } => Ok(Answer::private(chatops::help(topic.as_deref()))),
        Command::Ack { incident } => {
            let i = incident::acknowledge(store, by, incident, now).await?;
            Ok(Answer::public(format!(
                "#{incident} acknowledged by {me}\n{} · {} · {}",
                i.title,
                i.severity.label(),
                i.service
            )))
        }
        Command::Resolve { incident, note } => {
            let i = incident::resolve(store, by, incident, note.as_deref(), now).await?;
            let mut text = format!(
                "#{incident} resolved by {me}\n{} · {} · {}",
                i.title,
                i.severity.label(),
                i.service
            );
            if let Some(n) = note {
                text.push_str(&format!("\nnote: {n}"));
            }
            Ok(Answer::public(text))
        }
        Command::Note { incident, text } => {
            response::note(store, by, incident, &text, now).await?;
            Ok(Answer::public(format!(
                "#{incident}: note added by {me}\n{text}"
            )))
        }
        Command::Log { text, service } => log_change(store, who, via, &text, service, now).await,
        Command::IncidentNew {
            title,
            severity,
            service,
        } => {
            let Some(service) = service else {
                return Err(Refusal(
                    "incident: say which service is affected, e.g. incident new \"Checkout returns 502\" sev2 checkout\nusage: incident new \"<title>\" [sev1-5] [service]"
                        .into(),
                ));
            };
            let d = Declaration {
                title,
                service,
                also_services: Vec::new(),
                severity: severity.unwrap_or(DEFAULT_SEVERITY),
                summary: None,
                page: false,
            };
            let i = response::declare(store, by, &d, now).await?;
            Ok(Answer::public(format!(
                "#{} declared by {me}: {}\n{} · {} · {me} is incident commander; page people with \"page @person #{}\"",
                i.number,
                i.title,
                i.severity.label(),
                i.service,
                i.number
            )))
        }
        Command::Sev { incident, severity } => {
            let before = store.get_incident(incident).await?.map(|i| i.severity);
            let i = response::set_severity(store, by, incident, severity, now).await?;
            let from = before.map_or(String::new(), |b| format!(" from {}", b.label()));
            Ok(Answer::public(format!(
                "#{incident} severity changed{from} to {} by {me}\n{}",
                i.severity.label(),
                i.title
            )))
        }
        Command::Role {
            incident,
            role,
            person,
        } => {
            response::assign_role(store, by, incident, role, &person, now).await?;
            Ok(Answer::public(format!(
                "#{incident}: {person} is now {} (set by {me})",
                role.label()
            )))
        }
        Command::Page {
            target,
            incident,
            message,
        } => {
            let Some(incident) = incident else {
                return Err(Refusal(format!(
                    "page: say which incident to page {target} into, e.g. page {target} #8\nusage: page @person|team:<team>|schedule:<schedule> [incident] [message…]"
                )));
            };
            let t = match &target {
                PageTarget::User(n) => Target::User(n.clone()),
                PageTarget::Team(n) => Target::Team(n.clone()),
                PageTarget::Schedule(n) => Target::Schedule(n.clone()),
            };
            let before = store.response(incident).await?;
            let after =
                response::add_responders(store, by, incident, &t, message.as_deref(), now).await?;
            let added: Vec<String> = after
                .roles
                .iter()
                .filter(|r| !before.roles.contains(r))
                .map(|r| r.user.to_string())
                .collect();
            let mut text = format!("#{incident}: {target} paged by {me}");
            if !added.is_empty() {
                text.push_str(&format!("\nnew responders: {}", added.join(", ")));
            }
            if let Some(m) = message {
                text.push_str(&format!("\nmessage: {m}"));
            }
            Ok(Answer::public(text))
        }
        Command::Escalate { incident } => {
            let step = escalate(store, crate::response::Actor { who, via }, incident, now).await?;
            Ok(Answer::public(format!(
                "#{incident} escalated to level {} by {me}",
                step.level + 1
            )))
        }
        Command::Update {
            incident,
            state,
            text,
        } => {
            let state = match state {
                Some(s) => s,
                None => store
                    .response(incident)
                    .await?
                    .updates
                    .last()
                    .map_or(UpdateState::Investigating, |u| u.state),
            };
            let r =
                response::post_update(store, by, incident, state, Audience::Internal, &text, now)
                    .await?;
            Ok(Answer::public(format!(
                "#{incident}: update posted by {me} ({}; {} stakeholder(s))\n{text}",
                state.label(),
                r.stakeholders.len()
            )))
        }
        Command::Status { service } => status(store, service, now).await,
        Command::Oncall { team } => oncall(store, team, now).await,
        Command::Check { service } => Ok(Answer::refused(format!(
            "check {service}: health checks are not configured in this version of tocsin; they come with later work."
        ))),
        Command::Run { action, .. } => Ok(Answer::refused(format!(
            "run {action}: runbook actions are not configured in this version of tocsin; they come with later work."
        ))),
        Command::MaintenanceStart {
            service,
            duration,
            reason,
        } => maintenance_start(store, who, via, service, duration, reason, now).await,
        Command::MaintenanceStop { service } => {
            maintenance_stop(store, who, via, service, now).await
        }
    }
}

/// `log`: a change event for the service, stored as the API's
/// `POST /services/{name}/changes` stores it (a `change` event in the
/// ingest transaction), recorded under the interface's name.
async fn log_change(
    store: &dyn Store,
    who: &Principal,
    via: Interface,
    text: &str,
    service: Option<Name>,
    now: Timestamp,
) -> Result<Answer, Refusal> {
    who.authorize(&Action::RecordChange)
        .map_err(|d| Refusal(d.to_string()))?;
    let Some(service) = service else {
        return Err(Refusal(
            "log: say which service changed, e.g. log Upgraded redis --service cache\nusage: log <text…> [--service <service>]".into(),
        ));
    };
    let known = store
        .get_object(Kind::Service, &service)
        .await?
        .is_some_and(|o| {
            matches!(
                Object::from_spec(Kind::Service, o.spec),
                Ok(Object::Service(_))
            )
        });
    if !known {
        return Err(Refusal(format!("log: no service named {service}")));
    }
    let event = Event {
        action: EventAction::Change,
        dedup_key: String::new(),
        summary: Event::truncate_summary(text),
        source: Some(who.label.clone()),
        severity: Severity::Sev5,
        sender_severity: None,
        occurred_at: None,
        component: None,
        group: None,
        class: None,
        labels: [("source".to_owned(), who.label.clone())]
            .into_iter()
            .collect(),
        details: serde_json::json!({ "by": who.label, "via": via.as_str() }),
        links: Vec::new(),
        images: Vec::new(),
        note: Some(format!("recorded by {} via {}", who.label, via.as_str())),
    };
    let item = IngestItem {
        integration: Name::from_static(via.as_str()),
        service: service.clone(),
        event,
        received_at: now,
        request_id: None,
    };
    // A change event opens nothing, so the alerting policy plays no part.
    store
        .ingest(&[item], &Arc::new(Policy::default()), now)
        .await?;
    Ok(Answer::public(format!(
        "Change logged for {service} by {}\n{text}",
        who.label
    )))
}

fn lifecycle_word(l: Lifecycle) -> &'static str {
    match l {
        Lifecycle::Triggered => "triggered",
        Lifecycle::Acknowledged => "acknowledged",
        Lifecycle::Resolved => "resolved",
        Lifecycle::Closed => "closed",
    }
}

fn on_call_line(o: &OnCallNow) -> String {
    let who = if o.users.is_empty() {
        "nobody (a gap)".to_owned()
    } else {
        o.users.join(", ")
    };
    match &o.until {
        Some(u) => format!("  {}: {who} until {u}", o.schedule),
        None => format!("  {}: {who}", o.schedule),
    }
}

/// `status [service]`: the newest open incidents (of the service, or all)
/// and who is on call. For a service: the first level of its escalation
/// policy (schedules resolved to who is on call now, people, teams); with
/// no policy, its team's schedules. Without a service: every schedule.
async fn status(
    store: &dyn Store,
    service: Option<Name>,
    now: Timestamp,
) -> Result<Answer, Refusal> {
    let mut on_call_lines = Vec::new();
    if let Some(s) = &service {
        let objects = store.list_objects(None).await?;
        let find = |kind: Kind, name: &Name| {
            objects
                .iter()
                .find(|o| o.kind == kind && &o.name == name)
                .and_then(|o| Object::from_spec(kind, o.spec.clone()).ok())
        };
        let Some(Object::Service(svc)) = find(Kind::Service, s) else {
            return Err(Refusal(format!("status: no service named {s}")));
        };
        let policy =
            svc.escalation_policy
                .as_ref()
                .and_then(|p| match find(Kind::EscalationPolicy, p) {
                    Some(Object::EscalationPolicy(p)) => Some(p),
                    _ => None,
                });
        match policy.as_ref().and_then(|p| p.levels.first()) {
            Some(level) => {
                for t in &level.targets {
                    match t {
                        Target::User(u) => on_call_lines.push(format!("  {u}")),
                        Target::Team(tm) => on_call_lines.push(format!("  team {tm}")),
                        Target::Schedule(sc) => {
                            for o in on_call(store, None, Some(sc), now).await? {
                                on_call_lines.push(on_call_line(&o));
                            }
                        }
                    }
                }
            }
            None => {
                for o in on_call(store, Some(&svc.team), None, now).await? {
                    on_call_lines.push(on_call_line(&o));
                }
            }
        }
    } else {
        for o in on_call(store, None, None, now).await? {
            on_call_lines.push(on_call_line(&o));
        }
    }
    let open = store
        .search_incidents(&IncidentFilter {
            lifecycle: vec![Lifecycle::Triggered, Lifecycle::Acknowledged],
            services: service.iter().cloned().collect(),
            limit: STATUS_LIMIT,
            ..IncidentFilter::default()
        })
        .await?;
    let scope = service
        .as_ref()
        .map_or_else(|| "all services".to_owned(), |s| s.to_string());
    let mut text = match open.len() {
        0 => format!("Status of {scope}: no open incidents"),
        n if n as u32 >= STATUS_LIMIT => {
            format!("Status of {scope}: {n} newest open incidents")
        }
        1 => format!("Status of {scope}: 1 open incident"),
        n => format!("Status of {scope}: {n} open incidents"),
    };
    for i in &open {
        text.push_str(&format!(
            "\n  #{} {} · {} · {} · {}",
            i.number,
            i.severity.label(),
            lifecycle_word(Lifecycle::of(i.status, i.closed_at)),
            i.service,
            i.title
        ));
    }
    text.push_str("\nOn call:");
    if on_call_lines.is_empty() {
        text.push_str(" no schedule");
    } else {
        for l in on_call_lines {
            text.push('\n');
            text.push_str(&l);
        }
    }
    Ok(Answer::private(text))
}

/// `oncall [team]`: who is on call now in each schedule (of the team, or all).
async fn oncall(store: &dyn Store, team: Option<Name>, now: Timestamp) -> Result<Answer, Refusal> {
    if let Some(t) = &team
        && store.get_object(Kind::Team, t).await?.is_none()
    {
        return Err(Refusal(format!("oncall: no team named {t}")));
    }
    let all = on_call(store, team.as_ref(), None, now).await?;
    let scope = team
        .as_ref()
        .map_or_else(|| "every team".to_owned(), |t| format!("team {t}"));
    if all.is_empty() {
        return Ok(Answer::private(format!(
            "On call for {scope}: no schedules"
        )));
    }
    let mut text = format!("On call now for {scope}:");
    for o in &all {
        text.push('\n');
        text.push_str(&on_call_line(o));
    }
    Ok(Answer::private(text))
}

/// The name prefix of windows started from chat for a service.
fn window_prefix(service: &Name) -> String {
    format!("chat-{service}-")
}

async fn maintenance_start(
    store: &dyn Store,
    who: &Principal,
    via: Interface,
    service: Name,
    duration: Option<SignedDuration>,
    reason: Option<String>,
    now: Timestamp,
) -> Result<Answer, Refusal> {
    let d = duration.unwrap_or(DEFAULT_MAINTENANCE);
    let minutes = d.as_mins().max(1);
    let name = format!("{}{}", window_prefix(&service), now.as_second());
    let actor = audit::Actor::new(who.label.clone(), audit_interface(via));
    let ends = now + SignedDuration::from_mins(minutes);
    noise::create_window(
        store,
        who,
        &actor,
        NewWindow {
            name: Some(name.clone()),
            services: vec![service.to_string()],
            starts_at: Some(now.to_string()),
            duration: format!("{minutes}m"),
            time_zone: None,
            repeat: Default::default(),
            until: None,
            reason: reason.clone(),
        },
        now,
    )
    .await?;
    let mut text = format!(
        "Maintenance started on {service} by {} until {ends} (window {name})\nIts alerts are recorded; nobody is paged.",
        who.label
    );
    if let Some(r) = reason {
        text.push_str(&format!("\nreason: {r}"));
    }
    Ok(Answer::public(text))
}

/// `maintenance stop`: ends (deletes) the newest active window started from
/// chat for the service (`chat-<service>-<unix seconds>`); failing that, the
/// newest active run-time window naming the service. Windows from the
/// catalog are left to their manifests.
async fn maintenance_stop(
    store: &dyn Store,
    who: &Principal,
    via: Interface,
    service: Name,
    now: Timestamp,
) -> Result<Answer, Refusal> {
    let prefix = window_prefix(&service);
    let mut candidates: Vec<(bool, String, Name)> = Vec::new();
    for c in store.list_objects(Some(Kind::MaintenanceWindow)).await? {
        if c.managed || !noise::window_active(&c.spec, now) {
            continue;
        }
        let Ok(Object::MaintenanceWindow(w)) = Object::from_spec(Kind::MaintenanceWindow, c.spec)
        else {
            continue;
        };
        if !w.services.contains(&service) {
            continue;
        }
        let from_chat = c.name.as_str().starts_with(&prefix);
        candidates.push((from_chat, w.starts_at.clone(), c.name));
    }
    // Chat's own first, then the latest start.
    candidates.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let Some((_, _, name)) = candidates.pop() else {
        return Err(Refusal(format!(
            "maintenance stop: {service} has no maintenance window started at run time that is active now"
        )));
    };
    let actor = audit::Actor::new(who.label.clone(), audit_interface(via));
    noise::delete_window(store, who, &actor, &name, now).await?;
    Ok(Answer::public(format!(
        "Maintenance ended on {service} by {} (window {name})\nIts alerts page again.",
        who.label
    )))
}
