//! `GET /incidents`: the incident list, newest first, with filters kept in
//! the query string so a filtered list is a link one can share — status
//! (any of triggered, acknowledged, resolved, closed; open ones when
//! nothing is asked), severity (any of), service, team (its services),
//! opened from/until (dates, UTC) and words in the title or summary — and
//! keyset pagination ("older incidents" continues below the last number).
//!
//! One store query per page (`search_incidents`, indexed) plus two catalog
//! reads for the service and team choices: nothing per row, so the list
//! stays fast at 100,000 incidents. That is why it shows no commander: the
//! roles are a read per incident.

use super::{Fields, definition};
use crate::server::AppState;
use crate::ui::common::when;
use crate::ui::session::urlencode;
use crate::ui::{Nav, SignedIn, UiError};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use tocsin_domain::access::Role;
use tocsin_domain::catalog::Kind;
use tocsin_domain::response::Lifecycle;
use tocsin_domain::{Name, Severity};
use tocsin_store::{IncidentFilter, IncidentRecord};

/// Incidents per page.
const PAGE: u32 = 50;

/// What "open" means when no status is asked for.
const OPEN: [Lifecycle; 2] = [Lifecycle::Triggered, Lifecycle::Acknowledged];

const LIFECYCLES: [Lifecycle; 4] = [
    Lifecycle::Triggered,
    Lifecycle::Acknowledged,
    Lifecycle::Resolved,
    Lifecycle::Closed,
];

#[derive(Debug)]
struct Row {
    number: i64,
    title: String,
    service: String,
    severity: &'static str,
    severity_definition: &'static str,
    lifecycle: &'static str,
    opened: String,
    open_alerts: i64,
    merged_into: Option<i64>,
}

impl From<IncidentRecord> for Row {
    fn from(r: IncidentRecord) -> Self {
        Row {
            number: r.number,
            service: r.service.to_string(),
            severity: r.severity.label(),
            severity_definition: definition(r.severity),
            lifecycle: Lifecycle::of(r.status, r.closed_at).as_str(),
            opened: when(r.created_at),
            open_alerts: r.open_alerts,
            merged_into: r.merged_into,
            title: r.title,
        }
    }
}

/// A checkbox of the filter form.
#[derive(Debug)]
struct Check {
    value: String,
    label: &'static str,
    /// Shown as the box's description (severity definitions).
    help: &'static str,
    checked: bool,
}

#[derive(Debug)]
struct Pick {
    name: String,
    selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "incidents.html")]
pub struct ListPage {
    nav: Nav,
    can_declare: bool,
    statuses: Vec<Check>,
    severities: Vec<Check>,
    services: Vec<Pick>,
    teams: Vec<Pick>,
    from: String,
    until: String,
    text: String,
    /// Filter problems, by field.
    problems: Vec<(&'static str, String)>,
    /// Nothing asked: the open incidents.
    default_view: bool,
    rows: Vec<Row>,
    older: Option<String>,
    /// Back to the first page when on a later one.
    newest: Option<String>,
}

impl ListPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// The filters as asked, parsed.
#[derive(Debug, Default)]
struct Asked {
    statuses: Vec<Lifecycle>,
    severities: Vec<Severity>,
    service: String,
    team: String,
    from: String,
    until: String,
    text: String,
}

impl Asked {
    /// The query string for these filters (page `before`, if any).
    fn href(&self, before: Option<i64>) -> String {
        let mut q = vec!["f=1".to_owned()];
        q.extend(
            self.statuses
                .iter()
                .map(|s| format!("status={}", s.as_str())),
        );
        q.extend(self.severities.iter().map(|s| format!("severity={s}")));
        for (k, v) in [
            ("service", &self.service),
            ("team", &self.team),
            ("from", &self.from),
            ("until", &self.until),
            ("q", &self.text),
        ] {
            if !v.is_empty() {
                q.push(format!("{k}={}", urlencode(v)));
            }
        }
        if let Some(b) = before {
            q.push(format!("before={b}"));
        }
        format!("/incidents?{}", q.join("&"))
    }
}

/// The first instant of a `YYYY-MM-DD` date in UTC, or the first instant
/// of the day after it (`end`: an "until" date includes its day).
fn day(raw: &str, end: bool) -> Result<Option<Timestamp>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    let bad = || format!("{raw:?} is not a date like 2026-03-02");
    let mut d: Date = raw.parse().map_err(|_| bad())?;
    if end {
        d = d.tomorrow().map_err(|_| bad())?;
    }
    let t = d.to_zoned(TimeZone::UTC).map_err(|_| bad())?.timestamp();
    Ok(Some(t))
}

pub async fn list(
    State(state): State<AppState>,
    me: SignedIn,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<ListPage, UiError> {
    let nav = me.nav("incidents");
    let f = Fields(query);
    let all = f.get("show") == "all";
    let default_view = !all && !f.has("f") && !f.has("status");
    let asked = Asked {
        statuses: if default_view {
            OPEN.to_vec()
        } else {
            LIFECYCLES
                .into_iter()
                .filter(|l| {
                    f.all("status")
                        .iter()
                        .any(|s| Lifecycle::parse(s) == Some(*l))
                })
                .collect()
        },
        severities: Severity::ALL
            .into_iter()
            .filter(|v| {
                f.all("severity")
                    .iter()
                    .any(|s| Severity::parse(s) == Some(*v))
            })
            .collect(),
        service: f.get("service").trim().to_owned(),
        team: f.get("team").trim().to_owned(),
        from: f.get("from").trim().to_owned(),
        until: f.get("until").trim().to_owned(),
        text: f.get("q").trim().to_owned(),
    };
    let before = f.get("before").trim().parse::<i64>().ok();

    let store = state.store.as_ref();
    let service_objects = store.list_objects(Some(Kind::Service)).await?;
    let mut team_names: Vec<String> = store
        .list_objects(Some(Kind::Team))
        .await?
        .into_iter()
        .map(|o| o.name.to_string())
        .collect();
    team_names.sort();
    let mut service_names: Vec<String> =
        service_objects.iter().map(|o| o.name.to_string()).collect();
    if !asked.service.is_empty() && !service_names.contains(&asked.service) {
        // Incidents outlive services removed from the catalog.
        service_names.push(asked.service.clone());
    }
    service_names.sort();

    let mut problems: Vec<(&'static str, String)> = Vec::new();
    let mut services: Vec<Name> = Vec::new();
    // A team (or a service outside the team) that leaves nothing to match:
    // the answer is empty without asking the store.
    let mut nothing = false;
    if !asked.service.is_empty() {
        match Name::parse(&asked.service) {
            Ok(s) => services.push(s),
            Err(e) => problems.push(("service", format!("{:?}: {e}", asked.service))),
        }
    }
    if !asked.team.is_empty() {
        if team_names.contains(&asked.team) {
            let of_team: Vec<Name> = service_objects
                .iter()
                .filter(|o| o.spec.get("team").and_then(|t| t.as_str()) == Some(&asked.team))
                .map(|o| o.name.clone())
                .collect();
            services = if services.is_empty() {
                of_team
            } else {
                services
                    .into_iter()
                    .filter(|s| of_team.contains(s))
                    .collect()
            };
            nothing = services.is_empty();
        } else {
            problems.push(("team", format!("no team named {:?}", asked.team)));
        }
    }
    let from = day(&asked.from, false).unwrap_or_else(|m| {
        problems.push(("from", m));
        None
    });
    let until = day(&asked.until, true).unwrap_or_else(|m| {
        problems.push(("until", m));
        None
    });

    let records = if problems.is_empty() && !nothing {
        let filter = IncidentFilter {
            lifecycle: asked.statuses.clone(),
            severities: asked.severities.clone(),
            services,
            from,
            until,
            text: Some(asked.text.clone()).filter(|t| !t.is_empty()),
            before_number: before,
            limit: PAGE,
        };
        store.search_incidents(&filter).await?
    } else {
        Vec::new()
    };
    let older = (records.len() == PAGE as usize)
        .then(|| records.last().map(|r| asked.href(Some(r.number))))
        .flatten();
    let newest = before.map(|_| asked.href(None));

    Ok(ListPage {
        can_declare: me.principal.role >= Role::Responder,
        statuses: LIFECYCLES
            .into_iter()
            .map(|l| Check {
                value: l.as_str().to_owned(),
                label: l.as_str(),
                help: "",
                checked: asked.statuses.contains(&l),
            })
            .collect(),
        severities: Severity::ALL
            .into_iter()
            .map(|s| Check {
                value: s.to_string(),
                label: s.label(),
                help: definition(s),
                checked: asked.severities.contains(&s),
            })
            .collect(),
        services: service_names
            .into_iter()
            .map(|name| Pick {
                selected: name == asked.service,
                name,
            })
            .collect(),
        teams: team_names
            .into_iter()
            .map(|name| Pick {
                selected: name == asked.team,
                name,
            })
            .collect(),
        from: asked.from,
        until: asked.until,
        text: asked.text,
        problems,
        default_view,
        rows: records.into_iter().map(Row::from).collect(),
        older,
        newest,
        nav,
    })
}
