//! The service catalog — the jump bag. `/services` lists and searches
//! services; `/services/{name}` has what a responder needs at 3 a.m. on
//! one page: owner, who to call, links, runbooks, dependencies (as a
//! picture and as links), tags and integrations. From the start page it is
//! two clicks away: `/` → `/services` → the service.
//!
//! Its escalation section has a fire-drill button: a `[DRILL]` Sev1
//! incident sent through the service's real escalation
//! (`tocsin_core::drill`, which decides who may), then the incident's page.

use super::common::{Done, ObjLink, path_name, safe_href};
use super::session::urlencode;
use super::{Nav, SignedIn, UiError, depgraph, noise};
use crate::server::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tocsin_core::directory::Directory;
use tocsin_core::drill::{self, DrillError};
use tocsin_domain::Name;
use tocsin_domain::access::Action;
use tocsin_domain::catalog::{EscalationPolicy, IntegrationFormat, Link, Target};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/services", get(list))
        .route("/services/{name}", get(show))
        .route("/services/{name}/drill", post(run_drill))
}

#[derive(Debug, Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
}

#[derive(Debug)]
struct ServiceRow {
    name: String,
    description: String,
    team: String,
    tags: Vec<String>,
    managed: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "services.html")]
struct ServicesPage {
    nav: Nav,
    q: String,
    rows: Vec<ServiceRow>,
    total: usize,
}

async fn list(
    State(state): State<AppState>,
    me: SignedIn,
    Query(search): Query<Search>,
) -> Result<ServicesPage, UiError> {
    let nav = me.nav("services");
    me.authorize(&Action::Read, &nav)?;
    let dir = Directory::load(state.store.as_ref()).await?;
    let rows = dir
        .search_services(&search.q)
        .into_iter()
        .map(|e| ServiceRow {
            name: e.spec.name.to_string(),
            description: e.spec.description.clone().unwrap_or_default(),
            team: e.spec.team.to_string(),
            tags: e.spec.tags.clone(),
            managed: e.managed,
        })
        .collect();
    Ok(ServicesPage {
        nav,
        q: search.q.trim().to_owned(),
        rows,
        total: dir.services.len(),
    })
}

/// A link as shown: the URL only when it is safe to follow.
#[derive(Debug)]
struct LinkView {
    title: String,
    url: String,
    href: Option<String>,
}

impl From<&Link> for LinkView {
    fn from(l: &Link) -> Self {
        LinkView {
            title: l.title.clone(),
            url: l.url.clone(),
            href: safe_href(&l.url),
        }
    }
}

#[derive(Debug)]
struct TargetView {
    /// `Schedule`, `Team`, `User`.
    kind: &'static str,
    link: ObjLink,
    /// Who that target reaches, as far as the catalog says.
    detail: Vec<ObjLink>,
}

#[derive(Debug)]
struct LevelView {
    number: usize,
    targets: Vec<TargetView>,
    /// Minutes before the next level (or the repeat) is paged.
    delay_minutes: u32,
    last: bool,
}

#[derive(Debug)]
struct PolicyView {
    name: String,
    team: Option<ObjLink>,
    repeat: u32,
    levels: Vec<LevelView>,
}

#[derive(Debug)]
struct DepView {
    link: ObjLink,
    description: String,
}

#[derive(Debug)]
struct IntegrationView {
    name: String,
    format: &'static str,
    description: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "service.html")]
struct ServicePage {
    nav: Nav,
    name: String,
    description: String,
    team: ObjLink,
    team_description: String,
    managed: bool,
    source: String,
    policy: Option<PolicyView>,
    links: Vec<LinkView>,
    runbooks: Vec<LinkView>,
    needs: Vec<DepView>,
    needed_by: Vec<DepView>,
    graph_svg: String,
    tags: Vec<String>,
    integrations: Vec<IntegrationView>,
    /// In maintenance now, silenced.
    noise: noise::ServiceNoise,
}

async fn show(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Query(done): Query<Done>,
) -> Result<ServicePage, UiError> {
    let nav = done.flash(me.nav("services"));
    me.authorize(&Action::Read, &nav)?;
    let name = path_name(&raw, "service", &nav)?;
    let dir = Directory::load(state.store.as_ref()).await?;
    let Some(entry) = dir.services.get(&name) else {
        return Err(UiError::not_found(
            &nav,
            format!("there is no service named {name:?}"),
        ));
    };
    let s = &entry.spec;
    let dep = |n: &Name| DepView {
        link: ObjLink::service(n),
        description: dir
            .services
            .get(n)
            .and_then(|e| e.spec.description.clone())
            .unwrap_or_default(),
    };
    let needs: Vec<DepView> = s.depends_on.iter().map(dep).collect();
    let needed_by: Vec<DepView> = dir.dependents(&name).into_iter().map(dep).collect();
    let names = |deps: &[DepView]| deps.iter().map(|d| d.link.text.clone()).collect::<Vec<_>>();
    let graph_svg = depgraph::render(name.as_str(), &names(&needs), &names(&needed_by));
    let noise = noise::service_noise(&dir, &name, &me.session.user, state.clock.now());
    Ok(ServicePage {
        noise,
        name: name.to_string(),
        description: s.description.clone().unwrap_or_default(),
        team: ObjLink::team(&s.team),
        team_description: dir
            .teams
            .get(&s.team)
            .and_then(|t| t.spec.description.clone())
            .unwrap_or_default(),
        managed: entry.managed,
        source: entry.source.clone().unwrap_or_default(),
        policy: s
            .escalation_policy
            .as_ref()
            .and_then(|p| dir.policies.get(p))
            .map(|p| policy_view(&dir, &p.spec)),
        links: s.links.iter().map(LinkView::from).collect(),
        runbooks: s.runbooks.iter().map(LinkView::from).collect(),
        needs,
        needed_by,
        graph_svg,
        tags: s.tags.clone(),
        integrations: dir
            .integrations_of_service(&name)
            .into_iter()
            .map(|i| IntegrationView {
                name: i.spec.name.to_string(),
                format: format_label(i.spec.format),
                description: i.spec.description.clone().unwrap_or_default(),
            })
            .collect(),
        nav,
    })
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Starts a fire drill and shows its incident.
async fn run_drill(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect, UiError> {
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("services");
    let name = path_name(&raw, "service", &nav)?;
    let started = drill::start(
        state.store.as_ref(),
        &state.ingestor,
        state.clock.as_ref(),
        &me.principal,
        &name,
    )
    .await;
    match started {
        Ok(d) => Ok(Redirect::to(&match d.incident {
            Some(n) => format!("/incidents/{n}"),
            // Muted (maintenance, a silence): recorded, nobody paged.
            None => format!("/services/{}?done=drill-muted", urlencode(name.as_str())),
        })),
        Err(DrillError::Denied(why)) => Err(UiError::forbidden(&nav, why)),
        Err(DrillError::NotFound(why)) => Err(UiError::not_found(&nav, why)),
        Err(e @ DrillError::Ingest(_)) => {
            tracing::warn!(error = %e, service = %name, "fire drill not sent");
            let mut e = UiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
            e.nav = Box::new(nav);
            Err(e)
        }
        Err(DrillError::Store(e)) => Err(e.into()),
    }
}

/// The policy's levels with each target resolved to the people it reaches.
fn policy_view(dir: &Directory, p: &EscalationPolicy) -> PolicyView {
    let levels = p
        .levels
        .iter()
        .enumerate()
        .map(|(i, l)| LevelView {
            number: i + 1,
            delay_minutes: l.delay_minutes,
            last: i + 1 == p.levels.len(),
            targets: l.targets.iter().map(|t| target_view(dir, t)).collect(),
        })
        .collect();
    PolicyView {
        name: p.name.to_string(),
        team: p.team.as_ref().map(ObjLink::team),
        repeat: p.repeat,
        levels,
    }
}

fn target_view(dir: &Directory, t: &Target) -> TargetView {
    match t {
        Target::User(n) => TargetView {
            kind: "User",
            link: ObjLink::user(n),
            detail: vec![],
        },
        Target::Team(n) => TargetView {
            kind: "Team",
            link: ObjLink::team(n),
            detail: dir
                .teams
                .get(n)
                .map(|e| e.spec.members.iter().map(ObjLink::user).collect())
                .unwrap_or_default(),
        },
        Target::Schedule(n) => {
            let schedule = dir.schedules.get(n);
            let href = schedule.map(|_| format!("/schedules/{n}"));
            TargetView {
                kind: "Schedule",
                link: ObjLink {
                    text: n.to_string(),
                    href,
                },
                detail: schedule
                    .map(|e| {
                        dir.schedule_participants(&e.spec)
                            .into_iter()
                            .map(ObjLink::user)
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        }
    }
}

/// The wire format in the words its users know it by.
pub fn format_label(f: IntegrationFormat) -> &'static str {
    match f {
        IntegrationFormat::Pagerduty => "PagerDuty Events API v2",
        IntegrationFormat::Opsgenie => "Opsgenie Alert API v2",
        IntegrationFormat::Alertmanager => "Prometheus Alertmanager webhook",
        IntegrationFormat::Grafana => "Grafana alerting webhook",
        IntegrationFormat::Generic => "tocsin generic events",
    }
}
