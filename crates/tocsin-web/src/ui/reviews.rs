//! Learning from an incident: the post-incident review editor
//! (`/incidents/{number}/review`), its Markdown download, and action items
//! (added and ticked off on the review, listed across incidents at
//! `/action-items`).
//!
//! The editor is a plain form. It carries the version the person started
//! from, so a save over someone else's newer one is refused: the page then
//! shows both texts and keeps everything typed. The blameless-language
//! advice is shown under each section after every save, and while typing
//! when `/static/review.js` runs; it never blocks saving.

use super::common::when;
use super::{Nav, SignedIn, UiError};
use crate::server::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use tocsin_core::response::{Actor, ResponseError};
use tocsin_core::review::{self, ReviewView};
use tocsin_domain::Name;
use tocsin_domain::access::Action;
use tocsin_domain::alerting::IncidentStatus;
use tocsin_domain::response::Interface;
use tocsin_domain::review::blameless::{self, Finding};
use tocsin_domain::review::document::{FACTOR_PROMPTS, SECTIONS, span};
use tocsin_domain::review::{Moment, Review};
use tocsin_store::{ActionItemQuery, ActionItemRecord};

/// Where the editor's script asks for advice while someone types. The
/// API's `/api/v1/reviews/check` answers the same, but only to a bearer
/// token, which a page does not have; this one takes the session.
const CHECK_URL: &str = "/reviews/check";
/// Most action items the list shows at once.
const LIST_LIMIT: u32 = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents/{number}/review", get(editor).post(save))
        .route("/incidents/{number}/review.md", get(download))
        .route("/incidents/{number}/action-items", post(add_item))
        .route(
            "/incidents/{number}/action-items/{id}/done",
            post(toggle_item),
        )
        .route("/action-items", get(list))
        .route(CHECK_URL, post(check))
        .route("/static/review.js", get(script))
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/review.js"),
    )
        .into_response()
}

fn number(raw: &str, nav: &Nav) -> Result<i64, UiError> {
    raw.trim_start_matches('#')
        .parse::<i64>()
        .map_err(|_| UiError::not_found(nav, format!("there is no incident #{raw}")))
}

/// A refusal of the core as a page. Invalid input and conflicts are
/// handled where the form can be shown again; these are the rest.
fn refused(nav: &Nav, e: ResponseError) -> UiError {
    match e {
        ResponseError::NotFound(m) => UiError::not_found(nav, m),
        ResponseError::Denied(m) => UiError::forbidden(nav, m),
        ResponseError::Conflict(m) => UiError {
            status: StatusCode::CONFLICT,
            message: m,
            nav: Box::new(nav.clone()),
        },
        ResponseError::Invalid(f) => UiError::unprocessable(nav, f.to_string()),
        ResponseError::Store(e) => e.into(),
    }
}

fn actor(me: &SignedIn) -> Actor<'_> {
    Actor {
        who: &me.principal,
        via: Interface::Web,
    }
}

fn today(now: Timestamp) -> Date {
    now.to_zoned(TimeZone::UTC).date()
}

// ---------------------------------------------------------------------------
// Key moments as lines of text

/// A key moment as a line of the editor: `2026-03-02T10:05:00Z — text`.
fn moment_line(m: &Moment) -> String {
    format!("{} — {}", m.at, one_line(&m.text))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads the key moments back: one per line, a time (RFC 3339, or
/// `YYYY-MM-DD HH:MM` in UTC as the UI writes times), a dash, the text.
/// Empty lines are skipped; a line may start with a list bullet.
fn parse_moments(text: &str) -> Result<Vec<Moment>, String> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let line = line
            .strip_prefix("- ")
            .or_else(|| line.strip_prefix("* "))
            .unwrap_or(line)
            .trim();
        if line.is_empty() {
            continue;
        }
        let n = i + 1;
        let (at, what) = [" — ", " – ", " -- ", " - "]
            .iter()
            .find_map(|sep| line.split_once(sep))
            .ok_or_else(|| {
                format!(
                    "line {n}: write the time, a dash, then what happened, \
                     e.g. \"2026-03-02T10:05:00Z — restarted the proxy\""
                )
            })?;
        let at = parse_time(at.trim()).ok_or_else(|| {
            format!(
                "line {n}: {:?} is not a time; write 2026-03-02T10:05:00Z or 2026-03-02 10:05 (UTC)",
                at.trim()
            )
        })?;
        let what = what.trim();
        if what.is_empty() {
            return Err(format!("line {n}: say what happened after the dash"));
        }
        out.push(Moment {
            at,
            text: what.to_owned(),
        });
    }
    Ok(out)
}

fn parse_time(s: &str) -> Option<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    let s = s.strip_suffix("UTC").unwrap_or(s).trim();
    let dt = s.parse::<jiff::civil::DateTime>().ok()?;
    dt.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp())
}

// ---------------------------------------------------------------------------
// The editor

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
    /// `1` when the review was done as the editor saw it.
    #[serde(default)]
    done: String,
    /// `save`, `done` (save and mark done) or `undone`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    customer_impact: String,
    #[serde(default)]
    key_moments: String,
    #[serde(default)]
    contributing_factors: String,
    #[serde(default)]
    went_well: String,
    #[serde(default)]
    was_hard: String,
}

impl ReviewForm {
    fn sections(&self) -> Review {
        Review {
            summary: self.summary.clone(),
            customer_impact: self.customer_impact.clone(),
            key_moments: Vec::new(),
            contributing_factors: self.contributing_factors.clone(),
            went_well: self.went_well.clone(),
            was_hard: self.was_hard.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ItemForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    due_on: String,
}

/// What the person typed, shown again when it could not be saved.
#[derive(Debug, Clone)]
struct Typed {
    review: Review,
    moments: String,
    /// The field (a section, or `key_moments`) and what is wrong with it.
    error: Option<(String, String)>,
}

#[derive(Debug)]
struct Advice {
    phrase: String,
    category: &'static str,
    why: &'static str,
    suggestion: &'static str,
}

impl From<&Finding> for Advice {
    fn from(f: &Finding) -> Self {
        Advice {
            phrase: f.phrase.clone(),
            category: f.category.as_str(),
            why: f.why,
            suggestion: f.suggestion,
        }
    }
}

#[derive(Debug)]
struct SectionView {
    field: &'static str,
    heading: &'static str,
    text: String,
    advice: Vec<Advice>,
    error: Option<String>,
}

#[derive(Debug)]
struct FactsView {
    severity: String,
    services: Vec<String>,
    commander: Option<String>,
    opened: String,
    acknowledged: Option<String>,
    resolved: Option<String>,
    time_to_acknowledge: String,
    time_to_resolve: String,
    duration: String,
}

#[derive(Debug)]
struct ItemRow {
    id: i64,
    incident: i64,
    incident_title: String,
    title: String,
    owner: String,
    due_on: String,
    done: bool,
    /// "Overdue by 3 days", "Due today", "Due in 2 days"; empty when done.
    due_note: String,
    overdue: bool,
}

fn item_row(i: &ActionItemRecord, today: Date, incident_title: String) -> ItemRow {
    let done = i.done_at.is_some();
    let days = (i.due_on - today).get_days();
    let due_note = match days {
        _ if done => String::new(),
        0 => "Due today".to_owned(),
        1 => "Due tomorrow".to_owned(),
        -1 => "Overdue by 1 day".to_owned(),
        d if d < 0 => format!("Overdue by {} days", -d),
        d => format!("Due in {d} days"),
    };
    ItemRow {
        id: i.id,
        incident: i.incident,
        incident_title,
        title: i.title.clone(),
        owner: i.owner.to_string(),
        due_on: i.due_on.to_string(),
        done,
        due_note,
        overdue: !done && days < 0,
    }
}

/// The stored review shown beside the person's text after a conflict.
#[derive(Debug)]
struct Theirs {
    by: String,
    at: String,
    sections: Vec<(&'static str, String)>,
    moments: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "review.html")]
struct ReviewPage {
    nav: Nav,
    number: i64,
    title: String,
    /// Why the review cannot be written yet; empty when it can.
    not_yet: String,
    facts: FactsView,
    version: i64,
    done: bool,
    saved_by: Option<String>,
    saved_at: Option<String>,
    advice_summary: String,
    sections: Vec<SectionView>,
    prompts: &'static [&'static str],
    moments: String,
    moments_error: Option<String>,
    theirs: Option<Theirs>,
    items: Vec<ItemRow>,
    users: Vec<String>,
    add: ItemForm,
    add_errors: BTreeMap<String, String>,
    today: String,
    check_url: &'static str,
}

fn facts_view(v: &ReviewView) -> FactsView {
    let f = &v.facts;
    let or_dash = |d: Option<SignedDuration>| d.map_or_else(|| "—".to_owned(), span);
    FactsView {
        severity: f.severity.label().to_owned(),
        services: f.services.clone(),
        commander: f.commander.clone(),
        opened: when(f.opened_at),
        acknowledged: f.acknowledged_at.map(when),
        resolved: f.resolved_at.map(when),
        time_to_acknowledge: or_dash(f.time_to_acknowledge()),
        time_to_resolve: or_dash(f.time_to_resolve()),
        duration: or_dash(f.duration()),
    }
}

fn moments_text(m: &[Moment]) -> String {
    m.iter().map(moment_line).collect::<Vec<_>>().join("\n")
}

/// Builds the editor: the stored review (or the draft), or what the person
/// typed when `typed` is given.
/// What the editor shows besides the stored review: the person's own
/// text when it could not be saved, the stored one beside it after a
/// conflict, the action item form as filled in with its problems.
#[derive(Debug, Default)]
struct Shown {
    typed: Option<Typed>,
    theirs: bool,
    add: ItemForm,
    add_errors: BTreeMap<String, String>,
}

/// The editor again, with `shown`, answered with `status`.
async fn again(
    state: &AppState,
    me: &SignedIn,
    n: i64,
    nav: Nav,
    shown: Shown,
    status: StatusCode,
) -> Result<Response, UiError> {
    let page = editor_page(state, me, n, nav, shown).await?;
    Ok((status, page).into_response())
}

async fn editor_page(
    state: &AppState,
    me: &SignedIn,
    n: i64,
    nav: Nav,
    shown: Shown,
) -> Result<ReviewPage, UiError> {
    let Shown {
        typed,
        theirs: theirs_too,
        add,
        add_errors,
    } = shown;
    let store = state.store.as_ref();
    let incident = store
        .get_incident(n)
        .await?
        .ok_or_else(|| UiError::not_found(&nav, format!("there is no incident #{n}")))?;
    let view = review::load(store, &me.principal, n)
        .await
        .map_err(|e| refused(&nav, e))?;
    let directory = tocsin_core::directory::Directory::load(store).await?;
    let now = state.clock.now();
    let not_yet = if incident.status == IncidentStatus::Resolved {
        String::new()
    } else {
        format!(
            "#{n} is {}: its review is written once it is resolved, so that it tells the whole story. \
             You can read the draft made from the timeline so far, and add action items already.",
            incident.status.as_str()
        )
    };
    let (review, moments, error) = match typed {
        Some(t) => (t.review, t.moments, t.error),
        None => (
            view.review.clone(),
            moments_text(&view.review.key_moments),
            None,
        ),
    };
    let findings: Vec<(&str, Finding)> = review::advise(&review);
    let sections = SECTIONS
        .iter()
        .map(|(field, heading)| SectionView {
            field,
            heading,
            text: review.section(field).to_owned(),
            advice: findings
                .iter()
                .filter(|(f, _)| f == field)
                .map(|(_, a)| Advice::from(a))
                .collect(),
            error: error
                .as_ref()
                .filter(|(f, _)| f == field)
                .map(|(_, m)| m.clone()),
        })
        .collect();
    let all: Vec<Finding> = findings.iter().map(|(_, f)| f.clone()).collect();
    let theirs = theirs_too.then(|| Theirs {
        by: view.updated_by.clone().unwrap_or_default(),
        at: view.updated_at.map(when).unwrap_or_default(),
        sections: SECTIONS
            .iter()
            .map(|(field, heading)| (*heading, view.review.section(field).to_owned()))
            .collect(),
        moments: moments_text(&view.review.key_moments),
    });
    let day = today(now);
    let items = view
        .items
        .iter()
        .map(|i| item_row(i, day, String::new()))
        .collect();
    let mut add = add;
    if add.owner.is_empty() {
        add.owner = me.session.user.to_string();
    }
    Ok(ReviewPage {
        number: n,
        title: incident.title.clone(),
        not_yet,
        facts: facts_view(&view),
        version: view.version,
        done: view.done,
        saved_by: view.updated_by.clone(),
        saved_at: view.updated_at.map(when),
        advice_summary: blameless::summary(&all),
        sections,
        prompts: &FACTOR_PROMPTS,
        moments_error: error
            .as_ref()
            .filter(|(f, _)| f == "key_moments")
            .map(|(_, m)| m.clone()),
        moments,
        theirs,
        items,
        users: directory.users.keys().map(|u| u.to_string()).collect(),
        add,
        add_errors,
        today: day.to_string(),
        check_url: CHECK_URL,
        nav,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct Saved {
    #[serde(default)]
    saved: String,
}

impl Saved {
    fn flash(&self, nav: Nav) -> Nav {
        let text = match self.saved.as_str() {
            "saved" => "Review saved.",
            "done" => "Review saved and marked done.",
            "undone" => "Review saved and marked not done.",
            "item-added" => "Action item added.",
            "item-done" => "Action item marked done.",
            "item-open" => "Action item open again.",
            _ => return nav,
        };
        nav.with_flash("ok", text)
    }
}

async fn editor(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Query(saved): Query<Saved>,
) -> Result<Response, UiError> {
    let nav = saved.flash(me.nav("incidents"));
    let n = number(&raw, &nav)?;
    let page = editor_page(&state, &me, n, nav, Shown::default()).await?;
    Ok(page.into_response())
}

async fn save(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Form<ReviewForm>,
) -> Result<Response, UiError> {
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("incidents");
    let n = number(&raw, &nav)?;
    let expected =
        form.version.trim().parse::<i64>().map_err(|_| {
            UiError::unprocessable(&nav, "the form lost its version; reload the page")
        })?;
    let done = match form.action.as_str() {
        "done" => true,
        "undone" => false,
        _ => form.done == "1",
    };
    let mut typed = Typed {
        review: form.sections(),
        moments: form.key_moments.clone(),
        error: None,
    };
    let shown = |typed: Typed, theirs: bool| Shown {
        typed: Some(typed),
        theirs,
        ..Shown::default()
    };
    match parse_moments(&form.key_moments) {
        Ok(m) => typed.review.key_moments = m,
        Err(why) => {
            let nav = nav.with_flash("error", format!("Not saved: key moments, {why}."));
            typed.error = Some(("key_moments".into(), why));
            let shown = shown(typed, false);
            return again(&state, &me, n, nav, shown, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    }
    let store = state.store.as_ref();
    let now = state.clock.now();
    match review::save(store, actor(&me), n, &typed.review, done, expected, now).await {
        Ok(_) => {
            let code = match form.action.as_str() {
                "done" => "done",
                "undone" => "undone",
                _ => "saved",
            };
            Ok(Redirect::to(&format!("/incidents/{n}/review?saved={code}")).into_response())
        }
        Err(ResponseError::Invalid(f)) => {
            let heading = SECTIONS
                .iter()
                .find(|(field, _)| *field == f.field)
                .map_or(f.field, |(_, h)| *h);
            let nav = nav.with_flash("error", format!("Not saved: {heading} {}.", f.reason));
            typed.error = Some((f.field.to_owned(), f.reason));
            let shown = shown(typed, false);
            again(&state, &me, n, nav, shown, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(ResponseError::Conflict(m)) => {
            // Someone saved meanwhile, or the incident is not resolved:
            // either way nothing typed is lost.
            let stored = store.review(n).await?;
            let theirs = stored.as_ref().map_or(0, |r| r.version) != expected;
            let text = if let Some(r) = stored.filter(|_| theirs) {
                format!(
                    "Not saved: {} saved this review meanwhile (version {}). Your text is kept \
                     below and theirs is shown above it: copy what you want to keep from theirs, \
                     then save to replace it with yours.",
                    r.updated_by, r.version
                )
            } else {
                format!("Not saved: {m}. Your text is kept below.")
            };
            let nav = nav.with_flash("error", text);
            let shown = shown(typed, theirs);
            again(&state, &me, n, nav, shown, StatusCode::CONFLICT).await
        }
        Err(e) => Err(refused(&nav, e)),
    }
}

#[derive(Debug, Deserialize)]
struct CheckBody {
    text: String,
}

/// The blameless-language check of one text for the editor's script:
/// `{"text": "…"}` → `{"findings": […], "summary": "…"}`, the shape of
/// the API's check. The session's CSRF token comes in `X-CSRF-Token`.
async fn check(me: SignedIn, headers: HeaderMap, body: Bytes) -> Response {
    let token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let refuse = |status: StatusCode, why: &str| {
        (status, Json(serde_json::json!({ "detail": why }))).into_response()
    };
    if me.check_csrf(token).is_err() {
        return refuse(
            StatusCode::FORBIDDEN,
            "send the page's CSRF token in X-CSRF-Token",
        );
    }
    let Ok(req) = serde_json::from_slice::<CheckBody>(&body) else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "send {\"text\": \"…\"} as JSON",
        );
    };
    if req.text.chars().count() > review::SECTION_MAX {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "the text is too long");
    }
    let findings = blameless::check(&req.text);
    Json(serde_json::json!({
        "summary": blameless::summary(&findings),
        "findings": findings,
    }))
    .into_response()
}

async fn download(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
) -> Result<Response, UiError> {
    let nav = me.nav("incidents");
    let n = number(&raw, &nav)?;
    let md = review::markdown(state.store.as_ref(), &me.principal, n)
        .await
        .map_err(|e| refused(&nav, e))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/markdown; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"incident-{n}-review.md\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        md,
    )
        .into_response())
}

// ---------------------------------------------------------------------------
// Action items

async fn add_item(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Form<ItemForm>,
) -> Result<Response, UiError> {
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("incidents");
    let n = number(&raw, &nav)?;
    let mut errors = BTreeMap::new();
    let owner = match Name::parse(form.owner.trim()) {
        Ok(o) => Some(o),
        Err(_) => {
            errors.insert(
                "owner".to_owned(),
                "choose the owner from the list".to_owned(),
            );
            None
        }
    };
    let due_on = match form.due_on.trim() {
        "" => {
            errors.insert("due_on".to_owned(), "give a due date".to_owned());
            None
        }
        d => match d.parse::<Date>() {
            Ok(d) => Some(d),
            Err(_) => {
                errors.insert(
                    "due_on".to_owned(),
                    format!("{d:?} is not a date; write it as YYYY-MM-DD"),
                );
                None
            }
        },
    };
    if form.title.trim().is_empty() {
        errors.insert("title".to_owned(), "say what is to be done".to_owned());
    }
    if let (Some(owner), Some(due_on), true) = (owner, due_on, errors.is_empty()) {
        let store = state.store.as_ref();
        let now = state.clock.now();
        match review::add_action_item(store, actor(&me), n, &form.title, &owner, due_on, now).await
        {
            Ok(_) => {
                return Ok(Redirect::to(&format!(
                    "/incidents/{n}/review?saved=item-added#action-items"
                ))
                .into_response());
            }
            Err(ResponseError::Invalid(f)) => {
                errors.insert(f.field.to_owned(), f.reason);
            }
            Err(e) => return Err(refused(&nav, e)),
        }
    }
    let nav = nav.with_flash("error", "Action item not added: see the form below.");
    let shown = Shown {
        add: form,
        add_errors: errors,
        ..Shown::default()
    };
    again(&state, &me, n, nav, shown, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[derive(Debug, Default, Deserialize)]
pub struct ToggleForm {
    #[serde(default)]
    csrf: String,
    /// `1` marks it done, anything else open again.
    #[serde(default)]
    done: String,
    /// Where to go back to: `list` (with `back_query`) or the review.
    #[serde(default)]
    back: String,
    #[serde(default)]
    back_query: String,
}

async fn toggle_item(
    State(state): State<AppState>,
    me: SignedIn,
    Path((raw, id)): Path<(String, String)>,
    Form(form): Form<ToggleForm>,
) -> Result<Response, UiError> {
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("incidents");
    let n = number(&raw, &nav)?;
    let id = id
        .parse::<i64>()
        .map_err(|_| UiError::not_found(&nav, format!("there is no action item {id}")))?;
    let done = form.done == "1";
    review::set_action_item_done(
        state.store.as_ref(),
        actor(&me),
        n,
        id,
        done,
        state.clock.now(),
    )
    .await
    .map_err(|e| refused(&nav, e))?;
    let to = if form.back == "list" {
        // Only the list's own filters: never a redirect elsewhere.
        let q: String = form
            .back_query
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "=&-_.%+".contains(*c))
            .collect();
        if q.is_empty() {
            "/action-items".to_owned()
        } else {
            format!("/action-items?{q}")
        }
    } else {
        let code = if done { "item-done" } else { "item-open" };
        format!("/incidents/{n}/review?saved={code}#action-items")
    };
    Ok(Redirect::to(&to).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct ListFilters {
    #[serde(default)]
    team: String,
    #[serde(default)]
    owner: String,
    /// `1`: only the overdue ones.
    #[serde(default)]
    overdue: String,
}

#[derive(Debug)]
struct TeamGroup {
    /// The team's name; empty for items of people in no team.
    team: String,
    items: Vec<ItemRow>,
    overdue: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "action_items.html")]
struct ListPage {
    nav: Nav,
    groups: Vec<TeamGroup>,
    teams: Vec<String>,
    users: Vec<String>,
    team: String,
    owner: String,
    overdue_only: bool,
    total: usize,
    overdue: usize,
    truncated: bool,
    /// The filters as a query string, for the done toggles to come back to.
    query: String,
    today: String,
}

async fn list(
    State(state): State<AppState>,
    me: SignedIn,
    Query(f): Query<ListFilters>,
    RawQuery(raw): RawQuery,
) -> Result<ListPage, UiError> {
    let nav = me.nav("action_items");
    me.authorize(&Action::Read, &nav)?;
    let pick = |s: &str, what: &str| -> Result<Option<Name>, UiError> {
        match s.trim() {
            "" => Ok(None),
            s => Name::parse(s)
                .map(Some)
                .map_err(|_| UiError::unprocessable(&nav, format!("there is no {what} {s:?}"))),
        }
    };
    let team = pick(&f.team, "team")?;
    let owner = pick(&f.owner, "person")?;
    let overdue_only = f.overdue == "1";
    let store = state.store.as_ref();
    let day = today(state.clock.now());
    let records = store
        .action_items(&ActionItemQuery {
            incident: None,
            team: team.clone(),
            owner: owner.clone(),
            open_only: true,
            due_before: overdue_only.then_some(day),
            limit: LIST_LIMIT,
        })
        .await?;
    let mut titles: BTreeMap<i64, String> = BTreeMap::new();
    for n in records.iter().map(|r| r.incident).collect::<BTreeSet<_>>() {
        let title = store
            .get_incident(n)
            .await?
            .map(|i| i.title)
            .unwrap_or_default();
        titles.insert(n, title);
    }
    let mut by_team: BTreeMap<String, Vec<ItemRow>> = BTreeMap::new();
    for r in &records {
        let key = r.team.as_ref().map(|t| t.to_string()).unwrap_or_default();
        let title = titles.get(&r.incident).cloned().unwrap_or_default();
        by_team
            .entry(key)
            .or_default()
            .push(item_row(r, day, title));
    }
    // Teams by name, people in no team last.
    let mut groups: Vec<TeamGroup> = by_team
        .into_iter()
        .map(|(team, items)| TeamGroup {
            overdue: items.iter().filter(|i| i.overdue).count(),
            team,
            items,
        })
        .collect();
    groups.sort_by_key(|g| (g.team.is_empty(), g.team.clone()));
    let directory = tocsin_core::directory::Directory::load(store).await?;
    let overdue = groups.iter().map(|g| g.overdue).sum();
    Ok(ListPage {
        nav,
        teams: directory.teams.keys().map(|t| t.to_string()).collect(),
        users: directory.users.keys().map(|u| u.to_string()).collect(),
        team: team.map(|t| t.to_string()).unwrap_or_default(),
        owner: owner.map(|o| o.to_string()).unwrap_or_default(),
        overdue_only,
        total: records.len(),
        overdue,
        truncated: records.len() == LIST_LIMIT as usize,
        query: raw.unwrap_or_default(),
        today: day.to_string(),
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_moments_round_trip_as_lines() {
        let m = vec![
            Moment {
                at: "2026-03-02T10:05:00Z".parse().unwrap(),
                text: "acknowledged by bob".into(),
            },
            Moment {
                at: "2026-03-02T10:20:30Z".parse().unwrap(),
                text: "rolled back\nthe deploy".into(),
            },
        ];
        let text = moments_text(&m);
        assert_eq!(
            text,
            "2026-03-02T10:05:00Z — acknowledged by bob\n2026-03-02T10:20:30Z — rolled back the deploy"
        );
        let back = parse_moments(&text).unwrap();
        assert_eq!(back[0], m[0]);
        assert_eq!(back[1].text, "rolled back the deploy");
    }

    #[test]
    fn key_moments_accept_the_ui_time_and_bullets() {
        let m =
            parse_moments("\n- 2026-03-02 10:05 UTC - paged the DBA\n\n2026-03-02T11:00 -- done\n")
                .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].at.to_string(), "2026-03-02T10:05:00Z");
        assert_eq!(m[0].text, "paged the DBA");
        assert_eq!(m[1].at.to_string(), "2026-03-02T11:00:00Z");
    }

    #[test]
    fn a_bad_key_moment_line_says_which_and_why() {
        let e = parse_moments("2026-03-02T10:05:00Z — ok\nrestarted it").unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
        let e = parse_moments("yesterday — restarted it").unwrap_err();
        assert!(e.contains("\"yesterday\" is not a time"), "{e}");
        let e = parse_moments("2026-03-02T10:05:00Z — ").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn due_dates_read_as_words() {
        let day: Date = "2026-03-10".parse().unwrap();
        let item = |due: &str, done: bool| ActionItemRecord {
            id: 1,
            incident: 2,
            title: "t".into(),
            owner: Name::parse("bob").unwrap(),
            team: None,
            due_on: due.parse().unwrap(),
            done_at: done.then(|| "2026-03-09T00:00:00Z".parse().unwrap()),
            reminded_at: None,
            created_at: "2026-03-01T00:00:00Z".parse().unwrap(),
        };
        let r = item_row(&item("2026-03-07", false), day, String::new());
        assert!(r.overdue);
        assert_eq!(r.due_note, "Overdue by 3 days");
        assert_eq!(
            item_row(&item("2026-03-10", false), day, String::new()).due_note,
            "Due today"
        );
        assert_eq!(
            item_row(&item("2026-03-12", false), day, String::new()).due_note,
            "Due in 2 days"
        );
        let done = item_row(&item("2026-03-01", true), day, String::new());
        assert!(!done.overdue && done.due_note.is_empty());
    }
}
