//! Teams and people: `/teams`, `/teams/{name}` (members, services,
//! schedules, policies) and `/users`, `/users/{name}` (how to reach them,
//! their time zone, their teams). Read-only: the catalog is changed by
//! config apply, and a person's own reachability on `/profile`.

use super::common::{ObjLink, path_name};
use super::{Nav, SignedIn, UiError};
use crate::server::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use tocsin_core::directory::Directory;
use tocsin_domain::access::Action;
use tocsin_domain::catalog::{ContactKind, Target, User};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/teams", get(teams))
        .route("/teams/{name}", get(team))
        .route("/users", get(users))
        .route("/users/{name}", get(user))
}

#[derive(Debug)]
struct TeamRow {
    name: String,
    description: String,
    members: usize,
    services: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "teams.html")]
struct TeamsPage {
    nav: Nav,
    rows: Vec<TeamRow>,
}

async fn teams(State(state): State<AppState>, me: SignedIn) -> Result<TeamsPage, UiError> {
    let nav = me.nav("teams");
    me.authorize(&Action::Read, &nav)?;
    let dir = Directory::load(state.store.as_ref()).await?;
    let rows = dir
        .teams
        .values()
        .map(|t| TeamRow {
            name: t.spec.name.to_string(),
            description: t.spec.description.clone().unwrap_or_default(),
            members: t.spec.members.len(),
            services: dir.services_of_team(&t.spec.name).len(),
        })
        .collect();
    Ok(TeamsPage { nav, rows })
}

#[derive(Debug)]
struct Member {
    link: ObjLink,
    full_name: String,
    time_zone: String,
}

#[derive(Debug)]
struct ScheduleView {
    name: String,
    time_zone: String,
    /// One line per layer: its name, turn and who rotates.
    layers: Vec<(String, String, Vec<ObjLink>)>,
}

#[derive(Debug)]
struct PolicyRow {
    name: String,
    /// "Level 1: schedule payments-primary; level 2 after 10 min: team payments".
    summary: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "team.html")]
struct TeamPage {
    nav: Nav,
    name: String,
    description: String,
    managed: bool,
    source: String,
    members: Vec<Member>,
    services: Vec<(ObjLink, String)>,
    schedules: Vec<ScheduleView>,
    policies: Vec<PolicyRow>,
}

async fn team(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
) -> Result<TeamPage, UiError> {
    let nav = me.nav("teams");
    me.authorize(&Action::Read, &nav)?;
    let name = path_name(&raw, "team", &nav)?;
    let dir = Directory::load(state.store.as_ref()).await?;
    let Some(entry) = dir.teams.get(&name) else {
        return Err(UiError::not_found(
            &nav,
            format!("there is no team named {name:?}"),
        ));
    };
    let members = entry
        .spec
        .members
        .iter()
        .map(|m| {
            let u = dir.users.get(m).map(|e| &e.spec);
            Member {
                link: ObjLink::user(m),
                full_name: u.map(|u| u.full_name.clone()).unwrap_or_default(),
                time_zone: u.map(|u| u.time_zone.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let schedules = dir
        .schedules_of_team(&name)
        .into_iter()
        .map(|e| ScheduleView {
            name: e.spec.name.to_string(),
            time_zone: e.spec.time_zone.clone(),
            layers: e
                .spec
                .layers
                .iter()
                .map(|l| {
                    (
                        l.name.to_string(),
                        l.turn.clone(),
                        l.participants.iter().map(ObjLink::user).collect(),
                    )
                })
                .collect(),
        })
        .collect();
    let policies = dir
        .policies_of_team(&name)
        .into_iter()
        .map(|e| PolicyRow {
            name: e.spec.name.to_string(),
            summary: policy_summary(&e.spec),
        })
        .collect();
    Ok(TeamPage {
        name: name.to_string(),
        description: entry.spec.description.clone().unwrap_or_default(),
        managed: entry.managed,
        source: entry.source.clone().unwrap_or_default(),
        members,
        services: dir
            .services_of_team(&name)
            .into_iter()
            .map(|s| {
                (
                    ObjLink::service(&s.spec.name),
                    s.spec.description.clone().unwrap_or_default(),
                )
            })
            .collect(),
        schedules,
        policies,
        nav,
    })
}

/// One line per policy, for a team page that lists several.
fn policy_summary(p: &tocsin_domain::catalog::EscalationPolicy) -> String {
    let mut after = 0u32;
    let mut parts = Vec::new();
    for (i, l) in p.levels.iter().enumerate() {
        let targets: Vec<String> = l
            .targets
            .iter()
            .map(|t| match t {
                Target::User(n) => format!("user {n}"),
                Target::Schedule(n) => format!("schedule {n}"),
                Target::Team(n) => format!("team {n}"),
            })
            .collect();
        let when = if i == 0 {
            "at once".to_owned()
        } else {
            format!("after {after} min")
        };
        parts.push(format!("level {} {when}: {}", i + 1, targets.join(", ")));
        after = after.saturating_add(l.delay_minutes);
    }
    let mut s = parts.join("; ");
    if p.repeat > 0 {
        s.push_str(&format!("; repeats {} time(s)", p.repeat));
    }
    s
}

#[derive(Debug)]
struct UserRow {
    name: String,
    full_name: String,
    time_zone: String,
    teams: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "users.html")]
struct UsersPage {
    nav: Nav,
    rows: Vec<UserRow>,
}

async fn users(State(state): State<AppState>, me: SignedIn) -> Result<UsersPage, UiError> {
    let nav = me.nav("users");
    me.authorize(&Action::Read, &nav)?;
    let dir = Directory::load(state.store.as_ref()).await?;
    let rows = dir
        .users
        .values()
        .map(|u| UserRow {
            name: u.spec.name.to_string(),
            full_name: u.spec.full_name.clone(),
            time_zone: u.spec.time_zone.clone(),
            teams: dir
                .teams_of_user(&u.spec.name)
                .iter()
                .map(|t| t.spec.name.to_string())
                .collect(),
        })
        .collect();
    Ok(UsersPage { nav, rows })
}

/// A contact method as shown to colleagues.
#[derive(Debug)]
pub struct ContactView {
    pub name: String,
    pub kind: &'static str,
    pub address: String,
    /// `mailto:` for email; webhooks and chat ids are not links.
    pub href: Option<String>,
}

pub fn contact_views(u: &User) -> Vec<ContactView> {
    u.contact_methods
        .iter()
        .map(|c| ContactView {
            name: c.name.to_string(),
            kind: contact_label(c.kind),
            address: c.address.clone(),
            href: (c.kind == ContactKind::Email).then(|| format!("mailto:{}", c.address)),
        })
        .collect()
}

pub fn contact_label(k: ContactKind) -> &'static str {
    match k {
        ContactKind::Email => "Email",
        ContactKind::Slack => "Slack",
        ContactKind::Mattermost => "Mattermost",
        ContactKind::Matrix => "Matrix",
        ContactKind::Teams => "Microsoft Teams",
        ContactKind::Ntfy => "ntfy push",
        ContactKind::Webhook => "Webhook",
        ContactKind::Console => "Console (development)",
    }
}

/// "phone at once", "work-email after 5 min".
pub fn rule_lines(u: &User) -> Vec<String> {
    u.notification_rules
        .iter()
        .map(|r| match r.after_minutes {
            0 => format!("{} at once", r.contact),
            m => format!("{} after {m} min", r.contact),
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "user.html")]
struct UserPage {
    nav: Nav,
    name: String,
    full_name: String,
    email: String,
    time_zone: String,
    managed: bool,
    source: String,
    contacts: Vec<ContactView>,
    rules: Vec<String>,
    teams: Vec<ObjLink>,
    is_me: bool,
}

async fn user(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
) -> Result<UserPage, UiError> {
    let nav = me.nav("users");
    me.authorize(&Action::Read, &nav)?;
    let name = path_name(&raw, "user", &nav)?;
    let dir = Directory::load(state.store.as_ref()).await?;
    let Some(entry) = dir.users.get(&name) else {
        return Err(UiError::not_found(
            &nav,
            format!("there is no user named {name:?}"),
        ));
    };
    let u = &entry.spec;
    Ok(UserPage {
        name: name.to_string(),
        full_name: u.full_name.clone(),
        email: u.email.clone(),
        time_zone: u.time_zone.clone(),
        managed: entry.managed,
        source: entry.source.clone().unwrap_or_default(),
        contacts: contact_views(u),
        rules: rule_lines(u),
        teams: dir
            .teams_of_user(&name)
            .iter()
            .map(|t| ObjLink::team(&t.spec.name))
            .collect(),
        is_me: me.session.user == name,
        nav,
    })
}
