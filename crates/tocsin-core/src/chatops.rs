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
use crate::runbook::{
    self as runbooks_core, CONFIRM_VALIDITY, Confirmation, PrepareError, Prepared, RunSigner,
    Runbooks,
};
use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;
use tocsin_domain::Name;
use tocsin_domain::Severity;
use tocsin_domain::access::{Action, Principal};
use tocsin_domain::alerting::Policy;
use tocsin_domain::audit::Interface as AuditInterface;
use tocsin_domain::catalog::{Kind, Object, Target};
use tocsin_domain::chatops::{self, Command, PageTarget};
use tocsin_domain::heartbeat::Status as HeartbeatStatus;
use tocsin_domain::ingest::{Event, EventAction};
use tocsin_domain::response::{Audience, Interface, Lifecycle, UpdateState};
use tocsin_domain::runbook;
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
    /// A confirmation token, when the command asks to be confirmed before
    /// it does anything (`run`): pass it to [`confirm`] (a front end shows
    /// a Confirm button, or asks "Run it?"). Private to the caller; it
    /// expires after [`crate::runbook::CONFIRM_VALIDITY`].
    pub confirm: Option<String>,
}

impl Answer {
    fn public(text: impl Into<String>) -> Answer {
        Answer {
            text: text.into(),
            ok: true,
            public: true,
            confirm: None,
        }
    }

    fn private(text: impl Into<String>) -> Answer {
        Answer {
            text: text.into(),
            ok: true,
            public: false,
            confirm: None,
        }
    }

    /// A refusal: not done, for the caller only.
    pub fn refused(text: impl Into<String>) -> Answer {
        Answer {
            text: text.into(),
            ok: false,
            public: false,
            confirm: None,
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

/// Runs one command line for `who`, arriving through `via`. `runbooks`
/// says what `run` may start on this hub; `run` itself only answers with
/// a confirmation prompt and token ([`Answer::confirm`]), and [`confirm`]
/// runs it.
pub async fn execute(
    store: &dyn Store,
    runbooks: &Runbooks,
    who: &Principal,
    via: Interface,
    text: &str,
    now: Timestamp,
) -> Answer {
    let command = match chatops::parse(text) {
        Ok(c) => c,
        Err(e) => return Answer::refused(e.to_string()),
    };
    match run(store, runbooks, who, via, command, now).await {
        Ok(a) => a,
        Err(Refusal(r)) => Answer::refused(r),
    }
}

/// Confirms a command that asked for it ([`Answer::confirm`] of `run`):
/// checks the token (made by this hub, not expired, for `who`), then runs
/// what it showed, once — a token confirmed again (a double click, a
/// retried request) answers that it already ran.
pub async fn confirm(
    store: &dyn Store,
    runbooks: &Runbooks,
    who: &Principal,
    via: Interface,
    token: &str,
    now: Timestamp,
) -> Answer {
    match confirm_run(store, runbooks, who, via, token, now).await {
        Ok(a) => a,
        Err(Refusal(r)) => Answer::refused(r),
    }
}

async fn run(
    store: &dyn Store,
    runbooks: &Runbooks,
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
        c @ Command::Run { .. } => ask_to_run(store, runbooks, who, &c, now).await,
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
    let beats = crate::heartbeat::statuses(store, service.as_ref(), now).await?;
    if !beats.is_empty() {
        let attention: Vec<_> = beats
            .iter()
            .filter(|(_, _, s)| matches!(s, HeartbeatStatus::Late | HeartbeatStatus::Down))
            .collect();
        if attention.is_empty() {
            text.push_str(&format!(
                "\nHeartbeats: {} declared, none late or down",
                beats.len()
            ));
        } else {
            text.push_str(&format!(
                "\nHeartbeats: {} of {} late or down",
                attention.len(),
                beats.len()
            ));
            for (name, svc, status) in attention {
                text.push_str(&format!("\n  {name} ({svc}): {status}"));
            }
        }
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

impl From<PrepareError> for Refusal {
    fn from(e: PrepareError) -> Self {
        match e {
            PrepareError::Store(s) => store_failed(&s),
            PrepareError::Refused(r) => Refusal(r),
        }
    }
}

/// The parts of a `run` command.
struct RunCommand<'a> {
    action: &'a Name,
    target: Option<&'a Name>,
    incident: Option<i64>,
    params: &'a std::collections::BTreeMap<Name, String>,
}

fn run_parts(c: &Command) -> Option<RunCommand<'_>> {
    match c {
        Command::Run {
            action,
            target,
            incident,
            params,
        } => Some(RunCommand {
            action,
            target: target.as_ref(),
            incident: *incident,
            params,
        }),
        _ => None,
    }
}

/// Checks a `run` command the same way at the prompt and at the
/// confirmation: the incident it names exists, the action, its values,
/// who asks, and what would run.
async fn prepare_run(
    store: &dyn Store,
    runbooks: &Runbooks,
    who: &Principal,
    r: &RunCommand<'_>,
) -> Result<Prepared, Refusal> {
    if let Some(n) = r.incident
        && store.get_incident(n).await?.is_none()
    {
        return Err(Refusal(format!("run {}: no incident #{n}", r.action)));
    }
    runbooks_core::prepare(
        store, runbooks, who, r.action, r.target, r.params, r.incident,
    )
    .await
    .map_err(|e| match e {
        PrepareError::Refused(m) => Refusal(format!("run {}: {m}", r.action)),
        e => e.into(),
    })
}

/// `run`: the prompt saying exactly what will run, with a token to
/// confirm it.
async fn ask_to_run(
    store: &dyn Store,
    runbooks: &Runbooks,
    who: &Principal,
    command: &Command,
    now: Timestamp,
) -> Result<Answer, Refusal> {
    let Some(r) = run_parts(command) else {
        return Err(Refusal("not a run command".into()));
    };
    let p = prepare_run(store, runbooks, who, &r).await?;
    let signer = RunSigner::from_store(store).await?;
    let line = command.to_string();
    let token = signer.token(&Confirmation {
        run: runbooks_core::new_run_id(),
        caller: runbooks_core::confirmer(who),
        line: line.clone(),
        digest: p.digest(),
        expires: now + CONFIRM_VALIDITY,
    });
    let mut text = format!("Confirm: {line}");
    if let Some(d) = &p.action.description {
        text.push_str(&format!("\n{}: {d}", p.action.name));
    }
    let what = match &p.plan {
        runbook::Plan::Command { .. } => "It will run",
        runbook::Plan::Http { .. } => "It will send",
    };
    text.push_str(&format!(
        "\n{what}: {}\nTimeout: {}. Confirm within 5 minutes; only you can.",
        p.plan.describe(),
        words_of(p.timeout)
    ));
    Ok(Answer {
        text,
        ok: true,
        public: false,
        confirm: Some(token),
    })
}

/// `90s` as `1m30s`.
fn words_of(d: SignedDuration) -> String {
    let s = d.as_secs();
    match (s / 60, s % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

/// What an earlier run of this token came to, in words.
fn already_ran(run: &tocsin_store::RunbookRunRecord) -> String {
    match run.outcome {
        Some(o) => format!(
            "{} already ran (confirmed by {} at {}): {}. It is not run again.",
            run.command,
            run.actor,
            run.started_at,
            outcome_words(o)
        ),
        None => format!(
            "{} was already confirmed by {} at {} and has not finished (or tocsin stopped while it ran). It is not run again.",
            run.command, run.actor, run.started_at
        ),
    }
}

fn outcome_words(o: tocsin_store::RunOutcome) -> &'static str {
    match o {
        tocsin_store::RunOutcome::Succeeded => "succeeded",
        tocsin_store::RunOutcome::Failed => "failed",
        tocsin_store::RunOutcome::TimedOut => "timed out",
        tocsin_store::RunOutcome::Error => "could not start",
    }
}

/// The most characters of output an answer shows (the record keeps more).
const ANSWER_OUTPUT_MAX: usize = 1500;

async fn confirm_run(
    store: &dyn Store,
    runbooks: &Runbooks,
    who: &Principal,
    via: Interface,
    token: &str,
    now: Timestamp,
) -> Result<Answer, Refusal> {
    let signer = RunSigner::from_store(store).await?;
    let c = signer.open(token).map_err(|e| Refusal(e.to_string()))?;
    if c.caller != runbooks_core::confirmer(who) {
        return Err(Refusal(
            runbooks_core::ConfirmError::OtherPerson(c.caller).to_string(),
        ));
    }
    if let Some(run) = store.runbook_run(&c.run).await? {
        return Ok(Answer::private(already_ran(&run)));
    }
    if c.expires < now {
        return Err(Refusal(runbooks_core::ConfirmError::Expired.to_string()));
    }
    let command = chatops::parse(&c.line).map_err(|e| Refusal(e.to_string()))?;
    let Some(r) = run_parts(&command) else {
        return Err(Refusal(runbooks_core::ConfirmError::Invalid.to_string()));
    };
    let p = prepare_run(store, runbooks, who, &r).await?;
    if p.digest() != c.digest {
        return Err(Refusal(format!(
            "run {}: the action changed since you asked (its manifest was applied again), so what would run is not what you confirmed. Run the command again to see what it does now.",
            r.action
        )));
    }
    let started = tocsin_store::NewRunbookRun {
        id: c.run.clone(),
        action: r.action.clone(),
        command: c.line.clone(),
        incident: r.incident,
        actor: who.label.clone(),
        via: via.as_str().to_owned(),
        detail: serde_json::json!({ "ran": p.plan.describe() }),
    };
    if !store.start_runbook_run(&started, now).await? {
        // Another confirmation of the same token got there first.
        return Ok(match store.runbook_run(&c.run).await? {
            Some(run) => Answer::private(already_ran(&run)),
            None => Answer::private(format!("{} already ran. It is not run again.", c.line)),
        });
    }
    let result = runbooks.run(&p.plan, p.timeout).await;
    let finished = now + SignedDuration::from_millis(result.duration_ms);
    let mut detail = result.detail();
    if let Some(m) = detail.as_object_mut() {
        m.insert("action".into(), serde_json::json!(r.action));
        m.insert("target".into(), serde_json::json!(r.target));
        m.insert("params".into(), serde_json::json!(p.params));
        m.insert("command".into(), serde_json::json!(c.line));
        m.insert("ran".into(), serde_json::json!(p.plan.describe()));
        m.insert("run".into(), serde_json::json!(c.run));
    }
    let (entries, audit) = match r.incident {
        Some(n) => {
            let by = Actor { who, via };
            let e = by.entry(
                n,
                ENTRY_RUNBOOK_RUN,
                detail.clone(),
                format!("{ENTRY_RUNBOOK_RUN}:{}", c.run),
                finished,
            );
            (vec![e], Vec::new())
        }
        None => {
            let actor = audit::Actor::new(who.label.clone(), audit_interface(via));
            let mut d = detail.clone();
            if let Some(m) = d.as_object_mut() {
                m.insert("via".into(), serde_json::json!(via.as_str()));
            }
            let a = actor.entry(
                ENTRY_RUNBOOK_RUN,
                Some((Kind::RunbookAction.as_str(), r.action.as_str())),
                d,
            );
            (Vec::new(), vec![a])
        }
    };
    store
        .finish_runbook_run(&c.run, result.outcome, &detail, &entries, &audit, finished)
        .await?;
    Ok(run_answer(&r, who, &p, &result))
}

/// The timeline entry kind (and audit action) of a runbook run.
pub const ENTRY_RUNBOOK_RUN: &str = "runbook.run";

fn run_answer(
    r: &RunCommand<'_>,
    who: &Principal,
    p: &Prepared,
    result: &runbooks_core::RunResult,
) -> Answer {
    use tocsin_store::RunOutcome;
    let on = r.target.map_or(String::new(), |t| format!(" on {t}"));
    let at = r.incident.map_or(String::new(), |n| format!(" (#{n})"));
    let secs = result.duration_ms as f64 / 1000.0;
    let how = match (result.outcome, result.exit_status, result.http_status) {
        (RunOutcome::Succeeded, _, Some(s)) => format!("succeeded (HTTP {s}, {secs:.1} s)"),
        (RunOutcome::Succeeded, _, None) => format!("succeeded (exit 0, {secs:.1} s)"),
        (RunOutcome::Failed, _, Some(s)) => format!("failed: HTTP {s} ({secs:.1} s)"),
        (RunOutcome::Failed, Some(code), None) => {
            format!("failed: exit status {code} ({secs:.1} s)")
        }
        (RunOutcome::Failed, None, None) => format!("failed: killed by a signal ({secs:.1} s)"),
        (RunOutcome::TimedOut, _, _) => match &p.plan {
            runbook::Plan::Command { .. } => {
                format!("timed out after {} and was killed", words_of(p.timeout))
            }
            runbook::Plan::Http { .. } => {
                format!(
                    "timed out after {} (no complete answer)",
                    words_of(p.timeout)
                )
            }
        },
        (RunOutcome::Error, _, _) => format!(
            "could not start: {}",
            result.error.as_deref().unwrap_or("unknown error")
        ),
    };
    let mut text = format!(
        "{}{on}{at} {how}, run by {}\n{}",
        r.action,
        who.label,
        p.plan.describe()
    );
    let output = result.output.trim_end();
    if !output.is_empty() {
        let shown: String = output.chars().take(ANSWER_OUTPUT_MAX).collect();
        text.push('\n');
        text.push_str(&shown);
        if shown.len() < output.len() {
            text.push_str("\n… (more in the record)");
        }
    }
    Answer {
        text,
        ok: result.outcome == RunOutcome::Succeeded,
        public: true,
        confirm: None,
    }
}
