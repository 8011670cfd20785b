//! `/profile`: the signed-in person's own page. They keep their time zone,
//! contact methods and notification rules up to date here (the rule of
//! what may change is `tocsin_core::profile`), and change their password.
//! A user managed by config is shown read-only with where to change it.
//!
//! The form works without JavaScript: every contact method and rule is a
//! row with a "remove" box, plus one empty row to add a new one.

use super::common::{Done, no_store};
use super::people::{ContactView, contact_views, rule_lines};
use super::session::session_cookie;
use super::{Nav, SignedIn, UiError};
use crate::server::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::OnceLock;
use tocsin_core::account::{self, AccountError, MIN_PASSWORD_LEN};
use tocsin_core::profile::{
    self, CONTACT_TYPES, ContactInput, FieldProblem, ProfileError, ProfileInput, RuleInput,
};
use tocsin_domain::access::Action;
use tocsin_domain::catalog::{Kind, Object, User};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/profile", get(show).post(save))
        .route("/profile/password", post(change_password))
}

/// One contact method row of the form, with its problems.
#[derive(Debug, Default)]
struct ContactRow {
    index: usize,
    name: String,
    kind: String,
    address: String,
    name_error: Option<String>,
    kind_error: Option<String>,
    address_error: Option<String>,
    /// The empty row for adding one.
    new: bool,
}

/// One notification rule row of the form, with its problems.
#[derive(Debug, Default)]
struct RuleRow {
    index: usize,
    contact: String,
    after_minutes: String,
    /// The contact methods to choose from (the row's own value included).
    options: Vec<String>,
    contact_error: Option<String>,
    after_error: Option<String>,
    new: bool,
}

/// A problem listed above the form, linking to its field.
#[derive(Debug)]
struct ProblemLink {
    field_id: String,
    text: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "profile.html")]
struct ProfilePage {
    nav: Nav,
    /// False when no user object exists for the account.
    declared: bool,
    name: String,
    full_name: String,
    email: String,
    managed: bool,
    source: String,
    /// Why editing is refused (role), if it is.
    refusal: Option<String>,
    time_zone: String,
    time_zone_error: Option<String>,
    contacts: Vec<ContactRow>,
    rules: Vec<RuleRow>,
    contact_types: &'static [&'static str],
    problems: Vec<ProblemLink>,
    zones: &'static [String],
    /// The read-only view.
    contact_views: Vec<ContactView>,
    rule_lines: Vec<String>,
    password_error: Option<String>,
    min_password: usize,
}

impl ProfilePage {
    fn editable(&self) -> bool {
        self.declared && !self.managed && self.refusal.is_none()
    }
}

/// Every IANA zone name, for the time zone field's suggestions.
fn zones() -> &'static [String] {
    static ZONES: OnceLock<Vec<String>> = OnceLock::new();
    ZONES.get_or_init(|| {
        let mut z: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
        z.sort();
        z
    })
}

/// The page for the stored profile, with no problems marked, and the
/// stored user when there is one.
async fn load(
    state: &AppState,
    me: &SignedIn,
    nav: Nav,
) -> Result<(ProfilePage, Option<User>), UiError> {
    let row = state.store.get_object(Kind::User, &me.session.user).await?;
    let refusal = me
        .principal
        .authorize(&Action::EditProfile {
            user: &me.session.user,
        })
        .err()
        .map(|d| d.0);
    let mut page = ProfilePage {
        nav,
        declared: false,
        name: me.session.user.to_string(),
        full_name: String::new(),
        email: String::new(),
        managed: false,
        source: String::new(),
        refusal,
        time_zone: String::new(),
        time_zone_error: None,
        contacts: vec![],
        rules: vec![],
        contact_types: &CONTACT_TYPES,
        problems: vec![],
        zones: zones(),
        contact_views: vec![],
        rule_lines: vec![],
        password_error: None,
        min_password: MIN_PASSWORD_LEN,
    };
    let Some(row) = row else {
        return Ok((page, None));
    };
    let Ok(Object::User(user)) = Object::from_spec(Kind::User, row.spec) else {
        return Ok((page, None));
    };
    page.declared = true;
    page.managed = row.managed;
    page.source = row.source.unwrap_or_default();
    page.fill(&user, &input_of(&user));
    Ok((page, Some(user)))
}

/// The stored user as form input.
fn input_of(u: &User) -> ProfileInput {
    ProfileInput {
        time_zone: u.time_zone.clone(),
        contact_methods: u
            .contact_methods
            .iter()
            .map(|c| ContactInput {
                name: c.name.to_string(),
                kind: serde_json::to_value(c.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                address: c.address.clone(),
            })
            .collect(),
        notification_rules: u
            .notification_rules
            .iter()
            .map(|r| RuleInput {
                contact: r.contact.to_string(),
                after_minutes: r.after_minutes.to_string(),
            })
            .collect(),
    }
}

impl ProfilePage {
    /// Shows `input` in the form (plus an empty row in each list) and
    /// `user` in the read-only view.
    fn fill(&mut self, user: &User, input: &ProfileInput) {
        self.full_name = user.full_name.clone();
        self.email = user.email.clone();
        self.contact_views = contact_views(user);
        self.rule_lines = rule_lines(user);
        self.time_zone = input.time_zone.clone();
        self.contacts = input
            .contact_methods
            .iter()
            .enumerate()
            .map(|(index, c)| ContactRow {
                index,
                name: c.name.clone(),
                kind: c.kind.clone(),
                address: c.address.clone(),
                ..Default::default()
            })
            .collect();
        self.contacts.push(ContactRow {
            index: self.contacts.len(),
            kind: "email".into(),
            new: true,
            ..Default::default()
        });
        let names: Vec<String> = input
            .contact_methods
            .iter()
            .map(|c| c.name.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect();
        let options = |own: &str| {
            let mut o = names.clone();
            if !own.is_empty() && !o.iter().any(|n| n == own) {
                o.push(own.to_owned());
            }
            o
        };
        self.rules = input
            .notification_rules
            .iter()
            .enumerate()
            .map(|(index, r)| RuleRow {
                index,
                contact: r.contact.clone(),
                after_minutes: r.after_minutes.clone(),
                options: options(&r.contact),
                ..Default::default()
            })
            .collect();
        self.rules.push(RuleRow {
            index: self.rules.len(),
            options: options(""),
            new: true,
            ..Default::default()
        });
    }

    /// Puts each problem next to its field and in the list above the form.
    fn mark(&mut self, problems: Vec<FieldProblem>) {
        for p in problems {
            let (field_id, label) = match place(&p.path) {
                Some(Place::TimeZone) => {
                    self.time_zone_error = Some(p.message.clone());
                    ("time_zone".to_owned(), "Time zone".to_owned())
                }
                Some(Place::Contact(i, field)) => {
                    if let Some(row) = self.contacts.get_mut(i) {
                        let slot = match field {
                            "name" => &mut row.name_error,
                            "type" => &mut row.kind_error,
                            _ => &mut row.address_error,
                        };
                        *slot = Some(p.message.clone());
                    }
                    (
                        format!("cm{i}_{field}"),
                        format!("Contact method {}, {field}", i + 1),
                    )
                }
                Some(Place::Rule(i, field)) => {
                    if let Some(row) = self.rules.get_mut(i) {
                        let slot = if field == "contact" {
                            &mut row.contact_error
                        } else {
                            &mut row.after_error
                        };
                        *slot = Some(p.message.clone());
                    }
                    let id = if field == "contact" {
                        "contact"
                    } else {
                        "after"
                    };
                    (
                        format!("nr{i}_{id}"),
                        format!("Notification rule {}, {}", i + 1, field.replace('_', " ")),
                    )
                }
                None => (
                    "time_zone".to_owned(),
                    if p.path.is_empty() {
                        "Profile".to_owned()
                    } else {
                        p.path.clone()
                    },
                ),
            };
            self.problems.push(ProblemLink {
                field_id,
                text: format!("{label}: {}", p.message),
            });
        }
    }
}

enum Place {
    TimeZone,
    Contact(usize, &'static str),
    Rule(usize, &'static str),
}

/// Where a problem path (`contact_methods[1].address`) belongs in the form.
fn place(path: &str) -> Option<Place> {
    if path == "time_zone" {
        return Some(Place::TimeZone);
    }
    let (list, rest) = path.split_once('[')?;
    let (i, field) = rest.split_once("].")?;
    let i: usize = i.parse().ok()?;
    match (list, field) {
        ("contact_methods", "name") => Some(Place::Contact(i, "name")),
        ("contact_methods", "type") => Some(Place::Contact(i, "type")),
        ("contact_methods", "address") => Some(Place::Contact(i, "address")),
        ("notification_rules", "contact") => Some(Place::Rule(i, "contact")),
        ("notification_rules", "after_minutes") => Some(Place::Rule(i, "after_minutes")),
        _ => None,
    }
}

async fn show(
    State(state): State<AppState>,
    me: SignedIn,
    Query(done): Query<Done>,
) -> Result<ProfilePage, UiError> {
    let nav = done.flash(me.nav(""));
    Ok(load(&state, &me, nav).await?.0)
}

/// The profile form as posted: fields named `cm{i}_name`, `nr{i}_after`...
/// (a plain form cannot post nested lists).
#[derive(Debug, Default)]
struct Posted {
    csrf: String,
    input: ProfileInput,
}

fn parse_form(pairs: Vec<(String, String)>) -> Posted {
    #[derive(Default)]
    struct Row {
        a: String,
        b: String,
        c: String,
        remove: bool,
    }
    impl Row {
        /// The empty row offered for adding. A contact's type is a select
        /// that always posts a value, so it does not count.
        fn blank(&self, fields: &[&String]) -> bool {
            fields.iter().all(|s| s.trim().is_empty())
        }
    }
    let mut posted = Posted::default();
    let mut contacts: BTreeMap<usize, Row> = BTreeMap::new();
    let mut rules: BTreeMap<usize, Row> = BTreeMap::new();
    for (key, value) in pairs {
        match key.as_str() {
            "csrf" => posted.csrf = value,
            "time_zone" => posted.input.time_zone = value,
            _ => {
                let (list, rest) = match (key.strip_prefix("cm"), key.strip_prefix("nr")) {
                    (Some(rest), _) => (&mut contacts, rest),
                    (_, Some(rest)) => (&mut rules, rest),
                    _ => continue,
                };
                let Some((i, field)) = rest.split_once('_') else {
                    continue;
                };
                // Bounded: a forged form cannot make the server build huge lists.
                let Ok(i) = i.parse::<usize>() else { continue };
                if i > 200 {
                    continue;
                }
                let row = list.entry(i).or_default();
                match field {
                    "name" | "contact" => row.a = value,
                    "type" | "after" => row.b = value,
                    "address" => row.c = value,
                    "remove" => row.remove = true,
                    _ => {}
                }
            }
        }
    }
    posted.input.contact_methods = contacts
        .into_values()
        .filter(|r| !r.remove && !r.blank(&[&r.a, &r.c]))
        .map(|r| ContactInput {
            name: r.a,
            kind: r.b,
            address: r.c,
        })
        .collect();
    posted.input.notification_rules = rules
        .into_values()
        .filter(|r| !r.remove && !r.blank(&[&r.a, &r.b]))
        .map(|r| RuleInput {
            contact: r.a,
            after_minutes: r.b,
        })
        .collect();
    posted
}

async fn save(
    State(state): State<AppState>,
    me: SignedIn,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let posted = parse_form(pairs);
    me.check_csrf(&posted.csrf)?;
    let nav = me.nav("");
    let user = &me.session.user;
    me.authorize(&Action::EditProfile { user }, &nav)?;
    let result = profile::update(
        state.store.as_ref(),
        user,
        &posted.input,
        &me.actor(),
        state.clock.now(),
    )
    .await;
    match result {
        Ok(fields) if fields.is_empty() => {
            Ok(Redirect::to("/profile?done=unchanged").into_response())
        }
        Ok(_) => Ok(Redirect::to("/profile?done=saved").into_response()),
        Err(ProfileError::Invalid(problems)) => {
            let (mut page, stored) = load(&state, &me, nav).await?;
            if let Some(u) = stored {
                page.fill(&u, &posted.input);
            }
            page.mark(problems);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e @ ProfileError::NotFound(_)) => Err(UiError::not_found(&nav, e.to_string())),
        Err(e @ (ProfileError::ManagedByConfig { .. } | ProfileError::Conflict)) => Err(UiError {
            status: StatusCode::CONFLICT,
            message: e.to_string(),
            nav: Box::new(nav),
        }),
        Err(ProfileError::Store(e)) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

/// Verifies the current password, sets the new one (which ends every
/// session of the user, this one included), then signs this browser in
/// again so the person is not thrown out for doing the right thing.
async fn change_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    me: SignedIn,
    jar: CookieJar,
    Form(form): Form<PasswordForm>,
) -> Result<Response, UiError> {
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("");
    let store = state.store.as_ref();
    let user = &me.session.user;
    let Some(acct) = store.get_account(user).await? else {
        return Err(UiError::not_found(&nav, format!("{user} has no account")));
    };
    if !account::verify_password(&form.current, &acct.password_hash) {
        return password_refused(&state, &me, nav, "the current password is not right".into())
            .await;
    }
    if form.new != form.confirm {
        return password_refused(
            &state,
            &me,
            nav,
            "the new password and its repetition differ".into(),
        )
        .await;
    }
    let now = state.clock.now();
    match account::set_password(store, user, &form.new, &me.actor(), now).await {
        Ok(true) => {}
        Ok(false) => return Err(UiError::not_found(&nav, format!("{user} has no account"))),
        Err(AccountError::Invalid(field, why)) => {
            return password_refused(&state, &me, nav, format!("the new {field} {why}")).await;
        }
        Err(AccountError::Store(e)) => return Err(e.into()),
        Err(e) => {
            return Err(UiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message: e.to_string(),
                nav: Box::new(nav),
            });
        }
    }
    match state
        .sessions
        .login(store, user.as_str(), &form.new, &peer.ip().to_string(), now)
        .await
    {
        Ok(started) => {
            let jar = jar.add(session_cookie(&state, started.cookie));
            Ok((jar, Redirect::to("/profile?done=password")).into_response())
        }
        Err(_) => Ok(Redirect::to("/login?next=/profile").into_response()),
    }
}

/// The profile page again, with the password form's problem (422).
async fn password_refused(
    state: &AppState,
    me: &SignedIn,
    nav: Nav,
    message: String,
) -> Result<Response, UiError> {
    let mut page = load(state, me, nav).await?.0;
    page.password_error = Some(message);
    Ok(no_store((StatusCode::UNPROCESSABLE_ENTITY, page)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_form_becomes_input_without_removed_or_empty_rows() {
        let p = parse_form(pairs(&[
            ("csrf", "t"),
            ("time_zone", "UTC"),
            ("cm0_name", "work-email"),
            ("cm0_type", "email"),
            ("cm0_address", "a@example.com"),
            ("cm1_name", "old"),
            ("cm1_type", "slack"),
            ("cm1_address", "U1"),
            ("cm1_remove", "on"),
            ("cm2_name", ""),
            ("cm2_type", "email"),
            ("cm2_address", ""),
            ("nr0_contact", "work-email"),
            ("nr0_after", "5"),
            ("nr1_contact", ""),
            ("nr1_after", ""),
            ("cm999_name", "ignored"),
        ]));
        assert_eq!(p.csrf, "t");
        assert_eq!(p.input.time_zone, "UTC");
        assert_eq!(
            p.input.contact_methods,
            [ContactInput {
                name: "work-email".into(),
                kind: "email".into(),
                address: "a@example.com".into()
            }]
        );
        assert_eq!(
            p.input.notification_rules,
            [RuleInput {
                contact: "work-email".into(),
                after_minutes: "5".into()
            }]
        );
    }

    #[test]
    fn problem_paths_find_their_field() {
        assert!(matches!(place("time_zone"), Some(Place::TimeZone)));
        assert!(matches!(
            place("contact_methods[2].address"),
            Some(Place::Contact(2, "address"))
        ));
        assert!(matches!(
            place("notification_rules[0].after_minutes"),
            Some(Place::Rule(0, "after_minutes"))
        ));
        assert!(place("email").is_none());
    }
}
