//! On-call schedules: `/schedules` lists them with who is on call now;
//! `/schedules/{name}` shows one over a range of days as a picture drawn on
//! the server (SVG with plotters, like the dependency picture): one row per
//! layer, one for the overrides and the final answer at the bottom, with
//! the gaps where nobody is on call marked in words as well as in colour.
//! Under the picture the same final shifts are a table, the gaps a
//! warning, and the declared layers and overrides are written out.
//!
//! Who is on call is computed by `tocsin_core::oncall` (the rules are in
//! `docs/schedules.md`); this module only chooses the range and the time
//! zone to show it in, and draws it. Times are shown in the viewer's own
//! time zone (their profile's), else in the schedule's, and the page says
//! which.
//!
//! Overrides made at run time (`schedule_override` objects) are listed
//! beside the declared ones and drawn in the same row; a form adds one
//! (start and end are `datetime-local` read in the zone the page shows)
//! and a button removes one. Who may is `tocsin_core::oncall`'s rule (a
//! manager of the schedule's team): a refusal is shown with its reason.

use super::common::{Done, ObjLink, path_name};
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
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use tocsin_core::directory::Directory;
use tocsin_core::noise::NoiseError;
use tocsin_core::oncall::{self, NewOverride, OnCallError, ShiftView};
use tocsin_domain::Name;
use tocsin_domain::access::Action;
use tocsin_domain::catalog::{Override, Restriction, Schedule, ScheduleOverride};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schedules", get(list))
        .route("/schedules/{name}", get(show))
        .route("/schedules/{name}/overrides", post(add_override))
        .route(
            "/schedules/{name}/overrides/{override}/delete",
            post(remove_override),
        )
}

/// Days shown when the link does not say.
const DEFAULT_DAYS: i64 = 14;
/// The most days one picture shows.
const MAX_DAYS: i64 = 31;

/// "Mon 2 Mar 09:00" in `tz`.
fn at(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%a %-d %b %H:%M")
        .to_string()
}

/// "Mon 2 Mar 09:00 – Mon 9 Mar 09:00".
fn span(start: Timestamp, end: Timestamp, tz: &TimeZone) -> String {
    format!("{} – {}", at(start, tz), at(end, tz))
}

fn instant(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

impl From<OnCallError> for UiError {
    fn from(e: OnCallError) -> Self {
        match e {
            OnCallError::NotFound(m) => UiError::new(StatusCode::NOT_FOUND, m),
            OnCallError::Invalid(m) => UiError::new(StatusCode::UNPROCESSABLE_ENTITY, m),
            OnCallError::Store(e) => e.into(),
        }
    }
}

/// Gives a core error this page's layout.
fn with_nav(e: OnCallError, nav: &Nav) -> UiError {
    let mut e = UiError::from(e);
    e.nav = Box::new(nav.clone());
    e
}

/// The zone times are shown in: the viewer's profile zone when it is a
/// known one, else the schedule's. The flag says it is the viewer's.
fn viewer_zone(dir: &Directory, me: &SignedIn, schedule_zone: &str) -> (TimeZone, String, bool) {
    let own = dir
        .users
        .get(&me.session.user)
        .map(|u| u.spec.time_zone.trim().to_owned())
        .filter(|z| !z.is_empty());
    if let Some(z) = own
        && let Ok(tz) = TimeZone::get(&z)
    {
        return (tz, z, true);
    }
    let tz = TimeZone::get(schedule_zone).unwrap_or(TimeZone::UTC);
    let name = tz.iana_name().unwrap_or("UTC").to_owned();
    (tz, name, false)
}

// ---------------------------------------------------------------- the list

#[derive(Debug)]
struct ScheduleRow {
    name: String,
    team: Option<String>,
    time_zone: String,
    on_call: Vec<ObjLink>,
    /// "Mon 9 Mar 09:00 CET", in the viewer's zone (else the schedule's).
    until: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "schedules.html")]
struct SchedulesPage {
    nav: Nav,
    rows: Vec<ScheduleRow>,
}

async fn list(State(state): State<AppState>, me: SignedIn) -> Result<SchedulesPage, UiError> {
    let nav = me.nav("teams");
    me.authorize(&Action::Read, &nav)?;
    let dir = Directory::load(state.store.as_ref()).await?;
    let now = state.clock.now();
    let answers = oncall::on_call(state.store.as_ref(), None, None, now)
        .await
        .map_err(|e| with_nav(e, &nav))?;
    let mut rows: Vec<ScheduleRow> = answers
        .into_iter()
        .map(|a| {
            let zone = Name::parse(&a.schedule)
                .ok()
                .and_then(|n| dir.schedules.get(&n))
                .map(|e| e.spec.time_zone.clone())
                .unwrap_or_default();
            let (tz, _, _) = viewer_zone(&dir, &me, &zone);
            ScheduleRow {
                until: a.until.as_deref().and_then(instant).map(|t| {
                    t.to_zoned(tz.clone())
                        .strftime("%a %-d %b %H:%M %Z")
                        .to_string()
                }),
                on_call: a
                    .users
                    .iter()
                    .filter_map(|u| Name::parse(u).ok())
                    .map(|u| ObjLink::user(&u))
                    .collect(),
                name: a.schedule,
                team: a.team,
                time_zone: zone,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(SchedulesPage { nav, rows })
}

// ---------------------------------------------------------------- one schedule

/// `?from=YYYY-MM-DD&days=N`, read by hand so a wrong value is a page
/// saying what is wrong rather than a bare 400.
#[derive(Debug, Default, Deserialize)]
pub struct RangeQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    days: Option<String>,
}

/// The days shown: [first 00:00, first + days 00:00) in the viewer's zone.
#[derive(Debug, Clone)]
struct Range {
    first: Date,
    days: i64,
    from: Timestamp,
    to: Timestamp,
}

fn parse_range(q: &RangeQuery, today: Date, tz: &TimeZone) -> Result<Range, String> {
    let days = match q.days.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_DAYS,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=MAX_DAYS).contains(&n) => n,
            _ => {
                return Err(format!(
                    "days: {s:?} is not a number of days from 1 to {MAX_DAYS}"
                ));
            }
        },
    };
    let first = match q.from.as_deref().map(str::trim) {
        None | Some("") => today,
        Some(s) => s
            .parse::<Date>()
            .map_err(|_| format!("from: {s:?} is not a date (YYYY-MM-DD)"))?,
    };
    let out_of_range = || format!("from: {first} is too far from today to show");
    let end = first.checked_add(days.days()).map_err(|_| out_of_range())?;
    let from = first
        .to_zoned(tz.clone())
        .map_err(|_| out_of_range())?
        .timestamp();
    let to = end
        .to_zoned(tz.clone())
        .map_err(|_| out_of_range())?
        .timestamp();
    Ok(Range {
        first,
        days,
        from,
        to,
    })
}

/// One line of the text equivalent of the final row.
#[derive(Debug)]
struct ShiftRow {
    when: String,
    /// None: nobody.
    who: Option<ObjLink>,
}

/// A layer's definition in words.
#[derive(Debug)]
struct LayerDef {
    name: String,
    participants: Vec<ObjLink>,
    turn: String,
    handoff: String,
    zone: String,
    start: String,
    /// "Mon, Tue, Wed, Thu, Fri 07:00–19:00"; empty: always on.
    restrictions: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "schedule.html")]
struct SchedulePage {
    nav: Nav,
    name: String,
    description: String,
    team: Option<ObjLink>,
    time_zone: String,
    managed: bool,
    source: String,
    /// Who is on call now (empty: nobody) and until when.
    now_users: Vec<ObjLink>,
    now_until: Option<String>,
    viewer_zone: String,
    viewer_zone_is_own: bool,
    range_label: String,
    svg: String,
    shifts: Vec<ShiftRow>,
    /// Spans with nobody on call in the range.
    gaps: Vec<String>,
    prev_href: String,
    next_href: String,
    today_href: String,
    layers: Vec<LayerDef>,
    overrides: Vec<String>,
    /// Overrides made at run time, by start.
    runtime: Vec<RuntimeRow>,
    /// The catalog's users, for the form's selects.
    users: Vec<String>,
    form: OverrideForm,
    problems: FormProblems,
}

async fn show(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Query(q): Query<RangeQuery>,
    Query(done): Query<Done>,
) -> Result<SchedulePage, UiError> {
    let nav = done.flash(me.nav("teams"));
    me.authorize(&Action::Read, &nav)?;
    let name = path_name(&raw, "schedule", &nav)?;
    schedule_page(&state, &me, nav, &name, &q).await
}

/// The page of schedule `name` over the range `q` asks for, with an
/// empty form.
async fn schedule_page(
    state: &AppState,
    me: &SignedIn,
    nav: Nav,
    name: &Name,
    q: &RangeQuery,
) -> Result<SchedulePage, UiError> {
    let name = name.clone();
    let dir = Directory::load(state.store.as_ref()).await?;
    let Some(entry) = dir.schedules.get(&name) else {
        return Err(UiError::not_found(
            &nav,
            format!("there is no schedule named {name:?}"),
        ));
    };
    let s = &entry.spec;
    let (tz, zone_name, own) = viewer_zone(&dir, me, &s.time_zone);
    let now = state.clock.now();
    let range = parse_range(q, now.to_zoned(tz.clone()).date(), &tz)
        .map_err(|m| UiError::unprocessable(&nav, m))?;
    let runtime = runtime_overrides(&dir, &name);

    let store = state.store.as_ref();
    let current = oncall::on_call(store, None, Some(&name), now)
        .await
        .map_err(|e| with_nav(e, &nav))?;
    let current = current.into_iter().next();
    let view = oncall::shifts(store, &name, range.from, range.to)
        .await
        .map_err(|e| with_nav(e, &nav))?;

    let shift = |v: &ShiftView| {
        Some((
            instant(&v.start)?,
            instant(&v.end)?,
            v.users.first().cloned(),
        ))
    };
    let final_shifts: Vec<(Timestamp, Timestamp, Option<String>)> =
        view.final_shifts.iter().filter_map(shift).collect();
    let gaps: Vec<(Timestamp, Timestamp)> = view
        .gaps
        .iter()
        .filter_map(|g| Some((instant(&g.start)?, instant(&g.end)?)))
        .collect();

    let mut rows = Vec::new();
    for layer in &view.layers {
        let shifts: Vec<_> = layer.shifts.iter().filter_map(shift).collect();
        rows.push(Row {
            label: format!("Layer {}", layer.name),
            bars: layer_bars(&shifts, range.from, range.to),
        });
    }
    rows.push(Row {
        label: "Overrides".into(),
        bars: override_bars(
            &s.overrides
                .iter()
                .cloned()
                .chain(runtime.iter().map(|(o, _)| o.as_override()))
                .collect::<Vec<_>>(),
            range.from,
            range.to,
        ),
    });
    rows.push(Row {
        label: "Final".into(),
        bars: final_shifts
            .iter()
            .map(|(a, b, who)| Bar {
                start: *a,
                end: *b,
                text: who.clone().unwrap_or_else(|| "nobody".into()),
                fill: who.clone().map_or(Fill::Nobody, Fill::Person),
                lane: 0,
            })
            .collect(),
    });

    let last_day = range
        .first
        .checked_add((range.days - 1).days())
        .unwrap_or(range.first);
    let range_label = format!(
        "{} – {}",
        range.first.strftime("%a %-d %b %Y"),
        last_day.strftime("%a %-d %b %Y")
    );
    let final_text: Vec<String> = final_shifts
        .iter()
        .map(|(a, b, who)| {
            format!(
                "{}: {}",
                span(*a, *b, &tz),
                who.as_deref().unwrap_or("nobody")
            )
        })
        .collect();
    let gap_text: Vec<String> = gaps.iter().map(|(a, b)| span(*a, *b, &tz)).collect();
    let picture = Picture {
        title: format!("On-call schedule {name}, {range_label} ({zone_name})"),
        desc: format!(
            "Rows: {}. Final shifts: {}.{}",
            rows.iter()
                .map(|r| r.label.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            final_text.join("; "),
            if gap_text.is_empty() {
                " Someone is on call all the time.".to_owned()
            } else {
                format!(" Nobody is on call: {}.", gap_text.join("; "))
            }
        ),
        from: range.from,
        to: range.to,
        tz: tz.clone(),
        now: (range.from <= now && now < range.to).then_some(now),
        rows,
    };
    let svg = render(&picture);

    let href = |first: Date| {
        let mut h = format!("/schedules/{name}?from={first}");
        if range.days != DEFAULT_DAYS {
            h.push_str(&format!("&days={}", range.days));
        }
        h
    };
    let step = range.days.days();
    let prev_href = href(range.first.checked_sub(step).unwrap_or(range.first));
    let next_href = href(range.first.checked_add(step).unwrap_or(range.first));
    let today_href = if range.days == DEFAULT_DAYS {
        format!("/schedules/{name}")
    } else {
        format!("/schedules/{name}?days={}", range.days)
    };

    let (now_users, now_until) = match current {
        Some(c) => (
            c.users
                .iter()
                .filter_map(|u| Name::parse(u).ok())
                .map(|u| ObjLink::user(&u))
                .collect(),
            c.until.as_deref().and_then(instant).map(|t| at(t, &tz)),
        ),
        None => (Vec::new(), None),
    };

    Ok(SchedulePage {
        name: name.to_string(),
        description: s.description.clone().unwrap_or_default(),
        team: s.team.as_ref().map(ObjLink::team),
        time_zone: s.time_zone.clone(),
        managed: entry.managed,
        source: entry.source.clone().unwrap_or_default(),
        now_users,
        now_until,
        viewer_zone: zone_name,
        viewer_zone_is_own: own,
        range_label,
        svg,
        shifts: final_shifts
            .iter()
            .map(|(a, b, who)| ShiftRow {
                when: span(*a, *b, &tz),
                who: who
                    .as_deref()
                    .and_then(|w| Name::parse(w).ok())
                    .map(|w| ObjLink::user(&w)),
            })
            .collect(),
        gaps: gap_text,
        prev_href,
        next_href,
        today_href,
        layers: layer_defs(s),
        overrides: s.overrides.iter().map(|o| override_text(o, &tz)).collect(),
        runtime: runtime
            .iter()
            .map(|(o, managed)| runtime_row(o, *managed, now, &tz))
            .collect(),
        users: dir.users.keys().map(Name::to_string).collect(),
        form: OverrideForm::new(now, &tz),
        problems: FormProblems::default(),
        nav,
    })
}

/// A layer's shifts, and the spans between them (outside its restrictions
/// or before its first turn) as "off".
fn layer_bars(
    shifts: &[(Timestamp, Timestamp, Option<String>)],
    from: Timestamp,
    to: Timestamp,
) -> Vec<Bar> {
    let mut bars = Vec::new();
    let mut cursor = from;
    for (a, b, who) in shifts {
        if *a > cursor {
            bars.push(Bar::off(cursor, *a));
        }
        bars.push(Bar {
            start: *a,
            end: *b,
            text: who.clone().unwrap_or_default(),
            fill: who.clone().map_or(Fill::Off, Fill::Person),
            lane: 0,
        });
        cursor = cursor.max(*b);
    }
    if cursor < to {
        bars.push(Bar::off(cursor, to));
    }
    bars
}

/// The overrides that touch the range, each in the first lane free at its
/// start (overlapping overrides get lanes of their own).
fn override_bars(overrides: &[Override], from: Timestamp, to: Timestamp) -> Vec<Bar> {
    let mut lanes: Vec<Timestamp> = Vec::new();
    let mut bars = Vec::new();
    for o in overrides {
        let (Some(a), Some(b)) = (instant(&o.start), instant(&o.end)) else {
            continue;
        };
        if b <= from || a >= to || b <= a {
            continue;
        }
        let lane = match lanes.iter().position(|end| *end <= a) {
            Some(i) => {
                lanes[i] = b;
                i
            }
            None => {
                lanes.push(b);
                lanes.len() - 1
            }
        };
        bars.push(Bar {
            start: a.max(from),
            end: b.min(to),
            text: override_label(o),
            fill: Fill::Person(o.user.to_string()),
            lane,
        });
    }
    bars
}

/// "bob for alice", "bob (whole schedule)".
fn override_label(o: &Override) -> String {
    match &o.replaces {
        Some(r) => format!("{} for {r}", o.user),
        None => format!("{} (whole schedule)", o.user),
    }
}

fn override_text(o: &Override, tz: &TimeZone) -> String {
    let when = match (instant(&o.start), instant(&o.end)) {
        (Some(a), Some(b)) => span(a, b, tz),
        _ => format!("{} – {}", o.start, o.end),
    };
    format!("{}: {when}", override_label(o))
}

fn layer_defs(s: &Schedule) -> Vec<LayerDef> {
    s.layers
        .iter()
        .map(|l| LayerDef {
            name: l.name.to_string(),
            participants: l.participants.iter().map(ObjLink::user).collect(),
            turn: l.turn.clone(),
            handoff: l.handoff.clone(),
            zone: l.time_zone.clone().unwrap_or_else(|| s.time_zone.clone()),
            start: l.start.clone(),
            restrictions: l.restrictions.iter().map(restriction_text).collect(),
        })
        .collect()
}

/// "Mon, Tue, Wed 09:00–17:00", "every day 22:00–06:00 (ends the next day)".
fn restriction_text(r: &Restriction) -> String {
    let days = if r.days.is_empty() {
        "every day".to_owned()
    } else {
        r.days
            .iter()
            .map(|d| {
                let mut c = d.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let next_day = if r.to < r.from {
        " (ends the next day)"
    } else {
        ""
    };
    format!("{days} {}–{}{next_day}", r.from, r.to)
}

// ---------------------------------------------------------------- run-time overrides

/// The run-time overrides of schedule `name`, by start (then name), each
/// with whether it is managed in Git.
fn runtime_overrides(dir: &Directory, name: &Name) -> Vec<(ScheduleOverride, bool)> {
    let mut list: Vec<(ScheduleOverride, bool)> = dir
        .schedule_overrides
        .values()
        .filter(|e| &e.spec.schedule == name)
        .map(|e| (e.spec.clone(), e.managed))
        .collect();
    list.sort_by(|(a, _), (b, _)| (instant(&a.start), &a.name).cmp(&(instant(&b.start), &b.name)));
    list
}

/// One override made at run time, as listed.
#[derive(Debug)]
struct RuntimeRow {
    name: String,
    user: ObjLink,
    /// None: the whole schedule.
    replaces: Option<ObjLink>,
    when: String,
    reason: String,
    created_by: String,
    /// Over already.
    ended: bool,
    managed: bool,
}

fn runtime_row(o: &ScheduleOverride, managed: bool, now: Timestamp, tz: &TimeZone) -> RuntimeRow {
    let (start, end) = (instant(&o.start), instant(&o.end));
    RuntimeRow {
        name: o.name.to_string(),
        user: ObjLink::user(&o.user),
        replaces: o.replaces.as_ref().map(ObjLink::user),
        when: match (start, end) {
            (Some(a), Some(b)) => span(a, b, tz),
            _ => format!("{} – {}", o.start, o.end),
        },
        reason: o.reason.clone().unwrap_or_default(),
        created_by: o.created_by.clone().unwrap_or_default(),
        ended: end.is_some_and(|e| e <= now),
        managed,
    }
}

/// The add-an-override form, as typed. Start and end are `datetime-local`
/// values in the zone the page shows times in.
#[derive(Debug, Default, Deserialize)]
pub struct OverrideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
    /// Empty: the whole schedule.
    #[serde(default)]
    replaces: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    reason: String,
}

/// `datetime-local`'s format.
const INPUT_FORMAT: &str = "%Y-%m-%dT%H:%M";

impl OverrideForm {
    /// A new form: from the next full hour, for eight hours.
    fn new(now: Timestamp, tz: &TimeZone) -> OverrideForm {
        let here = now.to_zoned(tz.clone());
        let start = here
            .with()
            .minute(0)
            .second(0)
            .subsec_nanosecond(0)
            .build()
            .and_then(|hour| hour.checked_add(1.hour()))
            .unwrap_or(here);
        let end = start
            .checked_add(8.hours())
            .unwrap_or_else(|_| start.clone());
        OverrideForm {
            start: start.strftime(INPUT_FORMAT).to_string(),
            end: end.strftime(INPUT_FORMAT).to_string(),
            ..OverrideForm::default()
        }
    }

    fn request(&self, tz: &TimeZone) -> NewOverride {
        let given = |s: &str| {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_owned())
        };
        NewOverride {
            name: None,
            user: self.user.trim().to_owned(),
            replaces: given(&self.replaces),
            start: from_input(&self.start, tz).unwrap_or_else(|| self.start.trim().to_owned()),
            end: from_input(&self.end, tz).unwrap_or_else(|| self.end.trim().to_owned()),
            reason: given(&self.reason),
        }
    }
}

/// A `datetime-local` value (civil time in `tz`; a time that does not
/// exist or happens twice there is read as before the change) or an
/// RFC 3339 instant, as RFC 3339; None if it is neither.
fn from_input(value: &str, tz: &TimeZone) -> Option<String> {
    let value = value.trim();
    if let Ok(t) = value.parse::<Timestamp>() {
        return Some(t.to_string());
    }
    let civil = value.parse::<jiff::civil::DateTime>().ok()?;
    civil
        .to_zoned(tz.clone())
        .ok()
        .map(|z| z.timestamp().to_string())
}

/// The form's problems: each under its field, the rest (and refusals)
/// above the form.
#[derive(Debug, Default)]
struct FormProblems {
    fields: BTreeMap<&'static str, Vec<String>>,
    top: Vec<String>,
}

impl FormProblems {
    fn has(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }

    fn of(&self, field: &str) -> String {
        self.fields
            .get(field)
            .map(|m| m.join("; "))
            .unwrap_or_default()
    }

    fn count(&self) -> usize {
        self.top.len() + self.fields.values().map(Vec::len).sum::<usize>()
    }

    fn is_empty(&self) -> bool {
        self.count() == 0
    }
}

/// The form field a problem's path is about.
fn override_field(path: &str) -> Option<&'static str> {
    match path {
        "user" => Some("user"),
        "replaces" => Some("replaces"),
        "start" => Some("start"),
        "end" => Some("end"),
        "reason" => Some("reason"),
        _ => None,
    }
}

/// How a refused add is shown: its status and problems.
fn add_refused(
    e: NoiseError,
    form: &OverrideForm,
    tz: &TimeZone,
    zone: &str,
) -> Result<(StatusCode, FormProblems), UiError> {
    let mut p = FormProblems::default();
    let status = match e {
        NoiseError::Invalid(list) => {
            for (path, message) in list {
                match override_field(&path) {
                    Some(field) => {
                        // A value that is no date and time: say so in the
                        // form's words rather than RFC 3339's.
                        let typed = match field {
                            "start" => Some(&form.start),
                            "end" => Some(&form.end),
                            _ => None,
                        };
                        let message = match typed {
                            Some(v) if from_input(v, tz).is_none() => format!(
                                "{:?} is not a date and time (YYYY-MM-DDTHH:MM, in {zone})",
                                v.trim()
                            ),
                            _ => message,
                        };
                        p.fields.entry(field).or_default().push(message);
                    }
                    None => p.top.push(format!("{path}: {message}")),
                }
            }
            StatusCode::UNPROCESSABLE_ENTITY
        }
        NoiseError::Denied(why) => {
            p.top.push(format!("Not allowed: {why}."));
            StatusCode::FORBIDDEN
        }
        NoiseError::Conflict(why) => {
            p.top.push(why);
            StatusCode::CONFLICT
        }
        NoiseError::NotFound(why) => {
            p.top.push(why);
            StatusCode::NOT_FOUND
        }
        NoiseError::Store(e) => return Err(e.into()),
    };
    Ok((status, p))
}

async fn add_override(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Form<OverrideForm>,
) -> Result<Response, UiError> {
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("teams");
    me.authorize(&Action::Read, &nav)?;
    let name = path_name(&raw, "schedule", &nav)?;
    let dir = Directory::load(state.store.as_ref()).await?;
    let zone = dir
        .schedules
        .get(&name)
        .map(|e| e.spec.time_zone.clone())
        .unwrap_or_default();
    let (tz, zone_name, _) = viewer_zone(&dir, &me, &zone);
    let made = oncall::create_override(
        state.store.as_ref(),
        &me.principal,
        &me.actor(),
        &name,
        form.request(&tz),
        state.clock.now(),
    )
    .await;
    let e = match made {
        Ok(_) => {
            let to = format!(
                "/schedules/{}?done=override-added",
                urlencode(name.as_str())
            );
            return Ok(Redirect::to(&to).into_response());
        }
        Err(e) => e,
    };
    let (status, problems) = add_refused(e, &form, &tz, &zone_name)?;
    let mut page = schedule_page(&state, &me, nav, &name, &RangeQuery::default()).await?;
    page.form = OverrideForm {
        csrf: String::new(),
        ..form
    };
    page.problems = problems;
    Ok((status, page).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn remove_override(
    State(state): State<AppState>,
    me: SignedIn,
    Path((raw, raw_override)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, UiError> {
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("teams");
    me.authorize(&Action::Read, &nav)?;
    let name = path_name(&raw, "schedule", &nav)?;
    let missing = || {
        UiError::not_found(
            &nav,
            format!("schedule {name} has no override named {raw_override:?}"),
        )
    };
    let over = Name::parse(&raw_override).map_err(|_| missing())?;
    let dir = Directory::load(state.store.as_ref()).await?;
    if dir
        .schedule_overrides
        .get(&over)
        .is_none_or(|e| e.spec.schedule != name)
    {
        return Err(missing());
    }
    let removed = oncall::delete_override(
        state.store.as_ref(),
        &me.principal,
        &me.actor(),
        &over,
        state.clock.now(),
    )
    .await;
    let (status, why) = match removed {
        Ok(()) => {
            let to = format!(
                "/schedules/{}?done=override-removed",
                urlencode(name.as_str())
            );
            return Ok(Redirect::to(&to).into_response());
        }
        Err(NoiseError::Denied(why)) => (StatusCode::FORBIDDEN, format!("Not allowed: {why}.")),
        Err(NoiseError::Conflict(why)) => (StatusCode::CONFLICT, format!("Not removed: {why}.")),
        Err(NoiseError::NotFound(why)) => (StatusCode::NOT_FOUND, format!("Not removed: {why}.")),
        Err(NoiseError::Invalid(list)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "Not removed: {}.",
                list.into_iter()
                    .map(|(f, m)| format!("{f}: {m}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
        Err(NoiseError::Store(e)) => return Err(e.into()),
    };
    let page = schedule_page(
        &state,
        &me,
        nav.with_flash("error", why),
        &name,
        &RangeQuery::default(),
    )
    .await?;
    Ok((status, page).into_response())
}

// ---------------------------------------------------------------- the picture

const WIDTH: i32 = 960;
/// Left column with the rows' names.
const LEFT: i32 = 128;
const RIGHT: i32 = 12;
/// Above the rows: day labels, and hour labels on short ranges.
const TOP: i32 = 44;
const LANE_H: i32 = 30;
const ROW_GAP: i32 = 8;
/// Below the rows: the "now" label.
const BOTTOM: i32 = 22;
/// Roughly the width of a character of the labels (about 13px).
const CHAR_W: i32 = 7;

const INK: RGBColor = RGBColor(0x1a, 0x1a, 0x1a);
const MUTED: RGBColor = RGBColor(0x4a, 0x4a, 0x4a);
const PANEL: RGBColor = RGBColor(0xf4, 0xf5, 0xf7);
const LINE: RGBColor = RGBColor(0xb0, 0xb0, 0xb0);
const ACCENT: RGBColor = RGBColor(0x0b, 0x5c, 0xad);
const DANGER: RGBColor = RGBColor(0xa4, 0x16, 0x1a);
const DANGER_BG: RGBColor = RGBColor(0xff, 0xf5, 0xf5);
const HATCH: RGBColor = RGBColor(0xe3, 0x9a, 0x9c);

/// Dark enough for white text (contrast at least 4.5:1 each) and told
/// apart from one another; a person's colour never carries meaning alone,
/// their name is on the bar.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x0b, 0x5c, 0xad), // blue
    RGBColor(0x1b, 0x6e, 0x2a), // green
    RGBColor(0x8a, 0x3b, 0x12), // rust
    RGBColor(0x6a, 0x3d, 0x9a), // purple
    RGBColor(0x00, 0x67, 0x6b), // teal
    RGBColor(0x9c, 0x1f, 0x6e), // magenta
    RGBColor(0x5c, 0x52, 0x00), // olive
    RGBColor(0x3d, 0x4f, 0x7a), // slate
];

/// A person's place in the palette: the same on every page and every day
/// (FNV-1a of the name, not the process's random hasher).
fn slot_of(name: &str) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h % PALETTE.len() as u32) as usize
}

/// The colours of the people in one picture: each their own slot, or the
/// next free one when two names share it (taken in name order, so the
/// same people always get the same colours).
fn colours(names: &BTreeSet<&str>) -> BTreeMap<String, RGBColor> {
    let mut used = [false; PALETTE.len()];
    let mut out = BTreeMap::new();
    for name in names {
        let first = slot_of(name);
        let slot = (0..PALETTE.len())
            .map(|i| (first + i) % PALETTE.len())
            .find(|s| !used[*s])
            .unwrap_or(first);
        used[slot] = true;
        out.insert((*name).to_owned(), PALETTE[slot]);
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Fill {
    Person(String),
    /// Nobody on call: a gap in the final schedule.
    Nobody,
    /// A layer without anyone here.
    Off,
}

#[derive(Debug, Clone)]
struct Bar {
    start: Timestamp,
    end: Timestamp,
    text: String,
    fill: Fill,
    lane: usize,
}

impl Bar {
    fn off(start: Timestamp, end: Timestamp) -> Bar {
        Bar {
            start,
            end,
            text: "off".into(),
            fill: Fill::Off,
            lane: 0,
        }
    }
}

#[derive(Debug)]
struct Row {
    label: String,
    bars: Vec<Bar>,
}

impl Row {
    fn lanes(&self) -> i32 {
        self.bars.iter().map(|b| b.lane + 1).max().unwrap_or(1) as i32
    }
}

#[derive(Debug)]
struct Picture {
    title: String,
    desc: String,
    from: Timestamp,
    to: Timestamp,
    /// Days are labelled in this zone.
    tz: TimeZone,
    now: Option<Timestamp>,
    rows: Vec<Row>,
}

impl Picture {
    fn x(&self, t: Timestamp) -> i32 {
        let total = self.to.duration_since(self.from).as_secs_f64().max(1.0);
        let part = t.duration_since(self.from).as_secs_f64().clamp(0.0, total);
        LEFT + ((part / total) * f64::from(WIDTH - LEFT - RIGHT)).round() as i32
    }

    fn height(&self) -> i32 {
        TOP + self
            .rows
            .iter()
            .map(|r| r.lanes() * LANE_H + ROW_GAP)
            .sum::<i32>()
            + BOTTOM
    }
}

/// The SVG markup with its `<title>` and `<desc>`; empty if drawing failed
/// (the page still has the table).
fn render(p: &Picture) -> String {
    let mut svg = String::new();
    if let Err(e) = draw(&mut svg, p) {
        tracing::warn!(error = %e, "schedule picture not drawn");
        return String::new();
    }
    let Some(body) = svg.strip_prefix("<svg ") else {
        return svg;
    };
    let Some(end) = body.find('>') else {
        return svg;
    };
    format!(
        "<svg role=\"img\" aria-labelledby=\"sched-title sched-desc\" class=\"schedule\" {}><title id=\"sched-title\">{}</title><desc id=\"sched-desc\">{}</desc>{}",
        &body[..end],
        escape(&p.title),
        escape(&p.desc),
        &body[end + 1..]
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A bar's label for `width` pixels: the whole text, else its first word
/// (the person), else the text cut short, else nothing.
fn bar_label(text: &str, width: i32) -> Option<String> {
    let room = ((width - 6) / CHAR_W).max(0) as usize;
    match text.split_whitespace().next() {
        Some(first) if text.chars().count() > room && first.chars().count() <= room => {
            Some(first.to_owned())
        }
        _ => fit(text, width),
    }
}

/// `text` cut to fit `width` pixels, or nothing if not even two characters fit.
fn fit(text: &str, width: i32) -> Option<String> {
    let room = ((width - 6) / CHAR_W).max(0) as usize;
    let n = text.chars().count();
    if n <= room {
        Some(text.to_owned())
    } else if room >= 3 {
        let mut s: String = text.chars().take(room - 1).collect();
        s.push('…');
        Some(s)
    } else {
        None
    }
}

type DrawResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn draw(buf: &mut String, p: &Picture) -> DrawResult {
    let height = p.height();
    let mut b = SVGBackend::with_string(buf, (WIDTH as u32, height as u32));
    let centred = Pos::new(HPos::Center, VPos::Center);
    let label = TextStyle::from(("sans-serif", 16).into_font())
        .color(&INK)
        .pos(centred);
    let bold = TextStyle::from(("sans-serif", 16).into_font().style(FontStyle::Bold));
    let row_name = bold
        .clone()
        .color(&INK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let on_colour = bold.clone().color(&WHITE).pos(centred);
    let nobody = bold.color(&DANGER).pos(centred);
    let off = TextStyle::from(("sans-serif", 15).into_font().style(FontStyle::Italic))
        .color(&MUTED)
        .pos(centred);
    let thin = |c: RGBColor, w: u32| ShapeStyle {
        color: c.to_rgba(),
        filled: false,
        stroke_width: w,
    };

    let people: BTreeSet<&str> = p
        .rows
        .iter()
        .flat_map(|r| &r.bars)
        .filter_map(|b| match &b.fill {
            Fill::Person(who) => Some(who.as_str()),
            _ => None,
        })
        .collect();
    let colour = colours(&people);
    b.draw_rect((0, 0), (WIDTH, height), &WHITE, true)?;
    let rows_bottom = height - BOTTOM;

    // Rows: their name and a panel behind them.
    let mut y = TOP;
    let mut tops = Vec::new();
    for r in &p.rows {
        let h = r.lanes() * LANE_H;
        tops.push(y);
        b.draw_rect((LEFT, y), (WIDTH - RIGHT, y + h), &PANEL, true)?;
        let name = fit(&r.label, LEFT - 4).unwrap_or_default();
        b.draw_text(&name, &row_name, (4, y + h / 2))?;
        y += h + ROW_GAP;
    }

    // Days: a line at each local midnight, the day's name above it.
    let first = p.from.to_zoned(p.tz.clone()).date();
    let mut day = first;
    while let Ok(start) = day.to_zoned(p.tz.clone()).map(|z| z.timestamp()) {
        if start >= p.to {
            break;
        }
        let Ok(next) = day.checked_add(1.day()) else {
            break;
        };
        let end = next
            .to_zoned(p.tz.clone())
            .map(|z| z.timestamp())
            .unwrap_or(p.to);
        let (x0, x1) = (p.x(start), p.x(end));
        if start > p.from {
            b.draw_line((x0, TOP - 4), (x0, rows_bottom), &thin(LINE, 1))?;
        }
        let width = x1 - x0;
        let text = if width >= 90 {
            day.strftime("%a %-d %b").to_string()
        } else if width >= 48 {
            day.strftime("%a %-d").to_string()
        } else {
            day.strftime("%-d").to_string()
        };
        b.draw_text(&text, &label, ((x0 + x1) / 2, 12))?;
        // On short ranges, every six hours of local time.
        if width >= 240 {
            for h in [6, 12, 18] {
                let Ok(t) = day.at(h, 0, 0, 0).to_zoned(p.tz.clone()) else {
                    continue;
                };
                let x = p.x(t.timestamp());
                b.draw_line((x, TOP - 2), (x, rows_bottom), &thin(PANEL, 1))?;
                b.draw_text(&format!("{h:02}:00"), &off, (x, 30))?;
            }
        }
        day = next;
    }

    // Bars.
    for (r, top) in p.rows.iter().zip(tops) {
        for bar in &r.bars {
            let (x0, x1) = (p.x(bar.start), p.x(bar.end));
            if x1 <= x0 {
                continue;
            }
            let y0 = top + bar.lane as i32 * LANE_H + 2;
            let y1 = y0 + LANE_H - 4;
            let mid = ((x0 + x1) / 2, (y0 + y1) / 2);
            match &bar.fill {
                Fill::Person(who) => {
                    let fill = colour.get(who).copied().unwrap_or(PALETTE[0]);
                    b.draw_rect((x0, y0), (x1, y1), &fill, true)?;
                    b.draw_rect((x0, y0), (x1, y1), &thin(WHITE, 1), false)?;
                    if let Some(t) = bar_label(&bar.text, x1 - x0) {
                        b.draw_text(&t, &on_colour, mid)?;
                    }
                }
                Fill::Nobody => {
                    b.draw_rect((x0, y0), (x1, y1), &DANGER_BG, true)?;
                    hatch(&mut b, (x0, y0), (x1, y1))?;
                    b.draw_rect((x0, y0), (x1, y1), &thin(DANGER, 2), false)?;
                    if let Some(t) = fit(&bar.text, x1 - x0) {
                        let half = t.chars().count() as i32 * CHAR_W / 2 + 3;
                        b.draw_rect(
                            (mid.0 - half, mid.1 - 8),
                            (mid.0 + half, mid.1 + 8),
                            &WHITE,
                            true,
                        )?;
                        b.draw_text(&t, &nobody, mid)?;
                    }
                }
                Fill::Off => {
                    if let Some(t) = fit(&bar.text, x1 - x0) {
                        b.draw_text(&t, &off, mid)?;
                    }
                }
            }
        }
    }

    // Now.
    if let Some(now) = p.now {
        let x = p.x(now);
        b.draw_line((x, TOP - 4), (x, rows_bottom), &thin(ACCENT, 2))?;
        let now_label = TextStyle::from(("sans-serif", 15).into_font().style(FontStyle::Bold))
            .color(&ACCENT)
            .pos(Pos::new(HPos::Center, VPos::Top));
        b.draw_text("now", &now_label, (x, rows_bottom + 4))?;
    }
    b.present()?;
    Ok(())
}

/// Diagonal stripes inside a rectangle, so a gap reads as one without
/// colour.
fn hatch(b: &mut SVGBackend<'_>, (x0, y0): (i32, i32), (x1, y1): (i32, i32)) -> DrawResult {
    let h = y1 - y0;
    let style = ShapeStyle {
        color: HATCH.to_rgba(),
        filled: false,
        stroke_width: 1,
    };
    let mut s = x0 - h;
    while s < x1 {
        // The line from (s, y1) up to (s + h, y0), cut to [x0, x1].
        let (mut ax, mut ay, mut bx, mut by) = (s, y1, s + h, y0);
        if ax < x0 {
            ay -= x0 - ax;
            ax = x0;
        }
        if bx > x1 {
            by += bx - x1;
            bx = x1;
        }
        if ax < bx {
            b.draw_line((ax, ay), (bx, by), &style)?;
        }
        s += 8;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked_and_named() {
        let tz = TimeZone::get("Europe/Paris").unwrap();
        let today: Date = "2026-03-02".parse().unwrap();
        let q = |from: Option<&str>, days: Option<&str>| RangeQuery {
            from: from.map(str::to_owned),
            days: days.map(str::to_owned),
        };
        let r = parse_range(&q(None, None), today, &tz).unwrap();
        assert_eq!(r.from.to_string(), "2026-03-01T23:00:00Z");
        assert_eq!(r.to.to_string(), "2026-03-15T23:00:00Z");
        // Summer time starts on 29 March: that day is 23 hours long.
        let r = parse_range(&q(Some("2026-03-29"), Some("1")), today, &tz).unwrap();
        assert_eq!(r.to.duration_since(r.from).as_hours(), 23);
        for (from, days, field) in [
            (None, Some("0"), "days:"),
            (None, Some("32"), "days:"),
            (None, Some("x"), "days:"),
            (Some("bad"), None, "from:"),
        ] {
            let e = parse_range(&q(from, days), today, &tz).unwrap_err();
            assert!(e.starts_with(field), "{e}");
        }
    }

    #[test]
    fn override_times_are_read_in_the_pages_zone() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        assert_eq!(
            from_input("2026-03-02T12:00", &tz).as_deref(),
            Some("2026-03-02T11:00:00Z")
        );
        assert_eq!(
            from_input("2026-03-02T12:00:00+02:00", &tz).as_deref(),
            Some("2026-03-02T10:00:00Z")
        );
        assert_eq!(from_input("soon", &tz), None);
        assert_eq!(from_input("", &tz), None);
        let now: Timestamp = "2026-03-02T10:20:00Z".parse().unwrap();
        let f = OverrideForm::new(now, &tz);
        assert_eq!(
            (f.start.as_str(), f.end.as_str()),
            ("2026-03-02T12:00", "2026-03-02T20:00")
        );
        let req = OverrideForm {
            user: " alice ".into(),
            replaces: String::new(),
            reason: "  ".into(),
            ..f
        }
        .request(&tz);
        assert_eq!(req.user, "alice");
        assert_eq!(req.replaces, None);
        assert_eq!(req.reason, None);
        assert_eq!(req.end, "2026-03-02T19:00:00Z");
        assert_eq!(override_field("end"), Some("end"));
        assert_eq!(override_field("schedule"), None);
    }

    #[test]
    fn colours_are_stable_and_labels_fit() {
        let names = BTreeSet::from(["alice", "bob", "carol", "dave", "erin"]);
        let c = colours(&names);
        assert_eq!(c, colours(&names), "stable");
        let distinct: BTreeSet<_> = c.values().map(|c| (c.0, c.1, c.2)).collect();
        assert_eq!(distinct.len(), 5, "five people, five colours");
        assert_eq!(fit("alice", 100).as_deref(), Some("alice"));
        assert_eq!(fit("a-long-name", 40).as_deref(), Some("a-l…"));
        assert_eq!(fit("alice", 10), None);
        assert_eq!(bar_label("bob for alice", 60).as_deref(), Some("bob"));
        assert_eq!(
            bar_label("bob for alice", 200).as_deref(),
            Some("bob for alice")
        );
    }

    #[test]
    fn gaps_are_drawn_in_words_and_stripes() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let p = Picture {
            title: "On-call <x>".into(),
            desc: "d".into(),
            from: t("2026-03-02T00:00:00Z"),
            to: t("2026-03-03T00:00:00Z"),
            tz: TimeZone::UTC,
            now: Some(t("2026-03-02T10:00:00Z")),
            rows: vec![Row {
                label: "Final".into(),
                bars: vec![
                    Bar {
                        start: t("2026-03-02T00:00:00Z"),
                        end: t("2026-03-02T12:00:00Z"),
                        text: "alice".into(),
                        fill: Fill::Person("alice".into()),
                        lane: 0,
                    },
                    Bar {
                        start: t("2026-03-02T12:00:00Z"),
                        end: t("2026-03-03T00:00:00Z"),
                        text: "nobody".into(),
                        fill: Fill::Nobody,
                        lane: 0,
                    },
                ],
            }],
        };
        let svg = render(&p);
        assert!(svg.starts_with("<svg role=\"img\""), "{svg}");
        assert!(svg.contains("<title id=\"sched-title\">On-call &lt;x&gt;</title>"));
        for text in [">\nalice\n<", ">\nnobody\n<", ">\nnow\n<", ">\n12:00\n<"] {
            assert!(svg.contains(text), "{text:?} missing in {svg}");
        }
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}
