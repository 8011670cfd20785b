//! Noise control: `/silences` and `/maintenance`. Lists of the silences and
//! maintenance windows in the catalog (from manifests or made at run
//! time), forms to make new ones, a preview of what a silence would match
//! among the open alerts, and buttons to expire a silence or delete a
//! window.
//!
//! The rules (what is valid, who may, config-managed objects) are
//! `tocsin_core::noise`'s, shared with the API; this module only turns
//! forms into its requests and its answers into pages: every problem next
//! to its field, a refusal with its reason. After a change the integration
//! index reloads, so ingestion mutes (or stops muting) at once.
//!
//! Times are shown in the viewer's time zone (their user's, else UTC);
//! a `datetime-local` end of a silence is read in that zone too. A window's
//! start is civil time in the window's own zone, as in manifests.

use super::common::{ObjLink, path_name};
use super::session::urlencode;
use super::{Nav, SignedIn, UiError};
use crate::server::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use jiff::Timestamp;
use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use serde::Deserialize;
use std::collections::BTreeMap;
use tocsin_core::directory::Directory;
use tocsin_core::noise::{self, NewSilence, NewWindow, NoiseError};
use tocsin_domain::Name;
use tocsin_domain::access::Action;
use tocsin_domain::catalog::{Kind, MaintenanceWindow, Object, Repeat, Silence};
use tocsin_domain::noise::{MatchOp, SERVICE_LABEL, SilenceRule, WindowRule};
use tocsin_domain::plan::Current;
use tocsin_store::AlertRecord;

/// How many ended silences the page lists (the most recent).
const ENDED_SHOWN: usize = 50;

/// What the duration boxes hold on a new form.
const DEFAULT_DURATION: &str = "2h";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/silences", get(silences).post(create_silence))
        .route("/silences/preview", post(preview_silence))
        .route("/silences/{name}/expire", post(expire_silence))
        .route("/maintenance", get(maintenance).post(create_window))
        .route("/maintenance/{name}/delete", post(delete_window))
}

// ---------------------------------------------------------------- times

/// A zone by name, or UTC when the name is unknown.
fn zone(name: &str) -> (String, TimeZone) {
    match TimeZone::get(name) {
        Ok(tz) => (name.to_owned(), tz),
        Err(_) => ("UTC".to_owned(), TimeZone::UTC),
    }
}

/// The viewer's time zone: their user's, else UTC.
async fn viewer_zone(state: &AppState, me: &SignedIn) -> Result<(String, TimeZone), UiError> {
    let stored = state.store.get_object(Kind::User, &me.session.user).await?;
    let name = stored
        .and_then(|c| match Object::from_spec(Kind::User, c.spec) {
            Ok(Object::User(u)) => Some(u.time_zone),
            _ => None,
        })
        .unwrap_or_else(|| "UTC".to_owned());
    Ok(zone(&name))
}

/// An instant as the viewer reads it: to the minute, with the zone's
/// abbreviation.
fn local(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// An instant as a `datetime-local` value in `tz`.
fn local_input(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%Y-%m-%dT%H:%M")
        .to_string()
}

/// A `datetime-local` value (civil time in `tz`) as RFC 3339; anything
/// else is passed on as typed, for the use case to judge.
fn instant_from_input(value: &str, tz: &TimeZone) -> String {
    if value.parse::<Timestamp>().is_ok() {
        return value.to_owned();
    }
    match value
        .parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|dt| tz.to_timestamp(dt).ok())
    {
        Some(t) => t.to_string(),
        None => value.to_owned(),
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// Makes ingestion see the change now rather than at its next reload.
async fn refresh(state: &AppState) {
    if let Err(e) = state.integrations.reload(state.clock.now()).await {
        tracing::warn!(error = %e, "reload after a silence/maintenance change failed; the periodic reload will pick it up");
    }
}

// ------------------------------------------------------------- problems

/// A form's problems: each under the form field it is about; the others
/// (and refusals) above the form.
#[derive(Debug, Default)]
struct Problems {
    fields: BTreeMap<&'static str, Vec<String>>,
    top: Vec<String>,
}

impl Problems {
    fn at(&mut self, field: Option<&'static str>, message: String) {
        match field {
            Some(f) => self.fields.entry(f).or_default().push(message),
            None => self.top.push(message),
        }
    }

    /// The messages of one field, joined.
    fn of(&self, field: &str) -> Option<String> {
        self.fields.get(field).map(|m| m.join("; "))
    }

    /// The messages of one field, one by one.
    fn list(&self, field: &str) -> Vec<String> {
        self.fields.get(field).cloned().unwrap_or_default()
    }

    fn has(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }

    fn count(&self) -> usize {
        self.top.len() + self.fields.values().map(Vec::len).sum::<usize>()
    }

    fn is_empty(&self) -> bool {
        self.count() == 0
    }
}

/// The status and problems of a refused create, each problem placed by
/// `place` (field path → form field, or `None` for above the form).
fn refused(
    e: NoiseError,
    place: impl Fn(&str) -> Option<&'static str>,
    text: impl Fn(&str, &str) -> String,
) -> Result<(StatusCode, Problems), UiError> {
    let mut p = Problems::default();
    let status = match e {
        NoiseError::Invalid(list) => {
            for (path, message) in list {
                match place(&path) {
                    Some(field) => p.at(Some(field), text(&path, &message)),
                    None => p.at(None, format!("{path}: {message}")),
                }
            }
            StatusCode::UNPROCESSABLE_ENTITY
        }
        NoiseError::Denied(why) => {
            p.at(None, format!("not allowed: {why}"));
            StatusCode::FORBIDDEN
        }
        // On create, the name is taken.
        NoiseError::Conflict(why) => {
            p.at(Some("name"), why);
            StatusCode::CONFLICT
        }
        NoiseError::NotFound(why) => {
            p.at(None, why);
            StatusCode::NOT_FOUND
        }
        NoiseError::Store(e) => return Err(e.into()),
    };
    Ok((status, p))
}

/// A refusal of an action on a listed object (expire, delete), shown as
/// the notice above the list.
fn action_refused(e: NoiseError) -> Result<(StatusCode, String), UiError> {
    Ok(match e {
        NoiseError::Denied(why) => (StatusCode::FORBIDDEN, format!("Not allowed: {why}.")),
        NoiseError::Conflict(why) => (StatusCode::CONFLICT, format!("Not changed: {why}.")),
        NoiseError::NotFound(why) => (StatusCode::NOT_FOUND, format!("Not changed: {why}.")),
        NoiseError::Invalid(list) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "Not changed: {}.",
                list.into_iter()
                    .map(|(f, m)| format!("{f}: {m}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
        NoiseError::Store(e) => return Err(e.into()),
    })
}

/// `?done=...&name=...` after a POST-redirect-GET: a fixed code, and a
/// name that is only shown when it names a listed object, so a crafted
/// link cannot put words in the page.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
    #[serde(default)]
    name: String,
}

impl Done {
    fn flash(&self, nav: Nav, what: &str, known: impl Fn(&str) -> bool) -> Nav {
        let named = if known(&self.name) {
            format!("{what} {}", self.name)
        } else {
            what.to_owned()
        };
        let text = match self.done.as_str() {
            "created" if what == "Silence" => format!(
                "{named} created: the alerts it matches are recorded but page nobody until it ends."
            ),
            "created" => format!(
                "{named} created: its services' alerts are recorded but page nobody while it is on."
            ),
            "expired" => format!("{named} expired: the alerts it matched page again."),
            "deleted" => format!("{what} deleted."),
            _ => return nav,
        };
        nav.with_flash("ok", text)
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

// ------------------------------------------------------------- silences

#[derive(Debug)]
struct SilenceRow {
    name: String,
    matchers: Vec<String>,
    /// When it starts (or started); empty when it is from its creation.
    starts: String,
    ends: String,
    /// `active`, `pending` (starts later), `ended`, or `invalid`.
    state: &'static str,
    comment: String,
    created_by: String,
    managed: bool,
    source: String,
    /// Not managed by config and not over: may be ended from here (the
    /// use case decides whether this person may).
    expirable: bool,
}

/// The new-silence form, as typed.
#[derive(Debug, Deserialize)]
pub struct SilenceForm {
    #[serde(default)]
    csrf: String,
    /// One matcher per line.
    #[serde(default)]
    matchers: String,
    #[serde(default)]
    duration: String,
    /// `datetime-local`, in the viewer's zone.
    #[serde(default)]
    ends_at: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    name: String,
}

impl Default for SilenceForm {
    fn default() -> Self {
        SilenceForm {
            csrf: String::new(),
            matchers: String::new(),
            duration: DEFAULT_DURATION.into(),
            ends_at: String::new(),
            comment: String::new(),
            name: String::new(),
        }
    }
}

impl SilenceForm {
    /// The non-empty lines: (line number from 1, matcher).
    fn lines(&self) -> Vec<(usize, String)> {
        self.matchers
            .lines()
            .enumerate()
            .filter_map(|(i, l)| non_empty(l).map(|m| (i + 1, m)))
            .collect()
    }

    /// The use case's request. An end, when given, wins over the duration.
    fn request(&self, lines: &[(usize, String)], tz: &TimeZone) -> NewSilence {
        let ends_at = non_empty(&self.ends_at).map(|e| instant_from_input(&e, tz));
        NewSilence {
            name: non_empty(&self.name),
            matchers: lines.iter().map(|(_, m)| m.clone()).collect(),
            starts_at: None,
            duration: if ends_at.is_some() {
                None
            } else {
                non_empty(&self.duration)
            },
            ends_at,
            comment: non_empty(&self.comment),
        }
    }
}

/// Where a silence problem goes in the form.
fn silence_field(path: &str) -> Option<&'static str> {
    match path {
        "name" => Some("name"),
        "duration" => Some("duration"),
        "ends_at" => Some("ends_at"),
        "comment" => Some("comment"),
        p if p == "matchers" || p.starts_with("matchers[") => Some("matchers"),
        _ => None,
    }
}

/// A silence problem in the form's words: `matchers[1]` is the line it
/// was typed on.
fn silence_text(lines: &[(usize, String)], path: &str, message: &str) -> String {
    let index = path
        .strip_prefix("matchers[")
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|i| i.parse::<usize>().ok());
    match index.and_then(|i| lines.get(i)) {
        Some((line, m)) => format!("line {line} ({m}): {message}"),
        None => message.to_owned(),
    }
}

/// One open alert a preview matches.
#[derive(Debug)]
struct AlertRow {
    service: ObjLink,
    dedup_key: String,
    summary: String,
    severity: String,
    status: &'static str,
    labels: Vec<String>,
    last_seen: String,
    muted_by: String,
}

impl AlertRow {
    fn new(a: AlertRecord, tz: &TimeZone) -> AlertRow {
        AlertRow {
            service: ObjLink::service(&a.service),
            dedup_key: a.dedup_key,
            summary: a.summary,
            severity: a.severity.to_string(),
            status: a.status.as_str(),
            labels: a.labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            last_seen: local(a.last_seen, tz),
            muted_by: a.muted.map(|m| m.as_stored()).unwrap_or_default(),
        }
    }
}

#[derive(Debug)]
struct PreviewView {
    checked: usize,
    limit: u32,
    /// Only the newest `limit` open alerts were looked at.
    truncated: bool,
    rows: Vec<AlertRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "silences.html")]
struct SilencesPage {
    nav: Nav,
    zone: String,
    active: Vec<SilenceRow>,
    /// Not started yet, then ended (most recent first).
    others: Vec<SilenceRow>,
    /// Ended silences not listed.
    hidden_ended: usize,
    form: SilenceForm,
    problems: Problems,
    preview: Option<PreviewView>,
}

/// The page as the store has it now, with an empty form.
async fn silences_page(
    state: &AppState,
    me: &SignedIn,
    nav: Nav,
) -> Result<(SilencesPage, TimeZone), UiError> {
    let (zone_name, tz) = viewer_zone(state, me).await?;
    let now = state.clock.now();
    let mut active = Vec::new();
    let mut pending = Vec::new();
    let mut ended = Vec::new();
    for c in state.store.list_objects(Some(Kind::Silence)).await? {
        let on = noise::silence_active(&c.spec, now);
        let Ok(Object::Silence(s)) = Object::from_spec(Kind::Silence, c.spec.clone()) else {
            continue;
        };
        let row = silence_row(&c, &s, on, now, &tz);
        let ends = s.ends_at.parse::<Timestamp>().ok();
        match row.state {
            "active" => active.push((ends, row)),
            "pending" => {
                let starts = s
                    .starts_at
                    .as_deref()
                    .and_then(|t| t.parse::<Timestamp>().ok());
                pending.push((starts, row));
            }
            _ => ended.push((ends, row)),
        }
    }
    // Ending soonest first; starting soonest first; ended most recently first.
    active.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
    pending.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
    ended.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    let hidden_ended = ended.len().saturating_sub(ENDED_SHOWN);
    let others = pending
        .into_iter()
        .chain(ended.into_iter().take(ENDED_SHOWN))
        .map(|(_, r)| r)
        .collect();
    let page = SilencesPage {
        nav,
        zone: zone_name,
        active: active.into_iter().map(|(_, r)| r).collect(),
        others,
        hidden_ended,
        form: SilenceForm::default(),
        problems: Problems::default(),
        preview: None,
    };
    Ok((page, tz))
}

fn silence_row(c: &Current, s: &Silence, on: bool, now: Timestamp, tz: &TimeZone) -> SilenceRow {
    let starts = s
        .starts_at
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok());
    let ends = s.ends_at.parse::<Timestamp>().ok();
    let valid = SilenceRule::compile(s).is_ok();
    let state = if on {
        "active"
    } else if !valid {
        "invalid"
    } else if ends.is_some_and(|e| e <= now) {
        "ended"
    } else if starts.is_some_and(|st| st > now) {
        "pending"
    } else {
        "invalid"
    };
    SilenceRow {
        name: s.name.to_string(),
        matchers: s.matchers.clone(),
        starts: starts.map(|t| local(t, tz)).unwrap_or_default(),
        ends: ends
            .map(|t| local(t, tz))
            .unwrap_or_else(|| s.ends_at.clone()),
        state,
        comment: s.comment.clone().unwrap_or_default(),
        created_by: s.created_by.clone().unwrap_or_default(),
        managed: c.managed,
        source: c.source.clone().unwrap_or_default(),
        expirable: !c.managed && matches!(state, "active" | "pending"),
    }
}

async fn silences(
    State(state): State<AppState>,
    me: SignedIn,
    Query(done): Query<Done>,
) -> Result<SilencesPage, UiError> {
    let nav = me.nav("noise");
    me.authorize(&Action::Read, &nav)?;
    let (mut page, _) = silences_page(&state, &me, nav).await?;
    let known =
        |n: &str| page.active.iter().chain(&page.others).any(|r| r.name == n) && !n.is_empty();
    page.nav = done.flash(page.nav.clone(), "Silence", known);
    Ok(page)
}

async fn preview_silence(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<SilenceForm>,
) -> Result<Response, UiError> {
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("noise");
    me.authorize(&Action::Read, &nav)?;
    let lines = form.lines();
    let matchers: Vec<String> = lines.iter().map(|(_, m)| m.clone()).collect();
    let (mut page, tz) = silences_page(&state, &me, nav).await?;
    let status = match noise::preview(state.store.as_ref(), &matchers).await {
        Ok(p) => {
            page.preview = Some(PreviewView {
                checked: p.checked,
                limit: noise::PREVIEW_LIMIT,
                truncated: u32::try_from(p.checked).is_ok_and(|c| c >= noise::PREVIEW_LIMIT),
                rows: p
                    .matching
                    .into_iter()
                    .map(|a| AlertRow::new(a, &tz))
                    .collect(),
            });
            StatusCode::OK
        }
        Err(e) => {
            let (status, problems) = refused(e, silence_field, |path, message| {
                silence_text(&lines, path, message)
            })?;
            page.problems = problems;
            status
        }
    };
    page.form = form;
    Ok((status, page).into_response())
}

async fn create_silence(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<SilenceForm>,
) -> Result<Response, UiError> {
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("noise");
    me.authorize(&Action::Read, &nav)?;
    let (_, tz) = viewer_zone(&state, &me).await?;
    let lines = form.lines();
    let made = noise::create_silence(
        state.store.as_ref(),
        &me.principal,
        &me.actor(),
        form.request(&lines, &tz),
        state.clock.now(),
    )
    .await;
    let e = match made {
        Ok(view) => {
            refresh(&state).await;
            let to = format!("/silences?done=created&name={}", urlencode(&view.name));
            return Ok(Redirect::to(&to).into_response());
        }
        Err(e) => e,
    };
    let (status, problems) = refused(e, silence_field, |path, message| {
        silence_text(&lines, path, message)
    })?;
    let (mut page, _) = silences_page(&state, &me, nav).await?;
    page.form = form;
    page.problems = problems;
    Ok((status, page).into_response())
}

async fn expire_silence(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, UiError> {
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("noise");
    let name = path_name(&raw, "silence", &nav)?;
    let ended = noise::expire_silence(
        state.store.as_ref(),
        &me.principal,
        &me.actor(),
        &name,
        state.clock.now(),
    )
    .await;
    let e = match ended {
        Ok(_) => {
            refresh(&state).await;
            let to = format!("/silences?done=expired&name={}", urlencode(name.as_str()));
            return Ok(Redirect::to(&to).into_response());
        }
        Err(e) => e,
    };
    let (status, why) = action_refused(e)?;
    let (page, _) = silences_page(&state, &me, nav.with_flash("error", why)).await?;
    Ok((status, page).into_response())
}

// ---------------------------------------------------------- maintenance

#[derive(Debug)]
struct WindowRow {
    name: String,
    services: Vec<ObjLink>,
    /// The recurrence in words, with the window's zone.
    schedule: String,
    duration: String,
    /// The end of the occurrence on now.
    on_until: Option<String>,
    /// The next occurrence to start, `start – end`.
    next: Option<String>,
    /// Why it can never be on (a stored window that does not compile).
    invalid: Option<String>,
    reason: String,
    created_by: String,
    managed: bool,
    source: String,
}

/// The new-window form, as typed. Posted as pairs: the services select
/// sends one `services` per chosen service.
#[derive(Debug, Default)]
struct WindowForm {
    csrf: String,
    name: String,
    services: Vec<String>,
    starts_at: String,
    duration: String,
    time_zone: String,
    repeat: String,
    until: String,
    reason: String,
}

impl WindowForm {
    fn parse(pairs: Vec<(String, String)>) -> WindowForm {
        let mut f = WindowForm::default();
        for (key, value) in pairs {
            match key.as_str() {
                "csrf" => f.csrf = value,
                "name" => f.name = value,
                // A select sends one each; typed, they may be comma-separated.
                "services" => f.services.extend(value.split(',').filter_map(non_empty)),
                "starts_at" => f.starts_at = value,
                "duration" => f.duration = value,
                "time_zone" => f.time_zone = value,
                "repeat" => f.repeat = value,
                "until" => f.until = value,
                "reason" => f.reason = value,
                _ => {}
            }
        }
        f
    }

    fn chosen(&self, service: &str) -> bool {
        self.services.iter().any(|s| s == service)
    }
}

fn parse_repeat(s: &str) -> Option<Repeat> {
    match s.trim() {
        "" | "none" => Some(Repeat::None),
        "daily" => Some(Repeat::Daily),
        "weekly" => Some(Repeat::Weekly),
        "monthly" => Some(Repeat::Monthly),
        _ => None,
    }
}

/// Where a window problem goes in the form.
fn window_field(path: &str) -> Option<&'static str> {
    match path {
        "name" => Some("name"),
        "starts_at" => Some("starts_at"),
        "duration" => Some("duration"),
        "time_zone" => Some("time_zone"),
        "repeat" => Some("repeat"),
        "until" => Some("until"),
        "reason" => Some("reason"),
        p if p == "services" || p.starts_with("services[") => Some("services"),
        _ => None,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "maintenance.html")]
struct MaintenancePage {
    nav: Nav,
    zone: String,
    rows: Vec<WindowRow>,
    /// Declared services, for the form.
    services: Vec<String>,
    repeats: [(&'static str, &'static str); 4],
    form: WindowForm,
    problems: Problems,
}

async fn maintenance_page(
    state: &AppState,
    me: &SignedIn,
    nav: Nav,
) -> Result<MaintenancePage, UiError> {
    let (zone_name, tz) = viewer_zone(state, me).await?;
    let now = state.clock.now();
    let mut rows = Vec::new();
    for c in state
        .store
        .list_objects(Some(Kind::MaintenanceWindow))
        .await?
    {
        let Ok(Object::MaintenanceWindow(w)) =
            Object::from_spec(Kind::MaintenanceWindow, c.spec.clone())
        else {
            continue;
        };
        rows.push(window_row(&c, &w, now, &tz));
    }
    // On now first, then by the next start, the finished last.
    rows.sort_by_key(|(key, r)| (key.0, key.1, r.name.clone()));
    let services = state
        .store
        .list_objects(Some(Kind::Service))
        .await?
        .into_iter()
        .map(|c| c.name.to_string())
        .collect();
    Ok(MaintenancePage {
        form: WindowForm {
            starts_at: local_input(now, &tz),
            duration: DEFAULT_DURATION.into(),
            time_zone: zone_name.clone(),
            repeat: "none".into(),
            ..WindowForm::default()
        },
        nav,
        zone: zone_name,
        rows: rows.into_iter().map(|(_, r)| r).collect(),
        services,
        repeats: [
            ("none", "once"),
            ("daily", "daily"),
            ("weekly", "weekly"),
            ("monthly", "monthly"),
        ],
        problems: Problems::default(),
    })
}

/// The row, and its sort key: (not on now, next start).
fn window_row(
    c: &Current,
    w: &MaintenanceWindow,
    now: Timestamp,
    tz: &TimeZone,
) -> ((bool, Timestamp), WindowRow) {
    let mut row = WindowRow {
        name: w.name.to_string(),
        services: w.services.iter().map(ObjLink::service).collect(),
        schedule: String::new(),
        duration: w.duration.clone(),
        on_until: None,
        next: None,
        invalid: None,
        reason: w.reason.clone().unwrap_or_default(),
        created_by: w.created_by.clone().unwrap_or_default(),
        managed: c.managed,
        source: c.source.clone().unwrap_or_default(),
    };
    let rule = match WindowRule::compile(w) {
        Ok(r) => r,
        Err(e) => {
            row.schedule = format!("starting {}", w.starts_at);
            row.invalid = Some(e);
            return ((true, Timestamp::MAX), row);
        }
    };
    row.schedule = schedule_words(w, &rule);
    let on = noise::window_active(&c.spec, now);
    if on {
        row.on_until = rule.occurrence_at(now).map(|(_, end)| local(end, tz));
    }
    let next = rule.next_after(now);
    row.next = next.map(|(s, e)| format!("{} – {}", local(s, tz), local(e, tz)));
    ((!on, next.map_or(Timestamp::MAX, |n| n.0)), row)
}

/// "weekly on Sundays at 03:00 (Europe/Berlin), from 2030-01-06, until …".
fn schedule_words(w: &MaintenanceWindow, rule: &WindowRule) -> String {
    let zone = w.time_zone.as_deref().unwrap_or("UTC");
    let first = rule.first.to_zoned(rule.time_zone.clone());
    let at = first.strftime("%H:%M");
    let day = first.strftime("%Y-%m-%d");
    let mut words = match w.repeat {
        Repeat::None => format!("once, {day} {at} ({zone})"),
        Repeat::Daily => format!("daily at {at} ({zone}), from {day}"),
        Repeat::Weekly => format!(
            "weekly on {}s at {at} ({zone}), from {day}",
            weekday(first.weekday())
        ),
        Repeat::Monthly => format!(
            "monthly on day {} at {at} ({zone}), from {day}",
            first.day()
        ),
    };
    if let Some(u) = &w.until {
        words.push_str(&format!(", until {u}"));
    }
    words
}

fn weekday(d: Weekday) -> &'static str {
    match d {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

async fn maintenance(
    State(state): State<AppState>,
    me: SignedIn,
    Query(done): Query<Done>,
) -> Result<MaintenancePage, UiError> {
    let nav = me.nav("noise");
    me.authorize(&Action::Read, &nav)?;
    let mut page = maintenance_page(&state, &me, nav).await?;
    let known = |n: &str| page.rows.iter().any(|r| r.name == n) && !n.is_empty();
    page.nav = done.flash(page.nav.clone(), "Maintenance window", known);
    Ok(page)
}

async fn create_window(
    State(state): State<AppState>,
    me: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let form = WindowForm::parse(pairs);
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("noise");
    me.authorize(&Action::Read, &nav)?;
    let problems = match parse_repeat(&form.repeat) {
        None => {
            let mut p = Problems::default();
            p.at(
                Some("repeat"),
                format!(
                    "{:?} is not one of once, daily, weekly, monthly",
                    form.repeat
                ),
            );
            (StatusCode::UNPROCESSABLE_ENTITY, p)
        }
        Some(repeat) => {
            let req = NewWindow {
                name: non_empty(&form.name),
                services: form.services.clone(),
                starts_at: non_empty(&form.starts_at),
                duration: form.duration.trim().to_owned(),
                time_zone: non_empty(&form.time_zone),
                repeat,
                until: non_empty(&form.until),
                reason: non_empty(&form.reason),
            };
            let made = noise::create_window(
                state.store.as_ref(),
                &me.principal,
                &me.actor(),
                req,
                state.clock.now(),
            )
            .await;
            match made {
                Ok(view) => {
                    refresh(&state).await;
                    let to = format!("/maintenance?done=created&name={}", urlencode(&view.name));
                    return Ok(Redirect::to(&to).into_response());
                }
                Err(e) => refused(e, window_field, |_, message| message.to_owned())?,
            }
        }
    };
    let (status, problems) = problems;
    let mut page = maintenance_page(&state, &me, nav).await?;
    page.form = form;
    page.problems = problems;
    Ok((status, page).into_response())
}

async fn delete_window(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, UiError> {
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("noise");
    let name = path_name(&raw, "maintenance window", &nav)?;
    let deleted = noise::delete_window(
        state.store.as_ref(),
        &me.principal,
        &me.actor(),
        &name,
        state.clock.now(),
    )
    .await;
    let e = match deleted {
        Ok(()) => {
            refresh(&state).await;
            return Ok(Redirect::to("/maintenance?done=deleted").into_response());
        }
        Err(e) => e,
    };
    let (status, why) = action_refused(e)?;
    let page = maintenance_page(&state, &me, nav.with_flash("error", why)).await?;
    Ok((status, page).into_response())
}

// --------------------------------------------------------- service page

/// A service's maintenance window on now.
#[derive(Debug)]
pub struct InMaintenance {
    pub until: String,
    pub window: String,
}

/// The noise line of a service's page.
#[derive(Debug, Default)]
pub struct ServiceNoise {
    pub maintenance: Option<InMaintenance>,
    /// Silences in force now with a `service="<name>"` matcher.
    pub silences: usize,
}

/// Whether `service` is in a maintenance window now, and how many active
/// silences name it; times in `viewer`'s zone.
pub fn service_noise(
    dir: &Directory,
    service: &Name,
    viewer: &Name,
    now: Timestamp,
) -> ServiceNoise {
    let (_, tz) = zone(
        dir.users
            .get(viewer)
            .map(|u| u.spec.time_zone.as_str())
            .unwrap_or("UTC"),
    );
    let maintenance = dir
        .maintenance_windows
        .values()
        .filter_map(|w| WindowRule::compile(&w.spec).ok())
        .filter(|r| r.covers(service))
        .filter_map(|r| r.occurrence_at(now).map(|(_, end)| (end, r.name)))
        .max_by_key(|(end, _)| *end)
        .map(|(end, name)| InMaintenance {
            until: local(end, &tz),
            window: name.to_string(),
        });
    let silences = dir
        .silences
        .values()
        .filter_map(|s| SilenceRule::compile(&s.spec).ok())
        .filter(|r| r.active_at(now))
        .filter(|r| {
            r.matchers.iter().any(|m| {
                m.label == SERVICE_LABEL && m.op == MatchOp::Equal && m.value == service.as_str()
            })
        })
        .count();
    ServiceNoise {
        maintenance,
        silences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matcher_problems_name_the_line_typed() {
        let form = SilenceForm {
            matchers: "alertname=DiskFull\n\n  env=~\"(\"  \r\n".into(),
            ..SilenceForm::default()
        };
        let lines = form.lines();
        assert_eq!(
            lines,
            vec![(1, "alertname=DiskFull".into()), (3, "env=~\"(\"".into())]
        );
        assert_eq!(
            silence_text(&lines, "matchers[1]", "bad regex"),
            "line 3 (env=~\"(\"): bad regex"
        );
        assert_eq!(silence_text(&lines, "matchers", "none"), "none");
        assert_eq!(silence_field("matchers[7]"), Some("matchers"));
        assert_eq!(silence_field("starts_at"), None);
        assert_eq!(window_field("services[0]"), Some("services"));
    }

    #[test]
    fn an_end_wins_over_the_duration_and_is_read_in_the_viewers_zone() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let form = SilenceForm {
            matchers: "alertname=X".into(),
            ends_at: "2026-03-02T13:30".into(),
            ..SilenceForm::default()
        };
        let req = form.request(&form.lines(), &tz);
        assert_eq!(req.ends_at.as_deref(), Some("2026-03-02T12:30:00Z"));
        assert_eq!(req.duration, None);
        let form = SilenceForm {
            matchers: "alertname=X".into(),
            ..SilenceForm::default()
        };
        let req = form.request(&form.lines(), &tz);
        assert_eq!(req.ends_at, None);
        assert_eq!(req.duration.as_deref(), Some("2h"));
    }

    #[test]
    fn services_come_from_a_select_or_a_list() {
        let f = WindowForm::parse(vec![
            ("services".into(), "checkout".into()),
            ("services".into(), "ledger, postgres".into()),
            ("repeat".into(), "weekly".into()),
        ]);
        assert_eq!(f.services, ["checkout", "ledger", "postgres"]);
        assert_eq!(parse_repeat(&f.repeat), Some(Repeat::Weekly));
        assert_eq!(parse_repeat("hourly"), None);
    }
}
